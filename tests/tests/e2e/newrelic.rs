//! New Relic: the same HCL compiled for `provider = "newrelic"` components and applied over
//! NerdGraph to the stand-in, which validates every document against the published schema.

use serde_json::{json, Value};
use watchkeep_tests::newrelic::ObjectKind;
use watchkeep_tests::{NerdGraphFault, NerdGraphFaultRule, NewRelicOptions, NewRelicStandIn};

use crate::support::*;

const PD_SECRET: &str = "e2e-nr-pd-routing-key-5b1d0e";
const HOOK_SECRET: &str = "https://hooks.example.com/services/T000/B000/e2eNrHookSecret";

/// A server, a database and a container on New Relic with a baseline, a route with PagerDuty,
/// email and a webhook (both secrets), and a dashboard.
const INVENTORY: &str = r#"
variable "newrelic_url" { type = string }
variable "pd_key" { sensitive = true }
variable "hook_url" { sensitive = true }

provider "newrelic" {
  api_url = var.newrelic_url
}

inventory "prod" {
  reviewed_on = "2026-11-01"
  reviewed_by = "lead@example.com"
}

component "web-1" {
  inventory  = inventory.prod
  kind       = "server"
  provider   = "newrelic"
  identifier = { hostname = "web-1" }
}
component "orders-db" {
  inventory  = inventory.prod
  kind       = "database"
  provider   = "newrelic"
  identifier = { displayName = "orders-prod" }
}
component "api" {
  inventory  = inventory.prod
  kind       = "container"
  provider   = "newrelic"
  identifier = { containerName = "api" }
}

route "oncall" {
  pagerduty { routing_key = var.pd_key }
  email     { to = ["oncall@example.com"] }
  webhook {
    name = "relay"
    url  = var.hook_url
  }
}

baseline "soc2" {
  scope = inventory.prod
  route = route.oncall
}

dashboard "infra" { scope = inventory.prod }
"#;

fn workspace(name: &str) -> (Workspace, String) {
    workspace_at(newrelic(), name)
}

fn workspace_at(nr: &NewRelicStandIn, name: &str) -> (Workspace, String) {
    let (ws, key) = Workspace::on_newrelic_at(nr, name);
    let ws = ws.env("WATCHKEEP_VAR_pd_key", PD_SECRET).env("WATCHKEEP_VAR_hook_url", HOOK_SECRET);
    ws.write("main.hcl", INVENTORY);
    (ws, key)
}

fn count(key: &str, kind: ObjectKind) -> usize {
    newrelic().objects(key, kind).len()
}

#[track_caller]
fn assert_all_documents_valid(key: &str) {
    assert_all_documents_valid_on(newrelic(), key)
}

/// Every document this workspace's key sent passed validation against the NerdGraph schema.
#[track_caller]
fn assert_all_documents_valid_on(nr: &NewRelicStandIn, key: &str) {
    let docs: Vec<_> = nr.documents().into_iter().filter(|d| d.api_key == key).collect();
    assert!(!docs.is_empty(), "no NerdGraph document was sent with this key");
    let bad: Vec<_> = docs.iter().filter(|d| !d.valid).collect();
    assert!(bad.is_empty(), "{} of {} documents failed schema validation: {bad:#?}", bad.len(), docs.len());
}

fn state_id(ws: &Workspace, address: &str) -> String {
    ws.state_resource(address)["id"].as_str().unwrap_or_else(|| panic!("{address} has no id")).to_string()
}

fn critical_threshold(condition: &Value) -> f64 {
    condition["terms"]
        .as_array()
        .and_then(|ts| {
            ts.iter().find(|t| t["priority"].as_str().is_some_and(|p| p.eq_ignore_ascii_case("critical")))
        })
        .and_then(|t| t["threshold"].as_f64())
        .unwrap_or_else(|| panic!("no critical term: {condition}"))
}

#[test]
fn inventory_applies_then_plans_clean_and_a_rotated_secret_is_an_update() {
    let (ws, key) = workspace("nr-inventory");
    let apply = ws.run(&["apply", "-auto-approve"]);
    apply.expect_code(0);
    // 5 server + 6 database (with connections and uptime) + 4 container (no disk: not
    // applicable) conditions, a policy, three destination/channel pairs, a workflow and a
    // dashboard.
    assert!(apply.stdout().contains("24 created"), "{}", apply.stdout());
    assert_eq!(count(&key, ObjectKind::Policy), 1);
    assert_eq!(count(&key, ObjectKind::NrqlCondition), 15);
    assert_eq!(count(&key, ObjectKind::Destination), 3);
    assert_eq!(count(&key, ObjectKind::Channel), 3);
    assert_eq!(count(&key, ObjectKind::Workflow), 1);
    assert_eq!(count(&key, ObjectKind::Dashboard), 1);

    // The workflow selects the baseline's policy and notifies all three channels.
    let policy_id = state_id(&ws, "baseline.soc2.newrelic_policy");
    let workflow = newrelic()
        .object(&key, ObjectKind::Workflow, &state_id(&ws, "route.oncall.newrelic_workflow"))
        .unwrap();
    let filter = workflow.to_string();
    assert!(
        filter.contains("labels.policyIds") && filter.contains(&format!("\"{policy_id}\"")),
        "{workflow:#}"
    );
    assert_eq!(workflow["destinationConfigurations"].as_array().map(Vec::len), Some(3), "{workflow:#}");
    // The host-not-reporting condition opens an incident when the signal expires.
    let uptime = newrelic()
        .object(&key, ObjectKind::NrqlCondition, &state_id(&ws, "baseline.soc2[\"web-1\"].uptime"))
        .unwrap();
    assert_eq!(uptime["expiration"]["openViolationOnExpiration"], json!(true), "{uptime:#}");
    assert_eq!(uptime["expiration"]["expirationDuration"], json!(120), "{uptime:#}");
    let cpu = newrelic()
        .object(&key, ObjectKind::NrqlCondition, &state_id(&ws, "baseline.soc2[\"web-1\"].cpu"))
        .unwrap();
    assert!(
        cpu["nrql"]["query"].as_str().unwrap().contains("FROM SystemSample WHERE `hostname` = 'web-1'"),
        "{cpu:#}"
    );

    // The dashboard's charts query the provider's account.
    let dash = &newrelic().objects(&key, ObjectKind::Dashboard)[0];
    let charts: Vec<&Value> = dash["pages"][0]["widgets"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|w| w.pointer("/rawConfiguration/nrqlQueries/0"))
        .collect();
    assert_eq!(charts.len(), 15, "{dash:#}");
    let account = newrelic().account_id(&key);
    assert!(charts.iter().all(|q| q["accountIds"] == json!([account])), "{dash:#}");

    let plan = ws.run(&["plan", "-detailed-exitcode"]);
    plan.expect_code(0);
    assert!(plan.stdout().contains("No changes"), "{}", plan.stdout());
    ws.run(&["drift"]).expect_code(0);

    // The secrets reached New Relic, and nothing watchkeep wrote or printed.
    let pd_dest = state_id(&ws, "route.oncall.newrelic_pagerduty0_destination");
    let secrets = newrelic().destination_secrets(&key, &pd_dest).expect("the PagerDuty destination's auth");
    assert!(secrets.to_string().contains(PD_SECRET), "{secrets}");
    let everything = format!(
        "{}{}{}{}{}",
        ws.all_written_text(),
        apply.stdout(),
        apply.stderr(),
        plan.stdout(),
        plan.stderr()
    );
    assert!(!everything.contains(PD_SECRET), "the PagerDuty key leaked");
    assert!(!everything.contains(HOOK_SECRET), "the webhook URL leaked");

    // A rotated key is an update of that destination alone, without either value shown.
    const ROTATED: &str = "e2e-nr-rotated-key-2222";
    let rotated =
        ws.command(&["plan", "-detailed-exitcode"]).env("WATCHKEEP_VAR_pd_key", ROTATED).output().unwrap();
    let text =
        format!("{}{}", String::from_utf8_lossy(&rotated.stdout), String::from_utf8_lossy(&rotated.stderr));
    assert_eq!(rotated.status.code(), Some(2), "{text}");
    assert!(text.contains("route.oncall.newrelic_pagerduty0_destination"), "{text}");
    assert!(text.contains("1 to change") || text.contains("1 to update"), "{text}");
    assert!(!text.contains(ROTATED) && !text.contains(PD_SECRET), "{text}");
    let applied =
        ws.command(&["apply", "-auto-approve"]).env("WATCHKEEP_VAR_pd_key", ROTATED).output().unwrap();
    let applied_text = String::from_utf8_lossy(&applied.stdout).into_owned();
    assert_eq!(applied.status.code(), Some(0), "{applied_text}");
    let secrets = newrelic().destination_secrets(&key, &pd_dest).unwrap();
    assert!(secrets.to_string().contains(ROTATED), "the new key reached New Relic: {secrets}");
    assert!(!ws.all_written_text().contains(ROTATED) && !applied_text.contains(ROTATED));
    let after =
        ws.command(&["plan", "-detailed-exitcode"]).env("WATCHKEEP_VAR_pd_key", ROTATED).output().unwrap();
    assert_eq!(after.status.code(), Some(0), "{}", String::from_utf8_lossy(&after.stdout));

    // destroy removes everything it made.
    // The workflow goes before its channels and the channels before their destinations: New
    // Relic refuses to delete what is in use.
    let destroy =
        ws.command(&["destroy", "-auto-approve"]).env("WATCHKEEP_VAR_pd_key", ROTATED).output().unwrap();
    assert_eq!(destroy.status.code(), Some(0), "{}", String::from_utf8_lossy(&destroy.stdout));
    for kind in [
        ObjectKind::Policy,
        ObjectKind::NrqlCondition,
        ObjectKind::Destination,
        ObjectKind::Channel,
        ObjectKind::Workflow,
        ObjectKind::Dashboard,
    ] {
        assert_eq!(count(&key, kind), 0, "{kind:?} left after destroy");
    }
    assert_all_documents_valid(&key);
}

#[test]
fn drift_in_new_relic_is_detected_and_restored() {
    let (ws, key) = workspace("nr-drift");
    ws.run(&["apply", "-auto-approve"]).expect_code(0);
    let cpu = state_id(&ws, "baseline.soc2[\"web-1\"].cpu");
    let workflow = state_id(&ws, "route.oncall.newrelic_workflow");

    // Someone raises a threshold and deletes the workflow in the New Relic UI.
    assert!(newrelic().modify(&key, ObjectKind::NrqlCondition, &cpu, |c| {
        for t in c["terms"].as_array_mut().unwrap() {
            if t["priority"].as_str().is_some_and(|p| p.eq_ignore_ascii_case("critical")) {
                t["threshold"] = json!(97.0);
            }
        }
    }));
    assert!(newrelic().remove(&key, ObjectKind::Workflow, &workflow));

    let drift = ws.run(&["drift"]);
    drift.expect_code(2);
    let out = drift.stdout();
    assert!(
        out.contains("baseline.soc2[\"web-1\"].cpu") && out.contains("terms[0].threshold: 85 -> 97"),
        "{out}"
    );
    assert!(out.contains("route.oncall.newrelic_workflow"), "{out}");

    ws.run(&["apply", "-auto-approve"]).expect_code(0);
    let restored = newrelic().object(&key, ObjectKind::NrqlCondition, &cpu).expect("the condition is kept");
    assert_eq!(critical_threshold(&restored), 85.0);
    let workflows = newrelic().objects(&key, ObjectKind::Workflow);
    assert_eq!(workflows.len(), 1, "{workflows:#?}");
    assert_ne!(state_id(&ws, "route.oncall.newrelic_workflow"), workflow, "a new workflow was made");
    ws.run(&["plan", "-detailed-exitcode"]).expect_code(0);
    ws.run(&["drift"]).expect_code(0);
    assert_all_documents_valid(&key);
}

/// The escape hatch: NerdGraph's own field names in raw `resource` blocks, referring to each
/// other by `.id` (links the engine resolves to the ids of objects created earlier in the same apply).
#[test]
fn raw_resources_apply_plan_clean_and_destroy() {
    let (ws, key) = Workspace::on_newrelic("nr-raw");
    let ws = ws.env("WATCHKEEP_VAR_hook_url", HOOK_SECRET);
    ws.write(
        "main.hcl",
        r#"
variable "newrelic_url" { type = string }
variable "hook_url" { sensitive = true }
provider "newrelic" { api_url = var.newrelic_url }

resource "newrelic_alert_policy" "checkout" {
  name               = "Checkout"
  incidentPreference = "PER_CONDITION_AND_TARGET"
}
resource "newrelic_nrql_condition" "latency" {
  policyId = newrelic_alert_policy.checkout.id
  name     = "Checkout p99 latency"
  enabled  = true
  nrql { query = "SELECT percentile(duration, 99) FROM Transaction WHERE appName = 'checkout'" }
  terms = [{ priority = "CRITICAL", operator = "ABOVE", threshold = 2.5, thresholdDuration = 300, thresholdOccurrences = "ALL" }]
  signal { aggregationWindow = 60 }
}
resource "newrelic_notification_destination" "hook" {
  name       = "Checkout relay"
  type       = "WEBHOOK"
  properties = [{ key = "url", value = var.hook_url }]
}
resource "newrelic_notification_channel" "hook" {
  name          = "Checkout relay"
  type          = "WEBHOOK"
  product       = "IINT"
  destinationId = newrelic_notification_destination.hook.id
  properties    = [{ key = "payload", value = "{\"issue\": {{ json issueTitle }}}" }]
}
resource "newrelic_workflow" "checkout" {
  name                = "Checkout"
  enabled             = true
  mutingRulesHandling = "NOTIFY_ALL_ISSUES"
  issuesFilter {
    type       = "FILTER"
    predicates = [{ attribute = "labels.policyIds", operator = "EXACTLY_MATCHES", values = [newrelic_alert_policy.checkout.id] }]
  }
  destinationConfigurations = [{ channelId = newrelic_notification_channel.hook.id }]
}
"#,
    );
    let apply = ws.run(&["apply", "-auto-approve"]);
    apply.expect_code(0);
    assert!(apply.stdout().contains("5 created"), "{}", apply.stdout());
    let policy = state_id(&ws, "newrelic_alert_policy.checkout");
    let cond = newrelic()
        .object(&key, ObjectKind::NrqlCondition, &state_id(&ws, "newrelic_nrql_condition.latency"))
        .unwrap();
    assert_eq!(cond["policyId"].to_string().trim_matches('"'), policy, "{cond:#}");
    let workflow =
        newrelic().object(&key, ObjectKind::Workflow, &state_id(&ws, "newrelic_workflow.checkout")).unwrap();
    assert!(
        workflow.to_string().contains(&state_id(&ws, "newrelic_notification_channel.hook")),
        "{workflow:#}"
    );
    ws.run(&["plan", "-detailed-exitcode"]).expect_code(0);
    assert!(!ws.all_written_text().contains(HOOK_SECRET) && !apply.stdout().contains(HOOK_SECRET));

    // State written before links were typed held them as `ref:<ownership marker>`; it reads as
    // the ids the vendor returns: no drift, no change.
    let mut state = ws.state();
    let mut legacy = 0;
    for r in state["resources"].as_array_mut().expect("resources") {
        let text = r["attrs"].to_string();
        let mut rewritten = text.clone();
        for (id, target) in [
            (policy.clone(), "newrelic_alert_policy.checkout"),
            (
                state_id(&ws, "newrelic_notification_destination.hook"),
                "newrelic_notification_destination.hook",
            ),
            (state_id(&ws, "newrelic_notification_channel.hook"), "newrelic_notification_channel.hook"),
        ] {
            rewritten = rewritten.replace(&format!("\"{id}\""), &format!("\"ref:{target}\""));
        }
        if rewritten != text {
            legacy += 1;
            r["attrs"] = serde_json::from_str(&rewritten).expect("JSON");
        }
    }
    assert_eq!(legacy, 3, "condition, channel and workflow hold links");
    ws.write(".watchkeep/state.json", &serde_json::to_string_pretty(&state).expect("JSON"));
    let drift = ws.run(&["drift"]);
    drift.expect_code(0);
    ws.run(&["plan", "-detailed-exitcode"]).expect_code(0);
    ws.run(&["plan", "-detailed-exitcode", "-refresh=false"]).expect_code(0);

    // The channel deleted in the UI is created again with a new id: the workflow linked to it
    // changes too (state's old id would read unchanged), and is sent the new id.
    let old_channel = state_id(&ws, "newrelic_notification_channel.hook");
    assert!(newrelic().remove(&key, ObjectKind::Channel, &old_channel));
    let plan = ws.run(&["plan", "-detailed-exitcode"]);
    plan.expect_code(2);
    assert!(plan.stdout().contains("1 to create, 1 to update"), "{}", plan.stdout());
    ws.run(&["apply", "-auto-approve"]).expect_code(0);
    let new_channel = state_id(&ws, "newrelic_notification_channel.hook");
    assert_ne!(new_channel, old_channel);
    let workflow =
        newrelic().object(&key, ObjectKind::Workflow, &state_id(&ws, "newrelic_workflow.checkout")).unwrap();
    assert_eq!(workflow["destinationConfigurations"][0]["channelId"], json!(new_channel), "{workflow:#}");
    ws.run(&["plan", "-detailed-exitcode"]).expect_code(0);

    ws.run(&["destroy", "-auto-approve"]).expect_code(0);
    assert_eq!(count(&key, ObjectKind::Destination), 0);
    assert_eq!(count(&key, ObjectKind::Policy), 0);
    assert_all_documents_valid(&key);
}

/// NerdGraph's transient errors (in the body and as HTTP 429/503), including a create that timed
/// out after it happened: the apply retries, adopts instead of duplicating, and converges.
#[test]
fn transient_nerdgraph_errors_are_retried_without_duplicates() {
    let nr = NewRelicStandIn::start(NewRelicOptions::default()).expect("start a NerdGraph stand-in");
    let rule = |kind: &str, target: &str, times: u64| {
        let kind: NerdGraphFault = kind.parse().unwrap_or_else(|e| panic!("{kind}: {e}"));
        NerdGraphFaultRule::new(kind).on(target).with_times(times)
    };
    nr.set_faults(vec![
        rule("error:TIMEOUT", "alertsNrqlConditionStaticCreate", 2),
        rule("acted-error:TIMEOUT", "aiWorkflowsCreateWorkflow", 1),
        rule("acted-error:SERVER_ERROR", "alertsPolicyCreate", 1),
        rule("error:TOO_MANY_REQUESTS", "aiNotificationsCreateChannel", 1),
        rule("rate-limit:1", "query", 1),
        rule("503", "mutation", 1),
    ]);
    let (ws, key) = workspace_at(&nr, "nr-faults");
    let apply = ws.run(&["apply", "-auto-approve"]);
    apply.expect_code(0);
    assert!(nr.injected_count() >= 6, "{} faults injected", nr.injected_count());
    let objects = |kind| nr.objects(&key, kind).len();
    assert_eq!(objects(ObjectKind::Policy), 1, "one policy despite the acted-then-failed create");
    assert_eq!(objects(ObjectKind::NrqlCondition), 15);
    assert_eq!(objects(ObjectKind::Channel), 3);
    assert_eq!(objects(ObjectKind::Workflow), 1, "one workflow despite the acted-then-failed create");
    ws.run(&["plan", "-detailed-exitcode"]).expect_code(0);
    assert_all_documents_valid_on(&nr, &key);
}

/// `watchkeep alerts` reads the incidents New Relic opened and closed for each managed NRQL
/// condition (one paged scan of `aiIssues.incidents` for all of them).
#[test]
fn alert_log_lists_the_incidents_of_new_relic_conditions() {
    let (ws, key) = workspace("nr-alerts");
    ws.run(&["apply", "-auto-approve"]).expect_code(0);
    const CPU: &str = "baseline.soc2[\"web-1\"].cpu";
    let cpu = state_id(&ws, CPU);
    let now =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("after 1970").as_millis()
            as i64;
    const HOUR: i64 = 3_600_000;
    let incident = newrelic().open_incident(&key, &cpu, "CRITICAL", "CPU above 85% on web-1", now - 2 * HOUR);
    assert!(newrelic().close_incident(&key, &incident, now - HOUR));
    // Opened and closed before the window: not in the log.
    let old = newrelic().open_incident(&key, &cpu, "CRITICAL", "last week", now - 7 * 24 * HOUR);
    assert!(newrelic().close_incident(&key, &old, now - 7 * 24 * HOUR + 60_000));
    // Another account's incidents on the same condition id are not this workspace's.
    newrelic().open_incident("NRAK-E2EOTHERACCOUNT", &cpu, "HIGH", "someone else's", now - HOUR);

    let log = ws.run(&["alerts", "--since", "24h", "--json"]);
    log.expect_code(0);
    let v = log.json();
    assert_matches_schema("alerts.schema.json", &v);
    let events: Vec<&Value> = v["events"].as_array().expect("events").iter().collect();
    assert_eq!(events.len(), 2, "only the cpu condition had incidents: {v:#}");
    let (opened, closed) = (events[0], events[1]);
    assert_eq!(opened["address"], CPU, "{v:#}");
    assert_eq!(opened["resource_type"], "newrelic_nrql_condition");
    assert_eq!(opened["id"], json!(cpu));
    assert_eq!((&opened["from"], &opened["to"]), (&Value::Null, &json!("OPEN")), "{v:#}");
    assert_eq!(opened["summary"], "CRITICAL: CPU above 85% on web-1");
    assert_eq!(closed["address"], CPU);
    assert_eq!((&closed["from"], &closed["to"]), (&json!("OPEN"), &json!("CLOSED")), "{v:#}");
    let time = |e: &Value| {
        chrono::DateTime::parse_from_rfc3339(e["timestamp"].as_str().expect("a timestamp"))
            .expect("RFC 3339")
            .timestamp_millis()
    };
    assert_eq!(time(opened), now - 2 * HOUR);
    assert_eq!(time(closed), now - HOUR);

    // Conditions are covered now; the objects that raise no incidents are not (as CloudWatch's
    // topics and dashboards).
    let not_covered: Vec<&str> =
        v["not_covered"].as_array().expect("not_covered").iter().filter_map(Value::as_str).collect();
    let state = ws.state();
    let of_type = |t: &str| -> Vec<String> {
        state["resources"]
            .as_array()
            .expect("resources")
            .iter()
            .filter(|r| r["resource_type"] == t)
            .map(|r| r["address"].as_str().expect("an address").to_string())
            .collect()
    };
    let conditions = of_type("newrelic_nrql_condition");
    assert_eq!(conditions.len(), 15);
    assert!(conditions.iter().all(|c| !not_covered.contains(&c.as_str())), "{not_covered:#?}");
    assert!(not_covered.contains(&"route.oncall.newrelic_workflow"), "{not_covered:#?}");
    assert!(not_covered.contains(&"baseline.soc2.newrelic_policy"), "{not_covered:#?}");

    // Fifteen conditions, one incidents query.
    let scans = newrelic()
        .documents()
        .into_iter()
        .filter(|d| d.api_key == key && d.query.contains("aiIssues"))
        .count();
    assert_eq!(scans, 1);

    let human = ws.run(&["alerts", "--since", "24h"]);
    human.expect_code(0);
    let text = human.stdout();
    assert!(text.contains(&format!("{CPU}  OPEN  CRITICAL: CPU above 85% on web-1")), "{text}");
    assert!(text.contains(&format!("{CPU}  OPEN -> CLOSED  CRITICAL")), "{text}");
    assert!(!text.contains("last week"), "{text}");
    assert_all_documents_valid(&key);
}
