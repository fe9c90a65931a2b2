//! `watchkeep fmt`.

use std::path::PathBuf;

use super::{CmdResult, Context, EXIT_OK};
use crate::output::stdout;
use crate::run::fmt::{fmt, FmtInput};

/// Terraform's `fmt -check` exits 3 when files need formatting.
const EXIT_NEEDS_FORMAT: i32 = 3;

pub fn run(ctx: &Context, check: bool, diff: bool, paths: &[PathBuf], json: bool) -> CmdResult {
    let input = FmtInput { check, diff: diff && !json, paths: paths.to_vec() };
    let out = fmt(&ctx.ws.dir, &input, &mut |f| {
        if json {
            return Ok(());
        }
        if let Some(d) = &f.diff {
            stdout::print(d)?;
        }
        stdout::println(&f.path.display().to_string())
    })?;
    if json {
        stdout::print_json(&out)?;
    }
    Ok(if check && !out.changed.is_empty() { EXIT_NEEDS_FORMAT } else { EXIT_OK })
}
