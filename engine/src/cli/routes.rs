//! `watchkeep routes test [ROUTE…]`: exit 0 when every target delivered, 1 otherwise.

use clap::Subcommand;

use super::{CmdResult, Context, Format, VarArgs, EXIT_ERROR, EXIT_OK};
use crate::output::{routes, stdout};
use crate::run::routes_test::{routes_test, RoutesTestInput};

#[derive(Debug, Subcommand)]
pub enum RoutesCommand {
    /// Send one real test notification through every target of every route (or of the named
    /// ones), marked as a test, then resolve it; exit 1 when any target failed or is untested.
    /// Each run is kept as a dated validation record.
    Test {
        /// Route names (`oncall` or `route.oncall`); all routes when none is given.
        #[arg(value_name = "ROUTE")]
        routes: Vec<String>,
        #[command(flatten)]
        vars: VarArgs,
        /// Print the result as JSON (schema: schema/routes-test.schema.json).
        #[arg(long)]
        json: bool,
        /// Output format: human (default), json, markdown.
        #[arg(long, value_enum)]
        format: Option<Format>,
    },
}

pub async fn run(ctx: &Context, command: &RoutesCommand) -> CmdResult {
    let RoutesCommand::Test { routes: names, vars, json, format } = command;
    let input = RoutesTestInput { vars: vars.to_vars(), routes: names.clone(), options: None };
    let r = routes_test(&ctx.ws, &input).await?;
    let format = if *json { Format::Json } else { format.unwrap_or(Format::Human) };
    match format {
        Format::Json => stdout::print_json(&r.report)?,
        Format::Markdown => stdout::print(&routes::markdown(&r.report))?,
        Format::Human => {
            stdout::print(&routes::human(&r.report))?;
            if let Ok(p) = &r.record {
                stdout::println(&format!("Validation record: {}", p.display()))?;
            }
        }
    }
    if let Err(e) = &r.record {
        eprintln!("warning: could not write the validation record: {e}");
    }
    Ok(if r.report.passed { EXIT_OK } else { EXIT_ERROR })
}
