//! `RecordedDatadog`: a "recorded vendor" that answers **only** with Datadog's recorded real
//! responses (the cassettes of PyPI `datadog-api-client` 2.62.0, see [`crate::recordings`]).
//!
//! Unlike the stand-in ([`crate::DatadogStandIn`]), which models Datadog, this server models
//! nothing: every answer is a recorded response body, chosen by matching the request against the
//! recorded requests. What was not recorded gets HTTP 501 with a JSON body naming it, a line on
//! stderr and an entry in [`RecordedDatadog::unrecorded`]; it never invents an answer.
//!
//! | request | answer |
//! |---|---|
//! | `POST /api/v1/monitor` | the recorded create whose request body matches (see [`match_key`]): its status and body; each recorded 200 create answers once (its id is the recorded id) |
//! | `GET /api/v1/monitor/{id}` | the recorded read of that monitor if one was recorded, else its recorded create answer (the closest recorded answer); a monitor not live: the recorded 404 |
//! | `GET /api/v1/monitor?page=&page_size=` (+ `monitor_tags`, `tags`, `name`) | the live monitors' read answers, sorted by id, filtered and paged |
//! | `PUT /api/v1/monitor/{id}` | a recorded update of that id whose request matches, else 501 |
//! | `GET /api/v1/dashboard?start=&count=` | the recorded dashboard list with that query (see [`dashboard_list`]); emptied only with [`RecordedDatadog::with_dashboard_list_emptied`] |
//! | `DELETE /api/v1/monitor/{id}` | the recorded delete answer of that id (`{"deleted_monitor_id": id}`); a monitor not live: the recorded 404 |
//! | `POST /api/v1/monitor/validate` | the recorded validate-OK answer for a body whose 200 create (or validate) is recorded, else 501 |
//! | without `DD-API-KEY` / `DD-APPLICATION-KEY` | 403 |
//! | anything else | 501 + log line |
//!
//! The only change made to a recorded body is `tags`: the answer carries the tags the request
//! sent, in the order sent (watchkeep adds its ownership tags, which no recording has). Tests may
//! also mutate answers explicitly, for one test only: [`RecordedDatadog::with_answer_patch`]
//! (read answers), [`RecordedDatadog::with_dashboard_list_emptied`] (the dashboard list).
//!
//! [`hcl`] turns each recorded monitor create into a raw `resource "datadog_monitor"` block.

pub mod hcl;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use serde_json::{json, Map, Value};

use crate::recordings::{self, Cassette};
use crate::server::BackgroundServer;

/// The tag watchkeep adds to every monitor it owns (`watchkeep_provider::OWNER_TAG`).
const OWNER_TAG: &str = "managed-by:watchkeep";
/// The key of the address tag watchkeep adds (`watchkeep_provider::ADDRESS_TAG_KEY`).
const ADDRESS_TAG_KEY: &str = "watchkeep-address";

/// Where an answer came from: the cassette path inside the package.
#[derive(Debug, Clone)]
struct Recorded {
    source: String,
    status: u16,
    body: Value,
}

struct RecordedCreate {
    /// [`match_key`] of the recorded request.
    key: Value,
    answer: Recorded,
    /// The recorded id (`None` for an error answer).
    id: Option<i64>,
}

struct RecordedUpdate {
    id: i64,
    key: Value,
    answer: Recorded,
}

/// Every recorded answer the server can give, indexed.
#[derive(Default)]
struct Corpus {
    creates: Vec<RecordedCreate>,
    /// `GET /api/v1/monitor/{id}` answered 200, by id.
    reads: HashMap<i64, Recorded>,
    /// `DELETE /api/v1/monitor/{id}` answered 200, by id.
    deletes: HashMap<i64, Recorded>,
    updates: Vec<RecordedUpdate>,
    /// [`match_key`]s of the bodies recorded as valid by `POST /api/v1/monitor/validate` (200).
    validated: Vec<Value>,
    validate_ok: Option<Recorded>,
    read_not_found: Option<Recorded>,
    delete_not_found: Option<Recorded>,
    no_api_key: Option<Recorded>,
    /// `GET /api/v1/dashboard` answered 200, by [`dashboard_list_key`] of the recorded query.
    dashboard_lists: Vec<(Vec<(String, String)>, Recorded)>,
    /// `GET /api/v2/downtime` answered 200 (test_get_all_downtimes_returns_ok_response.yaml).
    downtime_list: Option<Recorded>,
}

/// A dashboard list query as a sorted set of parameters, with `start` written out when left to
/// its default, 0 (`../shared/specs/datadog-v1-openapi.yaml`, ListDashboards: `start` "default 0").
fn dashboard_list_key(query: &[(String, String)]) -> Vec<(String, String)> {
    let mut q: Vec<(String, String)> = query.to_vec();
    if !q.iter().any(|(k, _)| k == "start") {
        q.push(("start".into(), "0".into()));
    }
    q.sort();
    q
}

/// Where the current answer of a live monitor comes from.
#[derive(Clone, Copy)]
enum Source {
    Create(usize),
    Update(usize),
}

struct Live {
    source: Source,
    /// The tags of the last request that set them, in the order sent.
    tags: Value,
}

#[derive(Default)]
struct Mutable {
    used_creates: HashSet<usize>,
    live: BTreeMap<i64, Live>,
    unrecorded: Vec<String>,
    served: Vec<String>,
    patch: Option<Value>,
    empty_dashboards: bool,
    empty_downtimes: bool,
}

struct Shared {
    corpus: Corpus,
    state: Mutex<Mutable>,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, Mutable> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The recorded-Datadog server (see the module docs). Dropping it stops it.
pub struct RecordedDatadog {
    server: BackgroundServer,
    shared: Arc<Shared>,
}

/// The cassettes the replay uses, from [`recordings::datadog_dir`]: every one that talks to
/// `/api/v1/monitor`, the recorded dashboard lists, and the recorded 403
/// (`test_validate_api_key_returns_forbidden_response`).
pub fn load_corpus() -> Result<Vec<Cassette>, String> {
    let root = recordings::datadog_dir()?;
    let keep = |rel: &str| {
        rel.ends_with(FORBIDDEN_CASSETTE)
            || rel.contains("test_get_all_dashboards_returns_ok_response")
            || rel.ends_with(DOWNTIME_LIST_CASSETTE)
            || std::fs::read_to_string(root.join(rel)).is_ok_and(|t| t.contains("/api/v1/monitor"))
    };
    recordings::load_all(&root, &keep)
}

/// The recorded list of v2 downtimes (the only recorded `GET /api/v2/downtime` without paging).
const DOWNTIME_LIST_CASSETTE: &str =
    "tests/v2/cassettes/test_scenarios/test_get_all_downtimes_returns_ok_response.yaml";

/// The one recorded 403 of the v1 API: `GET /api/v1/validate` without an API key answers
/// `{"errors":["API key required"]}`.
const FORBIDDEN_CASSETTE: &str =
    "tests/v1/cassettes/test_scenarios/test_validate_api_key_returns_forbidden_response.yaml";

fn index(cassettes: &[Cassette]) -> Corpus {
    let mut c = Corpus::default();
    for cassette in cassettes {
        // Monitors created in this cassette and not changed since by another request of it.
        let mut untouched: HashSet<i64> = HashSet::new();
        for i in &cassette.interactions {
            let answer = || Recorded {
                source: cassette.source.clone(),
                status: i.status,
                body: i.response.clone().unwrap_or(Value::Null),
            };
            let path = i.path.trim_end_matches('/');
            let id_of = |p: &str| p.strip_prefix("/api/v1/monitor/").and_then(|s| s.parse::<i64>().ok());
            match (i.method.as_str(), path) {
                ("POST", "/api/v1/monitor") => {
                    let Some(req) = &i.request else { continue };
                    let id = (i.status == 200)
                        .then(|| i.response.as_ref().and_then(|r| r.get("id")).and_then(Value::as_i64))
                        .flatten();
                    c.creates.push(RecordedCreate { key: match_key(req), answer: answer(), id });
                    untouched.extend(id);
                    continue;
                }
                ("POST", "/api/v1/monitor/validate") if i.status == 200 => {
                    if let Some(req) = &i.request {
                        c.validated.push(match_key(req));
                    }
                    // test_validate_a_monitor_returns_ok_response.yaml answers `{}`.
                    if c.validate_ok.is_none()
                        || cassette.source.ends_with("test_validate_a_monitor_returns_ok_response.yaml")
                    {
                        c.validate_ok = Some(answer());
                    }
                }
                ("GET", p) if id_of(p).is_some() => {
                    let id = id_of(p).unwrap_or_default();
                    match i.status {
                        // A recorded read answers for the monitor in the state the replay
                        // reaches: right after its create. A read recorded after other writes of
                        // its cassette shows what those did, which the replay does not do: e.g.
                        // test_get_a_monitors_details_with_downtime_returns_ok_response.yaml
                        // reads the monitor after `POST /api/v1/downtime`, with
                        // `options.silenced` set by that downtime.
                        200 if untouched.contains(&id) => {
                            c.reads.entry(id).or_insert_with(answer);
                        }
                        404 => {
                            c.read_not_found.get_or_insert_with(answer);
                        }
                        _ => {}
                    }
                }
                ("DELETE", p) if id_of(p).is_some() => {
                    let id = id_of(p).unwrap_or_default();
                    match i.status {
                        200 => {
                            c.deletes.entry(id).or_insert_with(answer);
                        }
                        404 => {
                            c.delete_not_found.get_or_insert_with(answer);
                        }
                        _ => {}
                    }
                }
                ("PUT", p) if id_of(p).is_some() && i.status == 200 => {
                    if let Some(req) = &i.request {
                        c.updates.push(RecordedUpdate {
                            id: id_of(p).unwrap_or_default(),
                            key: match_key(req),
                            answer: answer(),
                        });
                    }
                }
                ("GET", "/api/v1/validate") if i.status == 403 => {
                    c.no_api_key.get_or_insert_with(answer);
                }
                ("GET", "/api/v1/dashboard") if i.status == 200 => {
                    c.dashboard_lists.push((dashboard_list_key(&i.query), answer()));
                }
                ("GET", "/api/v2/downtime") if i.status == 200 && i.query.is_empty() => {
                    c.downtime_list.get_or_insert_with(answer);
                }
                _ => {}
            }
            if i.method != "GET" {
                untouched.clear();
            }
        }
    }
    c
}

impl RecordedDatadog {
    /// Serves `cassettes` on `127.0.0.1:0`.
    pub fn start(cassettes: &[Cassette]) -> std::io::Result<Self> {
        let shared = Arc::new(Shared { corpus: index(cassettes), state: Mutex::new(Mutable::default()) });
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let addr: SocketAddr = ([127, 0, 0, 1], 0).into();
        let server =
            BackgroundServer::start(addr, "recorded-datadog", 0, move |listener, shutdown| async move {
                if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(shutdown).await {
                    eprintln!("recorded-datadog: server error: {e}");
                }
            })?;
        Ok(RecordedDatadog { server, shared })
    }

    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.server.addr())
    }

    /// Every request answered 501 because nothing recorded answers it, in arrival order.
    pub fn unrecorded(&self) -> Vec<String> {
        self.shared.state().unrecorded.clone()
    }

    /// Every request served, as `METHOD /path?query -> status (answer source)`, in arrival order.
    pub fn served(&self) -> Vec<String> {
        self.shared.state().served.clone()
    }

    /// Ids of the monitors created and not deleted.
    pub fn live_ids(&self) -> Vec<i64> {
        self.shared.state().live.keys().copied().collect()
    }

    /// How many recorded monitor creates (status 200) the corpus holds.
    pub fn recorded_creates(&self) -> usize {
        self.shared.corpus.creates.iter().filter(|c| c.id.is_some()).count()
    }

    /// **Test-only mutation of recorded answers**: from now on, every monitor read answer
    /// (`GET /api/v1/monitor/{id}` and each list entry) is the recorded answer with `patch`
    /// merged into it (RFC 7396 merge patch: objects merge, `null` removes a key). It simulates
    /// Datadog answering something the recordings do not show (a new field, a changed
    /// read-only field); `Value::Null` removes the patch.
    pub fn with_answer_patch(&self, patch: Value) -> &Self {
        self.shared.state().patch = (!patch.is_null()).then_some(patch);
        self
    }
}

impl RecordedDatadog {
    /// **Test-only mutation of a recorded answer**: dashboard lists (`GET /api/v1/dashboard`
    /// with `start`/`count`) answer the recorded list
    /// (test_get_all_dashboards_returns_ok_response.yaml) with its `dashboards` emptied: the
    /// replayed account holds no dashboards, the recorded one held dashboards of its own.
    /// watchkeep lists dashboards on every refresh (`drift` counts every object it does not
    /// manage as unmanaged, so the recorded account's dashboards would be drift), and no
    /// recording shows an empty list. Off by default (such lists are then answered only when
    /// their query is recorded, else 501).
    pub fn with_dashboard_list_emptied(&self) -> &Self {
        self.shared.state().empty_dashboards = true;
        self
    }

    /// **Test-only mutation of a recorded answer**, as for dashboards: downtime lists
    /// (`GET /api/v2/downtime`, any paging) answer the recorded list
    /// (test_get_all_downtimes_returns_ok_response.yaml) with its `data` emptied and
    /// `meta.page.total_filtered_count` 0. watchkeep lists downtimes on every drift (they are a
    /// managed type); the replayed account holds none, and no recording shows an empty list.
    /// Off by default (then 501).
    pub fn with_downtime_list_emptied(&self) -> &Self {
        self.shared.state().empty_downtimes = true;
        self
    }
}

/// What a recorded request and a received one are compared by: the body without the tags
/// watchkeep adds (`managed-by:watchkeep`, `watchkeep-address:*`), with whole floats written as
/// integers (85.0 = 85) and object keys sorted. A `tags` list left empty by that is dropped:
/// watchkeep creates the list to add its tags when the configuration has none
/// (`providers/datadog/src/monitor.rs` `mark`), so "no tags" and "[]" both mean none were set.
pub fn match_key(body: &Value) -> Value {
    let mut body = canonical(body.clone());
    if let Value::Object(m) = &mut body {
        if let Some(Value::Array(tags)) = m.get_mut("tags") {
            tags.retain(|t| !t.as_str().is_some_and(is_watchkeep_tag));
            if tags.is_empty() {
                m.remove("tags");
            }
        }
    }
    body
}

fn is_watchkeep_tag(tag: &str) -> bool {
    let t = tag.trim();
    t.eq_ignore_ascii_case(OWNER_TAG)
        || t.split_once(':').is_some_and(|(k, _)| k.eq_ignore_ascii_case(ADDRESS_TAG_KEY))
}

/// Sorted keys, whole floats as integers.
fn canonical(v: Value) -> Value {
    match v {
        Value::Number(n) if !(n.is_i64() || n.is_u64()) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 => Value::from(f as i64),
            _ => Value::Number(n),
        },
        Value::Array(a) => Value::Array(a.into_iter().map(canonical).collect()),
        Value::Object(m) => {
            let mut entries: Vec<(String, Value)> = m.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, canonical(v))).collect())
        }
        other => other,
    }
}

/// The recorded answer with `tags` = the tags received, in the order received.
///
/// Why this is the one allowed change: Datadog echoes a monitor's tags in the order the request
/// sent them, it does not sort them. Every recorded create with tags shows it: the request sends
/// `["test:<scenario>", "env:ci"]` (not in sorted order) and the answer carries the same list in
/// the same order, e.g. `tests/v1/cassettes/test_scenarios/test_create_a_monitor_returns_ok_response.yaml`,
/// `test_create_a_cost_monitor_returns_ok_response.yaml`,
/// `test_create_a_data_jobs_monitor_returns_ok_response.yaml`; and the recorded read of a monitor
/// keeps that order (`test_get_a_monitors_details_returns_ok_response.yaml`, GET after the create).
/// A request without `tags` is answered `"tags": []`
/// (`test_create_a_metric_monitor_returns_ok_response.yaml`).
fn with_tags(mut body: Value, tags: &Value) -> Value {
    if let Value::Object(m) = &mut body {
        m.insert("tags".into(), tags.clone());
    }
    body
}

fn tags_of(body: &Value) -> Value {
    match body.get("tags") {
        Some(Value::Array(a)) => Value::Array(a.clone()),
        _ => Value::Array(Vec::new()),
    }
}

/// RFC 7396 JSON merge patch.
fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(t) = target {
        for (k, v) in p {
            if v.is_null() {
                t.remove(k);
            } else {
                merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
    }
}

struct Answer {
    status: u16,
    body: Value,
    source: String,
}

impl Answer {
    fn recorded(r: &Recorded) -> Answer {
        Answer { status: r.status, body: r.body.clone(), source: r.source.clone() }
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let what = format!("{method} {uri}");
    let answer = route(&shared, &method, &uri, &headers, &body);
    let mut st = shared.state();
    let answer = match answer {
        Ok(a) => a,
        Err(why) => {
            let line = format!("{what}: {why}");
            eprintln!("recorded-datadog: NOT RECORDED: {line}");
            st.unrecorded.push(line.clone());
            Answer {
                status: 501,
                body: json!({ "errors": [format!("not recorded: {line}")], "recorded_datadog": "no recorded answer" }),
                source: "501 (not recorded)".into(),
            }
        }
    };
    st.served.push(format!("{what} -> {} ({})", answer.status, answer.source));
    drop(st);
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, [("content-type", "application/json")], answer.body.to_string()).into_response()
}

type Routed = Result<Answer, String>;

fn route(shared: &Shared, method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Routed {
    let has = |h: &str| headers.get(h).is_some_and(|v| !v.as_bytes().is_empty());
    if !has("dd-api-key") {
        // Recorded: tests/v1/cassettes/test_scenarios/test_validate_api_key_returns_forbidden_response.yaml
        // (a v1 request without an API key: 403 `{"errors":["API key required"]}`).
        return shared.corpus.no_api_key.as_ref().map(Answer::recorded).ok_or_else(|| {
            "a request without DD-API-KEY (the recorded 403 is not in the corpus)".to_string()
        });
    }
    if !has("dd-application-key") {
        // Not recorded: no cassette has a v1 request with an API key and without an application
        // key. Datadog answers such monitor requests 403 (its API reference lists 403 "Forbidden"
        // for every monitor operation, `../shared/specs/datadog-v1-openapi.yaml`); the body is a
        // guess, the status is the documented one. Logged as unrecorded as well.
        let line = format!("{method} {uri}: a request without DD-APPLICATION-KEY (403 body not recorded)");
        eprintln!("recorded-datadog: NOT RECORDED: {line}");
        shared.state().unrecorded.push(line);
        return Ok(Answer {
            status: 403,
            body: json!({ "errors": ["Forbidden"] }),
            source: "403 (documented status, body not recorded)".into(),
        });
    }
    let path = uri.path().trim_end_matches('/');
    let query: Vec<(String, String)> = form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let id = path.strip_prefix("/api/v1/monitor/").and_then(|s| s.parse::<i64>().ok());
    let parse_body = || -> Result<Value, String> {
        serde_json::from_slice(body)
            .map_err(|e| format!("the body is not JSON ({e}); no recording answers that"))
    };
    match (method.as_str(), path, id) {
        ("POST", "/api/v1/monitor", _) if query.is_empty() => create(shared, &parse_body()?),
        ("POST", "/api/v1/monitor/validate", _) if query.is_empty() => validate(shared, &parse_body()?),
        ("GET", "/api/v1/monitor", _) => list(shared, &query),
        ("GET", "/api/v1/dashboard", _) => dashboard_list(shared, &query),
        ("GET", "/api/v2/downtime", _) => downtime_list(shared, &query),
        ("GET", _, Some(id)) => {
            // The recorded read was made with `?with_downtimes=true`
            // (test_get_a_monitors_details_returns_ok_response.yaml); without the parameter the
            // same answer is the closest recorded one.
            if query.iter().any(|(k, v)| !(k == "with_downtimes" && v == "true")) {
                return Err("query parameters of a monitor read that no recording has".into());
            }
            read(shared, id)
        }
        ("PUT", _, Some(id)) if query.is_empty() => update(shared, id, &parse_body()?),
        ("DELETE", _, Some(id)) if query.is_empty() => delete(shared, id),
        _ => Err("no recorded interaction of this kind".into()),
    }
}

fn create(shared: &Shared, body: &Value) -> Routed {
    let key = match_key(body);
    let mut st = shared.state();
    let mut already = None;
    for (i, c) in shared.corpus.creates.iter().enumerate() {
        if c.key != key {
            continue;
        }
        let Some(id) = c.id else {
            // A recorded error answer (e.g. 400) may be given any number of times.
            return Ok(Answer::recorded(&c.answer));
        };
        if st.used_creates.contains(&i) {
            already = Some(id);
            continue;
        }
        st.used_creates.insert(i);
        let tags = tags_of(body);
        st.live.insert(id, Live { source: Source::Create(i), tags: tags.clone() });
        let mut a = Answer::recorded(&c.answer);
        a.body = with_tags(a.body, &tags);
        return Ok(a);
    }
    Err(match already {
        Some(id) => format!(
            "the recorded create with this body was already replayed (monitor {id}); a second create would need a new id, which nothing recorded"
        ),
        None => format!("no recorded create has this body: {}", short(&key)),
    })
}

fn validate(shared: &Shared, body: &Value) -> Routed {
    let key = match_key(body);
    let known = shared.corpus.creates.iter().any(|c| c.id.is_some() && c.key == key)
        || shared.corpus.validated.contains(&key);
    match (&shared.corpus.validate_ok, known) {
        (Some(ok), true) => Ok(Answer::recorded(ok)),
        (None, true) => Err("the recorded validate-OK answer is not in the corpus".into()),
        (_, false) => Err(format!("no recorded 200 create or validate has this body: {}", short(&key))),
    }
}

/// The current answer of a live monitor (tags rule and test patch applied).
fn current(shared: &Shared, st: &Mutable, id: i64, live: &Live) -> Answer {
    let c = &shared.corpus;
    let mut a = match live.source {
        // Recorded read of this monitor if there is one; else its recorded create answer, the
        // closest recorded answer (a create answer and a read differ only by the read's
        // `matching_downtimes` where both are recorded, e.g.
        // test_get_a_monitors_details_returns_ok_response.yaml).
        Source::Create(i) => {
            c.reads.get(&id).map(Answer::recorded).unwrap_or_else(|| Answer::recorded(&c.creates[i].answer))
        }
        Source::Update(u) => Answer::recorded(&c.updates[u].answer),
    };
    a.body = with_tags(a.body, &live.tags);
    if let Some(p) = &st.patch {
        merge_patch(&mut a.body, p);
        a.source.push_str(" + test answer patch");
    }
    a
}

fn read(shared: &Shared, id: i64) -> Routed {
    let st = shared.state();
    match st.live.get(&id) {
        Some(live) => Ok(current(shared, &st, id, live)),
        // Recorded: test_get_a_monitors_details_returns_monitor_not_found_error_response.yaml
        // (404 `{"errors":["Monitor not found"]}` for an id that does not exist).
        None => shared
            .corpus
            .read_not_found
            .as_ref()
            .map(Answer::recorded)
            .ok_or_else(|| format!("monitor {id} is not live and the recorded 404 is not in the corpus")),
    }
}

fn update(shared: &Shared, id: i64, body: &Value) -> Routed {
    let key = match_key(body);
    let mut st = shared.state();
    if !st.live.contains_key(&id) {
        return Err(format!("update of monitor {id}, which is not live"));
    }
    let found = shared.corpus.updates.iter().position(|u| u.id == id && u.key == key);
    let Some(u) = found else {
        return Err(format!("no recorded update of monitor {id} has this body: {}", short(&key)));
    };
    let tags = match body.get("tags") {
        Some(Value::Array(_)) => tags_of(body),
        _ => st.live.get(&id).map(|l| l.tags.clone()).unwrap_or_default(),
    };
    st.live.insert(id, Live { source: Source::Update(u), tags: tags.clone() });
    let mut a = Answer::recorded(&shared.corpus.updates[u].answer);
    a.body = with_tags(a.body, &tags);
    Ok(a)
}

fn delete(shared: &Shared, id: i64) -> Routed {
    let mut st = shared.state();
    if !st.live.contains_key(&id) {
        // Recorded: test_delete_a_monitor_returns_item_not_found_error_response.yaml
        // (404 `{"errors":["Monitor not found"]}`).
        return shared
            .corpus
            .delete_not_found
            .as_ref()
            .map(Answer::recorded)
            .ok_or_else(|| format!("monitor {id} is not live and the recorded 404 is not in the corpus"));
    }
    let Some(r) = shared.corpus.deletes.get(&id) else {
        return Err(format!("no recorded delete of monitor {id}"));
    };
    st.live.remove(&id);
    Ok(Answer::recorded(r))
}

/// `GET /api/v1/monitor`, as the recorded list shows it
/// (test_get_all_monitors_returns_ok_response_with_pagination.yaml: `page_size=2&page=0` answers
/// the two lowest ids in ascending order, `page=1` the next one; pages count from 0). Filters, from
/// Datadog's API reference (`../shared/specs/datadog-v1-openapi.yaml`, ListMonitors; their
/// semantics are not recorded, so they follow the documentation and the stand-in): `monitor_tags`
/// and `tags` are comma-separated lists a monitor must all carry (`monitor_tags`: its tags;
/// `tags`: its query's scope), `name` a case-insensitive substring. A list without `page` and
/// `page_size` is not recorded: 501.
fn list(shared: &Shared, query: &[(String, String)]) -> Routed {
    let get = |k: &str| query.iter().find(|(q, _)| q == k).map(|(_, v)| v.as_str());
    if let Some((k, _)) = query
        .iter()
        .find(|(k, _)| !matches!(k.as_str(), "page" | "page_size" | "monitor_tags" | "tags" | "name"))
    {
        return Err(format!("list parameter `{k}`: no recording has it"));
    }
    let (Some(page), Some(size)) = (get("page"), get("page_size")) else {
        return Err("a list without both `page` and `page_size`: not recorded".into());
    };
    let (Ok(page), Ok(size)) = (page.parse::<usize>(), size.parse::<usize>()) else {
        return Err("`page`/`page_size` that are not whole numbers: not recorded".into());
    };
    if size == 0 {
        return Err("`page_size=0`: not recorded".into());
    }
    let split = |v: Option<&str>| -> Vec<String> {
        v.map(|s| s.split(',').map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned).collect())
            .unwrap_or_default()
    };
    let monitor_tags = split(get("monitor_tags"));
    let scope_tags = split(get("tags"));
    let name = get("name").map(|n| n.trim().to_lowercase()).filter(|n| !n.is_empty());
    let st = shared.state();
    let mut out = Vec::new();
    let mut sources = HashSet::new();
    for (id, live) in &st.live {
        let a = current(shared, &st, *id, live);
        let tags: Vec<&str> = a
            .body
            .get("tags")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let q = a.body.get("query").and_then(Value::as_str).unwrap_or("");
        let n = a.body.get("name").and_then(Value::as_str).unwrap_or("").to_lowercase();
        if monitor_tags.iter().all(|t| tags.contains(&t.as_str()))
            && scope_tags.iter().all(|t| q.contains(t.as_str()))
            && name.as_ref().is_none_or(|want| n.contains(want.as_str()))
        {
            sources.insert(a.source);
            out.push(a.body);
        }
    }
    let page: Vec<Value> = out.into_iter().skip(page.saturating_mul(size)).take(size).collect();
    Ok(Answer {
        status: 200,
        body: Value::Array(page),
        source: format!("list of recorded answers from {} cassettes", sources.len()),
    })
}

/// `GET /api/v1/dashboard`: the recorded list whose query is the one received (`start` defaults
/// to 0), as recorded. watchkeep lists dashboards on every refresh, also when it manages none
/// (to find its own that were left behind); with `page_size = 2` in the provider block its
/// requests are exactly the recorded pages of
/// test_get_all_dashboards_returns_ok_response_with_pagination.yaml (`count=2`, then
/// `count=2&start=2`, which answers 1 dashboard: the end). Those dashboards are the recorded
/// account's own, not watchkeep's. Any other list query: 501.
fn dashboard_list(shared: &Shared, query: &[(String, String)]) -> Routed {
    let key = dashboard_list_key(query);
    if shared.state().empty_dashboards {
        if let Some((k, _)) = query.iter().find(|(k, _)| k != "start" && k != "count") {
            return Err(format!("dashboard list parameter `{k}`: no recording has it"));
        }
        let recorded = shared
            .corpus
            .dashboard_lists
            .iter()
            .map(|(_, r)| r)
            .min_by_key(|r| !r.source.ends_with("test_get_all_dashboards_returns_ok_response.yaml"))
            .ok_or_else(|| "no recorded dashboard list in the corpus".to_string())?;
        let mut a = Answer::recorded(recorded);
        a.body["dashboards"] = Value::Array(Vec::new());
        a.source.push_str(" + test mutation: dashboards emptied");
        return Ok(a);
    }
    shared
        .corpus
        .dashboard_lists
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, r)| Answer::recorded(r))
        .ok_or_else(|| "a dashboard list with parameters no recording has".to_string())
}

/// `GET /api/v2/downtime`: only with [`RecordedDatadog::with_downtime_list_emptied`].
fn downtime_list(shared: &Shared, query: &[(String, String)]) -> Routed {
    if !shared.state().empty_downtimes {
        return Err("a downtime list (no recording answers this account's)".into());
    }
    if let Some((k, _)) = query.iter().find(|(k, _)| !matches!(k.as_str(), "page[limit]" | "page[offset]")) {
        return Err(format!("downtime list parameter `{k}`: no recording has it"));
    }
    let recorded = shared.corpus.downtime_list.as_ref().ok_or("no recorded downtime list in the corpus")?;
    let mut a = Answer::recorded(recorded);
    a.body["data"] = Value::Array(Vec::new());
    if a.body["meta"]["page"].is_object() {
        a.body["meta"]["page"]["total_filtered_count"] = Value::from(0);
    }
    a.source.push_str(" + test mutation: downtimes emptied");
    Ok(a)
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    match s.char_indices().nth(300) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s,
    }
}
