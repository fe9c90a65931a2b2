//! `watchkeep validate`.

use super::{CmdResult, Context, VarArgs, EXIT_ERROR, EXIT_OK};
use crate::output::stdout;
use crate::run;

pub fn run(ctx: &Context, vars: &VarArgs, json: bool) -> CmdResult {
    let v = run::validate::validate(&ctx.ws, &vars.to_vars())?;
    if json {
        stdout::print_json(&v.output)?;
    } else {
        if !v.diagnostics.is_empty() {
            eprint!("{}", v.diagnostics.render(&v.files, ctx.color));
        }
        if v.output.valid {
            stdout::println(&format!(
                "Success! The configuration is valid ({} vendor objects).",
                v.output.objects
            ))?;
        }
    }
    Ok(if v.output.valid { EXIT_OK } else { EXIT_ERROR })
}
