//! End-to-end test support for watchkeep: local stand-ins for the vendors' APIs.

pub mod datadog;

pub use datadog::{DatadogStandIn, FaultKind, FaultRule, FaultSpecError, StandInOptions};
