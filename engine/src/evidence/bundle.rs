//! Turns one [`Evidence`] into the bundle's files, and checks a bundle against its manifest.
//!
//! Layout (every path relative to the bundle, `/`-separated):
//!
//! | file | what |
//! |---|---|
//! | `scope.json`, `scope.csv` | the monitoring scope mapped to the inventory |
//! | `alert-configuration.json`, `.csv` | every managed alert |
//! | `changes.json`, `.csv` | the history entries of the period |
//! | `alert-log.json`, `.csv` | what fired and resolved, with notes |
//! | `validations.json`, `validations/<file>` | the validation records, byte for byte |
//! | `dashboards/<file>` | the dashboard pictures |
//! | `index.html`, `index.md` | what an auditor reads |
//! | `oscal-assessment-results.json` | NIST OSCAL 1.0.6 assessment results |
//! | `manifest.json` | SHA-256 of every other file; written last |
//!
//! Every file but `manifest.json` and the pictures is a pure function of the evidence without
//! its generation time and the pictures' capture times and bytes: rows sorted, no clock, no
//! random ids, `\n` line ends and a trailing newline.

use std::collections::BTreeSet;
use std::fs;
use std::io::Write as _;
use std::path::{Component, Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{
    AlertConfigRow, AlertLogDoc, ChangesDoc, ConfigurationRef, Evidence, Period, ScopeDoc, ValidationsDoc,
    FORMAT_VERSION,
};

pub use super::files::*;

/// `scope.json`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct ScopeFile {
    pub format_version: u32,
    pub period: Period,
    pub configuration: ConfigurationRef,
    #[serde(flatten)]
    pub scope: ScopeDoc,
}

/// `alert-configuration.json`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct AlertConfigurationFile {
    pub format_version: u32,
    pub period: Period,
    pub configuration: ConfigurationRef,
    /// Every managed alert, by address.
    pub alerts: Vec<AlertConfigRow>,
}

/// `changes.json`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct ChangesFile {
    pub format_version: u32,
    pub period: Period,
    #[serde(flatten)]
    pub changes: ChangesDoc,
}

/// `alert-log.json`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct AlertLogFile {
    pub format_version: u32,
    pub period: Period,
    #[serde(flatten)]
    pub alert_log: AlertLogDoc,
}

/// `validations.json`; each record's file is beside it in `validations/`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct ValidationsFile {
    pub format_version: u32,
    pub period: Period,
    #[serde(flatten)]
    pub validations: ValidationsDoc,
}

/// Why a bundle could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error(
        "{dir} is not empty and holds no evidence bundle (no {MANIFEST_JSON}): nothing was written; give an empty or new directory to --out, or a previous bundle's directory to replace it"
    )]
    NotABundle { dir: PathBuf },
    #[error("{path} exists and is not a directory: give a directory to --out")]
    NotADirectory { path: PathBuf },
    #[error("{path} is not a watchkeep evidence manifest ({reason}): nothing was written; give an empty or new directory to --out")]
    BadManifest { path: PathBuf, reason: String },
    #[error("{what} `{name}` cannot be a file name in the bundle ({reason}): nothing was written")]
    BadName { what: &'static str, name: String, reason: &'static str },
    #[error("cannot {what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn io<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> BundleError + 'a {
    move |source| BundleError::Io { what, path: path.to_path_buf(), source }
}

/// One file to write.
#[derive(Debug, Clone)]
pub(crate) struct Planned {
    pub path: String,
    pub describes: String,
    pub bytes: Vec<u8>,
    pub captured_at: Option<String>,
}

impl Planned {
    fn manifest_entry(&self) -> ManifestFile {
        ManifestFile {
            path: self.path.clone(),
            sha256: sha256_hex(&self.bytes),
            bytes: self.bytes.len() as u64,
            describes: self.describes.clone(),
            captured_at: self.captured_at.clone(),
        }
    }
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Writes the bundle of `ev` into `dir` and returns its manifest.
///
/// `dir` is created if missing. If it exists and is not empty, it must hold a previous bundle
/// (its `manifest.json`, or the marker of an unfinished write): the files that bundle lists are
/// replaced or removed, anything else is left alone. Otherwise nothing is touched. Each file is
/// written to a temporary name and renamed into place; the old manifest is removed before the
/// first file changes and the new one is written last, so a bundle's manifest never lists
/// content other than what is on disk.
pub fn write(dir: &Path, ev: &Evidence) -> Result<Manifest, BundleError> {
    // Everything is computed, and every name checked, before the directory is touched.
    let ev = normalised(ev);
    let mut files = plan_files(&ev)?;
    let mut entries: Vec<ManifestFile> = files.iter().map(Planned::manifest_entry).collect();
    let oscal = super::oscal::assessment_results(&ev, &entries);
    let oscal = Planned {
        path: OSCAL_JSON.to_string(),
        describes: describe_oscal(),
        bytes: json_bytes(&oscal),
        captured_at: None,
    };
    entries.push(oscal.manifest_entry());
    files.push(oscal);
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    let manifest = Manifest {
        format_version: FORMAT_VERSION,
        generated_at: ev.generated_at.clone(),
        period: ev.period.clone(),
        files: entries,
    };

    let previous = previous_bundle(dir)?;
    fs::create_dir_all(dir).map_err(io("create directory", dir))?;
    let new_paths: BTreeSet<String> = files.iter().map(|f| f.path.clone()).collect();
    let mut belongs: BTreeSet<String> = previous.clone();
    belongs.extend(new_paths.iter().cloned());
    belongs.insert(MANIFEST_JSON.to_string());
    let marker = dir.join(INCOMPLETE_MARKER);
    write_atomic(&marker, &json_bytes(&belongs))?;
    remove_if_present(&dir.join(MANIFEST_JSON))?;
    for f in &files {
        write_atomic(&dir.join(&f.path), &f.bytes)?;
    }
    for old in previous.difference(&new_paths) {
        if old == MANIFEST_JSON {
            continue;
        }
        remove_if_present(&dir.join(old))?;
        if let Some(parent) = Path::new(old).parent().filter(|p| !p.as_os_str().is_empty()) {
            // Only succeeds when the old bundle's sub-directory is now empty.
            let _ = fs::remove_dir(dir.join(parent));
        }
    }
    write_atomic(&dir.join(MANIFEST_JSON), &json_bytes(&manifest))?;
    remove_if_present(&marker)?;
    sync_dir(dir)?;
    Ok(manifest)
}

/// Checks a bundle against its manifest: every listed file present with its size and SHA-256,
/// no file that the manifest does not list, no unfinished write. Returns one line per mismatch
/// (empty: the bundle is as written); an error when `dir` holds no readable manifest.
pub fn verify(dir: &Path) -> Result<Vec<String>, BundleError> {
    let path = dir.join(MANIFEST_JSON);
    let manifest = read_manifest(&path)?;
    let mut mismatches = Vec::new();
    if dir.join(INCOMPLETE_MARKER).exists() {
        mismatches.push(format!("{INCOMPLETE_MARKER}: a write of this bundle did not finish"));
    }
    let mut listed = BTreeSet::new();
    for f in &manifest.files {
        listed.insert(f.path.clone());
        if let Err(reason) = check_rel_path(&f.path) {
            mismatches.push(format!("{}: not a path inside the bundle ({reason})", f.path));
            continue;
        }
        match fs::read(dir.join(&f.path)) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                mismatches.push(format!("{}: missing", f.path));
            }
            Err(e) => mismatches.push(format!("{}: cannot be read ({e})", f.path)),
            Ok(bytes) => {
                let sha = sha256_hex(&bytes);
                if sha != f.sha256 {
                    mismatches.push(format!(
                        "{}: changed (SHA-256 {sha}, {} bytes; the manifest says {}, {} bytes)",
                        f.path,
                        bytes.len(),
                        f.sha256,
                        f.bytes
                    ));
                } else if bytes.len() as u64 != f.bytes {
                    mismatches.push(format!(
                        "{}: {} bytes, the manifest says {}",
                        f.path,
                        bytes.len(),
                        f.bytes
                    ));
                }
            }
        }
    }
    for extra in files_under(dir)? {
        if extra != MANIFEST_JSON && extra != INCOMPLETE_MARKER && !listed.contains(&extra) {
            mismatches.push(format!("{extra}: not in the manifest"));
        }
    }
    Ok(mismatches)
}

/// Every file under `dir`, relative, `/`-separated, sorted.
fn files_under(dir: &Path) -> Result<Vec<String>, BundleError> {
    let mut out = Vec::new();
    let mut stack = vec![(dir.to_path_buf(), String::new())];
    while let Some((d, prefix)) = stack.pop() {
        for entry in fs::read_dir(&d).map_err(io("read directory", &d))? {
            let entry = entry.map_err(io("read directory", &d))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let rel = if prefix.is_empty() { name } else { format!("{prefix}/{name}") };
            let ft = entry.file_type().map_err(io("read", &entry.path()))?;
            if ft.is_dir() {
                stack.push((entry.path(), rel));
            } else {
                out.push(rel);
            }
        }
    }
    out.sort();
    Ok(out)
}

fn read_manifest(path: &Path) -> Result<Manifest, BundleError> {
    let text = fs::read_to_string(path).map_err(io("read", path))?;
    let manifest: Manifest = serde_json::from_str(&text)
        .map_err(|e| BundleError::BadManifest { path: path.to_path_buf(), reason: e.to_string() })?;
    if manifest.format_version != FORMAT_VERSION {
        return Err(BundleError::BadManifest {
            path: path.to_path_buf(),
            reason: format!(
                "format_version {}, this watchkeep reads {FORMAT_VERSION}",
                manifest.format_version
            ),
        });
    }
    Ok(manifest)
}

/// The files of the bundle already in `dir` (empty when `dir` is missing or empty); refuses a
/// directory that holds something else.
fn previous_bundle(dir: &Path) -> Result<BTreeSet<String>, BundleError> {
    let meta = match fs::metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeSet::new()),
        other => other.map_err(io("read", dir))?,
    };
    if !meta.is_dir() {
        return Err(BundleError::NotADirectory { path: dir.to_path_buf() });
    }
    let manifest = dir.join(MANIFEST_JSON);
    let marker = dir.join(INCOMPLETE_MARKER);
    let listed: Vec<String> = if manifest.exists() {
        read_manifest(&manifest)?.files.into_iter().map(|f| f.path).collect()
    } else if marker.exists() {
        let text = fs::read_to_string(&marker).map_err(io("read", &marker))?;
        serde_json::from_str(&text)
            .map_err(|e| BundleError::BadManifest { path: marker.clone(), reason: e.to_string() })?
    } else {
        let mut entries = fs::read_dir(dir).map_err(io("read directory", dir))?;
        if entries.next().is_some() {
            return Err(BundleError::NotABundle { dir: dir.to_path_buf() });
        }
        Vec::new()
    };
    // A manifest could list `../x`: never remove anything outside the bundle.
    Ok(listed.into_iter().filter(|p| check_rel_path(p).is_ok()).collect())
}

/// A bundle-relative path: `/`-separated plain names, no `..`, nothing absolute.
fn check_rel_path(p: &str) -> Result<(), &'static str> {
    if p.is_empty() {
        return Err("empty");
    }
    if p.contains('\\') {
        return Err("contains a backslash");
    }
    for c in Path::new(p).components() {
        match c {
            Component::Normal(_) => {}
            _ => return Err("leaves the bundle's directory"),
        }
    }
    Ok(())
}

/// A file name from the evidence (`000003.json`, `datadog-infra.png`): one plain name.
fn check_name(what: &'static str, name: &str) -> Result<(), BundleError> {
    let reason = if name.is_empty() {
        Some("empty")
    } else if name.starts_with('.') {
        Some("starts with a dot")
    } else if !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')) {
        Some("only letters, digits, `.`, `-` and `_` are allowed")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(BundleError::BadName { what, name: name.to_string(), reason }),
        None => Ok(()),
    }
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), BundleError> {
    let parent = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(parent).map_err(io("create directory", parent))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = parent.join(format!(".{name}.tmp-{}", std::process::id()));
    let written = fs::File::create(&tmp).and_then(|mut f| {
        f.write_all(bytes)?;
        f.sync_all()
    });
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(BundleError::Io { what: "write", path: tmp, source: e });
    }
    if let Err(e) = fs::rename(&tmp, path) {
        let _ = fs::remove_file(&tmp);
        return Err(BundleError::Io { what: "replace", path: path.to_path_buf(), source: e });
    }
    Ok(())
}

fn remove_if_present(path: &Path) -> Result<(), BundleError> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(BundleError::Io { what: "remove", path: path.to_path_buf(), source: e })
        }
        _ => Ok(()),
    }
}

fn sync_dir(dir: &Path) -> Result<(), BundleError> {
    #[cfg(unix)]
    fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io("sync directory", dir))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// The evidence with every list in its documented order (the gatherer sorts too; sorting here
/// again makes the files a function of the evidence's content, not of the order it came in).
/// Stable sorts: ties keep their order.
pub(crate) fn normalised(ev: &Evidence) -> Evidence {
    let mut ev = ev.clone();
    ev.scope.inventories.sort_by(|a, b| a.name.cmp(&b.name));
    ev.scope.components.sort_by(|a, b| a.name.cmp(&b.name));
    for c in &mut ev.scope.components {
        c.managed.sort_by(|a, b| a.address.cmp(&b.address));
    }
    ev.alert_configuration.sort_by(|a, b| a.address.cmp(&b.address));
    ev.changes.entries.sort_by_key(|e| e.entry.version);
    ev.alert_log.incidents.sort_by(|a, b| {
        let at = |i: &super::AlertIncident| i.triggered_at.clone().or_else(|| i.resolved_at.clone());
        at(a).cmp(&at(b)).then_with(|| a.address.cmp(&b.address))
    });
    for i in &mut ev.alert_log.incidents {
        i.notes.sort_by(|a, b| a.noted_at.cmp(&b.noted_at));
    }
    ev.alert_log.events.sort_by(|a, b| a.timestamp.cmp(&b.timestamp).then_with(|| a.address.cmp(&b.address)));
    ev.alert_log.not_covered.sort();
    ev.validations
        .records
        .sort_by(|a, b| (a.sequence, &a.recorded_at, &a.file).cmp(&(b.sequence, &b.recorded_at, &b.file)));
    ev.dashboards.sort_by(|a, b| a.file.cmp(&b.file));
    ev
}

pub(crate) fn json_bytes<T: Serialize + ?Sized>(v: &T) -> Vec<u8> {
    // Serialising these plain data types cannot fail (string keys, no custom serialisers).
    let mut text = serde_json::to_string_pretty(v).unwrap_or_default();
    text.push('\n');
    text.into_bytes()
}

/// A text cell of a CSV file. A cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage
/// return is read as a formula by spreadsheets (OWASP "CSV injection"): such a cell from the
/// configuration or a vendor gets a leading `'`, which spreadsheets show as text. Numbers are
/// written by [`num`] and never changed.
fn cell(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

fn opt(s: &Option<String>) -> String {
    s.as_deref().map(cell).unwrap_or_default()
}

fn num(v: Option<f64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

fn list(v: &[String]) -> String {
    cell(&v.join("; "))
}

fn csv_bytes(header: &[&str], rows: Vec<Vec<String>>) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
    // Writing to a Vec cannot fail.
    let _ = w.write_record(header);
    for r in rows {
        let _ = w.write_record(&r);
    }
    w.into_inner().unwrap_or_default()
}

/// Every file of the bundle except the OSCAL file and the manifest, in writing order.
pub(crate) fn plan_files(ev: &Evidence) -> Result<Vec<Planned>, BundleError> {
    let mut seen = BTreeSet::new();
    for r in &ev.validations.records {
        check_name("validation record file", &r.file)?;
        if !seen.insert(format!("{VALIDATIONS_DIR}/{}", r.file)) {
            return Err(BundleError::BadName {
                what: "validation record file",
                name: r.file.clone(),
                reason: "two records have this name",
            });
        }
    }
    for d in &ev.dashboards {
        check_name("dashboard picture file", &d.file)?;
        if !d.file.ends_with(".png") {
            return Err(BundleError::BadName {
                what: "dashboard picture file",
                name: d.file.clone(),
                reason: "a picture's name ends in `.png`",
            });
        }
        if watchkeep_provider::png_size(&d.png).is_none() {
            return Err(BundleError::BadName {
                what: "dashboard picture file",
                name: d.file.clone(),
                reason: "its bytes are not a PNG image",
            });
        }
        if !seen.insert(format!("{DASHBOARDS_DIR}/{}", d.file)) {
            return Err(BundleError::BadName {
                what: "dashboard picture file",
                name: d.file.clone(),
                reason: "two pictures have this name",
            });
        }
    }

    let mut files = Vec::new();
    let mut add = |path: &str, describes: String, bytes: Vec<u8>| {
        files.push(Planned { path: path.to_string(), describes, bytes, captured_at: None })
    };
    add(
        SCOPE_JSON,
        "The monitoring scope mapped to the system inventory: inventories with their review dates, components, required metrics and managed objects (schema: evidence-scope.schema.json).".to_string(),
        json_bytes(&ScopeFile {
            format_version: FORMAT_VERSION,
            period: ev.period.clone(),
            configuration: ev.configuration.clone(),
            scope: ev.scope.clone(),
        }),
    );
    add(
        SCOPE_CSV,
        "The monitoring scope, one row per component and required metric.".to_string(),
        scope_csv(ev),
    );
    add(
        ALERT_CONFIGURATION_JSON,
        "The alert configuration export: every managed alert with thresholds, routes, vendor last-modified and change dates (schema: evidence-alert-configuration.schema.json).".to_string(),
        json_bytes(&AlertConfigurationFile {
            format_version: FORMAT_VERSION,
            period: ev.period.clone(),
            configuration: ev.configuration.clone(),
            alerts: ev.alert_configuration.clone(),
        }),
    );
    add(
        ALERT_CONFIGURATION_CSV,
        "The alert configuration export, one row per managed alert.".to_string(),
        alert_configuration_csv(ev),
    );
    add(
        CHANGES_JSON,
        "The history entries of the period and the state of the history's hash chain (schema: evidence-changes.schema.json).".to_string(),
        json_bytes(&ChangesFile { format_version: FORMAT_VERSION, period: ev.period.clone(), changes: ev.changes.clone() }),
    );
    add(
        CHANGES_CSV,
        "The configuration changes of the period, one row per changed object.".to_string(),
        changes_csv(ev),
    );
    add(
        ALERT_LOG_JSON,
        "The alert log: incidents with trigger and resolution times and notes, and every state change read from the vendors (schema: evidence-alert-log.schema.json).".to_string(),
        json_bytes(&AlertLogFile {
            format_version: FORMAT_VERSION,
            period: ev.period.clone(),
            alert_log: ev.alert_log.clone(),
        }),
    );
    add(
        ALERT_LOG_CSV,
        "The alert log, one row per incident: triggered, resolved, time to resolve, resolution notes."
            .to_string(),
        alert_log_csv(ev),
    );
    add(
        VALIDATIONS_JSON,
        "The validation records of the period (drift, coverage, route tests) and the state of their hash chain (schema: evidence-validations.schema.json).".to_string(),
        json_bytes(&ValidationsFile {
            format_version: FORMAT_VERSION,
            period: ev.period.clone(),
            validations: ev.validations.clone(),
        }),
    );
    for r in &ev.validations.records {
        let seq = r.sequence.map(|s| format!(" {s}")).unwrap_or_default();
        add(
            &format!("{VALIDATIONS_DIR}/{}", r.file),
            one_line(&format!("{} record{seq} of {}, {}: {}", r.kind, r.recorded_at, r.outcome, r.summary)),
            r.bytes.clone(),
        );
    }
    for d in &ev.dashboards {
        files.push(Planned {
            path: format!("{DASHBOARDS_DIR}/{}", d.file),
            describes: one_line(&format!(
                "Picture of dashboard \"{}\" ({} {} {}), {}; the capture time is drawn in.",
                d.title, d.vendor, d.resource_type, d.id, d.source
            )),
            bytes: d.png.clone(),
            captured_at: Some(d.captured_at.clone()),
        });
    }
    // The index lists every file of the bundle, those written after it included.
    let mut listing: Vec<(String, String)> =
        files.iter().map(|f| (f.path.clone(), f.describes.clone())).collect();
    listing.push((INDEX_HTML.to_string(), describe_index("HTML")));
    listing.push((INDEX_MD.to_string(), describe_index("Markdown")));
    listing.push((OSCAL_JSON.to_string(), describe_oscal()));
    listing.push((
        MANIFEST_JSON.to_string(),
        "The SHA-256 and size of every other file, and when the bundle was made.".to_string(),
    ));
    listing.sort();
    let verdicts = super::verdict::assess(ev);
    let doc = super::index::document(ev, &verdicts, &listing);
    files.push(Planned {
        path: INDEX_HTML.to_string(),
        describes: describe_index("HTML"),
        bytes: super::index::html(&doc).into_bytes(),
        captured_at: None,
    });
    files.push(Planned {
        path: INDEX_MD.to_string(),
        describes: describe_index("Markdown"),
        bytes: super::index::markdown(&doc).into_bytes(),
        captured_at: None,
    });
    Ok(files)
}

fn describe_index(format: &str) -> String {
    format!("What an auditor reads first ({format}): the period, the configuration, each CC7.1 step with its verdict, key facts and the files that answer it.")
}

fn describe_oscal() -> String {
    "NIST OSCAL 1.0.6 assessment results: one observation per evidence file group, one finding per CC7.1 step.".to_string()
}

fn scope_csv(ev: &Evidence) -> Vec<u8> {
    let header = [
        "component",
        "kind",
        "vendor",
        "inventory",
        "identifier",
        "coverage",
        "metric",
        "status",
        "covered_by",
        "reasons",
        "managed_objects",
    ];
    let mut rows = Vec::new();
    for c in &ev.scope.components {
        let ident: Vec<String> = c.identifier.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let managed: Vec<String> = c
            .managed
            .iter()
            .map(|m| format!("{} ({} {} {})", m.address, m.vendor, m.resource_type, m.id))
            .collect();
        let base = [
            cell(&c.name),
            cell(&c.kind),
            cell(&c.provider),
            opt(&c.inventory),
            list(&ident),
            cell(&c.coverage),
        ];
        let mut push = |metric: String, status: String, covered_by: String, reasons: String| {
            let mut row = base.to_vec();
            row.extend([metric, status, covered_by, reasons, list(&managed)]);
            rows.push(row);
        };
        if c.metrics.is_empty() {
            // A component without required metrics still appears.
            push(String::new(), String::new(), String::new(), String::new());
        }
        for m in &c.metrics {
            push(cell(&m.metric), cell(&m.status), list(&m.covered_by), list(&m.reasons));
        }
    }
    csv_bytes(&header, rows)
}

fn alert_configuration_csv(ev: &Evidence) -> Vec<u8> {
    let header = [
        "address",
        "vendor",
        "resource_type",
        "id",
        "link",
        "name",
        "component",
        "metric",
        "condition",
        "direction",
        "critical",
        "warning",
        "duration",
        "severity",
        "routes",
        "targets",
        "vendor_modified",
        "first_applied",
        "last_changed",
    ];
    let rows = ev
        .alert_configuration
        .iter()
        .map(|r| {
            vec![
                cell(&r.address),
                cell(&r.vendor),
                cell(&r.resource_type),
                cell(&r.id),
                opt(&r.link),
                opt(&r.name),
                opt(&r.component),
                opt(&r.metric),
                cell(&r.condition),
                opt(&r.direction),
                num(r.critical),
                num(r.warning),
                opt(&r.duration),
                opt(&r.severity),
                list(&r.routes),
                list(&r.targets),
                opt(&r.vendor_modified),
                opt(&r.first_applied),
                opt(&r.last_changed),
            ]
        })
        .collect();
    csv_bytes(&header, rows)
}

fn changes_csv(ev: &Evidence) -> Vec<u8> {
    let header = [
        "version",
        "timestamp",
        "operation",
        "actor",
        "source_revision",
        "outcome",
        "serial",
        "lineage",
        "entry_sha256",
        "address",
        "resource_type",
        "action",
        "id",
        "changed_attributes",
    ];
    let mut rows = Vec::new();
    for c in &ev.changes.entries {
        let e = &c.entry;
        let base = vec![
            e.version.to_string(),
            cell(&e.timestamp),
            cell(&e.operation),
            cell(&e.actor),
            opt(&e.source_revision),
            cell(&e.outcome),
            e.serial.to_string(),
            cell(&e.lineage),
            cell(&c.sha256),
        ];
        if e.changes.is_empty() {
            // An entry that changed nothing still appears.
            let mut row = base.clone();
            row.extend(std::iter::repeat_n(String::new(), 5));
            rows.push(row);
        }
        for ch in &e.changes {
            let mut row = base.clone();
            row.extend([
                cell(&ch.address),
                cell(&ch.resource_type),
                cell(&ch.action),
                opt(&ch.id),
                list(&ch.changed_attributes),
            ]);
            rows.push(row);
        }
    }
    csv_bytes(&header, rows)
}

fn alert_log_csv(ev: &Evidence) -> Vec<u8> {
    let header = [
        "address",
        "vendor",
        "resource_type",
        "id",
        "component",
        "metric",
        "triggered_at",
        "trigger_state",
        "resolved_at",
        "resolve_state",
        "time_to_resolve_seconds",
        "time_to_resolve",
        "summary",
        "notes",
    ];
    let rows = ev
        .alert_log
        .incidents
        .iter()
        .map(|i| {
            let notes: Vec<String> = i
                .notes
                .iter()
                .map(|n| one_line(&format!("{} {} ({}): {}", n.noted_at, n.author, n.source, n.text)))
                .collect();
            vec![
                cell(&i.address),
                cell(&i.vendor),
                cell(&i.resource_type),
                cell(&i.id),
                opt(&i.component),
                opt(&i.metric),
                opt(&i.triggered_at),
                opt(&i.trigger_state),
                opt(&i.resolved_at),
                opt(&i.resolve_state),
                i.time_to_resolve_seconds.map(|s| s.to_string()).unwrap_or_default(),
                i.time_to_resolve_seconds.map(human_duration).unwrap_or_default(),
                cell(&one_line(&i.summary)),
                list(&notes),
            ]
        })
        .collect();
    csv_bytes(&header, rows)
}

/// A rich evidence fixture for the tests of this module and its neighbours.
#[cfg(test)]
pub(crate) mod fixture {
    use std::collections::BTreeMap;

    use serde_json::json;

    use crate::evidence::*;

    /// A valid RGB PNG of `w` × `h` pixels of one colour: zlib "stored" blocks, so no
    /// compressor is needed (PNG: RFC 2083; zlib: RFC 1950/1951).
    pub fn png(w: u32, h: u32, rgb: [u8; 3]) -> Vec<u8> {
        fn crc32(bytes: &[u8]) -> u32 {
            let mut c = 0xffff_ffffu32;
            for &b in bytes {
                c ^= u32::from(b);
                for _ in 0..8 {
                    c = if c & 1 == 1 { 0xedb8_8320 ^ (c >> 1) } else { c >> 1 };
                }
            }
            !c
        }
        fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
            out.extend((data.len() as u32).to_be_bytes());
            let mut body = kind.to_vec();
            body.extend(data);
            out.extend(&body);
            out.extend(crc32(&body).to_be_bytes());
        }
        // Each row: filter type 0 (none), then the pixels.
        let row: Vec<u8> = std::iter::once(0).chain(rgb.repeat(w as usize)).collect();
        let raw: Vec<u8> = (0..h).flat_map(|_| row.iter().copied()).collect();
        let mut z = vec![0x78, 0x01];
        let blocks: Vec<&[u8]> = raw.chunks(65_535).collect();
        for (i, b) in blocks.iter().enumerate() {
            z.push(u8::from(i + 1 == blocks.len()));
            let len = b.len() as u16;
            z.extend(len.to_le_bytes());
            z.extend((!len).to_le_bytes());
            z.extend(*b);
        }
        let (mut a, mut s) = (1u32, 0u32);
        for &byte in &raw {
            a = (a + u32::from(byte)) % 65_521;
            s = (s + a) % 65_521;
        }
        z.extend(((s << 16) | a).to_be_bytes());
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut ihdr = Vec::new();
        ihdr.extend(w.to_be_bytes());
        ihdr.extend(h.to_be_bytes());
        ihdr.extend([8, 2, 0, 0, 0]);
        chunk(&mut out, b"IHDR", &ihdr);
        chunk(&mut out, b"IDAT", &z);
        chunk(&mut out, b"IEND", &[]);
        out
    }

    fn chain(length: usize, head: &str) -> ChainStatus {
        ChainStatus {
            intact: true,
            length,
            head_sha256: Some(head.repeat(64 / head.len())),
            problems: vec![],
        }
    }

    fn metrics(covered: &[&str], na: &[&str], by: &str) -> Vec<ScopeMetric> {
        let mut v: Vec<ScopeMetric> = covered
            .iter()
            .map(|m| ScopeMetric {
                metric: m.to_string(),
                status: "covered".into(),
                covered_by: vec![format!("{by}.{m}")],
                reasons: vec![],
            })
            .collect();
        v.extend(na.iter().map(|m| ScopeMetric {
            metric: m.to_string(),
            status: "not_applicable".into(),
            covered_by: vec![],
            reasons: vec!["a managed load balancer has none".into()],
        }));
        v
    }

    fn component(
        name: &str,
        kind: &str,
        provider: &str,
        metrics: Vec<ScopeMetric>,
        managed: &[(&str, &str, &str)],
    ) -> ScopeComponent {
        ScopeComponent {
            name: name.into(),
            kind: kind.into(),
            provider: provider.into(),
            inventory: Some("production".into()),
            identifier: BTreeMap::from([("host".to_string(), name.to_string())]),
            coverage: "covered".into(),
            metrics,
            managed: managed
                .iter()
                .map(|(a, t, id)| ManagedObject {
                    address: a.to_string(),
                    vendor: provider.into(),
                    resource_type: t.to_string(),
                    id: id.to_string(),
                })
                .collect(),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn alert(
        address: &str,
        vendor: &str,
        rt: &str,
        id: &str,
        component: &str,
        metric: &str,
        condition: &str,
        critical: f64,
        targets: &[&str],
    ) -> AlertConfigRow {
        AlertConfigRow {
            address: address.into(),
            vendor: vendor.into(),
            resource_type: rt.into(),
            id: id.into(),
            link: Some(format!("https://{vendor}.example.com/alerts/{id}")),
            name: Some(format!("[watchkeep] {component} {metric}")),
            component: Some(component.into()),
            metric: Some(metric.into()),
            condition: condition.into(),
            direction: Some("above".into()),
            critical: Some(critical),
            warning: Some(critical - 10.0),
            duration: Some("5m".into()),
            severity: Some("critical".into()),
            routes: vec!["oncall".into()],
            targets: targets.iter().map(|t| t.to_string()).collect(),
            vendor_modified: Some("2026-11-02T10:00:00Z".into()),
            first_applied: Some("2026-11-02T09:59:58Z".into()),
            last_changed: Some("2026-11-10T14:00:00Z".into()),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn incident(
        address: &str,
        vendor: &str,
        rt: &str,
        id: &str,
        fired: &str,
        states: (&str, &str),
        resolved: &str,
        ttr: i64,
        note: (&str, &str),
    ) -> AlertIncident {
        AlertIncident {
            address: address.into(),
            vendor: vendor.into(),
            resource_type: rt.into(),
            id: id.into(),
            component: Some("web-1".into()),
            metric: Some("cpu".into()),
            triggered_at: Some(fired.into()),
            trigger_state: Some(states.0.into()),
            resolved_at: Some(resolved.into()),
            resolve_state: Some(states.1.into()),
            time_to_resolve_seconds: Some(ttr),
            summary: format!("{address} crossed its threshold"),
            notes: vec![AlertNote {
                noted_at: resolved.into(),
                author: "oncall@example.com".into(),
                text: note.0.into(),
                source: note.1.into(),
            }],
        }
    }

    fn record(seq: u64, kind: &str, at: &str, outcome: &str, summary: &str) -> ValidationFile {
        let bytes = format!(
            "{{\n  \"sequence\": {seq},\n  \"kind\": \"{kind}\",\n  \"recorded_at\": \"{at}\",\n  \"passed\": {}\n}}\n",
            outcome == "pass"
        )
        .into_bytes();
        ValidationFile {
            file: format!("{seq:06}.json"),
            kind: kind.into(),
            sequence: Some(seq),
            recorded_at: at.into(),
            outcome: outcome.into(),
            summary: summary.into(),
            sha256: super::sha256_hex(&bytes),
            bytes,
        }
    }

    fn history(
        version: u64,
        at: &str,
        op: &str,
        changes: serde_json::Value,
        counts: serde_json::Value,
    ) -> HistoryEntry {
        // From JSON, so fields the history gains later (with defaults) need no change here.
        serde_json::from_value(json!({
            "version": version,
            "serial": version + 4,
            "lineage": "3f1c2d9e-lineage",
            "timestamp": at,
            "operation": op,
            "actor": "ci@example.com",
            "source_revision": "abc1234",
            "outcome": "complete",
            "counts": counts,
            "changes": changes,
        }))
        .expect("history entry fixture")
    }

    /// Three vendors, three components, an incident per vendor with a note, every kind of
    /// validation record, two dashboards: every requirement satisfied.
    pub fn evidence() -> Evidence {
        let dd_png = png(4, 3, [200, 30, 30]);
        let cw_png = png(3, 2, [30, 30, 200]);
        Evidence {
            period: Period { from: "2026-11-01T00:00:00Z".into(), to: "2026-11-30T23:59:59Z".into() },
            generated_at: "2026-12-01T08:00:00Z".into(),
            watchkeep_version: "0.1.0".into(),
            configuration: ConfigurationRef {
                directory: "monitoring".into(),
                source_revision: Some("abc1234".into()),
                state_lineage: "3f1c2d9e-lineage".into(),
                state_serial: 7,
            },
            scope: ScopeDoc {
                review_interval: "90d".into(),
                inventories: vec![ScopeInventory {
                    name: "production".into(),
                    source: Some("inventory.csv".into()),
                    reviewed_on: Some("2026-10-15".into()),
                    reviewed_by: Some("platform-lead@example.com".into()),
                    review_status: "current".into(),
                    components: 3,
                }],
                components: vec![
                    component(
                        "web-1",
                        "server",
                        "datadog",
                        metrics(&["cpu", "memory", "disk", "network", "uptime"], &[], "baseline.soc2"),
                        &[
                            ("datadog_monitor.web_1_cpu", "datadog_monitor", "1001"),
                            ("datadog_dashboard.infra", "datadog_dashboard", "abc-def-ghi"),
                        ],
                    ),
                    component(
                        "db-1",
                        "database",
                        "cloudwatch",
                        metrics(&["cpu", "memory", "disk", "network", "uptime"], &[], "baseline.soc2"),
                        &[("cloudwatch_metric_alarm.db_1_cpu", "cloudwatch_metric_alarm", "wk-db-1-cpu")],
                    ),
                    component(
                        "api-lb",
                        "cloud_service",
                        "newrelic",
                        metrics(&["network", "uptime"], &["cpu", "memory", "disk"], "baseline.soc2"),
                        &[("newrelic_nrql_condition.api_lb_uptime", "newrelic_nrql_condition", "55501")],
                    ),
                ],
                coverage_passed: true,
                coverage_gaps: vec![],
            },
            alert_configuration: vec![
                alert(
                    "datadog_monitor.web_1_cpu",
                    "datadog",
                    "datadog_monitor",
                    "1001",
                    "web-1",
                    "cpu",
                    "avg(last_5m):100 - avg:system.cpu.idle{host:web-1} > 90",
                    90.0,
                    &["pagerduty (routing key redacted)", "slack #ops-alerts"],
                ),
                alert(
                    "cloudwatch_metric_alarm.db_1_cpu",
                    "cloudwatch",
                    "cloudwatch_metric_alarm",
                    "wk-db-1-cpu",
                    "db-1",
                    "cpu",
                    "AWS/RDS CPUUtilization Average GreaterThanThreshold 85",
                    85.0,
                    &["sns wk-oncall (email oncall@example.com)"],
                ),
                alert(
                    "newrelic_nrql_condition.api_lb_uptime",
                    "newrelic",
                    "newrelic_nrql_condition",
                    "55501",
                    "api-lb",
                    "uptime",
                    "SELECT min(provider.healthyHostCount.Minimum) FROM LoadBalancerSample below 1",
                    1.5,
                    &["email oncall@example.com"],
                ),
            ],
            changes: ChangesDoc {
                chain: chain(2, "ab"),
                entries: vec![
                    ChangeEntry {
                        entry: history(
                            1,
                            "2026-11-02T09:59:58Z",
                            "apply",
                            json!([
                                {"address": "datadog_monitor.web_1_cpu", "resource_type": "datadog_monitor", "action": "create", "id": "1001", "changed_attributes": []},
                                {"address": "cloudwatch_metric_alarm.db_1_cpu", "resource_type": "cloudwatch_metric_alarm", "action": "create", "id": "wk-db-1-cpu", "changed_attributes": []}
                            ]),
                            json!({"create": 2, "update": 0, "replace": 0, "delete": 0}),
                        ),
                        sha256: "11".repeat(32),
                    },
                    ChangeEntry {
                        entry: history(
                            2,
                            "2026-11-10T14:00:00Z",
                            "apply",
                            json!([{"address": "datadog_monitor.web_1_cpu", "resource_type": "datadog_monitor", "action": "update", "id": "1001", "changed_attributes": ["query", "options.thresholds.critical"]}]),
                            json!({"create": 0, "update": 1, "replace": 0, "delete": 0}),
                        ),
                        sha256: "22".repeat(32),
                    },
                ],
            },
            alert_log: AlertLogDoc {
                incidents: vec![
                    incident(
                        "datadog_monitor.web_1_cpu",
                        "datadog",
                        "datadog_monitor",
                        "1001",
                        "2026-11-12T03:00:00Z",
                        ("Alert", "OK"),
                        "2026-11-12T03:25:30Z",
                        1530,
                        ("Restarted the runaway worker; CPU back to 20%.", "watchkeep"),
                    ),
                    incident(
                        "cloudwatch_metric_alarm.db_1_cpu",
                        "cloudwatch",
                        "cloudwatch_metric_alarm",
                        "wk-db-1-cpu",
                        "2026-11-15T10:00:00Z",
                        ("ALARM", "OK"),
                        "2026-11-15T11:05:00Z",
                        3900,
                        ("Killed a long-running report query.", "watchkeep"),
                    ),
                    incident(
                        "newrelic_nrql_condition.api_lb_uptime",
                        "newrelic",
                        "newrelic_nrql_condition",
                        "55501",
                        "2026-11-20T22:00:00Z",
                        ("OPEN", "CLOSED"),
                        "2026-11-20T22:09:00Z",
                        540,
                        ("Target group re-registered after deploy.", "newrelic"),
                    ),
                ],
                events: vec![
                    AlertLogLine {
                        timestamp: "2026-11-12T03:00:00Z".into(),
                        address: "datadog_monitor.web_1_cpu".into(),
                        vendor: "datadog".into(),
                        resource_type: "datadog_monitor".into(),
                        id: "1001".into(),
                        from: Some("OK".into()),
                        to: "Alert".into(),
                        summary: "CPU above 90".into(),
                    },
                    AlertLogLine {
                        timestamp: "2026-11-12T03:25:30Z".into(),
                        address: "datadog_monitor.web_1_cpu".into(),
                        vendor: "datadog".into(),
                        resource_type: "datadog_monitor".into(),
                        id: "1001".into(),
                        from: Some("Alert".into()),
                        to: "OK".into(),
                        summary: "recovered".into(),
                    },
                ],
                not_covered: vec![],
                notes_chain: chain(3, "cd"),
            },
            validations: ValidationsDoc {
                chain: chain(3, "ef"),
                records: vec![
                    record(1, "drift", "2026-11-03T02:00:00Z", "pass", "no drift: 3 objects in sync"),
                    record(
                        2,
                        "coverage",
                        "2026-11-03T02:05:00Z",
                        "pass",
                        "coverage complete: 3 components, 15 required metrics",
                    ),
                    record(3, "routes-test", "2026-11-03T02:10:00Z", "pass", "4 targets delivered"),
                ],
            },
            dashboards: vec![
                DashboardShot {
                    address: "datadog_dashboard.infra".into(),
                    vendor: "datadog".into(),
                    resource_type: "datadog_dashboard".into(),
                    id: "abc-def-ghi".into(),
                    title: "Production infrastructure".into(),
                    components: vec!["web-1".into(), "api-lb".into()],
                    file: "datadog-infra.png".into(),
                    source: "graph snapshot".into(),
                    captured_at: "2026-12-01T08:00:01Z".into(),
                    png: dd_png,
                },
                DashboardShot {
                    address: "cloudwatch_dashboard.db".into(),
                    vendor: "cloudwatch".into(),
                    resource_type: "cloudwatch_dashboard".into(),
                    id: "wk-db".into(),
                    title: "Databases".into(),
                    components: vec!["db-1".into()],
                    file: "cloudwatch-db.png".into(),
                    source: "GetMetricWidgetImage".into(),
                    captured_at: "2026-12-01T08:00:02Z".into(),
                    png: cw_png,
                },
            ],
            problems: vec![],
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use schemars::schema_for;
    use serde_json::Value;

    use super::fixture::{evidence, png};
    use super::*;

    fn read_all(dir: &Path) -> BTreeMap<String, Vec<u8>> {
        files_under(dir).unwrap().into_iter().map(|p| (p.clone(), fs::read(dir.join(&p)).unwrap())).collect()
    }

    #[test]
    fn writes_every_file_with_a_manifest_that_matches_them() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("bundle");
        let ev = evidence();
        let m = write(&dir, &ev).unwrap();
        let on_disk = read_all(&dir);
        let expected = [
            "alert-configuration.csv",
            "alert-configuration.json",
            "alert-log.csv",
            "alert-log.json",
            "changes.csv",
            "changes.json",
            "dashboards/cloudwatch-db.png",
            "dashboards/datadog-infra.png",
            "index.html",
            "index.md",
            "manifest.json",
            "oscal-assessment-results.json",
            "scope.csv",
            "scope.json",
            "validations.json",
            "validations/000001.json",
            "validations/000002.json",
            "validations/000003.json",
        ];
        assert_eq!(on_disk.keys().map(String::as_str).collect::<Vec<_>>(), expected);
        // The manifest on disk is the one returned; it lists every other file, sorted, with
        // its correct hash and size (recomputed here).
        let disk: Manifest = serde_json::from_slice(&on_disk["manifest.json"]).unwrap();
        assert_eq!(disk, m);
        assert_eq!(m.format_version, 1);
        assert_eq!(m.generated_at, ev.generated_at);
        let listed: Vec<&str> = m.files.iter().map(|f| f.path.as_str()).collect();
        let mut want: Vec<&str> = expected.iter().copied().filter(|p| *p != "manifest.json").collect();
        want.sort();
        assert_eq!(listed, want);
        for f in &m.files {
            let bytes = &on_disk[&f.path];
            assert_eq!(f.sha256, hex::encode(Sha256::digest(bytes)), "{}", f.path);
            assert_eq!(f.bytes, bytes.len() as u64, "{}", f.path);
            assert!(!f.describes.is_empty() && !f.describes.contains('\n'), "{}", f.path);
            assert_eq!(f.captured_at.is_some(), f.path.starts_with("dashboards/"), "{}", f.path);
        }
        let shot = m.files.iter().find(|f| f.path == "dashboards/datadog-infra.png").unwrap();
        assert_eq!(shot.captured_at.as_deref(), Some("2026-12-01T08:00:01Z"));
        // Pictures and validation records byte for byte.
        assert_eq!(on_disk["dashboards/datadog-infra.png"], ev.dashboards[0].png);
        assert_eq!(on_disk["validations/000002.json"], ev.validations.records[1].bytes);
        // Text files: `\n` line ends, one trailing newline, no leftovers of the write.
        for (p, bytes) in &on_disk {
            if p.ends_with(".png") || p.starts_with("validations/") {
                continue;
            }
            let text = std::str::from_utf8(bytes).unwrap();
            assert!(text.ends_with('\n') && !text.ends_with("\n\n"), "{p}");
            assert!(!text.contains('\r'), "{p}");
        }
        assert_eq!(verify(&dir).unwrap(), Vec::<String>::new());
    }

    #[test]
    fn rerun_is_byte_identical_apart_from_manifest_and_pictures() {
        let tmp = tempfile::tempdir().unwrap();
        let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
        let ev = evidence();
        let mut later = evidence();
        later.generated_at = "2026-12-03T17:45:00Z".into();
        for (n, d) in later.dashboards.iter_mut().enumerate() {
            d.captured_at = format!("2026-12-03T17:45:0{n}Z");
            d.png = png(5, 5, [n as u8, 99, 99]);
        }
        // The same content in another order gives the same files.
        later.alert_configuration.reverse();
        later.scope.components.reverse();
        later.dashboards.reverse();
        let ma = write(&a, &ev).unwrap();
        let mb = write(&b, &later).unwrap();
        let (fa, fb) = (read_all(&a), read_all(&b));
        assert_eq!(fa.keys().collect::<Vec<_>>(), fb.keys().collect::<Vec<_>>());
        for (p, bytes) in &fa {
            if p == "manifest.json" || p.ends_with(".png") {
                assert_ne!(bytes, &fb[p], "{p} should differ");
            } else {
                assert_eq!(bytes, &fb[p], "{p} differs between two writes of the same evidence");
            }
        }
        assert_ne!(ma.generated_at, mb.generated_at);
        // And a second write into the same directory replaces it with identical files.
        let again = write(&a, &ev).unwrap();
        assert_eq!(again, ma);
        assert_eq!(read_all(&a), fa);
    }

    #[test]
    fn verify_names_every_tampered_missing_or_extra_file() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("b");
        write(&dir, &evidence()).unwrap();
        let csv = dir.join("alert-log.csv");
        let text = fs::read_to_string(&csv).unwrap().replace("2026-11-12T03:25:30Z", "2026-11-12T03:05:30Z");
        fs::write(&csv, text).unwrap();
        fs::remove_file(dir.join("dashboards/cloudwatch-db.png")).unwrap();
        fs::write(dir.join("validations/000009.json"), "{}\n").unwrap();
        let found = verify(&dir).unwrap();
        assert_eq!(found.len(), 3, "{found:#?}");
        assert!(found[0].starts_with("alert-log.csv: changed (SHA-256 "), "{found:#?}");
        assert_eq!(found[1], "dashboards/cloudwatch-db.png: missing");
        assert_eq!(found[2], "validations/000009.json: not in the manifest");
        // A manifest edited to match the change is caught by its own format only if broken;
        // without a manifest there is nothing to verify against.
        fs::remove_file(dir.join("manifest.json")).unwrap();
        let err = verify(&dir).unwrap_err().to_string();
        assert!(err.contains("manifest.json"), "{err}");
    }

    #[test]
    fn refuses_a_directory_that_holds_something_else_and_touches_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("mine");
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("notes.txt"), "mine\n").unwrap();
        let err = write(&dir, &evidence()).unwrap_err();
        assert!(matches!(err, BundleError::NotABundle { .. }), "{err}");
        let msg = err.to_string();
        assert!(msg.contains("is not empty") && msg.contains("no manifest.json"), "{msg}");
        assert_eq!(files_under(&dir).unwrap(), vec!["notes.txt"]);
        // A file where the directory should be.
        let f = tmp.path().join("file");
        fs::write(&f, "x").unwrap();
        assert!(matches!(write(&f, &evidence()), Err(BundleError::NotADirectory { .. })));
        // A manifest.json that is not ours.
        let other = tmp.path().join("other");
        fs::create_dir_all(&other).unwrap();
        fs::write(other.join("manifest.json"), "{\"name\": \"my app\"}").unwrap();
        let err = write(&other, &evidence()).unwrap_err().to_string();
        assert!(err.contains("is not a watchkeep evidence manifest"), "{err}");
        assert_eq!(files_under(&other).unwrap(), vec!["manifest.json"]);
    }

    #[test]
    fn replaces_a_previous_bundle_and_leaves_other_files_alone() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("b");
        write(&dir, &evidence()).unwrap();
        fs::write(dir.join("README.auditor.txt"), "ours\n").unwrap();
        let mut ev = evidence();
        ev.dashboards.truncate(1);
        ev.validations.records.truncate(2);
        let m = write(&dir, &ev).unwrap();
        let files = files_under(&dir).unwrap();
        assert!(!files.contains(&"dashboards/cloudwatch-db.png".to_string()), "{files:?}");
        assert!(!files.contains(&"validations/000003.json".to_string()), "{files:?}");
        assert!(files.contains(&"README.auditor.txt".to_string()));
        assert!(!files.iter().any(|f| f.contains(".tmp-") || f == INCOMPLETE_MARKER), "{files:?}");
        assert_eq!(m.files.len(), files.len() - 2); // not the manifest, not the reader's file
        assert_eq!(verify(&dir).unwrap(), vec!["README.auditor.txt: not in the manifest".to_string()]);
    }

    #[test]
    fn a_manifest_never_lists_what_is_not_on_disk_after_a_failed_write() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("b");
        write(&dir, &evidence()).unwrap();
        // A directory where the new bundle's file must go makes the write fail part-way.
        let mut ev = evidence();
        ev.dashboards[0].file = "renamed.png".into();
        fs::create_dir_all(dir.join("dashboards/renamed.png/x")).unwrap();
        let err = write(&dir, &ev).unwrap_err();
        assert!(matches!(err, BundleError::Io { .. }), "{err}");
        assert!(!dir.join(MANIFEST_JSON).exists(), "a manifest survived a failed write");
        assert!(verify(&dir).is_err());
        // The marker keeps the directory recognisable: the next write finishes the job.
        assert!(dir.join(INCOMPLETE_MARKER).exists());
        fs::remove_dir_all(dir.join("dashboards/renamed.png")).unwrap();
        write(&dir, &ev).unwrap();
        assert_eq!(verify(&dir).unwrap(), Vec::<String>::new());
        assert!(!dir.join("dashboards/datadog-infra.png").exists());
    }

    #[test]
    fn refuses_file_names_that_leave_the_bundle_before_writing_anything() {
        let tmp = tempfile::tempdir().unwrap();
        for (name, pic) in [
            ("../../escape.json", false),
            ("sub/x.json", false),
            (".hidden", false),
            ("../x.png", true),
            ("x.gif", true),
        ] {
            let mut ev = evidence();
            if pic {
                ev.dashboards[0].file = name.into();
            } else {
                ev.validations.records[0].file = name.into();
            }
            let dir = tmp.path().join("never");
            let err = write(&dir, &ev).unwrap_err();
            assert!(matches!(err, BundleError::BadName { .. }), "{name}: {err}");
            assert!(err.to_string().contains(name), "{err}");
            assert!(!dir.exists(), "{name}: the directory was created");
        }
        let mut ev = evidence();
        ev.dashboards[1].png = b"GIF89a".to_vec();
        assert!(write(&tmp.path().join("never"), &ev).unwrap_err().to_string().contains("not a PNG"));
        let mut ev = evidence();
        ev.dashboards[1].file = ev.dashboards[0].file.clone();
        assert!(write(&tmp.path().join("never"), &ev).unwrap_err().to_string().contains("two pictures"));
    }

    #[test]
    fn previous_manifest_cannot_make_write_remove_files_outside_the_bundle() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("b");
        write(&dir, &evidence()).unwrap();
        let victim = tmp.path().join("victim.txt");
        fs::write(&victim, "keep me\n").unwrap();
        let mut m: Manifest = serde_json::from_slice(&fs::read(dir.join(MANIFEST_JSON)).unwrap()).unwrap();
        m.files.push(ManifestFile {
            path: "../victim.txt".into(),
            sha256: "00".repeat(32),
            bytes: 8,
            describes: "x".into(),
            captured_at: None,
        });
        fs::write(dir.join(MANIFEST_JSON), json_bytes(&m)).unwrap();
        assert!(verify(&dir)
            .unwrap()
            .iter()
            .any(|l| l.starts_with("../victim.txt: not a path inside the bundle")));
        write(&dir, &evidence()).unwrap();
        assert_eq!(fs::read_to_string(&victim).unwrap(), "keep me\n");
    }

    /// Each JSON file validates against its schema (the ones `output::schema` registers and
    /// `checked_in_schemas_are_fresh` keeps under `schema/`), and starts with `format_version`.
    #[test]
    fn each_json_file_validates_against_its_schema() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("b");
        write(&dir, &evidence()).unwrap();
        let schemas = [
            (SCOPE_JSON, schema_for!(ScopeFile)),
            (ALERT_CONFIGURATION_JSON, schema_for!(AlertConfigurationFile)),
            (CHANGES_JSON, schema_for!(ChangesFile)),
            (ALERT_LOG_JSON, schema_for!(AlertLogFile)),
            (VALIDATIONS_JSON, schema_for!(ValidationsFile)),
            (MANIFEST_JSON, schema_for!(Manifest)),
        ];
        for (file, schema) in schemas {
            let doc: Value = serde_json::from_slice(&fs::read(dir.join(file)).unwrap()).unwrap();
            let validator = jsonschema::validator_for(&schema.to_value()).unwrap();
            let errors: Vec<String> =
                validator.iter_errors(&doc).map(|e| format!("{e} at {}", e.instance_path())).collect();
            assert!(errors.is_empty(), "{file}: {errors:#?}");
            assert_eq!(
                doc.as_object().unwrap().keys().next().map(String::as_str),
                Some("format_version"),
                "{file}"
            );
            assert_eq!(doc["format_version"], 1, "{file}");
            // The schema is not vacuous: a wrong type fails.
            let mut broken = doc.clone();
            broken["format_version"] = Value::String("one".into());
            assert!(!validator.is_valid(&broken), "{file}: schema accepts anything");
        }
    }

    #[test]
    fn csv_files_have_a_row_per_item_and_defuse_spreadsheet_formulas() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("b");
        let mut ev = evidence();
        ev.alert_configuration[0].name = Some("=HYPERLINK(\"http://evil\",\"x\")".into());
        ev.alert_configuration[1].critical = Some(-5.0);
        write(&dir, &ev).unwrap();
        let rows = |f: &str| {
            let mut r = csv::Reader::from_path(dir.join(f)).unwrap();
            let head: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
            let rows: Vec<BTreeMap<String, String>> = r
                .records()
                .map(|rec| head.iter().cloned().zip(rec.unwrap().iter().map(String::from)).collect())
                .collect();
            rows
        };
        let alerts = rows(ALERT_CONFIGURATION_CSV);
        assert_eq!(alerts.len(), 3);
        let dd = alerts.iter().find(|r| r["vendor"] == "datadog").unwrap();
        assert_eq!(dd["name"], "'=HYPERLINK(\"http://evil\",\"x\")");
        assert_eq!(dd["targets"], "pagerduty (routing key redacted); slack #ops-alerts");
        assert_eq!(dd["critical"], "90");
        assert_eq!(dd["duration"], "5m");
        let cw = alerts.iter().find(|r| r["vendor"] == "cloudwatch").unwrap();
        assert_eq!(cw["critical"], "-5", "numbers are never prefixed");
        let scope = rows(SCOPE_CSV);
        assert_eq!(scope.len(), 15, "one row per component × metric");
        assert!(scope
            .iter()
            .any(|r| r["component"] == "api-lb" && r["metric"] == "cpu" && r["status"] == "not_applicable"));
        let changes = rows(CHANGES_CSV);
        assert_eq!(changes.len(), 3, "one row per change of each entry");
        assert_eq!(changes[2]["changed_attributes"], "query; options.thresholds.critical");
        let log = rows(ALERT_LOG_CSV);
        assert_eq!(log.len(), 3);
        let nr = log.iter().find(|r| r["vendor"] == "newrelic").unwrap();
        assert_eq!(nr["triggered_at"], "2026-11-20T22:00:00Z");
        assert_eq!(nr["resolved_at"], "2026-11-20T22:09:00Z");
        assert_eq!(nr["time_to_resolve_seconds"], "540");
        assert_eq!(nr["time_to_resolve"], "9m 00s");
        assert_eq!(
            nr["notes"],
            "2026-11-20T22:09:00Z oncall@example.com (newrelic): Target group re-registered after deploy."
        );
    }

    /// A year of a large estate: prints how long a write and a verify take and how big the
    /// bundle is (`cargo test -p watchkeep --lib evidence::bundle::tests::a_large -- --nocapture`).
    #[test]
    fn a_large_bundle_is_written_and_verified() {
        let mut ev = evidence();
        let comp = ev.scope.components[0].clone();
        let alert = ev.alert_configuration[0].clone();
        let inc = ev.alert_log.incidents[0].clone();
        let rec = ev.validations.records[0].clone();
        let shot = ev.dashboards[0].clone();
        for n in 0..500 {
            let mut c = comp.clone();
            c.name = format!("web-{n:03}");
            ev.scope.components.push(c);
        }
        for n in 0..2500 {
            let mut a = alert.clone();
            a.address = format!("datadog_monitor.m{n:04}");
            ev.alert_configuration.push(a);
        }
        for n in 0..1000 {
            let mut i = inc.clone();
            i.address = format!("datadog_monitor.m{n:04}");
            ev.alert_log.incidents.push(i);
        }
        for n in 10..375 {
            let mut r = rec.clone();
            r.file = format!("{n:06}.json");
            r.sequence = Some(n);
            ev.validations.records.push(r);
        }
        for n in 0..20 {
            let mut d = shot.clone();
            d.file = format!("dash-{n:02}.png");
            d.png = png(400, 300, [n as u8, 0, 0]);
            ev.dashboards.push(d);
        }
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("big");
        let started = std::time::Instant::now();
        let m = write(&dir, &ev).unwrap();
        let wrote = started.elapsed();
        let started = std::time::Instant::now();
        assert_eq!(verify(&dir).unwrap(), Vec::<String>::new());
        let verified = started.elapsed();
        let total: u64 = m.files.iter().map(|f| f.bytes).sum();
        eprintln!(
            "large bundle: {} files, {} bytes; write {:?}, verify {:?}",
            m.files.len() + 1,
            total,
            wrote,
            verified
        );
        assert_eq!(m.files.len(), 17 + 365 + 20);
    }

    #[test]
    fn human_durations() {
        assert_eq!(human_duration(45), "45s");
        assert_eq!(human_duration(1530), "25m 30s");
        assert_eq!(human_duration(3900), "1h 05m 00s");
        assert_eq!(human_duration(90_061), "1d 1h 01m");
    }
}
