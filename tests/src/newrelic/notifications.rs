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
}
