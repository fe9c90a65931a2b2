//! The provider's evidence reads against the stand-in: the alert log of a monitor that fired
//! and recovered from posted points, paging of the event stream, graph snapshots (the image
//! fetched without keys) and the fallback to series.

use serde_json::{json, Value};
use watchkeep_datadog::{DatadogConfig, DatadogProvider};
use watchkeep_provider::{png_size, Picture, Provider};
use watchkeep_tests::{DatadogStandIn, FaultKind, FaultRule, StandInOptions};

const MONITOR: &str = "datadog_monitor";
const DASHBOARD: &str = "datadog_dashboard";
const APP_KEY: &str = "test-application-key-0000";

fn provider(stand_in: &DatadogStandIn, api_key: &str) -> DatadogProvider {
    let block = json!({ "api_url": stand_in.base_url() });
    let api_key = api_key.to_string();
    let env = move |name: &str| match name {
        "DD_API_KEY" => Some(api_key.clone()),
        "DD_APP_KEY" => Some(APP_KEY.to_string()),
        _ => None,
    };
    DatadogProvider::new(DatadogConfig::from_block(block.as_object().unwrap(), &env).unwrap()).unwrap()
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Posts `value` for `metric` on `host` at each of `times` (epoch seconds), as the Agent would.
async fn post_points(
    stand_in: &DatadogStandIn,
    api_key: &str,
    metric: &str,
    host: &str,
    points: &[(i64, f64)],
) {
    let body = json!({"series": [{
        "metric": metric, "host": host, "type": "gauge",
        "points": points.iter().map(|(t, v)| json!([t, v])).collect::<Vec<_>>(),
    }]});
    let resp = reqwest::Client::new()
        .post(format!("{}/api/v1/series", stand_in.base_url()))
        .header("DD-API-KEY", api_key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 202, "{}", resp.text().await.unwrap_or_default());
}

fn cpu_monitor() -> Value {
    json!({
        "name": "CPU usage on web-1",
        "type": "query alert",
        "query": "avg(last_5m):100 - avg:system.cpu.idle{host:web-1} > 85",
        "message": "CPU high @pagerduty-oncall",
        "options": {"thresholds": {"critical": 85, "warning": 70}},
    })
}

#[tokio::test]
async fn a_monitor_fires_and_recovers_in_its_alert_log() {
    let dd = DatadogStandIn::start(StandInOptions::default()).unwrap();
    let key = "key-alert-log";
    let p = provider(&dd, key);
    let mut attrs = cpu_monitor();
    p.mark(MONITOR, &mut attrs, "alert.cpu.web-1");
    let created = p.create(MONITOR, &attrs).await.unwrap();
    assert_eq!(p.alert_history(MONITOR, &created.id, None).await.unwrap(), Some(Vec::new()));

    let t = now() - 600;
    // idle 5% → usage 95%: critical; then idle 60% → usage 40%: OK (outside the first window).
    post_points(&dd, key, "system.cpu.idle", "web-1", &[(t, 5.0), (t + 60, 4.0)]).await;
    post_points(&dd, key, "system.cpu.idle", "web-1", &[(t + 420, 60.0), (t + 480, 61.0)]).await;
    let monitor = dd
        .monitors(key)
        .into_iter()
        .find(|m| m["id"].as_i64().map(|i| i.to_string()) == Some(created.id.clone()))
        .unwrap();
    assert_eq!(monitor["overall_state"], "OK");

    // A new provider: the first one's scan is cached for a minute.
    let p = provider(&dd, key);
    let since = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    let log = p.alert_history(MONITOR, &created.id, Some(since)).await.unwrap().unwrap();
    assert_eq!(log.len(), 2, "{log:?}");
    assert_eq!((log[0].from.as_deref(), log[0].to.as_str()), (None, "Alert"));
    assert_eq!((log[1].from.as_deref(), log[1].to.as_str()), (Some("Alert"), "OK"));
    let at = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp();
    assert_eq!(at(&log[0].timestamp), t + 60, "the evaluation time of the trigger");
    assert_eq!(at(&log[1].timestamp), t + 480);
    assert!(log[0].summary.starts_with("[Triggered] CPU usage on web-1"), "{}", log[0].summary);
    assert!(log[1].summary.starts_with("[Recovered]"), "{}", log[1].summary);

    // `since` after the trigger: only the recovery, still knowing what it left.
    let later = std::time::UNIX_EPOCH + std::time::Duration::from_secs((t + 100) as u64);
    let p = provider(&dd, key);
    let log = p.alert_history(MONITOR, &created.id, Some(later)).await.unwrap().unwrap();
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0].to, "OK");

    // One scan answers every monitor: a second monitor costs no further request.
    let calls = p.api_calls();
    assert_eq!(p.alert_history(MONITOR, "424242", Some(later)).await.unwrap(), Some(Vec::new()));
    assert_eq!(p.api_calls(), calls);
    assert_eq!(p.alert_history(DASHBOARD, "abc", None).await.unwrap(), None);
}

#[tokio::test]
async fn the_event_stream_is_read_page_by_page() {
    let dd = DatadogStandIn::start(StandInOptions::default()).unwrap();
    let key = "key-event-pages";
    let base = now() - 5000;
    // 2,500 events of other sources and monitors, and one state change of monitor 77 on each
    // page (newest first: pages 0, 1 and 2).
    let mut events: Vec<Value> = (0..2500)
        .map(|i| {
            json!({"date_happened": base + i, "title": "deploy", "source_type_name": "my_apps",
                        "alert_type": "info", "tags": []})
        })
        .collect();
    for (at, title) in
        [(base + 10, "[Triggered] disk"), (base + 1200, "[Recovered] disk"), (base + 2400, "[Warn] disk")]
    {
        events.push(json!({"date_happened": at, "title": title, "source": "Monitor Alert",
                           "source_type_name": "Monitor Alert", "monitor_id": 77, "alert_type": "info", "tags": ["monitor"]}));
    }
    dd.seed_events(key, events);
    dd.reset_request_count();
    let p = provider(&dd, key);
    let since = std::time::UNIX_EPOCH + std::time::Duration::from_secs((base - 1) as u64);
    let log = p.alert_history(MONITOR, "77", Some(since)).await.unwrap().unwrap();
    let states: Vec<&str> = log.iter().map(|e| e.to.as_str()).collect();
    assert_eq!(states, ["Alert", "OK", "Warn"]);
    assert_eq!(dd.requests_matching("GET", "/api/v1/events"), 3, "2,503 events are three pages of 1,000");
}

fn dashboard() -> Value {
    let group = |host: &str| {
        json!({"definition": {"type": "group", "title": host, "layout_type": "ordered", "widgets": [
            {"definition": {"type": "timeseries", "title": "CPU usage (%)",
                "requests": [{"q": format!("100 - avg:system.cpu.idle{{host:{host}}}"), "display_type": "line"}]}},
        ]}})
    };
    json!({"title": "Infrastructure", "layout_type": "ordered", "widgets": [group("web-1"), group("web-2")]})
}

#[tokio::test]
async fn a_dashboard_picture_is_a_snapshot_fetched_without_keys() {
    let dd = DatadogStandIn::start(StandInOptions::default()).unwrap();
    let key = "key-snapshot";
    let p = provider(&dd, key);
    let created = p.create(DASHBOARD, &dashboard()).await.unwrap();
    let t = now() - 300;
    post_points(&dd, key, "system.cpu.idle", "web-1", &[(t, 90.0), (t + 60, 80.0)]).await;
    post_points(&dd, key, "system.cpu.idle", "web-2", &[(t, 50.0), (t + 60, 40.0)]).await;
    let picture = p.dashboard_picture(DASHBOARD, &created.id, &created.attrs, t - 60, t + 120).await.unwrap();
    match picture {
        Some(Picture::Png { bytes, source }) => {
            assert_eq!(png_size(&bytes), Some((640, 320)));
            assert!(source.contains("{host:web-1 OR host:web-2} by {host}"), "{source}");
        }
        other => panic!("expected a PNG, got {other:?}"),
    }
    assert_eq!(dd.snapshot_downloads(), (1, 0), "one image download, without key headers");
    assert_eq!(p.dashboard_picture(MONITOR, "1", &json!({}), 0, 1).await.unwrap(), None);
}

#[tokio::test]
async fn a_failed_snapshot_falls_back_to_series() {
    let dd = DatadogStandIn::start(StandInOptions {
        faults: vec![FaultRule::new(FaultKind::Status(503))
            .with_method("GET")
            .with_path_prefix("/api/v1/graph/snapshot")],
        ..Default::default()
    })
    .unwrap();
    let key = "key-fallback";
    let p = provider(&dd, key);
    let t = now() - 300;
    post_points(&dd, key, "system.cpu.idle", "web-1", &[(t, 90.0), (t + 60, 80.0)]).await;
    post_points(&dd, key, "system.cpu.idle", "web-2", &[(t + 30, 50.0)]).await;
    let picture = p.dashboard_picture(DASHBOARD, "x", &dashboard(), t - 60, t + 120).await.unwrap();
    match picture {
        Some(Picture::Series { title, series, source }) => {
            assert_eq!(title, "Infrastructure");
            assert!(source.contains("503"), "{source}");
            let names: Vec<&str> = series.iter().map(|s| s.name.as_str()).collect();
            assert_eq!(names, ["host:web-1", "host:web-2"]);
            assert_eq!(series[0].points, vec![(t, 10.0), (t + 60, 20.0)]);
            assert_eq!(series[1].points, vec![(t + 30, 50.0)]);
        }
        other => panic!("expected series, got {other:?}"),
    }
    assert_eq!(dd.snapshot_downloads(), (0, 0));
}
