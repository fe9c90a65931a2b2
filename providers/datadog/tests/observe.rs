//! `Provider::observe` (coverage --live) of the Datadog provider against the Datadog stand-in:
//! hosts from `GET /api/v1/hosts`, hosts made to report by `POST /api/v1/series`, managed
//! monitors in No Data. Every test uses its own `DD-API-KEY` (its own org).

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use watchkeep_datadog::{DatadogConfig, DatadogProvider};
use watchkeep_provider::{ComponentProbe, Observation, Provider};
use watchkeep_tests::{DatadogStandIn, StandInOptions};

const HOUR: Duration = Duration::from_secs(3600);

fn provider(stand_in: &DatadogStandIn, api_key: &str) -> DatadogProvider {
    let block = json!({ "api_url": stand_in.base_url() });
    let api_key = api_key.to_owned();
    let env = move |name: &str| match name {
        "DD_API_KEY" => Some(api_key.clone()),
        "DD_APP_KEY" => Some("observe-app-key".to_owned()),
        _ => None,
    };
    DatadogProvider::new(DatadogConfig::from_block(block.as_object().unwrap(), &env).unwrap()).unwrap()
}

fn start() -> DatadogStandIn {
    DatadogStandIn::start(StandInOptions::default()).expect("stand-in starts")
}

fn now() -> i64 {
    i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()).unwrap()
}

fn probe(name: &str, host: &str) -> ComponentProbe {
    ComponentProbe {
        name: name.to_owned(),
        kind: "server".to_owned(),
        identifier: BTreeMap::from([("host".to_owned(), host.to_owned())]),
    }
}

async fn observe(p: &DatadogProvider, probes: &[ComponentProbe], alerts: &[(String, String)]) -> Observation {
    p.observe(probes, alerts, HOUR).await.expect("observe works").expect("Datadog can tell")
}

fn seen_names(o: &Observation) -> Vec<String> {
    let mut names: Vec<String> = o.seen.iter().map(|s| s.name.clone()).collect();
    names.sort();
    names
}

#[tokio::test]
async fn reporting_stale_missing_and_unknown_hosts() {
    let server = start();
    let key = "observe-hosts";
    let t = now();
    server.seed_hosts(
        key,
        vec![
            json!({"name": "web-1", "last_reported_time": t - 30}),
            // Reported two hours ago: outside a one-hour window.
            json!({"name": "web-2", "last_reported_time": t - 2 * 3600}),
            // Reporting under an alias only.
            json!({"name": "i-0abc", "aliases": ["db-1.internal"], "last_reported_time": t - 60}),
            // Reporting, but no component names it.
            json!({"name": "web-3", "last_reported_time": t - 10}),
        ],
    );
    let p = provider(&server, key);
    let probes = [
        probe("web-1", "web-1"),
        probe("web-2", "web-2"),
        probe("db-1", "db-1.internal"),
        probe("gone", "gone-1"),
    ];
    let o = observe(&p, &probes, &[]).await;

    let by: BTreeMap<&str, _> = o.components.iter().map(|c| (c.component.as_str(), c)).collect();
    assert_eq!(o.components.len(), 4, "{o:?}");
    assert!(by["web-1"].reporting, "{:?}", by["web-1"]);
    assert!(by["web-1"].last_reported.as_deref().is_some_and(|t| t.ends_with('Z')), "{:?}", by["web-1"]);
    assert!(!by["web-2"].reporting, "{:?}", by["web-2"]);
    assert!(by["db-1"].reporting, "an alias matches: {:?}", by["db-1"]);
    assert!(!by["gone"].reporting);
    assert_eq!(by["gone"].last_reported, None);
    assert!(by["gone"].detail.contains("no host gone-1 reported since"), "{}", by["gone"].detail);

    assert_eq!(seen_names(&o), ["i-0abc", "web-1", "web-3"]);
    let web3 = o.seen.iter().find(|s| s.name == "web-3").unwrap();
    assert_eq!(web3.identifier, BTreeMap::from([("host".to_owned(), "web-3".to_owned())]));
    assert_eq!(web3.kind.as_deref(), Some("server"));
    // One page of hosts, no monitor read (no alerts asked about).
    assert_eq!(o.api_calls, 1);
    assert_eq!(server.requests_matching("GET", "/api/v1/monitor"), 0);
}

#[tokio::test]
async fn series_with_a_host_makes_it_report() {
    let server = start();
    let key = "observe-series";
    let t = now();
    let client = reqwest::Client::new();
    let post = |body: Value| {
        client
            .post(format!("{}/api/v1/series", server.base_url()))
            // Only the API key: SubmitMetrics' security is apiKeyAuth alone.
            .header("DD-API-KEY", key)
            .header("Content-Type", "text/json")
            .body(body.to_string())
            .send()
    };
    let resp = post(json!({"series": [
        {"metric": "system.load.1", "host": "api-7", "points": [[t - 5, 0.5]], "type": "gauge"},
        // Older than an hour: Datadog does not take it, so the host does not appear.
        {"metric": "system.load.1", "host": "old-1", "points": [[t - 7200, 0.5]]},
    ]}))
    .await
    .unwrap();
    assert_eq!(resp.status(), 202);
    assert_eq!(resp.json::<Value>().await.unwrap(), json!({"status": "ok"}));
    // The spec's required `points` missing: 400.
    let bad = post(json!({"series": [{"metric": "m", "host": "x"}]})).await.unwrap();
    assert_eq!(bad.status(), 400);

    let p = provider(&server, key);
    let o = observe(&p, &[probe("api-7", "api-7"), probe("old-1", "old-1")], &[]).await;
    assert!(o.components[0].reporting, "{:?}", o.components[0]);
    assert!(!o.components[1].reporting, "{:?}", o.components[1]);
    assert_eq!(seen_names(&o), ["api-7"]);
}

#[tokio::test]
async fn more_hosts_than_one_page() {
    let server = start();
    let key = "observe-pages";
    let t = now();
    server.seed_hosts(
        key,
        (0..2345)
            .map(|i| json!({"name": format!("node-{i:04}"), "last_reported_time": t - (i % 600)}))
            .collect(),
    );
    let p = provider(&server, key);
    let started = std::time::Instant::now();
    let o = observe(&p, &[probe("last", "node-2344"), probe("first", "node-0000")], &[]).await;
    println!("datadog observe: {} hosts seen, {} calls, {:?}", o.seen.len(), o.api_calls, started.elapsed());
    assert_eq!(o.seen.len(), 2345);
    assert!(o.components.iter().all(|c| c.reporting), "{:?}", o.components);
    // 1000 a page: three pages.
    assert_eq!(o.api_calls, 3);
    assert_eq!(server.requests_matching("GET", "/api/v1/hosts"), 3);
}

#[tokio::test]
async fn managed_monitors_in_no_data() {
    let server = start();
    let key = "observe-no-data";
    let p = provider(&server, key);
    let mut ids = Vec::new();
    for name in ["cpu", "disk", "mem"] {
        let mut attrs = json!({"name": name, "type": "metric alert",
                               "query": format!("avg(last_5m):avg:system.{name}{{host:web-1}} > 90"),
                               "message": "x", "options": {"notify_no_data": true, "no_data_timeframe": 10}});
        p.mark("datadog_monitor", &mut attrs, &format!("baseline.soc2[\"web-1\"].{name}"));
        ids.push(p.create("datadog_monitor", &attrs).await.unwrap().id);
    }
    // A created monitor is in No Data until Datadog has evaluated it (every recorded create);
    // the stand-in does not evaluate, so the test says what evaluation found for two of them.
    assert!(server.set_monitor_state(key, ids[0].parse().unwrap(), "OK"));
    assert!(server.set_monitor_state(key, ids[2].parse().unwrap(), "Alert"));
    let alerts: Vec<(String, String)> = ids
        .iter()
        .map(|id| ("datadog_monitor".to_owned(), id.clone()))
        // Another vendor's object is not Datadog's to answer about.
        .chain([("cloudwatch_alarm".to_owned(), ids[0].clone())])
        .collect();
    server.reset_request_count();
    let o = observe(&p, &[], &alerts).await;
    assert_eq!(o.no_data.len(), 1, "{:?}", o.no_data);
    assert_eq!(o.no_data[0].id, ids[1]);
    assert_eq!(o.no_data[0].resource_type, "datadog_monitor");
    assert_eq!(o.no_data[0].state, "No Data");
    // One hosts page and one tag-filtered monitor page.
    assert_eq!(o.api_calls, 2);
    assert_eq!(server.requests_matching("GET", "/api/v1/monitor"), 1);

    // A monitor whose ownership tag was removed in the UI is read alone; a deleted one is skipped.
    let mut untagged = json!({"name": "untagged", "type": "metric alert",
                              "query": "avg(last_5m):avg:system.cpu.user{*} > 90", "message": "x"});
    untagged["tags"] = json!(["team:web"]);
    let untagged_id = p.create("datadog_monitor", &untagged).await.unwrap().id;
    let alerts = [
        ("datadog_monitor".to_owned(), untagged_id.clone()),
        ("datadog_monitor".to_owned(), "999".to_owned()),
    ];
    let o = observe(&p, &[], &alerts).await;
    assert_eq!(o.no_data.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(), [untagged_id.as_str()]);
    assert_eq!(o.api_calls, 4, "hosts, the tagged list, then one read per id it lacked");
}

#[tokio::test]
async fn hosts_list_defaults_to_three_hours() {
    // `ListHosts`: "Hosts live within the past 3 hours are included by default."
    let server = start();
    let key = "observe-default-window";
    let t = now();
    server.seed_hosts(
        key,
        vec![
            json!({"name": "fresh", "last_reported_time": t - 60}),
            json!({"name": "stale", "last_reported_time": t - 4 * 3600}),
        ],
    );
    let resp = reqwest::Client::new()
        .get(format!("{}/api/v1/hosts", server.base_url()))
        .header("DD-API-KEY", key)
        .header("DD-APPLICATION-KEY", "k")
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["total_matching"], json!(1), "{body}");
    assert_eq!(body["host_list"][0]["name"], json!("fresh"));
    // A five-hour window asks with `from` and sees both.
    let p = provider(&server, key);
    let o = p.observe(&[], &[], 5 * HOUR).await.unwrap().unwrap();
    assert_eq!(seen_names(&o), ["fresh", "stale"]);
}

#[tokio::test]
async fn agents_keep_reporting() {
    let server = start();
    let key = "observe-agents";
    server.seed_agents(key, &["web-1", "db-1"]);
    let p = provider(&server, key);
    let o = observe(&p, &[probe("web-1", "web-1"), probe("db-1", "db-1")], &[]).await;
    assert!(o.components.iter().all(|c| c.reporting), "{:?}", o.components);
}

#[tokio::test]
async fn no_data_across_monitor_pages() {
    let server = start();
    let key = "observe-monitor-pages";
    let bodies: Vec<Value> = (0..1500)
        .map(|i| {
            json!({"name": format!("m{i}"), "type": "metric alert",
                   "query": format!("avg(last_5m):avg:system.cpu.user{{host:h{i}}} > 90"),
                   "message": "x", "tags": ["managed-by:watchkeep"]})
        })
        .collect();
    let ids = server.seed_monitors(key, bodies);
    for id in &ids[..1499] {
        server.set_monitor_state(key, *id, "OK");
    }
    let p = provider(&server, key);
    // The one still in No Data is on the second page of 1000.
    let alerts: Vec<(String, String)> =
        [ids[0], ids[1499]].iter().map(|id| ("datadog_monitor".to_owned(), id.to_string())).collect();
    let o = observe(&p, &[], &alerts).await;
    assert_eq!(o.no_data.iter().map(|a| a.id.clone()).collect::<Vec<_>>(), [ids[1499].to_string()]);
    assert!(o.no_data[0].since.is_none(), "never evaluated: overall_state_modified is null");
    assert_eq!(o.api_calls, 3, "one hosts page, two monitor pages");
}

#[tokio::test]
async fn components_without_a_host_match_by_scope_tags() {
    // Datadog compiles any other identifier into a monitor scope `{k:v,...}`: the component
    // reports when a host carrying all those tags reported.
    let server = start();
    let key = "observe-tags";
    let t = now();
    server.seed_hosts(
        key,
        vec![
            json!({"name": "node-a", "last_reported_time": t - 20,
                   "tags_by_source": {"Datadog": ["host:node-a"], "Kubernetes": ["kube_deployment:checkout", "env:prod"]}}),
            json!({"name": "node-b", "last_reported_time": t - 3 * 3600 + 60,
                   "tags_by_source": {"Datadog": ["kube_deployment:billing", "env:prod"]}}),
        ],
    );
    let p = provider(&server, key);
    let component = |name: &str, ids: &[(&str, &str)]| ComponentProbe {
        name: name.to_owned(),
        kind: "container".to_owned(),
        identifier: ids.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
    };
    let probes = [
        component("checkout", &[("kube_deployment", "checkout"), ("env", "prod")]),
        // Its host reported, but before the window.
        component("billing", &[("kube_deployment", "billing")]),
        // No host carries both tags.
        component("checkout-staging", &[("kube_deployment", "checkout"), ("env", "staging")]),
    ];
    let o = p.observe(&probes, &[], HOUR).await.unwrap().unwrap();
    assert!(o.components[0].reporting, "{:?}", o.components[0]);
    assert!(
        o.components[0].detail.contains("host tagged env:prod,kube_deployment:checkout: node-a"),
        "{}",
        o.components[0].detail
    );
    assert!(!o.components[1].reporting, "{:?}", o.components[1]);
    assert!(
        o.components[1].detail.contains("no host tagged kube_deployment:billing reported since"),
        "{}",
        o.components[1].detail
    );
    assert!(!o.components[2].reporting);
    assert_eq!(o.components[2].last_reported, None);
}
