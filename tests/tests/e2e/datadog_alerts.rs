//! `watchkeep alerts` on Datadog: a quickstart monitor fires and recovers from metric points
//! posted to the stand-in (which evaluates simple metric monitors after each submission), and
//! the alert log shows the trigger and the resolution with their times, read back from the v1
//! event stream.

use serde_json::{json, Value};

use crate::support::*;

fn post_idle(ws: &Workspace, points: &[(i64, f64)]) {
    let body = json!({"series": [{"metric": "system.cpu.idle", "host": "web-1",
        "points": points.iter().map(|(t, v)| json!([t, v])).collect::<Vec<_>>()}]});
    let resp = reqwest::blocking::Client::new()
        .post(format!("{}/api/v1/series", ws.base_url))
        .header("DD-API-KEY", &ws.api_key)
        .json(&body)
        .send()
        .expect("series sent");
    assert_eq!(resp.status().as_u16(), 202);
}

#[test]
fn a_quickstart_monitor_fires_and_recovers_in_the_alert_log() {
    let ws = Workspace::example("quickstart");
    ws.run(&["apply", "-auto-approve"]).expect_code(0);
    let before = ws.run(&["alerts", "--json"]);
    before.expect_code(0);
    let v = before.json();
    assert_eq!(v["events"], json!([]), "{v:#}");
    let not_covered: Vec<&str> =
        v["not_covered"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert!(not_covered.iter().all(|a| !a.contains("soc2")), "monitors are covered now: {not_covered:?}");

    // web-1's CPU idle at 3% (usage 97%) twenty minutes ago, back to 80% a minute ago.
    let now = chrono::Utc::now().timestamp();
    post_idle(&ws, &[(now - 1200, 3.0), (now - 1140, 2.0)]);
    post_idle(&ws, &[(now - 60, 80.0)]);

    let log = ws.run(&["alerts", "--since", "1h", "--json"]);
    log.expect_code(0);
    let v = log.json();
    assert_matches_schema("alerts.schema.json", &v);
    let cpu: Vec<&Value> = v["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["address"] == "baseline.soc2[\"web-1\"].cpu")
        .collect();
    assert_eq!(cpu.len(), 2, "{v:#}");
    assert_eq!((cpu[0]["from"].clone(), cpu[0]["to"].clone()), (Value::Null, json!("Alert")));
    assert_eq!((cpu[1]["from"].clone(), cpu[1]["to"].clone()), (json!("Alert"), json!("OK")));
    let at = |e: &Value| {
        chrono::DateTime::parse_from_rfc3339(e["timestamp"].as_str().unwrap()).unwrap().timestamp()
    };
    assert_eq!((at(cpu[0]), at(cpu[1])), (now - 1140, now - 60));
    assert!(cpu[0]["summary"].as_str().unwrap().starts_with("[Triggered] web-1: CPU usage"), "{v:#}");

    let human = ws.run(&["alerts", "--since", "1h"]);
    human.expect_code(0);
    assert!(
        human.stdout().contains("Alert -> OK  [Recovered] web-1: CPU usage above 85% for 5m"),
        "{}",
        human.stdout()
    );
}
