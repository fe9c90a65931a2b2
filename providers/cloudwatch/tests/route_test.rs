//! `routes test` through SNS topics (`Provider::test_delivery` for `sns_topic`), on moto and on
//! LocalStack, with HTTP subscribers on 127.0.0.1:0 that record what SNS posts to them.
//!
//! moto 5.2 differs from SNS in two ways that shape these tests (`moto/sns/models.py`):
//! * every subscription is confirmed at once (`PendingConfirmation: False`, for email and http
//!   alike; moto sends no SubscriptionConfirmation), so the pending case cannot be built on moto;
//!   it is tested on LocalStack, which keeps http subscriptions pending until the endpoint
//!   visits the SubscribeURL, as SNS does;
//! * http and https notifications are POSTed synchronously during Publish, so the receiver has
//!   them when Publish returns. Plain `http` endpoints on loopback are used: moto treats `http`
//!   and `https` alike, and a TLS receiver would need a certificate moto trusts.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use axum::routing::post;
use axum::Router;
use common::{marked, provider};
use serde_json::{json, Value};
use watchkeep_provider::{DeliveryStatus, Provider, ProviderError};
use watchkeep_tests::aws::{LocalStack, MotoServer};

/// What one subscriber received: SNS message documents, in arrival order.
#[derive(Default, Debug)]
struct Inbox {
    confirmations: Vec<Value>,
    notifications: Vec<Value>,
    errors: Vec<String>,
}

/// An SNS HTTP subscriber on 127.0.0.1:0; confirms subscriptions when `confirm` is set (GET
/// SubscribeURL), else ignores the request, so the subscription stays pending. Returns its URL
/// (with a path and query that stand for a token and must never be shown).
async fn subscriber(inbox: Arc<Mutex<Inbox>>, confirm: bool) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind subscriber");
    let addr = listener.local_addr().unwrap();
    let app = Router::new().route(
        "/hooks/s3cr3t-token",
        post(move |headers: HeaderMap, body: String| {
            let inbox = Arc::clone(&inbox);
            async move {
                let doc: Value = match serde_json::from_str(&body) {
                    Ok(v) => v,
                    Err(e) => {
                        inbox.lock().unwrap().errors.push(format!("not JSON ({e}): {body}"));
                        return "ok";
                    }
                };
                let kind = headers
                    .get("x-amz-sns-message-type")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
                    .unwrap_or_else(|| doc["Type"].as_str().unwrap_or("").to_string());
                match kind.as_str() {
                    "SubscriptionConfirmation" => {
                        if confirm {
                            let url = doc["SubscribeURL"].as_str().unwrap_or("").to_string();
                            if let Err(e) = reqwest::get(&url).await.and_then(|r| r.error_for_status()) {
                                inbox.lock().unwrap().errors.push(format!("confirming: {e}"));
                            }
                        }
                        inbox.lock().unwrap().confirmations.push(doc);
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
    format!("http://{addr}/hooks/s3cr3t-token?key=abc")
}

fn message(n: &Value) -> Value {
    serde_json::from_str(n["Message"].as_str().unwrap_or("null")).unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_confirmed_http_subscription_receives_one_test_and_one_resolve_on_moto() {
    let moto = MotoServer::start();
    let p = provider(&moto.endpoint_url(), "us-east-1");
    let inbox = Arc::new(Mutex::new(Inbox::default()));
    let url = subscriber(Arc::clone(&inbox), true).await;
    let topic = marked(&p, "sns_topic", json!({ "Name": "wk-rt-oncall" }), "route.oncall.sns_topic");
    let topic = p.create("sns_topic", &topic).await.expect("create topic");
    let http = json!({ "TopicArn": topic.id, "Protocol": "http", "Endpoint": url });
    let http = p.create("sns_subscription", &http).await.expect("subscribe http");
    // A subscription whose filter policy drops the test (moto applies filter policies).
    let (filtered_url, filtered_inbox) = {
        let inbox = Arc::new(Mutex::new(Inbox::default()));
        (subscriber(Arc::clone(&inbox), true).await, inbox)
    };
    let filtered = json!({ "TopicArn": topic.id, "Protocol": "http", "Endpoint": filtered_url.replace("key=abc", "key=def"),
                           "FilterPolicy": { "severity": ["critical"] } });
    p.create("sns_subscription", &filtered).await.expect("subscribe filtered http");
    // moto confirms email subscriptions at once; SNS would keep this one pending (see above).
    let email = json!({ "TopicArn": topic.id, "Protocol": "email", "Endpoint": "oncall@example.com" });
    p.create("sns_subscription", &email).await.expect("subscribe email");

    let calls = p.api_calls();
    let deliveries =
        p.test_delivery("sns_topic", &topic.id, &topic.attrs).await.expect("test").expect("topics deliver");
    // One ListSubscriptionsByTopic, one GetSubscriptionAttributes per subscription, two Publish.
    assert_eq!(p.api_calls() - calls, 1 + 3 + 2);
    assert_eq!(deliveries.len(), 1, "{deliveries:#?}");
    let d = &deliveries[0];
    assert_eq!(d.status, DeliveryStatus::Delivered, "{d:#?}");
    assert_eq!(d.resolved, Some(true));
    let test_id = d.dedup_key.clone().expect("a test id ties the test and its resolve");
    assert!(d.target.contains("(filter policy)"), "{}", d.target);
    assert!(d.answer.contains("1 of 3 confirmed subscriptions have a filter policy"), "{}", d.answer);
    assert!(filtered_inbox.lock().unwrap().notifications.is_empty(), "moto applied the filter policy");
    assert!(
        d.target.contains("wk-rt-oncall") && d.target.contains("3 confirmed subscriptions"),
        "{}",
        d.target
    );
    assert!(d.target.contains("http://127.0.0.1/…") && d.target.contains("o***@example.com"), "{}", d.target);
    for secret in ["s3cr3t", "key=abc", "oncall@", &moto.port().to_string()] {
        assert!(!d.target.contains(secret) && !d.answer.contains(secret), "{secret} shown: {d:#?}");
    }
    assert!(d.answer.contains("MessageId"), "{}", d.answer);

    {
        let inbox = inbox.lock().unwrap();
        assert!(inbox.errors.is_empty(), "{:?}", inbox.errors);
        assert_eq!(
            inbox.notifications.len(),
            2,
            "exactly one test and one resolve: {:#?}",
            inbox.notifications
        );
        let (test, resolve) = (&inbox.notifications[0], &inbox.notifications[1]);
        assert!(
            test["Subject"].as_str().unwrap().starts_with("[watchkeep route test] test: wk-rt-oncall"),
            "{test}"
        );
        assert!(
            resolve["Subject"].as_str().unwrap().starts_with("[watchkeep route test] resolved:"),
            "{resolve}"
        );
        let (m1, m2) = (message(test), message(resolve));
        assert_eq!((m1["NewStateValue"].as_str(), m2["NewStateValue"].as_str()), (Some("ALARM"), Some("OK")));
        assert_eq!(m1["AlarmName"], m2["AlarmName"], "one alarm name keys the test and its resolve");
        assert_eq!(m1["WatchkeepTestId"], json!(test_id));
        assert_eq!(m1["WatchkeepTest"], json!(true));
        assert!(d.answer.contains(test["MessageId"].as_str().unwrap()), "{} vs {test}", d.answer);
    }

    // Subscriptions are covered by their topic's test; nothing is published for them.
    assert!(p.test_delivery("sns_subscription", &http.id, &http.attrs).await.unwrap().is_none());
    assert!(p.test_delivery("cloudwatch_metric_alarm", "x", &json!({})).await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_of_subscriptions_are_followed_and_an_empty_topic_delivers_to_nobody() {
    let moto = MotoServer::start();
    let p = provider(&moto.endpoint_url(), "us-west-2");
    let empty = p
        .create("sns_topic", &marked(&p, "sns_topic", json!({ "Name": "wk-rt-empty" }), "a.b"))
        .await
        .unwrap();
    let d = p.test_delivery("sns_topic", &empty.id, &empty.attrs).await.unwrap().unwrap();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].status, DeliveryStatus::NotDelivering, "{d:#?}");
    assert!(
        d[0].answer.contains("delivered to nobody") && d[0].answer.contains("MessageId"),
        "{}",
        d[0].answer
    );
    assert_eq!(d[0].resolved, None);

    // More subscriptions than one ListSubscriptionsByTopic page (moto: 100).
    let inbox = Arc::new(Mutex::new(Inbox::default()));
    let url = subscriber(Arc::clone(&inbox), true).await;
    let topic = p
        .create("sns_topic", &marked(&p, "sns_topic", json!({ "Name": "wk-rt-many" }), "c.d"))
        .await
        .unwrap();
    // The http subscriber first: moto's Publish delivers only to the first page of a topic's
    // subscriptions (`Topic.publish` calls `list_subscriptions_by_topic` once), a moto bug; SNS
    // delivers to all. The second page is what the listing here must follow.
    p.create("sns_subscription", &json!({ "TopicArn": topic.id, "Protocol": "http", "Endpoint": url }))
        .await
        .unwrap();
    for i in 0..120 {
        let s = json!({ "TopicArn": topic.id, "Protocol": "email", "Endpoint": format!("p{i}@example.com") });
        p.create("sns_subscription", &s).await.unwrap();
    }
    let d = p.test_delivery("sns_topic", &topic.id, &topic.attrs).await.unwrap().unwrap();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].status, DeliveryStatus::Delivered, "{d:#?}");
    assert!(
        d[0].target.contains("121 confirmed subscriptions") && d[0].target.contains("and 116 more"),
        "{}",
        d[0].target
    );
    assert_eq!(
        inbox.lock().unwrap().notifications.len(),
        2,
        "the http subscriber got the test and the resolve"
    );
    // The pacing families exist for the SNS calls (us-west-2: Publish 9,000/s).
    let stats = p.rate_budget().unwrap();
    assert_eq!(stats.throttled, 0, "{stats:?}");

    // A topic that is gone: an error saying what to do, nothing published.
    let gone = "arn:aws:sns:us-west-2:123456789012:wk-rt-gone";
    match p.test_delivery("sns_topic", gone, &json!({ "Name": "wk-rt-gone" })).await {
        Err(ProviderError::NotFound { what }) => assert!(what.contains("watchkeep plan"), "{what}"),
        other => panic!("expected NotFound, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_subscription_is_reported_as_not_delivering_on_localstack() {
    let ls = match tokio::task::spawn_blocking(LocalStack::start).await.expect("start task") {
        Ok(ls) => ls,
        Err(reason) => panic!("LocalStack is required for this test and did not start: {reason}"),
    };
    let p = provider(&ls.endpoint_url(), "us-east-1");
    let confirmed = Arc::new(Mutex::new(Inbox::default()));
    let pending = Arc::new(Mutex::new(Inbox::default()));
    let confirmed_url = subscriber(Arc::clone(&confirmed), true).await;
    let pending_url = subscriber(Arc::clone(&pending), false).await;
    let topic =
        p.create("sns_topic", &marked(&p, "sns_topic", json!({ "Name": "wk-rt-ls" }), "r.t")).await.unwrap();
    for url in [&confirmed_url, &pending_url] {
        p.create("sns_subscription", &json!({ "TopicArn": topic.id, "Protocol": "http", "Endpoint": url }))
            .await
            .unwrap();
    }
    // Both endpoints get a SubscriptionConfirmation; only one visits the SubscribeURL.
    let deadline = Instant::now() + Duration::from_secs(20);
    while confirmed.lock().unwrap().confirmations.is_empty()
        || pending.lock().unwrap().confirmations.is_empty()
    {
        assert!(
            Instant::now() < deadline,
            "no SubscriptionConfirmation within 20 s; log {}",
            ls.log_path().display()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let d = p.test_delivery("sns_topic", &topic.id, &topic.attrs).await.unwrap().unwrap();
    assert_eq!(d.len(), 2, "{d:#?}");
    assert_eq!(d[0].status, DeliveryStatus::NotDelivering);
    assert!(
        d[0].answer
            .starts_with("subscription pending confirmation: nothing is delivered to http://127.0.0.1/…"),
        "{}",
        d[0].answer
    );
    assert_eq!(d[1].status, DeliveryStatus::Delivered, "{:#?}", d[1]);
    assert!(d[1].target.contains("1 confirmed subscription:"), "{}", d[1].target);
    for x in &d {
        assert!(!x.target.contains("s3cr3t") && !x.answer.contains("s3cr3t"), "{x:#?}");
    }
    // LocalStack delivers asynchronously: wait for the two messages, then a little for extras.
    let deadline = Instant::now() + Duration::from_secs(20);
    while confirmed.lock().unwrap().notifications.len() < 2 {
        assert!(Instant::now() < deadline, "notifications: {:#?}", confirmed.lock().unwrap());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got = confirmed.lock().unwrap();
    assert_eq!(got.notifications.len(), 2, "{:#?}", got.notifications);
    let states: Vec<Value> = got.notifications.iter().map(|n| message(n)["NewStateValue"].clone()).collect();
    assert_eq!(states, vec![json!("ALARM"), json!("OK")]);
    // SNS (and LocalStack) pass message attributes in the HTTP envelope.
    assert_eq!(
        got.notifications[0]["MessageAttributes"]["watchkeep_test"]["Value"], "true",
        "{}",
        got.notifications[0]
    );
    assert!(got.errors.is_empty(), "{:?}", got.errors);
    assert!(pending.lock().unwrap().notifications.is_empty(), "a pending subscription receives nothing");
}
