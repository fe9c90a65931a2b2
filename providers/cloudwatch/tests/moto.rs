//! The provider against moto (`moto_server`): every resource type end to end, plus name
//! collisions with objects made directly with the SDK. One moto server serves this whole test
//! binary; tests keep apart by unique names and regions.
//!
//! Moto does not implement PutCompositeAlarm, DescribeAlarmHistory or GetMetricWidgetImage and
//! ignores DescribeAlarms' paging: those are covered in `standin.rs`.

mod common;

use std::sync::OnceLock;

use aws_sdk_cloudwatch::types::{ComparisonOperator, Statistic};
use common::{assert_no_diff, cw_client, find, marked, provider, sns_client};
use serde_json::{json, Value};
use watchkeep_cloudwatch::CloudWatchProvider;
use watchkeep_provider::{Provider, ProviderError};
use watchkeep_tests::aws::MotoServer;

const ALARM: &str = "cloudwatch_metric_alarm";
const DASHBOARD: &str = "cloudwatch_dashboard";
const TOPIC: &str = "sns_topic";
const SUBSCRIPTION: &str = "sns_subscription";

fn moto() -> &'static MotoServer {
    static MOTO: OnceLock<MotoServer> = OnceLock::new();
    MOTO.get_or_init(MotoServer::start)
}

fn p(region: &str) -> CloudWatchProvider {
    provider(&moto().endpoint_url(), region)
}

fn cpu_alarm(name: &str) -> Value {
    json!({
        "AlarmName": name,
        "AlarmDescription": "CPU above 85 % on the web tier",
        "Namespace": "AWS/EC2",
        "MetricName": "CPUUtilization",
        "Statistic": "Average",
        // Unsorted on purpose: AWS keeps the order, normalisation sorts.
        "Dimensions": [{ "Name": "InstanceId", "Value": "i-0abc" }, { "Name": "AutoScalingGroupName", "Value": "web" }],
        "Period": 300,
        "EvaluationPeriods": 3,
        "Threshold": 85.0,
        "ComparisonOperator": "GreaterThanThreshold",
        "Tags": [{ "Key": "team", "Value": "web" }],
    })
}

async fn create_topic(p: &CloudWatchProvider, name: &str) -> String {
    let desired = marked(p, TOPIC, json!({ "Name": name }), &format!("resource.sns_topic.{name}"));
    p.create(TOPIC, &desired).await.expect("create topic").id
}

#[tokio::test]
async fn metric_alarm_create_read_list_update_delete() {
    let p = p("us-east-1");
    let topic_arn = create_topic(&p, "wk-lifecycle-ops").await;
    let address = r#"resource.cloudwatch_metric_alarm.cpu["web"]"#;
    let mut desired = cpu_alarm("wk-lifecycle-cpu");
    // The engine links the alarm to the topic: it is sent the topic's ARN.
    desired["AlarmActions"] = json!([topic_arn.clone()]);
    desired["OKActions"] = json!([topic_arn.clone()]);
    let desired = marked(&p, ALARM, desired, address);

    p.validate_remote(ALARM, &desired).await.expect("valid alarm");
    let calls_before = p.api_calls();
    let created = p.create(ALARM, &desired).await.expect("create");
    assert!(p.api_calls() > calls_before, "requests are counted");
    assert_eq!(created.id, "wk-lifecycle-cpu");
    assert!(created.owned);
    assert_eq!(created.marker.as_deref(), Some("resource.cloudwatch_metric_alarm.cpu.web"));
    assert!(created.modified.is_some(), "AlarmConfigurationUpdatedTimestamp");
    assert_no_diff(&p, ALARM, &created, &desired);
    // Live ARNs stay ARNs.
    assert_eq!(created.attrs["AlarmActions"], json!([topic_arn.clone()]));
    assert_eq!(created.attrs["OKActions"], json!([topic_arn.clone()]));

    // AWS holds the ARN and the tags.
    let cw = cw_client(&moto().endpoint_url(), "us-east-1");
    let raw = cw.describe_alarms().alarm_names("wk-lifecycle-cpu").send().await.unwrap();
    let a = &raw.metric_alarms()[0];
    assert_eq!(a.alarm_actions(), std::slice::from_ref(&topic_arn));
    let tags = cw.list_tags_for_resource().resource_arn(a.alarm_arn().unwrap()).send().await.unwrap();
    let tags: Vec<(&str, &str)> =
        tags.tags().iter().map(|t| (t.key().unwrap(), t.value().unwrap())).collect();
    assert!(tags.contains(&("managed-by", "watchkeep")), "{tags:?}");
    assert!(tags.contains(&("watchkeep-address", "resource.cloudwatch_metric_alarm.cpu.web")), "{tags:?}");
    assert!(tags.contains(&("team", "web")), "{tags:?}");

    let read = p.read(ALARM, "wk-lifecycle-cpu").await.unwrap().expect("exists");
    assert_eq!(read, created);
    let listed = p.list(ALARM, true).await.unwrap();
    assert_no_diff(&p, ALARM, find(&listed, "wk-lifecycle-cpu"), &desired);

    let mut changed = desired.clone();
    changed["Threshold"] = json!(92.5);
    changed["TreatMissingData"] = json!("breaching");
    changed["AlarmDescription"] = json!("CPU above 92.5 %");
    let changed = marked(&p, ALARM, changed, address);
    let updated = p.update(ALARM, "wk-lifecycle-cpu", &changed).await.expect("update");
    assert_no_diff(&p, ALARM, &updated, &changed);
    assert_eq!(updated.attrs["Threshold"], json!(92.5));
    assert!(updated.owned, "the description line survives updates");
    let listed = p.list(ALARM, false).await.unwrap();
    assert_no_diff(&p, ALARM, find(&listed, "wk-lifecycle-cpu"), &changed);

    p.delete(ALARM, "wk-lifecycle-cpu").await.expect("delete");
    assert_eq!(p.read(ALARM, "wk-lifecycle-cpu").await.unwrap(), None);
    p.delete(ALARM, "wk-lifecycle-cpu").await.expect("deleting what is gone is Ok");
}

#[tokio::test]
async fn metric_math_percentile_and_defaults_have_no_perpetual_diff() {
    let p = p("us-east-1");
    let math = json!({
        "AlarmName": "wk-diff-error-rate",
        "EvaluationPeriods": 2,
        "DatapointsToAlarm": 2,
        "Threshold": 5,
        "ComparisonOperator": "GreaterThanThreshold",
        "TreatMissingData": "notBreaching",
        "Metrics": [
            { "Id": "rate", "Expression": "100 * errors / requests", "Label": "Error rate", "ReturnData": true },
            { "Id": "errors", "ReturnData": false, "MetricStat": {
                "Metric": { "Namespace": "App", "MetricName": "Errors",
                            "Dimensions": [{ "Name": "Service", "Value": "api" }, { "Name": "Env", "Value": "prod" }] },
                "Period": 60, "Stat": "Sum" } },
            { "Id": "requests", "ReturnData": false, "MetricStat": {
                "Metric": { "Namespace": "App", "MetricName": "Requests", "Dimensions": [] },
                "Period": 60, "Stat": "Sum", "Unit": "Count" } },
        ],
    });
    let p99 = json!({
        "AlarmName": "wk-diff-latency-p99",
        "Namespace": "App",
        "MetricName": "Latency",
        "ExtendedStatistic": "p99",
        "EvaluateLowSampleCountPercentile": "ignore",
        "Period": 60,
        "EvaluationPeriods": 5,
        "Threshold": 250.0,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "Unit": "Milliseconds",
    });
    // Unset TreatMissingData and DatapointsToAlarm, empty Dimensions, disabled actions.
    let empty_dims = json!({
        "AlarmName": "wk-diff-empty-dims", "Namespace": "App", "MetricName": "Queue", "Statistic": "Maximum",
        "Dimensions": [], "Period": 60, "EvaluationPeriods": 4, "Threshold": 1000,
        "ComparisonOperator": "GreaterThanThreshold", "ActionsEnabled": false, "AlarmActions": [],
    });
    let absent_dims = json!({
        "AlarmName": "wk-diff-absent-dims", "Namespace": "App", "MetricName": "Queue", "Statistic": "Maximum",
        "Period": 60, "EvaluationPeriods": 4, "Threshold": 1000, "ComparisonOperator": "GreaterThanThreshold",
    });
    let mut desired = Vec::new();
    for (i, attrs) in [math, p99, empty_dims, absent_dims].into_iter().enumerate() {
        let d = marked(&p, ALARM, attrs, &format!("resource.cloudwatch_metric_alarm.diff[{i}]"));
        p.validate_remote(ALARM, &d).await.unwrap_or_else(|e| panic!("{}: {e}", d["AlarmName"]));
        let created = p.create(ALARM, &d).await.unwrap_or_else(|e| panic!("{}: {e}", d["AlarmName"]));
        assert_no_diff(&p, ALARM, &created, &d);
        desired.push(d);
    }
    let listed = p.list(ALARM, true).await.unwrap();
    for d in &desired {
        let live = find(&listed, d["AlarmName"].as_str().unwrap());
        assert_no_diff(&p, ALARM, live, d);
    }
    let n = |i: usize| p.normalize(ALARM, &desired[i]);
    assert_eq!(n(2)["TreatMissingData"], "missing");
    assert_eq!(n(2)["DatapointsToAlarm"], 4);
    assert!(n(2).get("Dimensions").is_none() && n(3).get("Dimensions").is_none());
    assert_eq!(n(2)["ActionsEnabled"], false);
    assert_eq!(n(1)["ExtendedStatistic"], "p99");
    assert_eq!(n(0)["Metrics"][1]["MetricStat"]["Metric"]["Dimensions"][0]["Name"], "Env");
    for d in &desired {
        p.delete(ALARM, d["AlarmName"].as_str().unwrap()).await.unwrap();
    }
}

#[tokio::test]
async fn name_collision_with_a_foreign_alarm_is_a_conflict_and_writes_nothing() {
    let p = p("us-west-2");
    let cw = cw_client(&moto().endpoint_url(), "us-west-2");
    cw.put_metric_alarm()
        .alarm_name("wk-collide-cpu")
        .alarm_description("theirs")
        .namespace("AWS/EC2")
        .metric_name("CPUUtilization")
        .statistic(Statistic::Maximum)
        .period(60)
        .evaluation_periods(1)
        .threshold(10.0)
        .comparison_operator(ComparisonOperator::LessThanThreshold)
        .send()
        .await
        .unwrap();
    let desired = marked(&p, ALARM, cpu_alarm("wk-collide-cpu"), "resource.cloudwatch_metric_alarm.cpu");
    let calls = p.api_calls();
    let err = p.create(ALARM, &desired).await.unwrap_err();
    match &err {
        ProviderError::Conflict { message } => {
            assert!(
                message.contains("an alarm named `wk-collide-cpu` already exists in us-west-2"),
                "{message}"
            );
            assert!(
                message.contains("not managed by watchkeep") && message.contains("\nhint: rename"),
                "{message}"
            );
        }
        other => panic!("expected Conflict, got {other:?}"),
    }
    assert!(!err.is_retryable());
    assert_eq!(p.api_calls() - calls, 2, "DescribeAlarms and ListTagsForResource only");
    let a = cw.describe_alarms().alarm_names("wk-collide-cpu").send().await.unwrap();
    let a = &a.metric_alarms()[0];
    assert_eq!(a.threshold(), Some(10.0), "unchanged");
    assert_eq!(a.alarm_description(), Some("theirs"));
    assert_eq!(a.statistic(), Some(&Statistic::Maximum));
    let listed = p.list(ALARM, false).await.unwrap();
    assert!(!find(&listed, "wk-collide-cpu").owned);
    assert!(p.list(ALARM, true).await.unwrap().iter().all(|o| o.id != "wk-collide-cpu"));

    // Ours, but for another address: also a conflict.
    let other = marked(&p, ALARM, cpu_alarm("wk-collide-mine"), "resource.cloudwatch_metric_alarm.a");
    p.create(ALARM, &other).await.unwrap();
    let second = marked(&p, ALARM, cpu_alarm("wk-collide-mine"), "resource.cloudwatch_metric_alarm.b");
    match p.create(ALARM, &second).await.unwrap_err() {
        ProviderError::Conflict { message } => {
            assert!(message.contains("another address (`resource.cloudwatch_metric_alarm.a`"), "{message}")
        }
        other => panic!("expected Conflict, got {other:?}"),
    }
}

#[tokio::test]
async fn a_retried_create_adopts_our_own_alarm() {
    let p = p("us-east-1");
    let address = "resource.cloudwatch_metric_alarm.retry";
    let desired = marked(&p, ALARM, cpu_alarm("wk-retry-cpu"), address);
    let first = p.create(ALARM, &desired).await.expect("first create");
    // The answer was lost; the engine asks for the marker, then creates again.
    assert!(p.find_by_marker(ALARM, address).await.unwrap().is_empty());
    let mut again = desired.clone();
    again["Threshold"] = json!(90);
    let second = p.create(ALARM, &again).await.expect("retried create adopts");
    assert_eq!(second.id, first.id);
    assert_no_diff(&p, ALARM, &second, &again);
    assert_eq!(p.list(ALARM, true).await.unwrap().iter().filter(|o| o.id == "wk-retry-cpu").count(), 1);
    p.delete(ALARM, "wk-retry-cpu").await.unwrap();
}

#[tokio::test]
async fn non_arn_actions_and_unknown_attributes_are_errors_before_writing() {
    let p = p("us-east-1");
    // A topic name is no ARN: the provider looks nothing up (the engine turns a raw resource's
    // `sns:<name>` of a declared topic into a link, and refuses any other at compile time).
    let mut desired = cpu_alarm("wk-unknown-topic");
    desired["AlarmActions"] = json!(["sns:wk-no-such-topic"]);
    let desired = marked(&p, ALARM, desired, "resource.cloudwatch_metric_alarm.unknown");
    let calls = p.api_calls();
    let err = p.create(ALARM, &desired).await.unwrap_err().to_string();
    assert!(err.contains("`AlarmActions` holds `sns:wk-no-such-topic`, which is not an ARN"), "{err}");
    assert_eq!(p.api_calls(), calls, "no request for a local error");
    assert_eq!(p.read(ALARM, "wk-unknown-topic").await.unwrap(), None, "nothing written");

    let mut typo = cpu_alarm("wk-typo");
    typo["Treshold"] = json!(1);
    let calls = p.api_calls();
    let err = p.create(ALARM, &typo).await.unwrap_err().to_string();
    assert!(err.contains("unknown attribute `Treshold`"), "{err}");
    assert_eq!(p.api_calls(), calls, "no request for a local error");
}

fn dashboard(name: &str, title: &str) -> Value {
    json!({
        "DashboardName": name,
        "DashboardBody": { "widgets": [
            { "type": "metric", "x": 0, "y": 0, "width": 12, "height": 6, "properties": {
                "metrics": [["AWS/EC2", "CPUUtilization", "AutoScalingGroupName", "web"]],
                "period": 300.0, "stat": "Average", "region": "us-east-1", "title": title } },
            { "type": "text", "x": 12, "y": 0, "width": 12, "height": 6, "properties": { "markdown": "# Web tier" } },
        ] },
    })
}

#[tokio::test]
async fn dashboard_create_read_list_update_delete_and_collision() {
    let p = p("us-east-1");
    let address = r#"resource.cloudwatch_dashboard.web["eu"]"#;
    let desired = marked(&p, DASHBOARD, dashboard("wk-dash-web", "CPU"), address);
    p.validate_remote(DASHBOARD, &desired).await.unwrap();
    let created = p.create(DASHBOARD, &desired).await.expect("create");
    assert_eq!(created.id, "wk-dash-web");
    assert!(created.owned);
    assert_eq!(created.marker.as_deref(), Some("resource.cloudwatch_dashboard.web.eu"));
    assert_no_diff(&p, DASHBOARD, &created, &desired);
    let widgets = created.attrs["DashboardBody"]["widgets"].as_array().unwrap();
    assert_eq!(widgets.last().unwrap()["y"], 6, "marker widget below everything");

    assert_eq!(p.read(DASHBOARD, "wk-dash-web").await.unwrap().unwrap().attrs, created.attrs);
    let listed = p.list(DASHBOARD, true).await.unwrap();
    assert_no_diff(&p, DASHBOARD, find(&listed, "wk-dash-web"), &desired);

    let changed = marked(&p, DASHBOARD, dashboard("wk-dash-web", "CPU (avg)"), address);
    let updated = p.update(DASHBOARD, "wk-dash-web", &changed).await.expect("update");
    assert_no_diff(&p, DASHBOARD, &updated, &changed);

    // A retried create of our own dashboard adopts it.
    p.create(DASHBOARD, &changed).await.expect("retried create");

    // A dashboard made by someone else.
    let cw = cw_client(&moto().endpoint_url(), "us-east-1");
    let theirs = r#"{"widgets":[{"type":"text","x":0,"y":0,"width":6,"height":3,"properties":{"markdown":"theirs"}}]}"#;
    cw.put_dashboard().dashboard_name("wk-dash-theirs").dashboard_body(theirs).send().await.unwrap();
    let collide =
        marked(&p, DASHBOARD, dashboard("wk-dash-theirs", "x"), "resource.cloudwatch_dashboard.theirs");
    match p.create(DASHBOARD, &collide).await.unwrap_err() {
        ProviderError::Conflict { message } => {
            assert!(message.contains("a dashboard named `wk-dash-theirs` already exists"), "{message}")
        }
        other => panic!("expected Conflict, got {other:?}"),
    }
    let body = cw.get_dashboard().dashboard_name("wk-dash-theirs").send().await.unwrap();
    assert_eq!(body.dashboard_body(), Some(theirs), "unchanged");

    p.delete(DASHBOARD, "wk-dash-web").await.unwrap();
    assert_eq!(p.read(DASHBOARD, "wk-dash-web").await.unwrap(), None);
    p.delete(DASHBOARD, "wk-dash-web").await.expect("deleting what is gone is Ok");
}

#[tokio::test]
async fn topic_create_read_list_update_delete_and_collision() {
    let p = p("eu-west-1");
    let address = "resource.sns_topic.ops";
    let desired = marked(
        &p,
        TOPIC,
        json!({ "Name": "wk-topic-ops", "DisplayName": "Ops alerts",
                "Tags": [{ "Key": "team", "Value": "sre" }, { "Key": "env", "Value": "prod" }] }),
        address,
    );
    p.validate_remote(TOPIC, &desired).await.unwrap();
    let created = p.create(TOPIC, &desired).await.expect("create");
    assert!(
        created.id.starts_with("arn:aws:sns:eu-west-1:") && created.id.ends_with(":wk-topic-ops"),
        "{}",
        created.id
    );
    assert!(created.owned);
    assert_eq!(created.marker.as_deref(), Some("resource.sns_topic.ops"));
    assert_no_diff(&p, TOPIC, &created, &desired);
    let listed = p.list(TOPIC, true).await.unwrap();
    assert_no_diff(&p, TOPIC, find(&listed, &created.id), &desired);

    let changed = marked(
        &p,
        TOPIC,
        json!({ "Name": "wk-topic-ops", "DisplayName": "Operations",
                "Tags": [{ "Key": "team", "Value": "platform" }, { "Key": "tier", "Value": "1" }] }),
        address,
    );
    let updated = p.update(TOPIC, &created.id, &changed).await.expect("update");
    assert_no_diff(&p, TOPIC, &updated, &changed);
    assert!(updated.owned, "ownership tags are kept");
    assert_eq!(
        updated.attrs["Tags"],
        json!([{ "Key": "team", "Value": "platform" }, { "Key": "tier", "Value": "1" }]),
        "`env` removed"
    );
    // Retried create adopts (and changes nothing).
    assert_eq!(p.create(TOPIC, &changed).await.expect("retried create").id, created.id);

    // A topic made by someone else, without tags: CreateTopic would silently return it.
    let sns = sns_client(&moto().endpoint_url(), "eu-west-1");
    let theirs =
        sns.create_topic().name("wk-topic-theirs").send().await.unwrap().topic_arn().unwrap().to_string();
    let collide = marked(
        &p,
        TOPIC,
        json!({ "Name": "wk-topic-theirs", "DisplayName": "mine" }),
        "resource.sns_topic.t",
    );
    match p.create(TOPIC, &collide).await.unwrap_err() {
        ProviderError::Conflict { message } => {
            assert!(
                message.contains("an SNS topic named `wk-topic-theirs` already exists in eu-west-1"),
                "{message}"
            );
            assert!(message.contains("hint:"), "{message}");
        }
        other => panic!("expected Conflict, got {other:?}"),
    }
    let tags = sns.list_tags_for_resource().resource_arn(&theirs).send().await.unwrap();
    assert!(tags.tags().is_empty(), "no tags written");
    let attrs = sns.get_topic_attributes().topic_arn(&theirs).send().await.unwrap();
    assert_eq!(attrs.attributes().unwrap().get("DisplayName").map(String::as_str), Some(""), "unchanged");
    assert!(!find(&p.list(TOPIC, false).await.unwrap(), &theirs).owned);

    p.delete(TOPIC, &created.id).await.unwrap();
    assert_eq!(p.read(TOPIC, &created.id).await.unwrap(), None);
    p.delete(TOPIC, &created.id).await.expect("deleting what is gone is Ok");
}

#[tokio::test]
async fn subscriptions_of_every_kind() {
    let p = p("eu-central-1");
    let topic_arn = create_topic(&p, "wk-subs-alerts").await;
    let account = topic_arn.split(':').nth(4).unwrap().to_string();
    let subs = [
        json!({ "TopicArn": topic_arn.clone(), "Protocol": "email", "Endpoint": "oncall@example.com" }),
        json!({ "TopicArn": topic_arn.clone(), "Protocol": "HTTPS", "Endpoint": "https://hooks.example.com/T0/B0/s3cr3t",
                "RawMessageDelivery": true, "FilterPolicy": { "severity": ["critical", "high"] } }),
        json!({ "TopicArn": topic_arn.clone(), "Protocol": "sqs",
                "Endpoint": format!("arn:aws:sqs:eu-central-1:{account}:alerts-queue"), "RawMessageDelivery": false }),
        json!({ "TopicArn": topic_arn.clone(), "Protocol": "lambda",
                "Endpoint": format!("arn:aws:lambda:eu-central-1:{account}:function:page-oncall") }),
    ];
    let mut ids = Vec::new();
    for (i, desired) in subs.iter().enumerate() {
        let desired = marked(&p, SUBSCRIPTION, desired.clone(), &format!("resource.sns_subscription.s[{i}]"));
        p.validate_remote(SUBSCRIPTION, &desired).await.unwrap();
        let created =
            p.create(SUBSCRIPTION, &desired).await.unwrap_or_else(|e| panic!("subscription {i}: {e}"));
        assert!(created.id.starts_with(&format!("{topic_arn}:")), "{}", created.id);
        assert!(created.owned, "its topic is ours");
        assert_eq!(created.marker, None);
        assert_no_diff(&p, SUBSCRIPTION, &created, &desired);
        assert_eq!(created.attrs["TopicArn"], json!(topic_arn), "ARNs stay ARNs");
        ids.push(created.id);
    }
    assert!(p.find_by_marker(SUBSCRIPTION, "resource.sns_subscription.s[0]").await.unwrap().is_empty());
    let listed = p.list(SUBSCRIPTION, true).await.unwrap();
    for (id, desired) in ids.iter().zip(&subs) {
        assert_no_diff(&p, SUBSCRIPTION, find(&listed, id), desired);
    }

    // In place: filter policy changed, raw delivery off.
    let changed = json!({ "TopicArn": topic_arn.clone(), "Protocol": "https",
                          "Endpoint": "https://hooks.example.com/T0/B0/s3cr3t",
                          "FilterPolicy": { "severity": ["critical"] } });
    let updated = p.update(SUBSCRIPTION, &ids[1], &changed).await.expect("update");
    assert_no_diff(&p, SUBSCRIPTION, &updated, &changed);
    let without_policy = json!({ "TopicArn": topic_arn.clone(), "Protocol": "https",
                                 "Endpoint": "https://hooks.example.com/T0/B0/s3cr3t" });
    let updated = p.update(SUBSCRIPTION, &ids[1], &without_policy).await.expect("remove the filter policy");
    assert_no_diff(&p, SUBSCRIPTION, &updated, &without_policy);

    // A subscription on a topic that is not ours is listed as not owned, and hidden when only
    // watchkeep's objects are asked for.
    let sns = sns_client(&moto().endpoint_url(), "eu-central-1");
    let foreign =
        sns.create_topic().name("wk-subs-foreign").send().await.unwrap().topic_arn().unwrap().to_string();
    let foreign_sub = sns
        .subscribe()
        .topic_arn(&foreign)
        .protocol("email")
        .endpoint("someone@example.com")
        .return_subscription_arn(true)
        .send()
        .await
        .unwrap()
        .subscription_arn()
        .unwrap()
        .to_string();
    assert!(!find(&p.list(SUBSCRIPTION, false).await.unwrap(), &foreign_sub).owned);
    assert!(p.list(SUBSCRIPTION, true).await.unwrap().iter().all(|o| o.id != foreign_sub));
    assert!(!p.read(SUBSCRIPTION, &foreign_sub).await.unwrap().unwrap().owned);

    for id in &ids {
        p.delete(SUBSCRIPTION, id).await.unwrap();
        assert_eq!(p.read(SUBSCRIPTION, id).await.unwrap(), None);
        p.delete(SUBSCRIPTION, id).await.expect("deleting what is gone is Ok");
    }
}
