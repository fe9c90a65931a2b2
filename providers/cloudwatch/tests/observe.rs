//! `Provider::observe` (coverage --live) of the CloudWatch provider against moto
//! (`WATCHKEEP_MOTO_SERVER`): datapoints put with PutMetricData make components report, resources
//! with recent data are seen, alarms in INSUFFICIENT_DATA are found. One moto server for this
//! binary; each test works in its own region.
//!
//! Where moto differs from AWS (moto 5.2.5, `moto/cloudwatch/models.py` and `responses.py`):
//! - `ListMetrics` ignores `RecentlyActive` and lists every metric ever put (AWS: only those with
//!   data in the past three hours). The provider confirms every candidate with GetMetricData, so
//!   `seen` is right either way; `moto_lists_stale_metrics_as_recently_active` pins moto's side.
//! - `GetMetricData` with dimensions matches them exactly and does not compare the namespace;
//!   AWS matches namespace, name and the exact dimension set. The tests use distinct metric names
//!   or dimension sets per namespace, so both answer the same.
//! - A new alarm starts `OK` in moto (AWS: `INSUFFICIENT_DATA` until its first evaluation); the
//!   tests set every state they rely on with SetAlarmState.

mod common;

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, RecentlyActive, StandardUnit, StateValue};
use common::{cw_client, marked, provider};
use serde_json::json;
use watchkeep_cloudwatch::CloudWatchProvider;
use watchkeep_provider::{ComponentProbe, Observation, Provider};
use watchkeep_tests::aws::MotoServer;

const HOUR: Duration = Duration::from_secs(3600);

fn moto() -> &'static MotoServer {
    static MOTO: OnceLock<MotoServer> = OnceLock::new();
    MOTO.get_or_init(MotoServer::start)
}

fn p(region: &str) -> CloudWatchProvider {
    provider(&moto().endpoint_url(), region)
}

fn probe(name: &str, kind: &str, ids: &[(&str, &str)]) -> ComponentProbe {
    ComponentProbe {
        name: name.to_owned(),
        kind: kind.to_owned(),
        identifier: ids.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
    }
}

fn ago(secs: u64) -> DateTime {
    DateTime::from(SystemTime::now() - Duration::from_secs(secs))
}

fn datum(metric: &str, dims: &[(&str, &str)], secs_ago: u64) -> MetricDatum {
    MetricDatum::builder()
        .metric_name(metric)
        .set_dimensions(Some(
            dims.iter().map(|(k, v)| Dimension::builder().name(*k).value(*v).build()).collect(),
        ))
        .timestamp(ago(secs_ago))
        .value(42.0)
        .unit(StandardUnit::Percent)
        .build()
}

async fn put(region: &str, namespace: &str, data: Vec<MetricDatum>) {
    let cw = cw_client(&moto().endpoint_url(), region);
    for chunk in data.chunks(100) {
        cw.put_metric_data()
            .namespace(namespace)
            .set_metric_data(Some(chunk.to_vec()))
            .send()
            .await
            .expect("put");
    }
}

fn seen(o: &Observation) -> Vec<(String, Option<String>, BTreeMap<String, String>)> {
    let mut v: Vec<_> =
        o.seen.iter().map(|s| (s.name.clone(), s.kind.clone(), s.identifier.clone())).collect();
    v.sort();
    v
}

fn ident(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

#[tokio::test]
async fn datapoints_make_components_report_and_unknown_instances_seen() {
    let region = "eu-west-3";
    put(
        region,
        "AWS/EC2",
        vec![
            datum("CPUUtilization", &[("InstanceId", "i-aaa")], 60),
            // Not in the inventory: seen.
            datum("CPUUtilization", &[("InstanceId", "i-bbb")], 120),
            // Two hours ago: outside a one-hour window, neither reporting nor seen.
            datum("CPUUtilization", &[("InstanceId", "i-old")], 7200),
            // Another dimension set of the same metric: not an instance of its own.
            datum("CPUUtilization", &[("AutoScalingGroupName", "web")], 60),
        ],
    )
    .await;
    put(region, "AWS/RDS", vec![datum("CPUUtilization", &[("DBInstanceIdentifier", "orders-prod")], 30)])
        .await;

    let p = p(region);
    let probes = [
        probe("web-1", "server", &[("InstanceId", "i-aaa")]),
        probe("web-2", "server", &[("InstanceId", "i-ccc")]),
        probe("old", "server", &[("InstanceId", "i-old")]),
        probe("orders-db", "database", &[("DBInstanceIdentifier", "orders-prod")]),
        probe("queue", "custom", &[("QueueName", "orders")]),
    ];
    let o = p.observe(&probes, &[], HOUR).await.expect("observe").expect("CloudWatch can tell");
    let by: BTreeMap<&str, _> = o.components.iter().map(|c| (c.component.as_str(), c)).collect();
    assert!(by["web-1"].reporting, "{:?}", by["web-1"]);
    assert!(by["web-1"].last_reported.as_deref().is_some_and(|t| t.ends_with('Z')), "{:?}", by["web-1"]);
    assert!(by["web-1"].detail.contains("AWS/EC2 CPUUtilization InstanceId=i-aaa"), "{}", by["web-1"].detail);
    assert!(!by["web-2"].reporting, "{:?}", by["web-2"]);
    assert!(by["web-2"].detail.contains("no datapoints since"), "{}", by["web-2"].detail);
    assert!(!by["old"].reporting, "{:?}", by["old"]);
    assert!(by["orders-db"].reporting, "{:?}", by["orders-db"]);
    assert!(!by["queue"].reporting);
    assert!(by["queue"].detail.contains("no CloudWatch metric to probe"), "{}", by["queue"].detail);

    assert_eq!(
        seen(&o),
        [
            ("i-aaa".to_owned(), Some("server".to_owned()), ident(&[("InstanceId", "i-aaa")])),
            ("i-bbb".to_owned(), Some("server".to_owned()), ident(&[("InstanceId", "i-bbb")])),
            (
                "orders-prod".to_owned(),
                Some("database".to_owned()),
                ident(&[("DBInstanceIdentifier", "orders-prod")])
            ),
        ]
    );
    assert!(o.no_data.is_empty());
    // ListMetrics once per signal (EC2, RDS, ECS, ALB), one GetMetricData for every series.
    assert_eq!(o.api_calls, 5);
}

#[tokio::test]
async fn moto_lists_stale_metrics_as_recently_active() {
    // Pins the moto difference the provider works around (see the module comment).
    let region = "eu-north-1";
    put(region, "AWS/EC2", vec![datum("CPUUtilization", &[("InstanceId", "i-stale")], 7200)]).await;
    let cw = cw_client(&moto().endpoint_url(), region);
    let listed = cw
        .list_metrics()
        .namespace("AWS/EC2")
        .metric_name("CPUUtilization")
        .recently_active(RecentlyActive::Pt3H)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.metrics().len(), 1, "moto ignores RecentlyActive");
    let o = p(region).observe(&[], &[], HOUR).await.unwrap().unwrap();
    assert!(o.seen.is_empty(), "confirmed with GetMetricData: {:?}", o.seen);
}

#[tokio::test]
async fn more_than_five_hundred_instances() {
    let region = "sa-east-1";
    let ids: Vec<String> = (0..520).map(|i| format!("i-{i:05}")).collect();
    put(region, "AWS/EC2", ids.iter().map(|id| datum("CPUUtilization", &[("InstanceId", id)], 90)).collect())
        .await;
    let p = p(region);
    let probes: Vec<ComponentProbe> = ["i-00000", "i-00519", "i-99999"]
        .iter()
        .map(|id| probe(id, "server", &[("InstanceId", id)]))
        .collect();
    let started = std::time::Instant::now();
    let o = p.observe(&probes, &[], HOUR).await.unwrap().unwrap();
    println!(
        "cloudwatch observe (moto): {} instances seen, {} calls, {:?}",
        o.seen.len(),
        o.api_calls,
        started.elapsed()
    );
    assert_eq!(o.seen.len(), 520);
    assert_eq!(o.components.iter().map(|c| c.reporting).collect::<Vec<_>>(), [true, true, false]);
    // ListMetrics: two EC2 pages (500 + 20) and one each for RDS, ECS, ALB; GetMetricData: 521
    // series in two calls of at most 500 queries.
    assert_eq!(o.api_calls, 7);
}

#[tokio::test]
async fn alarms_in_insufficient_data() {
    let region = "ap-south-1";
    let p = p(region);
    let cw = cw_client(&moto().endpoint_url(), region);
    for (name, state) in [
        ("wk-nd-cpu", Some(StateValue::InsufficientData)),
        ("wk-nd-disk", Some(StateValue::Alarm)),
        ("wk-nd-mem", None),
    ] {
        let alarm = json!({
            "AlarmName": name,
            "Namespace": "AWS/EC2",
            "MetricName": "CPUUtilization",
            "Statistic": "Average",
            "Dimensions": [{"Name": "InstanceId", "Value": "i-0abc"}],
            "Period": 300,
            "EvaluationPeriods": 1,
            "Threshold": 85.0,
            "ComparisonOperator": "GreaterThanThreshold",
        });
        let desired =
            marked(&p, "cloudwatch_metric_alarm", alarm, &format!("baseline.soc2[\"web-1\"].{name}"));
        p.create("cloudwatch_metric_alarm", &desired).await.expect("create alarm");
        if let Some(state) = state {
            cw.set_alarm_state()
                .alarm_name(name)
                .state_value(state)
                .state_reason("test")
                .send()
                .await
                .unwrap();
        }
    }
    // 150 names (the three, and 147 alarms that do not exist): two DescribeAlarms calls of 100.
    let mut alerts: Vec<(String, String)> = ["wk-nd-cpu", "wk-nd-disk", "wk-nd-mem"]
        .iter()
        .map(|n| ("cloudwatch_metric_alarm".to_owned(), (*n).to_owned()))
        .collect();
    alerts.extend((0..147).map(|i| ("cloudwatch_metric_alarm".to_owned(), format!("wk-absent-{i}"))));
    // Other types are not alarms.
    alerts.push(("sns_topic".to_owned(), "arn:aws:sns:ap-south-1:123456789012:t".to_owned()));
    let o = p.observe(&[], &alerts, HOUR).await.unwrap().unwrap();
    assert_eq!(o.no_data.len(), 1, "{:?}", o.no_data);
    assert_eq!(o.no_data[0].id, "wk-nd-cpu");
    assert_eq!(o.no_data[0].resource_type, "cloudwatch_metric_alarm");
    assert_eq!(o.no_data[0].state, "INSUFFICIENT_DATA");
    assert!(o.no_data[0].since.is_some());
    // Four ListMetrics, no GetMetricData (nothing to ask about), two DescribeAlarms.
    assert_eq!(o.api_calls, 6);
}
