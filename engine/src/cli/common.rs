//! What every command shares: loading and compiling the configuration, configuring providers,
//! opening the state backend, refreshing live state, and rendering failures.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use futures::stream::{self, StreamExt};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use watchkeep_provider::{with_retries, Provider, ProviderError, RetryPolicy};

use super::{Cli, VarArgs};
use crate::apply::Providers;
use crate::compile::{self, DesiredObject};
use crate::config::{self, Config, LoadOptions, SourceFile};
use crate::diag::Diagnostics;
use crate::plan::{LiveSet, PlanDesired};
use crate::redact::Redactor;
use crate::state::{LocalBackend, State, StateError};

pub const DEFAULT_STATE_PATH: &str = ".watchkeep/state.json";

/// Why a command failed. Rendered once, in `cli::run`.
#[derive(Debug)]
pub enum Failure {
    Diagnostics(Diagnostics, Vec<SourceFile>),
    Message(String),
}

impl Failure {
    pub fn msg(m: impl Into<String>) -> Failure {
        Failure::Message(m.into())
    }
    pub fn render(&self, ctx: &Context) -> String {
        match self {
            Failure::Diagnostics(d, files) => d.render(files, ctx.color),
            Failure::Message(m) => {
                let mut out = String::new();
                for (i, line) in m.lines().enumerate() {
                    if i == 0 {
                        out.push_str(&format!("Error: {line}\n"));
                    } else {
                        out.push_str(line);
                        out.push('\n');
                    }
                }
                out
            }
        }
    }
}

impl From<StateError> for Failure {
    fn from(e: StateError) -> Self {
        Failure::Message(e.to_string())
    }
}

pub type CmdResult = Result<i32, Failure>;

pub struct Context {
    pub dir: PathBuf,
    pub color: bool,
    pub env: BTreeMap<String, String>,
    pub started: Instant,
}

impl Context {
    pub fn new(cli: &Cli) -> Context {
        use std::io::IsTerminal;
        Context {
            dir: cli.dir.clone(),
            color: !cli.no_color && std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
            env: std::env::vars().collect(),
            started: Instant::now(),
        }
    }

    pub fn load(&self, vars: &VarArgs) -> Result<(Config, Diagnostics), Failure> {
        let opts = LoadOptions {
            dir: self.dir.clone(),
            vars: vars.vars.clone(),
            var_files: vars.var_files.clone(),
            env: self.env.clone(),
        };
        config::load(&opts).map_err(|d| {
            // The loader could not return its files on error; read them again for snippets.
            let files = read_sources(&self.dir);
            Failure::Diagnostics(d, files)
        })
    }

    /// The state backend named by the configuration (or the default path), relative to the dir.
    pub fn backend(&self, cfg: Option<&Config>) -> LocalBackend {
        let rel =
            cfg.and_then(|c| c.settings.state_path.clone()).unwrap_or_else(|| DEFAULT_STATE_PATH.to_string());
        let p = Path::new(&rel);
        LocalBackend::new(if p.is_absolute() { p.to_path_buf() } else { self.dir.join(p) })
    }

    /// The state backend when no configuration needs to be read (state/history/show commands).
    /// Reads `watchkeep { state … }` if the configuration loads; falls back to the default path.
    pub fn backend_quiet(&self) -> LocalBackend {
        let opts = LoadOptions {
            dir: self.dir.clone(),
            vars: Vec::new(),
            var_files: Vec::new(),
            env: self.env.clone(),
        };
        match config::load(&opts) {
            Ok((cfg, _)) => self.backend(Some(&cfg)),
            Err(_) => self.backend(None),
        }
    }
}

/// Takes the state lock. A lock whose holder ran on this host and is gone (killed, crashed) is
/// taken over with a warning, as an OS file lock would be released by the kernel; a lock held by a
/// live process, or by another host, is refused with the holder's details.
pub fn lock(backend: &LocalBackend, operation: &str) -> Result<crate::state::StateLock, Failure> {
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

pub fn read_sources(dir: &Path) -> Vec<SourceFile> {
    let mut files = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.extension().and_then(|x| x.to_str()) == Some("hcl") {
                if let Ok(text) = std::fs::read_to_string(&p) {
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

/// Compiles, failing with diagnostics.
pub fn compile(cfg: &Config) -> Result<Vec<DesiredObject>, Failure> {
    compile::compile(cfg).map_err(|d| Failure::Diagnostics(d, cfg.files.clone()))
}

/// Compiles, failing with diagnostics; also returns the compile warnings.
pub fn compile_with_warnings(cfg: &Config) -> Result<(Vec<DesiredObject>, Diagnostics), Failure> {
    compile::compile_with_warnings(cfg).map_err(|d| Failure::Diagnostics(d, cfg.files.clone()))
}

/// Prints warnings (if any) to stderr.
pub fn print_warnings(ctx: &Context, diags: &Diagnostics, files: &[SourceFile]) {
    if !diags.is_empty() {
        eprint!("{}", diags.render(files, ctx.color));
    }
}

/// Providers every command may need: those named by desired objects and by state.
pub fn configure_providers(
    ctx: &Context,
    cfg: Option<&Config>,
    needed: &BTreeSet<String>,
) -> Result<Providers, Failure> {
    let mut out: Providers = BTreeMap::new();
    let empty = serde_json::Map::new();
    for name in needed {
        let attrs = cfg.and_then(|c| c.providers.get(name)).map(|p| &p.attrs).unwrap_or(&empty);
        let env = |k: &str| ctx.env.get(k).cloned();
        let p: Arc<dyn Provider> = match crate::vendors::configure(name, attrs, &env) {
            Some(p) => p.map_err(|e| provider_failure(name, cfg, e))?,
            None => {
                return Err(Failure::msg(format!(
                    "provider `{name}` is not available in this version of watchkeep\nhint: supported providers: {}",
                    crate::vendors::names().join(", ")
                )))
            }
        };
        out.insert(name.clone(), p);
    }
    Ok(out)
}

fn provider_failure(name: &str, cfg: Option<&Config>, e: ProviderError) -> Failure {
    let at = cfg
        .and_then(|c| c.providers.get(name))
        .map(|p| format!(" (provider block at {})", p.span))
        .unwrap_or_default();
    Failure::msg(format!("cannot configure provider `{name}`{at}: {e}"))
}

/// Marks and normalises desired objects for planning. Moves the attributes out of `desired`;
/// the marked attributes (what apply sends) are returned only when `keep_marked`.
pub fn prepare(
    desired: &mut [DesiredObject],
    providers: &Providers,
    keep_marked: bool,
    state: &crate::state::State,
) -> Result<(Vec<PlanDesired>, BTreeMap<String, serde_json::Value>), Failure> {
    let mut out = Vec::with_capacity(desired.len());
    let mut marked = BTreeMap::new();
    for d in desired.iter_mut() {
        let p = providers
            .get(&d.provider)
            .ok_or_else(|| Failure::msg(format!("provider `{}` is not configured", d.provider)))?;
        let taken = std::mem::take(&mut d.attrs);
        let attrs = marked_body(d, taken, p.as_ref(), state);
        if d.origin.is_none() {
            warn_unmanaged_fields(d, &attrs, p.as_ref());
        }
        out.push(PlanDesired {
            address: d.address.clone(),
            resource_type: d.resource_type.clone(),
            provider: d.provider.clone(),
            origin: d.origin.clone(),
            normalized: p.normalize(&d.resource_type, &attrs),
            depends_on: d.depends_on.clone(),
        });
        if keep_marked {
            marked.insert(d.address.clone(), attrs);
        }
    }
    Ok((out, marked))
}

/// What would be sent for `d`: its attributes with the links that exist resolved to ids (the
/// others stay tokens until the executor has created them, see `plan::links`) and the ownership
/// marker added.
pub fn marked_body(
    d: &DesiredObject,
    mut attrs: serde_json::Value,
    p: &dyn watchkeep_provider::Provider,
    state: &crate::state::State,
) -> serde_json::Value {
    if p.engine_resolves_refs(&d.resource_type) {
        crate::plan::links::resolve(&mut attrs, &|a| state.get(a).map(|r| r.id.clone()));
    }
    p.mark(&d.resource_type, &mut attrs, &d.address);
    attrs
}

/// A raw resource may set a field the vendor's published schema does not list as writable: a typo,
/// a read-only field (never sent), or a field newer than the schema (sent as written). Either way
/// it is never compared (only managed fields are), so a change to it alone is never applied: say so.
fn warn_unmanaged_fields(d: &DesiredObject, body: &serde_json::Value, p: &dyn watchkeep_provider::Provider) {
    let Some(w) = p.writable(&d.resource_type) else { return };
    let unknown = w.unknown_paths(body);
    if unknown.is_empty() {
        return;
    }
    let (list, verb) = (
        unknown.iter().map(|u| format!("`{u}`")).collect::<Vec<_>>().join(", "),
        if unknown.len() == 1 { "is" } else { "are" },
    );
    eprintln!(
        "warning: {}: {list} {verb} not writable in the vendor's published schema of {}, so never compared: a read-only field is not sent; a typo, or a field newer than the schema, is sent as written",
        d.address, d.resource_type
    );
}

/// The redactor for this run: sensitive values, keyed by the state lineage.
pub fn redactor(cfg: Option<&Config>, state: &State) -> Redactor {
    Redactor::new(cfg.map(|c| c.sensitive_values.as_slice()).unwrap_or(&[]), &state.lineage)
}

/// Reads all live objects of every (provider, type) in play with list calls, then reads one by
/// one only the state entries the lists did not return (e.g. someone removed our tag).
pub async fn refresh(
    providers: &Providers,
    types: &BTreeSet<(String, String)>,
    state: &State,
    owned_only: bool,
    parallelism: usize,
    redactor: &Redactor,
) -> Result<LiveSet, Failure> {
    let policy = RetryPolicy::default();
    let mut live = LiveSet::default();
    let lists = futures::future::join_all(types.iter().map(|(prov, rtype)| {
        let policy = &policy;
        async move {
            let p = providers.get(prov).ok_or_else(|| ProviderError::InvalidConfig {
                message: format!("provider `{prov}` is not configured"),
            })?;
            with_retries(policy, || p.list(rtype, owned_only)).await.map(|objs| (rtype.clone(), objs))
        }
    }))
    .await;
    for res in lists {
        let (_, objs) = res.map_err(|e| {
            Failure::msg(format!("refreshing live state failed: {}", redactor.str(&e.to_string())))
        })?;
        for o in objs {
            live.insert(o);
        }
    }
    let missing: Vec<_> = state
        .resources
        .iter()
        .filter(|r| {
            types.contains(&(r.provider.clone(), r.resource_type.clone()))
                && live.get(&r.resource_type, &r.id).is_none()
        })
        .collect();
    let reads: Vec<_> = stream::iter(missing.into_iter().map(|r| {
        let policy = &policy;
        async move {
            let p = providers.get(&r.provider).ok_or_else(|| ProviderError::InvalidConfig {
                message: format!("provider `{}` is not configured", r.provider),
            })?;
            with_retries(policy, || p.read(&r.resource_type, &r.id)).await
        }
    }))
    .buffer_unordered(parallelism.max(1))
    .collect()
    .await;
    for res in reads {
        if let Some(o) = res.map_err(|e| {
            Failure::msg(format!("refreshing live state failed: {}", redactor.str(&e.to_string())))
        })? {
            live.insert(o);
        }
    }
    Ok(live)
}

/// Figures every command with `--json` reports.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct Stats {
    /// Vendor API requests made.
    pub api_calls: u64,
    /// Requests the vendor rejected with 429 (each was retried after the reset).
    pub rate_limited: u64,
    /// Total time requests waited for the rate budget, in milliseconds.
    pub rate_wait_ms: u64,
    /// Wall time of the command in milliseconds.
    pub wall_ms: u64,
    /// Peak resident memory of the process in bytes (Linux), if known.
    pub peak_rss_bytes: Option<u64>,
}

pub fn stats(ctx: &Context, providers: &Providers) -> Stats {
    Stats {
        api_calls: providers.values().map(|p| p.api_calls()).sum(),
        rate_limited: providers.values().filter_map(|p| p.rate_budget()).map(|b| b.throttled).sum(),
        rate_wait_ms: providers
            .values()
            .filter_map(|p| p.rate_budget())
            .map(|b| b.waited.as_millis() as u64)
            .sum(),
        wall_ms: ctx.started.elapsed().as_millis() as u64,
        peak_rss_bytes: peak_rss(),
    }
}

/// VmHWM from /proc/self/status.
pub fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Types in play: from desired objects and from state.
pub fn types_in_play(desired: &[PlanDesired], state: &State) -> BTreeSet<(String, String)> {
    desired
        .iter()
        .map(|d| (d.provider.clone(), d.resource_type.clone()))
        .chain(state.resources.iter().map(|r| (r.provider.clone(), r.resource_type.clone())))
        .collect()
}

pub fn print_json<T: Serialize>(v: &T) -> Result<(), Failure> {
    let text =
        serde_json::to_string_pretty(v).map_err(|e| Failure::msg(format!("cannot encode JSON: {e}")))?;
    println!("{text}");
    Ok(())
}

/// Asks "yes" on the terminal. Anything else (or no input) declines.
pub fn confirm(question: &str) -> bool {
    use std::io::{BufRead, Write};
    println!("{question}\n  Only 'yes' will be accepted to approve.\n");
    print!("  Enter a value: ");
    let _ = std::io::stdout().flush();
    let mut line = String::new();
    match std::io::stdin().lock().read_line(&mut line) {
        Ok(n) if n > 0 => line.trim() == "yes",
        _ => false,
    }
}

/// Phase timings on stderr when `WATCHKEEP_TIMINGS=1` (for profiling large configurations).
pub struct Phase {
    name: &'static str,
    start: Option<Instant>,
}

impl Phase {
    pub fn start(name: &'static str) -> Phase {
        let on = std::env::var_os("WATCHKEEP_TIMINGS").is_some_and(|v| v == "1");
        Phase { name, start: on.then(Instant::now) }
    }
    pub fn done(self) {
        if let Some(s) = self.start {
            eprintln!(
                "timing: {:<12} {:>8.1} ms  (peak RSS {} MB)",
                self.name,
                s.elapsed().as_secs_f64() * 1000.0,
                peak_rss().unwrap_or(0) / 1_000_000
            );
        }
    }
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
