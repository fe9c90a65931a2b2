//! CloudWatch's published API quotas, and the `quotas = { ... }` attribute that overrides the
//! adjustable ones.
//!
//! AWS sends no rate headers; it publishes fixed per-account, per-region quotas in transactions
//! per second instead and answers `Throttling` ("Rate exceeded", HTTP 400) above them. Every
//! CloudWatch request is paced to [`crate::client`]'s share of its operation's quota (see
//! `watchkeep_provider::RateBudget::set_fixed_rate`), so an apply of many alarms runs at the quota
//! instead of retrying into throttling.
//!
//! Sources:
//! * "CloudWatch service quotas",
//!   <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_limits.html>
//!   (also kept in the archived `awsdocs/amazon-cloudwatch-user-guide` repository,
//!   `doc_source/cloudwatch_limits.md`): DescribeAlarms 9 TPS (adjustable); PutMetricAlarm 3 TPS
//!   (adjustable); DeleteAlarms, DisableAlarmActions, EnableAlarmActions, SetAlarmState 3 TPS each
//!   ("These quotas cannot be changed"); DescribeAlarmsForMetric 9 TPS (cannot be changed);
//!   DeleteDashboards, GetDashboard, ListDashboards, PutDashboard 10 TPS each (cannot be changed);
//!   GetMetricWidgetImage 20 TPS (cannot be changed); ListMetrics 25 TPS (adjustable);
//!   GetMetricData 50 TPS without Metrics Insights queries (adjustable); GetMetricStatistics
//!   400 TPS (adjustable); PutMetricData 500 TPS (adjustable); PutAnomalyDetector and
//!   DescribeAnomalyDetectors 10 TPS, DeleteAnomalyDetector 5 TPS.
//! * The project's vendor notes (`shared/docs/vendors.md`, "AWS CloudWatch and SNS"), from the
//!   current page: DescribeAlarmHistory 20 TPS (the archived page said 3; the current figure is
//!   used, and it is not adjustable there), ListTagsForResource 10 TPS (not adjustable),
//!   TagResource 20 TPS.
//!
//! AWS publishes nothing for PutCompositeAlarm, UntagResource or any operation not listed here:
//! they are paced conservatively at 3 TPS, the lowest alarm-write quota (PutMetricAlarm's), and
//! may be raised in the provider block if the account is known to allow more.
//!
//! SNS: the calls `routes test` makes are paced ([`SNS_QUOTAS`], [`sns_publish_rate`]), from the
//! "API throttling" table of "Amazon Simple Notification Service endpoints and quotas"
//! (<https://docs.aws.amazon.com/general/latest/gr/sns.html>): Publish 30,000 per second in
//! us-east-1 and 9,000 in us-west-2 and eu-west-1 (region-dependent, lower elsewhere);
//! ListSubscriptionsByTopic 30 per second. The page could not be fetched while this was written;
//! the figures are the ones the brief for this change quotes from it. For every other region
//! Publish is paced at 300 per second, the lowest tier of that table as remembered, on purpose
//! conservative: a route test publishes two messages per topic. The other SNS calls (topics and
//! subscriptions in an apply, a few per route) are not paced; SNS throttling still blocks the
//! operation's family and maps to `RateLimited`, so the engine retries.

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use watchkeep_provider::config::{invalid, quoted_list, type_name};
use watchkeep_provider::ProviderError;

/// Rate for CloudWatch operations AWS publishes no quota for.
pub const UNPUBLISHED_DEFAULT: f64 = 3.0;

/// `(operation, default TPS, adjustable)`.
pub const QUOTAS: &[(&str, f64, bool)] = &[
    ("DescribeAlarms", 9.0, true),
    ("PutMetricAlarm", 3.0, true),
    ("DeleteAlarms", 3.0, false),
    ("DisableAlarmActions", 3.0, false),
    ("EnableAlarmActions", 3.0, false),
    ("SetAlarmState", 3.0, false),
    ("DescribeAlarmsForMetric", 9.0, false),
    ("DescribeAlarmHistory", 20.0, false),
    ("DeleteDashboards", 10.0, false),
    ("GetDashboard", 10.0, false),
    ("ListDashboards", 10.0, false),
    ("PutDashboard", 10.0, false),
    ("GetMetricWidgetImage", 20.0, false),
    ("ListMetrics", 25.0, true),
    ("GetMetricData", 50.0, true),
    ("GetMetricStatistics", 400.0, true),
    ("PutMetricData", 500.0, true),
    ("PutAnomalyDetector", 10.0, true),
    ("DescribeAnomalyDetectors", 10.0, true),
    ("DeleteAnomalyDetector", 5.0, true),
    ("ListTagsForResource", 10.0, false),
    ("TagResource", 20.0, true),
    // Not published (see the module comment): conservative, and adjustable.
    ("UntagResource", UNPUBLISHED_DEFAULT, true),
    ("PutCompositeAlarm", UNPUBLISHED_DEFAULT, true),
];

/// SNS operations with a published per-account, per-region rate (requests per second), other
/// than Publish (see [`sns_publish_rate`]).
pub const SNS_QUOTAS: &[(&str, f64)] = &[("ListSubscriptionsByTopic", 30.0)];

/// Publish's rate in `region` (see the module comment for the source and the conservative
/// default).
pub fn sns_publish_rate(region: &str) -> f64 {
    match region {
        "us-east-1" => 30_000.0,
        "us-west-2" | "eu-west-1" => 9_000.0,
        _ => 300.0,
    }
}

/// The rate each CloudWatch operation is paced to (before the target fraction): the published
/// defaults with the block's overrides applied.
#[derive(Debug, Clone, PartialEq)]
pub struct Quotas {
    rates: BTreeMap<String, f64>,
}

impl Default for Quotas {
    fn default() -> Self {
        Quotas { rates: QUOTAS.iter().map(|(op, tps, _)| (op.to_string(), *tps)).collect() }
    }
}

impl Quotas {
    /// Reads `quotas = { PutMetricAlarm = 10, ... }` (absent or `null`: the published defaults).
    /// Unknown operation names, non-adjustable quotas and values that are not positive numbers
    /// are refused.
    pub fn from_attr(value: Option<&Value>) -> Result<Quotas, ProviderError> {
        let mut quotas = Quotas::default();
        let map: &Map<String, Value> = match value {
            None | Some(Value::Null) => return Ok(quotas),
            Some(Value::Object(m)) => m,
            Some(other) => {
                return Err(invalid(format!(
                    "`quotas` must be a map of CloudWatch operation names to requests per second \
                     (got {})\nhint: write `quotas = {{ PutMetricAlarm = 10 }}`",
                    type_name(other)
                )))
            }
        };
        for (op, v) in map {
            let Some((_, default, adjustable)) = QUOTAS.iter().find(|(name, _, _)| name == op) else {
                let adjustable: Vec<&str> = QUOTAS.iter().filter(|q| q.2).map(|q| q.0).collect();
                return Err(invalid(format!(
                    "`quotas` names an unknown CloudWatch operation `{op}`\nhint: operation names \
                     are spelled as in the CloudWatch API; the adjustable ones are {}",
                    quoted_list(&adjustable)
                )));
            };
            if !adjustable {
                return Err(invalid(format!(
                    "`quotas.{op}` cannot be set: AWS's quota for {op} ({default} requests per second \
                     per account and region) is not adjustable, so no account can send faster \
                     without being throttled\nhint: remove `{op}` from `quotas`"
                )));
            }
            let rate = match v {
                Value::Number(n) => n.as_f64().unwrap_or(f64::NAN),
                other => {
                    return Err(invalid(format!(
                        "`quotas.{op}` must be a number of requests per second (got {})",
                        type_name(other)
                    )))
                }
            };
            if !(rate.is_finite() && rate > 0.0) {
                return Err(invalid(format!(
                    "`quotas.{op}` must be more than 0 requests per second (got {v})\nhint: use the \
                     quota AWS's Service Quotas console shows for this account and region (the \
                     default is {default})"
                )));
            }
            quotas.rates.insert(op.clone(), rate);
        }
        Ok(quotas)
    }

    /// Requests per second allowed for `operation` (AWS's figure or the override; operations
    /// AWS publishes nothing for get [`UNPUBLISHED_DEFAULT`]).
    pub fn rate(&self, operation: &str) -> f64 {
        self.rates.get(operation).copied().unwrap_or(UNPUBLISHED_DEFAULT)
    }

    /// Every operation with its rate, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, f64)> {
        self.rates.iter().map(|(k, v)| (k.as_str(), *v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn message(r: Result<Quotas, ProviderError>) -> String {
        match r {
            Err(ProviderError::InvalidConfig { message }) => message,
            other => panic!("expected InvalidConfig, got {other:?}"),
        }
    }

    #[test]
    fn published_defaults() {
        let q = Quotas::from_attr(None).unwrap();
        assert_eq!(q.rate("PutMetricAlarm"), 3.0);
        assert_eq!(q.rate("DeleteAlarms"), 3.0);
        assert_eq!(q.rate("DescribeAlarms"), 9.0);
        assert_eq!(q.rate("ListTagsForResource"), 10.0);
        assert_eq!(q.rate("SetAlarmState"), 3.0);
        assert_eq!(q.rate("DescribeAlarmHistory"), 20.0);
        assert_eq!(q.rate("SomeFutureOperation"), UNPUBLISHED_DEFAULT);
        assert_eq!(Quotas::from_attr(Some(&Value::Null)).unwrap(), q);
    }

    #[test]
    fn overrides_of_adjustable_quotas() {
        let q = Quotas::from_attr(Some(&json!({ "PutMetricAlarm": 10, "DescribeAlarms": 12.5 }))).unwrap();
        assert_eq!(q.rate("PutMetricAlarm"), 10.0);
        assert_eq!(q.rate("DescribeAlarms"), 12.5);
        assert_eq!(q.rate("DeleteAlarms"), 3.0);
    }

    #[test]
    fn refusals_say_why() {
        let msg = message(Quotas::from_attr(Some(&json!({ "PutMetricAlarms": 10 }))));
        assert!(msg.contains("unknown CloudWatch operation `PutMetricAlarms`"), "{msg}");
        assert!(msg.contains("`PutMetricAlarm`") && !msg.contains("`ListTagsForResource`"), "{msg}");
        let msg = message(Quotas::from_attr(Some(&json!({ "ListTagsForResource": 20 }))));
        assert!(msg.contains("not adjustable") && msg.contains("hint: remove"), "{msg}");
        for bad in [json!(0), json!(-1), json!(0.0)] {
            let msg = message(Quotas::from_attr(Some(&json!({ "PutMetricAlarm": bad }))));
            assert!(msg.contains("must be more than 0"), "{msg}");
        }
        let msg = message(Quotas::from_attr(Some(&json!({ "PutMetricAlarm": "10" }))));
        assert!(msg.contains("must be a number") && msg.contains("a string"), "{msg}");
        let msg = message(Quotas::from_attr(Some(&json!([1]))));
        assert!(msg.contains("`quotas` must be a map"), "{msg}");
    }
}
