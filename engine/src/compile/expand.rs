//! Vendor-neutral expansion shared by every vendor compiler: which components a block matches,
//! the instances (block × component × metric) an `alert` or `baseline` asks for, thresholds after
//! catalog defaults, durations, numbers as names print them, and the text every vendor object
//! carries (component lines, dashboard descriptions). Block-level checks that do not depend on a
//! vendor (a block that matches nothing, an override naming no catalog metric, a component on a
//! vendor no compiler handles) run here once, before the vendor compilers.

use serde_json::{json, Value};

use super::catalog::{self, Defaults};
use super::{error, warning, VendorCompiler, COMPILED_PROVIDERS};
use crate::config::{Component, Config, Dashboard, Span, Threshold};
use crate::diag::Diagnostics;

/// Components in `scope` (an inventory), of one of `kinds`, named in `components` (empty: any).
pub(crate) fn matching<'a>(
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
