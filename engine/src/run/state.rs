//! Inspecting and editing the state: list, show, rm, and removing a stale lock.

use super::report::{StateListItem, StateRmOutput};
use super::workspace::lock;
use super::{Error, Workspace};
use crate::plan::targeted;
use crate::state::{
    actor, now_rfc3339, source_revision, ChangeCounts, ChangeRecord, HistoryEntry, LockInfo, ResourceState,
    State,
};

/// The addresses in state under `prefixes` (all when empty).
pub fn list(ws: &Workspace, prefixes: &[String]) -> Result<Vec<StateListItem>, Error> {
    let state = ws.backend_quiet().load()?.unwrap_or_else(State::new);
    Ok(state
        .resources
        .iter()
        .filter(|r| targeted(&r.address, prefixes))
        .map(|r| StateListItem {
            address: r.address.clone(),
            resource_type: r.resource_type.clone(),
            provider: r.provider.clone(),
            id: r.id.clone(),
            origin: r.origin.clone(),
            changed_at: r.changed_at.clone(),
        })
        .collect())
}

/// One resource in state.
pub fn show(ws: &Workspace, address: &str) -> Result<ResourceState, Error> {
    let mut state = ws.backend_quiet().load()?.unwrap_or_else(State::new);
    state.remove(address).ok_or_else(|| {
        Error::msg(format!(
            "no resource `{address}` in state\nhint: `watchkeep state list` shows the addresses"
        ))
    })
}

/// Forgets `addresses` (the vendor objects are left alone) and records it in history. All or
/// nothing: an address not in state removes none.
pub fn rm(ws: &Workspace, addresses: &[String]) -> Result<StateRmOutput, Error> {
    let backend = ws.backend_quiet();
    let lock = lock(&backend, "state rm")?;
    let mut state = backend.load()?.ok_or_else(|| Error::msg("there is no state yet: nothing to remove"))?;
    let mut records = Vec::new();
    for a in addresses {
        match state.remove(a) {
            Some(r) => records.push(ChangeRecord {
                address: r.address,
                resource_type: r.resource_type,
                action: "forget".into(),
                id: Some(r.id),
                changed_attributes: Vec::new(),
            }),
            None => {
                return Err(Error::msg(format!(
                    "no resource `{a}` in state; nothing was removed\nhint: `watchkeep state list` shows the addresses"
                )))
            }
        }
    }
    lock.save(&mut state)?;
    let entry = lock.append_history(HistoryEntry {
        version: 0,
        serial: state.serial,
        lineage: state.lineage.clone(),
        timestamp: now_rfc3339(),
        operation: "state rm".into(),
        actor: actor(),
        source_revision: source_revision(&ws.dir),
        outcome: "complete".into(),
        counts: ChangeCounts::default(),
        changes: records.clone(),
        previous_sha256: None,
    })?;
    Ok(StateRmOutput {
        format_version: 1,
        removed: records,
        serial: state.serial,
        history_version: entry.version,
    })
}

/// Who holds the state lock, if anyone.
pub fn read_lock(ws: &Workspace) -> Result<Option<LockInfo>, Error> {
    Ok(ws.backend_quiet().read_lock()?)
}

/// Removes the state lock `lock_id`; returns what it was.
pub fn force_unlock(ws: &Workspace, lock_id: &str) -> Result<LockInfo, Error> {
    Ok(ws.backend_quiet().force_unlock(lock_id)?)
}
