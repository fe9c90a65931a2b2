//! `watchkeep show [PLANFILE]`.

use std::path::Path;

use super::{CmdResult, Context, EXIT_OK};
use crate::output::{human, stdout};
use crate::run::show::{current_state, saved_plan};

pub fn run(ctx: &Context, plan_file: Option<&Path>, json: bool) -> CmdResult {
    match plan_file {
        Some(p) => {
            let plan = saved_plan(p)?;
            if json {
                stdout::print_json(&plan)?;
            } else {
                stdout::print(&human::plan(&plan))?;
                stdout::print(&crate::output::endpoints_line(&plan.endpoints, false))?;
            }
        }
        // With --json and no state yet: `null` (stdout stays JSON for a pipe).
        None => match current_state(&ctx.ws)? {
            state if json => stdout::print_json(&state)?,
            state => stdout::print(&human::state_summary(state.as_ref()))?,
        },
    }
    Ok(EXIT_OK)
}
