//! `watchkeep alerts`: the alert log.

use super::{CmdResult, Context, VarArgs, EXIT_OK};
use crate::output::{human, stdout};
use crate::run::alerts::{alerts, AlertsInput};

pub async fn run(
    ctx: &Context,
    vars: &VarArgs,
    since: Option<&str>,
    targets: &[String],
    json: bool,
    parallelism: usize,
) -> CmdResult {
    let input = AlertsInput {
        vars: vars.to_vars(),
        since: since.map(str::to_string),
        targets: targets.to_vec(),
        parallelism,
    };
    let log = alerts(&ctx.ws, &input).await?;
    if json {
        stdout::print_json(&log)?;
    } else {
        stdout::print(&human::alerts(&log))?;
    }
    Ok(EXIT_OK)
}
