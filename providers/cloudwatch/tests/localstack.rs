//! The alert path end to end against LocalStack, which (unlike moto) evaluates alarms and
//! delivers SNS notifications: a metric crosses an alarm's threshold, the alarm goes to ALARM,
//! SNS delivers the notification to an HTTP subscriber, and the alarm history records it.
//!
//! When LocalStack cannot start (e.g. no CPython >= 3.13), this test fails with the reason: it
//! never passes without having run.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use axum::routing::post;
use axum::Router;
use common::{marked, provider};
use serde_json::{json, Value};
use watchkeep_provider::Provider;
use watchkeep_tests::aws::LocalStack;

/// What the subscriber saw: SNS message documents, in arrival order.
#[derive(Default)]
struct Inbox {
    confirmations: Vec<Value>,
    notifications: Vec<Value>,
    errors: Vec<String>,
}

/// An SNS HTTP subscriber on 127.0.0.1:0 that confirms subscriptions (GET SubscribeURL) and
/// records notifications. Returns its URL.
async fn start_subscriber(inbox: Arc<Mutex<Inbox>>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind subscriber");
    let addr = listener.local_addr().unwrap();
    let app = Router::new().route(
        "/sns",
        post(move |headers: HeaderMap, body: String| {
            let inbox = Arc::clone(&inbox);
            async move {
                let kind = headers
                    .get("x-amz-sns-message-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                let doc: Value = match serde_json::from_str(&body) {
                    Ok(v) => v,
                    Err(e) => {
                        inbox.lock().unwrap().errors.push(format!("not JSON ({e}): {body}"));
                        return "ok";
                    }
                };
                let kind =
                    if kind.is_empty() { doc["Type"].as_str().unwrap_or("").to_string() } else { kind };
                match kind.as_str() {
                    "SubscriptionConfirmation" => {
                        let url = doc["SubscribeURL"].as_str().unwrap_or("").to_string();
                        match reqwest::get(&url).await.and_then(|r| r.error_for_status()) {
                            Ok(_) => inbox.lock().unwrap().confirmations.push(doc),
                            Err(e) => inbox.lock().unwrap().errors.push(format!("confirming via {url}: {e}")),
                        }
                    }
                    "Notification" => inbox.lock().unwrap().notifications.push(doc),
                    other => inbox.lock().unwrap().errors.push(format!("unexpected message type `{other}`")),
                }
                "ok"
            }
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}/sns")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alarm_fires_reaches_an_http_subscriber_and_is_in_the_history() {
    let started = Instant::now();
    let ls = match tokio::task::spawn_blocking(LocalStack::start).await.expect("start task") {
        Ok(ls) => ls,
        Err(reason) => panic!("LocalStack is required for this test and did not start: {reason}"),
    };
    let startup = started.elapsed();
    let p = provider(&ls.endpoint_url(), "us-east-1");
    let inbox = Arc::new(Mutex::new(Inbox::default()));
    let subscriber = start_subscriber(Arc::clone(&inbox)).await;

    let topic = marked(&p, "sns_topic", json!({ "Name": "wk-ls-alerts" }), "resource.sns_topic.alerts");
    let topic = p.create("sns_topic", &topic).await.expect("create topic");
    // The engine links the subscription and the alarm to the topic: they are sent its ARN.
    let sub = json!({ "TopicArn": topic.id, "Protocol": "http", "Endpoint": subscriber });
    let sub = p.create("sns_subscription", &sub).await.expect("create subscription");
    assert!(sub.owned);

    let alarm = marked(
        &p,
        "cloudwatch_metric_alarm",
        json!({
            "AlarmName": "wk-ls-queue-depth",
            "AlarmDescription": "Queue depth above 50",
            "Namespace": "Watchkeep/LocalStack",
            "MetricName": "QueueDepth",
            "Dimensions": [{ "Name": "Queue", "Value": "orders" }],
            "Statistic": "Maximum",
            "Period": 10,
            "EvaluationPeriods": 1,
            "Threshold": 50,
            "ComparisonOperator": "GreaterThanThreshold",
            "AlarmActions": [topic.id],
        }),
        "resource.cloudwatch_metric_alarm.queue_depth",
    );
    p.validate_remote("cloudwatch_metric_alarm", &alarm).await.expect("valid");
    let created = p.create("cloudwatch_metric_alarm", &alarm).await.expect("create alarm");
    assert_eq!(created.attrs["AlarmActions"], json!([topic.id]));

    // Feed the metric above the threshold until the notification arrives (LocalStack evaluates
    // a 10 s alarm about every 10 s).
    let dims = [("Queue".to_string(), "orders".to_string())];
    let deadline = Instant::now() + Duration::from_secs(90);
    let fired: Value = loop {
        p.put_metric_data("Watchkeep/LocalStack", "QueueDepth", &dims, 90.0).await.expect("put metric data");
        let alarm_message = inbox.lock().unwrap().notifications.iter().find_map(|n| {
            let m: Value = serde_json::from_str(n["Message"].as_str()?).ok()?;
            (m["AlarmName"] == "wk-ls-queue-depth" && m["NewStateValue"] == "ALARM").then_some(m)
        });
        if let Some(m) = alarm_message {
            break m;
        }
        if Instant::now() > deadline {
            let inbox = inbox.lock().unwrap();
            panic!(
                "no ALARM notification within 90 s; confirmations: {}, notifications: {:?}, subscriber errors: {:?}\n\
                 LocalStack log: {}",
                inbox.confirmations.len(),
                inbox.notifications,
                inbox.errors,
                ls.log_path().display()
            );
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    };
    let fired_after = started.elapsed();
    assert_eq!(fired["OldStateValue"], "INSUFFICIENT_DATA", "{fired}");
    assert!(inbox.lock().unwrap().confirmations.len() == 1, "the subscriber confirmed once");
    assert!(inbox.lock().unwrap().errors.is_empty(), "{:?}", inbox.lock().unwrap().errors);

    // The alert log. LocalStack stamps each item with the previous state's time (a LocalStack
    // bug), so no start time is given here.
    let history = p.alarm_history("wk-ls-queue-depth", None).await.expect("alarm history");
    let into_alarm = history
        .iter()
        .find(|h| {
            h.item_type == "StateUpdate"
                && h.data.as_ref().is_some_and(|d| d["newState"]["stateValue"] == "ALARM")
        })
        .unwrap_or_else(|| panic!("no StateUpdate into ALARM in {history:#?}"));
    assert_eq!(into_alarm.alarm_name, "wk-ls-queue-depth");
    assert!(chrono::DateTime::parse_from_rfc3339(&into_alarm.timestamp).is_ok(), "{}", into_alarm.timestamp);
    assert!(into_alarm.summary.contains("ALARM"), "{}", into_alarm.summary);
    let events =
        p.alert_history("cloudwatch_metric_alarm", "wk-ls-queue-depth", None).await.unwrap().unwrap();
    assert!(events.iter().any(|e| e.to == "ALARM"), "{events:?}");

    p.delete("cloudwatch_metric_alarm", &created.id).await.unwrap();
    p.delete("sns_subscription", &sub.id).await.unwrap();
    p.delete("sns_topic", &topic.id).await.unwrap();
    eprintln!(
        "LocalStack alert path: LocalStack up after {:.1} s, ALARM notification after {:.1} s, whole test {:.1} s",
        startup.as_secs_f64(),
        fired_after.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
}
