//! The dated versions of the state.

use super::{Error, Workspace};
use crate::state::HistoryEntry;

pub fn list(ws: &Workspace) -> Result<Vec<HistoryEntry>, Error> {
    Ok(ws.backend_quiet().history()?)
}

pub fn entry(ws: &Workspace, version: u64) -> Result<HistoryEntry, Error> {
    ws.backend_quiet().history_entry(version)?.ok_or_else(|| {
        Error::msg(format!("no history version {version}\nhint: `watchkeep history` lists the versions"))
    })
}

/// The problems of the history's hash chain (an edited, removed or added entry); empty when it
/// holds.
pub fn chain_problems(ws: &Workspace) -> Result<Vec<String>, Error> {
    Ok(ws.backend_quiet().history_chain()?.problems)
}
