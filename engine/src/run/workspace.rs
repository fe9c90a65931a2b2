//! What every command starts from: the configuration directory and environment, loading the
//! configuration, the state backend it names, the state lock, and the source files diagnostics
//! point into.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::Error;
use crate::config::{self, Config, LoadOptions, SourceFile};
use crate::diag::Diagnostics;
use crate::state::{LocalBackend, State, StateError, StateLock};

pub const DEFAULT_STATE_PATH: &str = ".watchkeep/state.json";

/// Variables given on the command line: `-var name=value` and `-var-file FILE`.
#[derive(Debug, Clone, Default)]
pub struct Vars {
    pub vars: Vec<String>,
    pub var_files: Vec<PathBuf>,
}

/// The shared inputs of every run.
#[derive(Debug, Clone)]
pub struct Workspace {
    /// Configuration directory (every *.hcl file in it).
    pub dir: PathBuf,
    /// The process environment (variables, provider credentials).
    pub env: BTreeMap<String, String>,
    /// Whether warnings written to stderr may use colours.
    pub color: bool,
    /// When the command started (for `wall_ms`).
    pub started: Instant,
}

impl Workspace {
    pub fn new(dir: PathBuf, env: BTreeMap<String, String>, color: bool) -> Workspace {
        Workspace { dir, env, color, started: Instant::now() }
    }

    fn options(&self, vars: &Vars) -> LoadOptions {
        LoadOptions {
            dir: self.dir.clone(),
            vars: vars.vars.clone(),
            var_files: vars.var_files.clone(),
            env: self.env.clone(),
            extra_files: Vec::new(),
        }
    }

    /// Loads the configuration as if `extra` (file name → text) were files of the directory too.
    pub fn load_with(
        &self,
        vars: &Vars,
        extra: Vec<(String, String)>,
    ) -> Result<(Config, Diagnostics), Error> {
        let opts = LoadOptions { extra_files: extra, ..self.options(vars) };
        config::load(&opts).map_err(|d| {
            let mut files = read_sources(&self.dir);
            for (name, text) in &opts.extra_files {
                files.retain(|f| f.path.file_name().is_none_or(|n| n != name.as_str()));
                files.push(SourceFile { path: display_path(&self.dir.join(name)), text: text.clone() });
            }
            Error::Diagnostics(d, files)
        })
    }

    /// Loads the configuration, with its warnings.
    pub fn load(&self, vars: &Vars) -> Result<(Config, Diagnostics), Error> {
        config::load(&self.options(vars)).map_err(|d| {
            // The loader could not return its files on error; read them again for snippets.
            let files = read_sources(&self.dir);
            Error::Diagnostics(d, files)
        })
    }

    /// The state backend named by the configuration (or the default path), relative to the dir.
    pub fn backend(&self, cfg: Option<&Config>) -> LocalBackend {
        if let Some(s3) = cfg.and_then(|c| c.settings.state_s3.clone()) {
            return LocalBackend::s3(s3);
        }
        let rel =
            cfg.and_then(|c| c.settings.state_path.clone()).unwrap_or_else(|| DEFAULT_STATE_PATH.to_string());
        let p = Path::new(&rel);
        LocalBackend::new(if p.is_absolute() { p.to_path_buf() } else { self.dir.join(p) })
    }

    /// The state backend when no configuration needs to be read (state/history/show commands).
    /// Reads `watchkeep { state … }` if the configuration loads; falls back to the default path.
    pub fn backend_quiet(&self) -> LocalBackend {
        match config::load(&self.options(&Vars::default())) {
            Ok((cfg, _)) => self.backend(Some(&cfg)),
            Err(_) => self.backend(None),
        }
    }

    /// Writes warnings (if any) to stderr.
    pub fn print_warnings(&self, diags: &Diagnostics, files: &[SourceFile]) {
        if !diags.is_empty() {
            eprint!("{}", diags.render(files, self.color));
        }
    }
}

/// Takes the state lock. A local lock whose holder ran on this host and is gone (killed, crashed) is
/// taken over with a warning, as an OS file lock would be released by the kernel; a lock held by a
/// live process, or by another host, is refused with the holder's details. An S3 lock is never
/// called stale (another machine may hold it): it stays until `watchkeep force-unlock ID`.
pub fn lock(backend: &LocalBackend, operation: &str) -> Result<StateLock, Error> {
    match backend.lock(operation) {
        Err(StateError::Locked { info, stale: true, unreadable: None, .. }) => {
            eprintln!(
                "warning: taking over a stale state lock: its holder {} (pid {} on {}, operation {}, since {}) is no longer running",
                info.holder, info.pid, info.host, info.operation, info.created
            );
            backend.force_unlock(&info.id)?;
            Ok(backend.lock(operation)?)
        }
        other => Ok(other?),
    }
}

/// The *.hcl files of `dir`, for diagnostics' snippets: read through the same confinement as the
/// loader (a `.hcl` symlink to `/proc/self/environ` or outside the configuration is left out), so
/// a snippet only ever quotes HCL of the configuration.
pub fn read_sources(dir: &Path) -> Vec<SourceFile> {
    let env: BTreeMap<String, String> = std::env::vars().collect();
    let policy = config::confine::Policy::new(dir, &env);
    let mut files = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.extension().and_then(|x| x.to_str()) == Some("hcl") {
                if let Ok(text) = config::confine::read_text(&p, config::confine::MAX_SOURCE_BYTES, &policy) {
                    files.push(SourceFile { path: display_path(&p), text });
                }
            }
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files
}

fn display_path(p: &Path) -> PathBuf {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| p.strip_prefix(&cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| p.to_path_buf())
}

/// Says so when the state file is in an older format (it is upgraded on the next write, and
/// the original kept as `<state>.v<N>.backup`).
pub fn note_migration(state: &State) {
    if let Some(old) = state.migrated_from {
        eprintln!(
            "note: the state file is in format {old}; it is upgraded to format {} on the next write, and the original is kept as a .v{old}.backup file beside it",
            crate::state::FORMAT_VERSION
        );
    }
}
