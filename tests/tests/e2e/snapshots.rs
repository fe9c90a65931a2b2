//! Snapshot tests of what a user reads: the human, `--json` and Markdown output of `plan`, `apply`
//! and `drift`, for Datadog, CloudWatch and New Relic, from the real `watchkeep` binary against the
//! stand-ins. They guard the refactor of issue 11 (behaviour unchanged): any change to a line of
//! output shows up as a snapshot diff under `tests/tests/e2e/snapshots/`.
//!
//! Only what changes from run to run is filtered (see [`Snap`]): the temp directory, RFC 3339
//! timestamps, UUIDs (lineage, SNS subscription ARNs), durations / `wall_ms` / peak RSS, loopback
//! ports, and the vendor ids the stand-ins hand out (New Relic ids come from one counter shared by
//! every test in this binary, Datadog dashboard ids are random, monitor ids follow completion
//! order). Each vendor id is replaced by the address that owns it in state (`<id of ADDR>`), so
//! the snapshot still shows which object an id belongs to. Everything else is kept literally.
//!
//! Order: `apply` prints one line per object, and lists `changes` in `--json`, in the order the
//! vendor operations complete, which varies with concurrency. The snapshots pin it with
//! `-parallelism=1` (operations then run one at a time, in the executor's order) rather than
//! sorting or filtering the lines away.
//!
//! To update after an intended output change: `INSTA_UPDATE=always cargo test -p watchkeep-tests
//! --test e2e snapshots`, then review every changed `.snap` (`git diff`) before committing.

use std::collections::BTreeMap;

use reqwest::Method;
use serde_json::json;
use watchkeep_tests::newrelic::ObjectKind;

use crate::support::*;

/// The filters of one scenario: generic ones for times, paths and ports, and one per vendor id
/// seen in state so far (ids of objects deleted later keep their label).
struct Snap {
    /// id → label, in the order first seen.
    ids: BTreeMap<String, String>,
    /// Extra literal → label replacements (the New Relic account id, an unmanaged monitor's id).
    literals: Vec<(String, String)>,
    /// How many ids each address has had.
    seen: BTreeMap<String, usize>,
    /// Whether the stand-in's ids differ from run to run (Datadog, New Relic); CloudWatch ids
    /// are the alarm, dashboard and topic names watchkeep chose, and stay literal.
    ids_vary: bool,
    workspace: String,
}

impl Snap {
    fn new(ws: &Workspace, ids_vary: bool) -> Snap {
        Snap {
            ids: BTreeMap::new(),
            literals: Vec::new(),
            seen: BTreeMap::new(),
            ids_vary,
            workspace: ws.path().display().to_string(),
        }
    }

    /// Learns the ids in `ws`'s state (call after every command that may have created objects).
    fn learn(&mut self, ws: &Workspace) {
        if !self.ids_vary || !ws.path().join(".watchkeep/state.json").exists() {
            return;
        }
        let state = ws.state();
        if let Some(lineage) = state["lineage"].as_str() {
            let owner = watchkeep_provider::owner_id(lineage);
            if !self.literals.iter().any(|(v, _)| *v == owner) {
                self.literal(&owner, "[OWNER]");
            }
        }
        for r in state["resources"].as_array().into_iter().flatten() {
            let (Some(id), Some(address)) = (r["id"].as_str(), r["address"].as_str()) else { continue };
            if id.is_empty() || self.ids.contains_key(id) {
                continue;
            }
            // A recreated object gets a new id: the second and later ones are numbered.
            let n = self.seen.entry(address.to_string()).or_default();
            *n += 1;
            let label = if *n == 1 { format!("<id of {address}>") } else { format!("<id#{n} of {address}>") };
            self.ids.insert(id.to_string(), label);
        }
    }

    fn literal(&mut self, value: &str, label: &str) {
        self.literals.push((value.to_string(), label.to_string()));
    }

    fn settings(&self) -> insta::Settings {
        let mut s = insta::Settings::clone_current();
        s.set_snapshot_path("snapshots");
        s.set_prepend_module_to_snapshot(false);
        s.set_omit_expression(true);
        // Longest first, so an id that contains another (an ARN and its topic) is replaced whole.
        let mut pairs: Vec<(&String, &String)> =
            self.ids.iter().chain(self.literals.iter().map(|(a, b)| (a, b))).collect();
        pairs.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(b.0)));
        for (value, label) in pairs {
            s.add_filter(&bounded(value), label.as_str());
        }
        // The workspace (also as the OS may canonicalise it, e.g. /private/var on macOS).
        s.add_filter(&escape(&self.workspace), "[WORKSPACE]");
        if let Ok(canon) = std::fs::canonicalize(&self.workspace) {
            s.add_filter(&escape(&canon.display().to_string()), "[WORKSPACE]");
        }
        s.add_filter(r"\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})", "[TIMESTAMP]");
        s.add_filter(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", "[UUID]");
        // The validation record's file name: `20261204T171057355Z-drift.json`.
        s.add_filter(r"\b\d{8}T\d{9}Z\b", "[TIMESTAMP]");
        s.add_filter(r"(127\.0\.0\.1|localhost):\d+", "$1:[PORT]");
        // What the binary measures in `stats`: wall time, peak RSS, and the time spent waiting
        // for the rate budget (it depends on how fast the previous requests went). The call
        // counts stay literal: they are deterministic for one scenario.
        s.add_filter(r#""(wall_ms|rate_wait_ms|peak_rss_bytes)": \d+"#, r#""$1": "[N]""#);
        // A secret's tag is a hash keyed by the state's lineage (a random UUID): see
        // engine/src/redact.rs. Which value carries a secret stays visible.
        s.add_filter(r"\(sensitive:[0-9a-f]{12}\)", "(sensitive:[TAG])");
        // Ownership markers name the state's owner id, the start of its random lineage
        // (`<owner>:<address marker>`); New Relic policy names carry a hash of the marker.
        s.add_filter(r"(watchkeep-address:)[0-9a-f]{12}:", "$1[OWNER]:");
        s.add_filter(r"\[wk:[0-9a-f]{12}\]", "[wk:[MARKER HASH]]");
        // Every body holds its marker, and so its owner id (from the random lineage): every
        // `after_hash` varies.
        s.add_filter(r#""after_hash": "[0-9a-f]{64}""#, r#""after_hash": "[HASH over the marked body]""#);
        // A New Relic destination's secret hash is salted with its marker.
        s.add_filter(r#"(secretSha256"?:? =? ?"?|"after": ")[0-9a-f]{64}""#, r#"$1[SALTED BY MARKER]""#);
        // The state serial: apply saves state in the background while operations complete and
        // coalesces the saves that pile up (engine/src/apply/mod.rs), so how many writes one
        // apply makes, and so the serial, depends on timing. Reported, not deterministic.
        s.add_filter(r"State serial \d+", "State serial [SERIAL]");
        s.add_filter(r#""serial": \d+"#, r#""serial": "[SERIAL]""#);
        s
    }
}

/// `value` as a regex that matches it only as a whole token.
fn bounded(value: &str) -> String {
    let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    let start = if word(value.chars().next()) { r"\b" } else { "" };
    let end = if word(value.chars().last()) { r"\b" } else { "" };
    format!("{start}{}{end}", escape(value))
}

/// What `regex::escape` does (the `regex` crate is not a dependency of this crate).
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The text a snapshot holds for one run: the command, its exit code, stdout and stderr.
fn transcript(run: &Run) -> String {
    format!(
        "$ watchkeep {}\nexit code: {}\n--- stdout\n{}\n--- stderr\n{}",
        run.args.join(" "),
        run.code(),
        run.stdout(),
        run.stderr()
    )
}

/// Runs `args`, learns the ids in state, checks the exit code, snapshots the transcript as `name`.
#[track_caller]
fn snap(ws: &Workspace, s: &mut Snap, name: &str, args: &[&str], code: i32) {
    let run = ws.run(args);
    run.expect_code(code);
    s.learn(ws);
    s.settings().bind(|| insta::assert_snapshot!(name, transcript(&run)));
}

// ---------------------------------------------------------------------------------------------
// Datadog: the full loop.

fn datadog_config(disk_above: u32, with_dashboard: bool) -> String {
    let dashboard = if with_dashboard {
        "\ndashboard \"infra\" {\n  scope = inventory.prod\n  title = \"Production (SOC 2 scope)\"\n}\n"
    } else {
        ""
    };
    format!(
        r##"
variable "datadog_api_url" {{ type = string }}
variable "pagerduty_routing_key" {{ sensitive = true }}

provider "datadog" {{
  api_url = var.datadog_api_url
}}

inventory "prod" {{
  reviewed_on = "2026-11-01"
  reviewed_by = "lead@example.com"
}}

component "web-1" {{
  inventory  = inventory.prod
  kind       = "server"
  provider   = "datadog"
  identifier = {{ host = "web-1" }}
}}

route "oncall" {{
  pagerduty {{
    service     = "platform-oncall"
    routing_key = var.pagerduty_routing_key
  }}
  slack {{ channel = "#ops-alerts" }}
}}

baseline "soc2" {{
  scope   = inventory.prod
  route   = route.oncall
  runbook = "https://wiki.example.com/runbooks/infrastructure"

  override "disk" {{
    above   = {disk_above}
    warning = 85
  }}
}}
{dashboard}"##
    )
}

#[test]
fn snapshots_datadog_plan_apply_drift() {
    let ws = Workspace::new("snap-dd");
    ws.write("main.hcl", &datadog_config(90, true));
    let mut s = Snap::new(&ws, true);

    // A first plan: everything is created.
    snap(&ws, &mut s, "datadog_01_plan_create", &["plan"], 0);
    snap(&ws, &mut s, "datadog_01_plan_create_json", &["plan", "--json"], 0);
    snap(&ws, &mut s, "datadog_01_plan_create_markdown", &["plan", "--format", "markdown"], 0);

    // Apply, human; then a no-change plan (all three formats) and a no-change apply as JSON.
    snap(&ws, &mut s, "datadog_02_apply", &["apply", "-auto-approve", "-parallelism=1"], 0);
    snap(&ws, &mut s, "datadog_03_plan_no_change", &["plan", "-detailed-exitcode"], 0);
    snap(&ws, &mut s, "datadog_03_plan_no_change_json", &["plan", "--json"], 0);
    snap(&ws, &mut s, "datadog_03_plan_no_change_markdown", &["plan", "--format", "markdown"], 0);
    snap(
        &ws,
        &mut s,
        "datadog_03_apply_no_change_json",
        &["apply", "-auto-approve", "-parallelism=1", "--json"],
        0,
    );

    // A configuration change: the disk threshold moves (update), the dashboard goes (delete).
    ws.write("main.hcl", &datadog_config(93, false));
    snap(&ws, &mut s, "datadog_04_plan_update_delete", &["plan", "-detailed-exitcode"], 2);
    snap(&ws, &mut s, "datadog_04_plan_update_delete_json", &["plan", "--json"], 0);
    snap(&ws, &mut s, "datadog_04_plan_update_delete_markdown", &["plan", "--format", "markdown"], 0);
    snap(
        &ws,
        &mut s,
        "datadog_05_apply_update_delete_json",
        &["apply", "-auto-approve", "-parallelism=1", "--json"],
        0,
    );
    snap(&ws, &mut s, "datadog_06_drift_clean", &["drift"], 0);

    // Out of band: a threshold raised in the UI, a monitor deleted, one made by hand.
    let id_of = |address: &str| ws.state_resource(address)["id"].as_str().expect("id").to_string();
    let edited = id_of(r#"baseline.soc2["web-1"].memory"#);
    let deleted = id_of(r#"baseline.soc2["web-1"].network"#);
    let (status, current) = ws.vendor(Method::GET, &format!("/api/v1/monitor/{edited}"), None);
    assert_eq!(status, 200, "{current}");
    let query = current["query"].as_str().expect("query").replace("> 90", "> 97");
    let (status, body) = ws.vendor(
        Method::PUT,
        &format!("/api/v1/monitor/{edited}"),
        Some(json!({"query": query, "options": {"thresholds": {"critical": 97, "warning": 80}}})),
    );
    assert_eq!(status, 200, "{body}");
    let (status, body) = ws.vendor(Method::DELETE, &format!("/api/v1/monitor/{deleted}"), None);
    assert_eq!(status, 200, "{body}");
    let (status, made) = ws.vendor(
        Method::POST,
        "/api/v1/monitor",
        Some(json!({"name": "clicked together", "type": "metric alert", "query": "avg(last_5m):avg:system.load.1{*} > 5", "message": "hi"})),
    );
    assert_eq!(status, 200, "{made}");
    s.literal(&made["id"].to_string(), "<id of the hand-made monitor>");

    snap(&ws, &mut s, "datadog_07_drift", &["drift"], 2);
    snap(&ws, &mut s, "datadog_07_drift_json", &["drift", "--json"], 2);
    snap(&ws, &mut s, "datadog_08_plan_after_drift", &["plan", "-detailed-exitcode"], 2);
    snap(&ws, &mut s, "datadog_09_apply_restores", &["apply", "-auto-approve", "-parallelism=1"], 0);
    snap(&ws, &mut s, "datadog_10_drift_unmanaged_only_json", &["drift", "--json"], 2);
}

// ---------------------------------------------------------------------------------------------
// CloudWatch on moto.

const CW_PD_SECRET: &str = "e2e-snap-cw-pd-key-31c8";

fn cloudwatch_config(region: &str) -> String {
    format!(
        r#"
variable "endpoint" {{ type = string }}
variable "pd_key" {{ sensitive = true }}

provider "cloudwatch" {{
  region       = "{region}"
  endpoint_url = var.endpoint
}}

inventory "prod" {{
  reviewed_on = "2026-11-01"
  reviewed_by = "lead@example.com"
}}

component "orders-db" {{
  inventory  = inventory.prod
  kind       = "database"
  provider   = "cloudwatch"
  identifier = {{ DBInstanceIdentifier = "orders-prod" }}
}}

route "oncall" {{
  pagerduty {{ routing_key = var.pd_key }}
  email     {{ to = ["oncall@example.com"] }}
}}

baseline "soc2" {{
  scope = inventory.prod
  route = route.oncall
}}

dashboard "infra" {{ scope = inventory.prod }}
"#
    )
}

#[test]
fn snapshots_cloudwatch_plan_apply_drift() {
    // A region of its own: moto keeps state per region, and no other test uses this one.
    let region = "ca-central-1";
    let endpoint = moto().endpoint_url();
    let ws = Workspace::new("snap-cw")
        .env("WATCHKEEP_VAR_endpoint", &endpoint)
        .env("WATCHKEEP_VAR_pd_key", CW_PD_SECRET);
    ws.write("main.hcl", &cloudwatch_config(region));
    // SNS subscription ARNs end in a UUID (filtered as such); the rest is deterministic.
    let mut s = Snap::new(&ws, false);

    snap(&ws, &mut s, "cloudwatch_01_plan_create", &["plan"], 0);
    snap(&ws, &mut s, "cloudwatch_01_plan_create_json", &["plan", "--json"], 0);
    snap(&ws, &mut s, "cloudwatch_01_plan_create_markdown", &["plan", "--format", "markdown"], 0);
    snap(&ws, &mut s, "cloudwatch_02_apply_json", &["apply", "-auto-approve", "-parallelism=1", "--json"], 0);
    snap(&ws, &mut s, "cloudwatch_03_plan_no_change", &["plan", "-detailed-exitcode"], 0);

    // Out of band: the CPU threshold raised in the console, the memory alarm deleted.
    let cpu = ws.state_resource(r#"baseline.soc2["orders-db"].cpu"#);
    let topic_arn =
        ws.state_resource("route.oncall.sns_topic")["id"].as_str().expect("topic arn").to_string();
    let mut attrs = cpu["attrs"].clone();
    attrs["Threshold"] = json!(97);
    for key in ["AlarmActions", "OKActions"] {
        attrs[key] = json!([topic_arn.clone()]);
    }
    let (status, body) = aws_query(&endpoint, region, "monitoring", "PutMetricAlarm", &attrs);
    assert_eq!(status, 200, "{body}");
    let memory =
        ws.state_resource(r#"baseline.soc2["orders-db"].memory"#)["id"].as_str().expect("name").to_string();
    let (status, body) =
        aws_query(&endpoint, region, "monitoring", "DeleteAlarms", &json!({"AlarmNames": [memory]}));
    assert_eq!(status, 200, "{body}");

    snap(&ws, &mut s, "cloudwatch_04_drift", &["drift"], 2);
    snap(&ws, &mut s, "cloudwatch_04_drift_json", &["drift", "--json"], 2);
    snap(&ws, &mut s, "cloudwatch_05_plan_after_drift", &["plan", "-detailed-exitcode"], 2);
    snap(&ws, &mut s, "cloudwatch_06_apply_restores", &["apply", "-auto-approve", "-parallelism=1"], 0);
    ws.run(&["plan", "-detailed-exitcode"]).expect_code(0);
    ws.run(&["destroy", "-auto-approve"]).expect_code(0);
}

// ---------------------------------------------------------------------------------------------
// New Relic on the NerdGraph stand-in.

const NR_PD_SECRET: &str = "e2e-snap-nr-pd-key-9a02";

const NEWRELIC_CONFIG: &str = r#"
variable "newrelic_url" { type = string }
variable "pd_key" { sensitive = true }

provider "newrelic" {
  api_url = var.newrelic_url
}

inventory "prod" {
  reviewed_on = "2026-11-01"
  reviewed_by = "lead@example.com"
}

component "web-1" {
  inventory  = inventory.prod
  kind       = "server"
  provider   = "newrelic"
  identifier = { hostname = "web-1" }
}

route "oncall" {
  pagerduty { routing_key = var.pd_key }
  email     { to = ["oncall@example.com"] }
}

baseline "soc2" {
  scope = inventory.prod
  route = route.oncall
}

dashboard "infra" { scope = inventory.prod }
"#;

#[test]
fn snapshots_newrelic_plan_apply_drift() {
    let (ws, key) = Workspace::on_newrelic("snap-nr");
    let ws = ws.env("WATCHKEEP_VAR_pd_key", NR_PD_SECRET);
    ws.write("main.hcl", NEWRELIC_CONFIG);
    let mut s = Snap::new(&ws, true);
    s.literal(&newrelic().account_id(&key).to_string(), "<account id>");

    snap(&ws, &mut s, "newrelic_01_plan_create", &["plan"], 0);
    snap(&ws, &mut s, "newrelic_01_plan_create_json", &["plan", "--json"], 0);
    snap(&ws, &mut s, "newrelic_01_plan_create_markdown", &["plan", "--format", "markdown"], 0);
    snap(&ws, &mut s, "newrelic_02_apply", &["apply", "-auto-approve", "-parallelism=1"], 0);
    snap(&ws, &mut s, "newrelic_03_plan_no_change", &["plan", "-detailed-exitcode"], 0);

    // Out of band: the CPU threshold raised, the workflow deleted in the New Relic UI.
    let cpu = ws.state_resource(r#"baseline.soc2["web-1"].cpu"#)["id"].as_str().expect("id").to_string();
    let workflow =
        ws.state_resource("route.oncall.newrelic_workflow")["id"].as_str().expect("id").to_string();
    assert!(newrelic().modify(&key, ObjectKind::NrqlCondition, &cpu, |c| {
        for t in c["terms"].as_array_mut().into_iter().flatten() {
            if t["priority"].as_str().is_some_and(|p| p.eq_ignore_ascii_case("critical")) {
                t["threshold"] = json!(97.0);
            }
        }
    }));
    assert!(newrelic().remove(&key, ObjectKind::Workflow, &workflow));

    snap(&ws, &mut s, "newrelic_04_drift", &["drift"], 2);
    snap(&ws, &mut s, "newrelic_04_drift_json", &["drift", "--json"], 2);
    snap(&ws, &mut s, "newrelic_05_plan_after_drift", &["plan", "-detailed-exitcode"], 2);
    snap(
        &ws,
        &mut s,
        "newrelic_06_apply_restores_json",
        &["apply", "-auto-approve", "-parallelism=1", "--json"],
        0,
    );
    ws.run(&["plan", "-detailed-exitcode"]).expect_code(0);
}
