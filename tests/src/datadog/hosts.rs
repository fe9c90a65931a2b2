//! `GET /api/v1/hosts`, `POST /api/v1/series` (the hosts it names start or keep reporting, its
//! points are stored for monitor evaluation, `/api/v1/query` and graph snapshots: see
//! `metrics`) and the per-org host store.
//!
//! From the v1 spec (`shared/specs/datadog-v1-openapi.yaml`, `ListHosts`): "Hosts live within
//! the past 3 hours are included by default", so without `from` a host that last reported more
//! than 3 hours ago is not listed; with `from` (epoch seconds) only hosts that reported since.
//! `SubmitMetrics`: a series' `host` is "the name of the host that produced the metric"; its
//! points' timestamps "cannot be more than ten minutes in the future or more than one hour in the
//! past". The stand-in makes such a host appear (or moves its `last_reported_time` on) with the
//! newest accepted point's timestamp, as Datadog lists hosts that submit through the API (the
//! brief's model; Datadog does not document how `last_reported_time` follows API submissions).
//! Points outside the window are accepted (202) and ignored: Datadog drops them without an
//! error, as far as its docs say. The answer is the recorded one: 202 `{"status": "ok"}`
//! (`tests/v1/cassettes/test_scenarios/test_submit_metrics_returns_payload_accepted_response.yaml`).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};

use super::normalize::{normalize_host, now_epoch_secs};
use super::{
    check_query, error_response, json_response, parse_body, query_get, query_pairs, read, value_response,
    write, Org, Shared,
};

const LIST: &str = "/api/v1/hosts";
const DEFAULT_COUNT: i64 = 100;
const MAX_COUNT: i64 = 1000;
/// Hosts listed without `from`: those live within the past 3 hours (spec, `ListHosts`).
const DEFAULT_LIVE_SECS: i64 = 3 * 3600;
/// Accepted point ages (spec, `Series.points`): ten minutes ahead, one hour back.
const MAX_FUTURE_SECS: i64 = 600;
const MAX_PAST_SECS: i64 = 3600;

/// Hosts in insertion order, replaced by name.
#[derive(Default)]
pub(crate) struct HostStore {
    hosts: Vec<Value>,
    names: Vec<String>,
    index: HashMap<String, usize>,
    next_id: i64,
    /// Hosts whose agent keeps reporting: listed with `last_reported_time` = the time of the list.
    agents: HashSet<usize>,
}

/// Inserts hosts (a host with a known name replaces the old one; nameless ones are skipped).
pub(crate) fn seed(org: &Org, hosts: Vec<Value>) {
    let now = now_epoch_secs();
    let mut store = write(&org.hosts);
    for h in hosts {
        let id = store.next_id + 1;
        let Some((name, host)) = normalize_host(&h, id, now) else {
            continue;
        };
        store.next_id = id;
        match store.index.get(&name).copied() {
            Some(i) => {
                if let Some(slot) = store.hosts.get_mut(i) {
                    *slot = host;
                }
            }
            None => {
                let i = store.hosts.len();
                store.hosts.push(host);
                store.names.push(name.clone());
                store.index.insert(name, i);
            }
        }
    }
}

/// Hosts (by name) whose agent keeps reporting: their `last_reported_time` is the time of each
/// list (the sandbox's inventory hosts, which should not stop reporting while it runs).
pub(crate) fn seed_agents(org: &Org, names: &[String]) {
    seed(
        org,
        names
            .iter()
            .map(|n| {
                json!({"name": n, "up": true, "apps": ["agent"], "sources": ["agent"],
                            "tags_by_source": {"Datadog": [format!("host:{n}")]}})
            })
            .collect(),
    );
    let mut store = write(&org.hosts);
    for n in names {
        if let Some(&i) = store.index.get(n.trim()) {
            store.agents.insert(i);
        }
    }
}

/// Moves `name`'s `last_reported_time` on to `at` (never back), adding the host if new.
fn reported(org: &Org, name: &str, at: i64) {
    let mut store = write(&org.hosts);
    if let Some(&i) = store.index.get(name) {
        if let Some(host) = store.hosts.get_mut(i) {
            if host.get("last_reported_time").and_then(Value::as_i64).is_none_or(|t| t < at) {
                host["last_reported_time"] = json!(at);
                host["up"] = json!(true);
            }
        }
        return;
    }
    drop(store);
    seed(org, vec![json!({"name": name, "last_reported_time": at, "up": true, "sources": ["api"]})]);
}

/// `SubmitMetrics`: "The maximum payload size is 3.2 megabytes (3200000 bytes). Compressed
/// payloads must have a decompressed size of less than 62 megabytes (62914560 bytes)."
const MAX_PAYLOAD: usize = 3_200_000;
const MAX_DECOMPRESSED: u64 = 62_914_560;

/// The body as sent, decompressed per `Content-Encoding` (`MetricContentEncoding`: `deflate`,
/// i.e. zlib, or `gzip`), or the error answer (413 over the spec's sizes, 400 otherwise).
fn decoded_body(headers: &HeaderMap, body: &[u8]) -> Result<Vec<u8>, Response> {
    use std::io::Read;
    let too_large = || error_response(StatusCode::PAYLOAD_TOO_LARGE, "Payload too large");
    if body.len() > MAX_PAYLOAD {
        return Err(too_large());
    }
    let encoding = headers
        .get(axum::http::header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let mut out = Vec::new();
    let read = match encoding.as_str() {
        "" | "identity" => return Ok(body.to_vec()),
        "gzip" => flate2::read::GzDecoder::new(body).take(MAX_DECOMPRESSED).read_to_end(&mut out),
        "deflate" => flate2::read::ZlibDecoder::new(body).take(MAX_DECOMPRESSED).read_to_end(&mut out),
        // Guess: the spec allows only these two; Datadog's answer to another is not recorded.
        other => {
            return Err(bad_request(&format!(
                "Unsupported Content-Encoding '{other}': use deflate or gzip, or send the body uncompressed"
            )))
        }
    };
    match read {
        Ok(n) if n as u64 >= MAX_DECOMPRESSED => Err(too_large()),
        Ok(_) => Ok(out),
        Err(e) => Err(bad_request(&format!("The body is not valid {encoding} data: {e}"))),
    }
}

/// `POST /api/v1/series` (`SubmitMetrics`).
pub(crate) async fn submit_series(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body = match decoded_body(&headers, &body) {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let body = match parse_body("post", "/api/v1/series", &body) {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let org = shared.org_of(&headers);
    let now = now_epoch_secs();
    for series in body.get("series").and_then(Value::as_array).into_iter().flatten() {
        let host = series.get("host").and_then(Value::as_str).map(str::trim).filter(|h| !h.is_empty());
        let points: Vec<(i64, f64)> = series
            .get("points")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|p| Some((p.get(0)?.as_f64()? as i64, p.get(1)?.as_f64()?)))
            .filter(|&(t, v)| t <= now + MAX_FUTURE_SECS && t >= now - MAX_PAST_SECS && v.is_finite())
            .collect();
        if let Some(metric) =
            series.get("metric").and_then(Value::as_str).map(str::trim).filter(|m| !m.is_empty())
        {
            let mut tags: Vec<String> = series
                .get("tags")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(|t| t.trim().to_owned())
                .collect();
            if let Some(host) = host {
                tags.push(format!("host:{host}"));
            }
            write(&org.metrics).add(metric, tags, &points);
        }
        if let (Some(host), Some(at)) = (host, points.iter().map(|p| p.0).max()) {
            reported(&org, host, at);
        }
    }
    // Datadog evaluates on its own clock; the stand-in after each submission (see `metrics`).
    super::metrics::evaluate_org(&org);
    let mut resp = json_response(StatusCode::ACCEPTED, r#"{"status": "ok"}"#.to_owned());
    resp.headers_mut()
        .insert(axum::http::header::CONTENT_TYPE, axum::http::HeaderValue::from_static("text/json"));
    resp
}

/// Hosts `web-1..web-N` for the sandbox binary's `--demo-hosts`.
pub(crate) fn demo_hosts(n: usize) -> Vec<Value> {
    (1..=n)
        .map(|i| {
            json!({
                "name": format!("web-{i}"),
                "up": true,
                "tags_by_source": {"Datadog": ["env:demo", "role:web"]},
                "apps": ["agent"],
            })
        })
        .collect()
}

fn bad_request(message: &str) -> Response {
    error_response(StatusCode::BAD_REQUEST, message)
}

fn host_matches(host: &Value, filter: &str) -> bool {
    let hit = |v: &Value| v.as_str().is_some_and(|s| s.to_lowercase().contains(filter));
    let in_list = |v: Option<&Value>| v.and_then(Value::as_array).is_some_and(|l| l.iter().any(hit));
    host.get("name").is_some_and(hit)
        || host.get("host_name").is_some_and(hit)
        || in_list(host.get("aliases"))
        || host
            .get("tags_by_source")
            .and_then(Value::as_object)
            .is_some_and(|m| m.values().any(|tags| in_list(Some(tags))))
}

/// `GET /api/v1/hosts?start=&count=&filter=&sort_field=&sort_dir=&from=`
pub(crate) async fn list(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    list_inner(&shared, &headers, query).unwrap_or_else(|e| e)
}

fn list_inner(shared: &Shared, headers: &HeaderMap, query: Option<String>) -> Result<Response, Response> {
    let pairs = query_pairs(query.as_deref());
    check_query("get", LIST, &pairs)?;
    let number = |name: &str| query_get(&pairs, name).and_then(|v| v.trim().parse::<i64>().ok());
    let start = number("start").unwrap_or(0);
    let count = number("count").unwrap_or(DEFAULT_COUNT);
    let now = now_epoch_secs();
    let from = number("from").or(Some(now - DEFAULT_LIVE_SECS));
    if start < 0 {
        return Err(bad_request("Invalid value for query parameter 'start': must be >= 0"));
    }
    if !(0..=MAX_COUNT).contains(&count) {
        return Err(bad_request(&format!(
            "Invalid value for query parameter 'count': must be between 0 and {MAX_COUNT}"
        )));
    }
    let filter = query_get(&pairs, "filter").map(|f| f.trim().to_lowercase()).filter(|f| !f.is_empty());
    let by_name = query_get(&pairs, "sort_field").is_some_and(|f| f.trim() == "name");
    let descending = query_get(&pairs, "sort_dir").is_some_and(|d| d.trim().eq_ignore_ascii_case("desc"));

    let org = shared.org_of(headers);
    let store = read(&org.hosts);
    let listed = |i: usize| -> Option<Value> {
        let mut host = store.hosts.get(i)?.clone();
        if store.agents.contains(&i) {
            host["last_reported_time"] = json!(now);
        }
        Some(host)
    };
    let mut matching: Vec<usize> = (0..store.hosts.len())
        .filter(|&i| {
            let Some(host) = listed(i) else { return false };
            filter.as_deref().is_none_or(|f| host_matches(&host, f))
                && from.is_none_or(|from| {
                    host.get("last_reported_time").and_then(Value::as_i64).is_none_or(|t| t >= from)
                })
        })
        .collect();
    if by_name {
        matching.sort_by(|&a, &b| store.names[a].cmp(&store.names[b]));
    }
    if descending {
        matching.reverse();
    }
    let total_matching = matching.len();
    let page: Vec<Value> = matching
        .iter()
        .skip(usize::try_from(start).unwrap_or(usize::MAX))
        .take(usize::try_from(count).unwrap_or(0))
        .filter_map(|&i| listed(i))
        .collect();
    let body = json!({
        "host_list": page,
        "total_matching": total_matching,
        "total_returned": page.len(),
    });
    drop(store);
    Ok(value_response(StatusCode::OK, &body))
}
