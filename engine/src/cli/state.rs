//! `watchkeep state list|show|rm`.

use super::{CmdResult, Context, StateCommand, EXIT_OK};
use crate::output::{human, stdout};
use crate::run::state;

pub fn run(ctx: &Context, cmd: &StateCommand) -> CmdResult {
    match cmd {
        StateCommand::List { prefixes, json } => {
            let items = state::list(&ctx.ws, prefixes)?;
            if *json {
                stdout::print_json(&items)?;
            } else {
                stdout::print(&human::state_list(&items))?;
            }
        }
        StateCommand::Show { address, json } => {
            let r = state::show(&ctx.ws, address)?;
            if *json {
                stdout::print_json(&r)?;
            } else {
                stdout::print(&human::state_show(&r))?;
            }
        }
        StateCommand::Rm { addresses, json } => {
            let out = state::rm(&ctx.ws, addresses)?;
            if *json {
                stdout::print_json(&out)?;
            } else {
                stdout::print(&human::state_rm(&out))?;
            }
        }
        StateCommand::Migrate { from, from_region, from_endpoint_url, json } => {
            let input = crate::run::migrate::MigrateInput {
                from: from.clone(),
                from_region: from_region.clone(),
                from_endpoint_url: from_endpoint_url.clone(),
            };
            let out = crate::run::migrate::migrate(&ctx.ws, &input)?;
            if *json {
                stdout::print_json(&out)?;
            } else {
                stdout::print(&crate::run::migrate::human(&out))?;
            }
        }
    }
    Ok(EXIT_OK)
}
