//! `datadog_monitor`: `/api/v1/monitor`.

use std::collections::HashSet;

use reqwest::Method;
use serde_json::Value;
use watchkeep_provider::{address_marker, LiveObject, ProviderError, Result, ADDRESS_TAG_KEY, OWNER_TAG};

use crate::http::{segment, Http};
use crate::normalize::{self, MONITOR_READ_ONLY};

pub(crate) const TYPE: &str = "datadog_monitor";

/// Pages requested at once after the first. The list call does not say how many monitors there
/// are: page 0 is read alone (an account that fits in one page costs one call), then pages come
/// in windows, wasting at most `PAGE_WINDOW - 1` requests past the end. A 10,000-monitor account
/// takes 4 round trips (13 calls) instead of 11 sequential ones.
const PAGE_WINDOW: u64 = 4;

pub(crate) async fn list(http: &Http, page_size: u32, owned_only: bool) -> Result<Vec<LiveObject>> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let mut first = 0u64;
    loop {
        let window = if first == 0 { 1 } else { PAGE_WINDOW };
        let pages = futures_util::future::join_all((first..first + window).map(|page| async move {
            let mut query = vec![("page", page.to_string()), ("page_size", page_size.to_string())];
            if owned_only {
                query.push(("monitor_tags", OWNER_TAG.to_string()));
            }
            (page, http.json(Method::GET, "/api/v1/monitor", &query, None).await)
        }))
        .await;
        for (page, body) in pages {
            let Value::Array(items) = body? else {
                return Err(ProviderError::Decode {
                    message: format!(
                        "GET /api/v1/monitor (page {page}) did not return a JSON array of monitors"
                    ),
                });
            };
            let count = items.len();
            let mut new_on_page = 0;
            for item in items {
                let obj = live_object(item)?;
                if seen.insert(obj.id.clone()) {
                    new_on_page += 1;
                    if !owned_only || obj.owned {
                        out.push(obj);
                    }
                }
            }
            if count < page_size as usize {
                return Ok(out);
            }
            // A full page of monitors already seen means the server ignores `page`; stop instead of
            // looping for ever.
            if new_on_page == 0 {
                return Err(ProviderError::Decode {
                    message: format!(
                        "GET /api/v1/monitor returned the same monitors again on page {page}; the server does \
                         not seem to honour `page`"
                    ),
                });
            }
        }
        first += window;
    }
}

/// Monitors carrying the ownership marker of `address`, in one tag-filtered list call (used
/// before retrying a create whose response was lost).
pub(crate) async fn find_by_marker(http: &Http, address: &str) -> Result<Vec<LiveObject>> {
    let marker = address_marker(address);
    let query = vec![
        ("page", "0".to_string()),
        ("page_size", "1000".to_string()),
        ("monitor_tags", format!("{OWNER_TAG},{ADDRESS_TAG_KEY}:{marker}")),
    ];
    let body = http.json(Method::GET, "/api/v1/monitor", &query, None).await?;
    let Value::Array(items) = body else {
        return Err(ProviderError::Decode {
            message: "GET /api/v1/monitor did not return a JSON array of monitors".into(),
        });
    };
    let mut out = Vec::new();
    for item in items {
        let obj = live_object(item)?;
        if obj.owned && obj.marker.as_deref() == Some(marker.as_str()) {
            out.push(obj);
        }
    }
    Ok(out)
}

pub(crate) async fn read(http: &Http, id: &str) -> Result<Option<LiveObject>> {
    let Some(seg) = segment(id) else { return Ok(None) };
    match http.json(Method::GET, &format!("/api/v1/monitor/{seg}"), &[], None).await {
        Ok(body) => live_object(body).map(Some),
        Err(ProviderError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

pub(crate) async fn create(http: &Http, attrs: &Value) -> Result<LiveObject> {
    let body = http.json(Method::POST, "/api/v1/monitor", &[], Some(&request_body(attrs))).await?;
    live_object(body)
}

pub(crate) async fn update(http: &Http, id: &str, attrs: &Value) -> Result<LiveObject> {
    let seg = segment(id).ok_or_else(|| not_found(id))?;
    let body =
        http.json(Method::PUT, &format!("/api/v1/monitor/{seg}"), &[], Some(&update_body(attrs))).await?;
    live_object(body)
}

/// `PUT /api/v1/monitor/{id}` changes only the fields it is sent, so a field removed from the
/// configuration would otherwise stay on the monitor for ever (a perpetual diff). Send explicit
/// "unset" values for the removable top-level fields the desired body leaves out.
fn update_body(attrs: &Value) -> Value {
    let mut body = request_body(attrs);
    if let Value::Object(m) = &mut body {
        for (key, unset) in
            [("priority", Value::Null), ("restricted_roles", Value::Null), ("tags", Value::Array(vec![]))]
        {
            m.entry(key).or_insert(unset);
        }
    }
    body
}

pub(crate) async fn delete(http: &Http, id: &str) -> Result<()> {
    let Some(seg) = segment(id) else { return Ok(()) };
    match http.json(Method::DELETE, &format!("/api/v1/monitor/{seg}"), &[], None).await {
        Ok(_) | Err(ProviderError::NotFound { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

pub(crate) async fn validate(http: &Http, attrs: &Value) -> Result<()> {
    http.json(Method::POST, "/api/v1/monitor/validate", &[], Some(&request_body(attrs))).await.map(|_| ())
}

fn not_found(id: &str) -> ProviderError {
    ProviderError::NotFound { what: format!("{TYPE} `{id}`") }
}

/// What is sent: the desired attributes without fields Datadog computes, whole numbers written
/// as integers (the spec types `priority`, `renotify_interval`, ... as integers).
fn request_body(attrs: &Value) -> Value {
    let mut body = attrs.clone();
    if let Value::Object(m) = &mut body {
        for key in MONITOR_READ_ONLY {
            m.remove(*key);
        }
    }
    normalize::canonical(body)
}

/// Adds `managed-by:watchkeep` and `watchkeep-address:<marker>` to `tags`, replacing any earlier
/// address tag. Bodies that are not objects, or whose `tags` is not a list, are left for the
/// vendor to reject.
pub(crate) fn mark(attrs: &mut Value, address: &str) {
    let Value::Object(m) = attrs else { return };
    let tags = m.entry("tags").or_insert_with(|| Value::Array(Vec::new()));
    if tags.is_null() {
        *tags = Value::Array(Vec::new());
    }
    let Value::Array(tags) = tags else { return };
    tags.retain(|t| t.as_str().is_none_or(|s| address_tag(s).is_none()));
    if !tags.iter().any(|t| t.as_str().is_some_and(is_owner_tag)) {
        tags.push(Value::String(OWNER_TAG.to_string()));
    }
    tags.push(Value::String(format!("{ADDRESS_TAG_KEY}:{}", address_marker(address))));
}

/// Removes the tags [`mark`] adds (`managed-by:watchkeep`, `watchkeep-address:*`); a `tags` list
/// left empty is removed, as a monitor created without tags reads back.
pub(crate) fn unmark(attrs: &mut Value) {
    let Value::Object(m) = attrs else { return };
    let Some(Value::Array(tags)) = m.get_mut("tags") else { return };
    tags.retain(|t| t.as_str().is_none_or(|s| !is_owner_tag(s) && address_tag(s).is_none()));
    if tags.is_empty() {
        m.remove("tags");
    }
}

fn is_owner_tag(tag: &str) -> bool {
    tag.trim().eq_ignore_ascii_case(OWNER_TAG)
}

/// The value of a `watchkeep-address:<value>` tag.
fn address_tag(tag: &str) -> Option<&str> {
    let (key, value) = tag.trim().split_once(':')?;
    key.eq_ignore_ascii_case(ADDRESS_TAG_KEY).then_some(value)
}

/// A monitor as Datadog returned it → [`LiveObject`].
pub(crate) fn live_object(body: Value) -> Result<LiveObject> {
    let id = match body.get("id") {
        Some(Value::Number(n)) => match normalize::canonical(Value::Number(n.clone())) {
            Value::Number(n) if n.is_i64() || n.is_u64() => n.to_string(),
            _ => return Err(decode(format!("monitor id `{n}` is not an integer"))),
        },
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => return Err(decode(format!("monitor without an `id`: {}", short(&body)))),
    };
    let tags: Vec<&str> =
        body.get("tags").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
    let owned = tags.iter().any(|t| is_owner_tag(t));
    let marker = if owned { tags.iter().find_map(|t| address_tag(t)).map(str::to_string) } else { None };
    Ok(LiveObject {
        id,
        resource_type: TYPE.to_string(),
        modified: body.get("modified").and_then(Value::as_str).map(str::to_string),
        attrs: normalize::monitor(&body),
        marker,
        owned,
    })
}

fn decode(message: String) -> ProviderError {
    ProviderError::Decode { message }
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    match s.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn mark_adds_owner_and_replaces_address() {
        let mut attrs = json!({ "tags": ["team:web", "watchkeep-address:old.addr"] });
        mark(&mut attrs, r#"resource.datadog_monitor.cpu["Web 1"]"#);
        assert_eq!(
            attrs["tags"],
            json!([
                "team:web",
                "managed-by:watchkeep",
                "watchkeep-address:resource.datadog_monitor.cpu.web_1"
            ])
        );
        let once = attrs.clone();
        mark(&mut attrs, r#"resource.datadog_monitor.cpu["Web 1"]"#);
        assert_eq!(attrs, once, "mark is idempotent");

        let mut bare = json!({ "name": "x" });
        mark(&mut bare, "a.b");
        assert_eq!(bare["tags"], json!(["managed-by:watchkeep", "watchkeep-address:a.b"]));
        let mut null_tags = json!({ "tags": null });
        mark(&mut null_tags, "a.b");
        assert_eq!(null_tags["tags"], json!(["managed-by:watchkeep", "watchkeep-address:a.b"]));
        let mut not_object = json!([1]);
        mark(&mut not_object, "a.b");
        assert_eq!(not_object, json!([1]));
    }

    #[test]
    fn live_object_reads_id_marker_and_owner() {
        let obj = live_object(json!({
            "id": 42, "modified": "2025-01-01T00:00:00Z", "type": "metric alert", "query": "q",
            "tags": ["watchkeep-address:a.b", "managed-by:watchkeep"],
        }))
        .unwrap();
        assert_eq!(obj.id, "42");
        assert!(obj.owned);
        assert_eq!(obj.marker.as_deref(), Some("a.b"));
        assert_eq!(obj.modified.as_deref(), Some("2025-01-01T00:00:00Z"));
        assert_eq!(obj.attrs["type"], "query alert");
        assert!(obj.attrs.get("id").is_none());

        let foreign = live_object(json!({ "id": 7.0, "tags": ["watchkeep-address:a.b"] })).unwrap();
        assert_eq!(foreign.id, "7");
        assert!(!foreign.owned);
        assert_eq!(foreign.marker, None);

        for bad in [json!({}), json!({ "id": 1.5 }), json!("monitor"), json!({ "id": null })] {
            assert!(matches!(live_object(bad), Err(ProviderError::Decode { .. })));
        }
    }

    #[test]
    fn request_body_drops_read_only_fields() {
        let body = request_body(
            &json!({ "id": 1, "state": {}, "name": "n", "type": "query alert", "priority": 2.0 }),
        );
        assert_eq!(body, json!({ "name": "n", "type": "query alert", "priority": 2 }));
        assert!(body["priority"].is_i64());
    }

    #[test]
    fn update_body_unsets_removed_fields() {
        let body = update_body(&json!({ "name": "n", "tags": ["a"] }));
        assert_eq!(body, json!({ "name": "n", "tags": ["a"], "priority": null, "restricted_roles": null }));
        let kept = update_body(&json!({ "priority": 1, "restricted_roles": ["r"], "tags": [] }));
        assert_eq!(kept, json!({ "priority": 1, "restricted_roles": ["r"], "tags": [] }));
    }
}
