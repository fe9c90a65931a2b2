//! Fault rules: what can go wrong, on which requests, how often; the spec-string form used by
//! `watchkeep-sandbox --fault` and `/_sandbox/faults`; and injecting a fault into one request.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::connect_info::ConnectInfo;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::json;

use super::conn::ConnHandle;
use super::{body_rejection, error_response, errors_response, json_response, value_response, Shared};

/// What goes wrong with a request a [`FaultRule`] picked.
#[derive(Clone, Debug, PartialEq)]
pub enum FaultKind {
    /// 429 `{"errors":["Rate limit exceeded"]}` with `X-RateLimit-Remaining: 0` and
    /// `X-RateLimit-Reset: reset_secs`. Not acted on.
    RateLimit { reset_secs: u64 },
    /// This status (e.g. 500, 502, 503) with `{"errors":["<reason phrase>"]}`. Not acted on.
    Status(u16),
    /// Acted on at once, answered normally after this long (so a client with a shorter timeout
    /// gives up while the change has happened).
    Slow(Duration),
    /// The TCP connection is reset without any HTTP response. Not acted on.
    ConnectionReset,
    /// Acted on (e.g. the monitor is created), then the connection is reset without a response.
    ActedButLost,
    /// 200 with a body that is not JSON (`{"id": 12, "name": `). Not acted on.
    MalformedJson,
    /// Acted on, then answered with the first half of the real body (and a matching
    /// `Content-Length`).
    TruncatedJson,
}

/// Injects `kind` into the matching requests after the first `skip`, `times` times.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultRule {
    pub kind: FaultKind,
    /// HTTP method, e.g. `Some("POST")` (case-insensitive); `None` matches any.
    pub method: Option<String>,
    /// Matches request paths starting with it, e.g. `Some("/api/v1/monitor")`; `None` matches any.
    pub path_prefix: Option<String>,
    /// Matching requests let through before the first injection.
    pub skip: u64,
    /// Matching requests to inject into after the skipped ones (`u64::MAX` = forever).
    pub times: u64,
}

impl FaultRule {
    /// `kind` on every `/api/` request, forever.
    pub fn new(kind: FaultKind) -> Self {
        FaultRule { kind, method: None, path_prefix: None, skip: 0, times: u64::MAX }
    }

    pub fn with_method(mut self, method: &str) -> Self {
        self.method = Some(method.to_ascii_uppercase());
        self
    }

    pub fn with_path_prefix(mut self, prefix: &str) -> Self {
        self.path_prefix = Some(prefix.to_owned());
        self
    }

    pub fn with_skip(mut self, skip: u64) -> Self {
        self.skip = skip;
        self
    }

    pub fn with_times(mut self, times: u64) -> Self {
        self.times = times;
        self
    }

    /// Whether a request is one this rule counts (regardless of `skip` and `times`).
    pub fn matches(&self, method: &str, path: &str) -> bool {
        self.method.as_deref().is_none_or(|m| m.eq_ignore_ascii_case(method))
            && self.path_prefix.as_deref().is_none_or(|p| path_matches(p, path))
    }
}

/// A path prefix, or with a trailing `$` the whole path (`/api/v1/monitor$` is the create alone,
/// not `/api/v1/monitor/validate`).
pub(crate) fn path_matches(pattern: &str, path: &str) -> bool {
    match pattern.strip_suffix('$') {
        Some(exact) => path == exact,
        None => path.starts_with(pattern),
    }
}

/// Why a fault spec string was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultSpecError {
    message: String,
}

impl FaultSpecError {
    fn new(message: impl Into<String>) -> Self {
        FaultSpecError { message: message.into() }
    }
}

impl fmt::Display for FaultSpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for FaultSpecError {}

const SPEC_SHAPE: &str = "KIND[:ARG] [METHOD] [PATH_PREFIX] [skip=N] [times=N]";
const KINDS: &str = "rate-limit[:SECS], a 4xx/5xx status such as 503, slow:DURATION, reset, \
                     acted-but-lost, malformed, truncated";
const METHODS: [&str; 7] = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"];

impl FromStr for FaultKind {
    type Err = FaultSpecError;

    /// `rate-limit[:SECS]` (alias `429`), `500`/`502`/`503`/any 4xx-5xx status,
    /// `slow:DURATION` (`300ms`, `5s`, `1.5s`, `1m`), `reset`, `acted-but-lost`, `malformed`,
    /// `truncated`.
    fn from_str(text: &str) -> Result<Self, FaultSpecError> {
        let (name, arg) = match text.split_once(':') {
            Some((name, arg)) => (name, Some(arg)),
            None => (text, None),
        };
        let no_arg = |kind: FaultKind| match arg {
            None => Ok(kind),
            Some(_) => Err(FaultSpecError::new(format!("`{name}` takes no argument (got `{text}`)"))),
        };
        match name.to_ascii_lowercase().as_str() {
            "rate-limit" | "ratelimit" | "429" => {
                let reset_secs = match arg {
                    None => 1,
                    Some(a) => a.strip_suffix('s').unwrap_or(a).parse::<u64>().map_err(|_| {
                        FaultSpecError::new(format!(
                            "`{text}`: the reset must be whole seconds, e.g. `rate-limit:2`"
                        ))
                    })?,
                };
                Ok(FaultKind::RateLimit { reset_secs })
            }
            "slow" => {
                let arg =
                    arg.ok_or_else(|| FaultSpecError::new("`slow` needs a duration, e.g. `slow:5s`"))?;
                let d = parse_duration(arg).map_err(|e| FaultSpecError::new(format!("`{text}`: {e}")))?;
                Ok(FaultKind::Slow(d))
            }
            "reset" | "connection-reset" => no_arg(FaultKind::ConnectionReset),
            "acted-but-lost" | "lost" => no_arg(FaultKind::ActedButLost),
            "malformed" | "malformed-json" => no_arg(FaultKind::MalformedJson),
            "truncated" | "truncated-json" => no_arg(FaultKind::TruncatedJson),
            code if !code.is_empty() && code.bytes().all(|b| b.is_ascii_digit()) => {
                match code.parse::<u16>() {
                    Ok(status @ 400..=599) => no_arg(FaultKind::Status(status)),
                    _ => Err(FaultSpecError::new(format!(
                        "status `{code}` is not an error status: use 400-599, e.g. `503`"
                    ))),
                }
            }
            _ => Err(FaultSpecError::new(format!("unknown fault kind `{text}`; expected one of: {KINDS}"))),
        }
    }
}

impl FromStr for FaultRule {
    type Err = FaultSpecError;

    /// `KIND[:ARG] [METHOD] [PATH_PREFIX] [skip=N] [times=N]`, e.g.
    /// `503 POST /api/v1/monitor skip=2 times=1`.
    fn from_str(spec: &str) -> Result<Self, FaultSpecError> {
        let mut tokens = spec.split_whitespace();
        let kind = tokens
            .next()
            .ok_or_else(|| FaultSpecError::new(format!("empty fault spec; expected {SPEC_SHAPE}")))?;
        let mut rule = FaultRule::new(kind.parse()?);
        let (mut skip, mut times) = (None, None);
        for token in tokens {
            let duplicate = |what: &str| FaultSpecError::new(format!("`{spec}` gives {what} twice"));
            if token.starts_with('/') {
                if rule.path_prefix.replace(token.to_owned()).is_some() {
                    return Err(duplicate("a path prefix"));
                }
            } else if let Some((key, value)) = token.split_once('=') {
                let slot = match key.to_ascii_lowercase().as_str() {
                    "skip" => &mut skip,
                    "times" => &mut times,
                    _ => {
                        return Err(FaultSpecError::new(format!(
                            "unknown setting `{key}` in `{spec}`; expected skip=N or times=N"
                        )))
                    }
                };
                let n = match value {
                    "forever" if key.eq_ignore_ascii_case("times") => u64::MAX,
                    _ => value.parse::<u64>().map_err(|_| {
                        FaultSpecError::new(format!("`{token}`: `{value}` is not a whole number"))
                    })?,
                };
                if slot.replace(n).is_some() {
                    return Err(duplicate(&format!("`{}`", key.to_ascii_lowercase())));
                }
            } else if token == "*" || token.eq_ignore_ascii_case("any") {
                // Any method: the default, accepted for readability.
            } else if METHODS.iter().any(|m| m.eq_ignore_ascii_case(token)) {
                if rule.method.replace(token.to_ascii_uppercase()).is_some() {
                    return Err(duplicate("a method"));
                }
            } else {
                return Err(FaultSpecError::new(format!(
                    "unexpected `{token}` in `{spec}`; expected {SPEC_SHAPE} \
                     (METHOD is one of {}, PATH_PREFIX starts with `/`)",
                    METHODS.join(", ")
                )));
            }
        }
        if times == Some(0) {
            return Err(FaultSpecError::new(format!("`{spec}`: times=0 would never inject; drop the rule")));
        }
        rule.skip = skip.unwrap_or(0);
        rule.times = times.unwrap_or(u64::MAX);
        Ok(rule)
    }
}

impl fmt::Display for FaultKind {
    /// The spec-string form, e.g. `rate-limit:2`, `503`, `slow:300ms`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FaultKind::RateLimit { reset_secs } => write!(f, "rate-limit:{reset_secs}"),
            FaultKind::Status(code) => write!(f, "{code}"),
            FaultKind::Slow(d) => write!(f, "slow:{}", format_duration(*d)),
            FaultKind::ConnectionReset => f.write_str("reset"),
            FaultKind::ActedButLost => f.write_str("acted-but-lost"),
            FaultKind::MalformedJson => f.write_str("malformed"),
            FaultKind::TruncatedJson => f.write_str("truncated"),
        }
    }
}

impl fmt::Display for FaultRule {
    /// The spec-string form; parsing it gives the rule back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.kind)?;
        if let Some(method) = &self.method {
            write!(f, " {}", method.to_ascii_uppercase())?;
        }
        if let Some(prefix) = &self.path_prefix {
            write!(f, " {prefix}")?;
        }
        if self.skip > 0 {
            write!(f, " skip={}", self.skip)?;
        }
        if self.times != u64::MAX {
            write!(f, " times={}", self.times)?;
        }
        Ok(())
    }
}

/// `300ms`, `5s`, `1.5s`, `2m` (also `us`, `ns`).
fn parse_duration(text: &str) -> Result<Duration, String> {
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let nanos_per_unit: u64 = match unit {
        "ns" => 1,
        "us" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "" => return Err(format!("`{text}` needs a unit: ms, s or m (e.g. 300ms, 5s)")),
        _ => return Err(format!("unknown unit `{unit}` in `{text}`; use ns, us, ms, s or m")),
    };
    if number.is_empty() {
        return Err(format!("`{text}` needs a number, e.g. 300ms or 5s"));
    }
    let not_a_number = || format!("`{number}` is not a number in `{text}`");
    let out_of_range = || format!("`{text}` is out of range");
    if number.contains('.') {
        let n: f64 = number.parse().map_err(|_| not_a_number())?;
        let nanos = (n * nanos_per_unit as f64).round();
        if !(0.0..u64::MAX as f64).contains(&nanos) {
            return Err(out_of_range());
        }
        Ok(Duration::from_nanos(nanos as u64))
    } else {
        let n: u64 = number.parse().map_err(|_| not_a_number())?;
        if nanos_per_unit >= 1_000_000_000 {
            n.checked_mul(nanos_per_unit / 1_000_000_000).map(Duration::from_secs).ok_or_else(out_of_range)
        } else {
            n.checked_mul(nanos_per_unit).map(Duration::from_nanos).ok_or_else(out_of_range)
        }
    }
}

fn format_duration(d: Duration) -> String {
    let nanos = d.subsec_nanos();
    if nanos == 0 && d.as_secs() > 0 {
        format!("{}s", d.as_secs())
    } else if d.subsec_millis() * 1_000_000 == nanos {
        format!("{}ms", d.as_millis())
    } else if d.subsec_micros() * 1_000 == nanos {
        format!("{}us", d.as_micros())
    } else {
        format!("{}ns", d.as_nanos())
    }
}

/// The active rules of one stand-in, with how many matching requests each has seen.
pub(crate) struct FaultTable {
    rules: Mutex<Vec<ActiveRule>>,
    injected: AtomicU64,
}

struct ActiveRule {
    rule: FaultRule,
    seen: u64,
}

impl FaultTable {
    pub(crate) fn new(rules: Vec<FaultRule>) -> Self {
        FaultTable { rules: Mutex::new(Self::activate(rules)), injected: AtomicU64::new(0) }
    }

    fn activate(rules: Vec<FaultRule>) -> Vec<ActiveRule> {
        rules.into_iter().map(|rule| ActiveRule { rule, seen: 0 }).collect()
    }

    fn lock(&self) -> MutexGuard<'_, Vec<ActiveRule>> {
        self.rules.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Replaces the rules; the new ones start counting from zero.
    pub(crate) fn set(&self, rules: Vec<FaultRule>) {
        *self.lock() = Self::activate(rules);
    }

    pub(crate) fn rules(&self) -> Vec<FaultRule> {
        self.lock().iter().map(|r| r.rule.clone()).collect()
    }

    pub(crate) fn injected(&self) -> u64 {
        self.injected.load(Ordering::Relaxed)
    }

    /// The fault for one request, if any. Rules are tried in order; every matching rule counts
    /// the request until one injects, which ends the search.
    pub(crate) fn pick(&self, method: &str, path: &str) -> Option<FaultKind> {
        let mut rules = self.lock();
        for active in rules.iter_mut().filter(|r| r.rule.matches(method, path)) {
            active.seen = active.seen.saturating_add(1);
            let past_skip = active.seen.saturating_sub(active.rule.skip);
            if past_skip >= 1 && past_skip <= active.rule.times {
                self.injected.fetch_add(1, Ordering::Relaxed);
                return Some(active.rule.kind.clone());
            }
        }
        None
    }
}

/// Requests served, per method and exact path.
#[derive(Default)]
pub(crate) struct RequestTally {
    by_method: Mutex<HashMap<String, HashMap<String, u64>>>,
}

impl RequestTally {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, HashMap<String, u64>>> {
        self.by_method.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn record(&self, method: &str, path: &str) {
        let mut by_method = self.lock();
        let by_path = match by_method.get_mut(method) {
            Some(m) => m,
            None => by_method.entry(method.to_owned()).or_default(),
        };
        match by_path.get_mut(path) {
            Some(n) => *n += 1,
            None => {
                by_path.insert(path.to_owned(), 1);
            }
        }
    }

    pub(crate) fn matching(&self, method: &str, path_prefix: &str) -> u64 {
        self.lock()
            .iter()
            .filter(|(m, _)| m.eq_ignore_ascii_case(method))
            .flat_map(|(_, by_path)| by_path.iter())
            .filter(|(path, _)| path_matches(path_prefix, path))
            .map(|(_, n)| *n)
            .sum()
    }

    pub(crate) fn clear(&self) {
        self.lock().clear();
    }
}

/// What a [`FaultKind::MalformedJson`] answer says.
pub(crate) const MALFORMED_BODY: &str = r#"{"id": 12, "name": "#;

/// Answers an authenticated `/api/` request with `kind`; `serve` performs it as usual (rate
/// limit, handler, headers) for the kinds that act on it.
pub(crate) async fn inject<F, Fut>(
    shared: &Shared,
    kind: FaultKind,
    limit_name: &'static str,
    req: Request,
    serve: F,
) -> Response
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Response>,
{
    let conn = req.extensions().get::<ConnectInfo<ConnHandle>>().map(|c| c.0.clone());
    match kind {
        FaultKind::RateLimit { reset_secs } => {
            shared.rate_limited.fetch_add(1, Ordering::Relaxed);
            let mut info = shared.limiter.untouched(limit_name);
            info.remaining = 0;
            info.reset = reset_secs;
            let mut resp = error_response(StatusCode::TOO_MANY_REQUESTS, "Rate limit exceeded");
            info.apply(resp.headers_mut());
            resp
        }
        FaultKind::Status(code) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            error_response(status, status.canonical_reason().unwrap_or("Error"))
        }
        FaultKind::Slow(delay) => {
            let resp = serve(req).await;
            tokio::time::sleep(delay).await;
            resp
        }
        FaultKind::ConnectionReset => lose(conn),
        FaultKind::ActedButLost => {
            let _ = serve(req).await;
            lose(conn)
        }
        FaultKind::MalformedJson => json_response(StatusCode::OK, MALFORMED_BODY.to_owned()),
        FaultKind::TruncatedJson => {
            let (mut parts, body) = serve(req).await.into_parts();
            let full = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
            let half = full.slice(..full.len() / 2);
            parts.headers.insert(header::CONTENT_LENGTH, HeaderValue::from(half.len()));
            Response::from_parts(parts, Body::from(half))
        }
    }
}

/// Cuts the connection; the returned answer is never written.
fn lose(conn: Option<ConnHandle>) -> Response {
    match conn {
        Some(conn) => {
            conn.drop_connection();
            error_response(StatusCode::BAD_GATEWAY, "connection dropped by the stand-in")
        }
        // Only reachable if the router is served without the stand-in's listener.
        None => error_response(StatusCode::BAD_GATEWAY, "stand-in cannot drop this connection"),
    }
}

fn describe(shared: &Shared) -> Response {
    let rules: Vec<String> = shared.faults.rules().iter().map(ToString::to_string).collect();
    value_response(StatusCode::OK, &json!({ "faults": rules, "injected": shared.faults.injected() }))
}

/// `GET /_sandbox/faults`: `{"faults": ["<spec>", ...], "injected": N}`.
pub(crate) async fn list(State(shared): State<Arc<Shared>>) -> Response {
    describe(&shared)
}

/// `POST /_sandbox/faults` with a JSON array of spec strings: replaces the rules.
pub(crate) async fn replace(
    State(shared): State<Arc<Shared>>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let bytes = match body {
        Ok(b) => b,
        Err(e) => return body_rejection(e),
    };
    let specs: Vec<String> = match serde_json::from_slice(&bytes) {
        Ok(specs) => specs,
        Err(e) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                &format!(
                    "expected a JSON array of fault specs such as [\"503 POST /api/v1/monitor times=1\"]: {e}"
                ),
            )
        }
    };
    let mut rules = Vec::with_capacity(specs.len());
    let mut errors = Vec::new();
    for (i, spec) in specs.iter().enumerate() {
        match spec.parse::<FaultRule>() {
            Ok(rule) => rules.push(rule),
            Err(e) => errors.push(format!("fault {}: {e}", i + 1)),
        }
    }
    if !errors.is_empty() {
        return errors_response(StatusCode::BAD_REQUEST, &errors);
    }
    shared.faults.set(rules);
    describe(&shared)
}

/// `DELETE /_sandbox/faults`: no more faults.
pub(crate) async fn clear(State(shared): State<Arc<Shared>>) -> Response {
    shared.faults.set(Vec::new());
    describe(&shared)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(spec: &str) -> FaultRule {
        spec.parse().unwrap_or_else(|e| panic!("{spec:?} parses: {e}"))
    }

    fn refuse(spec: &str) -> String {
        match spec.parse::<FaultRule>() {
            Ok(rule) => panic!("{spec:?} should be refused, got {rule:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn specs_parse() {
        let monitor = FaultRule::new(FaultKind::Status(503))
            .with_method("POST")
            .with_path_prefix("/api/v1/monitor")
            .with_skip(2)
            .with_times(1);
        assert_eq!(parse("503 POST /api/v1/monitor skip=2 times=1"), monitor);
        assert_eq!(parse("  503   /api/v1/monitor times=1 post skip=2 "), monitor, "any order, any case");
        assert_eq!(
            parse("acted-but-lost POST /api/v1/monitor times=1"),
            FaultRule::new(FaultKind::ActedButLost)
                .with_method("POST")
                .with_path_prefix("/api/v1/monitor")
                .with_times(1)
        );
        assert_eq!(
            parse("slow:5s GET"),
            FaultRule::new(FaultKind::Slow(Duration::from_secs(5))).with_method("GET")
        );
        assert_eq!(parse("rate-limit:2"), FaultRule::new(FaultKind::RateLimit { reset_secs: 2 }));
        assert_eq!(parse("rate-limit").kind, FaultKind::RateLimit { reset_secs: 1 });
        assert_eq!(parse("429:3s").kind, FaultKind::RateLimit { reset_secs: 3 });
        assert_eq!(parse("reset"), FaultRule::new(FaultKind::ConnectionReset));
        assert_eq!(parse("connection-reset").kind, FaultKind::ConnectionReset);
        assert_eq!(parse("lost").kind, FaultKind::ActedButLost);
        assert_eq!(parse("malformed"), FaultRule::new(FaultKind::MalformedJson));
        assert_eq!(parse("truncated"), FaultRule::new(FaultKind::TruncatedJson));
        assert_eq!(parse("500").kind, FaultKind::Status(500));
        assert_eq!(parse("502 * times=forever"), FaultRule::new(FaultKind::Status(502)));
        assert_eq!(parse("slow:300ms").kind, FaultKind::Slow(Duration::from_millis(300)));
        assert_eq!(parse("slow:1.5s").kind, FaultKind::Slow(Duration::from_millis(1500)));
        assert_eq!(parse("slow:2m").kind, FaultKind::Slow(Duration::from_secs(120)));
        assert_eq!(parse("slow:250us").kind, FaultKind::Slow(Duration::from_micros(250)));
    }

    #[test]
    fn display_gives_the_spec_back() {
        for spec in [
            "503 POST /api/v1/monitor skip=2 times=1",
            "acted-but-lost POST /api/v1/monitor times=1",
            "slow:5s GET",
            "slow:300ms",
            "slow:1500ms DELETE /api/v1/dashboard",
            "slow:250us",
            "rate-limit:2",
            "reset",
            "malformed",
            "truncated PUT",
            "500 skip=3",
        ] {
            assert_eq!(parse(spec).to_string(), spec);
            assert_eq!(parse(&parse(spec).to_string()), parse(spec));
        }
        assert_eq!(parse("502 delete times=forever").to_string(), "502 DELETE");
    }

    #[test]
    fn bad_specs_are_refused_with_the_reason() {
        assert!(refuse("").starts_with("empty fault spec; expected KIND[:ARG]"));
        assert!(refuse("teapot").starts_with("unknown fault kind `teapot`; expected one of: rate-limit"));
        assert_eq!(refuse("200"), "status `200` is not an error status: use 400-599, e.g. `503`");
        assert_eq!(refuse("99999"), "status `99999` is not an error status: use 400-599, e.g. `503`");
        assert_eq!(refuse("503:2"), "`503` takes no argument (got `503:2`)");
        assert_eq!(refuse("reset:now"), "`reset` takes no argument (got `reset:now`)");
        assert_eq!(refuse("slow"), "`slow` needs a duration, e.g. `slow:5s`");
        assert_eq!(refuse("slow:5"), "`slow:5`: `5` needs a unit: ms, s or m (e.g. 300ms, 5s)");
        assert_eq!(refuse("slow:5h"), "`slow:5h`: unknown unit `h` in `5h`; use ns, us, ms, s or m");
        assert_eq!(refuse("slow:ms"), "`slow:ms`: `ms` needs a number, e.g. 300ms or 5s");
        assert_eq!(refuse("slow:1.2.3s"), "`slow:1.2.3s`: `1.2.3` is not a number in `1.2.3s`");
        assert_eq!(
            refuse("rate-limit:soon"),
            "`rate-limit:soon`: the reset must be whole seconds, e.g. `rate-limit:2`"
        );
        assert!(refuse("503 FETCH").starts_with("unexpected `FETCH` in `503 FETCH`; expected KIND[:ARG]"));
        assert!(refuse("503 api/v1/monitor").contains("PATH_PREFIX starts with `/`"));
        assert_eq!(refuse("503 GET POST"), "`503 GET POST` gives a method twice");
        assert_eq!(refuse("503 /a /b"), "`503 /a /b` gives a path prefix twice");
        assert_eq!(refuse("503 skip=1 skip=2"), "`503 skip=1 skip=2` gives `skip` twice");
        assert_eq!(refuse("503 skip=-1"), "`skip=-1`: `-1` is not a whole number");
        assert_eq!(refuse("503 skip=forever"), "`skip=forever`: `forever` is not a whole number");
        assert_eq!(
            refuse("503 every=2"),
            "unknown setting `every` in `503 every=2`; expected skip=N or times=N"
        );
        assert_eq!(refuse("503 times=0"), "`503 times=0`: times=0 would never inject; drop the rule");
    }

    #[test]
    fn rules_count_matching_requests_in_order() {
        let table =
            FaultTable::new(vec![parse("503 POST /api/v1/monitor skip=1 times=2"), parse("500 times=1")]);
        assert_eq!(
            table.pick("GET", "/api/v1/monitor"),
            Some(FaultKind::Status(500)),
            "second rule, any request"
        );
        assert_eq!(table.pick("GET", "/api/v1/monitor"), None);
        assert_eq!(table.pick("POST", "/api/v1/monitor/validate"), None, "skipped");
        assert_eq!(table.pick("post", "/api/v1/monitor"), Some(FaultKind::Status(503)));
        assert_eq!(table.pick("POST", "/api/v1/monitor"), Some(FaultKind::Status(503)));
        assert_eq!(table.pick("POST", "/api/v1/monitor"), None, "used up");
        assert_eq!(table.pick("POST", "/api/v1/dashboard"), None);
        assert_eq!(table.injected(), 3);
        table.set(vec![parse("502 times=1")]);
        assert_eq!(table.pick("GET", "/"), Some(FaultKind::Status(502)));
        assert_eq!(table.pick("GET", "/"), None);
        assert_eq!(table.injected(), 4, "not reset by set");
        let forever = FaultTable::new(vec![parse("502 skip=18446744073709551614")]);
        assert_eq!(forever.pick("GET", "/"), None);
    }

    #[test]
    fn tally_counts_by_method_and_prefix() {
        let tally = RequestTally::default();
        tally.record("POST", "/api/v1/monitor");
        tally.record("POST", "/api/v1/monitor");
        tally.record("POST", "/api/v1/monitor/validate");
        tally.record("GET", "/api/v1/monitor/12");
        assert_eq!(tally.matching("POST", "/api/v1/monitor"), 3);
        assert_eq!(tally.matching("post", "/api/v1/monitor/"), 1);
        assert_eq!(tally.matching("GET", "/api"), 1);
        assert_eq!(tally.matching("PUT", "/"), 0);
        tally.clear();
        assert_eq!(tally.matching("POST", "/"), 0);
    }
}
