//! History: one immutable file per state-changing operation, `history/<version:06>-<time>.json`,
//! e.g. `history/000012-20260102T030405Z.json`. Entries are only ever added, never rewritten.
//!
//! Entries are hash-chained as the validation records are: each carries the SHA-256 of the file of
//! the entry before it (`previous_sha256`), and `history/HEAD` holds the newest entry's version,
//! file name and SHA-256. [`check`] reads the chain back: an edited entry breaks the link of the
//! entry after it (or HEAD, for the newest), a removed one leaves a gap in the versions, and a
//! removed newest entry no longer matches HEAD. Entries written before the chain existed have no
//! `previous_sha256`; they are accepted as a legacy prefix, and the first chained entry links to the
//! newest of them.

use chrono::{DateTime, Utc};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::error::StateError;
use super::store::{join, Created, Store};
use super::{now_rfc3339, HistoryEntry};

/// Writes `entry` as the next version in `dir`. The caller holds the state lock, which is what
/// makes "highest version + 1" safe; the create-if-absent write below is the last line of defence.
pub(super) fn append(
    store: &dyn Store,
    dir: &str,
    mut entry: HistoryEntry,
) -> Result<HistoryEntry, StateError> {
    if entry.timestamp.is_empty() {
        entry.timestamp = now_rfc3339();
    }
    let compact = compact_timestamp(&entry.timestamp).ok_or_else(|| StateError::InvalidHistoryEntry {
        detail: format!("timestamp `{}` is not an RFC 3339 time", entry.timestamp),
    })?;

    let files = scan(store, dir)?;
    let latest = files.iter().max().cloned();
    entry.version = latest.as_ref().map_or(0, |(v, _)| *v).checked_add(1).ok_or_else(|| {
        StateError::InvalidHistoryEntry { detail: "the history has run out of version numbers".to_string() }
    })?;
    entry.previous_sha256 = match &latest {
        Some((_, key)) => Some(sha256_hex(&read_bytes(store, key)?)),
        None => None,
    };
    let name = format!("{:06}-{compact}.json", entry.version);
    let key = join(dir, &name);
    let mut bytes = serde_json::to_vec_pretty(&entry).map_err(|e| {
        StateError::io("serialize history entry for", store.locate(&key), std::io::Error::other(e))
    })?;
    bytes.push(b'\n');
    write_new(store, &key, &bytes)?;
    write_head(store, dir, &Head { version: entry.version, file: name, sha256: sha256_hex(&bytes) })?;
    Ok(entry)
}

fn read_bytes(store: &dyn Store, key: &str) -> Result<Vec<u8>, StateError> {
    match store.read(key) {
        Ok(Some(obj)) => Ok(obj.bytes),
        Ok(None) => Err(StateError::io(
            "read history entry",
            store.locate(key),
            std::io::Error::new(std::io::ErrorKind::NotFound, "it disappeared while being read"),
        )),
        Err(e) => Err(StateError::io("read history entry", store.locate(key), e)),
    }
}

/// The file in the history folder that names the newest entry.
pub const HEAD_FILE: &str = "HEAD";

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Head {
    version: u64,
    file: String,
    sha256: String,
}

pub(super) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Replaces `HEAD` atomically (the caller holds the state lock, so versions only grow).
fn write_head(store: &dyn Store, dir: &str, head: &Head) -> Result<(), StateError> {
    let key = join(dir, HEAD_FILE);
    let mut bytes = serde_json::to_vec_pretty(head)
        .map_err(|e| StateError::io("serialize", store.locate(&key), std::io::Error::other(e)))?;
    bytes.push(b'\n');
    store.write(&key, &bytes).map_err(|e| StateError::io("write history HEAD", store.locate(&key), e))
}

/// One history entry as [`check`] read it.
#[derive(Debug, Clone, PartialEq)]
pub struct ChainedEntry {
    /// The file's name (`000003-20260102T030405Z.json`).
    pub file: String,
    /// SHA-256 (hex) of the file's bytes.
    pub sha256: String,
    /// The entry, when the file is a readable history entry.
    pub entry: Option<HistoryEntry>,
}

/// The history read back with its hash chain checked.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryChain {
    /// Every entry file, by version.
    pub entries: Vec<ChainedEntry>,
    /// SHA-256 of the newest entry.
    pub head_sha256: Option<String>,
    /// What breaks the chain, one line each, naming the file. Empty: intact.
    pub problems: Vec<String>,
}

impl HistoryChain {
    pub fn intact(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Reads every entry in `dir` and checks versions, links and `HEAD`. Unreadable entries are
/// problems, not errors: the point is to say what was tampered with.
pub(super) fn check(store: &dyn Store, dir: &str) -> Result<HistoryChain, StateError> {
    let mut files = scan(store, dir)?;
    files.sort();
    let mut entries = Vec::new();
    let mut problems = Vec::new();
    let mut previous: Option<String> = None;
    let mut chained = false;
    let mut expected = 1u64;
    for (version, key) in &files {
        let name = key.rsplit('/').next().unwrap_or(key).to_string();
        if *version < expected {
            problems.push(format!("{name}: version {version} appears twice"));
        } else if *version > expected {
            let missing = if version - expected > 1 {
                format!("entries {expected:06}–{:06} are", version - 1)
            } else {
                format!("entry {expected:06} is")
            };
            problems.push(format!("{missing} missing before {name}: removed?"));
        }
        expected = version.saturating_add(1);
        let bytes = read_bytes(store, key)?;
        let sha = sha256_hex(&bytes);
        let entry = match serde_json::from_slice::<HistoryEntry>(&bytes) {
            Ok(e) => {
                if e.version != *version {
                    problems.push(format!(
                        "{name}: says version {}, its name says {version}: edited or renamed",
                        e.version
                    ));
                }
                match &e.previous_sha256 {
                    Some(link) => {
                        if Some(link) != previous.as_ref() {
                            problems.push(format!(
                                "{name}: the SHA-256 it records for the entry before it ({}) does not match: that entry was edited, replaced or removed",
                                &link[..link.len().min(12)]
                            ));
                        }
                        chained = true;
                    }
                    None if chained => problems.push(format!(
                        "{name}: carries no link to the entry before it, although earlier entries are chained: edited?"
                    )),
                    None => {}
                }
                Some(e)
            }
            Err(e) => {
                problems.push(format!("{name}: not a readable history entry ({e}): edited?"));
                None
            }
        };
        entries.push(ChainedEntry { file: name, sha256: sha.clone(), entry });
        previous = Some(sha);
    }
    let head_key = join(dir, HEAD_FILE);
    match store.read(&head_key) {
        Ok(Some(obj)) => match serde_json::from_slice::<Head>(&obj.bytes) {
            Ok(head) => match entries.iter().find(|e| e.file == head.file) {
                None => problems.push(format!(
                    "HEAD names entry {:06} ({}), which is missing: removed?",
                    head.version, head.file
                )),
                Some(e) => {
                    if e.sha256 != head.sha256 {
                        problems
                            .push(format!("{}: its SHA-256 is not the one HEAD recorded: edited", e.file));
                    }
                    if entries.last().map(|l| &l.file) != Some(&head.file) {
                        problems.push(format!(
                            "HEAD names {} as the newest entry, but later entries exist: added outside watchkeep?",
                            head.file
                        ));
                    }
                }
            },
            Err(e) => problems.push(format!("history HEAD is not readable ({e}): edited?")),
        },
        Ok(None) => {
            if chained {
                problems.push("history HEAD is missing although chained entries exist: removed?".to_string());
            }
        }
        Err(e) => return Err(StateError::io("read history HEAD", store.locate(&head_key), e)),
    }
    let head_sha256 = entries.last().map(|e| e.sha256.clone());
    Ok(HistoryChain { entries, head_sha256, problems })
}

/// Creates `key` with `bytes`, failing if it exists: complete or not at all (a hard-linked temp
/// file locally, `If-None-Match: *` on S3).
fn write_new(store: &dyn Store, key: &str, bytes: &[u8]) -> Result<(), StateError> {
    match store.create_new(key, bytes) {
        Ok(Created::Created { .. }) => Ok(()),
        Ok(Created::Exists) => Err(StateError::io(
            "create history entry",
            store.locate(key),
            std::io::Error::new(std::io::ErrorKind::AlreadyExists, "an entry with this name already exists"),
        )),
        Err(e) => Err(StateError::io("create history entry", store.locate(key), e)),
    }
}

/// All entries, oldest first.
pub(super) fn read_all(store: &dyn Store, dir: &str) -> Result<Vec<HistoryEntry>, StateError> {
    let mut files = scan(store, dir)?;
    files.sort();
    if let Some(w) = files.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(duplicate_version(store, w[0].0, &w[0].1, &w[1].1));
    }
    files.iter().map(|(version, key)| read_entry(store, key, *version)).collect()
}

pub(super) fn read_one(
    store: &dyn Store,
    dir: &str,
    version: u64,
) -> Result<Option<HistoryEntry>, StateError> {
    let mut matching: Vec<String> =
        scan(store, dir)?.into_iter().filter(|(v, _)| *v == version).map(|(_, p)| p).collect();
    matching.sort();
    match matching.as_slice() {
        [] => Ok(None),
        [key] => read_entry(store, key, version).map(Some),
        [first, second, ..] => Err(duplicate_version(store, version, first, second)),
    }
}

fn duplicate_version(store: &dyn Store, version: u64, first: &str, second: &str) -> StateError {
    StateError::CorruptHistory {
        path: store.locate(second),
        detail: format!("version {version} is also used by `{}`", store.locate(first).display()),
    }
}

fn read_entry(store: &dyn Store, key: &str, version: u64) -> Result<HistoryEntry, StateError> {
    let bytes = read_bytes(store, key)?;
    let path = store.locate(key);
    let entry: HistoryEntry = serde_json::from_slice(&bytes)
        .map_err(|e| StateError::CorruptHistory { path: path.clone(), detail: e.to_string() })?;
    if entry.version != version {
        return Err(StateError::CorruptHistory {
            path,
            detail: format!("the file name says version {version} but the entry says {}", entry.version),
        });
    }
    Ok(entry)
}

/// `(version, key)` of every history file in `dir`; other files (temp files, notes) are ignored.
fn scan(store: &dyn Store, dir: &str) -> Result<Vec<(u64, String)>, StateError> {
    let names =
        store.list(dir).map_err(|e| StateError::io("read history directory", store.locate(dir), e))?;
    Ok(names.into_iter().filter_map(|name| version_of(&name).map(|v| (v, join(dir, &name)))).collect())
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
    use std::fs;

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
            previous_sha256: None,
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
        assert_eq!(names.pop().as_deref(), Some(HEAD_FILE), "HEAD names the newest entry");
        assert_eq!(names.len(), 11, "no temp files left: {names:?}");
        assert_eq!(names[0], "000001-20260102T010405Z.json", "compact UTC time in the name");

        // An existing entry is never overwritten.
        let first = b.history_dir().join(&names[0]);
        let before = fs::read(&first).expect("read");
        let store = crate::state::store::LocalStore::new(b.history_dir());
        assert!(matches!(write_new(&store, &names[0], b"{}"), Err(StateError::Io { .. })));
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
    fn the_chain_shows_an_edited_a_removed_and_an_added_entry() {
        let (_dir, b) = backend();
        let lock = b.lock("apply").expect("lock");
        let mut state = State::new();
        // Two entries written before the chain existed: no link, no HEAD.
        let dir = b.history_dir();
        fs::create_dir_all(&dir).expect("mkdir");
        for v in 1..=2u64 {
            let mut e = entry(&state, "apply");
            e.version = v;
            let bytes = serde_json::to_vec_pretty(&e).expect("json");
            fs::write(dir.join(format!("{v:06}-20260102T010405Z.json")), bytes).expect("write");
        }
        assert!(b.history_chain().expect("chain").intact(), "a legacy prefix is accepted");
        for _ in 0..3 {
            lock.save(&mut state).expect("save");
            lock.append_history(entry(&state, "apply")).expect("append");
        }
        let chain = b.history_chain().expect("chain");
        assert!(chain.intact(), "{:?}", chain.problems);
        assert_eq!(chain.entries.len(), 5);
        assert_eq!(chain.head_sha256.as_deref(), Some(chain.entries[4].sha256.as_str()));
        let third = chain.entries[2].entry.clone().expect("entry");
        assert_eq!(
            third.previous_sha256.as_deref(),
            Some(chain.entries[1].sha256.as_str()),
            "links the legacy entry"
        );

        // Edit entry 3 (an actor rewritten): entry 4's link breaks.
        let path3 = dir.join(&chain.entries[2].file);
        let text = fs::read_to_string(&path3).expect("read");
        fs::write(&path3, text.replace("alice@example.com", "mallory@example.com")).expect("write");
        let broken = b.history_chain().expect("chain");
        assert!(!broken.intact());
        assert!(
            broken.problems.iter().any(|p| p.contains(&chain.entries[3].file) && p.contains("edited")),
            "{:?}",
            broken.problems
        );
        fs::write(&path3, text).expect("restore");
        assert!(b.history_chain().expect("chain").intact());

        // Edit the newest entry: HEAD catches it.
        let path5 = dir.join(&chain.entries[4].file);
        let text5 = fs::read_to_string(&path5).expect("read");
        fs::write(&path5, text5.replace("\"apply\"", "\"destroy\"")).expect("write");
        let broken = b.history_chain().expect("chain");
        assert!(broken.problems.iter().any(|p| p.contains("HEAD recorded")), "{:?}", broken.problems);
        fs::write(&path5, &text5).expect("restore");

        // Remove a middle entry: a gap and a broken link.
        let path4 = dir.join(&chain.entries[3].file);
        let text4 = fs::read(&path4).expect("read");
        fs::remove_file(&path4).expect("rm");
        let broken = b.history_chain().expect("chain");
        assert!(
            broken.problems.iter().any(|p| p.contains("missing") && p.contains("removed")),
            "{:?}",
            broken.problems
        );
        fs::write(&path4, text4).expect("restore");

        // Remove the newest entry: HEAD names a missing file.
        fs::remove_file(&path5).expect("rm");
        let broken = b.history_chain().expect("chain");
        assert!(broken.problems.iter().any(|p| p.contains("HEAD names")), "{:?}", broken.problems);
        fs::write(&path5, &text5).expect("restore");
        assert!(b.history_chain().expect("chain").intact());
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
