//! The state backend: the state, its backup, the lock and the history in a [`Store`] (a local
//! directory or an S3 bucket), all through the same code.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::error::StateError;
use super::lock::{self, StateLock};
use super::lock_info::LockInfo;
use super::statefile::parse_state;
use super::store::{Layout, Place, Store};
use super::{history, HistoryEntry, State};

/// Where the state lives: e.g. `.watchkeep/state.json` with `state.json.lock`, `state.json.backup`
/// and `history/` beside it, or an S3 object with its `.lock`, `.backup` and `.history/` (see
/// [`Layout`]).
#[derive(Debug, Clone)]
pub struct Backend {
    place: Place,
}

/// The name callers used before the S3 backend existed.
pub type LocalBackend = Backend;

impl Backend {
    /// State in a local file.
    pub fn new(state_path: impl Into<PathBuf>) -> Self {
        Backend { place: Place::local(state_path.into()) }
    }

    /// State in an S3 bucket (`state "s3"`). Makes no request yet.
    pub fn s3(settings: super::s3::S3Settings) -> Self {
        let layout = Layout::s3(&settings.key);
        Backend::with_store(Arc::new(super::s3::S3Store::new(settings)), layout)
    }

    /// State in `store` under `layout`.
    pub fn with_store(store: Arc<dyn Store>, layout: Layout) -> Self {
        Backend { place: Place::new(store, layout) }
    }

    /// The state file, or `s3://bucket/key`.
    pub fn state_path(&self) -> &Path {
        self.place.state_path()
    }

    /// `local` or `s3`.
    pub fn kind(&self) -> &'static str {
        self.place.kind()
    }

    pub(crate) fn store(&self) -> &dyn Store {
        self.place.store()
    }

    pub(crate) fn layout(&self) -> &Layout {
        self.place.layout()
    }

    /// The folder of `history`, `validations` or `notes` beside the state, as a store key.
    pub fn side_dir(&self, name: &str) -> String {
        self.place.side_dir(name)
    }

    /// Reads and writes `validations` or `notes` beside the state: call with the key from
    /// [`Backend::side_dir`], e.g. `let dir = b.side_dir("notes"); b.folder(&dir)`.
    pub fn folder<'a>(&'a self, dir: &'a str) -> super::store::Folder<'a> {
        super::store::Folder { store: self.place.store(), dir }
    }

    /// Where [`Backend::side_dir`] is, for messages.
    pub fn side_path(&self, name: &str) -> PathBuf {
        self.store().locate(&self.side_dir(name))
    }

    /// `history/` beside the state file.
    pub fn history_dir(&self) -> PathBuf {
        self.side_path("history")
    }

    /// `<state path>.lock`.
    pub fn lock_path(&self) -> PathBuf {
        self.place.lock_path()
    }

    /// `<state path>.backup`: the state as it was before the last save.
    pub fn backup_path(&self) -> PathBuf {
        self.store().locate(&self.layout().backup())
    }

    /// The current state; `None` when no state file exists yet. A corrupt file or one in a newer
    /// format is refused and left untouched.
    pub fn load(&self) -> Result<Option<State>, StateError> {
        match self.store().read(&self.layout().state) {
            Ok(Some(obj)) => parse_state(self.state_path(), &obj.bytes).map(Some),
            Ok(None) => Ok(None),
            Err(e) => Err(StateError::io("read state file", self.state_path(), e)),
        }
    }

    /// Takes the state lock for `operation` (e.g. `apply`), or reports who holds it.
    pub fn lock(&self, operation: &str) -> Result<StateLock, StateError> {
        if let Some(w) = self.store().versioning_warning() {
            eprintln!("warning: {w}");
        }
        lock::acquire(&self.place, operation)
    }

    /// A writer without the lock, for `-lock=false`: writes are not checked against a lock holder.
    pub fn without_lock(&self, operation: &str) -> StateLock {
        lock::unlocked(&self.place, operation)
    }

    /// Who holds the lock, if anyone. A damaged lock file gives what could be recovered from it
    /// (fields it lacks read "unknown"), or a `Locked` error when not even its id survived.
    pub fn read_lock(&self) -> Result<Option<LockInfo>, StateError> {
        lock::read(&self.place)
    }

    /// Removes the lock if `lock_id` is its id; returns what it held.
    pub fn force_unlock(&self, lock_id: &str) -> Result<LockInfo, StateError> {
        lock::force_unlock(&self.place, lock_id)
    }

    /// All history entries, oldest first.
    pub fn history(&self) -> Result<Vec<HistoryEntry>, StateError> {
        history::read_all(self.store(), &self.side_dir("history"))
    }

    pub fn history_entry(&self, version: u64) -> Result<Option<HistoryEntry>, StateError> {
        history::read_one(self.store(), &self.side_dir("history"), version)
    }

    /// Every history entry with its hash chain checked (edited, removed or re-ordered entries).
    pub fn history_chain(&self) -> Result<history::HistoryChain, StateError> {
        history::check(self.store(), &self.side_dir("history"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::tests::resource;
    use crate::state::FORMAT_VERSION;
    use std::fs;

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
}

#[cfg(test)]
mod migration_tests {
    use super::*;
    use crate::state::FORMAT_VERSION;

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
