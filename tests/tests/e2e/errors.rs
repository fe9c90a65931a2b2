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
