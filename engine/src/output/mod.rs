//! Renderers: human text, Markdown (pull-request comments) and JSON of the reports the run layer
//! returns, the JSON Schemas of every `--json` output (see [`schema`]), and the one writer to
//! standard output ([`stdout`]), which ends quietly when the reader closes the pipe.
//!
//! May import: the run layer's report types (`run::report`, and `run::Error` for write
//! failures), `plan` and `state`. Never `cli`.

pub mod coverage;
pub mod human;
pub mod markdown;
pub mod routes;
pub mod schema;
pub mod stdout;

pub use crate::run::report::PlanOutput;
