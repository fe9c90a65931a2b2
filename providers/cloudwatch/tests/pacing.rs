//! Pacing to CloudWatch's published API quotas, against the awsQuery stand-in enforcing them
//! (`QueryStandIn::start_with_quotas`). Assertions are on counts (and on a lower bound of time,
//! which pacing guarantees), never on an upper bound of wall time.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{assert_no_diff, cw_client, marked, KEY_ID, SECRET};
use futures_util::stream::{self, StreamExt};
use serde_json::{json, Value};
use watchkeep_cloudwatch::CloudWatchProvider;
use watchkeep_provider::{Provider, ProviderError};
use watchkeep_tests::aws::QueryStandIn;

const ALARM: &str = "cloudwatch_metric_alarm";

fn provider_with_quotas(endpoint: &str, quotas: Value) -> CloudWatchProvider {
    let env = |k: &str| match k {
        "AWS_ACCESS_KEY_ID" => Some(KEY_ID.to_string()),
        "AWS_SECRET_ACCESS_KEY" => Some(SECRET.to_string()),
        _ => None,
    };
    let attrs =
        json!({ "region": "us-east-1", "endpoint_url": endpoint, "timeout_seconds": 20, "quotas": quotas });
    CloudWatchProvider::from_block(attrs.as_object().unwrap(), &env).expect("valid provider block")
}

fn alarm(i: usize) -> Value {
    json!({
        "AlarmName": format!("paced-{i:03}"),
        "AlarmDescription": format!("CPU of instance {i}"),
        "Namespace": "AWS/EC2",
        "MetricName": "CPUUtilization",
        "Dimensions": [{ "Name": "InstanceId", "Value": format!("i-{i:08x}") }],
        "Statistic": "Average",
        "Period": 60,
        "EvaluationPeriods": 2,
        "Threshold": 80,
        "ComparisonOperator": "GreaterThanThreshold",
        "TreatMissingData": "missing",
    })
}

/// Creates `n` alarms through the provider, 10 at a time (the engine's default parallelism).
async fn create_all(
    p: &Arc<CloudWatchProvider>,
    n: usize,
) -> Vec<Result<watchkeep_provider::LiveObject, ProviderError>> {
    stream::iter(0..n)
        .map(|i| {
            let p = Arc::clone(p);
            async move {
                let desired = marked(&p, ALARM, alarm(i), &format!("resource.cloudwatch_metric_alarm.a{i}"));
                p.create(ALARM, &desired).await
            }
        })
        .buffer_unordered(10)
        .collect()
        .await
}

#[tokio::test]
async fn a_burst_over_the_quota_is_throttled_in_aws_shape() {
    let s = QueryStandIn::start_with_quotas(&[("PutMetricAlarm", 3.0)]).unwrap();
    // A plain SDK client: no pacing.
    let cw = cw_client(&s.endpoint_url(), "us-east-1");
    let results: Vec<_> = stream::iter(0..10)
        .map(|i| {
            let cw = cw.clone();
            async move {
                cw.put_metric_alarm()
                    .alarm_name(format!("burst-{i}"))
                    .namespace("AWS/EC2")
                    .metric_name("CPUUtilization")
                    .statistic(aws_sdk_cloudwatch::types::Statistic::Average)
                    .period(60)
                    .evaluation_periods(1)
                    .threshold(1.0)
                    .comparison_operator(aws_sdk_cloudwatch::types::ComparisonOperator::GreaterThanThreshold)
                    .send()
                    .await
            }
        })
        .buffer_unordered(10)
        .collect()
        .await;
    let ok = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(ok, 3, "one second's worth of PutMetricAlarm goes through");
    for err in results.iter().filter_map(|r| r.as_ref().err()) {
        let service = err.as_service_error().expect("a service error");
        use aws_sdk_cloudwatch::error::ProvideErrorMetadata;
        assert_eq!(service.code(), Some("Throttling"));
        assert_eq!(service.message(), Some("Rate exceeded"));
        assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(400));
    }
    assert_eq!(s.throttled("PutMetricAlarm"), 7);
    assert_eq!(s.requests("PutMetricAlarm"), 10);
    assert_eq!(s.alarm_names().len(), 3, "throttled requests store nothing");
}

#[tokio::test]
async fn paced_creates_stay_under_the_quota_with_no_throttling() {
    // Quotas raised (as an account could) to keep the test short: 60 alarms at 20/s.
    let quotas = [("PutMetricAlarm", 20.0), ("DescribeAlarms", 60.0), ("ListTagsForResource", 10.0)];
    let s = QueryStandIn::start_with_quotas(&quotas).unwrap();
    let p = Arc::new(provider_with_quotas(
        &s.endpoint_url(),
        json!({ "PutMetricAlarm": 20, "DescribeAlarms": 60 }),
    ));
    let started = Instant::now();
    let results = create_all(&p, 60).await;
    let took = started.elapsed();
    for r in &results {
        assert!(r.is_ok(), "{r:?}");
    }
    assert_eq!(s.throttled_total(), 0, "pacing keeps every operation under its quota");
    assert_eq!(s.requests("PutMetricAlarm"), 60, "one PutMetricAlarm per alarm, none retried");
    // A name check and a read-back per alarm.
    assert_eq!(s.requests("DescribeAlarms"), 120);
    assert_eq!(s.alarm_names().len(), 60);
    // 95 % of 20/s: the 60th put leaves no earlier than 59 / 19 s after the first.
    assert!(took >= Duration::from_secs_f64(59.0 / 20.0), "achieved more than the quota: {took:?}");
    let budget = p.rate_budget().expect("the provider reports its budget");
    assert_eq!(budget.throttled, 0);
    let rate = |family: &str| budget.rates.iter().find(|(f, _)| f == family).map(|(_, r)| *r);
    assert_eq!(rate("cloudwatch:PutMetricAlarm").map(|r| (r * 100.0).round()), Some(1900.0));
    assert_eq!(rate("cloudwatch:DescribeAlarms").map(|r| (r * 100.0).round()), Some(5700.0));
    assert_eq!(
        rate("cloudwatch:DeleteAlarms").map(|r| (r * 100.0).round()),
        Some(285.0),
        "published default"
    );
    assert!(budget.waited > Duration::ZERO, "requests queued for their slots");

    // What was stored reads back as what was asked for.
    let listed = p.list(ALARM, true).await.unwrap();
    assert_eq!(listed.len(), 60);
    let first = listed.iter().find(|o| o.id == "paced-000").unwrap();
    let desired = marked(&p, ALARM, alarm(0), "resource.cloudwatch_metric_alarm.a0");
    assert_no_diff(&p, ALARM, first, &desired);
}

#[tokio::test]
async fn a_client_paced_over_the_real_quota_is_throttled_and_the_engine_told_to_retry() {
    // The provider believes PutMetricAlarm allows 100/s; the account allows 3/s.
    let s = QueryStandIn::start_with_quotas(&[("PutMetricAlarm", 3.0)]).unwrap();
    let p = Arc::new(provider_with_quotas(&s.endpoint_url(), json!({ "PutMetricAlarm": 100 })));
    let results = create_all(&p, 20).await;
    let limited = results.iter().filter(|r| matches!(r, Err(ProviderError::RateLimited { .. }))).count();
    let other_errors = results
        .iter()
        .filter(|r| matches!(r, Err(e) if !matches!(e, ProviderError::RateLimited { .. })))
        .count();
    assert_eq!(other_errors, 0, "{results:?}");
    assert!(limited > 0, "20 puts at up to 95/s against 3/s must be throttled");
    assert_eq!(limited as u64, s.throttled("PutMetricAlarm"));
    // Each throttling answer was seen by the budget (and blocked the family for a while).
    assert_eq!(p.rate_budget().unwrap().throttled, s.throttled("PutMetricAlarm"));
}

#[test]
fn quota_overrides_are_checked_in_the_provider_block() {
    let env = |_: &str| None;
    let block = |quotas: Value| {
        let attrs = json!({ "region": "us-east-1", "quotas": quotas });
        CloudWatchProvider::from_block(attrs.as_object().unwrap(), &env).map(|_| ())
    };
    block(json!({ "PutMetricAlarm": 10 })).expect("adjustable");
    for (quotas, needle) in [
        (json!({ "ListTagsForResource": 20 }), "not adjustable"),
        (json!({ "PutMetricAlarm": 0 }), "more than 0"),
        (json!({ "PutMetricAlarm": -2 }), "more than 0"),
        (json!({ "PutAlarm": 5 }), "unknown CloudWatch operation `PutAlarm`"),
    ] {
        match block(quotas.clone()) {
            Err(ProviderError::InvalidConfig { message }) => {
                assert!(message.contains(needle), "{quotas}: {message}")
            }
            other => panic!("{quotas}: expected InvalidConfig, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn waiting_for_a_slot_does_not_count_against_timeout_seconds() {
    let s = QueryStandIn::start_with_quotas(&[("PutMetricAlarm", 1.0)]).unwrap();
    let env = |k: &str| match k {
        "AWS_ACCESS_KEY_ID" => Some(KEY_ID.to_string()),
        "AWS_SECRET_ACCESS_KEY" => Some(SECRET.to_string()),
        _ => None,
    };
    let attrs = json!({ "region": "us-east-1", "endpoint_url": s.endpoint_url(), "timeout_seconds": 1,
                        "quotas": { "PutMetricAlarm": 1 } });
    let p = Arc::new(CloudWatchProvider::from_block(attrs.as_object().unwrap(), &env).unwrap());
    // The last put waits about 8.5 s for its slot (1/s at 95 %): over the 1 s timeout, and over
    // the SDK's 5 s upload stall grace period (which counts from when the request is made).
    let n: usize = 9;
    let results = create_all(&p, n).await;
    for r in &results {
        assert!(r.is_ok(), "{r:?}");
    }
    assert_eq!(s.requests("PutMetricAlarm"), n as u64);
    assert_eq!(s.throttled_total(), 0);
}
