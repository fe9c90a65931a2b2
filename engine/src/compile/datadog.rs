//! `alert` and `baseline` blocks → `datadog_monitor` objects.

use serde_json::{json, Map, Value};

use super::catalog::{self, CatalogEntry, DatadogCheck, CORE_METRICS};
use super::{duration_minutes, error, resolve_base, warning, Defaults, DesiredObject};
use crate::config::{Component, Config, Route, Span, Threshold};
use crate::diag::Diagnostics;

/// What to watch, resolved from the catalog or a user `metric` block.
enum Check<'a> {
    Catalog(&'static CatalogEntry),
    User { name: &'a str, query: &'a str, unit: &'a str },
}

/// Thresholds after defaults are applied.
struct Resolved {
    above: bool,
    critical: f64,
    warning: Option<f64>,
    for_duration: String,
    minutes: u64,
    severity: String,
}

struct Instance<'a> {
    address: String,
    origin: String,
    component: &'a Component,
    routes: &'a [String],
    runbook: Option<&'a str>,
    extra_message: Option<&'a str>,
    span: &'a Span,
}

pub(super) fn compile_alerts(cfg: &Config, out: &mut Vec<DesiredObject>, diags: &mut Diagnostics) {
    for alert in cfg.alerts.values() {
        let origin = format!("alert.{}", alert.name);
        let targets = matching(cfg, alert.scope.as_deref(), &alert.kinds, &alert.components);
        if targets.is_empty() {
            diags.push(warning(
                format!("`{origin}` matches no component"),
                Some(alert.span.clone()),
                "check its scope, kinds and components",
            ));
        }
        for comp in targets {
            if !supported_provider(comp, diags) {
                continue;
            }
            let Some(check) = resolve_check(cfg, &alert.metric, comp, &alert.span, diags) else { continue };
            let Some(resolved) = resolve_threshold(&check, &alert.threshold, &alert.span, diags) else {
                continue;
            };
            let inst = Instance {
                address: format!("{origin}[\"{}\"]", comp.name),
                origin: origin.clone(),
                component: comp,
                routes: &alert.routes,
                runbook: alert.runbook.as_deref(),
                extra_message: alert.message.as_deref(),
                span: &alert.span,
            };
            out.push(monitor(cfg, &inst, &check, &resolved));
        }
    }
}

pub(super) fn compile_baselines(cfg: &Config, out: &mut Vec<DesiredObject>, diags: &mut Diagnostics) {
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
        if targets.is_empty() {
            diags.push(warning(
                format!("`{origin}` matches no component"),
                Some(base.span.clone()),
                "check its scope and kinds",
            ));
        }
        for comp in targets {
            if !supported_provider(comp, diags) {
                continue;
            }
            let mut covered = 0;
            for metric in CORE_METRICS {
                let ov = base.overrides.get(*metric);
                if ov.and_then(|o| o.enabled) == Some(false) {
                    continue;
                }
                let Some(entry) = catalog::lookup(metric, &comp.kind, &comp.provider) else { continue };
                covered += 1;
                let check = Check::Catalog(entry);
                let threshold = ov.map(|o| o.threshold.clone()).unwrap_or_default();
                let span = ov.map(|o| &o.span).unwrap_or(&base.span);
                let Some(resolved) = resolve_threshold(&check, &threshold, span, diags) else { continue };
                let inst = Instance {
                    address: format!("{origin}[\"{}\"].{metric}", comp.name),
                    origin: origin.clone(),
                    component: comp,
                    routes: &base.routes,
                    runbook: base.runbook.as_deref(),
                    extra_message: None,
                    span: &base.span,
                };
                out.push(monitor(cfg, &inst, &check, &resolved));
            }
            if covered == 0 {
                diags.push(warning(
                    format!(
                        "`{origin}`: the catalog has no core metrics for kind `{}` on {} yet, so `{}` gets no monitors",
                        comp.kind, comp.provider, comp.name
                    ),
                    Some(comp.span.clone()),
                    "add `alert` blocks with a user `metric` for this component",
                ));
            }
        }
    }
}

/// `dashboard` blocks → one `datadog_dashboard` per block for its Datadog components: a group per
/// component with a timeseries per core metric and a check-status widget for uptime. It is the
/// "dated screenshot of the infrastructure dashboard" an auditor asks for, kept as code.
pub(super) fn compile_dashboards(cfg: &Config, out: &mut Vec<DesiredObject>) {
    for dash in cfg.dashboards.values() {
        let comps: Vec<&Component> = matching(cfg, dash.scope.as_deref(), &dash.kinds, &[])
            .into_iter()
            .filter(|c| c.provider == "datadog")
            .collect();
        if comps.is_empty() {
            continue;
        }
        let mut groups = Vec::new();
        for comp in &comps {
            let scope = scope_of(comp);
            let mut widgets = Vec::new();
            for metric in CORE_METRICS {
                let Some(entry) = catalog::lookup(metric, &comp.kind, "datadog") else { continue };
                match entry.datadog {
                    DatadogCheck::Metric { expr, .. } => widgets.push(json!({"definition": {
                        "type": "timeseries",
                        "title": format!("{} ({})", entry.title, entry.unit.trim()).replace(" ()", ""),
                        "requests": [{"q": expr.replace("{{scope}}", &format!("{{{scope}}}")), "display_type": "line"}],
                    }})),
                    DatadogCheck::ServiceCheck { check, .. } => widgets.push(json!({"definition": {
                        "type": "check_status",
                        "title": entry.title,
                        "check": check,
                        "grouping": "check",
                        "tags": comp.identifier.iter().map(|(k, v)| format!("{k}:{v}")).collect::<Vec<_>>(),
                    }})),
                }
            }
            if widgets.is_empty() {
                continue;
            }
            let mut title = format!("{} ({}", comp.name, comp.kind);
            if let Some(env) = &comp.environment {
                title.push_str(&format!(", {env}"));
            }
            title.push(')');
            groups.push(json!({"definition": {"type": "group", "title": title, "layout_type": "ordered", "widgets": widgets}}));
        }
        let description = super::dashboard_description(cfg, dash, comps.len());
        out.push(DesiredObject {
            address: format!("dashboard.{}.datadog", dash.name),
            resource_type: "datadog_dashboard".into(),
            provider: "datadog".into(),
            origin: Some(format!("dashboard.{}", dash.name)),
            attrs: json!({
                "title": dash.title.clone().unwrap_or_else(|| dash.name.clone()),
                "description": description,
                "layout_type": "ordered",
                "widgets": groups,
            }),
            depends_on: Vec::new(),
            span: Some(dash.span.clone()),
        });
    }
}

pub(super) fn matching<'a>(
    cfg: &'a Config,
    scope: Option<&str>,
    kinds: &[String],
    components: &[String],
) -> Vec<&'a Component> {
    cfg.components
        .values()
        .filter(|c| scope.is_none() || c.inventory.as_deref() == scope)
        .filter(|c| kinds.is_empty() || kinds.contains(&c.kind))
        .filter(|c| components.is_empty() || components.contains(&c.name))
        .collect()
}

/// Whether this compiler handles the component: Datadog ones yes; other vendors' compilers take
/// theirs; a vendor no compiler handles yet is an error (once per component).
fn supported_provider(comp: &Component, diags: &mut Diagnostics) -> bool {
    if comp.provider == "datadog" {
        return true;
    }
    if super::COMPILED_PROVIDERS.contains(&comp.provider.as_str()) {
        return false;
    }
    let msg = format!(
        "component `{}` uses provider `{}`, which this version cannot compile alerts for yet",
        comp.name, comp.provider
    );
    if !diags.0.iter().any(|d| d.summary == msg) {
        diags.push(error(
            msg,
            Some(comp.span.clone()),
            format!("use one of: {}", super::COMPILED_PROVIDERS.join(", ")),
        ));
    }
    false
}

fn resolve_check<'a>(
    cfg: &'a Config,
    metric: &'a str,
    comp: &Component,
    span: &Span,
    diags: &mut Diagnostics,
) -> Option<Check<'a>> {
    if let Some(user) = cfg.metrics.get(metric) {
        return match &user.datadog_query {
            Some(q) => {
                Some(Check::User { name: &user.name, query: q, unit: user.unit.as_deref().unwrap_or("") })
            }
            None => {
                diags.push(error(
                    format!("metric `{metric}` has no `datadog` query, but `{}` is on Datadog", comp.name),
                    Some(user.span.clone()),
                    "add `datadog { query = \"avg:my.metric{$scope}\" }` to the metric block",
                ));
                None
            }
        };
    }
    match catalog::lookup(metric, &comp.kind, &comp.provider) {
        Some(e) => Some(Check::Catalog(e)),
        None => {
            let known = catalog::metrics_for(&comp.kind, &comp.provider);
            diags.push(error(
                format!("no metric `{metric}` for kind `{}` on {}", comp.kind, comp.provider),
                Some(span.clone()),
                if known.is_empty() {
                    "declare it with a `metric` block".to_string()
                } else {
                    format!("catalog metrics here are {}; or declare a `metric` block", known.join(", "))
                },
            ));
            None
        }
    }
}

fn resolve_threshold(check: &Check, t: &Threshold, span: &Span, diags: &mut Diagnostics) -> Option<Resolved> {
    let defaults = match check {
        Check::Catalog(e) => Some(Defaults {
            above: e.above,
            critical: e.critical,
            warning: e.warning,
            for_duration: e.for_duration,
            severity: e.severity,
        }),
        Check::User { .. } => None,
    };
    let base = resolve_base(defaults, t, span, diags)?;
    let Some(minutes) = duration_minutes(&base.for_duration) else {
        diags.push(error(
            format!("`for = \"{}\"` is not a whole number of minutes", base.for_duration),
            Some(span.clone()),
            "Datadog evaluates whole minutes: use a duration such as \"5m\", \"1h\" or \"120s\"",
        ));
        return None;
    };
    Some(Resolved {
        above: base.above,
        critical: base.critical,
        warning: base.warning,
        for_duration: base.for_duration,
        minutes,
        severity: base.severity,
    })
}

pub(super) fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

pub(super) fn json_number(v: f64) -> Value {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        json!(v as i64)
    } else {
        json!(v)
    }
}

/// `host:web-1,env:prod` from `identifier = { host = "web-1", env = "prod" }`.
fn scope_of(comp: &Component) -> String {
    if comp.identifier.is_empty() {
        return format!("host:{}", comp.name);
    }
    comp.identifier.iter().map(|(k, v)| format!("{k}:{v}")).collect::<Vec<_>>().join(",")
}

fn window(minutes: u64) -> String {
    if minutes.is_multiple_of(60 * 24) {
        format!("last_{}d", minutes / (60 * 24))
    } else if minutes.is_multiple_of(60) {
        format!("last_{}h", minutes / 60)
    } else {
        format!("last_{minutes}m")
    }
}

/// Notification handles for the routes, in route order, deduplicated.
fn handles(cfg: &Config, routes: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for name in routes {
        let Some(route) = cfg.routes.get(name) else { continue };
        for h in route_handles(route) {
            if !out.contains(&h) {
                out.push(h);
            }
        }
    }
    out
}

pub(crate) fn route_handles(route: &Route) -> Vec<String> {
    let mut out = Vec::new();
    for p in &route.pagerduty {
        out.push(format!("@pagerduty-{}", p.service.as_deref().unwrap_or(&route.name)));
    }
    for s in &route.slack {
        let channel = s.channel.trim_start_matches('#');
        match &s.account {
            Some(acct) => out.push(format!("@slack-{acct}-{channel}")),
            None => out.push(format!("@slack-{channel}")),
        }
    }
    for e in &route.email {
        for to in &e.to {
            out.push(format!("@{to}"));
        }
    }
    for w in &route.webhook {
        out.push(format!("@webhook-{}", w.name.as_deref().unwrap_or(&route.name)));
    }
    out
}

/// Datadog tag values: lowercase, `[a-z0-9_\-:./]`.
pub(super) fn tag(key: &str, value: &str) -> String {
    let v: String = value
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_alphanumeric() || "_-:./".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{key}:{v}")
}

fn priority(severity: &str) -> i64 {
    match severity {
        "critical" => 1,
        "high" => 2,
        "medium" | "warning" => 3,
        "low" => 4,
        _ => 5,
    }
}

fn monitor(cfg: &Config, inst: &Instance, check: &Check, r: &Resolved) -> DesiredObject {
    let comp = inst.component;
    let scope = scope_of(comp);
    let op = if r.above { ">" } else { "<" };
    let (metric_name, title, unit) = match check {
        Check::Catalog(e) => (e.metric, e.title, e.unit),
        Check::User { name, unit, .. } => (*name, *name, *unit),
    };

    let mut options = Map::new();
    let mut thresholds = Map::new();
    let (monitor_type, query) = match check {
        Check::Catalog(CatalogEntry { datadog: DatadogCheck::ServiceCheck { check, group_by }, .. }) => {
            let over = comp.identifier.iter().map(|(k, v)| format!("\"{k}:{v}\"")).collect::<Vec<_>>();
            let over = if over.is_empty() { format!("\"host:{}\"", comp.name) } else { over.join(",") };
            let runs = r.minutes.max(1);
            thresholds.insert("critical".into(), json!(runs));
            thresholds.insert("ok".into(), json!(1));
            options.insert("notify_no_data".into(), json!(true));
            options.insert("no_data_timeframe".into(), json!((runs * 2).max(2)));
            (
                "service check",
                format!("\"{check}\".over({over}).by(\"{group_by}\").last({}).count_by_status()", runs + 1),
            )
        }
        Check::Catalog(e @ CatalogEntry { datadog: DatadogCheck::Metric { aggregation, expr }, .. }) => {
            thresholds.insert("critical".into(), json_number(r.critical));
            if let Some(w) = r.warning {
                thresholds.insert("warning".into(), json_number(w));
            }
            if e.notify_no_data {
                options.insert("notify_no_data".into(), json!(true));
            }
            let expr = expr.replace("{{scope}}", &format!("{{{scope}}}"));
            (
                "query alert",
                format!("{aggregation}({}):{expr} {op} {}", window(r.minutes), number(r.critical)),
            )
        }
        Check::User { query, .. } => {
            thresholds.insert("critical".into(), json_number(r.critical));
            if let Some(w) = r.warning {
                thresholds.insert("warning".into(), json_number(w));
            }
            let q = query.replace("$scope", &scope);
            ("query alert", format!("avg({}):{q} {op} {}", window(r.minutes), number(r.critical)))
        }
    };
    options.insert("thresholds".into(), Value::Object(thresholds));
    options.insert("include_tags".into(), json!(true));
    options.insert("require_full_window".into(), json!(false));

    let direction = if r.above { "above" } else { "below" };
    let name = if monitor_type == "service check" {
        format!("{}: host not reporting for {}", comp.name, r.for_duration)
    } else {
        format!("{}: {title} {direction} {}{unit} for {}", comp.name, number(r.critical), r.for_duration)
    };

    let mut msg = String::new();
    if monitor_type == "service check" {
        msg.push_str(&format!(
            "{{{{#is_alert}}}}{} has not reported for {}.{{{{/is_alert}}}}\n",
            comp.name, r.for_duration
        ));
    } else {
        msg.push_str(&format!(
            "{{{{#is_alert}}}}{title} on {} is {direction} {}{unit} for {}.{{{{/is_alert}}}}\n",
            comp.name,
            number(r.critical),
            r.for_duration
        ));
        if let Some(w) = r.warning {
            msg.push_str(&format!(
                "{{{{#is_warning}}}}{title} on {} is {direction} {}{unit}.{{{{/is_warning}}}}\n",
                comp.name,
                number(w)
            ));
        }
    }
    msg.push_str(&format!("{{{{#is_recovery}}}}{} has recovered.{{{{/is_recovery}}}}\n", comp.name));
    if let Some(extra) = inst.extra_message {
        msg.push('\n');
        msg.push_str(extra.trim());
        msg.push('\n');
    }
    msg.push('\n');
    msg.push_str(&format!("Severity: {}\n", r.severity));
    if let Some(rb) = inst.runbook {
        msg.push_str(&format!("Runbook: {rb}\n"));
    }
    msg.push_str(&super::component_lines(cfg, comp));
    msg.push_str(&format!("Managed by watchkeep as {}\n", inst.address));
    let hs = handles(cfg, inst.routes);
    if !hs.is_empty() {
        msg.push('\n');
        msg.push_str(&hs.join(" "));
    }

    let mut tags = vec![
        tag("component", &comp.name),
        tag("kind", &comp.kind),
        tag("metric", metric_name),
        tag("severity", &r.severity),
        tag("watchkeep-origin", &inst.origin),
    ];
    if let Some(env) = &comp.environment {
        tags.push(tag("env", env));
    }
    for (k, v) in &comp.tags {
        tags.push(tag(k, v));
    }

    let attrs = json!({
        "name": name,
        "type": monitor_type,
        "query": query,
        "message": msg,
        "tags": tags,
        "priority": priority(&r.severity),
        "options": Value::Object(options),
    });
    DesiredObject {
        address: inst.address.clone(),
        resource_type: "datadog_monitor".into(),
        provider: "datadog".into(),
        origin: Some(inst.origin.clone()),
        attrs,
        depends_on: Vec::new(),
        span: Some(inst.span.clone()),
    }
}
