//! The alert log: `alert_history` of NRQL conditions, read from `aiIssues.incidents`.

mod common;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use common::*;
use serde_json::{json, Value};
use watchkeep_newrelic::NewRelicProvider;
use watchkeep_provider::{AlertEvent, Provider, ProviderError};
use watchkeep_tests::newrelic::{NerdGraphFault, NerdGraphFaultRule, NewRelicOptions, PageSizes};
use watchkeep_tests::NewRelicStandIn;

const POLICY: &str = "newrelic_alert_policy";
const COND: &str = "newrelic_nrql_condition";
const HOUR_MS: i64 = 3_600_000;

/// 2026-11-01T00:00:00Z in epoch milliseconds.
const T0: i64 = 1_793_491_200_000;

fn at(ms: i64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_millis(ms as u64)
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_millis() as i64
}

/// A policy and `n` conditions made through the provider; the conditions' ids.
async fn conditions(p: &NewRelicProvider, n: usize) -> Vec<String> {
    let (pol, _) = prepare(p, POLICY, "log.policy", json!({"name": "Log"}));
    let policy = p.create(POLICY, &pol).await.unwrap();
    let mut ids = Vec::new();
    for i in 0..n {
        let (attrs, _) = prepare(
            p,
            COND,
            &format!("log.c[{i}]"),
            json!({"policyId": policy.id, "name": format!("CPU high {i}"),
                   "nrql": {"query": format!("SELECT average(cpuPercent) FROM SystemSample WHERE n = {i}")},
                   "terms": [{"threshold": 90, "thresholdDuration": 300, "operator": "ABOVE"}]}),
        );
        ids.push(p.create(COND, &attrs).await.unwrap().id);
    }
    ids
}

/// `(timestamp, from, to, summary)` of each event.
fn lines(events: &[AlertEvent]) -> Vec<(String, Option<String>, String, String)> {
    events.iter().map(|e| (e.timestamp.clone(), e.from.clone(), e.to.clone(), e.summary.clone())).collect()
}

fn line(t: &str, from: Option<&str>, to: &str, summary: &str) -> (String, Option<String>, String, String) {
    (t.to_string(), from.map(str::to_string), to.to_string(), summary.to_string())
}

/// Incident queries this key sent, and their variables.
fn incident_queries(nr: &NewRelicStandIn) -> Vec<Value> {
    nr.documents()
        .into_iter()
        .filter(|d| d.api_key == KEY && d.query.contains("aiIssues"))
        .map(|d| d.variables)
        .collect()
}

#[tokio::test]
async fn incidents_of_a_condition_become_its_alert_log() {
    let nr = start(NewRelicOptions::default());
    let p = provider(&nr);
    let ids = conditions(&p, 2).await;
    let (cpu, other) = (&ids[0], &ids[1]);
    let first = nr.open_incident(KEY, cpu, "CRITICAL", "CPU high on web-1", T0 + 1_500);
    assert!(nr.close_incident(KEY, &first, T0 + HOUR_MS));
    nr.open_incident(KEY, cpu, "HIGH", "CPU high on web-2", T0 + 2 * HOUR_MS);
    nr.open_incident(KEY, other, "CRITICAL", "Other condition", T0 + 30 * 60_000);

    let since = at(T0 - HOUR_MS);
    let events = p.alert_history(COND, cpu, Some(since)).await.unwrap().expect("conditions keep a log");
    assert_eq!(
        lines(&events),
        [
            line("2026-11-01T00:00:01.500Z", None, "OPEN", "CRITICAL: CPU high on web-1"),
            line("2026-11-01T01:00:00Z", Some("OPEN"), "CLOSED", "CRITICAL: CPU high on web-1"),
            line("2026-11-01T02:00:00Z", None, "OPEN", "HIGH: CPU high on web-2"),
        ]
    );
    for e in &events {
        chrono::DateTime::parse_from_rfc3339(&e.timestamp).expect("RFC 3339");
        assert!(e.timestamp.ends_with('Z'), "UTC: {}", e.timestamp);
    }
    // One paged scan, with the window from `since` to now.
    let sent = incident_queries(&nr);
    assert_eq!(sent.len(), 1, "{sent:#?}");
    assert_eq!(sent[0]["timeWindow"]["startTime"], json!(T0 - HOUR_MS));
    let end = sent[0]["timeWindow"]["endTime"].as_i64().unwrap();
    assert!((now_ms() - end).abs() < 60_000, "the window ends now: {end}");
    assert_eq!(sent[0]["accountId"], json!(nr.account_id(KEY)));

    // Another condition, and a later `since`, are answered from that scan.
    let before = nr.request_count();
    let others = p.alert_history(COND, other, Some(since)).await.unwrap().unwrap();
    assert_eq!(lines(&others), [line("2026-11-01T00:30:00Z", None, "OPEN", "CRITICAL: Other condition")]);
    // An incident opened before `since` and closed after it: its closing event only.
    let later = p.alert_history(COND, cpu, Some(at(T0 + 10 * 60_000))).await.unwrap().unwrap();
    assert_eq!(
        lines(&later),
        [
            line("2026-11-01T01:00:00Z", Some("OPEN"), "CLOSED", "CRITICAL: CPU high on web-1"),
            line("2026-11-01T02:00:00Z", None, "OPEN", "HIGH: CPU high on web-2"),
        ]
    );
    let none = p.alert_history(COND, "999999", Some(since)).await.unwrap();
    assert_eq!(none, Some(Vec::new()), "a condition without incidents has an empty log");
    assert_eq!(nr.request_count(), before, "no new request: the scan is reused");
    assert_eq!(incident_queries(&nr).len(), 1);

    // An earlier `since` than the scan's needs a new scan.
    let earlier = p.alert_history(COND, other, Some(at(T0 - 2 * HOUR_MS))).await.unwrap().unwrap();
    assert_eq!(earlier.len(), 1);
    assert_eq!(incident_queries(&nr).len(), 2);
    assert_all_valid(&nr);
}

#[tokio::test]
async fn without_since_the_log_reaches_back_thirty_days() {
    let nr = start(NewRelicOptions::default());
    let p = provider(&nr);
    let ids = conditions(&p, 1).await;
    let now = now_ms();
    let recent = nr.open_incident(KEY, &ids[0], "CRITICAL", "recent", now - 2 * HOUR_MS);
    assert!(nr.close_incident(KEY, &recent, now - HOUR_MS));
    let old = nr.open_incident(KEY, &ids[0], "CRITICAL", "old", now - 40 * 24 * HOUR_MS);
    assert!(nr.close_incident(KEY, &old, now - 35 * 24 * HOUR_MS));
    // Opened 31 days ago and still open: active in the window, but it opened before it.
    nr.open_incident(KEY, &ids[0], "LOW", "long-running", now - 31 * 24 * HOUR_MS);

    let events = p.alert_history(COND, &ids[0], None).await.unwrap().unwrap();
    let got: Vec<(&str, &str)> = events.iter().map(|e| (e.to.as_str(), e.summary.as_str())).collect();
    assert_eq!(got, [("OPEN", "CRITICAL: recent"), ("CLOSED", "CRITICAL: recent")]);
    let sent = incident_queries(&nr);
    assert_eq!(sent.len(), 1);
    let w = &sent[0]["timeWindow"];
    let span = w["endTime"].as_i64().unwrap() - w["startTime"].as_i64().unwrap();
    assert!((span - 30 * 24 * HOUR_MS).abs() < 1_000, "30 days: {w}");
    assert_all_valid(&nr);
}

#[tokio::test]
async fn incidents_are_read_across_pages() {
    let nr = start(NewRelicOptions { page_sizes: PageSizes::all(3), ..NewRelicOptions::default() });
    let p = provider(&nr);
    let ids = conditions(&p, 3).await;
    // 10 incidents of the first condition (every other one closed), 4 of the others: 5 pages.
    for k in 0..10 {
        let opened = T0 + k * HOUR_MS;
        let id = nr.open_incident(KEY, &ids[0], "CRITICAL", &format!("spike {k}"), opened);
        if k % 2 == 0 {
            assert!(nr.close_incident(KEY, &id, opened + 60_000));
        }
    }
    for k in 0..4 {
        nr.open_incident(KEY, &ids[1 + k % 2], "MEDIUM", &format!("elsewhere {k}"), T0 + k as i64 * 60_000);
    }
    let before = nr.requests_for("actor");
    let events = p.alert_history(COND, &ids[0], Some(at(T0))).await.unwrap().unwrap();
    assert_eq!(nr.requests_for("actor") - before, 5, "14 incidents in pages of 3");
    assert_eq!(events.len(), 15);
    let opens: Vec<&str> = events.iter().filter(|e| e.to == "OPEN").map(|e| e.summary.as_str()).collect();
    let expected: Vec<String> = (0..10).map(|k| format!("CRITICAL: spike {k}")).collect();
    assert_eq!(opens, expected);
    assert!(events.windows(2).all(|w| w[0].timestamp <= w[1].timestamp), "oldest first");
    assert_eq!(events[1].to, "CLOSED");
    assert_eq!(events[1].timestamp, "2026-11-01T00:01:00Z");
    assert_eq!(p.alert_history(COND, &ids[1], Some(at(T0))).await.unwrap().unwrap().len(), 2);
    assert_eq!(p.alert_history(COND, &ids[2], Some(at(T0))).await.unwrap().unwrap().len(), 2);
    assert_eq!(nr.requests_for("actor") - before, 5, "the other conditions cost nothing");
    assert_all_valid(&nr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_calls_share_one_scan() {
    let nr = start(NewRelicOptions { page_sizes: PageSizes::all(2), ..NewRelicOptions::default() });
    let p = Arc::new(provider(&nr));
    let ids = conditions(&p, 6).await;
    for (k, id) in ids.iter().enumerate() {
        nr.open_incident(KEY, id, "HIGH", &format!("c{k}"), T0 + k as i64 * 1_000);
    }
    let before = nr.requests_for("actor");
    let mut tasks = tokio::task::JoinSet::new();
    for id in ids.clone() {
        let p = Arc::clone(&p);
        tasks.spawn(async move { (id.clone(), p.alert_history(COND, &id, Some(at(T0))).await) });
    }
    while let Some(done) = tasks.join_next().await {
        let (id, got) = done.unwrap();
        let events = got.unwrap().unwrap();
        assert_eq!(events.len(), 1, "{id}");
        let k = ids.iter().position(|i| *i == id).unwrap();
        assert_eq!(events[0].summary, format!("HIGH: c{k}"));
    }
    assert_eq!(nr.requests_for("actor") - before, 3, "one scan of 6 incidents in pages of 2");
    assert_all_valid(&nr);
}

#[tokio::test]
async fn other_types_keep_no_log() {
    let nr = start(NewRelicOptions::default());
    let p = provider(&nr);
    for rtype in p.resource_types().iter().filter(|t| **t != COND) {
        assert_eq!(p.alert_history(rtype, "123", None).await.unwrap(), None, "{rtype}");
    }
    assert_eq!(p.api_calls(), 0, "no request for types without a log");
    let err = p.alert_history("newrelic_slo", "1", None).await.unwrap_err();
    assert!(matches!(err, ProviderError::InvalidConfig { .. }), "{err:?}");
    assert_eq!(nr.request_count(), 0);
}

#[tokio::test]
async fn nerdgraph_errors_on_the_scan_are_provider_errors_and_not_kept() {
    let nr = start(NewRelicOptions::default());
    let p = provider(&nr);
    let ids = conditions(&p, 1).await;
    nr.open_incident(KEY, &ids[0], "CRITICAL", "x", T0);
    let rule = |spec: &str| {
        NerdGraphFaultRule::new(spec.parse::<NerdGraphFault>().unwrap()).on("actor").with_times(1)
    };

    nr.set_faults(vec![rule("error:TIMEOUT")]);
    let err = p.alert_history(COND, &ids[0], Some(at(T0))).await.unwrap_err();
    assert!(matches!(err, ProviderError::Transient { .. }), "{err:?}");
    assert!(err.to_string().contains("aiIssues.incidents"), "{err}");

    nr.set_faults(vec![rule("error:FORBIDDEN")]);
    let err = p.alert_history(COND, &ids[0], Some(at(T0))).await.unwrap_err();
    assert!(matches!(err, ProviderError::Auth { .. }), "{err:?}");

    nr.set_faults(vec![rule("429")]);
    let err = p.alert_history(COND, &ids[0], Some(at(T0))).await.unwrap_err();
    assert!(matches!(err, ProviderError::RateLimited { .. }), "{err:?}");

    nr.set_faults(Vec::new());
    // The failures were not cached: the next call scans and succeeds.
    let events = p.alert_history(COND, &ids[0], Some(at(T0))).await.unwrap().unwrap();
    assert_eq!(events.len(), 1);
    assert!(!format!("{err:?}").contains(KEY));
    assert_all_valid(&nr);
}
