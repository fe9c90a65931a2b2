//! Confined file reads: every file the configuration names (`*.hcl`, `*.auto.wkvars`,
//! `watchkeep.wkvars`, `file()`, an inventory `source`, a module's files) is read through
//! [`read_text`], which resolves symlinks first and then refuses:
//!
//! - anything under `/proc`, `/sys` or `/dev` (always, whatever the operator allows): a symlink
//!   to `/proc/self/environ` would otherwise put the process environment (vendor keys) in an error
//!   snippet or a plan;
//! - anything that is not a regular file (FIFO, socket, device, directory): checked on the
//!   resolved path before opening, and the file is opened non-blocking and checked again, so a
//!   FIFO cannot hang the run;
//! - files over a size limit ([`MAX_SOURCE_BYTES`], [`MAX_INVENTORY_BYTES`]);
//! - files outside the configuration's roots: the configuration directory, or the top of the
//!   git work tree that holds it (where a pull request's modules live), plus the directories the
//!   operator lists in `WATCHKEEP_ALLOW_READ` (path-list syntax, `:`-separated). A pull request
//!   cannot change the environment of the job, so only the operator can widen the roots.
//!
//! A `-var-file` named on the command line is the operator's and is not confined to the roots
//! ([`Policy::operator`]), but the special-file, type and size checks still apply.
//!
//! A refusal never contains the file's bytes: it names the path (as written and as resolved)
//! and says how to allow it.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The environment variable that lists further directories the configuration may read.
pub const ALLOW_ENV: &str = "WATCHKEEP_ALLOW_READ";
/// Largest `*.hcl`, `*.wkvars` or `file()` file read (16 MiB).
pub const MAX_SOURCE_BYTES: u64 = 16 << 20;
/// Largest inventory `source` read: the evaluation limit (64 MiB, `limits.rs`).
pub const MAX_INVENTORY_BYTES: u64 = crate::config::limits::MAX_INVENTORY_BYTES;

/// Directories never read, whatever is allowed: kernel and device views of the machine.
const FORBIDDEN: &[&str] = &["/proc", "/sys", "/dev"];

/// Where reads may go.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// Canonical directories reads are confined to; `None` means not confined (the operator's
    /// own `-var-file`).
    roots: Option<Vec<PathBuf>>,
}

impl Policy {
    /// Confined to `config_dir` (or the git work tree holding it) and the directories of
    /// `WATCHKEEP_ALLOW_READ` in `env`.
    pub fn new(config_dir: &Path, env: &BTreeMap<String, String>) -> Policy {
        let mut roots = Vec::new();
        if let Ok(dir) = std::fs::canonicalize(config_dir) {
            roots.push(git_top(&dir).unwrap_or(dir));
        }
        if let Some(list) = env.get(ALLOW_ENV) {
            roots.extend(std::env::split_paths(list).filter_map(|p| std::fs::canonicalize(p).ok()));
        }
        Policy { roots: Some(roots) }
    }

    /// A file the operator named on the command line: not confined to the roots.
    pub fn operator() -> Policy {
        Policy { roots: None }
    }

    /// For a file the operator named on the command line (`-var-file`): not confined when the
    /// name itself points outside the configuration (the operator's own file), but confined like
    /// the configuration's files when it names a file inside it, which a pull request could have
    /// made a symlink to anywhere.
    pub fn for_operator_file(&self, path: &Path) -> Policy {
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        match std::fs::canonicalize(parent) {
            Ok(dir) if self.allows(&dir) => self.clone(),
            _ => Policy::operator(),
        }
    }

    /// Whether a canonical path is inside the roots.
    fn allows(&self, canonical: &Path) -> bool {
        self.roots.as_ref().is_none_or(|roots| roots.iter().any(|r| canonical.starts_with(r)))
    }
}

/// The top of the git work tree holding `dir` (the nearest ancestor with a `.git` entry).
fn git_top(dir: &Path) -> Option<PathBuf> {
    dir.ancestors().find(|a| a.join(".git").symlink_metadata().is_ok()).map(Path::to_path_buf)
}

/// Why a file was not read. Its messages never contain the file's content.
#[derive(Debug)]
pub enum Refusal {
    Io(std::io::Error),
    Forbidden { resolved: PathBuf },
    Outside { resolved: PathBuf },
    NotRegular { resolved: PathBuf, what: &'static str },
    TooLarge { size: u64, limit: u64 },
    NotUtf8,
}

impl Refusal {
    /// What went wrong, for `cannot read <what> `<path>`: …`.
    pub fn reason(&self) -> String {
        match self {
            Refusal::Io(e) => e.to_string(),
            Refusal::Forbidden { resolved } => {
                format!(
                    "it resolves to `{}`, and watchkeep never reads /proc, /sys or /dev",
                    resolved.display()
                )
            }
            Refusal::Outside { resolved } => format!(
                "it resolves to `{}`, outside the configuration directory (and its git work tree)",
                resolved.display()
            ),
            Refusal::NotRegular { resolved, what } => {
                format!("`{}` is {what}, not a regular file", resolved.display())
            }
            Refusal::TooLarge { size, limit } => {
                format!("it is {size} bytes, over the limit of {limit} bytes")
            }
            Refusal::NotUtf8 => "it is not UTF-8 text".to_string(),
        }
    }

    /// What to do about it.
    pub fn hint(&self) -> String {
        match self {
            Refusal::Outside { .. } => format!(
                "keep the file inside the configuration; an operator (not the configuration) can allow \
                 more directories with the environment variable {ALLOW_ENV}=DIR[:DIR…]"
            ),
            Refusal::Forbidden { .. } | Refusal::NotRegular { .. } => {
                "point it at a regular file inside the configuration (a symlink is followed first)"
                    .to_string()
            }
            Refusal::TooLarge { .. } => "split the file or reduce it below the limit".to_string(),
            Refusal::NotUtf8 => "save the file as UTF-8 text".to_string(),
            Refusal::Io(_) => {
                "check the path (relative to the configuration directory) and its permissions".to_string()
            }
        }
    }
}

fn file_type_name(m: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = m.file_type();
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else {
        "not a regular file"
    }
}

/// Opens without blocking on a FIFO that appeared after the metadata check.
/// `O_NONBLOCK` from the kernel headers: asm-generic/fcntl.h (Linux) and sys/fcntl.h (macOS).
fn open_nonblocking(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    #[cfg(target_os = "linux")]
    const O_NONBLOCK: i32 = 0o4000;
    #[cfg(not(target_os = "linux"))]
    const O_NONBLOCK: i32 = 0x0004;
    std::fs::OpenOptions::new().read(true).custom_flags(O_NONBLOCK).open(path)
}

/// Resolves `path` and checks it against `policy` without reading it: the canonical path.
pub fn check(path: &Path, policy: &Policy) -> Result<PathBuf, Refusal> {
    let resolved = std::fs::canonicalize(path).map_err(Refusal::Io)?;
    if FORBIDDEN.iter().any(|f| resolved.starts_with(f)) {
        return Err(Refusal::Forbidden { resolved });
    }
    if !policy.allows(&resolved) {
        return Err(Refusal::Outside { resolved });
    }
    let meta = std::fs::metadata(&resolved).map_err(Refusal::Io)?;
    if !meta.is_file() {
        return Err(Refusal::NotRegular { what: file_type_name(&meta), resolved });
    }
    Ok(resolved)
}

/// Resolves a directory (a module's `source`) and checks it against `policy`: the canonical path.
pub fn check_dir(path: &Path, policy: &Policy) -> Result<PathBuf, Refusal> {
    let resolved = std::fs::canonicalize(path).map_err(Refusal::Io)?;
    if FORBIDDEN.iter().any(|f| resolved.starts_with(f)) {
        return Err(Refusal::Forbidden { resolved });
    }
    if !policy.allows(&resolved) {
        return Err(Refusal::Outside { resolved });
    }
    Ok(resolved)
}

/// Reads a UTF-8 text file after [`check`], at most `limit` bytes (a byte order mark is kept, so
/// byte offsets stay those of the file; the HCL parser skips it).
pub fn read_text(path: &Path, limit: u64, policy: &Policy) -> Result<String, Refusal> {
    let resolved = check(path, policy)?;
    let file = open_nonblocking(&resolved).map_err(Refusal::Io)?;
    let meta = file.metadata().map_err(Refusal::Io)?;
    if !meta.is_file() {
        return Err(Refusal::NotRegular { what: file_type_name(&meta), resolved });
    }
    if meta.len() > limit {
        return Err(Refusal::TooLarge { size: meta.len(), limit });
    }
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes).map_err(Refusal::Io)?;
    if bytes.len() as u64 > limit {
        return Err(Refusal::TooLarge { size: bytes.len() as u64, limit });
    }
    String::from_utf8(bytes).map_err(|_| Refusal::NotUtf8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(dir: &Path) -> Policy {
        Policy::new(dir, &BTreeMap::new())
    }

    #[test]
    fn reads_inside() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("a.hcl"), "\u{feff}x = 1\n").unwrap();
        assert_eq!(read_text(&d.path().join("a.hcl"), 100, &policy(d.path())).unwrap(), "\u{feff}x = 1\n");
    }

    #[test]
    fn refuses_symlinks_to_proc_and_outside_without_content() {
        let d = tempfile::tempdir().unwrap();
        let conf = d.path().join("conf");
        std::fs::create_dir(&conf).unwrap();
        std::fs::write(d.path().join("secret.txt"), "TOPSECRET").unwrap();
        std::os::unix::fs::symlink("/proc/self/environ", conf.join("env.hcl")).unwrap();
        std::os::unix::fs::symlink(d.path().join("secret.txt"), conf.join("s.hcl")).unwrap();
        let p = policy(&conf);
        let e = read_text(&conf.join("env.hcl"), MAX_SOURCE_BYTES, &p).unwrap_err();
        assert!(matches!(e, Refusal::Forbidden { .. }), "{e:?}");
        // Even an operator-allowed read never goes to /proc.
        assert!(matches!(
            read_text(Path::new("/proc/self/environ"), 1000, &Policy::operator()),
            Err(Refusal::Forbidden { .. })
        ));
        let e = read_text(&conf.join("s.hcl"), MAX_SOURCE_BYTES, &p).unwrap_err();
        assert!(matches!(e, Refusal::Outside { .. }), "{e:?}");
        assert!(!e.reason().contains("TOPSECRET") && e.hint().contains(ALLOW_ENV));
        // The operator may allow the directory.
        let env = BTreeMap::from([(ALLOW_ENV.to_string(), d.path().display().to_string())]);
        assert_eq!(read_text(&conf.join("s.hcl"), 100, &Policy::new(&conf, &env)).unwrap(), "TOPSECRET");
    }

    #[test]
    fn an_operator_file_inside_the_configuration_is_confined_like_it() {
        let d = tempfile::tempdir().unwrap();
        let conf = d.path().join("conf");
        std::fs::create_dir(&conf).unwrap();
        std::fs::write(d.path().join("ops.wkvars"), "x = 1\n").unwrap();
        std::os::unix::fs::symlink(d.path().join("ops.wkvars"), conf.join("pr.wkvars")).unwrap();
        let p = policy(&conf);
        // Named outside: the operator's, read.
        let outside = d.path().join("ops.wkvars");
        assert!(read_text(&outside, 100, &p.for_operator_file(&outside)).is_ok());
        // Named inside but a symlink out of it (a pull request's doing): refused.
        let inside = conf.join("pr.wkvars");
        assert!(matches!(
            read_text(&inside, 100, &p.for_operator_file(&inside)),
            Err(Refusal::Outside { .. })
        ));
    }

    #[test]
    fn the_git_work_tree_is_the_root() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join(".git")).unwrap();
        let conf = d.path().join("envs/prod");
        std::fs::create_dir_all(&conf).unwrap();
        std::fs::write(d.path().join("shared.txt"), "ok").unwrap();
        assert_eq!(read_text(&conf.join("../../shared.txt"), 100, &policy(&conf)).unwrap(), "ok");
    }

    #[test]
    fn refuses_fifos_without_hanging_and_large_files() {
        let d = tempfile::tempdir().unwrap();
        let fifo = d.path().join("x.hcl");
        let status = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
        assert!(status.success());
        let e = read_text(&fifo, 100, &policy(d.path())).unwrap_err();
        assert!(matches!(e, Refusal::NotRegular { what: "a FIFO", .. }), "{e:?}");
        std::fs::write(d.path().join("big.hcl"), "x".repeat(101)).unwrap();
        let e = read_text(&d.path().join("big.hcl"), 100, &policy(d.path())).unwrap_err();
        assert!(matches!(e, Refusal::TooLarge { size: 101, limit: 100 }), "{e:?}");
        assert!(matches!(
            read_text(Path::new("/dev/zero"), 100, &Policy::operator()),
            Err(Refusal::Forbidden { .. })
        ));
    }
}
