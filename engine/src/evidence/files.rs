//! The bundle's file names and its manifest types, and small helpers the writer, the index and
//! the OSCAL mapping share (kept here, below all three, so none imports another in a circle).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Evidence, Period};

/// The bundle's files, by path.
pub const SCOPE_JSON: &str = "scope.json";
pub const SCOPE_CSV: &str = "scope.csv";
pub const ALERT_CONFIGURATION_JSON: &str = "alert-configuration.json";
pub const ALERT_CONFIGURATION_CSV: &str = "alert-configuration.csv";
pub const CHANGES_JSON: &str = "changes.json";
pub const CHANGES_CSV: &str = "changes.csv";
pub const ALERT_LOG_JSON: &str = "alert-log.json";
pub const ALERT_LOG_CSV: &str = "alert-log.csv";
pub const VALIDATIONS_JSON: &str = "validations.json";
pub const VALIDATIONS_DIR: &str = "validations";
pub const DASHBOARDS_DIR: &str = "dashboards";
pub const INDEX_HTML: &str = "index.html";
pub const INDEX_MD: &str = "index.md";
pub const OSCAL_JSON: &str = "oscal-assessment-results.json";
pub const MANIFEST_JSON: &str = "manifest.json";
/// Present while a write is under way (it lists the files that belong to the bundle, so the
/// next write can finish the job); a bundle with it is incomplete.
pub const INCOMPLETE_MARKER: &str = ".watchkeep-bundle-incomplete";

/// `manifest.json`: every other file of the bundle with its SHA-256.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct Manifest {
    pub format_version: u32,
    /// When the bundle was made (RFC 3339, UTC): the one time the bundle records, apart from the
    /// pictures' capture times.
    pub generated_at: String,
    pub period: Period,
    /// Every file of the bundle except this one, sorted by path.
    pub files: Vec<ManifestFile>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct ManifestFile {
    /// Relative to the bundle, `/`-separated.
    pub path: String,
    /// SHA-256 of the file's bytes, lowercase hex.
    pub sha256: String,
    pub bytes: u64,
    /// What it holds, in one line.
    pub describes: String,
    /// For a dashboard picture: when it was captured (RFC 3339, UTC), as drawn into it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub captured_at: Option<String>,
}

/// The bundle files of some evidence groups, in order.
pub fn group_paths(ev: &Evidence, groups: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for g in groups {
        match *g {
            "scope" => out.extend([SCOPE_JSON, SCOPE_CSV].map(String::from)),
            "alert-configuration" => {
                out.extend([ALERT_CONFIGURATION_CSV, ALERT_CONFIGURATION_JSON].map(String::from))
            }
            "changes" => out.extend([CHANGES_CSV, CHANGES_JSON].map(String::from)),
            "alert-log" => out.extend([ALERT_LOG_CSV, ALERT_LOG_JSON].map(String::from)),
            "validations" => {
                out.push(VALIDATIONS_JSON.to_string());
                out.extend(ev.validations.records.iter().map(|r| format!("{VALIDATIONS_DIR}/{}", r.file)));
            }
            "dashboards" => out.extend(ev.dashboards.iter().map(|d| format!("{DASHBOARDS_DIR}/{}", d.file))),
            _ => {}
        }
    }
    out.dedup();
    out
}

/// Makes a text fit one line (manifest `describes`, CSV cells read in a spreadsheet).
pub fn one_line(s: &str) -> String {
    s.split(['\n', '\r']).map(str::trim).filter(|p| !p.is_empty()).collect::<Vec<_>>().join(" ")
}

/// `1h 05m 30s`, `3d 4h 00m`, `45s`.
pub fn human_duration(secs: i64) -> String {
    if secs < 0 {
        return format!("-{}", human_duration(-secs));
    }
    let (d, h, m, s) = (secs / 86_400, secs % 86_400 / 3_600, secs % 3_600 / 60, secs % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => format!("{m}m {s:02}s"),
        (0, _, _) => format!("{h}h {m:02}m {s:02}s"),
        _ => format!("{d}d {h}h {m:02}m"),
    }
}
