//! `evidence` against the NerdGraph stand-in: dashboard pictures (snapshot PNG, and the NRQL
//! series fallback), links, and a condition made to fire and recover over HTTP, read back
//! through `alert_history`.

mod common;

use common::*;
use serde_json::{json, Value};
use watchkeep_newrelic::{NewRelicProvider, SNAPSHOT_SOURCE};
use watchkeep_provider::{png_size, Picture, Provider};
use watchkeep_tests::newrelic::{NerdGraphFault, NerdGraphFaultRule, NewRelicOptions, ObjectKind};
use watchkeep_tests::NewRelicStandIn;

const DASH: &str = "newrelic_dashboard";
const POLICY: &str = "newrelic_alert_policy";
const COND: &str = "newrelic_nrql_condition";

fn now_s() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A dashboard as `compile_dashboards` writes it (a markdown scope widget, a CPU line widget),
/// created through the provider: `(guid, attrs as in state)`.
async fn dashboard(p: &NewRelicProvider) -> (String, Value) {
    let attrs = json!({
        "name": "Web hosts", "permissions": "PUBLIC_READ_ONLY",
        "pages": [{"name": "Web hosts", "widgets": [
            {"title": "Scope", "layout": {"column": 1, "row": 1, "width": 12, "height": 2},
             "visualization": {"id": "viz.markdown"}, "rawConfiguration": {"text": "# Web hosts\nweb-1"}},
            {"title": "web-1: CPU", "layout": {"column": 1, "row": 3, "width": 6, "height": 3},
             "visualization": {"id": "viz.line"},
             "rawConfiguration": {"nrqlQueries": [{"query": "SELECT average(cpuPercent) FROM SystemSample WHERE hostname = 'web-1' TIMESERIES"}]}}
        ]}]
    });
    let (marked, _) = prepare(p, DASH, "dashboard.web.newrelic", attrs);
    let live = p.create(DASH, &marked).await.expect("dashboard created");
    (live.id.clone(), live.attrs)
}

/// Posts events to the stand-in's Event API with the user key.
async fn post_events(nr: &NewRelicStandIn, events: Value) {
    let resp = reqwest::Client::new()
        .post(nr.events_url(nr.account_id(KEY)))
        .header("Api-Key", KEY)
        .json(&events)
        .send()
        .await
        .expect("events posted");
    assert_eq!(resp.status().as_u16(), 202, "{}", resp.text().await.unwrap_or_default());
}

#[tokio::test]
async fn a_dashboard_is_pictured_as_a_png_without_sending_the_key_to_the_image_host() {
    let nr = start(NewRelicOptions::default());
    let p = provider(&nr);
    let (guid, attrs) = dashboard(&p).await;
    let to = now_s();
    let from = to - 3600;
    let picture = p.dashboard_picture(DASH, &guid, &attrs, from, to).await.expect("picture");
    let Some(Picture::Png { bytes, source }) = picture else { panic!("expected a PNG, got {picture:?}") };
    assert_eq!(source, SNAPSHOT_SOURCE);
    assert_eq!(png_size(&bytes), Some((2000, 2000)), "the URL's own width and height are kept");

    let snaps = nr.snapshots(KEY);
    assert_eq!(snaps.len(), 1);
    assert_eq!(snaps[0]["dashboard"], json!(guid));
    assert_ne!(snaps[0]["page"], json!(guid), "a page guid is sent, not the dashboard's");
    assert_eq!(snaps[0]["params"]["timeWindow"]["beginTime"], json!(from * 1000));
    assert_eq!(snaps[0]["params"]["timeWindow"]["endTime"], json!(to * 1000));
    let fetches = nr.snapshot_fetches();
    assert_eq!(fetches.len(), 1);
    assert_eq!(fetches[0].format.as_deref(), Some("PNG"), "format=PDF is switched to PNG");
    assert!(!fetches[0].api_key_sent, "the API key must not reach the image URL");
    assert_all_valid(&nr);

    // Not a dashboard: no picture, no request.
    let before = p.api_calls();
    assert!(p.dashboard_picture(COND, "1", &json!({}), from, to).await.unwrap().is_none());
    assert_eq!(p.api_calls(), before);
}

#[tokio::test]
async fn a_failed_snapshot_falls_back_to_nrql_series() {
    let nr = start(NewRelicOptions::default());
    let p = provider(&nr);
    let (guid, mut attrs) = dashboard(&p).await;
    // A widget whose query the stand-in cannot run (as New Relic refuses some): skipped, named.
    attrs["pages"][0]["widgets"].as_array_mut().unwrap().push(json!({"title": "p95", "visualization": {"id": "viz.line"},
        "rawConfiguration": {"nrqlQueries": [{"query": "SELECT percentile(duration, 95) FROM Transaction TIMESERIES"}]}}));
    let to = now_s();
    let from = to - 600;
    let events: Vec<Value> = (0..5)
        .map(|i| json!({"eventType": "SystemSample", "hostname": "web-1", "cpuPercent": 10 + i * 10, "timestamp": (from + 60 + i * 60) * 1000}))
        .chain([json!({"eventType": "SystemSample", "hostname": "web-2", "cpuPercent": 99, "timestamp": (from + 60) * 1000})])
        .collect();
    post_events(&nr, Value::Array(events)).await;
    nr.set_faults(vec![NerdGraphFaultRule::new(NerdGraphFault::GraphqlError("TIMEOUT".into()))
        .on("dashboardCreateSnapshotUrl")]);
    let picture = p.dashboard_picture(DASH, &guid, &attrs, from, to).await.expect("picture");
    let Some(Picture::Series { title, series, source }) = picture else {
        panic!("expected series, got {picture:?}")
    };
    assert_eq!(title, "Web hosts");
    assert!(source.starts_with("NRQL TIMESERIES (dashboardCreateSnapshotUrl failed:"), "{source}");
    assert!(source.contains("timed out") || source.contains("transient"), "{source}");
    assert!(source.contains("; widgets not read: p95: ") && source.contains("percentile"), "{source}");
    assert_eq!(series.len(), 1, "one series per NRQL widget: {series:?}");
    assert_eq!(series[0].name, "web-1: CPU");
    let values: Vec<f64> = series[0].points.iter().map(|p| p.1).collect();
    assert_eq!(values, [10.0, 20.0, 30.0, 40.0, 50.0], "web-2's event is not web-1's");
    assert!(series[0].points.iter().all(|(t, _)| (from..to).contains(t)));
    let nrql: Vec<String> = nr
        .documents()
        .iter()
        .filter(|d| d.query.contains("nrql(query"))
        .map(|d| d.variables["query"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(nrql.len(), 2, "{nrql:?}");
    assert_eq!(
        nrql[0],
        format!(
            "SELECT average(cpuPercent) FROM SystemSample WHERE hostname = 'web-1' SINCE {} UNTIL {} TIMESERIES",
            from * 1000,
            to * 1000
        )
    );
    assert!(nr.snapshot_fetches().is_empty());
    assert_all_valid(&nr);
}

#[tokio::test]
async fn a_picture_of_a_dashboard_that_is_gone_is_not_found() {
    let nr = start(NewRelicOptions::default());
    let p = provider(&nr);
    let (guid, attrs) = dashboard(&p).await;
    assert!(nr.remove(KEY, ObjectKind::Dashboard, &guid));
    let err = p.dashboard_picture(DASH, &guid, &attrs, 0, 60).await.unwrap_err();
    assert!(matches!(err, watchkeep_provider::ProviderError::NotFound { .. }), "{err:?}");
}

#[tokio::test]
async fn links_name_the_objects_pages() {
    let nr = start(NewRelicOptions::default());
    let p = provider(&nr);
    let account = nr.account_id(KEY);
    let (guid, _) = dashboard(&p).await;
    assert_eq!(p.web_link(DASH, &guid), Some(format!("https://one.newrelic.com/redirect/entity/{guid}")));
    // The stand-in gives conditions the entity guid New Relic does (`entityGuid`).
    let (pol, _) = prepare(&p, POLICY, "l.p", json!({"name": "L"}));
    let policy = p.create(POLICY, &pol).await.unwrap();
    let (cond, _) = prepare(
        &p,
        COND,
        "l.c",
        json!({"policyId": policy.id, "name": "c", "nrql": {"query": "SELECT count(*) FROM X"},
               "terms": [{"threshold": 1, "thresholdDuration": 60, "operator": "ABOVE"}]}),
    );
    let c = p.create(COND, &cond).await.unwrap();
    let stored = nr.object(KEY, ObjectKind::NrqlCondition, &c.id).expect("stored");
    let entity_guid = stored["entityGuid"].as_str().unwrap().trim_end_matches('=');
    assert_eq!(
        p.web_link(COND, &c.id),
        Some(format!("https://one.newrelic.com/redirect/entity/{entity_guid}"))
    );
    assert!(p.web_link(POLICY, &policy.id).is_some());
    assert_eq!(p.web_link("newrelic_notification_channel", "x"), None);
    assert_eq!(p.web_link("newrelic_slo", "x"), None);
    let _ = account;
}

/// A condition created through the provider, made to fire and then recover by posting events
/// to the stand-in's Event API: `alert_history` shows `OPEN` then `CLOSED`.
#[tokio::test]
async fn a_condition_fed_by_posted_events_fires_and_recovers() {
    let nr = start(NewRelicOptions::default());
    let p = provider(&nr);
    let (pol, _) = prepare(&p, POLICY, "cpu.policy", json!({"name": "CPU"}));
    let policy = p.create(POLICY, &pol).await.unwrap();
    let (cond, _) = prepare(
        &p,
        COND,
        "cpu.web1",
        json!({"policyId": policy.id, "name": "web-1 CPU high",
               "nrql": {"query": "SELECT average(cpuPercent) FROM SystemSample WHERE hostname = 'web-1'"},
               "terms": [{"threshold": 90, "thresholdDuration": 120, "operator": "ABOVE", "priority": "CRITICAL"}]}),
    );
    let c = p.create(COND, &cond).await.unwrap();
    let t0 = (now_s() - 1800) / 60 * 60;
    let sample = |t: i64, cpu: f64| json!({"eventType": "SystemSample", "hostname": "web-1", "cpuPercent": cpu, "timestamp": t});
    // Two minutes above 90: fires (at the newest event's time).
    post_events(&nr, json!([sample(t0, 95.0), sample(t0 + 60, 97.0), sample(t0 + 61, 93.0)])).await;
    let incidents = nr.objects(KEY, ObjectKind::Incident);
    assert_eq!(incidents.len(), 1, "{incidents:#?}");
    assert_eq!(incidents[0]["state"], "CREATED");
    // Another host's load changes nothing.
    post_events(
        &nr,
        json!([{"eventType": "SystemSample", "hostname": "web-2", "cpuPercent": 5, "timestamp": t0 + 200}]),
    )
    .await;
    assert_eq!(nr.objects(KEY, ObjectKind::Incident)[0]["state"], "CREATED");
    // Back to normal: recovers.
    post_events(&nr, json!([sample(t0 + 180, 20.0), sample(t0 + 240, 25.0)])).await;
    let incidents = nr.objects(KEY, ObjectKind::Incident);
    assert_eq!(incidents.len(), 1);
    assert_eq!(incidents[0]["state"], "CLOSED");

    let since = std::time::UNIX_EPOCH + std::time::Duration::from_secs((t0 - 60) as u64);
    let log = p.alert_history(COND, &c.id, Some(since)).await.unwrap().expect("conditions keep a log");
    let got: Vec<(&str, Option<&str>, &str)> =
        log.iter().map(|e| (e.timestamp.as_str(), e.from.as_deref(), e.to.as_str())).collect();
    let ts = |s: i64| {
        chrono::DateTime::from_timestamp(s, 0).unwrap().to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
    };
    assert_eq!(got, [(ts(t0 + 61).as_str(), None, "OPEN"), (ts(t0 + 240).as_str(), Some("OPEN"), "CLOSED")]);
    assert!(
        log[0].summary.starts_with("CRITICAL: web-1 CPU high query result is above 90"),
        "{}",
        log[0].summary
    );
    assert_all_valid(&nr);
}

/// The sandbox's control call does the same without events.
#[tokio::test]
async fn the_sandbox_control_call_opens_and_closes_an_incident() {
    let nr = start(NewRelicOptions::default());
    let p = provider(&nr);
    let (pol, _) = prepare(&p, POLICY, "x.policy", json!({"name": "X"}));
    let policy = p.create(POLICY, &pol).await.unwrap();
    let (cond, _) = prepare(
        &p,
        COND,
        "x.c",
        json!({"policyId": policy.id, "name": "disk full", "nrql": {"query": "SELECT max(diskUsedPercent) FROM SystemSample"},
               "terms": [{"threshold": 90, "thresholdDuration": 60, "operator": "ABOVE"}]}),
    );
    let c = p.create(COND, &cond).await.unwrap();
    let http = reqwest::Client::new();
    let url = format!("{}/_sandbox/newrelic/incidents", nr.base_url());
    let call = |body: Value| http.post(&url).header("API-Key", KEY).json(&body).send();
    let open =
        call(json!({"conditionId": c.id, "action": "open", "title": "Disk full on web-1"})).await.unwrap();
    assert_eq!(open.status().as_u16(), 200);
    assert_eq!(open.json::<Value>().await.unwrap()["state"], "CREATED");
    let again = call(json!({"conditionId": c.id, "action": "open"})).await.unwrap();
    assert_eq!(again.status().as_u16(), 409);
    let close = call(json!({"conditionId": c.id, "action": "close"})).await.unwrap();
    assert_eq!(close.json::<Value>().await.unwrap()["state"], "CLOSED");
    let log = p.alert_history(COND, &c.id, None).await.unwrap().unwrap();
    assert_eq!(log.iter().map(|e| e.to.as_str()).collect::<Vec<_>>(), ["OPEN", "CLOSED"]);
    assert_eq!(log[0].summary, "CRITICAL: Disk full on web-1");
}
