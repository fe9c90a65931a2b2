//! The run layer: the work of every command as library functions over plain inputs, returning
//! typed reports (see [`report`]) and one typed [`Error`]. This is where the stages are joined:
//! load the configuration ([`workspace`]), configure the providers in play ([`providers`]),
//! compile and mark the desired objects ([`prepare`]), read live state ([`refresh`]), plan
//! ([`plan`]), execute a plan and record history ([`apply`]), compare with the vendors
//! ([`drift`]), and the smaller commands.
//!
//! May import: `config`, `compile`, `plan`, `apply`, `state`, `graph`, `diag`, `redact` and the
//! provider crates. Never `cli` or `output`: nothing here prints to stdout (warnings and notes go
//! to stderr, as they always did), and interactive confirmation is the caller's, between
//! [`apply::prepare`] and [`apply::execute`].

pub mod alerts;
pub mod apply;
pub mod coverage;
pub mod drift;
pub mod evidence;
pub mod fmt;
pub mod graph;
pub mod history;
pub mod import;
pub mod migrate;
pub mod notes;
pub mod plan;
pub mod prepare;
pub mod providers;
pub mod refresh;
pub mod report;
pub mod routes_test;
pub mod show;
pub mod state;
pub mod timing;
pub mod validate;
pub mod validations;
pub mod version;
pub mod workspace;

use crate::config::SourceFile;
use crate::diag::Diagnostics;
use crate::state::StateError;

pub use report::Stats;
pub use workspace::{Vars, Workspace};

/// Why a command failed. Rendered once, by the caller (see [`Error::render`]).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Problems in the configuration, with the files their spans point into.
    #[error("{}", .0.render(.1, false))]
    Diagnostics(Diagnostics, Vec<SourceFile>),
    /// One message; its first line is the error, the rest are details and hints.
    #[error("{0}")]
    Message(String),
}

impl Error {
    pub fn msg(m: impl Into<String>) -> Error {
        Error::Message(m.into())
    }

    /// The text to print on stderr: diagnostics with source snippets (coloured when `color`), or
    /// `Error: <first line>` followed by the other lines.
    pub fn render(&self, color: bool) -> String {
        match self {
            Error::Diagnostics(d, files) => d.render(files, color),
            Error::Message(m) => {
                let mut out = String::new();
                for (i, line) in m.lines().enumerate() {
                    if i == 0 {
                        out.push_str(&format!("Error: {line}\n"));
                    } else {
                        out.push_str(line);
                        out.push('\n');
                    }
                }
                out
            }
        }
    }
}

impl From<StateError> for Error {
    fn from(e: StateError) -> Self {
        Error::Message(e.to_string())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
