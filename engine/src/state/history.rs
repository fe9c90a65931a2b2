//! History: one immutable file per state-changing operation, `history/<version:06>-<time>.json`,
//! e.g. `history/000012-20260102T030405Z.json`. Entries are only ever added, never rewritten.

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write as _};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::error::StateError;
use super::fsutil::{sync_dir, temp_path};
use super::paths::parent_dir;
use super::{now_rfc3339, HistoryEntry};

/// Writes `entry` as the next version in `dir`. The caller holds the state lock, which is what
/// makes "highest version + 1" safe; the no-overwrite write below is the last line of defence.
pub(super) fn append(dir: &Path, mut entry: HistoryEntry) -> Result<HistoryEntry, StateError> {
    if entry.timestamp.is_empty() {
        entry.timestamp = now_rfc3339();
    }
    let compact = compact_timestamp(&entry.timestamp).ok_or_else(|| StateError::InvalidHistoryEntry {
        detail: format!("timestamp `{}` is not an RFC 3339 time", entry.timestamp),
    })?;
    fs::create_dir_all(dir).map_err(|e| StateError::io("create history directory", dir, e))?;

    let latest = scan(dir)?.iter().map(|(v, _)| *v).max().unwrap_or(0);
    entry.version = latest.checked_add(1).ok_or_else(|| StateError::InvalidHistoryEntry {
        detail: "the history has run out of version numbers".to_string(),
    })?;
    let path = dir.join(format!("{:06}-{compact}.json", entry.version));
    let mut bytes = serde_json::to_vec_pretty(&entry)
        .map_err(|e| StateError::io("serialize history entry for", &path, std::io::Error::other(e)))?;
    bytes.push(b'\n');
    write_new(&path, &bytes)?;
    Ok(entry)
}

/// Creates `path` with `bytes`, failing if it exists. Written to a temp file first and then
/// hard-linked into place, so the entry appears complete or not at all; where hard links are not
/// supported, falls back to writing the file directly with `create_new`.
fn write_new(path: &Path, bytes: &[u8]) -> Result<(), StateError> {
    let dir = parent_dir(path);
    let tmp = temp_path(path);
    let written = OpenOptions::new().write(true).create_new(true).open(&tmp).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_all()
    });
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(StateError::io("write temporary file", &tmp, e));
    }
    let linked = fs::hard_link(&tmp, path);
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            return Err(StateError::io("create history entry", path, e));
        }
        Err(_) => {
            let direct = OpenOptions::new().write(true).create_new(true).open(path);
            let mut file = direct.map_err(|e| StateError::io("create history entry", path, e))?;
            if let Err(e) = file.write_all(bytes).and_then(|()| file.sync_all()) {
                drop(file);
                let _ = fs::remove_file(path); // ours, and incomplete
                return Err(StateError::io("write history entry", path, e));
            }
        }
    }
    sync_dir(&dir)
}

/// All entries, oldest first.
pub(super) fn read_all(dir: &Path) -> Result<Vec<HistoryEntry>, StateError> {
    let mut files = scan(dir)?;
    files.sort();
    if let Some(w) = files.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(duplicate_version(w[0].0, &w[0].1, &w[1].1));
    }
    files.iter().map(|(version, path)| read_entry(path, *version)).collect()
}

pub(super) fn read_one(dir: &Path, version: u64) -> Result<Option<HistoryEntry>, StateError> {
    let mut matching: Vec<PathBuf> =
        scan(dir)?.into_iter().filter(|(v, _)| *v == version).map(|(_, p)| p).collect();
    matching.sort();
    match matching.as_slice() {
        [] => Ok(None),
        [path] => read_entry(path, version).map(Some),
        [first, second, ..] => Err(duplicate_version(version, first, second)),
    }
}

fn duplicate_version(version: u64, first: &Path, second: &Path) -> StateError {
    StateError::CorruptHistory {
        path: second.to_path_buf(),
        detail: format!("version {version} is also used by `{}`", first.display()),
    }
}

fn read_entry(path: &Path, version: u64) -> Result<HistoryEntry, StateError> {
    let bytes = fs::read(path).map_err(|e| StateError::io("read history entry", path, e))?;
    let entry: HistoryEntry = serde_json::from_slice(&bytes)
        .map_err(|e| StateError::CorruptHistory { path: path.to_path_buf(), detail: e.to_string() })?;
    if entry.version != version {
        return Err(StateError::CorruptHistory {
            path: path.to_path_buf(),
            detail: format!("the file name says version {version} but the entry says {}", entry.version),
        });
    }
    Ok(entry)
}

/// `(version, path)` of every history file in `dir`; other files (temp files, notes) are ignored.
fn scan(dir: &Path) -> Result<Vec<(u64, PathBuf)>, StateError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(StateError::io("read history directory", dir, e)),
    };
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| StateError::io("read history directory", dir, e))?;
        let name = entry.file_name();
        if let Some(version) = name.to_str().and_then(version_of) {
            found.push((version, entry.path()));
        }
    }
    Ok(found)
}

/// The version in a history file name such as `000012-20260102T030405Z.json`.
fn version_of(name: &str) -> Option<u64> {
    let (digits, _) = name.strip_suffix(".json")?.split_once('-')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// `2026-01-02T03:04:05Z` → `20260102T030405Z` (in UTC, whatever offset the input had).
fn compact_timestamp(timestamp: &str) -> Option<String> {
    let t = DateTime::parse_from_rfc3339(timestamp).ok()?.with_timezone(&Utc);
    Some(t.format("%Y%m%dT%H%M%SZ").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{ChangeCounts, ChangeRecord, LocalBackend, State, StateError};

    fn backend() -> (tempfile::TempDir, LocalBackend) {
        let dir = tempfile::tempdir().expect("tempdir");
        let b = LocalBackend::new(dir.path().join(".watchkeep").join("state.json"));
        (dir, b)
    }

    fn entry(state: &State, operation: &str) -> HistoryEntry {
        HistoryEntry {
            version: 0,
            serial: state.serial,
            lineage: state.lineage.clone(),
            timestamp: "2026-01-02T03:04:05+02:00".to_string(),
            operation: operation.to_string(),
            actor: "alice@example.com".to_string(),
            source_revision: Some("abc123-dirty".to_string()),
            outcome: "complete".to_string(),
            counts: ChangeCounts { create: 1, ..ChangeCounts::default() },
            changes: vec![ChangeRecord {
                address: "baseline.soc2[\"web-1\"].cpu".to_string(),
                resource_type: "datadog_monitor".to_string(),
                action: "create".to_string(),
                id: Some("123".to_string()),
                changed_attributes: vec!["query".to_string()],
            }],
        }
    }

    #[test]
    fn entries_are_numbered_ordered_and_immutable() {
        let (_dir, b) = backend();
        assert!(b.history().expect("empty history").is_empty());
        let lock = b.lock("apply").expect("lock");
        let mut state = State::new();

        let mut written = Vec::new();
        for op in ["apply", "destroy", "state rm"] {
            lock.save(&mut state).expect("save");
            let mut e = entry(&state, op);
            e.version = 99; // ignored: versions are assigned
            written.push(lock.append_history(e).expect("append"));
        }
        for _ in 0..8 {
            written.push(lock.append_history(entry(&state, "apply")).expect("append"));
        }
        let versions: Vec<u64> = written.iter().map(|e| e.version).collect();
        assert_eq!(versions, (1..=11).collect::<Vec<_>>());
        assert_eq!(b.history().expect("history"), written);
        assert_eq!(b.history_entry(2).expect("read"), Some(written[1].clone()));
        assert_eq!(written[2].operation, "state rm");
        assert!(b.history_entry(12).expect("read").is_none());

        let mut names: Vec<String> = fs::read_dir(b.history_dir())
            .expect("read_dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names.len(), 11, "no temp files left: {names:?}");
        assert_eq!(names[0], "000001-20260102T010405Z.json", "compact UTC time in the name");

        // An existing entry is never overwritten.
        let first = b.history_dir().join(&names[0]);
        let before = fs::read(&first).expect("read");
        assert!(matches!(write_new(&first, b"{}"), Err(StateError::Io { .. })));
        assert_eq!(fs::read(&first).expect("read"), before);
    }

    #[test]
    fn empty_timestamp_is_filled_and_bad_one_refused() {
        let (_dir, b) = backend();
        let lock = b.lock("apply").expect("lock");
        let state = State::new();
        let mut e = entry(&state, "apply");
        e.timestamp = String::new();
        let written = lock.append_history(e).expect("append");
        assert!(DateTime::parse_from_rfc3339(&written.timestamp).is_ok());

        let mut bad = entry(&state, "apply");
        bad.timestamp = "yesterday".to_string();
        assert!(matches!(lock.append_history(bad), Err(StateError::InvalidHistoryEntry { .. })));
        assert_eq!(b.history().expect("history").len(), 1);
    }

    #[test]
    fn corrupt_history_file_is_named() {
        let (_dir, b) = backend();
        let lock = b.lock("apply").expect("lock");
        let state = State::new();
        lock.append_history(entry(&state, "apply")).expect("append");
        let bad = b.history_dir().join("000002-20260102T030405Z.json");
        fs::write(&bad, "{\"version\": 2, ").expect("write");
        fs::write(b.history_dir().join("README.txt"), "ignored").expect("write");

        match b.history() {
            Err(e @ StateError::CorruptHistory { .. }) => {
                let m = e.to_string();
                assert!(m.contains("000002-20260102T030405Z.json"), "{m}");
            }
            other => panic!("expected CorruptHistory, got {other:?}"),
        }
        assert!(matches!(b.history_entry(2), Err(StateError::CorruptHistory { .. })));
        assert!(b.history_entry(1).expect("entry 1 still readable").is_some());

        // A file whose name and content disagree is corrupt too.
        let mut e = entry(&state, "apply");
        e.version = 7;
        fs::write(&bad, serde_json::to_vec(&e).expect("json")).expect("write");
        assert!(matches!(b.history_entry(2), Err(StateError::CorruptHistory { .. })));
    }

    #[test]
    fn history_file_names() {
        assert_eq!(version_of("000012-20260102T030405Z.json"), Some(12));
        assert_eq!(version_of("1234567-20260102T030405Z.json"), Some(1_234_567));
        assert_eq!(version_of(".000012-x.json.tmp-1-abc"), None);
        assert_eq!(version_of("notes.json"), None);
        assert_eq!(version_of("-x.json"), None);
        assert_eq!(compact_timestamp("2026-01-02T03:04:05.123Z").as_deref(), Some("20260102T030405Z"));
        assert_eq!(compact_timestamp("not a time"), None);
    }
}
