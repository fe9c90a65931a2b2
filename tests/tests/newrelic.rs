//! `watchkeep-sandbox` serves New Relic's NerdGraph next to the Datadog API, on one listener.

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

#[test]
fn sandbox_serves_nerdgraph_and_datadog_on_one_port() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_watchkeep-sandbox"))
        .args(["--listen", "127.0.0.1:0", "--demo-hosts", "2"])
        .args(["--newrelic-fault", "error:TIMEOUT alertsPolicyCreate times=1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("sandbox starts");
    let stdout = child.stdout.take().expect("stdout");
    let _sandbox = Sandbox(child);
    let mut lines = BufReader::new(stdout).lines();
    let mut banner = Vec::new();
    while banner.len() < 3 {
        banner.push(lines.next().expect("banner line").expect("utf-8"));
    }
    let graphql_line = banner.iter().find(|l| l.contains("NerdGraph")).expect("NerdGraph banner line");
    let graphql_url =
        graphql_line.split_whitespace().find(|w| w.starts_with("http://")).expect("url").to_owned();
    assert!(graphql_url.ends_with("/graphql"), "{graphql_url}");
    assert!(banner
        .iter()
        .any(|l| l.contains("injecting New Relic fault: error:TIMEOUT alertsPolicyCreate times=1")));
    let base = graphql_url.trim_end_matches("/graphql").to_owned();

    let http = reqwest::blocking::Client::new();
    let post = |query: &str, variables: Value| -> Value {
        http.post(&graphql_url)
            .header("API-Key", "NRAK-SANDBOX")
            .json(&json!({"query": query, "variables": variables}))
            .send()
            .expect("sent")
            .json()
            .expect("json")
    };
    let hosts =
        post("{ actor { entitySearch(queryBuilder: {domain: INFRA, type: HOST}) { count } } }", json!({}));
    assert_eq!(hosts["data"]["actor"]["entitySearch"]["count"], 2, "{hosts:#}");

    let accounts = post("{ actor { accounts { id } } }", json!({}));
    let account = accounts["data"]["actor"]["accounts"][0]["id"].as_i64().expect("account id");
    let create = "mutation($a: Int!) { alertsPolicyCreate(accountId: $a, policy: {name: \"p\", incidentPreference: PER_POLICY}) { id } }";
    let first = post(create, json!({"a": account}));
    assert_eq!(first["errors"][0]["extensions"]["errorClass"], "TIMEOUT", "{first:#}");
    let second = post(create, json!({"a": account}));
    assert!(second["data"]["alertsPolicyCreate"]["id"].is_string(), "{second:#}");

    let faults: Value =
        http.get(format!("{base}/_sandbox/newrelic/faults")).send().expect("sent").json().expect("json");
    assert_eq!(faults, json!({"faults": ["error:TIMEOUT alertsPolicyCreate times=1"], "injected": 1}));

    let dd = http
        .get(format!("{base}/api/v1/validate"))
        .header("DD-API-KEY", "k")
        .header("DD-APPLICATION-KEY", "a")
        .send()
        .expect("sent");
    assert_eq!(dd.status().as_u16(), 200, "the Datadog API is still there");
}
