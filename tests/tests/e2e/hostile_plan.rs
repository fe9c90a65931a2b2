//! Issue 15, the plan's share: duplicates by marker found at plan time, Markdown that content
//! cannot break out of, and CLI defects (malformed `-target`, a closed pipe, `depends_on` naming
//! a high-level block).

use reqwest::Method;
use serde_json::Value;

use crate::support::*;

/// A create that took effect late leaves a second monitor with the same ownership marker (the
/// state tracks one): the next plan proposes deleting the extra one, apply does, and the plan
/// after it is clean. Here the duplicate is made through the vendor API with the same body, which
/// is what the vendor holds after a lost response and a retry.
#[test]
fn a_duplicate_carrying_this_states_marker_is_found_and_deleted() {
    let ws = Workspace::example("quickstart");
    ws.run(&["apply", "-auto-approve"]).expect_code(0);
    let before = ws.monitors();
    let original = before
        .iter()
        .find(|m| m["name"].as_str().is_some_and(|n| n.starts_with("web-1: CPU usage")))
        .expect("web-1 cpu monitor")
        .clone();
    let mut body = serde_json::Map::new();
    for k in ["name", "type", "query", "message", "tags", "options", "priority"] {
        if let Some(v) = original.get(k).filter(|v| !v.is_null()) {
            body.insert(k.to_string(), v.clone());
        }
    }
    let (status, dup) = ws.vendor(Method::POST, "/api/v1/monitor", Some(Value::Object(body)));
    assert_eq!(status, 200, "{dup}");
    let dup_id = dup["id"].to_string();

    let plan = ws.run(&["plan", "--json"]);
    plan.expect_code(0);
    let p = plan.json();
    assert_eq!(p["summary"]["delete"], 1, "{}", plan.stdout());
    let del: Vec<&Value> =
        p["changes"].as_array().unwrap().iter().filter(|c| c["action"] == "delete").collect();
    assert_eq!(del[0]["id"].to_string(), format!("\"{dup_id}\""));
    assert!(del[0]["address"].as_str().unwrap().ends_with(&format!("(duplicate {dup_id})")), "{}", del[0]);
    assert!(del[0]["reason"].as_str().unwrap().contains("same ownership marker"), "{}", del[0]);
    let human = ws.run(&["plan"]);
    assert!(human.stdout().contains("duplicate"), "{}", human.stdout());

    let ids = ws.state_ids();
    ws.run(&["apply", "-auto-approve"]).expect_code(0);
    assert_eq!(ws.monitors().len(), before.len(), "exactly one monitor per address again");
    assert!(ws.monitors().iter().all(|m| m["id"].to_string() != dup_id));
    assert_eq!(ws.state_ids(), ids, "state untouched");
    ws.run(&["plan", "-detailed-exitcode"]).expect_code(0);
}
