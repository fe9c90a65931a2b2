//! `watchkeep apply [PLANFILE]` and `watchkeep destroy`: plan (or load the saved plan), show it,
//! ask, execute, report.

use super::{confirm, ApplyArgs, CmdResult, Context, EXIT_ERROR, EXIT_OK};
use crate::output::{human, stdout};
use crate::run::apply::{execute, prepare, ApplyInput};

pub async fn run(ctx: &Context, args: &ApplyArgs, destroy: bool) -> CmdResult {
    let input = ApplyInput {
        vars: args.vars.to_vars(),
        plan_file: args.plan_file.clone(),
        destroy,
        targets: args.targets.clone(),
        refresh: args.refresh,
        parallelism: args.parallelism,
        lines_to_stderr: args.json,
        lock: args.lock,
    };
    let prepared = prepare(&ctx.ws, &input).await?;
    if !prepared.from_file() {
        if !args.json {
            stdout::print(&human::plan(prepared.plan()))?;
            stdout::print(&crate::output::endpoints_line(&prepared.plan().endpoints, false))?;
        }
        if !prepared.has_actions() {
            if args.json {
                stdout::print_json(&prepared.no_changes(&ctx.ws))?;
            }
            return Ok(EXIT_OK);
        }
        if !args.auto_approve {
            let q = if destroy {
                "\nDo you really want to destroy all monitoring objects in this state?"
            } else {
                "\nDo you want to perform these actions?"
            };
            if !confirm(q, false)? {
                eprintln!("\nApply cancelled: nothing was changed.");
                return Ok(EXIT_ERROR);
            }
        }
        if !args.json {
            stdout::println("")?;
        }
    }
    let report = execute(&ctx.ws, prepared).await?;
    if args.json {
        stdout::print_json(&report.output)?;
    } else {
        stdout::print(&human::apply_summary(&report.output, report.interrupted, destroy))?;
    }
    if report.partial() {
        eprint!("{}", human::apply_errors(&report.output, report.interrupted));
        return Ok(EXIT_ERROR);
    }
    Ok(EXIT_OK)
}
