//! The Datadog provider against the local Datadog stand-in (`watchkeep_tests::DatadogStandIn`),
//! plus a tiny canned-answer server for responses the stand-in never gives (5xx, bad JSON).
//!
//! The stand-in keeps one org per `DD-API-KEY`, so every test uses its own key.

use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use watchkeep_datadog::{DatadogConfig, DatadogProvider, Secret};
use watchkeep_provider::{LiveObject, Provider, ProviderError};
use watchkeep_tests::{DatadogStandIn, StandInOptions};

const MONITOR: &str = "datadog_monitor";
const DASHBOARD: &str = "datadog_dashboard";
const APP_KEY: &str = "test-application-key-0000";

fn config(base_url: &str, api_key: &str, attrs: Value) -> DatadogConfig {
    let mut block = attrs.as_object().cloned().unwrap_or_default();
    block.insert("api_url".into(), Value::String(base_url.to_string()));
    let api_key = api_key.to_string();
    let env = move |name: &str| match name {
        "DD_API_KEY" => Some(api_key.clone()),
        "DD_APP_KEY" => Some(APP_KEY.to_string()),
        _ => None,
    };
    DatadogConfig::from_block(&block, &env).expect("valid config")
}

fn provider(stand_in: &DatadogStandIn, api_key: &str) -> DatadogProvider {
    DatadogProvider::new(config(&stand_in.base_url(), api_key, json!({}))).expect("provider")
}

fn start() -> DatadogStandIn {
    DatadogStandIn::start(StandInOptions::default()).expect("stand-in starts")
}

/// A monitor as a user would write it, with everything Datadog rewrites: a `query alert` type,
/// integer thresholds, unsorted and repeated tags, untrimmed text, `notify_no_data = false`.
fn cpu_monitor(name: &str) -> Value {
    json!({
        "name": format!("{name}  "),
        "type": "query alert",
        "query": "avg(last_5m):avg:system.cpu.user{role:web} by {host} > 85",
        "message": "CPU is high on {{host.name}} @pagerduty-web  \n\n",
        "tags": ["team:web", "env:prod", "service:web", "env:prod"],
        "priority": 2,
        "options": {
            "thresholds": { "critical": 85, "warning": 70 },
            "notify_no_data": false,
            "renotify_interval": 0,
            "escalation_message": "still high ",
            "include_tags": true,
        },
    })
}

fn marked(p: &DatadogProvider, resource_type: &str, mut attrs: Value, address: &str) -> Value {
    p.mark(resource_type, &mut attrs, address);
    attrs
}

fn find<'a>(objects: &'a [LiveObject], id: &str) -> &'a LiveObject {
    objects.iter().find(|o| o.id == id).unwrap_or_else(|| panic!("object {id} not listed"))
}

#[tokio::test]
async fn monitor_create_then_list_has_no_diff() {
    let dd = start();
    let p = provider(&dd, "key-create-list");
    let desired = marked(&p, MONITOR, cpu_monitor("High CPU"), r#"resource.datadog_monitor.cpu["web"]"#);

    p.validate_remote(MONITOR, &desired).await.expect("valid monitor");
    let created = p.create(MONITOR, &desired).await.expect("create");
    let want = p.normalize(MONITOR, &desired);
    assert_eq!(created.attrs, want, "create answer");
    assert!(created.owned);
    assert_eq!(created.marker.as_deref(), Some("resource.datadog_monitor.cpu.web"));
    assert!(created.modified.is_some());
    assert!(created.id.parse::<i64>().is_ok(), "numeric id: {}", created.id);

    // What Datadog stores really differs from what was sent...
    let raw = dd.monitors("key-create-list");
    assert_eq!(raw.len(), 1);
    // Recorded: a classic query is answered as `query alert`, whichever was sent
    // (test_create_a_metric_monitor_returns_ok_response in the datadog-api-client cassettes).
    assert_eq!(raw[0]["type"], "query alert");
    assert_eq!(raw[0]["options"]["thresholds"]["critical"], json!(85.0));
    // ...but normalises to the same value.
    let listed = p.list(MONITOR, false).await.expect("list");
    assert_eq!(listed.len(), 1);
    let live = find(&listed, &created.id);
    assert_eq!(live.attrs, want, "plan after apply must be empty");
    assert_eq!(p.normalize(MONITOR, &live.attrs), live.attrs, "idempotent");
    assert_eq!(live.resource_type, MONITOR);

    let read = p.read(MONITOR, &created.id).await.expect("read").expect("exists");
    assert_eq!(read, *live);
    assert_eq!(p.api_calls(), 4);
    let rl = p.last_rate_limit().expect("rate-limit headers recorded");
    assert_eq!(rl.name.as_deref(), Some("monitor_api"));
    assert!(rl.limit.is_some() && rl.period.is_some() && rl.remaining.is_some() && rl.reset.is_some());
}

#[tokio::test]
async fn a_monitor_without_options_or_thresholds_has_no_diff() {
    let dd = start();
    let p = provider(&dd, "key-bare");
    let desired = marked(
        &p,
        MONITOR,
        json!({ "name": "Bare", "type": "metric alert", "query": "avg(last_5m):avg:a{*} < 0.5", "message": "m" }),
        "resource.datadog_monitor.bare",
    );
    let created = p.create(MONITOR, &desired).await.expect("create");
    let listed = p.list(MONITOR, true).await.expect("list");
    assert_eq!(find(&listed, &created.id).attrs, p.normalize(MONITOR, &desired));
}

#[tokio::test]
async fn listing_2500_monitors_takes_pages_not_one_request_each() {
    let dd = start();
    let key = "key-pagination";
    let bodies = (0..2500)
        .map(|i| {
            json!({
                "name": format!("seeded {i}"),
                "type": "metric alert",
                "query": format!("avg(last_5m):avg:seeded.{i}{{*}} > 1"),
                "message": "m",
                "tags": if i % 2 == 0 { json!(["managed-by:watchkeep", format!("watchkeep-address:m.{i}")]) } else { json!(["team:x"]) },
            })
        })
        .collect();
    let ids = dd.seed_monitors(key, bodies);
    assert_eq!(ids.len(), 2500);

    let p = provider(&dd, key);
    dd.reset_request_count();
    let all = p.list(MONITOR, false).await.expect("list");
    assert_eq!(all.len(), 2500);
    // Page 0 alone, then a window of 4 pages (1 and 2 hold monitors, 3 and 4 are past the end):
    // pages of 1000, never one request per monitor.
    assert_eq!(dd.request_count(), 5, "pages of 1000, not one request per monitor");
    assert_eq!(p.api_calls(), 5);
    let mut listed: Vec<i64> = all.iter().map(|o| o.id.parse().unwrap()).collect();
    listed.sort_unstable();
    assert_eq!(listed, ids);

    // owned_only filters server-side: 1250 owned monitors are 2 pages (page 0, then one window).
    dd.reset_request_count();
    let owned = p.list(MONITOR, true).await.expect("list owned");
    assert_eq!(owned.len(), 1250);
    assert!(owned.iter().all(|o| o.owned && o.marker.as_deref().is_some_and(|m| m.starts_with("m."))));
    assert_eq!(dd.request_count(), 5);

    // With a page size that divides the total, the last (empty) page ends the walk.
    let small = DatadogProvider::new(config(&dd.base_url(), key, json!({ "page_size": 500 }))).unwrap();
    dd.reset_request_count();
    assert_eq!(small.list(MONITOR, false).await.unwrap().len(), 2500);
    assert_eq!(dd.request_count(), 9, "page 0, pages 1-4 (full), pages 5-8 (5 is empty)");

    // An account that fits in one page costs exactly one call.
    let tiny = "key-pages-tiny";
    dd.seed_monitors(
        tiny,
        vec![json!({ "name": "one", "type": "metric alert", "query": "avg(last_5m):avg:x{*} > 1" })],
    );
    let p = provider(&dd, tiny);
    dd.reset_request_count();
    assert_eq!(p.list(MONITOR, false).await.unwrap().len(), 1);
    assert_eq!(dd.request_count(), 1);
}

#[tokio::test]
async fn owned_only_lists_only_watchkeep_monitors() {
    let dd = start();
    let key = "key-owned";
    let p = provider(&dd, key);
    dd.seed_monitors(
        key,
        vec![
            json!({ "name": "foreign", "type": "metric alert", "query": "avg(last_5m):avg:a{*} > 1", "tags": ["team:x"] }),
            json!({ "name": "foreign 2", "type": "metric alert", "query": "avg(last_5m):avg:b{*} > 1" }),
            // Carries an address tag but not the owner tag: not ours.
            json!({ "name": "copied", "type": "metric alert", "query": "avg(last_5m):avg:c{*} > 1",
                    "tags": ["watchkeep-address:x.y"] }),
        ],
    );
    let a = p
        .create(MONITOR, &marked(&p, MONITOR, cpu_monitor("a"), "resource.datadog_monitor.a"))
        .await
        .unwrap();
    let b = p
        .create(MONITOR, &marked(&p, MONITOR, cpu_monitor("b"), "resource.datadog_monitor.b"))
        .await
        .unwrap();

    let owned = p.list(MONITOR, true).await.unwrap();
    let mut got: Vec<(&str, Option<&str>)> =
        owned.iter().map(|o| (o.id.as_str(), o.marker.as_deref())).collect();
    got.sort();
    let mut want = vec![
        (a.id.as_str(), Some("resource.datadog_monitor.a")),
        (b.id.as_str(), Some("resource.datadog_monitor.b")),
    ];
    want.sort();
    assert_eq!(got, want);

    let all = p.list(MONITOR, false).await.unwrap();
    assert_eq!(all.len(), 5);
    assert_eq!(all.iter().filter(|o| o.owned).count(), 2);
    assert!(all.iter().all(|o| o.owned || o.marker.is_none()));
}

#[tokio::test]
async fn monitor_update_in_place_and_removing_fields() {
    let dd = start();
    let p = provider(&dd, "key-update");
    let address = "resource.datadog_monitor.cpu";
    let created = p.create(MONITOR, &marked(&p, MONITOR, cpu_monitor("cpu"), address)).await.unwrap();

    let mut changed = cpu_monitor("cpu renamed");
    changed["query"] = json!("avg(last_5m):avg:system.cpu.user{role:web} by {host} > 90");
    changed["options"]["thresholds"] = json!({ "critical": 90.0, "warning": 75.5 });
    changed["options"]["notify_no_data"] = json!(true);
    changed["options"]["no_data_timeframe"] = json!(20);
    let changed = marked(&p, MONITOR, changed, address);
    let updated = p.update(MONITOR, &created.id, &changed).await.expect("update");
    assert_eq!(updated.id, created.id);
    assert_eq!(updated.attrs, p.normalize(MONITOR, &changed));
    assert_eq!(updated.attrs["options"]["thresholds"], json!({ "critical": 90, "warning": 75.5 }));
    assert_eq!(updated.attrs["options"]["no_data_timeframe"], json!(20));

    // Removing `priority` and all tags but the markers must remove them on Datadog too.
    let mut trimmed = changed.clone();
    trimmed.as_object_mut().unwrap().remove("priority");
    trimmed.as_object_mut().unwrap().remove("tags");
    let trimmed = marked(&p, MONITOR, trimmed, address);
    let updated = p.update(MONITOR, &created.id, &trimmed).await.expect("update");
    assert_eq!(updated.attrs, p.normalize(MONITOR, &trimmed));
    let read = p.read(MONITOR, &created.id).await.unwrap().unwrap();
    assert_eq!(read.attrs, p.normalize(MONITOR, &trimmed));
    assert!(read.attrs.get("priority").is_none());
    assert_eq!(
        read.attrs["tags"],
        json!(["managed-by:watchkeep", "watchkeep-address:resource.datadog_monitor.cpu"])
    );
}

#[tokio::test]
async fn monitor_delete_then_read_is_none() {
    let dd = start();
    let p = provider(&dd, "key-delete");
    let created = p.create(MONITOR, &marked(&p, MONITOR, cpu_monitor("gone"), "x.gone")).await.unwrap();
    p.delete(MONITOR, &created.id).await.expect("delete");
    assert_eq!(p.read(MONITOR, &created.id).await.expect("read"), None);
    p.delete(MONITOR, &created.id).await.expect("deleting twice is fine");
    assert!(p.list(MONITOR, false).await.unwrap().is_empty());
}

#[tokio::test]
async fn error_mapping_404_400_403() {
    let dd = start();
    let key = "key-errors";
    let p = provider(&dd, key);

    assert_eq!(p.read(MONITOR, "999999999").await.unwrap(), None);
    assert!(matches!(
        p.update(MONITOR, "999999999", &cpu_monitor("x")).await,
        Err(ProviderError::NotFound { .. })
    ));

    // The critical threshold contradicts the query: Datadog answers 400 with `errors`.
    let mut bad = cpu_monitor("bad");
    bad["options"]["thresholds"]["critical"] = json!(95);
    match p.validate_remote(MONITOR, &bad).await {
        Err(ProviderError::Api { status: 400, body }) => {
            assert!(body.contains("does not match"), "{body}");
            assert!(!body.contains("{\"errors\""), "errors are joined into text: {body}");
        }
        other => panic!("expected Api 400, got {other:?}"),
    }
    match p.create(MONITOR, &bad).await {
        Err(ProviderError::Api { status: 400, body }) => {
            assert!(body.contains("critical threshold"), "{body}")
        }
        other => panic!("expected Api 400, got {other:?}"),
    }
    assert!(dd.monitors(key).is_empty());

    // A rejected application key.
    let mut cfg = config(&dd.base_url(), key, json!({}));
    cfg.app_key = Secret::new("");
    let unauthorised = DatadogProvider::new(cfg).unwrap();
    let err = unauthorised.list(MONITOR, false).await.unwrap_err();
    assert!(matches!(err, ProviderError::Auth { .. }), "{err:?}");
    let text = format!("{err} {err:?} {unauthorised:?}");
    assert!(!text.contains(key), "the API key leaked: {text}");
    assert!(!text.contains(APP_KEY), "the application key leaked: {text}");
}

#[tokio::test]
async fn rate_limit_maps_to_rate_limited_with_retry_after() {
    let dd =
        DatadogStandIn::start(StandInOptions { rate_limit: Some((2, 60)), ..Default::default() }).unwrap();
    // Another client (say, a colleague's run) uses the org's whole budget…
    let other = provider(&dd, "key-rate");
    other.list(MONITOR, false).await.expect("1st request");
    other.list(MONITOR, false).await.expect("2nd request");
    // …so ours, with a fresh budget, meets a 429 and reports it as RateLimited.
    let p = provider(&dd, "key-rate");
    match p.list(MONITOR, false).await {
        Err(ProviderError::RateLimited { retry_after: Some(d) }) => {
            assert!(d > Duration::ZERO && d <= Duration::from_secs(60), "{d:?}");
        }
        other => panic!("expected RateLimited, got {other:?}"),
    }
    let rl = p.last_rate_limit().expect("headers");
    assert_eq!((rl.limit, rl.period, rl.remaining), (Some(2), Some(60), Some(0)));
    assert_eq!(rl.name.as_deref(), Some("monitor_api"));
    assert_eq!(p.api_calls(), 1, "the provider itself never retries");
    assert_eq!(p.rate_budget().map(|b| b.throttled), Some(1));
}

#[tokio::test]
async fn the_budget_waits_for_the_reset_instead_of_meeting_a_429() {
    let dd =
        DatadogStandIn::start(StandInOptions { rate_limit: Some((2, 1)), ..Default::default() }).unwrap();
    let p = provider(&dd, "key-budget");
    for _ in 0..5 {
        p.list(MONITOR, false).await.expect("paced, never rejected");
    }
    assert_eq!(dd.rate_limited_count(), 0, "the client stayed within the vendor's limit");
    assert_eq!(p.api_calls(), 5);
}

fn web_dashboard() -> Value {
    json!({
        "title": " Web tier ",
        "layout_type": "ordered",
        "description": "Golden signals of the web tier.",
        "widgets": [
            { "definition": { "type": "timeseries", "title": "CPU",
                              "requests": [{ "q": "avg:system.cpu.user{role:web} by {host}", "display_type": "line" }] } },
            { "definition": { "type": "group", "layout_type": "ordered", "title": "Notes", "widgets": [
                { "definition": { "type": "note", "content": "Runbook: https://example.com/web" } }
            ] } },
        ],
        "notify_list": [],
        "is_read_only": false,
    })
}

#[tokio::test]
async fn dashboard_create_list_update_delete() {
    let dd = start();
    let p = provider(&dd, "key-dashboards");
    let desired = marked(&p, DASHBOARD, web_dashboard(), r#"dashboard.web["eu"]"#);
    let created = p.create(DASHBOARD, &desired).await.expect("create");
    let want = p.normalize(DASHBOARD, &desired);
    assert_eq!(created.attrs, want);
    assert!(created.owned);
    assert_eq!(created.marker.as_deref(), Some("dashboard.web.eu"));

    // Someone else's dashboard.
    let foreign = p
        .create(DASHBOARD, &json!({ "title": "Hand made", "layout_type": "free", "widgets": [] }))
        .await
        .unwrap();
    assert!(!foreign.owned);

    let owned = p.list(DASHBOARD, true).await.expect("list owned");
    assert_eq!(owned.len(), 1);
    assert_eq!(owned[0].id, created.id);
    assert_eq!(owned[0].attrs, want, "plan after apply must be empty");
    assert!(owned[0].modified.is_some());
    let all = p.list(DASHBOARD, false).await.expect("list all");
    assert_eq!(all.len(), 2);
    assert_eq!(find(&all, &foreign.id).attrs, json!({ "title": "Hand made", "layout_type": "free" }));

    let mut changed = web_dashboard();
    changed["title"] = json!("Web tier (EU)");
    let changed = marked(&p, DASHBOARD, changed, r#"dashboard.web["eu"]"#);
    let updated = p.update(DASHBOARD, &created.id, &changed).await.expect("update");
    assert_eq!(updated.attrs, p.normalize(DASHBOARD, &changed));

    p.delete(DASHBOARD, &created.id).await.expect("delete");
    assert_eq!(p.read(DASHBOARD, &created.id).await.unwrap(), None);
    p.delete(DASHBOARD, &created.id).await.expect("deleting twice is fine");
    assert!(p.list(DASHBOARD, true).await.unwrap().is_empty());
}

#[tokio::test]
async fn dashboard_list_pages_and_reads_only_owned_ones() {
    let dd = start();
    let p = provider(&dd, "key-dashboard-pages");
    for i in 0..105 {
        p.create(
            DASHBOARD,
            &json!({ "title": format!("other {i}"), "layout_type": "ordered", "widgets": [] }),
        )
        .await
        .unwrap();
    }
    let mine = marked(&p, DASHBOARD, web_dashboard(), "dashboard.web");
    let created = p.create(DASHBOARD, &mine).await.unwrap();

    dd.reset_request_count();
    let owned = p.list(DASHBOARD, true).await.unwrap();
    assert_eq!(owned.len(), 1);
    assert_eq!(owned[0].id, created.id);
    assert_eq!(dd.request_count(), 3, "2 summary pages + 1 full read of the owned dashboard");

    dd.reset_request_count();
    assert_eq!(p.list(DASHBOARD, false).await.unwrap().len(), 106);
    assert_eq!(dd.request_count(), 2 + 106);
}

/// Serves `answers` in order, one per connection, as raw HTTP/1.1 responses.
async fn canned(answers: Vec<String>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        for answer in answers {
            let Ok((mut sock, _)) = listener.accept().await else { return };
            let mut buf = vec![0u8; 16 * 1024];
            let _ = sock.read(&mut buf).await;
            let _ = sock.write_all(answer.as_bytes()).await;
            let _ = sock.shutdown().await;
        }
    });
    format!("http://{addr}")
}

fn http_answer(status: &str, headers: &[&str], body: &str) -> String {
    let mut out = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n", body.len());
    for h in headers {
        out.push_str(h);
        out.push_str("\r\n");
    }
    out.push_str("\r\n");
    out.push_str(body);
    out
}

#[tokio::test]
async fn malformed_json_5xx_and_retry_after() {
    let base = canned(vec![
        http_answer("200 OK", &["Content-Type: application/json"], "{\"id\": 1, \"name\": "),
        http_answer("200 OK", &["Content-Type: application/json"], "{\"not\": \"a list\"}"),
        http_answer("503 Service Unavailable", &[], "<html>down</html>"),
        http_answer("429 Too Many Requests", &["Retry-After: 7"], "{\"errors\":[\"slow down\"]}"),
        http_answer("422 Unprocessable Entity", &[], "{\"errors\":[\"a\",\"b\"]}"),
        http_answer(
            "200 OK",
            &["Content-Type: application/json"],
            "{\"dashboards\": [{\"title\": \"no id\"}]}",
        ),
    ])
    .await;
    let p = DatadogProvider::new(config(&base, "key-canned", json!({ "timeout_seconds": 5 }))).unwrap();
    assert!(matches!(p.read(MONITOR, "1").await, Err(ProviderError::Decode { .. })));
    assert!(matches!(p.list(MONITOR, false).await, Err(ProviderError::Decode { .. })));
    assert!(matches!(p.read(MONITOR, "1").await, Err(ProviderError::Transient { .. })));
    match p.read(MONITOR, "1").await {
        Err(ProviderError::RateLimited { retry_after }) => {
            assert_eq!(retry_after, Some(Duration::from_secs(7)))
        }
        other => panic!("expected RateLimited, got {other:?}"),
    }
    match p.create(MONITOR, &cpu_monitor("x")).await {
        Err(ProviderError::Api { status: 422, body }) => assert_eq!(body, "a; b"),
        other => panic!("expected Api 422, got {other:?}"),
    }
    assert!(matches!(p.list(DASHBOARD, false).await, Err(ProviderError::Decode { .. })));
    assert_eq!(p.api_calls(), 6);
}

#[tokio::test]
async fn a_slow_vendor_times_out_as_transient() {
    let dd =
        DatadogStandIn::start(StandInOptions { latency: Duration::from_millis(1500), ..Default::default() })
            .unwrap();
    let p =
        DatadogProvider::new(config(&dd.base_url(), "key-slow", json!({ "timeout_seconds": 1 }))).unwrap();
    let err = p.list(MONITOR, false).await.unwrap_err();
    assert!(matches!(err, ProviderError::Transient { .. }), "{err:?}");
    assert!(err.is_retryable());
}
