//! The local backend: the state file on disk, its backup, and the atomic writer.

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write as _};
use std::path::{Path, PathBuf};

use super::error::{backup_of, history_dir_of, parent_dir, StateError};
use super::lock::{self, LockInfo, StateLock};
use super::{history, HistoryEntry, State, FORMAT_VERSION, WATCHKEEP_VERSION};

/// State kept in a local file, e.g. `.watchkeep/state.json`, with `state.json.lock`,
/// `state.json.backup` and `history/` beside it.
#[derive(Debug, Clone)]
pub struct LocalBackend {
    state_path: PathBuf,
}

impl LocalBackend {
    pub fn new(state_path: impl Into<PathBuf>) -> Self {
        LocalBackend { state_path: state_path.into() }
    }

    pub fn state_path(&self) -> &Path {
        &self.state_path
    }

    /// `history/` beside the state file.
    pub fn history_dir(&self) -> PathBuf {
        history_dir_of(&self.state_path)
    }

    /// `<state path>.backup`: the state as it was before the last save.
    pub fn backup_path(&self) -> PathBuf {
        backup_of(&self.state_path)
    }

    /// The current state; `None` when no state file exists yet. A corrupt file or one in a newer
    /// format is refused and left untouched.
    pub fn load(&self) -> Result<Option<State>, StateError> {
        match fs::read(&self.state_path) {
            Ok(bytes) => parse_state(&self.state_path, &bytes).map(Some),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StateError::io("read state file", &self.state_path, e)),
        }
    }

    /// Takes the state lock for `operation` (e.g. `apply`), or reports who holds it.
    pub fn lock(&self, operation: &str) -> Result<StateLock, StateError> {
        lock::acquire(self, operation)
    }

    /// Who holds the lock, if anyone. A damaged lock file gives what could be recovered from it
    /// (fields it lacks read "unknown"), or a `Locked` error when not even its id survived.
    pub fn read_lock(&self) -> Result<Option<LockInfo>, StateError> {
        lock::read(self)
    }

    /// Removes the lock if `lock_id` is its id; returns what it held.
    pub fn force_unlock(&self, lock_id: &str) -> Result<LockInfo, StateError> {
        lock::force_unlock(self, lock_id)
    }

    /// All history entries, oldest first.
    pub fn history(&self) -> Result<Vec<HistoryEntry>, StateError> {
        history::read_all(&self.history_dir())
    }

    pub fn history_entry(&self, version: u64) -> Result<Option<HistoryEntry>, StateError> {
        history::read_one(&self.history_dir(), version)
    }
}

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
        for (from, migrate) in super::MIGRATIONS {
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
pub(super) fn save(backend: &LocalBackend, state: &mut State) -> Result<(), StateError> {
    let path = backend.state_path();
    let mut next = state.clone();
    next.sort();
    if let Some(address) = next.duplicate_address() {
        return Err(StateError::DuplicateAddress { address: address.to_string() });
    }

    match fs::read(path) {
        Ok(bytes) => {
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
                let keep = path.with_file_name(format!(
                    "{}.v{old}.backup",
                    path.file_name().and_then(|n| n.to_str()).unwrap_or("state.json")
                ));
                if !keep.exists() {
                    write_atomic(&keep, &bytes)?;
                }
            }
            write_atomic(&backend.backup_path(), &bytes)?;
        }
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(StateError::io("read state file", path, e)),
    }

    next.serial = next.serial.saturating_add(1);
    next.format_version = FORMAT_VERSION;
    next.watchkeep_version = WATCHKEEP_VERSION.to_string();
    let mut bytes = serde_json::to_vec_pretty(&next)
        .map_err(|e| StateError::io("serialize state for", path, std::io::Error::other(e)))?;
    bytes.push(b'\n');
    write_atomic(path, &bytes)?;
    // Only a state that reached the disk changes the caller's copy.
    next.migrated_from = None;
    *state = next;
    Ok(())
}

/// Replaces `path` with `bytes` so that readers see the old or the new content, never a mix:
/// temp file in the same directory, fsync, rename over `path`, fsync of the directory.
pub(super) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StateError> {
    let dir = parent_dir(path);
    fs::create_dir_all(&dir).map_err(|e| StateError::io("create directory", &dir, e))?;
    let tmp = temp_path(path);
    let written = OpenOptions::new().write(true).create_new(true).open(&tmp).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_all()
    });
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(StateError::io("write temporary file", &tmp, e));
    }
    if let Err(e) = fs::rename(&tmp, path) {
        let _ = fs::remove_file(&tmp);
        return Err(StateError::io("replace", path, e));
    }
    sync_dir(&dir)
}

/// A hidden, unique name beside `path`, e.g. `.state.json.tmp-4242-<uuid>`.
pub(super) fn temp_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    parent_dir(path).join(format!(".{name}.tmp-{}-{}", std::process::id(), uuid::Uuid::new_v4().simple()))
}

/// Makes a rename or a new file in `dir` durable.
pub(super) fn sync_dir(dir: &Path) -> Result<(), StateError> {
    #[cfg(unix)]
    {
        fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| StateError::io("sync directory", dir, e))?;
    }
    #[cfg(not(unix))]
    let _ = dir; // directories cannot be opened for fsync here; rename is still atomic
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::tests::resource;

    fn backend() -> (tempfile::TempDir, LocalBackend) {
        let dir = tempfile::tempdir().expect("tempdir");
        let b = LocalBackend::new(dir.path().join(".watchkeep").join("state.json"));
        (dir, b)
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .expect("read_dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    fn write_raw(b: &LocalBackend, text: &str) {
        fs::create_dir_all(b.state_path().parent().expect("parent")).expect("mkdir");
        fs::write(b.state_path(), text).expect("write");
    }

    #[test]
    fn load_missing_is_none() {
        let (_dir, b) = backend();
        assert!(b.load().expect("load").is_none());
    }

    #[test]
    fn save_load_round_trip_increments_serial_and_sorts() {
        let (_dir, b) = backend();
        let lock = b.lock("apply").expect("lock");
        let mut s = State::new();
        s.resources.push(resource("z.last"));
        s.resources.push(resource("a.first"));
        s.upsert(resource("m.middle"));
        lock.save(&mut s).expect("save");
        assert_eq!(s.serial, 1);
        let addresses: Vec<_> = s.resources.iter().map(|r| r.address.as_str()).collect();
        assert_eq!(addresses, ["a.first", "m.middle", "z.last"]);

        let loaded = b.load().expect("load").expect("some");
        assert_eq!(loaded, s);

        let mut again = loaded;
        again.remove("m.middle");
        lock.save(&mut again).expect("save 2");
        assert_eq!(again.serial, 2);
        let loaded = b.load().expect("load").expect("some");
        assert_eq!(loaded.serial, 2);
        assert_eq!(loaded.resources.len(), 2);
        assert_eq!(loaded.lineage, s.lineage);

        let text = fs::read_to_string(b.state_path()).expect("read");
        assert!(text.ends_with("}\n"), "pretty with trailing newline");
        assert!(
            text.starts_with(&format!("{{\n  \"format_version\": {FORMAT_VERSION},\n  \"serial\": 2,\n")),
            "{text}"
        );
    }

    #[test]
    fn atomic_write_leaves_no_temp_files() {
        let (_dir, b) = backend();
        let lock = b.lock("apply").expect("lock");
        let mut s = State::new();
        for i in 0..5 {
            s.upsert(resource(&format!("r{i}")));
            lock.save(&mut s).expect("save");
        }
        let dir = b.state_path().parent().expect("parent");
        assert_eq!(names(dir), ["state.json", "state.json.backup", "state.json.lock"]);
        drop(lock);
        assert_eq!(names(dir), ["state.json", "state.json.backup"]);
    }

    #[test]
    fn backup_holds_previous_state() {
        let (_dir, b) = backend();
        let lock = b.lock("apply").expect("lock");
        let mut s = State::new();
        lock.save(&mut s).expect("save 1");
        assert!(!b.backup_path().exists(), "nothing to back up on the first save");
        let first = fs::read(b.state_path()).expect("read");

        s.upsert(resource("a"));
        lock.save(&mut s).expect("save 2");
        assert_eq!(fs::read(b.backup_path()).expect("backup"), first);
        let backup = parse_state(&b.backup_path(), &first).expect("backup is valid state");
        assert_eq!(backup.serial, 1);
        assert!(backup.resources.is_empty());
    }

    #[test]
    fn corrupt_and_truncated_files_are_refused_and_untouched() {
        let (_dir, b) = backend();
        let lock = b.lock("apply").expect("lock");
        let mut s = State::new();
        s.upsert(resource("a"));
        lock.save(&mut s).expect("save");
        let good = fs::read_to_string(b.state_path()).expect("read");

        let cases = [
            good[..good.len() / 2].to_string(), // truncated
            String::new(),                      // empty
            "{\n  \"format_version\": 1,\n  \"serial\": oops\n}\n".to_string(),
            "[1, 2]".to_string(),
            "{\"serial\": 3}".to_string(),
            good.replace("\"resources\"", "\"resourcez\""),
            good.replace("\"serial\": 1", "\"serial\": -1"),
        ];
        for text in cases {
            write_raw(&b, &text);
            match b.load() {
                Err(e @ StateError::Corrupt { .. }) => {
                    let m = e.to_string();
                    assert!(m.contains("is not valid watchkeep state"), "{m}");
                    assert!(m.contains("nothing was changed"), "{m}");
                }
                other => panic!("expected Corrupt for {text:?}, got {other:?}"),
            }
            // Saving over it is refused too, and nothing changes.
            let mut s2 = s.clone();
            assert!(matches!(lock.save(&mut s2), Err(StateError::Corrupt { .. })));
            assert_eq!(fs::read_to_string(b.state_path()).expect("read"), text, "file untouched");
            assert_eq!(s2, s, "caller's state untouched");
        }
    }

    #[test]
    fn corrupt_error_has_line_and_column() {
        let (_dir, b) = backend();
        write_raw(&b, "{\n  \"format_version\": 1,\n  \"serial\": oops\n}\n");
        let m = b.load().expect_err("corrupt").to_string();
        assert!(m.contains("line 3 column"), "{m}");
        assert!(m.contains("state.json.backup"), "{m}");
    }

    #[test]
    fn duplicate_addresses_are_corrupt() {
        let (_dir, b) = backend();
        let mut s = State::new();
        s.resources = vec![resource("a"), resource("a")];
        write_raw(&b, &serde_json::to_string(&s).expect("json"));
        assert!(matches!(b.load(), Err(StateError::Corrupt { .. })));
        let lock = b.lock("apply").expect("lock");
        fs::remove_file(b.state_path()).expect("rm");
        assert!(matches!(lock.save(&mut s), Err(StateError::DuplicateAddress { .. })));
        assert!(!b.state_path().exists());
    }

    #[test]
    fn newer_format_is_refused_and_untouched() {
        let (_dir, b) = backend();
        let text = "{\"format_version\": 99, \"serial\": 9, \"something_new\": {}}\n";
        write_raw(&b, text);
        match b.load() {
            Err(e @ StateError::NewerFormat { found: 99, supported: FORMAT_VERSION, .. }) => {
                let m = e.to_string();
                assert!(m.contains("format version 99") && m.contains("upgrade watchkeep"), "{m}");
            }
            other => panic!("expected NewerFormat, got {other:?}"),
        }
        let lock = b.lock("apply").expect("lock");
        assert!(matches!(lock.save(&mut State::new()), Err(StateError::NewerFormat { .. })));
        assert_eq!(fs::read_to_string(b.state_path()).expect("read"), text);
    }

    #[test]
    fn unknown_fields_are_accepted() {
        let (_dir, b) = backend();
        let mut s = State::new();
        s.upsert(resource("a"));
        let mut v = serde_json::to_value(&s).expect("json");
        v["added_later"] = serde_json::json!(true);
        v["resources"][0]["also_new"] = serde_json::json!("x");
        write_raw(&b, &v.to_string());
        assert_eq!(b.load().expect("load").expect("some"), s);
    }

    #[test]
    fn other_lineage_or_older_serial_is_refused() {
        let (_dir, b) = backend();
        let lock = b.lock("apply").expect("lock");
        let mut s = State::new();
        lock.save(&mut s).expect("save");
        lock.save(&mut s).expect("save");
        let on_disk = fs::read(b.state_path()).expect("read");

        let mut stranger = State::new();
        stranger.serial = 10;
        assert!(matches!(lock.save(&mut stranger), Err(StateError::LineageMismatch { .. })));

        let mut old = s.clone();
        old.serial = 1;
        assert!(matches!(lock.save(&mut old), Err(StateError::StaleSerial { on_disk: 2, ours: 1, .. })));
        assert_eq!(old.serial, 1);
        assert_eq!(fs::read(b.state_path()).expect("read"), on_disk);
    }

    #[test]
    fn bare_file_name_uses_current_dir_parent() {
        assert_eq!(temp_path(Path::new("s.json")).parent(), Some(Path::new(".")));
        let t = temp_path(Path::new("d/s.json"));
        assert_eq!(t.parent(), Some(Path::new("d")));
        assert!(t.file_name().map(|n| n.to_string_lossy().starts_with(".s.json.tmp-")).unwrap_or(false));
    }
}

#[cfg(test)]
mod migration_tests {
    use super::*;

    const V1: &str = r#"{
  "format_version": 1,
  "serial": 4,
  "lineage": "7d1f3a52-0000-4000-8000-000000000001",
  "watchkeep_version": "0.1.0",
  "resources": [
    {
      "address": "baseline.soc2[\"web-1\"].cpu",
      "resource_type": "datadog_monitor",
      "provider": "datadog",
      "id": "1000001",
      "origin": "baseline.soc2",
      "attrs": {"name": "web-1: CPU usage above 85% for 5m"},
      "vendor_modified": null,
      "changed_at": "2026-11-20T10:00:00Z"
    }
  ]
}
"#;

    #[test]
    fn format_1_is_migrated_and_the_original_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state.json");
        std::fs::write(&path, V1).expect("write v1");
        let backend = LocalBackend::new(&path);
        let mut state = backend.load().expect("load").expect("state");
        assert_eq!(state.migrated_from, Some(1));
        assert_eq!(state.resources[0].sensitive_paths, Vec::<String>::new());
        assert_eq!(std::fs::read_to_string(&path).expect("read"), V1, "loading changes nothing on disk");

        let lock = backend.lock("apply").expect("lock");
        lock.save(&mut state).expect("save");
        assert_eq!(state.serial, 5);
        assert_eq!(state.migrated_from, None);
        let written: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
        assert_eq!(written["format_version"], FORMAT_VERSION);
        assert_eq!(std::fs::read_to_string(dir.path().join("state.json.v1.backup")).expect("v1 backup"), V1);
        assert_eq!(backend.load().expect("reload").expect("state").migrated_from, None);
    }
}
