//! `coverage --live` for CloudWatch: which components have recent datapoints, which resources
//! CloudWatch has recent metrics for, which managed alarms are in `INSUFFICIENT_DATA`.
//!
//! AWS API reference (CloudWatch API Reference, <https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/>):
//! - `GetMetricData`: at most 500 `MetricDataQuery`s per call and 100,800 datapoints per answer
//!   (more come with `NextToken`); `Period` a multiple of 60 s; a query `Id` starts with a
//!   lower-case letter. A component reports when its query returns a datapoint in
//!   `[now − window, now)`; its newest timestamp (the start of that period) is its last report.
//! - `ListMetrics` with `RecentlyActive = PT3H` ("the only valid value") lists metrics with data
//!   in the past three hours; without it, the past two weeks. 500 metrics a page (`NextToken`).
//!   The candidates it gives for `seen` are confirmed with `GetMetricData` (so a window shorter
//!   than three hours is honoured, and so is moto, which ignores `RecentlyActive` and lists every
//!   metric ever put: see `providers/cloudwatch/tests/observe.rs`).
//! - `DescribeAlarms` with `AlarmNames`: at most 100 names per call.
//!
//! Calls are paced by the provider's per-operation `RateBudget` (`quota.rs`: GetMetricData
//! 50 TPS, ListMetrics 25 TPS, DescribeAlarms 9 TPS, AWS's published quotas).
//!
//! Which metric tells that a component reports, per component kind (the catalog's namespaces and
//! dimensions, `engine/src/compile/catalog.rs`): EC2 `CPUUtilization` by `InstanceId`, RDS
//! `CPUUtilization` by `DBInstanceIdentifier`, ECS `CPUUtilization` by `ClusterName` and
//! `ServiceName`, Application ELB `RequestCount` by `LoadBalancer` (AWS: load balancer metrics
//! are reported only when requests flow, so an idle load balancer reads as not reporting).
//! A component whose identifier has none of these dimensions cannot be probed; its report says so.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{
    AlarmType, Dimension, Metric, MetricDataQuery, MetricDataResult, MetricStat, RecentlyActive, ScanBy,
    StateValue,
};
use watchkeep_provider::{ComponentProbe, ComponentReport, NoDataAlert, Observation, Result, SeenEntity};

use crate::alarm;
use crate::client::{map_error, Aws, Service};

/// `GetMetricData`: queries per call and datapoints per answer (API reference).
const MAX_QUERIES: usize = 500;
const MAX_DATAPOINTS: u64 = 100_800;
/// `DescribeAlarms`: names per call (API reference, `AlarmNames`: "Maximum number of 100 items").
const MAX_ALARM_NAMES: usize = 100;
/// `ListMetrics`' `RecentlyActive` covers three hours; a longer window lists without it (two weeks).
const RECENTLY_ACTIVE: Duration = Duration::from_secs(3 * 3600);

/// How CloudWatch shows that one kind of resource reports.
struct Signal {
    kind: &'static str,
    namespace: &'static str,
    metric: &'static str,
    stat: &'static str,
    dimensions: &'static [&'static str],
}

static SIGNALS: &[Signal] = &[
    Signal {
        kind: "server",
        namespace: "AWS/EC2",
        metric: "CPUUtilization",
        stat: "Average",
        dimensions: &["InstanceId"],
    },
    Signal {
        kind: "database",
        namespace: "AWS/RDS",
        metric: "CPUUtilization",
        stat: "Average",
        dimensions: &["DBInstanceIdentifier"],
    },
    Signal {
        kind: "container",
        namespace: "AWS/ECS",
        metric: "CPUUtilization",
        stat: "Average",
        dimensions: &["ClusterName", "ServiceName"],
    },
    Signal {
        kind: "cloud_service",
        namespace: "AWS/ApplicationELB",
        metric: "RequestCount",
        stat: "Sum",
        dimensions: &["LoadBalancer"],
    },
];

/// The signal for a probe: its kind's, when its identifier has that signal's dimensions, else the
/// first whose dimensions the identifier has (a `custom` component with `InstanceId`).
fn signal_of(probe: &ComponentProbe) -> Option<usize> {
    let fits = |s: &Signal| s.dimensions.iter().all(|d| probe.identifier.contains_key(*d));
    SIGNALS.iter().position(|s| s.kind == probe.kind && fits(s)).or_else(|| SIGNALS.iter().position(fits))
}

/// One metric to ask `GetMetricData` about: a signal and its dimension values.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Series {
    signal: usize,
    dims: Vec<(String, String)>,
}

impl Series {
    fn describe(&self) -> String {
        let s = &SIGNALS[self.signal];
        let dims: Vec<String> = self.dims.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("{} {} {}", s.namespace, s.metric, dims.join(","))
    }
}

pub(crate) async fn observe(
    aws: &Aws,
    components: &[ComponentProbe],
    alerts: &[(String, String)],
    window: Duration,
) -> Result<Observation> {
    let calls_before = aws.calls();
    let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis());
    let now_ms = i64::try_from(now_ms).unwrap_or(i64::MAX);
    // Whole seconds, and a window of at least a minute (the smallest period).
    let window_secs = window.as_secs().max(60);
    let end = now_ms / 1000;
    let start = end - i64::try_from(window_secs).unwrap_or(i64::MAX / 2);

    // What to ask: every probe's series, then every recently active candidate for `seen`.
    let probe_series: Vec<Option<Series>> = components
        .iter()
        .map(|p| {
            let index = signal_of(p)?;
            let signal = &SIGNALS[index];
            let dims =
                signal.dimensions.iter().map(|d| ((*d).to_owned(), p.identifier[*d].clone())).collect();
            Some(Series { signal: index, dims })
        })
        .collect();
    let candidates = recently_active(aws, window).await?;
    let mut all: Vec<Series> = Vec::new();
    let mut index: HashMap<Series, usize> = HashMap::new();
    for s in probe_series.iter().flatten().chain(candidates.iter()) {
        if !index.contains_key(s) {
            index.insert(s.clone(), all.len());
            all.push(s.clone());
        }
    }
    let newest = newest_datapoints(aws, &all, start, end, window_secs).await?;

    let reports = components
        .iter()
        .zip(&probe_series)
        .map(|(probe, series)| {
            let Some(series) = series else {
                return ComponentReport {
                    component: probe.name.clone(),
                    reporting: false,
                    last_reported: None,
                    detail: format!(
                        "no CloudWatch metric to probe: the identifier has none of {} (kind {})",
                        SIGNALS.iter().map(|s| s.dimensions.join("+")).collect::<Vec<_>>().join(", "),
                        probe.kind
                    ),
                };
            };
            let last = index.get(series).and_then(|&i| newest[i]);
            ComponentReport {
                component: probe.name.clone(),
                reporting: last.is_some(),
                last_reported: last.map(rfc3339),
                detail: match last {
                    Some(t) => format!("GetMetricData {}: last datapoint {}", series.describe(), rfc3339(t)),
                    None => {
                        format!("GetMetricData {}: no datapoints since {}", series.describe(), rfc3339(start))
                    }
                },
            }
        })
        .collect();

    let seen = candidates
        .iter()
        .filter_map(|s| {
            let last = newest[*index.get(s)?]?;
            let signal = &SIGNALS[s.signal];
            Some(SeenEntity {
                name: s.dims.iter().map(|(_, v)| v.as_str()).collect::<Vec<_>>().join("/"),
                kind: Some(signal.kind.to_owned()),
                identifier: s.dims.iter().cloned().collect::<BTreeMap<_, _>>(),
                last_reported: Some(rfc3339(last)),
            })
        })
        .collect();

    let names: Vec<&str> = alerts
        .iter()
        .filter(|(t, _)| t == alarm::METRIC_TYPE || t == alarm::COMPOSITE_TYPE)
        .map(|(_, id)| id.as_str())
        .collect();
    let no_data = insufficient_data(aws, &names).await?;

    Ok(Observation { components: reports, seen, no_data, api_calls: aws.calls() - calls_before })
}

/// Every resource of every signal with recent data, by exact dimension set (`InstanceId` alone,
/// not `InstanceId` with `AutoScalingGroupName`), in the order CloudWatch lists them.
async fn recently_active(aws: &Aws, window: Duration) -> Result<Vec<Series>> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for (i, signal) in SIGNALS.iter().enumerate() {
        let mut token: Option<String> = None;
        loop {
            let mut req =
                aws.cw().await.list_metrics().namespace(signal.namespace).metric_name(signal.metric);
            if window <= RECENTLY_ACTIVE {
                req = req.recently_active(RecentlyActive::Pt3H);
            }
            let page = req
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| map_error(Service::CloudWatch, "ListMetrics", e, &[]))?;
            for m in page.metrics() {
                let dims: BTreeMap<&str, &str> =
                    m.dimensions().iter().filter_map(|d| Some((d.name()?, d.value()?))).collect();
                if dims.len() != signal.dimensions.len()
                    || !signal.dimensions.iter().all(|d| dims.contains_key(d))
                {
                    continue;
                }
                let series = Series {
                    signal: i,
                    dims: signal.dimensions.iter().map(|d| ((*d).to_owned(), dims[d].to_owned())).collect(),
                };
                if seen.insert(series.clone()) {
                    out.push(series);
                }
            }
            match page.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                _ => break,
            }
        }
    }
    Ok(out)
}

/// The newest datapoint (epoch seconds) of each series in `[start, end)`, `None` when it has
/// none: `GetMetricData`, 500 queries a call, every `NextToken` page.
async fn newest_datapoints(
    aws: &Aws,
    series: &[Series],
    start: i64,
    end: i64,
    window_secs: u64,
) -> Result<Vec<Option<i64>>> {
    let mut newest = vec![None; series.len()];
    for (chunk_no, chunk) in series.chunks(MAX_QUERIES).enumerate() {
        // The smallest whole-minute period that keeps the answer within 100,800 datapoints.
        let n = chunk.len() as u64;
        let minutes = (window_secs * n).div_ceil(MAX_DATAPOINTS * 60).max(1);
        let period = i32::try_from(minutes * 60).unwrap_or(i32::MAX);
        let queries: Vec<MetricDataQuery> = chunk
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let signal = &SIGNALS[s.signal];
                let dims = s.dims.iter().map(|(k, v)| Dimension::builder().name(k).value(v).build());
                let metric = Metric::builder()
                    .namespace(signal.namespace)
                    .metric_name(signal.metric)
                    .set_dimensions(Some(dims.collect()))
                    .build();
                let stat = MetricStat::builder().metric(metric).period(period).stat(signal.stat).build();
                MetricDataQuery::builder().id(format!("q{i}")).metric_stat(stat).return_data(true).build()
            })
            .collect();
        for r in metric_data(aws, queries, start, end, ScanBy::TimestampDescending).await? {
            let Some(i) = r.id().and_then(|id| id.strip_prefix('q')).and_then(|n| n.parse::<usize>().ok())
            else {
                continue;
            };
            let Some(slot) = newest.get_mut(chunk_no * MAX_QUERIES + i) else { continue };
            let t = r.timestamps().iter().map(DateTime::secs).filter(|t| (start..end).contains(t)).max();
            if t > *slot {
                *slot = t;
            }
        }
    }
    Ok(newest)
}

/// The alarms among `names` (metric or composite) whose state is `INSUFFICIENT_DATA`, 100 names
/// a call.
async fn insufficient_data(aws: &Aws, names: &[&str]) -> Result<Vec<NoDataAlert>> {
    let mut out = Vec::new();
    for chunk in names.chunks(MAX_ALARM_NAMES) {
        let page = aws
            .cw()
            .await
            .describe_alarms()
            .set_alarm_names(Some(chunk.iter().map(|n| (*n).to_owned()).collect()))
            .alarm_types(AlarmType::MetricAlarm)
            .alarm_types(AlarmType::CompositeAlarm)
            .max_records(i32::try_from(MAX_ALARM_NAMES).unwrap_or(100))
            .send()
            .await
            .map_err(|e| map_error(Service::CloudWatch, "DescribeAlarms", e, &[]))?;
        let metric = page
            .metric_alarms()
            .iter()
            .map(|a| (alarm::METRIC_TYPE, a.alarm_name(), a.state_value(), a.state_updated_timestamp()));
        let composite = page
            .composite_alarms()
            .iter()
            .map(|a| (alarm::COMPOSITE_TYPE, a.alarm_name(), a.state_value(), a.state_updated_timestamp()));
        for (rtype, name, state, since) in metric.chain(composite) {
            let (Some(name), Some(StateValue::InsufficientData)) = (name, state) else { continue };
            if !chunk.contains(&name) {
                continue;
            }
            out.push(NoDataAlert {
                resource_type: rtype.to_owned(),
                id: name.to_owned(),
                state: StateValue::InsufficientData.as_str().to_owned(),
                since: since.map(|t| rfc3339(t.secs())),
            });
        }
    }
    Ok(out)
}

fn rfc3339(epoch: i64) -> String {
    chrono::DateTime::from_timestamp(epoch, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| epoch.to_string())
}

/// Every result of one GetMetricData request (at most [`MAX_QUERIES`] queries) over
/// `start..end` (epoch seconds), following `NextToken`: the one paginated reader that `observe`
/// and the dashboard pictures share.
pub(crate) async fn metric_data(
    aws: &Aws,
    queries: Vec<MetricDataQuery>,
    start: i64,
    end: i64,
    scan_by: ScanBy,
) -> Result<Vec<MetricDataResult>> {
    let mut results = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = aws
            .cw()
            .await
            .get_metric_data()
            .set_metric_data_queries(Some(queries.clone()))
            .start_time(DateTime::from_secs(start))
            .end_time(DateTime::from_secs(end))
            .scan_by(scan_by.clone())
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| map_error(Service::CloudWatch, "GetMetricData", e, &[]))?;
        results.extend(page.metric_data_results().iter().cloned());
        match page.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => return Ok(results),
        }
    }
}
