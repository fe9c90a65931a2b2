//! A stateful New Relic NerdGraph (GraphQL) stand-in: `POST /graphql`, as
//! `https://api.newrelic.com/graphql` answers it.
//!
//! # Every document is checked against the schema
//!
//! The NerdGraph SDL (`shared/specs/newrelic-nerdgraph.graphql`, or `$WATCHKEEP_NEWRELIC_SCHEMA`;
//! the stand-in refuses to start without it) is loaded once with `apollo-compiler`, and every
//! request is parsed and validated against it: unknown fields and types, argument types, missing
//! required arguments, fragments, undefined or unused variables, variables used where their type
//! does not fit. Literals are checked against New Relic's custom scalars (`Seconds` is an integer,
//! `Nrql` a string, `DateTime` ISO 8601) and its 53-bit `Int`, and the request's `variables` are
//! coerced to the operation's definitions (types, non-null, enum values, input object fields and
//! their defaults). See [`schema`] for what in the SDL needed care.
//!
//! A refused document is answered the way NerdGraph answers: HTTP 200,
//! `{"errors": [{"message", "locations": [{"line", "column"}], "extensions": {"errorClass"}}],
//! "data": null}`, with `errorClass` `GRAPHQL_PARSE_FAILED` (syntax),
//! `GRAPHQL_VALIDATION_FAILED` (the document against the schema) or `BAD_USER_INPUT` (the
//! variables). [`NewRelicStandIn::documents`] lists every document received with the verdict, so
//! a provider's tests can assert that everything it sends is valid.
//!
//! # Execution
//!
//! Valid operations run against in-memory state ([`exec`]): apollo-compiler's executor does
//! field collection, aliases, fragments with type conditions, `__typename`, default argument
//! values, null propagation and introspection (`__schema`, `__type`); the stand-in's objects are
//! JSON in NerdGraph's shapes. Supported root fields: [`SUPPORTED_ROOT_FIELDS`]; under `actor`:
//! `accounts`, `account(id) { id name alerts { policiesSearch policy nrqlConditionsSearch
//! nrqlCondition } aiNotifications { destinations channels } aiWorkflows { workflows } aiIssues {
//! incidents } }`, `entity(guid)`, `entities(guids)`, `entitySearch`. Any other field of a valid
//! document is answered with an error naming it (`errorClass` `STAND_IN_NOT_IMPLEMENTED`), never
//! a silent `null`. Server-side defaults and business rules: [`alerts`], [`notifications`],
//! [`workflows`], [`entities`], [`incidents`]. The test mutations
//! (`aiNotificationsTestDestinationById`, `aiNotificationsTestChannelById`) really POST to
//! webhook destinations (see [`notifications`]).
//!
//! # Keys and accounts
//!
//! The `API-Key` header is required and must look like a user key (`NRAK-` followed by letters
//! and digits); otherwise HTTP 401 `{"errors": [{"message": "Bad API Key or no API Key
//! provided", "extensions": {"error_code": "BAD_API_KEY"}}]}` (New Relic's own answer).
//! Every distinct key has its own state, starting with one account whose id is
//! [`default_account_id`] (`1_000_000 + fnv1a(key) % 9_000_000`; also
//! [`NewRelicStandIn::account_id`], or ask `{ actor { accounts { id name } } }`). More accounts:
//! [`NewRelicStandIn::add_account`]. An `accountId` (or `actor.account(id)`) that is not one of
//! the key's accounts is refused (`errorClass` `FORBIDDEN`, or `UNAUTHORIZED_ACCOUNT` inside
//! `data` for `aiNotifications*`/`aiWorkflows*`).
//!
//! # Pages, limits, faults
//!
//! Lists use opaque cursors; page sizes are [`PageSizes`] (entity search 200 like New Relic,
//! incidents 100, the others 50 by default). At most 25 requests per key may be in flight
//! ([`NewRelicOptions::max_in_flight_per_key`]); the next gets HTTP 429 with
//! `errorClass` `TOO_MANY_REQUESTS`. Faults ([`NerdGraphFaultRule`]) are chosen by root field or
//! operation type, with `skip`/`times`:
//!
//! ```text
//! error:TIMEOUT alertsNrqlConditionStaticCreate times=1   # errors[].extensions.errorClass, not acted on
//! acted-error:TIMEOUT mutation times=1                    # the mutation ran, then the error
//! 429 query                                               # HTTP 429 (Retry-After: 1)
//! 503 skip=2 times=1                                      # HTTP 503
//! slow:2s dashboardCreate                                 # acted on, answered after 2 s
//! acted-but-lost aiWorkflowsCreateWorkflow times=1        # acted on, connection reset
//! ```
//!
//! Set them with [`NewRelicOptions::faults`], [`NewRelicStandIn::set_faults`], or in the
//! sandbox with `--newrelic-fault SPEC` and `POST`/`DELETE`/`GET /_sandbox/newrelic/faults`
//! (a JSON array of specs, answered with `{"faults": [...], "injected": N}`).
//!
//! # Test hooks
//!
//! [`NewRelicStandIn::objects`], [`NewRelicStandIn::object`], [`NewRelicStandIn::modify`] and
//! [`NewRelicStandIn::remove`] read and change state behind the API's back (drift made in the
//! New Relic UI); [`NewRelicStandIn::destination_secrets`] shows the secrets a destination was
//! given; [`NewRelicStandIn::seed_hosts`] adds infrastructure hosts;
//! [`NewRelicStandIn::open_incident`] and [`NewRelicStandIn::close_incident`] make the incidents
//! a condition would have opened and closed; request counters and the document log as above;
//! [`NewRelicStandIn::snapshot_fetches`] lists the downloads of snapshot URLs (and whether a
//! key was sent with them).
//!
//! # Events, NRQL, conditions that fire and recover, snapshots
//!
//! Over HTTP on loopback, so they work while `watchkeep-sandbox` runs:
//!
//! * `POST /v1/accounts/{accountId}/events` is New Relic's Event API (a JSON array of
//!   `{"eventType": "SystemSample", "hostname": "web-1", "cpuPercent": 97, "timestamp": …}`),
//!   with the account's **user key** in `Api-Key` (the stand-in has no license keys). Every post
//!   evaluates the account's NRQL conditions ([`nrql`]): a condition whose CRITICAL term is
//!   breached for its duration opens an incident; when it no longer is, the incident closes.
//!   `actor.account(id).nrql(query:)` answers the subset of NRQL watchkeep writes from the same
//!   events.
//! * `POST /_sandbox/newrelic/incidents` (a stand-in control, not a New Relic API) opens or
//!   closes a condition's incident directly: `{"conditionId": "…", "action": "open" | "close",
//!   "title"?: "…", "priority"?: "CRITICAL"}` with the user key in `API-Key`.
//! * `dashboardCreateSnapshotUrl` hands out `…/_sandbox/newrelic/snapshot/<uuid>?format=PDF&width=2000&height=2000`
//!   (the shape of New Relic's URL), served without a key: a PDF, or with `format=PNG` a PNG
//!   of the page (its widgets, and the posted events their queries select); see `render.rs`.
//!
//! ```text
//! curl -s -X POST http://127.0.0.1:8080/v1/accounts/$ACCOUNT/events -H "Api-Key: $NEW_RELIC_API_KEY" \
//!   -d '[{"eventType":"SystemSample","hostname":"web-1","cpuPercent":97}]'
//! curl -s -X POST http://127.0.0.1:8080/_sandbox/newrelic/incidents -H "API-Key: $NEW_RELIC_API_KEY" \
//!   -d '{"conditionId":"31000002","action":"close"}'
//! ```
//!
//! ```no_run
//! use serde_json::json;
//! use watchkeep_tests::newrelic::{NewRelicOptions, NewRelicStandIn, ObjectKind};
//!
//! let nr = NewRelicStandIn::start(NewRelicOptions::default()).unwrap();
//! let account = nr.account_id("NRAK-TEST");
//! // ... point the provider at nr.graphql_url() with API key NRAK-TEST ...
//! assert!(nr.invalid_documents().is_empty(), "every document the provider sent is valid");
//! for c in nr.objects("NRAK-TEST", ObjectKind::NrqlCondition) {
//!     nr.modify("NRAK-TEST", ObjectKind::NrqlCondition, c["id"].as_str().unwrap(), |c| {
//!         c["terms"][0]["threshold"] = json!(99.0); // drift
//!     });
//! }
//! # let _ = account;
//! ```

pub mod alerts;
pub mod entities;
pub mod exec;
mod faults;
pub mod incidents;
pub mod muting;
pub mod notifications;
pub mod nrql;
mod render;
pub mod schema;
mod state;
pub mod workflows;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::future::{Future, IntoFuture};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::connect_info::ConnectInfo;
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Map, Value};

use crate::datadog::conn::{ConnHandle, FaultListener};
use crate::datadog::FaultKind;
use crate::server::BackgroundServer;

pub use entities::{demo_hosts, EntitySeed, HostSeed};
pub use exec::SUPPORTED_ROOT_FIELDS;
pub use faults::{NerdGraphFault, NerdGraphFaultRule};
pub use schema::{GraphqlError, SCHEMA_ENV};
pub use state::{default_account_id, ObjectKind};

/// Page sizes of the cursor-paginated lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageSizes {
    /// `policiesSearch`, `nrqlConditionsSearch`.
    pub alerts: usize,
    /// `aiNotifications.destinations`, `aiNotifications.channels`.
    pub notifications: usize,
    /// `aiWorkflows.workflows`.
    pub workflows: usize,
    /// `entitySearch.results` (New Relic: 200).
    pub entities: usize,
    /// `aiIssues.incidents` (New Relic: 100).
    pub incidents: usize,
}

impl Default for PageSizes {
    fn default() -> Self {
        PageSizes { alerts: 50, notifications: 50, workflows: 50, entities: 200, incidents: 100 }
    }
}

impl PageSizes {
    /// Every list in pages of `n` (to force several pages in tests).
    pub fn all(n: usize) -> Self {
        PageSizes { alerts: n, notifications: n, workflows: n, entities: n, incidents: n }
    }
}

/// How the stand-in behaves beyond the API itself.
#[derive(Clone, Debug)]
pub struct NewRelicOptions {
    /// Added to every request (after the in-flight check, so slow requests occupy their slot).
    pub latency: Duration,
    /// Faults injected from the start; change them with [`NewRelicStandIn::set_faults`].
    pub faults: Vec<NerdGraphFaultRule>,
    /// Requests one API key may have in flight; the next gets HTTP 429 (New Relic: 25).
    pub max_in_flight_per_key: usize,
    pub page_sizes: PageSizes,
}

impl Default for NewRelicOptions {
    fn default() -> Self {
        NewRelicOptions {
            latency: Duration::ZERO,
            faults: Vec::new(),
            max_in_flight_per_key: 25,
            page_sizes: PageSizes::default(),
        }
    }
}

/// One request document as received, with the validation verdict.
#[derive(Clone, Debug, PartialEq)]
pub struct ReceivedDocument {
    pub api_key: String,
    pub query: String,
    pub variables: Value,
    pub operation_name: Option<String>,
    /// Root fields the operation asked for (as far as the document parsed).
    pub root_fields: Vec<String>,
    /// Whether the document, its literals and its variables passed every check.
    pub valid: bool,
    /// Why not, as answered.
    pub errors: Vec<GraphqlError>,
}

/// A running NerdGraph stand-in; dropping it stops the server.
pub struct NewRelicStandIn {
    server: BackgroundServer,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for NewRelicStandIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewRelicStandIn").field("addr", &self.server.addr()).finish_non_exhaustive()
    }
}

impl NewRelicStandIn {
    /// Binds 127.0.0.1:0 and serves on its own tokio runtime in a background thread (usable
    /// from sync tests and async code alike). Fails if the schema cannot be loaded.
    pub fn start(opts: NewRelicOptions) -> std::io::Result<Self> {
        Self::bind(SocketAddr::from(([127, 0, 0, 1], 0)), opts)
    }

    /// Like [`NewRelicStandIn::start`] on a chosen address.
    pub fn bind(addr: SocketAddr, opts: NewRelicOptions) -> std::io::Result<Self> {
        schema::nerdgraph().map_err(std::io::Error::other)?;
        let shared = Arc::new(Shared::new(opts, 0));
        let app = router(Arc::clone(&shared));
        let server = BackgroundServer::start(addr, "newrelic-stand-in", 2, move |listener, shutdown| {
            serve(listener, app, shutdown)
        })?;
        Ok(NewRelicStandIn { server, shared })
    }

    /// The routes of a stand-in (`POST /graphql`, `/_sandbox/newrelic/...`) to serve on another
    /// server's listener, as `watchkeep-sandbox` does next to the Datadog API. `demo_hosts`
    /// hosts `web-1..web-N` are seeded into every account a key starts with.
    pub fn sandbox_router(opts: NewRelicOptions, demo_hosts: usize) -> std::io::Result<Router> {
        schema::nerdgraph().map_err(std::io::Error::other)?;
        Ok(router(Arc::new(Shared::new(opts, demo_hosts))))
    }

    /// [`NewRelicStandIn::sandbox_router`] also seeding `entities` into every account a key
    /// starts with (the sandbox's inventory entities).
    pub fn sandbox_router_with_entities(
        opts: NewRelicOptions,
        demo_hosts: usize,
        entities: Vec<EntitySeed>,
    ) -> std::io::Result<Router> {
        schema::nerdgraph().map_err(std::io::Error::other)?;
        let mut shared = Shared::new(opts, demo_hosts);
        shared.entities = entities;
        Ok(router(Arc::new(shared)))
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.server.addr())
    }

    /// `http://127.0.0.1:PORT/graphql`.
    pub fn graphql_url(&self) -> String {
        format!("http://{}/graphql", self.server.addr())
    }

    /// The first account of `api_key` (its state is created if this is the key's first use).
    pub fn account_id(&self, api_key: &str) -> i64 {
        let tenant = self.shared.tenant(api_key);
        let tenant = lock(&tenant);
        tenant.accounts.keys().next().copied().unwrap_or_else(|| default_account_id(api_key))
    }

    /// `(id, name)` of every account of `api_key`.
    pub fn accounts(&self, api_key: &str) -> Vec<(i64, String)> {
        let tenant = self.shared.tenant(api_key);
        let tenant = lock(&tenant);
        tenant.accounts.values().map(|a| (a.id, a.name.clone())).collect()
    }

    /// Gives `api_key` another account (no-op if it has it).
    pub fn add_account(&self, api_key: &str, id: i64, name: &str) {
        let tenant = self.shared.tenant(api_key);
        let mut tenant = lock(&tenant);
        tenant.accounts.entry(id).or_insert_with(|| state::Account::new(id, name.to_owned()));
    }

    /// Inserts (or replaces, by name) hosts into the key's first account.
    pub fn seed_hosts(&self, api_key: &str, hosts: &[HostSeed]) {
        let id = self.account_id(api_key);
        self.seed_hosts_in(api_key, id, hosts);
    }

    /// Inserts (or replaces, by name) hosts into one of the key's accounts; false if it has no
    /// such account.
    pub fn seed_hosts_in(&self, api_key: &str, account_id: i64, hosts: &[HostSeed]) -> bool {
        let tenant = self.shared.tenant(api_key);
        let mut tenant = lock(&tenant);
        match tenant.account_mut(account_id) {
            Some(account) => {
                entities::seed_hosts(account, hosts);
                true
            }
            None => false,
        }
    }

    /// Inserts (or replaces, by name and type) infrastructure entities (hosts, containers,
    /// cloud databases) into one of the key's accounts, as `entitySearch` finds them; false if
    /// it has no such account.
    pub fn seed_entities_in(&self, api_key: &str, account_id: i64, seeds: &[EntitySeed]) -> bool {
        let tenant = self.shared.tenant(api_key);
        let mut tenant = lock(&tenant);
        match tenant.account_mut(account_id) {
            Some(account) => {
                entities::seed_entities(account, seeds);
                true
            }
            None => false,
        }
    }

    /// Every object of a kind in the key's accounts, as stored (NerdGraph's shape; objects of
    /// interface type carry `__typename`).
    pub fn objects(&self, api_key: &str, kind: ObjectKind) -> Vec<Value> {
        let tenant = self.shared.tenant(api_key);
        let tenant = lock(&tenant);
        tenant.accounts.values().flat_map(|a| a.store(kind).values().cloned()).collect()
    }

    /// One object by id (policies, conditions, destinations, channels, workflows, incidents) or
    /// guid (dashboards, hosts).
    pub fn object(&self, api_key: &str, kind: ObjectKind, id: &str) -> Option<Value> {
        let tenant = self.shared.tenant(api_key);
        let tenant = lock(&tenant);
        tenant.accounts.values().find_map(|a| a.store(kind).get(id).cloned())
    }

    /// Changes an object behind the API's back (drift made in the New Relic UI); false if there
    /// is no such object. Keep the value in NerdGraph's shape.
    pub fn modify(&self, api_key: &str, kind: ObjectKind, id: &str, change: impl FnOnce(&mut Value)) -> bool {
        let tenant = self.shared.tenant(api_key);
        let mut tenant = lock(&tenant);
        match tenant.accounts.values_mut().find_map(|a| a.store_mut(kind).get_mut(id)) {
            Some(v) => {
                change(v);
                true
            }
            None => false,
        }
    }

    /// Deletes an object behind the API's back; false if there was none.
    pub fn remove(&self, api_key: &str, kind: ObjectKind, id: &str) -> bool {
        let tenant = self.shared.tenant(api_key);
        let mut tenant = lock(&tenant);
        tenant.accounts.values_mut().any(|a| {
            let gone = a.store_mut(kind).shift_remove(id).is_some();
            if gone && kind == ObjectKind::Destination {
                a.secrets.remove(id);
            }
            gone
        })
    }

    /// The secrets a destination was given (`{"auth": {...}, "secureUrl": {"secureSuffix"}}`),
    /// which no query returns.
    pub fn destination_secrets(&self, api_key: &str, destination_id: &str) -> Option<Value> {
        let tenant = self.shared.tenant(api_key);
        let tenant = lock(&tenant);
        tenant.accounts.values().find_map(|a| a.secrets.get(destination_id).cloned())
    }

    /// Opens an incident of the NRQL condition `condition_id` in the key's first account, as New
    /// Relic does when the condition's threshold is breached; returns its `incidentId` (a UUID).
    ///
    /// `priority` is an `AiIssuesPriority` (`CRITICAL`, `HIGH`, `MEDIUM`, `LOW`; any case);
    /// `created_at_ms` is epoch milliseconds (`createdAt`, `updatedAt`, `timestamp`). The
    /// incident is `CREATED` (open) with `conditionFamilyId = condition_id`; its `policyIds` and
    /// `description` come from the condition when the account has it (a condition that is gone
    /// or never existed is fine: incidents outlive their conditions). Read it back with
    /// `actor.account(id).aiIssues.incidents` or [`NewRelicStandIn::objects`] with
    /// [`ObjectKind::Incident`].
    ///
    /// # Panics
    ///
    /// If `priority` is not an `AiIssuesPriority` value (a mistake in the test).
    pub fn open_incident(
        &self,
        api_key: &str,
        condition_id: &str,
        priority: &str,
        title: &str,
        created_at_ms: i64,
    ) -> String {
        let priority = priority.to_ascii_uppercase();
        assert!(
            incidents::PRIORITIES.contains(&priority.as_str()),
            "`{priority}` is not an AiIssuesPriority (expected one of {:?})",
            incidents::PRIORITIES
        );
        let incident_id = self.shared.uuid();
        let tenant = self.shared.tenant(api_key);
        let mut tenant = lock(&tenant);
        let (_, account) = tenant.accounts.first_mut().expect("every key starts with an account");
        let incident =
            incidents::new_incident(account, &incident_id, condition_id, &priority, title, created_at_ms);
        account.incidents.insert(incident_id.clone(), incident);
        incident_id
    }

    /// Closes an open incident at `closed_at_ms` (epoch milliseconds): `state` becomes `CLOSED`,
    /// `closedAt`, `updatedAt` and `timestamp` that time. False if the key has no such incident
    /// or it is closed already.
    pub fn close_incident(&self, api_key: &str, incident_id: &str, closed_at_ms: i64) -> bool {
        let tenant = self.shared.tenant(api_key);
        let mut tenant = lock(&tenant);
        tenant
            .accounts
            .values_mut()
            .find_map(|a| a.incidents.get_mut(incident_id))
            .is_some_and(|i| incidents::close(i, closed_at_ms))
    }

    /// `{page, dashboard, url, params}` of every snapshot URL handed out to the key.
    pub fn snapshots(&self, api_key: &str) -> Vec<Value> {
        let tenant = self.shared.tenant(api_key);
        let tenant = lock(&tenant);
        tenant.accounts.values().flat_map(|a| a.snapshots.iter().cloned()).collect()
    }

    /// Every `GET` of a snapshot URL, in order.
    pub fn snapshot_fetches(&self) -> Vec<SnapshotFetch> {
        lock(&self.shared.snapshot_fetches).clone()
    }

    /// `POST /v1/accounts/{accountId}/events` with `API-Key: api_key`, as a program sending
    /// events would (see [`nrql`]): `http://127.0.0.1:PORT/v1/accounts/ID/events`.
    pub fn events_url(&self, account_id: i64) -> String {
        format!("http://{}/v1/accounts/{account_id}/events", self.server.addr())
    }

    /// The events posted to the key's accounts, in order.
    pub fn events(&self, api_key: &str) -> Vec<Value> {
        let tenant = self.shared.tenant(api_key);
        let tenant = lock(&tenant);
        tenant.accounts.values().flat_map(|a| a.events.iter().cloned()).collect()
    }

    /// Every document received (authenticated, not refused by the in-flight limit), in order.
    pub fn documents(&self) -> Vec<ReceivedDocument> {
        lock(&self.shared.documents).clone()
    }

    /// The documents that failed validation.
    pub fn invalid_documents(&self) -> Vec<ReceivedDocument> {
        lock(&self.shared.documents).iter().filter(|d| !d.valid).cloned().collect()
    }

    /// Documents asking for this root field (`alertsPolicyCreate`, `actor`), valid or not.
    pub fn requests_for(&self, root_field: &str) -> u64 {
        lock(&self.shared.documents).iter().filter(|d| d.root_fields.iter().any(|f| f == root_field)).count()
            as u64
    }

    /// HTTP requests received on `/graphql` (401s and 429s included).
    pub fn request_count(&self) -> u64 {
        self.shared.requests.load(Ordering::Relaxed)
    }

    /// Clears [`NewRelicStandIn::request_count`] and the document log.
    pub fn reset_request_count(&self) {
        self.shared.requests.store(0, Ordering::Relaxed);
        lock(&self.shared.documents).clear();
    }

    /// HTTP 429 answers (in-flight limit and injected).
    pub fn throttled_count(&self) -> u64 {
        self.shared.throttled.load(Ordering::Relaxed)
    }

    /// Replaces the fault rules; the new rules count from zero.
    pub fn set_faults(&self, rules: Vec<NerdGraphFaultRule>) {
        self.shared.faults.set(rules);
    }

    pub fn faults(&self) -> Vec<NerdGraphFaultRule> {
        self.shared.faults.rules()
    }

    /// Faults injected since the start.
    pub fn injected_count(&self) -> u64 {
        self.shared.faults.injected()
    }
}

/// Serves until `shutdown`, then lets in-flight requests finish for at most 2 s.
async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let app = app.into_make_service_with_connect_info::<ConnHandle>();
    let server = axum::serve(FaultListener::new(listener), app)
        .with_graceful_shutdown(async move {
            let _ = stop_rx.await;
        })
        .into_future();
    let mut server = tokio::spawn(server);
    tokio::select! {
        res = &mut server => {
            if let Ok(Err(e)) = res {
                eprintln!("newrelic stand-in: server error: {e}");
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
        .route("/graphql", post(graphql))
        .route("/_sandbox/newrelic/faults", get(faults_list).post(faults_replace).delete(faults_clear))
        .route("/_sandbox/newrelic/snapshot/{token}", get(snapshot_serve))
        .route("/v1/accounts/{account_id}/events", post(events_ingest))
        .route("/_sandbox/newrelic/incidents", post(incidents_control))
        .route("/_sandbox/newrelic/entities", post(entities_seed))
        .layer(DefaultBodyLimit::max(32 * 1024 * 1024))
        .with_state(shared)
}

/// Process-wide state of one stand-in.
pub(crate) struct Shared {
    pub(crate) opts: NewRelicOptions,
    demo_hosts: usize,
    /// Entities seeded into every account a key starts with (`watchkeep-sandbox`).
    entities: Vec<EntitySeed>,
    tenants: RwLock<HashMap<String, Arc<Mutex<state::Tenant>>>>,
    /// Numeric ids (policies, conditions, widgets, pages).
    pub(crate) next_id: AtomicI64,
    next_uuid: AtomicU64,
    seed: u64,
    requests: AtomicU64,
    throttled: AtomicU64,
    faults: faults::FaultTable,
    in_flight: faults::InFlight,
    documents: Mutex<Vec<ReceivedDocument>>,
    /// Snapshot URL token → what it shows (see [`snapshot_serve`]).
    snapshots: Mutex<HashMap<String, Snapshot>>,
    snapshot_fetches: Mutex<Vec<SnapshotFetch>>,
}

impl Shared {
    fn new(mut opts: NewRelicOptions, demo_hosts: usize) -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x9E37_79B9_7F4A_7C15);
        Shared {
            faults: faults::FaultTable::new(std::mem::take(&mut opts.faults)),
            in_flight: faults::InFlight::new(opts.max_in_flight_per_key.max(1)),
            opts,
            demo_hosts,
            entities: Vec::new(),
            tenants: RwLock::new(HashMap::new()),
            next_id: AtomicI64::new(31_000_001),
            next_uuid: AtomicU64::new(1),
            seed,
            requests: AtomicU64::new(0),
            throttled: AtomicU64::new(0),
            documents: Mutex::new(Vec::new()),
            snapshots: Mutex::new(HashMap::new()),
            snapshot_fetches: Mutex::new(Vec::new()),
        }
    }

    pub(crate) fn add_snapshot(&self, token: String, snapshot: Snapshot) {
        lock(&self.snapshots).insert(token, snapshot);
    }

    /// The state of `api_key`, created (one account, demo hosts) on first use.
    pub(crate) fn tenant(&self, api_key: &str) -> Arc<Mutex<state::Tenant>> {
        if let Some(t) = self.tenants.read().unwrap_or_else(|e| e.into_inner()).get(api_key) {
            return Arc::clone(t);
        }
        let mut tenants = self.tenants.write().unwrap_or_else(|e| e.into_inner());
        let tenant = tenants.entry(api_key.to_owned()).or_insert_with(|| {
            let mut t = state::Tenant::new(api_key);
            if self.demo_hosts > 0 {
                let hosts = demo_hosts(self.demo_hosts);
                for account in t.accounts.values_mut() {
                    entities::seed_hosts(account, &hosts);
                }
            }
            if !self.entities.is_empty() {
                for account in t.accounts.values_mut() {
                    entities::seed_entities(account, &self.entities);
                }
            }
            Arc::new(Mutex::new(t))
        });
        Arc::clone(tenant)
    }

    /// A fresh UUID (v4 layout, splitmix64 of a counter). The first group is the counter, so
    /// ids sort in the order they were made: what the engine sorts by id (a workflow's channels,
    /// linked by id) then reads the same from run to run. Guess: New Relic's own UUIDs are
    /// random; nothing in watchkeep relies on their order.
    pub(crate) fn uuid(&self) -> String {
        let n = self.next_uuid.fetch_add(1, Ordering::Relaxed);
        let a = splitmix(self.seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let b = splitmix(a ^ n);
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            n & 0xffff_ffff,
            (a >> 16) & 0xffff,
            a & 0x0fff,
            0x8000 | ((b >> 48) & 0x3fff),
            b & 0xffff_ffff_ffff
        )
    }
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut resp = (status, body.to_string()).into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

/// `{"errors": [{"message", "extensions": {"errorClass"}}], "data": null}`.
fn error_body(class: &str, message: &str) -> Value {
    json!({"errors": [{"message": message, "extensions": {"errorClass": class}}], "data": null})
}

fn too_many_requests(shared: &Shared, message: &str, retry_after: Option<u64>) -> Response {
    shared.throttled.fetch_add(1, Ordering::Relaxed);
    let mut resp = json_response(StatusCode::TOO_MANY_REQUESTS, &error_body("TOO_MANY_REQUESTS", message));
    if let Some(secs) = retry_after {
        resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    resp
}

/// A user key: `NRAK-` and letters or digits.
fn valid_api_key(key: &str) -> bool {
    key.strip_prefix("NRAK-")
        .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
}

fn header_text(headers: &HeaderMap, name: &str) -> String {
    headers.get(name).map(|v| String::from_utf8_lossy(v.as_bytes()).trim().to_owned()).unwrap_or_default()
}

/// `POST /graphql`.
async fn graphql(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    shared.requests.fetch_add(1, Ordering::Relaxed);
    let conn = req.extensions().get::<ConnectInfo<ConnHandle>>().map(|c| c.0.clone());
    let headers = req.headers().clone();
    let api_key = header_text(&headers, "api-key");
    if !valid_api_key(&api_key) {
        let body = json!({"errors": [{
            "message": "Bad API Key or no API Key provided",
            "extensions": {"error_code": "BAD_API_KEY"},
        }]});
        return json_response(StatusCode::UNAUTHORIZED, &body);
    }
    let Some(_slot) = shared.in_flight.try_acquire(&api_key) else {
        return too_many_requests(
            &shared,
            "Too many concurrent requests: at most 25 per user may be in flight",
            None,
        );
    };
    if !shared.opts.latency.is_zero() {
        tokio::time::sleep(shared.opts.latency).await;
    }
    let host = header_text(&headers, "host");
    let base_url = if host.is_empty() { "http://localhost".to_owned() } else { format!("http://{host}") };
    let bytes = match axum::body::to_bytes(req.into_body(), 32 * 1024 * 1024).await {
        Ok(b) => b,
        Err(e) => {
            return json_response(StatusCode::BAD_REQUEST, &error_body("BAD_USER_INPUT", &e.to_string()))
        }
    };
    let request: Map<String, Value> = match serde_json::from_slice(&bytes) {
        Ok(Value::Object(m)) => m,
        Ok(_) => {
            return json_response(
                StatusCode::BAD_REQUEST,
                &error_body("BAD_USER_INPUT", "the body must be a JSON object {\"query\", \"variables\"}"),
            )
        }
        Err(e) => {
            return json_response(
                StatusCode::BAD_REQUEST,
                &error_body("BAD_USER_INPUT", &format!("Invalid JSON: {e}")),
            )
        }
    };
    let query = request.get("query").and_then(Value::as_str).unwrap_or_default().to_owned();
    let variables = match request.get("variables") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => {
            return json_response(
                StatusCode::OK,
                &error_body("BAD_USER_INPUT", "`variables` must be a JSON object"),
            )
        }
    };
    let operation_name = request.get("operationName").and_then(Value::as_str).filter(|s| !s.is_empty());
    let ng = match schema::nerdgraph() {
        Ok(ng) => ng,
        Err(e) => {
            return json_response(StatusCode::INTERNAL_SERVER_ERROR, &error_body("INTERNAL_SERVER_ERROR", &e))
        }
    };
    let prepared = if query.trim().is_empty() {
        Err(schema::Refused {
            errors: vec![GraphqlError::new("GRAPHQL_PARSE_FAILED", "Must provide query string.", Vec::new())],
            root_fields: Vec::new(),
        })
    } else {
        schema::prepare(ng, &query, &variables, operation_name)
    };
    let record = ReceivedDocument {
        api_key: api_key.clone(),
        query: query.clone(),
        variables: Value::Object(variables),
        operation_name: operation_name.map(str::to_owned),
        root_fields: match &prepared {
            Ok(p) => p.root_fields.clone(),
            Err(r) => r.root_fields.clone(),
        },
        valid: prepared.is_ok(),
        errors: prepared.as_ref().err().map(|r| r.errors.clone()).unwrap_or_default(),
    };
    lock(&shared.documents).push(record);
    let prepared = match prepared {
        Ok(p) => p,
        Err(refused) => {
            let errors: Vec<Value> = refused.errors.iter().map(GraphqlError::to_json).collect();
            return json_response(StatusCode::OK, &json!({"errors": errors, "data": null}));
        }
    };
    let run = || {
        let tenant = shared.tenant(&api_key);
        let mut guard = lock(&tenant);
        let cx = exec::Cx::new(&shared, &mut guard, base_url.clone());
        exec::execute(&cx, ng, &prepared)
    };
    let Some(fault) = shared.faults.pick(&prepared.root_fields, prepared.is_mutation) else {
        return json_response(StatusCode::OK, &run());
    };
    match fault {
        NerdGraphFault::GraphqlError(class) => {
            json_response(StatusCode::OK, &error_body(&class, &fault_message(&class)))
        }
        NerdGraphFault::ActedError(class) => {
            let _ = run();
            json_response(StatusCode::OK, &error_body(&class, &fault_message(&class)))
        }
        NerdGraphFault::Http(kind) => match kind {
            FaultKind::RateLimit { reset_secs } => {
                too_many_requests(&shared, "Too many requests (injected)", Some(reset_secs))
            }
            FaultKind::Status(code) => {
                let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                let reason = status.canonical_reason().unwrap_or("Error");
                json_response(status, &json!({"errors": [{"message": reason}]}))
            }
            FaultKind::Slow(delay) => {
                let body = run();
                tokio::time::sleep(delay).await;
                json_response(StatusCode::OK, &body)
            }
            FaultKind::ConnectionReset => lose(conn),
            FaultKind::ActedButLost => {
                let _ = run();
                lose(conn)
            }
            FaultKind::MalformedJson => {
                let mut resp = (StatusCode::OK, "{\"data\": {\"actor\": ").into_response();
                resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
                resp
            }
            FaultKind::TruncatedJson => {
                let full = run().to_string();
                let half = Bytes::from(full.into_bytes());
                let half = half.slice(..half.len() / 2);
                let mut resp = Response::new(Body::from(half.clone()));
                resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
                resp.headers_mut().insert(header::CONTENT_LENGTH, HeaderValue::from(half.len()));
                resp
            }
        },
    }
}

fn fault_message(class: &str) -> String {
    match class {
        "TIMEOUT" => "The request timed out. Please try again.".to_owned(),
        "SERVER_ERROR" => "Server Error".to_owned(),
        "INTERNAL_SERVER_ERROR" => "Internal Server Error".to_owned(),
        "TOO_MANY_REQUESTS" => "Too many requests".to_owned(),
        other => format!("Injected {other} error"),
    }
}

/// Cuts the connection; the returned answer is never written.
fn lose(conn: Option<ConnHandle>) -> Response {
    if let Some(conn) = conn {
        conn.drop_connection();
    }
    json_response(StatusCode::BAD_GATEWAY, &error_body("SERVER_ERROR", "connection dropped by the stand-in"))
}

fn describe_faults(shared: &Shared) -> Response {
    let rules: Vec<String> = shared.faults.rules().iter().map(ToString::to_string).collect();
    json_response(StatusCode::OK, &json!({"faults": rules, "injected": shared.faults.injected()}))
}

/// `GET /_sandbox/newrelic/faults`.
async fn faults_list(State(shared): State<Arc<Shared>>) -> Response {
    describe_faults(&shared)
}

/// `POST /_sandbox/newrelic/faults` with a JSON array of specs: replaces the rules.
async fn faults_replace(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let specs: Vec<String> = match serde_json::from_slice(&body) {
        Ok(s) => s,
        Err(e) => {
            return json_response(
                StatusCode::BAD_REQUEST,
                &json!({"errors": [format!(
                    "expected a JSON array of fault specs such as [\"error:TIMEOUT alertsPolicyCreate times=1\"]: {e}"
                )]}),
            )
        }
    };
    let mut rules = Vec::new();
    let mut errors = Vec::new();
    for (i, spec) in specs.iter().enumerate() {
        match spec.parse::<NerdGraphFaultRule>() {
            Ok(r) => rules.push(r),
            Err(e) => errors.push(format!("fault {}: {e}", i + 1)),
        }
    }
    if !errors.is_empty() {
        return json_response(StatusCode::BAD_REQUEST, &json!({ "errors": errors }));
    }
    shared.faults.set(rules);
    describe_faults(&shared)
}

/// `DELETE /_sandbox/newrelic/faults`.
async fn faults_clear(State(shared): State<Arc<Shared>>) -> Response {
    shared.faults.set(Vec::new());
    describe_faults(&shared)
}

/// `POST /_sandbox/newrelic/entities` (a stand-in control, not a New Relic API): seeds
/// infrastructure entities into an account of the key in the `API-Key` header, as agents and
/// cloud integrations would have made them. Body: `{"accountId"?: N (default: the key's first
/// account), "entities": [{"name": "web-3", "type"?: "HOST", "reporting"?: true,
/// "tags"?: {"hostname": "web-3"}, "lastReportingChangeAt"?: ms}]}`. Answers
/// `{"accountId": N, "seeded": COUNT}`, or 400 naming what is wrong.
async fn entities_seed(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let bad = |message: String| json_response(StatusCode::BAD_REQUEST, &json!({ "errors": [message] }));
    let api_key = header_text(&headers, "api-key");
    if !valid_api_key(&api_key) {
        return bad("send the user key the entities belong to in the API-Key header (NRAK-…)".to_owned());
    }
    let body: Value = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => return bad(format!("expected a JSON object with an `entities` array: {e}")),
    };
    let Some(items) = body["entities"].as_array() else {
        return bad("expected a JSON object with an `entities` array".to_owned());
    };
    let seeds = match items.iter().map(EntitySeed::from_json).collect::<Result<Vec<_>, _>>() {
        Ok(s) => s,
        Err(e) => return bad(e),
    };
    let tenant = shared.tenant(&api_key);
    let mut tenant = lock(&tenant);
    let account_id = match body["accountId"].as_i64() {
        Some(id) => id,
        None => tenant.accounts.keys().next().copied().unwrap_or_else(|| default_account_id(&api_key)),
    };
    let Some(account) = tenant.account_mut(account_id) else {
        return bad(format!("this key has no account {account_id}"));
    };
    entities::seed_entities(account, &seeds);
    json_response(StatusCode::OK, &json!({"accountId": account_id, "seeded": seeds.len()}))
}

/// One `GET` of a snapshot URL, as received ([`NewRelicStandIn::snapshot_fetches`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotFetch {
    pub token: String,
    /// The `format` parameter as sent.
    pub format: Option<String>,
    /// Whether the request carried an `API-Key` (a client must not send its key to the image
    /// host).
    pub api_key_sent: bool,
}

/// What one snapshot URL shows (captured when `dashboardCreateSnapshotUrl` ran).
pub(crate) struct Snapshot {
    pub(crate) dashboard: String,
    pub(crate) page: String,
    pub(crate) window: String,
    pub(crate) widgets: Vec<render::WidgetPicture>,
}

/// The largest width or height of a snapshot (New Relic's tutorial: "The maximum value is 2000").
const MAX_SNAPSHOT_SIDE: u32 = 2000;

/// `GET /_sandbox/newrelic/snapshot/{token}?format=PDF|PNG&width=&height=`: a public URL, as New
/// Relic's are ("no authentication required"): no key is asked for, and any sent is ignored.
/// `format=PDF` (what the URL is handed out with) serves `application/pdf`, `format=PNG` a PNG
/// of the page; width and height default to 2000 and must be 1..=2000 (guess: what New Relic
/// answers beyond that is not documented; this refuses with 400). An unknown token is 404.
async fn snapshot_serve(
    State(shared): State<Arc<Shared>>,
    Path(token): Path<String>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    lock(&shared.snapshot_fetches).push(SnapshotFetch {
        token: token.clone(),
        format: params.get("format").cloned(),
        api_key_sent: headers.contains_key("api-key") || headers.contains_key("x-api-key"),
    });
    let text = |status: StatusCode, m: String| (status, m).into_response();
    let side = |k: &str| match params.get(k) {
        None => Ok(MAX_SNAPSHOT_SIDE),
        Some(v) => v
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_SNAPSHOT_SIDE).contains(n))
            .ok_or_else(|| format!("`{k}` must be a whole number from 1 to {MAX_SNAPSHOT_SIDE}")),
    };
    let (width, height) = match (side("width"), side("height")) {
        (Ok(w), Ok(h)) => (w, h),
        (Err(e), _) | (_, Err(e)) => return text(StatusCode::BAD_REQUEST, e),
    };
    let snapshots = lock(&shared.snapshots);
    let Some(snap) = snapshots.get(&token) else {
        return text(StatusCode::NOT_FOUND, "no such snapshot".into());
    };
    let format = params.get("format").map(|f| f.to_ascii_uppercase()).unwrap_or_else(|| "PDF".into());
    let (body, content_type) = match format.as_str() {
        "PNG" => (
            render::dashboard_png(width, height, &snap.dashboard, &snap.page, &snap.window, &snap.widgets),
            "image/png",
        ),
        "PDF" => (render::dashboard_pdf(&snap.dashboard, &snap.page, &snap.window), "application/pdf"),
        other => return text(StatusCode::BAD_REQUEST, format!("unknown format `{other}`: PDF or PNG")),
    };
    let mut resp = (StatusCode::OK, body).into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

/// Events kept per account (the oldest go first): the sandbox may run for days.
const MAX_STORED_EVENTS: usize = 100_000;

/// The largest Event API payload (New Relic's Event API: 1 MB per POST).
const MAX_EVENT_PAYLOAD: usize = 1_000_000;

/// `POST /v1/accounts/{accountId}/events`: New Relic's Event API (the JSON array of events the
/// docs describe, optionally gzip-compressed). The real API takes a license (ingest) key in
/// `Api-Key` or `X-Insert-Key`; the stand-in has no license keys and takes the **user key**
/// there (it picks the state the events belong to). The account must be one of the key's
/// (403 otherwise). Answers `{"success": true, "uuid": …}`; bad bodies 400 naming the event.
/// Each post evaluates the account's conditions (see [`nrql`]), which opens or closes incidents.
async fn events_ingest(
    State(shared): State<Arc<Shared>>,
    Path(account_id): Path<i64>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let bad = |status: StatusCode, message: String| json_response(status, &json!({ "error": message }));
    let api_key = match header_text(&headers, "api-key") {
        k if !k.is_empty() => k,
        _ => header_text(&headers, "x-insert-key"),
    };
    if !valid_api_key(&api_key) {
        return bad(
            StatusCode::FORBIDDEN,
            "send the user key of the account (NRAK-…) in the Api-Key header (the stand-in has no license keys)"
                .into(),
        );
    }
    if body.len() > MAX_EVENT_PAYLOAD {
        return bad(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the payload is larger than {MAX_EVENT_PAYLOAD} bytes"),
        );
    }
    let raw = if header_text(&headers, "content-encoding").eq_ignore_ascii_case("gzip") {
        use std::io::Read;
        let mut out = Vec::new();
        let mut reader = flate2::read::GzDecoder::new(&body[..]).take(10 * MAX_EVENT_PAYLOAD as u64);
        if let Err(e) = reader.read_to_end(&mut out) {
            return bad(StatusCode::BAD_REQUEST, format!("the body is not gzip: {e}"));
        }
        out
    } else {
        body.to_vec()
    };
    let parsed: Value = match serde_json::from_slice(&raw) {
        Ok(v) => v,
        Err(e) => {
            return bad(StatusCode::BAD_REQUEST, format!("the body must be a JSON array of events: {e}"))
        }
    };
    let items = match parsed {
        Value::Array(items) => items,
        obj @ Value::Object(_) => vec![obj],
        _ => return bad(StatusCode::BAD_REQUEST, "the body must be a JSON array of events".into()),
    };
    let now = state::now_ms();
    let mut events = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        match nrql::event(item, now) {
            Ok(e) => events.push(e),
            Err(e) => return bad(StatusCode::BAD_REQUEST, format!("event {}: {e}", i + 1)),
        }
    }
    let tenant = shared.tenant(&api_key);
    let mut tenant = lock(&tenant);
    let Some(account) = tenant.account_mut(account_id) else {
        return bad(StatusCode::FORBIDDEN, format!("this key has no account {account_id}"));
    };
    account.events.extend(events);
    if account.events.len() > MAX_STORED_EVENTS {
        let excess = account.events.len() - MAX_STORED_EVENTS;
        account.events.drain(..excess);
    }
    let mut uuid = || shared.uuid();
    nrql::evaluate_conditions(account, &mut uuid);
    json_response(StatusCode::ACCEPTED, &json!({"success": true, "uuid": shared.uuid()}))
}

/// `POST /_sandbox/newrelic/incidents` (a stand-in control, not a New Relic API): makes a
/// condition of the key's account (`API-Key`, a user key) fire or recover without posting
/// events. Body: `{"conditionId": "…", "action": "open" | "close", "title"?: "…", "priority"?:
/// "CRITICAL" (an AiIssuesPriority), "accountId"?: N (default: the key's first account)}`.
/// `open` opens an incident as the condition would (409 if one is open already); `close` closes
/// the open one (409 if none is open). Unknown condition: 404. Answers `{"accountId",
/// "conditionId", "incidentId", "state"}`.
async fn incidents_control(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let fail = |status: StatusCode, m: String| json_response(status, &json!({ "errors": [m] }));
    let api_key = header_text(&headers, "api-key");
    if !valid_api_key(&api_key) {
        return fail(
            StatusCode::UNAUTHORIZED,
            "send the user key the condition belongs to in the API-Key header (NRAK-…)".into(),
        );
    }
    let body: Value = match serde_json::from_slice(&body) {
        Ok(v @ Value::Object(_)) => v,
        _ => {
            return fail(
                StatusCode::BAD_REQUEST,
                "expected a JSON object {\"conditionId\": \"…\", \"action\": \"open\" | \"close\"}".into(),
            )
        }
    };
    let Some(condition_id) = state::id_text(&body["conditionId"]) else {
        return fail(StatusCode::BAD_REQUEST, "`conditionId` is required (the NRQL condition's id)".into());
    };
    let action = body["action"].as_str().unwrap_or_default().to_ascii_lowercase();
    if action != "open" && action != "close" {
        return fail(StatusCode::BAD_REQUEST, "`action` must be \"open\" or \"close\"".into());
    }
    let priority = body["priority"].as_str().unwrap_or("CRITICAL").to_ascii_uppercase();
    if !incidents::PRIORITIES.contains(&priority.as_str()) {
        return fail(
            StatusCode::BAD_REQUEST,
            format!("`priority` must be one of {:?}", incidents::PRIORITIES),
        );
    }
    let tenant = shared.tenant(&api_key);
    let mut tenant = lock(&tenant);
    let account_id = match body["accountId"].as_i64() {
        Some(id) => id,
        None => tenant.accounts.keys().next().copied().unwrap_or_else(|| default_account_id(&api_key)),
    };
    let Some(account) = tenant.account_mut(account_id) else {
        return fail(StatusCode::FORBIDDEN, format!("this key has no account {account_id}"));
    };
    let Some(condition) = account.conditions.get(&condition_id).cloned() else {
        return fail(
            StatusCode::NOT_FOUND,
            format!("account {account_id} has no NRQL condition {condition_id}"),
        );
    };
    let open = account
        .incidents
        .iter()
        .find(|(_, i)| {
            i["conditionFamilyId"].as_str() == Some(condition_id.as_str()) && i["state"] == json!("CREATED")
        })
        .map(|(k, _)| k.clone());
    let now = state::now_ms();
    let incident_id = match (action.as_str(), open) {
        ("open", Some(id)) => {
            return fail(
                StatusCode::CONFLICT,
                format!("condition {condition_id} already has open incident {id}"),
            )
        }
        ("open", None) => {
            let title = body["title"].as_str().map(str::to_owned).unwrap_or_else(|| {
                format!("{} (opened through the sandbox)", condition["name"].as_str().unwrap_or("condition"))
            });
            let id = shared.uuid();
            let incident = incidents::new_incident(account, &id, &condition_id, &priority, &title, now);
            account.incidents.insert(id.clone(), incident);
            id
        }
        (_, None) => {
            return fail(StatusCode::CONFLICT, format!("condition {condition_id} has no open incident"))
        }
        (_, Some(id)) => {
            if let Some(i) = account.incidents.get_mut(&id) {
                incidents::close(i, now);
            }
            id
        }
    };
    let state = account.incidents.get(&incident_id).map(|i| i["state"].clone()).unwrap_or(Value::Null);
    json_response(
        StatusCode::OK,
        &json!({"accountId": account_id, "conditionId": condition_id, "incidentId": incident_id, "state": state}),
    )
}
