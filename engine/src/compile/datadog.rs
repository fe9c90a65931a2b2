//! `alert` and `baseline` blocks → `datadog_monitor` objects, whose messages carry the routes'
//! @-handles; `dashboard` blocks → `datadog_dashboard`.

use chrono::Duration;
use serde_json::{json, Map, Value};

use super::catalog::{self, CatalogEntry, DatadogCheck, VendorCheck, CORE_METRICS};
use super::expand::{duration_minutes, instances, json_number, matching, number, resolve_base, Instance};
use super::maintenance::{belongs, origin_of, start_of, text, Window};
use super::{error, DesiredObject, UsedRoutes, VendorCompiler};
use crate::config::{Component, Config, Maintenance, Route, Span, Threshold};
use crate::diag::{Diagnostic, Diagnostics};

pub(super) const PROVIDER: &str = "datadog";

/// The Datadog compiler (registered in [`super::COMPILERS`]).
pub(super) struct Datadog;

impl VendorCompiler for Datadog {
    fn vendor(&self) -> &'static str {
        PROVIDER
    }

    fn alarms(&self, cfg: &Config, out: &mut Vec<DesiredObject>, diags: &mut Diagnostics) -> UsedRoutes {
        let mut used = UsedRoutes::new();
        for inst in instances(cfg, self, diags) {
            let comp = inst.component;
            let check = if inst.from_catalog {
                catalog::lookup(inst.metric, &comp.kind, PROVIDER).and_then(catalog_check)
            } else {
                resolve_check(cfg, inst.metric, comp, diags)
            };
            let Some(check) = check else { continue };
            let Some(resolved) = resolve_threshold(&check, &inst.threshold, inst.threshold_span, diags)
            else {
                continue;
            };
            for r in inst.routes.iter().filter(|r| cfg.routes.contains_key(*r)) {
                used.entry(r.clone()).or_default().insert(inst.origin.clone());
            }
            out.push(monitor(cfg, &inst, &check, &resolved));
        }
        used
    }

    /// Nothing: Datadog notifies through the routes' @-handles in each monitor's message
    /// ([`handles`]), not through objects of their own.
    fn routes(&self, _: &Config, _: &UsedRoutes, _: &mut Vec<DesiredObject>, _: &mut Diagnostics) {}

    fn dashboards(&self, cfg: &Config, out: &mut Vec<DesiredObject>) {
        compile_dashboards(cfg, out)
    }

    /// One `datadog_downtime` per Datadog component in scope (or per component and silenced
    /// block), selecting watchkeep's monitors by tags (see `maintenance.rs`).
    fn maintenance(
        &self,
        w: &Window,
        alarms: &[DesiredObject],
        added: &mut Vec<DesiredObject>,
        diags: &mut Diagnostics,
    ) {
        let before = added.len();
        downtimes(w.m, &w.origin, &w.comps, alarms, added);
        if added.len() == before && w.comps.iter().any(|c| c.provider == PROVIDER) {
            diags.push(super::warning(
                format!("`{}` silences no Datadog monitor", w.origin),
                Some(w.m.span.clone()),
                "its alerts have no monitors on the Datadog components in scope",
            ));
        }
    }

    fn no_catalog_rows(&self, origin: &str, comp: &Component) -> Diagnostic {
        super::warning(
            format!(
                "`{origin}`: the catalog has no core metrics for kind `{}` on {}, so `{}` gets no monitors",
                comp.kind, comp.provider, comp.name
            ),
            Some(comp.span.clone()),
            "add `alert` blocks with a user `metric` for this component",
        )
    }
}

/// What to watch, resolved from the catalog or a user `metric` block.
enum Check<'a> {
    Catalog(&'static CatalogEntry, DatadogCheck),
    User { name: &'a str, query: &'a str, unit: &'a str },
}

/// A Datadog catalog row as a [`Check`] (`None` for another vendor's row).
fn catalog_check(e: &'static CatalogEntry) -> Option<Check<'static>> {
    match e.check {
        VendorCheck::Datadog(dd) => Some(Check::Catalog(e, dd)),
        _ => None,
    }
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

/// `dashboard` blocks → one `datadog_dashboard` per block for its Datadog components: a group per
/// component with a timeseries per core metric and a check-status widget for uptime. It is the
/// "dated screenshot of the infrastructure dashboard" an auditor asks for, kept as code.
fn compile_dashboards(cfg: &Config, out: &mut Vec<DesiredObject>) {
    for dash in cfg.dashboards.values() {
        let comps: Vec<&Component> = matching(cfg, dash.scope.as_deref(), &dash.kinds, &[])
            .into_iter()
            .filter(|c| c.provider == PROVIDER)
            .collect();
        if comps.is_empty() {
            continue;
        }
        let mut groups = Vec::new();
        for comp in &comps {
            let scope = scope_of(comp);
            let mut widgets = Vec::new();
            for metric in CORE_METRICS {
                let Some(entry) = catalog::lookup(metric, &comp.kind, PROVIDER) else { continue };
                let VendorCheck::Datadog(check) = entry.check else { continue };
                match check {
                    DatadogCheck::Metric { expr, .. } => widgets.push(json!({"definition": {
                        "type": "timeseries",
                        "title": format!("{} ({})", entry.title, entry.unit.trim()).replace(" ()", ""),
                        "requests": [{"q": expr.replace("{{scope}}", &format!("{{{scope}}}")), "display_type": "line"}],
                    }})),
                    DatadogCheck::NoData { expr } => widgets.push(json!({"definition": {
                        "type": "timeseries",
                        "title": entry.title,
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
        let description = super::expand::dashboard_description(cfg, dash, comps.len());
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

fn resolve_check<'a>(
    cfg: &'a Config,
    metric: &'a str,
    comp: &Component,
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
    // No row: reported once per alert, at its `metric`, by `expand::check_alert_metric`.
    catalog::lookup(metric, &comp.kind, &comp.provider).and_then(catalog_check)
}

fn resolve_threshold(check: &Check, t: &Threshold, span: &Span, diags: &mut Diagnostics) -> Option<Resolved> {
    let defaults = match check {
        Check::Catalog(e, _) => Some(e.defaults),
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

/// `120` → `2h`: the largest unit Datadog's recurrence `duration` takes that divides it.
pub(super) fn dd_duration(minutes: u64) -> String {
    for (unit, per) in [('w', 10080), ('d', 1440), ('h', 60)] {
        if minutes.is_multiple_of(per) {
            return format!("{}{unit}", minutes / per);
        }
    }
    format!("{minutes}m")
}

fn dd_schedule(m: &Maintenance) -> Value {
    let start = start_of(m);
    match (&m.recurrence, m.timezone.as_str()) {
        (None, "UTC") => {
            let end = start + Duration::minutes(m.minutes as i64);
            json!({
                "start": format!("{}Z", start.format("%Y-%m-%dT%H:%M:%S")),
                "end": format!("{}Z", end.format("%Y-%m-%dT%H:%M:%S")),
            })
        }
        (rule, tz) => json!({
            "recurrences": [{
                "rrule": rule.as_ref().map(|(text, _)| text.trim().trim_start_matches("RRULE:").to_string())
                    .unwrap_or_else(|| "FREQ=DAILY;COUNT=1".to_string()),
                "duration": dd_duration(m.minutes),
                "start": start.format("%Y-%m-%dT%H:%M").to_string(),
            }],
            "timezone": tz,
        }),
    }
}

fn downtimes(
    m: &Maintenance,
    origin: &str,
    comps: &[&Component],
    out: &[DesiredObject],
    added: &mut Vec<DesiredObject>,
) {
    for comp in comps.iter().filter(|c| c.provider == PROVIDER) {
        let monitors: Vec<&DesiredObject> = out
            .iter()
            .filter(|o| o.resource_type == "datadog_monitor")
            .filter(|o| origin_of(o).is_some_and(|org| belongs(&o.address, org, &comp.name)))
            .collect();
        let mut targets: Vec<(String, Vec<String>)> = Vec::new();
        if m.alerts.is_empty() {
            if !monitors.is_empty() {
                targets.push((
                    format!("{origin}[\"{}\"]", comp.name),
                    vec![tag("component", &comp.name), watchkeep_provider::OWNER_TAG.to_string()],
                ));
            }
        } else {
            for o in &m.alerts {
                if monitors.iter().any(|mon| origin_of(mon) == Some(o.as_str())) {
                    targets.push((
                        format!("{origin}[\"{}\"].{o}", comp.name),
                        vec![tag("component", &comp.name), tag("watchkeep-origin", o)],
                    ));
                }
            }
        }
        for (address, tags) in targets {
            let mut attrs = json!({
                "scope": "*",
                "monitor_identifier": { "monitor_tags": tags },
                "schedule": dd_schedule(m),
                "message": text(m, origin),
            });
            if m.timezone != "UTC" {
                attrs["display_timezone"] = json!(m.timezone);
            }
            added.push(DesiredObject {
                address,
                resource_type: "datadog_downtime".into(),
                provider: PROVIDER.into(),
                origin: Some(origin.to_string()),
                attrs,
                depends_on: Vec::new(),
                span: Some(m.span.clone()),
            });
        }
    }
}

fn monitor(cfg: &Config, inst: &Instance, check: &Check, r: &Resolved) -> DesiredObject {
    let comp = inst.component;
    let scope = scope_of(comp);
    let op = if r.above { ">" } else { "<" };
    let (metric_name, title, unit) = match check {
        Check::Catalog(e, _) => (e.metric, e.title, e.unit),
        Check::User { name, unit, .. } => (*name, *name, *unit),
    };

    let mut options = Map::new();
    let mut thresholds = Map::new();
    let (monitor_type, query) = match check {
        Check::Catalog(_, DatadogCheck::ServiceCheck { check, group_by }) => {
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
        Check::Catalog(_, DatadogCheck::NoData { expr }) => {
            // Alerts only when the metric stops: `< 0` never holds for the metrics these rows
            // use (utilisation, uptime seconds). `no_data_timeframe` (minutes) is the `for`
            // duration; the evaluation window is the same, so a recovery shows as soon as data
            // returns. Datadog requires a critical threshold matching the query's (the stand-in
            // enforces it, tests/src/datadog/normalize.rs `check_and_fill_thresholds`).
            thresholds.insert("critical".into(), json!(0));
            options.insert("notify_no_data".into(), json!(true));
            options.insert("no_data_timeframe".into(), json!(r.minutes.max(2)));
            let expr = expr.replace("{{scope}}", &format!("{{{scope}}}"));
            ("query alert", format!("avg({}):{expr} < 0", window(r.minutes)))
        }
        Check::Catalog(_, DatadogCheck::Metric { aggregation, expr, notify_no_data }) => {
            thresholds.insert("critical".into(), json_number(r.critical));
            if let Some(w) = r.warning {
                thresholds.insert("warning".into(), json_number(w));
            }
            if *notify_no_data {
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
    let no_data = matches!(check, Check::Catalog(_, DatadogCheck::NoData { .. }));
    let name = if monitor_type == "service check" {
        format!("{}: host not reporting for {}", comp.name, r.for_duration)
    } else if no_data {
        format!("{}: {title} not reporting for {}", comp.name, r.for_duration)
    } else {
        format!("{}: {title} {direction} {}{unit} for {}", comp.name, number(r.critical), r.for_duration)
    };

    let mut msg = String::new();
    if no_data {
        msg.push_str(&format!(
            "{{{{#is_alert}}}}{} has not reported {title} for {}.{{{{/is_alert}}}}\n",
            comp.name, r.for_duration
        ));
    } else if monitor_type == "service check" {
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
    msg.push_str(&super::expand::component_lines(cfg, comp));
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
