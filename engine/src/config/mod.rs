//! Configuration loading: HCL files → the evaluated [`Config`] model, with located diagnostics.
//!
//! - [`load`] reads every `*.hcl` file of a directory (plus local modules), resolves variables
//!   (`-var`, `-var-file`, `*.wkvars`, `WATCHKEEP_VAR_<name>`), builds the dependency graph of
//!   references, and evaluates blocks in dependency order.
//! - [`format_source`] is `watchkeep fmt`.
//! - [`config_schema`] is the JSON Schema of the language (checked in as
//!   `schema/config.schema.json`).
//!
//! The language itself is described in `docs/language.md`; [`schema`] is the one list of blocks
//! and attributes the loader accepts.

pub mod confine;
mod coverage;
mod fmt;
mod functions;
pub mod generate;
mod inventory;
mod limits;
mod loader;
pub mod maintenance;
pub mod model;
mod refs;
pub mod rrule;
pub mod schema;
mod source;
mod subst;
pub(crate) mod suggest;
mod values;
mod variables;

#[cfg(test)]
mod hostile_tests;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use model::*;
pub use schema::{config_schema, KINDS, SEVERITIES};

use crate::diag::Diagnostics;

/// Where the configuration is and the inputs that set its variables.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Every `*.hcl` file in it (sorted) is one configuration, like Terraform.
    pub dir: PathBuf,
    /// Raw `-var NAME=VALUE` strings, in command-line order.
    pub vars: Vec<String>,
    /// `-var-file FILE` paths (HCL attribute syntax), in command-line order. `watchkeep.wkvars`
    /// and `*.auto.wkvars` in `dir` are loaded automatically before these.
    pub var_files: Vec<PathBuf>,
    /// The process environment; the loader reads `WATCHKEEP_VAR_<name>` from it.
    pub env: BTreeMap<String, String>,
    /// Files of the root directory that exist only in memory (file name → text), loaded as if
    /// they were on disk: `watchkeep import` checks the HCL it generates before writing it.
    pub extra_files: Vec<(String, String)>,
}

impl LoadOptions {
    /// Options for a directory, with no variables set.
    pub fn new(dir: impl Into<PathBuf>) -> LoadOptions {
        LoadOptions { dir: dir.into(), ..LoadOptions::default() }
    }
}

/// Loads and evaluates the configuration in `opts.dir`.
///
/// `Ok` carries the model and any warnings; `Err` carries every error found (and the warnings),
/// each with its file, line and column and a hint.
///
/// Variable precedence, lowest first: default, `watchkeep.wkvars`, `*.auto.wkvars` (sorted),
/// `-var-file` (in order), `WATCHKEEP_VAR_<name>`, `-var` (in order).
pub fn load(opts: &LoadOptions) -> Result<(Config, Diagnostics), Diagnostics> {
    loader::load(opts)
}

/// Formats one file's text canonically (`watchkeep fmt`). A syntax error is returned as a
/// located diagnostic. The result always parses to the same configuration as the input.
pub fn format_source(text: &str, path: &Path) -> Result<String, Diagnostics> {
    let src = source::SourceText::new(path, text.to_string());
    let body = source::parse_hcl(&src).map_err(|d| Diagnostics::from(*d))?;
    let formatted = fmt::format_hcl(text);
    // Safety net: formatting only moves whitespace; if it ever changed the meaning, keep the input.
    let same =
        hcl::edit::parser::parse_body(&formatted).is_ok_and(|b| hcl::Body::from(b) == hcl::Body::from(body));
    Ok(if same { formatted } else { text.to_string() })
}
