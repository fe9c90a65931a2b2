//! Ownership per state (issue 14): markers name the state that wrote them
//! (`watchkeep-address:<owner id>:<address marker>`, the owner id being the start of the state's
//! lineage), so two workspaces with one configuration and their own states never adopt or edit
//! each other's objects, and states from before markers named their state migrate in place.

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::*;

fn owner_of(ws: &Workspace) -> String {
    watchkeep_provider::owner_id(ws.state()["lineage"].as_str().expect("lineage"))
}

/// (id, tags, modified) of every monitor in the org, sorted by id.
fn snapshot(ws: &Workspace) -> Vec<(String, Value, Value)> {
    let mut v: Vec<(String, Value, Value)> = ws
        .monitors()
        .iter()
        .map(|m| (m["id"].to_string(), m["tags"].clone(), m["modified"].clone()))
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

fn address_tags(m: &Value) -> Vec<String> {
    m["tags"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t.as_str())
        .filter(|t| t.starts_with("watchkeep-address:"))
        .map(String::from)
        .collect()
}

#[test]
fn two_workspaces_with_one_configuration_never_take_each_others_objects() {
    let a = Workspace::example("quickstart");
    a.run(&["apply", "-auto-approve"]).expect_code(0);
    let owner_a = owner_of(&a);
    let before = snapshot(&a);
    assert_eq!(before.len(), 18);
    for m in a.monitors() {
        let tags = address_tags(&m);
        assert!(tags.len() == 1 && tags[0].starts_with(&format!("watchkeep-address:{owner_a}:")), "{m}");
    }

    // A second laptop: the same configuration and org, a fresh state of its own.
    let mut b = Workspace::example("quickstart");
    b.api_key = a.api_key.clone();
    let plan = b.run(&["plan", "--json"]);
    plan.expect_code(0);
    let p = plan.json();
    assert_eq!(p["summary"]["create"], 19, "{}", plan.stdout());
    for c in p["changes"].as_array().unwrap() {
        assert_eq!(c["adopt"], false, "{c}");
        assert!(c["id"].is_null(), "{c}");
        if c["resource_type"] == "datadog_monitor" {
            let why = c["reason"].as_str().unwrap_or_default();
            assert!(why.contains(&format!("owner id {owner_a}")) && why.contains("left alone"), "{c}");
        }
    }
    let human = b.run(&["plan"]);
    assert!(human.stdout().contains(&owner_a), "the plan names the other state:\n{}", human.stdout());

    b.run(&["apply", "-auto-approve"]).expect_code(0);
    let owner_b = owner_of(&b);
    assert_ne!(owner_a, owner_b);
    // A's monitors are exactly as they were: not adopted, not edited.
    let after = snapshot(&a);
    assert_eq!(after.len(), 36, "B made its own");
    for m in &before {
        assert!(after.contains(m), "A's monitor {} changed or vanished", m.0);
    }
    let ids_a: Vec<String> = a.state_ids();
    assert!(b.state_ids().iter().all(|id| !ids_a.contains(id)), "B's state holds none of A's ids");

    // Each state plans clean against the shared org, and B's destroy leaves A's objects alone.
    a.run(&["plan", "-detailed-exitcode"]).expect_code(0);
    b.run(&["plan", "-detailed-exitcode"]).expect_code(0);
    b.run(&["destroy", "-auto-approve"]).expect_code(0);
    assert_eq!(snapshot(&a), before);
    a.run(&["plan", "-detailed-exitcode"]).expect_code(0);
}

/// A state and its objects from before markers named their state (as watchkeep ≤ 0.13 wrote
/// them): nothing is lost; the next plan updates each marker in place, saying why, and then
/// plans clean. (An untracked object with such a marker is not adopted:
/// `plan::tests::only_objects_marked_by_this_state_are_adopted`.)
#[test]
fn a_state_from_before_owner_ids_migrates_in_place() {
    let ws = Workspace::example("quickstart");
    ws.run(&["apply", "-auto-approve"]).expect_code(0);
    let owner = owner_of(&ws);
    let ids = ws.state_ids();
    // Turn the org and the state back into the old format: markers without the owner id.
    for m in ws.monitors() {
        let tags: Vec<Value> = m["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                json!(t
                    .as_str()
                    .unwrap()
                    .replace(&format!("watchkeep-address:{owner}:"), "watchkeep-address:"))
            })
            .collect();
        let (status, _) =
            ws.vendor(Method::PUT, &format!("/api/v1/monitor/{}", m["id"]), Some(json!({ "tags": tags })));
        assert_eq!(status, 200);
    }
    let path = ws.path().join(".watchkeep/state.json");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace(&format!("watchkeep-address:{owner}:"), "watchkeep-address:"))
        .unwrap();
    let plan = ws.run(&["plan", "--json"]);
    plan.expect_code(0);
    let p = plan.json();
    let monitors: Vec<&Value> =
        p["changes"].as_array().unwrap().iter().filter(|c| c["resource_type"] == "datadog_monitor").collect();
    assert_eq!(monitors.len(), 18);
    for c in &monitors {
        assert_eq!(c["action"], "update", "{c}");
        assert!(
            c["reason"].as_str().unwrap_or_default().contains("marker gains this state's owner id"),
            "{c}"
        );
    }
    ws.run(&["apply", "-auto-approve"]).expect_code(0);
    assert_eq!(ws.state_ids(), ids, "the same objects, none lost or recreated");
    for m in ws.monitors().iter() {
        assert_eq!(address_tags(m).len(), 1);
        assert!(address_tags(m)[0].starts_with(&format!("watchkeep-address:{owner}:")), "{m}");
    }
    ws.run(&["plan", "-detailed-exitcode"]).expect_code(0);
}

/// CloudWatch names objects by the configuration (alarm and dashboard names): a second state
/// with the same configuration would overwrite the first one's alarms, so its plan is refused,
/// naming the state that owns them, and nothing is written.
#[test]
fn cloudwatch_names_owned_by_another_state_are_refused_naming_it() {
    // A region no other test of this binary uses: moto is shared.
    let region = "me-south-1";
    let a = crate::cloudwatch::aws_workspace("own-cw-a", region);
    a.run(&["apply", "-auto-approve"]).expect_code(0);
    let owner_a = owner_of(&a);
    let endpoint = moto().endpoint_url();
    let names = crate::cloudwatch::alarm_names(&endpoint, region);
    // Each alarm as DescribeAlarms has it (without the per-request metadata).
    let describe = |n: &String| {
        let xml = crate::cloudwatch::describe_alarm(&endpoint, region, n);
        xml.split("<ResponseMetadata>").next().unwrap_or_default().to_string()
    };
    let described: Vec<String> = names.iter().map(describe).collect();
    assert!(!described.is_empty() && described.iter().all(|d| d.contains(&owner_a)));

    let b = crate::cloudwatch::aws_workspace("own-cw-b", region);
    let plan = b.run(&["plan"]);
    plan.expect_code(1);
    let err = plan.stderr();
    assert!(err.contains("refusing to plan") && err.contains(&format!("owner id {owner_a}")), "{err}");
    assert!(err.contains("never adopts or edits another state's objects"), "{err}");
    b.run(&["apply", "-auto-approve"]).expect_code(1);
    let again: Vec<String> = names.iter().map(describe).collect();
    assert!(again == described, "A's alarms changed");
    assert_eq!(crate::cloudwatch::alarm_names(&endpoint, region), names, "and no alarm was added");
    assert!(!b.path().join(".watchkeep/state.json").exists(), "B wrote no state");
    a.run(&["destroy", "-auto-approve"]).expect_code(0);
}
