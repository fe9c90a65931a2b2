//! Errors of the state module. Each message says what happened, where, and what to do next.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::lock_info::LockInfo;
use super::paths::{backup_of, history_dir_of};

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Another process holds the lock (or the lock file exists but cannot be read: `unreadable`).
    #[error("{}", locked_message(.info, .path, .stale, .unreadable))]
    Locked {
        info: LockInfo,
        /// The lock file.
        path: PathBuf,
        /// The holder ran on this host and its process no longer exists.
        stale: bool,
        /// Why the lock file could not be read; `info` then holds only what could be recovered.
        unreadable: Option<String>,
    },

    #[error(
        "`{}` is not valid watchkeep state: {detail}\n\
         nothing was changed; the file was left as it is\n\
         hint: restore the last good version from `{}` (the state before the last write), \
         or from version control, or fix the file by hand \
         (the files in `{}` record changes; they are not state files)",
        .path.display(), backup_of(.path).display(), history_of(.path).display()
    )]
    Corrupt { path: PathBuf, detail: String },

    #[error(
        "`{}` is not a valid watchkeep history entry: {detail}\n\
         nothing was changed\n\
         hint: history entries are immutable records; restore this file from a backup or version control",
        .path.display()
    )]
    CorruptHistory { path: PathBuf, detail: String },

    #[error(
        "`{}` uses state format version {found}, but this watchkeep ({}) supports only up to version {supported}\n\
         nothing was changed; the file was left as it is\n\
         hint: upgrade watchkeep to the release that wrote this state",
        .path.display(), super::WATCHKEEP_VERSION
    )]
    NewerFormat { path: PathBuf, found: u64, supported: u32 },

    /// A file system error; `source` says what was being done (see [`StateError::io`]).
    #[error("`{}`: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "refusing to overwrite `{}`: it holds a different state (lineage {on_disk}) than the one being \
         written (lineage {ours})\n\
         nothing was written\n\
         hint: two state files were probably mixed up; check which one is right before running again",
        .path.display()
    )]
    LineageMismatch { path: PathBuf, on_disk: String, ours: String },

    #[error(
        "refusing to overwrite `{}`: it is at serial {on_disk}, newer than the serial {ours} of the state \
         being written\n\
         nothing was written\n\
         hint: another process changed the state after it was read; run the command again",
        .path.display()
    )]
    StaleSerial { path: PathBuf, on_disk: u64, ours: u64 },

    #[error(
        "the state lock `{}` is no longer held by this process (our lock id {ours}); {}\n\
         nothing was written\n\
         hint: someone may have run `watchkeep force-unlock`; check that no other watchkeep is running, \
         then run the command again",
        .path.display(), lost_message(.found.as_ref())
    )]
    LockLost { path: PathBuf, ours: String, found: Option<LockInfo> },

    #[error("state is not locked: there is no lock file `{}`\nnothing to unlock", .path.display())]
    NotLocked { path: PathBuf },

    #[error(
        "lock id `{given}` does not match the lock in `{}`: it is held by {} with lock id `{}`\n\
         nothing was changed\n\
         hint: if you are sure that process is gone, run `watchkeep force-unlock {}`",
        .path.display(), holder_details(.info), .info.id, .info.id
    )]
    WrongLockId { path: PathBuf, given: String, info: LockInfo },

    #[error(
        "cannot write state: resource address `{address}` appears more than once\n\
         nothing was written\n\
         hint: this is a bug in watchkeep; please report it"
    )]
    DuplicateAddress { address: String },

    #[error("invalid history entry: {detail}\nnothing was written")]
    InvalidHistoryEntry { detail: String },
}

impl StateError {
    /// An `Io` error whose message says what was being done, e.g.
    /// "`.watchkeep/state.json.lock`: cannot create lock file: Permission denied (os error 13)".
    /// The error kind is kept.
    pub(crate) fn io(action: &'static str, path: impl AsRef<Path>, source: std::io::Error) -> Self {
        let source = std::io::Error::new(source.kind(), format!("cannot {action}: {source}"));
        StateError::Io { path: path.as_ref().to_path_buf(), source }
    }
}

/// The history folder of a state path: `history/` beside a file, `<key>.history/` on S3.
fn history_of(path: &Path) -> PathBuf {
    if path.to_string_lossy().starts_with("s3://") {
        let mut s = path.as_os_str().to_os_string();
        s.push(".history");
        PathBuf::from(s)
    } else {
        history_dir_of(path)
    }
}

fn holder_details(info: &LockInfo) -> String {
    format!(
        "{} (pid {} on {}, operation {}, since {})",
        info.holder, info.pid, info.host, info.operation, info.created
    )
}

fn locked_message(info: &LockInfo, path: &Path, stale: &bool, unreadable: &Option<String>) -> String {
    let mut m = String::new();
    if let Some(why) = unreadable {
        let _ = write!(
            m,
            "state is locked: the lock file `{}` exists but cannot be read ({why})",
            path.display()
        );
        if info.id != "unknown" || info.holder != "unknown" {
            let _ = write!(m, "\nwhat could be recovered: {}, lock id {}", holder_details(info), info.id);
        }
        let _ = write!(
            m,
            "\nhint: a watchkeep process may be taking the lock right now, or one crashed while taking it; \
             if no watchkeep process is using this state, "
        );
        if info.id != "unknown" {
            let _ = write!(m, "run `watchkeep force-unlock {}`", info.id);
        } else {
            let _ = write!(m, "delete `{}`", path.display());
        }
        return m;
    }
    let _ = write!(m, "state is locked by {}, lock id {}", holder_details(info), info.id);
    let _ = write!(m, "\nlock file: `{}`", path.display());
    if *stale {
        let _ = write!(m, "\nthe holder process is no longer running (stale lock)");
        let _ = write!(m, "\nhint: run `watchkeep force-unlock {}`", info.id);
    } else {
        let _ = write!(
            m,
            "\nhint: wait for it to finish; if that process is gone, run `watchkeep force-unlock {}`",
            info.id
        );
    }
    m
}

fn lost_message(found: Option<&LockInfo>) -> String {
    match found {
        Some(info) => format!("it is now held by {}, lock id {}", holder_details(info), info.id),
        None => "the lock file was removed or cannot be read".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> LockInfo {
        LockInfo {
            id: "0b1c".to_string(),
            holder: "alice@example.com".to_string(),
            pid: 4242,
            host: "laptop".to_string(),
            operation: "apply".to_string(),
            created: "2026-01-02T03:04:05Z".to_string(),
            watchkeep_version: "0.1.0".to_string(),
        }
    }

    #[test]
    fn locked_message_names_holder_and_what_to_do() {
        let e = StateError::Locked {
            info: info(),
            path: PathBuf::from(".watchkeep/state.json.lock"),
            stale: false,
            unreadable: None,
        };
        let m = e.to_string();
        assert!(m.starts_with(
            "state is locked by alice@example.com (pid 4242 on laptop, operation apply, \
             since 2026-01-02T03:04:05Z), lock id 0b1c"
        ));
        assert!(m.contains("hint: wait for it to finish"), "{m}");
        assert!(m.contains("`watchkeep force-unlock 0b1c`"), "{m}");
        assert!(!m.contains("stale"), "{m}");
    }

    #[test]
    fn stale_lock_message_says_so() {
        let e =
            StateError::Locked { info: info(), path: PathBuf::from("s.lock"), stale: true, unreadable: None };
        let m = e.to_string();
        assert!(m.contains("the holder process is no longer running (stale lock)"), "{m}");
        assert!(m.contains("`watchkeep force-unlock 0b1c`"), "{m}");
    }

    #[test]
    fn unreadable_lock_message() {
        let unknown = LockInfo {
            id: "unknown".to_string(),
            holder: "unknown".to_string(),
            pid: 0,
            host: "unknown".to_string(),
            operation: "unknown".to_string(),
            created: "unknown".to_string(),
            watchkeep_version: "unknown".to_string(),
        };
        let why = Some("the file is empty".to_string());
        let path = PathBuf::from("s.lock");
        let m = locked_message(&unknown, &path, &false, &why);
        assert!(m.contains("cannot be read (the file is empty)"), "{m}");
        assert!(!m.contains("recovered"), "{m}");
        assert!(m.contains("delete `s.lock`"), "{m}");

        let m = locked_message(&info(), &path, &false, &why);
        assert!(m.contains("what could be recovered: alice@example.com"), "{m}");
        assert!(m.contains("run `watchkeep force-unlock 0b1c`"), "{m}");
    }

    #[test]
    fn corrupt_message_points_at_backup_and_history() {
        let e = StateError::Corrupt {
            path: PathBuf::from(".watchkeep/state.json"),
            detail: "expected value at line 3 column 5".to_string(),
        };
        let m = e.to_string();
        assert!(m.contains("`.watchkeep/state.json` is not valid watchkeep state"), "{m}");
        assert!(m.contains("line 3 column 5"), "{m}");
        assert!(m.contains("nothing was changed"), "{m}");
        assert!(m.contains("restore the last good version from `.watchkeep/state.json.backup`"), "{m}");
        // History entries are change records, not states: the hint must not send anyone there.
        assert!(!m.contains("or from a file in"), "{m}");
        assert!(m.contains("`.watchkeep/history` record changes; they are not state files"), "{m}");
    }
}
