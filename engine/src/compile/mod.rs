//! Compile: the evaluated configuration → desired vendor objects with stable addresses.
//!
//! High-level blocks expand per matching component: `alert.cpu_high["web-1"]`,
//! `baseline.soc2["web-1"].disk`. Raw `resource` blocks pass through under their own address.
//! Routes become notification handles inside each object (Datadog @-handles). The ownership
//! marker is added later by the provider's `mark`, so that compile stays vendor-neutral where it can.

pub mod catalog;
mod cloudwatch;
mod datadog;
mod maintenance;
mod newrelic;

/// Vendors whose components the compiler turns into vendor objects.
pub const COMPILED_PROVIDERS: &[&str] = &["datadog", "cloudwatch", "newrelic"];

use std::collections::BTreeMap;

use serde_json::Value;

use crate::config::{Config, Span};
use crate::diag::{Diagnostic, Diagnostics, Severity};

/// One vendor object the configuration asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredObject {
    /// Stable address, e.g. `baseline.soc2["web-1"].cpu` or `datadog_monitor.checkout`.
    pub address: String,
    pub resource_type: String,
    pub provider: String,
    /// The high-level block it came from (`baseline.soc2`), `None` for raw resources.
    pub origin: Option<String>,
    /// Attributes as the vendor API names them (before the ownership marker is added).
    pub attrs: Value,
    /// Addresses of desired objects that must exist first.
    pub depends_on: Vec<String>,
    pub span: Option<Span>,
}

/// Compiles every block. Errors are collected, not thrown at the first one.
pub fn compile(cfg: &Config) -> Result<Vec<DesiredObject>, Diagnostics> {
    compile_with_warnings(cfg).map(|(objects, _)| objects)
}

/// [`compile`], also returning the warnings of a successful compile (e.g. a `maintenance` block
/// that has no equivalent on a vendor).
pub fn compile_with_warnings(cfg: &Config) -> Result<(Vec<DesiredObject>, Diagnostics), Diagnostics> {
    let mut diags = Diagnostics(Vec::new());
    let mut out = Vec::new();

    datadog::compile_alerts(cfg, &mut out, &mut diags);
    datadog::compile_baselines(cfg, &mut out, &mut diags);
    datadog::compile_dashboards(cfg, &mut out);
    cloudwatch::compile(cfg, &mut out, &mut diags);
    newrelic::compile(cfg, &mut out, &mut diags);
    // After the alarms: maintenance windows point at them.
    maintenance::compile(cfg, &mut out, &mut diags);
    for dash in cfg.dashboards.values() {
        let shown = datadog::matching(cfg, dash.scope.as_deref(), &dash.kinds, &[])
            .iter()
            .any(|c| COMPILED_PROVIDERS.contains(&c.provider.as_str()));
        if !shown {
            diags.push(warning(
                format!("`dashboard.{}` shows no component", dash.name),
                Some(dash.span.clone()),
                "check its scope and kinds",
            ));
        }
    }

    for raw in cfg.resources.values() {
        let provider = crate::config::schema::provider_of(&raw.resource_type).to_string();
        // A reference to another raw resource (`newrelic_alert_policy.main.id`) orders it first.
        let mut depends_on = raw.depends_on.clone();
        for e in cfg.edges.iter().filter(|e| e.from == raw.address && cfg.resources.contains_key(&e.to)) {
            if !depends_on.contains(&e.to) {
                depends_on.push(e.to.clone());
            }
        }
        out.push(DesiredObject {
            address: raw.address.clone(),
            resource_type: raw.resource_type.clone(),
            provider,
            origin: None,
            attrs: raw.attrs.clone(),
            depends_on,
            span: Some(raw.span.clone()),
        });
    }

    cloudwatch::link_raw_topics(&mut out, &mut diags);
    check_unique_markers(&out, &mut diags);
    out.sort_by(|a, b| a.address.cmp(&b.address));
    if diags.has_errors() {
        Err(diags)
    } else {
        Ok((out, diags))
    }
}

/// Two addresses that sanitise to the same ownership marker could not be told apart after a crash.
fn check_unique_markers(objects: &[DesiredObject], diags: &mut Diagnostics) {
    let mut seen: BTreeMap<String, &DesiredObject> = BTreeMap::new();
    for o in objects {
        let marker = watchkeep_provider::address_marker(&o.address);
        if let Some(prev) = seen.insert(marker.clone(), o) {
            diags.push(error(
                format!("`{}` and `{}` map to the same ownership marker `{marker}`", prev.address, o.address),
                o.span.clone(),
                "rename one of them: markers ignore case and punctuation other than `-_./:`",
            ));
        }
    }
}

pub(crate) fn error(summary: impl Into<String>, span: Option<Span>, hint: impl Into<String>) -> Diagnostic {
    Diagnostic {
        severity: Severity::Error,
        summary: summary.into(),
        detail: None,
        span,
        hint: Some(hint.into()).filter(|h: &String| !h.is_empty()),
    }
}

pub(crate) fn warning(summary: impl Into<String>, span: Option<Span>, hint: impl Into<String>) -> Diagnostic {
    Diagnostic { severity: Severity::Warning, ..error(summary, span, hint) }
}

/// The `Component: …` and `Inventory: …` lines every vendor object's text carries, so a
/// responder (and an auditor) sees what the alert covers and when its scope was reviewed.
pub(crate) fn component_lines(cfg: &Config, comp: &crate::config::Component) -> String {
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
pub(crate) fn dashboard_description(
    cfg: &Config,
    dash: &crate::config::Dashboard,
    components: usize,
) -> String {
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

/// A catalog row's default thresholds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Defaults {
    pub above: bool,
    pub critical: f64,
    pub warning: Option<f64>,
    pub for_duration: &'static str,
    pub severity: &'static str,
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
    t: &crate::config::Threshold,
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

#[cfg(test)]
mod tests {
    use super::*;

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

/// One object an `alert` or `baseline` block asks for on one component: what the vendor
/// compilers (CloudWatch, New Relic) turn into an alarm or a condition.
#[derive(Clone)]
pub(crate) struct Instance<'a> {
    /// `alert.x["web-1"]` or `baseline.y["web-1"].cpu`.
    pub address: String,
    /// `alert.x` or `baseline.y`.
    pub origin: String,
    pub component: &'a crate::config::Component,
    /// The alert's `metric`, or the catalog metric of a baseline row.
    pub metric: &'a str,
    /// A baseline row: `metric` is a catalog metric, never a user `metric` block.
    pub from_catalog: bool,
    /// The alert's threshold, or the baseline's override of this metric (default if none).
    pub threshold: crate::config::Threshold,
    /// Where that threshold is written (the override, else the block).
    pub threshold_span: &'a Span,
    pub routes: &'a [String],
    pub runbook: Option<&'a str>,
    pub extra_message: Option<&'a str>,
    /// The block.
    pub span: &'a Span,
}

/// `alert` and `baseline` blocks expanded for the components monitored by `provider`: per alert,
/// one instance per matching component; per baseline, one per catalog metric of the component's
/// kind (`catalog_metrics(kind)`) that no override disables. A component whose kind has no
/// catalog metrics gets a warning that it gets no `objects` ("alarms") and what to add (`hint`).
pub(crate) fn instances<'a>(
    cfg: &'a Config,
    provider: &str,
    catalog_metrics: &dyn Fn(&str) -> Vec<&'static str>,
    objects: &str,
    hint: &str,
    diags: &mut Diagnostics,
) -> Vec<Instance<'a>> {
    let mut out = Vec::new();
    let on_provider =
        |comps: Vec<&'a crate::config::Component>| comps.into_iter().filter(move |c| c.provider == provider);
    for alert in cfg.alerts.values() {
        let origin = format!("alert.{}", alert.name);
        for comp in
            on_provider(datadog::matching(cfg, alert.scope.as_deref(), &alert.kinds, &alert.components))
        {
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
        for comp in on_provider(datadog::matching(cfg, base.scope.as_deref(), &base.kinds, &[])) {
            let metrics = catalog_metrics(&comp.kind);
            if metrics.is_empty() {
                diags.push(warning(
                    format!(
                        "`{origin}`: the catalog has no metrics for kind `{}` on {provider}, so `{}` gets no {objects}",
                        comp.kind, comp.name
                    ),
                    Some(comp.span.clone()),
                    hint,
                ));
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
                    threshold: ov.map(|o| o.threshold.clone()).unwrap_or_default(),
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
