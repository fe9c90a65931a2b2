//! CLI habits: both flag styles, version, fmt, graph, state commands, examples validate.

use crate::support::*;

#[test]
fn version_both_ways() {
    let ws = Workspace::new("version");
    let v = ws.run(&["version", "-json"]);
    v.expect_code(0);
    assert_matches_schema("version.schema.json", &v.json());
    ws.run(&["version", "--json"]).expect_code(0);
    assert!(ws.run(&["--version"]).stdout().contains("watchkeep"));
}

#[test]
fn examples_validate() {
    let root = repo_root().join("examples");
    let mut validated = Vec::new();
    for e in std::fs::read_dir(&root).expect("examples").flatten() {
        // A configuration is a directory of `*.hcl` files; `examples/ci` holds CI recipes.
        let has_hcl = std::fs::read_dir(e.path())
            .map(|rd| rd.flatten().any(|f| f.path().extension().is_some_and(|x| x == "hcl")))
            .unwrap_or(false);
        if !e.path().is_dir() || !has_hcl {
            continue;
        }
        let ws = Workspace::example(&e.file_name().to_string_lossy());
        let run = ws.run(&["validate", "--json"]);
        run.expect_code(0);
        let v = run.json();
        assert_matches_schema("validate.schema.json", &v);
        assert_eq!(v["valid"], true, "{}: {v}", e.path().display());
        validated.push(e.file_name().to_string_lossy().into_owned());
    }
    validated.sort();
    for name in ["cloudwatch", "newrelic", "quickstart"] {
        assert!(validated.iter().any(|v| v == name), "examples/{name} was not validated: {validated:?}");
    }
}

#[test]
fn fmt_check_and_fix() {
    let ws = Workspace::example("quickstart");
    ws.run(&["fmt", "-check"]).expect_code(0);
    ws.write("ugly.hcl", "locals {\n      a = 1\n  bbb = 2\n}\n");
    let check = ws.run(&["fmt", "--check"]);
    check.expect_code(3);
    assert!(check.stdout().contains("ugly.hcl"));
    ws.run(&["fmt"]).expect_code(0);
    ws.run(&["fmt", "-check"]).expect_code(0);
    let fixed = std::fs::read_to_string(ws.path().join("ugly.hcl")).expect("read");
    assert_eq!(fixed, "locals {\n  a   = 1\n  bbb = 2\n}\n");
}

#[test]
fn graph_is_dot() {
    let ws = Workspace::example("quickstart");
    let run = ws.run(&["graph"]);
    run.expect_code(0);
    let dot = run.stdout();
    assert!(dot.starts_with("digraph"), "{dot}");
    assert!(dot.contains("baseline.soc2") && dot.contains("route.oncall"), "{dot}");
}

#[test]
fn state_list_show_rm() {
    let ws = Workspace::example("quickstart");
    ws.run(&["apply", "--auto-approve"]).expect_code(0);
    let list = ws.run(&["state", "list", "baseline.soc2"]);
    list.expect_code(0);
    assert_eq!(list.stdout().lines().count(), 15);
    let json = ws.run(&["state", "list", "--json"]).json();
    assert_matches_schema("state-list.schema.json", &json);
    let addr = r#"alert.cpu_saturated["web-1"]"#;
    let show = ws.run(&["state", "show", addr]);
    show.expect_code(0);
    assert!(show.stdout().contains("datadog_monitor"));
    ws.run(&["state", "rm", addr]).expect_code(0);
    assert_eq!(ws.run(&["state", "list"]).stdout().lines().count(), 18);
    // The vendor object is left alone, so the next plan adopts it by its marker.
    let plan = ws.run(&["plan"]);
    assert!(plan.stdout().contains("adopted"), "{}", plan.stdout());
    let missing = ws.run(&["state", "show", "nope"]);
    missing.expect_code(1);
    assert!(missing.stderr().contains("state list"));
}

#[test]
fn force_unlock_clears_a_stale_lock() {
    let ws = Workspace::example("quickstart");
    std::fs::create_dir_all(ws.path().join(".watchkeep")).expect("mkdir");
    let lock = serde_json::json!({
        "id": "0b7c1f0e-dead-4bee-8000-000000000001", "holder": "ghost@example.com", "pid": 999_999_999u32,
        "host": "elsewhere", "operation": "apply", "created": "2026-11-01T00:00:00Z", "watchkeep_version": "0.1.0"
    });
    ws.write(".watchkeep/state.json.lock", &lock.to_string());
    let run = ws.run(&["apply", "-auto-approve"]);
    run.expect_code(1);
    assert!(run.stderr().contains("ghost@example.com"), "{}", run.stderr());
    ws.run(&["force-unlock", "-force", "0b7c1f0e-dead-4bee-8000-000000000001"]).expect_code(0);
    ws.run(&["apply", "-auto-approve"]).expect_code(0);
}

#[test]
fn fmt_json_lists_checked_and_changed_files() {
    let ws = Workspace::example("quickstart");
    ws.write("ugly.hcl", "locals {\n      a = 1\n  bbb = 2\n}\n");
    let check = ws.run(&["fmt", "-check", "-json"]);
    check.expect_code(3);
    let v = check.json();
    assert_matches_schema("fmt.schema.json", &v);
    assert_eq!(v["check"], true, "{v}");
    assert!(v["files_checked"].as_u64().unwrap_or(0) >= 2, "{v}");
    let changed: Vec<&str> =
        v["changed"].as_array().expect("changed").iter().filter_map(|c| c.as_str()).collect();
    assert_eq!(changed.len(), 1, "{v}");
    assert!(changed[0].ends_with("ugly.hcl"), "{v}");
    // -check wrote nothing.
    let ugly = std::fs::read_to_string(ws.path().join("ugly.hcl")).expect("read");
    assert_eq!(ugly, "locals {\n      a = 1\n  bbb = 2\n}\n");
    let fix = ws.run(&["fmt", "--json"]);
    fix.expect_code(0);
    assert_eq!(fix.json()["changed"].as_array().map(Vec::len), Some(1));
    let again = ws.run(&["fmt", "-check", "-json"]);
    again.expect_code(0);
    assert_matches_schema("fmt.schema.json", &again.json());
    assert_eq!(again.json()["changed"], serde_json::json!([]));
}

#[test]
fn graph_json_has_the_dot_nodes_and_edges() {
    let ws = Workspace::example("quickstart");
    let dot = ws.run(&["graph"]).stdout();
    let run = ws.run(&["graph", "--json"]);
    run.expect_code(0);
    let v = run.json();
    assert_matches_schema("graph.schema.json", &v);
    let nodes: Vec<&str> = v["nodes"].as_array().expect("nodes").iter().filter_map(|n| n.as_str()).collect();
    assert!(nodes.contains(&"baseline.soc2") && nodes.contains(&"route.oncall"), "{v}");
    let edges = v["edges"].as_array().expect("edges");
    assert!(!edges.is_empty(), "{v}");
    assert_eq!(edges.len(), dot.matches(" -> ").count(), "{dot}\n{v}");
    assert_eq!(nodes.len() + edges.len() + 4, dot.lines().count(), "{dot}\n{v}");
}

#[test]
fn force_unlock_json_names_the_lock_removed() {
    let ws = Workspace::example("quickstart");
    std::fs::create_dir_all(ws.path().join(".watchkeep")).expect("mkdir");
    let id = "0b7c1f0e-dead-4bee-8000-000000000002";
    let lock = serde_json::json!({
        "id": id, "holder": "ghost@example.com", "pid": 999_999_999u32,
        "host": "elsewhere", "operation": "apply", "created": "2026-11-01T00:00:00Z", "watchkeep_version": "0.1.0"
    });
    ws.write(".watchkeep/state.json.lock", &lock.to_string());
    let run = ws.run(&["force-unlock", "-force", "-json", id]);
    run.expect_code(0);
    let v = run.json();
    assert_matches_schema("force-unlock.schema.json", &v);
    assert_eq!(v["removed"]["id"], id, "{v}");
    assert_eq!(v["removed"]["holder"], "ghost@example.com", "{v}");
    assert!(!ws.path().join(".watchkeep/state.json.lock").exists());
    let none = ws.run(&["force-unlock", "--force", "--json", id]);
    none.expect_code(0);
    assert_matches_schema("force-unlock.schema.json", &none.json());
    assert_eq!(none.json()["removed"], serde_json::Value::Null);
}

#[test]
fn state_rm_json_reports_what_was_forgotten() {
    let ws = Workspace::example("quickstart");
    ws.run(&["apply", "--auto-approve"]).expect_code(0);
    let addr = r#"alert.cpu_saturated["web-1"]"#;
    let id = ws.state_resource(addr)["id"].clone();
    let run = ws.run(&["state", "rm", "--json", addr]);
    run.expect_code(0);
    let v = run.json();
    assert_matches_schema("state-rm.schema.json", &v);
    assert_eq!(v["removed"][0]["address"], addr, "{v}");
    assert_eq!(v["removed"][0]["id"], id, "{v}");
    assert_eq!(v["removed"][0]["action"], "forget", "{v}");
    assert_eq!(v["serial"], ws.state()["serial"], "{v}");
    let history = ws.run(&["history", "--json"]).json();
    let last = history.as_array().and_then(|h| h.last()).cloned().unwrap_or_default();
    assert_eq!(v["history_version"], last["version"], "{v}\n{last}");
    assert_eq!(last["operation"], "state rm");
}

/// A reader that closes stdout before watchkeep writes (`watchkeep show --json | head -1` once
/// head has its line) must not make it panic: it stops quietly, with its normal exit code.
#[test]
fn closed_stdout_ends_quietly() {
    let ws = Workspace::example("quickstart");
    ws.run(&["apply", "--auto-approve"]).expect_code(0);
    for args in [
        &["show", "--json"][..],
        &["show"],
        &["state", "list"],
        &["history"],
        &["plan", "-refresh=false"],
        &["plan", "-refresh=false", "-json"],
        &["version"],
    ] {
        // The read end is closed before the child starts, so its first write fails with EPIPE
        // (not only once a pipe buffer fills).
        let (reader, writer) = std::io::pipe().expect("pipe");
        drop(reader);
        let out = ws.command(args).stdout(writer).stderr(std::process::Stdio::piped()).output().expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(!stderr.contains("Broken pipe") && !stderr.contains("Error"), "{args:?}: {stderr}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
    }
    // An apply whose reader went away still does all its work: the executor's per-object lines
    // are dropped, never a reason to stop half-way.
    let fresh = Workspace::example("quickstart");
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let out = fresh
        .command(&["apply", "-auto-approve"])
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(fresh.state()["resources"].as_array().map(Vec::len), Some(19));
    let again = fresh.run(&["plan", "-detailed-exitcode"]);
    again.expect_code(0);
}

/// `show --json` keeps stdout JSON when there is no state yet: `null`, where the human form says
/// there is no state.
#[test]
fn show_json_without_state_is_null() {
    let ws = Workspace::example("quickstart");
    let run = ws.run(&["show", "--json"]);
    run.expect_code(0);
    assert_eq!(run.json(), serde_json::Value::Null, "{}", run.stdout());
    let human = ws.run(&["show"]);
    human.expect_code(0);
    assert!(!human.stdout().trim().is_empty());
}
