//! `datadog_dashboard`: `/api/v1/dashboard`.
//!
//! Dashboards have no free-form tags, so the ownership marker is the description's last line:
//! `managed-by:watchkeep watchkeep-address:<marker>`.

use std::collections::HashSet;

use futures_util::stream::{self, StreamExt, TryStreamExt};
use reqwest::Method;
use serde_json::Value;
use watchkeep_provider::{address_marker, LiveObject, ProviderError, Result, ADDRESS_TAG_KEY, OWNER_TAG};

use crate::http::{segment, Http};
use crate::normalize::{self, DASHBOARD_READ_ONLY};

pub(crate) const TYPE: &str = "datadog_dashboard";

/// Full dashboards fetched at once while listing.
pub(crate) const READ_CONCURRENCY: usize = 8;

/// Dashboards per list page. The spec gives `count` a default of 100 and no maximum, so asking
/// for more than 100 risks a silently shorter page that would look like the last one.
const MAX_LIST_COUNT: u32 = 100;

pub(crate) async fn list(http: &Http, page_size: u32, owned_only: bool) -> Result<Vec<LiveObject>> {
    let count = page_size.clamp(1, MAX_LIST_COUNT);
    let mut ids: Vec<String> = Vec::new();
    let mut seen = HashSet::new();
    let mut start: u64 = 0;
    loop {
        let query = [("start", start.to_string()), ("count", count.to_string())];
        let body = http.json(Method::GET, "/api/v1/dashboard", &query, None).await?;
        let Some(summaries) = body.get("dashboards").and_then(Value::as_array) else {
            return Err(ProviderError::Decode {
                message: format!("GET /api/v1/dashboard (start {start}) did not return a `dashboards` list"),
            });
        };
        for s in summaries {
            let Some(id) = s.get("id").and_then(Value::as_str) else {
                return Err(ProviderError::Decode {
                    message: "a dashboard summary has no string `id`".into(),
                });
            };
            // The summary carries the description; when it does not (older APIs), read the whole
            // dashboard and decide then.
            let maybe_owned = match s.get("description") {
                Some(d) => ownership(d.as_str().unwrap_or("")).0,
                None => true,
            };
            if (!owned_only || maybe_owned) && seen.insert(id.to_string()) {
                ids.push(id.to_string());
            }
        }
        if summaries.len() < count as usize {
            break;
        }
        start += summaries.len() as u64;
    }
    let found: Vec<Option<LiveObject>> = stream::iter(ids)
        .map(|id| async move { read(http, &id).await })
        .buffered(READ_CONCURRENCY)
        .try_collect()
        .await?;
    // `None`: deleted between the list and the read.
    Ok(found.into_iter().flatten().filter(|d| !owned_only || d.owned).collect())
}

pub(crate) async fn read(http: &Http, id: &str) -> Result<Option<LiveObject>> {
    let Some(seg) = segment(id) else { return Ok(None) };
    match http.json(Method::GET, &format!("/api/v1/dashboard/{seg}"), &[], None).await {
        Ok(body) => live_object(body).map(Some),
        Err(ProviderError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

pub(crate) async fn create(http: &Http, attrs: &Value) -> Result<LiveObject> {
    let body = http.json(Method::POST, "/api/v1/dashboard", &[], Some(&request_body(attrs))).await?;
    live_object(body)
}

pub(crate) async fn update(http: &Http, id: &str, attrs: &Value) -> Result<LiveObject> {
    let seg = segment(id).ok_or_else(|| ProviderError::NotFound { what: format!("{TYPE} `{id}`") })?;
    let body =
        http.json(Method::PUT, &format!("/api/v1/dashboard/{seg}"), &[], Some(&request_body(attrs))).await?;
    live_object(body)
}

pub(crate) async fn delete(http: &Http, id: &str) -> Result<()> {
    let Some(seg) = segment(id) else { return Ok(()) };
    match http.json(Method::DELETE, &format!("/api/v1/dashboard/{seg}"), &[], None).await {
        Ok(_) | Err(ProviderError::NotFound { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

fn request_body(attrs: &Value) -> Value {
    let mut body = attrs.clone();
    if let Value::Object(m) = &mut body {
        for key in DASHBOARD_READ_ONLY {
            m.remove(*key);
        }
    }
    normalize::canonical(body)
}

/// The marker line for `address`.
pub(crate) fn marker_line(address: &str) -> String {
    format!("{OWNER_TAG} {ADDRESS_TAG_KEY}:{}", address_marker(address))
}

/// Replaces any marker line in `description` with the one for `address`, as its last line.
pub(crate) fn mark(attrs: &mut Value, address: &str) {
    mark_text(attrs, "description", address);
}

/// Replaces any marker line in the text field `key` with the one for `address`, as its last line
/// (dashboards carry it in `description`, downtimes in `message`).
pub(crate) fn mark_text(attrs: &mut Value, key: &str, address: &str) {
    let Value::Object(m) = attrs else { return };
    let current = match m.get(key) {
        None | Some(Value::Null) => "",
        Some(Value::String(s)) => s.as_str(),
        // Not a string: leave it for the vendor to reject.
        Some(_) => return,
    };
    let kept: Vec<&str> = current.lines().filter(|l| !is_marker_line(l)).collect();
    let kept = kept.join("\n");
    let kept = kept.trim_end();
    let line = marker_line(address);
    let text = if kept.is_empty() { line } else { format!("{kept}\n{line}") };
    m.insert(key.into(), Value::String(text));
}

fn is_marker_line(line: &str) -> bool {
    line.split_whitespace().next().is_some_and(|first| first.eq_ignore_ascii_case(OWNER_TAG))
}

/// `(owned, marker)` from a description: its last non-blank line must start with the owner tag.
pub(crate) fn ownership(description: &str) -> (bool, Option<String>) {
    let Some(last) = description.lines().rev().find(|l| !l.trim().is_empty()) else {
        return (false, None);
    };
    if !is_marker_line(last) {
        return (false, None);
    }
    let marker = last.split_whitespace().find_map(|tok| {
        let (key, value) = tok.split_once(':')?;
        key.eq_ignore_ascii_case(ADDRESS_TAG_KEY).then(|| value.to_string())
    });
    (true, marker)
}

pub(crate) fn live_object(body: Value) -> Result<LiveObject> {
    let id = match body.get("id") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => return Err(ProviderError::Decode { message: "a dashboard without a string `id`".into() }),
    };
    let (owned, marker) = ownership(body.get("description").and_then(Value::as_str).unwrap_or(""));
    Ok(LiveObject {
        id,
        resource_type: TYPE.to_string(),
        modified: body.get("modified_at").and_then(Value::as_str).map(str::to_string),
        attrs: normalize::dashboard(&body),
        marker,
        owned,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn mark_appends_one_marker_line() {
        let mut d = json!({ "title": "t", "description": "Web tier.\n\n" });
        mark(&mut d, r#"dashboard.web["eu"]"#);
        assert_eq!(d["description"], "Web tier.\nmanaged-by:watchkeep watchkeep-address:dashboard.web.eu");
        let once = d.clone();
        mark(&mut d, r#"dashboard.web["eu"]"#);
        assert_eq!(d, once, "idempotent");
        mark(&mut d, "dashboard.other");
        assert_eq!(d["description"], "Web tier.\nmanaged-by:watchkeep watchkeep-address:dashboard.other");

        let mut empty = json!({ "title": "t", "description": null });
        mark(&mut empty, "a");
        assert_eq!(empty["description"], "managed-by:watchkeep watchkeep-address:a");
        let mut missing = json!({ "title": "t" });
        mark(&mut missing, "a");
        assert_eq!(missing["description"], "managed-by:watchkeep watchkeep-address:a");
    }

    #[test]
    fn ownership_reads_the_last_line() {
        assert_eq!(ownership("x\nmanaged-by:watchkeep watchkeep-address:a.b\n"), (true, Some("a.b".into())));
        assert_eq!(ownership("managed-by:watchkeep"), (true, None));
        assert_eq!(ownership("managed-by:watchkeep watchkeep-address:a\nlater text"), (false, None));
        assert_eq!(ownership(""), (false, None));
        assert_eq!(ownership("we are not managed-by:watchkeep"), (false, None));
    }

    #[test]
    fn live_object_needs_a_string_id() {
        let d = live_object(json!({ "id": "abc-def", "title": "t ", "modified_at": "m",
                                    "description": "managed-by:watchkeep watchkeep-address:x" }))
        .unwrap();
        assert_eq!(
            (d.id.as_str(), d.owned, d.marker.as_deref(), d.modified.as_deref()),
            ("abc-def", true, Some("x"), Some("m"))
        );
        assert_eq!(d.attrs["title"], "t");
        assert!(matches!(live_object(json!({ "id": 5 })), Err(ProviderError::Decode { .. })));
    }
}
