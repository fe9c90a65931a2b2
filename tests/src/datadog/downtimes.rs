//! `/api/v2/downtime` endpoints (Datadog's v2 downtime API) and the per-org downtime store.
//!
//! Calibrated against the recordings in the `datadog-api-client` 2.62.0 sdist,
//! `tests/v2/cassettes/test_scenarios/*downtime*.yaml` (cited below as `cassette:<name>`), and the
//! client's models `src/datadog_api_client/v2/model/downtime_*.py` (cited as `model:<file>`). The
//! v1 OpenAPI document the rest of the stand-in validates against has no downtime v2 operations,
//! so bodies are checked here by hand, following those models. `replay_tests` (in this file)
//! replays every recorded interaction against the stand-in.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{json, Map, Value};

use super::{
    body_rejection, error_response, path_rejection, query_get, query_pairs, read, value_response, write,
    Shared,
};

/// model:downtime_create_request_attributes / downtime_update_request_attributes.
const WRITABLE: &[&str] = &[
    "display_timezone",
    "message",
    "monitor_identifier",
    "mute_first_recovery_notification",
    "notify_end_states",
    "notify_end_types",
    "schedule",
    "scope",
];

/// model:downtime_notify_end_state_types.
const END_STATES: &[&str] = &["alert", "no data", "warn"];
/// model:downtime_notify_end_state_actions.
const END_TYPES: &[&str] = &["canceled", "expired"];
/// The order the recordings most often show for the default `notify_end_states`
/// (cassette:test_schedule_a_downtime_returns_ok_response); any order is the same set.
const DEFAULT_END_STATES: [&str; 3] = ["warn", "alert", "no data"];

/// `page[limit]` when not given. Guess, from Datadog's public API reference (default 30); the
/// recordings only show an explicit `page[limit]=2`.
const DEFAULT_LIMIT: usize = 30;

/// The creator every stand-in downtime gets (the user of cassette:test_schedule_a_downtime_returns_ok_response).
const CREATOR_ID: &str = "3ad549bf-eba0-11e9-a77a-0705486660d0";

pub(crate) struct StoredDowntime {
    attributes: Map<String, Value>,
    monitor_id: Option<i64>,
}

/// Downtimes in creation order (the list answers in creation order:
/// cassette:test_get_all_downtimes_returns_ok_response).
#[derive(Default)]
pub(crate) struct DowntimeStore {
    seq: u64,
    order: BTreeMap<u64, String>,
    map: HashMap<String, (u64, StoredDowntime)>,
}

type Answer = Result<Response, Response>;

fn settle(answer: Answer) -> Response {
    answer.unwrap_or_else(|e| e)
}

fn bad_request(message: &str) -> Response {
    error_response(StatusCode::BAD_REQUEST, message)
}

/// Checks the path id: cassette:test_get_a_downtime_returns_bad_request_response.
fn downtime_id(path: Result<Path<String>, PathRejection>) -> Result<String, Response> {
    let id = path.map(|Path(id)| id).map_err(path_rejection)?;
    if is_uuid(&id) {
        Ok(id.to_ascii_lowercase())
    } else {
        Err(bad_request("Invalid URL param: downtime_id must be an uuid"))
    }
}

fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

fn new_id(shared: &Shared) -> String {
    let a = shared.random();
    let b = shared.random();
    // Datadog's ids are time-based UUIDs (`85428b34-0187-11ee-bb05-da7ad0900002`); the shape
    // is what matters here.
    format!(
        "{:08x}-{:04x}-11ee-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        b & 0xffff,
        (b >> 16) & 0xffff_ffff_ffff
    )
}

/// `2023-06-02T20:53:26.300497+00:00`: what Datadog answers for timestamps (all cassettes).
fn stamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string()
}

fn parse_time(v: &Value, field: &str) -> Result<Option<DateTime<Utc>>, Response> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => {
            DateTime::parse_from_rfc3339(s).map(|t| Some(t.with_timezone(&Utc))).map_err(|_| {
                bad_request(&format!(
                    "Invalid datetime for {field}: {s:?} (expected ISO-8601 with an offset)"
                ))
            })
        }
        _ => Err(bad_request(&format!("{field} must be a string or null"))),
    }
}

/// `POST /api/v2/downtime`
pub(crate) async fn create(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    settle(create_inner(&shared, &headers, body))
}

fn parse_data(body: Result<Bytes, BytesRejection>) -> Result<Map<String, Value>, Response> {
    let bytes = body.map_err(body_rejection)?;
    let body: Value = serde_json::from_slice(&bytes)
        .map_err(|e| bad_request(&format!("Invalid JSON in request body: {e}")))?;
    let Some(Value::Object(data)) = body.get("data") else {
        return Err(bad_request("'data' is a required property"));
    };
    if data.get("type").and_then(Value::as_str) != Some("downtime") {
        return Err(bad_request("'downtime' was expected for data.type"));
    }
    Ok(data.clone())
}

fn attributes_of(data: &Map<String, Value>) -> Result<Map<String, Value>, Response> {
    let attrs = match data.get("attributes") {
        Some(Value::Object(a)) => a.clone(),
        _ => return Err(bad_request("'attributes' is a required property")),
    };
    // cassette:test_update_a_downtime_returns_bad_request_response.
    if let Some(extra) = attrs.keys().find(|k| !WRITABLE.contains(&k.as_str())) {
        return Err(bad_request(&format!(
            "Additional properties are not allowed ('{extra}' was unexpected)"
        )));
    }
    Ok(attrs)
}

fn create_inner(shared: &Shared, headers: &HeaderMap, body: Result<Bytes, BytesRejection>) -> Answer {
    let data = parse_data(body)?;
    let input = attributes_of(&data)?;
    // model:downtime_create_request_attributes: `scope` and `monitor_identifier` are required.
    for required in ["scope", "monitor_identifier"] {
        if !input.contains_key(required) {
            return Err(bad_request(&format!("'{required}' is a required property")));
        }
    }
    let now = Utc::now();
    let mut attrs = Map::new();
    // Defaults Datadog fills in (cassette:test_schedule_a_downtime_returns_ok_response).
    attrs.insert("display_timezone".into(), json!("UTC"));
    attrs.insert("message".into(), Value::Null);
    attrs.insert("mute_first_recovery_notification".into(), json!(false));
    attrs.insert("notify_end_states".into(), json!(DEFAULT_END_STATES));
    attrs.insert("notify_end_types".into(), json!(["expired"]));
    attrs.insert("schedule".into(), json!({ "start": null }));
    apply(&mut attrs, input, now, true)?;
    attrs.insert("created".into(), json!(stamp(now)));
    attrs.insert("modified".into(), json!(stamp(now)));
    attrs.insert("canceled".into(), Value::Null);
    set_status(&mut attrs, now);
    let monitor_id = attrs["monitor_identifier"].get("monitor_id").and_then(Value::as_i64);

    let org = shared.org_of(headers);
    let mut store = write(&org.downtimes);
    let id = loop {
        let candidate = new_id(shared);
        if !store.map.contains_key(&candidate) {
            break candidate;
        }
    };
    store.seq += 1;
    let seq = store.seq;
    store.order.insert(seq, id.clone());
    let stored = StoredDowntime { attributes: attrs, monitor_id };
    let answer = full_answer(&id, &stored);
    store.map.insert(id, (seq, stored));
    Ok(value_response(StatusCode::OK, &answer))
}

/// Validates `input` and writes it over `attrs`. `creating`: a one-time schedule's missing
/// `start` becomes now (cassette:test_schedule_a_downtime_returns_ok_response sends
/// `"start": null` and gets the creation time).
fn apply(
    attrs: &mut Map<String, Value>,
    input: Map<String, Value>,
    now: DateTime<Utc>,
    creating: bool,
) -> Result<(), Response> {
    for (key, value) in input {
        let value = match key.as_str() {
            "scope" => {
                let Some(scope) = value.as_str() else { return Err(bad_request("scope must be a string")) };
                check_scope(scope)?;
                value
            }
            "message" => match &value {
                Value::String(_) | Value::Null => value,
                _ => return Err(bad_request("message must be a string")),
            },
            "display_timezone" => match &value {
                Value::String(s) if !s.is_empty() => value,
                _ => return Err(bad_request("display_timezone must be a time zone name")),
            },
            "mute_first_recovery_notification" => match &value {
                Value::Bool(_) => value,
                _ => return Err(bad_request("mute_first_recovery_notification must be a boolean")),
            },
            "notify_end_states" => enum_list(&value, "notify_end_states", END_STATES)?,
            "notify_end_types" => enum_list(&value, "notify_end_types", END_TYPES)?,
            "monitor_identifier" => monitor_identifier(&value)?,
            "schedule" => {
                let previous = attrs.get("schedule").cloned();
                schedule(&value, previous.as_ref(), now, creating)?
            }
            _ => unreachable_field(&key)?,
        };
        attrs.insert(key, value);
    }
    Ok(())
}

fn unreachable_field(key: &str) -> Result<Value, Response> {
    Err(bad_request(&format!("Additional properties are not allowed ('{key}' was unexpected)")))
}

/// cassette:test_schedule_a_downtime_returns_bad_request_response: a scope term without a key
/// (`BAD_SCOPE_MISSING_KEY_VALUE_FORMAT`) is refused with "All values must have a key". Terms are
/// split on whitespace and parentheses; `AND`/`OR`/`NOT` and `*` pass (guess: the recordings
/// show `host:"..."` and `test:...` scopes, and `*` as a monitor tag).
fn check_scope(scope: &str) -> Result<(), Response> {
    let terms: Vec<&str> =
        scope.split(|c: char| c.is_whitespace() || c == '(' || c == ')').filter(|t| !t.is_empty()).collect();
    if terms.is_empty() {
        return Err(bad_request("scope must not be empty"));
    }
    for t in terms {
        let t = t.trim_start_matches('-');
        if matches!(t, "AND" | "OR" | "NOT" | "*") {
            continue;
        }
        if !t.contains(':') {
            return Err(bad_request("All values must have a key"));
        }
    }
    Ok(())
}

fn enum_list(value: &Value, field: &str, allowed: &[&str]) -> Result<Value, Response> {
    let Some(items) = value.as_array() else { return Err(bad_request(&format!("{field} must be a list"))) };
    for item in items {
        match item.as_str() {
            Some(s) if allowed.contains(&s) => {}
            _ => {
                return Err(bad_request(&format!(
                    "{item} is not one of [{}] in {field}",
                    allowed.iter().map(|a| format!("'{a}'")).collect::<Vec<_>>().join(", ")
                )))
            }
        }
    }
    Ok(value.clone())
}

/// model:downtime_monitor_identifier: exactly one of `{monitor_id: int64}` and
/// `{monitor_tags: [str, ...]}` (at least one tag: model:downtime_monitor_identifier_tags has
/// `min_items: 1`).
fn monitor_identifier(value: &Value) -> Result<Value, Response> {
    let Some(m) = value.as_object() else { return Err(bad_request("monitor_identifier must be an object")) };
    match (m.get("monitor_id"), m.get("monitor_tags"), m.len()) {
        (Some(id), None, 1) => {
            match id.as_i64().or_else(|| id.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)) {
                Some(n) => Ok(json!({ "monitor_id": n })),
                None => Err(bad_request("monitor_identifier.monitor_id must be an integer")),
            }
        }
        (None, Some(Value::Array(tags)), 1) if !tags.is_empty() && tags.iter().all(Value::is_string) => {
            Ok(value.clone())
        }
        (None, Some(_), 1) => {
            Err(bad_request("monitor_identifier.monitor_tags must be a non-empty list of strings"))
        }
        _ => Err(bad_request("monitor_identifier must have exactly one of monitor_id and monitor_tags")),
    }
}

/// One-time `{start, end}` (model:downtime_schedule_one_time_create_update_request) or recurring
/// `{recurrences: [{duration, rrule, start}] (1 to 5), timezone}`
/// (model:downtime_schedule_recurrences_create_request,
/// model:downtime_schedule_recurrence_create_update_request).
fn schedule(
    value: &Value,
    previous: Option<&Value>,
    now: DateTime<Utc>,
    creating: bool,
) -> Result<Value, Response> {
    let Some(m) = value.as_object() else { return Err(bad_request("schedule must be an object")) };
    if m.contains_key("recurrences") {
        if let Some(extra) = m.keys().find(|k| !matches!(k.as_str(), "recurrences" | "timezone")) {
            return Err(bad_request(&format!(
                "Additional properties are not allowed ('{extra}' was unexpected)"
            )));
        }
        return recurring(m, now);
    }
    if let Some(extra) = m.keys().find(|k| !matches!(k.as_str(), "start" | "end")) {
        return Err(bad_request(&format!(
            "Additional properties are not allowed ('{extra}' was unexpected)"
        )));
    }
    // An update of a one-time schedule changes only the fields sent (guess, by analogy with the
    // attributes: cassette:test_update_a_downtime_returns_ok_response).
    let prev = previous.filter(|p| p.get("recurrences").is_none() && !creating);
    let pick =
        |key: &str| m.get(key).or_else(|| prev.and_then(|p| p.get(key))).cloned().unwrap_or(Value::Null);
    let start = parse_time(&pick("start"), "schedule.start")?.unwrap_or(now);
    let end = parse_time(&pick("end"), "schedule.end")?;
    if let Some(end) = end {
        // Guess at the wording; Datadog refuses a window that ends before it starts.
        if end <= start {
            return Err(bad_request("Invalid schedule: end must be after start"));
        }
    }
    Ok(json!({ "end": end.map(stamp), "start": stamp(start) }))
}

fn recurring(m: &Map<String, Value>, now: DateTime<Utc>) -> Result<Value, Response> {
    let Some(Value::Array(items)) = m.get("recurrences") else {
        return Err(bad_request("schedule.recurrences must be a list"));
    };
    if items.is_empty() || items.len() > 5 {
        return Err(bad_request("schedule.recurrences must have between 1 and 5 items"));
    }
    let timezone = match m.get("timezone") {
        None | Some(Value::Null) => "UTC".to_string(),
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(_) => return Err(bad_request("schedule.timezone must be a time zone name")),
    };
    let mut out = Vec::new();
    for (i, r) in items.iter().enumerate() {
        let Some(r) = r.as_object() else { return Err(bad_request("a recurrence must be an object")) };
        if let Some(extra) = r.keys().find(|k| !matches!(k.as_str(), "duration" | "rrule" | "start")) {
            return Err(bad_request(&format!(
                "Additional properties are not allowed ('{extra}' was unexpected)"
            )));
        }
        let duration = r.get("duration").and_then(Value::as_str).unwrap_or("");
        // "Must begin with an integer and end with one of 'm', 'h', d', or 'w'."
        if duration_minutes(duration).is_none() {
            return Err(bad_request(&format!(
                "recurrences[{i}].duration {duration:?} must be an integer followed by m, h, d or w"
            )));
        }
        let rrule = r.get("rrule").and_then(Value::as_str).unwrap_or("");
        check_rrule(rrule).map_err(|e| bad_request(&format!("recurrences[{i}].rrule: {e}")))?;
        // "ISO-8601 Datetime to start the downtime. Must not include a UTC offset. If not
        // provided, the downtime starts the moment it is created."
        let start = match r.get("start") {
            None | Some(Value::Null) => now.format("%Y-%m-%dT%H:%M").to_string(),
            Some(Value::String(s)) => {
                if NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M").is_err()
                    && NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S").is_err()
                {
                    return Err(bad_request(&format!(
                        "recurrences[{i}].start {s:?} must be YYYY-MM-DDTHH:MM without a UTC offset"
                    )));
                }
                s.clone()
            }
            Some(_) => return Err(bad_request("recurrence start must be a string")),
        };
        out.push(json!({ "duration": duration, "rrule": rrule, "start": start }));
    }
    // Guess: the current (or next) occurrence is reported only where the stand-in can compute it
    // without a time zone database: for `UTC`, the first recurrence's first window.
    let mut answer = json!({ "recurrences": out, "timezone": timezone });
    if timezone == "UTC" {
        let first = &answer["recurrences"][0];
        let start = first["start"].as_str().unwrap_or("");
        let start = NaiveDateTime::parse_from_str(start, "%Y-%m-%dT%H:%M")
            .or_else(|_| NaiveDateTime::parse_from_str(start, "%Y-%m-%dT%H:%M:%S"))
            .map(|n| n.and_utc());
        let minutes = duration_minutes(first["duration"].as_str().unwrap_or(""));
        if let (Ok(start), Some(minutes)) = (start, minutes) {
            let end = start + chrono::Duration::minutes(minutes);
            answer["current_downtime"] = json!({ "start": stamp(start), "end": stamp(end) });
        }
    }
    Ok(answer)
}

fn duration_minutes(d: &str) -> Option<i64> {
    let unit = d.chars().last()?;
    let n: i64 = d[..d.len() - unit.len_utf8()].parse().ok()?;
    if n <= 0 {
        return None;
    }
    match unit {
        'm' => Some(n),
        'h' => Some(n * 60),
        'd' => Some(n * 1440),
        'w' => Some(n * 10080),
        _ => None,
    }
}

/// RFC 5545 RRULE, as far as Datadog documents it (model:downtime_schedule_recurrence_create_update_request:
/// "Attributes specifying the duration in RRULE are not supported (for example, DTSTART, DTEND,
/// DURATION)"): `KEY=VALUE` parts separated by `;`, `FREQ` required.
fn check_rrule(rrule: &str) -> Result<(), String> {
    let mut freq = false;
    for part in rrule.split(';').filter(|p| !p.is_empty()) {
        let Some((key, value)) = part.split_once('=') else {
            return Err(format!("{part:?} is not KEY=VALUE"));
        };
        match key.to_ascii_uppercase().as_str() {
            "FREQ" => {
                if !matches!(
                    value,
                    "SECONDLY" | "MINUTELY" | "HOURLY" | "DAILY" | "WEEKLY" | "MONTHLY" | "YEARLY"
                ) {
                    return Err(format!("unknown FREQ {value:?}"));
                }
                freq = true;
            }
            "DTSTART" | "DTEND" | "DURATION" => {
                return Err(format!("{key} is not supported in a downtime RRULE"))
            }
            "INTERVAL" | "COUNT" | "UNTIL" | "BYDAY" | "BYMONTHDAY" | "BYMONTH" | "BYHOUR" | "BYMINUTE"
            | "BYSETPOS" | "BYWEEKNO" | "BYYEARDAY" | "WKST" | "BYSECOND" => {}
            other => return Err(format!("unknown RRULE part {other:?}")),
        }
    }
    if freq {
        Ok(())
    } else {
        Err("FREQ is required".into())
    }
}

/// `active`, `scheduled` or `ended` from the schedule (model:downtime_status).
fn set_status(attrs: &mut Map<String, Value>, now: DateTime<Utc>) {
    if attrs.get("canceled").is_some_and(|c| !c.is_null()) {
        attrs.insert("status".into(), json!("canceled"));
        return;
    }
    let schedule = attrs.get("schedule").cloned().unwrap_or(Value::Null);
    let time = |k: &str| -> Option<DateTime<Utc>> {
        schedule
            .get(k)
            .and_then(Value::as_str)
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|t| t.with_timezone(&Utc))
    };
    let (start, end) = if schedule.get("recurrences").is_some() {
        let cur = schedule.get("current_downtime").cloned().unwrap_or(Value::Null);
        let t = |k: &str| {
            cur.get(k)
                .and_then(Value::as_str)
                .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                .map(|t| t.with_timezone(&Utc))
        };
        // A recurring downtime does not end when one window does.
        (t("start"), None)
    } else {
        (time("start"), time("end"))
    };
    let status = match (start, end) {
        (_, Some(end)) if end <= now => "ended",
        (Some(start), _) if start > now => "scheduled",
        _ => "active",
    };
    attrs.insert("status".into(), json!(status));
}

/// The `data` item as list and `GET` answer it (cassette:test_get_a_downtime_returns_ok_response:
/// no `relationships`).
fn data_item(id: &str, d: &StoredDowntime) -> Value {
    json!({ "type": "downtime", "attributes": d.attributes, "id": id })
}

/// What `POST` and `PATCH` answer: with `relationships` and the creator `included`
/// (cassette:test_schedule_a_downtime_returns_ok_response).
fn full_answer(id: &str, d: &StoredDowntime) -> Value {
    let monitor = match d.monitor_id {
        Some(m) => json!({ "type": "monitors", "id": m }),
        None => Value::Null,
    };
    json!({
        "data": {
            "type": "downtime",
            "attributes": d.attributes,
            "relationships": {
                "monitor": { "data": monitor },
                "created_by": { "data": { "type": "users", "id": CREATOR_ID } },
            },
            "id": id,
        },
        "included": [{
            "type": "users",
            "id": CREATOR_ID,
            "attributes": {
                "name": null, "handle": "watchkeep-sandbox@example.com", "email": "watchkeep-sandbox@example.com",
                "status": "Active", "disabled": false, "verified": true, "service_account": false,
            },
        }],
    })
}

/// `GET /api/v2/downtime/{id}`
pub(crate) async fn get_one(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Response {
    settle((|| {
        let id = downtime_id(path)?;
        let org = shared.org_of(&headers);
        let mut store = write(&org.downtimes);
        // cassette:test_get_a_downtime_returns_not_found_response.
        let Some((_, d)) = store.map.get_mut(&id) else {
            return Err(error_response(StatusCode::NOT_FOUND, "Downtime not found"));
        };
        set_status(&mut d.attributes, Utc::now());
        Ok(value_response(StatusCode::OK, &json!({ "data": data_item(&id, d) })))
    })())
}

/// `GET /api/v2/downtime` with `page[limit]`, `page[offset]` and `current_only`
/// (cassette:test_get_all_downtimes_returns_ok_response_with_pagination).
pub(crate) async fn list(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    settle((|| {
        let pairs = query_pairs(raw.as_deref());
        let number = |name: &str, default: usize| -> Result<usize, Response> {
            match query_get(&pairs, name) {
                None => Ok(default),
                Some(v) => v
                    .parse()
                    .map_err(|_| bad_request(&format!("Invalid query param: {name} must be an integer"))),
            }
        };
        let limit = number("page[limit]", DEFAULT_LIMIT)?;
        let offset = number("page[offset]", 0)?;
        let current_only = matches!(query_get(&pairs, "current_only"), Some("true"));
        let org = shared.org_of(&headers);
        let mut store = write(&org.downtimes);
        let now = Utc::now();
        let ids: Vec<String> = store.order.values().cloned().collect();
        let mut items = Vec::new();
        for id in ids {
            if let Some((_, d)) = store.map.get_mut(&id) {
                set_status(&mut d.attributes, now);
                let status = d.attributes.get("status").and_then(Value::as_str).unwrap_or("");
                // Guess: `current_only` keeps active and scheduled downtimes.
                if current_only && matches!(status, "canceled" | "ended") {
                    continue;
                }
                items.push(data_item(&id, d));
            }
        }
        let total = items.len();
        let page: Vec<Value> = items.into_iter().skip(offset).take(limit).collect();
        Ok(value_response(
            StatusCode::OK,
            &json!({ "data": page, "meta": { "page": { "total_filtered_count": total } } }),
        ))
    })())
}

/// `PATCH /api/v2/downtime/{id}`: changes only the attributes sent
/// (cassette:test_update_a_downtime_returns_ok_response).
pub(crate) async fn update(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    settle((|| {
        let id = downtime_id(path)?;
        let data = parse_data(body)?;
        // model:downtime_update_request_data: `id` is required (guess: it must match the path).
        match data.get("id").and_then(Value::as_str) {
            Some(body_id) if body_id.eq_ignore_ascii_case(&id) => {}
            Some(_) => return Err(bad_request("data.id does not match the downtime_id in the URL")),
            None => return Err(bad_request("'id' is a required property")),
        }
        let input = attributes_of(&data)?;
        let org = shared.org_of(&headers);
        let mut store = write(&org.downtimes);
        // cassette:test_update_a_downtime_returns_downtime_not_found_response.
        let Some((_, d)) = store.map.get_mut(&id) else {
            return Err(error_response(StatusCode::NOT_FOUND, "Downtime not found"));
        };
        let now = Utc::now();
        let mut attrs = d.attributes.clone();
        apply(&mut attrs, input, now, false)?;
        attrs.insert("modified".into(), json!(stamp(now)));
        set_status(&mut attrs, now);
        d.monitor_id = attrs["monitor_identifier"].get("monitor_id").and_then(Value::as_i64);
        d.attributes = attrs;
        Ok(value_response(StatusCode::OK, &full_answer(&id, d)))
    })())
}

/// `DELETE /api/v2/downtime/{id}`: cancels; 204 with no body, also for a downtime already
/// cancelled (cassette:test_cancel_a_downtime_returns_ok_response), 404 for an unknown one
/// (cassette:test_cancel_a_downtime_returns_downtime_not_found_response).
pub(crate) async fn cancel(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Response {
    settle((|| {
        let id = downtime_id(path)?;
        let org = shared.org_of(&headers);
        let mut store = write(&org.downtimes);
        let Some((_, d)) = store.map.get_mut(&id) else {
            return Err(error_response(StatusCode::NOT_FOUND, &format!("Downtime {id} not found")));
        };
        if d.attributes.get("canceled").is_none_or(Value::is_null) {
            let now = Utc::now();
            d.attributes.insert("canceled".into(), json!(stamp(now)));
            d.attributes.insert("modified".into(), json!(stamp(now)));
        }
        set_status(&mut d.attributes, Utc::now());
        Ok(StatusCode::NO_CONTENT.into_response())
    })())
}

/// Out-of-band view of one org's downtimes as `GET /api/v2/downtime` items (cancelled ones too).
pub(crate) fn snapshot(store: &DowntimeStore) -> Vec<Value> {
    store.order.values().filter_map(|id| store.map.get(id).map(|(_, d)| data_item(id, d))).collect()
}

/// Read access for [`snapshot`] through an org.
pub(crate) fn all(org: &super::Org) -> Vec<Value> {
    snapshot(&read(&org.downtimes))
}

#[cfg(test)]
mod replay_tests;
