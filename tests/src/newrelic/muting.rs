//! `alertsMutingRuleCreate`, `alertsMutingRuleUpdate`, `alertsMutingRuleDelete` and
//! `actor.account.alerts.{mutingRules, mutingRule}`: New Relic alert muting rules.
//!
//! Shapes are NerdGraph's (`shared/specs/newrelic-nerdgraph.graphql`: `AlertsMutingRuleInput`,
//! `AlertsMutingRuleUpdateInput`, `AlertsMutingRuleScheduleInput`, `AlertsMutingRule`,
//! `AlertsMutingRuleSchedule`); the document and its variables have already been validated
//! against the SDL (types, enums, required fields) before a resolver runs. The rules checked here
//! are the ones the SDL's descriptions state: `weeklyRepeatDays` goes with `repeat: WEEKLY`
//! ("If the MutingRule repeats WEEKLY, be sure to set weeklyRepeatDays"), `endRepeat` or
//! `repeatCount` but not both ("Either endRepeat or repeatCount should be used"), and an end
//! after the start. Where the SDL says nothing, the behaviour is a guess and says so.

use std::sync::atomic::Ordering;

use apollo_compiler::resolvers::FieldError;
use chrono::NaiveDateTime;
use serde_json::{json, Map, Value};

use super::exec::args::{given, id, int, obj, str_opt};
use super::exec::{Cx, Resolved};
use super::state::now_iso;

/// The attributes a condition may test (the SDL's description of `AlertsMutingRuleConditionInput.attribute`).
const ATTRIBUTES: &[&str] = &[
    "accountId",
    "conditionId",
    "conditionName",
    "conditionRunbookUrl",
    "conditionType",
    "entity.guid",
    "nrqlEventType",
    "nrqlQuery",
    "policyId",
    "policyName",
    "product",
    "targetId",
    "targetName",
];

fn invalid(cx: &Cx<'_>, field: &str, reason: &str) -> FieldError {
    let mut extra = Map::new();
    extra.insert("validationErrors".into(), json!([{ "name": field, "reason": reason }]));
    cx.fail_with("BAD_USER_INPUT", format!("Validation Error: {field}: {reason}"), extra)
}

fn not_found(cx: &Cx<'_>, id: &str) -> FieldError {
    cx.fail("NOT_FOUND", format!("MutingRule with id {id} not found"))
}

fn naive(v: &Value) -> Option<NaiveDateTime> {
    let s = v.as_str()?;
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M"))
        .ok()
}

/// Standard UTC offsets of a few zones, for the `DateTime`s the answer carries (New Relic
/// answers `'2020-07-10T15:00:00-07:00'`). Guess and simplification: the stand-in has no time
/// zone database, so daylight saving time is ignored and other zones are answered as `+00:00`.
fn offset_of(zone: &str) -> &'static str {
    match zone {
        "Europe/Berlin" | "Europe/Paris" | "Europe/Amsterdam" | "Europe/Madrid" | "Europe/Rome" => "+01:00",
        "Europe/London" | "Europe/Dublin" | "Europe/Lisbon" => "+00:00",
        "America/New_York" | "America/Toronto" => "-05:00",
        "America/Chicago" => "-06:00",
        "America/Denver" => "-07:00",
        "America/Los_Angeles" => "-08:00",
        "Asia/Tokyo" => "+09:00",
        _ => "+00:00",
    }
}

fn check_condition(cx: &Cx<'_>, condition: &Value) -> Result<(), FieldError> {
    let conditions = condition["conditions"].as_array().cloned().unwrap_or_default();
    if conditions.is_empty() {
        return Err(invalid(cx, "condition.conditions", "must contain at least one condition"));
    }
    for c in &conditions {
        let attribute = c["attribute"].as_str().unwrap_or_default();
        if !ATTRIBUTES.contains(&attribute) && !attribute.starts_with("tags.") {
            return Err(invalid(
                cx,
                "condition.conditions.attribute",
                &format!("unknown attribute `{attribute}`"),
            ));
        }
        let blank_ok = matches!(c["operator"].as_str(), Some("IS_BLANK" | "IS_NOT_BLANK"));
        if !blank_ok && c["values"].as_array().is_none_or(|v| v.is_empty()) {
            return Err(invalid(cx, "condition.conditions.values", "must not be empty"));
        }
    }
    Ok(())
}

/// Checks a stored (merged) schedule and returns it as `AlertsMutingRuleSchedule`.
fn schedule_answer(cx: &Cx<'_>, s: &Map<String, Value>) -> Result<Value, FieldError> {
    let zone = str_opt(s, "timeZone").unwrap_or_default();
    if zone.is_empty() {
        return Err(invalid(cx, "schedule.timeZone", "must not be blank"));
    }
    let start = given(s, "startTime")
        .map(|v| naive(v).ok_or_else(|| invalid(cx, "schedule.startTime", "is not a date-time")));
    let end = given(s, "endTime")
        .map(|v| naive(v).ok_or_else(|| invalid(cx, "schedule.endTime", "is not a date-time")));
    let start = start.transpose()?;
    let end = end.transpose()?;
    if let (Some(a), Some(b)) = (start, end) {
        if b <= a {
            return Err(invalid(cx, "schedule.endTime", "must be after startTime"));
        }
    }
    let repeat = str_opt(s, "repeat");
    let days = given(s, "weeklyRepeatDays").and_then(Value::as_array).cloned().unwrap_or_default();
    match repeat {
        Some("WEEKLY") if days.is_empty() => {
            return Err(invalid(cx, "schedule.weeklyRepeatDays", "is required when repeat is WEEKLY"))
        }
        Some("WEEKLY") => {}
        _ if !days.is_empty() => {
            return Err(invalid(cx, "schedule.weeklyRepeatDays", "may only be set when repeat is WEEKLY"))
        }
        _ => {}
    }
    if given(s, "repeatCount").is_some() && given(s, "endRepeat").is_some() {
        return Err(invalid(cx, "schedule.repeatCount", "use either endRepeat or repeatCount, not both"));
    }
    if repeat.is_none() && (given(s, "repeatCount").is_some() || given(s, "endRepeat").is_some()) {
        return Err(invalid(cx, "schedule.repeat", "is required with repeatCount or endRepeat"));
    }
    let offset = offset_of(zone);
    let stamp = |t: Option<NaiveDateTime>| -> Value {
        t.map_or(Value::Null, |t| json!(format!("{}{offset}", t.format("%Y-%m-%dT%H:%M:%S"))))
    };
    let end_repeat = given(s, "endRepeat").and_then(naive);
    // Guess: the next window is reported as the first one (the stand-in does not advance
    // recurring windows with the clock); for a one-time rule the SDL says they match.
    Ok(json!({
        "startTime": stamp(start),
        "endTime": stamp(end),
        "nextStartTime": stamp(start),
        "nextEndTime": stamp(end),
        "timeZone": zone,
        "repeat": repeat,
        "weeklyRepeatDays": if days.is_empty() { Value::Null } else { Value::Array(days) },
        "repeatCount": given(s, "repeatCount").cloned().unwrap_or(Value::Null),
        "endRepeat": stamp(end_repeat),
    }))
}

/// `ACTIVE`, `SCHEDULED`, `ENDED` or `INACTIVE` (the SDL's `AlertsMutingRuleStatus`), judged
/// with the window's local times read as UTC (guess: no time zone database here).
fn status(enabled: bool, schedule: Option<&Map<String, Value>>) -> &'static str {
    if !enabled {
        return "INACTIVE";
    }
    let Some(s) = schedule else { return "ACTIVE" };
    let now = chrono::Utc::now().naive_utc();
    let start = given(s, "startTime").and_then(naive);
    let end = given(s, "endTime").and_then(naive);
    let recurring = given(s, "repeat").is_some();
    match (start, end) {
        (Some(a), _) if a > now => "SCHEDULED",
        (_, Some(b)) if b <= now && !recurring => "ENDED",
        _ => "ACTIVE",
    }
}

/// The stored rule keeps the inputs (`__wk_schedule`) next to the answer fields.
fn answer(cx: &Cx<'_>, stored: &Value) -> Result<Value, FieldError> {
    let mut out = stored.clone();
    let input = stored["__wk_schedule"].as_object().cloned();
    out["schedule"] = match &input {
        Some(s) => schedule_answer(cx, s)?,
        None => Value::Null,
    };
    out["status"] = json!(status(stored["enabled"].as_bool().unwrap_or(true), input.as_ref()));
    Ok(out)
}

pub(crate) fn create(cx: &Cx<'_>, args: &Map<String, Value>) -> Resolved {
    let account_id = int(args, "accountId");
    cx.check_account(account_id)?;
    let input = obj(args, "rule");
    let name = str_opt(input, "name").unwrap_or_default();
    if name.trim().is_empty() {
        return Err(invalid(cx, "name", "must not be blank"));
    }
    let condition = input.get("condition").cloned().unwrap_or(Value::Null);
    check_condition(cx, &condition)?;
    let id = cx.shared.next_id.fetch_add(1, Ordering::Relaxed).to_string();
    let user = cx.tenant.borrow().user_id.to_string();
    let now = now_iso();
    let stored = json!({
        "id": id,
        "accountId": account_id,
        "name": name,
        "description": given(input, "description").cloned().unwrap_or(Value::Null),
        "enabled": input.get("enabled").cloned().unwrap_or(json!(true)),
        // Guess: New Relic's default when the input leaves it out.
        "actionOnMutingRuleWindowEnded": given(input, "actionOnMutingRuleWindowEnded").cloned()
            .unwrap_or(json!("CLOSE_ISSUES_ON_INACTIVE")),
        "condition": condition,
        "__wk_schedule": given(input, "schedule").cloned().unwrap_or(Value::Null),
        "createdAt": now,
        "updatedAt": now,
        "createdBy": user,
        "updatedBy": user,
        "createdByUser": cx.tenant.borrow().user(),
        "updatedByUser": cx.tenant.borrow().user(),
    });
    let out = answer(cx, &stored)?;
    let mut tenant = cx.tenant.borrow_mut();
    let account = tenant.account_mut(account_id).ok_or_else(|| cx.forbidden(account_id))?;
    account.muting_rules.insert(id, stored);
    Ok(out)
}

pub(crate) fn update(cx: &Cx<'_>, args: &Map<String, Value>) -> Resolved {
    let account_id = int(args, "accountId");
    cx.check_account(account_id)?;
    let rule_id = id(args, "id");
    let input = obj(args, "rule");
    let current = {
        let tenant = cx.tenant.borrow();
        let account = tenant.account(account_id).ok_or_else(|| cx.forbidden(account_id))?;
        account.muting_rules.get(&rule_id).cloned().ok_or_else(|| not_found(cx, &rule_id))?
    };
    let mut next = current;
    if let Some(name) = given(input, "name") {
        if name.as_str().unwrap_or_default().trim().is_empty() {
            return Err(invalid(cx, "name", "must not be blank"));
        }
        next["name"] = name.clone();
    }
    for key in ["description", "enabled", "actionOnMutingRuleWindowEnded"] {
        // An update input field that is present replaces, `null` included (guess: the SDL's
        // update inputs are merge-style; watchkeep sends every field it manages).
        if let Some(v) = input.get(key) {
            next[key] = v.clone();
        }
    }
    if let Some(c) = given(input, "condition") {
        check_condition(cx, c)?;
        next["condition"] = c.clone();
    }
    if let Some(s) = input.get("schedule") {
        match s {
            Value::Null => next["__wk_schedule"] = Value::Null,
            Value::Object(given_fields) => {
                let mut merged = next["__wk_schedule"].as_object().cloned().unwrap_or_default();
                for (k, v) in given_fields {
                    merged.insert(k.clone(), v.clone());
                }
                merged.retain(|_, v| !v.is_null());
                next["__wk_schedule"] = Value::Object(merged);
            }
            _ => {}
        }
    }
    next["updatedAt"] = json!(now_iso());
    next["updatedBy"] = json!(cx.tenant.borrow().user_id.to_string());
    let out = answer(cx, &next)?;
    let mut tenant = cx.tenant.borrow_mut();
    let account = tenant.account_mut(account_id).ok_or_else(|| cx.forbidden(account_id))?;
    account.muting_rules.insert(rule_id, next);
    Ok(out)
}

pub(crate) fn delete(cx: &Cx<'_>, args: &Map<String, Value>) -> Resolved {
    let account_id = int(args, "accountId");
    cx.check_account(account_id)?;
    let rule_id = id(args, "id");
    let mut tenant = cx.tenant.borrow_mut();
    let account = tenant.account_mut(account_id).ok_or_else(|| cx.forbidden(account_id))?;
    if account.muting_rules.shift_remove(&rule_id).is_none() {
        return Err(not_found(cx, &rule_id));
    }
    Ok(json!({ "id": rule_id }))
}

/// `mutingRules(filter)`: every rule of the account, in creation order (the filter's criteria
/// are not applied: guess that watchkeep never sends one).
pub(crate) fn list(cx: &Cx<'_>, account_id: i64, _args: &Map<String, Value>) -> Resolved {
    let stored: Vec<Value> = {
        let tenant = cx.tenant.borrow();
        let account = tenant.account(account_id).ok_or_else(|| cx.forbidden(account_id))?;
        account.muting_rules.values().cloned().collect()
    };
    stored.iter().map(|r| answer(cx, r)).collect::<Result<Vec<_>, _>>().map(Value::Array)
}

pub(crate) fn one(cx: &Cx<'_>, account_id: i64, args: &Map<String, Value>) -> Resolved {
    let rule_id = id(args, "id");
    let stored = {
        let tenant = cx.tenant.borrow();
        let account = tenant.account(account_id).ok_or_else(|| cx.forbidden(account_id))?;
        account.muting_rules.get(&rule_id).cloned()
    };
    match stored {
        Some(r) => answer(cx, &r),
        None => Ok(Value::Null),
    }
}
