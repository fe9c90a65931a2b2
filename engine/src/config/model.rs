//! The configuration model: what the loader produces from HCL after variables, locals, references,
//! `for_each` and functions have been evaluated. Every block keeps its source [`Span`] so later
//! stages (compile, plan) can point back at the line that caused something.
//!
//! Values are plain JSON ([`serde_json::Value`]); the loader has already checked types.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::Value;

pub use crate::diag::{SourceFile, Span};

/// The whole evaluated configuration of one directory.
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub root: PathBuf,
    pub files: Vec<SourceFile>,
    pub settings: Settings,
    pub variables: BTreeMap<String, Variable>,
    pub locals: BTreeMap<String, Value>,
    pub providers: BTreeMap<String, ProviderBlock>,
    pub inventories: BTreeMap<String, Inventory>,
    /// Keyed by component name (for `for_each` components: `name["key"]` is not used; each
    /// instance is a component named by its key unless the block sets `name`).
    pub components: BTreeMap<String, Component>,
    pub routes: BTreeMap<String, Route>,
    pub alerts: BTreeMap<String, Alert>,
    pub baselines: BTreeMap<String, Baseline>,
    pub metrics: BTreeMap<String, MetricDef>,
    /// `dashboard "name" { scope = inventory.x }` blocks (added by the loader).
    pub dashboards: BTreeMap<String, Dashboard>,
    /// `maintenance "name" { ... }` windows (added by the loader).
    pub maintenance: BTreeMap<String, Maintenance>,
    /// Raw vendor objects, keyed by address (`datadog_monitor.x`, `datadog_monitor.x["k"]`).
    pub resources: BTreeMap<String, RawResource>,
    /// Every reference between blocks, for `watchkeep graph` and apply ordering.
    pub edges: Vec<Edge>,
    /// Values of variables marked `sensitive`, to be redacted from every output.
    pub sensitive_values: Vec<String>,
    /// Every block address the configuration declares (`var.x`, `alert.cpu`,
    /// `component.web-1`, `datadog_monitor.x["k"]`, `module.team.route.oncall`) with its source
    /// span: the nodes of the dependency graph (added by the loader).
    pub addresses: BTreeMap<String, Span>,
    /// The `coverage { ... }` block (at most one), if written: what `watchkeep coverage` requires.
    pub coverage: Option<CoverageSettings>,
}

/// `watchkeep { ... }` settings.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// `state "local" { path = ... }`; `None` means the default `.watchkeep/state.json`.
    pub state_path: Option<String>,
    pub span: Option<Span>,
    /// `state "s3" { bucket, key, ... }`: the state in an S3 bucket instead of a file.
    pub state_s3: Option<crate::state::s3::S3Settings>,
}

#[derive(Debug, Clone)]
pub struct Variable {
    pub name: String,
    pub description: Option<String>,
    pub sensitive: bool,
    /// The resolved value (from -var, -var-file, WATCHKEEP_VAR_<name>, or the default).
    pub value: Value,
    pub span: Span,
}

/// `provider "datadog" { ... }` with its attributes evaluated (no secrets: keys come from env).
#[derive(Debug, Clone)]
pub struct ProviderBlock {
    pub name: String,
    pub attrs: serde_json::Map<String, Value>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Inventory {
    pub name: String,
    /// The CSV/JSON file it was read from, relative to the config root, if any.
    pub source: Option<String>,
    pub reviewed_on: Option<String>,
    pub reviewed_by: Option<String>,
    /// Names of the components in this inventory (from the file, inline blocks, or components
    /// that name it with `inventory = inventory.<name>`).
    pub components: Vec<String>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Component {
    pub name: String,
    pub inventory: Option<String>,
    /// `server | database | container | cloud_service | custom`.
    pub kind: String,
    /// `datadog | newrelic | cloudwatch`.
    pub provider: String,
    pub environment: Option<String>,
    pub owner: Option<String>,
    /// How the vendor identifies it, e.g. `{ host = "web-1" }` for Datadog.
    pub identifier: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
    pub span: Span,
}

#[derive(Debug, Clone, Default)]
pub struct Route {
    pub name: String,
    pub pagerduty: Vec<PagerDutyTarget>,
    pub slack: Vec<SlackTarget>,
    pub email: Vec<EmailTarget>,
    pub webhook: Vec<WebhookTarget>,
    pub span: Span,
    /// `owner = "…"`: who answers for this route (coverage reports a used route without one).
    pub owner: Option<String>,
    /// The `escalation { ... }` blocks in order: the route's on-call contact list.
    pub escalation: Vec<EscalationLevel>,
}

/// One `escalation { after = "15m" rotation = "…" | people = [...] }` level of a route.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EscalationLevel {
    /// How long after the alert opens this level is reached, as written (`"0m"`, `"15m"`).
    pub after: String,
    /// The same, in seconds.
    pub after_seconds: u64,
    /// An on-call rotation (schedule) name.
    pub rotation: Option<String>,
    /// People reached directly (email addresses or handles).
    pub people: Vec<String>,
    pub span: Span,
}

#[derive(Debug, Clone, Default)]
pub struct PagerDutyTarget {
    /// The vendor-side service name (Datadog's `@pagerduty-<service>`); defaults to the route name.
    pub service: Option<String>,
    /// Routing key (usually a sensitive variable); never written anywhere.
    pub routing_key: Option<String>,
    /// Events API v2 endpoint for `routes test`; `None` means PagerDuty's own
    /// (`https://events.pagerduty.com/v2/enqueue`). Set only to point at a stand-in or a proxy.
    pub events_url: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct SlackTarget {
    /// `#ops-alerts` or `ops-alerts`.
    pub channel: String,
    /// Datadog Slack integration account name, for `@slack-<account>-<channel>`.
    pub account: Option<String>,
    /// Incoming-webhook URL (usually sensitive), for vendors that post to Slack over HTTPS.
    pub webhook_url: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct EmailTarget {
    pub to: Vec<String>,
    /// `smtp { ... }`: the relay `routes test` sends its test mails through. Without it an email
    /// target is delivered by the vendor only and reported untested.
    pub smtp: Option<Smtp>,
}

/// `smtp { host, port, starttls, username, password, from, ca_file }` inside an `email` target.
#[derive(Debug, Clone, Default)]
pub struct Smtp {
    pub host: String,
    /// Default 587 (submission).
    pub port: u16,
    /// `required` (default), `opportunistic` or `none`.
    pub starttls: String,
    pub username: Option<String>,
    /// Always the value of a sensitive variable (the loader refuses anything else); never written.
    pub password: Option<String>,
    pub from: String,
    /// A PEM file of extra trusted roots (a private relay's CA), relative to the configuration.
    pub ca_file: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct WebhookTarget {
    /// Name of the vendor-side webhook (Datadog's `@webhook-<name>`); defaults to the route name.
    pub name: Option<String>,
    /// The URL (usually sensitive); never written anywhere.
    pub url: Option<String>,
}

/// Threshold settings shared by `alert` and `baseline` overrides.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Threshold {
    pub above: Option<f64>,
    pub below: Option<f64>,
    pub warning: Option<f64>,
    /// Duration as written (`"5m"`), validated by the loader (`s`, `m`, `h`, `d` units).
    pub for_duration: Option<String>,
    pub severity: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Alert {
    pub name: String,
    /// Inventory name from `scope = inventory.x`; `None` means every component.
    pub scope: Option<String>,
    /// Component kinds it applies to; empty means all.
    pub kinds: Vec<String>,
    /// Explicit component names (`components = [component.a]`); empty means all in scope.
    pub components: Vec<String>,
    /// Catalog metric name (`cpu`) or user metric (`metric.queue_depth` → `queue_depth`).
    pub metric: String,
    /// Where `metric` is written (its value), for errors about the metric itself.
    pub metric_span: Span,
    pub threshold: Threshold,
    /// Route names.
    pub routes: Vec<String>,
    pub runbook: Option<String>,
    pub message: Option<String>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Baseline {
    pub name: String,
    pub scope: Option<String>,
    pub kinds: Vec<String>,
    pub routes: Vec<String>,
    pub runbook: Option<String>,
    /// `override "disk" { above = 90 }`, keyed by metric name.
    pub overrides: BTreeMap<String, Override>,
    pub span: Span,
}

#[derive(Debug, Clone, Default)]
pub struct Override {
    pub threshold: Threshold,
    /// `enabled = false` drops that metric from the baseline.
    pub enabled: Option<bool>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct MetricDef {
    pub name: String,
    pub unit: Option<String>,
    /// `datadog { query = "avg:x{$scope}" }`; `$scope` is replaced by the component's scope.
    pub datadog_query: Option<String>,
    /// Vendor blocks kept as written for providers added later.
    pub cloudwatch: Option<Value>,
    pub newrelic: Option<Value>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct RawResource {
    /// `datadog_monitor.checkout_latency` or `datadog_monitor.per_env["prod"]`.
    pub address: String,
    pub resource_type: String,
    pub name: String,
    pub key: Option<String>,
    /// Attributes exactly as the vendor API names them (`depends_on`, `for_each` removed).
    pub attrs: Value,
    /// Addresses from an explicit `depends_on`.
    pub depends_on: Vec<String>,
    pub span: Span,
}

/// `dashboard "name" { ... }`: one dashboard per vendor over the components in scope.
#[derive(Debug, Clone, Default)]
pub struct Dashboard {
    pub name: String,
    /// Inventory name from `scope = inventory.x`; `None` means every component.
    pub scope: Option<String>,
    /// Component kinds shown; empty means all.
    pub kinds: Vec<String>,
    /// Title; defaults to the block name.
    pub title: Option<String>,
    pub span: Span,
}

/// `maintenance "name" { ... }`: a window during which alerts in scope are silenced.
#[derive(Debug, Clone, Default)]
pub struct Maintenance {
    pub name: String,
    /// Inventory name from `scope = inventory.x`; `None` means every component.
    pub scope: Option<String>,
    /// Component kinds; empty means all.
    pub kinds: Vec<String>,
    /// Explicit component names; empty means all in scope.
    pub components: Vec<String>,
    /// Only components whose tags include all of these.
    pub tags: BTreeMap<String, String>,
    /// Origins silenced (`alert.cpu`, `baseline.soc2`); empty means every alert in scope.
    pub alerts: Vec<String>,
    /// Local start time in `timezone`, `YYYY-MM-DDTHH:MM:SS`.
    pub start: String,
    /// Length of each window in minutes (> 0).
    pub minutes: u64,
    /// The RRULE as written, and parsed.
    pub recurrence: Option<(String, crate::config::rrule::Rrule)>,
    /// IANA time zone name; `UTC` by default.
    pub timezone: String,
    pub message: Option<String>,
    pub span: Span,
    pub recurrence_span: Option<Span>,
}

/// A reference from one block to another (`alert.cpu` → `route.oncall`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    pub from: String,
    pub to: String,
    pub span: Span,
}

/// `coverage { ... }`: what `watchkeep coverage` requires of every in-scope component. Every
/// field has a default, so a configuration without the block is checked against the defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct CoverageSettings {
    /// `review_interval`, as written (`"90d"`), and in seconds.
    pub review_interval: String,
    pub review_interval_seconds: u64,
    /// `require "<kind>" { metrics = [...] }`, keyed by kind; a kind not named requires the five
    /// core metrics.
    pub require: BTreeMap<String, Vec<String>>,
    /// `max_threshold = { cpu = 95 }`: the loosest critical threshold allowed per metric (the
    /// highest for an `above` alert, the lowest for a `below` one).
    pub max_threshold: BTreeMap<String, f64>,
    /// `max_window`, as written and in seconds: the longest evaluation window allowed.
    pub max_window: Option<(String, u64)>,
    /// Allowed severities; empty allows every severity.
    pub severities: Vec<String>,
    pub span: Option<Span>,
    /// Where each `require "<kind>"` block and each `max_threshold` key is written (for located
    /// errors about metric names, which only the catalog knows).
    pub require_spans: BTreeMap<String, Span>,
    pub max_threshold_span: Option<Span>,
}

impl Default for CoverageSettings {
    fn default() -> Self {
        CoverageSettings {
            review_interval: "90d".to_string(),
            review_interval_seconds: 90 * 86_400,
            require: BTreeMap::new(),
            max_threshold: BTreeMap::new(),
            max_window: None,
            severities: Vec::new(),
            span: None,
            require_spans: BTreeMap::new(),
            max_threshold_span: None,
        }
    }
}
