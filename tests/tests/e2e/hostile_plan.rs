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
    assert!(ws.monitors().iter().all(|m| m["id"] != dup["id"]));
    assert_eq!(ws.state_ids(), ids, "state untouched");
    ws.run(&["plan", "-detailed-exitcode"]).expect_code(0);
}

/// A malformed `-target` is an error (exit 1, saying what is wrong), not a plan that selects
/// nothing and exits 0; a well-formed one that matches nothing is a warning.
#[test]
fn a_malformed_target_is_an_error_and_an_unknown_one_a_warning() {
    let ws = Workspace::example("quickstart");
    for bad in [r#"baseline.soc2[web"#, "baseline..cpu", "x y"] {
        let run = ws.run(&["plan", "-target", bad]);
        run.expect_code(1);
        assert!(run.stderr().contains(&format!("invalid -target `{bad}`")), "{}", run.stderr());
        let apply = ws.run(&["apply", "-auto-approve", "-target", bad]);
        apply.expect_code(1);
    }
    assert!(ws.monitors().is_empty(), "nothing was applied");
    let unknown = ws.run(&["plan", "-target", "baseline.nothing"]);
    unknown.expect_code(0);
    assert!(unknown.stderr().contains("matches nothing"), "{}", unknown.stderr());
    let ok = ws.run(&["plan", "-target", r#"baseline.soc2["web-1"]"#, "-detailed-exitcode"]);
    ok.expect_code(2);
    assert!(!ok.stderr().contains("matches nothing"), "{}", ok.stderr());
}

/// `show --json | head -c 10`: a reader that closes the pipe early ends the command quietly,
/// never with a panic.
#[test]
fn a_closed_pipe_is_not_a_panic() {
    let ws = Workspace::example("quickstart");
    ws.run(&["apply", "-auto-approve"]).expect_code(0);
    // A change, so the saved plan has something to show.
    let hcl = std::fs::read_to_string(ws.path().join("watchkeep.hcl")).unwrap();
    ws.write("watchkeep.hcl", &hcl.replace("above    = 95", "above    = 96"));
    ws.run(&["plan", "-out", "saved.plan"]).expect_code(0);
    for args in [
        &["show", "--json"][..],
        &["show"],
        &["show", "saved.plan", "--json"],
        &["show", "saved.plan", "--format", "markdown"],
        &["state", "list"],
        &["history", "--json"],
        &["plan", "--json"],
        &["drift", "--json"],
    ] {
        let mut child = ws
            .command(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn");
        // Close the read end before the command writes anything.
        drop(child.stdout.take());
        let out = child.wait_with_output().expect("wait");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_ne!(out.status.code(), Some(101), "{args:?}: {stderr}");
    }
}
