//! `/api/v1/dashboard` endpoints and the per-org dashboard store.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{json, Map, Value};

use super::normalize::{check_dashboard, dashboard_summary, normalize_dashboard, now_micros, DashboardMeta};
use super::{
    body_rejection, check_query, error_response, json_response, parse_body, path_rejection, query_get,
    query_pairs, read, value_response, write, Shared,
};

const LIST: &str = "/api/v1/dashboard";
const ONE: &str = "/api/v1/dashboard/{dashboard_id}";

/// The spec's default page size of the list.
const DEFAULT_COUNT: i64 = 100;

pub(crate) struct StoredDashboard {
    json: String,
    summary: Value,
    created_at: String,
}

impl StoredDashboard {
    fn new(value: Value) -> Self {
        let created_at = value.get("created_at").and_then(Value::as_str).unwrap_or("").to_owned();
        StoredDashboard { json: value.to_string(), summary: dashboard_summary(&value), created_at }
    }
}

/// Dashboards in creation order.
#[derive(Default)]
pub(crate) struct DashboardStore {
    seq: u64,
    order: BTreeMap<u64, String>,
    map: HashMap<String, (u64, Arc<StoredDashboard>)>,
}

type Answer = Result<Response, Response>;

fn settle(answer: Answer) -> Response {
    answer.unwrap_or_else(|e| e)
}

fn bad_request(message: &str) -> Response {
    error_response(StatusCode::BAD_REQUEST, message)
}

fn not_found(id: &str) -> Response {
    error_response(StatusCode::NOT_FOUND, &format!("Dashboard with ID {id} not found"))
}

fn body_object(body: &Value) -> Result<&Map<String, Value>, Response> {
    body.as_object().ok_or_else(|| bad_request("Invalid request body: a JSON object is required"))
}

fn dashboard_id(path: Result<Path<String>, PathRejection>) -> Result<String, Response> {
    path.map(|Path(id)| id).map_err(path_rejection)
}

/// Datadog's own checks come before the spec's (their messages are the ones recorded).
fn parse_dashboard(method: &str, path: &str, bytes: &[u8]) -> Result<Value, Response> {
    if let Ok(v) = serde_json::from_slice::<Value>(bytes) {
        check_dashboard(&v).map_err(|e| bad_request(&e))?;
    }
    parse_body(method, path, bytes)
}

/// `abc-def-ghi`: three groups of three lowercase letters.
fn new_id(shared: &Shared) -> String {
    let mut r = shared.random();
    let mut id = String::with_capacity(11);
    for i in 0..9 {
        if i > 0 && i % 3 == 0 {
            id.push('-');
        }
        id.push(char::from(b'a' + (r % 26) as u8));
        r /= 26;
    }
    id
}

/// `POST /api/v1/dashboard`
pub(crate) async fn create(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    settle(create_inner(&shared, &headers, body))
}

fn create_inner(shared: &Shared, headers: &HeaderMap, body: Result<Bytes, BytesRejection>) -> Answer {
    let bytes = body.map_err(body_rejection)?;
    let body = parse_dashboard("post", LIST, &bytes)?;
    let fields = body_object(&body)?;
    let org = shared.org_of(headers);
    let now = now_micros();
    let mut store = write(&org.dashboards);
    let id = loop {
        let candidate = new_id(shared);
        if !store.map.contains_key(&candidate) {
            break candidate;
        }
    };
    let meta = DashboardMeta { era: org.era(), id: &id, created_at: &now, modified_at: &now };
    let value = normalize_dashboard(fields, &meta, &mut || shared.widget_id());
    let stored = Arc::new(StoredDashboard::new(value));
    store.seq += 1;
    let seq = store.seq;
    store.order.insert(seq, id.clone());
    store.map.insert(id, (seq, Arc::clone(&stored)));
    Ok(json_response(StatusCode::OK, stored.json.clone()))
}

/// `GET /api/v1/dashboard/{id}`
pub(crate) async fn get_one(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Response {
    settle(get_one_inner(&shared, &headers, path))
}

fn get_one_inner(shared: &Shared, headers: &HeaderMap, path: Result<Path<String>, PathRejection>) -> Answer {
    let id = dashboard_id(path)?;
    let org = shared.org_of(headers);
    let found = read(&org.dashboards).map.get(&id).map(|(_, d)| Arc::clone(d));
    found.map(|d| json_response(StatusCode::OK, d.json.clone())).ok_or_else(|| not_found(&id))
}

/// `PUT /api/v1/dashboard/{id}`: replaces the whole dashboard (widget ids sent are kept).
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
    let id = dashboard_id(path)?;
    let bytes = body.map_err(body_rejection)?;
    let body = parse_dashboard("put", ONE, &bytes)?;
    let fields = body_object(&body)?;
    let org = shared.org_of(headers);
    let mut store = write(&org.dashboards);
    let (seq, existing) =
        store.map.get(&id).map(|(seq, d)| (*seq, Arc::clone(d))).ok_or_else(|| not_found(&id))?;
    let now = now_micros();
    let meta = DashboardMeta { era: org.era(), id: &id, created_at: &existing.created_at, modified_at: &now };
    let value = normalize_dashboard(fields, &meta, &mut || shared.widget_id());
    let stored = Arc::new(StoredDashboard::new(value));
    store.map.insert(id, (seq, Arc::clone(&stored)));
    Ok(json_response(StatusCode::OK, stored.json.clone()))
}

/// `DELETE /api/v1/dashboard/{id}`
pub(crate) async fn delete(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Response {
    settle(delete_inner(&shared, &headers, path))
}

fn delete_inner(shared: &Shared, headers: &HeaderMap, path: Result<Path<String>, PathRejection>) -> Answer {
    let id = dashboard_id(path)?;
    let org = shared.org_of(headers);
    let mut store = write(&org.dashboards);
    let (seq, _) = store.map.remove(&id).ok_or_else(|| not_found(&id))?;
    store.order.remove(&seq);
    Ok(value_response(StatusCode::OK, &json!({ "deleted_dashboard_id": id })))
}

/// `GET /api/v1/dashboard`: summaries in creation order, paged by `start`/`count`.
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
    let number = |name: &str| query_get(&pairs, name).and_then(|v| v.trim().parse::<i64>().ok());
    let start = number("start").unwrap_or(0);
    let count = number("count").unwrap_or(DEFAULT_COUNT);
    if start < 0 {
        return Err(bad_request("Invalid value for query parameter 'start': must be >= 0"));
    }
    if count < 0 {
        return Err(bad_request("Invalid value for query parameter 'count': must be >= 0"));
    }
    let flag = |name: &str| query_get(&pairs, name).is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    // The stand-in keeps neither deleted nor shared dashboards.
    let none = flag("filter[deleted]") || flag("filter[shared]");
    let org = shared.org_of(headers);
    let summaries: Vec<Value> = if none {
        Vec::new()
    } else {
        let store = read(&org.dashboards);
        store
            .order
            .values()
            .skip(usize::try_from(start).unwrap_or(usize::MAX))
            .take(usize::try_from(count).unwrap_or(0))
            .filter_map(|id| store.map.get(id).map(|(_, d)| d.summary.clone()))
            .collect()
    };
    Ok(value_response(StatusCode::OK, &json!({ "dashboards": summaries })))
}
