//! Drift: a refresh-only comparison of the vendors with state. Finds objects edited or deleted
//! outside watchkeep, and objects watchkeep does not manage. Each run is kept as a dated
//! monitoring-validation record beside the state (SOC 2 "periodic validation").

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::Value;

use super::prepare::{prepare, redactor};
use super::providers::{configure, stats};
use super::refresh::refresh;
use super::report::{DriftReport, DriftedObject, UnmanagedObject};
use super::{Error, Vars, Workspace};
use crate::plan::attribute_changes;
use crate::state::{now_rfc3339, State};

/// What `drift` is asked for.
#[derive(Debug, Clone)]
pub struct DriftInput {
    pub vars: Vars,
    /// Concurrent vendor requests.
    pub parallelism: usize,
}

/// The report, and where its validation record was written (or why it could not be).
#[derive(Debug)]
pub struct DriftRun {
    pub report: DriftReport,
    pub record: std::io::Result<PathBuf>,
}

pub async fn drift(ws: &Workspace, input: &DriftInput) -> Result<DriftRun, Error> {
    let (cfg, warnings) = ws.load(&input.vars)?;
    ws.print_warnings(&warnings, &cfg.files);
    let backend = ws.backend(Some(&cfg));
    let state = backend.load()?.unwrap_or_else(State::new);
    let needed: BTreeSet<String> = state
        .resources
        .iter()
        .map(|r| r.provider.clone())
        .chain(cfg.providers.keys().cloned())
        .chain(
            cfg.components.values().map(|c| c.provider.clone()).filter(|p| crate::vendors::get(p).is_some()),
        )
        .chain(
            cfg.resources
                .values()
                .filter_map(|r| crate::vendors::provider_of(&r.resource_type).map(str::to_string)),
        )
        .collect();
    let providers = configure(ws, Some(&cfg), &needed)?;
    // Links written in the providers' old forms read as the ids and ARNs the vendors return.
    let state = crate::plan::links::upgrade_legacy(&state, &|r, v| {
        providers.get(&r.provider).map_or_else(|| v.clone(), |p| p.normalize(&r.resource_type, v))
    })
    .unwrap_or(state);
    // Marking and normalising the desired objects teaches providers the configuration's
    // ownership markers (New Relic policies carry only a hash of theirs), so the objects read
    // back from the vendor are known as watchkeep's.
    // Compile warnings are said here too (e.g. a baseline that gives a component nothing), as
    // `validate` and `plan` say them.
    if let Ok((mut desired, compile_warnings)) = crate::compile::compile_with_warnings(&cfg) {
        ws.print_warnings(&compile_warnings, &cfg.files);
        let _ = prepare(&mut desired, &providers, false, &state, &redactor(Some(&cfg), &state));
    }
    let types: BTreeSet<(String, String)> = providers
        .iter()
        .flat_map(|(name, p)| p.resource_types().iter().map(move |t| (name.clone(), t.to_string())))
        .collect();
    let redactor = redactor(Some(&cfg), &state);
    let live = refresh(&providers, &types, &state, false, input.parallelism, &redactor).await?;

    let mut edited = Vec::new();
    let mut deleted = Vec::new();
    let mut in_sync = 0;
    let mut tracked = BTreeSet::new();
    for st in &state.resources {
        tracked.insert((st.resource_type.clone(), st.id.clone()));
        match live.get(&st.resource_type, &st.id) {
            None => deleted.push(DriftedObject {
                address: st.address.clone(),
                resource_type: st.resource_type.clone(),
                id: st.id.clone(),
                attribute_changes: Vec::new(),
                vendor_modified: st.vendor_modified.clone(),
            }),
            Some(l) => {
                let now = redactor.mask(&l.attrs, &st.sensitive_paths);
                // The baseline is what the vendor answered when watchkeep last wrote the object,
                // managed fields only (a state written before fields were projected still holds
                // the rest; it never counts).
                let writable = providers.get(&st.provider).and_then(|p| p.writable(&st.resource_type));
                let baseline = match writable {
                    Some(w) => std::borrow::Cow::Owned(w.project(&st.attrs)),
                    None => std::borrow::Cow::Borrowed(&st.attrs),
                };
                let changes = attribute_changes(&baseline, &now, &|_| false);
                if changes.is_empty() {
                    in_sync += 1;
                } else {
                    edited.push(DriftedObject {
                        address: st.address.clone(),
                        resource_type: st.resource_type.clone(),
                        id: st.id.clone(),
                        attribute_changes: changes,
                        vendor_modified: l.modified.clone(),
                    });
                }
            }
        }
    }
    let mut unmanaged: Vec<UnmanagedObject> = live
        .by_id
        .values()
        .filter(|l| !tracked.contains(&(l.resource_type.clone(), l.id.clone())))
        .map(|l| UnmanagedObject {
            resource_type: l.resource_type.clone(),
            id: l.id.clone(),
            name: l
                .attrs
                .get("name")
                .or_else(|| l.attrs.get("title"))
                .or_else(|| l.attrs.get("AlarmName"))
                .or_else(|| l.attrs.get("DashboardName"))
                .or_else(|| l.attrs.get("Name"))
                .and_then(Value::as_str)
                .map(|s| redactor.str(s).into_owned()),
            has_watchkeep_marker: l.owned,
            marker: l.marker.clone(),
        })
        .collect();
    unmanaged.sort_by(|a, b| (&a.resource_type, num_key(&a.id)).cmp(&(&b.resource_type, num_key(&b.id))));

    let drift = !(edited.is_empty() && deleted.is_empty() && unmanaged.is_empty());
    let report = DriftReport {
        format_version: 1,
        checked_at: now_rfc3339(),
        lineage: state.lineage.clone(),
        serial: state.serial,
        drift,
        edited,
        deleted,
        unmanaged,
        in_sync,
        stats: stats(ws, &providers),
    };
    let found = report.edited.len() + report.deleted.len() + report.unmanaged.len();
    let summary = if found == 0 {
        format!("no drift: {} objects in sync", report.in_sync)
    } else {
        format!(
            "drift: {} edited, {} deleted outside watchkeep, {} unmanaged",
            report.edited.len(),
            report.deleted.len(),
            report.unmanaged.len()
        )
    };
    let vdir = backend.side_dir("validations");
    let record = super::validations::append_in(backend.folder(&vdir), "drift", found == 0, &summary, &report);
    Ok(DriftRun { report, record })
}

fn num_key(id: &str) -> (usize, &str) {
    (id.len(), id)
}
