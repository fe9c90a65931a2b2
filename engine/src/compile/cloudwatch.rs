//! `alert`, `baseline`, `route` and `dashboard` blocks → CloudWatch alarms, SNS topics and
//! subscriptions, and CloudWatch dashboards, for components whose provider is `cloudwatch`.
//!
//! * One `cloudwatch_metric_alarm` per alert or baseline metric and component, named
//!   `<component> <title> (<origin>)` — stable under threshold changes, since renaming an alarm
//!   replaces it. A `warning` threshold becomes a second alarm at `<address>.warning`.
//! * `for` becomes `Period × EvaluationPeriods` with `DatapointsToAlarm = EvaluationPeriods`
//!   (every datapoint in the window must breach): 10 s and 30 s are high-resolution periods,
//!   whole minutes use 60 s periods up to 10 minutes and 300 s periods from there (multiples of
//!   5 minutes), and a window longer than a day is refused (AWS caps it).
//! * Each route an alarm uses becomes one SNS topic `watchkeep-<route>` (address
//!   `route.<name>.sns_topic`) with a subscription per target: email addresses as `email`,
//!   PagerDuty through its CloudWatch integration URL (`https://events.pagerduty.com/integration/
//!   <routing_key>/enqueue`), Slack and webhooks through their URLs (`https`/`http`). The topic is
//!   the alarm's `AlarmActions` and `OKActions`, written `sns:<topic name>` because the ARN holds
//!   the account id, which only the provider knows.

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};

use super::catalog::{self, CatalogEntry, CloudWatchCheck, Defaults, VendorCheck};
use super::expand::{
    duration_seconds, instances, json_number, matching, number, resolve_base, Base, Instance,
};
use super::maintenance::Window;
use super::{error, DesiredObject, UsedRoutes, VendorCompiler};
use crate::config::{Component, Config, Route, Span, Threshold};
use crate::diag::{Diagnostic, Diagnostics};

pub(super) const PROVIDER: &str = "cloudwatch";
const ALARM: &str = "cloudwatch_metric_alarm";
const MAX_DESCRIPTION: usize = 900;

/// What one alarm watches, resolved from the catalog or a user `metric` block.
struct Watch {
    metric: String,
    title: String,
    unit: String,
    namespace: String,
    metric_names: Vec<String>,
    statistic: String,
    per_second: bool,
    dimensions: Vec<(String, String)>,
    treat_missing: String,
}

/// The CloudWatch compiler (registered in [`super::COMPILERS`]).
pub(super) struct CloudWatch;

impl VendorCompiler for CloudWatch {
    fn vendor(&self) -> &'static str {
        PROVIDER
    }

    fn alarms(&self, cfg: &Config, out: &mut Vec<DesiredObject>, diags: &mut Diagnostics) -> UsedRoutes {
        let mut used = UsedRoutes::new();
        for inst in instances(cfg, self, diags) {
            let comp = inst.component;
            let resolved = if inst.from_catalog {
                catalog::lookup(inst.metric, &comp.kind, PROVIDER)
                    .and_then(row)
                    .and_then(|(e, c)| Some((catalog_watch(e, c, comp, diags)?, Some(e.defaults))))
            } else {
                resolve_watch(cfg, inst.metric, comp, diags)
            };
            let Some((watch, defaults)) = resolved else { continue };
            emit(cfg, &inst, &watch, defaults, &inst.threshold, inst.threshold_span, out, diags, &mut used);
        }
        used
    }

    /// One SNS topic per used route, with a subscription per target.
    fn routes(&self, cfg: &Config, used: &UsedRoutes, out: &mut Vec<DesiredObject>, diags: &mut Diagnostics) {
        for name in used.keys() {
            if let Some(route) = cfg.routes.get(name) {
                compile_route(route, out, diags);
            }
        }
    }

    fn dashboards(&self, cfg: &Config, out: &mut Vec<DesiredObject>) {
        compile_dashboards(cfg, out)
    }

    /// Nothing to create: the CloudWatch API this project speaks (aws-sdk-cloudwatch 1.99, awsQuery)
    /// has no alarm muting, so the block's CloudWatch components get a warning instead.
    fn maintenance(
        &self,
        w: &Window,
        _: &[DesiredObject],
        _: &mut Vec<DesiredObject>,
        diags: &mut Diagnostics,
    ) {
        let cw: Vec<&str> =
            w.comps.iter().filter(|c| c.provider == PROVIDER).map(|c| c.name.as_str()).collect();
        if !cw.is_empty() {
            diags.push(super::warning(
                format!(
                    "`{}` has no CloudWatch equivalent: {} CloudWatch component(s) ({}) stay unmuted",
                    w.origin,
                    cw.len(),
                    cw.join(", ")
                ),
                Some(w.m.span.clone()),
                "the CloudWatch API watchkeep uses has no scheduled alarm muting (AWS's newer alarm mute rules, \
                 PutAlarmMuteRule, are not supported yet): mute those alarms in the AWS console for the window, \
                 or narrow `scope`/`components` to silence this warning",
            ));
        }
    }

    fn no_catalog_rows(&self, origin: &str, comp: &Component) -> Diagnostic {
        super::warning(
            format!(
                "`{origin}`: the catalog has no metrics for kind `{}` on {PROVIDER}, so `{}` gets no alarms",
                comp.kind, comp.name
            ),
            Some(comp.span.clone()),
            "add `alert` blocks with a user `metric` (cloudwatch { namespace, metric_name, statistic }) for this component",
        )
    }
}

/// A CloudWatch catalog row with its check (`None` for another vendor's row).
fn row(e: &'static CatalogEntry) -> Option<(&'static CatalogEntry, &'static CloudWatchCheck)> {
    match &e.check {
        VendorCheck::CloudWatch(c) => Some((e, c)),
        _ => None,
    }
}

/// The catalog row or user metric an alert names, for one component.
fn resolve_watch(
    cfg: &Config,
    metric: &str,
    comp: &Component,
    diags: &mut Diagnostics,
) -> Option<(Watch, Option<Defaults>)> {
    if let Some(user) = cfg.metrics.get(metric) {
        let Some(Value::Object(block)) = &user.cloudwatch else {
            diags.push(error(
                format!("metric `{metric}` has no `cloudwatch` block, but `{}` is on CloudWatch", comp.name),
                Some(user.span.clone()),
                "add `cloudwatch { namespace = \"AWS/SQS\"  metric_name = \"...\"  statistic = \"Maximum\" }`",
            ));
            return None;
        };
        let text = |k: &str| block.get(k).and_then(Value::as_str).map(str::to_string);
        let (Some(namespace), Some(metric_name)) = (text("namespace"), text("metric_name")) else {
            diags.push(error(
                format!("the `cloudwatch` block of metric `{metric}` needs `namespace` and `metric_name`"),
                Some(user.span.clone()),
                "e.g. cloudwatch { namespace = \"AWS/SQS\"  metric_name = \"ApproximateNumberOfMessagesVisible\" }",
            ));
            return None;
        };
        let statistic = text("statistic").unwrap_or_else(|| "Average".into());
        let dimensions: Vec<(String, String)> = match block.get("dimensions") {
            Some(Value::Object(m)) => m
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())))
                .collect(),
            Some(_) => {
                diags.push(error(
                    format!("`dimensions` of metric `{metric}` must be a map of dimension name to value"),
                    Some(user.span.clone()),
                    "e.g. dimensions = { QueueName = \"orders\" }; omit it to use the component's identifier",
                ));
                return None;
            }
            None => comp.identifier.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        };
        let watch = Watch {
            metric: user.name.clone(),
            title: user.name.clone(),
            unit: user.unit.as_deref().map(|u| format!(" {u}")).unwrap_or_default(),
            namespace,
            metric_names: vec![metric_name],
            statistic,
            per_second: false,
            dimensions,
            treat_missing: text("treat_missing_data").unwrap_or_else(|| "missing".into()),
        };
        return Some((watch, None));
    }
    match catalog::lookup(metric, &comp.kind, PROVIDER).and_then(row) {
        Some((e, c)) => catalog_watch(e, c, comp, diags).map(|w| (w, Some(e.defaults))),
        // Reported once per alert, at its `metric`, by `expand::check_alert_metric`.
        None => None,
    }
}

fn catalog_watch(
    e: &CatalogEntry,
    c: &CloudWatchCheck,
    comp: &Component,
    diags: &mut Diagnostics,
) -> Option<Watch> {
    let first = c.dimensions[0];
    let Some(v) = comp.identifier.get(first) else {
        let msg = format!(
            "component `{}` ({} on cloudwatch) needs `{first}` in its identifier",
            comp.name, comp.kind
        );
        if !diags.0.iter().any(|d| d.summary == msg) {
            diags.push(error(
                msg,
                Some(comp.span.clone()),
                format!("write identifier = {{ {first} = \"...\" }} (CloudWatch dimension {first})"),
            ));
        }
        return None;
    };
    let missing: Vec<&str> = c.dimensions[1..c.required.max(1)]
        .iter()
        .copied()
        .filter(|d| !comp.identifier.contains_key(*d))
        .collect();
    if !missing.is_empty() {
        let msg = format!(
            "component `{}` ({} on cloudwatch) has no {} in its identifier, so it gets no `{}` alarm ({} is published per {} only)",
            comp.name,
            comp.kind,
            missing.iter().map(|d| format!("`{d}`")).collect::<Vec<_>>().join(", "),
            e.metric,
            c.metric_names.join(" + "),
            c.dimensions[..c.required].join(" and "),
        );
        if !diags.0.iter().any(|d| d.summary == msg) {
            diags.push(super::warning(
                msg,
                Some(comp.span.clone()),
                format!(
                    "add {} to the identifier (CloudWatch dimensions), or disable the metric with override \"{}\" {{ enabled = false }}",
                    missing.iter().map(|d| format!("{d} = \"...\"")).collect::<Vec<_>>().join(", "),
                    e.metric
                ),
            ));
        }
        return None;
    }
    let mut dimensions = vec![(first.to_string(), v.clone())];
    for d in &c.dimensions[1..] {
        if let Some(v) = comp.identifier.get(*d) {
            dimensions.push((d.to_string(), v.clone()));
        }
    }
    Some(Watch {
        metric: e.metric.into(),
        title: e.title.into(),
        unit: e.unit.into(),
        namespace: c.namespace.into(),
        metric_names: c.metric_names.iter().map(|s| s.to_string()).collect(),
        statistic: c.statistic.into(),
        per_second: c.per_second,
        dimensions,
        treat_missing: c.treat_missing.into(),
    })
}

/// `Period` and `EvaluationPeriods` for a duration in seconds.
pub(crate) fn periods(secs: u64) -> Result<(u64, u64), String> {
    if secs == 10 || secs == 30 {
        return Ok((secs, 1));
    }
    if secs < 60 || !secs.is_multiple_of(60) {
        return Err("CloudWatch evaluates periods of 10 s, 30 s or whole minutes".into());
    }
    if secs > 86_400 {
        return Err("CloudWatch alarms evaluate at most one day of data".into());
    }
    let minutes = secs / 60;
    if minutes >= 10 && minutes.is_multiple_of(5) {
        Ok((300, minutes / 5))
    } else {
        Ok((60, minutes))
    }
}

// The arguments are what an alarm is made of; grouping them would only rename them.
#[allow(clippy::too_many_arguments)]
fn emit(
    cfg: &Config,
    inst: &Instance,
    watch: &Watch,
    defaults: Option<Defaults>,
    threshold: &Threshold,
    span: &Span,
    out: &mut Vec<DesiredObject>,
    diags: &mut Diagnostics,
    used: &mut UsedRoutes,
) {
    let Some(base) = resolve_base(defaults, threshold, span, diags) else { return };
    let secs = duration_seconds(&base.for_duration);
    let (period, evals) = match secs.map(periods) {
        Some(Ok(p)) => p,
        Some(Err(why)) => {
            diags.push(error(
                format!("`for = \"{}\"` cannot be evaluated by CloudWatch: {why}", base.for_duration),
                Some(span.clone()),
                "use \"10s\", \"30s\", \"5m\", \"15m\", \"1h\" …",
            ));
            return;
        }
        None => {
            diags.push(error(
                format!("`for = \"{}\"` is not a duration", base.for_duration),
                Some(span.clone()),
                "use a duration such as \"5m\"",
            ));
            return;
        }
    };
    for r in inst.routes {
        if cfg.routes.contains_key(r) {
            used.entry(r.clone()).or_default().insert(inst.origin.clone());
        }
    }
    out.push(alarm(cfg, inst, watch, &base, base.critical, None, period, evals));
    if let Some(w) = base.warning {
        let warn = Instance { address: format!("{}.warning", inst.address), ..inst.clone() };
        out.push(alarm(cfg, &warn, watch, &base, w, Some("warning"), period, evals));
    }
}

/// `p99`, `p99.9`, `tm99`, `TM(10%:90%)` …: CloudWatch's extended statistics.
fn is_extended(stat: &str) -> bool {
    let lower = stat.to_ascii_lowercase();
    let rest =
        ["p", "tm", "tc", "ts", "wm", "pr"].iter().find_map(|p| lower.strip_prefix(p)).unwrap_or_default();
    rest.starts_with(|c: char| c.is_ascii_digit() || c == '(')
}

fn dims_json(dims: &[(String, String)]) -> Value {
    Value::Array(dims.iter().map(|(k, v)| json!({"Name": k, "Value": v})).collect())
}

/// CloudWatch tag values allow letters, digits, spaces and `_.:/=+-@`.
fn tag(key: &str, value: &str) -> Value {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| if c.is_alphanumeric() || " _.:/=+-@".contains(c) { c } else { '_' })
            .take(256)
            .collect()
    };
    json!({"Key": clean(key), "Value": clean(value)})
}

/// SNS topic name for a route: letters, digits, `-` and `_`, at most 256 characters.
pub(crate) fn topic_name(route: &str) -> String {
    let body: String = route
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '-' })
        .collect();
    format!("watchkeep-{body}").chars().take(256).collect()
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

// One alarm is one call; the arguments are its parts.
#[allow(clippy::too_many_arguments)]
fn alarm(
    cfg: &Config,
    inst: &Instance,
    w: &Watch,
    base: &Base,
    threshold: f64,
    level: Option<&str>,
    period: u64,
    evals: u64,
) -> DesiredObject {
    let comp = inst.component;
    let direction = if base.above { "above" } else { "below" };
    let severity = level.map(str::to_string).unwrap_or_else(|| base.severity.clone());
    let level_word = level.map(|l| format!(" {l}")).unwrap_or_default();
    let name = format!("{} {}{level_word} ({})", comp.name, w.title, inst.origin);

    let mut desc = format!(
        "{} on {} is {direction} {}{} for {}.\n",
        w.title,
        comp.name,
        number(threshold),
        w.unit,
        base.for_duration
    );
    if let Some(extra) = inst.extra_message {
        desc.push_str(extra.trim());
        desc.push('\n');
    }
    desc.push_str(&format!("Severity: {severity}\n"));
    if let Some(rb) = inst.runbook {
        desc.push_str(&format!("Runbook: {rb}\n"));
    }
    desc.push_str(&super::expand::component_lines(cfg, comp));
    let desc = truncate(desc.trim_end(), MAX_DESCRIPTION);

    let mut actions: Vec<String> = Vec::new();
    for r in inst.routes {
        if cfg.routes.contains_key(r) {
            // A link to the route's topic: the executor puts its ARN (its state id) here.
            let t = crate::plan::links::placeholder(&topic_address(r));
            if !actions.contains(&t) {
                actions.push(t);
            }
        }
    }
    let depends_on: Vec<String> = inst
        .routes
        .iter()
        .filter(|r| cfg.routes.contains_key(*r))
        .map(|r| topic_address(r))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();

    let mut tags = vec![
        tag("component", &comp.name),
        tag("kind", &comp.kind),
        tag("metric", &w.metric),
        tag("severity", &severity),
        tag("watchkeep-origin", &inst.origin),
    ];
    if let Some(env) = &comp.environment {
        tags.push(tag("env", env));
    }
    for (k, v) in &comp.tags {
        tags.push(tag(k, v));
    }

    let mut a = Map::new();
    a.insert("AlarmName".into(), json!(truncate(&name, 255)));
    a.insert("AlarmDescription".into(), json!(desc));
    if w.metric_names.len() == 1 && !w.per_second {
        a.insert("Namespace".into(), json!(w.namespace));
        a.insert("MetricName".into(), json!(w.metric_names[0]));
        if is_extended(&w.statistic) {
            a.insert("ExtendedStatistic".into(), json!(w.statistic));
        } else {
            a.insert("Statistic".into(), json!(w.statistic));
        }
        if !w.dimensions.is_empty() {
            a.insert("Dimensions".into(), dims_json(&w.dimensions));
        }
        a.insert("Period".into(), json!(period));
    } else {
        let mut metrics = Vec::new();
        let mut ids = Vec::new();
        for (i, m) in w.metric_names.iter().enumerate() {
            let id = format!("m{}", i + 1);
            metrics.push(json!({
                "Id": id,
                "MetricStat": {
                    "Metric": {"Namespace": w.namespace, "MetricName": m, "Dimensions": dims_json(&w.dimensions)},
                    "Period": period,
                    "Stat": w.statistic,
                },
                "ReturnData": false,
            }));
            ids.push(id);
        }
        let sum = ids.join(" + ");
        let expr = if w.per_second { format!("({sum}) / PERIOD(m1)") } else { sum };
        metrics.push(json!({"Id": "e1", "Expression": expr, "Label": w.title, "ReturnData": true}));
        a.insert("Metrics".into(), Value::Array(metrics));
    }
    a.insert("EvaluationPeriods".into(), json!(evals));
    a.insert("DatapointsToAlarm".into(), json!(evals));
    a.insert("Threshold".into(), json_number(threshold));
    a.insert(
        "ComparisonOperator".into(),
        json!(if base.above { "GreaterThanThreshold" } else { "LessThanThreshold" }),
    );
    a.insert("TreatMissingData".into(), json!(w.treat_missing));
    if !actions.is_empty() {
        a.insert("AlarmActions".into(), json!(actions));
        a.insert("OKActions".into(), json!(actions));
    }
    a.insert("Tags".into(), Value::Array(tags));

    DesiredObject {
        address: inst.address.clone(),
        resource_type: ALARM.into(),
        provider: PROVIDER.into(),
        origin: Some(inst.origin.clone()),
        attrs: Value::Object(a),
        depends_on,
        span: Some(inst.span.clone()),
    }
}

pub(crate) fn topic_address(route: &str) -> String {
    format!("route.{route}.sns_topic")
}

fn compile_route(route: &Route, out: &mut Vec<DesiredObject>, diags: &mut Diagnostics) {
    let topic = topic_name(&route.name);
    let topic_addr = topic_address(&route.name);
    let origin = format!("route.{}", route.name);
    out.push(DesiredObject {
        address: topic_addr.clone(),
        resource_type: "sns_topic".into(),
        provider: PROVIDER.into(),
        origin: Some(origin.clone()),
        attrs: json!({"Name": topic, "DisplayName": truncate(&format!("watchkeep route {}", route.name), 100)}),
        depends_on: Vec::new(),
        span: Some(route.span.clone()),
    });
    let mut sub = |key: String, protocol: &str, endpoint: &str| {
        out.push(DesiredObject {
            address: format!("route.{}.{key}", route.name),
            resource_type: "sns_subscription".into(),
            provider: PROVIDER.into(),
            origin: Some(origin.clone()),
            attrs: json!({"TopicArn": crate::plan::links::placeholder(&topic_addr), "Protocol": protocol, "Endpoint": endpoint}),
            depends_on: vec![topic_addr.clone()],
            span: Some(route.span.clone()),
        });
    };
    let scheme = |url: &str| if url.starts_with("http://") { "http" } else { "https" };
    for e in &route.email {
        for to in &e.to {
            sub(format!("email[\"{to}\"]"), "email", to);
        }
    }
    for (i, p) in route.pagerduty.iter().enumerate() {
        match &p.routing_key {
            Some(key) if !key.trim().is_empty() => {
                let url = format!("https://events.pagerduty.com/integration/{}/enqueue", key.trim());
                sub(format!("pagerduty[{i}]"), "https", &url);
            }
            _ => diags.push(error(
                format!("route `{}`: a pagerduty target needs `routing_key` for CloudWatch", route.name),
                Some(route.span.clone()),
                "SNS posts to PagerDuty's CloudWatch integration URL, which carries the integration key: set routing_key = var.pagerduty_key (a sensitive variable)",
            )),
        }
    }
    for s in &route.slack {
        match &s.webhook_url {
            Some(url) if url.starts_with("https://") || url.starts_with("http://") => {
                sub(format!("slack[\"{}\"]", s.channel), scheme(url), url);
            }
            _ => diags.push(error(
                format!("route `{}`: slack `{}` needs `webhook_url` for CloudWatch", route.name, s.channel),
                Some(route.span.clone()),
                "SNS posts to Slack over HTTPS: set webhook_url = var.slack_webhook (a sensitive variable), or route CloudWatch alarms to email or PagerDuty",
            )),
        }
    }
    for (i, w) in route.webhook.iter().enumerate() {
        match &w.url {
            Some(url) if url.starts_with("https://") || url.starts_with("http://") => {
                sub(format!("webhook[{i}]"), scheme(url), url);
            }
            _ => diags.push(error(
                format!("route `{}`: a webhook target needs an http(s) `url` for CloudWatch", route.name),
                Some(route.span.clone()),
                "set url = var.webhook_url (a sensitive variable)",
            )),
        }
    }
}

/// `dashboard` blocks → one `cloudwatch_dashboard` over the block's CloudWatch components: a
/// text header naming the inventory and its review, then a graph per catalog metric.
fn compile_dashboards(cfg: &Config, out: &mut Vec<DesiredObject>) {
    for dash in cfg.dashboards.values() {
        let comps: Vec<&Component> = matching(cfg, dash.scope.as_deref(), &dash.kinds, &[])
            .into_iter()
            .filter(|c| c.provider == PROVIDER)
            .collect();
        if comps.is_empty() {
            continue;
        }
        let title = dash.title.clone().unwrap_or_else(|| dash.name.clone());
        let header = format!("# {title}\n{}", super::expand::dashboard_description(cfg, dash, comps.len()));
        let mut widgets = vec![json!({
            "type": "text", "x": 0, "y": 0, "width": 24, "height": 2,
            "properties": {"markdown": header},
        })];
        let mut i = 0u64;
        for comp in &comps {
            for (e, c) in catalog::rows(PROVIDER).filter(|e| e.kind == comp.kind).filter_map(row) {
                let Some(first) = comp.identifier.get(c.dimensions[0]) else { continue };
                if c.dimensions[..c.required.max(1)].iter().any(|d| !comp.identifier.contains_key(*d)) {
                    continue;
                }
                let mut dims: Vec<Value> = vec![json!(c.dimensions[0]), json!(first)];
                for d in &c.dimensions[1..] {
                    if let Some(v) = comp.identifier.get(*d) {
                        dims.push(json!(d));
                        dims.push(json!(v));
                    }
                }
                let mut metrics = Vec::new();
                for m in c.metric_names {
                    let mut line = vec![json!(c.namespace), json!(m)];
                    line.extend(dims.iter().cloned());
                    metrics.push(Value::Array(line));
                }
                widgets.push(json!({
                    "type": "metric",
                    "x": (i % 2) * 12,
                    "y": 2 + (i / 2) * 6,
                    "width": 12,
                    "height": 6,
                    "properties": {
                        "title": format!("{}: {}", comp.name, e.title),
                        "view": "timeSeries",
                        "stat": c.statistic,
                        "period": 300,
                        "metrics": metrics,
                    },
                }));
                i += 1;
            }
        }
        let name: String = format!("watchkeep-{}", dash.name)
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '-' })
            .take(255)
            .collect();
        out.push(DesiredObject {
            address: format!("dashboard.{}.cloudwatch", dash.name),
            resource_type: "cloudwatch_dashboard".into(),
            provider: PROVIDER.into(),
            origin: Some(format!("dashboard.{}", dash.name)),
            attrs: json!({"DashboardName": name, "DashboardBody": {"widgets": widgets}}),
            depends_on: Vec::new(),
            span: Some(dash.span.clone()),
        });
    }
}

/// Raw resources may name an SNS topic `sns:<name>` in an alarm's action lists or a
/// subscription's `TopicArn` (the ARN holds the account id, which the configuration may not
/// know). A name an `sns_topic` of this configuration declares becomes a link to that topic (the
/// executor puts its ARN there, from state or from its create in the same apply); any other name
/// is an error.
pub(crate) fn link_raw_topics(out: &mut [DesiredObject], diags: &mut Diagnostics) {
    let topics: std::collections::BTreeMap<String, String> = out
        .iter()
        .filter(|d| d.resource_type == "sns_topic")
        .filter_map(|d| Some((d.attrs["Name"].as_str()?.to_string(), d.address.clone())))
        .collect();
    for d in out.iter_mut().filter(|d| d.origin.is_none() && d.provider == PROVIDER) {
        let keys: &[&str] = match d.resource_type.as_str() {
            "cloudwatch_metric_alarm" | "cloudwatch_composite_alarm" => {
                &["AlarmActions", "OKActions", "InsufficientDataActions"]
            }
            "sns_subscription" => &["TopicArn"],
            _ => continue,
        };
        let mut linked = Vec::new();
        for key in keys {
            let values: Vec<&mut Value> = match d.attrs.get_mut(*key) {
                Some(Value::Array(items)) => items.iter_mut().collect(),
                Some(v @ Value::String(_)) => vec![v],
                _ => continue,
            };
            for v in values {
                let Some(name) = v.as_str().and_then(|s| s.strip_prefix("sns:")).map(str::to_string) else {
                    continue;
                };
                match topics.get(&name) {
                    Some(topic) => {
                        *v = json!(crate::plan::links::placeholder(topic));
                        linked.push(topic.clone());
                    }
                    None => diags.push(error(
                        format!(
                            "`{}`: `{key}` names `sns:{name}`, but no SNS topic named `{name}` is declared",
                            d.address
                        ),
                        d.span.clone(),
                        format!("declare an sns_topic named `{name}` or use the topic's ARN"),
                    )),
                }
            }
        }
        for t in linked {
            if !d.depends_on.contains(&t) {
                d.depends_on.push(t);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::compile;
    use crate::config::{load, LoadOptions};

    const MIXED: &str = r#"
variable "pd_key" {
  sensitive = true
  default   = "pd-secret-key-0001"
}
provider "cloudwatch" { region = "us-east-1" }
inventory "prod" {
  reviewed_on = "2026-11-01"
  reviewed_by = "lead@example.com"
}
component "web-1" {
  inventory  = inventory.prod
  kind       = "server"
  provider   = "cloudwatch"
  identifier = { InstanceId = "i-0abc" }
}
component "orders-db" {
  inventory  = inventory.prod
  kind       = "database"
  provider   = "cloudwatch"
  identifier = { DBInstanceIdentifier = "orders-prod" }
}
component "api" {
  inventory  = inventory.prod
  kind       = "container"
  provider   = "cloudwatch"
  identifier = { ClusterName = "prod", ServiceName = "api" }
}
component "edge" {
  inventory  = inventory.prod
  kind       = "cloud_service"
  provider   = "cloudwatch"
  identifier = { LoadBalancer = "app/edge/123" }
}
route "oncall" {
  pagerduty { routing_key = var.pd_key }
  email     { to = ["oncall@example.com"] }
}
baseline "soc2" {
  scope = inventory.prod
  route = route.oncall
  override "disk" { above = 80 }
}
alert "cpu_hot" {
  scope   = inventory.prod
  kinds   = ["server"]
  metric  = "cpu"
  above   = 95
  warning = 90
  for     = "15m"
  route   = route.oncall
}
dashboard "infra" { scope = inventory.prod }
"#;

    fn compiled(src: &str) -> Vec<DesiredObject> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("main.hcl"), src).unwrap();
        let (cfg, _) = load(&LoadOptions::new(dir.path())).unwrap_or_else(|d| panic!("{d:?}"));
        compile(&cfg).unwrap_or_else(|d| panic!("{d:?}"))
    }

    fn get<'a>(objs: &'a [DesiredObject], address: &str) -> &'a DesiredObject {
        objs.iter().find(|o| o.address == address).unwrap_or_else(|| {
            panic!("no {address} in {:?}", objs.iter().map(|o| &o.address).collect::<Vec<_>>())
        })
    }

    /// `depends_on` naming a high-level block orders the raw object after every object the block
    /// compiles to (a composite alarm was created before the alarms it names when it was ignored).
    #[test]
    fn depends_on_a_high_level_block_means_everything_it_compiles_to() {
        let src = format!(
            "{MIXED}\nresource \"cloudwatch_composite_alarm\" \"hot\" {{\n  AlarmName  = \"hot\"\n  AlarmRule  = \"ALARM(\\\"web-1 CPU usage (alert.cpu_hot)\\\")\"\n  depends_on = [alert.cpu_hot, baseline.soc2]\n}}\n"
        );
        let objs = compiled(&src);
        let hot = get(&objs, "cloudwatch_composite_alarm.hot");
        let under = |block: &str| -> Vec<String> {
            objs.iter()
                .filter(|o| {
                    o.address.starts_with(block)
                        && matches!(o.address.as_bytes().get(block.len()), Some(b'[' | b'.'))
                })
                .map(|o| o.address.clone())
                .collect()
        };
        let (alerts, baseline) = (under("alert.cpu_hot"), under("baseline.soc2"));
        assert!(!alerts.is_empty() && !baseline.is_empty());
        for a in alerts.iter().chain(&baseline) {
            assert!(hot.depends_on.contains(a), "{a} missing from {:?}", hot.depends_on);
        }
        assert!(
            !hot.depends_on.iter().any(|d| d == "alert.cpu_hot" || d == "baseline.soc2"),
            "{:?}",
            hot.depends_on
        );
    }

    #[test]
    fn mixed_inventory_compiles_to_alarms_topics_and_a_dashboard() {
        let objs = compiled(MIXED);
        assert!(objs.iter().all(|o| o.provider == "cloudwatch"));
        let cpu = get(&objs, r#"baseline.soc2["web-1"].cpu"#);
        assert_eq!(cpu.resource_type, "cloudwatch_metric_alarm");
        let a = &cpu.attrs;
        assert_eq!(a["AlarmName"], "web-1 CPU usage (baseline.soc2)");
        assert_eq!(a["Namespace"], "AWS/EC2");
        assert_eq!(a["MetricName"], "CPUUtilization");
        assert_eq!(a["Dimensions"], json!([{"Name": "InstanceId", "Value": "i-0abc"}]));
        assert_eq!((a["Period"].as_u64(), a["EvaluationPeriods"].as_u64()), (Some(60), Some(5)));
        assert_eq!(a["DatapointsToAlarm"], 5);
        assert_eq!(a["Threshold"], 85);
        assert_eq!(a["ComparisonOperator"], "GreaterThanThreshold");
        // A link to the route's topic (its ARN is put there by the executor; see `plan::links`).
        assert_eq!(a["AlarmActions"], json!(["ref:route.oncall.sns_topic"]));
        assert_eq!(cpu.depends_on, vec!["route.oncall.sns_topic".to_string()]);
        assert!(a["AlarmDescription"].as_str().unwrap().contains("reviewed 2026-11-01 by lead@example.com"));

        let disk = &get(&objs, r#"baseline.soc2["web-1"].disk"#).attrs;
        assert_eq!((disk["Namespace"].as_str(), disk["Threshold"].as_i64()), (Some("CWAgent"), Some(80)));
        assert_eq!((disk["Period"].as_u64(), disk["EvaluationPeriods"].as_u64()), (Some(300), Some(2)));
        let net = &get(&objs, r#"baseline.soc2["web-1"].network"#).attrs;
        assert_eq!(net["Metrics"][2]["Expression"], "(m1 + m2) / PERIOD(m1)");
        assert!(net.get("MetricName").is_none() && net.get("Period").is_none());
        let up = &get(&objs, r#"baseline.soc2["web-1"].uptime"#).attrs;
        assert_eq!(
            (up["MetricName"].as_str(), up["TreatMissingData"].as_str()),
            (Some("StatusCheckFailed"), Some("breaching"))
        );

        let mem = &get(&objs, r#"baseline.soc2["orders-db"].memory"#).attrs;
        assert_eq!(
            (mem["MetricName"].as_str(), mem["ComparisonOperator"].as_str()),
            (Some("FreeableMemory"), Some("LessThanThreshold"))
        );
        get(&objs, r#"baseline.soc2["orders-db"].connections"#);
        let ecs = &get(&objs, r#"baseline.soc2["api"].memory"#).attrs;
        assert_eq!(
            ecs["Dimensions"],
            json!([{"Name": "ClusterName", "Value": "prod"}, {"Name": "ServiceName", "Value": "api"}])
        );
        let lat = &get(&objs, r#"baseline.soc2["edge"].latency"#).attrs;
        assert_eq!((lat["ExtendedStatistic"].as_str(), lat.get("Statistic")), (Some("p99"), None));

        let hot = &get(&objs, r#"alert.cpu_hot["web-1"]"#).attrs;
        assert_eq!(hot["Threshold"], 95);
        let warn = &get(&objs, r#"alert.cpu_hot["web-1"].warning"#).attrs;
        assert_eq!(
            (warn["Threshold"].as_i64(), warn["AlarmName"].as_str()),
            (Some(90), Some("web-1 CPU usage warning (alert.cpu_hot)"))
        );

        let topic = get(&objs, "route.oncall.sns_topic");
        assert_eq!(topic.attrs["Name"], "watchkeep-oncall");
        let pd = get(&objs, "route.oncall.pagerduty[0]");
        assert_eq!(
            pd.attrs["Endpoint"],
            "https://events.pagerduty.com/integration/pd-secret-key-0001/enqueue"
        );
        assert_eq!(pd.depends_on, vec!["route.oncall.sns_topic".to_string()]);
        let mail = get(&objs, r#"route.oncall.email["oncall@example.com"]"#);
        assert_eq!(
            (mail.attrs["Protocol"].as_str(), mail.attrs["TopicArn"].as_str()),
            (Some("email"), Some("ref:route.oncall.sns_topic"))
        );

        let dash = &get(&objs, "dashboard.infra.cloudwatch").attrs;
        assert_eq!(dash["DashboardName"], "watchkeep-infra");
        assert!(dash["DashboardBody"]["widgets"].as_array().unwrap().len() > 10);
        // Every alarm name is unique (PutMetricAlarm would otherwise overwrite one with another).
        let mut names: Vec<&str> = objs.iter().filter_map(|o| o.attrs["AlarmName"].as_str()).collect();
        let n = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), n);
    }

    const RAW_TOPICS: &str = r#"
provider "cloudwatch" { region = "us-east-1" }
resource "sns_topic" "ops" {
  Name = "wk-ops"
}
resource "cloudwatch_metric_alarm" "cpu" {
  AlarmName          = "cpu"
  Namespace          = "AWS/EC2"
  MetricName         = "CPUUtilization"
  Statistic          = "Average"
  Period             = 300
  EvaluationPeriods  = 2
  Threshold          = 80
  ComparisonOperator = "GreaterThanThreshold"
  AlarmActions       = ["sns:wk-ops", "arn:aws:sns:us-east-1:123456789012:theirs"]
  OKActions          = ["sns:wk-ops"]
}
resource "sns_subscription" "mail" {
  TopicArn = "sns:wk-ops"
  Protocol = "email"
  Endpoint = "ops@example.com"
}
"#;

    /// A raw resource naming a declared topic `sns:<name>` links to that topic's address (and
    /// depends on it); an ARN stays as written.
    #[test]
    fn raw_sns_names_of_declared_topics_become_links() {
        let objs = compiled(RAW_TOPICS);
        let cpu = get(&objs, "cloudwatch_metric_alarm.cpu");
        assert_eq!(
            cpu.attrs["AlarmActions"],
            json!(["ref:sns_topic.ops", "arn:aws:sns:us-east-1:123456789012:theirs"])
        );
        assert_eq!(cpu.attrs["OKActions"], json!(["ref:sns_topic.ops"]));
        assert_eq!(cpu.depends_on, vec!["sns_topic.ops".to_string()]);
        let mail = get(&objs, "sns_subscription.mail");
        assert_eq!(mail.attrs["TopicArn"], "ref:sns_topic.ops");
        assert_eq!(mail.depends_on, vec!["sns_topic.ops".to_string()]);
    }

    #[test]
    fn a_raw_sns_name_of_no_declared_topic_is_an_error() {
        let src = RAW_TOPICS.replace(r#"OKActions          = ["sns:wk-ops"]"#, r#"OKActions = ["sns:nope"]"#);
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("main.hcl"), src).unwrap();
        let (cfg, _) = load(&LoadOptions::new(dir.path())).unwrap();
        let text = format!("{:?}", compile(&cfg).unwrap_err());
        assert!(
            text.contains("`cloudwatch_metric_alarm.cpu`: `OKActions` names `sns:nope`, but no SNS topic named `nope` is declared"),
            "{text}"
        );
        assert!(text.contains("declare an sns_topic named `nope` or use the topic's ARN"), "{text}");
    }

    #[test]
    fn missing_identifier_and_slack_without_url_are_located_errors() {
        let src = MIXED
            .replace(r#"identifier = { DBInstanceIdentifier = "orders-prod" }"#, "")
            .replace(r#"email     { to = ["oncall@example.com"] }"#, r##"slack { channel = "#ops" }"##);
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("main.hcl"), src).unwrap();
        let (cfg, _) = load(&LoadOptions::new(dir.path())).unwrap();
        let diags = compile(&cfg).unwrap_err();
        let text = format!("{diags:?}");
        assert!(text.contains("needs `DBInstanceIdentifier` in its identifier"), "{text}");
        assert!(text.contains("slack `#ops` needs `webhook_url`"), "{text}");
        // One error per component, not one per metric.
        assert_eq!(text.matches("needs `DBInstanceIdentifier`").count(), 1, "{text}");
    }

    #[test]
    fn user_metric_and_high_resolution_duration() {
        let src = r#"
provider "cloudwatch" { region = "us-east-1" }
component "q" {
  kind       = "custom"
  provider   = "cloudwatch"
  identifier = { QueueName = "orders" }
}
route "hook" {
  webhook { url = "http://127.0.0.1:9/hook" }
}
metric "depth" {
  unit       = "messages"
  cloudwatch {
    namespace   = "AWS/SQS"
    metric_name = "ApproximateNumberOfMessagesVisible"
    statistic   = "Maximum"
  }
}
alert "deep" {
  metric = metric.depth
  above  = 50
  for    = "10s"
  route  = route.hook
}
"#;
        let objs = compiled(src);
        let a = &get(&objs, r#"alert.deep["q"]"#).attrs;
        assert_eq!((a["Period"].as_u64(), a["EvaluationPeriods"].as_u64()), (Some(10), Some(1)));
        assert_eq!(a["Dimensions"], json!([{"Name": "QueueName", "Value": "orders"}]));
        assert_eq!(a["Statistic"], "Maximum");
        let hook = get(&objs, "route.hook.webhook[0]");
        assert_eq!(hook.attrs["Protocol"], "http");
    }

    /// `HealthyHostCount` is published per target group only: with `TargetGroup` in the
    /// identifier the load balancer gets its uptime alarm on both dimensions; without, a warning
    /// names the missing dimension and no alarm is made (rather than one that never has data).
    #[test]
    fn load_balancer_uptime_needs_the_target_group() {
        let src = |identifier: &str| {
            format!(
                r#"
provider "cloudwatch" {{ region = "us-east-1" }}
component "edge" {{
  kind       = "cloud_service"
  provider   = "cloudwatch"
  identifier = {identifier}
}}
baseline "soc2" {{}}
"#
            )
        };
        let with = compiled(&src(r#"{ LoadBalancer = "app/edge/1", TargetGroup = "targetgroup/web/2" }"#));
        let up = &get(&with, r#"baseline.soc2["edge"].uptime"#).attrs;
        assert_eq!(
            up["Dimensions"],
            json!([{"Name": "LoadBalancer", "Value": "app/edge/1"}, {"Name": "TargetGroup", "Value": "targetgroup/web/2"}])
        );
        assert_eq!(
            (up["MetricName"].as_str(), up["Statistic"].as_str(), up["ComparisonOperator"].as_str()),
            (Some("HealthyHostCount"), Some("Minimum"), Some("LessThanThreshold"))
        );
        let net = &get(&with, r#"baseline.soc2["edge"].network"#).attrs;
        assert_eq!(net["Metrics"][0]["MetricStat"]["Metric"]["MetricName"], "ProcessedBytes");

        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("main.hcl"), src(r#"{ LoadBalancer = "app/edge/1" }"#)).unwrap();
        let (cfg, _) = load(&LoadOptions::new(dir.path())).unwrap();
        let (objs, warnings) =
            crate::compile::compile_with_warnings(&cfg).unwrap_or_else(|d| panic!("{d:?}"));
        assert!(!objs.iter().any(|o| o.address == r#"baseline.soc2["edge"].uptime"#));
        assert!(objs.iter().any(|o| o.address == r#"baseline.soc2["edge"].network"#));
        assert_eq!(warnings.0.len(), 1, "{warnings:?}");
        assert!(warnings.0[0].summary.contains("has no `TargetGroup` in its identifier"), "{warnings:?}");
        assert!(warnings.0[0].hint.as_deref().unwrap().contains("TargetGroup = \"...\""), "{warnings:?}");
    }

    #[test]
    fn durations_become_periods() {
        assert_eq!(periods(10), Ok((10, 1)));
        assert_eq!(periods(30), Ok((30, 1)));
        assert_eq!(periods(120), Ok((60, 2)));
        assert_eq!(periods(300), Ok((60, 5)));
        assert_eq!(periods(600), Ok((300, 2)));
        assert_eq!(periods(3600), Ok((300, 12)));
        assert_eq!(periods(86_400), Ok((300, 288)));
        assert!(periods(20).is_err());
        assert!(periods(90).is_err());
        assert!(periods(2 * 86_400).is_err());
    }

    #[test]
    fn extended_statistics() {
        assert!(is_extended("p99"));
        assert!(is_extended("p99.9"));
        assert!(is_extended("tm90"));
        assert!(!is_extended("Average"));
        assert!(!is_extended("Maximum"));
        assert!(!is_extended("SampleCount"));
    }

    #[test]
    fn topic_names_are_sns_safe() {
        assert_eq!(topic_name("oncall"), "watchkeep-oncall");
        assert_eq!(topic_name("team.oncall page"), "watchkeep-team-oncall-page");
    }
}
