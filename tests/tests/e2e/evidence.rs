//! `watchkeep evidence` end to end: a seeded audit period (an apply, a change, an alert that fires
//! and resolves with a note, a drift run, a coverage run, a route test) gives a bundle with the
//! auditor's four items and the validation records, every file in the manifest with its hash, an
//! OSCAL file valid against NIST's schema, and byte-identical files on a rerun apart from the
//! pictures and the manifest; an edited history entry is reported.

use std::collections::BTreeMap;
use std::path::Path;

use reqwest::Method;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use watchkeep_tests::receivers::{HttpReceivers, SlackBehaviour, SmtpReceiver, SmtpReceiverOptions};

use crate::support::{assert_matches_schema, repo_root, Workspace};

const PD_KEY: &str = "evidence0e2e0routing0key00000032";
const SLACK_SECRET: &str = "T0EV/B0EV/evidencesecret0e2e";
const CPU: &str = r#"baseline.soc2["web-1"].cpu"#;

/// The audit period of a test: fixed times around now (two hours back, one ahead), written once
/// so that a rerun asks for the same period, and so that a test running across midnight UTC does
/// not cut its own events in two (a day-based period did, in CI at 00:08).
fn period() -> (String, String) {
    let now = chrono::Utc::now();
    let at = |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    (at(now - chrono::Duration::hours(2)), at(now + chrono::Duration::hours(1)))
}

fn today() -> String {
    chrono::Utc::now().format("%Y-%m-%d").to_string()
}

/// The quickstart example with its routes pointed at local receivers and its review dated today.
fn quickstart(http: &HttpReceivers, smtp: &SmtpReceiver) -> Workspace {
    assert_eq!(PD_KEY.len(), 32);
    let ws = Workspace::example("quickstart")
        .env("WATCHKEEP_VAR_pagerduty_routing_key", PD_KEY)
        .env("WATCHKEEP_VAR_pagerduty_events_url", &http.pagerduty_url())
        .env("WATCHKEEP_VAR_slack_webhook_url", &http.slack_hook(SLACK_SECRET, SlackBehaviour::Ok))
        .env("WATCHKEEP_VAR_smtp_host", "127.0.0.1")
        .env("WATCHKEEP_VAR_smtp_port", &smtp.port().to_string())
        .env("WATCHKEEP_VAR_smtp_starttls", "none");
    let path = ws.path().join("watchkeep.hcl");
    let text = std::fs::read_to_string(&path).expect("read example");
    let re_dated = regex_replace_reviewed_on(&text, &today());
    std::fs::write(&path, re_dated).expect("write example");
    ws
}

fn regex_replace_reviewed_on(text: &str, day: &str) -> String {
    text.lines()
        .map(|l| {
            if l.trim_start().starts_with("reviewed_on") {
                format!("  reviewed_on = \"{day}\"")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Makes web-1's CPU monitor (`avg(last_5m):100 - avg:system.cpu.idle{host:web-1} > 85`) fire,
/// then recover, by posting web-1's idle CPU to the stand-in, which evaluates monitors on the
/// points it receives: 2% idle ten minutes ago, then 90% idle now.
pub fn fire_and_recover(ws: &Workspace, address: &str) {
    let r = ws.state_resource(address);
    let query = r["attrs"]["query"].as_str().expect("monitor query").to_string();
    assert_eq!(
        query, "avg(last_5m):100 - avg:system.cpu.idle{host:web-1} > 85",
        "the quickstart's CPU monitor changed"
    );
    let id = r["id"].as_str().map(str::to_string).expect("id");
    let now = chrono::Utc::now().timestamp();
    let post = |at: i64, idle: f64| {
        let (status, body) = ws.vendor(
            Method::POST,
            "/api/v1/series",
            Some(json!({"series": [{"metric": "system.cpu.idle", "type": "gauge", "host": "web-1", "points": [[at, idle]]}]})),
        );
        assert_eq!(status, 202, "{body}");
        let (_, m) = ws.vendor(Method::GET, &format!("/api/v1/monitor/{id}"), None);
        m["overall_state"].as_str().unwrap_or_default().to_string()
    };
    assert_eq!(post(now - 600, 2.0), "Alert", "98% busy fires {address}");
    assert_eq!(post(now, 90.0), "OK", "10% busy recovers {address}");
}

fn sha256_file(p: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(p).expect("read bundle file")))
}

/// Every file under `dir`, relative, `/`-separated.
fn files_of(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, p: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(p).expect("read dir").flatten() {
            let path = e.path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                out.push(path.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

fn read_json(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .unwrap_or_else(|e| panic!("{} is not JSON: {e}", p.display()))
}

/// NIST's OSCAL 1.0.6 assessment-results schema, beside the checkout.
pub fn assert_valid_oscal(v: &Value) {
    let path = repo_root().join("../shared/specs/oscal/oscal_assessment-results_schema.json");
    let schema: Value = read_json(&path);
    let validator = jsonschema::validator_for(&schema).expect("compile the OSCAL schema");
    let errors: Vec<String> =
        validator.iter_errors(v).map(|e| format!("{e} at {}", e.instance_path())).collect();
    assert!(errors.is_empty(), "the OSCAL file is not valid against NIST's schema: {errors:#?}");
}

#[test]
fn a_seeded_period_gives_a_complete_reproducible_bundle_and_an_edited_history_entry_shows() {
    let http = HttpReceivers::start().expect("receivers");
    let smtp =
        SmtpReceiver::start(SmtpReceiverOptions { starttls: false, auth: None, echo: false }).expect("smtp");
    let ws = quickstart(&http, &smtp);

    // The period: an apply, a change, an alert fired and resolved with a note, drift, coverage,
    // a route test.
    ws.run(&["apply", "-auto-approve"]).expect_code(0);
    let path = ws.path().join("watchkeep.hcl");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("above    = 95", "above    = 97")).unwrap();
    ws.run(&["apply", "-auto-approve"]).expect_code(0);
    fire_and_recover(&ws, CPU);
    let note = ws.run(&["alerts", "note", CPU, "Killed the runaway batch job; CPU back to normal", "--json"]);
    note.expect_code(0);
    assert_matches_schema("alerts-note.schema.json", &note.json());
    ws.run(&["drift"]).expect_code(0);
    ws.run(&["coverage"]).expect_code(0);
    ws.run(&["routes", "test"]).expect_code(0);

    let (from, to) = period();
    let out = ws.path().join("bundle-1");
    let run = ws.run(&["evidence", "--from", &from, "--to", &to, "--out", out.to_str().unwrap(), "--json"]);
    run.expect_code(0);
    let report = run.json();
    assert_matches_schema("evidence.schema.json", &report);
    assert_eq!(report["complete"], true, "{report:#}");

    let files = files_of(&out);
    for want in [
        "index.html",
        "index.md",
        "manifest.json",
        "oscal-assessment-results.json",
        "scope.json",
        "alert-configuration.csv",
        "alert-configuration.json",
        "changes.json",
        "alert-log.json",
        "validations.json",
    ] {
        assert!(files.contains(&want.to_string()), "{want} missing from the bundle: {files:?}");
    }
    let pictures: Vec<&String> =
        files.iter().filter(|f| f.starts_with("dashboards/") && f.ends_with(".png")).collect();
    assert_eq!(pictures.len(), 1, "one picture per managed dashboard: {files:?}");

    // The manifest lists every other file with its correct hash.
    let manifest = read_json(&out.join("manifest.json"));
    let listed: BTreeMap<String, String> = manifest["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| (f["path"].as_str().unwrap().to_string(), f["sha256"].as_str().unwrap().to_string()))
        .collect();
    let others: Vec<&String> = files.iter().filter(|f| *f != "manifest.json").collect();
    assert_eq!(listed.keys().collect::<Vec<_>>(), others, "the manifest lists every file but itself");
    for (p, sha) in &listed {
        assert_eq!(&sha256_file(&out.join(p)), sha, "{p}: the manifest's hash is wrong");
    }

    // (1) the dated picture: a valid PNG.
    let png = std::fs::read(out.join(pictures[0])).unwrap();
    let (w, h) = watchkeep_provider::png_size(&png).expect("a PNG");
    assert!(w >= 300 && h >= 200, "{w}x{h}");

    // (2) the alert configuration export: thresholds, routes, last modified.
    let configuration = read_json(&out.join("alert-configuration.json"));
    let rows =
        configuration["alerts"].as_array().or_else(|| configuration.as_array()).cloned().unwrap_or_default();
    let cpu = rows
        .iter()
        .find(|r| r["address"] == CPU)
        .unwrap_or_else(|| panic!("{CPU} not exported: {configuration:#}"));
    assert!(cpu["critical"].as_f64().is_some() && !cpu["routes"].as_array().unwrap().is_empty(), "{cpu:#}");
    assert!(cpu["vendor_modified"].is_string() && cpu["first_applied"].is_string(), "{cpu:#}");
    let csv = std::fs::read_to_string(out.join("alert-configuration.csv")).unwrap();
    assert!(csv.lines().count() > rows.len(), "a header and a row per alert:\n{csv}");

    // (3) the alert log: a trigger and its resolution with timestamps, and the note.
    let log = read_json(&out.join("alert-log.json"));
    let incidents = log["incidents"].as_array().cloned().unwrap_or_default();
    let fired =
        incidents.iter().find(|i| i["address"] == CPU).unwrap_or_else(|| panic!("no incident: {log:#}"));
    assert!(fired["triggered_at"].is_string() && fired["resolved_at"].is_string(), "{fired:#}");
    assert_eq!(fired["notes"][0]["text"], "Killed the runaway batch job; CPU back to normal", "{fired:#}");

    // (4) the scope document mapped to the inventory, with its review date.
    let scope = read_json(&out.join("scope.json"));
    let inv = &scope["inventories"][0];
    assert!(inv["reviewed_on"].as_str().is_some_and(|d| d.len() == 10), "{scope:#}");
    assert_eq!(inv["reviewed_by"], "platform-lead@example.com", "{scope:#}");
    assert_eq!(inv["review_status"], "current");
    let names: Vec<&str> =
        scope["components"].as_array().unwrap().iter().filter_map(|c| c["name"].as_str()).collect();
    assert_eq!(names, ["db-1", "web-1", "web-2"]);

    // The changes and the validation records of the period.
    let changes = read_json(&out.join("changes.json"));
    assert_eq!(changes["entries"].as_array().map(Vec::len), Some(2), "{changes:#}");
    assert_eq!(changes["chain"]["intact"], true);
    let validations = read_json(&out.join("validations.json"));
    let kinds: Vec<&str> =
        validations["records"].as_array().unwrap().iter().filter_map(|r| r["kind"].as_str()).collect();
    for k in ["drift", "coverage", "routes-test"] {
        assert!(kinds.contains(&k), "{k} record missing: {kinds:?}");
    }
    for r in validations["records"].as_array().unwrap() {
        let f = format!("validations/{}", r["file"].as_str().unwrap());
        assert!(listed.contains_key(&f), "{f} not copied into the bundle");
    }

    // Each JSON file matches its schema; the OSCAL file matches NIST's.
    for (file, schema) in [
        ("scope.json", "evidence-scope.schema.json"),
        ("alert-configuration.json", "evidence-alert-configuration.schema.json"),
        ("changes.json", "evidence-changes.schema.json"),
        ("alert-log.json", "evidence-alert-log.schema.json"),
        ("validations.json", "evidence-validations.schema.json"),
        ("manifest.json", "evidence-manifest.schema.json"),
    ] {
        assert_matches_schema(schema, &read_json(&out.join(file)));
    }
    assert_valid_oscal(&read_json(&out.join("oscal-assessment-results.json")));

    // Secrets stay out.
    let everything: String = files
        .iter()
        .filter(|f| !f.ends_with(".png"))
        .map(|f| std::fs::read_to_string(out.join(f)).unwrap())
        .collect();
    for secret in [PD_KEY, SLACK_SECRET] {
        assert!(!everything.contains(secret), "a secret reached the bundle");
    }

    // A rerun over the same inputs: byte-identical apart from the pictures and the manifest.
    let out2 = ws.path().join("bundle-2");
    ws.run(&["evidence", "--from", &from, "--to", &to, "--out", out2.to_str().unwrap()]).expect_code(0);
    assert_eq!(files_of(&out2), files);
    for f in &files {
        if f == "manifest.json" || f.ends_with(".png") {
            continue;
        }
        assert_eq!(sha256_file(&out.join(f)), sha256_file(&out2.join(f)), "{f} differs between two runs");
    }

    // An edited history entry: the bundle says so and the command exits 2.
    let hdir = ws.path().join(".watchkeep/history");
    let mut entries: Vec<_> = std::fs::read_dir(&hdir).unwrap().flatten().map(|e| e.path()).collect();
    entries.sort();
    let first = entries.iter().find(|p| p.extension().is_some_and(|e| e == "json")).unwrap();
    let text = std::fs::read_to_string(first).unwrap();
    std::fs::write(first, text.replace("e2e@example.com", "someone-else@example.com")).unwrap();
    let listed = ws.run(&["history"]);
    listed.expect_code(0);
    assert!(listed.stderr().contains("hash chain is broken"), "{}", listed.stderr());
    let out3 = ws.path().join("bundle-3");
    let broken = ws.run(&["evidence", "--from", &from, "--to", &to, "--out", out3.to_str().unwrap()]);
    broken.expect_code(2);
    assert!(broken.stdout().contains("history chain broken"), "{}", broken.stdout());
    let index = std::fs::read_to_string(out3.join("index.md")).unwrap();
    assert!(index.contains("history chain broken"), "the index must say the chain is broken:\n{index}");
    let changes = read_json(&out3.join("changes.json"));
    assert_eq!(changes["chain"]["intact"], false);
}

#[test]
fn a_note_names_a_managed_alert_or_says_what_to_do() {
    let ws = Workspace::example("quickstart");
    ws.run(&["apply", "-auto-approve"]).expect_code(0);
    let r = ws.run(&["alerts", "note", r#"baseline.soc2["web-9"].cpu"#, "done"]);
    r.expect_code(1);
    assert!(r.stderr().contains("did you mean"), "{}", r.stderr());
    let r = ws.run(&["alerts", "note", "dashboard.infrastructure.datadog", "done"]);
    r.expect_code(1);
    assert!(r.stderr().contains("not an alert"), "{}", r.stderr());
    let r = ws.run(&["alerts", "note", CPU, "   "]);
    r.expect_code(1);
    assert!(r.stderr().contains("empty"), "{}", r.stderr());
    // By vendor id, too.
    let id = ws.state_resource(CPU)["id"].as_str().unwrap().to_string();
    let r = ws.run(&["alerts", "note", &id, "looked at it", "--json"]);
    r.expect_code(0);
    assert_eq!(r.json()["note"]["address"], CPU);
    let v = ws.run(&["alerts", "note", CPU, "second", "--json"]);
    assert_eq!(v.json()["sequence"], 2);
}

/// New Relic: a condition fires from events posted to the stand-in's Event API (CPU above 85 for
/// five minutes) and recovers; the bundle's alert log pairs the incident's opening and closing,
/// with the note, the dashboard is pictured through its snapshot URL, and the OSCAL file is valid.
#[test]
fn a_new_relic_condition_that_fired_and_resolved_is_in_the_bundle() {
    let (ws, key) = Workspace::on_newrelic("nr-evidence");
    ws.write(
        "main.hcl",
        &format!(
            r#"
variable "newrelic_url" {{ type = string }}

provider "newrelic" {{
  api_url = var.newrelic_url
}}

inventory "prod" {{
  reviewed_on = "{day}"
  reviewed_by = "lead@example.com"
}}

component "web-1" {{
  inventory  = inventory.prod
  kind       = "server"
  provider   = "newrelic"
  identifier = {{ hostname = "web-1" }}
}}

route "oncall" {{
  owner = "lead@example.com"
  email {{ to = ["oncall@example.com"] }}
  escalation {{
    after  = "0m"
    people = ["oncall@example.com"]
  }}
}}

baseline "soc2" {{
  scope = inventory.prod
  route = route.oncall
}}

dashboard "infra" {{ scope = inventory.prod }}
"#,
            day = today()
        ),
    );
    ws.run(&["apply", "-auto-approve"]).expect_code(0);
    let nr = crate::support::newrelic();
    let account = nr.account_id(&key).to_string();
    let now = chrono::Utc::now().timestamp();
    let post = |events: Value| {
        let resp = reqwest::blocking::Client::new()
            .post(format!("{}/v1/accounts/{account}/events", nr.base_url().trim_end_matches("/graphql")))
            .header("Api-Key", &key)
            .json(&events)
            .send()
            .expect("post events");
        assert!(resp.status().is_success(), "{}", resp.text().unwrap_or_default());
    };
    let busy: Vec<Value> = (1..=6)
        .rev()
        .map(|m| json!({"eventType": "SystemSample", "hostname": "web-1", "cpuPercent": 97, "timestamp": now - m * 60}))
        .collect();
    post(Value::Array(busy));
    post(json!([{"eventType": "SystemSample", "hostname": "web-1", "cpuPercent": 10, "timestamp": now}]));
    ws.run(&["alerts", "note", CPU, "Restarted the stuck worker"]).expect_code(0);

    let (from, to) = period();
    let out = ws.path().join("bundle");
    let run = ws.run(&["evidence", "--from", &from, "--to", &to, "--out", out.to_str().unwrap(), "--json"]);
    run.expect_code(0);
    let log = read_json(&out.join("alert-log.json"));
    let incident = log["incidents"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|i| i["address"] == CPU)
        .unwrap_or_else(|| panic!("no incident for {CPU}: {log:#}"));
    assert_eq!(
        (&incident["trigger_state"], &incident["resolve_state"]),
        (&json!("OPEN"), &json!("CLOSED")),
        "{incident:#}"
    );
    assert!(incident["triggered_at"].is_string() && incident["resolved_at"].is_string(), "{incident:#}");
    assert_eq!(incident["notes"][0]["text"], "Restarted the stuck worker");
    let pictures: Vec<String> = files_of(&out).into_iter().filter(|f| f.starts_with("dashboards/")).collect();
    assert_eq!(pictures.len(), 1, "{pictures:?}");
    assert!(watchkeep_provider::png_size(&std::fs::read(out.join(&pictures[0])).unwrap()).is_some());
    assert_valid_oscal(&read_json(&out.join("oscal-assessment-results.json")));
}
