//! Workflows (`aiWorkflowsCreateWorkflow`, `aiWorkflowsUpdateWorkflow`,
//! `aiWorkflowsDeleteWorkflow`, `actor.account.aiWorkflows.workflows`).
//!
//! Business errors come back inside `data` (`{"workflow": null, "errors": [{type,
//! description}]}`), typed as the schema allows: `UNAUTHORIZED_ACCOUNT`, `VALIDATION_ERROR`
//! (blank name, a predicate without attribute or values), `DUPLICATE` (a workflow of that name
//! exists in the account), `CHANNEL_NOT_FOUND`, `INVALID_PARAMETER` (a channel that is not an
//! `IINT` channel or already belongs to another workflow, an unknown workflow id).
//!
//! Defaults: `workflowEnabled`, `destinationsEnabled` and `enrichmentsEnabled` are true; a
//! workflow without `issuesFilter` gets an empty `FILTER` named after the workflow. Deleting a
//! workflow deletes its channels unless `deleteChannels: false`; an update deletes the channels
//! it drops unless `deleteUnusedChannels: false`.

use serde_json::{json, Map, Value};

use super::exec::args::{given, id, int, obj, str_opt};
use super::exec::{Cx, Resolved};
use super::state::{entity_guid, id_text, now_iso, page, Account};

fn error(kind_type: &str, kind: &str, description: impl Into<String>) -> Value {
    json!({"__typename": kind_type, "type": kind, "description": description.into()})
}

const CREATE: &str = "AiWorkflowsCreateResponseError";
const UPDATE: &str = "AiWorkflowsUpdateResponseError";
const DELETE: &str = "AiWorkflowsDeleteResponseError";

fn failed(error: Value) -> Value {
    json!({"workflow": null, "errors": [error]})
}

/// `AiWorkflowsFilter` from an `AiWorkflowsFilterInput`.
fn filter(
    cx: &Cx<'_>,
    account_id: i64,
    input: Option<&Map<String, Value>>,
    id: Option<String>,
    default_name: &str,
) -> Value {
    let name = input.and_then(|f| str_opt(f, "name")).unwrap_or(default_name);
    json!({
        "id": id.unwrap_or_else(|| cx.shared.uuid()),
        "accountId": account_id,
        "name": name,
        "type": input.and_then(|f| f.get("type").cloned()).unwrap_or(json!("FILTER")),
        "predicates": input.and_then(|f| f.get("predicates").cloned()).unwrap_or(json!([])),
    })
}

/// `[AiWorkflowsEnrichment]` from `AiWorkflows(Update)EnrichmentsInput`.
fn enrichments(cx: &Cx<'_>, account_id: i64, input: &Map<String, Value>, now: &str) -> Value {
    let nrql = input.get("nrql").and_then(Value::as_array).cloned().unwrap_or_default();
    Value::Array(
        nrql.iter()
            .map(|e| {
                let configurations: Vec<Value> = e["configuration"]
                    .as_array()
                    .map(|cs| {
                        cs.iter().map(|c| json!({"__typename": "AiWorkflowsNrqlConfiguration", "query": c["query"]})).collect()
                    })
                    .unwrap_or_default();
                json!({
                    "id": e.get("id").and_then(id_text).unwrap_or_else(|| cx.shared.uuid()),
                    "accountId": account_id,
                    "name": e["name"],
                    "type": "NRQL",
                    "configurations": configurations,
                    "createdAt": now,
                    "updatedAt": now,
                })
            })
            .collect(),
    )
}

/// `[AiWorkflowsDestinationConfiguration]`, or the error (of `error_type`) for a bad channel.
fn destination_configurations(
    account: &Account,
    workflow_id: &str,
    input: &[Value],
    error_type: &str,
) -> Result<Value, Value> {
    let mut out = Vec::new();
    for dc in input {
        let channel_id = dc.get("channelId").and_then(id_text).unwrap_or_default();
        let Some(channel) = account.channels.get(&channel_id) else {
            return Err(error(error_type, "CHANNEL_NOT_FOUND", format!("channel {channel_id} not found")));
        };
        if channel["product"] != json!("IINT") {
            return Err(error(
                error_type,
                "INVALID_PARAMETER",
                format!(
                    "channel {channel_id} has product {}; workflows need IINT channels",
                    channel["product"].as_str().unwrap_or_default()
                ),
            ));
        }
        let owner = account.workflows.values().find(|w| {
            w["id"].as_str() != Some(workflow_id)
                && w["destinationConfigurations"]
                    .as_array()
                    .is_some_and(|dcs| dcs.iter().any(|d| d["channelId"] == json!(channel_id)))
        });
        if let Some(owner) = owner {
            return Err(error(
                error_type,
                "INVALID_PARAMETER",
                format!(
                    "channel {channel_id} already belongs to workflow {}",
                    owner["id"].as_str().unwrap_or_default()
                ),
            ));
        }
        let dest_type = account
            .destinations
            .get(channel["destinationId"].as_str().unwrap_or_default())
            .and_then(|d| d["type"].as_str())
            .unwrap_or("WEBHOOK");
        let ty = if dest_type == "SLACK_COLLABORATION" { "SLACK" } else { dest_type };
        out.push(json!({
            "channelId": channel_id,
            "name": channel["name"],
            "type": ty,
            "notificationTriggers": dc.get("notificationTriggers").cloned().unwrap_or(Value::Null),
            "updateOriginalMessage": dc.get("updateOriginalMessage").cloned().unwrap_or(Value::Null),
        }));
    }
    Ok(Value::Array(out))
}

/// Name and predicate rules; `DUPLICATE` names.
fn check(account: &Account, w: &Value, error_type: &str) -> Result<(), Value> {
    let name = w["name"].as_str().unwrap_or_default();
    if name.trim().is_empty() {
        return Err(error(error_type, "VALIDATION_ERROR", "name must not be blank"));
    }
    if account.workflows.values().any(|o| o["name"] == w["name"] && o["id"] != w["id"]) {
        return Err(error(error_type, "DUPLICATE", format!("a workflow named {name:?} already exists")));
    }
    for (i, p) in w["issuesFilter"]["predicates"].as_array().cloned().unwrap_or_default().iter().enumerate() {
        if p["attribute"].as_str().is_none_or(|a| a.trim().is_empty()) {
            return Err(error(
                error_type,
                "VALIDATION_ERROR",
                format!("issuesFilter.predicates[{i}].attribute must not be blank"),
            ));
        }
        if p["values"].as_array().is_none_or(Vec::is_empty) {
            return Err(error(
                error_type,
                "VALIDATION_ERROR",
                format!("issuesFilter.predicates[{i}].values must not be empty"),
            ));
        }
    }
    Ok(())
}

fn channel_ids(w: &Value) -> Vec<String> {
    w["destinationConfigurations"]
        .as_array()
        .map(|dcs| dcs.iter().filter_map(|d| d["channelId"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

fn bool_or(input: &Map<String, Value>, key: &str, default: bool) -> Value {
    given(input, key).cloned().unwrap_or(json!(default))
}

pub(crate) fn create(cx: &Cx<'_>, args: &Map<String, Value>) -> Resolved {
    let account_id = int(args, "accountId");
    let input = obj(args, "createWorkflowData");
    let mut tenant = cx.tenant.borrow_mut();
    let Some(account) = tenant.account_mut(account_id) else {
        return Ok(failed(error(
            CREATE,
            "UNAUTHORIZED_ACCOUNT",
            format!("Not authorized to access account {account_id}"),
        )));
    };
    let id = cx.shared.uuid();
    let now = now_iso();
    let name = str_opt(input, "name").unwrap_or_default();
    let dcs = input.get("destinationConfigurations").and_then(Value::as_array).cloned().unwrap_or_default();
    let configurations = match destination_configurations(account, &id, &dcs, CREATE) {
        Ok(v) => v,
        Err(e) => return Ok(failed(e)),
    };
    let w = json!({
        "id": id,
        "guid": entity_guid(account_id, "AIOPS", "WORKFLOW", &id),
        "accountId": account_id,
        "name": name,
        "createdAt": now,
        "updatedAt": now,
        "lastRun": null,
        "workflowEnabled": bool_or(input, "workflowEnabled", true),
        "destinationsEnabled": bool_or(input, "destinationsEnabled", true),
        "enrichmentsEnabled": bool_or(input, "enrichmentsEnabled", true),
        "mutingRulesHandling": input.get("mutingRulesHandling").cloned().unwrap_or(Value::Null),
        "issuesFilter": filter(cx, account_id, given(input, "issuesFilter").and_then(Value::as_object), None, name),
        "enrichments": given(input, "enrichments").and_then(Value::as_object).map_or(json!([]), |e| enrichments(cx, account_id, e, &now)),
        "destinationConfigurations": configurations,
    });
    if let Err(e) = check(account, &w, CREATE) {
        return Ok(failed(e));
    }
    account.workflows.insert(id, w.clone());
    Ok(json!({"workflow": w, "errors": []}))
}

pub(crate) fn update(cx: &Cx<'_>, args: &Map<String, Value>) -> Resolved {
    let account_id = int(args, "accountId");
    let delete_unused = args.get("deleteUnusedChannels") != Some(&json!(false));
    let input = obj(args, "updateWorkflowData");
    let workflow_id = id(input, "id");
    let mut tenant = cx.tenant.borrow_mut();
    let Some(account) = tenant.account_mut(account_id) else {
        return Ok(failed(error(
            UPDATE,
            "UNAUTHORIZED_ACCOUNT",
            format!("Not authorized to access account {account_id}"),
        )));
    };
    let Some(stored) = account.workflows.get(&workflow_id) else {
        return Ok(failed(error(UPDATE, "INVALID_PARAMETER", format!("workflow {workflow_id} not found"))));
    };
    let mut w = stored.clone();
    let now = now_iso();
    for key in ["name", "workflowEnabled", "destinationsEnabled", "enrichmentsEnabled", "mutingRulesHandling"]
    {
        if let Some(v) = given(input, key) {
            w[key] = v.clone();
        }
    }
    if let Some(f) = given(input, "issuesFilter").and_then(Value::as_object) {
        let keep = given(f, "id").and_then(id_text).filter(|i| w["issuesFilter"]["id"].as_str() == Some(i));
        let name = w["name"].as_str().unwrap_or_default().to_owned();
        w["issuesFilter"] =
            filter(cx, account_id, given(f, "filterInput").and_then(Value::as_object), keep, &name);
    }
    if let Some(e) = given(input, "enrichments").and_then(Value::as_object) {
        w["enrichments"] = enrichments(cx, account_id, e, &now);
    }
    if let Some(dcs) = given(input, "destinationConfigurations").and_then(Value::as_array) {
        match destination_configurations(account, &workflow_id, dcs, UPDATE) {
            Ok(v) => w["destinationConfigurations"] = v,
            Err(e) => return Ok(failed(e)),
        }
    }
    if let Err(e) = check(account, &w, UPDATE) {
        return Ok(failed(e));
    }
    if delete_unused {
        let kept = channel_ids(&w);
        for dropped in channel_ids(stored).into_iter().filter(|c| !kept.contains(c)) {
            account.channels.shift_remove(&dropped);
        }
    }
    w["updatedAt"] = json!(now);
    account.workflows.insert(workflow_id, w.clone());
    Ok(json!({"workflow": w, "errors": []}))
}

pub(crate) fn delete(cx: &Cx<'_>, args: &Map<String, Value>) -> Resolved {
    let account_id = int(args, "accountId");
    let delete_channels = args.get("deleteChannels") != Some(&json!(false));
    let workflow_id = id(args, "id");
    let fail = |e: Value| Ok(json!({"id": null, "errors": [e]}));
    let mut tenant = cx.tenant.borrow_mut();
    let Some(account) = tenant.account_mut(account_id) else {
        return fail(error(
            DELETE,
            "UNAUTHORIZED_ACCOUNT",
            format!("Not authorized to access account {account_id}"),
        ));
    };
    let Some(w) = account.workflows.shift_remove(&workflow_id) else {
        return fail(error(DELETE, "INVALID_PARAMETER", format!("workflow {workflow_id} not found")));
    };
    if delete_channels {
        for channel in channel_ids(&w) {
            account.channels.shift_remove(&channel);
        }
    }
    Ok(json!({"id": workflow_id, "errors": []}))
}

pub(crate) fn list(cx: &Cx<'_>, account_id: i64, args: &Map<String, Value>) -> Resolved {
    let f = obj(args, "filters");
    let tenant = cx.tenant.borrow();
    let account = tenant.account(account_id).ok_or_else(|| cx.forbidden(account_id))?;
    let name_like = str_opt(f, "nameLike").map(str::to_lowercase);
    let text = |k: &str| given(f, k).and_then(id_text);
    let items: Vec<Value> = account
        .workflows
        .values()
        .filter(|w| {
            let dcs = w["destinationConfigurations"].as_array().cloned().unwrap_or_default();
            text("id").is_none_or(|i| w["id"].as_str() == Some(&i))
                && text("guid").is_none_or(|g| w["guid"].as_str() == Some(&g))
                && given(f, "name").is_none_or(|n| &w["name"] == n)
                && name_like.as_ref().is_none_or(|l| {
                    w["name"].as_str().unwrap_or_default().to_lowercase().contains(l.as_str())
                })
                && given(f, "workflowEnabled").is_none_or(|e| &w["workflowEnabled"] == e)
                && text("channelId").is_none_or(|c| dcs.iter().any(|d| d["channelId"].as_str() == Some(&c)))
                && given(f, "destinationType").is_none_or(|t| dcs.iter().any(|d| &d["type"] == t))
                && text("filterId").is_none_or(|i| w["issuesFilter"]["id"].as_str() == Some(&i))
                && text("enrichmentId").is_none_or(|i| {
                    w["enrichments"]
                        .as_array()
                        .is_some_and(|es| es.iter().any(|e| e["id"].as_str() == Some(&i)))
                })
        })
        .cloned()
        .collect();
    let cursor = args.get("cursor").and_then(Value::as_str);
    let p = page(items, cursor, cx.shared.opts.page_sizes.workflows, "workflows")
        .map_err(|e| cx.fail("BAD_USER_INPUT", e))?;
    Ok(json!({"entities": p.items, "nextCursor": p.next_cursor_json(), "totalCount": p.total}))
}
