//! CloudWatch and SNS: the same HCL compiled for `provider = "cloudwatch"` components, applied to
//! moto (a real AWS emulator speaking the AWS Query protocol), and an alert that fires for real on
//! LocalStack and reaches the route's HTTP subscriber.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::*;

const PD_SECRET: &str = "e2e-pd-integration-key-7f3a9c";

/// EC2, RDS and ECS components with a baseline, a route with PagerDuty (a secret) and email, and
/// a dashboard.
fn mixed(region: &str) -> String {
    format!(
        r#"
variable "endpoint" {{ type = string }}
variable "pd_key" {{ sensitive = true }}

provider "cloudwatch" {{
  region       = "{region}"
  endpoint_url = var.endpoint
}}

inventory "prod" {{
  reviewed_on = "2026-11-01"
  reviewed_by = "lead@example.com"
}}

component "web-1" {{
  inventory  = inventory.prod
  kind       = "server"
  provider   = "cloudwatch"
  identifier = {{ InstanceId = "i-0123456789abcdef0" }}
}}
component "orders-db" {{
  inventory  = inventory.prod
  kind       = "database"
  provider   = "cloudwatch"
  identifier = {{ DBInstanceIdentifier = "orders-prod" }}
}}
component "api" {{
  inventory  = inventory.prod
  kind       = "container"
  provider   = "cloudwatch"
  identifier = {{ ClusterName = "prod", ServiceName = "api" }}
}}

route "oncall" {{
  pagerduty {{ routing_key = var.pd_key }}
  email     {{ to = ["oncall@example.com"] }}
}}

baseline "soc2" {{
  scope = inventory.prod
  route = route.oncall
}}

dashboard "infra" {{ scope = inventory.prod }}
"#
    )
}

pub(crate) fn aws_workspace(name: &str, region: &str) -> Workspace {
    let ws = Workspace::new(name)
        .env("WATCHKEEP_VAR_endpoint", &moto().endpoint_url())
        .env("WATCHKEEP_VAR_pd_key", PD_SECRET);
    ws.write("main.hcl", &mixed(region));
    ws
}

pub(crate) fn alarm_names(endpoint: &str, region: &str) -> Vec<String> {
    let (status, xml) = aws_query(endpoint, region, "monitoring", "DescribeAlarms", &json!({}));
    assert_eq!(status, 200, "{xml}");
    xml.split("<AlarmName>")
        .skip(1)
        .filter_map(|s| s.split("</AlarmName>").next())
        .map(str::to_string)
        .collect()
}

pub(crate) fn describe_alarm(endpoint: &str, region: &str, name: &str) -> String {
    let (status, xml) =
        aws_query(endpoint, region, "monitoring", "DescribeAlarms", &json!({"AlarmNames": [name]}));
    assert_eq!(status, 200, "{xml}");
    xml
}

#[test]
fn mixed_inventory_applies_then_plans_clean_on_moto() {
    let region = "us-west-2";
    let ws = aws_workspace("cw-mixed", region);
    let apply = ws.run(&["apply", "-auto-approve"]);
    apply.expect_code(0);
    // 5 server + 6 database (with connections and uptime) + 5 container alarms, one topic,
    // two subscriptions, one dashboard.
    assert!(
        apply.stdout().contains("20 created") || apply.stdout().contains("20 added"),
        "{}",
        apply.stdout()
    );
    let names = alarm_names(&moto().endpoint_url(), region);
    assert_eq!(names.len(), 16, "{names:?}");
    assert!(names.contains(&"orders-db Freeable memory (baseline.soc2)".to_string()), "{names:?}");

    let plan = ws.run(&["plan", "-detailed-exitcode"]);
    plan.expect_code(0);
    assert!(plan.stdout().contains("No changes"), "{}", plan.stdout());
    ws.run(&["drift"]).expect_code(0);

    // The PagerDuty integration key is part of the subscription's endpoint; it never reaches
    // anything watchkeep writes or prints.
    let everything =
        format!("{}{}{}{}", ws.all_written_text(), apply.stdout(), apply.stderr(), plan.stdout());
    assert!(!everything.contains(PD_SECRET), "the PagerDuty key leaked");
    let sub = ws.state_resource("route.oncall.pagerduty[0]");
    assert!(sub["attrs"]["Endpoint"].as_str().unwrap_or_default().contains("sensitive"), "{sub}");

    // A rotated key is a change (without showing either value).
    let rotated = ws
        .command(&["plan", "-detailed-exitcode"])
        .env("WATCHKEEP_VAR_pd_key", "e2e-rotated-key-1111")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&rotated.stdout);
    assert_eq!(rotated.status.code(), Some(2), "{text}");
    assert!(
        text.contains("route.oncall.pagerduty[0]")
            && !text.contains("e2e-rotated-key-1111")
            && !text.contains(PD_SECRET),
        "{text}"
    );

    // destroy removes everything it made.
    ws.run(&["destroy", "-auto-approve"]).expect_code(0);
    assert!(alarm_names(&moto().endpoint_url(), region).is_empty());
}

/// Raw resources naming a topic declared beside them `sns:<name>`: the alarm and the subscription
/// are linked to the topic and sent its ARN, created in the same apply; a renamed topic is
/// replaced and what links to it follows; a name no topic declares is refused at plan.
fn raw_topics(topic: &str, alarm_topic: &str) -> String {
    format!(
        r#"
variable "endpoint" {{ type = string }}
provider "cloudwatch" {{
  region       = "sa-east-1"
  endpoint_url = var.endpoint
}}
resource "sns_topic" "ops" {{
  Name = "{topic}"
}}
resource "sns_subscription" "mail" {{
  TopicArn = "sns:{topic}"
  Protocol = "email"
  Endpoint = "ops@example.com"
}}
resource "cloudwatch_metric_alarm" "cpu" {{
  AlarmName          = "wk-raw-cpu"
  Namespace          = "AWS/EC2"
  MetricName         = "CPUUtilization"
  Dimensions         = [{{ Name = "InstanceId", Value = "i-0raw" }}]
  Statistic          = "Average"
  Period             = 300
  EvaluationPeriods  = 2
  Threshold          = 80
  ComparisonOperator = "GreaterThanThreshold"
  AlarmActions       = ["sns:{alarm_topic}"]
}}
"#
    )
}

#[test]
fn raw_resources_link_to_a_declared_topic_by_name_on_moto() {
    let region = "sa-east-1";
    let endpoint = moto().endpoint_url();
    let ws = Workspace::new("cw-raw-topics").env("WATCHKEEP_VAR_endpoint", &endpoint);
    ws.write("main.hcl", &raw_topics("wk-raw-ops", "wk-raw-ops"));
    let apply = ws.run(&["apply", "-auto-approve"]);
    apply.expect_code(0);
    let arn = ws.state_resource("sns_topic.ops")["id"].as_str().expect("topic ARN").to_string();
    assert!(arn.starts_with("arn:aws:sns:sa-east-1:") && arn.ends_with(":wk-raw-ops"), "{arn}");
    let alarm = describe_alarm(&endpoint, region, "wk-raw-cpu");
    assert!(alarm.contains(&format!("<member>{arn}</member>")), "{alarm}");
    let sub = ws.state_resource("sns_subscription.mail");
    assert_eq!(sub["attrs"]["TopicArn"], json!(arn), "{sub}");
    ws.run(&["plan", "-detailed-exitcode"]).expect_code(0);
    ws.run(&["drift"]).expect_code(0);

    // Renamed: the topic is replaced (a new ARN); the alarm and the subscription follow.
    ws.write("main.hcl", &raw_topics("wk-raw-ops2", "wk-raw-ops2"));
    ws.run(&["apply", "-auto-approve"]).expect_code(0);
    let arn2 = ws.state_resource("sns_topic.ops")["id"].as_str().expect("topic ARN").to_string();
    assert!(arn2.ends_with(":wk-raw-ops2"), "{arn2}");
    let alarm = describe_alarm(&endpoint, region, "wk-raw-cpu");
    assert!(
        alarm.contains(&format!("<member>{arn2}</member>"))
            && !alarm.contains(&format!("<member>{arn}</member>")),
        "{alarm}"
    );
    assert_eq!(ws.state_resource("sns_subscription.mail")["attrs"]["TopicArn"], json!(arn2));
    ws.run(&["plan", "-detailed-exitcode"]).expect_code(0);

    // A name no topic of the configuration declares.
    ws.write("main.hcl", &raw_topics("wk-raw-ops2", "wk-nowhere"));
    let plan = ws.run(&["plan"]);
    plan.expect_code(1);
    assert!(
        plan.stderr().contains(
            "`AlarmActions` names `sns:wk-nowhere`, but no SNS topic named `wk-nowhere` is declared"
        ) && plan.stderr().contains("declare an sns_topic named `wk-nowhere` or use the topic's ARN"),
        "{}",
        plan.stderr()
    );

    ws.write("main.hcl", &raw_topics("wk-raw-ops2", "wk-raw-ops2"));
    ws.run(&["destroy", "-auto-approve"]).expect_code(0);
    assert!(alarm_names(&endpoint, region).is_empty());
}

#[test]
fn drift_on_moto_is_detected_and_restored() {
    let region = "eu-west-1";
    let endpoint = moto().endpoint_url();
    let ws = aws_workspace("cw-drift", region);
    ws.run(&["apply", "-auto-approve"]).expect_code(0);

    // Someone raises the CPU threshold in the console and deletes the memory alarm.
    let cpu = ws.state_resource(r#"baseline.soc2["web-1"].cpu"#);
    let topic_arn = ws.state_resource("route.oncall.sns_topic")["id"].as_str().unwrap().to_string();
    let mut attrs = cpu["attrs"].clone();
    attrs["Threshold"] = json!(97);
    for key in ["AlarmActions", "OKActions"] {
        attrs[key] = json!([topic_arn.clone()]);
    }
    let (status, body) = aws_query(&endpoint, region, "monitoring", "PutMetricAlarm", &attrs);
    assert_eq!(status, 200, "{body}");
    let memory_name =
        ws.state_resource(r#"baseline.soc2["web-1"].memory"#)["id"].as_str().unwrap().to_string();
    let (status, body) = aws_query(
        &endpoint,
        region,
        "monitoring",
        "DeleteAlarms",
        &json!({"AlarmNames": [memory_name.clone()]}),
    );
    assert_eq!(status, 200, "{body}");

    let drift = ws.run(&["drift"]);
    drift.expect_code(2);
    let out = drift.stdout();
    assert!(out.contains(r#"baseline.soc2["web-1"].cpu"#) && out.contains("Threshold: 85 -> 97"), "{out}");
    assert!(out.contains(r#"baseline.soc2["web-1"].memory"#) && out.contains("deleted"), "{out}");

    let plan = ws.run(&["plan", "-detailed-exitcode"]);
    plan.expect_code(2);
    ws.run(&["apply", "-auto-approve"]).expect_code(0);
    ws.run(&["plan", "-detailed-exitcode"]).expect_code(0);
    let xml = describe_alarm(&endpoint, region, cpu["id"].as_str().unwrap());
    assert!(xml.contains("<Threshold>85"), "{xml}");
    assert!(describe_alarm(&endpoint, region, &memory_name).contains(&memory_name));
}

#[test]
fn an_alarm_name_taken_by_someone_else_is_refused_and_left_alone() {
    let region = "ap-southeast-2";
    let endpoint = moto().endpoint_url();
    let ws = aws_workspace("cw-collide", region);
    let theirs = "web-1 CPU usage (baseline.soc2)";
    let (status, body) = aws_query(
        &endpoint,
        region,
        "monitoring",
        "PutMetricAlarm",
        &json!({
            "AlarmName": theirs, "AlarmDescription": "hand-made, not watchkeep's",
            "Namespace": "AWS/EC2", "MetricName": "CPUUtilization", "Statistic": "Average",
            "Period": 60, "EvaluationPeriods": 1, "Threshold": 42, "ComparisonOperator": "GreaterThanThreshold",
        }),
    );
    assert_eq!(status, 200, "{body}");

    // The plan refuses before anything is written…
    let plan = ws.run(&["plan"]);
    plan.expect_code(1);
    assert!(
        plan.stderr().contains(theirs) && plan.stderr().contains("watchkeep does not manage it"),
        "{}",
        plan.stderr()
    );
    // …and so does the provider itself when the plan's check is skipped.
    let apply = ws.run(&["apply", "-auto-approve", "-refresh=false"]);
    apply.expect_code(1);
    assert!(apply.stderr().contains("not managed by watchkeep"), "{}", apply.stderr());

    let xml = describe_alarm(&endpoint, region, theirs);
    assert!(xml.contains("<Threshold>42") && xml.contains("hand-made, not watchkeep"), "{xml}");
    assert!(!ws.state_ids().contains(&theirs.to_string()));
}

/// A tiny HTTP endpoint subscribed to an SNS topic: confirms the subscription through its
/// SubscribeURL, as a real receiver must, and keeps every notification.
struct Subscriber {
    url: String,
    confirmed: Arc<Mutex<bool>>,
    notifications: Arc<Mutex<Vec<Value>>>,
}

impl Subscriber {
    fn start() -> Subscriber {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind subscriber");
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let confirmed = Arc::new(Mutex::new(false));
        let notifications = Arc::new(Mutex::new(Vec::new()));
        let (c, n) = (confirmed.clone(), notifications.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(stream);
                let mut len = 0usize;
                let mut line = String::new();
                while reader.read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
                    if line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap_or(0);
                    }
                    line.clear();
                }
                let mut body = vec![0u8; len];
                let _ = reader.read_exact(&mut body);
                let _ = reader
                    .get_mut()
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
                let Ok(msg) = serde_json::from_slice::<Value>(&body) else { continue };
                match msg["Type"].as_str() {
                    Some("SubscriptionConfirmation") => {
                        if let Some(u) = msg["SubscribeURL"].as_str() {
                            if reqwest::blocking::get(u).map(|r| r.status().is_success()).unwrap_or(false) {
                                *c.lock().unwrap() = true;
                            }
                        }
                    }
                    Some("Notification") => n.lock().unwrap().push(msg),
                    _ => {}
                }
            }
        });
        Subscriber { url, confirmed, notifications }
    }
}

#[test]
fn an_alert_fires_on_localstack_reaches_the_route_and_is_read_back() {
    let started = Instant::now();
    let ls = watchkeep_tests::aws::localstack::LocalStack::start().unwrap_or_else(|why| {
        panic!("LocalStack could not start, so the end-to-end alert test cannot run (it must not pass silently): {why}")
    });
    let endpoint = ls.endpoint_url();
    let sub = Subscriber::start();
    let ws = Workspace::new("cw-alert")
        .env("WATCHKEEP_VAR_endpoint", &endpoint)
        .env("WATCHKEEP_VAR_hook", &sub.url);
    ws.write(
        "main.hcl",
        r#"
variable "endpoint" { type = string }
variable "hook" { sensitive = true }

provider "cloudwatch" {
  region       = "us-east-1"
  endpoint_url = var.endpoint
}

component "orders-queue" {
  kind       = "custom"
  provider   = "cloudwatch"
  identifier = { QueueName = "orders" }
}

metric "depth" {
  unit = "messages"
  cloudwatch {
    namespace   = "Watchkeep/E2E"
    metric_name = "QueueDepth"
    statistic   = "Maximum"
  }
}

route "ops" {
  webhook { url = var.hook }
}

alert "deep" {
  metric = metric.depth
  above  = 50
  for    = "10s"
  route  = route.ops
}
"#,
    );
    ws.run(&["apply", "-auto-approve"]).expect_code(0);
    ws.run(&["plan", "-detailed-exitcode"]).expect_code(0);
    let alarm = ws.state_resource(r#"alert.deep["orders-queue"]"#)["id"].as_str().unwrap().to_string();

    let deadline = Instant::now() + Duration::from_secs(30);
    while !*sub.confirmed.lock().unwrap() {
        assert!(Instant::now() < deadline, "LocalStack never asked the subscriber to confirm");
        std::thread::sleep(Duration::from_millis(200));
    }

    let put_depth = |value: f64| {
        let (status, body) = aws_query(
            &endpoint,
            "us-east-1",
            "monitoring",
            "PutMetricData",
            &json!({"Namespace": "Watchkeep/E2E", "MetricData": [{
                "MetricName": "QueueDepth", "Value": value,
                "Dimensions": [{"Name": "QueueName", "Value": "orders"}],
            }]}),
        );
        assert_eq!(status, 200, "{body}");
    };
    // Push the queue depth above the threshold until the alarm fires and SNS delivers it.
    let deadline = Instant::now() + Duration::from_secs(120);
    let fired = loop {
        put_depth(90.0);
        let hit = sub.notifications.lock().unwrap().iter().find_map(|n| {
            let m: Value = serde_json::from_str(n["Message"].as_str()?).ok()?;
            (m["AlarmName"] == alarm.as_str() && m["NewStateValue"] == "ALARM").then_some(m)
        });
        if let Some(m) = hit {
            break m;
        }
        assert!(Instant::now() < deadline, "no ALARM notification reached the subscriber within 120 s");
        std::thread::sleep(Duration::from_secs(2));
    };
    assert_eq!(fired["Trigger"]["MetricName"], "QueueDepth", "{fired}");

    // The alert log reads the transition back from DescribeAlarmHistory.
    let log = ws.run(&["alerts", "--json"]);
    log.expect_code(0);
    let v = log.json();
    assert_matches_schema("alerts.schema.json", &v);
    let events = v["events"].as_array().cloned().unwrap_or_default();
    assert!(
        events.iter().any(|e| e["address"] == r#"alert.deep["orders-queue"]"# && e["to"] == "ALARM"),
        "{v:#}"
    );
    let human = ws.run(&["alerts", "--since", "1h"]);
    human.expect_code(0);
    assert!(human.stdout().contains("ALARM"), "{}", human.stdout());

    // The queue drains: the alarm resolves, and the evidence bundle's alert log pairs the trigger
    // with its resolution, with the note the on-call engineer left.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        put_depth(3.0);
        let resolved = sub.notifications.lock().unwrap().iter().any(|n| {
            serde_json::from_str::<Value>(n["Message"].as_str().unwrap_or("{}"))
                .is_ok_and(|m| m["AlarmName"] == alarm.as_str() && m["NewStateValue"] == "OK")
        });
        if resolved {
            break;
        }
        assert!(Instant::now() < deadline, "the alarm did not return to OK within 120 s");
        std::thread::sleep(Duration::from_secs(2));
    }
    ws.run(&["alerts", "note", r#"alert.deep["orders-queue"]"#, "Scaled the consumers from 2 to 6"])
        .expect_code(0);
    // The last two hours, not "today": LocalStack's DescribeAlarmHistory fails with HTTP 500 ("can't
    // compare offset-naive and offset-aware datetimes") when StartDate is a whole second, as
    // midnight is; a relative start keeps its fraction. Real CloudWatch takes either.
    let out = ws.path().join("evidence");
    let ev = ws.run(&["evidence", "--from", "2h", "--out", out.to_str().unwrap(), "--json"]);
    // No dashboard here (exit 2: "no managed dashboard to picture"); the alert log is what is tested.
    ev.expect_code(2);
    let v = ev.json();
    let problems: Vec<String> =
        v["problems"].as_array().into_iter().flatten().map(|p| p["message"].to_string()).collect();
    assert!(problems.iter().all(|p| !p.contains("alert history")), "{problems:?}");
    let log: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("alert-log.json")).unwrap()).unwrap();
    let incident = log["incidents"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|i| i["address"] == r#"alert.deep["orders-queue"]"# && i["resolved_at"].is_string())
        .unwrap_or_else(|| panic!("no resolved CloudWatch incident in the alert log: {log:#}"));
    assert_eq!(incident["trigger_state"], "ALARM", "{incident:#}");
    assert!(incident["triggered_at"].is_string(), "{incident:#}");
    assert_eq!(incident["resolve_state"], "OK", "{incident:#}");
    assert_eq!(incident["notes"][0]["text"], "Scaled the consumers from 2 to 6", "{incident:#}");

    assert!(!ws.all_written_text().contains(&sub.url), "the subscriber URL (a secret) leaked");
    eprintln!("end-to-end alert on LocalStack took {:.1} s", started.elapsed().as_secs_f64());
    drop(ls);
}
