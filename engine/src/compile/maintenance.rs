//! `maintenance` blocks → per-vendor silencing objects.
//!
//! * **Datadog** → `datadog_downtime` (v2). One downtime per Datadog component in scope
//!   (`maintenance.<name>["<component>"]`), whose `monitor_identifier.monitor_tags` select
//!   watchkeep's monitors of that component: `component:<name>` + `managed-by:watchkeep` when
//!   every alert in scope is silenced, or one downtime per silenced block
//!   (`maintenance.<name>["<component>"].<origin>`) with `component:<name>` +
//!   `watchkeep-origin:<origin>` (tags the monitor compiler puts on every monitor). `scope` is
//!   `*`: the monitors are picked by tags, not by group (Datadog's downtime reference describes
//!   `downtime_type` 0 as "a downtime applied on * or all", docs.datadoghq.com/api/latest/downtimes;
//!   the recordings only show concrete scopes, and the stand-in accepts `*`). A one-time UTC window is a
//!   one-time schedule `{start, end}` (RFC 3339, `Z`); a recurring window, or a one-time window
//!   in another time zone, is a recurring schedule `{recurrences: [{rrule, duration, start}],
//!   timezone}` whose start is local time (model: downtime_schedule_recurrence_create_update_request:
//!   "Must not include a UTC offset"); a one-time window there is `FREQ=DAILY;COUNT=1`.
//! * **New Relic** → one `newrelic_muting_rule` per block (`maintenance.<name>.newrelic`), whose
//!   condition is `policyId IN [<policies of blocks silenced on all their components>]` OR
//!   `conditionId IN [<the other silenced NRQL conditions on the components in scope>]` (ids
//!   written `ref:<address>`, links the engine resolves), and whose schedule is
//!   NerdGraph's `AlertsMutingRuleScheduleInput` (`startTime`/`endTime` local `NaiveDateTime`s
//!   in `timeZone`; `repeat` DAILY/WEEKLY/MONTHLY, `weeklyRepeatDays`, `repeatCount` or
//!   `endRepeat`). An RRULE New Relic cannot express (INTERVAL > 1, YEARLY, BYMONTHDAY, ...) is
//!   an error at the `recurrence` attribute.
//! * **CloudWatch** → nothing: the CloudWatch API this project speaks (aws-sdk-cloudwatch 1.99,
//!   awsQuery) has no alarm muting. AWS added alarm mute rules (`PutAlarmMuteRule`) in later API
//!   versions, which watchkeep does not use yet. A warning at the block says so.
//!
//! This file holds what every vendor shares (scope, checks, the body text); each vendor's part is
//! its compiler's [`super::VendorCompiler::maintenance`] in `datadog.rs`, `newrelic.rs`,
//! `cloudwatch.rs`.

use chrono::NaiveDateTime;

use super::expand::matching;
use super::{error, warning, DesiredObject, COMPILERS};
use crate::config::{Component, Config, Maintenance};
use crate::diag::Diagnostics;

pub(super) fn compile(cfg: &Config, out: &mut Vec<DesiredObject>, diags: &mut Diagnostics) {
    let mut added = Vec::new();
    for m in cfg.maintenance.values() {
        let comps = in_scope(cfg, m);
        let origin = format!("maintenance.{}", m.name);
        if comps.is_empty() {
            diags.push(warning(
                format!("`{origin}` matches no component"),
                Some(m.span.clone()),
                "check its scope, kinds, components and tags",
            ));
            continue;
        }
        for o in &m.alerts {
            let (kind, name) = o.split_once('.').unwrap_or(("", o));
            let declared = match kind {
                "alert" => cfg.alerts.contains_key(name),
                _ => cfg.baselines.contains_key(name),
            };
            if !declared {
                diags.push(error(
                    format!("`{origin}` silences `{o}`, which is not declared"),
                    Some(m.span.clone()),
                    "name an alert or baseline block of this configuration",
                ));
            }
        }
        let window = Window { m, origin, comps };
        for (_, compiler) in COMPILERS {
            compiler.maintenance(&window, out, &mut added, diags);
        }
    }
    out.extend(added);
}

/// One `maintenance` block as the vendor compilers see it ([`super::VendorCompiler::maintenance`]).
pub(crate) struct Window<'a> {
    pub m: &'a Maintenance,
    /// `maintenance.<name>`.
    pub origin: String,
    /// The components in its scope, on any vendor (never empty).
    pub comps: Vec<&'a Component>,
}

fn in_scope<'a>(cfg: &'a Config, m: &Maintenance) -> Vec<&'a Component> {
    matching(cfg, m.scope.as_deref(), &m.kinds, &m.components)
        .into_iter()
        .filter(|c| m.tags.iter().all(|(k, v)| c.tags.get(k) == Some(v)))
        .collect()
}

/// Whether `address` is an alarm of `origin` for `component`: `alert.cpu["web-1"]` or
/// `baseline.soc2["web-1"].disk`.
pub(super) fn belongs(address: &str, origin: &str, component: &str) -> bool {
    address.strip_prefix(origin).and_then(|rest| rest.strip_prefix(&format!("[\"{component}\"]"))).is_some()
}

pub(super) fn origin_of(o: &DesiredObject) -> Option<&str> {
    o.origin.as_deref()
}

/// The body text: the block's message, then where it comes from.
pub(super) fn text(m: &Maintenance, origin: &str) -> String {
    let mut s = String::new();
    if let Some(msg) = &m.message {
        s.push_str(msg.trim());
        s.push('\n');
    }
    s.push_str(&format!("Managed by watchkeep as {origin}"));
    s
}

pub(super) fn start_of(m: &Maintenance) -> NaiveDateTime {
    // The loader wrote it in this form.
    NaiveDateTime::parse_from_str(&m.start, "%Y-%m-%dT%H:%M:%S").unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{load, LoadOptions};
    use crate::diag::Severity;
    use serde_json::json;
    // The two vendors' schedule conversions, tested with the blocks that use them.
    use super::super::datadog::dd_duration;
    use super::super::newrelic::nr_schedule;

    const BASE: &str = r#"
provider "datadog" {}
provider "newrelic" { account_id = 1234567 }
inventory "prod" {}
component "web-1" {
  inventory = inventory.prod
  kind      = "server"
  provider  = "datadog"
  tags      = { team = "web" }
}
component "web-2" {
  inventory = inventory.prod
  kind      = "server"
  provider  = "newrelic"
  identifier = { hostname = "web-2" }
  tags      = { team = "web" }
}
component "db-1" {
  inventory = inventory.prod
  kind      = "database"
  provider  = "cloudwatch"
  identifier = { DBInstanceIdentifier = "db-1" }
}
baseline "soc2" { scope = inventory.prod }
alert "cpu_saturated" {
  scope  = inventory.prod
  kinds  = ["server"]
  metric = "cpu"
  above  = 95
}
"#;

    /// Loads BASE + `extra`; `Ok((objects, warnings))` or `Err(diagnostics as text)`.
    fn run(extra: &str) -> Result<(Vec<DesiredObject>, Vec<String>), String> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("main.hcl"), format!("{BASE}{extra}")).unwrap();
        let (cfg, _) = load(&LoadOptions::new(dir.path())).map_err(|d| format!("{d:?}"))?;
        let (objs, diags) = super::super::compile_with_warnings(&cfg).map_err(|d| format!("{d:?}"))?;
        let warnings = diags
            .0
            .iter()
            .filter(|d| d.severity == Severity::Warning)
            .map(|d| {
                format!("{} @ {}", d.summary, d.span.as_ref().map(|s| s.to_string()).unwrap_or_default())
            })
            .collect();
        Ok((objs, warnings))
    }

    fn get<'a>(objs: &'a [DesiredObject], address: &str) -> &'a DesiredObject {
        objs.iter().find(|o| o.address == address).unwrap_or_else(|| {
            panic!("no {address} in {:?}", objs.iter().map(|o| &o.address).collect::<Vec<_>>())
        })
    }

    #[test]
    fn weekly_window_compiles_for_datadog_and_newrelic_and_warns_for_cloudwatch() {
        let (objs, warnings) = run(r#"
maintenance "patch_window" {
  scope      = inventory.production_typo_free
  start      = "2026-12-05T02:00"
  duration   = "2h"
  recurrence = "FREQ=WEEKLY;BYDAY=SA"
  timezone   = "Europe/Berlin"
  message    = "Weekly patching"
}
"#
        .replace("inventory.production_typo_free", "inventory.prod")
        .as_str())
        .unwrap();
        let dd = get(&objs, r#"maintenance.patch_window["web-1"]"#);
        assert_eq!(dd.resource_type, "datadog_downtime");
        assert_eq!(
            dd.attrs["monitor_identifier"]["monitor_tags"],
            json!(["component:web-1", "managed-by:watchkeep"])
        );
        assert_eq!(
            dd.attrs["schedule"],
            json!({"recurrences": [{"rrule": "FREQ=WEEKLY;BYDAY=SA", "duration": "2h", "start": "2026-12-05T02:00"}],
                   "timezone": "Europe/Berlin"})
        );
        assert_eq!(dd.attrs["display_timezone"], "Europe/Berlin");
        assert!(dd.attrs["message"].as_str().unwrap().starts_with("Weekly patching\n"));

        let nr = get(&objs, "maintenance.patch_window.newrelic");
        assert_eq!(nr.resource_type, "newrelic_muting_rule");
        assert_eq!(
            nr.attrs["schedule"],
            json!({"startTime": "2026-12-05T02:00:00", "endTime": "2026-12-05T04:00:00", "timeZone": "Europe/Berlin",
                   "repeat": "WEEKLY", "weeklyRepeatDays": ["SATURDAY"]})
        );
        // web-2 is the only New Relic component: both blocks are muted whole, by policy.
        assert_eq!(
            nr.attrs["condition"]["conditions"],
            json!([{"attribute": "policyId", "operator": "IN",
                    "values": ["ref:alert.cpu_saturated.newrelic_policy", "ref:baseline.soc2.newrelic_policy"]}])
        );
        assert_eq!(nr.depends_on, ["alert.cpu_saturated.newrelic_policy", "baseline.soc2.newrelic_policy"]);

        assert!(!objs
            .iter()
            .any(|o| o.address.contains("db-1") && o.origin.as_deref() == Some("maintenance.patch_window")));
        let cw = warnings.iter().find(|w| w.contains("CloudWatch")).expect("a CloudWatch warning");
        assert!(cw.contains("db-1") && cw.contains("main.hcl:"), "{cw}");
    }

    #[test]
    fn part_of_a_block_is_muted_condition_by_condition() {
        let (objs, _) = run(r#"
component "web-3" {
  inventory  = inventory.prod
  kind       = "server"
  provider   = "newrelic"
  identifier = { hostname = "web-3" }
}
maintenance "one_host" {
  components = [component.web-2]
  alerts     = [alert.cpu_saturated]
  start      = "2026-12-06T02:00"
  duration   = "1h"
}
"#)
        .unwrap();
        let nr = get(&objs, "maintenance.one_host.newrelic");
        assert_eq!(
            nr.attrs["condition"]["conditions"],
            json!([{"attribute": "conditionId", "operator": "IN", "values": [r#"ref:alert.cpu_saturated["web-2"]"#]}])
        );
        assert_eq!(nr.depends_on, [r#"alert.cpu_saturated["web-2"]"#]);
    }

    #[test]
    fn chosen_alerts_and_one_time_utc_window() {
        let (objs, _) = run(r#"
maintenance "release" {
  components = [component.web-1]
  alerts     = [alert.cpu_saturated]
  start      = "2026-12-06T02:00:00Z"
  end        = "2026-12-06T03:30:00Z"
}
"#)
        .unwrap();
        let dd = get(&objs, r#"maintenance.release["web-1"].alert.cpu_saturated"#);
        assert_eq!(
            dd.attrs["monitor_identifier"]["monitor_tags"],
            json!(["component:web-1", "watchkeep-origin:alert.cpu_saturated"])
        );
        assert_eq!(
            dd.attrs["schedule"],
            json!({"start": "2026-12-06T02:00:00Z", "end": "2026-12-06T03:30:00Z"})
        );
        assert!(dd.attrs.get("display_timezone").is_none());
        assert_eq!(objs.iter().filter(|o| o.origin.as_deref() == Some("maintenance.release")).count(), 1);
    }

    #[test]
    fn one_time_window_in_a_time_zone_is_a_single_recurrence_on_datadog() {
        let (objs, _) = run(r#"
maintenance "m" {
  tags     = { team = "web" }
  start    = "2026-12-06T02:00"
  duration = "90m"
  timezone = "America/New_York"
}
"#)
        .unwrap();
        let dd = get(&objs, r#"maintenance.m["web-1"]"#);
        assert_eq!(dd.attrs["schedule"]["recurrences"][0]["rrule"], "FREQ=DAILY;COUNT=1");
        assert_eq!(dd.attrs["schedule"]["recurrences"][0]["duration"], "90m");
        let nr = get(&objs, "maintenance.m.newrelic");
        assert!(nr.attrs["schedule"].get("repeat").is_none());
        assert_eq!(nr.attrs["schedule"]["endTime"], "2026-12-06T03:30:00");
    }

    #[test]
    fn bad_inputs_are_located_errors() {
        for (body, want) in [
            (
                r#"start = "2026-12-06T02:00"
  duration = "2h"
  recurrence = "FREQ=FORTNIGHTLY""#,
                "invalid recurrence",
            ),
            (
                r#"start = "2026-12-06T02:00"
  end = "2026-12-06T01:00""#,
                "ends (2026-12-06T01:00) before it starts",
            ),
            (
                r#"start = "2026-12-06T02:00"
  duration = "0h""#,
                "is zero",
            ),
            (
                r#"start = "2026-12-06T02:00"
  duration = "2h"
  alerts = [alert.nope]"#,
                "main.hcl",
            ),
            (
                r#"start = "tomorrow"
  duration = "2h""#,
                "invalid start time",
            ),
            (
                r#"start = "2026-12-06T02:00:00Z"
  duration = "2h"
  timezone = "Europe/Berlin""#,
                "invalid start time",
            ),
            (
                r#"start = "2026-12-06T02:00"
  duration = "2h"
  end = "2026-12-06T05:00""#,
                "either `duration` or `end`",
            ),
            (r#"duration = "2h""#, "start"),
        ] {
            let err = run(&format!("maintenance \"bad\" {{\n  {body}\n}}\n")).unwrap_err();
            assert!(err.contains(want), "{body}: {err}");
            assert!(err.contains("main.hcl"), "located: {err}");
        }
    }

    #[test]
    fn rules_new_relic_cannot_express_are_errors_at_the_recurrence() {
        let err = run(r#"
maintenance "odd" {
  start      = "2026-12-06T02:00"
  duration   = "2h"
  recurrence = "FREQ=WEEKLY;INTERVAL=2;BYDAY=SA"
}
"#)
        .unwrap_err();
        assert!(err.contains("INTERVAL > 1"), "{err}");
        // Only New Relic components: Datadog alone takes any RRULE.
        let (objs, _) = run(r#"
maintenance "odd" {
  components = [component.web-1]
  start      = "2026-12-06T02:00"
  duration   = "2h"
  recurrence = "FREQ=WEEKLY;INTERVAL=2;BYDAY=SA"
}
"#)
        .unwrap();
        assert_eq!(
            get(&objs, r#"maintenance.odd["web-1"]"#).attrs["schedule"]["recurrences"][0]["rrule"],
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=SA"
        );
    }

    #[test]
    fn a_window_that_silences_nothing_on_a_vendor_says_so() {
        let (objs, warnings) = run(r#"
alert "db_only" {
  kinds  = ["database"]
  metric = "cpu"
  above  = 90
}
maintenance "quiet" {
  components = [component.web-1, component.web-2]
  alerts     = [alert.db_only]
  start      = "2026-12-06T02:00"
  duration   = "1h"
}
"#)
        .unwrap();
        assert!(!objs.iter().any(|o| o.origin.as_deref() == Some("maintenance.quiet")));
        assert!(warnings.iter().any(|w| w.contains("silences no Datadog monitor")), "{warnings:?}");
        assert!(warnings.iter().any(|w| w.contains("silences no New Relic condition")), "{warnings:?}");
    }

    #[test]
    fn monthly_and_until_map_to_new_relic_fields() {
        let mut m = Maintenance {
            start: "2026-12-01T01:00:00".into(),
            minutes: 60,
            timezone: "UTC".into(),
            ..Default::default()
        };
        m.recurrence = Some((
            "FREQ=MONTHLY;UNTIL=20270601".into(),
            crate::config::maintenance::parse_rrule("FREQ=MONTHLY;UNTIL=20270601").unwrap(),
        ));
        let s = nr_schedule(&m).unwrap();
        assert_eq!(s["repeat"], "MONTHLY");
        assert_eq!(s["endRepeat"], "2027-06-01T23:59:59");
        m.recurrence = Some((
            "FREQ=WEEKLY;COUNT=3".into(),
            crate::config::maintenance::parse_rrule("FREQ=WEEKLY;COUNT=3").unwrap(),
        ));
        let s = nr_schedule(&m).unwrap();
        assert_eq!(s["weeklyRepeatDays"], json!(["TUESDAY"]), "the start's weekday");
        assert_eq!(s["repeatCount"], 3);
        assert_eq!(dd_duration(60 * 24 * 7), "1w");
        assert_eq!(dd_duration(45), "45m");
    }
}
