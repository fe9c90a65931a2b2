//! `watchkeep import`: bulk adoption of existing vendor objects. Lists the chosen types, filters
//! (type, tags, name pattern, ids), sets aside what this state has, refuses what another state
//! owns, writes the rest as raw `resource` blocks (`config::generate`), and applies a plan in
//! which each of them is adopted (`PlanRequest::imports`): the only change allowed is this
//! state's ownership marker, so `plan` right after an import is empty.
//!
//! Order of writes: nothing at all before every check has passed (the generated file is loaded
//! from memory, planned, and each adopted object compared); then the HCL file, then the apply
//! (state entry and marker per object, as every apply; history operation `import`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde_json::Value;
use watchkeep_provider::{owner_id, split_marker, with_retries, LiveObject, RetryPolicy};

use super::apply::{execute, PreparedApply};
use super::plan::{make_plan_with, PlanSpec};
use super::prepare::marked_body;
use super::providers::{self, stats};
use super::report::{ApplyError, ImportOutput, ImportSkip, ImportedObject};
use super::workspace::{lock, note_migration};
use super::{Error, Vars, Workspace};
use crate::compile::DesiredObject;
use crate::config::generate::{self, Candidate};
use crate::plan::{attribute_changes, Action};
use crate::state::State;

/// What `import` is asked for.
#[derive(Debug, Clone, Default)]
pub struct ImportInput {
    pub vars: Vars,
    /// Providers to list (default: every provider the configuration declares).
    pub providers: Vec<String>,
    /// Resource types (default: every type of those providers).
    pub types: Vec<String>,
    /// `key:value` tags the object must all carry.
    pub tags: Vec<String>,
    /// Regular expression the object's name or title must match.
    pub name: Option<String>,
    /// Vendor ids (any of them).
    pub ids: Vec<String>,
    /// The HCL file to write (default `imported.hcl` in the configuration directory).
    pub out: Option<PathBuf>,
    pub dry_run: bool,
    pub parallelism: usize,
}

/// The object's name or title, as people know it.
pub fn title_of(o: &LiveObject) -> String {
    let field = |k: &str| o.attrs.get(k).and_then(Value::as_str).unwrap_or_default();
    if o.resource_type == "sns_subscription" {
        // No name: its topic, protocol and endpoint say what it is.
        let topic = field("TopicArn").rsplit(':').next().unwrap_or_default();
        return format!("{topic} {} {}", field("Protocol"), field("Endpoint"));
    }
    for key in ["name", "title", "AlarmName", "DashboardName", "Name", "TopicName"] {
        if let Some(s) = o.attrs.get(key).and_then(Value::as_str).filter(|s| !s.is_empty()) {
            return s.to_string();
        }
    }
    o.id.rsplit([':', '/']).next().unwrap_or(&o.id).to_string()
}

/// Types whose objects carry tags watchkeep reads (Datadog `tags`; AWS `Tags`); the others match
/// no `--tag` filter.
const TAGGED: &[&str] = &[
    "datadog_monitor",
    "datadog_dashboard",
    "cloudwatch_metric_alarm",
    "cloudwatch_composite_alarm",
    "sns_topic",
];

/// The object's tags as `key:value` strings; `None` when objects of its type carry no tags.
fn tags_of(o: &LiveObject) -> Option<Vec<String>> {
    if let Some(Value::Array(tags)) = o.attrs.get("tags") {
        // Datadog `tags: ["team:ops"]`; New Relic `tags: [{key, values}]`.
        let mut out = Vec::new();
        for t in tags {
            match t {
                Value::String(s) => out.push(s.clone()),
                Value::Object(m) => {
                    let key = m.get("key").and_then(Value::as_str).unwrap_or_default();
                    for v in m.get("values").and_then(Value::as_array).into_iter().flatten() {
                        out.push(format!("{key}:{}", v.as_str().unwrap_or_default()));
                    }
                }
                _ => {}
            }
        }
        return Some(out);
    }
    if let Some(Value::Array(tags)) = o.attrs.get("Tags") {
        // AWS `Tags: [{Key, Value}]`.
        return Some(
            tags.iter()
                .map(|t| {
                    format!(
                        "{}:{}",
                        t.get("Key").and_then(Value::as_str).unwrap_or_default(),
                        t.get("Value").and_then(Value::as_str).unwrap_or_default()
                    )
                })
                .collect(),
        );
    }
    // A type whose API has a tags field, here empty.
    TAGGED.contains(&o.resource_type.as_str()).then(Vec::new)
}

fn skip(o: &LiveObject, reason: impl Into<String>, owner: Option<String>) -> ImportSkip {
    ImportSkip {
        resource_type: o.resource_type.clone(),
        id: o.id.clone(),
        name: title_of(o),
        reason: reason.into(),
        owner,
    }
}

/// `watchkeep import`.
pub async fn import(ws: &Workspace, input: &ImportInput) -> Result<ImportOutput, Error> {
    let (cfg, _) = ws.load(&input.vars)?;
    let out_path = input.out.clone().map(|p| if p.is_absolute() { p } else { ws.dir.join(p) });
    let out_path = out_path.unwrap_or_else(|| ws.dir.join("imported.hcl"));
    let file_name = match (out_path.parent(), out_path.file_name().and_then(|f| f.to_str())) {
        (Some(parent), Some(f))
            if f.ends_with(".hcl")
                && std::fs::canonicalize(parent).ok() == std::fs::canonicalize(&ws.dir).ok() =>
        {
            f.to_string()
        }
        _ => {
            return Err(Error::msg(format!(
                "--out {} must be a *.hcl file in the configuration directory {}\nhint: the imported blocks must be part of the configuration for the next plan to keep them",
                out_path.display(),
                ws.dir.display()
            )))
        }
    };
    if out_path.exists() {
        return Err(Error::msg(format!(
            "{} already exists; import never overwrites a file\nhint: pass --out with a new file name (in the configuration directory), or move the file away",
            out_path.display()
        )));
    }
    let regex = match &input.name {
        Some(r) => Some(
            regex::Regex::new(r)
                .map_err(|e| Error::msg(format!("--name `{r}` is not a valid regular expression: {e}")))?,
        ),
        None => None,
    };
    let mut tag_filter = Vec::new();
    for t in &input.tags {
        if !t.contains(':') {
            return Err(Error::msg(format!("--tag `{t}` must be written key:value (e.g. team:ops)")));
        }
        tag_filter.push(t.to_lowercase());
    }

    let backend = ws.backend(Some(&cfg));
    // Held from before the listing until the apply is recorded; a dry run takes none (it writes nothing).
    let held = if input.dry_run { None } else { Some(lock(&backend, "import")?) };
    let state = backend.load()?.unwrap_or_else(State::new);
    note_migration(&state);
    let me = owner_id(&state.lineage);

    let names: BTreeSet<String> = if input.providers.is_empty() {
        cfg.providers.keys().cloned().collect()
    } else {
        input.providers.iter().cloned().collect()
    };
    if names.is_empty() {
        return Err(Error::msg(
            "the configuration declares no provider to import from\nhint: add a `provider \"datadog\" { … }` block (or newrelic, cloudwatch), or pass --provider",
        ));
    }
    let providers = providers::configure(ws, Some(&cfg), &names)?;
    let mut types: Vec<(String, String)> = Vec::new();
    for (name, p) in &providers {
        for t in p.resource_types() {
            if input.types.is_empty() || input.types.iter().any(|x| x == t) {
                types.push((name.clone(), t.to_string()));
            }
        }
    }
    for t in &input.types {
        if !types.iter().any(|(_, x)| x == t) {
            let all: Vec<&str> =
                providers.values().flat_map(|p| p.resource_types().iter().copied()).collect();
            return Err(Error::msg(format!(
                "--type `{t}` is not a resource type of the providers imported from ({})\nhint: types: {}",
                names.iter().cloned().collect::<Vec<_>>().join(", "),
                all.join(", ")
            )));
        }
    }

    // List and filter.
    let policy = RetryPolicy::default();
    let mut listed: Vec<LiveObject> = Vec::new();
    for (prov, t) in &types {
        let p = &providers[prov];
        let objs = with_retries(&policy, || p.list(t, false))
            .await
            .map_err(|e| Error::msg(format!("listing {t} failed: {e}")))?;
        listed.extend(objs);
    }
    let mut notes = Vec::new();
    let selected: Vec<LiveObject> = listed
        .into_iter()
        .filter(|o| input.ids.is_empty() || input.ids.iter().any(|i| i == &o.id))
        .filter(|o| regex.as_ref().is_none_or(|r| r.is_match(&title_of(o))))
        .filter(|o| {
            if tag_filter.is_empty() {
                return true;
            }
            match tags_of(o) {
                Some(tags) => {
                    let tags: Vec<String> = tags.iter().map(|t| t.to_lowercase()).collect();
                    tag_filter.iter().all(|f| tags.contains(f))
                }
                None => false,
            }
        })
        .collect();
    if !tag_filter.is_empty() {
        for (_, t) in types.iter().filter(|(_, t)| !TAGGED.contains(&t.as_str())) {
            notes.push(format!(
                "{t} objects carry no tags watchkeep reads: --tag matches none of them (filter them by --name or --id)"
            ));
        }
    }

    // Classify.
    let tracked: BTreeMap<(&str, &str), &str> = state
        .resources
        .iter()
        .map(|r| ((r.resource_type.as_str(), r.id.as_str()), r.address.as_str()))
        .collect();
    let mut skipped = Vec::new();
    let mut refused = Vec::new();
    let mut candidates: Vec<(Candidate, LiveObject, Option<String>)> = Vec::new();
    for o in selected {
        if let Some(address) = tracked.get(&(o.resource_type.as_str(), o.id.as_str())) {
            skipped.push(skip(&o, format!("already in this state as {address}"), None));
            continue;
        }
        let mut note = None;
        if let (true, Some(m)) = (o.owned, o.marker.as_deref()) {
            match split_marker(m) {
                (Some(owner), address) if owner != me => {
                    refused.push(skip(
                        &o,
                        format!(
                            "owned by another watchkeep state (owner id {owner}, address `{address}`); it is never imported or changed here\nhint: import it from that state's workspace, or run `watchkeep state rm` for it there first"
                        ),
                        Some(owner.to_string()),
                    ));
                    continue;
                }
                (Some(_), address) => {
                    skipped.push(skip(
                        &o,
                        format!("carries this state's marker for `{address}` but is missing from state (an apply did not finish): the next `watchkeep apply` adopts it"),
                        None,
                    ));
                    continue;
                }
                (None, address) => {
                    note = Some(format!(
                        "carried a watchkeep marker from before ownership per state (`{address}`); it now carries this state's"
                    ));
                }
            }
        }
        let p = provider_for(&providers, &o.resource_type)?;
        let mut attrs = o.attrs.clone();
        p.unmark(&o.resource_type, &mut attrs);
        let c = Candidate {
            resource_type: o.resource_type.clone(),
            id: o.id.clone(),
            title: title_of(&o),
            attrs,
        };
        candidates.push((c, o, note));
    }

    let taken: BTreeSet<String> =
        cfg.addresses.keys().cloned().chain(state.resources.iter().map(|r| r.address.clone())).collect();
    let mut excluded: BTreeMap<(String, String), String> = BTreeMap::new();
    // Lifting: objects that are exactly what an `alert` block of this configuration compiles to.
    let mut lifted: BTreeMap<(String, String), Lifted> = BTreeMap::new();
    let mut lifted_names = BTreeSet::new();
    for (c, _, _) in &candidates {
        let p = provider_for(&providers, &c.resource_type)?;
        if let Some(l) = lift(ws, &input.vars, &cfg, c, p.as_ref(), &taken, &lifted_names) {
            lifted_names.insert(l.name.clone());
            lifted.insert((c.resource_type.clone(), c.id.clone()), l);
        }
    }
    // Generate, load from memory, plan, and check; objects that do not come back equal are set
    // aside and the rest generated again (links to them then stay literal ids).
    let (generated, planned, imports) = loop {
        let current: Vec<Candidate> = candidates
            .iter()
            .filter(|(c, _, _)| !excluded.contains_key(&(c.resource_type.clone(), c.id.clone())))
            .filter(|(c, _, _)| !lifted.contains_key(&(c.resource_type.clone(), c.id.clone())))
            .map(|(c, _, _)| c.clone())
            .collect();
        let mut generated = generate::generate(&current, &taken);
        for (key, l) in lifted.iter().filter(|(k, _)| !excluded.contains_key(k)) {
            generated.text.push_str(&format!(
                "\n# {} id {}, lifted: what this block compiles to\n{}",
                key.0, key.1, l.block
            ));
            generated.addresses.insert(key.clone(), l.address.clone());
        }
        for (c, why) in &generated.unrepresentable {
            excluded
                .insert((c.resource_type.clone(), c.id.clone()), format!("cannot be written as HCL: {why}"));
        }
        let text = if generated.addresses.is_empty() {
            generated.text.clone()
        } else {
            crate::config::format_source(&generated.text, &out_path)
                .map_err(|d| Error::Diagnostics(d, Vec::new()))?
        };
        let generated = generate::Generated { text, ..generated };
        if generated.addresses.is_empty() {
            break (generated, None, BTreeMap::new());
        }
        let imports: BTreeMap<String, LiveObject> = candidates
            .iter()
            .filter_map(|(_, o, _)| {
                let a = generated.addresses.get(&(o.resource_type.clone(), o.id.clone()))?;
                Some((a.clone(), o.clone()))
            })
            .collect();
        let loaded = ws.load_with(&input.vars, vec![(file_name.clone(), generated.text.clone())])?;
        let targets: Vec<String> = imports.keys().cloned().collect();
        let spec = PlanSpec {
            refresh: true,
            targets: &targets,
            destroy: false,
            parallelism: input.parallelism,
            for_apply: !input.dry_run,
        };
        let planned = make_plan_with(ws, &spec, &state, loaded, &imports).await?;
        // Each imported object's only difference may be the ownership marker: the live object,
        // marked as the desired one is, must normalise equal to what the configuration now says.
        let mut differing = BTreeMap::new();
        let mut planned = planned;
        let mut forced = 0u32;
        for c in planned.exec.plan.changes.iter_mut() {
            let Some(o) = imports.get(&c.address) else { continue };
            let p = provider_for(&planned.providers, &c.resource_type)?;
            let d = DesiredObject {
                address: c.address.clone(),
                resource_type: c.resource_type.clone(),
                provider: c.provider.clone(),
                origin: None,
                attrs: Value::Null,
                depends_on: Vec::new(),
                span: None,
            };
            let (marked, _) = marked_body(&d, o.attrs.clone(), p.as_ref(), &me, &|_| false);
            let expected = p.normalize(&c.resource_type, &marked);
            let problem = match (c.adopt, c.action) {
                // The planner found nothing to change: the configuration reads as the vendor's object.
                (true, Action::NoOp) => {
                    let mut unmarked = o.attrs.clone();
                    p.unmark(&c.resource_type, &mut unmarked);
                    if marked != unmarked {
                        // The provider's normaliser ignores its marker (SNS topic tags): the plan
                        // sees no change, but the object must still be marked as this state's.
                        c.action = Action::Update;
                        c.before = Some(o.attrs.clone());
                        c.after = Some(expected);
                        forced += 1;
                    }
                    None
                }
                (true, Action::Update) => {
                    let after = c.after.clone().unwrap_or(Value::Null);
                    let diffs: Vec<String> = attribute_changes(&expected, &after, &|_| false)
                        .into_iter()
                        .map(|a| a.path)
                        .collect();
                    (!diffs.is_empty()).then(|| {
                        format!(
                            "reads back different from the vendor after a round trip through HCL (at {})",
                            diffs.join(", ")
                        )
                    })
                }
                _ => Some(format!("the plan would have it {} instead of adopted", c.action.verb())),
            };
            if let Some(why) = problem {
                differing.insert((o.resource_type.clone(), o.id.clone()), why);
            }
        }
        planned.exec.plan.summary.no_op -= forced;
        planned.exec.plan.summary.update += forced;
        if differing.is_empty() {
            break (generated, Some(planned), imports);
        }
        let before = excluded.len();
        excluded.extend(differing);
        if excluded.len() == before {
            return Err(Error::msg(
                "import could not settle which objects round-trip through HCL; nothing was written",
            ));
        }
    };
    for (c, o, _) in &candidates {
        if let Some(why) = excluded.get(&(c.resource_type.clone(), c.id.clone())) {
            skipped.push(skip(o, why.clone(), None));
        }
    }
    let imported: Vec<ImportedObject> = candidates
        .iter()
        .filter_map(|(c, o, note)| {
            let address = generated.addresses.get(&(c.resource_type.clone(), c.id.clone()))?;
            Some(ImportedObject {
                address: address.clone(),
                resource_type: o.resource_type.clone(),
                id: o.id.clone(),
                name: c.title.clone(),
                note: note.clone(),
            })
        })
        .collect();
    let summary = planned.as_ref().map(|p| p.exec.plan.summary.clone()).unwrap_or_default();
    let file = out_path.display().to_string();
    let mut output = ImportOutput {
        format_version: 1,
        dry_run: input.dry_run,
        outcome: if imports.is_empty() {
            "nothing-to-import".into()
        } else if input.dry_run {
            "dry-run".into()
        } else {
            "imported".into()
        },
        file,
        hcl: if imports.is_empty() { String::new() } else { generated.text.clone() },
        imported,
        skipped,
        refused,
        plan: summary,
        errors: Vec::new(),
        history_version: None,
        notes,
        stats: stats(ws, &providers),
    };
    let (Some(planned), Some(lock)) = (planned, held) else {
        return Ok(output);
    };
    // Every check passed: write the file (never over an existing one), then apply.
    write_new(&out_path, &generated.text)?;
    let prepared = PreparedApply::for_import(lock, state, planned, input.parallelism.max(1));
    let report = execute(ws, prepared).await?;
    output.history_version = report.output.history_version;
    output.stats = report.output.stats.clone();
    if report.partial() {
        output.outcome = "partial".into();
        output.errors = report
            .output
            .errors
            .iter()
            .map(|e| ApplyError { address: e.address.clone(), message: e.message.clone() })
            .collect();
    }
    Ok(output)
}

/// The configured provider that manages `resource_type`.
fn provider_for<'a>(
    providers: &'a crate::apply::Providers,
    resource_type: &str,
) -> Result<&'a std::sync::Arc<dyn watchkeep_provider::Provider>, Error> {
    crate::vendors::provider_of(resource_type).and_then(|name| providers.get(name)).ok_or_else(|| {
        Error::msg(format!("no configured provider manages `{resource_type}` (a bug: please report it)"))
    })
}

/// An object written as the high-level block that compiles to it.
struct Lifted {
    /// The block's name (`alert "<name>"`).
    name: String,
    /// The address the block compiles the object to (`alert.cpu_high["web-1"]`).
    address: String,
    block: String,
}

/// Whether `c` is exactly what an `alert` block of this configuration would compile to: a
/// monitor watchkeep compiled once (its `watchkeep-origin`, `component`, `metric` and `severity`
/// tags, and the thresholds its message states), for a component declared by a `component`
/// block. The candidate block is compiled with the configuration, and lifted ONLY when the
/// object it compiles to normalises equal to the live one; otherwise the raw resource is written.
fn lift(
    ws: &Workspace,
    vars: &Vars,
    cfg: &crate::config::Config,
    c: &Candidate,
    p: &dyn watchkeep_provider::Provider,
    taken: &BTreeSet<String>,
    lifted_names: &BTreeSet<String>,
) -> Option<Lifted> {
    let hints = match c.resource_type.as_str() {
        "datadog_monitor" => datadog_hints(c)?,
        "cloudwatch_metric_alarm" => cloudwatch_hints(c)?,
        _ => return None,
    };
    let LiftHints { name, component, metrics, severity, direction, critical, warning, window, runbook } =
        hints;
    let component = component.as_str();
    if crate::config::generate::slug_ref(&name).is_none()
        || lifted_names.contains(&name)
        || taken.iter().any(|a| a == &format!("alert.{name}") || a.starts_with(&format!("alert.{name}[")))
        || !cfg.components.contains_key(component)
    {
        return None;
    }
    let metrics: Vec<String> = if metrics.is_empty() {
        // CloudWatch alarms do not name their catalog metric: try the component's.
        let comp = &cfg.components[component];
        crate::compile::catalog::metrics_for(&comp.kind, "cloudwatch")
            .into_iter()
            .map(str::to_string)
            .collect()
    } else {
        metrics
    };
    let component_ref = format!("component.{}", crate::config::generate::slug_ref(component)?);
    let mut routes: Vec<Option<&String>> = vec![None];
    routes.extend(cfg.routes.keys().map(Some));
    let want = p.normalize(&c.resource_type, &c.attrs);
    for (metric, route) in metrics.iter().flat_map(|m| routes.iter().map(move |r| (m, *r))) {
        let mut block = format!(
            "alert \"{name}\" {{\n  components = [{component_ref}]\n  metric     = \"{metric}\"\n  {direction} = {critical}\n"
        );
        if let Some(w) = &warning {
            block.push_str(&format!("  warning = {w}\n"));
        }
        block.push_str(&format!("  for      = \"{window}\"\n  severity = \"{severity}\"\n"));
        if let Some(r) = route {
            block.push_str(&format!("  route    = route.{r}\n"));
        }
        if let Some(rb) = &runbook {
            block.push_str(&format!("  runbook  = {}\n", serde_json::Value::String(rb.clone())));
        }
        block.push_str("}\n");
        let Ok((candidate_cfg, _)) =
            ws.load_with(vars, vec![("watchkeep-import-lift.hcl".into(), block.clone())])
        else {
            continue;
        };
        let Ok(objects) = crate::compile::compile(&candidate_cfg) else { continue };
        let mine: Vec<_> =
            objects.iter().filter(|d| d.origin.as_deref() == Some(&format!("alert.{name}"))).collect();
        if let [d] = mine.as_slice() {
            if d.resource_type == c.resource_type && p.normalize(&d.resource_type, &d.attrs) == want {
                return Some(Lifted { name, address: d.address.clone(), block });
            }
        }
    }
    None
}

/// What a compiled object says about the `alert` block it came from.
struct LiftHints {
    /// The block's name, from its origin `alert.<name>`.
    name: String,
    component: String,
    /// The catalog metric when the object names it; empty: try the component's metrics.
    metrics: Vec<String>,
    severity: String,
    /// `above` or `below`.
    direction: String,
    critical: String,
    warning: Option<String>,
    /// The `for` duration as the compiler wrote it (`10m`).
    window: String,
    runbook: Option<String>,
}

/// A Datadog monitor compiled from an `alert` block carries tags `watchkeep-origin`, `component`,
/// `metric` and `severity`, and states its thresholds in its message (compile/datadog.rs):
/// `{{#is_alert}}CPU usage on web-1 is above 95% for 15m.{{/is_alert}}`.
fn datadog_hints(c: &Candidate) -> Option<LiftHints> {
    let tags: BTreeMap<&str, &str> =
        c.attrs.get("tags")?.as_array()?.iter().filter_map(|t| t.as_str()?.split_once(':')).collect();
    let name = tags.get("watchkeep-origin")?.strip_prefix("alert.")?.to_string();
    let message = c.attrs.get("message")?.as_str()?;
    let crit = regex::Regex::new(
        r"\{\{#is_alert\}\}.* is (above|below) (-?[0-9.]+)\S* for (\w+)\.\{\{/is_alert\}\}",
    )
    .expect("valid regex");
    let caps = crit.captures(message)?;
    let warning =
        regex::Regex::new(r"\{\{#is_warning\}\}.* is (?:above|below) (-?[0-9.]+)\S*\.\{\{/is_warning\}\}")
            .expect("valid regex")
            .captures(message)
            .map(|w| w[1].to_string());
    Some(LiftHints {
        name,
        component: tags.get("component")?.to_string(),
        metrics: vec![tags.get("metric")?.to_string()],
        severity: tags.get("severity")?.to_string(),
        direction: caps[1].to_string(),
        critical: caps[2].to_string(),
        warning,
        window: caps[3].to_string(),
        runbook: message.lines().find_map(|l| l.strip_prefix("Runbook: ")).map(str::to_string),
    })
}

/// A CloudWatch alarm compiled from an `alert` block is named `<component> <title> (alert.<name>)`
/// and its description starts `<title> on <component> is above 90% for 10m.` then `Severity: …`
/// (compile/cloudwatch.rs; DescribeAlarms returns no tags). An alert with a warning compiles to
/// two alarms, which this does not lift (the compiled block must give exactly one object).
fn cloudwatch_hints(c: &Candidate) -> Option<LiftHints> {
    let alarm_name = c.attrs.get("AlarmName")?.as_str()?;
    let name =
        regex::Regex::new(r"\(alert\.([A-Za-z0-9_-]+)\)$").expect("valid regex").captures(alarm_name)?[1]
            .to_string();
    let desc = c.attrs.get("AlarmDescription")?.as_str()?;
    let caps = regex::Regex::new(r"^.* on (.+?) is (above|below) (-?[0-9.]+)\S* for (\w+)\.$")
        .expect("valid regex")
        .captures(desc.lines().next()?)?;
    Some(LiftHints {
        name,
        component: caps[1].to_string(),
        metrics: Vec::new(),
        severity: desc.lines().find_map(|l| l.strip_prefix("Severity: "))?.to_string(),
        direction: caps[2].to_string(),
        critical: caps[3].to_string(),
        warning: None,
        window: caps[4].to_string(),
        runbook: desc.lines().find_map(|l| l.strip_prefix("Runbook: ")).map(str::to_string),
    })
}

/// Creates `path` with `text`; fails when it exists (another process wrote it meanwhile).
fn write_new(path: &std::path::Path, text: &str) -> Result<(), Error> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).open(path).map_err(|e| {
        Error::msg(format!(
            "cannot create {}: {e}\nhint: import never overwrites a file; pass --out with a new name",
            path.display()
        ))
    })?;
    f.write_all(text.as_bytes())
        .and_then(|_| f.sync_all())
        .map_err(|e| Error::msg(format!("cannot write {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn live(t: &str, attrs: Value) -> LiveObject {
        LiveObject {
            id: "arn:aws:sns:us-east-1:1:ops:abc".into(),
            resource_type: t.into(),
            attrs,
            modified: None,
            marker: None,
            owned: false,
        }
    }

    #[test]
    fn names_and_tags_of_each_vendor() {
        assert_eq!(title_of(&live("datadog_monitor", json!({"name": "CPU"}))), "CPU");
        assert_eq!(title_of(&live("cloudwatch_metric_alarm", json!({"AlarmName": "cpu"}))), "cpu");
        assert_eq!(
            title_of(&live(
                "sns_subscription",
                json!({"TopicArn": "arn:aws:sns:us-east-1:1:ops", "Protocol": "email", "Endpoint": "a@b.c"})
            )),
            "ops email a@b.c"
        );
        assert_eq!(title_of(&live("newrelic_workflow", json!({}))), "abc");
        assert_eq!(
            tags_of(&live("datadog_monitor", json!({"tags": ["team:ops"]}))),
            Some(vec!["team:ops".into()])
        );
        assert_eq!(tags_of(&live("datadog_monitor", json!({}))), Some(vec![]));
        assert_eq!(
            tags_of(&live("sns_topic", json!({"Tags": [{"Key": "team", "Value": "ops"}]}))),
            Some(vec!["team:ops".into()])
        );
        assert_eq!(tags_of(&live("newrelic_nrql_condition", json!({"name": "x"}))), None);
    }

    #[test]
    fn lifting_reads_what_the_compilers_write() {
        let dd = Candidate {
            resource_type: "datadog_monitor".into(),
            id: "1".into(),
            title: "t".into(),
            attrs: json!({
                "tags": ["component:web-1", "metric:cpu", "severity:high", "watchkeep-origin:alert.cpu_high"],
                "message": "{{#is_alert}}CPU usage on web-1 is above 90% for 10m.{{/is_alert}}\n{{#is_warning}}CPU usage on web-1 is above 80%.{{/is_warning}}\nRunbook: https://x\n",
            }),
        };
        let h = datadog_hints(&dd).expect("hints");
        assert_eq!(
            (h.name.as_str(), h.component.as_str(), h.severity.as_str()),
            ("cpu_high", "web-1", "high")
        );
        assert_eq!((h.direction.as_str(), h.critical.as_str(), h.window.as_str()), ("above", "90", "10m"));
        assert_eq!(h.warning.as_deref(), Some("80"));
        assert_eq!(h.runbook.as_deref(), Some("https://x"));
        // Hand-made monitors carry no origin: never lifted.
        let hand = Candidate { attrs: json!({"tags": ["team:ops"], "message": "x"}), ..dd.clone() };
        assert!(datadog_hints(&hand).is_none());
        let cw = Candidate {
            resource_type: "cloudwatch_metric_alarm".into(),
            id: "a".into(),
            title: "t".into(),
            attrs: json!({
                "AlarmName": "web-1 CPU utilisation (alert.cpu_high)",
                "AlarmDescription": "CPU utilisation on web-1 is below 5% for 15m.\nSeverity: critical\nComponent: web-1",
            }),
        };
        let h = cloudwatch_hints(&cw).expect("hints");
        assert_eq!(
            (h.name.as_str(), h.component.as_str(), h.severity.as_str()),
            ("cpu_high", "web-1", "critical")
        );
        assert_eq!((h.direction.as_str(), h.critical.as_str(), h.window.as_str()), ("below", "5", "15m"));
        assert!(h.metrics.is_empty());
    }
}
