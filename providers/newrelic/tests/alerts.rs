mod common;

use common::*;
use serde_json::json;
use watchkeep_provider::{address_marker, Provider};
use watchkeep_tests::newrelic::{NewRelicOptions, ObjectKind, PageSizes};

const POLICY: &str = "newrelic_alert_policy";
const COND: &str = "newrelic_nrql_condition";

#[tokio::test]
async fn policy_and_condition_lifecycle_with_reference() {
    let nr = start(NewRelicOptions::default());
    let p = provider(&nr);
    let (pol_attrs, pol_norm) = prepare(&p, POLICY, "route.oncall", json!({"name": "Oncall"}));
    let policy = p.create(POLICY, &pol_attrs).await.unwrap();
    // The engine links the condition to the policy: it is sent with the policy's id.
    let (cond_attrs, cond_norm) = prepare(
        &p,
        COND,
        "route.oncall.cpu",
        json!({
            "policyId": policy.id,
            "name": "CPU high",
            "nrql": {"query": "SELECT average(cpuPercent) FROM SystemSample"},
            "terms": [{"threshold": 90.0, "thresholdDuration": 300, "thresholdOccurrences": "all", "operator": "above", "priority": "critical"}],
        }),
    );

    assert!(policy.owned);
    assert_eq!(policy.marker.as_deref(), Some("route.oncall"));
    assert_eq!(policy.attrs, pol_norm);
    let cond = p.create(COND, &cond_attrs).await.unwrap();
    assert_eq!(cond.attrs, cond_norm, "no perpetual diff right after create");
    assert_eq!(cond.marker.as_deref(), Some("route.oncall.cpu"));
    // The stand-in got the real policy id.
    let stored = nr.object(KEY, ObjectKind::NrqlCondition, &cond.id).unwrap();
    assert_eq!(stored["policyId"], json!(policy.id));

    // A fresh provider (e.g. after a restart) that marked/normalised the same configuration.
    let p2 = provider(&nr);
    let (_, pol_norm2) = prepare(&p2, POLICY, "route.oncall", json!({"name": "Oncall"}));
    let (_, cond_norm2) = prepare(&p2, COND, "route.oncall.cpu", cond_attrs.clone());
    let lp = listed(&p2, POLICY, &policy.id).await;
    assert_eq!(lp.attrs, pol_norm2);
    assert_eq!(lp.marker.as_deref(), Some("route.oncall"));
    let lc = listed(&p2, COND, &cond.id).await;
    assert_eq!(lc.attrs, cond_norm2);
    assert_eq!(lc.attrs["policyId"], json!(policy.id), "live objects keep vendor ids");
    assert_eq!(p2.read(COND, &cond.id).await.unwrap().unwrap().attrs, cond_norm2);
    let found = p2.find_by_marker(POLICY, "route.oncall").await.unwrap();
    assert_eq!(found.len(), 1);

    // Drift made in the UI shows, then an update puts it back.
    nr.modify(KEY, ObjectKind::NrqlCondition, &cond.id, |c| c["terms"][0]["threshold"] = json!(50.0));
    assert_ne!(listed(&p2, COND, &cond.id).await.attrs, cond_norm2);
    let mut changed = cond_attrs.clone();
    changed["runbookUrl"] = json!("https://runbooks/cpu");
    changed["signal"] = json!({"aggregationWindow": 120, "fillOption": "static", "fillValue": 0});
    changed["terms"][0]["thresholdDuration"] = json!(240);
    let updated = p2.update(COND, &cond.id, &changed).await.unwrap();
    assert_eq!(updated.attrs, p2.normalize(COND, &changed));
    assert_eq!(listed(&p2, COND, &cond.id).await.attrs, p2.normalize(COND, &changed));
    // Dropping the runbook again clears it.
    let cleared = p2.update(COND, &cond.id, &cond_attrs).await.unwrap();
    assert_eq!(cleared.attrs, cond_norm2);

    let renamed = {
        let mut a = pol_attrs.clone();
        a["name"] = json!(format!("Paging{}", watchkeep_newrelic::normalize::policy_suffix("route.oncall")));
        a["incidentPreference"] = json!("per_condition");
        a
    };
    let up = p2.update(POLICY, &policy.id, &renamed).await.unwrap();
    assert_eq!(up.attrs, p2.normalize(POLICY, &renamed));

    p2.delete(COND, &cond.id).await.unwrap();
    p2.delete(COND, &cond.id).await.unwrap(); // already gone: fine
    assert!(p2.read(COND, &cond.id).await.unwrap().is_none());
    p2.delete(POLICY, &policy.id).await.unwrap();
    p2.delete(POLICY, &policy.id).await.unwrap();
    assert!(p2.list(POLICY, true).await.unwrap().is_empty());
    assert_all_valid(&nr);
}

#[tokio::test]
async fn a_condition_naming_an_unknown_policy_is_not_found() {
    let nr = start(NewRelicOptions::default());
    let p = provider(&nr);
    let (attrs, _) = prepare(
        &p,
        COND,
        "c",
        json!({"policyId": "424242", "name": "x", "nrql": {"query": "SELECT 1 FROM T"},
               "terms": [{"threshold": 1, "thresholdDuration": 60, "operator": "ABOVE"}]}),
    );
    let err = p.create(COND, &attrs).await.unwrap_err();
    assert!(matches!(err, watchkeep_provider::ProviderError::NotFound { .. }), "{err:?}");
    assert_all_valid(&nr);
}

#[tokio::test]
async fn many_conditions_over_several_pages() {
    let nr = start(NewRelicOptions { page_sizes: PageSizes::all(25), ..NewRelicOptions::default() });
    let p = provider(&nr);
    let (pol, _) = prepare(&p, POLICY, "pages.policy", json!({"name": "Pages"}));
    let policy = p.create(POLICY, &pol).await.unwrap();
    let mut wanted = Vec::new();
    for i in 0..120 {
        let address = format!("pages.c[{i}]");
        let (attrs, norm) = prepare(
            &p,
            COND,
            &address,
            json!({"policyId": policy.id, "name": format!("c{i}"), "nrql": {"query": format!("SELECT count(*) FROM T{i}")},
                   "terms": [{"threshold": i, "thresholdDuration": 60, "operator": "ABOVE"}]}),
        );
        let live = p.create(COND, &attrs).await.unwrap();
        wanted.push((live.id, address_marker(&address), norm));
    }
    let before = nr.requests_for("actor");
    let all = p.list(COND, true).await.unwrap();
    assert_eq!(all.len(), 120);
    // 120 conditions in pages of 25 → 5 pages, plus 1 page of policies (one policy: the
    // conditions are searched without a per-policy split).
    assert_eq!(nr.requests_for("actor") - before, 6);
    for (id, marker, norm) in wanted {
        let o = all.iter().find(|o| o.id == id).unwrap();
        assert_eq!(o.marker.as_deref(), Some(marker.as_str()));
        assert_eq!(o.attrs, norm);
    }
    assert_all_valid(&nr);
}

#[tokio::test]
async fn lowercase_condition_without_signal_gets_server_defaults_and_no_diff() {
    let nr = start(NewRelicOptions::default());
    let p = provider(&nr);
    let (pol, _) = prepare(&p, POLICY, "d.p", json!({"name": "Defaults"}));
    let policy = p.create(POLICY, &pol).await.unwrap();
    // The policy is owned and linked by the engine: its id is sent, and listed back as the id.
    let (attrs, norm) = prepare(
        &p,
        COND,
        "d.c",
        json!({"policyId": policy.id, "name": "lower", "enabled": true, "nrql": {"query": "SELECT 1 FROM T"},
               "terms": [{"threshold": 1.5, "thresholdDuration": 120, "thresholdOccurrences": "at_least_once", "operator": "below_or_equals"}]}),
    );
    let c = p.create(COND, &attrs).await.unwrap();
    let stored = nr.object(KEY, ObjectKind::NrqlCondition, &c.id).unwrap();
    assert_eq!(stored["signal"]["aggregationDelay"], json!(120));
    assert_eq!(stored["violationTimeLimitSeconds"], json!(259_200));
    assert_eq!(listed(&p, COND, &c.id).await.attrs, norm);
    assert_eq!(norm["terms"][0]["operator"], "BELOW_OR_EQUALS");
    // Unowned policy referenced by raw id: kept as the id on both sides.
    let foreign = p.create(POLICY, &json!({"name": "Not ours"})).await.unwrap();
    assert!(!foreign.owned);
    let (raw_attrs, raw_norm) = prepare(
        &p,
        COND,
        "d.raw",
        json!({"policyId": foreign.id, "name": "raw", "nrql": {"query": "SELECT 1 FROM T"},
               "terms": [{"threshold": 1, "thresholdDuration": 60, "operator": "ABOVE"}]}),
    );
    let rc = p.create(COND, &raw_attrs).await.unwrap();
    assert_eq!(listed(&p, COND, &rc.id).await.attrs, raw_norm);
    assert_all_valid(&nr);
}

/// With several policies, conditions are searched per policy side by side; the results must add
/// up to the account's total, or the account is read again with one search.
#[tokio::test]
async fn conditions_of_several_policies_are_searched_per_policy_and_checked_against_the_total() {
    let nr = start(NewRelicOptions { page_sizes: PageSizes::all(10), ..NewRelicOptions::default() });
    let p = provider(&nr);
    let mut ids = Vec::new();
    for pol in 0..3 {
        let (attrs, _) = prepare(&p, POLICY, &format!("per.p{pol}"), json!({"name": format!("P{pol}")}));
        let policy = p.create(POLICY, &attrs).await.unwrap();
        for i in 0..25 {
            let (attrs, _) = prepare(
                &p,
                COND,
                &format!("per.p{pol}.c[{i}]"),
                json!({"policyId": policy.id, "name": format!("p{pol} c{i}"),
                       "nrql": {"query": format!("SELECT count(*) FROM T{i}")},
                       "terms": [{"threshold": i, "thresholdDuration": 60, "operator": "ABOVE"}]}),
            );
            ids.push(p.create(COND, &attrs).await.unwrap().id);
        }
    }
    ids.sort();
    let listed_ids = |all: &[watchkeep_provider::LiveObject]| {
        let mut got: Vec<String> = all.iter().map(|o| o.id.clone()).collect();
        got.sort();
        got
    };

    let p = provider(&nr);
    let before = nr.requests_for("actor");
    let all = p.list(COND, false).await.unwrap();
    assert_eq!(listed_ids(&all), ids);
    // 1 page of policies, 1 count, 3 policies × 3 pages of 10.
    assert_eq!(nr.requests_for("actor") - before, 11);

    // A condition the policy searches cannot see (its policy is not listed) makes the sum fall
    // short of the total: the account is read again in one search, and nothing is missed.
    let odd = ids[0].clone();
    assert!(nr.modify(KEY, ObjectKind::NrqlCondition, &odd, |c| c["policyId"] = json!("424242")));
    let p = provider(&nr);
    let before = nr.requests_for("actor");
    let all = p.list(COND, false).await.unwrap();
    assert_eq!(listed_ids(&all), ids);
    // The same 11, then 8 pages of the whole account.
    assert_eq!(nr.requests_for("actor") - before, 19);
    assert_all_valid(&nr);
}
