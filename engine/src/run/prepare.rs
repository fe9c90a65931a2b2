//! Compiling the configuration and preparing the desired objects for planning: each marked with
//! its ownership marker, links to existing objects resolved, and normalised by its provider.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use watchkeep_provider::Provider;

use super::Error;
use crate::apply::Providers;
use crate::compile::{self, DesiredObject};
use crate::config::Config;
use crate::diag::Diagnostics;
use crate::plan::links::{self, Link};
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
/// the marked attributes (what apply sends, links still placeholders) are returned only when
/// `keep_marked`.
pub fn prepare(
    desired: &mut [DesiredObject],
    providers: &Providers,
    keep_marked: bool,
    state: &State,
    redactor: &Redactor,
) -> Result<(Vec<PlanDesired>, BTreeMap<String, serde_json::Value>), Error> {
    let mut out = Vec::with_capacity(desired.len());
    let mut marked = BTreeMap::new();
    let known: BTreeSet<String> = desired.iter().map(|d| d.address.clone()).collect();
    let owner = watchkeep_provider::owner_id(&state.lineage);
    for d in desired.iter_mut() {
        let p = providers
            .get(&d.provider)
            .ok_or_else(|| Error::msg(format!("provider `{}` is not configured", d.provider)))?;
        let taken = std::mem::take(&mut d.attrs);
        let (attrs, links) =
            marked_body(d, taken, p.as_ref(), &owner, &|a| known.contains(a) || state.get(a).is_some());
        if d.origin.is_none() {
            warn_unmanaged_fields(d, &attrs, p.as_ref(), redactor);
        }
        let normalized = p.normalize(&d.resource_type, &with_known_ids(&attrs, &links, state));
        let mut depends_on = d.depends_on.clone();
        link_dependencies(&mut depends_on, &links);
        out.push(PlanDesired {
            address: d.address.clone(),
            resource_type: d.resource_type.clone(),
            provider: d.provider.clone(),
            origin: d.origin.clone(),
            normalized,
            depends_on,
            links,
        });
        if keep_marked {
            marked.insert(d.address.clone(), attrs);
        }
    }
    Ok((out, marked))
}

/// What would be sent for `d`, with the ownership marker of the state whose owner id is `owner`
/// added (`<owner>:<address marker>`: a state adopts only objects it marked), and its links (see
/// `plan::links`): read here, once, from the placeholders its compiler left in the body, which stay
/// there until the links are resolved from state (at plan time) or by the executor. `known`: the
/// addresses of the configuration and state (where a placeholder in running text ends).
pub fn marked_body(
    d: &DesiredObject,
    mut attrs: serde_json::Value,
    p: &dyn Provider,
    owner: &str,
    known: &dyn Fn(&str) -> bool,
) -> (serde_json::Value, Vec<Link>) {
    p.mark(&d.resource_type, &mut attrs, &watchkeep_provider::owned_address(owner, &d.address));
    let links = links::collect(&attrs, known);
    (attrs, links)
}

/// `body` with the links whose targets are in `state` resolved to their ids (the others keep
/// their placeholders: known after apply).
pub fn with_known_ids<'a>(
    body: &'a serde_json::Value,
    links: &[Link],
    state: &State,
) -> Cow<'a, serde_json::Value> {
    if links.is_empty() {
        return Cow::Borrowed(body);
    }
    let mut out = body.clone();
    links::resolve(&mut out, links, &|a| state.get(a).map(|r| r.id.clone()));
    Cow::Owned(out)
}

/// Every link's target is a dependency: the executor runs a job only after what it links to.
pub fn link_dependencies(depends_on: &mut Vec<String>, links: &[Link]) {
    for l in links {
        if !depends_on.contains(&l.to) {
            depends_on.push(l.to.clone());
        }
    }
}

/// A raw resource may set a field the vendor's published schema does not list as writable: a typo,
/// a read-only field (never sent), or a field newer than the schema (sent as written). Either way
/// it is never compared (only managed fields are), so a change to it alone is never applied: say so.
/// The field names come from the configuration and may be computed from a secret
/// (`{ (upper(var.key)) = 1 }`): they are redacted, as stderr ends up in CI logs.
fn warn_unmanaged_fields(d: &DesiredObject, body: &serde_json::Value, p: &dyn Provider, redactor: &Redactor) {
    let Some(w) = p.writable(&d.resource_type) else { return };
    let unknown = w.unknown_paths(body);
    if unknown.is_empty() {
        return;
    }
    let (list, verb) = (
        unknown.iter().map(|u| format!("`{}`", redactor.str(u))).collect::<Vec<_>>().join(", "),
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::{json, Value};
    use watchkeep_provider::{LiveObject, Result, UpdateKind};

    use super::*;
    use crate::state::ResourceState;

    /// Normalises as written; marks with a tag; resolves links in the engine.
    struct Plain;

    #[async_trait::async_trait]
    impl Provider for Plain {
        fn name(&self) -> &'static str {
            "datadog"
        }
        fn resource_types(&self) -> &'static [&'static str] {
            &["datadog_monitor"]
        }
        async fn list(&self, _: &str, _: bool) -> Result<Vec<LiveObject>> {
            Ok(Vec::new())
        }
        async fn read(&self, _: &str, _: &str) -> Result<Option<LiveObject>> {
            Ok(None)
        }
        fn normalize(&self, _: &str, attrs: &Value) -> Value {
            attrs.clone()
        }
        fn mark(&self, _: &str, attrs: &mut Value, address: &str) {
            attrs["tags"] = json!([format!("watchkeep-address:{address}")]);
        }
        fn update_kind(&self, _: &str, _: &str) -> UpdateKind {
            UpdateKind::InPlace
        }
        async fn create(&self, _: &str, _: &Value) -> Result<LiveObject> {
            unreachable!("prepare sends nothing")
        }
        async fn update(&self, _: &str, _: &str, _: &Value) -> Result<LiveObject> {
            unreachable!("prepare sends nothing")
        }
        async fn delete(&self, _: &str, _: &str) -> Result<()> {
            unreachable!("prepare sends nothing")
        }
        fn api_calls(&self) -> u64 {
            0
        }
    }

    /// Links are read from the compiled body's placeholders; the planned (normalised) form has
    /// the ids state knows and keeps the placeholder of an object not created yet (known after
    /// apply); the body kept for apply keeps every placeholder for the executor; every link's
    /// target becomes a dependency.
    #[test]
    fn links_are_collected_and_resolved_from_state_for_the_plan() {
        let mut state = State::new();
        state.upsert(ResourceState {
            address: "datadog_monitor.a".into(),
            resource_type: "datadog_monitor".into(),
            provider: "datadog".into(),
            id: "101".into(),
            origin: None,
            attrs: json!({}),
            vendor_modified: None,
            changed_at: "2026-11-24T00:00:00Z".into(),
            sensitive_paths: vec![],
            depends_on: vec![],
            configured: BTreeMap::new(),
        });
        let mut desired = vec![DesiredObject {
            address: "datadog_monitor.c".into(),
            resource_type: "datadog_monitor".into(),
            provider: "datadog".into(),
            origin: None,
            attrs: json!({"query": "ref:datadog_monitor.a && ref:datadog_monitor.b", "name": "c"}),
            depends_on: vec!["datadog_monitor.a".into()],
            span: None,
        }];
        let providers: Providers = [("datadog".to_string(), Arc::new(Plain) as Arc<dyn Provider>)].into();
        let (prepared, marked) =
            prepare(&mut desired, &providers, true, &state, &Redactor::default()).expect("prepared");
        let d = &prepared[0];
        assert_eq!(
            d.links,
            vec![
                Link { at: "/query".into(), to: "datadog_monitor.a".into() },
                Link { at: "/query".into(), to: "datadog_monitor.b".into() },
            ]
        );
        assert_eq!(d.normalized["query"], "101 && ref:datadog_monitor.b");
        let owner = watchkeep_provider::owner_id(&state.lineage);
        assert_eq!(d.normalized["tags"], json!([format!("watchkeep-address:{owner}:datadog_monitor.c")]));
        assert_eq!(marked["datadog_monitor.c"]["query"], "ref:datadog_monitor.a && ref:datadog_monitor.b");
        assert_eq!(d.depends_on, ["datadog_monitor.a", "datadog_monitor.b"]);
    }
}
