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
    for e in std::fs::read_dir(&root).expect("examples").flatten() {
        if !e.path().is_dir() {
            continue;
        }
        let ws = Workspace::example(&e.file_name().to_string_lossy());
        let run = ws.run(&["validate", "--json"]);
        run.expect_code(0);
        let v = run.json();
        assert_matches_schema("validate.schema.json", &v);
        assert_eq!(v["valid"], true, "{}: {v}", e.path().display());
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
