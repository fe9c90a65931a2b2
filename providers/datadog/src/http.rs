//! One HTTP client per configured provider, and the single place where Datadog's answers become
//! typed [`ProviderError`]s. Every request is counted and its rate-limit headers are recorded.
//! Nothing here retries: the engine does, with `watchkeep_provider::with_retries`.

use std::sync::Mutex;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, ACCEPT, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use watchkeep_provider::{shorten, BudgetStats, CallCounter, ProviderError, RateBudget, RateLimit};

use crate::config::DatadogConfig;

/// `User-Agent` sent with every request.
pub const USER_AGENT: &str = concat!("watchkeep/", env!("CARGO_PKG_VERSION"));

pub(crate) struct Http {
    client: reqwest::Client,
    /// For public URLs on other hosts (a graph snapshot's image): no key headers, ever.
    plain: reqwest::Client,
    base_url: String,
    calls: CallCounter,
    rate_limit: Mutex<Option<RateLimit>>,
    budget: RateBudget,
}

impl Http {
    pub(crate) fn new(cfg: &DatadogConfig) -> Result<Self, ProviderError> {
        let mut headers = HeaderMap::new();
        headers.insert(
            HeaderName::from_static("dd-api-key"),
            secret_header("DD_API_KEY", cfg.api_key.expose())?,
        );
        headers.insert(
            HeaderName::from_static("dd-application-key"),
            secret_header("DD_APP_KEY", cfg.app_key.expose())?,
        );
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        let client = reqwest::Client::builder()
            .default_headers(headers)
            // Issue 15: a redirect never carries the key headers anywhere; a 3xx is an error that
            // names the location's host (Datadog's API answers directly, never with a redirect).
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(USER_AGENT)
            .timeout(cfg.timeout)
            .connect_timeout(cfg.timeout.min(Duration::from_secs(10)))
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_max_idle_per_host(16)
            .build()
            .map_err(|e| ProviderError::InvalidConfig {
                message: format!("could not build the HTTP client: {e}"),
            })?;
        let plain = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .timeout(cfg.timeout)
            .connect_timeout(cfg.timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| ProviderError::InvalidConfig {
                message: format!("could not build the HTTP client: {e}"),
            })?;
        Ok(Http {
            client,
            plain,
            base_url: cfg.base_url.clone(),
            calls: CallCounter::default(),
            rate_limit: Mutex::new(None),
            budget: RateBudget::default(),
        })
    }

    pub(crate) fn calls(&self) -> u64 {
        self.calls.get()
    }

    pub(crate) fn budget_stats(&self) -> BudgetStats {
        self.budget.stats()
    }

    pub(crate) fn last_rate_limit(&self) -> Option<RateLimit> {
        self.rate_limit.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Sends one request and returns the decoded JSON body (`Null` for an empty body).
    /// `path` starts with `/api/`; path segments taken from ids must already be escaped
    /// (see [`segment`]).
    pub(crate) async fn json(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Value, ProviderError> {
        let what = format!("{method} {path}");
        let mut req = self.client.request(method, format!("{}{path}", self.base_url));
        if !query.is_empty() {
            req = req.query(query);
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        let family = rate_family(path);
        // Refused without sending while Datadog's last answer asked for a wait beyond the cap.
        self.budget.acquire_or_refuse(family).await?;
        self.calls.incr();
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                self.budget.observe(family, None);
                return Err(transport_error(&what, &e));
            }
        };
        let status = resp.status();
        let headers = resp.headers().clone();
        let rl = rate_limit_from(&headers);
        self.budget.observe(family, rl.as_ref());
        if status == StatusCode::TOO_MANY_REQUESTS {
            self.budget.throttled(family, retry_after(&headers));
        }
        // A wait beyond the cap (`X-RateLimit-Reset: 3600`, or garbage such as u64::MAX) fails
        // now with a clear error rather than sitting silent or retrying into the same limit.
        if let Some(e) = self.budget.refusal(family) {
            return Err(e);
        }
        self.record_rate_limit(&headers);
        let bytes = resp.bytes().await.map_err(|e| transport_error(&what, &e))?;
        if !status.is_success() {
            return Err(status_error(&what, status, &headers, &bytes));
        }
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&bytes).map_err(|e| ProviderError::Decode {
            message: format!("{what} returned invalid JSON ({e}): {}", snippet(&bytes)),
        })
    }

    /// Downloads a public URL (a graph snapshot's image) with a client that carries no Datadog
    /// key headers, reading at most `max_bytes`. `Ok(None)` when the server answers 403 or 404
    /// (a snapshot image not rendered yet); other failures are errors. Counted as an API call.
    pub(crate) async fn download(
        &self,
        url: &str,
        max_bytes: usize,
    ) -> Result<Option<Vec<u8>>, ProviderError> {
        let shown = watchkeep_provider::url_host_only(url);
        let what = format!("GET {shown}");
        self.calls.incr();
        let mut resp =
            self.plain.get(url).send().await.map_err(|e| transport_error(&what, &e.without_url()))?;
        let status = resp.status();
        if matches!(status.as_u16(), 403 | 404) {
            return Ok(None);
        }
        if !status.is_success() {
            return Err(ProviderError::Transient {
                message: format!("{what} answered HTTP {}", status.as_u16()),
            });
        }
        if resp.content_length().is_some_and(|n| n > max_bytes as u64) {
            return Err(too_large(&what, max_bytes));
        }
        let mut out = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| transport_error(&what, &e.without_url()))? {
            if out.len() + chunk.len() > max_bytes {
                return Err(too_large(&what, max_bytes));
            }
            out.extend_from_slice(&chunk);
        }
        Ok(Some(out))
    }

    fn record_rate_limit(&self, headers: &HeaderMap) {
        if let Some(rl) = rate_limit_from(headers) {
            *self.rate_limit.lock().unwrap_or_else(|e| e.into_inner()) = Some(rl);
        }
    }
}

fn too_large(what: &str, max_bytes: usize) -> ProviderError {
    ProviderError::Decode {
        message: format!("{what} answered more than {max_bytes} bytes; not an image watchkeep keeps"),
    }
}

fn secret_header(var: &str, value: &str) -> Result<HeaderValue, ProviderError> {
    let mut v = HeaderValue::from_str(value).map_err(|_| ProviderError::InvalidConfig {
        // Never echo the value: it is a credential.
        message: format!("`{var}` contains characters that cannot be sent in an HTTP header"),
    })?;
    v.set_sensitive(true);
    Ok(v)
}

/// How long Datadog asks us to wait: `X-RateLimit-Reset` (seconds), else `Retry-After`.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    header_u64(headers, "x-ratelimit-reset")
        .or_else(|| {
            headers.get(RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse().ok())
        })
        .map(Duration::from_secs)
}

/// The rate-limit family of a path: Datadog limits each API (monitors, dashboards, hosts, …)
/// separately, and names the family in `X-RateLimit-Name`.
fn rate_family(path: &str) -> &'static str {
    let rest = path.trim_start_matches("/api/").trim_start_matches("v1/").trim_start_matches("v2/");
    match rest.split(['/', '?']).next().unwrap_or("") {
        "monitor" => "datadog:monitor",
        "dashboard" => "datadog:dashboard",
        "hosts" => "datadog:hosts",
        "graph" => "datadog:graph",
        "downtime" => "datadog:downtime",
        _ => "datadog:other",
    }
}

/// Escapes one path segment (an object id), so an id can never change which URL is called.
/// `None` for ids that cannot name an object (empty, `.`, `..`).
pub(crate) fn segment(id: &str) -> Option<String> {
    if id.bytes().all(|b| b == b'.') {
        return None;
    }
    let mut out = String::with_capacity(id.len());
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    Some(out)
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim)
}

fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    header_str(headers, name).and_then(|v| v.parse().ok())
}

/// `X-RateLimit-{Limit,Period,Remaining,Reset,Name}`; `None` when the response carries none.
pub(crate) fn rate_limit_from(headers: &HeaderMap) -> Option<RateLimit> {
    let rl = RateLimit {
        limit: header_u64(headers, "x-ratelimit-limit"),
        period: header_u64(headers, "x-ratelimit-period"),
        remaining: header_u64(headers, "x-ratelimit-remaining"),
        reset: header_u64(headers, "x-ratelimit-reset"),
        name: header_str(headers, "x-ratelimit-name").map(str::to_string),
    };
    (rl != RateLimit::default()).then_some(rl)
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
    // The URL holds no secrets (keys travel in headers), so reqwest's message may keep it.
    ProviderError::Transient { message: format!("{what} {kind}: {e}") }
}

pub(crate) fn status_error(
    what: &str,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
) -> ProviderError {
    let code = status.as_u16();
    if (300..400).contains(&code) {
        let location = headers.get(reqwest::header::LOCATION).and_then(|v| v.to_str().ok());
        return watchkeep_provider::endpoint::redirect_error("Datadog", what, code, location);
    }
    let detail = error_body(body);
    match code {
        401 | 403 => ProviderError::Auth {
            message: format!(
                "Datadog answered HTTP {code} to {what}: {detail}\nhint: check `DD_API_KEY` and `DD_APP_KEY`, \
                 the key's permissions, and that `site` matches the organisation's site"
            ),
        },
        404 => ProviderError::NotFound { what: format!("{what} ({detail})") },
        429 => ProviderError::RateLimited { retry_after: retry_after(headers) },
        500..=599 => ProviderError::Transient { message: format!("Datadog answered HTTP {code} to {what}: {detail}") },
        _ => ProviderError::Api { status: code, body: detail },
    }
}

/// Datadog errors look like `{"errors": ["a", "b"]}`; this makes them `a; b`. Anything else is
/// returned as (shortened) text.
pub(crate) fn error_body(body: &[u8]) -> String {
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        let errors = v.get("errors").and_then(Value::as_array).map(|errs| {
            errs.iter()
                .map(|e| match e {
                    Value::String(s) => s.clone(),
                    Value::Object(o) => {
                        let text = |k: &str| o.get(k).and_then(Value::as_str).filter(|s| !s.is_empty());
                        match (text("title"), text("detail")) {
                            (Some(t), Some(d)) => format!("{t}: {d}"),
                            (Some(s), None) | (None, Some(s)) => s.to_string(),
                            (None, None) => e.to_string(),
                        }
                    }
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join("; ")
        });
        if let Some(joined) = errors.filter(|s| !s.is_empty()) {
            return shorten(&joined);
        }
    }
    let text = snippet(body);
    if text.is_empty() {
        "(empty response body)".to_string()
    } else {
        text
    }
}

fn snippet(body: &[u8]) -> String {
    shorten(String::from_utf8_lossy(body).trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(HeaderName::from_static(k), HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn status_mapping() {
        let h = HeaderMap::new();
        let body = br#"{"errors":["Monitor not found"]}"#;
        assert!(matches!(
            status_error("GET /x", StatusCode::UNAUTHORIZED, &h, b""),
            ProviderError::Auth { .. }
        ));
        assert!(matches!(status_error("GET /x", StatusCode::FORBIDDEN, &h, b""), ProviderError::Auth { .. }));
        assert!(matches!(
            status_error("GET /x", StatusCode::NOT_FOUND, &h, body),
            ProviderError::NotFound { .. }
        ));
        assert!(matches!(
            status_error("GET /x", StatusCode::BAD_GATEWAY, &h, b"<html>"),
            ProviderError::Transient { .. }
        ));
        match status_error("POST /x", StatusCode::BAD_REQUEST, &h, br#"{"errors":["bad query","no type"]}"#) {
            ProviderError::Api { status, body } => {
                assert_eq!(status, 400);
                assert_eq!(body, "bad query; no type");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rate_limited_uses_reset_then_retry_after() {
        let h = headers(&[("x-ratelimit-reset", "7"), ("retry-after", "99")]);
        match status_error("GET /x", StatusCode::TOO_MANY_REQUESTS, &h, b"") {
            ProviderError::RateLimited { retry_after } => {
                assert_eq!(retry_after, Some(Duration::from_secs(7)))
            }
            other => panic!("{other:?}"),
        }
        let h = headers(&[("retry-after", "3")]);
        match status_error("GET /x", StatusCode::TOO_MANY_REQUESTS, &h, b"") {
            ProviderError::RateLimited { retry_after } => {
                assert_eq!(retry_after, Some(Duration::from_secs(3)))
            }
            other => panic!("{other:?}"),
        }
        match status_error("GET /x", StatusCode::TOO_MANY_REQUESTS, &HeaderMap::new(), b"") {
            ProviderError::RateLimited { retry_after } => assert_eq!(retry_after, None),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rate_limit_headers() {
        let h = headers(&[
            ("x-ratelimit-limit", "100"),
            ("x-ratelimit-period", "10"),
            ("x-ratelimit-remaining", "98"),
            ("x-ratelimit-reset", "4"),
            ("x-ratelimit-name", "monitor_list"),
        ]);
        assert_eq!(
            rate_limit_from(&h),
            Some(RateLimit {
                limit: Some(100),
                period: Some(10),
                remaining: Some(98),
                reset: Some(4),
                name: Some("monitor_list".into())
            })
        );
        assert_eq!(rate_limit_from(&HeaderMap::new()), None);
    }

    #[test]
    fn error_bodies() {
        assert_eq!(error_body(br#"{"errors":["a"]}"#), "a");
        assert_eq!(error_body(br#"{"errors":[{"title":"Bad","detail":"x"}]}"#), "Bad: x");
        assert_eq!(error_body(b"plain text\n"), "plain text");
        assert_eq!(error_body(b""), "(empty response body)");
        assert_eq!(error_body(br#"{"errors":[]}"#), r#"{"errors":[]}"#);
        let long = "é".repeat(3000);
        assert!(error_body(long.as_bytes()).ends_with('…'));
    }

    #[test]
    fn segments_are_escaped() {
        assert_eq!(segment("123").as_deref(), Some("123"));
        assert_eq!(segment("abc-def-ghi").as_deref(), Some("abc-def-ghi"));
        assert_eq!(segment("../x?y").as_deref(), Some("..%2Fx%3Fy"));
        assert_eq!(segment(".."), None);
        assert_eq!(segment(""), None);
    }
}
