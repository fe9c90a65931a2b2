//! Validation: load and compile the configuration, collecting every diagnostic.

use super::report::ValidateOutput;
use super::{Error, Vars, Workspace};
use crate::config::SourceFile;
use crate::diag::{Diagnostic, Diagnostics, Severity};

/// The report, and the diagnostics with the files they point into (for human rendering).
#[derive(Debug)]
pub struct ValidateRun {
    pub output: ValidateOutput,
    pub diagnostics: Diagnostics,
    pub files: Vec<SourceFile>,
}

pub fn validate(ws: &Workspace, vars: &Vars) -> Result<ValidateRun, Error> {
    let (diags, objects, files): (Vec<Diagnostic>, usize, Vec<SourceFile>) = match ws.load(vars) {
        Ok((cfg, warnings)) => match crate::compile::compile_with_warnings(&cfg) {
            Ok((objs, more)) => {
                let cov = super::coverage::check(&cfg).0;
                (warnings.0.into_iter().chain(more.0).chain(cov).collect(), objs.len(), cfg.files)
            }
            Err(d) => {
                let cov = super::coverage::check(&cfg).0;
                (warnings.0.into_iter().chain(d.0).chain(cov).collect(), 0, cfg.files)
            }
        },
        Err(Error::Diagnostics(d, files)) => (d.0, 0, files),
        Err(other) => return Err(other),
    };
    let errors = diags.iter().filter(|d| d.severity == Severity::Error).count();
    let output = ValidateOutput {
        format_version: 1,
        valid: errors == 0,
        error_count: errors,
        warning_count: diags.len() - errors,
        objects,
        diagnostics: diags.iter().map(|d| serde_json::to_value(d).unwrap_or_default()).collect(),
    };
    Ok(ValidateRun { output, diagnostics: Diagnostics(diags), files })
}
