//! `newrelic_muting_rule` against the NerdGraph stand-in (which validates every document
//! against the SDL): create naming NRQL conditions by id (as the engine sends links), list
//! without a diff, update
//! (schedule fields removed take effect), delete.

mod common;

use common::*;
use serde_json::json;
use watchkeep_provider::Provider;
use watchkeep_tests::newrelic::NewRelicOptions;

const POLICY: &str = "newrelic_alert_policy";
const COND: &str = "newrelic_nrql_condition";
const RULE: &str = "newrelic_muting_rule";

#[tokio::test]
async fn muting_rule_lifecycle_with_condition_refs() {
    let nr = start(NewRelicOptions::default());
    let p = provider(&nr);
    let (pol, _) = prepare(&p, POLICY, "alert.cpu.newrelic_policy", json!({"name": "watchkeep alert.cpu"}));
    let policy = p.create(POLICY, &pol).await.unwrap();
    let (cond, _) = prepare(
        &p,
        COND,
        r#"alert.cpu["web-2"]"#,
        json!({
            "policyId": policy.id,
            "name": "web-2 cpu",
            "nrql": {"query": "SELECT average(cpuPercent) FROM SystemSample WHERE hostname = 'web-2'"},
            "terms": [{"threshold": 90.0, "thresholdDuration": 300, "thresholdOccurrences": "all", "operator": "above", "priority": "critical"}],
        }),
    );
    let condition = p.create(COND, &cond).await.unwrap();
    let _ = &condition;

    let desired = json!({
        "name": "watchkeep maintenance.patch",
        "description": "Weekly patching",
        "enabled": true,
        "condition": {"operator": "OR", "conditions": [
            {"attribute": "conditionId", "operator": "IN", "values": [condition.id]}]},
        "schedule": {"startTime": "2026-12-05T02:00:00", "endTime": "2026-12-05T04:00:00",
                     "timeZone": "Europe/Berlin", "repeat": "WEEKLY", "weeklyRepeatDays": ["SATURDAY"]},
    });
    let (rule_attrs, rule_norm) = prepare(&p, RULE, "maintenance.patch.newrelic", desired.clone());
    let rule = p.create(RULE, &rule_attrs).await.expect("create");
    assert_eq!(rule.attrs, rule_norm, "no diff right after create");
    assert_eq!(vendor_rules(&nr).await[0]["condition"]["conditions"][0]["values"], json!([condition.id]));
    assert!(rule.owned);
    assert_eq!(rule.marker.as_deref(), Some("maintenance.patch.newrelic"));

    // A fresh provider lists it with the condition's id, as the engine's link resolves it.
    let p2 = provider(&nr);
    let (_, norm2) = prepare(&p2, RULE, "maintenance.patch.newrelic", desired.clone());
    let listed = listed(&p2, RULE, &rule.id).await;
    assert_eq!(listed.attrs, norm2, "plan after apply is clean");
    assert_eq!(listed.attrs["condition"]["conditions"][0]["values"], json!([condition.id]));
    assert_eq!(p2.read(RULE, &rule.id).await.unwrap().unwrap().attrs, norm2);

    // One-time now: the repeat fields must go away on the vendor too.
    let mut once = desired.clone();
    once["schedule"] =
        json!({"startTime": "2026-12-06T01:00:00", "endTime": "2026-12-06T02:30:00", "timeZone": "UTC"});
    let (once_attrs, once_norm) = prepare(&p2, RULE, "maintenance.patch.newrelic", once);
    let updated = p2.update(RULE, &rule.id, &once_attrs).await.expect("update");
    assert_eq!(updated.attrs, once_norm);
    assert_eq!(listed_again(&p2, &rule.id).await, once_norm);

    p2.delete(RULE, &rule.id).await.expect("delete");
    assert!(p2.read(RULE, &rule.id).await.unwrap().is_none());
    p2.delete(RULE, &rule.id).await.expect("deleting twice succeeds");
    assert_all_valid(&nr);
}

async fn listed_again(p: &watchkeep_newrelic::NewRelicProvider, id: &str) -> serde_json::Value {
    listed(p, RULE, id).await.attrs
}

#[tokio::test]
async fn invalid_schedules_are_refused_by_the_stand_in() {
    let nr = start(NewRelicOptions::default());
    let p = provider(&nr);
    let base = json!({
        "name": "r", "enabled": true,
        "condition": {"operator": "AND", "conditions": [{"attribute": "policyId", "operator": "EQUALS", "values": ["1"]}]},
    });
    for (schedule, want) in [
        (
            json!({"startTime": "2026-12-05T04:00:00", "endTime": "2026-12-05T02:00:00", "timeZone": "UTC"}),
            "after startTime",
        ),
        (
            json!({"startTime": "2026-12-05T02:00:00", "endTime": "2026-12-05T04:00:00", "timeZone": "UTC", "repeat": "WEEKLY"}),
            "weeklyRepeatDays",
        ),
        (
            json!({"startTime": "2026-12-05T02:00:00", "endTime": "2026-12-05T04:00:00", "timeZone": "UTC", "repeat": "DAILY",
                "repeatCount": 2, "endRepeat": "2027-01-01T00:00:00"}),
            "not both",
        ),
    ] {
        let mut attrs = base.clone();
        attrs["schedule"] = schedule;
        let (marked, _) = prepare(&p, RULE, "maintenance.bad.newrelic", attrs);
        let err = p.create(RULE, &marked).await.unwrap_err();
        assert!(err.to_string().contains(want), "{want}: {err}");
    }
    assert!(p.list(RULE, false).await.unwrap().is_empty());
    assert_all_valid(&nr);
}

#[tokio::test]
async fn listing_no_muting_rules_reads_no_conditions() {
    let nr = start(NewRelicOptions::default());
    let p = provider(&nr);
    let (pol, _) = prepare(&p, POLICY, "alert.x.newrelic_policy", json!({"name": "x"}));
    p.create(POLICY, &pol).await.unwrap();
    let before = p.api_calls();
    assert!(p.list(RULE, false).await.unwrap().is_empty());
    assert_eq!(p.api_calls() - before, 1, "one mutingRules query, no condition search");
}

#[tokio::test]
async fn a_rule_can_mute_a_whole_policy_by_ref() {
    let nr = start(NewRelicOptions::default());
    let p = provider(&nr);
    let (pol, _) =
        prepare(&p, POLICY, "baseline.soc2.newrelic_policy", json!({"name": "watchkeep baseline.soc2"}));
    let policy = p.create(POLICY, &pol).await.unwrap();
    let desired = json!({
        "name": "watchkeep maintenance.all",
        "enabled": true,
        "condition": {"operator": "OR", "conditions": [
            {"attribute": "policyId", "operator": "IN", "values": [policy.id]}]},
        "schedule": {"startTime": "2026-12-06T02:00:00", "endTime": "2026-12-06T03:00:00", "timeZone": "UTC"},
    });
    let (attrs, norm) = prepare(&p, RULE, "maintenance.all.newrelic", desired.clone());
    let rule = p.create(RULE, &attrs).await.unwrap();
    assert_eq!(rule.attrs, norm);
    // The vendor holds the policy id it was sent.
    let stored = vendor_rules(&nr).await;
    assert_eq!(stored[0]["condition"]["conditions"][0]["values"], json!([policy.id]));
    let p2 = provider(&nr);
    let (_, norm2) = prepare(&p2, RULE, "maintenance.all.newrelic", desired);
    let before = p2.api_calls();
    let live = listed(&p2, RULE, &rule.id).await;
    assert_eq!(live.attrs, norm2, "the policy id reads back as the id");
    assert_eq!(p2.api_calls() - before, 1, "mutingRules only: ids stay ids, nothing else is read");
    assert_all_valid(&nr);
}

/// The account's muting rules as NerdGraph returns them (what the New Relic UI shows).
async fn vendor_rules(nr: &watchkeep_tests::NewRelicStandIn) -> Vec<serde_json::Value> {
    let body: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/graphql", nr.base_url()))
        .header("API-Key", KEY)
        .json(&json!({
            "query": "query($a: Int!) { actor { account(id: $a) { alerts { mutingRules { id \
                      condition { conditions { attribute values } } } } } } }",
            "variables": {"a": nr.account_id(KEY)},
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["data"]["actor"]["account"]["alerts"]["mutingRules"]
        .as_array()
        .cloned()
        .unwrap_or_else(|| panic!("{body}"))
}
