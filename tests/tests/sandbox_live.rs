//! `watchkeep-sandbox` starts with what `coverage --live` reads: Datadog hosts reporting now
//! (the quickstart inventory's and `web-3`, which it lacks), New Relic entities for the
//! `examples/newrelic` inventory plus `web-3`, both named in the banner.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::{json, Value};

/// Kills the sandbox when the test ends, however it ends.
struct Sandbox(Child);

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the sandbox with `args`; returns it, its base URL and its banner (read up to and
/// including the line containing `last`).
fn start(args: &[&str], last: &str) -> (Sandbox, String, Vec<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_watchkeep-sandbox"))
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("sandbox starts");
    let stdout = child.stdout.take().expect("stdout");
    let sandbox = Sandbox(child);
    let mut lines = BufReader::new(stdout).lines();
    let mut banner = Vec::new();
    loop {
        let line = lines.next().expect("banner line").expect("utf-8");
        let done = line.contains(last);
        banner.push(line);
        if done {
            break;
        }
    }
    let url = banner[0]
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("url")
        .trim_end_matches("/api")
        .to_owned();
    (sandbox, url, banner)
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

#[test]
fn sandbox_hosts_and_entities_report() {
    let (_sandbox, base, banner) = start(&[], "New Relic entities reporting");
    assert!(banner[0].contains("Datadog API at http://"), "the quickstart parses this line: {banner:?}");
    assert!(
        banner.iter().any(|l| l
            == "watchkeep-sandbox: Datadog hosts reporting: web-1, web-2, db-1, web-3 (not in \
                examples/quickstart/inventory.csv)"),
        "{banner:#?}"
    );
    let nr_line = banner.iter().find(|l| l.contains("New Relic entities reporting")).unwrap();
    for part in [
        "orders-prod (AWSRDSDBINSTANCE, displayName=orders-prod)",
        "checkout (CONTAINER, containerName=checkout)",
        "web-3 (HOST, hostname=web-3, not in examples/newrelic/inventory.csv)",
    ] {
        assert!(nr_line.contains(part), "{nr_line}");
    }

    let http = reqwest::blocking::Client::new();
    let hosts = |key: &str| -> Value {
        http.get(format!("{base}/api/v1/hosts"))
            .query(&[("from", (now() - 600).to_string())])
            .header("DD-API-KEY", key)
            .header("DD-APPLICATION-KEY", "app")
            .send()
            .expect("sent")
            .json()
            .expect("json")
    };
    let listed = hosts("sandbox-api-key");
    let mut names: Vec<&str> =
        listed["host_list"].as_array().unwrap().iter().filter_map(|h| h["name"].as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["db-1", "web-1", "web-2", "web-3"], "{listed:#}");
    assert!(
        listed["host_list"]
            .as_array()
            .unwrap()
            .iter()
            .all(|h| h["last_reported_time"].as_i64() >= Some(now() - 5)),
        "agents report now: {listed:#}"
    );

    // A series with a host makes it report in the sandbox too.
    let accepted = http
        .post(format!("{base}/api/v1/series"))
        .header("DD-API-KEY", "sandbox-api-key")
        .header("Content-Type", "text/json")
        .body(
            json!({"series": [{"metric": "system.load.1", "host": "batch-1", "points": [[now(), 1.0]]}]})
                .to_string(),
        )
        .send()
        .expect("sent");
    assert_eq!(accepted.status().as_u16(), 202);
    assert_eq!(hosts("sandbox-api-key")["total_matching"], json!(5));

    let found: Value = http
        .post(format!("{base}/graphql"))
        .header("API-Key", "NRAK-SANDBOXLIVE")
        .json(&json!({"query": "{ actor { entitySearch(query: \"domain = 'INFRA'\") { results { entities { name type reporting tags { key values } } } } } }"}))
        .send()
        .expect("sent")
        .json()
        .expect("json");
    let entities =
        found["data"]["actor"]["entitySearch"]["results"]["entities"].as_array().expect("entities");
    let mut seen: Vec<(String, String, bool)> = entities
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap().to_owned(),
                e["type"].as_str().unwrap().to_owned(),
                e["reporting"] == json!(true),
            )
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            ("checkout".to_owned(), "CONTAINER".to_owned(), true),
            ("orders-prod".to_owned(), "AWSRDSDBINSTANCE".to_owned(), true),
            ("web-1".to_owned(), "HOST".to_owned(), true),
            ("web-2".to_owned(), "HOST".to_owned(), true),
            ("web-3".to_owned(), "HOST".to_owned(), true),
        ],
        "{found:#}"
    );
}

#[test]
fn no_inventory_starts_empty() {
    let (_sandbox, base, _banner) = start(&["--no-inventory"], "NerdGraph at");
    let listed: Value = reqwest::blocking::Client::new()
        .get(format!("{base}/api/v1/hosts"))
        .header("DD-API-KEY", "k")
        .header("DD-APPLICATION-KEY", "a")
        .send()
        .expect("sent")
        .json()
        .expect("json");
    assert_eq!(listed["total_matching"], json!(0), "{listed:#}");
}
