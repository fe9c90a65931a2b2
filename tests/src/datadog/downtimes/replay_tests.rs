//! Replays every recorded v2 downtime interaction (the `datadog-api-client` 2.62.0 sdist's
//! `tests/v2/cassettes/test_scenarios/*downtime*.yaml`) against the stand-in and compares the
//! answers field by field: status codes and error messages exactly, attributes by value, ids and
//! timestamps by presence (null where the recording has null, a value where it has one), and
//! `notify_end_states` as a set.

use std::collections::HashMap;

use serde_json::{json, Value};

use crate::datadog::{DatadogStandIn, StandInOptions};
use crate::recordings::{datadog_dir, load_all, Cassette, Interaction};

const APP_KEY: &str = "replay-app-key";

/// Fields whose values depend on when and by whom the recording was made.
const BY_PRESENCE: &[&str] = &["id", "created", "modified", "canceled", "start", "end"];

/// Cassettes under `*downtime*` that are not about `/api/v2/downtime` itself: they read
/// `/api/v2/monitor/{id}/downtime_matches`, which the stand-in does not serve.
fn in_scope(c: &Cassette) -> bool {
    c.interactions.iter().all(|i| i.path.starts_with("/api/v2/downtime"))
}

fn cassettes() -> Vec<Cassette> {
    let root = datadog_dir().expect("recordings");
    load_all(&root, &|p| p.starts_with("tests/v2/cassettes/test_scenarios/") && p.contains("downtime"))
        .expect("cassettes load")
}

/// Compares `ours` with `recorded` at `path`; pushes every difference.
fn compare(recorded: &Value, ours: &Value, path: &str, out: &mut Vec<String>) {
    let last = path.rsplit('.').next().unwrap_or("");
    if BY_PRESENCE.contains(&last) {
        if recorded.is_null() != ours.is_null() {
            out.push(format!("{path}: recorded {recorded}, stand-in {ours} (compared by presence)"));
        }
        return;
    }
    match (recorded, ours) {
        (Value::Object(r), Value::Object(o)) => {
            for (k, rv) in r {
                match o.get(k) {
                    Some(ov) => compare(rv, ov, &format!("{path}.{k}"), out),
                    None => out.push(format!("{path}.{k}: missing from the stand-in's answer")),
                }
            }
            for k in o.keys().filter(|k| !r.contains_key(*k)) {
                out.push(format!("{path}.{k}: not in the recording"));
            }
        }
        (Value::Array(r), Value::Array(o)) if last == "notify_end_states" => {
            let mut r: Vec<String> = r.iter().map(Value::to_string).collect();
            let mut o: Vec<String> = o.iter().map(Value::to_string).collect();
            r.sort();
            o.sort();
            if r != o {
                out.push(format!("{path}: recorded {r:?}, stand-in {o:?} (as sets)"));
            }
        }
        (Value::Array(r), Value::Array(o)) => {
            if r.len() != o.len() {
                out.push(format!("{path}: recorded {} items, stand-in {}", r.len(), o.len()));
            }
            for (i, (rv, ov)) in r.iter().zip(o).enumerate() {
                compare(rv, ov, &format!("{path}[{i}]"), out);
            }
        }
        _ if recorded != ours => out.push(format!("{path}: recorded {recorded}, stand-in {ours}")),
        _ => {}
    }
}

/// The `included` creator differs by account: compare its type and id presence only.
fn strip_included(v: &mut Value) {
    if let Some(Value::Array(items)) = v.get_mut("included") {
        for item in items {
            if let Some(m) = item.as_object_mut() {
                m.remove("attributes");
            }
        }
    }
}

fn substitute(text: &str, ids: &HashMap<String, String>) -> String {
    ids.iter().fold(text.to_string(), |acc, (from, to)| acc.replace(from, to))
}

fn send(
    client: &reqwest::blocking::Client,
    base: &str,
    key: &str,
    i: &Interaction,
    ids: &HashMap<String, String>,
) -> (u16, String) {
    let mut url = format!("{base}{}", substitute(&i.path, ids));
    if !i.query.is_empty() {
        let q: Vec<String> = i
            .query
            .iter()
            .map(|(k, v)| {
                format!(
                    "{}={}",
                    form_urlencoded::byte_serialize(k.as_bytes()).collect::<String>(),
                    form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>()
                )
            })
            .collect();
        url = format!("{url}?{}", q.join("&"));
    }
    let method = reqwest::Method::from_bytes(i.method.as_bytes()).expect("method");
    let mut req = client.request(method, url).header("DD-API-KEY", key).header("DD-APPLICATION-KEY", APP_KEY);
    if let Some(body) = &i.request {
        req = req.header("content-type", "application/json").body(substitute(&body.to_string(), ids));
    }
    let resp = req.send().expect("stand-in answers");
    (resp.status().as_u16(), resp.text().unwrap_or_default())
}

/// Creates `n` downtimes so a recorded list has as many to page through as the recording's
/// `total_filtered_count`.
fn seed(client: &reqwest::blocking::Client, base: &str, key: &str, n: u64) {
    for k in 0..n {
        let body = json!({"data": {"type": "downtime", "attributes": {
            "scope": format!("host:seed-{k}"), "monitor_identifier": {"monitor_tags": ["*"]}}}});
        let resp = client
            .post(format!("{base}/api/v2/downtime"))
            .header("DD-API-KEY", key)
            .header("DD-APPLICATION-KEY", APP_KEY)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .expect("seed");
        assert_eq!(resp.status().as_u16(), 200, "seed: {}", resp.text().unwrap_or_default());
    }
}

#[test]
fn recorded_downtime_traffic_replays_against_the_stand_in() {
    let dd = DatadogStandIn::start(StandInOptions::default()).expect("stand-in");
    let client = reqwest::blocking::Client::new();
    let base = dd.base_url();
    let all = cassettes();
    let replayed: Vec<&Cassette> = all.iter().filter(|c| in_scope(c)).collect();
    assert!(replayed.len() >= 12, "expected the 12 v2 downtime cassettes, found {}", replayed.len());
    let mut failures = Vec::new();
    let mut compared = 0;
    for (n, cassette) in replayed.iter().enumerate() {
        let key = format!("replay-{n}");
        // A recorded list answers from an org that already had downtimes: give ours as many.
        if let Some(total) = cassette
            .interactions
            .iter()
            .find(|i| i.method == "GET" && i.path == "/api/v2/downtime")
            .and_then(|i| i.response.as_ref())
            .and_then(|r| r.pointer("/meta/page/total_filtered_count"))
            .and_then(Value::as_u64)
        {
            seed(&client, &base, &key, total);
        }
        let mut ids: HashMap<String, String> = HashMap::new();
        for (k, i) in cassette.interactions.iter().enumerate() {
            let (status, text) = send(&client, &base, &key, i, &ids);
            let at = format!("{} #{k} {} {}", cassette.source, i.method, i.path);
            if status != i.status {
                failures.push(format!("{at}: status {status}, recorded {}: {text}", i.status));
                continue;
            }
            let ours: Option<Value> = serde_json::from_str(&text).ok();
            match (&i.response, ours) {
                (None, None) => {
                    if !i.response_text.trim().is_empty() || !text.trim().is_empty() {
                        failures.push(format!("{at}: body {text:?}, recorded {:?}", i.response_text));
                    }
                }
                (Some(recorded), Some(mut ours)) => {
                    if let (Some(Value::String(rid)), Some(Value::String(oid))) =
                        (recorded.pointer("/data/id"), ours.pointer("/data/id"))
                    {
                        ids.insert(rid.clone(), oid.clone());
                    }
                    let mut recorded = recorded.clone();
                    strip_included(&mut recorded);
                    strip_included(&mut ours);
                    // List items of seeded org: their scopes and ids are ours, so compare the
                    // shape of the first item and the counts.
                    if i.method == "GET" && i.path == "/api/v2/downtime" {
                        let r = recorded["data"].as_array().cloned().unwrap_or_default();
                        let o = ours["data"].as_array().cloned().unwrap_or_default();
                        if r.len() != o.len() {
                            failures.push(format!("{at}: {} items, recorded {}", o.len(), r.len()));
                        }
                        let mut diffs = Vec::new();
                        compare(&recorded["meta"], &ours["meta"], "meta", &mut diffs);
                        if let (Some(r0), Some(o0)) = (r.first(), o.first()) {
                            let keys = |v: &Value| -> Vec<String> {
                                let mut k: Vec<String> = v["attributes"]
                                    .as_object()
                                    .map(|m| m.keys().cloned().collect())
                                    .unwrap_or_default();
                                k.sort();
                                k
                            };
                            if keys(r0) != keys(o0) {
                                diffs.push(format!(
                                    "item attributes {:?}, recorded {:?}",
                                    keys(o0),
                                    keys(r0)
                                ));
                            }
                        }
                        failures.extend(diffs.into_iter().map(|d| format!("{at}: {d}")));
                    } else {
                        let mut diffs = Vec::new();
                        compare(&recorded, &ours, "", &mut diffs);
                        failures.extend(diffs.into_iter().map(|d| format!("{at}: {d}")));
                    }
                    compared += 1;
                }
                (r, o) => failures.push(format!("{at}: recorded {r:?}, stand-in {o:?} ({text:?})")),
            }
        }
    }
    assert!(failures.is_empty(), "{} differences:\n{}", failures.len(), failures.join("\n"));
    assert!(compared >= 15, "only {compared} JSON answers compared");
    eprintln!("replayed {} cassettes, {compared} JSON answers compared field by field", replayed.len());
}

#[test]
fn a_cancelled_downtime_is_still_readable_as_canceled() {
    let dd = DatadogStandIn::start(StandInOptions::default()).expect("stand-in");
    let client = reqwest::blocking::Client::new();
    let base = dd.base_url();
    seed(&client, &base, "k", 1);
    let id = dd.downtimes("k")[0]["id"].as_str().unwrap().to_string();
    let url = format!("{base}/api/v2/downtime/{id}");
    let del =
        client.delete(&url).header("DD-API-KEY", "k").header("DD-APPLICATION-KEY", APP_KEY).send().unwrap();
    assert_eq!(del.status().as_u16(), 204);
    let got: Value = client
        .get(&url)
        .header("DD-API-KEY", "k")
        .header("DD-APPLICATION-KEY", APP_KEY)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(got["data"]["attributes"]["status"], "canceled");
    assert!(got["data"]["attributes"]["canceled"].is_string());
    // Another org sees nothing.
    assert!(dd.downtimes("other").is_empty());
}

#[test]
fn bad_schedules_are_refused() {
    let dd = DatadogStandIn::start(StandInOptions::default()).expect("stand-in");
    let client = reqwest::blocking::Client::new();
    let post = |attrs: Value| {
        let body = json!({"data": {"type": "downtime", "attributes": attrs}});
        let r = client
            .post(format!("{}/api/v2/downtime", dd.base_url()))
            .header("DD-API-KEY", "k")
            .header("DD-APPLICATION-KEY", APP_KEY)
            .body(body.to_string())
            .send()
            .unwrap();
        (r.status().as_u16(), r.text().unwrap())
    };
    let base = json!({"scope": "env:prod", "monitor_identifier": {"monitor_tags": ["team:web"]}});
    let with = |k: &str, v: Value| {
        let mut a = base.clone();
        a[k] = v;
        a
    };
    let end_first = with("schedule", json!({"start": "2030-01-02T00:00:00Z", "end": "2030-01-01T00:00:00Z"}));
    assert_eq!(post(end_first).0, 400);
    let bad_rrule = with("schedule", json!({"recurrences": [{"rrule": "WEEKLY", "duration": "2h"}]}));
    assert_eq!(post(bad_rrule).0, 400);
    let zero = with("schedule", json!({"recurrences": [{"rrule": "FREQ=DAILY", "duration": "0h"}]}));
    assert_eq!(post(zero).0, 400);
    let good = with(
        "schedule",
        json!({"recurrences": [{"rrule": "FREQ=WEEKLY;BYDAY=SA", "duration": "2h", "start": "2030-01-05T02:00"}],
               "timezone": "Europe/Berlin"}),
    );
    let (status, text) = post(good);
    assert_eq!(status, 200, "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["data"]["attributes"]["schedule"]["recurrences"][0]["start"], "2030-01-05T02:00");
    assert_eq!(v["data"]["attributes"]["schedule"]["timezone"], "Europe/Berlin");
    assert_eq!(post(json!({"scope": "env:prod"})).0, 400, "monitor_identifier is required");
}
