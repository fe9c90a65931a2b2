//! `GET /api/v1/hosts` and the per-org host store.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};

use super::normalize::{normalize_host, now_epoch_secs};
use super::{check_query, error_response, query_get, query_pairs, read, value_response, write, Org, Shared};

const LIST: &str = "/api/v1/hosts";
const DEFAULT_COUNT: i64 = 100;
const MAX_COUNT: i64 = 1000;

/// Hosts in insertion order, replaced by name.
#[derive(Default)]
pub(crate) struct HostStore {
    hosts: Vec<Value>,
    names: Vec<String>,
    index: HashMap<String, usize>,
    next_id: i64,
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
    let from = number("from");
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
    let mut matching: Vec<usize> = (0..store.hosts.len())
        .filter(|&i| {
            let host = &store.hosts[i];
            filter.as_deref().is_none_or(|f| host_matches(host, f))
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
    let page: Vec<&Value> = matching
        .iter()
        .skip(usize::try_from(start).unwrap_or(usize::MAX))
        .take(usize::try_from(count).unwrap_or(0))
        .filter_map(|&i| store.hosts.get(i))
        .collect();
    let body = json!({
        "host_list": page,
        "total_matching": total_matching,
        "total_returned": page.len(),
    });
    drop(store);
    Ok(value_response(StatusCode::OK, &body))
}
