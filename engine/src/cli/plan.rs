//! `watchkeep plan`.

use std::collections::BTreeMap;
use std::collections::BTreeSet;

use serde_json::Value;

use super::common::{self, CmdResult, Context, Failure};
use super::{Format, PlanArgs, VarArgs, EXIT_CHANGES, EXIT_OK};
use crate::apply::Providers;
use crate::compile::DesiredObject;
use crate::config::Config;
use crate::output;
use crate::plan::{self, Plan, PlanRequest};
use crate::redact::Redactor;
use crate::state::{now_rfc3339, State};

pub struct PlanSpec<'a> {
    pub vars: &'a VarArgs,
    pub refresh: bool,
    pub targets: &'a [String],
    pub destroy: bool,
    pub parallelism: usize,
    /// Keep the attributes to send (apply); a plan alone needs only their normalised form.
    pub for_apply: bool,
}

/// Everything a plan was made from; apply carries it on.
pub struct PlanRun {
    pub cfg: Config,
    pub desired: Vec<DesiredObject>,
    /// Marked, unredacted attributes by address.
    pub marked: BTreeMap<String, Value>,
    pub providers: Providers,
    pub redactor: Redactor,
    pub plan: Plan,
}

/// Compiles, refreshes and plans `cfg` against `state`.
pub async fn make_plan(
    ctx: &Context,
    spec: &PlanSpec<'_>,
    state: &State,
    (cfg, warnings): (Config, crate::diag::Diagnostics),
) -> Result<PlanRun, Failure> {
    let t = common::Phase::start("compile");
    let (desired, compile_warnings) = common::compile_with_warnings(&cfg)?;
    t.done();
    let mut warnings = warnings;
    warnings.0.extend(compile_warnings.0);
    common::print_warnings(ctx, &warnings, &cfg.files);
    let needed: BTreeSet<String> = desired
        .iter()
        .map(|d| d.provider.clone())
        .chain(state.resources.iter().map(|r| r.provider.clone()))
        .collect();
    let providers = common::configure_providers(ctx, Some(&cfg), &needed)?;
    let t = common::Phase::start("prepare");
    let mut desired = desired;
    let (prepared, marked) = common::prepare(&mut desired, &providers, spec.for_apply, state)?;
    t.done();
    let redactor = common::redactor(Some(&cfg), state);
    let t = common::Phase::start("refresh");
    let live = if spec.refresh {
        let types = common::types_in_play(&prepared, state);
        common::refresh(&providers, &types, state, true, spec.parallelism, &redactor).await?
    } else {
        plan::LiveSet::default()
    };
    t.done();
    let t = common::Phase::start("plan");
    let update_kind =
        |rtype: &str, attr: &str| match providers.values().find(|p| p.resource_types().contains(&rtype)) {
            Some(p) => p.update_kind(rtype, attr),
            None => watchkeep_provider::UpdateKind::InPlace,
        };
    let plan = plan::plan(&PlanRequest {
        desired: &prepared,
        state,
        live: &live,
        refreshed: spec.refresh,
        destroy: spec.destroy,
        targets: spec.targets,
        redactor: &redactor,
        update_kind: &update_kind,
        created: now_rfc3339(),
    });
    t.done();
    if spec.refresh {
        check_name_collisions(&plan, &prepared, &providers).await?;
        // The bodies create and update would send: kept for an apply; for a plan, marked again
        // for the objects it changes only (a no-change plan over 10,000 objects keeps none).
        let changed: BTreeSet<&str> = plan
            .changes
            .iter()
            .filter(|c| {
                matches!(c.action, plan::Action::Create | plan::Action::Update | plan::Action::Replace)
            })
            .map(|c| c.address.as_str())
            .collect();
        let again: BTreeMap<String, serde_json::Value> = if marked.is_empty() && !changed.is_empty() {
            common::compile(&cfg)?
                .into_iter()
                .filter(|d| changed.contains(d.address.as_str()))
                .filter_map(|mut d| {
                    let p = providers.get(&d.provider)?;
                    let attrs = std::mem::take(&mut d.attrs);
                    Some((d.address.clone(), common::marked_body(&d, attrs, p.as_ref(), state)))
                })
                .collect()
        } else {
            BTreeMap::new()
        };
        let bodies: BTreeMap<&str, &serde_json::Value> =
            marked.iter().chain(again.iter()).map(|(a, v)| (a.as_str(), v)).collect();
        validate_changed(&plan, &bodies, &providers, &redactor).await?;
    }
    Ok(PlanRun { cfg, desired, marked, providers, redactor, plan })
}

/// Asks the vendor to check every object the plan creates or changes (Datadog:
/// `POST /api/v1/monitor/validate`), so a bad query fails at `plan`, naming the field, before
/// anything is created. Unchanged objects are never sent: validating every monitor on every plan
/// is what Terraform's Datadog provider does, and its users' complaint (datadog #3018). Objects
/// that still name an object to be created (`ref:<address>`) cannot be checked until apply.
async fn validate_changed(
    plan: &Plan,
    bodies: &BTreeMap<&str, &serde_json::Value>,
    providers: &Providers,
    redactor: &crate::redact::Redactor,
) -> Result<(), Failure> {
    use futures::stream::{self, StreamExt};
    let checks: Vec<_> = plan
        .changes
        .iter()
        .filter(|c| matches!(c.action, plan::Action::Create | plan::Action::Update | plan::Action::Replace))
        .filter_map(|c| Some((c, *bodies.get(c.address.as_str())?, providers.get(&c.provider)?)))
        .filter(|(c, body, p)| {
            !(p.engine_resolves_refs(&c.resource_type)
                && body.to_string().contains(crate::plan::links::PREFIX))
        })
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
    Err(Failure::msg(format!(
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
) -> Result<(), Failure> {
    let by_address: BTreeMap<&str, &plan::PlanDesired> =
        prepared.iter().map(|d| (d.address.as_str(), d)).collect();
    let mut wanted: BTreeMap<(String, String), Vec<(String, String)>> = BTreeMap::new();
    for c in plan.changes.iter().filter(|c| c.action == plan::Action::Create && !c.adopt) {
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
        .map_err(|e| Failure::msg(format!("checking {rtype} names failed: {e}")))?;
        let live: BTreeMap<&str, &watchkeep_provider::LiveObject> =
            live.iter().map(|o| (o.id.as_str(), o)).collect();
        for (address, id) in items {
            if let Some(o) = live.get(id.as_str()) {
                let ours = o.owned
                    && o.marker.as_deref() == Some(watchkeep_provider::address_marker(&address).as_str());
                if !ours {
                    let whose = match (&o.owned, &o.marker) {
                        (true, Some(m)) => format!(
                            "it belongs to watchkeep address marker `{m}` (another configuration or state)"
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
    Err(Failure::msg(format!(
        "refusing to plan: {} object(s) would take a name that is already in use, and the vendor would overwrite the existing object:\n{}\nhint: rename them in the configuration, or rename/delete the existing objects (or import them, once `watchkeep import` exists) and plan again",
        problems.len(),
        problems.join("\n")
    )))
}

pub async fn run(ctx: &Context, args: &PlanArgs) -> CmdResult {
    let t = common::Phase::start("load config");
    let loaded = ctx.load(&args.vars)?;
    t.done();
    let backend = ctx.backend(Some(&loaded.0));
    let t = common::Phase::start("load state");
    let state = backend.load()?.unwrap_or_else(State::new);
    common::note_migration(&state);
    t.done();
    let spec = PlanSpec {
        vars: &args.vars,
        refresh: args.refresh,
        targets: &args.targets,
        destroy: args.destroy,
        parallelism: args.parallelism,
        for_apply: false,
    };
    let run = make_plan(ctx, &spec, &state, loaded).await?;
    let t = common::Phase::start("render");
    let format = if args.json { Format::Json } else { args.format.unwrap_or(Format::Human) };
    match format {
        Format::Json => {
            let out =
                output::PlanOutput { plan: run.plan.clone(), stats: common::stats(ctx, &run.providers) };
            common::print_json(&out)?;
        }
        Format::Markdown => print!("{}", output::markdown::plan(&run.plan)),
        Format::Human => print!("{}", output::human::plan(&run.plan)),
    }
    t.done();
    if let Some(out) = &args.out {
        plan::file::save(&run.plan, out)
            .map_err(|e| Failure::msg(format!("cannot write plan file {}: {e}", out.display())))?;
        if format == Format::Human {
            println!(
                "\nSaved the plan to {}. Apply exactly this plan with:\n    watchkeep apply {}",
                out.display(),
                out.display()
            );
        }
    }
    Ok(if args.detailed_exitcode && run.plan.has_changes() { EXIT_CHANGES } else { EXIT_OK })
}
