//! `maintenance "<name>" { ... }`: a vendor-neutral maintenance window that silences alerts.
//!
//! ```hcl
//! maintenance "patch_window" {
//!   scope      = inventory.production               # or components = [...], tags = { ... }
//!   alerts     = [baseline.soc2, alert.cpu_saturated] # default: every alert in scope
//!   start      = "2026-12-05T02:00"                  # local time in `timezone`
//!   duration   = "2h"                                # or end = "2026-12-05T04:00"
//!   recurrence = "FREQ=WEEKLY;BYDAY=SA"              # RFC 5545 RRULE, optional
//!   timezone   = "Europe/Berlin"                     # default UTC
//!   message    = "Weekly patching"
//! }
//! ```
//!
//! Times are local wall-clock times in `timezone` (the form both Datadog's recurring downtimes and
//! New Relic's muting rules take); with `timezone` unset or `"UTC"`, a trailing `Z` or `+00:00`
//! is accepted. Compiled per vendor by `compile::maintenance`.

use chrono::NaiveDateTime;
use hcl::edit::expr::Expression;
use hcl::edit::structure::Body;
use hcl::edit::Span as _;

use super::loader::{Evaluator, Stage};
use super::model::{Maintenance, Span};
use super::schema::KINDS;
use crate::diag::{Diagnostic, Reported};

pub use super::rrule::{parse_rrule, Rrule};

/// `2h`, `90m`, `1d`, `1w` → minutes (Datadog's recurrence duration units: m, h, d, w).
pub fn window_minutes(s: &str) -> Option<u64> {
    let unit = s.chars().last()?;
    let n: u64 = s[..s.len() - unit.len_utf8()].parse().ok()?;
    let per = match unit {
        'm' => 1,
        'h' => 60,
        'd' => 60 * 24,
        'w' => 60 * 24 * 7,
        _ => return None,
    };
    n.checked_mul(per)
}

/// A local time `YYYY-MM-DDTHH:MM[:SS]`; `utc_ok` also accepts a trailing `Z`/`+00:00`.
fn local_time(s: &str, utc_ok: bool) -> Option<NaiveDateTime> {
    let mut t = s.trim();
    if utc_ok {
        t = t.strip_suffix('Z').or_else(|| t.strip_suffix("+00:00")).unwrap_or(t);
    }
    NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M"))
        .ok()
}

/// IANA zone names look like `UTC` or `Area/City` (no zone database here: the vendor checks the
/// name itself).
fn plausible_zone(z: &str) -> bool {
    z == "UTC"
        || (z.contains('/')
            && z.split('/')
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || "_-+".contains(c))))
}

fn take<T>(ok: &mut bool, r: Result<Option<T>, Reported>) -> Option<T> {
    r.unwrap_or_else(|_| {
        *ok = false;
        None
    })
}

impl Evaluator<'_> {
    fn attr_span(&self, d: usize, body: &Body, name: &str) -> Span {
        self.span(d, body.get_attribute(name).and_then(|a| a.value.span()))
    }

    /// `alerts = [alert.a, baseline.b]`: the origins it silences.
    fn maintenance_alerts(&mut self, d: usize, body: &Body) -> Result<Vec<String>, Reported> {
        let Some(attr) = body.get_attribute("alerts") else { return Ok(Vec::new()) };
        let Expression::Array(items) = &attr.value else {
            let span = self.attr_span(d, body, "alerts");
            return Err(self.error(
                Diagnostic::error("`alerts` must be a list of alert and baseline references")
                    .with_span(span)
                    .with_hint("write alerts = [alert.cpu_saturated, baseline.soc2]"),
            ));
        };
        let mut out = Vec::new();
        let mut failed = None;
        for item in items.iter() {
            let span = self.span(d, item.span());
            let found = ["alert", "baseline"]
                .into_iter()
                .find_map(|kind| self.static_ref_name(d, item, kind).map(|n| format!("{kind}.{n}")));
            match found {
                Some(origin) => {
                    if !out.contains(&origin) {
                        out.push(origin);
                    }
                }
                None => {
                    failed = Some(self.error(
                        Diagnostic::error("this is not a reference to an `alert` or `baseline` block")
                            .with_span(span)
                            .with_hint("name blocks this configuration declares, e.g. alert.cpu_saturated or baseline.soc2"),
                    ));
                }
            }
        }
        match failed {
            None => Ok(out),
            Some(reported) => Err(reported),
        }
    }

    pub(super) fn eval_maintenance(&mut self, d: usize) -> bool {
        let Some(block) = self.decls[d].block else { return false };
        let body = &block.body;
        let header = self.header_span(d);
        let mut ok = true;
        let scope = take(&mut ok, self.reference(d, body, "scope", "inventory"));
        let start = take(&mut ok, self.string(d, body, "start"));
        let duration = take(&mut ok, self.string(d, body, "duration"));
        let end = take(&mut ok, self.string(d, body, "end"));
        let recurrence = take(&mut ok, self.string(d, body, "recurrence"));
        let timezone = take(&mut ok, self.string(d, body, "timezone"));
        let message = take(&mut ok, self.string(d, body, "message"));
        let kinds = self.list_one_of(d, body, "kinds", KINDS).unwrap_or_else(|_| {
            ok = false;
            Vec::new()
        });
        let components = self.references(d, body, "components", "component").unwrap_or_else(|_| {
            ok = false;
            Vec::new()
        });
        let tags = match self.string_map(d, body, "tags") {
            Ok(t) => t.unwrap_or_default(),
            Err(_) => {
                ok = false;
                Default::default()
            }
        };
        let alerts = self.maintenance_alerts(d, body).unwrap_or_else(|_| {
            ok = false;
            Vec::new()
        });

        let timezone = timezone.unwrap_or_else(|| "UTC".to_string());
        if !plausible_zone(&timezone) {
            let span = self.attr_span(d, body, "timezone");
            self.error(
                Diagnostic::error(format!("`{timezone}` is not a time zone name"))
                    .with_span(span)
                    .with_hint("use an IANA name such as \"Europe/Berlin\" or \"UTC\""),
            );
            ok = false;
        }
        let utc = timezone == "UTC";
        let time_hint = if utc {
            "write \"2026-12-05T02:00\" (or with a trailing Z)"
        } else {
            "write the local time in `timezone`, without an offset: \"2026-12-05T02:00\""
        };
        let start_at = match &start {
            None => {
                self.error(
                    Diagnostic::error("a maintenance window needs a `start`")
                        .with_span(header.clone())
                        .with_hint("add start = \"2026-12-05T02:00\""),
                );
                None
            }
            Some(s) => {
                let t = local_time(s, utc);
                if t.is_none() {
                    let span = self.attr_span(d, body, "start");
                    self.error(
                        Diagnostic::error(format!("invalid start time \"{s}\""))
                            .with_span(span)
                            .with_hint(time_hint),
                    );
                }
                t
            }
        };
        let minutes = match (&duration, &end) {
            (Some(_), Some(_)) => {
                let span = self.attr_span(d, body, "end");
                self.error(
                    Diagnostic::error("set either `duration` or `end`, not both")
                        .with_span(span)
                        .with_hint("keep duration = \"2h\" (or end = \"...\")"),
                );
                None
            }
            (None, None) => {
                self.error(
                    Diagnostic::error("a maintenance window needs a `duration` (or an `end`)")
                        .with_span(header.clone())
                        .with_hint("add duration = \"2h\""),
                );
                None
            }
            (Some(dur), None) => match window_minutes(dur) {
                Some(m) if m > 0 => Some(m),
                Some(_) => {
                    let span = self.attr_span(d, body, "duration");
                    self.error(
                        Diagnostic::error(format!(
                            "duration \"{dur}\" is zero: the window would silence nothing"
                        ))
                        .with_span(span)
                        .with_hint("give a positive duration such as \"30m\" or \"2h\""),
                    );
                    None
                }
                None => {
                    let span = self.attr_span(d, body, "duration");
                    self.error(
                        Diagnostic::error(format!("invalid duration \"{dur}\""))
                            .with_span(span)
                            .with_hint("write a whole number followed by m, h, d or w, e.g. \"2h\""),
                    );
                    None
                }
            },
            (None, Some(e)) => match (local_time(e, utc), start_at) {
                (None, _) => {
                    let span = self.attr_span(d, body, "end");
                    self.error(
                        Diagnostic::error(format!("invalid end time \"{e}\""))
                            .with_span(span)
                            .with_hint(time_hint),
                    );
                    None
                }
                (Some(end_at), Some(start_at)) if end_at <= start_at => {
                    let span = self.attr_span(d, body, "end");
                    self.error(
                        Diagnostic::error(format!(
                            "the window ends ({e}) before it starts ({})",
                            start.clone().unwrap_or_default()
                        ))
                        .with_span(span)
                        .with_hint("make `end` later than `start`, or use duration = \"2h\""),
                    );
                    None
                }
                (Some(end_at), Some(start_at)) => Some((end_at - start_at).num_minutes().max(0) as u64),
                (Some(_), None) => None,
            },
        };
        if minutes == Some(0) {
            let span = self.attr_span(d, body, "end");
            self.error(
                Diagnostic::error("the window is shorter than a minute")
                    .with_span(span)
                    .with_hint("vendors schedule whole minutes: make it at least 1m long"),
            );
            ok = false;
        }
        let mut rrule = None;
        if let Some(rule) = &recurrence {
            match parse_rrule(rule) {
                Ok(r) => rrule = Some(r),
                Err(e) => {
                    let span = self.attr_span(d, body, "recurrence");
                    self.error(
                        Diagnostic::error(format!("invalid recurrence \"{rule}\": {e}"))
                            .with_span(span)
                            .with_hint("write an RFC 5545 RRULE such as \"FREQ=WEEKLY;BYDAY=SA\""),
                    );
                    ok = false;
                }
            }
        }
        let (Some(start_at), Some(minutes), true) = (start_at, minutes, ok) else { return false };
        let full = self.full_name(d);
        let recurrence_span = recurrence.as_ref().map(|_| self.attr_span(d, body, "recurrence"));
        self.cfg.maintenance.insert(
            full.clone(),
            Maintenance {
                name: full,
                scope,
                kinds,
                components,
                tags,
                alerts,
                start: start_at.format("%Y-%m-%dT%H:%M:%S").to_string(),
                minutes,
                recurrence: rrule.map(|r| (recurrence.clone().unwrap_or_default(), r)),
                timezone,
                message,
                span: header.clone(),
                recurrence_span,
            },
        );
        self.add_instance(d, self.addr(d), header);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rrules() {
        let r = parse_rrule("FREQ=WEEKLY;BYDAY=SA,SU;COUNT=4").unwrap();
        assert_eq!(
            (r.freq.as_str(), r.by_day.clone(), r.count),
            ("WEEKLY", vec!["SA".into(), "SU".into()], Some(4))
        );
        assert_eq!(
            parse_rrule("RRULE:FREQ=MONTHLY;BYMONTHDAY=1").unwrap().other,
            vec![("BYMONTHDAY".into(), "1".into())]
        );
        for (bad, why) in [
            ("WEEKLY", "KEY=VALUE"),
            ("FREQ=FORTNIGHTLY", "FREQ must be"),
            ("BYDAY=SA", "FREQ is required"),
            ("FREQ=WEEKLY;BYDAY=SAT", "BYDAY"),
            ("FREQ=DAILY;COUNT=0", "COUNT"),
            ("FREQ=DAILY;DTSTART=20260101T000000Z", "DTSTART"),
            ("FREQ=DAILY;COUNT=2;UNTIL=20270101", "COUNT or UNTIL"),
            ("", "empty"),
        ] {
            let err = parse_rrule(bad).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn windows_and_times() {
        assert_eq!(window_minutes("2h"), Some(120));
        assert_eq!(window_minutes("1w"), Some(10080));
        assert_eq!(window_minutes("0m"), Some(0));
        assert_eq!(window_minutes("2"), None);
        assert_eq!(window_minutes("2s"), None);
        assert!(local_time("2026-12-05T02:00", false).is_some());
        assert!(local_time("2026-12-05T02:00:00Z", true).is_some());
        assert!(local_time("2026-12-05T02:00:00Z", false).is_none());
        assert!(plausible_zone("Europe/Berlin") && plausible_zone("UTC") && !plausible_zone("Berlin time"));
    }
}
