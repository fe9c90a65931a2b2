//! `apply` and `destroy` as two steps around the caller's confirmation: [`prepare`] takes the
//! lock and makes (or loads and checks) the plan; [`execute`] carries out the
//! [`ExecutablePlan`](super::plan::ExecutablePlan), reads back what it wrote, and appends the history entry.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use super::plan::{make_plan, PlanSpec, Planned};
use super::providers::stats;
use super::refresh::refresh;
use super::report::{ApplyError, ApplyOutput};
use super::workspace::{lock, note_migration};
use super::{Error, Vars, Workspace};
use crate::apply::{self, ApplyOptions};
use crate::plan::{self, Plan};
use crate::state::{actor, now_rfc3339, source_revision, ChangeCounts, HistoryEntry, State, StateLock};

/// What `apply` (or `destroy`) is asked for.
#[derive(Debug, Clone)]
pub struct ApplyInput {
    pub vars: Vars,
    /// A plan saved with `plan -out`; without it, apply plans first.
    pub plan_file: Option<PathBuf>,
    /// Destroy everything in state.
    pub destroy: bool,
    pub targets: Vec<String>,
    /// Read live state first.
    pub refresh: bool,
    /// At most this many vendor operations in flight.
    pub parallelism: usize,
    /// Write the executor's per-object lines to stderr (stdout carries JSON).
    pub lines_to_stderr: bool,
    /// Take the state lock (`-lock=false`: don't; unsafe, said on stderr).
    pub lock: bool,
}

/// A plan ready to execute, with the state lock held until it is executed or dropped.
pub struct PreparedApply {
    lock: StateLock,
    state: State,
    planned: Planned,
    operation: &'static str,
    from_file: bool,
    parallelism: usize,
    lines_to_stderr: bool,
}

impl PreparedApply {
    pub fn plan(&self) -> &Plan {
        &self.planned.exec.plan
    }

    /// Whether the plan came from a saved plan file (it is then executed as saved, unconfirmed).
    pub fn from_file(&self) -> bool {
        self.from_file
    }

    /// Whether anything would be done.
    pub fn has_actions(&self) -> bool {
        self.plan().actionable().next().is_some()
    }

    /// The report of an apply that had nothing to do.
    pub fn no_changes(&self, ws: &Workspace) -> ApplyOutput {
        ApplyOutput {
            format_version: 1,
            outcome: "no-changes".into(),
            counts: ChangeCounts::default(),
            changes: Vec::new(),
            errors: Vec::new(),
            serial: self.state.serial,
            history_version: None,
            stats: stats(ws, &self.planned.providers),
        }
    }
}

impl PreparedApply {
    /// A plan made by `watchkeep import` (`run::import`), executed under `lock` with the history
    /// entry's operation `import`.
    pub(crate) fn for_import(lock: StateLock, state: State, planned: Planned, parallelism: usize) -> Self {
        PreparedApply {
            lock,
            state,
            planned,
            operation: "import",
            from_file: false,
            parallelism,
            lines_to_stderr: true,
        }
    }
}

/// What an executed apply reports.
#[derive(Debug, Clone)]
pub struct ApplyReport {
    pub output: ApplyOutput,
    /// Stopped (Ctrl-C, SIGTERM) before every change was made.
    pub interrupted: bool,
}

impl ApplyReport {
    /// Some operation failed or the apply was interrupted.
    pub fn partial(&self) -> bool {
        !self.output.errors.is_empty() || self.interrupted
    }
}

/// Takes the lock, loads state, and plans (or loads a saved plan and checks that neither state
/// nor configuration changed since it was made).
pub async fn prepare(ws: &Workspace, input: &ApplyInput) -> Result<PreparedApply, Error> {
    let operation = if input.destroy { "destroy" } else { "apply" };
    let loaded = ws.load(&input.vars)?;
    let backend = ws.backend(Some(&loaded.0));
    let lock = if input.lock {
        lock(&backend, operation)?
    } else {
        eprintln!(
            "warning: -lock=false is unsafe: {operation} runs without the state lock; another watchkeep writing the same state at the same time can lose objects or corrupt the history\nhint: use it only when nothing else can run against {}",
            backend.state_path().display()
        );
        backend.without_lock(operation)
    };
    let existing = backend.load()?;
    if let Some(s) = &existing {
        note_migration(s);
    }
    let (state, planned) = if let Some(path) = &input.plan_file {
        if input.destroy {
            return Err(Error::msg("`destroy` takes no plan file\nhint: use `watchkeep plan -destroy -out FILE` then `watchkeep apply FILE`"));
        }
        let saved = plan::file::load(path).map_err(|e| Error::msg(e.to_string()))?;
        let state = match existing {
            Some(s) => {
                if saved.lineage.as_deref() != Some(s.lineage.as_str()) || saved.serial != s.serial {
                    return Err(Error::msg(format!(
                        "the saved plan {} is stale: state changed since it was made (plan: serial {}, lineage {}; state now: serial {}, lineage {})\nhint: run `watchkeep plan -out {}` again and apply the new plan",
                        path.display(),
                        saved.serial,
                        saved.lineage.as_deref().unwrap_or("none"),
                        s.serial,
                        s.lineage,
                        path.display()
                    )));
                }
                s
            }
            None if saved.serial == 0 => {
                let mut s = State::new();
                if let Some(l) = &saved.lineage {
                    s.lineage = l.clone();
                }
                s
            }
            None => {
                return Err(Error::msg(format!(
                    "the saved plan {} was made against state serial {}, but there is no state file now\nhint: plan again",
                    path.display(),
                    saved.serial
                )))
            }
        };
        let spec = PlanSpec {
            refresh: false,
            targets: &saved.targets,
            destroy: saved.destroy,
            parallelism: input.parallelism,
            for_apply: true,
        };
        let mut planned = make_plan(ws, &spec, &state, loaded).await?;
        let now: BTreeMap<&str, &Option<String>> =
            planned.exec.plan.changes.iter().map(|c| (c.address.as_str(), &c.after_hash)).collect();
        for c in saved.actionable() {
            if c.after_hash.is_some() && now.get(c.address.as_str()).copied() != Some(&c.after_hash) {
                return Err(Error::msg(format!(
                    "the configuration changed since the plan {} was made (`{}` differs)\nhint: run `watchkeep plan -out {}` again",
                    path.display(),
                    c.address,
                    path.display()
                )));
            }
        }
        planned.exec.plan = saved;
        (state, planned)
    } else {
        let state = existing.unwrap_or_else(State::new);
        let spec = PlanSpec {
            refresh: input.refresh,
            targets: &input.targets,
            destroy: input.destroy,
            parallelism: input.parallelism,
            for_apply: true,
        };
        let planned = make_plan(ws, &spec, &state, loaded).await?;
        (state, planned)
    };
    Ok(PreparedApply {
        lock,
        state,
        planned,
        operation,
        from_file: input.plan_file.is_some(),
        parallelism: input.parallelism,
        lines_to_stderr: input.lines_to_stderr,
    })
}

/// Carries out the plan, reads back what was written as each object's baseline, and appends the
/// history entry (when anything changed).
pub async fn execute(ws: &Workspace, prepared: PreparedApply) -> Result<ApplyReport, Error> {
    let PreparedApply { lock, state, planned, operation, parallelism, lines_to_stderr, .. } = prepared;
    let Planned { exec, providers, redactor, .. } = planned;
    let lock = Arc::new(lock);
    let opts = ApplyOptions { parallelism, lines_to_stderr, ..Default::default() };
    let mut outcome = apply::apply(exec.jobs(), &providers, lock.clone(), state, &redactor, &opts).await?;
    first_read_baselines(&mut outcome, &providers, &redactor, &lock, parallelism).await?;

    let partial = !outcome.errors.is_empty() || outcome.interrupted;
    let mut history_version = None;
    if !outcome.records.is_empty() {
        let entry = lock.append_history(HistoryEntry {
            version: 0,
            serial: outcome.state.serial,
            lineage: outcome.state.lineage.clone(),
            timestamp: now_rfc3339(),
            operation: operation.into(),
            actor: actor(),
            source_revision: source_revision(&ws.dir),
            outcome: if partial { "partial".into() } else { "complete".into() },
            counts: outcome.counts,
            changes: outcome.records.clone(),
            previous_sha256: None,
        })?;
        history_version = Some(entry.version);
    }
    Ok(ApplyReport {
        output: ApplyOutput {
            format_version: 1,
            outcome: if partial { "partial".into() } else { "complete".into() },
            counts: outcome.counts,
            changes: outcome.records,
            errors: outcome
                .errors
                .into_iter()
                .map(|(address, message)| ApplyError { address, message })
                .collect(),
            serial: outcome.state.serial,
            history_version,
            stats: stats(ws, &providers),
        },
        interrupted: outcome.interrupted,
    })
}

/// Reads back, with the vendors' list calls, every type this apply created or updated, and keeps
/// what the read returns as each written object's baseline (see `apply::record_baselines`). A
/// failed read only warns: the write's answers stay the baselines.
async fn first_read_baselines(
    outcome: &mut apply::ApplyOutcome,
    providers: &apply::Providers,
    redactor: &crate::redact::Redactor,
    lock: &StateLock,
    parallelism: usize,
) -> Result<(), Error> {
    let written: BTreeSet<String> =
        outcome.records.iter().filter(|r| r.action != "delete").map(|r| r.address.clone()).collect();
    let types: BTreeSet<(String, String)> = written
        .iter()
        .filter_map(|a| outcome.state.get(a))
        .map(|r| (r.provider.clone(), r.resource_type.clone()))
        .collect();
    if types.is_empty() {
        return Ok(());
    }
    let mut scope = State::new();
    for a in &written {
        if let Some(r) = outcome.state.get(a) {
            scope.upsert(r.clone());
        }
    }
    match refresh(providers, &types, &scope, true, parallelism, redactor).await {
        Ok(live) => {
            if apply::record_baselines(&mut outcome.state, &live, &written, redactor) > 0 {
                lock.save(&mut outcome.state)?;
            }
        }
        Err(e) => {
            let why = match &e {
                Error::Message(m) => m.clone(),
                Error::Diagnostics(..) => "the vendor's answer could not be read".to_string(),
            };
            eprintln!(
                "warning: reading back what was written failed ({why}); drift will compare with the vendor's write answers"
            );
        }
    }
    Ok(())
}
