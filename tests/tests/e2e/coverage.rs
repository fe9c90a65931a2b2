//! `watchkeep coverage`: every in-scope component × required metric has an alert, set tightly
//! enough and routed to someone; inventories reviewed; routes owned; exit 2 on any gap.

use serde_json::Value;

use crate::support::*;

fn days_ago(n: i64) -> String {
    (chrono::Utc::now().date_naive() - chrono::Duration::days(n)).format("%Y-%m-%d").to_string()
}

fn gaps(v: &Value) -> Vec<(String, String, String)> {
    v["gaps"]
        .as_array()
        .expect("gaps")
        .iter()
        .map(|g| {
            (
                g["category"].as_str().unwrap_or_default().to_string(),
                g["subject"].as_str().unwrap_or_default().to_string(),
                g["metric"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn validation_records(ws: &Workspace) -> Vec<Value> {
    let dir = ws.path().join(".watchkeep/validations");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    names
        .iter()
        .map(|n| {
            serde_json::from_str(&std::fs::read_to_string(dir.join(n)).expect("record")).expect("record JSON")
        })
        .collect()
}

#[test]
fn a_component_without_alerts_is_a_gap_until_a_baseline_covers_it() {
    let ws = Workspace::example("quickstart");
    // The example passes as shipped: every server covered, the inventory reviewed, routes owned.
    // (Its review date is when it was written; reviewed again today, so that this test is about
    // components, not about how long ago the example was written.)
    let hcl = std::fs::read_to_string(ws.path().join("watchkeep.hcl")).expect("example");
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    assert!(
        hcl.contains("reviewed_on = \"2026-11-01\""),
        "the example's review date moved: update this test"
    );
    ws.write(
        "watchkeep.hcl",
        &hcl.replace("reviewed_on = \"2026-11-01\"", &format!("reviewed_on = \"{today}\"")),
    );
    let ok = ws.run(&["coverage"]);
    ok.expect_code(0);
    assert!(
        ok.stdout().starts_with("Coverage complete: 3 components, 15 required metrics"),
        "{}",
        ok.stdout()
    );
    assert!(ok.stderr().contains("Validation record: "), "{}", ok.stderr());

    // A new inventory with a server nothing monitors yet.
    ws.write("staging.csv", "name,kind,environment,owner,provider,identifier\nweb-9,server,staging,platform-team@example.com,datadog,host=web-9\n");
    ws.write(
        "staging.hcl",
        &format!(
            "inventory \"staging\" {{\n  source      = \"staging.csv\"\n  reviewed_on = \"{}\"\n}}\n",
            days_ago(3)
        ),
    );
    let gap = ws.run(&["coverage"]);
    gap.expect_code(2);
    let out = gap.stdout();
    for metric in ["cpu", "memory", "disk", "network", "uptime"] {
        assert!(
            out.contains(&format!(
                "x web-9 {metric} [missing]: no alert or baseline covers {metric} of web-9"
            )),
            "{metric}:\n{out}"
        );
    }
    assert!(out.starts_with("Coverage gaps: 5 (4 components"), "{out}");
    // Gaps first: the component with gaps is listed before the covered ones.
    let table = &out[out.find("Components:").expect("table")..];
    assert!(table.find("web-9").unwrap() < table.find("web-1").unwrap(), "{table}");

    let json = ws.run(&["coverage", "--json"]);
    json.expect_code(2);
    let v = json.json();
    assert_matches_schema("coverage.schema.json", &v);
    assert_eq!(v["passed"], false);
    assert_eq!(
        gaps(&v),
        ["cpu", "memory", "disk", "network", "uptime"].map(|m| (
            "missing".to_string(),
            "web-9".to_string(),
            m.to_string()
        ))
    );
    assert_eq!(v["stats"]["api_calls"], 0, "no vendor is asked without --live");
    let web9 = v["components"].as_array().unwrap().iter().find(|c| c["name"] == "web-9").expect("web-9");
    assert_eq!(web9["inventory"], "staging");
    // The contact list is in the JSON output.
    let oncall = v["contacts"].as_array().unwrap().iter().find(|c| c["route"] == "oncall").expect("oncall");
    assert_eq!(oncall["owner"], "platform-lead@example.com");
    assert_eq!(oncall["escalation"][0]["rotation"], "platform-primary");
    assert_eq!(oncall["escalation"][1]["after"], "15m");
    assert_eq!(oncall["escalation"][1]["people"][1], "bob@example.com");

    let md = ws.run(&["coverage", "--format", "markdown"]);
    md.expect_code(2);
    assert!(md.stdout().starts_with("### watchkeep coverage: gaps found"), "{}", md.stdout());
    assert!(md.stdout().contains("| `web-9` | cpu | missing |"), "{}", md.stdout());

    // Into a baseline's scope: covered.
    ws.write(
        "staging.hcl",
        &format!(
            "inventory \"staging\" {{\n  source      = \"staging.csv\"\n  reviewed_on = \"{}\"\n}}\n\nbaseline \"staging\" {{\n  scope = inventory.staging\n  route = route.oncall\n}}\n",
            days_ago(3)
        ),
    );
    let fixed = ws.run(&["coverage", "--json"]);
    fixed.expect_code(0);
    let v = fixed.json();
    assert_matches_schema("coverage.schema.json", &v);
    assert_eq!(v["passed"], true);
    let web9 = v["components"].as_array().unwrap().iter().find(|c| c["name"] == "web-9").expect("web-9");
    assert_eq!(web9["metrics"][0]["covered_by"][0]["address"], "baseline.staging[\"web-9\"].cpu");
    assert_eq!(web9["metrics"][0]["covered_by"][0]["threshold_source"], "catalog default");

    // Every run was kept as a validation record, the last one passing with the report inside.
    let records = validation_records(&ws);
    assert_eq!(records.len(), 5, "{records:#?}");
    let last = records.last().unwrap();
    assert_eq!(last["kind"], "coverage", "{last:#}");
    assert_eq!(last["outcome"], "pass", "{last:#}");
    assert_eq!(last["report"]["passed"], true, "{last:#}");
    assert_eq!(records[1]["outcome"], "fail", "{:#}", records[1]);
    assert_eq!(records[1]["report"]["gaps"][0]["subject"], "web-9", "{:#}", records[1]);
    assert!(records[1]["previous_sha256"].is_string(), "records are chained: {:#}", records[1]);
}

/// A small Datadog configuration with its own inventory, for the other gaps.
fn small(ws: &Workspace, reviewed_on: &str, rest: &str) {
    ws.write("inventory.csv", "name,kind,environment,owner,provider,identifier\napi-1,server,production,team@example.com,datadog,host=api-1\n");
    ws.write(
        "main.hcl",
        &format!(
            r#"variable "datadog_api_url" {{ type = string }}
provider "datadog" {{
  api_url = var.datadog_api_url
}}

inventory "prod" {{
  source      = "inventory.csv"
  reviewed_on = "{reviewed_on}"
}}

route "oncall" {{
  owner = "lead@example.com"
  email {{
    to = ["oncall@example.com"]
  }}
  escalation {{
    after    = "0m"
    rotation = "primary"
  }}
}}

coverage {{
  require "server" {{
    metrics = ["cpu"]
  }}
}}
{rest}"#
        ),
    );
}

#[test]
fn an_alert_with_no_route_alerts_no_one() {
    let ws = Workspace::new("coverage-unrouted");
    small(
        &ws,
        &days_ago(1),
        "alert \"cpu\" {\n  scope  = inventory.prod\n  metric = \"cpu\"\n  above  = 90\n}\n",
    );
    let run = ws.run(&["coverage", "--json"]);
    run.expect_code(2);
    let v = run.json();
    assert_matches_schema("coverage.schema.json", &v);
    assert_eq!(gaps(&v), [("unrouted".to_string(), "api-1".to_string(), "cpu".to_string())]);
    assert!(
        v["gaps"][0]["message"].as_str().unwrap().starts_with("alert.cpu[\"api-1\"]: alerts no one"),
        "{v:#}"
    );
    let human = ws.run(&["coverage"]);
    human.expect_code(2);
    assert!(
        human.stdout().contains("x api-1 cpu [unrouted]: alert.cpu[\"api-1\"]: alerts no one"),
        "{}",
        human.stdout()
    );

    // Routed: covered.
    small(
        &ws,
        &days_ago(1),
        "alert \"cpu\" {\n  scope  = inventory.prod\n  metric = \"cpu\"\n  above  = 90\n  route  = route.oncall\n}\n",
    );
    ws.run(&["coverage"]).expect_code(0);
}

#[test]
fn an_inventory_reviewed_200_days_ago_is_a_gap_and_so_is_an_unowned_route() {
    let ws = Workspace::new("coverage-review");
    let alert = "alert \"cpu\" {\n  scope  = inventory.prod\n  metric = \"cpu\"\n  above  = 90\n  route  = route.oncall\n}\n";
    small(&ws, &days_ago(200), alert);
    let run = ws.run(&["coverage", "--json"]);
    run.expect_code(2);
    let v = run.json();
    assert_matches_schema("coverage.schema.json", &v);
    assert_eq!(gaps(&v), [("review".to_string(), "inventory.prod".to_string(), String::new())]);
    assert_eq!(v["inventories"][0]["age_days"], 200);
    assert_eq!(v["inventories"][0]["current"], false);
    let human = ws.run(&["coverage"]);
    assert!(
        human.stdout().contains(&format!(
            "x inventory.prod [review]: inventory `prod` was last reviewed on {}, 200 days ago: longer than the review interval 90d",
            days_ago(200)
        )),
        "{}",
        human.stdout()
    );

    // Reviewed within a longer interval: fine.
    let longer = std::fs::read_to_string(ws.path().join("main.hcl"))
        .unwrap()
        .replace("coverage {\n", "coverage {\n  review_interval = \"365d\"\n");
    ws.write("main.hcl", &longer);
    ws.run(&["coverage"]).expect_code(0);

    // A route used with no owner and no contact list: two gaps naming it.
    small(&ws, &days_ago(1), alert);
    let bare = std::fs::read_to_string(ws.path().join("main.hcl"))
        .unwrap()
        .replace("  owner = \"lead@example.com\"\n", "")
        .replace("  escalation {\n    after    = \"0m\"\n    rotation = \"primary\"\n  }\n", "");
    ws.write("main.hcl", &bare);
    let run = ws.run(&["coverage", "--json"]);
    run.expect_code(2);
    assert_eq!(
        gaps(&run.json()),
        [
            ("route_owner".to_string(), "route.oncall".to_string(), String::new()),
            ("route_contact".to_string(), "route.oncall".to_string(), String::new())
        ]
    );
}

#[test]
fn thresholds_windows_and_severities_are_held_to_the_coverage_block() {
    let ws = Workspace::new("coverage-limits");
    small(
        &ws,
        &days_ago(1),
        "alert \"cpu\" {\n  scope    = inventory.prod\n  metric   = \"cpu\"\n  above    = 99\n  for      = \"1h\"\n  severity = \"low\"\n  route    = route.oncall\n}\n",
    );
    let limits = std::fs::read_to_string(ws.path().join("main.hcl")).unwrap().replace(
        "coverage {\n",
        "coverage {\n  max_threshold = { cpu = 95 }\n  max_window    = \"15m\"\n  severities    = [\"critical\", \"high\"]\n",
    );
    ws.write("main.hcl", &limits);
    let run = ws.run(&["coverage", "--json"]);
    run.expect_code(2);
    let v = run.json();
    assert_matches_schema("coverage.schema.json", &v);
    let cats: Vec<String> = gaps(&v).into_iter().map(|g| g.0).collect();
    assert_eq!(cats, ["threshold", "window", "severity"], "{v:#}");
    let cell = &v["components"][0]["metrics"][0];
    assert_eq!(cell["status"], "gap");
    assert_eq!(cell["covered_by"][0]["threshold"], 99.0);
    assert_eq!(cell["covered_by"][0]["threshold_source"], "explicit");

    let tight = limits
        .replace("above    = 99", "above    = 95")
        .replace("\"1h\"", "\"15m\"")
        .replace("\"low\"", "\"high\"");
    ws.write("main.hcl", &tight);
    ws.run(&["coverage"]).expect_code(0);
}

#[test]
fn a_misspelt_metric_in_the_coverage_block_is_an_error_with_the_closest_name() {
    let ws = Workspace::new("coverage-typo");
    small(&ws, &days_ago(1), "");
    let typo = std::fs::read_to_string(ws.path().join("main.hcl"))
        .unwrap()
        .replace("metrics = [\"cpu\"]", "metrics = [\"cpu\", \"memroy\"]");
    ws.write("main.hcl", &typo);
    let run = ws.run(&["coverage"]);
    run.expect_code(1);
    let err = run.stderr();
    assert!(err.contains("unknown metric `memroy` in `require \"server\"`"), "{err}");
    assert!(err.contains("did you mean `memory`?"), "{err}");
    assert!(err.contains("main.hcl:"), "{err}");
    // `validate` says the same.
    let v = ws.run(&["validate"]);
    v.expect_code(1);
    assert!(v.stderr().contains("unknown metric `memroy`"), "{}", v.stderr());
}

/// What people read: the human table and the Markdown comment, pinned (the review date, which
/// moves with the clock, is replaced by a placeholder).
#[test]
fn snapshots_of_the_human_and_markdown_reports() {
    let ws = Workspace::new("coverage-snapshot");
    small(
        &ws,
        &days_ago(120),
        r#"alert "cpu" {
  scope    = inventory.prod
  metric   = "cpu"
  above    = 99
  severity = "critical"
  route    = route.pager
}

route "pager" {
  pagerduty {
    service = "platform-oncall"
  }
}

component "batch-1" {
  kind       = "server"
  provider   = "datadog"
  identifier = { host = "batch-1" }
}
"#,
    );
    let text = std::fs::read_to_string(ws.path().join("main.hcl"))
        .unwrap()
        .replace("coverage {\n", "coverage {\n  max_threshold = { cpu = 95 }\n");
    ws.write("main.hcl", &text);
    let date = days_ago(120);
    for (name, args) in [
        ("coverage_human", &["coverage"][..]),
        ("coverage_markdown", &["coverage", "--format", "markdown"][..]),
    ] {
        let run = ws.run(args);
        run.expect_code(2);
        let out = run.stdout().replace(&date, "<reviewed_on>");
        insta::assert_snapshot!(name, out);
    }
}

#[test]
fn sensitive_values_stay_out_of_the_report_and_the_record() {
    let ws = Workspace::new("coverage-sensitive");
    small(
        &ws,
        &days_ago(1),
        r#"variable "team_email" {
  type      = string
  sensitive = true
  default   = "hidden-team@example.com"
}

route "team" {
  owner = var.team_email
  email {
    to = [var.team_email]
  }
  escalation {
    after  = "0m"
    people = [var.team_email]
  }
}

alert "cpu" {
  scope  = inventory.prod
  metric = "cpu"
  above  = 90
  route  = route.team
}
"#,
    );
    for args in [&["coverage", "--json"][..], &["coverage"][..], &["coverage", "--format", "markdown"][..]] {
        let run = ws.run(args);
        run.expect_code(0);
        assert!(!run.stdout().contains("hidden-team"), "{args:?}:\n{}", run.stdout());
    }
    let v = ws.run(&["coverage", "--json"]).json();
    let team = v["contacts"].as_array().unwrap().iter().find(|c| c["route"] == "team").expect("team");
    assert!(team["owner"].as_str().unwrap().starts_with("(sensitive"), "{team:#}");
    for r in validation_records(&ws) {
        assert!(!r.to_string().contains("hidden-team"), "{r:#}");
    }
}

/// The quickstart reviewed today, in a workspace whose org in the stand-in has agents reporting
/// for `hosts`.
fn quickstart_with_agents(hosts: &[&str]) -> Workspace {
    let ws = Workspace::example("quickstart");
    let hcl = std::fs::read_to_string(ws.path().join("watchkeep.hcl")).expect("example");
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    ws.write(
        "watchkeep.hcl",
        &hcl.replace("reviewed_on = \"2026-11-01\"", &format!("reviewed_on = \"{today}\"")),
    );
    standin().seed_agents(&ws.api_key, hosts);
    ws
}

/// Every monitor watchkeep manages in the workspace's org, set to what Datadog's evaluation
/// would find (the stand-in never evaluates: a new monitor stays "No Data", as on create).
fn set_all_monitor_states(ws: &Workspace, state: &str) {
    for id in ws.monitor_ids_on(standin()) {
        assert!(standin().set_monitor_state(&ws.api_key, id.parse().expect("numeric id"), state));
    }
}

#[test]
fn live_names_a_host_the_vendor_sees_that_no_inventory_lists() {
    let ws = quickstart_with_agents(&["web-1", "web-2", "db-1", "web-3"]);
    ws.run(&["apply", "-auto-approve"]).expect_code(0);
    set_all_monitor_states(&ws, "OK");

    let run = ws.run(&["coverage", "--live", "--json"]);
    run.expect_code(2);
    let v = run.json();
    assert_matches_schema("coverage.schema.json", &v);
    let g = gaps(&v);
    assert!(g.iter().any(|(cat, subject, _)| cat == "unknown_component" && subject == "web-3"), "{g:?}");
    assert_eq!(g.len(), 1, "only web-3 is a gap: {g:?}");
    let dd = &v["live"]["vendors"][0];
    assert_eq!(dd["vendor"], "datadog");
    assert_eq!(dd["status"], "observed");
    let reporting: Vec<_> =
        dd["components"].as_array().expect("components").iter().filter(|c| c["reporting"] == true).collect();
    assert_eq!(reporting.len(), 3, "{dd}");
    let human = ws.run(&["coverage", "--live"]);
    human.expect_code(2);
    assert!(human.stdout().contains("web-3"), "{}", human.stdout());

    // Added to the inventory and applied: nothing the vendor sees is unknown any more.
    let csv = std::fs::read_to_string(ws.path().join("inventory.csv")).expect("inventory");
    ws.write(
        "inventory.csv",
        &format!("{csv}web-3,server,production,platform-team@example.com,datadog,host=web-3\n"),
    );
    ws.run(&["apply", "-auto-approve"]).expect_code(0);
    set_all_monitor_states(&ws, "OK");
    let after = ws.run(&["coverage", "--live", "--json"]);
    after.expect_code(0);
    assert!(gaps(&after.json()).is_empty(), "{}", after.stdout());
}

#[test]
fn live_reports_a_silent_host_and_a_monitor_in_no_data() {
    // db-1's agent is not reporting; one monitor is in No Data.
    let ws = quickstart_with_agents(&["web-1", "web-2"]);
    ws.run(&["apply", "-auto-approve"]).expect_code(0);
    set_all_monitor_states(&ws, "OK");
    let address = r#"baseline.soc2["web-1"].memory"#;
    let state = ws.state();
    let id = state["resources"]
        .as_array()
        .and_then(|rs| rs.iter().find(|r| r["address"] == address))
        .and_then(|r| r["id"].as_str())
        .expect("monitor in state")
        .to_string();
    assert!(standin().set_monitor_state(&ws.api_key, id.parse().expect("id"), "No Data"));

    let run = ws.run(&["coverage", "--live", "--json"]);
    run.expect_code(2);
    let g = gaps(&run.json());
    assert!(g.iter().any(|(cat, subject, _)| cat == "not_reporting" && subject == "db-1"), "{g:?}");
    assert!(g.iter().any(|(cat, subject, _)| cat == "no_data" && subject == address), "{g:?}");
    assert_eq!(g.len(), 2, "{g:?}");
}
