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
            }
        }
        None => match current_state(&ctx.ws)? {
            Some(s) if json => stdout::print_json(&s)?,
            state => stdout::print(&human::state_summary(state.as_ref()))?,
        },
    }
    Ok(EXIT_OK)
}
