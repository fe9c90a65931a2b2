//! Incidents of alert conditions: `actor.account(id).aiIssues.incidents(cursor, filter,
//! timeWindow)`, answered with `AiIssuesIncidentData { incidents: [AiIssuesIIncident!]!,
//! nextCursor }`.
//!
//! Incidents are opened and closed by conditions evaluated over the events posted to the
//! Event API (`nrql.rs`), by the sandbox's `POST /_sandbox/newrelic/incidents`, or seeded by
//! tests with [`NewRelicStandIn::open_incident`] and [`NewRelicStandIn::close_incident`]
//! (`ObjectKind::Incident` lists them). They are stored as `AiIssuesNewRelicIncident` values with
//! their `__typename`, so `__typename` and `... on AiIssuesNewRelicIncident` resolve the way they
//! do on NerdGraph.
//!
//! What the query does, as New Relic documents it:
//!
//! * `timeWindow` (`startTime`/`endTime`, epoch milliseconds) selects the incidents **active
//!   during the window**: created at or before `endTime`, and still open or closed at or after
//!   `startTime`. Without `timeWindow` the window is the last 24 hours. A window that ends before
//!   it starts is refused (`BAD_USER_INPUT`).
//! * `filter`: `ids` (incident ids), `states` (`CREATED`, `CLOSED`), `priority` (`CRITICAL`,
//!   `HIGH`, `MEDIUM`, `LOW`; compared without regard to case), `entityGuids`, `entityTypes`;
//!   every given member must match.
//! * Newest first (by `createdAt`, then id), in pages of [`PageSizes::incidents`] (100) with
//!   opaque cursors.
//!
//! [`NewRelicStandIn::open_incident`]: super::NewRelicStandIn::open_incident
//! [`NewRelicStandIn::close_incident`]: super::NewRelicStandIn::close_incident
//! [`PageSizes::incidents`]: super::PageSizes::incidents

use serde_json::{json, Map, Value};

use super::exec::args::{given, obj};
use super::exec::{Cx, Resolved};
use super::state::{id_text, now_ms, page, Account};

/// The values of `AiIssuesPriority`.
pub const PRIORITIES: [&str; 4] = ["CRITICAL", "HIGH", "MEDIUM", "LOW"];

/// NerdGraph's window when the query gives none: the last 24 hours.
const DEFAULT_WINDOW_MS: i64 = 24 * 60 * 60 * 1000;

/// A new open incident of `condition_id` in `account` (NerdGraph's shape). `policyIds` and the
/// description come from the condition when the account has it.
pub(crate) fn new_incident(
    account: &Account,
    incident_id: &str,
    condition_id: &str,
    priority: &str,
    title: &str,
    created_at_ms: i64,
) -> Value {
    let condition = account.conditions.get(condition_id);
    let policy_id = condition.and_then(|c| id_text(&c["policyId"]));
    let policy_name = policy_id
        .as_ref()
        .and_then(|p| account.policies.get(p))
        .and_then(|p| p["name"].as_str())
        .map(str::to_owned);
    let condition_name = condition.and_then(|c| c["name"].as_str()).map(str::to_owned);
    let description: Vec<String> = match (policy_name, condition_name) {
        (Some(p), Some(c)) => vec![format!("Policy: {p}"), format!("Condition: {c}")],
        _ => vec![title.to_owned()],
    };
    json!({
        "__typename": "AiIssuesNewRelicIncident",
        "incidentId": incident_id,
        "account": account.outline(),
        "accountIds": account.id.to_string(),
        "conditionFamilyId": condition_id,
        "policyIds": policy_id,
        "priority": priority,
        "state": "CREATED",
        "title": title,
        "description": description,
        "entityGuids": condition.and_then(|c| c.get("entityGuid")).cloned(),
        "entityNames": condition.and_then(|c| c.get("name")).cloned(),
        "entityTypes": condition.map(|_| "CONDITION"),
        "environmentId": 1,
        "createdAt": created_at_ms,
        "closedAt": null,
        "updatedAt": created_at_ms,
        "timestamp": created_at_ms,
    })
}

/// Closes an open incident at `closed_at_ms`; false if it is closed already.
pub(crate) fn close(incident: &mut Value, closed_at_ms: i64) -> bool {
    if incident["state"] == json!("CLOSED") {
        return false;
    }
    incident["state"] = json!("CLOSED");
    incident["closedAt"] = json!(closed_at_ms);
    incident["updatedAt"] = json!(closed_at_ms);
    incident["timestamp"] = json!(closed_at_ms);
    true
}

/// `AiIssuesAccountStitchedFields.incidents(cursor, filter, timeWindow)`.
pub(crate) fn list(cx: &Cx<'_>, account_id: i64, args: &Map<String, Value>) -> Resolved {
    let (start, end) = match given(args, "timeWindow") {
        Some(w) => (w["startTime"].as_i64().unwrap_or_default(), w["endTime"].as_i64().unwrap_or_default()),
        None => {
            let now = now_ms();
            (now - DEFAULT_WINDOW_MS, now)
        }
    };
    if end < start {
        return Err(cx.fail(
            "BAD_USER_INPUT",
            format!("timeWindow: endTime ({end}) must not be before startTime ({start})"),
        ));
    }
    let filter = obj(args, "filter");
    let strings = |name: &str| -> Option<Vec<String>> {
        given(filter, name).and_then(Value::as_array).map(|a| a.iter().filter_map(id_text).collect())
    };
    let ids = strings("ids");
    let states = strings("states");
    let priorities = strings("priority");
    let guids = strings("entityGuids");
    let types = strings("entityTypes");
    let tenant = cx.tenant.borrow();
    let account = tenant.account(account_id).ok_or_else(|| cx.forbidden(account_id))?;
    let member = |list: &Option<Vec<String>>, value: &Value, fold_case: bool| {
        list.as_ref().is_none_or(|l| {
            value
                .as_str()
                .is_some_and(|v| l.iter().any(|x| if fold_case { x.eq_ignore_ascii_case(v) } else { x == v }))
        })
    };
    let mut matches: Vec<&Value> = account
        .incidents
        .values()
        .filter(|i| {
            let created = i["createdAt"].as_i64().unwrap_or_default();
            let closed = i["closedAt"].as_i64();
            created <= end && closed.is_none_or(|c| c >= start)
        })
        .filter(|i| {
            member(&ids, &i["incidentId"], false)
                && member(&states, &i["state"], false)
                && member(&priorities, &i["priority"], true)
                && member(&guids, &i["entityGuids"], false)
                && member(&types, &i["entityTypes"], false)
        })
        .collect();
    matches.sort_by(|a, b| {
        let key = |i: &Value| (i["createdAt"].as_i64().unwrap_or_default(), i["incidentId"].to_string());
        key(b).cmp(&key(a))
    });
    let matches: Vec<Value> = matches.into_iter().cloned().collect();
    let cursor = args.get("cursor").and_then(Value::as_str);
    let page = page(matches, cursor, cx.shared.opts.page_sizes.incidents, "incidents")
        .map_err(|e| cx.fail("BAD_USER_INPUT", e))?;
    Ok(json!({"incidents": page.items, "nextCursor": page.next_cursor_json()}))
}
