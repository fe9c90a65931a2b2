//! One NerdGraph client per configured provider, and the single place where New Relic's answers
//! become typed [`ProviderError`]s. Every request is counted and gated by a semaphore (New Relic
//! allows 25 concurrent requests per user). Nothing here retries: the engine does.

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, RETRY_AFTER};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::sync::Semaphore;
use watchkeep_provider::{shorten, CallCounter, ProviderError};

use crate::config::NewRelicConfig;

/// `User-Agent` sent with every request.
pub const USER_AGENT: &str = concat!("watchkeep/", env!("CARGO_PKG_VERSION"));

pub(crate) struct Client {
    http: reqwest::Client,
    endpoint: String,
    calls: CallCounter,
    gate: Semaphore,
    /// When the last long wait New Relic asked for ends, once announced on stderr.
    announced: std::sync::Mutex<Option<std::time::Instant>>,
}

impl Client {
    pub(crate) fn new(cfg: &NewRelicConfig) -> Result<Self, ProviderError> {
        let mut headers = HeaderMap::new();
        let mut key =
            HeaderValue::from_str(cfg.api_key.expose()).map_err(|_| ProviderError::InvalidConfig {
                message: "`NEW_RELIC_API_KEY` contains characters that cannot be sent in an HTTP header"
                    .into(),
            })?;
        key.set_sensitive(true);
        headers.insert(HeaderName::from_static("api-key"), key);
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        let http = reqwest::Client::builder()
            .default_headers(headers)
            // Issue 15: a redirect never carries the `API-Key` header anywhere; a 3xx is an error
            // that names the location's host (NerdGraph answers directly, never with a redirect).
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(USER_AGENT)
            .timeout(cfg.timeout)
            .connect_timeout(cfg.timeout.min(Duration::from_secs(10)))
            .pool_max_idle_per_host(cfg.max_concurrency)
            .build()
            .map_err(|e| ProviderError::InvalidConfig {
                message: format!("could not build the HTTP client: {e}"),
            })?;
        Ok(Client {
            http,
            endpoint: cfg.endpoint.clone(),
            calls: CallCounter::default(),
            gate: Semaphore::new(cfg.max_concurrency.max(1)),
            announced: std::sync::Mutex::new(None),
        })
    }

    /// A wait New Relic asks for (at most the cap: longer ones are errors) is said on stderr
    /// when it is longer than a few seconds, once for the many requests meeting it (issue 15).
    fn announce(&self, wait: Duration) {
        if wait <= Duration::from_secs(5) {
            return;
        }
        let now = std::time::Instant::now();
        let until = now + wait.min(watchkeep_provider::MAX_VENDOR_WAIT);
        let mut last = self.announced.lock().unwrap_or_else(|e| e.into_inner());
        if last.is_some_and(|a| until <= a + Duration::from_secs(1)) {
            return;
        }
        *last = Some(until);
        eprintln!("New Relic asked to wait {} s (rate limit of NerdGraph); waiting…", wait.as_secs());
    }

    pub(crate) fn calls(&self) -> u64 {
        self.calls.get()
    }

    /// Sends one document with its variables and returns the response's `data`. Top-level
    /// `errors` become typed errors; typed errors inside `data` are the caller's to check (see
    /// [`payload_errors`]). `what` names the operation in error messages.
    pub(crate) async fn query(
        &self,
        what: &str,
        document: &str,
        variables: Value,
    ) -> Result<Value, ProviderError> {
        let _permit = self
            .gate
            .acquire()
            .await
            .map_err(|_| ProviderError::Transient { message: "the request gate was closed".into() })?;
        self.calls.incr();
        let body = json!({ "query": document, "variables": variables });
        let resp =
            self.http.post(&self.endpoint).json(&body).send().await.map_err(|e| transport_error(what, &e))?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.map_err(|e| transport_error(what, &e))?;
        let parsed: Option<Value> = serde_json::from_slice(&bytes).ok();
        if !status.is_success() {
            let err = status_error(what, status, &headers, parsed.as_ref(), &bytes);
            if let ProviderError::RateLimited { retry_after: Some(d) } = &err {
                self.announce(*d);
            }
            return Err(err);
        }
        let Some(body) = parsed else {
            return Err(ProviderError::Decode {
                message: format!(
                    "NerdGraph answered {what} with a body that is not JSON: {}",
                    snippet(&bytes)
                ),
            });
        };
        if let Some(err) = graphql_errors(what, &body) {
            return Err(err);
        }
        match body.get("data") {
            Some(data) if !data.is_null() => Ok(data.clone()),
            _ => Err(ProviderError::Decode { message: format!("NerdGraph answered {what} without `data`") }),
        }
    }
}

fn transport_error(what: &str, e: &reqwest::Error) -> ProviderError {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_body() || e.is_decode() {
        "failed while reading the response"
    } else {
        "failed"
    };
    // The URL holds no secrets (the key travels in a header).
    ProviderError::Transient { message: format!("NerdGraph request {what} {kind}: {e}") }
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

pub(crate) fn status_error(
    what: &str,
    status: StatusCode,
    headers: &HeaderMap,
    body: Option<&Value>,
    raw: &[u8],
) -> ProviderError {
    let code = status.as_u16();
    if (300..400).contains(&code) {
        let location = headers.get(reqwest::header::LOCATION).and_then(|v| v.to_str().ok());
        return watchkeep_provider::endpoint::redirect_error("New Relic", what, code, location);
    }
    let detail = body.and_then(messages).unwrap_or_else(|| {
        let s = snippet(raw);
        if s.is_empty() {
            "(empty response body)".into()
        } else {
            s
        }
    });
    match code {
        401 | 403 => ProviderError::Auth {
            message: format!(
                "New Relic answered HTTP {code} to {what}: {detail}\nhint: check `NEW_RELIC_API_KEY` (a user key, \
                 `NRAK-...`), its permissions, and that `region` matches the account's region"
            ),
        },
        // `Retry-After` beyond the cap (an hour, or garbage such as u64::MAX) is not waited for
        // nor retried: the run ends with a clear error (issue 15).
        429 => match retry_after(headers) {
            Some(d) if d > watchkeep_provider::MAX_VENDOR_WAIT => {
                watchkeep_provider::too_long("newrelic:NerdGraph", d.as_secs())
            }
            retry_after => ProviderError::RateLimited { retry_after },
        },
        500..=599 => ProviderError::Transient { message: format!("New Relic answered HTTP {code} to {what}: {detail}") },
        _ => ProviderError::Api { status: code, body: detail },
    }
}

/// `errors[].message` joined by `; `.
fn messages(body: &Value) -> Option<String> {
    let errs = body.get("errors")?.as_array()?;
    let joined = errs
        .iter()
        .map(|e| {
            e.get("message").and_then(Value::as_str).map(str::to_string).unwrap_or_else(|| e.to_string())
        })
        .collect::<Vec<_>>()
        .join("; ");
    (!joined.is_empty()).then(|| shorten(&joined))
}

/// The top-level `errors` array of an HTTP 200 answer, as one typed error (none when empty).
/// The most actionable class wins: throttling, then transient, then auth, then not-found.
pub(crate) fn graphql_errors(what: &str, body: &Value) -> Option<ProviderError> {
    let errs = body.get("errors")?.as_array().filter(|a| !a.is_empty())?;
    let classes: Vec<&str> = errs
        .iter()
        .map(|e| {
            let ext = &e["extensions"];
            ext["errorClass"]
                .as_str()
                .or_else(|| ext["error_code"].as_str())
                .or_else(|| ext["code"].as_str())
                .unwrap_or("")
        })
        .collect();
    let detail = messages(body).unwrap_or_default();
    let has = |names: &[&str]| classes.iter().any(|c| names.contains(c));
    Some(if has(&["TOO_MANY_REQUESTS"]) {
        ProviderError::RateLimited { retry_after: None }
    } else if has(&["TIMEOUT", "INTERNAL_SERVER_ERROR", "SERVER_ERROR"]) {
        ProviderError::Transient {
            message: format!("NerdGraph answered {what} with a transient error: {detail}"),
        }
    } else if has(&["FORBIDDEN", "UNAUTHORIZED", "UNAUTHORIZED_ACCOUNT", "BAD_API_KEY"]) {
        ProviderError::Auth { message: format!("NerdGraph refused {what}: {detail}") }
    } else if has(&["NOT_FOUND"]) {
        ProviderError::NotFound { what: format!("{what}: {detail}") }
    } else {
        ProviderError::Api { status: 200, body: format!("{what}: {detail}") }
    })
}

/// The typed errors New Relic puts inside `data` for `aiNotifications*` / `aiWorkflows*`
/// (`error` and `errors`), as one typed error; `None` when both are empty.
pub(crate) fn payload_errors(what: &str, payload: &Value) -> Option<ProviderError> {
    let mut list: Vec<&Value> =
        payload.get("errors").and_then(Value::as_array).map(|a| a.iter().collect()).unwrap_or_default();
    if let Some(e) = payload.get("error").filter(|e| !e.is_null()) {
        if !list.contains(&e) {
            list.push(e);
        }
    }
    if list.is_empty() {
        return None;
    }
    let kinds: Vec<&str> = list.iter().filter_map(|e| e.get("type").and_then(Value::as_str)).collect();
    let text = list
        .iter()
        .map(|e| {
            let mut parts = Vec::new();
            if let Some(t) = e.get("type").and_then(Value::as_str) {
                parts.push(t.to_string());
            }
            for k in ["description", "details"] {
                if let Some(s) = e.get(k).and_then(Value::as_str).filter(|s| !s.is_empty()) {
                    if !parts.iter().any(|p| p == s) {
                        parts.push(s.to_string());
                    }
                }
            }
            if let Some(fields) = e.get("fields").and_then(Value::as_array) {
                for f in fields {
                    parts.push(format!(
                        "{}: {}",
                        f["field"].as_str().unwrap_or("?"),
                        f["message"].as_str().unwrap_or("")
                    ));
                }
            }
            parts.join(": ")
        })
        .collect::<Vec<_>>()
        .join("; ");
    let text = shorten(&text);
    Some(if kinds.contains(&"UNAUTHORIZED_ACCOUNT") {
        ProviderError::Auth { message: format!("New Relic refused {what}: {text}") }
    } else {
        ProviderError::Api { status: 200, body: format!("{what}: {text}") }
    })
}

fn snippet(body: &[u8]) -> String {
    shorten(String::from_utf8_lossy(body).trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(c: &str) -> Value {
        json!({"errors": [{"message": format!("m-{c}"), "extensions": {"errorClass": c}}], "data": null})
    }

    #[test]
    fn error_classes() {
        assert!(matches!(graphql_errors("x", &class("TIMEOUT")), Some(ProviderError::Transient { .. })));
        assert!(matches!(graphql_errors("x", &class("SERVER_ERROR")), Some(ProviderError::Transient { .. })));
        assert!(matches!(
            graphql_errors("x", &class("INTERNAL_SERVER_ERROR")),
            Some(ProviderError::Transient { .. })
        ));
        assert!(matches!(
            graphql_errors("x", &class("TOO_MANY_REQUESTS")),
            Some(ProviderError::RateLimited { .. })
        ));
        assert!(matches!(graphql_errors("x", &class("FORBIDDEN")), Some(ProviderError::Auth { .. })));
        assert!(matches!(graphql_errors("x", &class("NOT_FOUND")), Some(ProviderError::NotFound { .. })));
        match graphql_errors(
            "x",
            &json!({"errors": [{"message": "a"}, {"message": "b", "extensions": {"errorClass": "BAD_USER_INPUT"}}]}),
        ) {
            Some(ProviderError::Api { body, .. }) => assert!(body.ends_with("a; b"), "{body}"),
            other => panic!("{other:?}"),
        }
        assert!(graphql_errors("x", &json!({"data": {}, "errors": []})).is_none());
    }

    #[test]
    fn typed_payload_errors() {
        assert!(payload_errors("x", &json!({"destination": {}, "error": null, "errors": []})).is_none());
        let e = json!({"type": "INVALID_PARAMETER", "description": "bad thing", "details": "bad thing"});
        match payload_errors("x", &json!({"destination": null, "error": e, "errors": [e]})) {
            Some(ProviderError::Api { body, .. }) => assert_eq!(body, "x: INVALID_PARAMETER: bad thing"),
            other => panic!("{other:?}"),
        }
        let v = json!({"details": "name: blank", "fields": [{"field": "name", "message": "blank"}]});
        match payload_errors("x", &json!({"errors": [v]})) {
            Some(ProviderError::Api { body, .. }) => assert!(body.contains("name: blank"), "{body}"),
            other => panic!("{other:?}"),
        }
        let u = json!({"type": "UNAUTHORIZED_ACCOUNT", "description": "no"});
        assert!(matches!(payload_errors("x", &json!({"errors": [u]})), Some(ProviderError::Auth { .. })));
    }

    /// Issue 15: every `Retry-After` a vendor can send, clamped; none panics, none beyond the
    /// cap is retried.
    #[test]
    fn retry_after_is_clamped_and_garbage_is_ignored() {
        for (raw, want_wait) in [
            ("0", Some(0)),
            ("300", Some(300)),
            ("-1", None),
            ("1.5", None),
            ("Wed, 21 Oct 2015 07:28:00 GMT", None),
            ("99999999999999999999999", None),
            ("", None),
        ] {
            let mut h = HeaderMap::new();
            h.insert(RETRY_AFTER, HeaderValue::from_str(raw).unwrap());
            match status_error("x", StatusCode::TOO_MANY_REQUESTS, &h, None, b"") {
                ProviderError::RateLimited { retry_after } => {
                    assert_eq!(retry_after, want_wait.map(Duration::from_secs), "{raw}")
                }
                other => panic!("{raw}: {other:?}"),
            }
        }
        for raw in ["301", "3600", "18446744073709551615"] {
            let mut h = HeaderMap::new();
            h.insert(RETRY_AFTER, HeaderValue::from_str(raw).unwrap());
            let e = status_error("x", StatusCode::TOO_MANY_REQUESTS, &h, None, b"");
            assert!(!e.is_retryable(), "{raw}: {e:?}");
            let msg = e.to_string();
            assert!(
                msg.contains(&format!("New Relic asked to wait {raw} s")) && msg.contains("300 s"),
                "{msg}"
            );
        }
    }

    /// Issue 15: the client follows no redirect (`Policy::none()`); a 3xx is an error naming
    /// only the target's scheme, host and port.
    #[test]
    fn a_redirect_is_an_error_naming_its_host() {
        let mut h = HeaderMap::new();
        h.insert(reqwest::header::LOCATION, HeaderValue::from_static("http://127.0.0.1:9/graphql?k=steal"));
        let e = status_error("x", StatusCode::TEMPORARY_REDIRECT, &h, None, b"");
        let msg = e.to_string();
        assert!(msg.contains("a redirect to `http://127.0.0.1:9`") && !msg.contains("steal"), "{msg}");
        assert!(!e.is_retryable());
    }

    #[test]
    fn statuses() {
        let h = HeaderMap::new();
        assert!(matches!(
            status_error("x", StatusCode::UNAUTHORIZED, &h, None, b""),
            ProviderError::Auth { .. }
        ));
        assert!(matches!(
            status_error("x", StatusCode::BAD_GATEWAY, &h, None, b""),
            ProviderError::Transient { .. }
        ));
        let mut h2 = HeaderMap::new();
        h2.insert(RETRY_AFTER, HeaderValue::from_static("3"));
        match status_error("x", StatusCode::TOO_MANY_REQUESTS, &h2, None, b"") {
            ProviderError::RateLimited { retry_after } => {
                assert_eq!(retry_after, Some(Duration::from_secs(3)))
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            status_error("x", StatusCode::BAD_REQUEST, &h, None, b"no"),
            ProviderError::Api { status: 400, .. }
        ));
    }
}
