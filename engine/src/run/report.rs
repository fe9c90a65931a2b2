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
