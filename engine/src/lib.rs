//! watchkeep: monitoring as code. HCL → config model → compiled vendor objects → plan → apply →
//! versioned state. See `README.md` and `docs/` for the data flow; each stage is a plain function
//! of its inputs. `run` joins the stages into each command's work (typed inputs, typed reports);
//! `output` renders the reports; `cli` parses arguments, calls `run` and renders with `output`.

pub mod apply;
pub mod cli;
pub mod compile;
pub mod config;
pub mod diag;
pub mod evidence;
pub mod graph;
pub mod output;
pub mod plan;
pub mod redact;
pub mod run;
pub mod state;
pub mod vendors;
