//! `watchkeep apply [PLANFILE]` and `watchkeep destroy`.

use std::collections::BTreeMap;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{self, CmdResult, Context, Failure, Stats};
use super::plan::{make_plan, PlanSpec};
use super::{ApplyArgs, EXIT_ERROR, EXIT_OK};
use crate::apply::{self, ApplyOptions, Job};
use crate::output;
use crate::plan::{self, Action};
use crate::state::{actor, now_rfc3339, source_revision, ChangeCounts, ChangeRecord, HistoryEntry, State};

/// `apply --json` output.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ApplyOutput {
    pub format_version: u32,
    /// "complete", "partial" (some operations failed or were interrupted) or "no-changes".
    pub outcome: String,
    pub counts: ChangeCounts,
    pub changes: Vec<ChangeRecord>,
    pub errors: Vec<ApplyError>,
    /// State serial after the apply.
    pub serial: u64,
    /// History version recorded for this apply, if anything changed.
    pub history_version: Option<u64>,
    pub stats: Stats,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ApplyError {
    pub address: String,
    pub message: String,
}

/// Reads back, with the vendors' list calls, every type this apply created or updated, and keeps
/// what the read returns as each written object's baseline (see `apply::record_baselines`). A
/// failed read only warns: the write's answers stay the baselines.
async fn first_read_baselines(
    outcome: &mut apply::ApplyOutcome,
    run: &super::plan::PlanRun,
    lock: &crate::state::StateLock,
    parallelism: usize,
) -> Result<(), Failure> {
    let written: std::collections::BTreeSet<String> =
        outcome.records.iter().filter(|r| r.action != "delete").map(|r| r.address.clone()).collect();
    let types: std::collections::BTreeSet<(String, String)> = written
        .iter()
        .filter_map(|a| outcome.state.get(a))
        .map(|r| (r.provider.clone(), r.resource_type.clone()))
        .collect();
    if types.is_empty() {
        return Ok(());
    }
    let mut scope = crate::state::State::new();
    for a in &written {
        if let Some(r) = outcome.state.get(a) {
            scope.upsert(r.clone());
        }
    }
    match common::refresh(&run.providers, &types, &scope, true, parallelism, &run.redactor).await {
        Ok(live) => {
            if apply::record_baselines(&mut outcome.state, &live, &written, &run.redactor) > 0 {
                lock.save(&mut outcome.state)?;
            }
        }
        Err(e) => {
            let why = match &e {
                Failure::Message(m) => m.clone(),
                Failure::Diagnostics(..) => "the vendor's answer could not be read".to_string(),
            };
            eprintln!(
                "warning: reading back what was written failed ({why}); drift will compare with the vendor's write answers"
            );
        }
    }
    Ok(())
}

pub async fn run(ctx: &Context, args: &ApplyArgs, destroy: bool) -> CmdResult {
    let operation = if destroy { "destroy" } else { "apply" };
    let loaded = ctx.load(&args.vars)?;
    let backend = ctx.backend(Some(&loaded.0));
    let lock = common::lock(&backend, operation)?;
    let existing = backend.load()?;
    if let Some(s) = &existing {
        common::note_migration(s);
    }

    let (state, run) = if let Some(path) = &args.plan_file {
        if destroy {
            return Err(Failure::msg("`destroy` takes no plan file\nhint: use `watchkeep plan -destroy -out FILE` then `watchkeep apply FILE`"));
        }
        let saved = plan::file::load(path).map_err(|e| Failure::msg(e.to_string()))?;
        let state = match existing {
            Some(s) => {
                if saved.lineage.as_deref() != Some(s.lineage.as_str()) || saved.serial != s.serial {
                    return Err(Failure::msg(format!(
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
                return Err(Failure::msg(format!(
                    "the saved plan {} was made against state serial {}, but there is no state file now\nhint: plan again",
                    path.display(),
                    saved.serial
                )))
            }
        };
        let spec = PlanSpec {
            vars: &args.vars,
            refresh: false,
            targets: &saved.targets,
            destroy: saved.destroy,
            parallelism: args.parallelism,
            for_apply: true,
        };
        let mut run = make_plan(ctx, &spec, &state, loaded).await?;
        let now: BTreeMap<&str, &Option<String>> =
            run.plan.changes.iter().map(|c| (c.address.as_str(), &c.after_hash)).collect();
        for c in saved.actionable() {
            if c.after_hash.is_some() && now.get(c.address.as_str()).copied() != Some(&c.after_hash) {
                return Err(Failure::msg(format!(
                    "the configuration changed since the plan {} was made (`{}` differs)\nhint: run `watchkeep plan -out {}` again",
                    path.display(),
                    c.address,
                    path.display()
                )));
            }
        }
        run.plan = saved;
        (state, run)
    } else {
        let state = existing.unwrap_or_else(State::new);
        let spec = PlanSpec {
            vars: &args.vars,
            refresh: args.refresh,
            targets: &args.targets,
            destroy,
            parallelism: args.parallelism,
            for_apply: true,
        };
        let run = make_plan(ctx, &spec, &state, loaded).await?;
        if !args.json {
            print!("{}", output::human::plan(&run.plan));
        }
        if run.plan.actionable().next().is_none() {
            if args.json {
                common::print_json(&ApplyOutput {
                    format_version: 1,
                    outcome: "no-changes".into(),
                    counts: ChangeCounts::default(),
                    changes: Vec::new(),
                    errors: Vec::new(),
                    serial: state.serial,
                    history_version: None,
                    stats: common::stats(ctx, &run.providers),
                })?;
            }
            return Ok(EXIT_OK);
        }
        if !args.auto_approve {
            let q = if destroy {
                "\nDo you really want to destroy all monitoring objects in this state?"
            } else {
                "\nDo you want to perform these actions?"
            };
            if !common::confirm(q) {
                eprintln!("\nApply cancelled: nothing was changed.");
                return Ok(EXIT_ERROR);
            }
        }
        if !args.json {
            println!();
        }
        (state, run)
    };

    let depends: BTreeMap<&str, &Vec<String>> =
        run.desired.iter().map(|d| (d.address.as_str(), &d.depends_on)).collect();
    let jobs: Vec<Job> = run
        .plan
        .actionable()
        .map(|c| Job {
            change: c.clone(),
            attrs: if c.action == Action::Delete { None } else { run.marked.get(&c.address).cloned() },
            depends_on: {
                let mut d = depends.get(c.address.as_str()).map(|d| d.to_vec()).unwrap_or_default();
                // What it referred to when written: a destroy has no configuration to ask.
                for x in state.get(&c.address).map(|r| r.depends_on.as_slice()).unwrap_or_default() {
                    if !d.contains(x) {
                        d.push(x.clone());
                    }
                }
                d
            },
        })
        .collect();
    let lock = Arc::new(lock);
    let opts =
        ApplyOptions { parallelism: args.parallelism, lines_to_stderr: args.json, ..Default::default() };
    let mut outcome = apply::apply(jobs, &run.providers, lock.clone(), state, &run.redactor, &opts).await?;
    first_read_baselines(&mut outcome, &run, &lock, args.parallelism).await?;

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
            source_revision: source_revision(&ctx.dir),
            outcome: if partial { "partial".into() } else { "complete".into() },
            counts: outcome.counts,
            changes: outcome.records.clone(),
        })?;
        history_version = Some(entry.version);
    }

    if args.json {
        common::print_json(&ApplyOutput {
            format_version: 1,
            outcome: if partial { "partial".into() } else { "complete".into() },
            counts: outcome.counts,
            changes: outcome.records.clone(),
            errors: outcome
                .errors
                .iter()
                .map(|(a, m)| ApplyError { address: a.clone(), message: m.clone() })
                .collect(),
            serial: outcome.state.serial,
            history_version,
            stats: common::stats(ctx, &run.providers),
        })?;
    } else {
        let c = &outcome.counts;
        let head = if outcome.interrupted {
            "Apply interrupted"
        } else if partial {
            "Apply finished with errors"
        } else if destroy {
            "Destroy complete"
        } else {
            "Apply complete"
        };
        println!(
            "\n{head}! Resources: {} created, {} updated, {} replaced, {} destroyed.",
            c.create, c.update, c.replace, c.delete
        );
        if let Some(v) = history_version {
            println!("State serial {} recorded as history version {v}.", outcome.state.serial);
        }
    }
    if partial {
        let mut msg = String::new();
        for (addr, m) in &outcome.errors {
            msg.push_str(&format!("  {addr}: {m}\n"));
        }
        if outcome.interrupted {
            msg.push_str("  interrupted before every change was made\n");
        }
        eprintln!(
            "Error: {} operation(s) did not complete:\n{msg}State holds exactly what was done; fix the cause and run `watchkeep apply` again to converge.",
            outcome.errors.len() + usize::from(outcome.interrupted && outcome.errors.is_empty())
        );
        return Ok(EXIT_ERROR);
    }
    Ok(EXIT_OK)
}
