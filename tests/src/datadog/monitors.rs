//! `/api/v1/monitor` endpoints and the per-org monitor store.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{json, Map, Value};

use super::normalize::{
    check_and_fill_thresholds, check_query_operator, monitor_as_input, monitor_view, normalize_monitor,
    now_micros, type_class, Era, MonitorMeta, MonitorView, MONITOR_WRITABLE,
};
use super::{
    body_rejection, check_query, error_response, json_response, parse_body, path_rejection, query_get,
    query_pairs, read, value_response, write, Org, Shared,
};

const LIST: &str = "/api/v1/monitor";
const ONE: &str = "/api/v1/monitor/{monitor_id}";
const VALIDATE: &str = "/api/v1/monitor/validate";
const VALIDATE_ONE: &str = "/api/v1/monitor/{monitor_id}/validate";

/// Ids of each org start here.
pub(crate) const FIRST_MONITOR_ID: i64 = 1_000_001;

/// Without `page`, the list returns every match; with it, pages default to this size.
const DEFAULT_PAGE_SIZE: i64 = 100;

/// A stored monitor: its answers and what the list filters look at, precomputed.
pub(crate) struct StoredMonitor {
    /// Everything Datadog stores (the create answer, see `normalize_monitor`).
    pub(crate) full: Value,
    /// The monitor as lists show it.
    pub(crate) value: Value,
    /// `value` serialised, so that lists are concatenations.
    pub(crate) json: String,
    tags: Vec<String>,
    name_lower: String,
    query: String,
    /// The org's era when it was stored (what its answers show).
    era: Era,
}

impl StoredMonitor {
    fn new(full: Value, era: Era) -> Self {
        let value = monitor_view(&full, MonitorView::List, era);
        let json = value.to_string();
        let tags = value
            .get("tags")
            .and_then(Value::as_array)
            .map(|t| t.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default();
        let name_lower = value.get("name").and_then(Value::as_str).unwrap_or("").to_lowercase();
        let query = value.get("query").and_then(Value::as_str).unwrap_or("").to_owned();
        StoredMonitor { full, value, json, tags, name_lower, query, era }
    }
}

pub(crate) struct MonitorStore {
    next_id: i64,
    pub(crate) map: BTreeMap<i64, Arc<StoredMonitor>>,
}

impl MonitorStore {
    pub(crate) fn new() -> Self {
        MonitorStore { next_id: FIRST_MONITOR_ID, map: BTreeMap::new() }
    }
}

type Answer = Result<Response, Response>;

fn settle(answer: Answer) -> Response {
    answer.unwrap_or_else(|e| e)
}

fn bad_request(message: &str) -> Response {
    error_response(StatusCode::BAD_REQUEST, message)
}

fn not_found() -> Response {
    error_response(StatusCode::NOT_FOUND, "Monitor not found")
}

fn parse_id(path: Result<Path<String>, PathRejection>) -> Result<i64, Response> {
    let Path(raw) = path.map_err(path_rejection)?;
    raw.trim().parse::<i64>().map_err(|_| {
        bad_request(&format!("Invalid value for path parameter 'monitor_id': {raw:?} is not an integer"))
    })
}

fn body_object(body: &Value) -> Result<&Map<String, Value>, Response> {
    body.as_object().ok_or_else(|| bad_request("Invalid request body: a JSON object is required"))
}

fn stored_answer(m: &StoredMonitor, view: MonitorView) -> Response {
    if view == MonitorView::List {
        return json_response(StatusCode::OK, m.json.clone());
    }
    value_response(StatusCode::OK, &monitor_view(&m.full, view, m.era))
}

/// The checks of a create (and of both validate endpoints) beyond the spec's schema.
fn check_monitor(input: &mut Map<String, Value>) -> Result<(), Response> {
    check_query_operator(input).map_err(|e| bad_request(&e))?;
    check_and_fill_thresholds(input, true).map_err(|e| bad_request(&e))
}

/// Validation-free insert of many monitors (normalised like POST).
pub(crate) fn seed(org: &Org, bodies: Vec<Value>) -> Vec<i64> {
    let count = i64::try_from(bodies.len()).unwrap_or(i64::MAX);
    let first = {
        let mut store = write(&org.monitors);
        let first = store.next_id;
        store.next_id = store.next_id.saturating_add(count);
        first
    };
    let now = now_micros();
    let mut prepared = Vec::with_capacity(bodies.len());
    for (id, body) in (first..).zip(bodies) {
        let mut input: Map<String, Value> = match body {
            Value::Object(m) => {
                m.into_iter().filter(|(k, _)| MONITOR_WRITABLE.contains(&k.as_str())).collect()
            }
            _ => Map::new(),
        };
        let _ = check_and_fill_thresholds(&mut input, false);
        let meta = MonitorMeta { id, org_id: org.id, created: &now, modified: &now, era: org.era() };
        let stored = StoredMonitor::new(normalize_monitor(&input, &meta), meta.era);
        prepared.push((id, Arc::new(stored)));
    }
    let ids = prepared.iter().map(|(id, _)| *id).collect();
    write(&org.monitors).map.extend(prepared);
    ids
}

/// `POST /api/v1/monitor`
pub(crate) async fn create(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    settle(create_inner(&shared, &headers, body))
}

fn create_inner(shared: &Shared, headers: &HeaderMap, body: Result<Bytes, BytesRejection>) -> Answer {
    let bytes = body.map_err(body_rejection)?;
    let body = parse_body("post", LIST, &bytes)?;
    let mut input = super::normalize::keep_fields(body_object(&body)?, MONITOR_WRITABLE);
    check_monitor(&mut input)?;
    let org = shared.org_of(headers);
    let now = now_micros();
    let stored = {
        let mut store = write(&org.monitors);
        let id = store.next_id;
        store.next_id += 1;
        let meta = MonitorMeta { id, org_id: org.id, created: &now, modified: &now, era: org.era() };
        let stored = Arc::new(StoredMonitor::new(normalize_monitor(&input, &meta), meta.era));
        store.map.insert(id, Arc::clone(&stored));
        stored
    };
    Ok(stored_answer(&stored, MonitorView::Create))
}

/// `GET /api/v1/monitor/{id}`
pub(crate) async fn get_one(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
) -> Response {
    settle(get_one_inner(&shared, &headers, path, query))
}

fn get_one_inner(
    shared: &Shared,
    headers: &HeaderMap,
    path: Result<Path<String>, PathRejection>,
    query: Option<String>,
) -> Answer {
    let id = parse_id(path)?;
    let pairs = query_pairs(query.as_deref());
    check_query("get", ONE, &pairs)?;
    let with_downtimes = query_get(&pairs, "with_downtimes").is_some_and(|v| v.trim() == "true");
    let org = shared.org_of(headers);
    let found = read(&org.monitors).map.get(&id).cloned();
    found.map(|m| stored_answer(&m, MonitorView::Get { with_downtimes })).ok_or_else(not_found)
}

/// `PUT /api/v1/monitor/{id}`: present top-level fields replace the stored ones (`options`
/// as a whole), then everything is normalised again.
pub(crate) async fn update(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    settle(update_inner(&shared, &headers, path, body))
}

fn update_inner(
    shared: &Shared,
    headers: &HeaderMap,
    path: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let id = parse_id(path)?;
    let bytes = body.map_err(body_rejection)?;
    let body = parse_body("put", ONE, &bytes)?;
    let changes = body_object(&body)?;
    let org = shared.org_of(headers);
    let mut store = write(&org.monitors);
    let existing = store.map.get(&id).cloned().ok_or_else(not_found)?;
    let mut input = monitor_as_input(&existing.full);
    check_type_change(&input, changes)?;
    for (k, v) in changes {
        if MONITOR_WRITABLE.contains(&k.as_str()) {
            input.insert(k.clone(), v.clone());
        }
    }
    check_monitor(&mut input)?;
    let created = existing.full.get("created").and_then(Value::as_str).unwrap_or("").to_owned();
    let now = now_micros();
    let meta = MonitorMeta { id, org_id: org.id, created: &created, modified: &now, era: org.era() };
    let stored = Arc::new(StoredMonitor::new(normalize_monitor(&input, &meta), meta.era));
    store.map.insert(id, Arc::clone(&stored));
    Ok(stored_answer(&stored, MonitorView::Update))
}

/// 400 when `changes` would turn the monitor into another type.
fn check_type_change(current: &Map<String, Value>, changes: &Map<String, Value>) -> Result<(), Response> {
    let Some(new_type) = changes.get("type").and_then(Value::as_str) else {
        return Ok(());
    };
    let old_type = current.get("type").and_then(Value::as_str).unwrap_or("");
    if type_class(new_type) != type_class(old_type) {
        return Err(bad_request("Monitor type cannot be changed"));
    }
    Ok(())
}

/// `DELETE /api/v1/monitor/{id}`
pub(crate) async fn delete(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
) -> Response {
    settle(delete_inner(&shared, &headers, path, query))
}

fn delete_inner(
    shared: &Shared,
    headers: &HeaderMap,
    path: Result<Path<String>, PathRejection>,
    query: Option<String>,
) -> Answer {
    let id = parse_id(path)?;
    check_query("delete", ONE, &query_pairs(query.as_deref()))?;
    let org = shared.org_of(headers);
    let removed = write(&org.monitors).map.remove(&id);
    match removed {
        Some(_) => Ok(value_response(StatusCode::OK, &json!({ "deleted_monitor_id": id }))),
        None => Err(not_found()),
    }
}

/// `POST /api/v1/monitor/validate`: the checks of a create; stores nothing.
pub(crate) async fn validate(body: Result<Bytes, BytesRejection>) -> Response {
    settle(validate_inner(body))
}

fn validate_inner(body: Result<Bytes, BytesRejection>) -> Answer {
    let bytes = body.map_err(body_rejection)?;
    let body = parse_body("post", VALIDATE, &bytes)?;
    let mut input = super::normalize::keep_fields(body_object(&body)?, MONITOR_WRITABLE);
    check_monitor(&mut input)?;
    Ok(json_response(StatusCode::OK, "{}".to_owned()))
}

/// `POST /api/v1/monitor/{id}/validate`: also refuses a type change of an existing monitor.
pub(crate) async fn validate_existing(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    settle(validate_existing_inner(&shared, &headers, path, body))
}

fn validate_existing_inner(
    shared: &Shared,
    headers: &HeaderMap,
    path: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let id = parse_id(path)?;
    let bytes = body.map_err(body_rejection)?;
    let body = parse_body("post", VALIDATE_ONE, &bytes)?;
    let fields = body_object(&body)?;
    let org = shared.org_of(headers);
    let existing = read(&org.monitors).map.get(&id).cloned();
    if let Some(existing) = existing {
        check_type_change(&monitor_as_input(&existing.full), fields)?;
    }
    let mut input = super::normalize::keep_fields(fields, MONITOR_WRITABLE);
    check_monitor(&mut input)?;
    Ok(json_response(StatusCode::OK, "{}".to_owned()))
}

fn split_list(v: Option<&str>) -> Vec<String> {
    v.map(|s| s.split(',').map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned).collect())
        .unwrap_or_default()
}

fn parse_i64(v: Option<&str>) -> Option<i64> {
    v.and_then(|s| s.trim().parse::<i64>().ok())
}

/// `GET /api/v1/monitor`: sorted by id; filters `monitor_tags`, `tags`, `name`, `id_offset`;
/// paging with `page`/`page_size` (all matches when `page` is absent).
pub(crate) async fn list(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    settle(list_inner(&shared, &headers, query))
}

fn list_inner(shared: &Shared, headers: &HeaderMap, query: Option<String>) -> Answer {
    let pairs = query_pairs(query.as_deref());
    check_query("get", LIST, &pairs)?;
    check_group_states(query_get(&pairs, "group_states"))?;
    let monitor_tags = split_list(query_get(&pairs, "monitor_tags"));
    let scope_tags = split_list(query_get(&pairs, "tags"));
    let name = query_get(&pairs, "name").map(|n| n.trim().to_lowercase()).filter(|n| !n.is_empty());
    let id_offset = parse_i64(query_get(&pairs, "id_offset"));
    let page = parse_i64(query_get(&pairs, "page"));
    let page_size = parse_i64(query_get(&pairs, "page_size"));
    if page.is_some_and(|p| p < 0) {
        return Err(bad_request("Invalid value for query parameter 'page': must be >= 0"));
    }
    if page_size.is_some_and(|s| s < 0) {
        return Err(bad_request("Invalid value for query parameter 'page_size': must be >= 0"));
    }
    let window = page.map(|p| {
        let size = usize::try_from(page_size.unwrap_or(DEFAULT_PAGE_SIZE)).unwrap_or(0);
        let skip = usize::try_from(p).unwrap_or(usize::MAX).saturating_mul(size);
        (skip, size)
    });
    let matches = |m: &StoredMonitor| {
        monitor_tags.iter().all(|t| m.tags.iter().any(|x| x == t))
            && scope_tags.iter().all(|t| m.query.contains(t.as_str()))
            && name.as_ref().is_none_or(|n| m.name_lower.contains(n.as_str()))
    };
    let org = shared.org_of(headers);
    let selected: Vec<Arc<StoredMonitor>> = {
        let store = read(&org.monitors);
        let lower = id_offset.map_or(Bound::Unbounded, Bound::Excluded);
        let found = store.map.range((lower, Bound::Unbounded)).map(|(_, m)| m).filter(|m| matches(m));
        match window {
            Some((skip, size)) => found.skip(skip).take(size).cloned().collect(),
            None => found.cloned().collect(),
        }
    };
    let len: usize = selected.iter().map(|m| m.json.len() + 1).sum();
    let mut out = String::with_capacity(len + 2);
    out.push('[');
    for (i, m) in selected.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&m.json);
    }
    out.push(']');
    Ok(json_response(StatusCode::OK, out))
}

/// `group_states` of the list: a comma-separated list of `all`, `alert`, `warn`, `no data` (the
/// spec's description); anything else is refused with Datadog's message
/// (`tests/v1/cassettes/test_scenarios/test_get_all_monitors_returns_bad_request_response.yaml`:
/// `group_states=notagroupstate` → 400 `Invalid group_state filters.`). The stand-in keeps no
/// group states, so a valid filter changes nothing.
fn check_group_states(v: Option<&str>) -> Result<(), Response> {
    const STATES: &[&str] = &["all", "alert", "warn", "no data"];
    match v {
        Some(list) if !split_list(Some(list)).iter().all(|s| STATES.contains(&s.to_lowercase().as_str())) => {
            Err(bad_request("Invalid group_state filters."))
        }
        _ => Ok(()),
    }
}

/// `GET /api/v1/monitor/can_delete?monitor_ids=1,2`: `{"data":{"ok":[ids]},"errors":null}`
/// (`tests/v1/cassettes/test_scenarios/test_check_if_a_monitor_can_be_deleted_returns_ok_response.yaml`).
/// A monitor a composite monitor of the org refers to cannot be deleted: it is left out of `ok` and
/// `errors` maps its id to where it is used, with 409 (the spec's `CheckCanDeleteMonitorResponse`
/// and its 409 answer; the wording of the strings is a guess). Unknown ids count as deletable
/// (a guess: nothing refers to them).
pub(crate) async fn can_delete(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    settle(can_delete_inner(&shared, &headers, query))
}

fn can_delete_inner(shared: &Shared, headers: &HeaderMap, query: Option<String>) -> Answer {
    const PATH: &str = "/api/v1/monitor/can_delete";
    let pairs = query_pairs(query.as_deref());
    check_query("get", PATH, &pairs)?;
    let mut ids = Vec::new();
    for raw in split_list(query_get(&pairs, "monitor_ids")) {
        let id = raw.parse::<i64>().map_err(|_| {
            bad_request(&format!(
                "Invalid value for query parameter 'monitor_ids': {raw:?} is not an integer"
            ))
        })?;
        ids.push(id);
    }
    if ids.is_empty() {
        return Err(bad_request("Missing required query parameter 'monitor_ids'"));
    }
    let org = shared.org_of(headers);
    let store = read(&org.monitors);
    let mut ok = Vec::new();
    let mut errors = Map::new();
    for id in ids {
        let users: Vec<String> = store
            .map
            .values()
            .filter(|m| m.full.get("type").and_then(Value::as_str) == Some("composite"))
            .filter(|m| composite_refers_to(&m.query, id))
            .map(|m| {
                format!("composite monitor {}", m.full.get("id").map(Value::to_string).unwrap_or_default())
            })
            .collect();
        if users.is_empty() {
            ok.push(Value::from(id));
        } else {
            errors.insert(id.to_string(), Value::from(users));
        }
    }
    if errors.is_empty() {
        Ok(value_response(StatusCode::OK, &json!({"data": {"ok": ok}, "errors": null})))
    } else {
        Err(value_response(StatusCode::CONFLICT, &json!({"data": {"ok": ok}, "errors": errors})))
    }
}

/// Whether a composite query (`123 && !456 || 789`) names monitor `id`.
fn composite_refers_to(query: &str, id: i64) -> bool {
    query.split(|c: char| !c.is_ascii_digit()).any(|tok| tok.parse::<i64>().is_ok_and(|t| t == id))
}

/// Sets one monitor's `overall_state` (and `overall_state_modified` to now), out of band: the
/// stand-in does not evaluate monitors, so a test says what Datadog's evaluation concluded.
/// `false` when the org has no such monitor.
pub(crate) fn set_state(org: &Org, id: i64, state: &str) -> bool {
    set_state_modified(org, id, state, now_micros())
}

/// Sets a monitor's `overall_state` as the evaluator found it at `at` (epoch seconds).
pub(crate) fn set_state_at(org: &Org, id: i64, state: &str, at: i64) -> bool {
    let modified = chrono::DateTime::from_timestamp(at, 0)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string())
        .unwrap_or_else(now_micros);
    set_state_modified(org, id, state, modified)
}

fn set_state_modified(org: &Org, id: i64, state: &str, modified: String) -> bool {
    let mut store = write(&org.monitors);
    let Some(old) = store.map.get(&id) else { return false };
    let mut full = old.full.clone();
    full["overall_state"] = json!(state);
    full["overall_state_modified"] = json!(modified);
    let era = old.era;
    store.map.insert(id, Arc::new(StoredMonitor::new(full, era)));
    true
}
