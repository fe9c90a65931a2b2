//! `watchkeep force-unlock LOCK_ID`.

use super::{confirm, CmdResult, Context, EXIT_ERROR, EXIT_OK};
use crate::output::{human, stdout};
use crate::run::report::ForceUnlockOutput;
use crate::run::state::{force_unlock, read_lock};

pub fn run(ctx: &Context, lock_id: &str, force: bool, json: bool) -> CmdResult {
    let removed = match read_lock(&ctx.ws)? {
        None => None,
        Some(info) => {
            if !force {
                let q = format!(
                    "Unlock the state held by {} (pid {} on {}, operation {}, since {})? Only do this if that process is gone.",
                    info.holder, info.pid, info.host, info.operation, info.created
                );
                if !confirm(&q, json)? {
                    eprintln!("Unlock cancelled.");
                    return Ok(EXIT_ERROR);
                }
            }
            Some(force_unlock(&ctx.ws, lock_id)?)
        }
    };
    let out = ForceUnlockOutput { format_version: 1, removed };
    if json {
        stdout::print_json(&out)?;
    } else {
        stdout::print(&human::force_unlock(&out))?;
    }
    Ok(EXIT_OK)
}
