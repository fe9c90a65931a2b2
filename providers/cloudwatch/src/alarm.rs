//! `cloudwatch_metric_alarm` and `cloudwatch_composite_alarm`: PutMetricAlarm /
//! PutCompositeAlarm, DescribeAlarms, DeleteAlarms. The id is the alarm name.
//!
//! Both puts are upserts keyed by the name, so `create` first looks for an alarm of that name and
//! refuses ([`ProviderError::Conflict`]) to overwrite one that watchkeep does not own for this
//! address. DescribeAlarms returns no tags, so refresh reads ownership from the description's
//! marker line; the collision check reads the tags (ListTagsForResource).

use aws_sdk_cloudwatch::types::{
    AlarmType, ComparisonOperator, CompositeAlarm, Dimension, Metric, MetricAlarm, MetricDataQuery,
    MetricStat, StandardUnit, Statistic, Tag,
};
use serde_json::{Map, Value};
use watchkeep_provider::{LiveObject, ProviderError, Result};

use crate::client::{map_error, Service};
use crate::marker;
use crate::normalize::{self, ACTION_LISTS};
use crate::wire::{self, Fields};
use crate::CloudWatchProvider;

pub(crate) const METRIC_TYPE: &str = "cloudwatch_metric_alarm";
pub(crate) const COMPOSITE_TYPE: &str = "cloudwatch_composite_alarm";

/// Alarms per DescribeAlarms page (AWS's maximum and default).
pub(crate) const PAGE_SIZE: i32 = 100;

/// What PutMetricAlarm takes.
pub const METRIC_ATTRIBUTES: &[&str] = &[
    "AlarmName",
    "AlarmDescription",
    "ActionsEnabled",
    "AlarmActions",
    "OKActions",
    "InsufficientDataActions",
    "MetricName",
    "Namespace",
    "Statistic",
    "ExtendedStatistic",
    "Dimensions",
    "Period",
    "Unit",
    "EvaluationPeriods",
    "DatapointsToAlarm",
    "Threshold",
    "ComparisonOperator",
    "TreatMissingData",
    "EvaluateLowSampleCountPercentile",
    "Metrics",
    "ThresholdMetricId",
    "Tags",
];

/// What PutCompositeAlarm takes.
pub const COMPOSITE_ATTRIBUTES: &[&str] = &[
    "AlarmName",
    "AlarmRule",
    "AlarmDescription",
    "ActionsEnabled",
    "AlarmActions",
    "OKActions",
    "InsufficientDataActions",
    "ActionsSuppressor",
    "ActionsSuppressorWaitPeriod",
    "ActionsSuppressorExtensionPeriod",
    "Tags",
];

const METRIC_QUERY_ATTRIBUTES: &[&str] =
    &["Id", "Expression", "Label", "ReturnData", "Period", "MetricStat", "AccountId"];
const METRIC_STAT_ATTRIBUTES: &[&str] = &["Metric", "Period", "Stat", "Unit"];
const METRIC_ATTRIBUTES_INNER: &[&str] = &["Namespace", "MetricName", "Dimensions"];

/// The comparison operators PutMetricAlarm accepts.
pub const COMPARISON_OPERATORS: &[&str] = &[
    "GreaterThanOrEqualToThreshold",
    "GreaterThanThreshold",
    "LessThanThreshold",
    "LessThanOrEqualToThreshold",
    "LessThanLowerOrGreaterThanUpperThreshold",
    "LessThanLowerThreshold",
    "GreaterThanUpperThreshold",
];

/// The `TreatMissingData` values.
pub const TREAT_MISSING_DATA: &[&str] = &["breaching", "notBreaching", "ignore", "missing"];

/// The simple statistics (`Statistic`); percentiles and the like go in `ExtendedStatistic`.
pub const STATISTICS: &[&str] = &["SampleCount", "Average", "Sum", "Minimum", "Maximum"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AlarmKind {
    Metric,
    Composite,
}

impl AlarmKind {
    pub(crate) fn resource_type(self) -> &'static str {
        match self {
            AlarmKind::Metric => METRIC_TYPE,
            AlarmKind::Composite => COMPOSITE_TYPE,
        }
    }

    fn aws_type(self) -> AlarmType {
        match self {
            AlarmKind::Metric => AlarmType::MetricAlarm,
            AlarmKind::Composite => AlarmType::CompositeAlarm,
        }
    }

    fn noun(self) -> &'static str {
        match self {
            AlarmKind::Metric => "metric alarm",
            AlarmKind::Composite => "composite alarm",
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Desired attributes → requests

/// A parsed `cloudwatch_metric_alarm`.
#[derive(Debug, Clone, Default)]
pub(crate) struct MetricAlarmSpec {
    name: String,
    description: Option<String>,
    actions_enabled: Option<bool>,
    actions: [Option<Vec<String>>; 3],
    metric_name: Option<String>,
    namespace: Option<String>,
    statistic: Option<String>,
    extended_statistic: Option<String>,
    dimensions: Option<Vec<(String, String)>>,
    period: Option<i32>,
    unit: Option<String>,
    evaluation_periods: Option<i32>,
    datapoints_to_alarm: Option<i32>,
    threshold: Option<f64>,
    comparison_operator: Option<String>,
    treat_missing_data: Option<String>,
    evaluate_low_sample_count_percentile: Option<String>,
    metrics: Option<Vec<QuerySpec>>,
    threshold_metric_id: Option<String>,
    tags: Option<Vec<(String, String)>>,
}

#[derive(Debug, Clone, Default)]
struct QuerySpec {
    id: String,
    expression: Option<String>,
    label: Option<String>,
    return_data: Option<bool>,
    period: Option<i32>,
    account_id: Option<String>,
    stat: Option<StatSpec>,
}

#[derive(Debug, Clone, Default)]
struct StatSpec {
    namespace: Option<String>,
    metric_name: Option<String>,
    dimensions: Option<Vec<(String, String)>>,
    period: Option<i32>,
    stat: String,
    unit: Option<String>,
}

/// A parsed `cloudwatch_composite_alarm`.
#[derive(Debug, Clone, Default)]
pub(crate) struct CompositeAlarmSpec {
    name: String,
    rule: String,
    description: Option<String>,
    actions_enabled: Option<bool>,
    actions: [Option<Vec<String>>; 3],
    suppressor: Option<String>,
    suppressor_wait_period: Option<i32>,
    suppressor_extension_period: Option<i32>,
    tags: Option<Vec<(String, String)>>,
}

fn action_lists(f: &Fields<'_>) -> Result<[Option<Vec<String>>; 3]> {
    Ok([f.str_list(ACTION_LISTS[0])?, f.str_list(ACTION_LISTS[1])?, f.str_list(ACTION_LISTS[2])?])
}

impl MetricAlarmSpec {
    pub(crate) fn parse(attrs: &Value) -> Result<Self> {
        let map = wire::object(METRIC_TYPE, attrs)?;
        let f = Fields::new(METRIC_TYPE, map);
        f.check_known(METRIC_ATTRIBUTES)?;
        let metrics = match f.objects("Metrics")? {
            None => None,
            Some(items) => Some(items.iter().map(QuerySpec::parse).collect::<Result<Vec<_>>>()?),
        };
        Ok(MetricAlarmSpec {
            name: f.req_str("AlarmName")?,
            description: f.str("AlarmDescription")?,
            actions_enabled: f.bool("ActionsEnabled")?,
            actions: action_lists(&f)?,
            metric_name: f.str("MetricName")?,
            namespace: f.str("Namespace")?,
            statistic: f.str("Statistic")?,
            extended_statistic: f.str("ExtendedStatistic")?,
            dimensions: f.dimensions("Dimensions")?,
            period: f.i32("Period")?,
            unit: f.str("Unit")?,
            evaluation_periods: f.i32("EvaluationPeriods")?,
            datapoints_to_alarm: f.i32("DatapointsToAlarm")?,
            threshold: f.f64("Threshold")?,
            comparison_operator: f.str("ComparisonOperator")?,
            treat_missing_data: f.str("TreatMissingData")?,
            evaluate_low_sample_count_percentile: f.str("EvaluateLowSampleCountPercentile")?,
            metrics,
            threshold_metric_id: f.str("ThresholdMetricId")?,
            tags: f.tags("Tags")?,
        })
    }

    /// PutMetricAlarm's rules, checked locally so a plan fails before anything is written.
    pub(crate) fn validate(&self) -> Result<()> {
        let err = |m: String| Err(wire::invalid(METRIC_TYPE, format!("alarm `{}`: {m}", self.name)));
        validate_common(METRIC_TYPE, &self.name, self.description.as_deref(), &self.actions)?;
        let sources = [self.statistic.is_some(), self.extended_statistic.is_some(), self.metrics.is_some()];
        if sources.iter().filter(|s| **s).count() != 1 {
            return err(
                "set exactly one of `Statistic`, `ExtendedStatistic` (a single metric) or `Metrics` \
                        (metric math)"
                    .into(),
            );
        }
        if let Some(s) = &self.statistic {
            if !STATISTICS.contains(&s.as_str()) {
                return err(format!(
                    "`Statistic` must be one of {} (got `{s}`); percentiles such as `p99` go in \
                     `ExtendedStatistic`",
                    crate::config::quoted_list(STATISTICS)
                ));
            }
        }
        let Some(evaluation_periods) = self.evaluation_periods else {
            return err("`EvaluationPeriods` is required".into());
        };
        if evaluation_periods < 1 {
            return err(format!("`EvaluationPeriods` must be at least 1 (got {evaluation_periods})"));
        }
        match &self.comparison_operator {
            None => return err("`ComparisonOperator` is required".into()),
            Some(op) if !COMPARISON_OPERATORS.contains(&op.as_str()) => {
                return err(format!(
                    "`ComparisonOperator` must be one of {} (got `{op}`)",
                    crate::config::quoted_list(COMPARISON_OPERATORS)
                ))
            }
            Some(_) => {}
        }
        if let Some(t) = &self.treat_missing_data {
            if !TREAT_MISSING_DATA.contains(&t.as_str()) {
                return err(format!(
                    "`TreatMissingData` must be one of {} (got `{t}`)",
                    crate::config::quoted_list(TREAT_MISSING_DATA)
                ));
            }
        }
        if let Some(d) = self.datapoints_to_alarm {
            if d < 1 || d > evaluation_periods {
                return err(format!(
                    "`DatapointsToAlarm` must be between 1 and `EvaluationPeriods` ({evaluation_periods}) (got {d})"
                ));
            }
        }
        match (self.threshold.is_some(), self.threshold_metric_id.is_some()) {
            (true, true) => {
                return err(
                    "set either `Threshold` or `ThresholdMetricId` (anomaly detection), not both".into()
                )
            }
            (false, false) => {
                return err("`Threshold` is required (or `ThresholdMetricId` for anomaly detection)".into())
            }
            _ => {}
        }
        if let Some(unit) = &self.unit {
            check_unit(&self.name, "Unit", unit)?;
        }
        if let Some(e) = &self.evaluate_low_sample_count_percentile {
            if e != "evaluate" && e != "ignore" {
                return err(format!(
                    "`EvaluateLowSampleCountPercentile` must be `evaluate` or `ignore` (got `{e}`)"
                ));
            }
            if self.extended_statistic.is_none() {
                return err("`EvaluateLowSampleCountPercentile` applies only to percentile alarms \
                            (`ExtendedStatistic`)"
                    .into());
            }
        }
        if self.statistic.is_some() || self.extended_statistic.is_some() {
            if self.metric_name.is_none() || self.namespace.is_none() {
                return err(
                    "`MetricName` and `Namespace` are required with `Statistic` / `ExtendedStatistic`".into(),
                );
            }
            let Some(period) = self.period else {
                return err("`Period` is required with `Statistic` / `ExtendedStatistic`".into());
            };
            check_period(&self.name, "Period", period, evaluation_periods)?;
        }
        if let Some(metrics) = &self.metrics {
            if self.metric_name.is_some()
                || self.namespace.is_some()
                || self.period.is_some()
                || self.dimensions.is_some()
            {
                return err(
                    "with `Metrics` (metric math), `MetricName`, `Namespace`, `Period` and `Dimensions` \
                            go inside each query's `MetricStat`"
                        .into(),
                );
            }
            if metrics.is_empty() {
                return err("`Metrics` must not be empty".into());
            }
            let returning = metrics.iter().filter(|q| q.return_data != Some(false)).count();
            if returning != 1 {
                return err(format!(
                    "exactly one query in `Metrics` must return data (the others need `ReturnData = false`); \
                     {returning} do"
                ));
            }
            let mut ids = std::collections::HashSet::new();
            for (i, q) in metrics.iter().enumerate() {
                let at = format!("`Metrics[{i}]`");
                if !ids.insert(q.id.as_str()) {
                    return err(format!("{at}: the `Id` `{}` is used twice", q.id));
                }
                let first = q.id.chars().next().unwrap_or('A');
                if !first.is_ascii_lowercase() || !q.id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                {
                    return err(format!(
                        "{at}: `Id` must start with a lowercase letter and hold only letters, digits and `_` (got `{}`)",
                        q.id
                    ));
                }
                match (&q.expression, &q.stat) {
                    (Some(_), Some(_)) | (None, None) => {
                        return err(format!("{at}: set exactly one of `Expression` or `MetricStat`"))
                    }
                    (None, Some(stat)) => {
                        if stat.metric_name.is_none() || stat.namespace.is_none() {
                            return err(format!(
                                "{at}: `MetricStat.Metric` needs `Namespace` and `MetricName`"
                            ));
                        }
                        let Some(period) = stat.period else {
                            return err(format!("{at}: `MetricStat.Period` is required"));
                        };
                        check_period(
                            &self.name,
                            &format!("Metrics[{i}].MetricStat.Period"),
                            period,
                            evaluation_periods,
                        )?;
                        if let Some(unit) = &stat.unit {
                            check_unit(&self.name, &format!("Metrics[{i}].MetricStat.Unit"), unit)?;
                        }
                    }
                    (Some(_), None) => {
                        if let Some(period) = q.period {
                            check_period(
                                &self.name,
                                &format!("Metrics[{i}].Period"),
                                period,
                                evaluation_periods,
                            )?;
                        }
                    }
                }
            }
            if let Some(id) = &self.threshold_metric_id {
                if !metrics.iter().any(|q| &q.id == id) {
                    return err(format!("`ThresholdMetricId` `{id}` names no query in `Metrics`"));
                }
            }
        }
        Ok(())
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    async fn send(self, p: &CloudWatchProvider) -> Result<()> {
        let [alarm_actions, ok_actions, insufficient] = self.actions;
        p.aws
            .cw()
            .await
            .put_metric_alarm()
            .alarm_name(self.name)
            .set_alarm_description(self.description)
            .set_actions_enabled(self.actions_enabled)
            .set_alarm_actions(alarm_actions)
            .set_ok_actions(ok_actions)
            .set_insufficient_data_actions(insufficient)
            .set_metric_name(self.metric_name)
            .set_namespace(self.namespace)
            .set_statistic(self.statistic.as_deref().map(Statistic::from))
            .set_extended_statistic(self.extended_statistic)
            .set_dimensions(self.dimensions.map(dimensions))
            .set_period(self.period)
            .set_unit(self.unit.as_deref().map(StandardUnit::from))
            .set_evaluation_periods(self.evaluation_periods)
            .set_datapoints_to_alarm(self.datapoints_to_alarm)
            .set_threshold(self.threshold)
            .set_comparison_operator(self.comparison_operator.as_deref().map(ComparisonOperator::from))
            .set_treat_missing_data(self.treat_missing_data)
            .set_evaluate_low_sample_count_percentile(self.evaluate_low_sample_count_percentile)
            .set_metrics(self.metrics.map(|qs| qs.into_iter().map(QuerySpec::into_sdk).collect()))
            .set_threshold_metric_id(self.threshold_metric_id)
            .set_tags(self.tags.map(tags))
            .send()
            .await
            .map_err(|e| map_error(Service::CloudWatch, "PutMetricAlarm", e, &[]))?;
        Ok(())
    }
}

impl QuerySpec {
    fn parse(f: &Fields<'_>) -> Result<Self> {
        f.check_known(METRIC_QUERY_ATTRIBUTES)?;
        let stat = match f.object("MetricStat")? {
            None => None,
            Some(s) => {
                s.check_known(METRIC_STAT_ATTRIBUTES)?;
                let metric = s.object("Metric")?.ok_or_else(|| s.missing("Metric"))?;
                metric.check_known(METRIC_ATTRIBUTES_INNER)?;
                Some(StatSpec {
                    namespace: metric.str("Namespace")?,
                    metric_name: metric.str("MetricName")?,
                    dimensions: metric.dimensions("Dimensions")?,
                    period: s.i32("Period")?,
                    stat: s.req_str("Stat")?,
                    unit: s.str("Unit")?,
                })
            }
        };
        Ok(QuerySpec {
            id: f.req_str("Id")?,
            expression: f.str("Expression")?,
            label: f.str("Label")?,
            return_data: f.bool("ReturnData")?,
            period: f.i32("Period")?,
            account_id: f.str("AccountId")?,
            stat,
        })
    }

    fn into_sdk(self) -> MetricDataQuery {
        MetricDataQuery::builder()
            .id(self.id)
            .set_expression(self.expression)
            .set_label(self.label)
            .set_return_data(self.return_data)
            .set_period(self.period)
            .set_account_id(self.account_id)
            .set_metric_stat(self.stat.map(|s| {
                MetricStat::builder()
                    .metric(
                        Metric::builder()
                            .set_namespace(s.namespace)
                            .set_metric_name(s.metric_name)
                            .set_dimensions(s.dimensions.map(dimensions))
                            .build(),
                    )
                    .set_period(s.period)
                    .stat(s.stat)
                    .set_unit(s.unit.as_deref().map(StandardUnit::from))
                    .build()
            }))
            .build()
    }
}

impl CompositeAlarmSpec {
    pub(crate) fn parse(attrs: &Value) -> Result<Self> {
        let map = wire::object(COMPOSITE_TYPE, attrs)?;
        let f = Fields::new(COMPOSITE_TYPE, map);
        f.check_known(COMPOSITE_ATTRIBUTES)?;
        Ok(CompositeAlarmSpec {
            name: f.req_str("AlarmName")?,
            rule: f.req_str("AlarmRule")?,
            description: f.str("AlarmDescription")?,
            actions_enabled: f.bool("ActionsEnabled")?,
            actions: action_lists(&f)?,
            suppressor: f.str("ActionsSuppressor")?,
            suppressor_wait_period: f.i32("ActionsSuppressorWaitPeriod")?,
            suppressor_extension_period: f.i32("ActionsSuppressorExtensionPeriod")?,
            tags: f.tags("Tags")?,
        })
    }

    pub(crate) fn validate(&self) -> Result<()> {
        validate_common(COMPOSITE_TYPE, &self.name, self.description.as_deref(), &self.actions)?;
        let err = |m: String| Err(wire::invalid(COMPOSITE_TYPE, format!("alarm `{}`: {m}", self.name)));
        if self.rule.chars().count() > 10240 {
            return err("`AlarmRule` is longer than 10240 characters".into());
        }
        if self.suppressor.is_none()
            && (self.suppressor_wait_period.is_some() || self.suppressor_extension_period.is_some())
        {
            return err("`ActionsSuppressorWaitPeriod` and `ActionsSuppressorExtensionPeriod` need \
                        `ActionsSuppressor`"
                .into());
        }
        Ok(())
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    async fn send(self, p: &CloudWatchProvider) -> Result<()> {
        let [alarm_actions, ok_actions, insufficient] = self.actions;
        p.aws
            .cw()
            .await
            .put_composite_alarm()
            .alarm_name(self.name)
            .alarm_rule(self.rule)
            .set_alarm_description(self.description)
            .set_actions_enabled(self.actions_enabled)
            .set_alarm_actions(alarm_actions)
            .set_ok_actions(ok_actions)
            .set_insufficient_data_actions(insufficient)
            .set_actions_suppressor(self.suppressor)
            .set_actions_suppressor_wait_period(self.suppressor_wait_period)
            .set_actions_suppressor_extension_period(self.suppressor_extension_period)
            .set_tags(self.tags.map(tags))
            .send()
            .await
            .map_err(|e| map_error(Service::CloudWatch, "PutCompositeAlarm", e, &[]))?;
        Ok(())
    }
}

fn validate_common(
    rtype: &str,
    name: &str,
    description: Option<&str>,
    actions: &[Option<Vec<String>>; 3],
) -> Result<()> {
    let err = |m: String| Err(wire::invalid(rtype, format!("alarm `{name}`: {m}")));
    if name.chars().count() > 255 {
        return err("`AlarmName` is longer than 255 characters".into());
    }
    if name.chars().any(char::is_control) {
        return err("`AlarmName` contains control characters".into());
    }
    if description.is_some_and(|d| d.chars().count() > marker::MAX_ALARM_DESCRIPTION) {
        return err(format!(
            "`AlarmDescription` is longer than {} characters",
            marker::MAX_ALARM_DESCRIPTION
        ));
    }
    for (key, list) in ACTION_LISTS.iter().zip(actions) {
        let Some(list) = list else { continue };
        if list.len() > 5 {
            return err(format!("`{key}` has {} actions; AWS allows at most 5", list.len()));
        }
    }
    check_action_arns(rtype, name, actions)
}

/// Every action is an ARN. A topic of the configuration arrives as its ARN (the engine resolves
/// the link); anything else is refused before a request, at plan (validation) and at write.
fn check_action_arns(rtype: &str, name: &str, actions: &[Option<Vec<String>>; 3]) -> Result<()> {
    for (key, list) in ACTION_LISTS.iter().zip(actions) {
        for a in list.iter().flatten() {
            if !a.starts_with("arn:") {
                return Err(wire::invalid(
                    rtype,
                    format!("alarm `{name}`: `{key}` holds `{a}`, which is not an ARN"),
                ));
            }
        }
    }
    Ok(())
}

/// Valid periods are 10, 20, 30 and multiples of 60; `Period × EvaluationPeriods` may not
/// exceed one day for periods under an hour, seven days otherwise.
fn check_period(name: &str, attr: &str, period: i32, evaluation_periods: i32) -> Result<()> {
    let err = |m: String| Err(wire::invalid(METRIC_TYPE, format!("alarm `{name}`: {m}")));
    if !(matches!(period, 10 | 20 | 30) || (period > 0 && period % 60 == 0)) {
        return err(format!("`{attr}` must be 10, 20, 30 or a multiple of 60 seconds (got {period})"));
    }
    let total = i64::from(period) * i64::from(evaluation_periods);
    let (limit, why) =
        if period < 3600 { (86_400, "one day for periods under an hour") } else { (604_800, "seven days") };
    if total > limit {
        return err(format!(
            "`{attr}` × `EvaluationPeriods` is {total} seconds; AWS allows at most {limit} ({why})"
        ));
    }
    Ok(())
}

fn check_unit(name: &str, attr: &str, unit: &str) -> Result<()> {
    if StandardUnit::values().contains(&unit) {
        return Ok(());
    }
    Err(wire::invalid(
        METRIC_TYPE,
        format!(
            "alarm `{name}`: `{attr}` must be a CloudWatch unit such as `Percent`, `Count` or `Seconds` (got `{unit}`)"
        ),
    ))
}

fn dimensions(pairs: Vec<(String, String)>) -> Vec<Dimension> {
    pairs.into_iter().map(|(n, v)| Dimension::builder().name(n).value(v).build()).collect()
}

fn tags(pairs: Vec<(String, String)>) -> Vec<Tag> {
    pairs.into_iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()
}

// ---------------------------------------------------------------------------------------------
// AWS answers → JSON

fn dims_json(dims: &[Dimension]) -> Value {
    wire::pairs(
        dims.iter()
            .map(|d| (d.name().unwrap_or_default().to_string(), d.value().unwrap_or_default().to_string())),
        "Name",
        "Value",
    )
}

/// A metric alarm as PutMetricAlarm would take it (read-only fields left out).
pub(crate) fn metric_alarm_json(a: &MetricAlarm) -> Value {
    let mut m = Map::new();
    wire::put(&mut m, "AlarmName", wire::string(a.alarm_name()));
    wire::put(&mut m, "AlarmDescription", wire::string(a.alarm_description()));
    wire::put(&mut m, "ActionsEnabled", a.actions_enabled().map(Value::Bool));
    wire::put(&mut m, "AlarmActions", wire::strings(a.alarm_actions()));
    wire::put(&mut m, "OKActions", wire::strings(a.ok_actions()));
    wire::put(&mut m, "InsufficientDataActions", wire::strings(a.insufficient_data_actions()));
    wire::put(&mut m, "MetricName", wire::string(a.metric_name()));
    wire::put(&mut m, "Namespace", wire::string(a.namespace()));
    wire::put(&mut m, "Statistic", wire::string(a.statistic().map(Statistic::as_str)));
    wire::put(&mut m, "ExtendedStatistic", wire::string(a.extended_statistic()));
    wire::put(&mut m, "Dimensions", Some(dims_json(a.dimensions())));
    wire::put(&mut m, "Period", a.period().map(Value::from));
    wire::put(&mut m, "Unit", wire::string(a.unit().map(StandardUnit::as_str)));
    wire::put(&mut m, "EvaluationPeriods", a.evaluation_periods().map(Value::from));
    wire::put(&mut m, "DatapointsToAlarm", a.datapoints_to_alarm().map(Value::from));
    wire::put(&mut m, "Threshold", a.threshold().map(wire::number));
    wire::put(
        &mut m,
        "ComparisonOperator",
        wire::string(a.comparison_operator().map(ComparisonOperator::as_str)),
    );
    wire::put(&mut m, "TreatMissingData", wire::string(a.treat_missing_data()));
    wire::put(
        &mut m,
        "EvaluateLowSampleCountPercentile",
        wire::string(a.evaluate_low_sample_count_percentile()),
    );
    let metrics: Vec<Value> = a.metrics().iter().map(query_json).collect();
    wire::put(&mut m, "Metrics", Some(Value::Array(metrics)));
    wire::put(&mut m, "ThresholdMetricId", wire::string(a.threshold_metric_id()));
    Value::Object(m)
}

fn query_json(q: &MetricDataQuery) -> Value {
    let mut m = Map::new();
    wire::put(&mut m, "Id", wire::string(q.id()));
    wire::put(&mut m, "Expression", wire::string(q.expression()));
    wire::put(&mut m, "Label", wire::string(q.label()));
    wire::put(&mut m, "ReturnData", q.return_data().map(Value::Bool));
    wire::put(&mut m, "Period", q.period().map(Value::from));
    wire::put(&mut m, "AccountId", wire::string(q.account_id()));
    if let Some(s) = q.metric_stat() {
        let mut stat = Map::new();
        if let Some(metric) = s.metric() {
            let mut mm = Map::new();
            wire::put(&mut mm, "Namespace", wire::string(metric.namespace()));
            wire::put(&mut mm, "MetricName", wire::string(metric.metric_name()));
            wire::put(&mut mm, "Dimensions", Some(dims_json(metric.dimensions())));
            stat.insert("Metric".into(), Value::Object(mm));
        }
        wire::put(&mut stat, "Period", s.period().map(Value::from));
        wire::put(&mut stat, "Stat", wire::string(s.stat()));
        wire::put(&mut stat, "Unit", wire::string(s.unit().map(StandardUnit::as_str)));
        m.insert("MetricStat".into(), Value::Object(stat));
    }
    Value::Object(m)
}

/// A composite alarm as PutCompositeAlarm would take it.
pub(crate) fn composite_alarm_json(a: &CompositeAlarm) -> Value {
    let mut m = Map::new();
    wire::put(&mut m, "AlarmName", wire::string(a.alarm_name()));
    wire::put(&mut m, "AlarmRule", wire::string(a.alarm_rule()));
    wire::put(&mut m, "AlarmDescription", wire::string(a.alarm_description()));
    wire::put(&mut m, "ActionsEnabled", a.actions_enabled().map(Value::Bool));
    wire::put(&mut m, "AlarmActions", wire::strings(a.alarm_actions()));
    wire::put(&mut m, "OKActions", wire::strings(a.ok_actions()));
    wire::put(&mut m, "InsufficientDataActions", wire::strings(a.insufficient_data_actions()));
    wire::put(&mut m, "ActionsSuppressor", wire::string(a.actions_suppressor()));
    wire::put(&mut m, "ActionsSuppressorWaitPeriod", a.actions_suppressor_wait_period().map(Value::from));
    wire::put(
        &mut m,
        "ActionsSuppressorExtensionPeriod",
        a.actions_suppressor_extension_period().map(Value::from),
    );
    Value::Object(m)
}

fn metric_live(a: &MetricAlarm) -> Option<LiveObject> {
    let name = a.alarm_name()?.to_string();
    let (owned, marker) = marker::from_text(a.alarm_description().unwrap_or(""));
    Some(LiveObject {
        id: name,
        resource_type: METRIC_TYPE.to_string(),
        attrs: normalize::metric_alarm(&metric_alarm_json(a)),
        modified: wire::rfc3339(a.alarm_configuration_updated_timestamp()),
        marker,
        owned,
    })
}

fn composite_live(a: &CompositeAlarm) -> Option<LiveObject> {
    let name = a.alarm_name()?.to_string();
    let (owned, marker) = marker::from_text(a.alarm_description().unwrap_or(""));
    Some(LiveObject {
        id: name,
        resource_type: COMPOSITE_TYPE.to_string(),
        attrs: normalize::composite_alarm(&composite_alarm_json(a)),
        modified: wire::rfc3339(a.alarm_configuration_updated_timestamp()),
        marker,
        owned,
    })
}

// ---------------------------------------------------------------------------------------------
// Operations

/// Every alarm of one kind, following `NextToken` (AWS pages by 100).
pub(crate) async fn list(
    p: &CloudWatchProvider,
    kind: AlarmKind,
    owned_only: bool,
) -> Result<Vec<LiveObject>> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = p
            .aws
            .cw()
            .await
            .describe_alarms()
            .alarm_types(kind.aws_type())
            .max_records(PAGE_SIZE)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| map_error(Service::CloudWatch, "DescribeAlarms", e, &[]))?;
        let objects: Vec<LiveObject> = match kind {
            AlarmKind::Metric => page.metric_alarms().iter().filter_map(metric_live).collect(),
            AlarmKind::Composite => page.composite_alarms().iter().filter_map(composite_live).collect(),
        };
        out.extend(objects.into_iter().filter(|o| !owned_only || o.owned));
        match page.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => break,
        }
    }
    Ok(out)
}

/// The alarm of this name, of either kind: `(kind, arn, live)`.
async fn find(p: &CloudWatchProvider, name: &str) -> Result<Option<(AlarmKind, Option<String>, LiveObject)>> {
    let page = p
        .aws
        .cw()
        .await
        .describe_alarms()
        .alarm_names(name)
        .alarm_types(AlarmType::MetricAlarm)
        .alarm_types(AlarmType::CompositeAlarm)
        .send()
        .await
        .map_err(|e| map_error(Service::CloudWatch, "DescribeAlarms", e, &[]))?;
    if let Some(a) = page.metric_alarms().iter().find(|a| a.alarm_name() == Some(name)) {
        let arn = a.alarm_arn().map(str::to_string);
        return Ok(metric_live(a).map(|live| (AlarmKind::Metric, arn, live)));
    }
    if let Some(a) = page.composite_alarms().iter().find(|a| a.alarm_name() == Some(name)) {
        let arn = a.alarm_arn().map(str::to_string);
        return Ok(composite_live(a).map(|live| (AlarmKind::Composite, arn, live)));
    }
    Ok(None)
}

pub(crate) async fn read(p: &CloudWatchProvider, kind: AlarmKind, name: &str) -> Result<Option<LiveObject>> {
    if name.is_empty() {
        return Ok(None);
    }
    Ok(find(p, name).await?.filter(|(k, _, _)| *k == kind).map(|(_, _, live)| live))
}

/// Refuses to write over an alarm of this name that is not watchkeep's for `marker`.
async fn check_collision(
    p: &CloudWatchProvider,
    kind: AlarmKind,
    name: &str,
    marker: Option<&str>,
) -> Result<()> {
    let Some((existing_kind, arn, _)) = find(p, name).await? else { return Ok(()) };
    let Some(arn) = arn else {
        return Err(ProviderError::Decode {
            message: format!("DescribeAlarms returned alarm `{name}` without an ARN"),
        });
    };
    let tags = p
        .aws
        .cw()
        .await
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .map_err(|e| map_error(Service::CloudWatch, "ListTagsForResource", e, &[]))?;
    let (owned, found) = marker::from_tags(tags.tags().iter().filter_map(|t| Some((t.key()?, t.value()?))));
    let ours = owned && marker.is_some() && found.as_deref() == marker;
    if ours && existing_kind == kind {
        // Our own alarm from an apply that crashed after the put: the put below updates it.
        return Ok(());
    }
    let region = p.region();
    let reason = if existing_kind != kind {
        format!("is a {} (this resource is a {})", existing_kind.noun(), kind.noun())
    } else if owned {
        match found {
            Some(other) => format!(
                "is managed by watchkeep for another address (`{other}`, not `{}`)",
                marker.unwrap_or("?")
            ),
            None => "has a managed-by=watchkeep tag but no watchkeep-address tag".to_string(),
        }
    } else {
        "is not managed by watchkeep (it has no managed-by=watchkeep tag for this address)".to_string()
    };
    Err(ProviderError::Conflict {
        message: format!(
            "an alarm named `{name}` already exists in {region} and {reason}; watchkeep will not overwrite it\n\
             hint: rename the alarm in the configuration, or rename/delete the existing alarm and plan again"
        ),
    })
}

pub(crate) async fn create(p: &CloudWatchProvider, kind: AlarmKind, attrs: &Value) -> Result<LiveObject> {
    let marker = marker::from_attr_tags(attrs);
    write(p, kind, None, attrs, marker.as_deref(), true).await
}

pub(crate) async fn update(
    p: &CloudWatchProvider,
    kind: AlarmKind,
    id: &str,
    attrs: &Value,
) -> Result<LiveObject> {
    write(p, kind, Some(id), attrs, None, false).await
}

async fn write(
    p: &CloudWatchProvider,
    kind: AlarmKind,
    id: Option<&str>,
    attrs: &Value,
    marker: Option<&str>,
    check: bool,
) -> Result<LiveObject> {
    let rtype = kind.resource_type();
    let mut attrs = attrs.clone();
    // The name is the id: an update writes the alarm it was asked to (a rename is a replace).
    if let (Some(id), Some(m)) = (id, attrs.as_object_mut()) {
        match m.get("AlarmName").and_then(Value::as_str) {
            Some(n) if n != id => {
                return Err(wire::invalid(
                    rtype,
                    format!("cannot rename alarm `{id}` to `{n}` in place (a rename is a replace)"),
                ))
            }
            _ => {
                m.insert("AlarmName".into(), Value::String(id.to_string()));
            }
        }
    }
    let name = match kind {
        AlarmKind::Metric => {
            let spec = MetricAlarmSpec::parse(&attrs)?;
            check_action_arns(rtype, spec.name(), &spec.actions)?;
            let name = spec.name().to_string();
            if check {
                check_collision(p, kind, &name, marker).await?;
            }
            spec.send(p).await?;
            name
        }
        AlarmKind::Composite => {
            let spec = CompositeAlarmSpec::parse(&attrs)?;
            check_action_arns(rtype, spec.name(), &spec.actions)?;
            let name = spec.name().to_string();
            if check {
                check_collision(p, kind, &name, marker).await?;
            }
            spec.send(p).await?;
            name
        }
    };
    match read(p, kind, &name).await? {
        Some(live) => Ok(live),
        // Written but not yet visible: report what was written.
        None => {
            let (owned, marker) =
                marker::from_text(attrs.get("AlarmDescription").and_then(Value::as_str).unwrap_or(""));
            Ok(LiveObject {
                id: name,
                resource_type: rtype.to_string(),
                attrs: p.normalize_attrs(rtype, &attrs),
                modified: None,
                marker,
                owned,
            })
        }
    }
}

pub(crate) async fn delete(p: &CloudWatchProvider, name: &str) -> Result<()> {
    if name.is_empty() {
        return Ok(());
    }
    match p
        .aws
        .cw()
        .await
        .delete_alarms()
        .alarm_names(name)
        .send()
        .await
        .map_err(|e| map_error(Service::CloudWatch, "DeleteAlarms", e, &[]))
    {
        Ok(_) | Err(ProviderError::NotFound { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Tags `managed-by=watchkeep`, `watchkeep-address=<marker>` and the description's marker line.
pub(crate) fn mark(attrs: &mut Value, address: &str) {
    let Value::Object(m) = attrs else { return };
    marker::set_tags(m, address);
    let current = match m.get("AlarmDescription") {
        None | Some(Value::Null) => "",
        Some(Value::String(s)) => s.as_str(),
        // Not a string: validation rejects it.
        Some(_) => return,
    };
    let description = marker::mark_description(current, address);
    m.insert("AlarmDescription".into(), Value::String(description));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cpu() -> Value {
        json!({
            "AlarmName": "cpu", "Namespace": "AWS/EC2", "MetricName": "CPUUtilization", "Statistic": "Average",
            "Period": 300, "EvaluationPeriods": 3, "Threshold": 85, "ComparisonOperator": "GreaterThanThreshold",
        })
    }

    fn invalid_message(v: Value) -> String {
        match MetricAlarmSpec::parse(&v).and_then(|s| s.validate()) {
            Err(ProviderError::InvalidConfig { message }) => message,
            other => panic!("expected InvalidConfig for {v}, got {other:?}"),
        }
    }

    fn with(mut v: Value, patch: Value) -> Value {
        for (k, val) in patch.as_object().unwrap() {
            if val.is_null() {
                v.as_object_mut().unwrap().remove(k);
            } else {
                v[k] = val.clone();
            }
        }
        v
    }

    #[test]
    fn valid_alarms_pass() {
        MetricAlarmSpec::parse(&cpu()).unwrap().validate().unwrap();
        let p99 = with(
            cpu(),
            json!({ "Statistic": null, "ExtendedStatistic": "p99", "EvaluateLowSampleCountPercentile": "ignore" }),
        );
        MetricAlarmSpec::parse(&p99).unwrap().validate().unwrap();
        let math = json!({
            "AlarmName": "rate", "EvaluationPeriods": 2, "Threshold": 5, "ComparisonOperator": "GreaterThanThreshold",
            "Metrics": [
                { "Id": "e1", "Expression": "100*m1/m2" },
                { "Id": "m1", "ReturnData": false, "MetricStat": { "Metric": { "Namespace": "A", "MetricName": "E" }, "Period": 60, "Stat": "Sum" } },
                { "Id": "m2", "ReturnData": false, "MetricStat": { "Metric": { "Namespace": "A", "MetricName": "R" }, "Period": 60, "Stat": "Sum" } },
            ],
        });
        MetricAlarmSpec::parse(&math).unwrap().validate().unwrap();
        for period in [10, 20, 30, 60, 3600] {
            MetricAlarmSpec::parse(&with(cpu(), json!({ "Period": period, "EvaluationPeriods": 1 })))
                .unwrap()
                .validate()
                .unwrap();
        }
    }

    #[test]
    fn each_put_metric_alarm_rule() {
        let cases = [
            (with(cpu(), json!({ "ExtendedStatistic": "p99" })), "exactly one of `Statistic`"),
            (with(cpu(), json!({ "Statistic": null })), "exactly one of `Statistic`"),
            (with(cpu(), json!({ "Statistic": "p99" })), "go in `ExtendedStatistic`"),
            (with(cpu(), json!({ "Period": 45 })), "10, 20, 30 or a multiple of 60"),
            (with(cpu(), json!({ "Period": 0 })), "10, 20, 30 or a multiple of 60"),
            (with(cpu(), json!({ "Period": 60, "EvaluationPeriods": 1441 })), "at most 86400"),
            (with(cpu(), json!({ "Period": 3600, "EvaluationPeriods": 169 })), "at most 604800"),
            (with(cpu(), json!({ "DatapointsToAlarm": 4 })), "`DatapointsToAlarm` must be between 1 and"),
            (with(cpu(), json!({ "ComparisonOperator": ">" })), "`ComparisonOperator` must be one of"),
            (with(cpu(), json!({ "ComparisonOperator": null })), "`ComparisonOperator` is required"),
            (with(cpu(), json!({ "TreatMissingData": "zero" })), "`TreatMissingData` must be one of"),
            (with(cpu(), json!({ "EvaluationPeriods": null })), "`EvaluationPeriods` is required"),
            (with(cpu(), json!({ "Threshold": null })), "`Threshold` is required"),
            (with(cpu(), json!({ "Unit": "Parsecs" })), "CloudWatch unit"),
            (with(cpu(), json!({ "Period": null })), "`Period` is required"),
            (
                with(cpu(), json!({ "EvaluateLowSampleCountPercentile": "ignore" })),
                "applies only to percentile",
            ),
            (with(cpu(), json!({ "AlarmActions": ["ops"] })), "holds `ops`, which is not an ARN"),
            // A link placeholder never reaches the provider; were one to, it is no ARN.
            (with(cpu(), json!({ "AlarmActions": ["ref:route.oncall.sns_topic"] })), "which is not an ARN"),
            (
                with(
                    cpu(),
                    json!({ "AlarmActions": (["a", "b", "c", "d", "e", "f"].map(|t| format!("arn:aws:sns:us-east-1:1:{t}"))) }),
                ),
                "at most 5",
            ),
            (
                json!({ "AlarmName": "m", "EvaluationPeriods": 1, "Threshold": 1, "ComparisonOperator": "LessThanThreshold",
                        "Metrics": [{ "Id": "m1", "MetricStat": { "Metric": { "Namespace": "A", "MetricName": "B" }, "Period": 60, "Stat": "Sum" } },
                                    { "Id": "e1", "Expression": "m1*2" }] }),
                "exactly one query in `Metrics` must return data",
            ),
            (
                json!({ "AlarmName": "m", "EvaluationPeriods": 1, "Threshold": 1, "ComparisonOperator": "LessThanThreshold",
                        "Metrics": [{ "Id": "M1", "Expression": "1" }] }),
                "must start with a lowercase letter",
            ),
        ];
        for (attrs, want) in cases {
            let msg = invalid_message(attrs.clone());
            assert!(msg.contains(want), "{attrs}\n=> {msg}\nwanted: {want}");
            assert!(msg.contains("cloudwatch_metric_alarm"), "{msg}");
        }
    }

    #[test]
    fn unknown_and_mistyped_attributes_are_named() {
        let msg = invalid_message(with(cpu(), json!({ "Treshold": 5 })));
        assert!(msg.contains("unknown attribute `Treshold`") && msg.contains("`Threshold`"), "{msg}");
        let msg = invalid_message(with(cpu(), json!({ "Threshold": "85" })));
        assert!(msg.contains("`Threshold` must be a number (got a string)"), "{msg}");
        let bad_query = json!({ "AlarmName": "m", "EvaluationPeriods": 1, "Threshold": 1, "ComparisonOperator": "LessThanThreshold",
                                "Metrics": [{ "Id": "m1", "MetricStat": { "Metric": { "Namespace": "A", "MetricName": "B", "Dims": [] }, "Period": 60, "Stat": "Sum" } }] });
        let msg = invalid_message(bad_query);
        assert!(msg.contains("`Dims`") && msg.contains("Metrics[0].MetricStat.Metric"), "{msg}");
    }

    #[test]
    fn composite_rules() {
        let ok = json!({ "AlarmName": "c", "AlarmRule": "ALARM(a)", "AlarmActions": ["arn:aws:sns:us-east-1:1:ops"] });
        CompositeAlarmSpec::parse(&ok).unwrap().validate().unwrap();
        let err = CompositeAlarmSpec::parse(&json!({ "AlarmName": "c" })).unwrap_err().to_string();
        assert!(err.contains("`AlarmRule` is required"), "{err}");
        let err = CompositeAlarmSpec::parse(&json!({ "AlarmName": "c", "AlarmRule": "x", "Threshold": 1 }))
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown attribute `Threshold`"), "{err}");
        let err = CompositeAlarmSpec::parse(
            &json!({ "AlarmName": "c", "AlarmRule": "x", "ActionsSuppressorWaitPeriod": 60 }),
        )
        .unwrap()
        .validate()
        .unwrap_err()
        .to_string();
        assert!(err.contains("need `ActionsSuppressor`"), "{err}");
    }

    #[test]
    fn mark_sets_tags_and_the_description_line() {
        let mut a = with(
            cpu(),
            json!({ "AlarmDescription": "CPU high", "Tags": [{ "Key": "team", "Value": "web" }] }),
        );
        mark(&mut a, r#"alarm.cpu["web-1"]"#);
        assert_eq!(a["AlarmDescription"], "CPU high\nmanaged-by:watchkeep watchkeep-address:alarm.cpu.web-1");
        assert_eq!(
            a["Tags"],
            json!([{ "Key": "team", "Value": "web" }, { "Key": "managed-by", "Value": "watchkeep" },
                   { "Key": "watchkeep-address", "Value": "alarm.cpu.web-1" }])
        );
        let once = a.clone();
        mark(&mut a, r#"alarm.cpu["web-1"]"#);
        assert_eq!(a, once, "idempotent");
        MetricAlarmSpec::parse(&a).unwrap().validate().unwrap();
    }
}
