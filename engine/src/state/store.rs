//! The storage seam under the state backend: everything the state layer keeps (the state, its
//! backup, the lock, history entries and `HEAD`, validation records, resolution notes) is read and
//! written through one small [`Store`], so the same code runs on a local directory
//! ([`LocalStore`]) and on an S3 bucket ([`super::s3::S3Store`]).
//!
//! Keys are `/`-separated names relative to the store's root: the directory of the state file
//! locally, the key prefix of the state object on S3. [`Layout`] says which key holds what.

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::fsutil::{sync_dir, temp_path, write_atomic};
use super::paths::parent_dir;

/// An object read back: its bytes, and the store's version tag (the S3 ETag; `None` locally).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    pub bytes: Vec<u8>,
    pub etag: Option<String>,
}

/// What a create-if-absent did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    /// Written; the ETag of the new object when the store has them.
    Created { etag: Option<String> },
    /// Something already exists under that key; nothing was written.
    Exists,
}

/// What a delete-if-unchanged did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deleted {
    Deleted,
    /// Nothing is there any more.
    Missing,
    /// The object no longer holds what we expected (a new lock, another writer); left as it is.
    Changed,
}

/// Byte storage under one root. Every method is blocking and safe to call from inside a tokio
/// runtime (the S3 store does its requests on a thread of its own).
pub trait Store: Send + Sync + std::fmt::Debug {
    /// Where `key` is, for messages: a file path, or `s3://bucket/key`.
    fn locate(&self, key: &str) -> PathBuf;
    /// The object, or `None` when there is none.
    fn read(&self, key: &str) -> std::io::Result<Option<Object>>;
    /// Replaces the object so that readers see the old or the new bytes, never a mix.
    fn write(&self, key: &str, bytes: &[u8]) -> std::io::Result<()>;
    /// Creates the object only if nothing is under `key` yet; complete or not at all.
    fn create_new(&self, key: &str, bytes: &[u8]) -> std::io::Result<Created>;
    /// Names (the part after `dir/`) of the objects directly under `dir/`; empty when none.
    fn list(&self, dir: &str) -> std::io::Result<Vec<String>>;
    /// Deletes the object only if it still is `expected` (same ETag on S3, same bytes locally).
    fn delete_if(&self, key: &str, expected: &Object) -> std::io::Result<Deleted>;
    /// Replaces the object only if it still is `expected` (`None`: only if there is none yet);
    /// `Ok(false)` when it changed meanwhile, with nothing written. Locally the check and the
    /// write are two steps (the state lock is what serialises writers there); on S3 it is one
    /// conditional `PutObject`.
    fn write_if(&self, key: &str, bytes: &[u8], expected: Option<&Object>) -> std::io::Result<bool> {
        let now = self.read(key)?;
        if now.as_ref().map(|o| &o.bytes) != expected.map(|o| &o.bytes) {
            return Ok(false);
        }
        self.write(key, bytes).map(|()| true)
    }
    /// A short name of the kind of store for messages: `local` or `s3`.
    fn kind(&self) -> &'static str;
    /// A warning about how the store is set up (an S3 bucket without versioning), at most once
    /// per process.
    fn versioning_warning(&self) -> Option<String> {
        None
    }
}

/// Which key holds what, relative to the store root.
///
/// | what | local (`.watchkeep/state.json`) | S3 (`key = "team/watchkeep.json"`) |
/// | --- | --- | --- |
/// | state | `state.json` | `team/watchkeep.json` |
/// | lock | `state.json.lock` | `team/watchkeep.json.lock` |
/// | backup | `state.json.backup` | `team/watchkeep.json.backup` |
/// | history | `history/` | `team/watchkeep.json.history/` |
/// | validation records | `validations/` | `team/watchkeep.json.validations/` |
/// | resolution notes | `notes/` | `team/watchkeep.json.notes/` |
///
/// Locally the folders keep the names they always had (beside the state file); on S3 they are
/// prefixed with the state key, so two states under one prefix never share a history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// The state object's key.
    pub state: String,
    /// Prefix of the side folders: empty locally (`history/`), `<state>.` on S3.
    side_prefix: String,
}

impl Layout {
    /// The local layout of a state file named `file_name`.
    pub fn local(file_name: &str) -> Layout {
        Layout { state: file_name.to_string(), side_prefix: String::new() }
    }

    /// The S3 layout of the state object `key`.
    pub fn s3(key: &str) -> Layout {
        Layout { state: key.to_string(), side_prefix: format!("{key}.") }
    }

    pub fn lock(&self) -> String {
        format!("{}.lock", self.state)
    }

    pub fn backup(&self) -> String {
        format!("{}.backup", self.state)
    }

    /// `<state>.v<N>.backup`: the last copy in an older format.
    pub fn format_backup(&self, old: u32) -> String {
        format!("{}.v{old}.backup", self.state)
    }

    /// The folder (no trailing `/`) of `history`, `validations` or `notes`.
    pub fn dir(&self, name: &str) -> String {
        let parent = match self.state.rfind('/') {
            Some(i) if self.side_prefix.is_empty() => &self.state[..=i],
            _ => "",
        };
        format!("{parent}{}{name}", self.side_prefix)
    }
}

/// A state's place: its store, its layout, and the path messages name. What the lock and the
/// state writer work on (the backend wraps it).
#[derive(Debug, Clone)]
pub struct Place {
    store: Arc<dyn Store>,
    layout: Layout,
    /// The state file, or `s3://bucket/key`.
    state_path: PathBuf,
}

impl Place {
    pub fn new(store: Arc<dyn Store>, layout: Layout) -> Place {
        let state_path = store.locate(&layout.state);
        Place { store, layout, state_path }
    }

    /// A local state file, keeping `state_path` exactly as given.
    pub fn local(state_path: PathBuf) -> Place {
        let (root, name) = split_local(&state_path);
        Place { store: Arc::new(LocalStore::new(root)), layout: Layout::local(&name), state_path }
    }

    pub fn store(&self) -> &dyn Store {
        self.store.as_ref()
    }

    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    pub fn state_path(&self) -> &Path {
        &self.state_path
    }

    pub fn kind(&self) -> &'static str {
        self.store.kind()
    }

    pub fn lock_path(&self) -> PathBuf {
        self.store.locate(&self.layout.lock())
    }

    pub fn side_dir(&self, name: &str) -> String {
        self.layout.dir(name)
    }
}

/// Joins a folder key and a name.
pub fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

/// A directory on the local file system.
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
}

impl LocalStore {
    pub fn new(root: impl Into<PathBuf>) -> LocalStore {
        LocalStore { root: root.into() }
    }

    fn path(&self, key: &str) -> PathBuf {
        let mut p = self.root.clone();
        for part in key.split('/').filter(|p| !p.is_empty()) {
            p.push(part);
        }
        p
    }
}

impl Store for LocalStore {
    fn locate(&self, key: &str) -> PathBuf {
        self.path(key)
    }

    fn read(&self, key: &str) -> std::io::Result<Option<Object>> {
        match fs::read(self.path(key)) {
            Ok(bytes) => Ok(Some(Object { bytes, etag: None })),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Temp file in the same directory, fsync, rename, fsync of the directory.
    fn write(&self, key: &str, bytes: &[u8]) -> std::io::Result<()> {
        let path = self.path(key);
        write_atomic(&path, bytes).map_err(|e| match e {
            super::StateError::Io { source, .. } => source,
            other => std::io::Error::other(other.to_string()),
        })
    }

    /// Written to a temp file and hard-linked into place, so the file appears complete or not at
    /// all; where hard links are not supported, written directly with `create_new`.
    fn create_new(&self, key: &str, bytes: &[u8]) -> std::io::Result<Created> {
        let path = self.path(key);
        let dir = parent_dir(&path);
        fs::create_dir_all(&dir)?;
        let tmp = temp_path(&path);
        let written = OpenOptions::new().write(true).create_new(true).open(&tmp).and_then(|mut file| {
            file.write_all(bytes)?;
            file.sync_all()
        });
        if let Err(e) = written {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
        let linked = fs::hard_link(&tmp, &path);
        let _ = fs::remove_file(&tmp);
        match linked {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::AlreadyExists => return Ok(Created::Exists),
            Err(_) => {
                let mut file = match OpenOptions::new().write(true).create_new(true).open(&path) {
                    Ok(f) => f,
                    Err(e) if e.kind() == ErrorKind::AlreadyExists => return Ok(Created::Exists),
                    Err(e) => return Err(e),
                };
                if let Err(e) = file.write_all(bytes).and_then(|()| file.sync_all()) {
                    drop(file);
                    let _ = fs::remove_file(&path); // ours, and incomplete
                    return Err(e);
                }
            }
        }
        sync_dir(&dir).map_err(|e| std::io::Error::other(e.to_string()))?;
        Ok(Created::Created { etag: None })
    }

    fn list(&self, dir: &str) -> std::io::Result<Vec<String>> {
        let path = self.path(dir);
        let entries = match fs::read_dir(&path) {
            Ok(entries) => entries,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry?;
            if let Some(name) = entry.file_name().to_str() {
                names.push(name.to_string());
            }
        }
        names.sort();
        Ok(names)
    }

    /// Compares the bytes and removes the file. (Between the read and the remove another process
    /// could replace it; the local lock has always had that window, and only a forced unlock
    /// racing a new lock can hit it.)
    fn delete_if(&self, key: &str, expected: &Object) -> std::io::Result<Deleted> {
        let path = self.path(key);
        match self.read(key)? {
            None => Ok(Deleted::Missing),
            Some(found) if found.bytes != expected.bytes => Ok(Deleted::Changed),
            Some(_) => match fs::remove_file(&path) {
                Ok(()) => {
                    sync_dir(&parent_dir(&path)).map_err(|e| std::io::Error::other(e.to_string()))?;
                    Ok(Deleted::Deleted)
                }
                Err(e) if e.kind() == ErrorKind::NotFound => Ok(Deleted::Missing),
                Err(e) => Err(e),
            },
        }
    }

    fn kind(&self) -> &'static str {
        "local"
    }
}

/// One folder of a store, e.g. the validation records beside the state.
#[derive(Debug, Clone, Copy)]
pub struct Folder<'a> {
    pub store: &'a dyn Store,
    pub dir: &'a str,
}

impl Folder<'_> {
    pub fn key(&self, name: &str) -> String {
        join(self.dir, name)
    }

    /// Where `name` is, for messages.
    pub fn locate(&self, name: &str) -> PathBuf {
        self.store.locate(&self.key(name))
    }

    /// Where the folder is, for messages.
    pub fn path(&self) -> PathBuf {
        self.store.locate(self.dir)
    }

    pub fn read(&self, name: &str) -> std::io::Result<Option<Vec<u8>>> {
        Ok(self.store.read(&self.key(name))?.map(|o| o.bytes))
    }

    pub fn write(&self, name: &str, bytes: &[u8]) -> std::io::Result<()> {
        self.store.write(&self.key(name), bytes)
    }

    pub fn create_new(&self, name: &str, bytes: &[u8]) -> std::io::Result<Created> {
        self.store.create_new(&self.key(name), bytes)
    }

    pub fn list(&self) -> std::io::Result<Vec<String>> {
        self.store.list(self.dir)
    }
}

/// The store root and key of a local state file path.
pub fn split_local(state_path: &Path) -> (PathBuf, String) {
    let root = parent_dir(state_path);
    let name = state_path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    (root, name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts() {
        let l = Layout::local("state.json");
        assert_eq!(
            (l.lock(), l.backup(), l.dir("history")),
            ("state.json.lock".into(), "state.json.backup".into(), "history".into())
        );
        let s = Layout::s3("team/watchkeep.json");
        assert_eq!(s.lock(), "team/watchkeep.json.lock");
        assert_eq!(s.dir("history"), "team/watchkeep.json.history");
        assert_eq!(s.dir("notes"), "team/watchkeep.json.notes");
        assert_eq!(join(&s.dir("history"), "HEAD"), "team/watchkeep.json.history/HEAD");
        assert_eq!(join("", "x"), "x");
    }

    #[test]
    fn local_store_round_trip_create_new_and_delete_if() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = LocalStore::new(dir.path().join("w"));
        assert_eq!(store.read("a/b.json").expect("read"), None);
        assert_eq!(store.list("a").expect("list"), Vec::<String>::new());

        assert_eq!(store.create_new("a/b.json", b"one").expect("create"), Created::Created { etag: None });
        assert_eq!(store.create_new("a/b.json", b"two").expect("create"), Created::Exists);
        let one = store.read("a/b.json").expect("read").expect("some");
        assert_eq!(one.bytes, b"one");

        store.write("a/c.json", b"x").expect("write");
        store.write("a/c.json", b"y").expect("overwrite");
        assert_eq!(store.list("a").expect("list"), ["b.json", "c.json"], "no temp files left");

        let c = store.read("a/c.json").expect("read").expect("c");
        let stale = Object { bytes: b"x".to_vec(), etag: None };
        assert!(!store.write_if("a/c.json", b"z", Some(&stale)).expect("write_if"), "changed meanwhile");
        assert!(!store.write_if("a/c.json", b"z", None).expect("write_if"), "exists already");
        assert!(store.write_if("a/c.json", b"z", Some(&c)).expect("write_if"));
        assert!(store.write_if("a/new.json", b"n", None).expect("write_if"));
        store.write("a/c.json", b"y").expect("restore");
        std::fs::remove_file(dir.path().join("w/a/new.json")).expect("rm");

        let stranger = Object { bytes: b"not what is there".to_vec(), etag: None };
        assert_eq!(store.delete_if("a/b.json", &stranger).expect("delete"), Deleted::Changed);
        assert!(store.read("a/b.json").expect("read").is_some(), "a changed object is left alone");
        assert_eq!(store.delete_if("a/b.json", &one).expect("delete"), Deleted::Deleted);
        assert_eq!(store.delete_if("a/b.json", &one).expect("delete"), Deleted::Missing);
        assert_eq!(store.locate("a/b.json"), dir.path().join("w").join("a").join("b.json"));
    }
}
