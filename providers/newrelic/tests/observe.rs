//! `Provider::observe` (coverage --live) of the New Relic provider against the NerdGraph
//! stand-in's `entitySearch`: reporting, stopped, unknown and other accounts' entities,
//! pagination by cursor, and the stand-in's entity seeding endpoint.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{assert_all_valid, provider, start, KEY};
use serde_json::{json, Value};
use watchkeep_provider::{ComponentProbe, Observation, Provider};
use watchkeep_tests::newrelic::{EntitySeed, NewRelicOptions, PageSizes};

const WINDOW: Duration = Duration::from_secs(3600);

fn probe(name: &str, kind: &str, key: &str, value: &str) -> ComponentProbe {
    ComponentProbe {
        name: name.to_owned(),
        kind: kind.to_owned(),
        identifier: BTreeMap::from([(key.to_owned(), value.to_owned())]),
    }
}

fn seen(o: &Observation) -> Vec<(String, Option<String>, BTreeMap<String, String>)> {
    let mut v: Vec<_> =
        o.seen.iter().map(|s| (s.name.clone(), s.kind.clone(), s.identifier.clone())).collect();
    v.sort();
    v
}

fn id(key: &str, value: &str) -> BTreeMap<String, String> {
    BTreeMap::from([(key.to_owned(), value.to_owned())])
}

#[tokio::test]
async fn reporting_stopped_and_unknown_entities() {
    let nr = start(NewRelicOptions::default());
    let account = nr.account_id(KEY);
    let stopped_at = 1_764_000_000_000;
    assert!(nr.seed_entities_in(
        KEY,
        account,
        &[
            EntitySeed::new("web-1", "HOST").with_tag("hostname", "web-1"),
            EntitySeed::new("web-2", "HOST").with_tag("hostname", "web-2").stopped_at(stopped_at),
            EntitySeed::new("orders-prod", "AWSRDSDBINSTANCE").with_tag("displayName", "orders-prod"),
            EntitySeed::new("checkout-7f9c", "CONTAINER").with_tag("containerName", "checkout"),
            EntitySeed::new("web-3", "HOST").with_tag("hostname", "web-3"),
        ],
    ));
    // Another account of the same key: not this provider's account, not seen.
    nr.add_account(KEY, 9_999_001, "other");
    assert!(nr.seed_entities_in(KEY, 9_999_001, &[EntitySeed::new("elsewhere-1", "HOST")]));

    let p = provider(&nr);
    let probes = [
        probe("web-1", "server", "hostname", "web-1"),
        probe("web-2", "server", "hostname", "web-2"),
        probe("orders-db", "database", "displayName", "orders-prod"),
        probe("checkout", "container", "containerName", "checkout"),
        probe("web-9", "server", "hostname", "web-9"),
    ];
    let alerts = [("newrelic_nrql_alert_condition".to_owned(), "1".to_owned())];
    let o = p.observe(&probes, &alerts, WINDOW).await.unwrap().expect("New Relic can tell");

    let by: BTreeMap<&str, _> = o.components.iter().map(|c| (c.component.as_str(), c)).collect();
    assert!(by["web-1"].reporting, "{:?}", by["web-1"]);
    assert!(!by["web-2"].reporting, "{:?}", by["web-2"]);
    assert_eq!(by["web-2"].last_reported.as_deref(), Some("2025-11-24T16:00:00Z"));
    assert!(by["web-2"].detail.contains("not reporting"), "{}", by["web-2"].detail);
    assert!(by["orders-db"].reporting, "{:?}", by["orders-db"]);
    assert!(by["checkout"].reporting, "a tag matches: {:?}", by["checkout"]);
    assert!(!by["web-9"].reporting);
    assert!(
        by["web-9"].detail.contains("no infrastructure entity with hostname = 'web-9'"),
        "{}",
        by["web-9"].detail
    );

    assert_eq!(
        seen(&o),
        [
            ("checkout-7f9c".to_owned(), Some("container".to_owned()), id("containerName", "checkout")),
            ("orders-prod".to_owned(), Some("database".to_owned()), id("displayName", "orders-prod")),
            ("web-1".to_owned(), Some("server".to_owned()), id("hostname", "web-1")),
            ("web-3".to_owned(), Some("server".to_owned()), id("hostname", "web-3")),
        ]
    );
    // The schema has no per-condition No Data state: nothing is claimed.
    assert!(o.no_data.is_empty());
    assert_eq!(o.api_calls, 1);
    assert_all_valid(&nr);
}

#[tokio::test]
async fn more_entities_than_one_page() {
    let nr = start(NewRelicOptions {
        page_sizes: PageSizes { entities: 40, ..PageSizes::default() },
        ..Default::default()
    });
    let account = nr.account_id(KEY);
    let seeds: Vec<EntitySeed> = (0..101).map(|i| EntitySeed::new(&format!("node-{i:03}"), "HOST")).collect();
    assert!(nr.seed_entities_in(KEY, account, &seeds));
    let p = provider(&nr);
    let probes =
        [probe("first", "server", "hostname", "node-000"), probe("last", "server", "hostname", "node-100")];
    let started = std::time::Instant::now();
    let o = p.observe(&probes, &[], WINDOW).await.unwrap().unwrap();
    println!(
        "newrelic observe: {} entities seen, {} calls, {:?}",
        o.seen.len(),
        o.api_calls,
        started.elapsed()
    );
    assert_eq!(o.seen.len(), 101);
    assert!(o.components.iter().all(|c| c.reporting), "{:?}", o.components);
    assert_eq!(o.api_calls, 3, "three pages of 40 by cursor");
    assert_all_valid(&nr);
}

#[tokio::test]
async fn entities_seeded_through_the_control_endpoint() {
    let nr = start(NewRelicOptions::default());
    let client = reqwest::Client::new();
    let url = format!("{}/_sandbox/newrelic/entities", nr.base_url());
    let resp = client
        .post(&url)
        .header("API-Key", KEY)
        .json(&json!({"entities": [
            {"name": "web-3", "tags": {"hostname": "web-3"}},
            {"name": "db-old", "type": "AWSRDSDBINSTANCE", "reporting": false, "lastReportingChangeAt": 1_764_000_000_000i64},
        ]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body, json!({"accountId": nr.account_id(KEY), "seeded": 2}));
    // Refused: no key, an entity without a name, an account the key lacks.
    assert_eq!(client.post(&url).json(&json!({"entities": []})).send().await.unwrap().status(), 400);
    let nameless =
        client.post(&url).header("API-Key", KEY).json(&json!({"entities": [{"type": "HOST"}]})).send();
    assert_eq!(nameless.await.unwrap().status(), 400);
    let elsewhere = client
        .post(&url)
        .header("API-Key", KEY)
        .json(&json!({"accountId": 1, "entities": [{"name": "x"}]}))
        .send();
    assert_eq!(elsewhere.await.unwrap().status(), 400);

    let p = provider(&nr);
    let o =
        p.observe(&[probe("db", "database", "displayName", "db-old")], &[], WINDOW).await.unwrap().unwrap();
    assert!(!o.components[0].reporting);
    assert_eq!(seen(&o), [("web-3".to_owned(), Some("server".to_owned()), id("hostname", "web-3"))]);
}
