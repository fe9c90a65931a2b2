//! A stateful local stand-in for Datadog's v1 API (monitors, dashboards, hosts, metric points,
//! events, graph snapshots) and v2 downtimes. Monitors with simple metric queries are evaluated
//! from the points posted to `/api/v1/series` and write monitor events (`metrics`, `events`).
//!
//! State is partitioned by the `DD-API-KEY` header: every distinct key is its own org. Request
//! bodies and query parameters are validated against the official OpenAPI document
//! (`shared/specs/datadog-v1-openapi.yaml`), and stored objects get the same server-side
//! normalisations Datadog applies.
//!
//! # Fault injection
//!
//! To test how a client copes when Datadog misbehaves, the stand-in can be told to fail chosen
//! requests. A [`FaultRule`] names a [`FaultKind`] and which requests it hits:
//!
//! | kind (spec form)          | what the client gets                                        | acted on? |
//! |---------------------------|-------------------------------------------------------------|-----------|
//! | `rate-limit[:SECS]`, `429`| 429 `{"errors":["Rate limit exceeded"]}`, `X-RateLimit-Remaining: 0`, `X-RateLimit-Reset: SECS` (default 1) | no |
//! | `500`, `502`, `503`, any 4xx/5xx | that status with `{"errors":["<reason phrase>"]}`, e.g. `["Service Unavailable"]` | no |
//! | `slow:DURATION`           | the normal answer, after `DURATION` (`300ms`, `5s`, `1.5s`, `2m`) | yes, at once |
//! | `reset`                   | the TCP connection is reset; no HTTP response at all         | no        |
//! | `acted-but-lost`          | the TCP connection is reset; no HTTP response at all         | yes       |
//! | `malformed`               | 200 with a body that is not JSON: `{"id": 12, "name": `      | no        |
//! | `truncated`               | 200 with the first half of the real body (`Content-Length` matches the cut body) | yes |
//!
//! "Acted on" means the operation happened (a `POST /api/v1/monitor` created the monitor) even
//! though the client cannot tell from the answer: the case that catches duplicate creates.
//! An acted-on request is rate limited as usual (an injected `rate-limit` is not counted against
//! the real limit); a request refused for missing keys (403) is never faulted.
//!
//! Which requests: only `/api/` requests with both keys. A rule matches a request when its
//! `method` (any if `None`, case-insensitive) and `path_prefix` (any if `None`; compared with the
//! path without the query string; a trailing `$` asks for the whole path, e.g. `/api/v1/monitor$`
//! for creates without `/api/v1/monitor/validate`) fit. Each rule counts the requests it matches: the first `skip`
//! go through, the next `times` (`u64::MAX` = forever) are faulted, later ones go through again.
//! Rules are tried in order and the first one that injects takes the request (the rules after it
//! do not see that request). Counters are shared by all orgs: a test that needs faults should use
//! its own stand-in.
//!
//! Spec strings (`watchkeep-sandbox --fault`, `/_sandbox/faults`, `FaultRule::from_str`) read
//! `KIND[:ARG] [METHOD] [PATH_PREFIX] [skip=N] [times=N]`; `times=forever` and a method of `*` or
//! `ANY` spell out the defaults, and `Display` writes a rule back in this form:
//!
//! ```text
//! 503 POST /api/v1/monitor skip=2 times=1   # the third create gets a 503, once
//! acted-but-lost POST /api/v1/monitor times=1
//! slow:5s GET
//! rate-limit:2
//! reset
//! ```
//!
//! Setting faults:
//! - at start: `StandInOptions { faults: vec![...], ..Default::default() }`;
//! - at run time: [`DatadogStandIn::set_faults`] replaces the rules and restarts their counters
//!   (`set_faults(Vec::new())` turns faults off);
//! - `watchkeep-sandbox --fault SPEC` (repeatable), and while it runs, without keys:
//!   `POST /_sandbox/faults` with a JSON array of specs (`["503 POST /api/v1/monitor times=1"]`)
//!   replaces the rules, `DELETE /_sandbox/faults` removes them, `GET /_sandbox/faults` shows them.
//!   Each answers `{"faults": ["<spec>", ...], "injected": N}`; a bad spec gets a 400 naming it
//!   (`fault 2: unknown fault kind ...`) and changes nothing.
//!
//! ```no_run
//! use watchkeep_tests::{DatadogStandIn, FaultKind, FaultRule, StandInOptions};
//!
//! let server = DatadogStandIn::start(StandInOptions {
//!     faults: vec!["acted-but-lost POST /api/v1/monitor times=1".parse().unwrap()],
//!     ..Default::default()
//! })
//! .unwrap();
//! // ... run an apply against server.base_url() ...
//! assert_eq!(server.injected_count(), 1);
//! assert_eq!(server.requests_matching("POST", "/api/v1/monitor"), 1, "no retried create");
//! server.set_faults(vec![FaultRule::new(FaultKind::Status(503)).with_method("GET").with_times(2)]);
//! ```
//!
//! Observing: [`DatadogStandIn::injected_count`] (faults injected since start),
//! [`DatadogStandIn::requests_matching`] (requests served by method and path prefix, whatever the
//! answer) and [`DatadogStandIn::rate_limited_count`] (which includes injected 429s).
//!
//! Dropped connections are real: the socket is closed with `SO_LINGER 0`, so the client sees a
//! TCP reset (`connection reset by peer`) and not a byte of HTTP, whether the connection was new
//! or reused from its pool. Other requests are unaffected. A `slow` request still in flight when
//! the stand-in is dropped delays the stop by at most 2 s.

pub(crate) mod conn;
mod dashboards;
mod downtimes;
mod events;
mod faults;
mod hosts;
mod metrics;
mod monitors;
mod normalize;
mod png;
mod ratelimit;
mod spec;

#[cfg(test)]
mod fault_tests;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::future::{Future, IntoFuture};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};

use crate::server::BackgroundServer;

pub use faults::{FaultKind, FaultRule, FaultSpecError};
pub use spec::SPEC_ENV;

/// How the stand-in behaves beyond the API itself.
#[derive(Clone, Debug, Default)]
pub struct StandInOptions {
    /// Added to every request before answering.
    pub latency: std::time::Duration,
    /// `(limit, period_secs)`: a fixed window per org and API; `None` = unlimited.
    pub rate_limit: Option<(u64, u64)>,
    /// Faults injected from the start (see the module docs); change them with
    /// [`DatadogStandIn::set_faults`].
    pub faults: Vec<FaultRule>,
}

/// A running Datadog stand-in; dropping it stops the server.
pub struct DatadogStandIn {
    server: BackgroundServer,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for DatadogStandIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatadogStandIn").field("addr", &self.server.addr()).finish_non_exhaustive()
    }
}

impl DatadogStandIn {
    /// Binds 127.0.0.1:0 and serves on its own multi-thread tokio runtime in a background
    /// thread, so it works from sync `#[test]`s and from inside async code.
    pub fn start(opts: StandInOptions) -> std::io::Result<Self> {
        Self::bind(SocketAddr::from(([127, 0, 0, 1], 0)), opts)
    }

    /// Like [`DatadogStandIn::start`] on a chosen address.
    pub fn bind(addr: SocketAddr, opts: StandInOptions) -> std::io::Result<Self> {
        spec::spec().map_err(std::io::Error::other)?;
        let shared = Arc::new(Shared::new(opts, 0));
        let thread_shared = Arc::clone(&shared);
        let server = BackgroundServer::start(addr, "datadog-stand-in", 2, move |listener, shutdown| {
            serve_bounded(listener, thread_shared, None, shutdown)
        })?;
        Ok(DatadogStandIn { server, shared })
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// `http://127.0.0.1:PORT` (no trailing slash, no `/api`).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.server.addr())
    }

    /// Out-of-band view of one org's monitors exactly as `GET /api/v1/monitor` returns them.
    pub fn monitors(&self, api_key: &str) -> Vec<Value> {
        let org = self.shared.org(api_key);
        let store = read(&org.monitors);
        store.map.values().map(|m| m.value.clone()).collect()
    }

    /// One org's monitors as their create answers showed them (with `restriction_policy`, `assets`).
    #[cfg(test)]
    pub(crate) fn monitors_as_created(&self, api_key: &str) -> Vec<Value> {
        let org = self.shared.org(api_key);
        let store = read(&org.monitors);
        store.map.values().map(|m| m.full.clone()).collect()
    }

    /// Out-of-band view of one org's v2 downtimes as `GET /api/v2/downtime` lists them
    /// (cancelled ones included, with `status: "canceled"`).
    pub fn downtimes(&self, api_key: &str) -> Vec<Value> {
        downtimes::all(&self.shared.org(api_key))
    }

    /// Bulk insert with the same (validation-free) normalisation as POST; returns the new ids.
    pub fn seed_monitors(&self, api_key: &str, bodies: Vec<Value>) -> Vec<i64> {
        monitors::seed(&self.shared.org(api_key), bodies)
    }

    /// Sets a monitor's `overall_state` (`"OK"`, `"Alert"`, `"No Data"`, …) and its
    /// `overall_state_modified` to now, without an event. A monitor stays in `"No Data"` from
    /// its create (as every recorded create answers) until points posted to `/api/v1/series`
    /// make the stand-in evaluate it (simple metric queries only, see the `metrics` module) or
    /// a test says what Datadog's evaluation would have found. `false` when there is no such
    /// monitor.
    pub fn set_monitor_state(&self, api_key: &str, id: i64, state: &str) -> bool {
        monitors::set_state(&self.shared.org(api_key), id, state)
    }

    /// One org's events as `GET /api/v1/events` lists them, oldest first.
    pub fn events(&self, api_key: &str) -> Vec<Value> {
        events::all(&self.shared.org(api_key))
    }

    /// Inserts events (`Event` objects with at least `date_happened`) into one org's stream,
    /// e.g. more than a page of them; ids are given to those without.
    pub fn seed_events(&self, api_key: &str, events: Vec<Value>) {
        events::seed(&self.shared.org(api_key), events);
    }

    /// `(downloads, downloads with a DD-API-KEY or DD-APPLICATION-KEY header)` of graph
    /// snapshot images so far (the real image URL is public: a client should send no keys).
    pub fn snapshot_downloads(&self) -> (usize, usize) {
        metrics::snapshot_downloads(&self.shared)
    }

    /// The next `n` snapshot image downloads answer 403, as an image Datadog has not rendered
    /// yet would.
    pub fn set_snapshot_pending(&self, n: usize) {
        write(&self.shared.snapshots).pending = n;
    }

    /// Makes one org answer like Datadog did on `date` (`None`: today's Datadog, the default), for
    /// the changes the recorded corpus dates (fields Datadog added or dropped since: see the
    /// stand-in's `normalize::Era`). For replaying a recording made on that date; affects what
    /// the org creates from then on.
    pub fn set_api_date(&self, api_key: &str, date: Option<chrono::NaiveDate>) {
        *write(&self.shared.org(api_key).api_date) = date;
    }

    /// Inserts (or replaces, by name) hosts listed by `GET /api/v1/hosts`.
    pub fn seed_hosts(&self, api_key: &str, hosts: Vec<Value>) {
        hosts::seed(&self.shared.org(api_key), hosts);
    }

    /// Makes hosts (by name) reporting for good in one org: their `last_reported_time` is the
    /// time of each `GET /api/v1/hosts`, as for a host whose agent keeps sending.
    pub fn seed_agents(&self, api_key: &str, names: &[&str]) {
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        hosts::seed_agents(&self.shared.org(api_key), &names);
    }

    /// All HTTP requests served (including 4xx and 429 answers).
    pub fn request_count(&self) -> u64 {
        self.shared.requests.load(Ordering::Relaxed)
    }

    /// Resets [`DatadogStandIn::request_count`] and [`DatadogStandIn::requests_matching`].
    pub fn reset_request_count(&self) {
        self.shared.requests.store(0, Ordering::Relaxed);
        self.shared.tally.clear();
    }

    /// 429 answers given (including injected [`FaultKind::RateLimit`] faults).
    pub fn rate_limited_count(&self) -> u64 {
        self.shared.rate_limited.load(Ordering::Relaxed)
    }

    /// Replaces the fault rules; the new rules count matching requests from zero.
    pub fn set_faults(&self, rules: Vec<FaultRule>) {
        self.shared.faults.set(rules);
    }

    /// The fault rules in force.
    pub fn faults(&self) -> Vec<FaultRule> {
        self.shared.faults.rules()
    }

    /// Faults injected since the stand-in started (not reset by [`DatadogStandIn::set_faults`]).
    pub fn injected_count(&self) -> u64 {
        self.shared.faults.injected()
    }

    /// Requests served whose method is `method` (case-insensitive) and whose path starts with
    /// `path_prefix`, whatever the answer (faults, 4xx and 429 included), across all orgs.
    /// E.g. `requests_matching("POST", "/api/v1/monitor")` also counts `/api/v1/monitor/validate`.
    pub fn requests_matching(&self, method: &str, path_prefix: &str) -> u64 {
        self.shared.tally.matching(method, path_prefix)
    }

    /// Serves on `addr` until SIGINT/SIGTERM (for the `watchkeep-sandbox` binary).
    /// `on_bound` is called with the bound address (useful with port 0).
    pub async fn serve_until_signal(
        addr: SocketAddr,
        opts: StandInOptions,
        on_bound: impl FnOnce(SocketAddr),
    ) -> std::io::Result<()> {
        Self::serve_until_signal_with_demo_hosts(addr, opts, 0, on_bound).await
    }

    /// [`DatadogStandIn::serve_until_signal`], seeding hosts `web-1..web-N` into every org
    /// when it is first used.
    pub async fn serve_until_signal_with_demo_hosts(
        addr: SocketAddr,
        opts: StandInOptions,
        demo_hosts: usize,
        on_bound: impl FnOnce(SocketAddr),
    ) -> std::io::Result<()> {
        Self::serve_until_signal_with_router(addr, opts, demo_hosts, None, on_bound).await
    }

    /// [`DatadogStandIn::serve_until_signal_with_router`] also seeding `agents` (host names) into
    /// every org when it is first used, as hosts whose agent keeps reporting: their
    /// `last_reported_time` is the time of each `GET /api/v1/hosts` (`watchkeep-sandbox`).
    pub async fn serve_until_signal_with_agents(
        addr: SocketAddr,
        opts: StandInOptions,
        demo_hosts: usize,
        agents: Vec<String>,
        extra: Option<Router>,
        on_bound: impl FnOnce(SocketAddr),
    ) -> std::io::Result<()> {
        if let Err(e) = spec::spec() {
            eprintln!("watchkeep-sandbox: warning: Datadog spec unavailable, requests will fail: {e}");
        }
        let listener = tokio::net::TcpListener::bind(addr).await?;
        on_bound(listener.local_addr()?);
        let mut shared = Shared::new(opts, demo_hosts);
        shared.agents = agents;
        serve_bounded(listener, Arc::new(shared), extra, shutdown_signal()).await;
        Ok(())
    }

    /// [`DatadogStandIn::serve_until_signal_with_demo_hosts`], also serving `extra` (another
    /// vendor's stand-in, e.g. NerdGraph's `/graphql`) on the same listener. Its routes get none
    /// of the Datadog middleware (keys, rate limit, faults, counters).
    pub async fn serve_until_signal_with_router(
        addr: SocketAddr,
        opts: StandInOptions,
        demo_hosts: usize,
        extra: Option<Router>,
        on_bound: impl FnOnce(SocketAddr),
    ) -> std::io::Result<()> {
        Self::serve_until_signal_with_agents(addr, opts, demo_hosts, Vec::new(), extra, on_bound).await
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            // No SIGINT handling here: wait for SIGTERM instead of stopping at once.
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

/// Serves until `shutdown` completes, then lets in-flight requests finish for at most 2 s.
async fn serve_bounded(
    listener: tokio::net::TcpListener,
    shared: Arc<Shared>,
    extra: Option<Router>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let mut app = router(shared);
    if let Some(extra) = extra {
        app = app.merge(extra);
    }
    let app = app.into_make_service_with_connect_info::<conn::ConnHandle>();
    let server = axum::serve(conn::FaultListener::new(listener), app)
        .with_graceful_shutdown(async move {
            let _ = stop_rx.await;
        })
        .into_future();
    let mut server = tokio::spawn(server);
    tokio::select! {
        res = &mut server => {
            if let Ok(Err(e)) = res {
                eprintln!("datadog stand-in: server error: {e}");
            }
            return;
        }
        () = shutdown => {}
    }
    let _ = stop_tx.send(());
    if tokio::time::timeout(Duration::from_secs(2), &mut server).await.is_err() {
        server.abort();
    }
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/api/v1/validate", get(validate_keys))
        .route("/api/v1/monitor", get(monitors::list).post(monitors::create))
        .route("/api/v1/monitor/validate", post(monitors::validate))
        .route("/api/v1/monitor/can_delete", get(monitors::can_delete))
        .route(
            "/api/v1/monitor/{monitor_id}",
            get(monitors::get_one).put(monitors::update).delete(monitors::delete),
        )
        .route("/api/v1/monitor/{monitor_id}/validate", post(monitors::validate_existing))
        .route("/api/v1/dashboard", get(dashboards::list).post(dashboards::create))
        .route(
            "/api/v1/dashboard/{dashboard_id}",
            get(dashboards::get_one).put(dashboards::update).delete(dashboards::delete),
        )
        .route("/api/v1/hosts", get(hosts::list))
        .route("/api/v1/series", post(hosts::submit_series))
        .route("/api/v2/downtime", get(downtimes::list).post(downtimes::create))
        .route(
            "/api/v2/downtime/{downtime_id}",
            get(downtimes::get_one).patch(downtimes::update).delete(downtimes::cancel),
        )
        .route("/api/v1/events", get(events::list))
        .route("/api/v1/query", get(metrics::query))
        .route("/api/v1/graph/snapshot", get(metrics::snapshot))
        .route("/snapshot/view/{file}", get(metrics::snapshot_image))
        .route("/_sandbox/faults", get(faults::list).post(faults::replace).delete(faults::clear))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(32 * 1024 * 1024))
        .layer(axum::middleware::from_fn_with_state(Arc::clone(&shared), ratelimit::middleware))
        .with_state(shared)
}

async fn not_found() -> Response {
    error_response(StatusCode::NOT_FOUND, "Not found")
}

async fn method_not_allowed() -> Response {
    error_response(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed")
}

/// `GET /api/v1/validate`: the key check Datadog clients use.
async fn validate_keys() -> Response {
    json_response(StatusCode::OK, r#"{"valid":true}"#.to_owned())
}

/// Process-wide state of one stand-in.
pub(crate) struct Shared {
    pub(crate) opts: StandInOptions,
    demo_hosts: usize,
    /// Hosts seeded into every new org whose agent keeps reporting (see `hosts::seed_agents`).
    agents: Vec<String>,
    orgs: RwLock<HashMap<String, Arc<Org>>>,
    next_org_id: AtomicI64,
    pub(crate) requests: AtomicU64,
    pub(crate) rate_limited: AtomicU64,
    pub(crate) limiter: ratelimit::Limiter,
    pub(crate) faults: faults::FaultTable,
    pub(crate) tally: faults::RequestTally,
    next_widget_id: AtomicI64,
    rng: Mutex<u64>,
    /// Graph snapshot images (served without keys, like Datadog's public snapshot URLs).
    pub(crate) snapshots: RwLock<metrics::Snapshots>,
}

/// One org's state (one `DD-API-KEY`).
pub(crate) struct Org {
    pub(crate) id: i64,
    pub(crate) monitors: RwLock<monitors::MonitorStore>,
    pub(crate) dashboards: RwLock<dashboards::DashboardStore>,
    pub(crate) hosts: RwLock<hosts::HostStore>,
    /// The date whose Datadog this org answers like (`None`: today's), see [`normalize::Era`].
    api_date: RwLock<Option<chrono::NaiveDate>>,
    pub(crate) downtimes: RwLock<downtimes::DowntimeStore>,
    /// Points accepted by `POST /api/v1/series`, by metric.
    pub(crate) metrics: RwLock<metrics::MetricStore>,
    /// The evaluator's state of every group of every monitor it evaluated.
    pub(crate) group_states: RwLock<HashMap<i64, std::collections::BTreeMap<String, String>>>,
    /// Monitor events (`GET /api/v1/events`).
    pub(crate) events: RwLock<events::EventStore>,
}

impl Org {
    pub(crate) fn era(&self) -> normalize::Era {
        normalize::Era(*read(&self.api_date))
    }
}

impl Shared {
    fn new(mut opts: StandInOptions, demo_hosts: usize) -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x9E37_79B9_7F4A_7C15);
        Shared {
            limiter: ratelimit::Limiter::new(opts.rate_limit),
            // The table is the one source of truth for faults: `opts.faults` is left empty.
            faults: faults::FaultTable::new(std::mem::take(&mut opts.faults)),
            tally: faults::RequestTally::default(),
            opts,
            demo_hosts,
            agents: Vec::new(),
            orgs: RwLock::new(HashMap::new()),
            next_org_id: AtomicI64::new(321_813),
            requests: AtomicU64::new(0),
            rate_limited: AtomicU64::new(0),
            next_widget_id: AtomicI64::new(1_000_000_000_000_001),
            rng: Mutex::new(seed | 1),
            snapshots: RwLock::new(metrics::Snapshots::default()),
        }
    }

    /// The org of `api_key`, created (with demo hosts) on first use.
    pub(crate) fn org(&self, api_key: &str) -> Arc<Org> {
        if let Some(org) = read(&self.orgs).get(api_key) {
            return Arc::clone(org);
        }
        let mut orgs = write(&self.orgs);
        if let Some(org) = orgs.get(api_key) {
            return Arc::clone(org);
        }
        let org = Arc::new(Org {
            id: self.next_org_id.fetch_add(1, Ordering::Relaxed),
            monitors: RwLock::new(monitors::MonitorStore::new()),
            dashboards: RwLock::new(dashboards::DashboardStore::default()),
            hosts: RwLock::new(hosts::HostStore::default()),
            api_date: RwLock::new(None),
            downtimes: RwLock::new(downtimes::DowntimeStore::default()),
            metrics: RwLock::new(metrics::MetricStore::default()),
            group_states: RwLock::new(HashMap::new()),
            events: RwLock::new(events::EventStore::default()),
        });
        if self.demo_hosts > 0 {
            hosts::seed(&org, hosts::demo_hosts(self.demo_hosts));
        }
        if !self.agents.is_empty() {
            hosts::seed_agents(&org, &self.agents);
        }
        orgs.insert(api_key.to_owned(), Arc::clone(&org));
        org
    }

    /// The org of a request (its `DD-API-KEY`; the middleware has checked it is present).
    pub(crate) fn org_of(&self, headers: &HeaderMap) -> Arc<Org> {
        self.org(&ratelimit::header_text(headers, "dd-api-key"))
    }

    pub(crate) fn widget_id(&self) -> i64 {
        self.next_widget_id.fetch_add(1, Ordering::Relaxed)
    }

    /// splitmix64.
    pub(crate) fn random(&self) -> u64 {
        let mut state = self.rng.lock().unwrap_or_else(|e| e.into_inner());
        *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

pub(crate) fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|e| e.into_inner())
}

/// A JSON answer from an already serialised body.
pub(crate) fn json_response(status: StatusCode, body: String) -> Response {
    let mut resp = (status, body).into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

pub(crate) fn value_response(status: StatusCode, value: &Value) -> Response {
    json_response(status, value.to_string())
}

/// Datadog's error shape: `{"errors": ["..."]}`.
pub(crate) fn error_response(status: StatusCode, message: &str) -> Response {
    errors_response(status, &[message.to_owned()])
}

pub(crate) fn errors_response(status: StatusCode, messages: &[String]) -> Response {
    value_response(status, &json!({ "errors": messages }))
}

/// Decoded query pairs, in order.
pub(crate) fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    raw.map(|q| form_urlencoded::parse(q.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
        .unwrap_or_default()
}

pub(crate) fn query_get<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// Checks query parameters against the spec (400 on a violation).
pub(crate) fn check_query(method: &str, path: &str, pairs: &[(String, String)]) -> Result<(), Response> {
    let spec = spec::spec().map_err(|e| spec_unavailable(&e))?;
    spec.check_query(method, path, pairs).map_err(|errs| errors_response(StatusCode::BAD_REQUEST, &errs))
}

/// Parses a JSON body and checks it against the operation's request schema.
pub(crate) fn parse_body(method: &str, path: &str, bytes: &[u8]) -> Result<Value, Response> {
    let body: Value = serde_json::from_slice(bytes).map_err(|e| {
        error_response(StatusCode::BAD_REQUEST, &format!("Invalid JSON in request body: {e}"))
    })?;
    let spec = spec::spec().map_err(|e| spec_unavailable(&e))?;
    spec.check_body(method, path, &body).map_err(|errs| errors_response(StatusCode::BAD_REQUEST, &errs))?;
    Ok(body)
}

fn spec_unavailable(e: &str) -> Response {
    error_response(StatusCode::INTERNAL_SERVER_ERROR, &format!("stand-in has no Datadog spec: {e}"))
}

/// Turns a body-extraction failure into Datadog's error shape.
pub(crate) fn body_rejection(e: axum::extract::rejection::BytesRejection) -> Response {
    error_response(e.status(), &e.body_text())
}

/// Turns a path-extraction failure into Datadog's error shape.
pub(crate) fn path_rejection(e: axum::extract::rejection::PathRejection) -> Response {
    error_response(e.status(), &e.body_text())
}
