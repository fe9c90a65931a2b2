//! `watchkeep history [VERSION]`.

use super::{CmdResult, Context, EXIT_OK};
use crate::output::{human, stdout};
use crate::run::history;

pub fn run(ctx: &Context, version: Option<u64>, json: bool) -> CmdResult {
    match version {
        Some(v) => {
            let e = history::entry(&ctx.ws, v)?;
            if json {
                stdout::print_json(&e)?;
            } else {
                stdout::print(&human::history_entry(&e))?;
            }
        }
        None => {
            let entries = history::list(&ctx.ws)?;
            // Said on stderr, so the list (and its JSON) stays as it was; `evidence` reports it too.
            for p in history::chain_problems(&ctx.ws)? {
                eprintln!("warning: the history's hash chain is broken: {p}");
            }
            if json {
                stdout::print_json(&entries)?;
            } else {
                stdout::print(&human::history(&entries))?;
            }
        }
    }
    Ok(EXIT_OK)
}
