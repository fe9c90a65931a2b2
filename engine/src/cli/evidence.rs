//! `watchkeep evidence`: write the SOC 2 evidence bundle of a period (exit 0 when complete, 2
//! when it was written but shows problems such as a broken chain, 1 on errors).

use std::path::Path;

use super::{CmdResult, Context, VarArgs, EXIT_CHANGES, EXIT_OK};
use crate::output::{human, stdout};
use crate::run::evidence::{evidence, EvidenceInput};

pub async fn run(
    ctx: &Context,
    vars: &VarArgs,
    from: &str,
    to: Option<&str>,
    out: &Path,
    json: bool,
    parallelism: usize,
) -> CmdResult {
    let input = EvidenceInput {
        vars: vars.to_vars(),
        from: from.to_string(),
        to: to.map(str::to_string),
        out: out.to_path_buf(),
        parallelism,
    };
    let run = evidence(&ctx.ws, &input).await?;
    if json {
        stdout::print_json(&run.output)?;
    } else {
        stdout::print(&human::evidence(&run.output))?;
    }
    Ok(if run.output.complete { EXIT_OK } else { EXIT_CHANGES })
}
