//! The SOC 2 evidence bundle (`watchkeep evidence`): the auditor's four CC7.1 items (a dated
//! dashboard picture, the alert configuration export, an alert log, the scope document), the
//! changes and validation records of the period, an index for people, a manifest of SHA-256
//! sums and NIST OSCAL assessment results.
//!
//! `run::evidence` gathers an [`Evidence`] from the configuration, state, history, validation
//! records, notes and the vendors; this module only turns it into files (`bundle`), draws the
//! pictures (`picture`) and maps it onto OSCAL (`oscal`). Everything here is a pure function of
//! the [`Evidence`]: the same evidence gives byte-identical files, apart from the dashboard
//! pictures (each shows when it was captured) and `manifest.json` (which records the generation
//! time and the pictures' hashes).

pub mod bundle;
pub mod files;
pub mod index;
pub mod oscal;
pub mod verdict;

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::state::HistoryEntry;

pub mod picture;

/// Format version of every evidence file (`format_version`).
pub const FORMAT_VERSION: u32 = 1;

/// The SOC 2 CC7.1 monitoring process, step by step (the seed document our users follow); each
/// is one OSCAL finding and one section of the index. `(id, title, what satisfies it)`.
pub const REQUIREMENTS: &[(&str, &str, &str)] = &[
    (
        "scope",
        "Define monitoring scope",
        "A monitoring scope list aligned to the system inventory, reviewed within the review interval.",
    ),
    (
        "core-metrics",
        "Configure core metrics",
        "CPU, memory, disk, network and uptime watched for each in-scope component.",
    ),
    (
        "thresholds",
        "Set alert thresholds",
        "Documented and enabled alert thresholds and severities, tied to escalation rules.",
    ),
    (
        "notifications",
        "Enable alert notifications",
        "Alerts routed to approved channels, with verified delivery to on-call personnel.",
    ),
    (
        "dashboards",
        "Review monitoring dashboards",
        "A dated picture of each infrastructure dashboard showing the in-scope systems.",
    ),
    ("respond", "Respond to alerts", "Triggered alerts resolved, with timestamps and resolution notes."),
    (
        "validate",
        "Periodically validate monitoring",
        "Dated validation records: drift, coverage and route tests.",
    ),
];

/// Everything one bundle holds. Lists are sorted; nothing in it depends on when it was
/// gathered except [`Evidence::generated_at`] and the dashboards' `captured_at`/`png`, which
/// only `manifest.json` and the pictures carry.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct Evidence {
    pub period: Period,
    /// When the bundle was made (RFC 3339, UTC). Written only into `manifest.json`.
    pub generated_at: String,
    pub watchkeep_version: String,
    pub configuration: ConfigurationRef,
    pub scope: ScopeDoc,
    pub alert_configuration: Vec<AlertConfigRow>,
    pub changes: ChangesDoc,
    pub alert_log: AlertLogDoc,
    pub validations: ValidationsDoc,
    pub dashboards: Vec<DashboardShot>,
    /// What makes the bundle incomplete or shows tampering (a broken chain, a vendor that did
    /// not answer). Empty: complete. `evidence` exits 2 when it is not empty.
    pub problems: Vec<Problem>,
}

/// The audit period, both ends inclusive (RFC 3339, UTC, seconds).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct Period {
    pub from: String,
    pub to: String,
}

/// Which configuration and state the bundle describes.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct ConfigurationRef {
    /// The configuration directory's name (not its absolute path: bundles made on two machines
    /// from one commit are identical).
    pub directory: String,
    /// Commit of the configuration (`-dirty` when the work tree had changes), when it is a git
    /// work tree.
    pub source_revision: Option<String>,
    pub state_lineage: String,
    pub state_serial: u64,
}

/// `scope.json`: the monitoring scope mapped to the system inventory.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct ScopeDoc {
    /// The review interval required (`90d`).
    pub review_interval: String,
    pub inventories: Vec<ScopeInventory>,
    /// Every component of every inventory, and those in none, by name.
    pub components: Vec<ScopeComponent>,
    /// Whether coverage (from the configuration, as of the period's end) has no gap.
    pub coverage_passed: bool,
    pub coverage_gaps: Vec<ScopeGap>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct ScopeInventory {
    pub name: String,
    /// The inventory's file, relative to the configuration, when it has one.
    pub source: Option<String>,
    pub reviewed_on: Option<String>,
    pub reviewed_by: Option<String>,
    /// `current`, `overdue`, `missing` or `future`, as of the period's end.
    pub review_status: String,
    pub components: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct ScopeComponent {
    pub name: String,
    pub kind: String,
    /// The vendor that monitors it (`datadog`).
    pub provider: String,
    pub inventory: Option<String>,
    /// How the vendor identifies it (`host = "web-1"`).
    pub identifier: BTreeMap<String, String>,
    /// `covered` or `gap`.
    pub coverage: String,
    /// One entry per required metric.
    pub metrics: Vec<ScopeMetric>,
    /// The managed vendor objects that watch or show it, by address.
    pub managed: Vec<ManagedObject>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct ScopeMetric {
    pub metric: String,
    /// `covered`, `gap` or `not_applicable`.
    pub status: String,
    /// Addresses of the alerts that cover it.
    pub covered_by: Vec<String>,
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct ManagedObject {
    pub address: String,
    pub vendor: String,
    pub resource_type: String,
    pub id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct ScopeGap {
    /// As `coverage` names it (`missing`, `review`, `unrouted`, …).
    pub category: String,
    pub subject: String,
    pub metric: Option<String>,
    pub message: String,
}

/// One row of `alert-configuration.csv` / `.json`: a managed alert (monitor, alarm, condition).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct AlertConfigRow {
    pub address: String,
    pub vendor: String,
    pub resource_type: String,
    /// The vendor's id (an alarm's name on CloudWatch).
    pub id: String,
    /// The vendor's web page for it.
    pub link: Option<String>,
    /// The vendor's name for it (monitor name, alarm name, condition name).
    pub name: Option<String>,
    /// The component and core metric it watches, when it was compiled from an `alert` or
    /// `baseline` block.
    pub component: Option<String>,
    pub metric: Option<String>,
    /// The vendor's own expression of the condition (a Datadog query, a CloudWatch metric and
    /// comparison, an NRQL query and its operator).
    pub condition: String,
    /// `above` or `below`.
    pub direction: Option<String>,
    pub critical: Option<f64>,
    pub warning: Option<f64>,
    /// How long the condition must hold (`5m`).
    pub duration: Option<String>,
    pub severity: Option<String>,
    /// Routes it notifies, by name.
    pub routes: Vec<String>,
    /// Where those routes deliver, secrets redacted (`pagerduty (routing key redacted)`,
    /// `slack hooks.slack.com/…`, `email oncall@example.com`).
    pub targets: Vec<String>,
    /// The vendor's last-modified time, as last read.
    pub vendor_modified: Option<String>,
    /// The first history entry that created it, and the last that changed it (RFC 3339).
    pub first_applied: Option<String>,
    pub last_changed: Option<String>,
}

/// Whether a hash chain (history, validation records, notes) holds.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct ChainStatus {
    pub intact: bool,
    /// Entries in the chain (the whole chain, not only the period).
    pub length: usize,
    /// SHA-256 of the newest entry: anchor it elsewhere to catch a rewrite of the whole chain.
    pub head_sha256: Option<String>,
    /// What breaks it, one line each, naming the entry.
    pub problems: Vec<String>,
}

/// `changes.json`: every history entry in the period.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct ChangesDoc {
    pub chain: ChainStatus,
    pub entries: Vec<ChangeEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct ChangeEntry {
    #[serde(flatten)]
    pub entry: HistoryEntry,
    /// SHA-256 of the entry's file.
    pub sha256: String,
}

/// `alert-log.json`: what fired in the period, when it resolved, and what was done.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct AlertLogDoc {
    /// Trigger → resolution pairs, oldest trigger first.
    pub incidents: Vec<AlertIncident>,
    /// Every state change read from the vendors, oldest first.
    pub events: Vec<AlertLogLine>,
    /// Managed alerts whose vendor keeps no alert history watchkeep can read.
    pub not_covered: Vec<String>,
    /// The chain of `alerts note` records.
    pub notes_chain: ChainStatus,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct AlertIncident {
    pub address: String,
    pub vendor: String,
    pub resource_type: String,
    pub id: String,
    pub component: Option<String>,
    pub metric: Option<String>,
    /// When it fired (RFC 3339); null when it fired before the period and resolved in it.
    pub triggered_at: Option<String>,
    /// The vendor's state it entered (`ALARM`, `Alert`, `OPEN`).
    pub trigger_state: Option<String>,
    /// When it resolved; null while it is still firing.
    pub resolved_at: Option<String>,
    pub resolve_state: Option<String>,
    pub time_to_resolve_seconds: Option<i64>,
    /// The vendor's summary of the trigger.
    pub summary: String,
    /// Resolution notes, oldest first.
    pub notes: Vec<AlertNote>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct AlertNote {
    pub noted_at: String,
    pub author: String,
    pub text: String,
    /// `watchkeep` (an `alerts note` record) or the vendor that keeps it.
    pub source: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct AlertLogLine {
    pub timestamp: String,
    pub address: String,
    pub vendor: String,
    pub resource_type: String,
    pub id: String,
    pub from: Option<String>,
    pub to: String,
    pub summary: String,
}

/// `validations.json` and the record files copied byte for byte into `validations/`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct ValidationsDoc {
    pub chain: ChainStatus,
    /// The records of the period, oldest first.
    pub records: Vec<ValidationFile>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct ValidationFile {
    /// The record's file name (`000003.json`); copied to `validations/<file>`.
    pub file: String,
    /// `drift`, `coverage`, `routes-test`.
    pub kind: String,
    pub sequence: Option<u64>,
    pub recorded_at: String,
    /// `pass` or `fail`.
    pub outcome: String,
    pub summary: String,
    pub sha256: String,
    /// The record file's bytes, as on disk.
    #[serde(skip)]
    #[schemars(skip)]
    pub bytes: Vec<u8>,
}

/// One dashboard picture, `dashboards/<file>`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct DashboardShot {
    pub address: String,
    pub vendor: String,
    pub resource_type: String,
    pub id: String,
    pub title: String,
    /// The in-scope components it shows.
    pub components: Vec<String>,
    /// File name under `dashboards/` (`datadog-infra.png`), derived from the address.
    pub file: String,
    /// How the picture was made (`graph snapshot`, `rendered by watchkeep from GetMetricData`).
    pub source: String,
    /// When it was captured (RFC 3339, UTC); drawn into the picture, and written into
    /// `manifest.json` only.
    #[serde(skip)]
    #[schemars(skip)]
    pub captured_at: String,
    /// The PNG, capture time drawn in.
    #[serde(skip)]
    #[schemars(skip)]
    pub png: Vec<u8>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct Problem {
    /// `changes`, `validations`, `notes`, `alert-log`, `dashboards`, `scope`.
    pub area: String,
    pub message: String,
}
