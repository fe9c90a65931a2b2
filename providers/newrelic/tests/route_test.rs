//! `routes test` through New Relic destinations and channels (`Provider::test_delivery`),
//! against the NerdGraph stand-in, whose test mutations really POST to webhook destinations.
//! The receiver here is a plain HTTP/1.1 listener on 127.0.0.1:0 that records every request
//! and answers with a chosen status.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use common::*;
use serde_json::{json, Value};
use watchkeep_provider::{DeliveryStatus, Provider, ProviderError};
use watchkeep_tests::newrelic::NewRelicOptions;

const DEST: &str = "newrelic_notification_destination";
const CHAN: &str = "newrelic_notification_channel";

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Got {
    request_line: String,
    headers: Vec<(String, String)>,
    body: String,
}

/// Starts a receiver answering `status` to every request; returns its URL (with a path that
/// stands for a token) and what it receives.
fn receiver(status: u16) -> (String, Arc<Mutex<Vec<Got>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind receiver");
    let addr = listener.local_addr().unwrap();
    let got = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&got);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().expect("clone stream"));
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            let mut headers = Vec::new();
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() || line.trim().is_empty() {
                    break;
                }
                if let Some((k, v)) = line.trim_end().split_once(':') {
                    let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().to_string());
                    if k == "content-length" {
                        length = v.parse().unwrap_or(0);
                    }
                    headers.push((k, v));
                }
            }
            let mut body = vec![0u8; length];
            let _ = reader.read_exact(&mut body);
            seen.lock().unwrap().push(Got {
                request_line: request_line.trim_end().to_string(),
                headers,
                body: String::from_utf8_lossy(&body).into_owned(),
            });
            let reason = if status < 300 { "OK" } else { "Error" };
            let _ = write!(
                stream,
                "HTTP/1.1 {status} {reason}\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
            );
        }
    });
    (format!("http://{addr}/hooks/s3cr3t-token?key=abc"), got)
}

fn webhook(p: &watchkeep_newrelic::NewRelicProvider, name: &str, url: &str, address: &str) -> Value {
    prepare(
        p,
        DEST,
        address,
        json!({"name": name, "type": "WEBHOOK", "properties": [{"key": "url", "value": url}]}),
    )
    .0
}

fn no_secret(d: &watchkeep_provider::Delivery) {
    for s in ["s3cr3t", "key=abc", "token"] {
        assert!(!d.target.contains(s) && !d.answer.contains(s), "{s} shown: {d:#?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_destination_test_reaches_the_receiver_once_and_a_failing_receiver_fails() {
    let nr = start(NewRelicOptions::default());
    let p = provider(&nr);
    let (url, got) = receiver(200);
    let d = p.create(DEST, &webhook(&p, "ops hook", &url, "route.ops.webhook")).await.unwrap();
    let calls = p.api_calls();
    let out = p
        .test_delivery(DEST, &d.id, &d.attrs)
        .await
        .unwrap()
        .expect("a destination no channel uses is tested");
    assert_eq!(p.api_calls() - calls, 2, "the channels read and one aiNotificationsTestDestinationById");
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].status, DeliveryStatus::Delivered, "{out:#?}");
    assert_eq!(out[0].resolved, None, "New Relic has no resolve for a test");
    assert!(
        out[0].target.contains("ops hook") && out[0].target.contains("WEBHOOK → http://127.0.0.1/…"),
        "{}",
        out[0].target
    );
    assert!(out[0].answer.contains("HTTP 200"), "{}", out[0].answer);
    no_secret(&out[0]);
    let seen = got.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "exactly one POST: {seen:#?}");
    assert_eq!(seen[0].request_line, "POST /hooks/s3cr3t-token?key=abc HTTP/1.1");
    let body: Value = serde_json::from_str(&seen[0].body).expect("JSON test payload");
    assert_eq!(body["test"], json!(true), "{body}");

    // A receiver that answers 500: the test fails with the status.
    let (bad_url, bad_got) = receiver(500);
    let bad = p.create(DEST, &webhook(&p, "broken hook", &bad_url, "route.ops.broken")).await.unwrap();
    let out = p.test_delivery(DEST, &bad.id, &bad.attrs).await.unwrap().unwrap();
    assert_eq!(out[0].status, DeliveryStatus::Failed, "{out:#?}");
    assert!(
        out[0].answer.contains("EXTERNAL_SERVER_ERROR") && out[0].answer.contains("HTTP 500"),
        "{}",
        out[0].answer
    );
    no_secret(&out[0]);
    assert_eq!(bad_got.lock().unwrap().len(), 1);

    // Nobody listening: a connection error, reported as a failed delivery.
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/x", l.local_addr().unwrap())
    };
    let gone = p.create(DEST, &webhook(&p, "gone hook", &closed, "route.ops.gone")).await.unwrap();
    let out = p.test_delivery(DEST, &gone.id, &gone.attrs).await.unwrap().unwrap();
    assert_eq!(out[0].status, DeliveryStatus::Failed);
    assert!(out[0].answer.contains("CONNECTION_ERROR"), "{}", out[0].answer);
    assert_all_valid(&nr);
    assert_eq!(nr.requests_for("aiNotificationsTestDestinationById"), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_test_sends_its_rendered_message_once_marked_as_a_test() {
    let nr = start(NewRelicOptions::default());
    let p = provider(&nr);
    let (url, got) = receiver(202);
    let d = p.create(DEST, &webhook(&p, "slack via webhook", &url, "route.oncall.slack")).await.unwrap();
    let (chan, _) = prepare(
        &p,
        CHAN,
        "route.oncall.slack_channel",
        json!({"name": "oncall slack", "type": "WEBHOOK", "product": "IINT", "destinationId": d.id,
               "properties": [{"key": "payload", "value": "{\"issue\": {{ json issueTitle }}, \"id\": {{ json issueId }}, \"state\": {{ json state }}}"}]}),
    );
    let c = p.create(CHAN, &chan).await.unwrap();

    // The destination is tested through its channel: nothing is sent for it.
    let calls = p.api_calls();
    assert!(p.test_delivery(DEST, &d.id, &d.attrs).await.unwrap().is_none());
    assert_eq!(p.api_calls() - calls, 1, "one channels(filters: {{destinationId}}) read");
    assert!(got.lock().unwrap().is_empty());

    let calls = p.api_calls();
    let out = p.test_delivery(CHAN, &c.id, &c.attrs).await.unwrap().expect("channels are tested");
    assert_eq!(p.api_calls() - calls, 1, "one aiNotificationsTestChannelById");
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].status, DeliveryStatus::Delivered, "{out:#?}");
    let test_id = out[0].dedup_key.clone().expect("the test id");
    assert!(out[0].target.contains("oncall slack") && out[0].target.contains(&d.id), "{}", out[0].target);
    no_secret(&out[0]);
    let seen = got.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "{seen:#?}");
    let body: Value = serde_json::from_str(&seen[0].body).expect("the rendered template is JSON");
    assert!(
        body["issue"].as_str().unwrap().starts_with("[watchkeep route test] channel oncall slack"),
        "{body}"
    );
    assert_eq!(body["id"], json!(test_id));
    assert_eq!(body["state"], "ACTIVATED");
    assert!(seen[0].headers.iter().any(|(k, v)| k == "content-type" && v == "application/json"));

    // Other types deliver nothing themselves.
    assert!(p.test_delivery("newrelic_alert_policy", "1", &json!({})).await.unwrap().is_none());
    assert_all_valid(&nr);
}

#[tokio::test]
async fn unknown_ids_are_errors_and_email_and_pagerduty_destinations_answer_per_type() {
    let nr = start(NewRelicOptions::default());
    let p = provider(&nr);
    match p.test_delivery(CHAN, "00000000-0000-0000-0000-00000000dead", &json!({"name": "x"})).await {
        Err(ProviderError::NotFound { what }) => {
            assert!(what.contains("not found") && what.contains("watchkeep drift"), "{what}")
        }
        other => panic!("expected NotFound, got {other:?}"),
    }
    match p.test_delivery(DEST, "00000000-0000-0000-0000-00000000beef", &json!({})).await {
        Err(ProviderError::NotFound { .. }) => {}
        other => panic!("expected NotFound, got {other:?}"),
    }

    let (mail, _) = prepare(
        &p,
        DEST,
        "route.oncall.email",
        json!({"name": "mail", "type": "EMAIL", "properties": [{"key": "email", "value": "oncall@example.com"}]}),
    );
    let m = p.create(DEST, &mail).await.unwrap();
    let out = p.test_delivery(DEST, &m.id, &m.attrs).await.unwrap().unwrap();
    assert_eq!(out[0].status, DeliveryStatus::Delivered);
    assert!(
        out[0].target.contains("EMAIL → o***@example.com") && !out[0].target.contains("oncall@"),
        "{}",
        out[0].target
    );

    let pd = |name: &str, key: &str| {
        prepare(
            &p,
            DEST,
            &format!("route.oncall.{name}"),
            json!({"name": name, "type": "PAGERDUTY_SERVICE_INTEGRATION", "properties": [],
                   "auth": {"type": "TOKEN", "token": {"token": key}}}),
        )
        .0
    };
    let good_key = "0123456789abcdef0123456789abcdef";
    let good = p.create(DEST, &pd("pd", good_key)).await.unwrap();
    let out = p.test_delivery(DEST, &good.id, &good.attrs).await.unwrap().unwrap();
    assert_eq!(out[0].status, DeliveryStatus::Delivered, "{out:#?}");
    let bad = p.create(DEST, &pd("pd-bad", "not-a-key")).await.unwrap();
    let out = p.test_delivery(DEST, &bad.id, &bad.attrs).await.unwrap().unwrap();
    assert_eq!(out[0].status, DeliveryStatus::Failed);
    assert!(out[0].answer.contains("INVALID_CREDENTIALS"), "{}", out[0].answer);
    for o in &out {
        assert!(!o.target.contains(good_key) && !o.answer.contains("not-a-key"), "{o:#?}");
    }
    assert_all_valid(&nr);
}
