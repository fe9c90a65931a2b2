//! The state file's content: parsing it (checking the format version and migrating older
//! formats) and the checked write that replaces it, keeping the previous one as the backup.

use std::path::Path;

use super::error::StateError;
use super::store::Place;
use super::{State, FORMAT_VERSION, MIGRATIONS, WATCHKEEP_VERSION};

/// Parses and checks a state file; resources come back sorted.
pub(super) fn parse_state(path: &Path, bytes: &[u8]) -> Result<State, StateError> {
    let corrupt = |detail: String| StateError::Corrupt { path: path.to_path_buf(), detail };
    let text =
        std::str::from_utf8(bytes).map_err(|e| corrupt(format!("the file is not UTF-8 text ({e})")))?;
    if text.trim().is_empty() {
        return Err(corrupt("the file is empty".to_string()));
    }
    // Check the version before the shape, so a newer format is reported as such and not as corrupt.
    // The probe skips everything but `format_version`: building a full `Value` of a large state
    // here would double the peak memory of every command.
    #[derive(serde::Deserialize)]
    struct Probe {
        format_version: Option<serde_json::Value>,
    }
    if !text.trim_start().starts_with('{') {
        return Err(corrupt("expected a JSON object at the top level".to_string()));
    }
    let probe: Probe = serde_json::from_str(text).map_err(|e| corrupt(e.to_string()))?;
    let found = match probe.format_version {
        None => return Err(corrupt("`format_version` is missing".to_string())),
        Some(v) => {
            v.as_u64().ok_or_else(|| corrupt(format!("`format_version` is {v}, not a version number")))?
        }
    };
    if found > u64::from(FORMAT_VERSION) {
        return Err(StateError::NewerFormat { path: path.to_path_buf(), found, supported: FORMAT_VERSION });
    }
    if found == 0 {
        return Err(corrupt("`format_version` 0 is not a watchkeep state format".to_string()));
    }
    let mut state: State = if found < u64::from(FORMAT_VERSION) {
        let mut value: serde_json::Value = serde_json::from_str(text).map_err(|e| corrupt(e.to_string()))?;
        for (from, migrate) in MIGRATIONS {
            if u64::from(*from) >= found {
                migrate(&mut value)
                    .map_err(|e| corrupt(format!("cannot migrate from format {from}: {e}")))?;
            }
        }
        let mut s: State = serde_json::from_value(value).map_err(|e| corrupt(e.to_string()))?;
        s.migrated_from = Some(found as u32);
        s
    } else {
        // Parse from text so errors carry line and column.
        serde_json::from_str(text).map_err(|e| corrupt(e.to_string()))?
    };
    state.sort();
    if let Some(address) = state.duplicate_address() {
        return Err(corrupt(format!("resource address `{address}` appears more than once")));
    }
    Ok(state)
}

/// The fields of a state file that a write checks against.
struct Header {
    format_version: u64,
    serial: u64,
    lineage: String,
    migrated_from: Option<u32>,
}

fn parse_header(bytes: &[u8]) -> Option<Header> {
    #[derive(serde::Deserialize)]
    struct Probe {
        format_version: u64,
        serial: u64,
        lineage: String,
        resources: serde::de::IgnoredAny,
    }
    let p: Probe = serde_json::from_slice(bytes).ok()?;
    let _ = p.resources;
    Some(Header {
        format_version: p.format_version,
        serial: p.serial,
        lineage: p.lineage,
        migrated_from: None,
    })
}

/// The write behind [`StateLock::save`]; the caller has checked that the lock is ours.
pub(super) fn save(backend: &Place, state: &mut State) -> Result<(), StateError> {
    let path = backend.state_path();
    let store = backend.store();
    let layout = backend.layout();
    let mut next = state.clone();
    next.sort();
    if let Some(address) = next.duplicate_address() {
        return Err(StateError::DuplicateAddress { address: address.to_string() });
    }

    let current = store.read(&layout.state).map_err(|e| StateError::io("read state file", path, e))?;
    if let Some(obj) = current.clone() {
        let bytes = obj.bytes;
        // Refuse to replace a file we could not load: it may be newer or need a human. Only
        // the header is checked when the file parses (a full parse of a 10,000-object state on
        // every write would cost more than the write); a file that does not is parsed in full
        // for the error.
        let previous = match parse_header(&bytes) {
            Some(h) if h.format_version == u64::from(FORMAT_VERSION) => h,
            _ => {
                let full = parse_state(path, &bytes)?;
                Header {
                    format_version: u64::from(full.format_version),
                    serial: full.serial,
                    lineage: full.lineage,
                    migrated_from: full.migrated_from,
                }
            }
        };
        if previous.lineage != next.lineage {
            return Err(StateError::LineageMismatch {
                path: path.to_path_buf(),
                on_disk: previous.lineage,
                ours: next.lineage,
            });
        }
        if previous.serial > next.serial {
            return Err(StateError::StaleSerial {
                path: path.to_path_buf(),
                on_disk: previous.serial,
                ours: next.serial,
            });
        }
        if let Some(old) = previous.migrated_from {
            // The last copy in the old format stays beside the state, never overwritten.
            let keep = layout.format_backup(old);
            let exists = store.read(&keep).map_err(|e| StateError::io("read", store.locate(&keep), e))?;
            if exists.is_none() {
                store.write(&keep, &bytes).map_err(|e| StateError::io("write", store.locate(&keep), e))?;
            }
        }
        let backup = layout.backup();
        store
            .write(&backup, &bytes)
            .map_err(|e| StateError::io("write state backup", store.locate(&backup), e))?;
    }

    next.serial = next.serial.saturating_add(1);
    next.format_version = FORMAT_VERSION;
    next.watchkeep_version = WATCHKEEP_VERSION.to_string();
    let mut bytes = serde_json::to_vec_pretty(&next)
        .map_err(|e| StateError::io("serialize state for", path, std::io::Error::other(e)))?;
    bytes.push(b'\n');
    // Replaced only if it is still what was checked above (one conditional PutObject on S3), so
    // a writer without the lock (`-lock=false`) cannot be overwritten unseen.
    let replaced = store
        .write_if(&layout.state, &bytes, current.as_ref())
        .map_err(|e| StateError::io("replace", path, e))?;
    if !replaced {
        return Err(StateError::io(
            "replace",
            path,
            std::io::Error::other(
                "the state changed while it was being written (another watchkeep running with -lock=false?); \
                 nothing was written; run the command again",
            ),
        ));
    }
    // Only a state that reached the store changes the caller's copy.
    next.migrated_from = None;
    *state = next;
    Ok(())
}
