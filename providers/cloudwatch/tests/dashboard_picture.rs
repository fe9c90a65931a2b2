//! `Provider::dashboard_picture` (the evidence bundle's dashboard pictures) and `web_link`:
//! - against the awsQuery stand-in (`watchkeep_tests::aws::QueryStandIn`), which answers
//!   GetMetricWidgetImage with a recorded AWS answer (a 4×3 PNG): one call per metric widget,
//!   each image placed where the dashboard puts the widget;
//! - against moto (`WATCHKEEP_MOTO_SERVER`), which answers GetMetricWidgetImage with an HTML
//!   HTTP 500 page (moto 5.2.5, `moto/core/responses.py` raises `NotImplementedError`): the
//!   picture falls back to time series read with GetMetricData, with the data points put by
//!   PutMetricData;
//! - against a loopback server that refuses the credentials (HTTP 403 `InvalidClientTokenId`,
//!   AWS's answer to an unknown access key): an auth error is reported, never pictured around.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
use common::{cw_client, provider};
use serde_json::{json, Value};
use watchkeep_provider::{Picture, Provider, ProviderError};
use watchkeep_tests::aws::{MotoServer, QueryStandIn};

const DASHBOARD: &str = "cloudwatch_dashboard";

/// A dashboard body as `compile_dashboards` writes it (header text, two metric widgets a row,
/// region filled in by `mark`), with the marker widget at the bottom.
fn dashboard(p: &watchkeep_cloudwatch::CloudWatchProvider, instance: &str) -> Value {
    let metric = |x: i64, y: i64, title: &str, metrics: Value| {
        json!({ "type": "metric", "x": x, "y": y, "width": 12, "height": 6,
                "properties": { "title": title, "view": "timeSeries", "stat": "Average", "period": 300, "metrics": metrics } })
    };
    let mut attrs = json!({
        "DashboardName": "watchkeep-infra",
        "DashboardBody": { "widgets": [
            { "type": "text", "x": 0, "y": 0, "width": 24, "height": 2, "properties": { "markdown": "# Infrastructure" } },
            metric(0, 2, "web-1: CPU", json!([["AWS/EC2", "CPUUtilization", "InstanceId", instance]])),
            metric(12, 2, "web-1: Memory", json!([["CWAgent", "mem_used_percent", "InstanceId", instance]])),
            metric(0, 8, "web-1: Network", json!([["AWS/EC2", "NetworkIn", "InstanceId", instance], [".", "NetworkOut", ".", "."]])),
        ] }
    });
    p.mark(DASHBOARD, &mut attrs, "dashboard.infra.cloudwatch");
    attrs
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

#[tokio::test]
async fn stand_in_draws_each_widget_and_they_are_stitched_as_laid_out() {
    let s = QueryStandIn::start().expect("stand-in starts");
    let p = provider(&s.endpoint_url(), "us-east-1");
    let attrs = dashboard(&p, "i-0abc");
    let (from, to) = (1_796_428_800, 1_796_428_800 + 86_400);
    let picture = p.dashboard_picture(DASHBOARD, "watchkeep-infra", &attrs, from, to).await.expect("picture");
    let Some(Picture::Png { bytes, source }) = picture else { panic!("a PNG from the vendor: {picture:?}") };
    assert_eq!(source, "GetMetricWidgetImage (3 widgets)");
    assert_eq!(watchkeep_provider::png_size(&bytes), Some((1200, 720)), "two rows of two 600×360 cells");

    // One request per metric widget, each over the period, sized to its cell.
    let sent: Vec<Value> = s.widget_requests().iter().map(|w| serde_json::from_str(w).unwrap()).collect();
    assert_eq!(sent.len(), 3);
    let titles: Vec<&str> = sent.iter().map(|w| w["title"].as_str().unwrap()).collect();
    assert_eq!(titles, ["web-1: CPU", "web-1: Memory", "web-1: Network"]);
    for w in &sent {
        assert_eq!(
            (w["start"].as_str(), w["end"].as_str()),
            (Some("2026-12-05T00:00:00.000Z"), Some("2026-12-06T00:00:00.000Z"))
        );
        assert_eq!((w["width"].as_u64(), w["height"].as_u64()), (Some(600), Some(360)));
        assert_eq!(w["region"], "us-east-1", "the region `mark` gave the widget");
    }
    assert_eq!(
        sent[2]["metrics"],
        json!([["AWS/EC2", "NetworkIn", "InstanceId", "i-0abc"], [".", "NetworkOut", ".", "."]])
    );

    // The stand-in's 4×3 image sits at the top left of each cell; the rest is white.
    let img = image::load_from_memory(&bytes).unwrap().to_rgb8();
    let widget = image::load_from_memory(watchkeep_tests::aws::WIDGET_PNG).unwrap().to_rgb8();
    for (x, y) in [(0, 0), (600, 0), (0, 360)] {
        for (dx, dy, px) in widget.enumerate_pixels() {
            assert_eq!(img.get_pixel(x + dx, y + dy), px, "widget pixel ({dx},{dy}) at cell ({x},{y})");
        }
    }
    assert_eq!(img.get_pixel(600, 360).0, [255, 255, 255], "no fourth widget");
    assert_eq!(img.get_pixel(10, 10).0, [255, 255, 255]);

    // Not a dashboard, or a dashboard without metric widgets: nothing to picture, no request.
    let calls = p.api_calls();
    assert_eq!(
        p.dashboard_picture("cloudwatch_metric_alarm", "a", &json!({}), from, to).await.unwrap(),
        None
    );
    let text_only = json!({ "DashboardName": "d", "DashboardBody": { "widgets": [{ "type": "text", "properties": { "markdown": "x" } }] } });
    assert_eq!(p.dashboard_picture(DASHBOARD, "d", &text_only, from, to).await.unwrap(), None);
    let err = p.dashboard_picture(DASHBOARD, "d", &attrs, to, from).await.unwrap_err();
    assert!(err.to_string().contains("must be after its start"), "{err}");
    assert_eq!(p.api_calls(), calls);
}

fn moto() -> &'static MotoServer {
    static MOTO: OnceLock<MotoServer> = OnceLock::new();
    MOTO.get_or_init(MotoServer::start)
}

fn datum(metric: &str, instance: &str, secs_ago: u64, value: f64) -> MetricDatum {
    MetricDatum::builder()
        .metric_name(metric)
        .dimensions(Dimension::builder().name("InstanceId").value(instance).build())
        .timestamp(DateTime::from(SystemTime::now() - Duration::from_secs(secs_ago)))
        .value(value)
        .unit(StandardUnit::Percent)
        .build()
}

#[tokio::test]
async fn moto_has_no_widget_images_so_the_picture_is_series_from_get_metric_data() {
    let region = "ap-southeast-2";
    let p = provider(&moto().endpoint_url(), region);
    let cw = cw_client(&moto().endpoint_url(), region);
    // Thirty minutes apart: each lands in its own 5-minute period.
    let data = vec![
        datum("CPUUtilization", "i-pic", 50 * 60, 10.0),
        datum("CPUUtilization", "i-pic", 20 * 60, 30.0),
        datum("NetworkIn", "i-pic", 20 * 60, 7.0),
        // Another instance: not on this dashboard.
        datum("CPUUtilization", "i-other", 20 * 60, 99.0),
    ];
    cw.put_metric_data().namespace("AWS/EC2").set_metric_data(Some(data)).send().await.expect("put");

    let attrs = dashboard(&p, "i-pic");
    let (from, to) = (now() - 3600, now() + 60);
    let picture = p.dashboard_picture(DASHBOARD, "watchkeep-infra", &attrs, from, to).await.expect("picture");
    let Some(Picture::Series { title, series, source }) = picture else {
        panic!("series from GetMetricData: {picture:?}")
    };
    assert_eq!(title, "watchkeep-infra");
    assert!(
        source == "GetMetricData (GetMetricWidgetImage: answered HTTP 500 without an error code)",
        "{source}"
    );
    let names: Vec<&str> = series.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "web-1: CPU — CPUUtilization i-pic (AWS/EC2 CPUUtilization)",
            "web-1: Memory — mem_used_percent i-pic (CWAgent mem_used_percent)",
            "web-1: Network — NetworkIn i-pic (AWS/EC2 NetworkIn)",
            "web-1: Network — NetworkOut i-pic (AWS/EC2 NetworkOut)",
        ]
    );
    let values = |i: usize| series[i].points.iter().map(|(_, v)| *v).collect::<Vec<f64>>();
    assert_eq!(values(0), [10.0, 30.0], "oldest first, the values put");
    assert!(series[0].points.iter().all(|(t, _)| (from..=to).contains(t)));
    assert!(series[0].points[0].0 < series[0].points[1].0);
    assert!(values(1).is_empty(), "no memory data put");
    assert_eq!(values(2), [7.0]);
    assert!(values(3).is_empty());
}

/// Answers every request like AWS does for an unknown access key, and counts them.
async fn refusing_server() -> (String, Arc<AtomicU64>) {
    let count = Arc::new(AtomicU64::new(0));
    let seen = count.clone();
    let app = axum::Router::new().fallback(move || {
        let seen = seen.clone();
        async move {
            seen.fetch_add(1, Ordering::SeqCst);
            (
                axum::http::StatusCode::FORBIDDEN,
                [("content-type", "text/xml")],
                "<ErrorResponse xmlns=\"http://monitoring.amazonaws.com/doc/2010-08-01/\"><Error><Type>Sender</Type>\
                 <Code>InvalidClientTokenId</Code><Message>The security token included in the request is invalid.</Message>\
                 </Error><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>",
            )
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, count)
}

#[tokio::test]
async fn refused_credentials_are_an_auth_error_not_a_fallback() {
    let (url, count) = refusing_server().await;
    let p = provider(&url, "us-east-1");
    let attrs = dashboard(&p, "i-1");
    let err =
        p.dashboard_picture(DASHBOARD, "watchkeep-infra", &attrs, now() - 3600, now()).await.unwrap_err();
    assert!(matches!(err, ProviderError::Auth { .. }), "{err:?}");
    assert!(err.to_string().contains("InvalidClientTokenId"), "{err}");
    assert_eq!(count.load(Ordering::SeqCst), 1, "one GetMetricWidgetImage, no GetMetricData after it");
}

#[test]
fn web_links_point_at_the_console_of_the_provider_region() {
    let p = provider("http://127.0.0.1:9", "eu-central-1");
    assert_eq!(
        p.web_link("cloudwatch_metric_alarm", "watchkeep-web-1-cpu").as_deref(),
        Some("https://eu-central-1.console.aws.amazon.com/cloudwatch/home?region=eu-central-1#alarmsV2:alarm/watchkeep-web-1-cpu")
    );
    assert_eq!(
        p.web_link("cloudwatch_dashboard", "watchkeep-infra").as_deref(),
        Some("https://eu-central-1.console.aws.amazon.com/cloudwatch/home?region=eu-central-1#dashboards/dashboard/watchkeep-infra")
    );
    assert_eq!(
        p.web_link("sns_topic", "arn:aws:sns:eu-central-1:123456789012:watchkeep-oncall").as_deref(),
        Some("https://eu-central-1.console.aws.amazon.com/sns/v3/home?region=eu-central-1#/topic/arn%3Aaws%3Asns%3Aeu-central-1%3A123456789012%3Awatchkeep-oncall")
    );
    assert_eq!(p.web_link("datadog_monitor", "1"), None);
    assert_eq!(p.api_calls(), 0);
}
