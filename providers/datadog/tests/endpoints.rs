//! Issue 15, item 2: the Datadog keys go only to Datadog's own hosts or to endpoints the operator
//! allows outside the configuration, and a redirect never carries them anywhere.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde_json::{json, Map, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use watchkeep_provider::endpoint::ENV_ALLOW_ENDPOINTS;
use watchkeep_provider::{ProviderError, ProviderFactory};

const API_KEY: &str = "endpoint-test-api-key-7f3a";
const APP_KEY: &str = "endpoint-test-app-key-91c2";

fn block(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

fn env(allow: Option<&str>) -> impl Fn(&str) -> Option<String> {
    let allow = allow.map(str::to_string);
    move |k: &str| match k {
        "DD_API_KEY" => Some(API_KEY.to_string()),
        "DD_APP_KEY" => Some(APP_KEY.to_string()),
        k if k == ENV_ALLOW_ENDPOINTS => allow.clone(),
        _ => None,
    }
}

fn configure_err(attrs: Value, allow: Option<&str>) -> String {
    match watchkeep_datadog::FACTORY.configure(&block(attrs), &env(allow)) {
        Err(ProviderError::InvalidConfig { message }) => message,
        Err(other) => panic!("expected InvalidConfig, got {other:?}"),
        Ok(_) => panic!("configured"),
    }
}

#[test]
fn an_api_url_elsewhere_is_refused_unless_the_operator_allows_it() {
    // The official sites need nothing.
    for attrs in
        [json!({}), json!({ "site": "datadoghq.eu" }), json!({ "api_url": "https://api.us5.datadoghq.com" })]
    {
        watchkeep_datadog::FACTORY
            .configure(&block(attrs.clone()), &env(None))
            .unwrap_or_else(|e| panic!("{attrs}: {e}"));
    }
    let msg = configure_err(json!({ "api_url": "https://collector.evil.io" }), None);
    assert!(
        msg.contains("`api_url` attribute points at `https://collector.evil.io`")
            && msg.contains("WATCHKEEP_ALLOW_ENDPOINTS=https://collector.evil.io"),
        "{msg}"
    );
    assert!(!msg.contains(API_KEY) && !msg.contains(APP_KEY), "{msg}");
    // Plain http: only loopback, only when allowed.
    let msg = configure_err(json!({ "api_url": "http://127.0.0.1:8126" }), None);
    assert!(msg.contains("WATCHKEEP_ALLOW_ENDPOINTS=http://127.0.0.1:8126"), "{msg}");
    let msg = configure_err(json!({ "api_url": "http://dd.proxy.corp" }), Some("http://dd.proxy.corp"));
    assert!(msg.contains("plain http") && msg.contains("loopback"), "{msg}");
    // Allowed by the operator.
    watchkeep_datadog::FACTORY
        .configure(&block(json!({ "api_url": "http://127.0.0.1:8126" })), &env(Some("http://127.0.0.1")))
        .expect("allowed loopback");
    watchkeep_datadog::FACTORY
        .configure(
            &block(json!({ "api_url": "https://dd.proxy.corp/api" })),
            &env(Some("https://dd.proxy.corp")),
        )
        .expect("allowed proxy");
}

/// A loopback server that answers every request with `answer`, counting the connections.
async fn server(answer: String) -> (String, Arc<AtomicU64>, Arc<std::sync::Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = Arc::new(AtomicU64::new(0));
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (h, s) = (hits.clone(), seen.clone());
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            h.fetch_add(1, Ordering::SeqCst);
            let mut buf = vec![0u8; 16 * 1024];
            let n = sock.read(&mut buf).await.unwrap_or(0);
            s.lock().unwrap().push(String::from_utf8_lossy(&buf[..n]).into_owned());
            let _ = sock.write_all(answer.as_bytes()).await;
            let _ = sock.shutdown().await;
        }
    });
    (format!("http://{addr}"), hits, seen)
}

#[tokio::test]
async fn a_redirect_is_an_error_naming_its_host_and_never_followed() {
    let body = "{\"monitors\":[]}";
    let (third, third_hits, third_seen) = server(format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    ))
    .await;
    for status in ["301 Moved Permanently", "302 Found", "307 Temporary Redirect", "308 Permanent Redirect"] {
        let (first, first_hits, _) = server(format!(
            "HTTP/1.1 {status}\r\nLocation: {third}/api/v1/monitor?steal=1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        ))
        .await;
        let p = watchkeep_datadog::FACTORY
            .configure(&block(json!({ "api_url": first })), &env(Some("http://127.0.0.1")))
            .expect("allowed loopback");
        let err = p.list("datadog_monitor", false).await.expect_err("a redirect is an error");
        let msg = err.to_string();
        let third_shown = third.clone();
        assert!(
            msg.contains(&format!("a redirect to `{third_shown}`")) && msg.contains("does not follow"),
            "{status}: {msg}"
        );
        assert!(!msg.contains("steal"), "{msg}");
        assert!(!err.is_retryable(), "{err:?}");
        assert_eq!(first_hits.load(Ordering::SeqCst), 1, "{status}");
    }
    assert_eq!(third_hits.load(Ordering::SeqCst), 0, "no request reached the redirect's target");
    assert!(third_seen.lock().unwrap().iter().all(|r| !r.contains(API_KEY)));
}
