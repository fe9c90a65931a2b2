//! Where the files beside a state file live: `<state>.lock`, `<state>.backup`, `history/`.
//! Pure path arithmetic, shared by the backend, the lock, the writer and the error messages.

use std::path::{Path, PathBuf};

pub(crate) fn backup_of(state_path: &Path) -> PathBuf {
    with_suffix(state_path, ".backup")
}

#[cfg_attr(not(test), allow(dead_code))] // the lock key comes from `store::Layout`
pub(crate) fn lock_of(state_path: &Path) -> PathBuf {
    with_suffix(state_path, ".lock")
}

pub(crate) fn history_dir_of(state_path: &Path) -> PathBuf {
    parent_dir(state_path).join("history")
}

/// The directory holding `path`; `.` for a bare file name.
pub(crate) fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_os_string();
    s.push(suffix);
    PathBuf::from(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_paths() {
        let p = Path::new("state.json");
        assert_eq!(lock_of(p), PathBuf::from("state.json.lock"));
        assert_eq!(backup_of(p), PathBuf::from("state.json.backup"));
        assert_eq!(history_dir_of(p), PathBuf::from("./history"));
        assert_eq!(history_dir_of(Path::new("a/b/s.json")), PathBuf::from("a/b/history"));
    }
}
