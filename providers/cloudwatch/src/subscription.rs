//! `sns_subscription`: Subscribe (with `ReturnSubscriptionArn`), GetSubscriptionAttributes,
//! SetSubscriptionAttributes, ListSubscriptionsByTopic, Unsubscribe. The id is the subscription
//! ARN.
//!
//! SNS has no tags on subscriptions: one is watchkeep's when its topic is, and carries no
//! address marker. Subscribe is idempotent (the same topic, protocol and endpoint give the same
//! subscription), so a retried create never makes a duplicate. Endpoints can carry secrets
//! (webhook tokens), so they never appear in error messages.

use futures_util::stream::{self, StreamExt, TryStreamExt};
use serde_json::{Map, Value};
use watchkeep_provider::{LiveObject, ProviderError, Result};

use crate::client::{map_error, Service};
use crate::normalize;
use crate::topic::{self, READ_CONCURRENCY};
use crate::wire::{self, Fields};
use crate::CloudWatchProvider;

pub(crate) const TYPE: &str = "sns_subscription";

/// What Subscribe takes here.
pub const ATTRIBUTES: &[&str] = &["TopicArn", "Protocol", "Endpoint", "RawMessageDelivery", "FilterPolicy"];

/// Delivery protocols SNS accepts.
pub const PROTOCOLS: &[&str] =
    &["http", "https", "email", "email-json", "sms", "sqs", "application", "lambda", "firehose"];

/// Protocols for which `RawMessageDelivery` exists.
const RAW_PROTOCOLS: &[&str] = &["http", "https", "sqs", "firehose"];

/// A parsed `sns_subscription`.
#[derive(Debug, Clone)]
pub(crate) struct SubscriptionSpec {
    topic: String,
    protocol: String,
    endpoint: String,
    raw: Option<bool>,
    filter_policy: Option<Value>,
}

impl SubscriptionSpec {
    pub(crate) fn parse(attrs: &Value) -> Result<Self> {
        let f = Fields::new(TYPE, wire::object(TYPE, attrs)?);
        f.check_known(ATTRIBUTES)?;
        let filter_policy = match f.map.get("FilterPolicy") {
            None | Some(Value::Null) => None,
            Some(Value::Object(o)) => Some(Value::Object(o.clone())),
            Some(Value::String(s)) if s.trim().is_empty() => None,
            Some(Value::String(s)) => Some(
                serde_json::from_str::<Value>(s)
                    .map_err(|e| wire::invalid(TYPE, format!("`FilterPolicy` is not valid JSON ({e})")))?,
            ),
            Some(other) => {
                return Err(wire::invalid(
                    TYPE,
                    format!("`FilterPolicy` must be an object (got {})", crate::config::value_type(other)),
                ))
            }
        };
        Ok(SubscriptionSpec {
            topic: f.req_str("TopicArn")?,
            protocol: f.req_str("Protocol")?.to_ascii_lowercase(),
            endpoint: f.req_str("Endpoint")?,
            raw: f.bool("RawMessageDelivery")?,
            filter_policy,
        })
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if !PROTOCOLS.contains(&self.protocol.as_str()) {
            return Err(wire::invalid(
                TYPE,
                format!(
                    "`Protocol` must be one of {} (got `{}`)",
                    crate::config::quoted_list(PROTOCOLS),
                    self.protocol
                ),
            ));
        }
        if topic::name_of(&self.topic).is_none() {
            return Err(wire::invalid(TYPE, "`TopicArn` must be a topic ARN"));
        }
        if self.raw == Some(true) && !RAW_PROTOCOLS.contains(&self.protocol.as_str()) {
            return Err(wire::invalid(
                TYPE,
                format!(
                    "`RawMessageDelivery` applies only to the {} protocols",
                    crate::config::quoted_list(RAW_PROTOCOLS)
                ),
            ));
        }
        if let Some(fp) = &self.filter_policy {
            if !fp.is_object() {
                return Err(wire::invalid(TYPE, "`FilterPolicy` must be a JSON object"));
            }
        }
        let endpoint_ok = match self.protocol.as_str() {
            "http" => self.endpoint.starts_with("http://"),
            "https" => self.endpoint.starts_with("https://"),
            "email" | "email-json" => self.endpoint.contains('@'),
            "sqs" | "lambda" | "firehose" | "application" => self.endpoint.starts_with("arn:"),
            _ => !self.endpoint.is_empty(),
        };
        if !endpoint_ok {
            // The endpoint itself is never echoed: it may hold a token.
            return Err(wire::invalid(
                TYPE,
                format!(
                    "`Endpoint` does not fit protocol `{}` (http/https need a URL of that scheme, email an address, \
                     sqs/lambda/firehose/application an ARN)",
                    self.protocol
                ),
            ));
        }
        Ok(())
    }
}

/// A subscription's attributes as watchkeep names them, from GetSubscriptionAttributes.
fn attrs_json(a: &std::collections::HashMap<String, String>) -> Value {
    let mut m = Map::new();
    for key in ["TopicArn", "Protocol", "Endpoint", "RawMessageDelivery", "FilterPolicy"] {
        wire::put(&mut m, key, a.get(key).map(|v| Value::String(v.clone())));
    }
    Value::Object(m)
}

/// Reads one subscription; `owned` is its topic's ownership (`None`: look it up).
async fn read_with(p: &CloudWatchProvider, arn: &str, owned: Option<bool>) -> Result<Option<LiveObject>> {
    let attributes = match p.aws.sns().await.get_subscription_attributes().subscription_arn(arn).send().await
    {
        Ok(out) => out.attributes().cloned().unwrap_or_default(),
        Err(e) => {
            return match map_error(Service::Sns, "GetSubscriptionAttributes", e, &[]) {
                ProviderError::NotFound { .. } => Ok(None),
                // SNS answers InvalidParameter for an ARN that cannot be a subscription.
                ProviderError::Api { status: 400, body } if body.starts_with("InvalidParameter") => Ok(None),
                e => Err(e),
            };
        }
    };
    let owned = match owned {
        Some(o) => o,
        None => match attributes.get("TopicArn") {
            Some(t) => topic::is_owned(p, t).await?,
            None => false,
        },
    };
    Ok(Some(LiveObject {
        id: arn.to_string(),
        resource_type: TYPE.to_string(),
        attrs: normalize::subscription(&attrs_json(&attributes)),
        modified: None,
        marker: None,
        owned,
    }))
}

pub(crate) async fn read(p: &CloudWatchProvider, arn: &str) -> Result<Option<LiveObject>> {
    if !arn.starts_with("arn:") {
        return Ok(None);
    }
    read_with(p, arn, None).await
}

/// Subscriptions of every topic (of watchkeep's topics when `owned_only`), read in full.
/// Subscriptions still waiting for confirmation are listed as `PendingConfirmation`, not by ARN,
/// so they cannot be identified here; refresh finds them by id through [`read`].
pub(crate) async fn list(p: &CloudWatchProvider, owned_only: bool) -> Result<Vec<LiveObject>> {
    let arns = topic::list_arns(p).await?;
    let owned_flags: Vec<(String, bool)> = stream::iter(arns)
        .map(|arn| async move { topic::is_owned(p, &arn).await.map(|o| (arn, o)) })
        .buffered(READ_CONCURRENCY)
        .try_collect()
        .await?;
    let mut subscriptions: Vec<(String, bool)> = Vec::new();
    for (topic_arn, owned) in owned_flags {
        if owned_only && !owned {
            continue;
        }
        let mut token: Option<String> = None;
        loop {
            let page = match p
                .aws
                .sns()
                .await
                .list_subscriptions_by_topic()
                .topic_arn(&topic_arn)
                .set_next_token(token.take())
                .send()
                .await
            {
                Ok(page) => page,
                Err(e) => match map_error(Service::Sns, "ListSubscriptionsByTopic", e, &[]) {
                    // The topic went away since ListTopics.
                    ProviderError::NotFound { .. } => break,
                    e => return Err(e),
                },
            };
            subscriptions.extend(
                page.subscriptions()
                    .iter()
                    .filter_map(|s| s.subscription_arn())
                    .filter(|arn| arn.starts_with("arn:"))
                    .map(|arn| (arn.to_string(), owned)),
            );
            match page.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => break,
            }
        }
    }
    let found: Vec<Option<LiveObject>> = stream::iter(subscriptions)
        .map(|(arn, owned)| async move { read_with(p, &arn, Some(owned)).await })
        .buffered(READ_CONCURRENCY)
        .try_collect()
        .await?;
    Ok(found.into_iter().flatten().collect())
}

pub(crate) async fn create(p: &CloudWatchProvider, attrs: &Value) -> Result<LiveObject> {
    let spec = SubscriptionSpec::parse(attrs)?;
    // A topic of the configuration arrives as its ARN (the engine resolves the link).
    if topic::name_of(&spec.topic).is_none() {
        return Err(wire::invalid(TYPE, "`TopicArn` must be a topic ARN"));
    }
    let topic_arn = spec.topic.clone();
    let mut req = p
        .aws
        .sns()
        .await
        .subscribe()
        .topic_arn(&topic_arn)
        .protocol(&spec.protocol)
        .endpoint(&spec.endpoint)
        .return_subscription_arn(true);
    if spec.raw == Some(true) {
        req = req.attributes("RawMessageDelivery", "true");
    }
    if let Some(fp) = &spec.filter_policy {
        req = req.attributes("FilterPolicy", fp.to_string());
    }
    let out = req.send().await.map_err(|e| map_error(Service::Sns, "Subscribe", e, &[&spec.endpoint]))?;
    let arn = out
        .subscription_arn()
        .filter(|a| a.starts_with("arn:"))
        .ok_or_else(|| ProviderError::Decode { message: "Subscribe returned no subscription ARN".into() })?
        .to_string();
    read_back(p, &arn, &spec, &topic_arn).await
}

/// Changes `RawMessageDelivery` and `FilterPolicy` where they differ from what SNS has.
pub(crate) async fn update(p: &CloudWatchProvider, arn: &str, attrs: &Value) -> Result<LiveObject> {
    let spec = SubscriptionSpec::parse(attrs)?;
    let sns = p.aws.sns().await;
    let current = sns
        .get_subscription_attributes()
        .subscription_arn(arn)
        .send()
        .await
        .map_err(|e| map_error(Service::Sns, "GetSubscriptionAttributes", e, &[&spec.endpoint]))?
        .attributes()
        .cloned()
        .unwrap_or_default();
    let current_raw = current.get("RawMessageDelivery").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let desired_raw = spec.raw.unwrap_or(false);
    let mut changes: Vec<(&str, String)> = Vec::new();
    if current_raw != desired_raw {
        changes.push(("RawMessageDelivery", desired_raw.to_string()));
    }
    let current_fp = current
        .get("FilterPolicy")
        .filter(|s| !s.trim().is_empty())
        .and_then(|s| serde_json::from_str::<Value>(s).ok())
        .map(normalize::canonical);
    let desired_fp = spec.filter_policy.clone().map(normalize::canonical);
    if current_fp != desired_fp {
        // An empty value removes the policy.
        changes.push(("FilterPolicy", desired_fp.map(|v| v.to_string()).unwrap_or_default()));
    }
    for (name, value) in changes {
        sns.set_subscription_attributes()
            .subscription_arn(arn)
            .attribute_name(name)
            .attribute_value(value)
            .send()
            .await
            .map_err(|e| map_error(Service::Sns, "SetSubscriptionAttributes", e, &[&spec.endpoint]))?;
    }
    let topic_arn = current.get("TopicArn").cloned().unwrap_or_else(|| spec.topic.clone());
    read_back(p, arn, &spec, &topic_arn).await
}

async fn read_back(
    p: &CloudWatchProvider,
    arn: &str,
    spec: &SubscriptionSpec,
    topic_arn: &str,
) -> Result<LiveObject> {
    let owned = topic::is_owned(p, topic_arn).await?;
    if let Some(live) = read_with(p, arn, Some(owned)).await? {
        return Ok(live);
    }
    // Written but not yet visible: report what was written.
    let mut m = Map::new();
    m.insert("TopicArn".into(), Value::String(topic_arn.to_string()));
    m.insert("Protocol".into(), Value::String(spec.protocol.clone()));
    m.insert("Endpoint".into(), Value::String(spec.endpoint.clone()));
    wire::put(&mut m, "RawMessageDelivery", spec.raw.map(Value::Bool));
    wire::put(&mut m, "FilterPolicy", spec.filter_policy.clone());
    Ok(LiveObject {
        id: arn.to_string(),
        resource_type: TYPE.to_string(),
        attrs: normalize::subscription(&Value::Object(m)),
        modified: None,
        marker: None,
        owned,
    })
}

pub(crate) async fn delete(p: &CloudWatchProvider, arn: &str) -> Result<()> {
    if !arn.starts_with("arn:") {
        return Ok(());
    }
    match p.aws.sns().await.unsubscribe().subscription_arn(arn).send().await {
        Ok(_) => Ok(()),
        Err(e) => match map_error(Service::Sns, "Unsubscribe", e, &[]) {
            ProviderError::NotFound { .. } => Ok(()),
            e => Err(e),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn validation_never_echoes_the_endpoint() {
        let secret = "https://hooks.example.com/services/T000/B000/s3cr3t";
        let ok = json!({ "TopicArn": "arn:aws:sns:us-east-1:1:ops", "Protocol": "HTTPS", "Endpoint": secret, "RawMessageDelivery": true,
                         "FilterPolicy": { "severity": ["high"] } });
        SubscriptionSpec::parse(&ok).unwrap().validate().unwrap();
        let bad =
            json!({ "TopicArn": "arn:aws:sns:us-east-1:1:ops", "Protocol": "http", "Endpoint": secret });
        let msg = SubscriptionSpec::parse(&bad).unwrap().validate().unwrap_err().to_string();
        assert!(msg.contains("does not fit protocol `http`") && !msg.contains("s3cr3t"), "{msg}");
        let msg =
            SubscriptionSpec::parse(&json!({ "TopicArn": "ops", "Protocol": "email", "Endpoint": "a@b.c" }))
                .unwrap()
                .validate()
                .unwrap_err()
                .to_string();
        assert!(msg.contains("`TopicArn` must be"), "{msg}");
        let msg = SubscriptionSpec::parse(
            &json!({ "TopicArn": "arn:aws:sns:us-east-1:1:ops", "Protocol": "pigeon", "Endpoint": "x" }),
        )
        .unwrap()
        .validate()
        .unwrap_err()
        .to_string();
        assert!(msg.contains("`Protocol` must be one of"), "{msg}");
        let msg = SubscriptionSpec::parse(
            &json!({ "TopicArn": "arn:aws:sns:us-east-1:1:ops", "Protocol": "email", "Endpoint": "a@b.c",
                                                   "RawMessageDelivery": true }),
        )
        .unwrap()
        .validate()
        .unwrap_err()
        .to_string();
        assert!(msg.contains("`RawMessageDelivery` applies only"), "{msg}");
        let msg = SubscriptionSpec::parse(
            &json!({ "TopicArn": "arn:aws:sns:us-east-1:1:ops", "Protocol": "email", "Endpoint": "a@b.c",
                                                   "FilterPolicy": "{nope" }),
        )
        .unwrap_err()
        .to_string();
        assert!(msg.contains("`FilterPolicy` is not valid JSON"), "{msg}");
    }
}
