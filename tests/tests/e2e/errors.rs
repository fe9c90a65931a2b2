//! Bad input gets a clear message with a location, exit 1, and changes nothing.

use crate::support::*;

const HEADER: &str = "variable \"datadog_api_url\" { type = string }\nprovider \"datadog\" { api_url = var.datadog_api_url }\n";

fn fails_with(files: &[(&str, &str)], args: &[&str], needles: &[&str]) {
    let ws = Workspace::new("errors");
    for (n, t) in files {
        ws.write(n, t);
    }
    let run = ws.run(args);
    run.expect_code(1);
    let err = run.stderr();
    for n in needles {
        assert!(err.contains(n), "stderr lacks {n:?}:\n{err}");
    }
    assert!(!err.contains("panicked"), "{err}");
    assert!(!ws.path().join(".watchkeep/state.json").exists(), "a failed command wrote state");
    assert!(ws.monitors().is_empty());
}

#[test]
fn malformed_hcl_points_at_the_line() {
    let bad = format!("{HEADER}\nroute \"oncall\" {{\n  email {{ to = [\"a@example.com\" }}\n}}\n");
    fails_with(&[("main.hcl", &bad)], &["plan"], &["main.hcl:5:"]);
    fails_with(&[("main.hcl", &bad)], &["validate"], &["main.hcl:5:"]);
}

#[test]
fn unknown_reference_is_located() {
    let text = format!(
        "{HEADER}\ninventory \"prod\" {{\n  component \"web-1\" {{\n    kind = \"server\"\n    provider = \"datadog\"\n  }}\n}}\nbaseline \"soc2\" {{\n  scope = inventory.prod\n  route = route.pager\n}}\n"
    );
    fails_with(&[("main.hcl", &text)], &["plan"], &["route.pager", "main.hcl:12:"]);
}

#[test]
fn cycles_are_errors() {
    let text = format!("{HEADER}\nlocals {{\n  a = local.b\n  b = local.a\n}}\n");
    fails_with(&[("main.hcl", &text)], &["validate"], &["cycle", "main.hcl:"]);
}

#[test]
fn bad_variable_type() {
    let text = format!("{HEADER}\nvariable \"threshold\" {{ type = number }}\n");
    let ws = Workspace::new("vartype");
    ws.write("main.hcl", &text);
    let run = ws.run(&["plan", "-var", "threshold=eighty"]);
    run.expect_code(1);
    let err = run.stderr();
    assert!(err.contains("threshold") && err.contains("number"), "{err}");
    assert!(err.contains("main.hcl:4:"), "{err}");
}

#[test]
fn missing_credentials_say_which_variable_to_set() {
    let ws = Workspace::example("quickstart");
    let run = ws.command(&["plan"]).env_remove("DD_API_KEY").output().expect("run");
    assert_eq!(run.status.code(), Some(1));
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(err.contains("DD_API_KEY"), "{err}");
}

#[test]
fn corrupt_state_is_refused_and_left_alone() {
    let ws = Workspace::example("quickstart");
    std::fs::create_dir_all(ws.path().join(".watchkeep")).expect("mkdir");
    let garbage = "{\"format_version\": 1, \"serial\": 3, \"resour";
    ws.write(".watchkeep/state.json", garbage);
    let run = ws.run(&["apply", "-auto-approve"]);
    run.expect_code(1);
    assert!(run.stderr().contains("state"), "{}", run.stderr());
    assert_eq!(std::fs::read_to_string(ws.path().join(".watchkeep/state.json")).expect("state"), garbage);
    assert!(ws.monitors().is_empty());
}

#[test]
fn an_older_state_format_is_migrated_with_a_backup() {
    let ws = Workspace::example("quickstart");
    ws.run(&["apply", "-auto-approve"]).expect_code(0);
    // Rewrite the state as format 1 (before per-resource `sensitive_paths`).
    let mut state = ws.state();
    state["format_version"] = serde_json::json!(1);
    for r in state["resources"].as_array_mut().expect("resources") {
        r.as_object_mut().expect("resource").remove("sensitive_paths");
    }
    let v1 = serde_json::to_string_pretty(&state).expect("json");
    ws.write(".watchkeep/state.json", &v1);

    let plan = ws.run(&["plan", "-detailed-exitcode"]);
    plan.expect_code(0);
    assert!(plan.stderr().contains("format 1"), "{}", plan.stderr());
    // The resources changed outside: a real write migrates.
    let (_, m) = ws.vendor(reqwest::Method::GET, "/api/v1/monitor?page=0&page_size=1", None);
    let id = m[0]["id"].to_string();
    ws.vendor(reqwest::Method::DELETE, &format!("/api/v1/monitor/{id}"), None);
    ws.run(&["apply", "-auto-approve"]).expect_code(0);
    assert_eq!(ws.state()["format_version"], 2);
    let kept = std::fs::read_to_string(ws.path().join(".watchkeep/state.json.v1.backup")).expect("v1 backup");
    assert_eq!(kept, v1);
    ws.run(&["plan", "-detailed-exitcode"]).expect_code(0);
}

#[test]
fn a_raw_field_outside_the_vendors_writable_schema_is_named() {
    let ws = Workspace::new("unwritable");
    ws.write(
        "main.hcl",
        &raw_monitors_config(1, None)
            .replace("  tags    =", "  optoins = { renotify_interval = 5 }\n  multi = true\n  tags    ="),
    );
    let run = ws.run(&["plan"]);
    run.expect_code(0);
    assert!(
        run.stderr().contains("datadog_monitor.m000: `optoins`, `multi` are not writable"),
        "{}",
        run.stderr()
    );
}

/// An unknown metric in an `alert` over several components: one error, at the `metric`
/// attribute's value (not the block header), with the closest name and the kinds' metrics.
#[test]
fn an_unknown_alert_metric_is_one_error_at_the_attribute() {
    let text = format!(
        "{HEADER}\ninventory \"prod\" {{\n  component \"web-1\" {{\n    kind = \"server\"\n    provider = \"datadog\"\n  }}\n  component \"web-2\" {{\n    kind = \"server\"\n    provider = \"datadog\"\n  }}\n}}\nalert \"mem\" {{\n  scope  = inventory.prod\n  metric = \"memroy\"\n  above  = 90\n}}\n"
    );
    let ws = Workspace::new("errors");
    ws.write("main.hcl", &text);
    for args in [&["validate"][..], &["plan"][..]] {
        let run = ws.run(args);
        run.expect_code(1);
        let err = run.stderr();
        assert_eq!(err.matches("error:").count(), 1, "{args:?}: one error expected:\n{err}");
        for needle in [
            "error: unknown metric `memroy` in `alert.mem`",
            "--> main.hcl:16:12",
            "did you mean `memory`?",
            "server: cpu, memory, disk, network, uptime",
        ] {
            assert!(err.contains(needle), "{args:?}: stderr lacks {needle:?}:\n{err}");
        }
    }
    let json = ws.run(&["validate", "--json"]);
    json.expect_code(1);
    let out = json.json();
    assert_eq!(out["error_count"], 1, "{out:#}");
    assert_eq!(out["diagnostics"][0]["line"], 16, "{out:#}");
    assert_eq!(out["diagnostics"][0]["col"], 12, "{out:#}");
    assert!(!ws.path().join(".watchkeep/state.json").exists());
}
