//! `watchkeep validations`: list the validation records and check their hash chain (exit 2 when
//! the chain is broken).

use super::{CmdResult, Context, EXIT_CHANGES, EXIT_OK};
use crate::output::{human, stdout};
use crate::run::validations;

pub fn run(ctx: &Context, json: bool) -> CmdResult {
    let report = validations::list(&ctx.ws)?;
    if json {
        stdout::print_json(&report)?;
    } else {
        stdout::print(&human::validations(&report))?;
    }
    Ok(if report.chain_intact { EXIT_OK } else { EXIT_CHANGES })
}
