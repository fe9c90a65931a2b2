//! `watchkeep version`.

use super::{CmdResult, EXIT_OK};
use crate::output::{human, stdout};
use crate::run::version::version;

pub fn run(json: bool) -> CmdResult {
    let v = version();
    if json {
        stdout::print_json(&v)?;
    } else {
        stdout::print(&human::version(&v))?;
    }
    Ok(EXIT_OK)
}
