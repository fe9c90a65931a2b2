//! `watchkeep import`: adopt existing vendor objects, writing their HCL.

use super::{CmdResult, Context, ImportArgs, EXIT_CHANGES, EXIT_ERROR, EXIT_OK};
use crate::output::{human, stdout};
use crate::run::import::{import, ImportInput};

pub async fn run(ctx: &Context, args: &ImportArgs) -> CmdResult {
    let input = ImportInput {
        vars: args.vars.to_vars(),
        providers: args.providers.clone(),
        types: args.types.clone(),
        tags: args.tags.clone(),
        name: args.name.clone(),
        ids: args.ids.clone(),
        out: args.out.clone(),
        dry_run: args.dry_run,
        parallelism: args.parallelism,
    };
    let out = import(&ctx.ws, &input).await?;
    if args.json {
        stdout::print_json(&out)?;
    } else {
        stdout::print(&human::import(&out))?;
    }
    Ok(if !out.errors.is_empty() {
        EXIT_ERROR
    } else if !out.refused.is_empty() {
        EXIT_CHANGES
    } else {
        EXIT_OK
    })
}
