//! `alert`, `baseline` and `route` blocks → New Relic alert policies, NRQL conditions,
//! notification destinations and channels, and workflows, for components whose provider is
//! `newrelic`.
//!
//! * One `newrelic_alert_policy` per `alert`/`baseline` block that has New Relic components
//!   (address `<origin>.newrelic_policy`), holding that block's conditions.
//! * One `newrelic_nrql_condition` per metric and component (the same addresses as the other
//!   vendors' alarms), named `<component> <title> (<origin>)`. `above`/`below` become a CRITICAL
//!   term, `warning` a WARNING term, `for` the term's `thresholdDuration` (whole minutes, all
//!   occurrences). "Host not reporting" is a loss-of-signal condition: the signal expiring after
//!   the `for` duration opens an incident.
//! * Each route a New Relic block uses becomes destinations and channels (email; PagerDuty with
//!   the routing key as the integration token; Slack and webhooks through their URLs) and one
//!   `newrelic_workflow` whose issues filter selects the policies of the blocks that route serves.
//! * Each `dashboard` block with New Relic components becomes one `newrelic_dashboard`
//!   (`dashboard.<name>.newrelic`): a markdown header naming the inventory and its review, then a
//!   line chart per catalog metric and component. The provider fills in its account id.
//! * Ids are known only after create, so references are written `ref:<address>`: links the engine
//!   resolves (`plan::links`).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, Duration, NaiveDateTime, Weekday};
use serde_json::{json, Value};

use super::catalog::{self, CatalogEntry, Defaults, NewRelicCheck, VendorCheck};
use super::expand::{
    duration_seconds, instances, json_number, matching, number, resolve_base, Base, Instance,
};
use super::maintenance::{belongs, origin_of, start_of, text, Window};
use super::{error, warning, DesiredObject, UsedRoutes, VendorCompiler};
use crate::config::maintenance::Rrule;
use crate::config::{Component, Config, Maintenance, Route, Span, Threshold};
use crate::diag::{Diagnostic, Diagnostics};

pub(super) const PROVIDER: &str = "newrelic";
const CONDITION: &str = "newrelic_nrql_condition";

struct Watch {
    title: String,
    unit: String,
    /// NRQL with `$scope` already replaced.
    nrql: String,
    loss_of_signal: bool,
}

/// Origins (`baseline.soc2`) with conditions, and the routes each uses.
#[derive(Default)]
struct Policies {
    routes_of: BTreeMap<String, Vec<String>>,
    span_of: BTreeMap<String, Span>,
}

/// The New Relic compiler (registered in [`super::COMPILERS`]).
pub(super) struct NewRelic;

impl VendorCompiler for NewRelic {
    fn vendor(&self) -> &'static str {
        PROVIDER
    }

    /// Conditions, then one policy per block with conditions (checked against New Relic's limits).
    fn alarms(&self, cfg: &Config, out: &mut Vec<DesiredObject>, diags: &mut Diagnostics) -> UsedRoutes {
        let mut pol = Policies::default();
        for inst in instances(cfg, self, diags) {
            let comp = inst.component;
            let resolved = if inst.from_catalog {
                catalog::lookup(inst.metric, &comp.kind, PROVIDER)
                    .and_then(row)
                    .map(|(e, c)| (catalog_watch(e, c, comp), Some(e.defaults)))
            } else {
                resolve_watch(cfg, inst.metric, comp, diags)
            };
            let Some((watch, defaults)) = resolved else { continue };
            if emit(cfg, &inst, &watch, defaults, &inst.threshold, inst.threshold_span, out, diags) {
                pol.routes_of.insert(inst.origin.clone(), inst.routes.to_vec());
                pol.span_of.insert(inst.origin.clone(), inst.span.clone());
            }
        }
        check_limits(out, &pol, diags);
        // One policy per block with conditions.
        let mut served = UsedRoutes::new();
        for (origin, routes) in &pol.routes_of {
            out.push(DesiredObject {
                address: policy_address(origin),
                resource_type: "newrelic_alert_policy".into(),
                provider: PROVIDER.into(),
                origin: Some(origin.clone()),
                attrs: json!({"name": format!("watchkeep {origin}"), "incidentPreference": "PER_CONDITION"}),
                depends_on: Vec::new(),
                span: pol.span_of.get(origin).cloned(),
            });
            for r in routes.iter().filter(|r| cfg.routes.contains_key(*r)) {
                served.entry(r.clone()).or_default().insert(origin.clone());
            }
        }
        served
    }

    /// Per used route: destinations and channels, and a workflow over the policies it serves.
    fn routes(&self, cfg: &Config, used: &UsedRoutes, out: &mut Vec<DesiredObject>, diags: &mut Diagnostics) {
        for (name, origins) in used {
            if let Some(route) = cfg.routes.get(name) {
                compile_route(route, origins, out, diags);
            }
        }
    }

    fn dashboards(&self, cfg: &Config, out: &mut Vec<DesiredObject>) {
        compile_dashboards(cfg, out)
    }

    /// One `newrelic_muting_rule` per block over the silenced policies and conditions.
    fn maintenance(
        &self,
        w: &Window,
        alarms: &[DesiredObject],
        added: &mut Vec<DesiredObject>,
        diags: &mut Diagnostics,
    ) {
        muting_rule(w.m, &w.origin, &w.comps, alarms, added, diags);
    }

    fn no_catalog_rows(&self, origin: &str, comp: &Component) -> Diagnostic {
        warning(
            format!(
                "`{origin}`: the catalog has no metrics for kind `{}` on {PROVIDER}, so `{}` gets no conditions",
                comp.kind, comp.name
            ),
            Some(comp.span.clone()),
            "add `alert` blocks with a user `metric` (newrelic { nrql = \"...\" }) for this component",
        )
    }
}

/// A New Relic catalog row with its check (`None` for another vendor's row).
fn row(e: &'static CatalogEntry) -> Option<(&'static CatalogEntry, &'static NewRelicCheck)> {
    match &e.check {
        VendorCheck::NewRelic(c) => Some((e, c)),
        _ => None,
    }
}

/// `dashboard` blocks → one `newrelic_dashboard` over the block's New Relic components.
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
        let description = super::expand::dashboard_description(cfg, dash, comps.len());
        let mut widgets = vec![json!({
            "title": "Scope",
            "layout": {"column": 1, "row": 1, "width": 12, "height": 2},
            "visualization": {"id": "viz.markdown"},
            "rawConfiguration": {"text": format!("# {title}\n{description}")},
        })];
        let mut i = 0u64;
        for comp in &comps {
            for (e, c) in catalog::rows(PROVIDER).filter(|e| e.kind == comp.kind).filter_map(row) {
                widgets.push(json!({
                    "title": format!("{}: {}", comp.name, e.title),
                    "layout": {"column": 1 + (i % 2) * 6, "row": 3 + (i / 2) * 3, "width": 6, "height": 3},
                    "visualization": {"id": "viz.line"},
                    "rawConfiguration": {"nrqlQueries": [{
                        "query": format!("{} TIMESERIES", c.nrql.replace("$scope", &where_clause(comp))),
                    }]},
                }));
                i += 1;
            }
        }
        out.push(DesiredObject {
            address: format!("dashboard.{}.newrelic", dash.name),
            resource_type: "newrelic_dashboard".into(),
            provider: PROVIDER.into(),
            origin: Some(format!("dashboard.{}", dash.name)),
            attrs: json!({
                "name": title.clone(),
                "description": description,
                "permissions": "PUBLIC_READ_ONLY",
                "pages": [{"name": title, "widgets": widgets}],
            }),
            depends_on: Vec::new(),
            span: Some(dash.span.clone()),
        });
    }
}

/// New Relic's documented limits ("Alerting rules and limits"): at most 1,000 conditions per
/// policy (refused by the API; each block is one policy) and, by default, 4,000 per account
/// (New Relic raises it on request). Checked here so a plan says so instead of a half-done apply.
pub(crate) const MAX_CONDITIONS_PER_POLICY: usize = 1_000;
pub(crate) const DEFAULT_MAX_CONDITIONS_PER_ACCOUNT: usize = 4_000;

fn check_limits(out: &[DesiredObject], pol: &Policies, diags: &mut Diagnostics) {
    let mut per_policy: BTreeMap<&str, usize> = BTreeMap::new();
    for o in out.iter().filter(|o| o.resource_type == CONDITION) {
        if let Some(origin) = &o.origin {
            *per_policy.entry(origin.as_str()).or_default() += 1;
        }
    }
    for (origin, n) in &per_policy {
        if *n > MAX_CONDITIONS_PER_POLICY {
            diags.push(error(
                format!(
                    "`{origin}` makes {n} New Relic conditions, but New Relic allows at most {MAX_CONDITIONS_PER_POLICY} in one alert policy (one per block)"
                ),
                pol.span_of.get(*origin).cloned(),
                "split the block: narrow its `scope` or `kinds` and add another block for the rest, e.g. one baseline per environment or kind",
            ));
        }
    }
    let total: usize = per_policy.values().sum();
    if total > DEFAULT_MAX_CONDITIONS_PER_ACCOUNT {
        diags.push(warning(
            format!(
                "{total} New Relic conditions: more than the {DEFAULT_MAX_CONDITIONS_PER_ACCOUNT} alert conditions New Relic allows per account by default"
            ),
            None,
            "ask New Relic to raise the account's limit before applying, or spread components over accounts",
        ));
    }
}

pub(crate) fn policy_address(origin: &str) -> String {
    format!("{origin}.newrelic_policy")
}

/// `hostname = 'web-1'` from the identifier (`{ hostname = "web-1" }`), or the component name.
fn where_clause(comp: &Component) -> String {
    let quote = |s: &str| s.replace('\'', "\\'");
    if comp.identifier.is_empty() {
        return format!("hostname = '{}'", quote(&comp.name));
    }
    comp.identifier.iter().map(|(k, v)| format!("`{k}` = '{}'", quote(v))).collect::<Vec<_>>().join(" AND ")
}

fn catalog_watch(e: &CatalogEntry, c: &NewRelicCheck, comp: &Component) -> Watch {
    Watch {
        title: e.title.into(),
        unit: e.unit.into(),
        nrql: c.nrql.replace("$scope", &where_clause(comp)),
        loss_of_signal: c.loss_of_signal,
    }
}

fn resolve_watch(
    cfg: &Config,
    metric: &str,
    comp: &Component,
    diags: &mut Diagnostics,
) -> Option<(Watch, Option<Defaults>)> {
    if let Some(user) = cfg.metrics.get(metric) {
        let nrql = user.newrelic.as_ref().and_then(|v| v.get("nrql")).and_then(Value::as_str);
        let Some(nrql) = nrql else {
            diags.push(error(
                format!(
                    "metric `{metric}` has no `newrelic {{ nrql = ... }}`, but `{}` is on New Relic",
                    comp.name
                ),
                Some(user.span.clone()),
                "add `newrelic { nrql = \"SELECT max(x) FROM Sample WHERE $scope\" }` to the metric block",
            ));
            return None;
        };
        let watch = Watch {
            title: user.name.clone(),
            unit: user.unit.as_deref().map(|u| format!(" {u}")).unwrap_or_default(),
            nrql: nrql.replace("$scope", &where_clause(comp)),
            loss_of_signal: false,
        };
        return Some((watch, None));
    }
    // No row: reported once per alert, at its `metric`, by `expand::check_alert_metric`.
    catalog::lookup(metric, &comp.kind, PROVIDER)
        .and_then(row)
        .map(|(e, c)| (catalog_watch(e, c, comp), Some(e.defaults)))
}

// The arguments are what a condition is made of.
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
) -> bool {
    let Some(base) = resolve_base(defaults, threshold, span, diags) else { return false };
    let secs = match duration_seconds(&base.for_duration) {
        Some(s) if s.is_multiple_of(60) && (60..=86_400).contains(&s) => s,
        _ => {
            diags.push(error(
                format!("`for = \"{}\"` cannot be evaluated by New Relic", base.for_duration),
                Some(span.clone()),
                "New Relic thresholds last whole minutes, from 1 minute to 1 day: use \"5m\", \"1h\" …",
            ));
            return false;
        }
    };
    out.push(condition(cfg, inst, watch, &base, secs));
    true
}

fn condition(cfg: &Config, inst: &Instance, w: &Watch, base: &Base, secs: u64) -> DesiredObject {
    let comp = inst.component;
    let direction = if base.above { "above" } else { "below" };
    let operator = if base.above { "ABOVE" } else { "BELOW" };
    let mut terms = vec![json!({
        "priority": "CRITICAL",
        "operator": operator,
        "threshold": json_number(base.critical),
        "thresholdDuration": secs,
        "thresholdOccurrences": "ALL",
    })];
    if let Some(wv) = base.warning {
        terms.push(json!({
            "priority": "WARNING",
            "operator": operator,
            "threshold": json_number(wv),
            "thresholdDuration": secs,
            "thresholdOccurrences": "ALL",
        }));
    }
    let mut desc = if w.loss_of_signal {
        format!("{} has not reported for {}.\n", comp.name, base.for_duration)
    } else {
        format!(
            "{} on {} is {direction} {}{} for {}.\n",
            w.title,
            comp.name,
            number(base.critical),
            w.unit,
            base.for_duration
        )
    };
    if let Some(extra) = inst.extra_message {
        desc.push_str(extra.trim());
        desc.push('\n');
    }
    desc.push_str(&format!("Severity: {}\n", base.severity));
    desc.push_str(&super::expand::component_lines(cfg, comp));
    let mut attrs = json!({
        "policyId": format!("ref:{}", policy_address(&inst.origin)),
        "name": format!("{} {} ({})", comp.name, w.title, inst.origin),
        "enabled": true,
        "description": desc.trim_end(),
        "nrql": {"query": w.nrql},
        "terms": terms,
        "signal": {"aggregationWindow": 60},
    });
    if w.loss_of_signal {
        attrs["expiration"] = json!({
            "expirationDuration": secs,
            "openViolationOnExpiration": true,
            "closeViolationsOnExpiration": false,
        });
    }
    if let Some(rb) = inst.runbook {
        attrs["runbookUrl"] = json!(rb);
    }
    DesiredObject {
        address: inst.address.clone(),
        resource_type: CONDITION.into(),
        provider: PROVIDER.into(),
        origin: Some(inst.origin.clone()),
        attrs,
        depends_on: vec![policy_address(&inst.origin)],
        span: Some(inst.span.clone()),
    }
}

fn nr_day(day: &str) -> Option<&'static str> {
    Some(match day {
        "MO" => "MONDAY",
        "TU" => "TUESDAY",
        "WE" => "WEDNESDAY",
        "TH" => "THURSDAY",
        "FR" => "FRIDAY",
        "SA" => "SATURDAY",
        "SU" => "SUNDAY",
        _ => return None,
    })
}

fn weekday_name(d: Weekday) -> &'static str {
    match d {
        Weekday::Mon => "MONDAY",
        Weekday::Tue => "TUESDAY",
        Weekday::Wed => "WEDNESDAY",
        Weekday::Thu => "THURSDAY",
        Weekday::Fri => "FRIDAY",
        Weekday::Sat => "SATURDAY",
        Weekday::Sun => "SUNDAY",
    }
}

/// NerdGraph's `AlertsMutingRuleScheduleInput` for the window, or why it cannot be expressed.
pub(super) fn nr_schedule(m: &Maintenance) -> Result<Value, String> {
    let start = start_of(m);
    let end = start + Duration::minutes(m.minutes as i64);
    let fmt = |t: NaiveDateTime| t.format("%Y-%m-%dT%H:%M:%S").to_string();
    let mut s = json!({ "startTime": fmt(start), "endTime": fmt(end), "timeZone": m.timezone });
    let Some((_, r)) = &m.recurrence else { return Ok(s) };
    let Rrule { freq, interval, count, until, by_day, other } = r;
    if interval.is_some_and(|i| i > 1) {
        return Err(
            "New Relic muting rules repeat every day, week or month: INTERVAL > 1 has no equivalent".into()
        );
    }
    if let Some((key, _)) = other.first() {
        return Err(format!("New Relic muting rules cannot express {key}: they repeat daily, weekly on given days, or monthly on the start date"));
    }
    match freq.as_str() {
        "DAILY" | "MONTHLY" if !by_day.is_empty() => {
            return Err(format!("New Relic muting rules take BYDAY only with FREQ=WEEKLY, not FREQ={freq}"))
        }
        "DAILY" | "MONTHLY" => s["repeat"] = json!(freq),
        "WEEKLY" => {
            s["repeat"] = json!("WEEKLY");
            let days: Vec<&str> = if by_day.is_empty() {
                vec![weekday_name(start.weekday())]
            } else {
                let mut days = Vec::new();
                for d in by_day {
                    let Some(name) = nr_day(d) else {
                        return Err(format!("New Relic muting rules repeat on plain weekdays, not `{d}`"));
                    };
                    days.push(name);
                }
                days
            };
            s["weeklyRepeatDays"] = json!(days);
        }
        other => return Err(format!("New Relic muting rules cannot repeat FREQ={other}")),
    }
    if let Some(c) = count {
        s["repeatCount"] = json!(c);
    }
    if let Some(u) = until {
        let t = NaiveDateTime::parse_from_str(u.trim_end_matches('Z'), "%Y%m%dT%H%M%S").ok().or_else(|| {
            chrono::NaiveDate::parse_from_str(u, "%Y%m%d").ok().and_then(|d| d.and_hms_opt(23, 59, 59))
        });
        if let Some(t) = t {
            s["endRepeat"] = json!(fmt(t));
        }
    }
    Ok(s)
}

fn muting_rule(
    m: &Maintenance,
    origin: &str,
    comps: &[&Component],
    out: &[DesiredObject],
    added: &mut Vec<DesiredObject>,
    diags: &mut Diagnostics,
) {
    let nr: Vec<&&Component> = comps.iter().filter(|c| c.provider == "newrelic").collect();
    if nr.is_empty() {
        return;
    }
    // (origin, condition address) of every New Relic condition the window silences.
    let silenced: Vec<(&str, &str)> = out
        .iter()
        .filter(|o| o.resource_type == "newrelic_nrql_condition")
        .filter_map(|o| {
            let org = origin_of(o)?;
            ((m.alerts.is_empty() || m.alerts.iter().any(|a| a == org))
                && nr.iter().any(|c| belongs(&o.address, org, &c.name)))
            .then_some((org, o.address.as_str()))
        })
        .collect();
    if silenced.is_empty() {
        diags.push(warning(
            format!("`{origin}` silences no New Relic condition"),
            Some(m.span.clone()),
            "its alerts have no conditions on the New Relic components in scope",
        ));
        return;
    }
    // A block whose every condition is silenced is muted by its policy (one value instead of
    // one per condition and component); the others condition by condition.
    let mut policies: Vec<String> = Vec::new();
    let mut conditions: Vec<String> = Vec::new();
    let mut origins: Vec<&str> = silenced.iter().map(|(o, _)| *o).collect();
    origins.dedup();
    for org in origins {
        let all = out
            .iter()
            .filter(|o| o.resource_type == "newrelic_nrql_condition" && origin_of(o) == Some(org))
            .count();
        let mine: Vec<&str> = silenced.iter().filter(|(o, _)| *o == org).map(|(_, a)| *a).collect();
        if mine.len() == all {
            policies.push(policy_address(org));
        } else {
            conditions.extend(mine.iter().map(|a| a.to_string()));
        }
    }
    let refs = |addrs: &[String]| addrs.iter().map(|a| format!("ref:{a}")).collect::<Vec<_>>();
    let mut group = Vec::new();
    if !policies.is_empty() {
        group.push(json!({"attribute": "policyId", "operator": "IN", "values": refs(&policies)}));
    }
    if !conditions.is_empty() {
        group.push(json!({"attribute": "conditionId", "operator": "IN", "values": refs(&conditions)}));
    }
    let schedule = match nr_schedule(m) {
        Ok(s) => s,
        Err(e) => {
            diags.push(error(
                e,
                Some(m.recurrence_span.clone().unwrap_or_else(|| m.span.clone())),
                "use FREQ=DAILY, FREQ=WEEKLY;BYDAY=..., or FREQ=MONTHLY (with COUNT or UNTIL at most) for New Relic components",
            ));
            return;
        }
    };
    added.push(DesiredObject {
        address: format!("{origin}.newrelic"),
        resource_type: "newrelic_muting_rule".into(),
        provider: PROVIDER.into(),
        origin: Some(origin.to_string()),
        attrs: json!({
            "name": format!("watchkeep {origin}"),
            "description": text(m, origin),
            "enabled": true,
            "condition": { "operator": "OR", "conditions": group },
            "schedule": schedule,
        }),
        depends_on: policies.into_iter().chain(conditions).collect(),
        span: Some(m.span.clone()),
    });
}

fn compile_route(
    route: &Route,
    origins: &BTreeSet<String>,
    out: &mut Vec<DesiredObject>,
    diags: &mut Diagnostics,
) {
    let origin = format!("route.{}", route.name);
    let mut channels: Vec<String> = Vec::new();
    let mut pair = |key: &str, label: &str, dest: Value, chan_type: &str, chan_props: Value| {
        let dest_addr = format!("route.{}.newrelic_{key}_destination", route.name);
        let chan_addr = format!("route.{}.newrelic_{key}_channel", route.name);
        let name = format!("watchkeep {} {label}", route.name);
        let mut d = dest;
        d["name"] = json!(name);
        out.push(DesiredObject {
            address: dest_addr.clone(),
            resource_type: "newrelic_notification_destination".into(),
            provider: PROVIDER.into(),
            origin: Some(origin.clone()),
            attrs: d,
            depends_on: Vec::new(),
            span: Some(route.span.clone()),
        });
        out.push(DesiredObject {
            address: chan_addr.clone(),
            resource_type: "newrelic_notification_channel".into(),
            provider: PROVIDER.into(),
            origin: Some(origin.clone()),
            attrs: json!({
                "name": name,
                "type": chan_type,
                "product": "IINT",
                "destinationId": format!("ref:{dest_addr}"),
                "properties": chan_props,
            }),
            depends_on: vec![dest_addr],
            span: Some(route.span.clone()),
        });
        channels.push(chan_addr);
    };
    let to: Vec<&str> = route.email.iter().flat_map(|e| e.to.iter().map(String::as_str)).collect();
    if !to.is_empty() {
        pair(
            "email",
            "email",
            json!({"type": "EMAIL", "properties": [{"key": "email", "value": to.join(",")}]}),
            "EMAIL",
            json!([{"key": "subject", "value": "{{ issueTitle }}"}]),
        );
    }
    for (i, p) in route.pagerduty.iter().enumerate() {
        match &p.routing_key {
            Some(key) if !key.trim().is_empty() => pair(
                &format!("pagerduty{i}"),
                format!("pagerduty {}", p.service.as_deref().unwrap_or("")).trim_end(),
                json!({
                    "type": "PAGERDUTY_SERVICE_INTEGRATION",
                    "properties": [],
                    "auth": {"type": "TOKEN", "token": {"prefix": "Token token=", "token": key.trim()}},
                }),
                "PAGERDUTY_SERVICE_INTEGRATION",
                json!([{"key": "summary", "value": "{{ annotations.title.[0] }}"}]),
            ),
            _ => diags.push(error(
                format!("route `{}`: a pagerduty target needs `routing_key` for New Relic", route.name),
                Some(route.span.clone()),
                "New Relic's PagerDuty service integration is keyed by the routing key: set routing_key = var.pagerduty_key (a sensitive variable)",
            )),
        }
    }
    // A generic webhook gets the issue as JSON fields; a Slack incoming webhook only accepts a
    // body with `text` (or blocks/attachments) and answers 400 `no_text` otherwise (Slack docs,
    // "Sending messages using incoming webhooks" → "Handling errors"): `routes test` found the
    // generic payload refused by a Slack receiver.
    const GENERIC_PAYLOAD: &str =
        "{\"issue\": {{ json issueTitle }}, \"state\": {{ json state }}, \"url\": {{ json issuePageUrl }}}";
    const SLACK_PAYLOAD: &str = "{\"text\": {{ json issueTitle }}, \"attachments\": [{\"fallback\": {{ json issueTitle }}, \"text\": {{ json state }}, \"title\": \"Open in New Relic\", \"title_link\": {{ json issuePageUrl }}}]}";
    let mut webhook = |key: String, label: String, url: &str, payload: &str| {
        pair(
            &key,
            &label,
            json!({"type": "WEBHOOK", "properties": [{"key": "url", "value": url}]}),
            "WEBHOOK",
            json!([{"key": "payload", "value": payload}]),
        );
    };
    for (i, s) in route.slack.iter().enumerate() {
        match &s.webhook_url {
            Some(url) if url.starts_with("https://") || url.starts_with("http://") => {
                webhook(format!("slack{i}"), format!("slack {}", s.channel), url, SLACK_PAYLOAD)
            }
            _ => diags.push(error(
                format!("route `{}`: slack `{}` needs `webhook_url` for New Relic", route.name, s.channel),
                Some(route.span.clone()),
                "watchkeep posts New Relic notifications to Slack through an incoming webhook: set webhook_url = var.slack_webhook (a sensitive variable)",
            )),
        }
    }
    for (i, w) in route.webhook.iter().enumerate() {
        match &w.url {
            Some(url) if url.starts_with("https://") || url.starts_with("http://") => webhook(
                format!("webhook{i}"),
                format!("webhook {}", w.name.as_deref().unwrap_or("")).trim_end().to_string(),
                url,
                GENERIC_PAYLOAD,
            ),
            _ => diags.push(error(
                format!("route `{}`: a webhook target needs an http(s) `url` for New Relic", route.name),
                Some(route.span.clone()),
                "set url = var.webhook_url (a sensitive variable)",
            )),
        }
    }
    if channels.is_empty() {
        return;
    }
    let policies: Vec<String> = origins.iter().map(|o| policy_address(o)).collect();
    let mut depends_on = channels.clone();
    depends_on.extend(policies.iter().cloned());
    out.push(DesiredObject {
        address: format!("route.{}.newrelic_workflow", route.name),
        resource_type: "newrelic_workflow".into(),
        provider: PROVIDER.into(),
        origin: Some(origin.clone()),
        attrs: json!({
            "name": format!("watchkeep {}", route.name),
            "enabled": true,
            "mutingRulesHandling": "NOTIFY_ALL_ISSUES",
            "issuesFilter": {
                "name": format!("watchkeep {}", route.name),
                "type": "FILTER",
                "predicates": [{
                    "attribute": "labels.policyIds",
                    "operator": "EXACTLY_MATCHES",
                    "values": policies.iter().map(|p| format!("ref:{p}")).collect::<Vec<_>>(),
                }],
            },
            "destinationConfigurations": channels.iter().map(|c| json!({"channelId": format!("ref:{c}")})).collect::<Vec<_>>(),
        }),
        depends_on,
        span: Some(route.span.clone()),
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::compile;
    use crate::config::{load, LoadOptions};

    const INVENTORY: &str = r##"
variable "pd_key" {
  sensitive = true
  default   = "pd-secret-key-0001"
}
variable "hook" {
  sensitive = true
  default   = "https://hooks.example.com/T0/B0/secret"
}
provider "newrelic" { account_id = 1234567 }
inventory "prod" {
  reviewed_on = "2026-11-01"
  reviewed_by = "lead@example.com"
}
component "web-1" {
  inventory  = inventory.prod
  kind       = "server"
  provider   = "newrelic"
  identifier = { hostname = "web-1" }
}
component "orders-db" {
  inventory  = inventory.prod
  kind       = "database"
  provider   = "newrelic"
  identifier = { displayName = "orders-prod" }
}
component "api" {
  inventory  = inventory.prod
  kind       = "container"
  provider   = "newrelic"
  identifier = { containerName = "api" }
}
route "oncall" {
  pagerduty { routing_key = var.pd_key }
  email     { to = ["oncall@example.com", "lead@example.com"] }
}
route "chat" {
  slack {
    channel     = "#alerts"
    webhook_url = var.hook
  }
}
baseline "soc2" {
  scope = inventory.prod
  route = route.oncall
  override "disk" { above = 80 }
  override "network" { enabled = false }
}
alert "cpu_hot" {
  scope   = inventory.prod
  kinds   = ["server"]
  metric  = "cpu"
  above   = 95
  warning = 90
  for     = "15m"
  routes  = [route.oncall, route.chat]
}
dashboard "infra" { scope = inventory.prod }
"##;

    fn load_src(src: &str) -> crate::config::Config {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("main.hcl"), src).unwrap();
        load(&LoadOptions::new(dir.path())).unwrap_or_else(|d| panic!("{d:?}")).0
    }

    fn compiled(src: &str) -> Vec<DesiredObject> {
        compile(&load_src(src)).unwrap_or_else(|d| panic!("{d:?}"))
    }

    fn errors(src: &str) -> String {
        match compile(&load_src(src)) {
            Ok(objs) => panic!("compiled: {:?}", objs.iter().map(|o| &o.address).collect::<Vec<_>>()),
            Err(d) => format!("{d:?}"),
        }
    }

    fn get<'a>(objs: &'a [DesiredObject], address: &str) -> &'a DesiredObject {
        objs.iter().find(|o| o.address == address).unwrap_or_else(|| {
            panic!("no {address} in {:?}", objs.iter().map(|o| &o.address).collect::<Vec<_>>())
        })
    }

    fn count(objs: &[DesiredObject], resource_type: &str) -> usize {
        objs.iter().filter(|o| o.resource_type == resource_type).count()
    }

    #[test]
    fn inventory_compiles_to_policies_conditions_routes_and_a_dashboard() {
        let objs = compiled(INVENTORY);
        assert!(objs.iter().all(|o| o.provider == "newrelic"));
        // baseline (network disabled): server 4 + database 5 (with connections and uptime) +
        // container 3 (cpu, memory, uptime; disk is not applicable); alert: 1.
        assert_eq!(count(&objs, CONDITION), 13);
        assert_eq!(count(&objs, "newrelic_alert_policy"), 2);
        // oncall: email + pagerduty; chat: slack.
        assert_eq!(count(&objs, "newrelic_notification_destination"), 3);
        assert_eq!(count(&objs, "newrelic_notification_channel"), 3);
        assert_eq!(count(&objs, "newrelic_workflow"), 2);
        assert_eq!(count(&objs, "newrelic_dashboard"), 1);
        assert!(!objs.iter().any(|o| o.address == r#"baseline.soc2["web-1"].network"#));

        let cpu = get(&objs, r#"baseline.soc2["web-1"].cpu"#);
        assert_eq!(cpu.depends_on, vec!["baseline.soc2.newrelic_policy".to_string()]);
        let a = &cpu.attrs;
        assert_eq!(a["policyId"], "ref:baseline.soc2.newrelic_policy");
        assert_eq!(a["name"], "web-1 CPU usage (baseline.soc2)");
        assert_eq!(
            a["nrql"]["query"],
            "SELECT average(cpuPercent) FROM SystemSample WHERE `hostname` = 'web-1'"
        );
        assert_eq!(
            a["terms"],
            json!([{"priority": "CRITICAL", "operator": "ABOVE", "threshold": 85, "thresholdDuration": 300, "thresholdOccurrences": "ALL"}])
        );
        let desc = a["description"].as_str().unwrap();
        assert!(desc.starts_with("CPU usage on web-1 is above 85% for 5m."), "{desc}");
        assert!(desc.contains("Inventory: prod, reviewed 2026-11-01 by lead@example.com"), "{desc}");
        assert!(a.get("expiration").is_none());

        // The override, and a "below" metric.
        assert_eq!(get(&objs, r#"baseline.soc2["web-1"].disk"#).attrs["terms"][0]["threshold"], 80);
        let free = &get(&objs, r#"baseline.soc2["orders-db"].memory"#).attrs;
        assert_eq!(free["terms"][0]["operator"], "BELOW");
        assert!(free["nrql"]["query"]
            .as_str()
            .unwrap()
            .contains("FROM DatastoreSample WHERE `displayName` = 'orders-prod'"));

        // Host not reporting: the signal expiring after `for` opens an incident.
        let up = &get(&objs, r#"baseline.soc2["web-1"].uptime"#).attrs;
        assert_eq!(
            up["expiration"],
            json!({"expirationDuration": 120, "openViolationOnExpiration": true, "closeViolationsOnExpiration": false})
        );

        // alert: a warning term, `for` in seconds, its own policy.
        let hot = &get(&objs, r#"alert.cpu_hot["web-1"]"#).attrs;
        assert_eq!(hot["policyId"], "ref:alert.cpu_hot.newrelic_policy");
        assert_eq!(hot["terms"][0]["threshold"], 95);
        assert_eq!(hot["terms"][1]["priority"], "WARNING");
        assert_eq!(hot["terms"][1]["threshold"], 90);
        assert_eq!(hot["terms"][1]["thresholdDuration"], 900);
    }

    #[test]
    fn routes_become_destinations_channels_and_a_workflow_over_their_policies() {
        let objs = compiled(INVENTORY);
        let pd = get(&objs, "route.oncall.newrelic_pagerduty0_destination");
        assert_eq!(pd.attrs["type"], "PAGERDUTY_SERVICE_INTEGRATION");
        assert_eq!(pd.attrs["auth"]["token"]["token"], "pd-secret-key-0001");
        let email = get(&objs, "route.oncall.newrelic_email_destination");
        assert_eq!(email.attrs["properties"][0]["value"], "oncall@example.com,lead@example.com");
        let chan = get(&objs, "route.oncall.newrelic_pagerduty0_channel");
        assert_eq!(chan.attrs["destinationId"], "ref:route.oncall.newrelic_pagerduty0_destination");
        assert_eq!(chan.depends_on, vec!["route.oncall.newrelic_pagerduty0_destination".to_string()]);
        let slack = get(&objs, "route.chat.newrelic_slack0_destination");
        assert_eq!(slack.attrs["type"], "WEBHOOK");

        // oncall serves both blocks; chat only the alert.
        let oncall = get(&objs, "route.oncall.newrelic_workflow");
        assert_eq!(
            oncall.attrs["issuesFilter"]["predicates"][0]["values"],
            json!(["ref:alert.cpu_hot.newrelic_policy", "ref:baseline.soc2.newrelic_policy"])
        );
        assert_eq!(oncall.attrs["destinationConfigurations"].as_array().map(Vec::len), Some(2));
        for d in ["route.oncall.newrelic_email_channel", "baseline.soc2.newrelic_policy"] {
            assert!(oncall.depends_on.contains(&d.to_string()), "{:?}", oncall.depends_on);
        }
        let chat = get(&objs, "route.chat.newrelic_workflow");
        assert_eq!(
            chat.attrs["issuesFilter"]["predicates"][0]["values"],
            json!(["ref:alert.cpu_hot.newrelic_policy"])
        );
    }

    #[test]
    fn the_dashboard_charts_each_components_catalog_metrics() {
        let objs = compiled(INVENTORY);
        let d = &get(&objs, "dashboard.infra.newrelic").attrs;
        assert_eq!(d["name"], "infra");
        assert_eq!(
            d["description"],
            "Monitoring dashboard for 3 components of inventory prod (reviewed 2026-11-01 by lead@example.com)."
        );
        let widgets = d["pages"][0]["widgets"].as_array().unwrap();
        // The header and 5 + 6 + 4 charts (server; database with connections; container without disk).
        assert_eq!(widgets.len(), 16);
        assert_eq!(widgets[0]["visualization"]["id"], "viz.markdown");
        let cpu = widgets.iter().find(|w| w["title"] == "web-1: CPU usage").unwrap();
        assert_eq!(
            cpu["rawConfiguration"]["nrqlQueries"][0]["query"],
            "SELECT average(cpuPercent) FROM SystemSample WHERE `hostname` = 'web-1' TIMESERIES"
        );
    }

    #[test]
    fn user_metrics_need_an_nrql_mapping_and_durations_whole_minutes() {
        let base = r#"
component "web-1" {
  kind       = "server"
  provider   = "newrelic"
  identifier = { hostname = "web-1" }
}
"#;
        let ok = format!(
            r#"{base}
metric "queue_depth" {{
  unit     = "jobs"
  newrelic {{ nrql = "SELECT max(depth) FROM QueueSample WHERE $scope" }}
}}
alert "queue" {{
  components = [component.web-1]
  metric     = "queue_depth"
  above      = 1000
  for        = "10m"
}}
"#
        );
        let objs = compiled(&ok);
        let q = &get(&objs, r#"alert.queue["web-1"]"#).attrs;
        assert_eq!(q["nrql"]["query"], "SELECT max(depth) FROM QueueSample WHERE `hostname` = 'web-1'");
        assert_eq!(q["terms"][0]["thresholdDuration"], 600);
        // No route: a policy, no workflow.
        assert_eq!(count(&objs, "newrelic_workflow"), 0);
        assert_eq!(count(&objs, "newrelic_alert_policy"), 1);

        let unmapped = format!(
            r#"{base}
metric "queue_depth" {{
  unit = "jobs"
  datadog {{ query = "max:queue.depth{{$scope}}" }}
}}
alert "queue" {{
  components = [component.web-1]
  metric     = "queue_depth"
  above      = 1000
}}
"#
        );
        let e = errors(&unmapped);
        assert!(e.contains("has no `newrelic { nrql = ... }`"), "{e}");

        let seconds = format!(
            r#"{base}
alert "cpu" {{
  components = [component.web-1]
  metric     = "cpu"
  above      = 90
  for        = "90s"
}}
"#
        );
        let e = errors(&seconds);
        assert!(e.contains("cannot be evaluated by New Relic") && e.contains("whole minutes"), "{e}");
    }

    #[test]
    fn more_conditions_than_a_policy_holds_are_refused_at_the_block() {
        let mut src = String::from("baseline \"soc2\" {\n  kinds = [\"server\"]\n}\n");
        // 201 servers × 5 catalog metrics = 1,005 conditions in one policy.
        for i in 0..201 {
            src.push_str(&format!(
                "component \"h{i}\" {{\n  kind     = \"server\"\n  provider = \"newrelic\"\n}}\n"
            ));
        }
        let e = errors(&src);
        assert!(
            e.contains("`baseline.soc2` makes 1005 New Relic conditions") && e.contains("at most 1000"),
            "{e}"
        );
        assert!(e.contains("line: 1"), "located at the block: {e}");
        // 200 servers fit.
        let ok =
            src.replace("component \"h200\" {\n  kind     = \"server\"\n  provider = \"newrelic\"\n}\n", "");
        assert_eq!(count(&compiled(&ok), CONDITION), 1000);
    }

    #[test]
    fn a_pagerduty_target_without_a_routing_key_is_refused() {
        let src = r#"
component "web-1" {
  kind     = "server"
  provider = "newrelic"
}
route "oncall" {
  pagerduty { service = "payments" }
}
baseline "soc2" { route = route.oncall }
"#;
        let e = errors(src);
        assert!(e.contains("needs `routing_key` for New Relic"), "{e}");
    }
}
