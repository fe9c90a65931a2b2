//! End-to-end test support for watchkeep: local stand-ins for the vendors' APIs.

pub mod aws;
mod canvas;
pub mod datadog;
pub mod forge;
pub mod newrelic;
pub mod receivers;
pub mod recordings;
pub mod replay;
mod server;

pub use datadog::{DatadogStandIn, FaultKind, FaultRule, FaultSpecError, StandInOptions};
pub use newrelic::{NerdGraphFault, NerdGraphFaultRule, NewRelicOptions, NewRelicStandIn};
