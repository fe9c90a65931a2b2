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

use chrono::{Datelike, Duration, NaiveDateTime, Weekday};
use serde_json::{json, Value};

use super::datadog::matching;
use super::{error, warning, DesiredObject};
use crate::config::maintenance::Rrule;
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
        let before = added.len();
        datadog(m, &origin, &comps, out, &mut added);
        if added.len() == before && comps.iter().any(|c| c.provider == "datadog") {
            diags.push(warning(
                format!("`{origin}` silences no Datadog monitor"),
                Some(m.span.clone()),
                "its alerts have no monitors on the Datadog components in scope",
            ));
        }
        newrelic(m, &origin, &comps, out, &mut added, diags);
        let cw: Vec<&str> =
            comps.iter().filter(|c| c.provider == "cloudwatch").map(|c| c.name.as_str()).collect();
        if !cw.is_empty() {
            diags.push(warning(
                format!(
                    "`{origin}` has no CloudWatch equivalent: {} CloudWatch component(s) ({}) stay unmuted",
                    cw.len(),
                    cw.join(", ")
                ),
                Some(m.span.clone()),
                "the CloudWatch API watchkeep uses has no scheduled alarm muting (AWS's newer alarm mute rules, \
                 PutAlarmMuteRule, are not supported yet): mute those alarms in the AWS console for the window, \
                 or narrow `scope`/`components` to silence this warning",
            ));
        }
    }
    out.extend(added);
}

fn in_scope<'a>(cfg: &'a Config, m: &Maintenance) -> Vec<&'a Component> {
    matching(cfg, m.scope.as_deref(), &m.kinds, &m.components)
        .into_iter()
        .filter(|c| m.tags.iter().all(|(k, v)| c.tags.get(k) == Some(v)))
        .collect()
}

/// Whether `address` is an alarm of `origin` for `component`: `alert.cpu["web-1"]` or
/// `baseline.soc2["web-1"].disk`.
fn belongs(address: &str, origin: &str, component: &str) -> bool {
    address.strip_prefix(origin).and_then(|rest| rest.strip_prefix(&format!("[\"{component}\"]"))).is_some()
}

fn origin_of(o: &DesiredObject) -> Option<&str> {
    o.origin.as_deref()
}

/// The body text: the block's message, then where it comes from.
fn text(m: &Maintenance, origin: &str) -> String {
    let mut s = String::new();
    if let Some(msg) = &m.message {
        s.push_str(msg.trim());
        s.push('\n');
    }
    s.push_str(&format!("Managed by watchkeep as {origin}"));
    s
}

/// `120` → `2h`: the largest unit Datadog's recurrence `duration` takes that divides it.
fn dd_duration(minutes: u64) -> String {
    for (unit, per) in [('w', 10080), ('d', 1440), ('h', 60)] {
        if minutes.is_multiple_of(per) {
            return format!("{}{unit}", minutes / per);
        }
    }
    format!("{minutes}m")
}

fn start_of(m: &Maintenance) -> NaiveDateTime {
    // The loader wrote it in this form.
    NaiveDateTime::parse_from_str(&m.start, "%Y-%m-%dT%H:%M:%S").unwrap_or_default()
}

fn dd_schedule(m: &Maintenance) -> Value {
    let start = start_of(m);
    match (&m.recurrence, m.timezone.as_str()) {
        (None, "UTC") => {
            let end = start + Duration::minutes(m.minutes as i64);
            json!({
                "start": format!("{}Z", start.format("%Y-%m-%dT%H:%M:%S")),
                "end": format!("{}Z", end.format("%Y-%m-%dT%H:%M:%S")),
            })
        }
        (rule, tz) => json!({
            "recurrences": [{
                "rrule": rule.as_ref().map(|(text, _)| text.trim().trim_start_matches("RRULE:").to_string())
                    .unwrap_or_else(|| "FREQ=DAILY;COUNT=1".to_string()),
                "duration": dd_duration(m.minutes),
                "start": start.format("%Y-%m-%dT%H:%M").to_string(),
            }],
            "timezone": tz,
        }),
    }
}

fn datadog(
    m: &Maintenance,
    origin: &str,
    comps: &[&Component],
    out: &[DesiredObject],
    added: &mut Vec<DesiredObject>,
) {
    for comp in comps.iter().filter(|c| c.provider == "datadog") {
        let monitors: Vec<&DesiredObject> = out
            .iter()
            .filter(|o| o.resource_type == "datadog_monitor")
            .filter(|o| origin_of(o).is_some_and(|org| belongs(&o.address, org, &comp.name)))
            .collect();
        let mut targets: Vec<(String, Vec<String>)> = Vec::new();
        if m.alerts.is_empty() {
            if !monitors.is_empty() {
                targets.push((
                    format!("{origin}[\"{}\"]", comp.name),
                    vec![
                        super::datadog::tag("component", &comp.name),
                        watchkeep_provider::OWNER_TAG.to_string(),
                    ],
                ));
            }
        } else {
            for o in &m.alerts {
                if monitors.iter().any(|mon| origin_of(mon) == Some(o.as_str())) {
                    targets.push((
                        format!("{origin}[\"{}\"].{o}", comp.name),
                        vec![
                            super::datadog::tag("component", &comp.name),
                            super::datadog::tag("watchkeep-origin", o),
                        ],
                    ));
                }
            }
        }
        for (address, tags) in targets {
            let mut attrs = json!({
                "scope": "*",
                "monitor_identifier": { "monitor_tags": tags },
                "schedule": dd_schedule(m),
                "message": text(m, origin),
            });
            if m.timezone != "UTC" {
                attrs["display_timezone"] = json!(m.timezone);
            }
            added.push(DesiredObject {
                address,
                resource_type: "datadog_downtime".into(),
                provider: "datadog".into(),
                origin: Some(origin.to_string()),
                attrs,
                depends_on: Vec::new(),
                span: Some(m.span.clone()),
            });
        }
    }
}

fn nr_day(day: &str) -> Option<&'static str> {
    Some(match day {
        "MO" => "MONDAY",
        "TU" => "TUESDAY",
        "WE" => "WEDNESDAY",
        "TH" => "THURSDAY",
        "FR" => "FRIDAY",
        "SA" => "SATURDAY",
        "SU" => "SUNDAY",
        _ => return None,
    })
}

fn weekday_name(d: Weekday) -> &'static str {
    match d {
        Weekday::Mon => "MONDAY",
        Weekday::Tue => "TUESDAY",
        Weekday::Wed => "WEDNESDAY",
        Weekday::Thu => "THURSDAY",
        Weekday::Fri => "FRIDAY",
        Weekday::Sat => "SATURDAY",
        Weekday::Sun => "SUNDAY",
    }
}

/// NerdGraph's `AlertsMutingRuleScheduleInput` for the window, or why it cannot be expressed.
pub(crate) fn nr_schedule(m: &Maintenance) -> Result<Value, String> {
    let start = start_of(m);
    let end = start + Duration::minutes(m.minutes as i64);
    let fmt = |t: NaiveDateTime| t.format("%Y-%m-%dT%H:%M:%S").to_string();
    let mut s = json!({ "startTime": fmt(start), "endTime": fmt(end), "timeZone": m.timezone });
    let Some((_, r)) = &m.recurrence else { return Ok(s) };
    let Rrule { freq, interval, count, until, by_day, other } = r;
    if interval.is_some_and(|i| i > 1) {
        return Err(
            "New Relic muting rules repeat every day, week or month: INTERVAL > 1 has no equivalent".into()
        );
    }
    if let Some((key, _)) = other.first() {
        return Err(format!("New Relic muting rules cannot express {key}: they repeat daily, weekly on given days, or monthly on the start date"));
    }
    match freq.as_str() {
        "DAILY" | "MONTHLY" if !by_day.is_empty() => {
            return Err(format!("New Relic muting rules take BYDAY only with FREQ=WEEKLY, not FREQ={freq}"))
        }
        "DAILY" | "MONTHLY" => s["repeat"] = json!(freq),
        "WEEKLY" => {
            s["repeat"] = json!("WEEKLY");
            let days: Vec<&str> = if by_day.is_empty() {
                vec![weekday_name(start.weekday())]
            } else {
                let mut days = Vec::new();
                for d in by_day {
                    let Some(name) = nr_day(d) else {
                        return Err(format!("New Relic muting rules repeat on plain weekdays, not `{d}`"));
                    };
                    days.push(name);
                }
                days
            };
            s["weeklyRepeatDays"] = json!(days);
        }
        other => return Err(format!("New Relic muting rules cannot repeat FREQ={other}")),
    }
    if let Some(c) = count {
        s["repeatCount"] = json!(c);
    }
    if let Some(u) = until {
        let t = NaiveDateTime::parse_from_str(u.trim_end_matches('Z'), "%Y%m%dT%H%M%S").ok().or_else(|| {
            chrono::NaiveDate::parse_from_str(u, "%Y%m%d").ok().and_then(|d| d.and_hms_opt(23, 59, 59))
        });
        if let Some(t) = t {
            s["endRepeat"] = json!(fmt(t));
        }
    }
    Ok(s)
}

fn newrelic(
    m: &Maintenance,
    origin: &str,
    comps: &[&Component],
    out: &[DesiredObject],
    added: &mut Vec<DesiredObject>,
    diags: &mut Diagnostics,
) {
    let nr: Vec<&&Component> = comps.iter().filter(|c| c.provider == "newrelic").collect();
    if nr.is_empty() {
        return;
    }
    // (origin, condition address) of every New Relic condition the window silences.
    let silenced: Vec<(&str, &str)> = out
        .iter()
        .filter(|o| o.resource_type == "newrelic_nrql_condition")
        .filter_map(|o| {
            let org = origin_of(o)?;
            ((m.alerts.is_empty() || m.alerts.iter().any(|a| a == org))
                && nr.iter().any(|c| belongs(&o.address, org, &c.name)))
            .then_some((org, o.address.as_str()))
        })
        .collect();
    if silenced.is_empty() {
        diags.push(warning(
            format!("`{origin}` silences no New Relic condition"),
            Some(m.span.clone()),
            "its alerts have no conditions on the New Relic components in scope",
        ));
        return;
    }
    // A block whose every condition is silenced is muted by its policy (one value instead of
    // one per condition and component); the others condition by condition.
    let mut policies: Vec<String> = Vec::new();
    let mut conditions: Vec<String> = Vec::new();
    let mut origins: Vec<&str> = silenced.iter().map(|(o, _)| *o).collect();
    origins.dedup();
    for org in origins {
        let all = out
            .iter()
            .filter(|o| o.resource_type == "newrelic_nrql_condition" && origin_of(o) == Some(org))
            .count();
        let mine: Vec<&str> = silenced.iter().filter(|(o, _)| *o == org).map(|(_, a)| *a).collect();
        if mine.len() == all {
            policies.push(super::newrelic::policy_address(org));
        } else {
            conditions.extend(mine.iter().map(|a| a.to_string()));
        }
    }
    let refs = |addrs: &[String]| addrs.iter().map(|a| format!("ref:{a}")).collect::<Vec<_>>();
    let mut group = Vec::new();
    if !policies.is_empty() {
        group.push(json!({"attribute": "policyId", "operator": "IN", "values": refs(&policies)}));
    }
    if !conditions.is_empty() {
        group.push(json!({"attribute": "conditionId", "operator": "IN", "values": refs(&conditions)}));
    }
    let schedule = match nr_schedule(m) {
        Ok(s) => s,
        Err(e) => {
            diags.push(error(
                e,
                Some(m.recurrence_span.clone().unwrap_or_else(|| m.span.clone())),
                "use FREQ=DAILY, FREQ=WEEKLY;BYDAY=..., or FREQ=MONTHLY (with COUNT or UNTIL at most) for New Relic components",
            ));
            return;
        }
    };
    added.push(DesiredObject {
        address: format!("{origin}.newrelic"),
        resource_type: "newrelic_muting_rule".into(),
        provider: "newrelic".into(),
        origin: Some(origin.to_string()),
        attrs: json!({
            "name": format!("watchkeep {origin}"),
            "description": text(m, origin),
            "enabled": true,
            "condition": { "operator": "OR", "conditions": group },
            "schedule": schedule,
        }),
        depends_on: policies.into_iter().chain(conditions).collect(),
        span: Some(m.span.clone()),
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{load, LoadOptions};
    use crate::diag::Severity;

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
