//! `Provider::observe` (coverage --live) against LocalStack (`WATCHKEEP_LOCALSTACK_DIR`), which
//! keeps alarms as AWS does where moto does not: a new alarm starts in `INSUFFICIENT_DATA`
//! (AWS: "the alarm … is in the INSUFFICIENT_DATA state" until evaluated; moto starts it `OK`),
//! and `ListMetrics`/`GetMetricData` answer from the datapoints put.
//!
//! When LocalStack cannot start (e.g. no CPython >= 3.13), this test fails with the reason: it
//! never passes without having run.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
use common::{cw_client, marked, provider};
use serde_json::json;
use watchkeep_provider::{ComponentProbe, Provider};
use watchkeep_tests::aws::LocalStack;

fn probe(name: &str, instance: &str) -> ComponentProbe {
    ComponentProbe {
        name: name.to_owned(),
        kind: "server".to_owned(),
        identifier: BTreeMap::from([("InstanceId".to_owned(), instance.to_owned())]),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_alarm_is_insufficient_data_and_datapoints_report() {
    let ls = match tokio::task::spawn_blocking(LocalStack::start).await.expect("start task") {
        Ok(ls) => ls,
        Err(e) => panic!("{e}"),
    };
    let region = "us-east-1";
    let p = provider(&ls.endpoint_url(), region);
    let cw = cw_client(&ls.endpoint_url(), region);

    let alarm = json!({
        "AlarmName": "wk-ls-observe-cpu",
        "Namespace": "AWS/EC2",
        "MetricName": "CPUUtilization",
        "Statistic": "Average",
        "Dimensions": [{"Name": "InstanceId", "Value": "i-quiet"}],
        "Period": 60,
        "EvaluationPeriods": 1,
        "Threshold": 85.0,
        "ComparisonOperator": "GreaterThanThreshold",
    });
    let alarm = marked(&p, "cloudwatch_metric_alarm", alarm, "baseline.soc2[\"web-9\"].cpu");
    p.create("cloudwatch_metric_alarm", &alarm).await.expect("create alarm");

    let now = SystemTime::now() - Duration::from_secs(30);
    let data: Vec<MetricDatum> = ["i-busy", "i-extra"]
        .iter()
        .map(|id| {
            MetricDatum::builder()
                .metric_name("CPUUtilization")
                .dimensions(Dimension::builder().name("InstanceId").value(*id).build())
                .timestamp(DateTime::from(now))
                .value(12.0)
                .unit(StandardUnit::Percent)
                .build()
        })
        .collect();
    cw.put_metric_data().namespace("AWS/EC2").set_metric_data(Some(data)).send().await.expect("put");

    let alerts = [("cloudwatch_metric_alarm".to_owned(), "wk-ls-observe-cpu".to_owned())];
    let o = p
        .observe(&[probe("web-1", "i-busy"), probe("web-9", "i-quiet")], &alerts, Duration::from_secs(3600))
        .await
        .expect("observe")
        .expect("CloudWatch can tell");
    assert!(o.components[0].reporting, "{:?}", o.components[0]);
    assert!(!o.components[1].reporting, "{:?}", o.components[1]);
    let mut seen: Vec<&str> = o.seen.iter().map(|s| s.name.as_str()).collect();
    seen.sort_unstable();
    assert_eq!(seen, ["i-busy", "i-extra"]);
    assert_eq!(o.no_data.len(), 1, "{:?}", o.no_data);
    assert_eq!(
        (o.no_data[0].id.as_str(), o.no_data[0].state.as_str()),
        ("wk-ls-observe-cpu", "INSUFFICIENT_DATA")
    );
    drop(ls);
}
