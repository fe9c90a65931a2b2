//! Drift: objects edited or deleted behind watchkeep's back, and unmanaged ones.

use reqwest::Method;
use serde_json::json;

use crate::support::*;

fn monitor_id(ws: &Workspace, address: &str) -> String {
    let state = ws.state();
    state["resources"]
        .as_array()
        .and_then(|rs| rs.iter().find(|r| r["address"] == address))
        .and_then(|r| r["id"].as_str())
        .unwrap_or_else(|| panic!("{address} not in state"))
        .to_string()
}

#[test]
fn drift_reports_edited_deleted_and_unmanaged_and_plan_restores() {
    let ws = Workspace::example("quickstart");
    ws.run(&["apply", "-auto-approve"]).expect_code(0);
    ws.run(&["drift"]).expect_code(0);

    let edited = r#"baseline.soc2["web-1"].memory"#;
    let deleted = r#"baseline.soc2["web-2"].disk"#;
    let edited_id = monitor_id(&ws, edited);
    let deleted_id = monitor_id(&ws, deleted);

    // Someone raises a threshold in the UI (query and thresholds change together, as Datadog
    // requires), someone deletes a monitor, someone adds one by hand.
    let (_, current) = ws.vendor(Method::GET, &format!("/api/v1/monitor/{edited_id}"), None);
    let query = current["query"].as_str().expect("query").replace("> 90", "> 97");
    let (status, _) = ws.vendor(
        Method::PUT,
        &format!("/api/v1/monitor/{edited_id}"),
        Some(json!({"query": query, "options": {"thresholds": {"critical": 97, "warning": 80}}})),
    );
    assert_eq!(status, 200);
    let (status, _) = ws.vendor(Method::DELETE, &format!("/api/v1/monitor/{deleted_id}"), None);
    assert_eq!(status, 200);
    let (status, made) = ws.vendor(
        Method::POST,
        "/api/v1/monitor",
        Some(json!({"name": "clicked together", "type": "metric alert", "query": "avg(last_5m):avg:system.load.1{*} > 5", "message": "hi"})),
    );
    assert_eq!(status, 200);
    let unmanaged_id = made["id"].to_string();

    let human = ws.run(&["drift"]);
    human.expect_code(2);
    let out = human.stdout();
    assert!(out.contains(edited) && out.contains("edited"), "{out}");
    assert!(out.contains(deleted) && out.contains("deleted"), "{out}");
    assert!(out.contains(&unmanaged_id) && out.contains("clicked together"), "{out}");
    assert!(out.contains("options.thresholds.critical"), "{out}");

    let report = ws.run(&["drift", "--json"]);
    report.expect_code(2);
    let v = report.json();
    assert_matches_schema("drift.schema.json", &v);
    assert_eq!(v["edited"][0]["address"], edited);
    assert_eq!(v["deleted"][0]["address"], deleted);
    assert_eq!(v["unmanaged"][0]["id"], unmanaged_id);
    assert_eq!(v["unmanaged"].as_array().map(Vec::len), Some(1));
    // Each run is kept as a dated validation record.
    let records = std::fs::read_dir(ws.path().join(".watchkeep/validations"))
        .expect("validations dir")
        .filter(|e| e.as_ref().is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".json")))
        .count();
    assert!(records >= 2, "{records} validation records");

    let plan = ws.run(&["plan", "-detailed-exitcode"]);
    plan.expect_code(2);
    let p = plan.stdout();
    assert!(
        p.contains(&format!("{edited} (datadog_monitor) [id {edited_id}] will be updated in place")),
        "{p}"
    );
    assert!(p.contains("changed outside watchkeep"), "{p}");
    assert!(p.contains(&format!("{deleted} (datadog_monitor) will be created")), "{p}");
    assert!(p.contains("deleted outside watchkeep"), "{p}");
    assert!(p.contains("Plan: 1 to create, 1 to update, 0 to replace, 0 to destroy"), "{p}");
    assert!(!p.contains("clicked together"), "unmanaged monitors are left alone: {p}");

    ws.run(&["apply", "-auto-approve"]).expect_code(0);
    ws.run(&["plan", "-detailed-exitcode"]).expect_code(0);
    let after = ws.run(&["drift", "--json"]);
    after.expect_code(2);
    let v = after.json();
    assert_eq!(v["edited"].as_array().map(Vec::len), Some(0));
    assert_eq!(v["deleted"].as_array().map(Vec::len), Some(0));
    assert_eq!(v["unmanaged"].as_array().map(Vec::len), Some(1), "the hand-made monitor is still reported");
    assert_eq!(ws.monitors().len(), 19);
}

/// A writable field the configuration does not set is the vendor's to choose: plan never touches
/// it, and drift reports it only when it moves away from what the vendor had when watchkeep wrote
/// the object. A field the configuration stops setting is planned as a removal.
#[test]
fn vendor_chosen_values_are_left_alone_by_plan_and_reported_by_drift() {
    let ws = Workspace::new("chosen");
    ws.write("main.hcl", &raw_monitors_config(1, None));
    ws.run(&["apply", "-auto-approve"]).expect_code(0);
    ws.run(&["plan", "-detailed-exitcode"]).expect_code(0);
    ws.run(&["drift"]).expect_code(0);
    let id = monitor_id(&ws, "datadog_monitor.m000");

    // Out of band: a priority and a renotify interval, neither of which the configuration sets.
    let (status, _) = ws.vendor(
        Method::PUT,
        &format!("/api/v1/monitor/{id}"),
        Some(json!({"priority": 2, "options": {"thresholds": {"critical": 90}, "renotify_interval": 60}})),
    );
    assert_eq!(status, 200);
    let plan = ws.run(&["plan", "-detailed-exitcode"]);
    plan.expect_code(0);
    assert!(plan.stdout().contains("No changes"), "{}", plan.stdout());
    let drift = ws.run(&["drift", "--json"]);
    drift.expect_code(2);
    let report = drift.json();
    let paths: Vec<&str> = report["edited"][0]["attribute_changes"]
        .as_array()
        .expect("changes")
        .iter()
        .filter_map(|c| c["path"].as_str())
        .collect();
    assert_eq!(paths, ["options.renotify_interval", "priority"], "{report:#}");

    // The configuration takes the priority over: now it is managed, and plan acts on it.
    ws.write("main.hcl", &raw_monitors_config(1, None).replace("  tags    =", "  priority = 4\n  tags    ="));
    let plan = ws.run(&["plan", "-detailed-exitcode"]);
    plan.expect_code(2);
    assert!(plan.stdout().contains("priority"), "{}", plan.stdout());
    ws.run(&["apply", "-auto-approve"]).expect_code(0);
    ws.run(&["plan", "-detailed-exitcode"]).expect_code(0);
    // ... and when the configuration stops setting it, its removal is planned.
    ws.write("main.hcl", &raw_monitors_config(1, None));
    let plan = ws.run(&["plan", "-detailed-exitcode"]);
    plan.expect_code(2);
    assert!(plan.stdout().contains("priority"), "{}", plan.stdout());
    ws.run(&["apply", "-auto-approve"]).expect_code(0);
    ws.run(&["plan", "-detailed-exitcode"]).expect_code(0);
    let (_, live) = ws.vendor(Method::GET, &format!("/api/v1/monitor/{id}"), None);
    assert!(live["priority"].is_null(), "{live:#}");
}

/// Every drift run is a hash-chained validation record; `validations` lists them and shows an
/// edited or removed record (exit 2), naming it.
#[test]
fn validations_list_the_records_and_show_an_edited_one() {
    let ws = Workspace::example("quickstart");
    ws.run(&["apply", "-auto-approve"]).expect_code(0);
    for _ in 0..3 {
        ws.run(&["drift"]).expect_code(0);
    }
    let listed = ws.run(&["validations", "--json"]);
    listed.expect_code(0);
    let v = listed.json();
    assert_matches_schema("validations.schema.json", &v);
    assert_eq!(v["chain_intact"], true, "{v}");
    let records = v["records"].as_array().expect("records");
    assert_eq!(records.len(), 3, "{v}");
    assert!(records.iter().all(|r| r["kind"] == "drift" && r["outcome"] == "pass"), "{v}");
    let human = ws.run(&["validations"]);
    human.expect_code(0);
    assert!(human.stdout().contains("Chain intact: 3 records"), "{}", human.stdout());

    // Someone turns a failed run into a passed one, or rewrites its summary, after the fact.
    let dir = ws.path().join(".watchkeep/validations");
    let second = dir.join("000002.json");
    let text = std::fs::read_to_string(&second).expect("record 2");
    std::fs::write(&second, text.replace("no drift", "no drift at all")).expect("edit");
    let broken = ws.run(&["validations"]);
    broken.expect_code(2);
    let out = broken.stdout();
    assert!(out.contains("Chain BROKEN"), "{out}");
    assert!(out.contains("000003.json") && out.contains("edited or removed"), "{out}");

    // Restored, then the newest record removed: HEAD still names it.
    std::fs::write(&second, text).expect("restore");
    ws.run(&["validations"]).expect_code(0);
    std::fs::remove_file(dir.join("000003.json")).expect("remove");
    let removed = ws.run(&["validations", "--json"]);
    removed.expect_code(2);
    let v = removed.json();
    assert_eq!(v["chain_intact"], false);
    assert!(v["problems"].to_string().contains("000003"), "{v}");
}
