//! The state lock: `<state>.lock`, created only if absent (a local hard link, or an S3 `PutObject`
//! with `If-None-Match: *`) and holding a [`LockInfo`]. Only a [`StateLock`] can write state or
//! history.
//!
//! A lock is never removed unless it is provably ours (our id in it, and on S3 the ETag we got when
//! we wrote it) or the user names its id in `force-unlock`; a lock we cannot read is reported, not
//! deleted. A stale local lock (holder gone on this host) is reported as such; an S3 lock is never
//! called stale: another machine may hold it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::error::StateError;
use super::lock_info::LockInfo;
use super::store::Place;
use super::store::{Created, Deleted, Object};
use super::{actor, history, now_rfc3339, statefile, HistoryEntry, State, WATCHKEEP_VERSION};

/// Holds the state lock; dropping it releases the lock (if the lock still holds our id).
#[derive(Debug)]
pub struct StateLock {
    backend: Place,
    info: LockInfo,
    /// The lock object as we wrote it (its bytes, and its ETag on S3).
    held: Object,
    released: bool,
    /// `false` for [`crate::state::Backend::without_lock`] (`-lock=false`): nothing is held or released.
    locked: bool,
}

impl StateLock {
    pub fn info(&self) -> &LockInfo {
        &self.info
    }

    /// The state file this lock guards (`s3://bucket/key` on S3).
    pub fn state_path(&self) -> &Path {
        self.backend.state_path()
    }

    /// Writes `state`: serial += 1, resources sorted, atomic write (locally a temp file in the
    /// same directory, fsync, rename, fsync of the directory; on S3 one `PutObject`). The previous
    /// state is kept as `<state>.backup`.
    ///
    /// Refused, with nothing written, if the lock is no longer ours, if the stored state has another
    /// lineage or a newer serial, or if it cannot be read.
    pub fn save(&self, state: &mut State) -> Result<(), StateError> {
        self.ensure_held()?;
        statefile::save(&self.backend, state)
    }

    /// Writes `entry` as a new, immutable history file, assigning the next `version` (and the current
    /// time if `timestamp` is empty). Never overwrites an existing entry. Returns the entry as written.
    pub fn append_history(&self, entry: HistoryEntry) -> Result<HistoryEntry, StateError> {
        self.ensure_held()?;
        history::append(self.backend.store(), &self.backend.side_dir("history"), entry)
    }

    /// Releases the lock now, reporting errors that `Drop` would have to ignore.
    pub fn release(mut self) -> Result<(), StateError> {
        self.released = true;
        if !self.locked {
            return Ok(());
        }
        let path = self.backend.lock_path();
        match read_lock_file(&self.backend)? {
            (LockFile::Valid(found), _) if found.id == self.info.id => {
                match self.backend.store().delete_if(&self.backend.layout().lock(), &self.held) {
                    Ok(Deleted::Deleted) => Ok(()),
                    Ok(Deleted::Missing | Deleted::Changed) => {
                        Err(StateError::LockLost { path, ours: self.info.id.clone(), found: None })
                    }
                    Err(e) => Err(StateError::io("remove lock file", &path, e)),
                }
            }
            (LockFile::Valid(found), _) => {
                Err(StateError::LockLost { path, ours: self.info.id.clone(), found: Some(found) })
            }
            (LockFile::Missing | LockFile::Unreadable { .. }, _) => {
                Err(StateError::LockLost { path, ours: self.info.id.clone(), found: None })
            }
        }
    }

    /// A write under a lock someone force-unlocked (and maybe re-took) would race the new holder.
    fn ensure_held(&self) -> Result<(), StateError> {
        if !self.locked {
            return Ok(());
        }
        let path = self.backend.lock_path();
        match read_lock_file(&self.backend)?.0 {
            LockFile::Valid(found) if found.id == self.info.id => Ok(()),
            LockFile::Valid(found) => {
                Err(StateError::LockLost { path, ours: self.info.id.clone(), found: Some(found) })
            }
            LockFile::Missing | LockFile::Unreadable { .. } => {
                Err(StateError::LockLost { path, ours: self.info.id.clone(), found: None })
            }
        }
    }
}

impl Drop for StateLock {
    fn drop(&mut self) {
        if self.released || !self.locked {
            return;
        }
        if let Ok((LockFile::Valid(found), _)) = read_lock_file(&self.backend) {
            if found.id == self.info.id {
                let _ = self.backend.store().delete_if(&self.backend.layout().lock(), &self.held);
            }
        }
    }
}

/// What is in the lock file.
pub(super) enum LockFile {
    Missing,
    Valid(LockInfo),
    /// Present but not a valid lock: `partial` has what could be recovered ("unknown" elsewhere).
    Unreadable {
        partial: LockInfo,
        detail: String,
    },
}

/// How long to wait for a lock file that exists but is still empty: a creator from before locks
/// were hard-linked into place wrote the content right after `create_new`, so an empty file is
/// usually a lock being taken right now.
const EMPTY_LOCK_RETRIES: u32 = 10;
const EMPTY_LOCK_WAIT: Duration = Duration::from_millis(50);

/// The lock as parsed, and as stored (for a delete-if-unchanged).
pub(super) fn read_lock_file(backend: &Place) -> Result<(LockFile, Option<Object>), StateError> {
    let key = backend.layout().lock();
    let mut attempt = 0;
    loop {
        let obj = match backend.store().read(&key) {
            Ok(Some(obj)) => obj,
            Ok(None) => return Ok((LockFile::Missing, None)),
            Err(e) => return Err(StateError::io("read lock file", backend.lock_path(), e)),
        };
        if obj.bytes.iter().all(u8::is_ascii_whitespace) && attempt < EMPTY_LOCK_RETRIES {
            attempt += 1;
            std::thread::sleep(EMPTY_LOCK_WAIT);
            continue;
        }
        return Ok((parse_lock(&obj.bytes), Some(obj)));
    }
}

fn parse_lock(bytes: &[u8]) -> LockFile {
    match serde_json::from_slice::<LockInfo>(bytes) {
        Ok(info) => LockFile::Valid(info),
        Err(e) => {
            let detail = if bytes.iter().all(u8::is_ascii_whitespace) {
                "the file is empty".to_string()
            } else {
                format!("not a valid lock: {e}")
            };
            LockFile::Unreadable { partial: partial_lock(bytes), detail }
        }
    }
}

/// Whatever fields of a damaged lock file still parse.
fn partial_lock(bytes: &[u8]) -> LockInfo {
    let value = serde_json::from_slice::<serde_json::Value>(bytes).unwrap_or_default();
    let text = |key: &str| value.get(key).and_then(|v| v.as_str()).unwrap_or("unknown").to_string();
    LockInfo {
        id: text("id"),
        holder: text("holder"),
        pid: value.get("pid").and_then(|v| v.as_u64()).and_then(|p| u32::try_from(p).ok()).unwrap_or(0),
        host: text("host"),
        operation: text("operation"),
        created: text("created"),
        watchkeep_version: text("watchkeep_version"),
    }
}

/// The holder ran here and its process is gone. Only decidable where `/proc` exists (Linux);
/// elsewhere a lock is never called stale.
pub(super) fn is_stale(info: &LockInfo) -> bool {
    info.host == super::actor::hostname()
        && info.pid != 0
        && info.pid != std::process::id()
        && Path::new("/proc/self").exists()
        && !Path::new(&format!("/proc/{}", info.pid)).exists()
}

/// `stale_possible`: only a local lock can be stale; a lock in a shared store may be held by a
/// process on another machine with the same host name (CI runners), so it is never taken over.
fn locked_error(path: PathBuf, file: LockFile, stale_possible: bool) -> Option<StateError> {
    match file {
        LockFile::Missing => None,
        LockFile::Valid(info) => {
            let stale = stale_possible && is_stale(&info);
            Some(StateError::Locked { info, path, stale, unreadable: None })
        }
        LockFile::Unreadable { partial, detail } => {
            Some(StateError::Locked { info: partial, path, stale: false, unreadable: Some(detail) })
        }
    }
}

/// What this process writes (or reports) as the lock's holder, under `id`.
fn this_process(id: String, operation: &str) -> LockInfo {
    LockInfo {
        id,
        holder: actor(),
        pid: std::process::id(),
        host: super::actor::hostname(),
        operation: operation.to_string(),
        created: now_rfc3339(),
        watchkeep_version: WATCHKEEP_VERSION.to_string(),
    }
}

/// How often to retry when the lock file vanishes between our failed create and our read of it.
const VANISHED_RETRIES: u32 = 3;

pub(super) fn acquire(backend: &Place, operation: &str) -> Result<StateLock, StateError> {
    let path = backend.lock_path();
    let key = backend.layout().lock();
    let local = backend.kind() == "local";
    let info = this_process(uuid::Uuid::new_v4().to_string(), operation);
    let mut body = serde_json::to_vec_pretty(&info)
        .map_err(|e| StateError::io("serialize lock for", &path, std::io::Error::other(e)))?;
    body.push(b'\n');

    for _ in 0..=VANISHED_RETRIES {
        match backend.store().create_new(&key, &body) {
            Ok(Created::Created { etag }) => {
                let held = Object { bytes: body, etag };
                return Ok(StateLock { backend: backend.clone(), info, held, released: false, locked: true });
            }
            Ok(Created::Exists) => match read_lock_file(backend)? {
                // Our own write, answered "exists" on a retry after its first answer was lost.
                (LockFile::Valid(found), Some(obj)) if found.id == info.id => {
                    return Ok(StateLock {
                        backend: backend.clone(),
                        info,
                        held: obj,
                        released: false,
                        locked: true,
                    });
                }
                (file, _) => {
                    if let Some(err) = locked_error(path.clone(), file, local) {
                        return Err(err);
                    }
                    // Released between our create and our read: try again.
                }
            },
            Err(e) => return Err(StateError::io("create lock file", &path, e)),
        }
    }
    Err(StateError::io(
        "create lock file",
        &path,
        std::io::Error::other("the lock file kept appearing and disappearing; another process is busy"),
    ))
}

/// A writer that holds no lock (`-lock=false`): its info says so, and nothing is created or removed.
pub(super) fn unlocked(backend: &Place, operation: &str) -> StateLock {
    let info = this_process("none (-lock=false)".to_string(), operation);
    let held = Object { bytes: Vec::new(), etag: None };
    StateLock { backend: backend.clone(), info, held, released: false, locked: false }
}

/// A damaged lock whose id survived is returned as what could be recovered ("unknown" elsewhere), so
/// that `force-unlock <id>` can show it and remove it; one without an id is an error saying what to do.
pub(super) fn read(backend: &Place) -> Result<Option<LockInfo>, StateError> {
    let path = backend.lock_path();
    match read_lock_file(backend)?.0 {
        LockFile::Missing => Ok(None),
        LockFile::Valid(info) => Ok(Some(info)),
        LockFile::Unreadable { partial, .. } if partial.id != "unknown" => Ok(Some(partial)),
        unreadable @ LockFile::Unreadable { .. } => {
            Err(locked_error(path.clone(), unreadable, false).unwrap_or(StateError::NotLocked { path }))
        }
    }
}

/// Deletes the lock only if it still is the one read here (same bytes locally; on S3 a
/// `DeleteObject` with `If-Match` on its ETag, so a lock re-taken meanwhile is left alone).
pub(super) fn force_unlock(backend: &Place, lock_id: &str) -> Result<LockInfo, StateError> {
    let path = backend.lock_path();
    let (file, obj) = read_lock_file(backend)?;
    let info = match file {
        LockFile::Missing => return Err(StateError::NotLocked { path }),
        LockFile::Valid(info) => info,
        // A damaged file whose id survived may still be removed by naming that id.
        LockFile::Unreadable { partial, .. } if partial.id != "unknown" && partial.id == lock_id => partial,
        unreadable @ LockFile::Unreadable { .. } => {
            return Err(
                locked_error(path.clone(), unreadable, false).unwrap_or(StateError::NotLocked { path })
            )
        }
    };
    if info.id != lock_id {
        return Err(StateError::WrongLockId { path, given: lock_id.to_string(), info });
    }
    let Some(obj) = obj else { return Err(StateError::NotLocked { path }) };
    match backend.store().delete_if(&backend.layout().lock(), &obj) {
        Ok(Deleted::Deleted) => Ok(info),
        Ok(Deleted::Missing) => Err(StateError::NotLocked { path }),
        Ok(Deleted::Changed) => Err(StateError::io(
            "remove lock file",
            &path,
            std::io::Error::other(
                "the lock changed while it was being removed (released and taken again?); nothing was removed; run `watchkeep force-unlock` again with the id it shows now",
            ),
        )),
        Err(e) => Err(StateError::io("remove lock file", &path, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::LocalBackend;
    use std::fs;

    fn backend() -> (tempfile::TempDir, LocalBackend) {
        let dir = tempfile::tempdir().expect("tempdir");
        let b = LocalBackend::new(dir.path().join(".watchkeep").join("state.json"));
        (dir, b)
    }

    fn dead_pid() -> u32 {
        let mut child = std::process::Command::new("true").spawn().expect("spawn `true`");
        let pid = child.id();
        child.wait().expect("wait");
        pid
    }

    #[test]
    fn lock_twice_reports_holder() {
        let (_dir, b) = backend();
        let held = b.lock("apply").expect("first lock");
        assert_eq!(held.info().operation, "apply");
        assert_eq!(held.info().pid, std::process::id());
        assert!(b.lock_path().exists());

        match b.lock("destroy") {
            Err(StateError::Locked { info, stale, unreadable, path }) => {
                assert_eq!(&info, held.info());
                assert!(!stale, "our own live process is not stale");
                assert!(unreadable.is_none());
                assert_eq!(path, b.lock_path());
                let e = StateError::Locked { info: info.clone(), path, stale, unreadable };
                let m = e.to_string();
                assert!(m.contains(&info.holder) && m.contains(&info.id), "{m}");
                assert!(m.contains("operation apply"), "{m}");
            }
            other => panic!("expected Locked, got {other:?}"),
        }
        assert_eq!(b.read_lock().expect("read").as_ref(), Some(held.info()));

        drop(held);
        assert!(!b.lock_path().exists(), "drop releases the lock");
        assert!(b.read_lock().expect("read").is_none());
        let again = b.lock("apply").expect("lock again after release");
        again.release().expect("explicit release");
        assert!(!b.lock_path().exists());
    }

    #[test]
    fn dead_holder_on_this_host_is_stale() {
        if !Path::new("/proc/self").exists() {
            return; // staleness is only decidable with /proc
        }
        let (_dir, b) = backend();
        fs::create_dir_all(b.state_path().parent().expect("parent")).expect("mkdir");
        let info = LockInfo {
            id: "dead-lock".to_string(),
            holder: "bob@ci".to_string(),
            pid: dead_pid(),
            host: crate::state::actor::hostname(),
            operation: "apply".to_string(),
            created: "2026-01-02T03:04:05Z".to_string(),
            watchkeep_version: "0.0.1".to_string(),
        };
        fs::write(b.lock_path(), serde_json::to_vec(&info).expect("json")).expect("write");
        match b.lock("apply") {
            Err(e @ StateError::Locked { stale: true, .. }) => {
                let m = e.to_string();
                assert!(m.contains("stale lock"), "{m}");
                assert!(m.contains("force-unlock dead-lock"), "{m}");
            }
            other => panic!("expected stale Locked, got {other:?}"),
        }
        assert!(b.lock_path().exists(), "a stale lock is reported, never removed");

        // The same pid on another host proves nothing.
        let elsewhere = LockInfo { host: "some-other-host.invalid".to_string(), ..info };
        assert!(!is_stale(&elsewhere));
    }

    #[test]
    fn garbled_lock_is_reported_not_removed() {
        let (_dir, b) = backend();
        fs::create_dir_all(b.state_path().parent().expect("parent")).expect("mkdir");
        fs::write(b.lock_path(), "{\"id\": \"abc\", \"holder\": \"carol\", \"pid\": ").expect("write");
        match b.lock("apply") {
            Err(e @ StateError::Locked { unreadable: Some(_), stale: false, .. }) => {
                let m = e.to_string();
                assert!(m.contains("cannot be read"), "{m}");
                assert!(m.contains("delete `"), "{m}");
            }
            other => panic!("expected Locked(unreadable), got {other:?}"),
        }
        assert!(matches!(b.read_lock(), Err(StateError::Locked { unreadable: Some(_), .. })));
        assert!(b.lock_path().exists());

        // Salvageable fields are shown.
        fs::write(b.lock_path(), "{\"id\": \"abc\", \"holder\": \"carol\"}").expect("write");
        match b.lock("apply") {
            Err(StateError::Locked { info, unreadable: Some(_), .. }) => {
                assert_eq!(info.id, "abc");
                assert_eq!(info.holder, "carol");
                assert_eq!(info.host, "unknown");
            }
            other => panic!("expected Locked(unreadable), got {other:?}"),
        }
        let salvaged = b.read_lock().expect("salvaged lock").expect("some");
        assert_eq!((salvaged.id.as_str(), salvaged.pid), ("abc", 0));
        assert!(matches!(b.force_unlock("nope"), Err(StateError::Locked { .. })));
        assert_eq!(b.force_unlock("abc").expect("unlock by salvaged id").holder, "carol");
        assert!(!b.lock_path().exists());
    }

    #[test]
    fn force_unlock_requires_matching_id() {
        let (_dir, b) = backend();
        assert!(matches!(b.force_unlock("x"), Err(StateError::NotLocked { .. })));

        let held = b.lock("apply").expect("lock");
        let id = held.info().id.clone();
        match b.force_unlock("wrong-id") {
            Err(e @ StateError::WrongLockId { .. }) => {
                let m = e.to_string();
                assert!(m.contains("wrong-id") && m.contains(&id), "{m}");
            }
            other => panic!("expected WrongLockId, got {other:?}"),
        }
        assert!(b.lock_path().exists());

        let removed = b.force_unlock(&id).expect("force unlock");
        assert_eq!(removed.id, id);
        assert!(!b.lock_path().exists());

        // The old holder can no longer write, and its drop does not remove a lock it does not own.
        let mut state = State::new();
        assert!(matches!(held.save(&mut state), Err(StateError::LockLost { found: None, .. })));
        assert_eq!(state.serial, 0);
        let newer = b.lock("apply").expect("new holder");
        assert!(matches!(held.save(&mut state), Err(StateError::LockLost { found: Some(_), .. })));
        drop(held);
        assert_eq!(b.read_lock().expect("read").as_ref(), Some(newer.info()));
        assert!(!b.state_path().exists(), "nothing was written under a lost lock");
    }

    #[test]
    fn concurrent_lockers_get_exactly_one_lock() {
        let (_dir, b) = backend();
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(8));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (b, barrier) = (b.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    b.lock("apply")
                })
            })
            .collect();
        let results: Vec<_> = threads.into_iter().map(|t| t.join().expect("thread")).collect();
        let winners: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
        assert_eq!(winners.len(), 1);
        for r in &results {
            if let Err(e) = r {
                match e {
                    StateError::Locked { info, unreadable: None, .. } => assert_eq!(info, winners[0].info()),
                    other => panic!("expected Locked with the winner's details, got {other:?}"),
                }
            }
        }
    }

    #[test]
    fn lock_file_is_json_lock_info() {
        let (_dir, b) = backend();
        let held = b.lock("state rm").expect("lock");
        let text = fs::read_to_string(b.lock_path()).expect("read");
        let parsed: LockInfo = serde_json::from_str(&text).expect("valid LockInfo");
        assert_eq!(&parsed, held.info());
        assert_eq!(parsed.watchkeep_version, WATCHKEEP_VERSION);
        assert!(text.ends_with('\n'));
    }
}
