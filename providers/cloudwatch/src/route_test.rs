//! `routes test` through an SNS topic (`Provider::test_delivery` for `sns_topic`).
//!
//! What it does, in order:
//! 1. **ListSubscriptionsByTopic**, following `NextToken`. SNS lists a subscription that waits
//!    for confirmation with `SubscriptionArn` literally `PendingConfirmation` (SNS API reference,
//!    ListSubscriptionsByTopic / `Subscription.SubscriptionArn`; "Confirm your subscription" in
//!    the SNS developer guide: nothing is delivered to an endpoint until it confirms).
//! 2. **GetSubscriptionAttributes** for every subscription listed by ARN: its documented
//!    `PendingConfirmation` attribute (`true` until confirmed) is checked too. Real SNS already
//!    lists such subscriptions as `PendingConfirmation`, but LocalStack (2026.3) lists them by ARN
//!    and only this attribute tells (`localstack/services/sns/provider.py`,
//!    `list_subscriptions_by_topic`), and `Subscribe` with `ReturnSubscriptionArn` hands out an
//!    ARN before confirmation. One extra call per subscription; route topics have a few.
//! 3. Every subscription still pending → one [`Delivery`] `NotDelivering`.
//! 4. **Publish** one test message (subject `[watchkeep route test] <topic>`, message attributes
//!    `watchkeep_test=true` and `watchkeep_test_id=<id>`), then **Publish** its resolve. The
//!    message has the shape of a CloudWatch alarm notification (`AlarmName`, `NewStateValue`
//!    `ALARM`, then `OK`; `MessageStructure=json` with a readable `email` text). Why a resolve:
//!    the topics watchkeep compiles for CloudWatch routes are each alarm's `AlarmActions` *and*
//!    `OKActions` (`engine/src/compile/cloudwatch.rs`), so every subscriber already receives an
//!    `OK` after an `ALARM`, and PagerDuty's Amazon CloudWatch integration resolves the incident
//!    an `ALARM` opened when the same alarm's `OK` arrives (PagerDuty, "Amazon CloudWatch
//!    Integration Guide": add the topic to the alarm's OK action so incidents auto-resolve). The
//!    test therefore walks subscribers through one whole alarm cycle, keyed by one alarm name.
//! 5. The publish [`Delivery`]: `Delivered` with the MessageIds when SNS accepted both and at least
//!    one subscription is confirmed; `NotDelivering` when none is ("accepted by SNS but delivered
//!    to nobody"). SNS does not tell the publisher whether an endpoint accepted the message
//!    (delivery status logging goes to CloudWatch Logs), so "Delivered" means "SNS accepted it
//!    for N confirmed subscriptions".
//!
//! Endpoints are redacted everywhere ([`redact_endpoint`]): an https URL keeps only its host,
//! an email address its first letter and domain, a phone number its last two digits.
//! Publish and ListSubscriptionsByTopic are paced through the provider's `RateBudget` at AWS's
//! published SNS quotas (see [`crate::quota::SNS_QUOTAS`]).

use futures_util::stream::{self, StreamExt, TryStreamExt};
use serde_json::{json, Value};
use watchkeep_provider::{Delivery, DeliveryStatus, ProviderError, Result};

use crate::client::{map_error, Service};
use crate::topic;
use crate::CloudWatchProvider;

/// Subject prefix of every test message (SNS subjects are at most 100 characters).
pub const SUBJECT_PREFIX: &str = "[watchkeep route test]";

/// The message attribute that marks a test.
pub const TEST_ATTRIBUTE: &str = "watchkeep_test";

/// One subscription of the topic, as listed.
#[derive(Debug, Clone)]
struct Sub {
    arn: String,
    protocol: String,
    endpoint: String,
    pending: bool,
    /// What SNS lists instead of an ARN when it is neither an ARN nor `PendingConfirmation`
    /// (e.g. `Deleted` while an unsubscribe completes): it receives nothing either.
    listed_as: Option<String>,
    /// It has a filter policy: SNS delivers only the messages the policy matches, and a policy
    /// can drop the test (and real alarm notifications too, which carry no attributes).
    filtered: bool,
}

/// Whether a listed `SubscriptionArn` is SNS's pending marker (`PendingConfirmation`; LocalStack's
/// Subscribe answers `pending confirmation`).
fn is_pending_marker(arn: &str) -> bool {
    let a: String = arn.chars().filter(|c| !c.is_whitespace()).collect();
    a.eq_ignore_ascii_case("PendingConfirmation")
}

/// `routes test` for one topic (`topic_arn`: its id in state; `attrs`: its state attributes).
pub(crate) async fn test_topic(
    p: &CloudWatchProvider,
    topic_arn: &str,
    attrs: &Value,
) -> Result<Vec<Delivery>> {
    let name = topic::name_of(topic_arn)
        .map(str::to_string)
        .or_else(|| attrs.get("Name").and_then(Value::as_str).map(str::to_string))
        .ok_or_else(|| ProviderError::InvalidConfig {
            message: format!(
                "`sns_topic` id `{topic_arn}` is not a topic ARN\nhint: run `watchkeep plan` to refresh the state"
            ),
        })?;
    let subs = subscriptions(p, topic_arn).await?;
    let mut out = Vec::new();
    for s in subs.iter().filter(|s| s.listed_as.is_some()) {
        let who = redact_endpoint(&s.protocol, &s.endpoint);
        out.push(Delivery {
            target: format!("SNS topic {name} → {} {who}", s.protocol),
            status: DeliveryStatus::NotDelivering,
            answer: format!(
                "SNS lists this subscription as `{}`, not by ARN: nothing is delivered to {who}",
                s.listed_as.as_deref().unwrap_or_default()
            ),
            dedup_key: None,
            resolved: None,
        });
    }
    for s in subs.iter().filter(|s| s.pending) {
        let who = redact_endpoint(&s.protocol, &s.endpoint);
        out.push(Delivery {
            target: format!("SNS topic {name} → {} {who}", s.protocol),
            status: DeliveryStatus::NotDelivering,
            answer: format!(
                "subscription pending confirmation: nothing is delivered to {who} until it is confirmed \
                 (SNS sent a confirmation request to the endpoint when it subscribed)"
            ),
            dedup_key: None,
            resolved: None,
        });
    }
    let confirmed: Vec<&Sub> = subs.iter().filter(|s| !s.pending && s.listed_as.is_none()).collect();
    let test_id = test_id();
    let alarm_name = truncate(&format!("watchkeep route test {name} {test_id}"), 255);
    let trigger = publish(p, topic_arn, &name, &alarm_name, &test_id, "ALARM").await?;
    let resolve = if confirmed.is_empty() {
        // Nobody receives it: a resolve would say nothing more.
        None
    } else {
        Some(publish(p, topic_arn, &name, &alarm_name, &test_id, "OK").await)
    };
    let listing = if confirmed.is_empty() {
        "no confirmed subscription".to_string()
    } else {
        let shown: Vec<String> = confirmed
            .iter()
            .take(5)
            .map(|s| {
                let filter = if s.filtered { " (filter policy)" } else { "" };
                format!("{} {}{filter}", s.protocol, redact_endpoint(&s.protocol, &s.endpoint))
            })
            .collect();
        let more = confirmed.len().saturating_sub(shown.len());
        format!(
            "{} confirmed subscription{}: {}{}",
            confirmed.len(),
            if confirmed.len() == 1 { "" } else { "s" },
            shown.join(", "),
            if more > 0 { format!(" and {more} more") } else { String::new() }
        )
    };
    let target = format!("SNS topic {name} ({listing})");
    let delivery = match resolve {
        None => Delivery {
            target,
            status: DeliveryStatus::NotDelivering,
            answer: format!(
                "accepted by SNS (MessageId {trigger}) but delivered to nobody: the topic has no confirmed subscription"
            ),
            dedup_key: Some(test_id),
            resolved: None,
        },
        Some(Ok(resolved_id)) => Delivery {
            target,
            status: DeliveryStatus::Delivered,
            answer: format!(
                "MessageId {trigger} (ALARM), resolve MessageId {resolved_id} (OK){}",
                filter_note(&confirmed)
            ),
            dedup_key: Some(test_id),
            resolved: Some(true),
        },
        Some(Err(e)) => Delivery {
            target,
            status: DeliveryStatus::Delivered,
            answer: format!("MessageId {trigger} (ALARM); the resolve (OK) was refused: {e}"),
            dedup_key: Some(test_id),
            resolved: Some(false),
        },
    };
    out.push(delivery);
    Ok(out)
}

/// Every subscription of the topic, with whether it still waits for confirmation.
async fn subscriptions(p: &CloudWatchProvider, topic_arn: &str) -> Result<Vec<Sub>> {
    let sns = p.aws.sns().await;
    let mut listed = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = sns
            .list_subscriptions_by_topic()
            .topic_arn(topic_arn)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| match map_error(Service::Sns, "ListSubscriptionsByTopic", e, &[]) {
                ProviderError::NotFound { what } => ProviderError::NotFound {
                    what: format!("{what}; the route's topic is gone: run `watchkeep plan` to re-create it"),
                },
                e => e,
            })?;
        for s in page.subscriptions() {
            let arn = s.subscription_arn().unwrap_or_default().to_string();
            listed.push(Sub {
                pending: is_pending_marker(&arn),
                listed_as: (!arn.starts_with("arn:") && !is_pending_marker(&arn)).then(|| arn.clone()),
                filtered: false,
                arn,
                protocol: s.protocol().unwrap_or_default().to_ascii_lowercase(),
                endpoint: s.endpoint().unwrap_or_default().to_string(),
            });
        }
        match page.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => break,
        }
    }
    let checked: Vec<Option<Sub>> = stream::iter(listed)
        .map(|mut s| async move {
            if !s.arn.starts_with("arn:") {
                return Ok(Some(s));
            }
            match sns.get_subscription_attributes().subscription_arn(&s.arn).send().await {
                Ok(a) => {
                    let attrs = a.attributes().cloned().unwrap_or_default();
                    s.pending =
                        attrs.get("PendingConfirmation").is_some_and(|v| v.eq_ignore_ascii_case("true"));
                    s.filtered =
                        attrs.get("FilterPolicy").is_some_and(|f| !f.trim().is_empty() && f.trim() != "{}");
                    Ok(Some(s))
                }
                Err(e) => match map_error(Service::Sns, "GetSubscriptionAttributes", e, &[&s.endpoint]) {
                    // Unsubscribed since the list: it receives nothing.
                    ProviderError::NotFound { .. } => Ok(None),
                    e => Err(e),
                },
            }
        })
        .buffered(topic::READ_CONCURRENCY)
        .try_collect()
        .await?;
    Ok(checked.into_iter().flatten().collect())
}

/// A warning when confirmed subscriptions filter messages (SNS tells the publisher nothing
/// about what a filter policy dropped).
fn filter_note(confirmed: &[&Sub]) -> String {
    let n = confirmed.iter().filter(|s| s.filtered).count();
    match n {
        0 => String::new(),
        n if n == confirmed.len() => {
            "; every confirmed subscription has a filter policy, which may drop the test \
                                      (and alarm notifications): check that the endpoints received it"
                .to_string()
        }
        n => format!(
            "; {n} of {} confirmed subscriptions have a filter policy, which may drop the test",
            confirmed.len()
        ),
    }
}

/// One Publish of the test (`state` `ALARM`) or its resolve (`OK`); the MessageId.
async fn publish(
    p: &CloudWatchProvider,
    topic_arn: &str,
    topic_name: &str,
    alarm_name: &str,
    test_id: &str,
    state: &str,
) -> Result<String> {
    use aws_sdk_sns::types::MessageAttributeValue;
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let (old, reason) = if state == "OK" {
        ("ALARM", "watchkeep route test: resolving the test notification")
    } else {
        (
            "OK",
            "watchkeep route test: a test notification, sent by `watchkeep routes test`; no action is needed",
        )
    };
    // The shape of a CloudWatch alarm notification (what every subscriber of a route topic
    // receives from watchkeep's alarms).
    let alarm = json!({
        "AlarmName": alarm_name,
        "AlarmDescription": format!("Test notification from `watchkeep routes test` for topic {topic_name}. No action is needed."),
        "AWSAccountId": topic_arn.split(':').nth(4).unwrap_or_default(),
        "NewStateValue": state,
        "OldStateValue": old,
        "NewStateReason": reason,
        "StateChangeTime": now,
        "Region": p.region(),
        "WatchkeepTest": true,
        "WatchkeepTestId": test_id,
    });
    let word = if state == "OK" { "resolved" } else { "test" };
    let email = format!(
        "{reason}.\n\nTopic: {topic_name}\nTest id: {test_id}\nState: {state}\nTime: {now}\n\nThis message was sent by `watchkeep routes test` to prove that alerts routed to this topic reach you."
    );
    let structured = json!({ "default": alarm.to_string(), "email": email });
    let subject = truncate(&format!("{SUBJECT_PREFIX} {word}: {topic_name}"), 100);
    let attr = |v: &str| MessageAttributeValue::builder().data_type("String").string_value(v).build();
    let (Ok(flag), Ok(id_attr)) = (attr("true"), attr(test_id)) else {
        return Err(ProviderError::Decode { message: "SNS message attribute could not be built".into() });
    };
    let out = p
        .aws
        .sns()
        .await
        .publish()
        .topic_arn(topic_arn)
        .subject(subject)
        .message_structure("json")
        .message(structured.to_string())
        .message_attributes(TEST_ATTRIBUTE, flag)
        .message_attributes("watchkeep_test_id", id_attr)
        .send()
        .await
        .map_err(|e| map_error(Service::Sns, "Publish", e, &[]))?;
    Ok(out.message_id().unwrap_or("(no MessageId)").to_string())
}

/// A test id unique enough to tell runs apart: `wk-test-<unix millis>-<pid>`.
fn test_id() -> String {
    format!("wk-test-{}-{}", chrono::Utc::now().timestamp_millis(), std::process::id())
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out
}

/// An endpoint as it may be shown: http(s) URLs keep the scheme and host only (paths and
/// queries carry webhook tokens and integration keys), email addresses the first letter and
/// the domain, phone numbers the last two digits; ARNs (SQS, Lambda, Firehose, mobile) are
/// not secret and stay.
pub fn redact_endpoint(protocol: &str, endpoint: &str) -> String {
    let e = endpoint.trim();
    let lower = e.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        let (scheme, rest) = e.split_once("://").unwrap_or(("https", e));
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        // user:password@host:port → host
        let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        let host = if host_port.starts_with('[') {
            host_port.split_once(']').map_or(host_port, |(h, _)| h).trim_start_matches('[')
        } else {
            host_port.split(':').next().unwrap_or_default()
        };
        return format!("{}://{host}/…", scheme.to_ascii_lowercase());
    }
    if let Some((user, domain)) = e.split_once('@') {
        let first: String = user.chars().take(1).collect();
        return format!("{first}***@{domain}");
    }
    if e.starts_with("arn:") {
        return e.to_string();
    }
    if protocol == "sms" {
        let digits: Vec<char> = e.chars().filter(char::is_ascii_digit).collect();
        let tail: String = digits[digits.len().saturating_sub(2)..].iter().collect();
        return format!("***{tail}");
    }
    "<redacted>".to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_redacted() {
        assert_eq!(
            redact_endpoint("https", "https://events.pagerduty.com/integration/R0UTINGKEY/enqueue"),
            "https://events.pagerduty.com/…"
        );
        assert_eq!(
            redact_endpoint("https", "https://user:pw@hooks.slack.com:443/services/T0/B1/s3cr3t?x=1"),
            "https://hooks.slack.com/…"
        );
        assert_eq!(redact_endpoint("http", "http://127.0.0.1:8080/hook?token=abc"), "http://127.0.0.1/…");
        assert_eq!(redact_endpoint("http", "http://[::1]:8080/x"), "http://::1/…");
        assert_eq!(redact_endpoint("email", "oncall@example.com"), "o***@example.com");
        assert_eq!(redact_endpoint("email-json", "x@y.org"), "x***@y.org");
        assert_eq!(redact_endpoint("sms", "+1 555 0100 42"), "***42");
        assert_eq!(
            redact_endpoint("sqs", "arn:aws:sqs:us-east-1:123456789012:q"),
            "arn:aws:sqs:us-east-1:123456789012:q"
        );
        assert_eq!(redact_endpoint("application", "opaque-token"), "<redacted>");
        for secret in ["R0UTINGKEY", "s3cr3t", "token=abc", "oncall@", "pw@"] {
            for (p, e) in [
                ("https", "https://events.pagerduty.com/integration/R0UTINGKEY/enqueue"),
                ("https", "https://user:pw@hooks.slack.com:443/services/T0/B1/s3cr3t?x=1"),
                ("http", "http://127.0.0.1:8080/hook?token=abc"),
                ("email", "oncall@example.com"),
            ] {
                assert!(!redact_endpoint(p, e).contains(secret), "{e}");
            }
        }
    }

    #[test]
    fn pending_markers() {
        assert!(is_pending_marker("PendingConfirmation"));
        assert!(is_pending_marker("pending confirmation"));
        assert!(!is_pending_marker("Deleted"));
        assert!(!is_pending_marker("arn:aws:sns:us-east-1:1:t:abc"));
    }

    #[test]
    fn subjects_fit_sns_limit() {
        let long = "x".repeat(300);
        let s = truncate(&format!("{SUBJECT_PREFIX} test: {long}"), 100);
        assert_eq!(s.chars().count(), 100);
        assert!(s.starts_with(SUBJECT_PREFIX) && s.ends_with('…'));
        assert_eq!(truncate("short", 100), "short");
    }
}
