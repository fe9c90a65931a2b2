//! `watchkeep coverage`: exit 0 when nothing is missing, 2 on any gap, 1 on errors.

use super::{CmdResult, Context, Format, VarArgs, EXIT_CHANGES, EXIT_OK};
use crate::output::{coverage as render, stdout};
use crate::run::coverage::{coverage, CoverageInput};

pub async fn run(
    ctx: &Context,
    vars: &VarArgs,
    json: bool,
    format: Option<Format>,
    live: bool,
    window: &str,
) -> CmdResult {
    let input = CoverageInput { vars: vars.to_vars(), live, window: window.to_string(), today: None };
    let c = coverage(&ctx.ws, &input).await?;
    match if json { Format::Json } else { format.unwrap_or(Format::Human) } {
        Format::Json => stdout::print_json(&c.report)?,
        Format::Markdown => stdout::print(&render::markdown(&c.report))?,
        Format::Human => stdout::print(&render::human(&c.report))?,
    }
    match &c.record {
        Ok(p) => eprintln!("Validation record: {}", p.display()),
        Err(e) => eprintln!("warning: could not write the validation record: {e}"),
    }
    Ok(if c.report.passed { EXIT_OK } else { EXIT_CHANGES })
}
