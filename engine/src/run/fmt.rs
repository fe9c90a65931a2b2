//! Formatting *.hcl (and *.wkvars) files in the canonical style.

use std::path::{Path, PathBuf};

use super::report::FmtOutput;
use super::Error;
use crate::config::confine::{self, Policy};
use crate::config::{self, SourceFile};

/// What `fmt` is asked for.
#[derive(Debug, Clone, Default)]
pub struct FmtInput {
    /// Don't write, only report.
    pub check: bool,
    /// Produce a unified diff of each changed file.
    pub diff: bool,
    /// Files or directories (default: the configuration directory).
    pub paths: Vec<PathBuf>,
}

/// One file that is not in the canonical style.
#[derive(Debug, Clone)]
pub struct FmtFile {
    pub path: PathBuf,
    /// The unified diff, when asked for.
    pub diff: Option<String>,
}

/// The files to format, each with where it may be read: files found in a directory are confined
/// to that directory (its git work tree, `WATCHKEEP_ALLOW_READ`); a file named on the command line
/// is the operator's unless it is inside the configuration. Entries that are not directories are listed (FIFOs too), so that a special
/// file is refused with a message rather than skipped.
fn hcl_files(paths: &[PathBuf], dir: &Path) -> Vec<(PathBuf, Policy)> {
    let roots: Vec<PathBuf> = if paths.is_empty() { vec![dir.to_path_buf()] } else { paths.to_vec() };
    let env: std::collections::BTreeMap<String, String> = std::env::vars().collect();
    let mut out = Vec::new();
    for r in roots {
        if r.is_dir() {
            if let Ok(rd) = std::fs::read_dir(&r) {
                let mut v: Vec<PathBuf> = rd
                    .flatten()
                    .map(|e| e.path())
                    .filter(|p| {
                        !p.is_dir()
                            && matches!(p.extension().and_then(|x| x.to_str()), Some("hcl") | Some("wkvars"))
                    })
                    .collect();
                v.sort();
                let policy = Policy::new(&r, &env);
                out.extend(v.into_iter().map(|p| (p, policy.clone())));
            }
        } else {
            // Confined when it names a file inside the configuration (it may be a symlink a pull
            // request made), the operator's own otherwise.
            let policy = Policy::new(dir, &env).for_operator_file(&r);
            out.push((r, policy));
        }
    }
    out
}

/// Formats the files of `input` (relative to `dir` when none are named), rewriting those that
/// change unless `check`. `on_changed` sees each changed file as it is done, so a caller can
/// show progress before a later file fails.
pub fn fmt(
    dir: &Path,
    input: &FmtInput,
    on_changed: &mut dyn FnMut(&FmtFile) -> Result<(), Error>,
) -> Result<FmtOutput, Error> {
    let mut changed = Vec::new();
    let files = hcl_files(&input.paths, dir);
    for (path, policy) in &files {
        // Symlinks resolved first; /proc, devices, FIFOs and files outside the directory refused,
        // so `fmt -check` cannot quote `/proc/self/environ` in a snippet.
        let text = confine::read_text(path, confine::MAX_SOURCE_BYTES, policy).map_err(|e| {
            Error::msg(format!("cannot read {}: {}\nhint: {}", path.display(), e.reason(), e.hint()))
        })?;
        let formatted = config::format_source(&text, path).map_err(|d| {
            Error::Diagnostics(d, vec![SourceFile { path: path.clone(), text: text.clone() }])
        })?;
        if formatted == text {
            continue;
        }
        let diff = input.diff.then(|| {
            let d = similar::TextDiff::from_lines(&text, &formatted);
            d.unified_diff().header(&path.display().to_string(), &path.display().to_string()).to_string()
        });
        if !input.check {
            std::fs::write(path, &formatted)
                .map_err(|e| Error::msg(format!("cannot write {}: {e}", path.display())))?;
        }
        on_changed(&FmtFile { path: path.clone(), diff })?;
        changed.push(path.display().to_string());
    }
    Ok(FmtOutput { format_version: 1, check: input.check, files_checked: files.len(), changed })
}
