//! `watchkeep coverage`: whether every in-scope component has an alert for every required
//! metric, set tightly enough and routed to someone (SOC 2 CC7.1), whether each inventory was
//! reviewed recently, whether each route used has an owner and a contact list, and — with
//! `--live` — whether the vendors receive data from the components, see hosts the inventory
//! lacks, or hold managed alerts in No Data.
//!
//! From the configuration alone no vendor is called: a cell (component × metric) is covered by
//! an `alert` on that metric whose scope, kinds and components match the component, or by a
//! `baseline` matching it when the catalog has a row for the metric on the component's kind and
//! vendor (and no `override "<metric>" { enabled = false }`), with thresholds after catalog
//! defaults exactly as the compilers apply them. The configuration must compile; each covering
//! instance is checked against the compiled objects' addresses. Each run is kept as a validation
//! record beside the state, like `drift`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use watchkeep_provider::{ComponentProbe, Observation, SeenEntity};

use super::providers::{configure, stats};
use super::report::{
    ComponentCoverage, ComponentLiveness, CoverageGap, CoverageReport, CoverageRequirements, CoveringAlert,
    EscalationContact, InventoryReview, LiveCoverage, MetricCoverage, NoDataEntry, RouteContact,
    UnknownEntity, VendorObservation,
};
use super::{Error, Vars, Workspace};
use crate::compile::catalog::{self, Applicability, Defaults, CORE_METRICS};
use crate::config::{Component, Config, CoverageSettings, Route, Threshold};
use crate::diag::{Diagnostic, Diagnostics};
use crate::state::{now_rfc3339, State};

/// State resource types that are alerts (what `Provider::observe` is asked about for No Data):
/// Datadog monitors, CloudWatch metric and composite alarms, New Relic NRQL conditions.
pub const ALERT_TYPES: &[&str] =
    &["datadog_monitor", "cloudwatch_metric_alarm", "cloudwatch_composite_alarm", "newrelic_nrql_condition"];

/// What `coverage` is asked for.
#[derive(Debug, Clone)]
pub struct CoverageInput {
    pub vars: Vars,
    /// Ask the vendors too (`--live`).
    pub live: bool,
    /// How far back "reporting" looks with `--live` (`1h`).
    pub window: String,
    /// The day reviews are measured from; today (UTC) when `None`.
    pub today: Option<chrono::NaiveDate>,
}

/// The report, and where its validation record was written (or why it could not be).
#[derive(Debug)]
pub struct CoverageRun {
    pub report: CoverageReport,
    pub record: std::io::Result<PathBuf>,
}

pub async fn coverage(ws: &Workspace, input: &CoverageInput) -> Result<CoverageRun, Error> {
    let window = crate::compile::duration_seconds(&input.window).ok_or_else(|| {
        Error::msg(format!(
            "invalid --window \"{}\"\nhint: write a whole number followed by s, m, h or d, e.g. --window 1h",
            input.window
        ))
    })?;
    let (cfg, warnings) = ws.load(&input.vars)?;
    ws.print_warnings(&warnings, &cfg.files);
    let problems = check(&cfg);
    if problems.has_errors() {
        return Err(Error::Diagnostics(problems, cfg.files.clone()));
    }
    let (compiled, compile_warnings) =
        crate::compile::compile_with_warnings(&cfg).map_err(|d| Error::Diagnostics(d, cfg.files.clone()))?;
    // A baseline that compiles to nothing on some kind is said here too, not only as gaps.
    ws.print_warnings(&compile_warnings, &cfg.files);
    let addresses: BTreeSet<String> = compiled.into_iter().map(|o| o.address).collect();
    let today = input.today.unwrap_or_else(|| chrono::Utc::now().date_naive());
    let mut report = from_config(&cfg, &addresses, today);

    let backend = ws.backend(Some(&cfg));
    // State is needed for --live (the managed alerts); otherwise only for the redaction key, so
    // an unreadable state file does not stop a configuration-only check.
    let state = if input.live {
        backend.load()?.unwrap_or_else(State::new)
    } else {
        backend.load().ok().flatten().unwrap_or_default()
    };
    if input.live {
        let vendors: BTreeSet<String> = cfg
            .components
            .values()
            .map(|c| c.provider.clone())
            .filter(|p| crate::vendors::get(p).is_some())
            .collect();
        let providers = configure(ws, Some(&cfg), &vendors)?;
        let mut live = LiveCoverage { window: input.window.clone(), vendors: Vec::new() };
        for (vendor, provider) in &providers {
            let comps: Vec<&Component> = cfg.components.values().filter(|c| &c.provider == vendor).collect();
            let probes = probes(&comps);
            let alerts: Vec<(String, String)> = state
                .resources
                .iter()
                .filter(|r| &r.provider == vendor && ALERT_TYPES.contains(&r.resource_type.as_str()))
                .map(|r| (r.resource_type.clone(), r.id.clone()))
                .collect();
            let obs = provider
                .observe(&probes, &alerts, Duration::from_secs(window))
                .await
                .map_err(|e| Error::msg(format!("coverage --live: {vendor} could not be asked: {e}")))?;
            live.vendors.push(observation(vendor, &comps, obs, &state));
        }
        report.gaps.extend(live_gaps(&live));
        report.live = Some(live);
        report.stats = stats(ws, &providers);
    } else {
        report.stats = stats(ws, &BTreeMap::new());
    }
    report.passed = report.gaps.is_empty();
    // Values of sensitive variables (a route's address, say) never reach the output or the record.
    let redactor = super::prepare::redactor(Some(&cfg), &state);
    if !redactor.is_empty() {
        let masked = serde_json::to_value(&report).map(|v| redactor.value(&v));
        if let Ok(r) = masked.and_then(serde_json::from_value) {
            report = r;
        }
    }

    let summary = if report.passed {
        let cells: usize = report.components.iter().map(|c| c.metrics.len()).sum();
        format!("coverage complete: {} components, {cells} required metrics", report.components.len())
    } else {
        format!("coverage: {} gaps", report.gaps.len())
    };
    let vdir = backend.side_dir("validations");
    let record =
        super::validations::append_in(backend.folder(&vdir), "coverage", report.passed, &summary, &report);
    Ok(CoverageRun { report, record })
}

/// Metric names in the `coverage` block that neither the catalog nor a `metric` block knows,
/// each an error at the attribute with the closest names (the configuration layer cannot know
/// the catalog, so this runs here, and in `validate`).
pub fn check(cfg: &Config) -> Diagnostics {
    let mut diags = Diagnostics(Vec::new());
    let Some(cov) = &cfg.coverage else { return diags };
    let mut known: Vec<&str> = catalog::all_metric_names();
    known.extend(cfg.metrics.keys().map(String::as_str));
    let mut unknown = |metric: &str, span: Option<&crate::config::Span>, what: &str| {
        if known.contains(&metric) {
            return;
        }
        let hint = match crate::config::suggest::closest(metric, known.iter().copied()) {
            Some(c) => format!("did you mean `{c}`? known metrics: {}", known.join(", ")),
            None => format!("known metrics: {} (or declare a `metric \"{metric}\"` block)", known.join(", ")),
        };
        diags.push(
            Diagnostic::error(format!("unknown metric `{metric}` in {what}"))
                .with_span(span.cloned())
                .with_hint(hint),
        );
    };
    for (kind, metrics) in &cov.require {
        for m in metrics {
            unknown(m, cov.require_spans.get(kind), &format!("`require \"{kind}\"`"));
        }
    }
    for m in cov.max_threshold.keys() {
        unknown(m, cov.max_threshold_span.as_ref(), "`max_threshold`");
    }
    diags
}

/// The metrics required of a kind.
fn required<'a>(cov: &'a CoverageSettings, kind: &str) -> Vec<&'a str> {
    match cov.require.get(kind) {
        Some(list) => list.iter().map(String::as_str).collect(),
        None => CORE_METRICS.to_vec(),
    }
}

/// The coverage of the configuration, without `live` and `stats`.
pub fn from_config(cfg: &Config, compiled: &BTreeSet<String>, today: chrono::NaiveDate) -> CoverageReport {
    let defaults = CoverageSettings::default();
    let cov = cfg.coverage.as_ref().unwrap_or(&defaults);
    let mut gaps = Vec::new();
    let mut components = Vec::new();
    for comp in cfg.components.values() {
        let mut cells = Vec::new();
        for metric in required(cov, &comp.kind) {
            let cell = cell(cfg, cov, comp, metric, compiled);
            if cell.status == "gap" {
                for (r, category) in cell.reasons.iter().zip(gap_categories(&cell)) {
                    gaps.push(CoverageGap {
                        category: category.to_string(),
                        subject: comp.name.clone(),
                        metric: Some(metric.to_string()),
                        vendor: Some(comp.provider.clone()),
                        message: r.clone(),
                    });
                }
            }
            cells.push(cell);
        }
        components.push(ComponentCoverage {
            name: comp.name.clone(),
            kind: comp.kind.clone(),
            provider: comp.provider.clone(),
            inventory: comp.inventory.clone(),
            metrics: cells,
        });
    }
    let inventories: Vec<InventoryReview> =
        cfg.inventories.values().map(|inv| review(inv, cov, today, &mut gaps)).collect();
    let contacts = contacts(cfg, &mut gaps);
    CoverageReport {
        format_version: 1,
        checked_at: now_rfc3339(),
        passed: gaps.is_empty(),
        requirements: CoverageRequirements {
            review_interval: cov.review_interval.clone(),
            metrics: cov.require.clone(),
            default_metrics: CORE_METRICS.iter().map(|m| m.to_string()).collect(),
            max_threshold: cov.max_threshold.clone(),
            max_window: cov.max_window.as_ref().map(|(t, _)| t.clone()),
            severities: cov.severities.clone(),
        },
        gaps,
        components,
        inventories,
        contacts,
        live: None,
        stats: super::Stats {
            api_calls: 0,
            rate_limited: 0,
            rate_wait_ms: 0,
            wall_ms: 0,
            peak_rss_bytes: None,
        },
    }
}

/// The category of each reason a gap cell gives, in the same order as its `reasons`: read from
/// the covering instances' own problems (never from the text around them, which holds block
/// names).
fn gap_categories(cell: &MetricCoverage) -> Vec<&'static str> {
    if cell.covered_by.is_empty() {
        return cell.reasons.iter().map(|_| "missing").collect();
    }
    cell.covered_by
        .iter()
        .flat_map(|c| c.problems.iter())
        .map(|p| match p {
            p if p.starts_with("alerts no one") => "unrouted",
            p if p.starts_with("threshold ") || p.starts_with("has no threshold") => "threshold",
            p if p.starts_with("evaluation window ") => "window",
            p if p.starts_with("severity ") => "severity",
            _ => "missing",
        })
        .collect()
}

fn problem(origin_address: &str, what: String) -> String {
    format!("{origin_address}: {what}")
}

/// One component × metric.
fn cell(
    cfg: &Config,
    cov: &CoverageSettings,
    comp: &Component,
    metric: &str,
    compiled: &BTreeSet<String>,
) -> MetricCoverage {
    let app = catalog::applicability(metric, &comp.kind, &comp.provider);
    let row = match app {
        Applicability::Row(r) => Some(r.defaults),
        _ => None,
    };
    let mut covered_by = Vec::new();
    for alert in cfg.alerts.values() {
        if alert.metric != metric
            || !crate::compile::selects(comp, alert.scope.as_deref(), &alert.kinds, &alert.components)
        {
            continue;
        }
        let origin = format!("alert.{}", alert.name);
        let address = format!("{origin}[\"{}\"]", comp.name);
        covered_by.push(covering(
            cfg,
            cov,
            origin,
            address,
            &alert.threshold,
            row,
            &alert.routes,
            metric,
            compiled,
        ));
    }
    if row.is_some() {
        for base in cfg.baselines.values() {
            if !crate::compile::selects(comp, base.scope.as_deref(), &base.kinds, &[]) {
                continue;
            }
            let ov = base.overrides.get(metric);
            if ov.and_then(|o| o.enabled) == Some(false) {
                continue;
            }
            let origin = format!("baseline.{}", base.name);
            let address = format!("{origin}[\"{}\"].{metric}", comp.name);
            let t = ov.map(|o| o.threshold.clone()).unwrap_or_default();
            covered_by.push(covering(cfg, cov, origin, address, &t, row, &base.routes, metric, compiled));
        }
    }
    let (status, reasons) = if covered_by.iter().any(|c| c.problems.is_empty()) {
        ("covered", Vec::new())
    } else if !covered_by.is_empty() {
        (
            "gap",
            covered_by
                .iter()
                .flat_map(|c| c.problems.iter().map(|p| problem(&c.address, p.clone())))
                .collect(),
        )
    } else {
        match app {
            Applicability::NotApplicable(reason) => ("not_applicable", vec![reason.to_string()]),
            Applicability::Row(_) => (
                "gap",
                vec![format!("no alert or baseline covers {metric} of {} ({})", comp.name, comp.kind)],
            ),
            Applicability::Unknown => (
                "gap",
                vec![format!(
                    "no alert covers {metric} of {} and the catalog has no {metric} check for {} on {}: write an `alert` on a `metric` block for it, or set what a {} needs with coverage {{ require \"{}\" {{ metrics = [...] }} }}",
                    comp.name, comp.kind, comp.provider, comp.kind, comp.kind
                )],
            ),
        }
    };
    MetricCoverage { metric: metric.to_string(), status: status.to_string(), reasons, covered_by }
}

/// One alert or baseline instance on a cell, after catalog defaults, with what keeps it from
/// covering the cell.
#[allow(clippy::too_many_arguments)]
fn covering(
    cfg: &Config,
    cov: &CoverageSettings,
    origin: String,
    address: String,
    t: &Threshold,
    row: Option<Defaults>,
    routes: &[String],
    metric: &str,
    compiled: &BTreeSet<String>,
) -> CoveringAlert {
    // The same defaults as the compilers' `expand::resolve_base`.
    let (direction, threshold, threshold_source) = match (t.above, t.below, row) {
        (Some(v), _, _) => ("above", v, "explicit"),
        (None, Some(v), _) => ("below", v, "explicit"),
        (None, None, Some(d)) => (if d.above { "above" } else { "below" }, d.critical, "catalog default"),
        (None, None, None) => ("above", f64::NAN, "none"),
    };
    let (window, window_source) = match (&t.for_duration, row) {
        (Some(w), _) => (w.clone(), "explicit"),
        (None, Some(d)) => (d.for_duration.to_string(), "catalog default"),
        (None, None) => ("5m".to_string(), "engine default"),
    };
    let (severity, severity_source) = match (&t.severity, row) {
        (Some(s), _) => (s.clone(), "explicit"),
        (None, Some(d)) => (d.severity.to_string(), "catalog default"),
        (None, None) => ("high".to_string(), "engine default"),
    };
    let mut problems = Vec::new();
    if !compiled.contains(&address) {
        problems.push("compiles to no vendor object".to_string());
    }
    if threshold.is_nan() {
        problems.push("has no threshold".to_string());
    } else if let Some(max) = cov.max_threshold.get(metric) {
        let too_loose = if direction == "above" { threshold > *max } else { threshold < *max };
        if too_loose {
            let (cmp, bound) = if direction == "above" { ("above", "highest") } else { ("below", "lowest") };
            problems.push(format!(
                "threshold {cmp} {} ({threshold_source}) is looser than max_threshold {} (the {bound} allowed)",
                num(threshold),
                num(*max)
            ));
        }
    }
    if let Some((max_text, max_secs)) = &cov.max_window {
        if crate::compile::duration_seconds(&window).is_some_and(|s| s > *max_secs) {
            problems.push(format!(
                "evaluation window {window} ({window_source}) is longer than max_window {max_text}"
            ));
        }
    }
    if !cov.severities.is_empty() && !cov.severities.contains(&severity) {
        problems.push(format!(
            "severity {severity} ({severity_source}) is not allowed (allowed: {})",
            cov.severities.join(", ")
        ));
    }
    let reachable: Vec<&Route> =
        routes.iter().filter_map(|r| cfg.routes.get(r)).filter(|r| targets(r) > 0).collect();
    if reachable.is_empty() {
        problems.push("alerts no one: no route with a target".to_string());
    }
    CoveringAlert {
        origin,
        address,
        direction: direction.to_string(),
        threshold: if threshold.is_nan() { 0.0 } else { threshold },
        threshold_source: threshold_source.to_string(),
        window,
        window_source: window_source.to_string(),
        severity,
        severity_source: severity_source.to_string(),
        routes: routes.to_vec(),
        problems,
    }
}

fn targets(r: &Route) -> usize {
    r.pagerduty.len() + r.slack.len() + r.email.len() + r.webhook.len()
}

fn num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// An inventory's review against the interval; a gap when missing or too old.
fn review(
    inv: &crate::config::Inventory,
    cov: &CoverageSettings,
    today: chrono::NaiveDate,
    gaps: &mut Vec<CoverageGap>,
) -> InventoryReview {
    let date = inv.reviewed_on.as_deref().and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
    let age_days = date.map(|d| (today - d).num_days());
    let max_days = cov.review_interval_seconds.div_ceil(86_400) as i64;
    // A review dated after today is not evidence of a review.
    let current = age_days.is_some_and(|a| (0..=max_days).contains(&a));
    if !current {
        let message = match (&inv.reviewed_on, age_days) {
            (Some(d), Some(a)) if a < 0 => format!(
                "inventory `{}` has reviewed_on = \"{d}\", {} day(s) in the future: record the day it was actually reviewed",
                inv.name, -a
            ),
            (Some(d), Some(a)) => format!(
                "inventory `{}` was last reviewed on {d}, {a} days ago: longer than the review interval {}; review it and update `reviewed_on`",
                inv.name, cov.review_interval
            ),
            _ => format!(
                "inventory `{}` has no `reviewed_on`: review it and record the date (reviewed_on = \"YYYY-MM-DD\")",
                inv.name
            ),
        };
        gaps.push(CoverageGap {
            category: "review".to_string(),
            subject: format!("inventory.{}", inv.name),
            metric: None,
            vendor: None,
            message,
        });
    }
    InventoryReview {
        name: inv.name.clone(),
        reviewed_on: inv.reviewed_on.clone(),
        reviewed_by: inv.reviewed_by.clone(),
        age_days,
        current,
    }
}

/// Every route's contact list; a route some alert or baseline uses without an owner or an
/// escalation level is a gap.
fn contacts(cfg: &Config, gaps: &mut Vec<CoverageGap>) -> Vec<RouteContact> {
    let mut used: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for a in cfg.alerts.values() {
        for r in &a.routes {
            used.entry(r).or_default().push(format!("alert.{}", a.name));
        }
    }
    for b in cfg.baselines.values() {
        for r in &b.routes {
            used.entry(r).or_default().push(format!("baseline.{}", b.name));
        }
    }
    let mut out = Vec::new();
    for route in cfg.routes.values() {
        let used_by = used.get(route.name.as_str()).cloned().unwrap_or_default();
        if !used_by.is_empty() {
            let subject = format!("route.{}", route.name);
            if route.owner.is_none() {
                gaps.push(CoverageGap {
                    category: "route_owner".to_string(),
                    subject: subject.clone(),
                    metric: None,
                    vendor: None,
                    message: format!(
                        "route `{}` (used by {}) has no owner: set owner = \"<who answers for it>\"",
                        route.name,
                        used_by.join(", ")
                    ),
                });
            }
            if route.escalation.is_empty() {
                gaps.push(CoverageGap {
                    category: "route_contact".to_string(),
                    subject,
                    metric: None,
                    vendor: None,
                    message: format!(
                        "route `{}` (used by {}) has no contact list: add `escalation` blocks, each with `after` and a `rotation` or `people`",
                        route.name,
                        used_by.join(", ")
                    ),
                });
            }
        }
        let mut t = Vec::new();
        for p in &route.pagerduty {
            t.push(format!("pagerduty service {}", p.service.as_deref().unwrap_or(&route.name)));
        }
        for s in &route.slack {
            t.push(format!("slack #{}", s.channel.trim_start_matches('#')));
        }
        for e in &route.email {
            t.push(format!("email {}", e.to.join(", ")));
        }
        for w in &route.webhook {
            t.push(format!("webhook {}", w.name.as_deref().unwrap_or(&route.name)));
        }
        out.push(RouteContact {
            route: route.name.clone(),
            owner: route.owner.clone(),
            targets: t,
            escalation: route
                .escalation
                .iter()
                .map(|l| EscalationContact {
                    after: l.after.clone(),
                    rotation: l.rotation.clone(),
                    people: l.people.clone(),
                })
                .collect(),
            used_by,
        });
    }
    out
}

/// The probes `observe` is asked about: one per component, as the inventory identifies it.
pub fn probes(comps: &[&Component]) -> Vec<ComponentProbe> {
    comps
        .iter()
        .map(|c| ComponentProbe {
            name: c.name.clone(),
            kind: c.kind.clone(),
            identifier: c.identifier.clone(),
        })
        .collect()
}

/// Whether a vendor's entity is this component: a shared identifier key with the same value,
/// or the entity's name equal to the component's name or one of its identifier values (host
/// names compared without case, as DNS does).
pub fn same_entity(seen: &SeenEntity, comp: &Component) -> bool {
    let eq = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    seen.identifier.iter().any(|(k, v)| comp.identifier.get(k).is_some_and(|cv| eq(cv, v)))
        || eq(&seen.name, &comp.name)
        || comp.identifier.values().any(|v| eq(v, &seen.name))
}

/// One vendor's answer, matched against the inventory and state.
pub fn observation(
    vendor: &str,
    comps: &[&Component],
    obs: Option<Observation>,
    state: &State,
) -> VendorObservation {
    let Some(obs) = obs else {
        return VendorObservation {
            vendor: vendor.to_string(),
            status: "cannot_tell".to_string(),
            components: Vec::new(),
            unknown: Vec::new(),
            no_data: Vec::new(),
        };
    };
    let components = obs
        .components
        .iter()
        .map(|r| ComponentLiveness {
            component: r.component.clone(),
            reporting: r.reporting,
            last_reported: r.last_reported.clone(),
            detail: r.detail.clone(),
        })
        .collect();
    let unknown = obs
        .seen
        .iter()
        .filter(|s| !comps.iter().any(|c| same_entity(s, c)))
        .map(|s| UnknownEntity {
            name: s.name.clone(),
            kind: s.kind.clone(),
            identifier: s.identifier.clone(),
            last_reported: s.last_reported.clone(),
        })
        .collect();
    let no_data = obs
        .no_data
        .iter()
        .map(|n| NoDataEntry {
            address: state
                .resources
                .iter()
                .find(|r| r.resource_type == n.resource_type && r.id == n.id)
                .map(|r| r.address.clone()),
            resource_type: n.resource_type.clone(),
            id: n.id.clone(),
            state: n.state.clone(),
            since: n.since.clone(),
        })
        .collect();
    VendorObservation {
        vendor: vendor.to_string(),
        status: "observed".to_string(),
        components,
        unknown,
        no_data,
    }
}

/// The gaps of what the vendors said.
pub fn live_gaps(live: &LiveCoverage) -> Vec<CoverageGap> {
    let mut gaps = Vec::new();
    for v in &live.vendors {
        let gap = |category: &str, subject: String, message: String| CoverageGap {
            category: category.to_string(),
            subject,
            metric: None,
            vendor: Some(v.vendor.clone()),
            message,
        };
        for c in v.components.iter().filter(|c| !c.reporting) {
            let last = c.last_reported.as_deref().map(|t| format!(", last reported {t}")).unwrap_or_default();
            gaps.push(gap(
                "not_reporting",
                c.component.clone(),
                format!(
                    "`{}` sends {} no data within {}{last} ({})",
                    c.component, v.vendor, live.window, c.detail
                ),
            ));
        }
        for u in &v.unknown {
            let id: Vec<String> = u.identifier.iter().map(|(k, v)| format!("{k}={v}")).collect();
            gaps.push(gap(
                "unknown_component",
                u.name.clone(),
                format!(
                    "{} sees `{}`{} reporting, but no inventory lists it (CC7.1 unknown component): add it to an inventory, or stop it reporting",
                    v.vendor,
                    u.name,
                    if id.is_empty() { String::new() } else { format!(" ({})", id.join(", ")) }
                ),
            ));
        }
        for n in &v.no_data {
            let subject = n.address.clone().unwrap_or_else(|| format!("{} {}", n.resource_type, n.id));
            let since = n.since.as_deref().map(|s| format!(" since {s}")).unwrap_or_default();
            gaps.push(gap(
                "no_data",
                subject.clone(),
                format!(
                    "`{subject}` is in {}{since} on {}: it alerts on nothing until data returns",
                    n.state, v.vendor
                ),
            ));
        }
    }
    gaps
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Span;

    fn comp(name: &str, ident: &[(&str, &str)]) -> Component {
        Component {
            name: name.to_string(),
            inventory: Some("prod".to_string()),
            kind: "server".to_string(),
            provider: "datadog".to_string(),
            environment: None,
            owner: None,
            identifier: ident.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            tags: BTreeMap::new(),
            span: Span::default(),
        }
    }

    fn seen(name: &str, ident: &[(&str, &str)]) -> SeenEntity {
        SeenEntity {
            name: name.to_string(),
            kind: Some("server".to_string()),
            identifier: ident.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            last_reported: Some("2026-12-04T10:00:00Z".to_string()),
        }
    }

    #[test]
    fn probes_carry_name_kind_and_identifier() {
        let a = comp("web-1", &[("host", "web-1.internal")]);
        let b = comp("db-1", &[("InstanceId", "i-0abc")]);
        let p = probes(&[&a, &b]);
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].name, "web-1");
        assert_eq!(p[0].kind, "server");
        assert_eq!(p[0].identifier.get("host").map(String::as_str), Some("web-1.internal"));
        assert_eq!(p[1].identifier.get("InstanceId").map(String::as_str), Some("i-0abc"));
    }

    #[test]
    fn seen_entities_match_by_identifier_or_name() {
        let web = comp("web-1", &[("host", "web-1")]);
        let db = comp("orders-db", &[("InstanceId", "i-0abc")]);
        assert!(same_entity(&seen("web-1", &[("host", "web-1")]), &web));
        assert!(same_entity(&seen("WEB-1", &[]), &web), "host names compare without case");
        assert!(same_entity(&seen("i-0abc", &[]), &db), "the vendor's name is the identifier value");
        assert!(same_entity(&seen("orders", &[("InstanceId", "i-0abc")]), &db));
        assert!(!same_entity(&seen("web-3", &[("host", "web-3")]), &web));
        assert!(!same_entity(&seen("i-0abd", &[("InstanceId", "i-0abd")]), &db));
        // The same value under another key is another thing.
        assert!(!same_entity(&seen("x", &[("cluster", "web-1")]), &comp("y", &[("host", "web-1")])));
    }

    #[test]
    fn observation_names_unknown_hosts_no_data_alerts_and_silent_components() {
        let web1 = comp("web-1", &[("host", "web-1")]);
        let web2 = comp("web-2", &[("host", "web-2")]);
        let mut state = State::new();
        state.resources.push(crate::state::ResourceState {
            address: "baseline.soc2[\"web-2\"].cpu".to_string(),
            resource_type: "datadog_monitor".to_string(),
            provider: "datadog".to_string(),
            id: "42".to_string(),
            origin: Some("baseline.soc2".to_string()),
            attrs: serde_json::json!({}),
            vendor_modified: None,
            changed_at: "2026-12-01T00:00:00Z".to_string(),
            sensitive_paths: Vec::new(),
            depends_on: Vec::new(),
            configured: BTreeMap::new(),
        });
        let obs = Observation {
            components: vec![
                watchkeep_provider::ComponentReport {
                    component: "web-1".to_string(),
                    reporting: true,
                    last_reported: Some("2026-12-04T10:00:00Z".to_string()),
                    detail: "GET /api/v1/hosts".to_string(),
                },
                watchkeep_provider::ComponentReport {
                    component: "web-2".to_string(),
                    reporting: false,
                    last_reported: Some("2026-11-01T00:00:00Z".to_string()),
                    detail: "GET /api/v1/hosts".to_string(),
                },
            ],
            seen: vec![seen("web-1", &[("host", "web-1")]), seen("web-3", &[("host", "web-3")])],
            no_data: vec![watchkeep_provider::NoDataAlert {
                resource_type: "datadog_monitor".to_string(),
                id: "42".to_string(),
                state: "No Data".to_string(),
                since: None,
            }],
            api_calls: 2,
        };
        let v = observation("datadog", &[&web1, &web2], Some(obs), &state);
        assert_eq!(v.status, "observed");
        assert_eq!(v.unknown.iter().map(|u| u.name.as_str()).collect::<Vec<_>>(), ["web-3"]);
        assert_eq!(v.no_data[0].address.as_deref(), Some("baseline.soc2[\"web-2\"].cpu"));
        let live = LiveCoverage { window: "1h".to_string(), vendors: vec![v] };
        let gaps = live_gaps(&live);
        let cats: Vec<(&str, &str)> =
            gaps.iter().map(|g| (g.category.as_str(), g.subject.as_str())).collect();
        assert_eq!(
            cats,
            [
                ("not_reporting", "web-2"),
                ("unknown_component", "web-3"),
                ("no_data", "baseline.soc2[\"web-2\"].cpu")
            ]
        );
        let none = observation("cloudwatch", &[], None, &state);
        assert_eq!(none.status, "cannot_tell");
        assert!(live_gaps(&LiveCoverage { window: "1h".into(), vendors: vec![none] }).is_empty());
    }

    fn report(main: &str, today: &str) -> CoverageReport {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("main.hcl"), main).unwrap();
        let (cfg, _) = crate::config::load(&crate::config::LoadOptions::new(dir.path())).expect("loads");
        let compiled =
            crate::compile::compile(&cfg).expect("compiles").into_iter().map(|o| o.address).collect();
        from_config(&cfg, &compiled, chrono::NaiveDate::parse_from_str(today, "%Y-%m-%d").unwrap())
    }

    const BASE: &str = r#"
inventory "prod" {
  reviewed_on = "2026-11-01"
  component "web-1" {
    kind       = "server"
    provider   = "datadog"
    identifier = { host = "web-1" }
  }
}
component "loose-1" {
  kind       = "server"
  provider   = "datadog"
  identifier = { host = "loose-1" }
}
route "oncall" {
  owner = "lead@example.com"
  email {
    to = ["oncall@example.com"]
  }
  escalation {
    after    = "0m"
    rotation = "primary"
  }
}
"#;

    fn cell<'r>(r: &'r CoverageReport, comp: &str, metric: &str) -> &'r MetricCoverage {
        r.components
            .iter()
            .find(|c| c.name == comp)
            .and_then(|c| c.metrics.iter().find(|m| m.metric == metric))
            .unwrap_or_else(|| panic!("{comp} {metric}"))
    }

    #[test]
    fn baselines_cover_their_scope_and_disabled_metrics_are_gaps() {
        let r = report(
            &format!(
                "{BASE}\nbaseline \"soc2\" {{\n  scope = inventory.prod\n  route = route.oncall\n  override \"disk\" {{\n    enabled = false\n  }}\n  override \"cpu\" {{\n    above = 80\n    for = \"15m\"\n  }}\n}}\n"
            ),
            "2026-12-01",
        );
        let cpu = cell(&r, "web-1", "cpu");
        assert_eq!(cpu.status, "covered");
        let c = &cpu.covered_by[0];
        assert_eq!(c.address, "baseline.soc2[\"web-1\"].cpu");
        assert_eq!((c.threshold, c.threshold_source.as_str()), (80.0, "explicit"));
        assert_eq!((c.window.as_str(), c.window_source.as_str()), ("15m", "explicit"));
        assert_eq!(c.severity_source, "catalog default");
        assert_eq!(cell(&r, "web-1", "memory").covered_by[0].threshold_source, "catalog default");
        assert_eq!(cell(&r, "web-1", "disk").status, "gap");
        // A component in no inventory is listed, and a baseline scoped to one does not cover it.
        let loose = r.components.iter().find(|c| c.name == "loose-1").unwrap();
        assert_eq!(loose.inventory, None);
        assert!(loose.metrics.iter().all(|m| m.status == "gap"));
        let named: Vec<(&str, Option<&str>)> =
            r.gaps.iter().map(|g| (g.subject.as_str(), g.metric.as_deref())).collect();
        assert!(named.contains(&("web-1", Some("disk"))), "{named:?}");
        assert_eq!(named.iter().filter(|(s, _)| *s == "loose-1").count(), 5, "{named:?}");
        assert!(!r.passed);
        assert_eq!(r.inventories[0].age_days, Some(30));
        assert!(r.inventories[0].current);
        assert_eq!(r.contacts[0].used_by, ["baseline.soc2"]);
    }

    #[test]
    fn required_metrics_and_review_interval_come_from_the_coverage_block() {
        let r = report(
            &format!(
                "{BASE}\ncoverage {{\n  review_interval = \"7d\"\n  require \"server\" {{\n    metrics = [\"cpu\"]\n  }}\n}}\nalert \"cpu\" {{\n  metric = \"cpu\"\n  above = 90\n  route = route.oncall\n}}\n"
            ),
            "2026-11-09",
        );
        assert_eq!(r.components.iter().map(|c| c.metrics.len()).sum::<usize>(), 2);
        // The alert has no scope: it covers the component outside any inventory too.
        assert_eq!(cell(&r, "loose-1", "cpu").status, "covered");
        assert_eq!(cell(&r, "loose-1", "cpu").covered_by[0].window_source, "catalog default");
        let cats: Vec<&str> = r.gaps.iter().map(|g| g.category.as_str()).collect();
        assert_eq!(cats, ["review"]);
        assert_eq!(r.inventories[0].age_days, Some(8));
        assert_eq!(r.requirements.metrics.get("server").unwrap(), &["cpu"]);
        // Reviewed "tomorrow": not evidence of a review.
        let ahead = report(&BASE.replace("2026-11-01", "2026-11-10"), "2026-11-09");
        let review: Vec<&CoverageGap> = ahead.gaps.iter().filter(|g| g.category == "review").collect();
        assert_eq!(review.len(), 1);
        assert!(review[0].message.contains("1 day(s) in the future"), "{}", review[0].message);
    }

    #[test]
    fn a_kind_the_catalog_does_not_know_for_a_vendor_is_a_gap_unless_an_alert_covers_it() {
        // `custom` components have no catalog rows on any vendor: only a custom alert covers them.
        let main = format!(
            "{BASE}\ncomponent \"queue\" {{\n  kind = \"custom\"\n  provider = \"datadog\"\n  identifier = {{ host = \"queue\" }}\n}}\nmetric \"depth\" {{\n  datadog {{\n    query = \"avg:rabbitmq.queue.messages{{$scope}}\"\n  }}\n}}\ncoverage {{\n  require \"custom\" {{\n    metrics = [\"cpu\", \"depth\"]\n  }}\n}}\nalert \"depth\" {{\n  components = [component.queue]\n  metric = metric.depth\n  above = 1000\n  route = route.oncall\n}}\n"
        );
        let r = report(&main, "2026-11-02");
        let cpu = cell(&r, "queue", "cpu");
        assert_eq!(cpu.status, "gap");
        assert!(
            cpu.reasons[0].contains("the catalog has no cpu check for custom on datadog"),
            "{:?}",
            cpu.reasons
        );
        let depth = cell(&r, "queue", "depth");
        assert_eq!(depth.status, "covered");
        assert_eq!(depth.covered_by[0].window_source, "engine default");
    }

    #[test]
    fn gap_categories_come_from_the_problem_not_the_block_name() {
        let r = report(
            &format!(
                "{BASE}\ncoverage {{\n  max_window = \"10m\"\n  require \"server\" {{\n    metrics = [\"cpu\"]\n  }}\n}}\nalert \"severity_window_threshold\" {{\n  scope = inventory.prod\n  metric = \"cpu\"\n  above = 90\n  for = \"30m\"\n}}\n"
            ),
            "2026-11-02",
        );
        let cats: Vec<(&str, &str)> = r
            .gaps
            .iter()
            .filter(|g| g.subject == "web-1")
            .map(|g| (g.category.as_str(), g.message.as_str()))
            .collect();
        assert_eq!(cats.len(), 2, "{cats:#?}");
        assert_eq!(cats[0].0, "window", "{cats:#?}");
        assert_eq!(cats[1].0, "unrouted", "{cats:#?}");
        assert!(cats[0]
            .1
            .starts_with("alert.severity_window_threshold[\"web-1\"]: evaluation window 30m (explicit)"));
    }
}
