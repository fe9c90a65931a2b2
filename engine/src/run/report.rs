//! The typed reports the run functions return: the `--json` shape of every command (their
//! schemas are generated from these types into `schema/`, see `output::schema`), which the
//! renderers in `output/` also turn into human text.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::plan::{AttrChange, Plan};
use crate::state::{ChangeCounts, ChangeRecord, LockInfo};

/// Figures every command with `--json` reports.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct Stats {
    /// Vendor API requests made.
    pub api_calls: u64,
    /// Requests the vendor rejected with 429 (each was retried after the reset).
    pub rate_limited: u64,
    /// Total time requests waited for the rate budget, in milliseconds.
    pub rate_wait_ms: u64,
    /// Wall time of the command in milliseconds.
    pub wall_ms: u64,
    /// Peak resident memory of the process in bytes (Linux), if known.
    pub peak_rss_bytes: Option<u64>,
}

/// `plan --json` output: the plan plus figures about how it was made.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct PlanOutput {
    #[serde(flatten)]
    pub plan: Plan,
    pub stats: Stats,
    /// Warnings of loading and compiling the configuration (also printed on stderr), e.g. a
    /// component whose kind has no catalog metrics on its vendor.
    #[serde(default)]
    pub warning_count: usize,
    /// The warnings themselves, as `validate --json` lists diagnostics.
    #[serde(default)]
    pub warnings: Vec<serde_json::Value>,
}

/// `apply --json` output.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ApplyOutput {
    pub format_version: u32,
    /// "complete", "partial" (some operations failed or were interrupted) or "no-changes".
    pub outcome: String,
    pub counts: ChangeCounts,
    pub changes: Vec<ChangeRecord>,
    pub errors: Vec<ApplyError>,
    /// State serial after the apply.
    pub serial: u64,
    /// History version recorded for this apply, if anything changed.
    pub history_version: Option<u64>,
    pub stats: Stats,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ApplyError {
    pub address: String,
    pub message: String,
}

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

/// `validate --json` output.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ValidateOutput {
    pub format_version: u32,
    pub valid: bool,
    pub error_count: usize,
    pub warning_count: usize,
    /// Vendor objects the configuration compiles to.
    pub objects: usize,
    pub diagnostics: Vec<serde_json::Value>,
}

/// `version --json` output.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct VersionOutput {
    pub version: String,
    pub state_format_version: u32,
    pub plan_format_version: u32,
    pub providers: Vec<String>,
}

/// One row of `state list --json`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct StateListItem {
    pub address: String,
    pub resource_type: String,
    pub provider: String,
    pub id: String,
    pub origin: Option<String>,
    pub changed_at: String,
}

/// `alerts --json` output.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct AlertLog {
    pub format_version: u32,
    pub generated_at: String,
    /// Start of the window (RFC 3339), when `--since` was given.
    pub since: Option<String>,
    /// State changes, oldest first.
    pub events: Vec<AlertLogEvent>,
    /// Managed objects whose vendor keeps no alert history watchkeep can read yet.
    pub not_covered: Vec<String>,
    pub stats: Stats,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct AlertLogEvent {
    pub timestamp: String,
    pub address: String,
    pub resource_type: String,
    pub id: String,
    pub from: Option<String>,
    pub to: String,
    pub summary: String,
}

/// `fmt --json` output.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct FmtOutput {
    pub format_version: u32,
    /// Whether this was `fmt -check` (nothing written).
    pub check: bool,
    /// Files read (*.hcl and *.wkvars of the directories given, and the files named).
    pub files_checked: usize,
    /// Files not in the canonical style: rewritten, or with `-check` only listed.
    pub changed: Vec<String>,
}

/// `graph --json` output: the dependency graph of the configuration's blocks.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct GraphOutput {
    pub format_version: u32,
    /// Every block address, sorted.
    pub nodes: Vec<String>,
    /// `from` refers to `to`, sorted.
    pub edges: Vec<GraphEdge>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct GraphEdge {
    pub from: String,
    pub to: String,
}

/// `force-unlock --json` output.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct ForceUnlockOutput {
    pub format_version: u32,
    /// The lock removed; null when the state was not locked.
    pub removed: Option<LockInfo>,
}

/// `state rm --json` output.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct StateRmOutput {
    pub format_version: u32,
    /// What was forgotten (the vendor objects are left alone).
    pub removed: Vec<ChangeRecord>,
    /// State serial after the removal.
    pub serial: u64,
    /// History version recorded for the removal.
    pub history_version: u64,
}

/// One record as `validations` lists it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RecordSummary {
    /// `null` for records written before the chain existed.
    pub sequence: Option<u64>,
    pub file: String,
    pub kind: String,
    pub recorded_at: Option<String>,
    /// `pass`, `fail`, or `unknown` for records that cannot be read.
    pub outcome: String,
    pub summary: String,
    pub sha256: String,
}

/// The records of a state's validations folder and whether their chain holds.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ChainReport {
    pub dir: String,
    pub records: Vec<RecordSummary>,
    /// `true` when every record links to the one before it and `HEAD` names the newest.
    pub chain_intact: bool,
    /// What breaks the chain, one line each, naming the record.
    pub problems: Vec<String>,
}
/// `coverage --json` output, also written as the validation record: every in-scope component ×
/// required metric, the inventories' reviews, the routes' contact lists and (with `--live`) what
/// the vendors say.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct CoverageReport {
    pub format_version: u32,
    pub checked_at: String,
    /// No gap anywhere (the command exits 0; otherwise 2).
    pub passed: bool,
    /// What was required (from the `coverage` block, or the defaults).
    pub requirements: CoverageRequirements,
    /// Every gap, in the order the human output lists them.
    pub gaps: Vec<CoverageGap>,
    /// One entry per component (every component of every inventory, and those in none), by name.
    pub components: Vec<ComponentCoverage>,
    pub inventories: Vec<InventoryReview>,
    /// The contact list: every route, whom it reaches and in which order.
    pub contacts: Vec<RouteContact>,
    /// What the vendors say (`--live`); null without it.
    pub live: Option<LiveCoverage>,
    pub stats: Stats,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct CoverageRequirements {
    pub review_interval: String,
    /// Metrics required per kind; a kind not listed requires `default_metrics`.
    pub metrics: std::collections::BTreeMap<String, Vec<String>>,
    pub default_metrics: Vec<String>,
    /// Loosest critical threshold per metric (highest for `above`, lowest for `below`).
    pub max_threshold: std::collections::BTreeMap<String, f64>,
    pub max_window: Option<String>,
    /// Allowed severities; empty allows any.
    pub severities: Vec<String>,
}

/// One gap: what is missing or wrong, named.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct CoverageGap {
    /// `missing`, `threshold`, `window`, `severity`, `unrouted`, `review`, `route_owner`,
    /// `route_contact`, `not_reporting`, `unknown_component` or `no_data`.
    pub category: String,
    /// What it is about: a component name, `inventory.<name>`, `route.<name>`, a state address,
    /// or a vendor's name for an entity.
    pub subject: String,
    pub metric: Option<String>,
    pub vendor: Option<String>,
    /// Why, in a sentence.
    pub message: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct ComponentCoverage {
    pub name: String,
    pub kind: String,
    pub provider: String,
    /// The inventory it belongs to; null for a component in none.
    pub inventory: Option<String>,
    /// One cell per required metric, in the order required.
    pub metrics: Vec<MetricCoverage>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct MetricCoverage {
    pub metric: String,
    /// `covered`, `gap` or `not_applicable`.
    pub status: String,
    /// Why it is a gap or not applicable.
    pub reasons: Vec<String>,
    /// The alerts and baselines that watch this metric of this component.
    pub covered_by: Vec<CoveringAlert>,
}

/// An `alert` or `baseline` instance watching one metric of one component, as it compiles.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct CoveringAlert {
    /// `alert.cpu_saturated` or `baseline.soc2`.
    pub origin: String,
    /// The compiled object's address: `baseline.soc2["web-1"].cpu`.
    pub address: String,
    /// `above` or `below`.
    pub direction: String,
    pub threshold: f64,
    /// `explicit` (written in the block or override) or `catalog default`.
    pub threshold_source: String,
    /// Evaluation window (`for`), and where it comes from (`explicit`, `catalog default`, or
    /// `engine default` for a metric the catalog has no row for).
    pub window: String,
    pub window_source: String,
    pub severity: String,
    pub severity_source: String,
    /// Routes it notifies.
    pub routes: Vec<String>,
    /// What keeps it from covering the cell (empty: it covers it).
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct InventoryReview {
    pub name: String,
    pub reviewed_on: Option<String>,
    pub reviewed_by: Option<String>,
    /// Days since `reviewed_on`.
    pub age_days: Option<i64>,
    /// Reviewed within the interval.
    pub current: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct RouteContact {
    pub route: String,
    pub owner: Option<String>,
    /// Where it notifies, secrets left out: `pagerduty service platform-oncall`, `slack #ops`.
    pub targets: Vec<String>,
    /// Escalation levels in order.
    pub escalation: Vec<EscalationContact>,
    /// The `alert` and `baseline` blocks that notify it.
    pub used_by: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct EscalationContact {
    pub after: String,
    pub rotation: Option<String>,
    pub people: Vec<String>,
}

/// `coverage --live`: what each vendor in play says.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct LiveCoverage {
    /// How far back "reporting" looks (`--window`).
    pub window: String,
    pub vendors: Vec<VendorObservation>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct VendorObservation {
    pub vendor: String,
    /// `observed`, or `cannot_tell` when this vendor's provider cannot say (not a gap).
    pub status: String,
    pub components: Vec<ComponentLiveness>,
    /// Entities the vendor sees that no inventory component matches (CC7.1 unknown components).
    pub unknown: Vec<UnknownEntity>,
    /// Managed alerts the vendor reports in No Data.
    pub no_data: Vec<NoDataEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct ComponentLiveness {
    pub component: String,
    pub reporting: bool,
    pub last_reported: Option<String>,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct UnknownEntity {
    pub name: String,
    pub kind: Option<String>,
    pub identifier: std::collections::BTreeMap<String, String>,
    pub last_reported: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct NoDataEntry {
    /// The state address of the alert, when state has it.
    pub address: Option<String>,
    pub resource_type: String,
    pub id: String,
    pub state: String,
    pub since: Option<String>,
}

/// `routes test --json` output, also written as the `routes-test` validation record.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct RoutesTestReport {
    pub format_version: u32,
    /// When the run started (RFC 3339, UTC).
    pub tested_at: String,
    /// Every target delivered (test and resolve).
    pub passed: bool,
    /// One line: what was found (`3 delivered, 1 failed (route.oncall slack #ops)`).
    pub summary: String,
    pub counts: RouteTestCounts,
    pub routes: Vec<RouteTestResult>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct RouteTestCounts {
    pub delivered: u32,
    /// Refused by the channel (not retried).
    pub rejected: u32,
    /// Unreachable, still failing after retries, or resolve refused.
    pub failed: u32,
    /// Exists but cannot deliver yet (an SNS subscription pending confirmation).
    pub not_delivering: u32,
    /// Could not be tested from here (see each target's `answer`): not verified.
    pub untested: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct RouteTestResult {
    pub route: String,
    pub targets: Vec<TargetTestResult>,
}

/// What happened to one target's test.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum TargetTestStatus {
    Delivered,
    Rejected,
    Failed,
    NotDelivering,
    Untested,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct TargetTestResult {
    /// `pagerduty`, `slack`, `email`, `webhook`, or the vendor resource type tested vendor-side
    /// (`aws_sns_topic`, `newrelic_destination`, …).
    pub channel: String,
    /// `direct` (sent by watchkeep) or `vendor` (through the vendor's object, `address`).
    pub via: String,
    /// The target, secrets redacted: no part of a key, only the host of a URL.
    pub target: String,
    /// The state address of the vendor-side object, for `via: vendor`.
    pub address: Option<String>,
    pub status: TargetTestStatus,
    /// The channel's answer (`202 Event processed`, `410 channel_is_archived`), or why it was
    /// not tested.
    pub answer: String,
    /// Ties the test and its resolve together.
    pub dedup_key: Option<String>,
    /// Requests sent, test and resolve together, retries included.
    pub attempts: u32,
    /// Whether the resolve was accepted; null when the channel has no resolve or none was sent.
    pub resolved: Option<bool>,
    /// When the test finished (RFC 3339, UTC).
    pub at: String,
}

/// `evidence --json` output: where the bundle is and whether it is complete.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct EvidenceOutput {
    pub format_version: u32,
    /// The bundle's directory, as given.
    pub out: String,
    /// `index.html` and `index.md` inside it.
    pub index_html: String,
    pub index_md: String,
    pub period: crate::evidence::Period,
    /// No problem: every chain intact, every vendor answered, every dashboard pictured.
    pub complete: bool,
    pub problems: Vec<crate::evidence::Problem>,
    pub counts: EvidenceCounts,
    /// Every file of the bundle with its SHA-256, as in `manifest.json`.
    pub files: Vec<EvidenceFile>,
}

#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct EvidenceCounts {
    pub components: usize,
    pub coverage_gaps: usize,
    pub alerts: usize,
    pub changes: usize,
    pub incidents: usize,
    pub resolved_incidents: usize,
    pub incidents_with_notes: usize,
    pub alert_events: usize,
    pub validation_records: usize,
    pub dashboards: usize,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct EvidenceFile {
    pub path: String,
    pub sha256: String,
}

/// `import --json` output.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ImportOutput {
    pub format_version: u32,
    /// Nothing was written (`--dry-run`).
    pub dry_run: bool,
    /// "imported", "dry-run", "nothing-to-import" or "partial" (some objects failed at apply).
    pub outcome: String,
    /// The HCL file written (or that would be written).
    pub file: String,
    /// The generated HCL (what the file holds, or would hold).
    pub hcl: String,
    /// Objects imported (or that would be).
    pub imported: Vec<ImportedObject>,
    /// Objects left alone: already in this state, not representable, differing after a round
    /// trip through the configuration.
    pub skipped: Vec<ImportSkip>,
    /// Objects owned by another watchkeep state: never imported or changed.
    pub refused: Vec<ImportSkip>,
    /// Counts of the plan the import applies (each imported object is adopted: an update that
    /// puts this state's ownership marker on it).
    pub plan: crate::plan::Summary,
    /// Apply errors by address (the objects not imported).
    pub errors: Vec<ApplyError>,
    /// History version recorded (operation `import`).
    pub history_version: Option<u64>,
    /// What the filters could not apply (e.g. `--tag` on a type without tags).
    #[serde(default)]
    pub notes: Vec<String>,
    pub stats: Stats,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ImportedObject {
    pub address: String,
    pub resource_type: String,
    pub id: String,
    /// The vendor's name or title.
    pub name: String,
    /// E.g. "carried a marker from before ownership per state".
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ImportSkip {
    pub resource_type: String,
    pub id: String,
    pub name: String,
    pub reason: String,
    /// For a refused object: the owner id in its marker.
    pub owner: Option<String>,
}
