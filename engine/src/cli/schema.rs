//! `watchkeep schema DIR` (hidden): writes the JSON Schemas of `schema/`.

use std::path::Path;

use super::{CmdResult, EXIT_OK};
use crate::output::{schema, stdout};

pub fn run(dir: &Path) -> CmdResult {
    for path in schema::write_all(dir)? {
        stdout::println(&path.display().to_string())?;
    }
    Ok(EXIT_OK)
}
