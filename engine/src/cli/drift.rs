//! `watchkeep drift`: refresh-only comparison of the vendors with state. Reports objects edited
//! or deleted outside watchkeep, and objects watchkeep does not manage. Exit 2 on drift. Each run
//! is kept as a dated monitoring-validation record beside the state (SOC 2 "periodic validation").

use std::collections::BTreeSet;
use std::io::Write;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::common::{self, CmdResult, Context, Stats};
use super::{VarArgs, EXIT_CHANGES, EXIT_OK};
use crate::plan::{attribute_changes, AttrChange};
use crate::state::{now_rfc3339, State};

/// `drift --json` output, also written as the validation record.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct DriftReport {
    pub format_version: u32,
    pub checked_at: String,
    pub lineage: String,
    pub serial: u64,
    /// Whether anything drifted.
    pub drift: bool,
    pub edited: Vec<DriftedObject>,
    pub deleted: Vec<DriftedObject>,
    pub unmanaged: Vec<UnmanagedObject>,
    /// Objects in state that match the vendor exactly.
    pub in_sync: u32,
    pub stats: Stats,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct DriftedObject {
    pub address: String,
    pub resource_type: String,
    pub id: String,
    /// What changed (edited objects): state value → vendor value.
    pub attribute_changes: Vec<AttrChange>,
    pub vendor_modified: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct UnmanagedObject {
    pub resource_type: String,
    pub id: String,
    pub name: Option<String>,
    /// Carries watchkeep's ownership marker but is not in this state (e.g. another workspace,
    /// or an apply that crashed before writing state).
    pub has_watchkeep_marker: bool,
    pub marker: Option<String>,
}

pub async fn run(ctx: &Context, vars: &VarArgs, json: bool, parallelism: usize) -> CmdResult {
    let (cfg, warnings) = ctx.load(vars)?;
    common::print_warnings(ctx, &warnings, &cfg.files);
    let backend = ctx.backend(Some(&cfg));
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
    let providers = common::configure_providers(ctx, Some(&cfg), &needed)?;
    // Marking and normalising the desired objects teaches providers the configuration's
    // ownership markers (New Relic policies carry only a hash of theirs), so references read
    // back from the vendor compare as the configuration writes them.
    if let Ok(mut desired) = crate::compile::compile(&cfg) {
        let _ = common::prepare(&mut desired, &providers, false, &state);
    }
    let types: BTreeSet<(String, String)> = providers
        .iter()
        .flat_map(|(name, p)| p.resource_types().iter().map(move |t| (name.clone(), t.to_string())))
        .collect();
    let redactor = common::redactor(Some(&cfg), &state);
    let live = common::refresh(&providers, &types, &state, false, parallelism, &redactor).await?;

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
        stats: common::stats(ctx, &providers),
    };
    let record = write_validation_record(&backend.state_path().with_file_name("validations"), &report);

    if json {
        common::print_json(&report)?;
    } else {
        print!("{}", render(&report));
        match &record {
            Ok(p) => println!("Validation record: {}", p.display()),
            Err(e) => eprintln!("warning: could not write the validation record: {e}"),
        }
    }
    Ok(if drift { EXIT_CHANGES } else { EXIT_OK })
}

fn num_key(id: &str) -> (usize, &str) {
    (id.len(), id)
}

fn write_validation_record(
    dir: &std::path::Path,
    report: &DriftReport,
) -> std::io::Result<std::path::PathBuf> {
    std::fs::create_dir_all(dir)?;
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ").to_string().replace('.', "");
    // Records are immutable: never overwrite one, pick the next free name instead.
    let mut n = 0;
    let (path, mut f) = loop {
        let name = if n == 0 { format!("{stamp}-drift.json") } else { format!("{stamp}-{n}-drift.json") };
        let path = dir.join(name);
        match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(f) => break (path, f),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 1000 => n += 1,
            Err(e) => return Err(e),
        }
    };
    let text = serde_json::to_string_pretty(report).map_err(std::io::Error::other)?;
    f.write_all(text.as_bytes())?;
    f.write_all(b"\n")?;
    f.sync_all()?;
    Ok(path)
}

fn short(v: &Option<Value>) -> String {
    match v {
        None => "(absent)".into(),
        Some(Value::String(s)) if s.len() > 60 || s.contains('\n') => {
            let first = s.lines().next().unwrap_or("");
            format!("\"{}…\"", first.chars().take(57).collect::<String>())
        }
        Some(v) => v.to_string(),
    }
}

pub fn render(r: &DriftReport) -> String {
    let mut out = String::new();
    if !r.drift {
        out.push_str(&format!("No drift: all {} managed objects match the vendors.\n", r.in_sync));
        return out;
    }
    out.push_str(&format!(
        "Drift detected: {} edited, {} deleted, {} unmanaged ({} in sync).\n\n",
        r.edited.len(),
        r.deleted.len(),
        r.unmanaged.len(),
        r.in_sync
    ));
    for e in &r.edited {
        out.push_str(&format!(
            "  ~ {} ({} {}) was edited outside watchkeep\n",
            e.address, e.resource_type, e.id
        ));
        for c in &e.attribute_changes {
            out.push_str(&format!("      ~ {}: {} -> {}\n", c.path, short(&c.before), short(&c.after)));
        }
    }
    for d in &r.deleted {
        out.push_str(&format!(
            "  - {} ({} {}) was deleted outside watchkeep\n",
            d.address, d.resource_type, d.id
        ));
    }
    for u in &r.unmanaged {
        let name = u.name.as_deref().map(|n| format!(" \"{n}\"")).unwrap_or_default();
        let why = if u.has_watchkeep_marker {
            "carries watchkeep's marker but is not in this state"
        } else {
            "is not managed by watchkeep"
        };
        out.push_str(&format!("  ? {} {}{name} {why}\n", u.resource_type, u.id));
    }
    out.push_str(
        "\nRun `watchkeep plan` to see how watchkeep would restore the edited and deleted objects.\n",
    );
    out
}
