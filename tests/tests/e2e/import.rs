//! `watchkeep import`: hand-made vendor objects adopted in bulk. The generated HCL validates, the
//! next plan is empty, the objects carry this state's marker, a second import takes nothing, and
//! objects owned by another state are refused, naming it.

use std::time::Instant;

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::Workspace;

const PROVIDER: &str = "variable \"datadog_api_url\" { type = string }\nprovider \"datadog\" {\n  api_url = var.datadog_api_url\n}\n";

/// Another state's owner id (12 hex digits), as `watchkeep_provider::owner_id` gives.
const OTHER_OWNER: &str = "0123456789ab";

/// One of 500 hand-made monitors: metric alerts with thresholds and messages holding Datadog's
/// `{{#is_alert}}`, HCL-like `${…}`/`%{…}` text and unicode; service checks; with and without
/// tags, priorities and renotify options.
fn hand_made(i: usize) -> Value {
    let mut m = if i.is_multiple_of(5) {
        json!({
            "name": format!("agent up on h{i}"),
            "type": "service check",
            "query": format!("\"datadog.agent.up\".over(\"host:h{i}\").by(\"host\").last(2).count_by_status()"),
            "message": format!("Agent on h{i} is down @ops@example.com"),
            "options": {"thresholds": {"critical": 1, "ok": 1}},
        })
    } else {
        json!({
            "name": format!("cpu {i} on h{i} — ünïcode ✓"),
            "type": "metric alert",
            "query": format!("avg(last_5m):avg:system.cpu.user{{host:h{i}}} > 90"),
            "message": format!(
                "{{{{#is_alert}}}}CPU is ${{high}} on h{i} (100%{{x}}) ✓{{{{/is_alert}}}}\n{{{{#is_recovery}}}}ok{{{{/is_recovery}}}}\n@ops@example.com\n"
            ),
            "options": {"thresholds": {"critical": 90, "warning": 80}},
        })
    };
    if i.is_multiple_of(3) {
        m["tags"] = json!([format!("team:{}", if i.is_multiple_of(2) { "web" } else { "db" }), "env:prod"]);
    }
    if i.is_multiple_of(4) {
        m["priority"] = json!(1 + (i % 5));
    }
    if i.is_multiple_of(7) {
        m["options"]["renotify_interval"] = json!(60);
        m["options"]["notify_no_data"] = json!(true);
        m["options"]["no_data_timeframe"] = json!(20);
    }
    m
}

fn create(ws: &Workspace, body: Value) -> String {
    let (status, created) = ws.vendor(Method::POST, "/api/v1/monitor", Some(body.clone()));
    assert_eq!(status, 200, "create {body}: {created}");
    created["id"].to_string()
}

#[test]
fn five_hundred_hand_made_datadog_monitors_are_imported_and_the_next_plan_is_empty() {
    let ws = Workspace::new("import500");
    ws.write("main.hcl", PROVIDER);
    let mut ids = Vec::new();
    for i in 0..500 {
        ids.push(create(&ws, hand_made(i)));
    }
    let composite = create(
        &ws,
        json!({"name": "both cpus", "type": "composite", "query": format!("{} && {}", ids[1], ids[2]),
               "message": "both @ops@example.com"}),
    );
    // Marked by another state, and by watchkeep before ownership per state.
    let mut theirs = hand_made(1);
    theirs["name"] = json!("their monitor");
    theirs["tags"] = json!([
        "managed-by:watchkeep",
        format!("watchkeep-address:{OTHER_OWNER}:resource.datadog_monitor.theirs")
    ]);
    let theirs = create(&ws, theirs);
    let mut legacy = hand_made(2);
    legacy["name"] = json!("legacy monitor");
    legacy["tags"] =
        json!(["managed-by:watchkeep", "watchkeep-address:resource.datadog_monitor.legacy", "team:web"]);
    let legacy = create(&ws, legacy);
    let before = ws.monitors();

    // A dry run lists and shows, and writes nothing anywhere.
    let dry = ws.run(&["import", "--dry-run", "--json"]);
    dry.expect_code(2);
    let d = dry.json();
    crate::support::assert_matches_schema("import.schema.json", &d);
    assert_eq!(d["imported"].as_array().map(Vec::len), Some(502), "{}", dry.stderr());
    assert_eq!(d["refused"][0]["id"], theirs);
    assert_eq!(d["refused"][0]["owner"], OTHER_OWNER);
    assert!(d["refused"][0]["reason"]
        .as_str()
        .unwrap_or_default()
        .contains("resource.datadog_monitor.theirs"));
    assert_eq!(d["plan"]["update"], 502);
    assert!(d["hcl"].as_str().unwrap_or_default().contains("$${high}"));
    assert!(!ws.path().join("imported.hcl").exists());
    assert!(!ws.path().join(".watchkeep").exists());
    assert_eq!(ws.monitors(), before);

    // Filters select exactly what they should.
    let untagged =
        ws.run(&["import", "--dry-run", "--json", "--type", "datadog_downtime", "--tag", "team:web"]);
    assert!(
        untagged.json()["notes"][0]
            .as_str()
            .is_some_and(|n| n.contains("datadog_downtime objects carry no tags")),
        "{}",
        untagged.stdout()
    );
    let tagged = ws.run(&["import", "--dry-run", "--json", "--tag", "team:web", "--tag", "env:prod"]);
    let want = (0..500usize).filter(|i| i.is_multiple_of(3) && i.is_multiple_of(2)).count();
    assert_eq!(tagged.json()["imported"].as_array().map(Vec::len), Some(want));
    let named = ws.run(&["import", "--dry-run", "--json", "--name", "^cpu 1[0-9] on"]);
    let got: Vec<String> = named.json()["imported"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|o| o["name"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(got.len(), (10..20usize).filter(|i| !i.is_multiple_of(5)).count(), "{got:?}");
    let by_id = ws.run(&["import", "--dry-run", "--json", "--id", &ids[7], "--id", &legacy]);
    let by_id = by_id.json();
    let mut got: Vec<&str> =
        by_id["imported"].as_array().into_iter().flatten().filter_map(|o| o["id"].as_str()).collect();
    got.sort();
    let mut want = vec![ids[7].as_str(), legacy.as_str()];
    want.sort();
    assert_eq!(got, want);
    let legacy_entry =
        by_id["imported"].as_array().into_iter().flatten().find(|o| o["id"] == legacy.as_str());
    assert!(legacy_entry.is_some_and(|o| o["note"].as_str().is_some_and(|n| n.contains("before ownership"))));

    // People read the dry run: the HCL, what would be imported, the plan summary.
    let human = ws.run(&["import", "--dry-run", "--id", &ids[7]]);
    human.expect_code(0);
    let text = human.stdout();
    assert!(
        text.contains("(not written: --dry-run)") && text.contains("resource \"datadog_monitor\""),
        "{text}"
    );
    assert!(text.contains("Would import 1 object(s):") && text.contains("Plan: 1 to adopt"), "{text}");

    // The import itself.
    let t = Instant::now();
    let run = ws.run(&["import", "--json"]);
    let took = t.elapsed();
    run.expect_code(2);
    let out = run.json();
    assert_eq!(out["outcome"], "imported", "{}", run.stderr());
    assert_eq!(out["imported"].as_array().map(Vec::len), Some(502));
    eprintln!(
        "figure: import of 502 Datadog monitors (500 hand-made + composite + legacy) took {:.2}s, {} vendor API calls, {} bytes of HCL",
        took.as_secs_f64(),
        out["stats"]["api_calls"],
        out["hcl"].as_str().map(str::len).unwrap_or_default()
    );
    let hcl = std::fs::read_to_string(ws.path().join("imported.hcl")).expect("imported.hcl written");
    assert!(hcl.contains("{{#is_alert}}CPU is $${high}"), "escaping");
    assert!(hcl.contains("(100%%{x})"), "escaping");
    let both = out["imported"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|o| o["id"] == composite.as_str())
        .expect("composite");
    assert!(both["address"].as_str().is_some());
    let query_line = hcl.lines().find(|l| l.contains("&& ${datadog_monitor.")).unwrap_or_default();
    assert!(
        query_line.trim_start().starts_with("query") && query_line.contains("\"${datadog_monitor."),
        "the composite names imported monitors by reference:\n{hcl}"
    );
    ws.run(&["validate"]).expect_code(0);
    ws.run(&["plan", "-detailed-exitcode"]).expect_code(0);
    ws.run(&["fmt", "-check"]).expect_code(0);

    // Every imported monitor carries this state's marker; the other state's is untouched.
    let lineage = ws.state()["lineage"].as_str().expect("lineage").to_string();
    let owner = watchkeep_provider::owner_id(&lineage);
    let live = ws.monitors();
    for m in &live {
        let tags: Vec<&str> = m["tags"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        if m["id"] == theirs.parse::<u64>().expect("numeric id") {
            assert!(tags.iter().any(|t| t.contains(OTHER_OWNER)), "{tags:?}");
            continue;
        }
        assert!(
            tags.iter().any(|t| t.starts_with(&format!("watchkeep-address:{owner}:"))),
            "monitor {} not marked: {tags:?}",
            m["id"]
        );
    }
    assert_eq!(ws.state()["resources"].as_array().map(Vec::len), Some(502));
    let history = ws.run(&["history", "--json"]);
    assert_eq!(history.json()[0]["operation"], "import");

    // A second import of the same filter imports nothing (and writes no file).
    let again = ws.run(&["import", "--json", "--out", "again.hcl"]);
    again.expect_code(2);
    let a = again.json();
    assert_eq!(a["imported"].as_array().map(Vec::len), Some(0));
    assert_eq!(a["outcome"], "nothing-to-import");
    assert!(a["skipped"]
        .as_array()
        .into_iter()
        .flatten()
        .all(|s| s["reason"].as_str().unwrap_or_default().starts_with("already in this state")));
    assert!(!ws.path().join("again.hcl").exists());
    // The file is never overwritten.
    let clash = ws.run(&["import"]);
    clash.expect_code(1);
    assert!(clash.stderr().contains("already exists"), "{}", clash.stderr());
}

fn xml_field(xml: &str, tag: &str) -> String {
    xml.split(&format!("<{tag}>"))
        .nth(1)
        .and_then(|s| s.split(&format!("</{tag}>")).next())
        .unwrap_or_else(|| panic!("no <{tag}> in {xml}"))
        .to_string()
}

/// CloudWatch on moto: metric alarms (acting on an SNS topic), a topic with
/// an email subscription, a dashboard, all made through the AWS Query API by hand.
#[test]
fn a_mixed_cloudwatch_account_is_imported_and_the_next_plan_is_empty() {
    use crate::support::{aws_query, moto};
    let region = "af-south-1";
    let endpoint = moto().endpoint_url();
    let q = |service: &str, action: &str, params: Value| {
        let (status, xml) = aws_query(&endpoint, region, service, action, &params);
        assert_eq!(status, 200, "{action}: {xml}");
        xml
    };
    let topic = xml_field(&q("sns", "CreateTopic", json!({"Name": "imp-ops"})), "TopicArn");
    q("sns", "Subscribe", json!({"TopicArn": topic, "Protocol": "email", "Endpoint": "ops@example.com"}));
    for (name, threshold) in [("imp-cpu-web-1", 85), ("imp-cpu-web-2", 90)] {
        q(
            "monitoring",
            "PutMetricAlarm",
            json!({
                "AlarmName": name, "AlarmDescription": "CPU ${high} 100%{x} ✓\nsecond line",
                "Namespace": "AWS/EC2", "MetricName": "CPUUtilization",
                "Dimensions": [{"Name": "InstanceId", "Value": format!("i-{name}")}],
                "Statistic": "Average", "Period": 300, "EvaluationPeriods": 3, "Threshold": threshold,
                "ComparisonOperator": "GreaterThanThreshold", "AlarmActions": [topic],
            }),
        );
    }
    // No composite alarm: moto 5 serves no PutCompositeAlarm action (500; its responses.py makes
    // composites only through PutMetricAlarm with an AlarmRule), which the provider's update calls.
    // Marked by watchkeep before ownership per state: importable, its old marker not written.
    q(
        "monitoring",
        "PutMetricAlarm",
        json!({
            "AlarmName": "imp-legacy",
            "AlarmDescription": "legacy\nmanaged-by:watchkeep watchkeep-address:cloudwatch_metric_alarm.legacy",
            "Namespace": "AWS/EC2", "MetricName": "CPUUtilization", "Statistic": "Average", "Period": 300,
            "EvaluationPeriods": 1, "Threshold": 98, "ComparisonOperator": "GreaterThanThreshold",
        }),
    );
    // Another state's alarm: its marker line names that state's owner id.
    q(
        "monitoring",
        "PutMetricAlarm",
        json!({
            "AlarmName": "imp-theirs",
            "AlarmDescription": format!("theirs\nmanaged-by:watchkeep watchkeep-address:{OTHER_OWNER}:cloudwatch_metric_alarm.theirs"),
            "Namespace": "AWS/EC2", "MetricName": "CPUUtilization", "Statistic": "Average", "Period": 300,
            "EvaluationPeriods": 1, "Threshold": 99, "ComparisonOperator": "GreaterThanThreshold",
        }),
    );
    let body = json!({"widgets": [{"type": "text", "x": 0, "y": 0, "width": 6, "height": 3,
                                   "properties": {"markdown": "# ops"}}]});
    q("monitoring", "PutDashboard", json!({"DashboardName": "imp-ops", "DashboardBody": body.to_string()}));

    let ws = Workspace::new("import-cw").env("WATCHKEEP_VAR_endpoint", &endpoint);
    ws.write(
        "main.hcl",
        &format!(
            "variable \"endpoint\" {{ type = string }}\nprovider \"cloudwatch\" {{\n  region       = \"{region}\"\n  endpoint_url = var.endpoint\n}}\n"
        ),
    );
    let dry = ws.run(&["import", "--dry-run", "--json"]);
    dry.expect_code(2);
    assert!(!ws.path().join("imported.hcl").exists());
    assert!(!ws.path().join(".watchkeep").exists());
    let run = ws.run(&["import", "--json"]);
    run.expect_code(2);
    let out = run.json();
    assert_eq!(out["refused"][0]["id"], "imp-theirs", "{out:#}");
    assert_eq!(out["refused"][0]["owner"], OTHER_OWNER);
    let theirs = q("monitoring", "DescribeAlarms", json!({"AlarmNames": ["imp-theirs"]}));
    assert!(theirs.contains(&format!("watchkeep-address:{OTHER_OWNER}:")), "never changed: {theirs}");
    let types: Vec<&str> = imported(&out, "resource_type");
    for t in ["cloudwatch_metric_alarm", "sns_topic", "sns_subscription", "cloudwatch_dashboard"] {
        assert!(types.contains(&t), "{t} not imported: {out:#}\n{}", run.stderr());
    }
    let hcl = std::fs::read_to_string(ws.path().join("imported.hcl")).expect("imported.hcl");
    assert!(hcl.contains("\"sns:imp-ops\""), "actions name the imported topic:\n{hcl}");
    let legacy = out["imported"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|o| o["id"] == "imp-legacy")
        .expect("legacy imported");
    assert!(legacy["note"].as_str().is_some_and(|n| n.contains("before ownership per state")), "{legacy}");
    assert!(
        !hcl.contains("watchkeep-address:cloudwatch_metric_alarm.legacy"),
        "the old marker is not configuration:\n{hcl}"
    );
    ws.run(&["validate"]).expect_code(0);
    ws.run(&["plan", "-detailed-exitcode"]).expect_code(0);
    // The objects now carry the ownership marker: the alarms' description line, the topic's tags.
    let alarms = q("monitoring", "DescribeAlarms", json!({"AlarmNames": ["imp-cpu-web-1"]}));
    let owner = watchkeep_provider::owner_id(ws.state()["lineage"].as_str().expect("lineage"));
    assert!(alarms.contains(&format!("managed-by:watchkeep watchkeep-address:{owner}:")), "{alarms}");
    assert!(alarms.contains("CPU ${high} 100%{x} ✓"), "the user's description is kept: {alarms}");
    let tags = q("sns", "ListTagsForResource", json!({"ResourceArn": topic}));
    assert!(tags.contains("<Key>watchkeep-address</Key>"), "{tags}");
    let again = ws.run(&["import", "--json", "--out", "again.hcl"]);
    again.expect_code(2);
    assert_eq!(again.json()["imported"].as_array().map(Vec::len), Some(0));
}

/// A NerdGraph request made by hand, as a person using the API explorer would.
fn nerdgraph(key: &str, query: &str, variables: Value) -> Value {
    let resp = reqwest::blocking::Client::new()
        .post(crate::support::newrelic().graphql_url())
        .header("API-Key", key)
        .json(&json!({"query": query, "variables": variables}))
        .send()
        .expect("NerdGraph request");
    let body: Value = resp.json().expect("NerdGraph JSON");
    assert!(body.get("errors").is_none_or(Value::is_null), "{query}: {body:#}");
    body["data"].clone()
}

/// New Relic on the NerdGraph stand-in: a policy with NRQL conditions, a destination, a channel,
/// a workflow routing the policy's issues to the channel, and a dashboard, all made by hand.
#[test]
fn a_mixed_new_relic_account_is_imported_and_the_next_plan_is_empty() {
    let (ws, key) = Workspace::on_newrelic("import-nr");
    let account: i64 = crate::support::newrelic().account_id(&key);
    let policy = nerdgraph(
        &key,
        "mutation($a: Int!, $p: AlertsPolicyInput!) { alertsPolicyCreate(accountId: $a, policy: $p) { id } }",
        json!({"a": account, "p": {"name": "Checkout ${team}", "incidentPreference": "PER_CONDITION"}}),
    )["alertsPolicyCreate"]["id"]
        .as_str()
        .expect("policy id")
        .to_string();
    for (name, threshold) in [("p99 latency", 2.5), ("error rate %{x}", 5.0)] {
        nerdgraph(
            &key,
            "mutation($a: Int!, $p: ID!, $c: AlertsNrqlConditionStaticInput!) { alertsNrqlConditionStaticCreate(accountId: $a, policyId: $p, condition: $c) { id } }",
            json!({"a": account, "p": policy, "c": {
                "name": name, "enabled": true, "description": "hand made ✓\nsecond line\n",
                "nrql": {"query": "SELECT percentile(duration, 99) FROM Transaction WHERE appName = 'checkout'"},
                "terms": [{"priority": "CRITICAL", "operator": "ABOVE", "threshold": threshold,
                           "thresholdDuration": 300, "thresholdOccurrences": "ALL"}],
                "signal": {"aggregationWindow": 60}}}),
        );
    }
    let destination = nerdgraph(
        &key,
        "mutation($a: Int!, $d: AiNotificationsDestinationInput!) { aiNotificationsCreateDestination(accountId: $a, destination: $d) { destination { id } } }",
        json!({"a": account, "d": {"name": "Checkout relay", "type": "WEBHOOK",
               "properties": [{"key": "url", "value": "https://hooks.example.com/checkout"}]}}),
    )["aiNotificationsCreateDestination"]["destination"]["id"]
        .as_str()
        .expect("destination id")
        .to_string();
    let channel = nerdgraph(
        &key,
        "mutation($a: Int!, $c: AiNotificationsChannelInput!) { aiNotificationsCreateChannel(accountId: $a, channel: $c) { channel { id } } }",
        json!({"a": account, "c": {"name": "Checkout relay", "type": "WEBHOOK", "product": "IINT",
               "destinationId": destination,
               "properties": [{"key": "payload", "value": "{\"issue\": {{ json issueTitle }}}"}]}}),
    )["aiNotificationsCreateChannel"]["channel"]["id"]
        .as_str()
        .expect("channel id")
        .to_string();
    nerdgraph(
        &key,
        "mutation($a: Int!, $w: AiWorkflowsCreateWorkflowInput!) { aiWorkflowsCreateWorkflow(accountId: $a, createWorkflowData: $w) { workflow { id } errors { type description } } }",
        json!({"a": account, "w": {"name": "Checkout", "workflowEnabled": true, "mutingRulesHandling": "NOTIFY_ALL_ISSUES",
               "issuesFilter": {"name": "checkout", "type": "FILTER",
                                "predicates": [{"attribute": "labels.policyIds", "operator": "EXACTLY_MATCHES", "values": [policy]}]},
               "destinationConfigurations": [{"channelId": channel}]}}),
    );
    nerdgraph(
        &key,
        "mutation($a: Int!, $d: DashboardInput!) { dashboardCreate(accountId: $a, dashboard: $d) { entityResult { guid } errors { type description } } }",
        json!({"a": account, "d": {"name": "Checkout", "permissions": "PUBLIC_READ_WRITE",
               "pages": [{"name": "Overview", "widgets": [{"title": "Throughput",
                   "visualization": {"id": "viz.line"},
                   "layout": {"column": 1, "row": 1, "width": 4, "height": 3},
                   "rawConfiguration": {"nrqlQueries": [{"accountIds": [account], "query": "SELECT count(*) FROM Transaction TIMESERIES"}]}}]}]}}),
    );

    ws.write(
        "main.hcl",
        "variable \"newrelic_url\" { type = string }\nprovider \"newrelic\" { api_url = var.newrelic_url }\n",
    );
    let dry = ws.run(&["import", "--dry-run", "--json"]);
    dry.expect_code(0);
    assert!(!ws.path().join("imported.hcl").exists());
    assert!(!ws.path().join(".watchkeep").exists());
    let run = ws.run(&["import", "--json"]);
    run.expect_code(0);
    let out = run.json();
    let types: Vec<&str> = imported(&out, "resource_type");
    for t in [
        "newrelic_alert_policy",
        "newrelic_nrql_condition",
        "newrelic_notification_destination",
        "newrelic_notification_channel",
        "newrelic_workflow",
        "newrelic_dashboard",
    ] {
        assert!(types.contains(&t), "{t} not imported: {out:#}\n{}", run.stderr());
    }
    let hcl = std::fs::read_to_string(ws.path().join("imported.hcl")).expect("imported.hcl");
    assert!(hcl.contains("policyId = newrelic_alert_policy."), "conditions link their policy:\n{hcl}");
    assert!(
        hcl.contains("channelId = newrelic_notification_channel."),
        "the workflow links its channel:\n{hcl}"
    );
    assert!(
        hcl.contains("destinationId = newrelic_notification_destination."),
        "the channel links its destination:\n{hcl}"
    );
    assert!(
        hcl.contains("= [newrelic_alert_policy.checkout_team.id]"),
        "the workflow's filter links the policy:\n{hcl}"
    );
    if std::env::var_os("WATCHKEEP_SHOW_IMPORT").is_some() {
        eprintln!("{hcl}");
    }
    ws.run(&["validate"]).expect_code(0);
    ws.run(&["plan", "-detailed-exitcode"]).expect_code(0);
    // The objects now carry this state's marker (New Relic: the policy's name suffix, a last
    // description line on conditions).
    let nr = crate::support::newrelic();
    let conditions = nr.objects(&key, watchkeep_tests::newrelic::ObjectKind::NrqlCondition);
    assert_eq!(conditions.len(), 2);
    for c in &conditions {
        assert!(c["description"].as_str().unwrap_or_default().contains("watchkeep"), "{c:#}");
        assert!(
            c["description"].as_str().unwrap_or_default().starts_with("hand made ✓\nsecond line"),
            "{c:#}"
        );
    }
    let again = ws.run(&["import", "--json", "--out", "again.hcl"]);
    again.expect_code(0);
    assert_eq!(again.json()["imported"].as_array().map(Vec::len), Some(0));
}

/// Lifting: a monitor that is exactly what an `alert` block of the configuration compiles to (here
/// one watchkeep made for another state, whose marker was removed) is written as that block; one
/// edited by hand since is written as a raw resource. Either way the next plan is empty.
#[test]
fn a_monitor_the_compiler_would_make_is_lifted_to_an_alert_block() {
    let base = r#"
variable "datadog_api_url" { type = string }
provider "datadog" { api_url = var.datadog_api_url }
inventory "prod" {
  reviewed_on = "2026-11-01"
  reviewed_by = "lead@example.com"
}
component "web-1" {
  inventory  = inventory.prod
  kind       = "server"
  provider   = "datadog"
  identifier = { host = "web-1" }
}
"#;
    let a = Workspace::new("import-lift-a");
    a.write(
        "main.hcl",
        &format!(
            "{base}\nalert \"cpu_high\" {{\n  components = [component.web-1]\n  metric     = \"cpu\"\n  above      = 90\n  warning    = 80\n  for        = \"10m\"\n  severity   = \"high\"\n  runbook    = \"https://wiki.example.com/cpu\"\n}}\nalert \"cpu_tweaked\" {{\n  components = [component.web-1]\n  metric     = \"cpu\"\n  above      = 95\n  for        = \"5m\"\n  severity   = \"critical\"\n}}\n"
        ),
    );
    a.run(&["apply", "-auto-approve"]).expect_code(0);
    // Forgotten by that state: its markers removed; one of them edited by hand since.
    for m in a.monitors() {
        let id = m["id"].to_string();
        let tags: Vec<Value> = m["tags"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|t| {
                t.as_str()
                    .is_some_and(|t| !t.starts_with("managed-by:") && !t.starts_with("watchkeep-address:"))
            })
            .cloned()
            .collect();
        let mut change = json!({"tags": tags});
        if m["name"].as_str().unwrap_or_default().contains("95")
            || m["query"].as_str().unwrap_or_default().contains("last_5m")
        {
            change["options"] = m["options"].clone();
            change["options"]["renotify_interval"] = json!(30);
        }
        let (status, body) = a.vendor(Method::PUT, &format!("/api/v1/monitor/{id}"), Some(change));
        assert_eq!(status, 200, "{body}");
    }
    let mut b = Workspace::new("import-lift-b");
    b.api_key = a.api_key.clone();
    b.write("main.hcl", base);
    let run = b.run(&["import", "--json"]);
    run.expect_code(0);
    let out = run.json();
    let addresses: Vec<&str> = imported(&out, "address");
    assert_eq!(addresses.len(), 2, "{out:#}");
    assert!(addresses.iter().any(|a| a.starts_with("alert.cpu_high[")), "{addresses:?}");
    assert!(
        addresses.iter().any(|a| a.starts_with("datadog_monitor.")),
        "the edited one stays raw: {addresses:?}"
    );
    let hcl = std::fs::read_to_string(b.path().join("imported.hcl")).expect("imported.hcl");
    assert!(hcl.contains("alert \"cpu_high\" {"), "{hcl}");
    assert!(
        hcl.lines()
            .any(|l| l.trim_start().starts_with("renotify_interval") && l.trim_end().ends_with("= 30")),
        "{hcl}"
    );
    b.run(&["validate"]).expect_code(0);
    b.run(&["plan", "-detailed-exitcode"]).expect_code(0);
}

/// Lifting on CloudWatch (moto): an alarm a `cpu` alert compiled to, no longer marked, is written
/// as that alert block; the next plan is empty.
#[test]
fn a_cloudwatch_alarm_the_compiler_would_make_is_lifted_to_an_alert_block() {
    use crate::support::{aws_query, moto};
    let region = "eu-south-1";
    let endpoint = moto().endpoint_url();
    let base = format!(
        r#"
variable "endpoint" {{ type = string }}
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
  identifier = {{ InstanceId = "i-0lift" }}
}}
"#
    );
    let a = Workspace::new("import-cw-lift-a").env("WATCHKEEP_VAR_endpoint", &endpoint);
    a.write(
        "main.hcl",
        &format!("{base}\nalert \"cpu_high\" {{\n  components = [component.web-1]\n  metric     = \"cpu\"\n  above      = 90\n  for        = \"10m\"\n  severity   = \"high\"\n}}\n"),
    );
    a.run(&["apply", "-auto-approve"]).expect_code(0);
    let q = |action: &str, params: Value| {
        let (status, xml) = aws_query(&endpoint, region, "monitoring", action, &params);
        assert_eq!(status, 200, "{action}: {xml}");
        xml
    };
    // Forgotten by that state: the alarm put again as it is, without the marker line.
    let xml = q("DescribeAlarms", json!({}));
    let alarm_name = xml_field(&xml, "AlarmName");
    let unescape = |s: String| {
        s.replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&")
    };
    let desc = unescape(xml_field(&xml, "AlarmDescription"));
    let kept: Vec<&str> = desc.lines().filter(|l| !l.starts_with("managed-by:watchkeep")).collect();
    let dims = xml_field(&xml, "Dimensions");
    q(
        "PutMetricAlarm",
        json!({
            "AlarmName": alarm_name, "AlarmDescription": kept.join("\n"),
            "Namespace": xml_field(&xml, "Namespace"), "MetricName": xml_field(&xml, "MetricName"),
            "Statistic": xml_field(&xml, "Statistic"),
            "Dimensions": [{"Name": xml_field(&dims, "Name"), "Value": xml_field(&dims, "Value")}],
            "Period": xml_field(&xml, "Period"), "EvaluationPeriods": xml_field(&xml, "EvaluationPeriods"),
            "DatapointsToAlarm": xml_field(&xml, "DatapointsToAlarm"),
            "Threshold": xml_field(&xml, "Threshold"), "ComparisonOperator": xml_field(&xml, "ComparisonOperator"),
            "TreatMissingData": xml_field(&xml, "TreatMissingData"),
        }),
    );
    let b = Workspace::new("import-cw-lift-b").env("WATCHKEEP_VAR_endpoint", &endpoint);
    b.write("main.hcl", &base);
    let run = b.run(&["import", "--json", "--type", "cloudwatch_metric_alarm"]);
    run.expect_code(0);
    let out = run.json();
    let addresses: Vec<&str> = imported(&out, "address");
    assert_eq!(addresses, [r#"alert.cpu_high["web-1"]"#], "{out:#}\n{}", run.stderr());
    b.run(&["validate"]).expect_code(0);
    b.run(&["plan", "-detailed-exitcode"]).expect_code(0);
}

/// A hand-made Datadog dashboard and downtime come back as raw blocks too, and the next plan is
/// empty.
#[test]
fn datadog_dashboards_and_downtimes_are_imported() {
    let ws = Workspace::new("import-dd-dash");
    ws.write("main.hcl", PROVIDER);
    let (status, body) = ws.vendor(
        Method::POST,
        "/api/v1/dashboard",
        Some(json!({
            "title": "Web ${tier}", "layout_type": "ordered", "description": "hand made\nfor web\n",
            "widgets": [{"definition": {"type": "timeseries", "title": "CPU",
                "requests": [{"q": "avg:system.cpu.user{host:web-1}", "display_type": "line"}]}}],
        })),
    );
    assert_eq!(status, 200, "{body}");
    let monitor = create(&ws, hand_made(3));
    let (status, body) = ws.vendor(
        Method::POST,
        "/api/v2/downtime",
        Some(json!({"data": {"type": "downtime", "attributes": {
            "scope": "host:web-1", "message": "patching web-1",
            "monitor_identifier": {"monitor_id": monitor.parse::<u64>().unwrap_or(0)}}}})),
    );
    assert_eq!(status, 200, "{body}");
    let run = ws.run(&["import", "--json"]);
    run.expect_code(0);
    let out = run.json();
    let types: Vec<&str> = imported(&out, "resource_type");
    assert!(types.contains(&"datadog_dashboard") && types.contains(&"datadog_downtime"), "{out:#}");
    ws.run(&["validate"]).expect_code(0);
    ws.run(&["plan", "-detailed-exitcode"]).expect_code(0);
}

/// One field (`resource_type`, `address`, `id`) of every object an `import --json` imported.
fn imported<'v>(out: &'v Value, field: &str) -> Vec<&'v str> {
    out["imported"].as_array().into_iter().flatten().filter_map(|o| o[field].as_str()).collect()
}
