//! RFC 5545 recurrence rules (`RRULE`), the subset a maintenance window needs: a leaf the model
//! and the maintenance decoder both use.

use chrono::NaiveDateTime;

/// A parsed RFC 5545 recurrence rule (the subset a maintenance window needs).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Rrule {
    /// `DAILY`, `WEEKLY`, `MONTHLY` or `YEARLY`.
    pub freq: String,
    pub interval: Option<u32>,
    pub count: Option<u32>,
    /// `UNTIL` as written (`20270101T000000Z` or `20270101`).
    pub until: Option<String>,
    /// `BYDAY` values as written (`SA`, `1MO`).
    pub by_day: Vec<String>,
    /// Other parts (`BYMONTHDAY=1`), upper-cased keys, in order.
    pub other: Vec<(String, String)>,
}

pub(crate) const DAYS: &[&str] = &["MO", "TU", "WE", "TH", "FR", "SA", "SU"];

/// Parses and checks an RRULE. The error says which part is wrong.
pub fn parse_rrule(text: &str) -> Result<Rrule, String> {
    let text = text.trim().strip_prefix("RRULE:").unwrap_or(text.trim());
    if text.is_empty() {
        return Err("the rule is empty".into());
    }
    let mut r = Rrule::default();
    for part in text.split(';') {
        let Some((key, value)) = part.split_once('=') else {
            return Err(format!("`{part}` is not KEY=VALUE"));
        };
        let key = key.trim().to_ascii_uppercase();
        let value = value.trim();
        let positive = |what: &str| -> Result<u32, String> {
            value
                .parse::<u32>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("{what} must be a positive whole number, got `{value}`"))
        };
        match key.as_str() {
            "FREQ" => {
                let f = value.to_ascii_uppercase();
                if !matches!(f.as_str(), "DAILY" | "WEEKLY" | "MONTHLY" | "YEARLY") {
                    return Err(format!("FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY, got `{value}`"));
                }
                r.freq = f;
            }
            "INTERVAL" => r.interval = Some(positive("INTERVAL")?),
            "COUNT" => r.count = Some(positive("COUNT")?),
            "UNTIL" => {
                let ok = NaiveDateTime::parse_from_str(value.trim_end_matches('Z'), "%Y%m%dT%H%M%S").is_ok()
                    || chrono::NaiveDate::parse_from_str(value, "%Y%m%d").is_ok();
                if !ok {
                    return Err(format!("UNTIL must be YYYYMMDD or YYYYMMDDTHHMMSSZ, got `{value}`"));
                }
                r.until = Some(value.to_string());
            }
            "BYDAY" => {
                for day in value.split(',') {
                    let d = day.trim().to_ascii_uppercase();
                    let name = d.trim_start_matches(|c: char| c == '+' || c == '-' || c.is_ascii_digit());
                    if !DAYS.contains(&name) {
                        return Err(format!(
                            "BYDAY takes MO, TU, WE, TH, FR, SA, SU (optionally 1MO, -1FR), got `{day}`"
                        ));
                    }
                    r.by_day.push(d);
                }
            }
            "BYMONTHDAY" | "BYMONTH" | "BYSETPOS" | "BYHOUR" | "BYMINUTE" | "BYWEEKNO" | "BYYEARDAY"
            | "WKST" => {
                if value.is_empty() {
                    return Err(format!("{key} has no value"));
                }
                r.other.push((key, value.to_string()));
            }
            "DTSTART" | "DTEND" | "DURATION" => {
                return Err(format!(
                    "{key} does not belong in the rule: use the block's `start` and `duration`"
                ))
            }
            other => return Err(format!("unknown RRULE part `{other}`")),
        }
    }
    if r.freq.is_empty() {
        return Err("FREQ is required, e.g. FREQ=WEEKLY;BYDAY=SA".into());
    }
    if r.count.is_some() && r.until.is_some() {
        return Err("set COUNT or UNTIL, not both".into());
    }
    Ok(r)
}
