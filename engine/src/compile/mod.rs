//! Compile: the evaluated configuration → desired vendor objects with stable addresses.
//!
//! High-level blocks expand per matching component: `alert.cpu_high["web-1"]`,
//! `baseline.soc2["web-1"].disk`. Raw `resource` blocks pass through under their own address.
//! Routes become notification handles inside each object (Datadog @-handles) or notification
//! objects of their own (SNS topics, New Relic destinations). The ownership marker is added later
//! by the provider's `mark`, so that compile stays vendor-neutral where it can.
//!
//! Layout: [`expand`] holds the vendor-neutral expansion (instances, thresholds, durations, text);
//! [`catalog`] the per-vendor metric rows; one file per vendor holds only that vendor's mapping,
//! behind the one [`VendorCompiler`] shape, registered once in [`COMPILERS`].

pub mod catalog;
mod cloudwatch;
mod datadog;
mod expand;
pub(crate) use expand::selects;
mod maintenance;
mod newrelic;
#[cfg(test)]
mod pinned;

pub use expand::duration_seconds;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::config::{Component, Config, Span};
use crate::diag::{Diagnostic, Diagnostics, Severity};

/// One vendor's compiler: the same steps for every vendor, called by [`compile_with_warnings`] in
/// this order for each entry of [`COMPILERS`].
pub(crate) trait VendorCompiler: Sync {
    /// The provider name components use (`component { provider = "…" }`).
    fn vendor(&self) -> &'static str;

    /// `alert` and `baseline` blocks on this vendor's components ([`expand::instances`]) →
    /// monitors, alarms or conditions (and whatever holds them, e.g. New Relic policies). Returns
    /// the routes the emitted objects notify, each with the blocks (origins) using it.
    fn alarms(&self, cfg: &Config, out: &mut Vec<DesiredObject>, diags: &mut Diagnostics) -> UsedRoutes;

    /// The notification objects of the routes [`VendorCompiler::alarms`] used (none where the
    /// vendor notifies through handles inside the alarm's own text).
    fn routes(&self, cfg: &Config, used: &UsedRoutes, out: &mut Vec<DesiredObject>, diags: &mut Diagnostics);

    /// `dashboard` blocks → this vendor's dashboard over the block's components on it.
    fn dashboards(&self, cfg: &Config, out: &mut Vec<DesiredObject>);

    /// The warning for a `baseline` on a component whose kind has no catalog rows on this vendor.
    fn no_catalog_rows(&self, origin: &str, comp: &Component) -> Diagnostic;

    /// A `maintenance` block → this vendor's silencing objects (into `added`) for its components
    /// in the window, pointing at the `alarms` compiled so far; or a warning that it has none.
    fn maintenance(
        &self,
        window: &maintenance::Window,
        alarms: &[DesiredObject],
        added: &mut Vec<DesiredObject>,
        diags: &mut Diagnostics,
    );
}

/// Route name → the blocks (`alert.x`, `baseline.y`) whose objects on one vendor notify it.
pub(crate) type UsedRoutes = BTreeMap<String, BTreeSet<String>>;

/// Every vendor compiler, keyed by vendor name, in the order they run (and their diagnostics
/// appear). Adding a vendor is one line here plus its file and catalog rows.
pub(crate) const COMPILERS: [(&str, &dyn VendorCompiler); 3] = [
    ("datadog", &datadog::Datadog),
    ("cloudwatch", &cloudwatch::CloudWatch),
    ("newrelic", &newrelic::NewRelic),
];

/// Vendors whose components the compiler turns into vendor objects (from [`COMPILERS`]).
pub const COMPILED_PROVIDERS: &[&str] = &vendor_names(COMPILERS);

const fn vendor_names<const N: usize>(
    table: [(&'static str, &'static dyn VendorCompiler); N],
) -> [&'static str; N] {
    let mut out = [""; N];
    let mut i = 0;
    while i < N {
        out[i] = table[i].0;
        i += 1;
    }
    out
}

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

    expand::check_blocks(cfg, &mut diags);
    for (_, compiler) in COMPILERS {
        let used = compiler.alarms(cfg, &mut out, &mut diags);
        compiler.routes(cfg, &used, &mut out, &mut diags);
        compiler.dashboards(cfg, &mut out);
    }
    // After the alarms: maintenance windows point at them.
    maintenance::compile(cfg, &mut out, &mut diags);
    for dash in cfg.dashboards.values() {
        let shown = expand::matching(cfg, dash.scope.as_deref(), &dash.kinds, &[])
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
        // The loader accepts only resource types a vendor owns.
        let provider = crate::vendors::provider_of(&raw.resource_type).unwrap_or_default().to_string();
        // A reference to another raw resource (`newrelic_alert_policy.main.id`) orders it first.
        let mut depends_on = raw.depends_on.clone();
        // A reference to a high-level block orders it after everything that block compiles to
        // (expanded below with the `depends_on` entries that name one).
        for e in cfg.edges.iter().filter(|e| e.from == raw.address && e.to != raw.address) {
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
    expand_dependencies(&mut out);
    check_unique_markers(&out, &mut diags);
    out.sort_by(|a, b| a.address.cmp(&b.address));
    if diags.has_errors() {
        Err(diags)
    } else {
        Ok((out, diags))
    }
}

/// A dependency that names a block rather than an object (`depends_on = [alert.cpu]`, or a
/// reference to `baseline.soc2`) stands for every object that block compiles to
/// (`alert.cpu["web-1"]`, …), so the executor orders the object after all of them. A name that
/// matches no object (a variable, an inventory, a block that compiles to nothing) orders nothing.
fn expand_dependencies(out: &mut [DesiredObject]) {
    let addresses: BTreeSet<String> = out.iter().map(|o| o.address.clone()).collect();
    for o in out.iter_mut() {
        if o.depends_on.iter().all(|d| addresses.contains(d)) {
            continue;
        }
        let mut expanded: Vec<String> = Vec::with_capacity(o.depends_on.len());
        for d in std::mem::take(&mut o.depends_on) {
            let under: Vec<&String> = if addresses.contains(&d) {
                vec![addresses.get(&d).unwrap_or(&d)]
            } else {
                addresses.iter().filter(|a| watchkeep_provider::address_within(a, &d)).collect()
            };
            for a in under {
                if *a != o.address && !expanded.contains(a) {
                    expanded.push(a.clone());
                }
            }
        }
        o.depends_on = expanded;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_keyed_by_each_compilers_vendor() {
        for (name, compiler) in COMPILERS {
            assert_eq!(name, compiler.vendor());
        }
        assert_eq!(COMPILED_PROVIDERS, ["datadog", "cloudwatch", "newrelic"]);
    }

    /// One compiler per registered vendor, in the registry's order (`engine/src/vendors.rs`):
    /// a vendor added to the registry without its compiler fails here.
    #[test]
    fn every_registered_vendor_has_a_compiler() {
        assert_eq!(COMPILED_PROVIDERS, crate::vendors::names());
    }
}
