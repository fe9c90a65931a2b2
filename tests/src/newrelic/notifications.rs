//! Notification destinations and channels (`aiNotifications*`).
//!
//! Business errors come back inside `data`, as New Relic's `AiNotifications*Response` types
//! allow: `{"destination": null, "error": {...}, "errors": [{...}]}` where each error is an
//! `AiNotificationsResponseError` (`type`: `UNAUTHORIZED_ACCOUNT`, `INVALID_PARAMETER`,
//! `UNEXPECTED_PARAMETER`, `ENTITY_IN_USE`) or an `AiNotificationsDataValidationError` (`fields`
//! naming what is wrong: a blank name, a missing `email`/`url` property, a missing token).
//!
//! Per destination type: `EMAIL` needs an `email` property of comma-separated addresses and
//! takes no auth; `WEBHOOK` needs a `url` property (`http(s)://...`) or a `secureUrl`;
//! `SLACK`, `PAGERDUTY_SERVICE_INTEGRATION` and `PAGERDUTY_ACCOUNT_INTEGRATION` need `TOKEN`
//! auth (the bot token or integration key); other types are stored as given. Two destinations of
//! one type may not share a name (stand-in rule, to exercise the duplicate path). A channel's
//! type must fit its destination's (`JIRA` → `JIRA_CLASSIC`/`JIRA_NEXTGEN`, `SERVICE_NOW` →
//! `SERVICENOW_EVENTS`/`SERVICENOW_INCIDENTS`, otherwise the same name); a `SLACK` channel needs
//! a `channelId` property.
//!
//! Secrets (`token`, `password`, OAuth2 `clientSecret`/`token`/`refreshToken`, custom header
//! values, `secureUrl.secureSuffix`) are accepted and kept apart from the stored destination: no
//! query can return them (the output types have no field for them either).

use serde_json::{json, Map, Value};

use super::exec::args::{given, id, int, obj, str_opt};
use super::exec::{Cx, Resolved};
use super::state::{entity_guid, now_iso, page, Account};

fn response_error(kind: &str, description: impl Into<String>) -> Value {
    let description = description.into();
    json!({
        "__typename": "AiNotificationsResponseError",
        "type": kind,
        "description": description,
        "details": description,
    })
}

fn validation_error(fields: Vec<(&str, String)>) -> Value {
    let details: Vec<String> = fields.iter().map(|(f, m)| format!("{f}: {m}")).collect();
    json!({
        "__typename": "AiNotificationsDataValidationError",
        "details": details.join("; "),
        "fields": fields.iter().map(|(f, m)| json!({"field": f, "message": m})).collect::<Vec<_>>(),
    })
}

/// `{<what>: null, error, errors}`.
fn failed(what: &str, error: Value) -> Value {
    json!({ what: null, "error": error.clone(), "errors": [error] })
}

fn succeeded(what: &str, value: Value) -> Value {
    json!({ what: value, "error": null, "errors": [] })
}

fn unauthorized(account_id: i64) -> Value {
    response_error("UNAUTHORIZED_ACCOUNT", format!("Not authorized to access account {account_id}"))
}

/// `AiNotificationsDeleteResponse`.
fn delete_failed(error: Value) -> Value {
    json!({ "ids": null, "error": error.clone(), "errors": [error] })
}

fn properties(input: &Map<String, Value>) -> Vec<Value> {
    input
        .get("properties")
        .and_then(Value::as_array)
        .map(|ps| {
            ps.iter()
                .map(|p| {
                    json!({
                        "key": p["key"],
                        "value": p["value"],
                        "label": p.get("label").cloned().unwrap_or(Value::Null),
                        "displayValue": p.get("displayValue").cloned().unwrap_or(Value::Null),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

fn property<'a>(props: &'a [Value], key: &str) -> Option<&'a str> {
    props.iter().find(|p| p["key"] == json!(key)).and_then(|p| p["value"].as_str())
}

/// The public part (an `AiNotificationsAuth` member) and the secret part of an auth input.
fn split_auth(auth: &Map<String, Value>) -> Result<(Value, Value), Value> {
    let kind = str_opt(auth, "type").unwrap_or_default();
    let part = |name: &str| given(auth, name).and_then(Value::as_object);
    let missing = |name: &str| validation_error(vec![(name, format!("is required for {kind} auth"))]);
    let get = |m: &Map<String, Value>, k: &str| m.get(k).cloned().unwrap_or(Value::Null);
    match kind {
        "BASIC" => {
            let b = part("basic").ok_or_else(|| missing("auth.basic"))?;
            Ok((
                json!({"__typename": "AiNotificationsBasicAuth", "authType": "BASIC", "user": get(b, "user")}),
                json!({"password": get(b, "password")}),
            ))
        }
        "TOKEN" => {
            let t = part("token").ok_or_else(|| missing("auth.token"))?;
            Ok((
                json!({
                    "__typename": "AiNotificationsTokenAuth",
                    "authType": "TOKEN",
                    "prefix": str_opt(t, "prefix").unwrap_or_default(),
                }),
                json!({"token": get(t, "token")}),
            ))
        }
        "OAUTH2" => {
            let o = part("oauth2").ok_or_else(|| missing("auth.oauth2"))?;
            Ok((
                json!({
                    "__typename": "AiNotificationsOAuth2Auth",
                    "authType": "OAUTH2",
                    "accessTokenUrl": get(o, "accessTokenUrl"),
                    "authorizationUrl": get(o, "authorizationUrl"),
                    "clientId": get(o, "clientId"),
                    "prefix": str_opt(o, "prefix").unwrap_or_default(),
                    "refreshInterval": get(o, "refreshInterval"),
                    "refreshable": get(o, "refreshable"),
                    "scope": get(o, "scope"),
                }),
                json!({
                    "clientSecret": get(o, "clientSecret"),
                    "token": get(o, "token"),
                    "refreshToken": get(o, "refreshToken"),
                }),
            ))
        }
        "CUSTOM_HEADERS" => {
            let h = part("customHeaders").ok_or_else(|| missing("auth.customHeaders"))?;
            let headers = h.get("customHeaders").and_then(Value::as_array).cloned().unwrap_or_default();
            Ok((
                json!({
                    "__typename": "AiNotificationsCustomHeadersAuth",
                    "authType": "CUSTOM_HEADERS",
                    "customHeaders": headers.iter().map(|x| json!({"key": x["key"]})).collect::<Vec<_>>(),
                }),
                json!({"customHeaders": headers}),
            ))
        }
        other => Err(response_error("INVALID_PARAMETER", format!("unknown auth type {other}"))),
    }
}

fn looks_like_email(s: &str) -> bool {
    let Some((user, domain)) = s.split_once('@') else { return false };
    !user.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.contains(char::is_whitespace)
}

/// The type rules of a destination about to be stored.
fn check_destination(d: &Value) -> Result<(), Value> {
    let kind = d["type"].as_str().unwrap_or_default();
    let props: Vec<Value> = d["properties"].as_array().cloned().unwrap_or_default();
    if d["name"].as_str().is_none_or(|n| n.trim().is_empty()) {
        return Err(validation_error(vec![("name", "must not be blank".into())]));
    }
    let auth_type = d["auth"]["authType"].as_str();
    match kind {
        "EMAIL" => {
            let Some(emails) = property(&props, "email") else {
                return Err(validation_error(vec![(
                    "email",
                    "property is required for EMAIL destinations".into(),
                )]));
            };
            let bad: Vec<&str> = emails.split(',').map(str::trim).filter(|e| !looks_like_email(e)).collect();
            if !bad.is_empty() {
                return Err(validation_error(vec![(
                    "email",
                    format!("invalid email address: {}", bad.join(", ")),
                )]));
            }
            if auth_type.is_some() {
                return Err(response_error("UNEXPECTED_PARAMETER", "EMAIL destinations take no auth"));
            }
        }
        "WEBHOOK" => match property(&props, "url") {
            Some(url) if url.starts_with("https://") || url.starts_with("http://") => {}
            Some(url) => {
                return Err(validation_error(vec![("url", format!("is not an http(s) URL: {url}"))]))
            }
            None if d["secureUrl"].is_object() => {}
            None => {
                return Err(validation_error(vec![(
                    "url",
                    "property (or secureUrl) is required for WEBHOOK destinations".into(),
                )]))
            }
        },
        "SLACK" | "PAGERDUTY_SERVICE_INTEGRATION" | "PAGERDUTY_ACCOUNT_INTEGRATION"
            if auth_type != Some("TOKEN") =>
        {
            return Err(validation_error(vec![(
                "auth.token",
                format!("{kind} destinations need TOKEN auth"),
            )]));
        }
        _ => {}
    }
    Ok(())
}

fn duplicate_destination(account: &Account, d: &Value, except: Option<&str>) -> Option<Value> {
    account
        .destinations
        .values()
        .find(|o| o["name"] == d["name"] && o["type"] == d["type"] && o["id"].as_str() != except)
        .map(|_| {
            response_error(
                "INVALID_PARAMETER",
                format!(
                    "a {} destination named {} already exists",
                    d["type"].as_str().unwrap_or_default(),
                    d["name"]
                ),
            )
        })
}

pub(crate) fn destination_create(cx: &Cx<'_>, args: &Map<String, Value>) -> Resolved {
    let account_id = int(args, "accountId");
    let input = obj(args, "destination");
    let mut tenant = cx.tenant.borrow_mut();
    let user_id = tenant.user_id;
    let Some(account) = tenant.account_mut(account_id) else {
        return Ok(failed("destination", unauthorized(account_id)));
    };
    let now = now_iso();
    let id = cx.shared.uuid();
    let mut d = json!({
        "id": id,
        "guid": entity_guid(account_id, "AIOPS", "DESTINATION", &id),
        "accountId": account_id,
        "name": input.get("name").cloned().unwrap_or(Value::Null),
        "type": input.get("type").cloned().unwrap_or(Value::Null),
        "active": true,
        "status": "DEFAULT",
        "isUserAuthenticated": false,
        "lastSent": null,
        "properties": properties(input),
        "auth": null,
        "secureUrl": null,
        "createdAt": now,
        "updatedAt": now,
        "updatedBy": user_id,
    });
    let mut secret = json!({});
    if let Some(auth) = given(input, "auth").and_then(Value::as_object) {
        match split_auth(auth) {
            Ok((public, hidden)) => {
                d["auth"] = public;
                secret["auth"] = hidden;
            }
            Err(e) => return Ok(failed("destination", e)),
        }
    }
    if let Some(url) = given(input, "secureUrl").and_then(Value::as_object) {
        d["secureUrl"] = json!({"prefix": url.get("prefix").cloned().unwrap_or(Value::Null)});
        secret["secureUrl"] =
            json!({"secureSuffix": url.get("secureSuffix").cloned().unwrap_or(Value::Null)});
    }
    if let Err(e) = check_destination(&d) {
        return Ok(failed("destination", e));
    }
    if let Some(e) = duplicate_destination(account, &d, None) {
        return Ok(failed("destination", e));
    }
    account.secrets.insert(id.clone(), secret);
    account.destinations.insert(id, d.clone());
    Ok(succeeded("destination", d))
}

pub(crate) fn destination_update(cx: &Cx<'_>, args: &Map<String, Value>) -> Resolved {
    let account_id = int(args, "accountId");
    let dest_id = id(args, "destinationId");
    let input = obj(args, "destination");
    let mut tenant = cx.tenant.borrow_mut();
    let user_id = tenant.user_id;
    let Some(account) = tenant.account_mut(account_id) else {
        return Ok(failed("destination", unauthorized(account_id)));
    };
    let Some(stored) = account.destinations.get(&dest_id) else {
        return Ok(failed(
            "destination",
            response_error("INVALID_PARAMETER", format!("destination {dest_id} not found")),
        ));
    };
    let mut d = stored.clone();
    let mut secret = account.secrets.get(&dest_id).cloned().unwrap_or_else(|| json!({}));
    for key in ["name", "active"] {
        if let Some(v) = given(input, key) {
            d[key] = v.clone();
        }
    }
    if given(input, "properties").is_some() {
        d["properties"] = Value::Array(properties(input));
    }
    if let Some(auth) = given(input, "auth").and_then(Value::as_object) {
        match split_auth(auth) {
            Ok((public, hidden)) => {
                d["auth"] = public;
                secret["auth"] = hidden;
            }
            Err(e) => return Ok(failed("destination", e)),
        }
    }
    if given(input, "disableAuth") == Some(&json!(true)) {
        d["auth"] = Value::Null;
        if let Some(s) = secret.as_object_mut() {
            s.remove("auth");
        }
    }
    if let Some(url) = given(input, "secureUrl").and_then(Value::as_object) {
        if let Some(prefix) = given(url, "prefix") {
            d["secureUrl"] = json!({ "prefix": prefix });
        }
        if let Some(suffix) = given(url, "secureSuffix") {
            secret["secureUrl"] = json!({ "secureSuffix": suffix });
        }
    }
    if let Err(e) = check_destination(&d) {
        return Ok(failed("destination", e));
    }
    if let Some(e) = duplicate_destination(account, &d, Some(&dest_id)) {
        return Ok(failed("destination", e));
    }
    d["updatedAt"] = json!(now_iso());
    d["updatedBy"] = json!(user_id);
    account.secrets.insert(dest_id.clone(), secret);
    account.destinations.insert(dest_id, d.clone());
    Ok(succeeded("destination", d))
}

pub(crate) fn destination_delete(cx: &Cx<'_>, args: &Map<String, Value>) -> Resolved {
    let account_id = int(args, "accountId");
    let dest_id = id(args, "destinationId");
    let mut tenant = cx.tenant.borrow_mut();
    let Some(account) = tenant.account_mut(account_id) else {
        return Ok(delete_failed(unauthorized(account_id)));
    };
    if !account.destinations.contains_key(&dest_id) {
        return Ok(delete_failed(response_error(
            "INVALID_PARAMETER",
            format!("destination {dest_id} not found"),
        )));
    }
    let users: Vec<&str> = account
        .channels
        .values()
        .filter(|c| c["destinationId"] == json!(dest_id))
        .filter_map(|c| c["id"].as_str())
        .collect();
    if !users.is_empty() {
        return Ok(delete_failed(response_error(
            "ENTITY_IN_USE",
            format!("destination {dest_id} is used by channel(s) {}", users.join(", ")),
        )));
    }
    account.destinations.shift_remove(&dest_id);
    account.secrets.remove(&dest_id);
    Ok(json!({"ids": [dest_id], "error": null, "errors": []}))
}

/// Channel types that fit a destination type.
fn channel_fits(destination: &str, channel: &str) -> bool {
    match destination {
        "JIRA" => matches!(channel, "JIRA_CLASSIC" | "JIRA_NEXTGEN"),
        "SERVICE_NOW" => matches!(channel, "SERVICENOW_EVENTS" | "SERVICENOW_INCIDENTS"),
        other => other == channel,
    }
}

fn check_channel(account: &Account, c: &Value) -> Result<(), Value> {
    if c["name"].as_str().is_none_or(|n| n.trim().is_empty()) {
        return Err(validation_error(vec![("name", "must not be blank".into())]));
    }
    let dest_id = c["destinationId"].as_str().unwrap_or_default();
    let Some(dest) = account.destinations.get(dest_id) else {
        return Err(response_error("INVALID_PARAMETER", format!("destination {dest_id} not found")));
    };
    let (dtype, ctype) = (dest["type"].as_str().unwrap_or_default(), c["type"].as_str().unwrap_or_default());
    if !channel_fits(dtype, ctype) {
        return Err(response_error(
            "INVALID_PARAMETER",
            format!("a {ctype} channel cannot use a {dtype} destination"),
        ));
    }
    let props: Vec<Value> = c["properties"].as_array().cloned().unwrap_or_default();
    if ctype == "SLACK" && property(&props, "channelId").is_none_or(str::is_empty) {
        return Err(validation_error(vec![("channelId", "property is required for SLACK channels".into())]));
    }
    Ok(())
}

pub(crate) fn channel_create(cx: &Cx<'_>, args: &Map<String, Value>) -> Resolved {
    let account_id = int(args, "accountId");
    let input = obj(args, "channel");
    let mut tenant = cx.tenant.borrow_mut();
    let user_id = tenant.user_id;
    let Some(account) = tenant.account_mut(account_id) else {
        return Ok(failed("channel", unauthorized(account_id)));
    };
    let now = now_iso();
    let id = cx.shared.uuid();
    let c = json!({
        "id": id,
        "accountId": account_id,
        "name": input.get("name").cloned().unwrap_or(Value::Null),
        "type": input.get("type").cloned().unwrap_or(Value::Null),
        "product": input.get("product").cloned().unwrap_or(Value::Null),
        "destinationId": input.get("destinationId").and_then(super::state::id_text),
        "properties": properties(input),
        "active": true,
        "status": "DEFAULT",
        "createdAt": now,
        "updatedAt": now,
        "updatedBy": user_id,
    });
    if let Err(e) = check_channel(account, &c) {
        return Ok(failed("channel", e));
    }
    account.channels.insert(id, c.clone());
    Ok(succeeded("channel", c))
}

pub(crate) fn channel_update(cx: &Cx<'_>, args: &Map<String, Value>) -> Resolved {
    let account_id = int(args, "accountId");
    let channel_id = id(args, "channelId");
    let input = obj(args, "channel");
    let mut tenant = cx.tenant.borrow_mut();
    let user_id = tenant.user_id;
    let Some(account) = tenant.account_mut(account_id) else {
        return Ok(failed("channel", unauthorized(account_id)));
    };
    let Some(stored) = account.channels.get(&channel_id) else {
        return Ok(failed(
            "channel",
            response_error("INVALID_PARAMETER", format!("channel {channel_id} not found")),
        ));
    };
    let mut c = stored.clone();
    for key in ["name", "active"] {
        if let Some(v) = given(input, key) {
            c[key] = v.clone();
        }
    }
    if given(input, "properties").is_some() {
        c["properties"] = Value::Array(properties(input));
    }
    if let Err(e) = check_channel(account, &c) {
        return Ok(failed("channel", e));
    }
    c["updatedAt"] = json!(now_iso());
    c["updatedBy"] = json!(user_id);
    account.channels.insert(channel_id, c.clone());
    Ok(succeeded("channel", c))
}

pub(crate) fn channel_delete(cx: &Cx<'_>, args: &Map<String, Value>) -> Resolved {
    let account_id = int(args, "accountId");
    let channel_id = id(args, "channelId");
    let mut tenant = cx.tenant.borrow_mut();
    let Some(account) = tenant.account_mut(account_id) else {
        return Ok(delete_failed(unauthorized(account_id)));
    };
    if !account.channels.contains_key(&channel_id) {
        return Ok(delete_failed(response_error(
            "INVALID_PARAMETER",
            format!("channel {channel_id} not found"),
        )));
    }
    if let Some(w) = account.workflows.values().find(|w| {
        w["destinationConfigurations"]
            .as_array()
            .is_some_and(|dcs| dcs.iter().any(|dc| dc["channelId"] == json!(channel_id)))
    }) {
        return Ok(delete_failed(response_error(
            "ENTITY_IN_USE",
            format!("channel {channel_id} is used by workflow {}", w["id"].as_str().unwrap_or_default()),
        )));
    }
    account.channels.shift_remove(&channel_id);
    Ok(json!({"ids": [channel_id], "error": null, "errors": []}))
}

/// `SNAKE_CASE` sort field → the stored member (`UPDATED_AT` → `updatedAt`).
fn member_of(field: &str) -> String {
    let mut out = String::new();
    for (i, part) in field.split('_').enumerate() {
        let lower = part.to_ascii_lowercase();
        if i == 0 {
            out.push_str(&lower);
        } else {
            let mut chars = lower.chars();
            if let Some(first) = chars.next() {
                out.push(first.to_ascii_uppercase());
                out.extend(chars);
            }
        }
    }
    out
}

fn sort(items: &mut [Value], sorter: &Map<String, Value>) {
    let Some(field) = str_opt(sorter, "field").filter(|f| *f != "DEFAULT") else { return };
    let member = member_of(field);
    let key = |v: &Value| match &v[member.as_str()] {
        Value::String(s) => (1, s.to_lowercase(), 0.0),
        Value::Number(n) => (1, String::new(), n.as_f64().unwrap_or_default()),
        Value::Bool(b) => (1, String::new(), f64::from(u8::from(*b))),
        _ => (0, String::new(), 0.0),
    };
    items.sort_by(|a, b| key(a).partial_cmp(&key(b)).unwrap_or(std::cmp::Ordering::Equal));
    if str_opt(sorter, "direction") == Some("DESC") {
        items.reverse();
    }
}

fn has_property(v: &Value, filter: &Map<String, Value>) -> bool {
    v["properties"]
        .as_array()
        .is_some_and(|ps| ps.iter().any(|p| p["key"] == filter["key"] && p["value"] == filter["value"]))
}

fn in_ids(v: &Value, ids: Option<&Value>) -> bool {
    ids.and_then(Value::as_array).is_none_or(|ids| {
        ids.iter().filter_map(super::state::id_text).any(|i| v["id"].as_str() == Some(i.as_str()))
    })
}

fn list_response(cx: &Cx<'_>, mut items: Vec<Value>, args: &Map<String, Value>, list: &str) -> Resolved {
    sort(&mut items, obj(args, "sorter"));
    let cursor = args.get("cursor").and_then(Value::as_str);
    match page(items, cursor, cx.shared.opts.page_sizes.notifications, list) {
        Ok(p) => Ok(json!({
            "entities": p.items,
            "nextCursor": p.next_cursor_json(),
            "totalCount": p.total,
            "error": null,
            "errors": [],
        })),
        Err(e) => {
            let error = response_error("INVALID_PARAMETER", e);
            Ok(
                json!({"entities": [], "nextCursor": null, "totalCount": 0, "error": error.clone(), "errors": [error]}),
            )
        }
    }
}

pub(crate) fn destinations(cx: &Cx<'_>, account_id: i64, args: &Map<String, Value>) -> Resolved {
    let f = obj(args, "filters");
    let tenant = cx.tenant.borrow();
    let account = tenant.account(account_id).ok_or_else(|| cx.forbidden(account_id))?;
    let name = str_opt(f, "name").map(str::to_lowercase);
    let updated_since = str_opt(f, "updatedAt");
    let items: Vec<Value> = account
        .destinations
        .values()
        .filter(|d| {
            given(f, "active").is_none_or(|a| &d["active"] == a)
                && given(f, "authType").is_none_or(|t| &d["auth"]["authType"] == t)
                && given(f, "exactName").is_none_or(|n| &d["name"] == n)
                && given(f, "id").and_then(super::state::id_text).is_none_or(|i| d["id"].as_str() == Some(&i))
                && in_ids(d, given(f, "ids"))
                && name.as_ref().is_none_or(|n| {
                    d["name"].as_str().unwrap_or_default().to_lowercase().contains(n.as_str())
                })
                && given(f, "property").and_then(Value::as_object).is_none_or(|p| has_property(d, p))
                && given(f, "type").is_none_or(|t| &d["type"] == t)
                && updated_since.is_none_or(|u| d["updatedAt"].as_str().unwrap_or_default() >= u)
        })
        .cloned()
        .collect();
    list_response(cx, items, args, "destinations")
}

pub(crate) fn channels(cx: &Cx<'_>, account_id: i64, args: &Map<String, Value>) -> Resolved {
    let f = obj(args, "filters");
    let tenant = cx.tenant.borrow();
    let account = tenant.account(account_id).ok_or_else(|| cx.forbidden(account_id))?;
    let name = str_opt(f, "name").map(str::to_lowercase);
    let items: Vec<Value> = account
        .channels
        .values()
        .filter(|c| {
            given(f, "active").is_none_or(|a| &c["active"] == a)
                && given(f, "destinationId")
                    .and_then(super::state::id_text)
                    .is_none_or(|d| c["destinationId"].as_str() == Some(&d))
                && given(f, "id").and_then(super::state::id_text).is_none_or(|i| c["id"].as_str() == Some(&i))
                && in_ids(c, given(f, "ids"))
                && name.as_ref().is_none_or(|n| {
                    c["name"].as_str().unwrap_or_default().to_lowercase().contains(n.as_str())
                })
                && given(f, "product").is_none_or(|p| &c["product"] == p)
                && given(f, "property").and_then(Value::as_object).is_none_or(|p| has_property(c, p))
                && given(f, "statuses").and_then(Value::as_array).is_none_or(|s| s.contains(&c["status"]))
                && given(f, "type").is_none_or(|t| &c["type"] == t)
        })
        .cloned()
        .collect();
    list_response(cx, items, args, "channels")
}

// ---- test notifications (`aiNotificationsTestDestinationById`, `aiNotificationsTestChannelById`) ----
//
// Schema (`shared/specs/newrelic-nerdgraph.graphql`): both take `accountId: Int!` and the id
// (`destinationId: ID!` / `channelId: ID!`); the destination test also takes an optional
// `update: AiNotificationsDestinationUpdate` (properties that override the stored ones for the
// test), the channel test optional `variables: [AiNotificationsDynamicVariable!]` (example
// values for the template's variables). They answer `AiNotificationsDestinationTestResponse`
// / `AiNotificationsChannelTestResponse`: `result` (`SUCCESS` | `FAIL`), `error` and `errors`
// (`AiNotificationsError`), `details`, and for channels `evidence`.
//
// What New Relic does on "test" (docs.newrelic.com, "Notification integrations" → webhook:
// "Send test notification" posts the channel's rendered payload to the destination's URL with
// example values; NerdGraph tutorial "Notifications: destinations" → "Test a destination"):
// for a `WEBHOOK` destination the stand-in really POSTs to the URL, with the destination's
// auth, and answers `FAIL` with the receiver's HTTP status when it is not 2xx. Guessed where
// the docs say nothing: the error `type` (`EXTERNAL_SERVER_ERROR` for a non-2xx answer,
// `INVALID_CREDENTIALS` for 401/403, `CONNECTION_ERROR` / `TIMEOUT_ERROR` when the receiver
// cannot be reached), the destination test's body (`TEST_PAYLOAD_TEMPLATE` rendered with the
// example values) and the example values themselves. Unknown ids answer like the update and
// delete mutations do: `INVALID_PARAMETER` "… not found" inside `data`.
//
// Types the stand-in cannot reach: `EMAIL` answers `SUCCESS` (New Relic queues the test email
// to the validated addresses; the stand-in sends none), a PagerDuty destination `SUCCESS` when
// its integration key has the 32 characters PagerDuty's keys have and `FAIL`
// `INVALID_CREDENTIALS` otherwise (what PagerDuty's Events API answers an unknown key with,
// `400 Invalid routing key`, guessed as New Relic's mapping). Any other type is a field error
// saying the stand-in does not implement it, never a made-up success.

/// The body of a destination test (a webhook destination has no template of its own).
const TEST_PAYLOAD_TEMPLATE: &str = "{\"id\": {{ json issueId }}, \"issueTitle\": {{ json issueTitle }}, \
\"state\": {{ json state }}, \"priority\": {{ json priority }}, \"issuePageUrl\": {{ json issuePageUrl }}, \
\"test\": true}";

/// Example values a test renders templates with (guessed; see above).
fn example_values() -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("issueId".into(), json!("00000000-0000-0000-0000-000000000000"));
    m.insert("issueTitle".into(), json!("Test notification from New Relic"));
    m.insert("state".into(), json!("ACTIVATED"));
    m.insert("priority".into(), json!("CRITICAL"));
    m.insert("issuePageUrl".into(), json!("https://one.newrelic.com/alerts-ai/issues/test"));
    m.insert("createdAt".into(), json!(chrono::Utc::now().timestamp_millis()));
    m
}

/// Renders the Handlebars subset watchkeep's channel templates use: `{{ json name }}` (the
/// value as JSON) and `{{ name }}` (the value as text); an unknown name is `null` / empty.
pub(crate) fn render(template: &str, values: &Map<String, Value>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let inner = rest[start + 2..start + end].trim();
        let (as_json, name) = match inner.strip_prefix("json ") {
            Some(n) => (true, n.trim()),
            None => (false, inner),
        };
        let v = values.get(name).cloned().unwrap_or(Value::Null);
        if as_json {
            out.push_str(&v.to_string());
        } else {
            match v {
                Value::String(s) => out.push_str(&s),
                Value::Null => {}
                other => out.push_str(&other.to_string()),
            }
        }
        rest = &rest[start + end + 2..];
    }
    out.push_str(rest);
    out
}

/// `{result: FAIL, error, errors, details}` (+ `evidence` for channels).
fn test_failed(error: Value, channel: bool) -> Value {
    let mut v = json!({ "result": "FAIL", "error": error.clone(), "errors": [error], "details": null });
    if channel {
        v["evidence"] = Value::Null;
    }
    v
}

fn test_succeeded(details: String, channel: bool) -> Value {
    let mut v = json!({ "result": "SUCCESS", "error": null, "errors": [], "details": details });
    if channel {
        v["evidence"] = Value::Null;
    }
    v
}

/// How a webhook POST went.
enum Posted {
    Status(u16),
    Unreachable(String),
    TimedOut,
}

/// POSTs `body` to `url` with `headers`, waiting at most 10 s. Resolvers run synchronously
/// under the tenant's lock, so the request runs on a thread of its own with its own runtime
/// (the stand-in's runtime may be single-threaded, and the receiver may live on it).
fn post_blocking(
    url: &str,
    headers: Vec<(String, String)>,
    basic: Option<(String, String)>,
    body: String,
) -> Posted {
    let url = url.to_owned();
    let run = move || {
        let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(rt) => rt,
            Err(e) => return Posted::Unreachable(format!("stand-in could not start a runtime: {e}")),
        };
        rt.block_on(async move {
            let client = match reqwest::Client::builder().timeout(std::time::Duration::from_secs(10)).build()
            {
                Ok(c) => c,
                Err(e) => return Posted::Unreachable(e.to_string()),
            };
            let mut req = client.post(&url).header("content-type", "application/json").body(body);
            for (k, v) in headers {
                req = req.header(k, v);
            }
            if let Some((user, password)) = basic {
                req = req.basic_auth(user, Some(password));
            }
            match req.send().await {
                Ok(r) => Posted::Status(r.status().as_u16()),
                Err(e) if e.is_timeout() => Posted::TimedOut,
                Err(e) => Posted::Unreachable(if e.is_connect() {
                    "connection refused".into()
                } else {
                    e.to_string()
                }),
            }
        })
    };
    let join = move || {
        std::thread::spawn(run)
            .join()
            .unwrap_or_else(|_| Posted::Unreachable("stand-in thread panicked".into()))
    };
    // On a multi-threaded runtime, let it move its other tasks (a receiver served by the same
    // process, as in `watchkeep-sandbox`) off this worker while the POST runs.
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(join)
        }
        _ => join(),
    }
}

/// Sends a test through a stored destination (with `props` in place of its properties);
/// `payload` is the rendered body for webhooks.
fn send_test(dest: &Value, props: &[Value], secret: &Value, payload: String, channel: bool) -> Value {
    let kind = dest["type"].as_str().unwrap_or_default();
    match kind {
        "WEBHOOK" => {
            let url = match property(props, "url") {
                Some(u) => u.to_owned(),
                None => format!(
                    "{}{}",
                    dest["secureUrl"]["prefix"].as_str().unwrap_or_default(),
                    secret["secureUrl"]["secureSuffix"].as_str().unwrap_or_default()
                ),
            };
            let mut headers = Vec::new();
            let mut basic = None;
            match dest["auth"]["authType"].as_str() {
                Some("BASIC") => {
                    basic = Some((
                        dest["auth"]["user"].as_str().unwrap_or_default().to_owned(),
                        secret["auth"]["password"].as_str().unwrap_or_default().to_owned(),
                    ))
                }
                Some("TOKEN") => {
                    let prefix =
                        dest["auth"]["prefix"].as_str().filter(|p| !p.is_empty()).unwrap_or("Bearer");
                    let token = secret["auth"]["token"].as_str().unwrap_or_default();
                    headers.push(("authorization".to_owned(), format!("{prefix} {token}")));
                }
                Some("CUSTOM_HEADERS") => {
                    for h in secret["auth"]["customHeaders"].as_array().into_iter().flatten() {
                        if let (Some(k), Some(v)) = (h["key"].as_str(), h["value"].as_str()) {
                            headers.push((k.to_owned(), v.to_owned()));
                        }
                    }
                }
                _ => {}
            }
            // Never the URL in an answer: its path may be a token.
            let host =
                url.split("://").nth(1).and_then(|r| r.split(['/', '?']).next()).unwrap_or("?").to_owned();
            match post_blocking(&url, headers, basic, payload) {
                Posted::Status(code) if (200..300).contains(&code) => {
                    test_succeeded(format!("The webhook at {host} answered HTTP {code}"), channel)
                }
                Posted::Status(code) => {
                    let kind = if matches!(code, 401 | 403) {
                        "INVALID_CREDENTIALS"
                    } else {
                        "EXTERNAL_SERVER_ERROR"
                    };
                    test_failed(
                        response_error(kind, format!("The webhook at {host} answered HTTP {code}")),
                        channel,
                    )
                }
                Posted::TimedOut => test_failed(
                    response_error(
                        "TIMEOUT_ERROR",
                        format!("The webhook at {host} did not answer within 10 seconds"),
                    ),
                    channel,
                ),
                Posted::Unreachable(why) => test_failed(
                    response_error(
                        "CONNECTION_ERROR",
                        format!("Could not connect to the webhook at {host}: {why}"),
                    ),
                    channel,
                ),
            }
        }
        "EMAIL" => {
            let n =
                property(props, "email").map_or(0, |e| e.split(',').filter(|a| !a.trim().is_empty()).count());
            test_succeeded(format!("Test email sent to {n} recipient(s)"), channel)
        }
        "PAGERDUTY_SERVICE_INTEGRATION" | "PAGERDUTY_ACCOUNT_INTEGRATION" => {
            let key = secret["auth"]["token"].as_str().unwrap_or_default();
            if key.len() == 32 && key.bytes().all(|b| b.is_ascii_alphanumeric()) {
                test_succeeded("Test event accepted by PagerDuty".to_owned(), channel)
            } else {
                test_failed(
                    response_error("INVALID_CREDENTIALS", "PagerDuty rejected the integration key"),
                    channel,
                )
            }
        }
        _ => Value::Null,
    }
}

pub(crate) fn destination_test(cx: &Cx<'_>, args: &Map<String, Value>) -> Resolved {
    let account_id = int(args, "accountId");
    let dest_id = id(args, "destinationId");
    let tenant = cx.tenant.borrow();
    let Some(account) = tenant.account(account_id) else {
        return Ok(test_failed(unauthorized(account_id), false));
    };
    let Some(dest) = account.destinations.get(&dest_id) else {
        return Ok(test_failed(
            response_error("INVALID_PARAMETER", format!("destination {dest_id} not found")),
            false,
        ));
    };
    let mut props: Vec<Value> = dest["properties"].as_array().cloned().unwrap_or_default();
    if let Some(update) = given(args, "update").and_then(Value::as_object) {
        if let Some(other) = update.keys().find(|k| *k != "properties" && !update[*k].is_null()) {
            return Err(cx.fail(
                super::exec::NOT_IMPLEMENTED,
                format!("The New Relic stand-in does not implement `update.{other}` in a destination test; only `properties`"),
            ));
        }
        if given(update, "properties").is_some() {
            props = properties(update);
        }
    }
    let secret = account.secrets.get(&dest_id).cloned().unwrap_or_else(|| json!({}));
    let payload = render(TEST_PAYLOAD_TEMPLATE, &example_values());
    let answer = send_test(dest, &props, &secret, payload, false);
    if answer.is_null() {
        return Err(cx.fail(
            super::exec::NOT_IMPLEMENTED,
            format!(
                "The New Relic stand-in cannot test {} destinations",
                dest["type"].as_str().unwrap_or("?")
            ),
        ));
    }
    Ok(answer)
}

pub(crate) fn channel_test(cx: &Cx<'_>, args: &Map<String, Value>) -> Resolved {
    let account_id = int(args, "accountId");
    let channel_id = id(args, "channelId");
    let tenant = cx.tenant.borrow();
    let Some(account) = tenant.account(account_id) else {
        return Ok(test_failed(unauthorized(account_id), true));
    };
    let Some(channel) = account.channels.get(&channel_id) else {
        return Ok(test_failed(
            response_error("INVALID_PARAMETER", format!("channel {channel_id} not found")),
            true,
        ));
    };
    let dest_id = channel["destinationId"].as_str().unwrap_or_default();
    let Some(dest) = account.destinations.get(dest_id) else {
        return Ok(test_failed(
            response_error(
                "INVALID_PARAMETER",
                format!("destination {dest_id} of channel {channel_id} not found"),
            ),
            true,
        ));
    };
    let mut values = example_values();
    for v in args.get("variables").and_then(Value::as_array).into_iter().flatten() {
        if let (Some(name), Some(example)) = (v["name"].as_str(), v["exampleValue"].as_object()) {
            let text = example.get("example").and_then(Value::as_str).unwrap_or_default();
            let value = match example.get("type").and_then(Value::as_str) {
                Some("STRING") | None => json!(text),
                // NUMBER, BOOLEAN, LIST, OBJECT: the example is their JSON text.
                Some(_) => serde_json::from_str(text).unwrap_or_else(|_| json!(text)),
            };
            values.insert(name.to_owned(), value);
        }
    }
    let channel_props: Vec<Value> = channel["properties"].as_array().cloned().unwrap_or_default();
    let payload = match property(&channel_props, "payload") {
        Some(t) => render(t, &values),
        None => render(TEST_PAYLOAD_TEMPLATE, &values),
    };
    let dest_props: Vec<Value> = dest["properties"].as_array().cloned().unwrap_or_default();
    let secret = account.secrets.get(dest_id).cloned().unwrap_or_else(|| json!({}));
    let answer = send_test(dest, &dest_props, &secret, payload, true);
    if answer.is_null() {
        return Err(cx.fail(
            super::exec::NOT_IMPLEMENTED,
            format!(
                "The New Relic stand-in cannot test {} channels",
                channel["type"].as_str().unwrap_or("?")
            ),
        ));
    }
    Ok(answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_members_are_camel_case() {
        assert_eq!(member_of("UPDATED_AT"), "updatedAt");
        assert_eq!(member_of("NAME"), "name");
        assert_eq!(member_of("DESTINATION_ID"), "destinationId");
    }

    #[test]
    fn emails() {
        assert!(looks_like_email("ops@example.com"));
        assert!(!looks_like_email("ops@example"));
        assert!(!looks_like_email("@example.com"));
        assert!(!looks_like_email("o ps@example.com"));
    }

    #[test]
    fn templates_render_json_and_text() {
        let mut v = Map::new();
        v.insert("issueTitle".into(), json!(r#"CPU "high""#));
        v.insert("n".into(), json!(3));
        let out = render(
            r#"{"issue": {{ json issueTitle }}, "n": {{n}}, "x": {{ json missing }}, "t": "{{ issueTitle }}"}"#,
            &v,
        );
        assert_eq!(out, r#"{"issue": "CPU \"high\"", "n": 3, "x": null, "t": "CPU "high""}"#);
        assert_eq!(render("no vars {{ unclosed", &v), "no vars {{ unclosed");
    }
}
