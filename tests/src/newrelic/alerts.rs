//! Alert policies and static NRQL conditions (`alertsPolicy*`, `alertsNrqlConditionStatic*`,
//! `alertsConditionDelete`, `actor.account.alerts.{policiesSearch, policy,
//! nrqlConditionsSearch, nrqlCondition}`).
//!
//! What New Relic fills in when a field is left out (and returns on every read), which is what
//! makes naive clients see perpetual diffs:
//!
//! | field | default |
//! |---|---|
//! | `violationTimeLimitSeconds` | 259200 (3 days); `violationTimeLimit` is derived from it (`NON_MATCHABLE_LIMIT_VALUE` when no enum value matches) |
//! | `signal.aggregationMethod` | `EVENT_FLOW` |
//! | `signal.aggregationWindow` | 60 |
//! | `signal.aggregationDelay` | 120 with `EVENT_FLOW` and `CADENCE`, else null |
//! | `signal.aggregationTimer` | 60 with `EVENT_TIMER`, else null |
//! | `signal.fillOption` | `NONE` |
//! | `expiration.{openViolationOnExpiration, closeViolationsOnExpiration, ignoreOnExpectedTermination}` | false |
//! | `valueFunction` | `SINGLE_VALUE` |
//! | `description`, `runbookUrl`, `titleTemplate`, `nrql.dataAccountId`, `expiration.expirationDuration` | null |
//!
//! Business-rule violations (blank names, a missing critical term, a `thresholdDuration` that is
//! not a multiple of the aggregation window, out-of-range windows and delays, `STATIC` fill
//! without a value, ...) are refused in the `errors` array with `errorClass` `BAD_USER_INPUT` and
//! `extensions.validationErrors: [{name, reason}]`, and the mutation's field is `null`. Unknown
//! ids give `errorClass` `NOT_FOUND`.

use std::sync::atomic::Ordering;

use apollo_compiler::resolvers::FieldError;
use serde_json::{json, Map, Value};

use super::exec::args::{given, id, int, obj, str_opt};
use super::exec::{Cx, Resolved};
use super::state::{entity_guid, now_ms, page};

/// Longest policy name New Relic accepts.
const POLICY_NAME_MAX: usize = 64;
/// Longest condition name New Relic accepts.
const CONDITION_NAME_MAX: usize = 128;

/// `AlertsViolationTimeLimit` values and their seconds.
const TIME_LIMITS: &[(&str, i64)] = &[
    ("ONE_HOUR", 3_600),
    ("TWO_HOURS", 7_200),
    ("FOUR_HOURS", 14_400),
    ("EIGHT_HOURS", 28_800),
    ("TWELVE_HOURS", 43_200),
    ("TWENTY_FOUR_HOURS", 86_400),
    ("THIRTY_DAYS", 2_592_000),
];

fn invalid(cx: &Cx<'_>, problems: Vec<(String, String)>) -> FieldError {
    let text: Vec<String> = problems.iter().map(|(name, reason)| format!("{name}: {reason}")).collect();
    let details: Vec<Value> =
        problems.iter().map(|(name, reason)| json!({"name": name, "reason": reason})).collect();
    let mut extra = Map::new();
    extra.insert("validationErrors".into(), Value::Array(details));
    cx.fail_with("BAD_USER_INPUT", format!("Validation Error: {}", text.join("; ")), extra)
}

fn not_found(cx: &Cx<'_>, what: &str, id: &str) -> FieldError {
    cx.fail("NOT_FOUND", format!("{what} with id {id} not found"))
}

// ---- policies ----

pub(crate) fn policy_create(cx: &Cx<'_>, args: &Map<String, Value>) -> Resolved {
    let account_id = int(args, "accountId");
    cx.check_account(account_id)?;
    let input = obj(args, "policy");
    let name = str_opt(input, "name").unwrap_or_default();
    check_policy_name(cx, name)?;
    let id = cx.shared.next_id.fetch_add(1, Ordering::Relaxed).to_string();
    let policy = json!({
        "id": id,
        "name": name,
        "incidentPreference": input.get("incidentPreference").cloned().unwrap_or(json!("PER_POLICY")),
        "accountId": account_id,
    });
    let mut tenant = cx.tenant.borrow_mut();
    let account = tenant.account_mut(account_id).ok_or_else(|| cx.forbidden(account_id))?;
    account.policies.insert(id, policy.clone());
    Ok(policy)
}

fn check_policy_name(cx: &Cx<'_>, name: &str) -> Result<(), FieldError> {
    if name.trim().is_empty() {
        return Err(invalid(cx, vec![("name".into(), "must not be blank".into())]));
    }
    if name.chars().count() > POLICY_NAME_MAX {
        return Err(invalid(
            cx,
            vec![("name".into(), format!("length must be between 1 and {POLICY_NAME_MAX}"))],
        ));
    }
    Ok(())
}

pub(crate) fn policy_update(cx: &Cx<'_>, args: &Map<String, Value>) -> Resolved {
    let account_id = int(args, "accountId");
    cx.check_account(account_id)?;
    let id = id(args, "id");
    let input = obj(args, "policy");
    if let Some(name) = given(input, "name") {
        check_policy_name(cx, name.as_str().unwrap_or_default())?;
    }
    let mut tenant = cx.tenant.borrow_mut();
    let account = tenant.account_mut(account_id).ok_or_else(|| cx.forbidden(account_id))?;
    let policy = account.policies.get_mut(&id).ok_or_else(|| not_found(cx, "Policy", &id))?;
    for key in ["name", "incidentPreference"] {
        if let Some(v) = given(input, key) {
            policy[key] = v.clone();
        }
    }
    Ok(policy.clone())
}

pub(crate) fn policy_delete(cx: &Cx<'_>, args: &Map<String, Value>) -> Resolved {
    let account_id = int(args, "accountId");
    cx.check_account(account_id)?;
    let id = id(args, "id");
    let mut tenant = cx.tenant.borrow_mut();
    let account = tenant.account_mut(account_id).ok_or_else(|| cx.forbidden(account_id))?;
    if account.policies.shift_remove(&id).is_none() {
        return Err(not_found(cx, "Policy", &id));
    }
    // Deleting a policy deletes its conditions.
    account.conditions.retain(|_, c| c["policyId"] != json!(id));
    Ok(json!({ "id": id }))
}

pub(crate) fn policies_search(cx: &Cx<'_>, account_id: i64, args: &Map<String, Value>) -> Resolved {
    let criteria = obj(args, "searchCriteria");
    let ids: Option<Vec<String>> = given(criteria, "ids")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(super::state::id_text).collect());
    let name = str_opt(criteria, "name");
    let like = str_opt(criteria, "nameLike").map(str::to_lowercase);
    let tenant = cx.tenant.borrow();
    let account = tenant.account(account_id).ok_or_else(|| cx.forbidden(account_id))?;
    let matches: Vec<Value> = account
        .policies
        .values()
        .filter(|p| {
            let pid = p["id"].as_str().unwrap_or_default();
            let pname = p["name"].as_str().unwrap_or_default();
            ids.as_ref().is_none_or(|ids| ids.iter().any(|i| i == pid))
                && name.is_none_or(|n| n == pname)
                && like.as_ref().is_none_or(|l| pname.to_lowercase().contains(l.as_str()))
        })
        .cloned()
        .collect();
    let cursor = args.get("cursor").and_then(Value::as_str);
    let page = page(matches, cursor, cx.shared.opts.page_sizes.alerts, "policies")
        .map_err(|e| cx.fail("BAD_USER_INPUT", e))?;
    Ok(json!({"policies": page.items, "nextCursor": page.next_cursor_json(), "totalCount": page.total}))
}

pub(crate) fn policy(cx: &Cx<'_>, account_id: i64, args: &Map<String, Value>) -> Resolved {
    let id = id(args, "id");
    let tenant = cx.tenant.borrow();
    let account = tenant.account(account_id).ok_or_else(|| cx.forbidden(account_id))?;
    account.policies.get(&id).cloned().ok_or_else(|| not_found(cx, "Policy", &id))
}

// ---- NRQL conditions ----

pub(crate) fn condition_create(cx: &Cx<'_>, args: &Map<String, Value>) -> Resolved {
    let account_id = int(args, "accountId");
    cx.check_account(account_id)?;
    let policy_id = id(args, "policyId");
    let input = obj(args, "condition");
    let mut tenant = cx.tenant.borrow_mut();
    let user = tenant.user();
    let account = tenant.account_mut(account_id).ok_or_else(|| cx.forbidden(account_id))?;
    if !account.policies.contains_key(&policy_id) {
        return Err(not_found(cx, "Policy", &policy_id));
    }
    let mut condition = json!({
        "__typename": "AlertsNrqlStaticCondition",
        "type": "STATIC",
        "policyId": policy_id,
        "name": null,
        "description": null,
        "enabled": true,
        "runbookUrl": null,
        "titleTemplate": null,
        "nrql": {"query": null, "dataAccountId": null, "evaluationOffset": null},
        "signal": {},
        "expiration": {},
        "terms": [],
        "valueFunction": null,
        "violationTimeLimit": null,
        "violationTimeLimitSeconds": null,
    });
    merge_input(&mut condition, input);
    finish(cx, &mut condition)?;
    let id = cx.shared.next_id.fetch_add(1, Ordering::Relaxed).to_string();
    let now = now_ms();
    condition["id"] = json!(id);
    condition["entityGuid"] = json!(entity_guid(account_id, "AIOPS", "CONDITION", &id));
    condition["createdAt"] = json!(now);
    condition["updatedAt"] = json!(now);
    condition["createdBy"] = user.clone();
    condition["updatedBy"] = user;
    account.conditions.insert(id, condition.clone());
    Ok(condition)
}

pub(crate) fn condition_update(cx: &Cx<'_>, args: &Map<String, Value>) -> Resolved {
    let account_id = int(args, "accountId");
    cx.check_account(account_id)?;
    let id = id(args, "id");
    let input = obj(args, "condition");
    let mut tenant = cx.tenant.borrow_mut();
    let user = tenant.user();
    let account = tenant.account_mut(account_id).ok_or_else(|| cx.forbidden(account_id))?;
    let stored = account.conditions.get_mut(&id).ok_or_else(|| not_found(cx, "Condition", &id))?;
    let mut condition = stored.clone();
    // A method change drops the defaults that belonged to the old method (unless given again).
    let signal_in = given(input, "signal").and_then(Value::as_object);
    let new_method = signal_in.and_then(|s| str_opt(s, "aggregationMethod"));
    if let Some(method) = new_method {
        if Some(method) != condition["signal"]["aggregationMethod"].as_str() {
            let given_here = |k: &str| signal_in.is_some_and(|s| s.contains_key(k));
            for key in ["aggregationDelay", "aggregationTimer"] {
                if !given_here(key) {
                    condition["signal"][key] = Value::Null;
                }
            }
        }
    }
    if given(input, "violationTimeLimit").is_some() && given(input, "violationTimeLimitSeconds").is_none() {
        condition["violationTimeLimitSeconds"] = Value::Null;
    }
    merge_input(&mut condition, input);
    finish(cx, &mut condition)?;
    condition["updatedAt"] = json!(now_ms());
    condition["updatedBy"] = user;
    *stored = condition.clone();
    Ok(condition)
}

pub(crate) fn condition_delete(cx: &Cx<'_>, args: &Map<String, Value>) -> Resolved {
    let account_id = int(args, "accountId");
    cx.check_account(account_id)?;
    let id = id(args, "id");
    let mut tenant = cx.tenant.borrow_mut();
    let account = tenant.account_mut(account_id).ok_or_else(|| cx.forbidden(account_id))?;
    account.conditions.shift_remove(&id).ok_or_else(|| not_found(cx, "Condition", &id))?;
    Ok(json!({ "id": id }))
}

pub(crate) fn conditions_search(cx: &Cx<'_>, account_id: i64, args: &Map<String, Value>) -> Resolved {
    let c = obj(args, "searchCriteria");
    let name = str_opt(c, "name");
    let name_like = str_opt(c, "nameLike").map(str::to_lowercase);
    let policy_id = given(c, "policyId").and_then(super::state::id_text);
    let query = str_opt(c, "query");
    let query_like = str_opt(c, "queryLike").map(str::to_lowercase);
    let operator = str_opt(c, "termsOperator");
    let tenant = cx.tenant.borrow();
    let account = tenant.account(account_id).ok_or_else(|| cx.forbidden(account_id))?;
    // References, not copies: each page clones only its own items (a copy of every match per
    // page made listing 10,000 conditions quadratic).
    let matches: Vec<&Value> = account
        .conditions
        .values()
        .filter(|cond| {
            let cname = cond["name"].as_str().unwrap_or_default();
            let cquery = cond["nrql"]["query"].as_str().unwrap_or_default();
            name.is_none_or(|n| n == cname)
                && name_like.as_ref().is_none_or(|l| cname.to_lowercase().contains(l.as_str()))
                && policy_id.as_ref().is_none_or(|p| cond["policyId"].as_str() == Some(p))
                && query.is_none_or(|q| q == cquery)
                && query_like.as_ref().is_none_or(|l| cquery.to_lowercase().contains(l.as_str()))
                && operator.is_none_or(|op| {
                    cond["terms"].as_array().is_some_and(|ts| ts.iter().any(|t| t["operator"] == json!(op)))
                })
        })
        .collect();
    let cursor = args.get("cursor").and_then(Value::as_str);
    let page = page(matches, cursor, cx.shared.opts.page_sizes.alerts, "nrqlConditions")
        .map_err(|e| cx.fail("BAD_USER_INPUT", e))?;
    let items: Vec<Value> = page.items.iter().map(|c| (*c).clone()).collect();
    Ok(json!({"nrqlConditions": items, "nextCursor": page.next_cursor_json(), "totalCount": page.total}))
}

pub(crate) fn condition(cx: &Cx<'_>, account_id: i64, args: &Map<String, Value>) -> Resolved {
    let id = id(args, "id");
    let tenant = cx.tenant.borrow();
    let account = tenant.account(account_id).ok_or_else(|| cx.forbidden(account_id))?;
    account.conditions.get(&id).cloned().ok_or_else(|| not_found(cx, "Condition", &id))
}

/// Copies the given input members onto a stored condition: scalars replace, `nrql`, `signal`
/// and `expiration` merge member by member, `terms` replace as a whole. An explicit `null`
/// clears a nullable member (a default may then fill it again); for the non-null `name` and
/// `enabled` it means "unchanged".
fn merge_input(condition: &mut Value, input: &Map<String, Value>) {
    for (key, value) in input {
        match key.as_str() {
            "nrql" | "signal" | "expiration" => {
                if let Value::Object(members) = value {
                    if !condition[key].is_object() {
                        condition[key] = json!({});
                    }
                    for (k, v) in members {
                        condition[key][k] = v.clone();
                    }
                }
            }
            "terms" => {
                let terms: Vec<Value> = value
                    .as_array()
                    .map(|ts| {
                        ts.iter()
                            .map(|t| {
                                let mut t = t.clone();
                                if t.get("prediction").is_none() {
                                    t["prediction"] = Value::Null;
                                }
                                t
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                condition["terms"] = Value::Array(terms);
            }
            "name" | "enabled" if value.is_null() => {}
            _ => condition[key.as_str()] = value.clone(),
        }
    }
}

/// Applies New Relic's defaults and business rules to a condition about to be stored.
fn finish(cx: &Cx<'_>, c: &mut Value) -> Result<(), FieldError> {
    let mut problems: Vec<(String, String)> = Vec::new();
    let mut problem = |name: &str, reason: String| problems.push((name.to_owned(), reason));

    // Defaults.
    let signal = &mut c["signal"];
    for key in [
        "aggregationDelay",
        "aggregationMethod",
        "aggregationTimer",
        "aggregationWindow",
        "evaluationDelay",
        "evaluationOffset",
        "fillOption",
        "fillValue",
        "slideBy",
    ] {
        if signal.get(key).is_none() {
            signal[key] = Value::Null;
        }
    }
    if signal["aggregationMethod"].is_null() {
        signal["aggregationMethod"] = json!("EVENT_FLOW");
    }
    if signal["aggregationWindow"].is_null() {
        signal["aggregationWindow"] = json!(60);
    }
    let method = signal["aggregationMethod"].as_str().unwrap_or("EVENT_FLOW").to_owned();
    if method == "EVENT_TIMER" {
        if signal["aggregationTimer"].is_null() {
            signal["aggregationTimer"] = json!(60);
        }
    } else if signal["aggregationDelay"].is_null() {
        signal["aggregationDelay"] = json!(120);
    }
    if signal["fillOption"].is_null() {
        signal["fillOption"] = json!("NONE");
    }
    let expiration = &mut c["expiration"];
    if expiration.get("expirationDuration").is_none() {
        expiration["expirationDuration"] = Value::Null;
    }
    for key in ["openViolationOnExpiration", "closeViolationsOnExpiration", "ignoreOnExpectedTermination"] {
        if expiration.get(key).is_none_or(Value::is_null) {
            expiration[key] = json!(false);
        }
    }
    for key in ["dataAccountId", "evaluationOffset"] {
        if c["nrql"].get(key).is_none() {
            c["nrql"][key] = Value::Null;
        }
    }
    if c["valueFunction"].is_null() {
        c["valueFunction"] = json!("SINGLE_VALUE");
    }
    if c["violationTimeLimitSeconds"].is_null() {
        let from_enum = c["violationTimeLimit"]
            .as_str()
            .and_then(|e| TIME_LIMITS.iter().find(|(name, _)| *name == e))
            .map(|(_, secs)| *secs);
        c["violationTimeLimitSeconds"] = json!(from_enum.unwrap_or(259_200));
    }
    let limit = c["violationTimeLimitSeconds"].as_i64().unwrap_or_default();
    c["violationTimeLimit"] = json!(TIME_LIMITS
        .iter()
        .find(|(_, secs)| *secs == limit)
        .map_or("NON_MATCHABLE_LIMIT_VALUE", |(name, _)| *name));

    // Rules.
    let name = c["name"].as_str().unwrap_or_default();
    if name.trim().is_empty() {
        problem("name", "must not be blank".into());
    } else if name.chars().count() > CONDITION_NAME_MAX {
        problem("name", format!("length must be between 1 and {CONDITION_NAME_MAX}"));
    }
    if c["nrql"]["query"].as_str().is_none_or(|q| q.trim().is_empty()) {
        problem("nrql.query", "must not be blank".into());
    }
    if !(300..=2_592_000).contains(&limit) {
        problem("violationTimeLimitSeconds", "must be between 300 and 2592000".into());
    }
    let s = &c["signal"];
    let window = s["aggregationWindow"].as_i64().unwrap_or(60);
    if !(30..=21_600).contains(&window) {
        problem("signal.aggregationWindow", "must be between 30 and 21600".into());
    }
    if let Some(delay) = s["aggregationDelay"].as_i64() {
        match method.as_str() {
            "EVENT_TIMER" => problem("signal.aggregationDelay", "cannot be used with EVENT_TIMER".into()),
            "CADENCE" if !(0..=3_600).contains(&delay) => {
                problem("signal.aggregationDelay", "must be between 0 and 3600 with CADENCE".into())
            }
            "EVENT_FLOW" if !(0..=1_200).contains(&delay) => {
                problem("signal.aggregationDelay", "must be between 0 and 1200 with EVENT_FLOW".into())
            }
            _ => {}
        }
    }
    if let Some(timer) = s["aggregationTimer"].as_i64() {
        if method != "EVENT_TIMER" {
            problem("signal.aggregationTimer", format!("can only be used with EVENT_TIMER, not {method}"));
        } else if !(5..=1_200).contains(&timer) {
            problem("signal.aggregationTimer", "must be between 5 and 1200".into());
        }
    }
    if s["fillOption"] == json!("STATIC") && s["fillValue"].is_null() {
        problem("signal.fillValue", "is required when fillOption is STATIC".into());
    }
    if let Some(slide) = s["slideBy"].as_i64() {
        if slide <= 0 || slide >= window || window % slide != 0 {
            problem(
                "signal.slideBy",
                format!("must be smaller than and a factor of aggregationWindow ({window})"),
            );
        }
    }
    if let Some(duration) = c["expiration"]["expirationDuration"].as_i64() {
        if !(30..=172_800).contains(&duration) {
            problem("expiration.expirationDuration", "must be between 30 and 172800".into());
        }
    }
    let terms = c["terms"].as_array().cloned().unwrap_or_default();
    let count = |p: &str| terms.iter().filter(|t| t["priority"] == json!(p)).count();
    if count("CRITICAL") != 1 {
        problem("terms", "a condition needs exactly one CRITICAL term".into());
    }
    if count("WARNING") > 1 {
        problem("terms", "a condition can have at most one WARNING term".into());
    }
    for (i, t) in terms.iter().enumerate() {
        let duration = t["thresholdDuration"].as_i64().unwrap_or_default();
        if duration < window || duration % window != 0 || duration > 86_400 {
            problem(
                &format!("terms[{i}].thresholdDuration"),
                format!("must be a multiple of the aggregation window ({window}) between {window} and 86400"),
            );
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(invalid(cx, problems))
    }
}
