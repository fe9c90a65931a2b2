//! The provider against the awsQuery stand-in (`watchkeep_tests::aws::QueryStandIn`), for what
//! moto lacks: DescribeAlarms paging, composite alarms, DescribeAlarmHistory and
//! GetMetricWidgetImage.

mod common;

use common::{assert_no_diff, cw_client, find, marked, provider};
use serde_json::{json, Value};
use watchkeep_provider::{Provider, ProviderError};
use watchkeep_tests::aws::{QueryStandIn, WIDGET_PNG};

const ALARM: &str = "cloudwatch_metric_alarm";
const COMPOSITE: &str = "cloudwatch_composite_alarm";

fn start() -> QueryStandIn {
    QueryStandIn::start().expect("stand-in starts")
}

#[tokio::test]
async fn list_follows_next_token_through_250_alarms_in_3_requests() {
    let s = start();
    let owned = s.seed_metric_alarms("fleet", 150, true);
    let foreign = s.seed_metric_alarms("legacy", 100, false);
    let p = provider(&s.endpoint_url(), "us-east-1");

    let all = p.list(ALARM, false).await.expect("list");
    assert_eq!(all.len(), 250);
    assert_eq!(s.requests("DescribeAlarms"), 3, "pages of 100, 100 and 50");
    assert_eq!(p.api_calls(), 3);
    let mut ids: Vec<&str> = all.iter().map(|o| o.id.as_str()).collect();
    ids.dedup();
    assert_eq!(ids.len(), 250, "no alarm twice");
    let first = find(&all, &owned[7]);
    assert!(first.owned);
    assert_eq!(first.marker.as_deref(), Some("fleet.7"));
    assert_eq!(first.modified.as_deref(), Some("2026-01-15T09:30:00Z"));
    assert_eq!(
        first.attrs["AlarmActions"],
        json!(["arn:aws:sns:us-east-1:123456789012:ops"]),
        "ARNs stay ARNs"
    );
    assert_eq!(first.attrs["Threshold"], json!(80));
    assert!(first.attrs.get("StateValue").is_none());
    assert!(!find(&all, &foreign[3]).owned);

    s.reset_counts();
    let mine = p.list(ALARM, true).await.unwrap();
    assert_eq!(mine.len(), 150);
    assert_eq!(s.requests("DescribeAlarms"), 3, "ownership is read from descriptions, on the client");
    assert_eq!(s.requests("ListTagsForResource"), 0, "no request per alarm");
    assert!(p.list(COMPOSITE, false).await.unwrap().is_empty(), "AlarmTypes filters");
}

fn composite(name: &str, rule: &str) -> Value {
    json!({
        "AlarmName": name,
        "AlarmRule": rule,
        "AlarmDescription": "Web tier down",
        "AlarmActions": ["arn:aws:sns:us-east-1:123456789012:pager", "arn:aws:sns:us-east-1:123456789012:ops"],
        "OKActions": [],
        "ActionsEnabled": true,
        "Tags": [{ "Key": "team", "Value": "web" }],
    })
}

#[tokio::test]
async fn composite_alarm_lifecycle_collision_and_adoption() {
    let s = start();
    s.seed_metric_alarms("web", 2, true);
    let p = provider(&s.endpoint_url(), "us-east-1");
    let address = "resource.cloudwatch_composite_alarm.web_down";
    let desired =
        marked(&p, COMPOSITE, composite("web-down", r#"ALARM("web-0000") AND ALARM("web-0001")"#), address);
    p.validate_remote(COMPOSITE, &desired).await.unwrap();

    let created = p.create(COMPOSITE, &desired).await.expect("create");
    assert_eq!(created.id, "web-down");
    assert!(created.owned);
    assert_eq!(created.marker.as_deref(), Some(address));
    assert_no_diff(&p, COMPOSITE, &created, &desired);
    // Live ARNs stay ARNs (sorted).
    assert_eq!(
        created.attrs["AlarmActions"],
        json!(["arn:aws:sns:us-east-1:123456789012:ops", "arn:aws:sns:us-east-1:123456789012:pager"])
    );
    let tags = s.alarm_tags("web-down").unwrap();
    assert!(tags.contains(&("managed-by".into(), "watchkeep".into())), "{tags:?}");
    assert!(tags.contains(&("watchkeep-address".into(), address.into())), "{tags:?}");
    assert!(tags.contains(&("team".into(), "web".into())), "{tags:?}");

    let listed = p.list(COMPOSITE, true).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_no_diff(&p, COMPOSITE, &listed[0], &desired);
    assert_eq!(p.read(COMPOSITE, "web-down").await.unwrap().unwrap(), created);
    assert_eq!(p.read(ALARM, "web-down").await.unwrap(), None, "not a metric alarm");

    let changed =
        marked(&p, COMPOSITE, composite("web-down", r#"ALARM("web-0000") OR ALARM("web-0001")"#), address);
    let updated = p.update(COMPOSITE, "web-down", &changed).await.expect("update");
    assert_no_diff(&p, COMPOSITE, &updated, &changed);
    assert_eq!(s.composite_rule("web-down").as_deref(), Some(r#"ALARM("web-0000") OR ALARM("web-0001")"#));

    // A retried create of our own alarm adopts it.
    assert!(p.find_by_marker(COMPOSITE, address).await.unwrap().is_empty());
    p.create(COMPOSITE, &changed).await.expect("retried create");

    // A composite alarm made by someone else, without tags.
    cw_client(&s.endpoint_url(), "us-east-1")
        .put_composite_alarm()
        .alarm_name("theirs")
        .alarm_rule("ALARM(\"web-0000\")")
        .send()
        .await
        .unwrap();
    let collide = marked(&p, COMPOSITE, composite("theirs", "ALARM(\"web-0001\")"), "resource.x.theirs");
    match p.create(COMPOSITE, &collide).await.unwrap_err() {
        ProviderError::Conflict { message } => {
            assert!(message.contains("an alarm named `theirs` already exists in us-east-1"), "{message}");
            assert!(message.contains("not managed by watchkeep"), "{message}");
        }
        other => panic!("expected Conflict, got {other:?}"),
    }
    assert_eq!(s.composite_rule("theirs").as_deref(), Some("ALARM(\"web-0000\")"), "unchanged");
    // A metric alarm of the same name is a conflict too.
    let clash = marked(&p, COMPOSITE, composite("web-0000", "ALARM(\"web-0001\")"), "resource.x.clash");
    match p.create(COMPOSITE, &clash).await.unwrap_err() {
        ProviderError::Conflict { message } => assert!(message.contains("is a metric alarm"), "{message}"),
        other => panic!("expected Conflict, got {other:?}"),
    }

    p.delete(COMPOSITE, "web-down").await.unwrap();
    assert_eq!(p.read(COMPOSITE, "web-down").await.unwrap(), None);
    // The stand-in answers ResourceNotFound, as AWS does.
    p.delete(COMPOSITE, "web-down").await.expect("deleting what is gone is Ok");
}

#[tokio::test]
async fn metric_widget_image_returns_the_png_and_sends_the_widget() {
    let s = start();
    let p = provider(&s.endpoint_url(), "us-east-1");
    let widget = json!({
        "metrics": [["AWS/EC2", "CPUUtilization", "AutoScalingGroupName", "web"]],
        "stat": "Average", "period": 300, "start": "2026-01-15T00:00:00Z", "end": "2026-01-15T06:00:00Z",
        "title": "CPU — web tier", "width": 600, "height": 400,
    });
    let png = p.metric_widget_image(&widget).await.expect("image");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "PNG signature");
    assert_eq!(png, WIDGET_PNG, "the SDK decoded the recorded base64 answer");
    let sent = s.widget_requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(serde_json::from_str::<Value>(&sent[0]).unwrap(), widget);

    let calls = p.api_calls();
    let err = p.metric_widget_image(&json!("not an object")).await.unwrap_err();
    assert!(matches!(err, ProviderError::InvalidConfig { .. }), "{err:?}");
    assert_eq!(p.api_calls(), calls, "no request");
}

#[tokio::test]
async fn alarm_history_follows_next_token() {
    let s = start();
    s.seed_history("cpu-high", 230);
    s.seed_history("other", 3);
    let p = provider(&s.endpoint_url(), "us-east-1");
    let items = p.alarm_history("cpu-high", None).await.expect("history");
    assert_eq!(items.len(), 230);
    assert_eq!(s.requests("DescribeAlarmHistory"), 3, "pages of 100, 100 and 30");
    let first = &items[0];
    assert_eq!(first.alarm_name, "cpu-high");
    assert_eq!(first.item_type, "StateUpdate");
    assert_eq!(first.summary, "Alarm updated from OK to ALARM");
    assert_eq!(first.timestamp, "2026-01-15T12:00:00Z");
    let data = first.data.as_ref().expect("HistoryData");
    assert_eq!(data["newState"]["stateValue"], "ALARM");
    assert_eq!(data["oldState"]["stateValue"], "OK");
    assert_eq!(items[229].timestamp, "2026-01-15T08:11:00Z");
    assert!(items.windows(2).all(|w| w[0].timestamp > w[1].timestamp), "newest first");
    assert!(p.alarm_history("never-fired", None).await.unwrap().is_empty());

    // The engine's alert log: state changes, oldest first.
    let events = p.alert_history(ALARM, "cpu-high", None).await.unwrap().expect("alarms keep a history");
    assert_eq!(events.len(), 230);
    assert_eq!(events[0].timestamp, "2026-01-15T08:11:00Z");
    assert_eq!((events[0].from.as_deref(), events[0].to.as_str()), (Some("ALARM"), "OK"));
    let last = events.last().unwrap();
    assert_eq!(
        (last.from.as_deref(), last.to.as_str(), last.summary.as_str()),
        (Some("OK"), "ALARM", "Alarm updated from OK to ALARM")
    );
    assert_eq!(p.alert_history("sns_topic", "arn:aws:sns:us-east-1:1:t", None).await.unwrap(), None);
}

/// Serves one canned HTTP answer to every connection; returns the endpoint URL.
async fn canned(status_line: &'static str, content_type: &'static str, body: String) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let body = body.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                let mut got = Vec::new();
                // Read the headers and the form body (Content-Length) before answering.
                loop {
                    let n = sock.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    got.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&got).to_string();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let len = text[..end]
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().to_string())
                            })
                            .and_then(|v| v.parse::<usize>().ok())
                            .unwrap_or(0);
                        if got.len() >= end + 4 + len {
                            break;
                        }
                    }
                }
                let answer = format!(
                    "HTTP/1.1 {status_line}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(answer.as_bytes()).await;
            });
        }
    });
    format!("http://{addr}")
}

fn aws_error(code: &str) -> String {
    format!(
        "<ErrorResponse xmlns=\"http://monitoring.amazonaws.com/doc/2010-08-01/\"><Error><Type>Sender</Type>\
         <Code>{code}</Code><Message>msg for {code}</Message></Error><RequestId>r</RequestId></ErrorResponse>"
    )
}

/// `(status line, content type, body, what the error must be)`.
type Case = (&'static str, &'static str, String, fn(&ProviderError) -> bool);

#[tokio::test]
async fn every_kind_of_answer_maps_to_its_error() {
    let cases: Vec<Case> = vec![
        ("200 OK", "text/xml", "this is not xml".into(), |e| matches!(e, ProviderError::Decode { .. })),
        ("503 Service Unavailable", "text/html", "<html>down</html>".into(), |e| {
            matches!(e, ProviderError::Transient { .. })
        }),
        ("400 Bad Request", "text/xml", aws_error("Throttling"), |e| {
            matches!(e, ProviderError::RateLimited { .. })
        }),
        ("429 Too Many Requests", "text/plain", "slow down".into(), |e| {
            matches!(e, ProviderError::RateLimited { .. })
        }),
        (
            "403 Forbidden",
            "text/xml",
            aws_error("InvalidClientTokenId"),
            |e| matches!(e, ProviderError::Auth { message } if message.contains("AWS_ACCESS_KEY_ID")),
        ),
        (
            "400 Bad Request",
            "text/xml",
            aws_error("InvalidParameterValue"),
            |e| matches!(e, ProviderError::Api { status: 400, body } if body == "InvalidParameterValue: msg for InvalidParameterValue"),
        ),
        ("404 Not Found", "text/html", "no such route".into(), |e| {
            matches!(e, ProviderError::Api { status: 404, .. })
        }),
    ];
    for (status, content_type, body, check) in cases {
        let url = canned(status, content_type, body.clone()).await;
        let p = provider(&url, "us-east-1");
        let err = p.list(ALARM, false).await.unwrap_err();
        assert!(check(&err), "{status} {body}: got {err:?}");
        assert!(!format!("{err:?}").contains(common::SECRET), "{err:?}");
        assert_eq!(p.api_calls(), 1, "no retry by the SDK");
    }
}

#[tokio::test]
async fn errors_are_typed() {
    let s = start();
    let p = provider(&s.endpoint_url(), "us-east-1");
    // An action the stand-in does not serve: an AWS error document with a 400.
    let err = p.put_metric_data("App", "Requests", &[], 1.0).await.unwrap_err();
    match err {
        ProviderError::Api { status, body } => {
            assert_eq!(status, 400);
            assert!(body.starts_with("InvalidAction: "), "{body}");
        }
        other => panic!("expected Api, got {other:?}"),
    }
}
