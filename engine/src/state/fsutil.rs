//! Durable file writes: the atomic replace behind every state write, the temporary names it
//! uses, and the directory fsync that makes a rename or a new file stick.

use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::error::StateError;
use super::paths::parent_dir;

/// Replaces `path` with `bytes` so that readers see the old or the new content, never a mix:
/// temp file in the same directory, fsync, rename over `path`, fsync of the directory.
/// When `path` is a symlink (a state file kept elsewhere), the write goes through it: its target
/// is replaced atomically in the target's directory and the link stays.
pub(super) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StateError> {
    let resolved;
    let path = if fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        resolved = fs::canonicalize(path).map_err(|e| {
            StateError::io(
                "resolve the symlink (its target must exist; replace the link or restore its target)",
                path,
                e,
            )
        })?;
        resolved.as_path()
    } else {
        path
    };
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

    #[test]
    fn a_symlinked_state_file_is_written_through_the_link() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("real")).unwrap();
        std::fs::write(d.path().join("real/state.json"), "old").unwrap();
        std::os::unix::fs::symlink(d.path().join("real/state.json"), d.path().join("state.json")).unwrap();
        write_atomic(&d.path().join("state.json"), b"new").unwrap();
        assert!(std::fs::symlink_metadata(d.path().join("state.json")).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read_to_string(d.path().join("real/state.json")).unwrap(), "new");
        // A dangling link is refused, with the path, and nothing is created.
        std::os::unix::fs::symlink(d.path().join("gone.json"), d.path().join("dangling.json")).unwrap();
        let e = write_atomic(&d.path().join("dangling.json"), b"x").unwrap_err().to_string();
        assert!(e.contains("dangling.json") && e.contains("symlink"), "{e}");
        assert!(!d.path().join("gone.json").exists());
    }

    #[test]
    fn bare_file_name_uses_current_dir_parent() {
        assert_eq!(temp_path(Path::new("s.json")).parent(), Some(Path::new(".")));
        let t = temp_path(Path::new("d/s.json"));
        assert_eq!(t.parent(), Some(Path::new("d")));
        assert!(t.file_name().map(|n| n.to_string_lossy().starts_with(".s.json.tmp-")).unwrap_or(false));
    }
}
