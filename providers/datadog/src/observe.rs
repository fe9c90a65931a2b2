//! `coverage --live` for Datadog: which hosts report, which hosts Datadog sees, which managed
//! monitors are in No Data.
//!
//! Sources (`shared/specs/datadog-v1-openapi.yaml`):
//! - `GET /api/v1/hosts` (`ListHosts`, `HostListResponse`): `from` (epoch seconds: only hosts
//!   that reported since), `count` (at most 1000), `start` (offset) and `total_matching`. Each
//!   host has `name`, `host_name`, `aliases` and `last_reported_time` (epoch seconds). The
//!   recorded answer in `tests/v1/cassettes/test_scenarios/test_get_all_hosts_with_metadata_for_your_organization_returns_ok_response.yaml`
//!   (datadog-api-client 2.62.0) has exactly these fields, `total_matching` and `total_returned`.
//!   Asking with `from = now − window` keeps the answer to the hosts that matter, so a host that
//!   last reported before the window is simply absent (its report has no `last_reported`).
//! - `GET /api/v1/monitor` (`ListMonitors`) has no parameter to ask for ids (its parameters are
//!   `group_states`, `name`, `tags`, `monitor_tags`, `with_downtimes`, `id_offset`, `page`,
//!   `page_size`), so the managed monitors are read with the ownership tag filter, 1000 a page,
//!   and matched by id; each carries `overall_state` (`"No Data"`, `Monitor.overall_state`,
//!   `MonitorOverallStates`) and `overall_state_modified`. An id asked about that the filtered list
//!   lacks (its tag removed in the UI) is read alone with `GET /api/v1/monitor/{id}`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::Method;
use serde_json::Value;
use watchkeep_provider::{
    ComponentProbe, ComponentReport, NoDataAlert, Observation, ProviderError, Result, SeenEntity, OWNER_TAG,
};

use crate::http::{segment, Http};
use crate::monitor;

/// Hosts per `GET /api/v1/hosts` page: the spec's maximum ("Number of hosts to return. Max 1000").
const HOSTS_PAGE: usize = 1000;
/// Monitors per `GET /api/v1/monitor` page (the provider's maximum page size).
const MONITORS_PAGE: usize = 1000;
/// Datadog's `overall_state` for a monitor without data (`MonitorOverallStates` in the spec).
const NO_DATA: &str = "No Data";

/// One host as `GET /api/v1/hosts` lists it.
struct Host {
    name: String,
    /// `name`, `host_name` and `aliases`: every name a probe's `host` may use.
    names: Vec<String>,
    /// Every tag of every source (`tags_by_source`), lower-cased: what a monitor's scope matches.
    tags: HashSet<String>,
    last_reported: Option<i64>,
}

pub(crate) async fn observe(
    http: &Http,
    components: &[ComponentProbe],
    alerts: &[(String, String)],
    window: Duration,
) -> Result<Observation> {
    let calls_before = http.calls();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let from = now.saturating_sub(window.as_secs());
    let from = i64::try_from(from).unwrap_or(i64::MAX);
    let hosts = list_hosts(http, from).await?;
    let by_name: HashMap<String, &Host> =
        hosts.iter().flat_map(|h| h.names.iter().map(move |n| (n.to_lowercase(), h))).collect();

    let reports = components.iter().map(|probe| report(probe, &hosts, &by_name, from)).collect();

    let seen = hosts
        .iter()
        .filter(|h| h.last_reported.is_some_and(|t| t >= from))
        .map(|h| SeenEntity {
            name: h.name.clone(),
            kind: Some("server".to_owned()),
            identifier: BTreeMap::from([("host".to_owned(), h.name.clone())]),
            last_reported: h.last_reported.map(rfc3339),
        })
        .collect();

    let wanted: Vec<&str> =
        alerts.iter().filter(|(t, _)| t == monitor::TYPE).map(|(_, id)| id.as_str()).collect();
    let no_data = if wanted.is_empty() { Vec::new() } else { monitors_in_no_data(http, &wanted).await? };

    Ok(Observation { components: reports, seen, no_data, api_calls: http.calls() - calls_before })
}

/// Whether one component reports. A component with a `host` identifier (the quickstart's
/// `host=web-1`; also `host_name` / `hostname`) is the host of that name or alias. Any other
/// identifier is a monitor scope (`compile/datadog.rs` writes `{k:v,…}` from it): the component
/// reports when a host carrying every one of those tags reported (the recorded host lists carry
/// their tags in `tags_by_source`, e.g. `host:control-0`, `zone:us-central1-a`). Without an
/// identifier, the component's name is taken as a host name.
fn report(
    probe: &ComponentProbe,
    hosts: &[Host],
    by_name: &HashMap<String, &Host>,
    from: i64,
) -> ComponentReport {
    let host_key = ["host", "host_name", "hostname"]
        .into_iter()
        .find_map(|k| probe.identifier.get(k).map(|v| (k, v.trim())).filter(|(_, v)| !v.is_empty()));
    let (asked, candidates): (String, Vec<&Host>) = match host_key {
        Some((key, name)) => {
            let how = if key == "host" { String::new() } else { format!(" (identifier {key})") };
            (format!("host {name}{how}"), by_name.get(&name.to_lowercase()).copied().into_iter().collect())
        }
        None if !probe.identifier.is_empty() => {
            let tags: Vec<String> = probe.identifier.iter().map(|(k, v)| format!("{k}:{v}")).collect();
            let lower: Vec<String> = tags.iter().map(|t| t.to_lowercase()).collect();
            let tagged = hosts.iter().filter(|h| lower.iter().all(|t| h.tags.contains(t))).collect();
            (format!("host tagged {}", tags.join(",")), tagged)
        }
        None => (
            format!("host {} (no identifier: the component's name)", probe.name),
            by_name.get(&probe.name.to_lowercase()).copied().into_iter().collect(),
        ),
    };
    let newest = candidates.iter().max_by_key(|h| h.last_reported.unwrap_or(i64::MIN));
    match newest {
        Some(h) => {
            let when = h.last_reported.map(rfc3339);
            ComponentReport {
                component: probe.name.clone(),
                reporting: h.last_reported.is_some_and(|t| t >= from),
                last_reported: when.clone(),
                detail: format!(
                    "GET /api/v1/hosts: {asked}: {} last reported {}",
                    h.name,
                    when.as_deref().unwrap_or("(no time given)")
                ),
            }
        }
        None => ComponentReport {
            component: probe.name.clone(),
            reporting: false,
            last_reported: None,
            detail: format!("GET /api/v1/hosts: no {asked} reported since {}", rfc3339(from)),
        },
    }
}

/// Every host that reported since `from`, all pages. `start` is used as a 0-based offset; the
/// spec's prose ("set `start` to `101`" after the first 100) reads as 1-based, so hosts are
/// de-duplicated by name and the walk stops on a short page or once `total_matching` are read,
/// which is right under either reading (at worst one host per page is read twice).
async fn list_hosts(http: &Http, from: i64) -> Result<Vec<Host>> {
    let mut hosts = Vec::new();
    let mut names = HashSet::new();
    let mut start = 0usize;
    loop {
        let query =
            [("from", from.to_string()), ("count", HOSTS_PAGE.to_string()), ("start", start.to_string())];
        let body = http.json(Method::GET, "/api/v1/hosts", &query, None).await?;
        let Some(list) = body.get("host_list").and_then(Value::as_array) else {
            return Err(ProviderError::Decode {
                message: "GET /api/v1/hosts did not return a `host_list` array".to_owned(),
            });
        };
        let mut new_on_page = 0;
        for h in list {
            let Some(host) = host(h) else { continue };
            if names.insert(host.name.clone()) {
                new_on_page += 1;
                hosts.push(host);
            }
        }
        start += list.len();
        let total = body.get("total_matching").and_then(Value::as_u64).and_then(|t| usize::try_from(t).ok());
        if list.len() < HOSTS_PAGE || total.is_some_and(|t| start >= t) || new_on_page == 0 {
            return Ok(hosts);
        }
    }
}

fn host(v: &Value) -> Option<Host> {
    let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty());
    let name = text("name").or_else(|| text("host_name"))?.to_owned();
    let mut names = vec![name.clone()];
    names.extend(text("host_name").map(str::to_owned));
    if let Some(aliases) = v.get("aliases").and_then(Value::as_array) {
        names.extend(aliases.iter().filter_map(Value::as_str).map(str::to_owned));
    }
    let tags = v
        .get("tags_by_source")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|m| m.values())
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_lowercase)
        .collect();
    Some(Host { name, names, tags, last_reported: v.get("last_reported_time").and_then(Value::as_i64) })
}

/// The monitors among `ids` whose `overall_state` is `No Data`.
async fn monitors_in_no_data(http: &Http, ids: &[&str]) -> Result<Vec<NoDataAlert>> {
    let wanted: HashSet<&str> = ids.iter().copied().collect();
    let mut found: HashMap<String, Value> = HashMap::new();
    let mut listed: HashSet<String> = HashSet::new();
    let mut page = 0u64;
    loop {
        let query = [
            ("page", page.to_string()),
            ("page_size", MONITORS_PAGE.to_string()),
            ("monitor_tags", OWNER_TAG.to_owned()),
        ];
        let body = http.json(Method::GET, "/api/v1/monitor", &query, None).await?;
        let Value::Array(items) = body else {
            return Err(ProviderError::Decode {
                message: format!("GET /api/v1/monitor (page {page}) did not return a JSON array of monitors"),
            });
        };
        let count = items.len();
        let mut new_on_page = 0;
        for m in items {
            let id = id_text(&m);
            if !listed.insert(id.clone()) {
                continue;
            }
            new_on_page += 1;
            if wanted.contains(id.as_str()) {
                found.insert(id, m);
            }
        }
        // A page of monitors all listed before means the server ignores `page`: stop there.
        if count < MONITORS_PAGE || found.len() == wanted.len() || new_on_page == 0 {
            break;
        }
        page += 1;
    }
    for id in ids {
        if found.contains_key(*id) {
            continue;
        }
        let Some(seg) = segment(id) else { continue };
        match http.json(Method::GET, &format!("/api/v1/monitor/{seg}"), &[], None).await {
            Ok(m) => {
                found.insert((*id).to_owned(), m);
            }
            // Deleted outside watchkeep: not in No Data (drift reports it).
            Err(ProviderError::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    let mut out: Vec<NoDataAlert> = ids
        .iter()
        .filter_map(|id| {
            let m = found.get(*id)?;
            let state = m.get("overall_state").and_then(Value::as_str)?;
            (state == NO_DATA).then(|| NoDataAlert {
                resource_type: monitor::TYPE.to_owned(),
                id: (*id).to_owned(),
                state: state.to_owned(),
                since: m.get("overall_state_modified").and_then(Value::as_str).map(str::to_owned),
            })
        })
        .collect();
    out.dedup_by(|a, b| a.id == b.id);
    Ok(out)
}

fn id_text(m: &Value) -> String {
    match m.get("id") {
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) => s.clone(),
        _ => String::new(),
    }
}

fn rfc3339(epoch: i64) -> String {
    chrono::DateTime::from_timestamp(epoch, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| epoch.to_string())
}
