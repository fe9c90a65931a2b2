//! Planning: compile, configure the providers, prepare, refresh, plan, and check what the plan
//! would create or change with the vendors (validation, name collisions). The result can be
//! rendered ([`PlanOutput`]) or executed ([`ExecutablePlan`], see `run::apply`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value;

use super::prepare::{self, compile, compile_with_warnings, link_dependencies, marked_body, with_known_ids};
use super::providers::{self, stats};
use super::report::PlanOutput;
use super::timing::Phase;
use super::workspace::note_migration;
use super::{refresh::refresh, Error, Vars, Workspace};
use crate::apply::{Job, Providers};
use crate::compile::DesiredObject;
use crate::config::Config;
use crate::plan::links::{self, Link};
use crate::plan::{self, Action, Plan, PlanRequest};
use crate::redact::Redactor;
use crate::state::{now_rfc3339, State};

/// What `plan` is asked for.
#[derive(Debug, Clone)]
pub struct PlanInput {
    pub vars: Vars,
    /// Read live state from the vendors first; without it the plan is made from state alone.
    pub refresh: bool,
    /// Limit the plan to these addresses (and their children).
    pub targets: Vec<String>,
    /// Plan to destroy everything in state.
    pub destroy: bool,
    /// Concurrent vendor requests during refresh.
    pub parallelism: usize,
    /// Hold the state lock (operation `plan`) while refreshing and planning, as Terraform does.
    pub lock: bool,
}

/// A plan that can be carried out alone: the plan, the unredacted bodies create and update send
/// (never serialised: they hold secrets), and what each change depends on.
#[derive(Debug, Clone)]
pub struct ExecutablePlan {
    pub plan: Plan,
    /// Marked, unredacted attributes by address.
    bodies: BTreeMap<String, Value>,
    /// By address: what the object refers to in the configuration, then what it referred to when
    /// last written (from state; a destroy has no configuration to ask), and every link's target.
    depends_on: BTreeMap<String, Vec<String>>,
    /// By address: where its body (in `bodies`) holds the ids of other objects.
    links: BTreeMap<String, Vec<Link>>,
}

impl ExecutablePlan {
    /// The executor's jobs: one per actionable change.
    pub fn jobs(&self) -> Vec<Job> {
        self.plan
            .actionable()
            .map(|c| Job {
                change: c.clone(),
                attrs: if c.action == Action::Delete { None } else { self.bodies.get(&c.address).cloned() },
                depends_on: self.depends_on.get(&c.address).cloned().unwrap_or_default(),
                // The links of the body being sent (this run's compile), not of a saved plan's
                // change: the executor resolves them in that body.
                links: if c.action == Action::Delete {
                    Vec::new()
                } else {
                    self.links.get(&c.address).cloned().unwrap_or_default()
                },
            })
            .collect()
    }
}

/// Everything a plan was made from, which apply carries on.
pub(crate) struct Planned {
    pub exec: ExecutablePlan,
    pub providers: Providers,
    pub redactor: Redactor,
    /// The warnings of loading and compiling (already printed on stderr), for `--json`.
    pub warnings: crate::diag::Diagnostics,
}

/// How to plan, beyond [`PlanInput`].
pub(crate) struct PlanSpec<'a> {
    pub refresh: bool,
    pub targets: &'a [String],
    pub destroy: bool,
    pub parallelism: usize,
    /// Keep the attributes to send (apply); a plan alone needs only their normalised form.
    pub for_apply: bool,
}

/// `watchkeep plan`: loads the configuration and state, and plans.
pub async fn plan(ws: &Workspace, input: &PlanInput) -> Result<PlanOutput, Error> {
    let t = Phase::start("load config");
    let loaded = ws.load(&input.vars)?;
    t.done();
    let backend = ws.backend(Some(&loaded.0));
    // Held through refresh and plan, so a plan never reads a state an apply is half-way through
    // writing; `-lock=false` skips it.
    let held = if input.lock { Some(super::workspace::lock(&backend, "plan")?) } else { None };
    let t = Phase::start("load state");
    let state = backend.load()?.unwrap_or_else(State::new);
    note_migration(&state);
    t.done();
    let spec = PlanSpec {
        refresh: input.refresh,
        targets: &input.targets,
        destroy: input.destroy,
        parallelism: input.parallelism,
        for_apply: false,
    };
    let run = make_plan(ws, &spec, &state, loaded).await?;
    if let Some(held) = held {
        if let Err(e) = held.release() {
            eprintln!("warning: the plan is complete, but its state lock could not be released: {e}");
        }
    }
    let warnings: Vec<Value> =
        run.warnings.0.iter().map(|d| serde_json::to_value(d).unwrap_or_default()).collect();
    Ok(PlanOutput {
        stats: stats(ws, &run.providers),
        plan: run.exec.plan,
        warning_count: warnings.len(),
        warnings,
    })
}

/// Saves `plan` for `watchkeep apply FILE`.
pub fn save(plan: &Plan, path: &Path) -> Result<(), Error> {
    plan::file::save(plan, path)
        .map_err(|e| Error::msg(format!("cannot write plan file {}: {e}", path.display())))
}

/// Compiles, refreshes and plans `cfg` against `state`.
pub(crate) async fn make_plan(
    ws: &Workspace,
    spec: &PlanSpec<'_>,
    state: &State,
    loaded: (Config, crate::diag::Diagnostics),
) -> Result<Planned, Error> {
    make_plan_with(ws, spec, state, loaded, &BTreeMap::new()).await
}

/// [`make_plan`] for `watchkeep import`: `imports` (address → the live object imported there)
/// are adopted by the planner (`PlanRequest::imports`), and links to them resolve to their ids.
pub(crate) async fn make_plan_with(
    ws: &Workspace,
    spec: &PlanSpec<'_>,
    state: &State,
    (cfg, warnings): (Config, crate::diag::Diagnostics),
    imports: &BTreeMap<String, watchkeep_provider::LiveObject>,
) -> Result<Planned, Error> {
    for target in spec.targets {
        plan::check_target(target).map_err(|why| {
            Error::msg(format!(
                "invalid -target `{target}`: {why}\nhint: a target is an address as `watchkeep plan` prints it, e.g. `baseline.soc2[\"web-1\"].cpu`, or a block such as `baseline.soc2`"
            ))
        })?;
    }
    let t = Phase::start("compile");
    let (desired, compile_warnings) = compile_with_warnings(&cfg)?;
    t.done();
    for target in spec.targets {
        let known = desired
            .iter()
            .map(|d| d.address.as_str())
            .chain(state.resources.iter().map(|r| r.address.as_str()));
        if !known.into_iter().any(|a| plan::targeted(a, std::slice::from_ref(target))) {
            eprintln!(
                "warning: -target `{target}` matches nothing in the configuration or the state; nothing is planned for it"
            );
        }
    }
    let mut warnings = warnings;
    warnings.0.extend(compile_warnings.0);
    ws.print_warnings(&warnings, &cfg.files);
    let needed: BTreeSet<String> = desired
        .iter()
        .map(|d| d.provider.clone())
        .chain(state.resources.iter().map(|r| r.provider.clone()))
        .collect();
    let providers = providers::configure(ws, Some(&cfg), &needed)?;
    // State from before typed links holds them in the providers' old forms (see
    // `links::upgrade_legacy`): compare with the ids and ARNs instead.
    let upgraded = links::upgrade_legacy(state, &|r, v| {
        providers.get(&r.provider).map_or_else(|| v.clone(), |p| p.normalize(&r.resource_type, v))
    });
    let state = upgraded.as_ref().unwrap_or(state);
    let owner = watchkeep_provider::owner_id(&state.lineage);
    let t = Phase::start("prepare");
    let mut desired = desired;
    // Links to imported objects read as their ids, as links to objects in state do.
    let with_imports = state_with(state, imports);
    let redactor = prepare::redactor(Some(&cfg), state);
    let (prepared, marked) = prepare::prepare(
        &mut desired,
        &providers,
        spec.for_apply,
        with_imports.as_ref().unwrap_or(state),
        &redactor,
    )?;
    t.done();
    let links_by: BTreeMap<String, Vec<Link>> = prepared
        .iter()
        .filter(|d| !d.links.is_empty())
        .map(|d| (d.address.clone(), d.links.clone()))
        .collect();
    let t = Phase::start("refresh");
    let live = if spec.refresh {
        let types = prepare::types_in_play(&prepared, state);
        refresh(&providers, &types, state, true, spec.parallelism, &redactor).await?
    } else {
        plan::LiveSet::default()
    };
    let mut live = live;
    for o in imports.values() {
        live.insert(o.clone());
    }
    let import_ids: BTreeMap<String, String> =
        imports.iter().map(|(a, o)| (a.clone(), o.id.clone())).collect();
    t.done();
    let t = Phase::start("plan");
    let update_kind =
        |rtype: &str, attr: &str| match providers.values().find(|p| p.resource_types().contains(&rtype)) {
            Some(p) => p.update_kind(rtype, attr),
            None => watchkeep_provider::UpdateKind::InPlace,
        };
    let created = now_rfc3339();
    let plan_of = |prepared: &[plan::PlanDesired]| {
        plan::plan(&PlanRequest {
            desired: prepared,
            state,
            live: &live,
            refreshed: spec.refresh,
            destroy: spec.destroy,
            targets: spec.targets,
            redactor: &redactor,
            update_kind: &update_kind,
            created: created.clone(),
            imports: &import_ids,
        })
    };
    let mut prepared = prepared;
    let mut plan = plan_of(&prepared);
    // An object this plan creates again or replaces gets a new id: what links to it cannot keep
    // the id state has (it would read unchanged and go on naming the old object). Its links are
    // known after apply, which may change what links to it in turn.
    let mut renewed: BTreeSet<String> = BTreeSet::new();
    let mut fresh: Option<BTreeMap<String, DesiredObject>> = None;
    loop {
        let newly: Vec<String> = plan
            .changes
            .iter()
            .filter(|c| {
                matches!(c.action, Action::Create | Action::Replace) && state.get(&c.address).is_some()
            })
            .filter(|c| !renewed.contains(&c.address))
            .map(|c| c.address.clone())
            .collect();
        let stale: Vec<usize> = (0..prepared.len())
            .filter(|&i| prepared[i].links.iter().any(|l| newly.contains(&l.to)))
            .collect();
        renewed.extend(newly);
        if stale.is_empty() {
            break;
        }
        let fresh = match &mut fresh {
            Some(f) => f,
            None => fresh.insert(compile(&cfg)?.into_iter().map(|d| (d.address.clone(), d)).collect()),
        };
        let id_of = |a: &str| (!renewed.contains(a)).then(|| state.get(a).map(|r| r.id.clone())).flatten();
        for i in stale {
            let d = &mut prepared[i];
            let (Some(obj), Some(p)) = (fresh.get(&d.address), providers.get(&d.provider)) else { continue };
            let (mut body, _) = marked_body(obj, obj.attrs.clone(), p.as_ref(), &owner, &|_| false);
            links::resolve(&mut body, &d.links, &id_of);
            d.normalized = p.normalize(&d.resource_type, &body);
        }
        plan = plan_of(&prepared);
    }
    t.done();
    if !plan.conflicts.is_empty() {
        return Err(Error::msg(format!(
            "refusing to plan: {} object(s) of this state are claimed by another watchkeep state, and a state never edits another state's objects:\n  {}",
            plan.conflicts.len(),
            plan.conflicts.join("\n  ")
        )));
    }
    if spec.refresh {
        check_name_collisions(&plan, &prepared, &providers, &owner).await?;
        // The bodies create and update would send: kept for an apply; for a plan, marked again
        // for the objects it changes only (a no-change plan over 10,000 objects keeps none).
        let changed: BTreeSet<&str> = plan
            .changes
            .iter()
            .filter(|c| matches!(c.action, Action::Create | Action::Update | Action::Replace))
            .map(|c| c.address.as_str())
            .collect();
        let again: BTreeMap<String, Value> = if marked.is_empty() && !changed.is_empty() {
            // Only the bodies are needed: the links were read by `prepare` (`links_by`).
            let known = |_: &str| false;
            compile(&cfg)?
                .into_iter()
                .filter(|d| changed.contains(d.address.as_str()))
                .filter_map(|mut d| {
                    let p = providers.get(&d.provider)?;
                    let attrs = std::mem::take(&mut d.attrs);
                    Some((d.address.clone(), marked_body(&d, attrs, p.as_ref(), &owner, &known).0))
                })
                .collect()
        } else {
            BTreeMap::new()
        };
        // Sent for validation with the links state resolves; an object linking to one not yet
        // created cannot be checked before apply.
        let id_of = |a: &str| (!renewed.contains(a)).then(|| state.get(a).map(|r| r.id.clone())).flatten();
        let bodies: BTreeMap<&str, std::borrow::Cow<'_, Value>> = marked
            .iter()
            .chain(again.iter())
            .filter_map(|(a, v)| {
                let l = links_by.get(a.as_str()).map(|l| l.as_slice()).unwrap_or_default();
                links::all_known(l, &id_of).then(|| (a.as_str(), with_known_ids(v, l, state)))
            })
            .collect();
        validate_changed(&plan, &bodies, &providers, &redactor).await?;
    }
    let depends_on = if spec.for_apply { dependencies(&desired, &links_by, state) } else { BTreeMap::new() };
    let links = if spec.for_apply { links_by } else { BTreeMap::new() };
    let mut plan = plan;
    plan.endpoints =
        providers.iter().filter_map(|(name, p)| p.endpoint().map(|e| (name.clone(), e))).collect();
    Ok(Planned {
        exec: ExecutablePlan { plan, bodies: marked, depends_on, links },
        providers,
        redactor,
        warnings,
    })
}

/// `state` with an entry for each imported object, when there are any: links to them then read
/// as their ids, as links to objects in state do (used only to prepare the desired objects).
fn state_with(state: &State, imports: &BTreeMap<String, watchkeep_provider::LiveObject>) -> Option<State> {
    if imports.is_empty() {
        return None;
    }
    let mut s = state.clone();
    for (address, o) in imports {
        s.upsert(crate::state::ResourceState {
            address: address.clone(),
            resource_type: o.resource_type.clone(),
            provider: crate::vendors::provider_of(&o.resource_type).unwrap_or_default().to_string(),
            id: o.id.clone(),
            origin: None,
            attrs: o.attrs.clone(),
            vendor_modified: o.modified.clone(),
            changed_at: String::new(),
            sensitive_paths: Vec::new(),
            depends_on: Vec::new(),
            configured: BTreeMap::new(),
        });
    }
    Some(s)
}

/// What each change waits for, by address: the configuration's references and the targets of its
/// links, then what the object referred to when it was last written (a destroy has no
/// configuration to ask).
fn dependencies(
    desired: &[DesiredObject],
    links: &BTreeMap<String, Vec<Link>>,
    state: &State,
) -> BTreeMap<String, Vec<String>> {
    let mut depends_on: BTreeMap<String, Vec<String>> = desired
        .iter()
        .map(|d| {
            let mut deps = d.depends_on.clone();
            link_dependencies(&mut deps, links.get(&d.address).map(Vec::as_slice).unwrap_or_default());
            (d.address.clone(), deps)
        })
        .collect();
    for r in &state.resources {
        let d = depends_on.entry(r.address.clone()).or_default();
        for x in &r.depends_on {
            if !d.contains(x) {
                d.push(x.clone());
            }
        }
    }
    depends_on
}

/// Asks the vendor to check every object the plan creates or changes (Datadog:
/// `POST /api/v1/monitor/validate`), so a bad query fails at `plan`, naming the field, before
/// anything is created. Unchanged objects are never sent: validating every monitor on every plan
/// is what Terraform's Datadog provider does, and its users' complaint (datadog #3018). Objects
/// that link to an object still to be created are not in `bodies`: they cannot be checked until apply.
async fn validate_changed(
    plan: &Plan,
    bodies: &BTreeMap<&str, std::borrow::Cow<'_, Value>>,
    providers: &Providers,
    redactor: &Redactor,
) -> Result<(), Error> {
    use futures::stream::{self, StreamExt};
    let checks: Vec<_> = plan
        .changes
        .iter()
        .filter(|c| matches!(c.action, Action::Create | Action::Update | Action::Replace))
        .filter_map(|c| Some((c, bodies.get(c.address.as_str())?.as_ref(), providers.get(&c.provider)?)))
        .collect();
    let policy = watchkeep_provider::RetryPolicy::default();
    let results: Vec<_> = stream::iter(checks)
        .map(|(c, body, p)| {
            let policy = &policy;
            async move {
                let r =
                    watchkeep_provider::with_retries(policy, || p.validate_remote(&c.resource_type, body))
                        .await;
                (c, r)
            }
        })
        .buffered(8)
        .collect()
        .await;
    let mut problems = Vec::new();
    for (c, r) in results {
        if let Err(e) = r {
            let text = redactor.str(&e.to_string()).into_owned();
            let field = text
                .split_once("parameter '")
                .and_then(|(_, rest)| rest.split_once('\''))
                .map(|(f, _)| format!(" (field `{f}`)"))
                .unwrap_or_default();
            let origin = c.origin.as_deref().map(|o| format!(", from {o}")).unwrap_or_default();
            problems.push(format!("  {}{field}{origin}: {text}", c.address));
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(Error::msg(format!(
        "refusing to plan: the vendor rejected {} object(s) at validation; nothing was created or changed:\n{}\nhint: fix the named field in the configuration and plan again",
        problems.len(),
        problems.join("\n")
    )))
}

/// Refuses a plan that would create an object under a name the vendor already uses for an
/// object watchkeep does not own (CloudWatch's `PutMetricAlarm` would silently overwrite it).
/// One list call per affected type, only when such creates are planned.
async fn check_name_collisions(
    plan: &Plan,
    prepared: &[plan::PlanDesired],
    providers: &Providers,
    owner: &str,
) -> Result<(), Error> {
    let by_address: BTreeMap<&str, &plan::PlanDesired> =
        prepared.iter().map(|d| (d.address.as_str(), d)).collect();
    let mut wanted: BTreeMap<(String, String), Vec<(String, String)>> = BTreeMap::new();
    for c in plan.changes.iter().filter(|c| c.action == Action::Create && !c.adopt) {
        let (Some(d), Some(p)) = (by_address.get(c.address.as_str()), providers.get(&c.provider)) else {
            continue;
        };
        if let Some(id) = p.natural_id(&d.resource_type, &d.normalized) {
            wanted
                .entry((c.provider.clone(), d.resource_type.clone()))
                .or_default()
                .push((c.address.clone(), id));
        }
    }
    let mut problems = Vec::new();
    for ((prov, rtype), items) in wanted {
        let Some(p) = providers.get(&prov) else { continue };
        let live = watchkeep_provider::with_retries(&watchkeep_provider::RetryPolicy::default(), || {
            p.list(&rtype, false)
        })
        .await
        .map_err(|e| Error::msg(format!("checking {rtype} names failed: {e}")))?;
        let live: BTreeMap<&str, &watchkeep_provider::LiveObject> =
            live.iter().map(|o| (o.id.as_str(), o)).collect();
        for (address, id) in items {
            if let Some(o) = live.get(id.as_str()) {
                let ours = o.owned
                    && o.marker.as_deref()
                        == Some(watchkeep_provider::owner_marker(owner, &address).as_str());
                if !ours {
                    let whose = match (&o.owned, o.marker.as_deref().map(watchkeep_provider::split_marker)) {
                        (true, Some((Some(other), m))) => format!(
                            "it belongs to another watchkeep state (owner id {other}, address marker `{m}`); a state never adopts or edits another state's objects"
                        ),
                        (true, Some((None, m))) => format!(
                            "it carries a watchkeep marker written before markers named their state (address marker `{m}`); if it is this state's, adopt it with `watchkeep import --id {id}`"
                        ),
                        _ => "watchkeep does not manage it".to_string(),
                    };
                    problems.push(format!("  {address}: a {rtype} named `{id}` already exists and {whose}"));
                }
            }
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(Error::msg(format!(
        "refusing to plan: {} object(s) would take a name that is already in use, and the vendor would overwrite the existing object:\n{}\nhint: rename them in the configuration, or rename/delete the existing objects (or adopt them into this state with `watchkeep import`) and plan again",
        problems.len(),
        problems.join("\n")
    )))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::plan::{LiveSet, PlanDesired};
    use crate::state::ResourceState;

    fn desired(address: &str, depends_on: &[&str]) -> DesiredObject {
        DesiredObject {
            address: address.into(),
            resource_type: "datadog_monitor".into(),
            provider: "datadog".into(),
            origin: None,
            attrs: json!({"name": address}),
            depends_on: depends_on.iter().map(|s| s.to_string()).collect(),
            span: None,
        }
    }

    fn stored(address: &str, id: &str, depends_on: &[&str]) -> ResourceState {
        ResourceState {
            address: address.into(),
            resource_type: "datadog_monitor".into(),
            provider: "datadog".into(),
            id: id.into(),
            origin: None,
            attrs: json!({"name": address}),
            vendor_modified: None,
            changed_at: "2026-11-24T00:00:00Z".into(),
            sensitive_paths: vec![],
            depends_on: depends_on.iter().map(|s| s.to_string()).collect(),
            configured: BTreeMap::new(),
        }
    }

    /// The executor's jobs come from the executable plan alone: each actionable change with the
    /// unredacted body to send (none for a delete) and the union of the configuration's and
    /// state's dependencies.
    #[test]
    fn jobs_carry_bodies_and_both_dependency_sets() {
        let desired = vec![desired("a", &["b"]), desired("b", &[])];
        let mut state = State::new();
        state.upsert(stored("a", "1", &["b", "gone"]));
        state.upsert(stored("gone", "2", &["b"]));
        let prepared: Vec<PlanDesired> = desired
            .iter()
            .map(|d| PlanDesired {
                address: d.address.clone(),
                resource_type: d.resource_type.clone(),
                provider: d.provider.clone(),
                origin: None,
                normalized: json!({"name": format!("{} v2", d.address)}),
                depends_on: d.depends_on.clone(),
                links: vec![],
            })
            .collect();
        let plan = plan::plan(&PlanRequest {
            desired: &prepared,
            state: &state,
            live: &LiveSet::default(),
            refreshed: false,
            destroy: false,
            targets: &[],
            redactor: &Redactor::default(),
            update_kind: &|_: &str, _: &str| watchkeep_provider::UpdateKind::InPlace,
            created: "now".into(),
            imports: &Default::default(),
        });
        let bodies: BTreeMap<String, Value> = desired
            .iter()
            .map(|d| (d.address.clone(), json!({"name": d.address, "secret": "s3cr3t"})))
            .collect();
        let exec = ExecutablePlan {
            plan,
            bodies,
            depends_on: dependencies(&desired, &BTreeMap::new(), &state),
            links: BTreeMap::new(),
        };
        let jobs: BTreeMap<String, Job> =
            exec.jobs().into_iter().map(|j| (j.change.address.clone(), j)).collect();
        assert_eq!(jobs.keys().collect::<Vec<_>>(), ["a", "b", "gone"]);
        assert_eq!(jobs["a"].change.action, Action::Update);
        assert_eq!(jobs["a"].depends_on, ["b", "gone"]);
        assert_eq!(jobs["a"].attrs, Some(json!({"name": "a", "secret": "s3cr3t"})));
        assert_eq!(jobs["b"].change.action, Action::Create);
        assert!(jobs["b"].depends_on.is_empty());
        assert_eq!(jobs["gone"].change.action, Action::Delete);
        assert_eq!(jobs["gone"].attrs, None);
        assert_eq!(jobs["gone"].depends_on, ["b"]);
        // The plan itself never carries the unredacted body.
        assert!(!serde_json::to_string(&exec.plan).unwrap_or_default().contains("s3cr3t"));
    }
}
