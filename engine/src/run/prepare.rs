//! Compiling the configuration and preparing the desired objects for planning: each marked with
//! its ownership marker, links to existing objects resolved, and normalised by its provider.

use std::collections::{BTreeMap, BTreeSet};

use watchkeep_provider::Provider;

use super::Error;
use crate::apply::Providers;
use crate::compile::{self, DesiredObject};
use crate::config::Config;
use crate::diag::Diagnostics;
use crate::plan::PlanDesired;
use crate::redact::Redactor;
use crate::state::State;

/// Compiles, failing with diagnostics.
pub fn compile(cfg: &Config) -> Result<Vec<DesiredObject>, Error> {
    compile::compile(cfg).map_err(|d| Error::Diagnostics(d, cfg.files.clone()))
}

/// Compiles, failing with diagnostics; also returns the compile warnings.
pub fn compile_with_warnings(cfg: &Config) -> Result<(Vec<DesiredObject>, Diagnostics), Error> {
    compile::compile_with_warnings(cfg).map_err(|d| Error::Diagnostics(d, cfg.files.clone()))
}

/// Marks and normalises desired objects for planning. Moves the attributes out of `desired`;
/// the marked attributes (what apply sends) are returned only when `keep_marked`.
pub fn prepare(
    desired: &mut [DesiredObject],
    providers: &Providers,
    keep_marked: bool,
    state: &State,
) -> Result<(Vec<PlanDesired>, BTreeMap<String, serde_json::Value>), Error> {
    let mut out = Vec::with_capacity(desired.len());
    let mut marked = BTreeMap::new();
    for d in desired.iter_mut() {
        let p = providers
            .get(&d.provider)
            .ok_or_else(|| Error::msg(format!("provider `{}` is not configured", d.provider)))?;
        let taken = std::mem::take(&mut d.attrs);
        let attrs = marked_body(d, taken, p.as_ref(), state);
        if d.origin.is_none() {
            warn_unmanaged_fields(d, &attrs, p.as_ref());
        }
        out.push(PlanDesired {
            address: d.address.clone(),
            resource_type: d.resource_type.clone(),
            provider: d.provider.clone(),
            origin: d.origin.clone(),
            normalized: p.normalize(&d.resource_type, &attrs),
            depends_on: d.depends_on.clone(),
        });
        if keep_marked {
            marked.insert(d.address.clone(), attrs);
        }
    }
    Ok((out, marked))
}

/// What would be sent for `d`: its attributes with the links that exist resolved to ids (the
/// others stay tokens until the executor has created them, see `plan::links`) and the ownership
/// marker added.
pub fn marked_body(
    d: &DesiredObject,
    mut attrs: serde_json::Value,
    p: &dyn Provider,
    state: &State,
) -> serde_json::Value {
    if p.engine_resolves_refs(&d.resource_type) {
        crate::plan::links::resolve(&mut attrs, &|a| state.get(a).map(|r| r.id.clone()));
    }
    p.mark(&d.resource_type, &mut attrs, &d.address);
    attrs
}

/// A raw resource may set a field the vendor's published schema does not list as writable: a typo,
/// a read-only field (never sent), or a field newer than the schema (sent as written). Either way
/// it is never compared (only managed fields are), so a change to it alone is never applied: say so.
fn warn_unmanaged_fields(d: &DesiredObject, body: &serde_json::Value, p: &dyn Provider) {
    let Some(w) = p.writable(&d.resource_type) else { return };
    let unknown = w.unknown_paths(body);
    if unknown.is_empty() {
        return;
    }
    let (list, verb) = (
        unknown.iter().map(|u| format!("`{u}`")).collect::<Vec<_>>().join(", "),
        if unknown.len() == 1 { "is" } else { "are" },
    );
    eprintln!(
        "warning: {}: {list} {verb} not writable in the vendor's published schema of {}, so never compared: a read-only field is not sent; a typo, or a field newer than the schema, is sent as written",
        d.address, d.resource_type
    );
}

/// The redactor for this run: sensitive values, keyed by the state lineage.
pub fn redactor(cfg: Option<&Config>, state: &State) -> Redactor {
    Redactor::new(cfg.map(|c| c.sensitive_values.as_slice()).unwrap_or(&[]), &state.lineage)
}

/// Types in play: from desired objects and from state.
pub fn types_in_play(desired: &[PlanDesired], state: &State) -> BTreeSet<(String, String)> {
    desired
        .iter()
        .map(|d| (d.provider.clone(), d.resource_type.clone()))
        .chain(state.resources.iter().map(|r| (r.provider.clone(), r.resource_type.clone())))
        .collect()
}
