//! `show`: a saved plan, or the current state.

use std::path::Path;

use super::{Error, Workspace};
use crate::plan::Plan;
use crate::state::State;

pub fn saved_plan(path: &Path) -> Result<Plan, Error> {
    crate::plan::file::load(path).map_err(|e| Error::msg(e.to_string()))
}

/// The current state, if there is one yet.
pub fn current_state(ws: &Workspace) -> Result<Option<State>, Error> {
    Ok(ws.backend_quiet().load()?)
}
