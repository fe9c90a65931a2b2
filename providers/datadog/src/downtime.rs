//! `datadog_downtime`: Datadog's v2 downtime API, `/api/v2/downtime`.
//!
//! Sources of every field fact below (cited as `cassette:<name>` = the file
//! `tests/v2/cassettes/test_scenarios/<name>.yaml` in the `datadog-api-client` 2.62.0 sdist, and
//! `model:<file>` = `src/datadog_api_client/v2/model/<file>.py` in the same sdist):
//!
//! * Bodies are JSON:API: `{"data":{"type":"downtime","attributes":{...}}}` on `POST`, plus
//!   `"id"` on `PATCH`; answers are `{"data":{"type","id","attributes","relationships"},
//!   "included":[...]}` (cassette:test_schedule_a_downtime_returns_ok_response,
//!   cassette:test_update_a_downtime_returns_ok_response).
//! * Writable attributes (model:downtime_create_request_attributes,
//!   model:downtime_update_request_attributes): `display_timezone`, `message`,
//!   `monitor_identifier` (`{monitor_id}` | `{monitor_tags}`), `mute_first_recovery_notification`,
//!   `notify_end_states` (`alert`, `no data`, `warn`), `notify_end_types` (`canceled`,
//!   `expired`), `schedule`, `scope`. Anything else is a 400 "Additional properties are not
//!   allowed" (cassette:test_update_a_downtime_returns_bad_request_response).
//! * Server-filled defaults (every `*downtime*returns_ok_response` cassette): `display_timezone:
//!   "UTC"`, `mute_first_recovery_notification: false`, `notify_end_states` = all three (in any
//!   order: the recordings show several orders of the same set), `notify_end_types:
//!   ["expired"]`, `message: null`, a one-time `schedule` gets `end: null` and `start` = now
//!   when not given.
//! * Read-only: `status` (`active`, `canceled`, `ended`, `scheduled`; model:downtime_status),
//!   `created`, `modified`, `canceled`, `creator`, `relationships`, `included`, the id, and a
//!   recurring schedule's `current_downtime` (model:downtime_schedule_recurrences_response).
//! * `DELETE` cancels: 204 with an empty body, again 204 on a second cancel
//!   (cassette:test_cancel_a_downtime_returns_ok_response): the downtime stays, `canceled`. A
//!   cancelled downtime therefore counts as deleted here: lists skip it, reads answer `None`.
//! * `GET /api/v2/downtime` pages with `page[limit]`/`page[offset]` and reports
//!   `meta.page.total_filtered_count` (cassette:test_get_all_downtimes_returns_ok_response_with_pagination).
//! * Unknown id: 404 `{"errors":["Downtime not found"]}`; an id that is not a UUID: 400
//!   (cassette:test_get_a_downtime_returns_not_found_response,
//!   cassette:test_get_a_downtime_returns_bad_request_response).
//!
//! Downtimes have no tags, so the ownership marker is the last line of `message`, as dashboards
//! carry it in their description: `managed-by:watchkeep watchkeep-address:<marker>`.

use std::collections::HashSet;

use reqwest::Method;
use serde_json::{json, Map, Value};
use watchkeep_provider::{address_marker, LiveObject, ProviderError, Result};

use crate::dashboard::ownership;
use crate::http::{segment, Http};
use crate::normalize::canonical;

pub(crate) const TYPE: &str = "datadog_downtime";

/// Fields Datadog computes; never sent and never compared.
pub const DOWNTIME_READ_ONLY: &[&str] =
    &["id", "status", "created", "modified", "canceled", "creator", "relationships", "included", "type"];

/// The writable attributes (model:downtime_create_request_attributes).
pub const DOWNTIME_WRITABLE: &[&str] = &[
    "display_timezone",
    "message",
    "monitor_identifier",
    "mute_first_recovery_notification",
    "notify_end_states",
    "notify_end_types",
    "schedule",
    "scope",
];

/// What Datadog fills in for `notify_end_states` when it is not sent (all recordings).
const DEFAULT_END_STATES: [&str; 3] = ["alert", "no data", "warn"];

/// Downtimes per list page. The public docs give `page[limit]` a default of 30 and a maximum of
/// 100 (guess for the maximum: the cassettes only show `page[limit]=2`).
const MAX_LIST_LIMIT: u32 = 100;

pub(crate) async fn list(http: &Http, page_size: u32, owned_only: bool) -> Result<Vec<LiveObject>> {
    let limit = page_size.clamp(1, MAX_LIST_LIMIT);
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let mut offset: u64 = 0;
    loop {
        let query = [("page[limit]", limit.to_string()), ("page[offset]", offset.to_string())];
        let body = http.json(Method::GET, "/api/v2/downtime", &query, None).await?;
        let Some(items) = body.get("data").and_then(Value::as_array) else {
            return Err(decode(format!(
                "GET /api/v2/downtime (offset {offset}) did not return a `data` list"
            )));
        };
        let count = items.len();
        let mut new_on_page = 0;
        for item in items {
            if is_canceled(item) {
                continue;
            }
            let obj = live_object(item)?;
            if seen.insert(obj.id.clone()) {
                new_on_page += 1;
                if !owned_only || obj.owned {
                    out.push(obj);
                }
            }
        }
        if count < limit as usize {
            return Ok(out);
        }
        if new_on_page == 0 && items.iter().all(|i| !is_canceled(i)) {
            return Err(decode(format!(
                "GET /api/v2/downtime returned the same downtimes again at offset {offset}; the server does not \
                 seem to honour `page[offset]`"
            )));
        }
        offset += count as u64;
    }
}

pub(crate) async fn find_by_marker(http: &Http, page_size: u32, address: &str) -> Result<Vec<LiveObject>> {
    let marker = address_marker(address);
    Ok(list(http, page_size, true)
        .await?
        .into_iter()
        .filter(|o| o.marker.as_deref() == Some(marker.as_str()))
        .collect())
}

pub(crate) async fn read(http: &Http, id: &str) -> Result<Option<LiveObject>> {
    let Some(seg) = segment(id) else { return Ok(None) };
    match http.json(Method::GET, &format!("/api/v2/downtime/{seg}"), &[], None).await {
        Ok(body) => {
            let data = body.get("data").ok_or_else(|| decode("a downtime answer without `data`".into()))?;
            if is_canceled(data) {
                return Ok(None);
            }
            live_object(data).map(Some)
        }
        Err(ProviderError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

pub(crate) async fn create(http: &Http, attrs: &Value) -> Result<LiveObject> {
    let body = json!({ "data": { "type": "downtime", "attributes": request_attributes(attrs) } });
    let answer = http.json(Method::POST, "/api/v2/downtime", &[], Some(&body)).await?;
    live_object(
        answer.get("data").ok_or_else(|| decode("POST /api/v2/downtime answered without `data`".into()))?,
    )
}

pub(crate) async fn update(http: &Http, id: &str, attrs: &Value) -> Result<LiveObject> {
    let seg = segment(id).ok_or_else(|| ProviderError::NotFound { what: format!("{TYPE} `{id}`") })?;
    let body = json!({ "data": { "type": "downtime", "id": id, "attributes": update_attributes(attrs) } });
    let answer = http.json(Method::PATCH, &format!("/api/v2/downtime/{seg}"), &[], Some(&body)).await?;
    live_object(
        answer.get("data").ok_or_else(|| decode("PATCH /api/v2/downtime answered without `data`".into()))?,
    )
}

/// `DELETE` cancels; a downtime already cancelled or gone is deleted already.
pub(crate) async fn delete(http: &Http, id: &str) -> Result<()> {
    let Some(seg) = segment(id) else { return Ok(()) };
    match http.json(Method::DELETE, &format!("/api/v2/downtime/{seg}"), &[], None).await {
        Ok(_) | Err(ProviderError::NotFound { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

fn is_canceled(data: &Value) -> bool {
    let attrs = data.get("attributes");
    attrs.and_then(|a| a.get("status")).and_then(Value::as_str) == Some("canceled")
        || attrs.and_then(|a| a.get("canceled")).is_some_and(|c| !c.is_null())
}

/// The writable attributes of `attrs`, whole numbers as integers (`monitor_id` is an int64).
fn request_attributes(attrs: &Value) -> Value {
    let mut out = Map::new();
    if let Value::Object(m) = attrs {
        for (k, v) in m {
            if DOWNTIME_WRITABLE.contains(&k.as_str()) {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    if let Some(Value::Object(s)) = out.get_mut("schedule") {
        s.remove("current_downtime");
    }
    canonical(Value::Object(out))
}

/// `PATCH` changes only the attributes it is sent (cassette:test_update_a_downtime_returns_ok_response
/// sends only `message` and the rest stays), so an attribute removed from the configuration is
/// sent as its default; otherwise it would stay for ever.
fn update_attributes(attrs: &Value) -> Value {
    let mut body = request_attributes(attrs);
    if let Value::Object(m) = &mut body {
        let defaults = [
            ("display_timezone", json!("UTC")),
            ("mute_first_recovery_notification", json!(false)),
            ("notify_end_states", json!(DEFAULT_END_STATES)),
            ("notify_end_types", json!(["expired"])),
            // The update model types `message` as a string (not nullable).
            ("message", json!("")),
        ];
        for (key, unset) in defaults {
            m.entry(key).or_insert(unset);
        }
    }
    body
}

/// Appends (or replaces) the marker line as the last line of `message`.
pub(crate) fn mark(attrs: &mut Value, address: &str) {
    crate::dashboard::mark_text(attrs, "message", address);
}

/// One `data` item of an answer → [`LiveObject`].
pub(crate) fn live_object(data: &Value) -> Result<LiveObject> {
    let id = match data.get("id") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => return Err(decode("a downtime without a string `id`".into())),
    };
    let attrs = data.get("attributes").cloned().unwrap_or(Value::Object(Map::new()));
    let (owned, marker) = ownership(attrs.get("message").and_then(Value::as_str).unwrap_or(""));
    Ok(LiveObject {
        id,
        resource_type: TYPE.to_string(),
        modified: attrs.get("modified").and_then(Value::as_str).map(str::to_string),
        attrs: normalize(&attrs),
        marker,
        owned,
    })
}

/// The canonical form of a downtime's attributes (desired or live):
/// 1. read-only fields and a recurring schedule's `current_downtime` are removed;
/// 2. `null` values are removed at the top level and in `schedule` (Datadog answers
///    `message: null` and `end: null` for unset values);
/// 3. defaults are removed: `display_timezone = "UTC"`, `mute_first_recovery_notification =
///    false`, `notify_end_types = ["expired"]`, `notify_end_states` = all three states,
///    `message = ""`;
/// 4. `notify_end_states`, `notify_end_types` and `monitor_identifier.monitor_tags` are sets:
///    sorted and de-duplicated (the recordings return `notify_end_states` in varying orders);
/// 5. one-time `start`/`end` timestamps are written as UTC RFC 3339 (`2023-06-02T20:53:26.286133Z`
///    and `2023-06-02T20:53:26.286133+00:00` are the same instant; Datadog answers the latter);
/// 6. whole numbers become integers, keys are sorted.
pub fn normalize(attrs: &Value) -> Value {
    let Value::Object(src) = attrs else { return attrs.clone() };
    let mut m = src.clone();
    for key in DOWNTIME_READ_ONLY {
        m.remove(*key);
    }
    m.retain(|_, v| !v.is_null());
    if m.get("display_timezone").and_then(Value::as_str) == Some("UTC") {
        m.remove("display_timezone");
    }
    if m.get("mute_first_recovery_notification") == Some(&Value::Bool(false)) {
        m.remove("mute_first_recovery_notification");
    }
    if m.get("message").and_then(Value::as_str) == Some("") {
        m.remove("message");
    }
    for key in ["notify_end_states", "notify_end_types"] {
        if let Some(Value::Array(items)) = m.get_mut(key) {
            sort_dedup(items);
        }
    }
    if m.get("notify_end_types") == Some(&json!(["expired"])) {
        m.remove("notify_end_types");
    }
    if m.get("notify_end_states") == Some(&json!(DEFAULT_END_STATES)) {
        m.remove("notify_end_states");
    }
    if let Some(Value::Object(mi)) = m.get_mut("monitor_identifier") {
        if let Some(Value::Array(tags)) = mi.get_mut("monitor_tags") {
            sort_dedup(tags);
        }
    }
    if let Some(Value::Object(s)) = m.get_mut("schedule") {
        s.remove("current_downtime");
        s.retain(|_, v| !v.is_null());
        for key in ["start", "end"] {
            if let Some(Value::String(t)) = s.get_mut(key) {
                if let Some(utc) = utc_timestamp(t) {
                    *t = utc;
                }
            }
        }
    }
    canonical(Value::Object(m))
}

/// An RFC 3339 timestamp with an offset → the same instant in UTC with a `Z`, fractional seconds
/// kept only when not zero. Recurrence starts have no offset (model:
/// downtime_schedule_recurrence_create_update_request: "Must not include a UTC offset") and are
/// not touched.
pub fn utc_timestamp(t: &str) -> Option<String> {
    let parsed = chrono::DateTime::parse_from_rfc3339(t).ok()?.with_timezone(&chrono::Utc);
    Some(parsed.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
}

fn sort_dedup(items: &mut Vec<Value>) {
    items.sort_by_key(|v| v.to_string());
    items.dedup();
}

fn decode(message: String) -> ProviderError {
    ProviderError::Decode { message }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The answer of cassette:test_schedule_a_downtime_returns_ok_response (the `data` item).
    fn recorded() -> Value {
        json!({"type":"downtime","attributes":{"display_timezone":"UTC","scope":"test:x",
            "notify_end_states":["warn","alert","no data"],"message":"dark forest",
            "created":"2023-06-02T20:53:26.300497+00:00","status":"active",
            "modified":"2023-06-02T20:53:26.300497+00:00","canceled":null,
            "monitor_identifier":{"monitor_tags":["cat:hat"]},
            "schedule":{"end":null,"start":"2023-06-02T20:53:26.286133+00:00"},
            "notify_end_types":["expired"],"mute_first_recovery_notification":false},
            "relationships":{"monitor":{"data":null}},"id":"85428b34-0187-11ee-bb05-da7ad0900002"})
    }

    #[test]
    fn recorded_answer_normalises_to_what_was_sent() {
        let live = live_object(&recorded()).unwrap();
        assert_eq!(live.id, "85428b34-0187-11ee-bb05-da7ad0900002");
        assert!(!live.owned);
        let desired = normalize(&json!({
            "scope": "test:x", "message": "dark forest",
            "monitor_identifier": {"monitor_tags": ["cat:hat"]},
            "schedule": {"start": "2023-06-02T20:53:26.286133Z"},
        }));
        assert_eq!(live.attrs, desired);
        assert_eq!(normalize(&live.attrs), live.attrs, "idempotent");
    }

    #[test]
    fn non_default_values_are_kept() {
        let n = normalize(&json!({
            "scope": "env:prod", "display_timezone": "Europe/Berlin",
            "notify_end_states": ["warn"], "notify_end_types": ["canceled", "expired"],
            "mute_first_recovery_notification": true,
            "schedule": {"recurrences": [{"rrule": "FREQ=WEEKLY;BYDAY=SA", "duration": "2h",
                                          "start": "2026-12-06T02:00"}],
                         "timezone": "Europe/Berlin", "current_downtime": {"start": "x"}},
        }));
        assert_eq!(n["display_timezone"], "Europe/Berlin");
        assert_eq!(n["notify_end_states"], json!(["warn"]));
        assert_eq!(n["notify_end_types"], json!(["canceled", "expired"]));
        assert_eq!(n["mute_first_recovery_notification"], true);
        assert!(n["schedule"].get("current_downtime").is_none());
        assert_eq!(n["schedule"]["recurrences"][0]["start"], "2026-12-06T02:00");
    }

    #[test]
    fn mark_and_ownership_use_the_message() {
        let mut d = json!({ "message": "Weekly patching\n" });
        mark(&mut d, "maintenance.patch_window");
        assert_eq!(
            d["message"],
            "Weekly patching\nmanaged-by:watchkeep watchkeep-address:maintenance.patch_window"
        );
        let once = d.clone();
        mark(&mut d, "maintenance.patch_window");
        assert_eq!(d, once);
        let mut data = recorded();
        data["attributes"]["message"] = d["message"].clone();
        let live = live_object(&data).unwrap();
        assert!(live.owned);
        assert_eq!(live.marker.as_deref(), Some("maintenance.patch_window"));
        let mut bare = json!({});
        mark(&mut bare, "a");
        assert_eq!(bare["message"], "managed-by:watchkeep watchkeep-address:a");
    }

    #[test]
    fn bodies_carry_only_writable_fields_and_updates_unset_defaults() {
        let attrs = json!({ "scope": "a:b", "status": "active", "id": "x", "bogus": 1,
                            "monitor_identifier": {"monitor_id": 12.0} });
        let body = request_attributes(&attrs);
        assert_eq!(body, json!({ "monitor_identifier": {"monitor_id": 12}, "scope": "a:b" }));
        assert!(body["monitor_identifier"]["monitor_id"].is_i64());
        let upd = update_attributes(&json!({ "scope": "a:b", "display_timezone": "Europe/Berlin" }));
        assert_eq!(upd["display_timezone"], "Europe/Berlin");
        assert_eq!(upd["notify_end_types"], json!(["expired"]));
        assert_eq!(upd["message"], "");
        assert_eq!(
            normalize(&upd),
            normalize(&json!({ "scope": "a:b", "display_timezone": "Europe/Berlin" }))
        );
    }

    #[test]
    fn canceled_downtimes_are_recognised() {
        let mut d = recorded();
        assert!(!is_canceled(&d));
        d["attributes"]["status"] = json!("canceled");
        assert!(is_canceled(&d));
        assert!(matches!(live_object(&json!({"attributes": {}})), Err(ProviderError::Decode { .. })));
    }
}
