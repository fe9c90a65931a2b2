//! `maintenance` blocks end to end: one window over Datadog and New Relic components is applied
//! as a Datadog downtime and a New Relic muting rule on the stand-ins, a second plan is clean,
//! changing the window updates both in place, and removing the block cancels the downtime and
//! deletes the muting rule. A CloudWatch component in scope gets a located warning instead.

use serde_json::{json, Value};

use crate::support::*;

fn config(window: &str) -> String {
    format!(
        r#"
variable "datadog_api_url" {{ type = string }}
variable "newrelic_url" {{ type = string }}

provider "datadog" {{
  api_url = var.datadog_api_url
}}
provider "newrelic" {{
  api_url = var.newrelic_url
}}

inventory "prod" {{}}

component "web-1" {{
  inventory  = inventory.prod
  kind       = "server"
  provider   = "datadog"
  identifier = {{ host = "web-1" }}
}}
component "web-2" {{
  inventory  = inventory.prod
  kind       = "server"
  provider   = "newrelic"
  identifier = {{ hostname = "web-2" }}
}}

alert "cpu_saturated" {{
  scope  = inventory.prod
  metric = "cpu"
  above  = 95
  for    = "15m"
}}

{window}
"#
    )
}

const WEEKLY: &str = r#"
maintenance "patch_window" {
  scope      = inventory.prod
  alerts     = [alert.cpu_saturated]
  start      = "2026-12-05T02:00"
  duration   = "2h"
  recurrence = "FREQ=WEEKLY;BYDAY=SA"
  timezone   = "Europe/Berlin"
  message    = "Weekly patching"
}
"#;

const LONGER: &str = r#"
maintenance "patch_window" {
  scope      = inventory.prod
  alerts     = [alert.cpu_saturated]
  start      = "2026-12-05T01:00"
  duration   = "3h"
  recurrence = "FREQ=WEEKLY;BYDAY=SA,SU"
  timezone   = "Europe/Berlin"
  message    = "Weekend patching"
}
"#;

/// The account's muting rules, read from the NerdGraph stand-in as the New Relic UI would.
fn muting_rules(ws: &Workspace, key: &str) -> Vec<Value> {
    let account: i64 = ws
        .extra_env
        .iter()
        .find(|(k, _)| k == "NEW_RELIC_ACCOUNT_ID")
        .and_then(|(_, v)| v.parse().ok())
        .expect("account id");
    let body: Value = reqwest::blocking::Client::new()
        .post(format!("{}/graphql", newrelic().base_url()))
        .header("API-Key", key)
        .json(&json!({
            "query": "query($a: Int!) { actor { account(id: $a) { alerts { mutingRules { id name enabled \
                      condition { operator conditions { attribute operator values } } \
                      schedule { startTime endTime timeZone repeat weeklyRepeatDays } } } } } }",
            "variables": {"a": account},
        }))
        .send()
        .expect("NerdGraph answers")
        .json()
        .expect("JSON");
    body["data"]["actor"]["account"]["alerts"]["mutingRules"]
        .as_array()
        .cloned()
        .unwrap_or_else(|| panic!("{body:#}"))
}

fn active_downtimes(ws: &Workspace) -> Vec<Value> {
    standin().downtimes(&ws.api_key).into_iter().filter(|d| d["attributes"]["status"] != "canceled").collect()
}

#[test]
fn a_window_applies_to_datadog_and_new_relic_then_plans_clean() {
    let (ws, key) = Workspace::on_newrelic("maintenance");
    ws.write("main.hcl", &config(WEEKLY));
    let apply = ws.run(&["apply", "-auto-approve"]);
    apply.expect_code(0);

    // Datadog: one downtime for web-1's cpu_saturated monitor, in Berlin time.
    let downtimes = active_downtimes(&ws);
    assert_eq!(downtimes.len(), 1, "{downtimes:#?}");
    let dt = &downtimes[0]["attributes"];
    assert_eq!(
        dt["monitor_identifier"]["monitor_tags"],
        json!(["component:web-1", "watchkeep-origin:alert.cpu_saturated"])
    );
    assert_eq!(dt["schedule"]["recurrences"][0]["rrule"], "FREQ=WEEKLY;BYDAY=SA");
    assert_eq!(dt["schedule"]["recurrences"][0]["duration"], "2h");
    assert_eq!(dt["schedule"]["timezone"], "Europe/Berlin");
    let message = dt["message"].as_str().unwrap();
    assert!(message.starts_with("Weekly patching"), "{message}");
    let owner = watchkeep_provider::owner_id(ws.state()["lineage"].as_str().unwrap());
    assert!(
        message.contains(&format!("managed-by:watchkeep watchkeep-address:{owner}:maintenance.patch_window")),
        "{message}"
    );
    // The downtime's tags select exactly the monitor watchkeep made for web-1.
    let monitor = ws
        .monitors()
        .into_iter()
        .find(|m| m["tags"].as_array().is_some_and(|t| t.contains(&json!("component:web-1"))))
        .expect("web-1's monitor");
    for tag in dt["monitor_identifier"]["monitor_tags"].as_array().unwrap() {
        assert!(monitor["tags"].as_array().unwrap().contains(tag), "monitor lacks {tag}: {monitor}");
    }

    // New Relic: one muting rule on the alert's policy (web-2 is its only New Relic
    // component, so the whole block is muted), by the policy's real id.
    let rules = muting_rules(&ws, &key);
    assert_eq!(rules.len(), 1, "{rules:#?}");
    let policy_id =
        ws.state_resource("alert.cpu_saturated.newrelic_policy")["id"].as_str().unwrap().to_string();
    assert_eq!(
        rules[0]["condition"]["conditions"],
        json!([{"attribute": "policyId", "operator": "IN", "values": [policy_id]}])
    );
    assert_eq!(rules[0]["schedule"]["repeat"], "WEEKLY");
    assert_eq!(rules[0]["schedule"]["weeklyRepeatDays"], json!(["SATURDAY"]));
    assert_eq!(rules[0]["schedule"]["timeZone"], "Europe/Berlin");

    ws.run(&["plan", "-detailed-exitcode"]).expect_code(0);

    // A longer weekend window: both change in place (same ids).
    let dt_id = downtimes[0]["id"].clone();
    let rule_id = rules[0]["id"].clone();
    ws.write("main.hcl", &config(LONGER));
    ws.run(&["plan", "-detailed-exitcode"]).expect_code(2);
    ws.run(&["apply", "-auto-approve"]).expect_code(0);
    let downtimes = active_downtimes(&ws);
    assert_eq!(downtimes.len(), 1);
    assert_eq!(downtimes[0]["id"], dt_id);
    assert_eq!(downtimes[0]["attributes"]["schedule"]["recurrences"][0]["duration"], "3h");
    let rules = muting_rules(&ws, &key);
    assert_eq!(rules[0]["id"], rule_id);
    assert_eq!(rules[0]["schedule"]["weeklyRepeatDays"], json!(["SATURDAY", "SUNDAY"]));
    ws.run(&["plan", "-detailed-exitcode"]).expect_code(0);

    // Without the block: the downtime is cancelled and the muting rule deleted.
    ws.write("main.hcl", &config(""));
    ws.run(&["apply", "-auto-approve"]).expect_code(0);
    assert!(active_downtimes(&ws).is_empty());
    assert_eq!(standin().downtimes(&ws.api_key)[0]["attributes"]["status"], "canceled");
    assert!(muting_rules(&ws, &key).is_empty());
    ws.run(&["plan", "-detailed-exitcode"]).expect_code(0);
}

#[test]
fn a_cloudwatch_component_gets_a_located_warning() {
    let ws = Workspace::new("maintenance-cw");
    ws.write(
        "main.hcl",
        r#"
provider "cloudwatch" { region = "us-east-1" }

component "orders-db" {
  kind       = "database"
  provider   = "cloudwatch"
  identifier = { DBInstanceIdentifier = "orders-prod" }
}

baseline "soc2" {}

maintenance "db_upgrade" {
  start    = "2026-12-06T02:00:00Z"
  duration = "1h"
}
"#,
    );
    let run = ws.run(&["validate"]);
    run.expect_code(0);
    let err = run.stderr();
    assert!(err.contains("has no CloudWatch equivalent"), "{err}");
    assert!(err.contains("orders-db"), "{err}");
    assert!(err.contains("main.hcl:12:1"), "located at the block: {err}");

    let json = ws.run(&["validate", "--json"]).json();
    assert_eq!(json["valid"], true);
    assert_eq!(json["warning_count"], 1, "{json:#}");
}

#[test]
fn bad_windows_are_located_errors() {
    let ws = Workspace::new("maintenance-bad");
    ws.write(
        "main.hcl",
        r#"
component "web-1" {
  kind     = "server"
  provider = "datadog"
}

maintenance "broken" {
  start      = "2026-12-06T02:00"
  end        = "2026-12-06T01:00"
  recurrence = "FREQ=FORTNIGHTLY"
}
"#,
    );
    let run = ws.run(&["validate"]);
    run.expect_code(1);
    let err = run.stderr();
    assert!(err.contains("before it starts") && err.contains("main.hcl:9"), "{err}");
    assert!(err.contains("invalid recurrence") && err.contains("main.hcl:10"), "{err}");
}
