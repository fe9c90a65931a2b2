//! Per-org, per-API fixed-window rate limiting, `X-RateLimit-*` headers, request counting,
//! artificial latency, authentication and fault injection — everything that wraps each request.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

use super::{error_response, faults, Shared};

/// Limit advertised when the stand-in is unlimited.
pub(crate) const UNLIMITED: u64 = 1_000_000;
/// Period advertised when the stand-in is unlimited.
const UNLIMITED_PERIOD: u64 = 10;

/// The rate-limit bucket (`X-RateLimit-Name`) of a request path.
pub(crate) fn limit_name(path: &str) -> &'static str {
    let rest = path.strip_prefix("/api/v1/").unwrap_or("");
    let first = rest.split('/').next().unwrap_or("");
    match first {
        "monitor" => "monitor_api",
        "dashboard" => "dashboard_api",
        "hosts" => "hosts_api",
        "validate" => "validate_api",
        _ => "api",
    }
}

struct Window {
    start: Instant,
    count: u64,
}

/// What the headers of one answer say.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RateInfo {
    pub name: &'static str,
    pub limit: u64,
    pub period: u64,
    pub remaining: u64,
    pub reset: u64,
    pub exceeded: bool,
}

impl RateInfo {
    pub(crate) fn apply(&self, headers: &mut HeaderMap) {
        let num = |n: u64| HeaderValue::from(n);
        headers.insert("x-ratelimit-limit", num(self.limit));
        headers.insert("x-ratelimit-period", num(self.period));
        headers.insert("x-ratelimit-remaining", num(self.remaining));
        headers.insert("x-ratelimit-reset", num(self.reset));
        headers.insert("x-ratelimit-name", HeaderValue::from_static(self.name));
    }
}

/// Fixed windows of `period` seconds per (org, name).
pub(crate) struct Limiter {
    config: Option<(u64, u64)>,
    windows: Mutex<HashMap<String, HashMap<&'static str, Window>>>,
}

impl Limiter {
    pub(crate) fn new(config: Option<(u64, u64)>) -> Self {
        // A zero period would make every window expire at once; treat it as one second.
        let config = config.map(|(limit, period)| (limit, period.max(1)));
        Limiter { config, windows: Mutex::new(HashMap::new()) }
    }

    fn limits(&self) -> (u64, u64) {
        self.config.unwrap_or((UNLIMITED, UNLIMITED_PERIOD))
    }

    /// Headers for an answer that does not count (e.g. 403 before the org is known).
    pub(crate) fn untouched(&self, name: &'static str) -> RateInfo {
        let (limit, period) = self.limits();
        RateInfo { name, limit, period, remaining: limit, reset: period, exceeded: false }
    }

    /// Counts one request of `org` against bucket `name`.
    pub(crate) fn hit(&self, org: &str, name: &'static str) -> RateInfo {
        let (limit, period) = self.limits();
        let now = Instant::now();
        let period_d = Duration::from_secs(period);
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        let per_org = match windows.get_mut(org) {
            Some(m) => m,
            None => windows.entry(org.to_owned()).or_default(),
        };
        let w = per_org.entry(name).or_insert(Window { start: now, count: 0 });
        if now.duration_since(w.start) >= period_d {
            w.start = now;
            w.count = 0;
        }
        w.count = w.count.saturating_add(1);
        let elapsed = now.duration_since(w.start);
        let left = period_d.saturating_sub(elapsed);
        // Seconds until the window resets, rounded up (never 0 while the window is open).
        let reset = left.as_secs() + u64::from(left.subsec_nanos() > 0);
        let exceeded = self.config.is_some() && w.count > limit;
        RateInfo {
            name,
            limit,
            period,
            remaining: limit.saturating_sub(w.count),
            reset: reset.max(1),
            exceeded,
        }
    }
}

/// Reads a header as text ("" when absent).
pub(crate) fn header_text(headers: &HeaderMap, name: &str) -> String {
    headers.get(name).map(|v| String::from_utf8_lossy(v.as_bytes()).trim().to_owned()).unwrap_or_default()
}

/// Wraps every request: counts it, sleeps the configured latency, checks the API and
/// application keys of `/api/` requests, injects a configured fault or applies the rate limit and
/// adds its headers.
pub(crate) async fn middleware(State(shared): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    shared.requests.fetch_add(1, Ordering::Relaxed);
    shared.tally.record(req.method().as_str(), req.uri().path());
    if !shared.opts.latency.is_zero() {
        tokio::time::sleep(shared.opts.latency).await;
    }
    let path = req.uri().path();
    let name = limit_name(path);
    if !path.starts_with("/api/") {
        let mut resp = next.run(req).await;
        shared.limiter.untouched(name).apply(resp.headers_mut());
        return resp;
    }
    let api_key = header_text(req.headers(), "dd-api-key");
    let app_key = header_text(req.headers(), "dd-application-key");
    // Metric submission needs only the API key (`POST /api/v1/series`: `security: apiKeyAuth`
    // in the v1 spec; every other served operation asks for both keys).
    let app_key_needed = path != "/api/v1/series";
    if api_key.is_empty() || (app_key_needed && app_key.is_empty()) {
        let mut resp = error_response(StatusCode::FORBIDDEN, "Forbidden");
        shared.limiter.untouched(name).apply(resp.headers_mut());
        return resp;
    }
    if let Some(kind) = shared.faults.pick(req.method().as_str(), path) {
        let serve = |req| limit_and_serve(&shared, &api_key, name, req, next);
        return faults::inject(&shared, kind, name, req, serve).await;
    }
    limit_and_serve(&shared, &api_key, name, req, next).await
}

/// Counts an authenticated request against its org's budget, then answers it (429 when over).
async fn limit_and_serve(
    shared: &Shared,
    api_key: &str,
    name: &'static str,
    req: Request,
    next: Next,
) -> Response {
    let info = shared.limiter.hit(api_key, name);
    if info.exceeded {
        shared.rate_limited.fetch_add(1, Ordering::Relaxed);
        let mut resp = error_response(StatusCode::TOO_MANY_REQUESTS, "Rate limit exceeded");
        info.apply(resp.headers_mut());
        return resp;
    }
    let mut resp = next.run(req).await;
    info.apply(resp.headers_mut());
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(limit_name("/api/v1/monitor"), "monitor_api");
        assert_eq!(limit_name("/api/v1/monitor/12/validate"), "monitor_api");
        assert_eq!(limit_name("/api/v1/dashboard/abc-def-ghi"), "dashboard_api");
        assert_eq!(limit_name("/api/v1/hosts"), "hosts_api");
        assert_eq!(limit_name("/api/v2/other"), "api");
    }

    #[test]
    fn window_counts_per_org_and_name() {
        let l = Limiter::new(Some((2, 60)));
        assert!(!l.hit("a", "monitor_api").exceeded);
        let second = l.hit("a", "monitor_api");
        assert!(!second.exceeded);
        assert_eq!(second.remaining, 0);
        assert!(l.hit("a", "monitor_api").exceeded);
        assert!(!l.hit("a", "dashboard_api").exceeded);
        assert!(!l.hit("b", "monitor_api").exceeded);
        let unlimited = Limiter::new(None);
        for _ in 0..5 {
            assert!(!unlimited.hit("a", "monitor_api").exceeded);
        }
    }
}
