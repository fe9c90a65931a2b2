//! The apply executor: runs a plan's changes against the vendors in dependency order with bounded
//! concurrency, retries what may be retried, and persists state after every completed operation.
//!
//! State writes are coalesced: while one write is in flight, further completions mark the state
//! dirty and the next write covers them all. Nothing the vendor acknowledged is ever dropped; an
//! object whose acknowledgement was lost (crash between vendor and write) is found again by its
//! ownership marker on the next plan.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use futures::stream::{self, StreamExt};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::Value;
use tokio::task::JoinHandle;
use watchkeep_provider::{with_retries, LiveObject, Provider, ProviderError, RetryPolicy};

use crate::plan::links::{self, Link, Missing};
use crate::plan::{Action, ResourceChange};
use crate::redact::Redactor;
use crate::state::{now_rfc3339, ChangeCounts, ChangeRecord, ResourceState, State, StateError, StateLock};

pub type Providers = BTreeMap<String, Arc<dyn Provider>>;

/// One change to carry out, with the unredacted attributes to send.
#[derive(Debug, Clone)]
pub struct Job {
    pub change: ResourceChange,
    /// Marked desired attributes (create / update / replace).
    pub attrs: Option<Value>,
    /// What must be done first; includes every link's target.
    pub depends_on: Vec<String>,
    /// Where `attrs` holds the ids of other objects: resolved here, from state as the apply
    /// fills it, before anything is sent.
    pub links: Vec<Link>,
}

#[derive(Debug, Clone)]
pub struct ApplyOptions {
    pub parallelism: usize,
    pub retry: RetryPolicy,
    /// Print per-object lines to stderr instead of stdout (when stdout carries JSON).
    pub lines_to_stderr: bool,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions { parallelism: 10, retry: RetryPolicy::default(), lines_to_stderr: false }
    }
}

#[derive(Debug, Default)]
pub struct ApplyOutcome {
    pub state: State,
    pub counts: ChangeCounts,
    pub records: Vec<ChangeRecord>,
    /// (address, message), messages already redacted.
    pub errors: Vec<(String, String)>,
    pub interrupted: bool,
    pub state_writes: u64,
}

enum Done {
    /// The object now exists as `live` (create, update, replace, adopt).
    Upserted {
        live: LiveObject,
        record: bool,
        /// The paths the configuration set, with hashes of their redacted values.
        configured: BTreeMap<String, String>,
    },
    Deleted,
    Failed(String),
    Skipped,
}

/// Runs `jobs`. Returns an error only when state could not be written (then the caller must stop).
pub async fn apply(
    jobs: Vec<Job>,
    providers: &Providers,
    lock: Arc<StateLock>,
    state: State,
    redactor: &Redactor,
    opts: &ApplyOptions,
) -> Result<ApplyOutcome, StateError> {
    // Markers name this state's owner id, so a lost create is found only among our own objects.
    let owner = watchkeep_provider::owner_id(&state.lineage);
    let mut outcome = ApplyOutcome { state, ..Default::default() };
    let cancel = Arc::new(AtomicBool::new(false));
    let total = jobs.iter().filter(|j| j.change.action != Action::NoOp || j.change.adopt).count() as u64;
    let pb = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    pb.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let emit = |line: String| {
        if pb.is_hidden() {
            if opts.lines_to_stderr {
                eprintln!("{line}");
            } else {
                // Not `println!`: a reader that closed stdout must not panic the apply half-way
                // (state is written after every operation); the lines are dropped instead.
                use std::io::Write;
                let _ = writeln!(std::io::stdout(), "{line}");
            }
        } else {
            pb.println(line);
        }
    };

    let (waves, dependents) = waves(jobs);
    let mut failed: BTreeSet<String> = BTreeSet::new();
    let mut saving: Option<JoinHandle<Result<State, StateError>>> = None;
    let mut dirty = false;
    let mut sigterm = signal_stream();
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);

    for wave in waves {
        let runnable: Vec<Job> = wave
            .into_iter()
            .filter_map(|j| {
                // A create or update waits for what it refers to; a delete for the deletes of
                // what refers to it.
                let blockers = match j.change.action {
                    Action::Delete => {
                        dependents.get(&j.change.address).map(Vec::as_slice).unwrap_or_default()
                    }
                    _ => j.depends_on.as_slice(),
                };
                if let Some(dep) = blockers.iter().find(|d| failed.contains(*d)) {
                    outcome.errors.push((j.change.address.clone(), format!("skipped: `{dep}` failed")));
                    failed.insert(j.change.address.clone());
                    None
                } else {
                    Some(j)
                }
            })
            .collect();
        let runnable: Vec<Job> = runnable
            .into_iter()
            .filter_map(|mut j| match resolve_links(&mut j, &outcome.state) {
                Ok(()) => Some(j),
                Err(msg) => {
                    emit(format!("  ! {}: {} failed: {msg}", j.change.address, j.change.action.verb()));
                    outcome.errors.push((j.change.address.clone(), msg));
                    failed.insert(j.change.address.clone());
                    None
                }
            })
            .collect();
        let owner = owner.as_str();
        let mut running = stream::iter(runnable.into_iter().map(|job| {
            let cancel = cancel.clone();
            async move {
                if cancel.load(Ordering::SeqCst) {
                    return (job, Done::Skipped);
                }
                let done = run_job(&job, providers, opts, redactor, owner).await;
                (job, done)
            }
        }))
        .buffer_unordered(opts.parallelism.max(1));

        loop {
            tokio::select! {
                biased;
                saved = async { saving.as_mut().expect("guarded by the branch condition").await }, if saving.is_some() => {
                    saving = None;
                    let snapshot = saved.map_err(|e| StateError::Io {
                        path: lock.state_path().to_path_buf(),
                        source: std::io::Error::other(e.to_string()),
                    })??;
                    outcome.state.serial = snapshot.serial;
                    outcome.state_writes += 1;
                    if dirty {
                        dirty = false;
                        saving = Some(start_save(&lock, &outcome.state));
                    }
                }
                _ = &mut ctrl_c, if !cancel.load(Ordering::SeqCst) => {
                    cancel.store(true, Ordering::SeqCst);
                    emit("Interrupt received: finishing the operations in flight, then saving state.".into());
                }
                _ = recv_signal(&mut sigterm), if !cancel.load(Ordering::SeqCst) => {
                    cancel.store(true, Ordering::SeqCst);
                    emit("Termination requested: finishing the operations in flight, then saving state.".into());
                }
                next = running.next() => {
                    let Some((job, done)) = next else { break };
                    let changed = record(&mut outcome, &job, done, redactor, &emit, &mut failed);
                    if changed {
                        pb.inc(1);
                        if saving.is_none() {
                            saving = Some(start_save(&lock, &outcome.state));
                        } else {
                            dirty = true;
                        }
                    }
                }
            }
        }
        if cancel.load(Ordering::SeqCst) {
            outcome.interrupted = true;
            break;
        }
    }

    if let Some(h) = saving.take() {
        let snapshot = h.await.map_err(|e| StateError::Io {
            path: lock.state_path().to_path_buf(),
            source: std::io::Error::other(e.to_string()),
        })??;
        outcome.state.serial = snapshot.serial;
        outcome.state_writes += 1;
    }
    if dirty {
        let mut s = outcome.state.clone();
        lock.save(&mut s)?;
        outcome.state.serial = s.serial;
        outcome.state_writes += 1;
    }
    pb.finish_and_clear();
    Ok(outcome)
}

fn start_save(lock: &Arc<StateLock>, state: &State) -> JoinHandle<Result<State, StateError>> {
    let lock = lock.clone();
    let mut snapshot = state.clone();
    tokio::task::spawn_blocking(move || lock.save(&mut snapshot).map(|_| snapshot))
}

#[cfg(unix)]
fn signal_stream() -> Option<tokio::signal::unix::Signal> {
    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok()
}
#[cfg(not(unix))]
fn signal_stream() -> Option<()> {
    None
}
#[cfg(unix)]
async fn recv_signal(s: &mut Option<tokio::signal::unix::Signal>) {
    match s {
        Some(s) => {
            s.recv().await;
        }
        None => std::future::pending().await,
    }
}
#[cfg(not(unix))]
async fn recv_signal(_: &mut Option<()>) {
    std::future::pending().await
}

/// Applies one finished job to the outcome. Returns whether state changed.
fn record(
    outcome: &mut ApplyOutcome,
    job: &Job,
    done: Done,
    redactor: &Redactor,
    emit: &dyn Fn(String),
    failed: &mut BTreeSet<String>,
) -> bool {
    let c = &job.change;
    match done {
        Done::Skipped => false,
        Done::Failed(msg) => {
            emit(format!("  ! {}: {} failed: {msg}", c.address, c.action.verb()));
            outcome.errors.push((c.address.clone(), msg));
            failed.insert(c.address.clone());
            false
        }
        Done::Deleted => {
            outcome.state.remove(&c.address);
            outcome.counts.delete += 1;
            emit(format!(
                "  - {}: destroyed{}",
                c.address,
                c.id.as_ref().map(|i| format!(" (id {i})")).unwrap_or_default()
            ));
            outcome.records.push(ChangeRecord {
                address: c.address.clone(),
                resource_type: c.resource_type.clone(),
                action: "delete".into(),
                id: c.id.clone(),
                changed_attributes: Vec::new(),
            });
            true
        }
        Done::Upserted { live, record, configured } => {
            let attrs = redactor.mask(&live.attrs, &c.sensitive_paths);
            let prior = outcome.state.get(&c.address).cloned();
            let changed_at = if record {
                now_rfc3339()
            } else {
                prior.as_ref().map(|p| p.changed_at.clone()).unwrap_or_else(now_rfc3339)
            };
            let entry = ResourceState {
                address: c.address.clone(),
                resource_type: c.resource_type.clone(),
                provider: c.provider.clone(),
                id: live.id.clone(),
                origin: c.origin.clone(),
                attrs,
                vendor_modified: live.modified.clone(),
                changed_at,
                sensitive_paths: c.sensitive_paths.clone(),
                depends_on: job.depends_on.clone(),
                configured,
            };
            if prior.as_ref() == Some(&entry) {
                return false;
            }
            outcome.state.upsert(entry);
            if record {
                let action = match c.action {
                    Action::Create => {
                        outcome.counts.create += 1;
                        "create"
                    }
                    Action::Update => {
                        outcome.counts.update += 1;
                        "update"
                    }
                    Action::Replace => {
                        outcome.counts.replace += 1;
                        "replace"
                    }
                    Action::NoOp | Action::Delete => "adopt",
                };
                let action = if c.adopt && c.action == Action::NoOp { "adopt" } else { action };
                emit(format!("  {} {}: {} (id {})", c.action.symbol(), c.address, past(action), live.id));
                outcome.records.push(ChangeRecord {
                    address: c.address.clone(),
                    resource_type: c.resource_type.clone(),
                    action: action.into(),
                    id: Some(live.id),
                    changed_attributes: c.attribute_changes.iter().map(|a| a.path.clone()).collect(),
                });
            }
            true
        }
    }
}

fn past(action: &str) -> &'static str {
    match action {
        "create" => "created",
        "update" => "updated",
        "replace" => "replaced",
        "delete" => "destroyed",
        _ => "adopted",
    }
}

async fn run_job(
    job: &Job,
    providers: &Providers,
    opts: &ApplyOptions,
    redactor: &Redactor,
    owner: &str,
) -> Done {
    let c = &job.change;
    let Some(provider) = providers.get(&c.provider) else {
        return Done::Failed(format!("provider `{}` is not configured", c.provider));
    };
    let p = provider.as_ref();
    let configured = job.attrs.as_ref().map(|a| configured_paths(p, c, a, redactor)).unwrap_or_default();
    let result: Result<Done, ProviderError> = async {
        match c.action {
            Action::NoOp => {
                // Adopted without changes, or a state refresh: record what the vendor has.
                let id = c.id.clone().unwrap_or_default();
                match with_retries(&opts.retry, || p.read(&c.resource_type, &id)).await? {
                    Some(live) => Ok(Done::Upserted { live, record: c.adopt, configured }),
                    None => Ok(Done::Failed(format!("object {id} disappeared during apply"))),
                }
            }
            Action::Create => {
                let attrs = job.attrs.as_ref().ok_or_else(|| missing_attrs(c))?;
                let marked = watchkeep_provider::owned_address(owner, &c.address);
                let live = create_once(p, &c.resource_type, &marked, None, attrs, &opts.retry).await?;
                Ok(Done::Upserted { live, record: true, configured: configured.clone() })
            }
            Action::Update => {
                let attrs = job.attrs.as_ref().ok_or_else(|| missing_attrs(c))?;
                let id = c.id.clone().unwrap_or_default();
                let live = with_retries(&opts.retry, || p.update(&c.resource_type, &id, attrs)).await?;
                Ok(Done::Upserted { live, record: true, configured: configured.clone() })
            }
            Action::Replace => {
                // Create before destroy: no window without monitoring.
                let attrs = job.attrs.as_ref().ok_or_else(|| missing_attrs(c))?;
                let marked = watchkeep_provider::owned_address(owner, &c.address);
                let live =
                    create_once(p, &c.resource_type, &marked, c.id.as_deref(), attrs, &opts.retry).await?;
                if let Some(old) = c.id.as_deref().filter(|old| *old != live.id) {
                    with_retries(&opts.retry, || p.delete(&c.resource_type, old)).await?;
                }
                Ok(Done::Upserted { live, record: true, configured: configured.clone() })
            }
            Action::Delete => {
                if !c.already_gone {
                    let id = c.id.clone().unwrap_or_default();
                    with_retries(&opts.retry, || p.delete(&c.resource_type, &id)).await?;
                }
                Ok(Done::Deleted)
            }
        }
    }
    .await;
    match result {
        Ok(d) => d,
        Err(e) => Done::Failed(redactor.str(&e.to_string()).into_owned()),
    }
}

/// Takes what the vendor answers to a read, right after the apply, as the baseline of each object
/// the apply wrote (`addresses`): a create's answer is not always what later reads return (Datadog's
/// create answer carries `assets: []` and `draft_status`; its reads do not), and drift compares
/// later reads with this. Returns how many entries changed. Objects the read did not return keep
/// the write's answer.
pub fn record_baselines(
    state: &mut State,
    live: &crate::plan::LiveSet,
    addresses: &BTreeSet<String>,
    redactor: &Redactor,
) -> usize {
    let mut changed = 0;
    for address in addresses {
        let Some(entry) = state.get(address).cloned() else { continue };
        let Some(l) = live.get(&entry.resource_type, &entry.id) else { continue };
        let attrs = redactor.mask(&l.attrs, &entry.sensitive_paths);
        if attrs != entry.attrs || l.modified != entry.vendor_modified {
            state.upsert(ResourceState { attrs, vendor_modified: l.modified.clone(), ..entry });
            changed += 1;
        }
    }
    changed
}

/// Puts the ids of the objects a job links to into its body, at the positions its links name,
/// from state as it stands: the waves run a job after everything it depends on (every link target
/// is a dependency), so an object created earlier in this apply is there. A link still unresolved
/// is an error naming both objects; nothing is sent.
fn resolve_links(job: &mut Job, state: &State) -> Result<(), String> {
    let Some(attrs) = job.attrs.as_mut() else { return Ok(()) };
    if job.links.is_empty() {
        return Ok(());
    }
    let unresolved = links::resolve(attrs, &job.links, &|a| state.get(a).map(|r| r.id.clone()));
    if unresolved.is_empty() {
        return Ok(());
    }
    let from = &job.change.address;
    let lines: Vec<String> = unresolved
        .iter()
        .map(|u| match u.why {
            Missing::Id => format!(
                "`{from}` links to `{}` (at `{}`), whose id is not known: `{}` is not in state (create it first, or add it to the configuration)",
                u.link.to, u.link.at, u.link.to
            ),
            Missing::Placeholder => format!(
                "`{from}` links to `{}` at `{}`, but its body holds no placeholder for it there (a bug: please report it)",
                u.link.to, u.link.at
            ),
        })
        .collect();
    Err(format!("not sent: {}", lines.join("; ")))
}

/// The leaf paths the configuration sets for this object, each with a hash of its redacted,
/// normalised value: what the planner compares against next time (see `plan::managed_change`).
fn configured_paths(
    p: &dyn Provider,
    c: &ResourceChange,
    attrs: &Value,
    redactor: &Redactor,
) -> BTreeMap<String, String> {
    let normalized = redactor.mask(&p.normalize(&c.resource_type, attrs), &c.sensitive_paths);
    crate::plan::leaves(&normalized).into_iter().map(|(k, v)| (k, crate::plan::value_hash(&v))).collect()
}

fn missing_attrs(c: &ResourceChange) -> ProviderError {
    ProviderError::InvalidConfig { message: format!("no desired attributes for {}", c.address) }
}

/// Creates an object without ever making a duplicate: before retrying a create whose outcome is
/// unknown (timeout, 5xx, dropped connection), look for the ownership marker first.
/// `marked_address` is what the body was marked with (`owned_address(owner, address)`);
/// `replacing` is the object a replace creates a successor for: it carries the same marker and
/// is never taken for the new one.
async fn create_once(
    p: &dyn Provider,
    resource_type: &str,
    marked_address: &str,
    replacing: Option<&str>,
    attrs: &Value,
    policy: &RetryPolicy,
) -> Result<LiveObject, ProviderError> {
    let mut attempt = 1;
    loop {
        match p.create(resource_type, attrs).await {
            Ok(live) => return Ok(live),
            // A garbled answer to a create says nothing about whether the vendor acted: treat it
            // like a lost response (look for the marker, then retry).
            Err(e)
                if (e.is_retryable() || matches!(e, ProviderError::Decode { .. }))
                    && attempt < policy.max_attempts =>
            {
                tokio::time::sleep(policy.delay(attempt, &e)).await;
                attempt += 1;
                if matches!(e, ProviderError::Transient { .. } | ProviderError::Decode { .. }) {
                    let found =
                        with_retries(policy, || p.find_by_marker(resource_type, marked_address)).await?;
                    if let Some(live) = found.into_iter().find(|o| Some(o.id.as_str()) != replacing) {
                        return Ok(live);
                    }
                }
            }
            Err(e) => return Err(e),
        }
    }
}

/// Groups jobs into waves: a job runs after every job it depends on. Deletes run last, after all
/// creates and updates (so a replacement exists before the old object goes).
/// Groups jobs into waves that may run concurrently: creates and updates after what they depend
/// on, then deletes in reverse dependency order (a workflow before the channels it notifies, a
/// channel before its destination: vendors refuse to delete what is still in use). Also returns,
/// per delete, the deletes that must succeed before it.
fn waves(jobs: Vec<Job>) -> (Vec<Vec<Job>>, HashMap<String, Vec<String>>) {
    let (deletes, others): (Vec<Job>, Vec<Job>) =
        jobs.into_iter().partition(|j| j.change.action == Action::Delete);

    // Creates and updates: level = 1 + the deepest of their dependencies.
    let index: HashMap<&str, usize> =
        others.iter().enumerate().map(|(i, j)| (j.change.address.as_str(), i)).collect();
    let after: Vec<Vec<usize>> = others
        .iter()
        .map(|j| j.depends_on.iter().filter_map(|d| index.get(d.as_str()).copied()).collect())
        .collect();
    let mut out = group(others, &levels(&after));

    // Deletes: level = 1 + the deepest of the deletes that depend on them.
    let index: HashMap<&str, usize> =
        deletes.iter().enumerate().map(|(i, j)| (j.change.address.as_str(), i)).collect();
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); deletes.len()];
    for (i, j) in deletes.iter().enumerate() {
        for d in &j.depends_on {
            if let Some(&k) = index.get(d.as_str()) {
                if k != i && !dependents[k].contains(&i) {
                    dependents[k].push(i);
                }
            }
        }
    }
    let names: HashMap<String, Vec<String>> = dependents
        .iter()
        .enumerate()
        .filter(|(_, ds)| !ds.is_empty())
        .map(|(k, ds)| {
            (
                deletes[k].change.address.clone(),
                ds.iter().map(|&i| deletes[i].change.address.clone()).collect(),
            )
        })
        .collect();
    out.extend(group(deletes, &levels(&dependents)));
    out.retain(|w| !w.is_empty());
    (out, names)
}

/// `level[i]` = 1 + the highest level among `after[i]` (0 when empty).
fn levels(after: &[Vec<usize>]) -> Vec<usize> {
    fn level_of(i: usize, after: &[Vec<usize>], level: &mut [Option<usize>], depth: usize) -> usize {
        if let Some(l) = level[i] {
            return l;
        }
        // The loader rejects cycles; the depth guard keeps a bad graph from overflowing the stack.
        let l = if depth > after.len() {
            0
        } else {
            after[i].iter().map(|&d| level_of(d, after, level, depth + 1) + 1).max().unwrap_or(0)
        };
        level[i] = Some(l);
        l
    }
    let mut level = vec![None; after.len()];
    (0..after.len()).map(|i| level_of(i, after, &mut level, 0)).collect()
}

fn group(jobs: Vec<Job>, levels: &[usize]) -> Vec<Vec<Job>> {
    let max = levels.iter().copied().max().unwrap_or(0);
    let mut out: Vec<Vec<Job>> = (0..=max).map(|_| Vec::new()).collect();
    for (job, &l) in jobs.into_iter().zip(levels) {
        out[l].push(job);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(address: &str, action: Action, depends_on: &[&str]) -> Job {
        Job {
            change: ResourceChange {
                address: address.into(),
                resource_type: "t".into(),
                provider: "p".into(),
                origin: None,
                action,
                id: Some(format!("id-{address}")),
                reason: None,
                adopt: false,
                already_gone: false,
                before: None,
                after: None,
                attribute_changes: Vec::new(),
                after_hash: None,
                sensitive_paths: Vec::new(),
                links: Vec::new(),
            },
            attrs: None,
            depends_on: depends_on.iter().map(|d| d.to_string()).collect(),
            links: Vec::new(),
        }
    }

    fn addresses(waves: &[Vec<Job>]) -> Vec<Vec<&str>> {
        waves.iter().map(|w| w.iter().map(|j| j.change.address.as_str()).collect()).collect()
    }

    #[test]
    fn creates_follow_their_dependencies_and_deletes_go_in_reverse() {
        let (waves, dependents) = waves(vec![
            job("workflow", Action::Create, &["channel", "policy"]),
            job("channel", Action::Create, &["destination"]),
            job("destination", Action::Create, &[]),
            job("policy", Action::Update, &[]),
            job("old-destination", Action::Delete, &[]),
            job("old-workflow", Action::Delete, &["old-channel"]),
            job("old-channel", Action::Delete, &["old-destination"]),
            job("lone", Action::Delete, &["not-deleted"]),
        ]);
        assert_eq!(
            addresses(&waves),
            vec![
                vec!["destination", "policy"],
                vec!["channel"],
                vec!["workflow"],
                vec!["old-workflow", "lone"],
                vec!["old-channel"],
                vec!["old-destination"],
            ]
        );
        assert_eq!(dependents["old-destination"], vec!["old-channel"]);
        assert_eq!(dependents["old-channel"], vec!["old-workflow"]);
        assert!(!dependents.contains_key("lone"));
    }

    /// A stand-in vendor that records what it is sent and gives each create the next id. It
    /// refuses a body that still holds a link placeholder, as a vendor would (Datadog answers 400
    /// to a composite query naming `ref:…`).
    #[derive(Default)]
    struct Recorder {
        sent: std::sync::Mutex<Vec<(String, Value)>>,
    }

    #[async_trait::async_trait]
    impl Provider for Recorder {
        fn name(&self) -> &'static str {
            "p"
        }
        fn resource_types(&self) -> &'static [&'static str] {
            &["t"]
        }
        async fn list(&self, _: &str, _: bool) -> watchkeep_provider::Result<Vec<LiveObject>> {
            Ok(Vec::new())
        }
        async fn read(&self, _: &str, _: &str) -> watchkeep_provider::Result<Option<LiveObject>> {
            Ok(None)
        }
        fn normalize(&self, _: &str, attrs: &Value) -> Value {
            attrs.clone()
        }
        fn mark(&self, _: &str, _: &mut Value, _: &str) {}
        fn update_kind(&self, _: &str, _: &str) -> watchkeep_provider::UpdateKind {
            watchkeep_provider::UpdateKind::InPlace
        }
        async fn create(&self, resource_type: &str, attrs: &Value) -> watchkeep_provider::Result<LiveObject> {
            if attrs.to_string().contains(links::PREFIX) {
                return Err(ProviderError::InvalidConfig { message: format!("placeholder sent: {attrs}") });
            }
            let mut sent = self.sent.lock().unwrap_or_else(|e| e.into_inner());
            let id = format!("{}", 500 + sent.len());
            sent.push((id.clone(), attrs.clone()));
            Ok(LiveObject {
                id,
                resource_type: resource_type.into(),
                attrs: attrs.clone(),
                modified: None,
                marker: None,
                owned: true,
            })
        }
        async fn update(&self, rt: &str, _: &str, attrs: &Value) -> watchkeep_provider::Result<LiveObject> {
            self.create(rt, attrs).await
        }
        async fn delete(&self, _: &str, _: &str) -> watchkeep_provider::Result<()> {
            Ok(())
        }
        fn api_calls(&self) -> u64 {
            0
        }
    }

    fn create(address: &str, body: Value, depends_on: &[&str]) -> Job {
        let mut j = job(address, Action::Create, depends_on);
        j.change.id = None;
        j.links = links::collect(&body, &|_| false);
        j.attrs = Some(body);
        j
    }

    fn stored(address: &str, id: &str) -> ResourceState {
        ResourceState {
            address: address.into(),
            resource_type: "t".into(),
            provider: "p".into(),
            id: id.into(),
            origin: None,
            attrs: serde_json::json!({}),
            vendor_modified: None,
            changed_at: "2026-11-24T00:00:00Z".into(),
            sensitive_paths: vec![],
            depends_on: vec![],
            configured: BTreeMap::new(),
        }
    }

    /// Runs `jobs` with `Recorder` over `state`; returns the outcome and what was sent, by id.
    fn run(jobs: Vec<Job>, state: State) -> (ApplyOutcome, Vec<(String, Value)>) {
        let dir = tempfile::tempdir().expect("temp dir");
        let backend = crate::state::LocalBackend::new(dir.path().join("watchkeep.tfstate"));
        let lock = Arc::new(backend.lock("apply").expect("lock"));
        let recorder = Arc::new(Recorder::default());
        let providers: Providers = [("p".to_string(), recorder.clone() as Arc<dyn Provider>)].into();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let opts = ApplyOptions { lines_to_stderr: true, ..Default::default() };
        let outcome = rt
            .block_on(apply(jobs, &providers, lock, state, &Redactor::default(), &opts))
            .expect("state written");
        let sent = recorder.sent.lock().unwrap_or_else(|e| e.into_inner()).clone();
        (outcome, sent)
    }

    /// A composite naming one monitor created earlier in the same apply and one already in
    /// state is sent with both real ids, resolved at the positions its links name.
    #[test]
    fn links_resolve_from_an_earlier_create_and_from_state() {
        let mut state = State::new();
        state.upsert(stored("t.old", "900"));
        let (outcome, sent) = run(
            vec![
                create(
                    "t.composite",
                    serde_json::json!({"query": "ref:t.new && !ref:t.old", "n": 1}),
                    &["t.new", "t.old"],
                ),
                create("t.new", serde_json::json!({"query": "avg:cpu > 1"}), &[]),
            ],
            state,
        );
        assert!(outcome.errors.is_empty(), "{:?}", outcome.errors);
        assert_eq!(sent[0], ("500".to_string(), serde_json::json!({"query": "avg:cpu > 1"})));
        assert_eq!(sent[1], ("501".to_string(), serde_json::json!({"query": "500 && !900", "n": 1})));
        assert_eq!(outcome.state.get("t.composite").map(|r| r.id.as_str()), Some("501"));
    }

    /// A body whose link cannot be resolved is never sent: the error names both objects, and
    /// what depends on it is skipped.
    #[test]
    fn an_unresolved_link_is_never_sent() {
        let (outcome, sent) = run(
            vec![
                create(
                    "t.composite",
                    serde_json::json!({"query": "ref:t.ghost || ref:t.ok"}),
                    &["t.ghost", "t.ok"],
                ),
                create("t.ok", serde_json::json!({"query": "avg:cpu > 1"}), &[]),
                create("t.after", serde_json::json!({"query": "ref:t.composite"}), &["t.composite"]),
            ],
            State::new(),
        );
        assert_eq!(sent.len(), 1, "only `t.ok` is sent: {sent:?}");
        assert_eq!(sent[0].1, serde_json::json!({"query": "avg:cpu > 1"}));
        let errors: BTreeMap<&str, &str> =
            outcome.errors.iter().map(|(a, m)| (a.as_str(), m.as_str())).collect();
        assert_eq!(errors.len(), 2, "{errors:?}");
        let msg = errors["t.composite"];
        assert!(msg.contains("`t.composite` links to `t.ghost` (at `/query`)"), "{msg}");
        assert!(msg.contains("`t.ghost` is not in state"), "{msg}");
        assert!(!msg.contains("`t.ok`"), "`t.ok` was created first, so its link resolved: {msg}");
        assert_eq!(errors["t.after"], "skipped: `t.composite` failed");
        assert!(outcome.state.get("t.composite").is_none());
    }

    #[test]
    fn a_dependency_cycle_does_not_hang() {
        let (waves, _) = waves(vec![job("a", Action::Delete, &["b"]), job("b", Action::Delete, &["a"])]);
        assert_eq!(waves.iter().map(Vec::len).sum::<usize>(), 2);
    }
}
