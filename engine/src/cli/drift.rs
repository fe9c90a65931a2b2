//! `watchkeep drift`: exit 2 on drift.

use super::{CmdResult, Context, VarArgs, EXIT_CHANGES, EXIT_OK};
use crate::output::{human, stdout};
use crate::run::drift::{drift, DriftInput};

pub async fn run(ctx: &Context, vars: &VarArgs, json: bool, parallelism: usize) -> CmdResult {
    let d = drift(&ctx.ws, &DriftInput { vars: vars.to_vars(), parallelism }).await?;
    if json {
        stdout::print_json(&d.report)?;
    } else {
        stdout::print(&human::drift(&d.report))?;
        match &d.record {
            Ok(p) => stdout::println(&format!("Validation record: {}", p.display()))?,
            Err(e) => eprintln!("warning: could not write the validation record: {e}"),
        }
    }
    Ok(if d.report.drift { EXIT_CHANGES } else { EXIT_OK })
}
