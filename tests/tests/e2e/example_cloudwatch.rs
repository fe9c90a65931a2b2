//! `examples/cloudwatch`: the AWS CloudWatch example validates without warnings, and plan → apply
//! → plan against moto ends with nothing to change, drift clean, and every alarm, topic and the
//! dashboard the state records present in moto.

use serde_json::json;

use crate::support::*;

/// moto keeps state per region: no other test uses this one.
const REGION: &str = "ap-northeast-3";

#[test]
fn cloudwatch_example_plans_applies_and_plans_clean_on_moto() {
    let endpoint = moto().endpoint_url();
    let ws = Workspace::example("cloudwatch")
        .env("WATCHKEEP_VAR_aws_endpoint_url", &endpoint)
        .env("WATCHKEEP_VAR_aws_region", REGION);

    let v = ws.run(&["validate", "--json"]);
    v.expect_code(0);
    let v = v.json();
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["warning_count"], 0, "the example should validate without warnings: {v}");

    ws.run(&["plan", "-detailed-exitcode"]).expect_code(2);
    ws.run(&["apply", "-auto-approve"]).expect_code(0);
    let again = ws.run(&["plan", "-detailed-exitcode"]);
    again.expect_code(0);
    assert!(again.stdout().contains("No changes"), "{}", again.stdout());
    ws.run(&["drift"]).expect_code(0);
    ws.run(&["coverage"]).expect_code(0);

    // What state says was made is in moto.
    let state = ws.state();
    let resources = state["resources"].as_array().expect("resources");
    let of_type = |t: &str| resources.iter().filter(|r| r["resource_type"] == t).count();
    let alarms_in_state = of_type("cloudwatch_metric_alarm");
    // 2 hosts × 5 core metrics + the database's 6, the stricter CPU alert on 2 hosts, and the
    // disk alert on 2 hosts with its warning alarm.
    assert_eq!(alarms_in_state, 10 + 6 + 2 + 4, "{}", again.stdout());
    assert_eq!(of_type("sns_topic"), 2);
    assert_eq!(of_type("cloudwatch_dashboard"), 1);
    let (status, xml) =
        aws_query(&endpoint, REGION, "monitoring", "DescribeAlarms", &json!({"MaxRecords": 100}));
    assert_eq!(status, 200, "{xml}");
    assert_eq!(xml.matches("<AlarmName>").count(), alarms_in_state, "{xml}");
    assert!(xml.contains("orders-db Freeable memory (baseline.soc2)"), "{xml}");
    let (status, xml) = aws_query(&endpoint, REGION, "sns", "ListTopics", &json!({}));
    assert_eq!(status, 200, "{xml}");
    assert!(xml.contains(":watchkeep-oncall<") && xml.contains(":watchkeep-platform_team<"), "{xml}");

    ws.run(&["destroy", "-auto-approve"]).expect_code(0);
}
