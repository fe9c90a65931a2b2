//! The event stream: monitor state-change events written by the evaluator (`metrics`) and
//! `GET /api/v1/events` (`ListEvents`).
//!
//! # What a monitor event looks like
//!
//! The v1 spec's `Event` schema lists `alert_type`, `date_happened`, `host`, `id`, `id_str`,
//! `priority`, `source_type_name`, `tags`, `text`, `title`, `url`; list answers carry more
//! than the schema (`is_aggregate`, `resource`, `source`, `comments`, `monitor_id`,
//! `monitor_groups`: the fields public clients of the v1 list read, e.g. an Ansible EDA source
//! polling `/api/v1/events` that matches `event.source == "Monitor Alert"`, and typed clients
//! declaring `monitor_id`, `monitor_groups`, `source_type_name` on list events). Titles follow
//! Datadog's notification titles: `[Triggered] <name>`, `[Triggered on {host:web-1}] <name>`
//! for a group of a multi-alert monitor, `[Warn] …`, `[Recovered] …`, `[No Data] …` (the
//! notification title a webhook receives, e.g. `[P1] [Triggered on {host:abcdefgh}] STOP`);
//! `alert_type` is `error` for Alert, `warning` for Warn, `success` for a recovery. The text
//! links the monitor's page (`https://app.datadoghq.com/monitors/<id>?…`), as Datadog's event
//! text does. Guesses, since no recording of a monitor event is available: the exact
//! `source_type_name` value (`Monitor Alert` here), the `monitor` tag, and that a first OK after
//! `No Data` writes no event (the monitor never alerted, so there is nothing to recover from).
//!
//! # Listing
//!
//! `start` and `end` (epoch seconds) are required (the spec's `required: true`; a missing one
//! gets the stand-in's spec-validation 400). Events with `start <= date_happened <= end`,
//! newest first, filtered by `priority`, `sources` (comma list, compared case-insensitively
//! with `source_type_name`) and `tags` (comma list: an event needs every one). The stand-in
//! never aggregates events, so `unaggregated`/`exclude_aggregate` change nothing but the right
//! to page: "By default 1000 results are returned per request. Set page to the number of the
//! page to return with `0` being the first page. The page parameter can only be used when
//! either unaggregated or exclude_aggregate is set to `true.`" (spec, `ListEvents`). A `page`
//! without either gets a 400 (a guess at how Datadog refuses it); without `page` the first
//! 1000 are answered.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};

use super::metrics::Change;
use super::{check_query, error_response, query_get, query_pairs, read, value_response, write, Org, Shared};

/// Events per page (spec, `ListEvents.page`).
pub(crate) const PAGE_SIZE: usize = 1000;

/// The value `source_type_name` (and `source`) of monitor events carry (a guess, see above).
pub(crate) const MONITOR_SOURCE: &str = "Monitor Alert";

/// One org's events, oldest first.
#[derive(Default)]
pub(crate) struct EventStore {
    events: Vec<Value>,
    next_id: i64,
}

fn title_prefix(to: &str, group: &str) -> String {
    let word = match to {
        "Alert" => "Triggered",
        "Warn" => "Warn",
        "OK" => "Recovered",
        _ => "No Data",
    };
    if group == "*" {
        format!("[{word}]")
    } else {
        format!("[{word} on {{{group}}}]")
    }
}

/// Appends one event per group whose state changed (see the module doc).
pub(crate) fn monitor_changed(org: &Org, id: i64, monitor: &Value, changes: &[Change], at: i64) {
    let name = monitor.get("name").and_then(Value::as_str).unwrap_or_default();
    let message = monitor.get("message").and_then(Value::as_str).unwrap_or_default();
    let mut tags: Vec<String> = monitor
        .get("tags")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect();
    tags.push("monitor".to_owned());
    let mut store = write(&org.events);
    for c in changes {
        if c.from == "No Data" && c.to == "OK" {
            continue;
        }
        let alert_type = match c.to.as_str() {
            "Alert" => "error",
            "Warn" => "warning",
            "OK" => "success",
            _ => "info",
        };
        let mut event_tags = tags.clone();
        let groups: Vec<String> =
            if c.group == "*" { Vec::new() } else { c.group.split(',').map(str::to_owned).collect() };
        event_tags.extend(groups.iter().cloned());
        event_tags.sort();
        event_tags.dedup();
        let host = groups.iter().find_map(|g| g.strip_prefix("host:")).map(str::to_owned);
        store.next_id += 1;
        let eid = 7_000_000_000_000_000_000_i64 + store.next_id;
        let text = format!(
            "%%%\n{message}\n\nThe monitor's value {:.2} crossed {:.2}.\n\n[[Monitor Status](https://app.datadoghq.com/monitors/{id}?from_ts={}&to_ts={})]\n%%%",
            c.value,
            c.threshold,
            (at - 900) * 1000,
            (at + 900) * 1000
        );
        // No `device_name`/`host: null`: the spec types them as strings (the list answers of
        // older recordings show `null`), so they are left out when there is none.
        let mut event = json!({
            "alert_type": alert_type,
            "comments": [],
            "date_happened": at,
            "id": eid,
            "id_str": eid.to_string(),
            "is_aggregate": false,
            "monitor_groups": groups,
            "monitor_id": id,
            "priority": "normal",
            "resource": format!("/api/v1/events/{eid}"),
            "source": MONITOR_SOURCE,
            "source_type_name": MONITOR_SOURCE,
            "tags": event_tags,
            "text": text,
            "title": format!("{} {name}", title_prefix(&c.to, &c.group)),
            "url": format!("/event/event?id={eid}"),
        });
        if let Some(host) = host {
            event["host"] = json!(host);
        }
        store.events.push(event);
    }
}

/// Inserts events as given (tests: many events for paging), with ids when they have none.
pub(crate) fn seed(org: &Org, events: Vec<Value>) {
    let mut store = write(&org.events);
    for mut e in events {
        store.next_id += 1;
        let eid = 7_000_000_000_000_000_000_i64 + store.next_id;
        if e.get("id").is_none() {
            e["id"] = json!(eid);
            e["id_str"] = json!(eid.to_string());
        }
        store.events.push(e);
    }
    store.events.sort_by_key(|e| e.get("date_happened").and_then(Value::as_i64).unwrap_or(0));
}

/// All events of an org, oldest first.
pub(crate) fn all(org: &Org) -> Vec<Value> {
    read(&org.events).events.clone()
}

fn truthy(v: Option<&str>) -> bool {
    v.is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

fn list_of(v: Option<&str>) -> Vec<String> {
    v.map(|s| s.split(',').map(|x| x.trim().to_lowercase()).filter(|x| !x.is_empty()).collect())
        .unwrap_or_default()
}

/// `GET /api/v1/events` (`ListEvents`).
pub(crate) async fn list(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let pairs = query_pairs(raw.as_deref());
    if let Err(resp) = check_query("get", "/api/v1/events", &pairs) {
        return resp;
    }
    let number = |name: &str| query_get(&pairs, name).and_then(|v| v.trim().parse::<i64>().ok());
    let (start, end) = (number("start").unwrap_or(0), number("end").unwrap_or(0));
    let page = number("page");
    let pageable =
        truthy(query_get(&pairs, "unaggregated")) || truthy(query_get(&pairs, "exclude_aggregate"));
    if page.is_some() && !pageable {
        return error_response(
            StatusCode::BAD_REQUEST,
            "The page parameter can only be used when either unaggregated or exclude_aggregate is set to true",
        );
    }
    let page = usize::try_from(page.unwrap_or(0).max(0)).unwrap_or(usize::MAX);
    let priority = query_get(&pairs, "priority").map(|p| p.trim().to_lowercase());
    let sources = list_of(query_get(&pairs, "sources"));
    let tags = list_of(query_get(&pairs, "tags"));
    let org = shared.org_of(&headers);
    let store = read(&org.events);
    let text = |e: &Value, k: &str| e.get(k).and_then(Value::as_str).unwrap_or_default().to_lowercase();
    let page_events: Vec<Value> = store
        .events
        .iter()
        .rev()
        .filter(|e| {
            let at = e.get("date_happened").and_then(Value::as_i64).unwrap_or(i64::MIN);
            let event_tags: Vec<String> = e
                .get("tags")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_lowercase)
                .collect();
            (start..=end).contains(&at)
                && priority.as_deref().is_none_or(|p| text(e, "priority") == p)
                && (sources.is_empty() || sources.contains(&text(e, "source_type_name")))
                && tags.iter().all(|t| event_tags.contains(t))
        })
        .skip(page.saturating_mul(PAGE_SIZE))
        .take(PAGE_SIZE)
        .cloned()
        .collect();
    drop(store);
    value_response(StatusCode::OK, &json!({"events": page_events, "status": "ok"}))
}
