//! `Provider::dashboard_picture` against LocalStack (`WATCHKEEP_LOCALSTACK_DIR`): what it does
//! with GetMetricWidgetImage, and the fallback to GetMetricData over the data points put.
//!
//! LocalStack (localstack-core 2026.3.0) implements no GetMetricWidgetImage: both CloudWatch
//! providers (`services/cloudwatch/provider.py`, `provider_v2.py`) inherit the generated
//! handler that raises `NotImplementedError`, which the handler chain
//! (`aws/handlers/service.py`, `aws/catalog_exceptions.py`) answers with HTTP 501
//! `InternalFailure`. This test pins that answer, so a LocalStack that starts drawing pictures
//! shows up here (then the picture is a PNG, and this test says so).
//!
//! When LocalStack cannot start (e.g. no CPython >= 3.13), this test fails with the reason: it
//! never passes without having run.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
use common::{cw_client, provider};
use serde_json::json;
use watchkeep_provider::{Picture, Provider};
use watchkeep_tests::aws::LocalStack;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn localstack_answers_501_and_the_picture_is_series_from_get_metric_data() {
    let ls = match tokio::task::spawn_blocking(LocalStack::start).await.expect("start task") {
        Ok(ls) => ls,
        Err(e) => panic!("{e}"),
    };
    let region = "us-east-1";
    let p = provider(&ls.endpoint_url(), region);
    let cw = cw_client(&ls.endpoint_url(), region);

    // The raw answer, for the record.
    let raw = cw
        .get_metric_widget_image()
        .metric_widget(json!({ "metrics": [["AWS/EC2", "CPUUtilization"]] }).to_string())
        .send()
        .await
        .expect_err("LocalStack has no GetMetricWidgetImage");
    let (status, code) = match &raw {
        aws_sdk_cloudwatch::error::SdkError::ServiceError(s) => {
            (s.raw().status().as_u16(), aws_sdk_cloudwatch::error::ProvideErrorMetadata::code(s.err()))
        }
        other => panic!("not an error answer: {other:?}"),
    };
    assert_eq!((status, code), (501, Some("InternalFailure")));

    let at = SystemTime::now() - Duration::from_secs(10 * 60);
    let datum = MetricDatum::builder()
        .metric_name("CPUUtilization")
        .dimensions(Dimension::builder().name("InstanceId").value("i-ls-pic").build())
        .timestamp(DateTime::from(at))
        .value(42.0)
        .unit(StandardUnit::Percent)
        .build();
    cw.put_metric_data().namespace("AWS/EC2").metric_data(datum).send().await.expect("put");

    let mut attrs = json!({
        "DashboardName": "watchkeep-ls",
        "DashboardBody": { "widgets": [
            { "type": "metric", "x": 0, "y": 0, "width": 12, "height": 6,
              "properties": { "title": "web-1: CPU", "stat": "Average", "period": 300,
                              "metrics": [["AWS/EC2", "CPUUtilization", "InstanceId", "i-ls-pic"]] } },
        ] }
    });
    p.mark("cloudwatch_dashboard", &mut attrs, "dashboard.ls.cloudwatch");
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
    let picture = p
        .dashboard_picture("cloudwatch_dashboard", "watchkeep-ls", &attrs, now - 3600, now + 60)
        .await
        .expect("picture");
    let Some(Picture::Series { title, series, source }) = picture else {
        panic!("series from GetMetricData: {picture:?}")
    };
    assert_eq!(title, "watchkeep-ls");
    assert!(
        source.starts_with("GetMetricData (GetMetricWidgetImage: answered InternalFailure (HTTP 501)"),
        "{source}"
    );
    assert_eq!(series.len(), 1);
    assert_eq!(series[0].name, "web-1: CPU — CPUUtilization i-ls-pic (AWS/EC2 CPUUtilization)");
    assert_eq!(series[0].points.iter().map(|(_, v)| *v).collect::<Vec<_>>(), [42.0], "{series:?}");
    drop(ls);
}
