//! `watchkeep graph`.

use super::{CmdResult, Context, VarArgs, EXIT_OK};
use crate::output::stdout;
use crate::run::graph;

pub fn run(ctx: &Context, vars: &VarArgs, json: bool) -> CmdResult {
    let g = graph::graph(&ctx.ws, &vars.to_vars())?;
    if json {
        stdout::print_json(&graph::report(&g))?;
    } else {
        stdout::print(&g.to_dot())?;
    }
    Ok(EXIT_OK)
}
