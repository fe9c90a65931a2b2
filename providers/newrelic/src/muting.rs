//! `newrelic_muting_rule`: alert muting rules over NerdGraph (`alertsMutingRuleCreate`,
//! `alertsMutingRuleUpdate`, `alertsMutingRuleDelete`, read with
//! `actor.account(id).alerts.mutingRules`). Types from `shared/specs/newrelic-nerdgraph.graphql`:
//! `AlertsMutingRuleInput` / `AlertsMutingRuleUpdateInput` in, `AlertsMutingRule` out.
//!
//! Attributes are the input's: `name`, `description` (carries the ownership marker line, as
//! conditions do), `enabled`, `actionOnMutingRuleWindowEnded`, `condition` (`{operator,
//! conditions: [{attribute, operator, values}]}`; `conditionId` and `policyId` values are ids,
//! linked by the engine) and `schedule` (`AlertsMutingRuleScheduleInput`: `startTime`/`endTime`/
//! `endRepeat` as local `NaiveDateTime`s in `timeZone`, `repeat`, `weeklyRepeatDays`,
//! `repeatCount`).

use serde_json::{json, Map, Value};

use crate::ids::{id_text, linked_id};

pub(crate) const FIELDS: &str = "id name description enabled actionOnMutingRuleWindowEnded updatedAt \
condition { operator conditions { attribute operator values } } schedule { startTime endTime endRepeat \
repeat repeatCount timeZone weeklyRepeatDays }";

pub(crate) fn list_document() -> String {
    format!(
        "query WkMutingRules($accountId: Int!) {{ actor {{ account(id: $accountId) {{ alerts {{ \
         mutingRules {{ {FIELDS} }} }} }} }} }}"
    )
}

pub(crate) fn create_document() -> String {
    format!(
        "mutation WkMutingRuleCreate($accountId: Int!, $rule: AlertsMutingRuleInput!) {{ \
         alertsMutingRuleCreate(accountId: $accountId, rule: $rule) {{ {FIELDS} }} }}"
    )
}

pub(crate) fn update_document() -> String {
    format!(
        "mutation WkMutingRuleUpdate($accountId: Int!, $id: ID!, $rule: AlertsMutingRuleUpdateInput!) {{ \
         alertsMutingRuleUpdate(accountId: $accountId, id: $id, rule: $rule) {{ {FIELDS} }} }}"
    )
}

pub(crate) const DELETE: &str = "mutation WkMutingRuleDelete($accountId: Int!, $id: ID!) { \
alertsMutingRuleDelete(accountId: $accountId, id: $id) { id } }";

/// Condition attributes whose values are ids of objects watchkeep may own (links the engine
/// resolves): NRQL conditions and alert policies.
pub(crate) const CONDITION_ID_ATTRIBUTE: &str = "conditionId";
pub(crate) const POLICY_ID_ATTRIBUTE: &str = "policyId";

/// Guess: New Relic's value when the input leaves `actionOnMutingRuleWindowEnded` out (the SDL
/// gives no default; the stand-in answers this one).
const DEFAULT_ACTION: &str = "CLOSE_ISSUES_ON_INACTIVE";

/// `2020-07-10T15:00:00-07:00` (an answer's `DateTime`) or `2020-07-10T15:00:00` (an input's
/// `NaiveDateTime`) → `2020-07-10T15:00:00`: the wall-clock time in `timeZone`, the form the
/// input takes, so both sides compare.
fn local(v: &Value) -> Option<String> {
    let s = v.as_str()?.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(t.naive_local().format("%Y-%m-%dT%H:%M:%S").to_string());
    }
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M"))
        .ok()
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S").to_string())
}

/// The canonical form (desired or live):
/// 1. read-only fields go (`id`, `accountId`, `status`, `createdAt`, `createdBy`, `updatedAt`,
///    `updatedBy`, `*ByUser`, `mutingRuleLifecycleEventPublishedAt`, `nextStartTime`,
///    `nextEndTime`);
/// 2. `null`s and defaults go: `enabled = true`, `actionOnMutingRuleWindowEnded =
///    CLOSE_ISSUES_ON_INACTIVE`, an empty `description`;
/// 3. schedule times become local `YYYY-MM-DDTHH:MM:SS`; `weeklyRepeatDays` and each
///    condition's `values` are sets (sorted) of trimmed ids.
pub fn normalize(v: &Value) -> Value {
    let mut out = Map::new();
    if let Some(name) = v["name"].as_str().map(str::trim).filter(|s| !s.is_empty()) {
        out.insert("name".into(), json!(name));
    }
    if let Some(d) = v["description"].as_str().map(str::trim_end).filter(|s| !s.trim().is_empty()) {
        out.insert("description".into(), json!(d));
    }
    if v["enabled"] == json!(false) {
        out.insert("enabled".into(), json!(false));
    }
    if let Some(a) = v["actionOnMutingRuleWindowEnded"].as_str().filter(|a| *a != DEFAULT_ACTION) {
        out.insert("actionOnMutingRuleWindowEnded".into(), json!(a));
    }
    if v["condition"].is_object() {
        let mut conditions: Vec<Value> = v["condition"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| {
                let mut values: Vec<String> = c["values"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(id_text)
                    .map(|s| linked_id(&s))
                    .collect();
                values.sort();
                values.dedup();
                json!({ "attribute": c["attribute"], "operator": c["operator"], "values": values })
            })
            .collect();
        conditions.sort_by_key(|c| c.to_string());
        out.insert(
            "condition".into(),
            json!({ "operator": v["condition"]["operator"], "conditions": conditions }),
        );
    }
    if let Some(s) = v["schedule"].as_object() {
        let mut sched = Map::new();
        for key in ["startTime", "endTime", "endRepeat"] {
            if let Some(t) = s.get(key).and_then(local) {
                sched.insert(key.into(), json!(t));
            }
        }
        for key in ["timeZone", "repeat", "repeatCount"] {
            if let Some(x) = s.get(key).filter(|x| !x.is_null()) {
                sched.insert(key.into(), x.clone());
            }
        }
        if let Some(days) = s.get("weeklyRepeatDays").and_then(Value::as_array).filter(|d| !d.is_empty()) {
            let mut days: Vec<String> = days.iter().filter_map(|d| d.as_str().map(str::to_string)).collect();
            days.sort();
            sched.insert("weeklyRepeatDays".into(), json!(days));
        }
        out.insert("schedule".into(), Value::Object(sched));
    }
    Value::Object(out)
}

/// The input sent on create/update from canonical attributes (ids already resolved). On update
/// every optional schedule field is sent, `null` when absent, so removing one takes effect.
pub(crate) fn input(norm: &Value, update: bool) -> Value {
    let mut rule = json!({
        "name": norm["name"],
        "enabled": norm["enabled"].as_bool().unwrap_or(true),
        "actionOnMutingRuleWindowEnded": norm["actionOnMutingRuleWindowEnded"].as_str().unwrap_or(DEFAULT_ACTION),
        "condition": norm["condition"],
        "description": norm.get("description").cloned().unwrap_or(if update { json!("") } else { Value::Null }),
    });
    if let Some(s) = norm["schedule"].as_object() {
        let mut sched = s.clone();
        if update {
            for key in ["startTime", "endTime", "endRepeat", "repeat", "repeatCount", "weeklyRepeatDays"] {
                sched.entry(key).or_insert(Value::Null);
            }
        }
        rule["schedule"] = Value::Object(sched);
    }
    if let Value::Object(m) = &mut rule {
        m.retain(|_, v| !v.is_null());
    }
    rule
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answer_and_input_normalise_alike() {
        let desired = json!({
            "name": "watchkeep maintenance.patch", "description": "Weekly\nmanaged-by:watchkeep watchkeep-address:m",
            "enabled": true,
            "condition": {"operator": "OR", "conditions": [{"attribute": "conditionId", "operator": "IN",
                           "values": ["77", " 5"]}]},
            "schedule": {"startTime": "2026-12-05T02:00:00", "endTime": "2026-12-05T04:00:00",
                         "timeZone": "Europe/Berlin", "repeat": "WEEKLY", "weeklyRepeatDays": ["SATURDAY"]},
        });
        let answer = json!({
            "id": "12", "name": "watchkeep maintenance.patch", "description": "Weekly\nmanaged-by:watchkeep watchkeep-address:m",
            "enabled": true, "actionOnMutingRuleWindowEnded": "CLOSE_ISSUES_ON_INACTIVE", "status": "SCHEDULED",
            "condition": {"operator": "OR", "conditions": [{"attribute": "conditionId", "operator": "IN",
                           "values": ["5", 77]}]},
            "schedule": {"startTime": "2026-12-05T02:00:00+01:00", "endTime": "2026-12-05T04:00:00+01:00",
                         "nextStartTime": "x", "timeZone": "Europe/Berlin", "repeat": "WEEKLY",
                         "weeklyRepeatDays": ["SATURDAY"], "repeatCount": null, "endRepeat": null},
        });
        assert_eq!(normalize(&answer), normalize(&desired));
        assert_eq!(normalize(&normalize(&desired)), normalize(&desired), "idempotent");
    }

    #[test]
    fn update_input_clears_removed_schedule_fields() {
        let norm = normalize(&json!({"name": "n", "condition": {"operator": "AND", "conditions": []},
                                     "schedule": {"startTime": "2026-12-05T02:00", "endTime": "2026-12-05T03:00", "timeZone": "UTC"}}));
        let upd = input(&norm, true);
        assert!(
            upd["schedule"]["repeat"].is_null()
                && upd["schedule"].as_object().unwrap().contains_key("repeat")
        );
        assert_eq!(upd["description"], "");
        let create = input(&norm, false);
        assert!(!create["schedule"].as_object().unwrap().contains_key("repeat"));
        assert!(create.get("description").is_none());
    }
}
