//! Vendor-neutral expansion shared by every vendor compiler: which components a block matches,
//! the instances (block × component × metric) an `alert` or `baseline` asks for, thresholds after
//! catalog defaults, durations, numbers as names print them, and the text every vendor object
//! carries (component lines, dashboard descriptions). Block-level checks that do not depend on a
//! vendor (a block that matches nothing, an override naming no catalog metric, a component on a
//! vendor no compiler handles) run here once, before the vendor compilers.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::catalog::{self, Defaults};
use super::{error, warning, VendorCompiler, COMPILED_PROVIDERS};
use crate::config::{Alert, Component, Config, Dashboard, Span, Threshold};
use crate::diag::{Diagnostic, Diagnostics};

/// Components in `scope` (an inventory), of one of `kinds`, named in `components` (empty: any).
pub(crate) fn matching<'a>(
    cfg: &'a Config,
    scope: Option<&str>,
    kinds: &[String],
    components: &[String],
) -> Vec<&'a Component> {
    cfg.components.values().filter(|c| selects(c, scope, kinds, components)).collect()
}

/// Whether a block with this `scope` (an inventory), `kinds` and `components` (empty: any)
/// applies to `comp`: the one rule of [`matching`], for callers that look at one component.
pub(crate) fn selects(
    comp: &Component,
    scope: Option<&str>,
    kinds: &[String],
    components: &[String],
) -> bool {
    (scope.is_none() || comp.inventory.as_deref() == scope)
        && (kinds.is_empty() || kinds.contains(&comp.kind))
        && (components.is_empty() || components.contains(&comp.name))
}

/// The checks of `alert` and `baseline` blocks no vendor is needed for, in block order: an
/// override that names no catalog metric, a block that matches no component, and a component on
/// a vendor no compiler handles (once per component).
pub(crate) fn check_blocks(cfg: &Config, diags: &mut Diagnostics) {
    for alert in cfg.alerts.values() {
        let targets = matching(cfg, alert.scope.as_deref(), &alert.kinds, &alert.components);
        if targets.is_empty() {
            diags.push(warning(
                format!("`alert.{}` matches no component", alert.name),
                Some(alert.span.clone()),
                "check its scope, kinds and components",
            ));
        }
        check_alert_metric(cfg, alert, &targets, diags);
        targets.into_iter().for_each(|c| check_compiled(c, diags));
    }
    for base in cfg.baselines.values() {
        let origin = format!("baseline.{}", base.name);
        for (metric, ov) in &base.overrides {
            let known = catalog::all_metric_names();
            if !known.contains(&metric.as_str()) {
                diags.push(error(
                    format!("`override \"{metric}\"` in `{origin}` names no catalog metric"),
                    Some(ov.span.clone()),
                    format!("catalog metrics are {}", known.join(", ")),
                ));
            }
        }
        let targets = matching(cfg, base.scope.as_deref(), &base.kinds, &[]);
        check_override_directions(&origin, base, &targets, diags);
        if targets.is_empty() {
            diags.push(warning(
                format!("`{origin}` matches no component"),
                Some(base.span.clone()),
                "check its scope and kinds",
            ));
        }
        targets.into_iter().for_each(|c| check_compiled(c, diags));
    }
}

/// An override's `above`/`below` means one direction in one unit (`above = 90`: a percentage);
/// where the catalog watches that metric of a kind the other way (a database's disk is free
/// storage in bytes, alerting below), the override's thresholds are not applied to those
/// components (see [`override_threshold`]), and this says so once per kind and vendor.
fn check_override_directions(
    origin: &str,
    base: &crate::config::Baseline,
    targets: &[&Component],
    diags: &mut Diagnostics,
) {
    for (metric, ov) in &base.overrides {
        let Some(above) = written_direction(&ov.threshold) else { continue };
        let mut cells: BTreeMap<(&str, &str), Vec<&str>> = BTreeMap::new();
        for c in targets {
            if let Some(row) = catalog::lookup(metric, &c.kind, &c.provider) {
                if row.defaults.above != above {
                    cells.entry((c.kind.as_str(), c.provider.as_str())).or_default().push(&c.name);
                }
            }
        }
        for ((kind, vendor), names) in cells {
            let Some(row) = catalog::lookup(metric, kind, vendor) else { continue };
            let (way, other) = if row.defaults.above { ("above", "below") } else { ("below", "above") };
            diags.push(warning(
                format!(
                    "`override \"{metric}\"` in `{origin}` sets `{other}`, but for {kind} components on {vendor} the catalog's {metric} is {} ({}), watched {way} a threshold: its thresholds are not applied to {}",
                    row.title,
                    row.unit.trim(),
                    names.join(", ")
                ),
                Some(ov.span.clone()),
                format!(
                    "they keep the catalog default ({way} {}{}); to change it, write an `alert` with `kinds = [\"{kind}\"]` and `metric = \"{metric}\"`",
                    row.defaults.critical,
                    row.unit
                ),
            ));
        }
    }
}

/// `Some(true)` when a threshold writes `above`, `Some(false)` for `below`.
fn written_direction(t: &Threshold) -> Option<bool> {
    match (t.above, t.below) {
        (Some(_), None) => Some(true),
        (None, Some(_)) => Some(false),
        _ => None,
    }
}

/// The part of a baseline override that applies to a catalog row: all of it, unless it sets the
/// opposite direction to the row's (then only `for` and `severity`, which mean the same for every
/// row; [`check_override_directions`] warns).
fn override_threshold(t: &Threshold, row: Option<&catalog::CatalogEntry>) -> Threshold {
    match (written_direction(t), row) {
        (Some(above), Some(row)) if above != row.defaults.above => Threshold {
            above: None,
            below: None,
            warning: None,
            for_duration: t.for_duration.clone(),
            severity: t.severity.clone(),
        },
        _ => t.clone(),
    }
}

/// An alert's `metric` that is neither a user `metric` block nor a catalog row for every
/// (kind, vendor) of the components it matches: ONE error per alert, at the `metric` value, with
/// the closest names ("did you mean `cpu`?") and the metrics the catalog has for the kinds in
/// scope. The vendor compilers skip those components silently (no copy per component).
fn check_alert_metric(cfg: &Config, alert: &Alert, targets: &[&Component], diags: &mut Diagnostics) {
    let metric = alert.metric.as_str();
    if cfg.metrics.contains_key(metric) {
        return;
    }
    let compiled: Vec<&Component> =
        targets.iter().copied().filter(|c| COMPILED_PROVIDERS.contains(&c.provider.as_str())).collect();
    // (kind, vendor) cells without a row, in first-seen order, with their components.
    let mut cells: Vec<(&str, &str, Vec<&str>)> = Vec::new();
    for c in &compiled {
        if catalog::lookup(metric, &c.kind, &c.provider).is_some() {
            continue;
        }
        match cells.iter_mut().find(|(k, v, _)| *k == c.kind && *v == c.provider) {
            Some(cell) => cell.2.push(&c.name),
            None => cells.push((&c.kind, &c.provider, vec![&c.name])),
        }
    }
    if cells.is_empty() {
        return;
    }
    // What the catalog has for the kinds in scope (over their vendors), kind by kind.
    let mut kinds: Vec<&str> = Vec::new();
    for c in &compiled {
        if !kinds.contains(&c.kind.as_str()) {
            kinds.push(&c.kind);
        }
    }
    kinds.sort_by_key(|k| catalog::CATALOG_KINDS.iter().position(|c| c == k).unwrap_or(usize::MAX));
    let known_for = |kind: &str| -> Vec<&'static str> {
        let mut out: Vec<&'static str> = Vec::new();
        for c in compiled.iter().filter(|c| c.kind == kind) {
            for m in catalog::metrics_for(kind, &c.provider) {
                if !out.contains(&m) {
                    out.push(m);
                }
            }
        }
        // Core metrics first, in their order, then the others as the catalog lists them.
        let order = catalog::all_metric_names();
        out.sort_by_key(|m| order.iter().position(|o| o == m));
        out
    };
    let known: Vec<String> = kinds
        .iter()
        .map(|k| {
            let ms = known_for(k);
            format!(
                "{k}: {}",
                if ms.is_empty() { "none (user metrics only)".to_string() } else { ms.join(", ") }
            )
        })
        .collect();
    let user: Vec<&str> = cfg.metrics.keys().map(String::as_str).collect();
    let origin = format!("alert.{}", alert.name);
    let components = |names: &[&str]| {
        let mut v: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
        if v.len() > 5 {
            let more = v.len() - 5;
            v.truncate(5);
            v.push(format!("{more} more"));
        }
        v.join(", ")
    };
    let all = catalog::all_metric_names();
    let diag = if !all.contains(&metric) {
        let mut hint = String::new();
        let candidates: Vec<&str> = all.iter().copied().chain(user.iter().copied()).collect();
        if let Some(s) = crate::config::suggest::closest(metric, candidates) {
            hint.push_str(&format!("did you mean `{s}`? "));
        }
        hint.push_str(&format!("catalog metrics for the kinds in scope: {}", known.join("; ")));
        if !user.is_empty() {
            hint.push_str(&format!("; user metrics: {}", user.join(", ")));
        }
        hint.push_str("; or declare a `metric` block and write metric = metric.<name>");
        error(format!("unknown metric `{metric}` in `{origin}`"), Some(alert.metric_span.clone()), hint)
    } else {
        // A catalog metric some kinds in scope lack (or for which it does not apply).
        let mut lines = Vec::new();
        for (kind, vendor, names) in &cells {
            let why = match catalog::applicability(metric, kind, vendor) {
                catalog::Applicability::NotApplicable(reason) => format!(": not applicable ({reason})"),
                _ => String::new(),
            };
            lines.push(format!("kind `{kind}` on {vendor} ({}){why}", components(names)));
        }
        Diagnostic {
            detail: Some(format!("no catalog row for: {}", lines.join("; "))),
            ..error(
                format!(
                    "no metric `{metric}` for {} in `{origin}`",
                    cells.iter().map(|(k, v, _)| format!("kind `{k}` on {v}")).collect::<Vec<_>>().join(", ")
                ),
                Some(alert.metric_span.clone()),
                format!(
                    "catalog metrics for the kinds in scope: {}; narrow `kinds`/`components`, or declare a `metric` block",
                    known.join("; ")
                ),
            )
        }
    };
    diags.push(diag);
}

/// A component on a vendor no compiler handles yet is an error (once per component).
fn check_compiled(comp: &Component, diags: &mut Diagnostics) {
    if COMPILED_PROVIDERS.contains(&comp.provider.as_str()) {
        return;
    }
    let msg = format!(
        "component `{}` uses provider `{}`, which this version cannot compile alerts for yet",
        comp.name, comp.provider
    );
    if !diags.0.iter().any(|d| d.summary == msg) {
        diags.push(error(
            msg,
            Some(comp.span.clone()),
            format!("use one of: {}", COMPILED_PROVIDERS.join(", ")),
        ));
    }
}

/// A threshold as names and messages print it: `85`, `2.5`.
pub(crate) fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// A threshold as vendor bodies carry it: an integer when it is one.
pub(crate) fn json_number(v: f64) -> Value {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        json!(v as i64)
    } else {
        json!(v)
    }
}

/// The `Component: …` and `Inventory: …` lines every vendor object's text carries, so a
/// responder (and an auditor) sees what the alert covers and when its scope was reviewed.
pub(crate) fn component_lines(cfg: &Config, comp: &Component) -> String {
    let mut who = vec![format!("kind {}", comp.kind)];
    if let Some(env) = &comp.environment {
        who.push(format!("environment {env}"));
    }
    if let Some(owner) = &comp.owner {
        who.push(format!("owner {owner}"));
    }
    let mut out = format!("Component: {} ({})\n", comp.name, who.join(", "));
    if let Some(inv) = comp.inventory.as_ref().and_then(|i| cfg.inventories.get(i)) {
        out.push_str(&format!("Inventory: {}", inv.name));
        if let Some(d) = &inv.reviewed_on {
            out.push_str(&format!(", reviewed {d}"));
        }
        if let Some(by) = &inv.reviewed_by {
            out.push_str(&format!(" by {by}"));
        }
        out.push('\n');
    }
    out
}

/// The line a dashboard opens with: how many components it shows and, when its scope is an
/// inventory, that inventory's last review (`… of inventory prod (reviewed 2026-10-01 by sam).`).
pub(crate) fn dashboard_description(cfg: &Config, dash: &Dashboard, components: usize) -> String {
    let mut out = format!("Monitoring dashboard for {components} components");
    if let Some(inv) = dash.scope.as_ref().and_then(|i| cfg.inventories.get(i)) {
        out.push_str(&format!(" of inventory {}", inv.name));
        if let Some(d) = &inv.reviewed_on {
            out.push_str(&format!(" (reviewed {d}"));
            if let Some(by) = &inv.reviewed_by {
                out.push_str(&format!(" by {by}"));
            }
            out.push(')');
        }
    }
    out.push('.');
    out
}

/// Thresholds after defaults are applied (vendor-neutral; each vendor checks the duration).
#[derive(Debug, Clone)]
pub(crate) struct Base {
    pub above: bool,
    pub critical: f64,
    pub warning: Option<f64>,
    pub for_duration: String,
    pub severity: String,
}

/// Applies catalog defaults to what a block wrote and checks the thresholds agree.
pub(crate) fn resolve_base(
    defaults: Option<Defaults>,
    t: &Threshold,
    span: &Span,
    diags: &mut Diagnostics,
) -> Option<Base> {
    let (above, critical) = match (t.above, t.below, defaults) {
        (Some(_), Some(_), _) => {
            diags.push(error("both `above` and `below` are set", Some(span.clone()), "keep only one"));
            return None;
        }
        (Some(v), None, _) => (true, v),
        (None, Some(v), _) => (false, v),
        (None, None, Some(e)) => (e.above, e.critical),
        (None, None, None) => {
            diags.push(error(
                "a user metric needs a threshold",
                Some(span.clone()),
                "set `above = …` or `below = …`",
            ));
            return None;
        }
    };
    let explicit = t.above.is_some() || t.below.is_some();
    let warning_value = t.warning.or(if explicit { None } else { defaults.and_then(|e| e.warning) });
    if let Some(w) = warning_value {
        let ok = if above { w < critical } else { w > critical };
        if !ok {
            diags.push(error(
                format!("warning threshold {w} is not before the critical threshold {critical}"),
                Some(span.clone()),
                if above {
                    "with `above`, warning must be lower"
                } else {
                    "with `below`, warning must be higher"
                },
            ));
            return None;
        }
    }
    let for_duration = t
        .for_duration
        .clone()
        .unwrap_or_else(|| defaults.map(|e| e.for_duration).unwrap_or("5m").to_string());
    let severity =
        t.severity.clone().unwrap_or_else(|| defaults.map(|e| e.severity).unwrap_or("high").to_string());
    Some(Base { above, critical, warning: warning_value, for_duration, severity })
}

/// Parses `10s`, `5m`, `2h`, `1d` into seconds.
pub fn duration_seconds(text: &str) -> Option<u64> {
    let (num, unit) = text.split_at(text.len().checked_sub(1)?);
    let n: u64 = num.parse().ok()?;
    let secs = match unit {
        "s" => n,
        "m" => n.checked_mul(60)?,
        "h" => n.checked_mul(3600)?,
        "d" => n.checked_mul(86_400)?,
        _ => return None,
    };
    (secs > 0).then_some(secs)
}

/// Parses `30s`, `5m`, `2h`, `1d` into minutes (Datadog evaluates whole minutes).
pub(crate) fn duration_minutes(text: &str) -> Option<u64> {
    let (num, unit) = text.split_at(text.len().checked_sub(1)?);
    let n: u64 = num.parse().ok()?;
    let minutes = match unit {
        "s" if n.is_multiple_of(60) => n / 60,
        "m" => n,
        "h" => n * 60,
        "d" => n * 60 * 24,
        _ => return None,
    };
    (minutes > 0).then_some(minutes)
}

/// One object an `alert` or `baseline` block asks for on one component: what each vendor
/// compiler turns into a monitor, an alarm or a condition.
#[derive(Clone)]
pub(crate) struct Instance<'a> {
    /// `alert.x["web-1"]` or `baseline.y["web-1"].cpu`.
    pub address: String,
    /// `alert.x` or `baseline.y`.
    pub origin: String,
    pub component: &'a Component,
    /// The alert's `metric`, or the catalog metric of a baseline row.
    pub metric: &'a str,
    /// A baseline row: `metric` is a catalog metric, never a user `metric` block.
    pub from_catalog: bool,
    /// The alert's threshold, or the baseline's override of this metric (default if none).
    pub threshold: Threshold,
    /// Where that threshold is written (the override, else the block).
    pub threshold_span: &'a Span,
    pub routes: &'a [String],
    pub runbook: Option<&'a str>,
    pub extra_message: Option<&'a str>,
    /// The block.
    pub span: &'a Span,
}

/// `alert` and `baseline` blocks expanded for the components monitored by `compiler`'s vendor:
/// per alert, one instance per matching component; per baseline, one per catalog metric of the
/// component's kind on that vendor that no override disables. A component whose kind has no
/// catalog metrics there gets the compiler's [`VendorCompiler::no_catalog_rows`] warning.
pub(crate) fn instances<'a>(
    cfg: &'a Config,
    compiler: &dyn VendorCompiler,
    diags: &mut Diagnostics,
) -> Vec<Instance<'a>> {
    let provider = compiler.vendor();
    let mut out = Vec::new();
    let on_provider = |comps: Vec<&'a Component>| comps.into_iter().filter(move |c| c.provider == provider);
    for alert in cfg.alerts.values() {
        let origin = format!("alert.{}", alert.name);
        for comp in on_provider(matching(cfg, alert.scope.as_deref(), &alert.kinds, &alert.components)) {
            out.push(Instance {
                address: format!("{origin}[\"{}\"]", comp.name),
                origin: origin.clone(),
                component: comp,
                metric: &alert.metric,
                from_catalog: false,
                threshold: alert.threshold.clone(),
                threshold_span: &alert.span,
                routes: &alert.routes,
                runbook: alert.runbook.as_deref(),
                extra_message: alert.message.as_deref(),
                span: &alert.span,
            });
        }
    }
    for base in cfg.baselines.values() {
        let origin = format!("baseline.{}", base.name);
        for comp in on_provider(matching(cfg, base.scope.as_deref(), &base.kinds, &[])) {
            let metrics = catalog::metrics_for(&comp.kind, provider);
            if metrics.is_empty() {
                diags.push(compiler.no_catalog_rows(&origin, comp));
                continue;
            }
            for metric in metrics {
                let ov = base.overrides.get(metric);
                if ov.and_then(|o| o.enabled) == Some(false) {
                    continue;
                }
                out.push(Instance {
                    address: format!("{origin}[\"{}\"].{metric}", comp.name),
                    origin: origin.clone(),
                    component: comp,
                    metric,
                    from_catalog: true,
                    threshold: ov
                        .map(|o| {
                            override_threshold(&o.threshold, catalog::lookup(metric, &comp.kind, provider))
                        })
                        .unwrap_or_default(),
                    threshold_span: ov.map(|o| &o.span).unwrap_or(&base.span),
                    routes: &base.routes,
                    runbook: base.runbook.as_deref(),
                    extra_message: None,
                    span: &base.span,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{load, LoadOptions};
    use crate::diag::Severity;

    /// One component of every catalog kind on every vendor (identifiers as each row needs).
    const EVERY_CELL: &str = r#"
provider "datadog" {}
provider "cloudwatch" { region = "us-east-1" }
provider "newrelic" { account_id = 1 }
component "dd-web" {
  kind     = "server"
  provider = "datadog"
}
component "dd-db" {
  kind       = "database"
  provider   = "datadog"
  identifier = { dbinstanceidentifier = "orders" }
}
component "dd-app" {
  kind       = "container"
  provider   = "datadog"
  identifier = { container_name = "app" }
}
component "dd-lb" {
  kind       = "cloud_service"
  provider   = "datadog"
  identifier = { loadbalancer = "app/edge/1" }
}
component "cw-web" {
  kind       = "server"
  provider   = "cloudwatch"
  identifier = { InstanceId = "i-1" }
}
component "cw-db" {
  kind       = "database"
  provider   = "cloudwatch"
  identifier = { DBInstanceIdentifier = "orders" }
}
component "cw-app" {
  kind       = "container"
  provider   = "cloudwatch"
  identifier = { ClusterName = "prod", ServiceName = "app" }
}
component "cw-lb" {
  kind       = "cloud_service"
  provider   = "cloudwatch"
  identifier = { LoadBalancer = "app/edge/1", TargetGroup = "targetgroup/web/1" }
}
component "nr-web" {
  kind     = "server"
  provider = "newrelic"
}
component "nr-db" {
  kind       = "database"
  provider   = "newrelic"
  identifier = { displayName = "orders" }
}
component "nr-app" {
  kind       = "container"
  provider   = "newrelic"
  identifier = { containerName = "app" }
}
component "nr-lb" {
  kind       = "cloud_service"
  provider   = "newrelic"
  identifier = { "provider.loadBalancerName" = "edge" }
}
"#;

    fn compile_src(src: &str) -> Result<(Vec<super::super::DesiredObject>, Diagnostics), Diagnostics> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("main.hcl"), src).unwrap();
        let (cfg, _) = load(&LoadOptions::new(dir.path())).unwrap_or_else(|d| panic!("{d:?}"));
        super::super::compile_with_warnings(&cfg)
    }

    #[test]
    fn an_unknown_alert_metric_is_one_error_at_the_attribute_with_the_closest_name() {
        let src = format!("{EVERY_CELL}alert \"typo\" {{\n  metric = \"memroy\"\n  above  = 1\n}}\n");
        let diags = compile_src(&src).expect_err("an unknown metric must not compile");
        let errors: Vec<_> = diags.0.iter().filter(|d| d.severity == Severity::Error).collect();
        // One error for the 12 components it matches, not one per component or vendor.
        assert_eq!(errors.len(), 1, "{errors:#?}");
        let e = errors[0];
        assert_eq!(e.summary, "unknown metric `memroy` in `alert.typo`");
        // At the attribute's value (`"memroy"`), not the block header.
        let line = src.lines().position(|l| l.contains("\"memroy\"")).unwrap() + 1;
        let span = e.span.as_ref().unwrap();
        assert_eq!((span.line, span.col), (line, 12), "{span:?}");
        assert_eq!(&src[span.start..span.end], "\"memroy\"");
        let hint = e.hint.as_deref().unwrap();
        assert!(hint.starts_with("did you mean `memory`?"), "{hint}");
        for kind in [
            "server: cpu, memory, disk, network, uptime",
            "database: cpu, memory, disk, network, uptime, connections",
            "container: cpu, memory, disk, network, uptime",
            "cloud_service: network, uptime, errors, latency",
        ] {
            assert!(hint.contains(kind), "{kind} not in {hint}");
        }
    }

    #[test]
    fn an_override_in_the_other_direction_keeps_the_catalog_default_and_says_so() {
        let src = format!(
            "{EVERY_CELL}baseline \"soc2\" {{\n  override \"disk\" {{\n    above = 80\n    for   = \"20m\"\n  }}\n}}\n"
        );
        let (objects, diags) = compile_src(&src).expect("compiles");
        let warnings: Vec<_> = diags.0.iter().filter(|d| d.severity == Severity::Warning).collect();
        // Databases watch free storage below a threshold on every vendor: one warning per vendor.
        let db: Vec<_> = warnings.iter().filter(|w| w.summary.contains("for database components")).collect();
        assert_eq!(db.len(), 3, "{warnings:#?}");
        assert!(db.iter().any(|w| w.summary.ends_with("not applied to nr-db")), "{db:#?}");
        let body = |addr: &str| {
            objects
                .iter()
                .find(|o| o.address == addr)
                .map(|o| o.attrs.to_string())
                .unwrap_or_else(|| panic!("{addr}"))
        };
        // The server's disk takes the override; the database's keeps 10 GiB free storage, but
        // takes the override's `for` (it means the same for every row).
        assert!(
            body("baseline.soc2[\"cw-web\"].disk").contains("\"Threshold\":80"),
            "{}",
            body("baseline.soc2[\"cw-web\"].disk")
        );
        let db_alarm = body("baseline.soc2[\"cw-db\"].disk");
        assert!(
            db_alarm.contains("\"Threshold\":10737418240") && db_alarm.contains("LessThanThreshold"),
            "{db_alarm}"
        );
        assert!(
            db_alarm.contains("bytes for 20m") && db_alarm.contains("\"EvaluationPeriods\":4"),
            "{db_alarm}"
        );
    }

    #[test]
    fn a_catalog_metric_that_does_not_apply_to_a_kind_says_why_once() {
        let src = format!(
            "{EVERY_CELL}alert \"lb_disk\" {{\n  kinds  = [\"cloud_service\"]\n  metric = \"disk\"\n  above  = 1\n}}\n"
        );
        let diags = compile_src(&src).expect_err("disk does not apply to load balancers");
        let errors: Vec<_> = diags.0.iter().filter(|d| d.severity == Severity::Error).collect();
        assert_eq!(errors.len(), 1, "{errors:#?}");
        let e = errors[0];
        assert_eq!(
            e.summary,
            "no metric `disk` for kind `cloud_service` on cloudwatch, kind `cloud_service` on datadog, kind `cloud_service` on newrelic in `alert.lb_disk`"
        );
        let detail = e.detail.as_deref().unwrap();
        assert!(
            detail.contains("`cw-lb`") && detail.contains("not applicable (a managed load balancer"),
            "{detail}"
        );
    }

    #[test]
    fn a_baseline_on_every_cell_compiles_the_five_core_metrics_or_their_not_applicable() {
        let src = format!("{EVERY_CELL}baseline \"soc2\" {{}}\n");
        let (objects, warnings) = compile_src(&src).unwrap_or_else(|d| panic!("{d:?}"));
        assert!(warnings.0.is_empty(), "{warnings:?}");
        for vendor in crate::vendors::names() {
            for kind in catalog::CATALOG_KINDS {
                let prefix = match *vendor {
                    "datadog" => "dd",
                    "cloudwatch" => "cw",
                    _ => "nr",
                };
                let name = match *kind {
                    "server" => "web",
                    "database" => "db",
                    "container" => "app",
                    _ => "lb",
                };
                for metric in catalog::CORE_METRICS {
                    let address = format!("baseline.soc2[\"{prefix}-{name}\"].{metric}");
                    let made = objects.iter().any(|o| o.address == address);
                    let applies = matches!(
                        catalog::applicability(metric, kind, vendor),
                        catalog::Applicability::Row(_)
                    );
                    assert_eq!(made, applies, "{address}");
                }
            }
        }
    }

    #[test]
    fn durations() {
        assert_eq!(duration_minutes("5m"), Some(5));
        assert_eq!(duration_minutes("120s"), Some(2));
        assert_eq!(duration_minutes("90s"), None);
        assert_eq!(duration_minutes("1h"), Some(60));
        assert_eq!(duration_minutes("0m"), None);
        assert_eq!(duration_minutes(""), None);
        assert_eq!(duration_minutes("m"), None);
    }
}
