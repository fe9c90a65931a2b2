//! The core loop: HCL → plan → apply → versioned state, and plan-after-apply is empty.

use crate::support::*;

#[test]
fn quickstart_apply_then_plan_has_no_changes() {
    let ws = Workspace::example("quickstart");
    let plan = ws.run(&["plan", "-detailed-exitcode"]);
    plan.expect_code(2);
    assert!(plan.stdout().contains("baseline.soc2[\"web-1\"].cpu"), "{}", plan.stdout());
    assert!(plan.stdout().contains("Plan: 19 to create"), "{}", plan.stdout());

    ws.run(&["apply", "-auto-approve"]).expect_code(0);
    let monitors = ws.monitors();
    // 3 servers × 5 core metrics + the cpu_saturated alert on each of the 3 servers.
    assert_eq!(monitors.len(), 18);
    for m in &monitors {
        let tags: Vec<&str> = m["tags"].as_array().expect("tags").iter().filter_map(|t| t.as_str()).collect();
        assert!(tags.contains(&"managed-by:watchkeep"), "ownership marker missing on {m}");
        assert!(tags.iter().any(|t| t.starts_with("watchkeep-address:")), "address marker missing on {m}");
    }
    let cpu = monitors
        .iter()
        .find(|m| m["name"].as_str().is_some_and(|n| n.starts_with("web-1: CPU usage above 85%")))
        .expect("web-1 cpu monitor");
    let msg = cpu["message"].as_str().unwrap_or_default();
    assert!(
        msg.contains("@pagerduty-platform-oncall")
            && msg.contains("@slack-ops-alerts")
            && msg.contains("@platform-team@example.com"),
        "{msg}"
    );

    // The stand-in normalises like Datadog (type alias, float thresholds, tag order, defaults):
    // none of it may show up as a diff.
    let again = ws.run(&["plan", "-detailed-exitcode"]);
    again.expect_code(0);
    assert!(again.stdout().contains("No changes."), "{}", again.stdout());

    let state = ws.state();
    assert_eq!(state["resources"].as_array().map(Vec::len), Some(19));
    assert_eq!(state["format_version"], 2);
    assert!(state["serial"].as_u64().unwrap_or(0) >= 1);
    let (status, dashboards) = ws.vendor(reqwest::Method::GET, "/api/v1/dashboard", None);
    assert_eq!(status, 200);
    let dashboards = dashboards["dashboards"].as_array().cloned().unwrap_or_default();
    assert_eq!(dashboards.len(), 1, "the infrastructure dashboard");
    assert_eq!(dashboards[0]["title"], "Production infrastructure (SOC 2 scope)");
    let mut ids = ws.monitor_ids_on(standin());
    ids.push(dashboards[0]["id"].as_str().unwrap_or_default().to_string());
    ids.sort();
    assert_eq!(ws.state_ids(), ids, "state holds exactly what exists");
    assert_matches_schema("state.schema.json", &state);

    let hist = ws.run(&["history", "--json"]);
    hist.expect_code(0);
    let entries = hist.json();
    assert_eq!(
        entries.as_array().map(Vec::len),
        Some(1),
        "one history entry per apply that changed something"
    );
    assert_eq!(entries[0]["counts"]["create"], 19);
    assert_eq!(entries[0]["actor"], "e2e@example.com");
    assert_eq!(entries[0]["operation"], "apply");
    assert_matches_schema("history.schema.json", &entries);

    // A no-change apply records nothing new.
    ws.run(&["apply", "-auto-approve"]).expect_code(0);
    assert_eq!(ws.run(&["history", "--json"]).json().as_array().map(Vec::len), Some(1));
}

#[test]
fn plan_json_matches_its_schema_and_counts_api_calls() {
    let ws = Workspace::example("quickstart");
    let run = ws.run(&["plan", "--json"]);
    run.expect_code(0);
    let v = run.json();
    assert_matches_schema("plan.schema.json", &v);
    assert_eq!(v["summary"]["create"], 19);
    assert!(v["stats"]["api_calls"].as_u64().unwrap_or(0) >= 1);
}

#[test]
fn markdown_plan_for_pull_requests() {
    let ws = Workspace::example("quickstart");
    let run = ws.run(&["plan", "--format", "markdown"]);
    run.expect_code(0);
    let md = run.stdout();
    assert!(md.starts_with("### watchkeep plan: 19 to create"), "{md}");
    assert!(md.contains("| create | `baseline.soc2[\"db-1\"].cpu` |"), "{md}");
    assert!(md.contains("```diff"), "{md}");
}

#[test]
fn saved_plan_applies_and_refuses_when_state_changed() {
    let ws = Workspace::example("quickstart");
    ws.run(&["plan", "-out=first.wkplan"]).expect_code(0);
    ws.run(&["plan", "-out", "second.wkplan"]).expect_code(0);
    let show = ws.run(&["show", "first.wkplan"]);
    show.expect_code(0);
    assert!(show.stdout().contains("Plan: 19 to create"), "{}", show.stdout());

    ws.run(&["apply", "first.wkplan"]).expect_code(0);
    assert_eq!(ws.monitors().len(), 18);
    let stale = ws.run(&["apply", "second.wkplan"]);
    stale.expect_code(1);
    assert!(stale.stderr().contains("stale"), "{}", stale.stderr());
    assert_eq!(ws.monitors().len(), 18, "a stale plan changes nothing");
}

#[test]
fn saved_plan_refuses_a_changed_configuration() {
    let ws = Workspace::example("quickstart");
    ws.run(&["plan", "-out", "p.wkplan"]).expect_code(0);
    let hcl = std::fs::read_to_string(ws.path().join("watchkeep.hcl")).expect("hcl");
    ws.write("watchkeep.hcl", &hcl.replace("above   = 90", "above   = 93"));
    let run = ws.run(&["apply", "p.wkplan"]);
    run.expect_code(1);
    assert!(run.stderr().contains("configuration changed"), "{}", run.stderr());
    assert!(ws.monitors().is_empty());
}

#[test]
fn a_second_apply_is_refused_while_the_lock_is_held() {
    let slow = watchkeep_tests::DatadogStandIn::start(watchkeep_tests::StandInOptions {
        latency: std::time::Duration::from_millis(150),
        rate_limit: None,
        ..Default::default()
    })
    .expect("slow stand-in");
    let ws = Workspace::on(&slow, "lock");
    ws.write("main.hcl", &raw_monitors_config(12, None));
    let mut first = ws.command(&["apply", "-auto-approve", "-parallelism=1"]).spawn().expect("first apply");
    let lock = ws.path().join(".watchkeep/state.json.lock");
    let started = std::time::Instant::now();
    while !lock.exists() && started.elapsed() < std::time::Duration::from_secs(20) {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(lock.exists(), "first apply never took the lock");

    let second = ws.run(&["apply", "-auto-approve"]);
    second.expect_code(1);
    let err = second.stderr();
    assert!(err.contains("locked"), "{err}");
    assert!(err.contains(&format!("pid {}", first.id())), "holder pid missing: {err}");
    assert!(err.contains("apply"), "holder operation missing: {err}");

    assert!(first.wait().expect("wait first").success());
    assert_eq!(ws.monitors_on(&slow).len(), 12, "only the lock holder created monitors");
    assert_eq!(ws.state_ids(), ws.monitor_ids_on(&slow));
}

#[test]
fn destroy_removes_everything_it_manages() {
    let ws = Workspace::example("quickstart");
    ws.run(&["apply", "-auto-approve"]).expect_code(0);
    let (status, _) = ws.vendor(
        reqwest::Method::POST,
        "/api/v1/monitor",
        Some(serde_json::json!({"name": "hand made", "type": "metric alert", "query": "avg(last_5m):avg:system.load.1{*} > 5", "message": "x"})),
    );
    assert_eq!(status, 200);
    ws.run(&["destroy", "-auto-approve"]).expect_code(0);
    let left = ws.monitors();
    assert_eq!(left.len(), 1, "only the unmanaged monitor is left");
    assert_eq!(left[0]["name"], "hand made");
    assert_eq!(ws.state()["resources"].as_array().map(Vec::len), Some(0));
    let entries = ws.run(&["history", "--json"]).json();
    assert_eq!(entries[1]["operation"], "destroy");
    assert_eq!(entries[1]["counts"]["delete"], 19);
}

/// A composite monitor names monitors created in the same apply: `datadog_monitor.a.id` is a link
/// the executor resolves once `a` exists; the next plan resolves it from state and is clean.
#[test]
fn a_composite_monitor_links_monitors_created_in_the_same_apply() {
    let ws = Workspace::new("composite");
    let mut cfg = raw_monitors_config(2, None);
    cfg.push_str(
        r#"
resource "datadog_monitor" "both" {
  name     = "both loaded"
  type     = "composite"
  query    = "${datadog_monitor.m000.id} && ${datadog_monitor.m001.id}"
  message  = "both hosts are loaded @ops@example.com"
  priority = null
}
"#,
    );
    ws.write("main.hcl", &cfg);
    let plan = ws.run(&["plan"]);
    plan.expect_code(0);
    assert!(
        plan.stdout().contains("ref:datadog_monitor.m000 && ref:datadog_monitor.m001"),
        "{}",
        plan.stdout()
    );
    ws.run(&["apply", "-auto-approve", "-parallelism=4"]).expect_code(0);
    let ids: Vec<String> = ["datadog_monitor.m000", "datadog_monitor.m001"]
        .iter()
        .map(|a| ws.state_resource(a)["id"].as_str().expect("id").to_string())
        .collect();
    let composite = ws.state_resource("datadog_monitor.both");
    assert_eq!(composite["attrs"]["query"], format!("{} && {}", ids[0], ids[1]));
    let live =
        ws.monitors().into_iter().find(|m| m["name"] == "both loaded").expect("composite on the vendor");
    assert_eq!(live["query"], format!("{} && {}", ids[0], ids[1]));
    ws.run(&["plan", "-detailed-exitcode"]).expect_code(0);
    ws.run(&["drift"]).expect_code(0);
    ws.run(&["destroy", "-auto-approve"]).expect_code(0);
    assert!(ws.monitors().is_empty());
}
