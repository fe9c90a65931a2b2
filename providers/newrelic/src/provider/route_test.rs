//! `routes test` through New Relic notification destinations and channels
//! (`Provider::test_delivery`), with NerdGraph's test mutations
//! (`shared/specs/newrelic-nerdgraph.graphql`):
//!
//! * `aiNotificationsTestChannelById(accountId: Int!, channelId: ID!, variables:
//!   [AiNotificationsDynamicVariable!])` → `AiNotificationsChannelTestResponse`;
//! * `aiNotificationsTestDestinationById(accountId: Int!, destinationId: ID!, update:
//!   AiNotificationsDestinationUpdate)` → `AiNotificationsDestinationTestResponse`.
//!
//! Both answer `result` (`AiNotificationsResult`: `SUCCESS` | `FAIL`), `error` / `errors`
//! (`AiNotificationsError`), `details`, and for channels `evidence`. `SUCCESS` → `Delivered`;
//! `FAIL` → `Failed` with the error's type and description (an `INVALID_PARAMETER` failure for
//! an object that no longer exists is an error instead: the state is stale).
//!
//! A channel test sends the channel's message through its destination, rendered with example
//! values; watchkeep gives `issueTitle` (`[watchkeep route test] …`) and `issueId` (the test id)
//! as `variables`, so the receiver can tell the test from an alert. New Relic has no "resolve"
//! for a test (`resolved: None`).
//!
//! A destination that a channel uses is tested through that channel (`Ok(None)` here, one
//! `channels(filters: {destinationId})` read to know): testing both would send a route's target
//! two tests. A destination no channel uses is tested with its own mutation.
//!
//! Nothing secret is shown: targets name the object, its type and, for webhooks, the URL's host;
//! email addresses keep their first letter and domain; vendor text has URLs cut to their host.

use serde_json::{json, Value};
use watchkeep_provider::{Delivery, DeliveryStatus, ProviderError, Result};

use super::{Kind, NewRelicProvider};
use crate::normalize::id_text;
use crate::wire::NOTIFICATION_ERROR;

/// Subject prefix of every test notification.
pub const TEST_PREFIX: &str = "[watchkeep route test]";

fn destination_test_document() -> String {
    format!(
        "mutation WkDestinationTest($accountId: Int!, $destinationId: ID!) {{ \
         aiNotificationsTestDestinationById(accountId: $accountId, destinationId: $destinationId) {{ \
         result details error {{ {NOTIFICATION_ERROR} }} errors {{ {NOTIFICATION_ERROR} }} }} }}"
    )
}

fn channel_test_document() -> String {
    format!(
        "mutation WkChannelTest($accountId: Int!, $channelId: ID!, $variables: [AiNotificationsDynamicVariable!]) {{ \
         aiNotificationsTestChannelById(accountId: $accountId, channelId: $channelId, variables: $variables) {{ \
         result details evidence error {{ {NOTIFICATION_ERROR} }} errors {{ {NOTIFICATION_ERROR} }} }} }}"
    )
}

impl NewRelicProvider {
    pub(super) async fn test_notification(
        &self,
        kind: Kind,
        id: &str,
        attrs: &Value,
    ) -> Result<Option<Vec<Delivery>>> {
        let account = self.account();
        let test_id = format!("wk-test-{}-{}", chrono::Utc::now().timestamp_millis(), std::process::id());
        let name = attrs.get("name").and_then(Value::as_str).unwrap_or(id);
        let (what, document, variables, target, dedup) = match kind {
            Kind::Destination => {
                let users = self.fetch(Kind::Channel, json!({ "destinationId": id })).await?;
                if users.iter().any(|c| id_text(&c["destinationId"]).as_deref() == Some(id)) {
                    return Ok(None);
                }
                (
                    "aiNotificationsTestDestinationById",
                    destination_test_document(),
                    json!({ "accountId": account, "destinationId": id }),
                    format!("New Relic destination {name} ({})", describe_destination(attrs)),
                    None,
                )
            }
            Kind::Channel => {
                let title = format!("{TEST_PREFIX} channel {name}: no action is needed");
                let var = |n: &str, v: &str| json!({ "name": n, "exampleValue": { "example": v, "type": "STRING" } });
                (
                    "aiNotificationsTestChannelById",
                    channel_test_document(),
                    json!({ "accountId": account, "channelId": id,
                            "variables": [var("issueTitle", &title), var("issueId", &test_id)] }),
                    format!(
                        "New Relic channel {name} ({}, destination {})",
                        attrs.get("type").and_then(Value::as_str).unwrap_or("?"),
                        attrs.get("destinationId").and_then(id_text).unwrap_or_else(|| "?".into())
                    ),
                    Some(test_id.clone()),
                )
            }
            _ => return Ok(None),
        };
        let data = self.client.query(what, &document, variables).await?;
        let answer = &data[what];
        if answer.is_null() {
            return Err(ProviderError::Decode {
                message: format!("NerdGraph answered {what} without a result"),
            });
        }
        match answer["result"].as_str() {
            Some("SUCCESS") => {
                let mut text =
                    answer["details"].as_str().filter(|s| !s.is_empty()).unwrap_or("SUCCESS").to_string();
                if let Some(e) = answer["evidence"].as_str().filter(|s| !s.is_empty()) {
                    text.push_str(&format!(" (evidence: {e})"));
                }
                Ok(Some(vec![Delivery {
                    target,
                    status: DeliveryStatus::Delivered,
                    answer: redact_urls(&text),
                    dedup_key: dedup,
                    resolved: None,
                }]))
            }
            Some("FAIL") => {
                let errors = error_list(answer);
                let kinds: Vec<&str> = errors.iter().filter_map(|e| e["type"].as_str()).collect();
                let text = redact_urls(&describe_errors(&errors, answer["details"].as_str()));
                if kinds.contains(&"UNAUTHORIZED_ACCOUNT") {
                    return Err(ProviderError::Auth { message: format!("New Relic refused {what}: {text}") });
                }
                if kinds.contains(&"INVALID_PARAMETER") && !self.exists(kind, id).await? {
                    return Err(ProviderError::NotFound {
                        what: format!(
                            "{} {id} ({what}: {text})\nhint: it was deleted outside watchkeep; run `watchkeep drift` or `watchkeep plan` to see and repair it",
                            kind.resource_type()
                        ),
                    });
                }
                Ok(Some(vec![Delivery {
                    target,
                    status: DeliveryStatus::Failed,
                    answer: text,
                    dedup_key: dedup,
                    resolved: None,
                }]))
            }
            other => Err(ProviderError::Decode {
                message: format!("NerdGraph answered {what} with result {other:?}, not SUCCESS or FAIL"),
            }),
        }
    }
}

/// `error` and `errors`, without repeats.
fn error_list(answer: &Value) -> Vec<Value> {
    let mut list: Vec<Value> = answer["errors"].as_array().cloned().unwrap_or_default();
    if let Some(e) = answer.get("error").filter(|e| !e.is_null()) {
        if !list.contains(e) {
            list.push(e.clone());
        }
    }
    list
}

fn describe_errors(errors: &[Value], details: Option<&str>) -> String {
    let mut parts: Vec<String> = errors
        .iter()
        .map(|e| {
            let mut p: Vec<String> = Vec::new();
            if let Some(t) = e["type"].as_str() {
                p.push(t.to_string());
            }
            for k in ["description", "details"] {
                if let Some(s) = e[k].as_str().filter(|s| !s.is_empty()) {
                    if !p.iter().any(|x| x == s) {
                        p.push(s.to_string());
                    }
                }
            }
            for f in e["fields"].as_array().into_iter().flatten() {
                p.push(format!(
                    "{}: {}",
                    f["field"].as_str().unwrap_or("?"),
                    f["message"].as_str().unwrap_or("")
                ));
            }
            p.join(": ")
        })
        .filter(|s| !s.is_empty())
        .collect();
    if let Some(d) = details.filter(|d| !d.is_empty()) {
        parts.push(d.to_string());
    }
    if parts.is_empty() {
        "FAIL (New Relic gave no reason)".to_string()
    } else {
        watchkeep_provider::shorten(&parts.join("; "))
    }
}

/// `WEBHOOK → https://host/…`, `EMAIL → o***@example.com`, `PAGERDUTY_SERVICE_INTEGRATION`.
fn describe_destination(attrs: &Value) -> String {
    let kind = attrs.get("type").and_then(Value::as_str).unwrap_or("?");
    let prop = |key: &str| {
        attrs["properties"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["key"] == json!(key))
            .and_then(|p| p["value"].as_str())
            .map(str::to_string)
    };
    match kind {
        "WEBHOOK" => match prop("url") {
            Some(url) => format!("WEBHOOK → {}", redact_urls(&url)),
            None => "WEBHOOK".to_string(),
        },
        "EMAIL" => match prop("email") {
            Some(list) => format!(
                "EMAIL → {}",
                list.split(',').map(|a| redact_email(a.trim())).collect::<Vec<_>>().join(", ")
            ),
            None => "EMAIL".to_string(),
        },
        other => other.to_string(),
    }
}

fn redact_email(a: &str) -> String {
    match a.split_once('@') {
        Some((user, domain)) => format!("{}***@{domain}", user.chars().take(1).collect::<String>()),
        None => "<redacted>".to_string(),
    }
}

/// Every `http(s)://…` run becomes `scheme://host/…` (paths and queries carry tokens).
pub fn redact_urls(text: &str) -> String {
    watchkeep_provider::replace_urls(text, watchkeep_provider::url_host_only)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_and_answers_show_no_secret() {
        let d = json!({"name": "ops", "type": "WEBHOOK",
                       "properties": [{"key": "url", "value": "https://user:pw@hooks.example.com:8443/T0/B1/s3cr3t?k=v"}]});
        assert_eq!(describe_destination(&d), "WEBHOOK → https://hooks.example.com/…");
        let e = json!({"type": "EMAIL", "properties": [{"key": "email", "value": "oncall@example.com, b@x.org"}]});
        assert_eq!(describe_destination(&e), "EMAIL → o***@example.com, b***@x.org");
        assert_eq!(
            describe_destination(&json!({"type": "PAGERDUTY_SERVICE_INTEGRATION"})),
            "PAGERDUTY_SERVICE_INTEGRATION"
        );
        assert_eq!(
            redact_urls("The webhook at http://127.0.0.1:9/x?token=abc answered HTTP 500"),
            "The webhook at http://127.0.0.1/… answered HTTP 500"
        );
        let errs =
            vec![json!({"__typename": "AiNotificationsResponseError", "type": "EXTERNAL_SERVER_ERROR",
                              "description": "answered HTTP 500", "details": "answered HTTP 500"})];
        assert_eq!(describe_errors(&errs, None), "EXTERNAL_SERVER_ERROR: answered HTTP 500");
        assert_eq!(describe_errors(&[], None), "FAIL (New Relic gave no reason)");
    }
}
