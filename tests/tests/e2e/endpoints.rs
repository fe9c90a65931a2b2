//! Issue 15, item 2: vendor keys go only to the vendor's own endpoints, or to endpoints the
//! operator allows outside the configuration (`WATCHKEEP_ALLOW_ENDPOINTS`); a configuration that
//! points `api_url` elsewhere is refused before anything is sent.

use watchkeep_tests::{DatadogStandIn, StandInOptions};

use crate::support::{raw_monitors_config, Workspace};

#[test]
fn an_api_url_the_operator_did_not_allow_gets_no_request_and_a_located_error() {
    let s = DatadogStandIn::start(StandInOptions::default()).expect("stand-in");
    let mut ws = Workspace::on(&s, "not-allowed");
    // The operator allows nothing: the configuration's loopback stand-in is refused.
    ws.extra_env.push(("WATCHKEEP_ALLOW_ENDPOINTS".into(), String::new()));
    ws.write("main.hcl", &raw_monitors_config(2, None));
    for args in [&["plan"][..], &["apply", "-auto-approve"], &["drift"]] {
        let run = ws.run(args);
        let err = run.stderr();
        assert_ne!(run.code(), 0, "{args:?}: {err}");
        assert!(
            err.contains("cannot configure provider `datadog` (provider block at main.hcl:")
                && err.contains(&format!("the `api_url` attribute points at `{}`", s.base_url()))
                && err.contains(&format!("export WATCHKEEP_ALLOW_ENDPOINTS={}", s.base_url())),
            "{args:?}: {err}"
        );
        assert!(!err.contains(&ws.api_key), "{err}");
    }
    assert_eq!(s.request_count(), 0, "nothing was sent to the endpoint");
}

#[test]
fn a_pull_request_pointing_api_url_at_another_host_is_refused_with_its_host_named() {
    let ws = Workspace::new("evil-host");
    ws.write(
        "main.hcl",
        &raw_monitors_config(1, None)
            .replace("api_url = var.datadog_api_url", "api_url = \"http://collector.evil.io:8080\""),
    );
    let run = ws.run(&["plan"]);
    let err = run.stderr();
    assert_ne!(run.code(), 0, "{err}");
    assert!(
        err.contains("`http://collector.evil.io:8080` over plain http") && err.contains("loopback"),
        "{err}"
    );
    ws.write(
        "main.hcl",
        &raw_monitors_config(1, None)
            .replace("api_url = var.datadog_api_url", "api_url = \"https://collector.evil.io\""),
    );
    let run = ws.run(&["plan"]);
    let err = run.stderr();
    assert_ne!(run.code(), 0, "{err}");
    assert!(
        err.contains("points at `https://collector.evil.io`, which is not one of Datadog's own endpoints")
            && err.contains("WATCHKEEP_ALLOW_ENDPOINTS"),
        "{err}"
    );
    assert!(!err.contains(&ws.api_key), "{err}");
}

#[test]
fn plan_show_and_apply_name_the_endpoint_the_keys_go_to() {
    let ws = Workspace::new("endpoint-shown");
    ws.write("main.hcl", &raw_monitors_config(1, None));
    let line = format!("Endpoints: datadog {}", ws.base_url);
    let plan = ws.run(&["plan", "-out", "p.wkplan"]);
    plan.expect_code(0);
    assert!(plan.stdout().contains(&line), "{}", plan.stdout());
    let md = ws.run(&["plan", "--format", "markdown"]);
    assert!(md.stdout().contains(&format!("Endpoints: datadog `{}`", ws.base_url)), "{}", md.stdout());
    let json = ws.run(&["plan", "--json"]).json();
    assert_eq!(json["endpoints"]["datadog"], ws.base_url.as_str());
    // A saved plan keeps them: `show` names them as `plan` did.
    let show = ws.run(&["show", "p.wkplan"]);
    assert!(show.stdout().contains(&line), "{}", show.stdout());
    assert_eq!(ws.run(&["show", "--json", "p.wkplan"]).json()["endpoints"]["datadog"], ws.base_url.as_str());
    let apply = ws.run(&["apply", "-auto-approve"]);
    apply.expect_code(0);
    assert!(apply.stdout().contains(&line), "{}", apply.stdout());
}
