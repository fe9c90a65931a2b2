//! Compile: the evaluated configuration → desired vendor objects with stable addresses.
//!
//! High-level blocks expand per matching component: `alert.cpu_high["web-1"]`,
//! `baseline.soc2["web-1"].disk`. Raw `resource` blocks pass through under their own address.
//! Routes become notification handles inside each object (Datadog @-handles). The ownership
//! marker is added later by the provider's `mark`, so that compile stays vendor-neutral where it can.

pub mod catalog;
mod datadog;

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
    let mut diags = Diagnostics(Vec::new());
    let mut out = Vec::new();

    datadog::compile_alerts(cfg, &mut out, &mut diags);
    datadog::compile_baselines(cfg, &mut out, &mut diags);
    datadog::compile_dashboards(cfg, &mut out, &mut diags);

    for raw in cfg.resources.values() {
        let provider = raw.resource_type.split('_').next().unwrap_or_default().to_string();
        out.push(DesiredObject {
            address: raw.address.clone(),
            resource_type: raw.resource_type.clone(),
            provider,
            origin: None,
            attrs: raw.attrs.clone(),
            depends_on: raw.depends_on.clone(),
            span: Some(raw.span.clone()),
        });
    }

    check_unique_markers(&out, &mut diags);
    out.sort_by(|a, b| a.address.cmp(&b.address));
    if diags.has_errors() {
        Err(diags)
    } else {
        Ok(out)
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
