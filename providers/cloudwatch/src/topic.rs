//! `sns_topic`: CreateTopic, GetTopicAttributes, SetTopicAttributes, Tag/UntagResource,
//! ListTopics, DeleteTopic. The id is the topic ARN.
//!
//! CreateTopic returns the existing topic when one of that name exists, so `create` first looks
//! the name up (ListTopics) and refuses to adopt a topic watchkeep does not own for this address.
//! Alarms and subscriptions name topics by ARN: the engine links them to the topic's address and
//! puts its ARN (its id in state) there, so nothing here maps names to ARNs.

use aws_sdk_sns::types::Tag;
use futures_util::stream::{self, StreamExt, TryStreamExt};
use serde_json::{Map, Value};
use watchkeep_provider::{LiveObject, ProviderError, Result};

use crate::client::{map_error, Service};
use crate::marker::{self, ADDRESS_KEY, OWNER_KEY};
use crate::normalize;
use crate::wire::{self, Fields};
use crate::CloudWatchProvider;

pub(crate) const TYPE: &str = "sns_topic";

/// What CreateTopic takes here.
pub const ATTRIBUTES: &[&str] = &["Name", "DisplayName", "Tags"];

/// Requests in flight while reading topics or subscriptions in full.
pub(crate) const READ_CONCURRENCY: usize = 8;

/// The name part of a topic ARN (`arn:aws:sns:<region>:<account>:<name>`).
pub(crate) fn name_of(arn: &str) -> Option<&str> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    (parts.len() == 6
        && parts[0] == "arn"
        && parts[2] == "sns"
        && !parts[5].is_empty()
        && !parts[5].contains(':'))
    .then(|| parts[5])
}

/// A parsed `sns_topic`.
#[derive(Debug, Clone)]
pub(crate) struct TopicSpec {
    name: String,
    display_name: Option<String>,
    tags: Option<Vec<(String, String)>>,
}

impl TopicSpec {
    pub(crate) fn parse(attrs: &Value) -> Result<Self> {
        let f = Fields::new(TYPE, wire::object(TYPE, attrs)?);
        f.check_known(ATTRIBUTES)?;
        Ok(TopicSpec { name: f.req_str("Name")?, display_name: f.str("DisplayName")?, tags: f.tags("Tags")? })
    }

    pub(crate) fn validate(&self) -> Result<()> {
        let base = self.name.strip_suffix(".fifo").unwrap_or(&self.name);
        if base.is_empty()
            || self.name.len() > 256
            || !base.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(wire::invalid(
                TYPE,
                format!(
                    "topic name `{}` is not valid: use 1 to 256 letters, digits, `-` and `_` (FIFO topics end in `.fifo`)",
                    self.name
                ),
            ));
        }
        if self.display_name.as_ref().is_some_and(|d| d.chars().count() > 100) {
            return Err(wire::invalid(
                TYPE,
                format!("topic `{}`: `DisplayName` is longer than 100 characters", self.name),
            ));
        }
        if let Some(tags) = &self.tags {
            if tags.len() > 50 {
                return Err(wire::invalid(TYPE, format!("topic `{}`: at most 50 tags", self.name)));
            }
        }
        Ok(())
    }
}

fn sdk_tags(pairs: &[(String, String)]) -> Result<Vec<Tag>> {
    pairs
        .iter()
        .map(|(k, v)| {
            Tag::builder().key(k).value(v).build().map_err(|e| wire::invalid(TYPE, format!("tag `{k}`: {e}")))
        })
        .collect()
}

/// Every topic ARN (ListTopics, following `NextToken`).
pub(crate) async fn list_arns(p: &CloudWatchProvider) -> Result<Vec<String>> {
    let mut arns = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = p
            .aws
            .sns()
            .await
            .list_topics()
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| map_error(Service::Sns, "ListTopics", e, &[]))?;
        arns.extend(page.topics().iter().filter_map(|t| t.topic_arn()).map(str::to_string));
        match page.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => break,
        }
    }
    Ok(arns)
}

/// `(owned, marker, tags)` of a resource; `None` when it does not exist.
pub(crate) async fn tags_of(p: &CloudWatchProvider, arn: &str) -> Result<Option<Vec<(String, String)>>> {
    match p.aws.sns().await.list_tags_for_resource().resource_arn(arn).send().await {
        Ok(out) => {
            Ok(Some(out.tags().iter().map(|t| (t.key().to_string(), t.value().to_string())).collect()))
        }
        Err(e) => match map_error(Service::Sns, "ListTagsForResource", e, &[]) {
            ProviderError::NotFound { .. } => Ok(None),
            e => Err(e),
        },
    }
}

fn ownership(tags: &[(String, String)]) -> (bool, Option<String>) {
    marker::from_tags(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

/// Whether the topic is watchkeep's (its ownership tag); `false` when it is gone.
pub(crate) async fn is_owned(p: &CloudWatchProvider, arn: &str) -> Result<bool> {
    Ok(tags_of(p, arn).await?.is_some_and(|tags| ownership(&tags).0))
}

pub(crate) async fn list(p: &CloudWatchProvider, owned_only: bool) -> Result<Vec<LiveObject>> {
    let arns = list_arns(p).await?;
    let found: Vec<Option<LiveObject>> = stream::iter(arns)
        .map(|arn| async move { read(p, &arn).await })
        .buffered(READ_CONCURRENCY)
        .try_collect()
        .await?;
    // `None`: deleted between the list and the read.
    Ok(found.into_iter().flatten().filter(|t| !owned_only || t.owned).collect())
}

pub(crate) async fn read(p: &CloudWatchProvider, arn: &str) -> Result<Option<LiveObject>> {
    let Some(name) = name_of(arn) else { return Ok(None) };
    let attributes = match p.aws.sns().await.get_topic_attributes().topic_arn(arn).send().await {
        Ok(out) => out.attributes().cloned().unwrap_or_default(),
        Err(e) => {
            return match map_error(Service::Sns, "GetTopicAttributes", e, &[]) {
                ProviderError::NotFound { .. } => Ok(None),
                e => Err(e),
            }
        }
    };
    let Some(tags) = tags_of(p, arn).await? else { return Ok(None) };
    let (owned, marker) = ownership(&tags);
    let mut m = Map::new();
    m.insert("Name".into(), Value::String(name.to_string()));
    wire::put(&mut m, "DisplayName", attributes.get("DisplayName").map(|d| Value::String(d.clone())));
    m.insert("Tags".into(), wire::pairs(tags, "Key", "Value"));
    Ok(Some(LiveObject {
        id: arn.to_string(),
        resource_type: TYPE.to_string(),
        attrs: normalize::topic(&Value::Object(m)),
        modified: None,
        marker,
        owned,
    }))
}

pub(crate) async fn create(p: &CloudWatchProvider, attrs: &Value) -> Result<LiveObject> {
    let spec = TopicSpec::parse(attrs)?;
    let own_marker = marker::from_attr_tags(attrs);
    let existing = list_arns(p).await?.into_iter().find(|arn| name_of(arn) == Some(spec.name.as_str()));
    if let Some(existing) = existing {
        let tags = tags_of(p, &existing).await?.unwrap_or_default();
        let (owned, found) = ownership(&tags);
        if !(owned && own_marker.is_some() && found == own_marker) {
            let reason = match (owned, found) {
                (true, Some(other)) => format!(
                    "is managed by watchkeep for another address (`{other}`, not `{}`)",
                    own_marker.as_deref().unwrap_or("?")
                ),
                _ => "is not managed by watchkeep (it has no managed-by=watchkeep tag for this address)"
                    .to_string(),
            };
            return Err(ProviderError::Conflict {
                message: format!(
                    "an SNS topic named `{}` already exists in {} and {reason}; watchkeep will not adopt it\n\
                     hint: rename the topic in the configuration, or rename/delete the existing topic and plan again",
                    spec.name,
                    p.region()
                ),
            });
        }
        // Ours, from an apply that crashed after CreateTopic: bring it to the desired settings.
        return update(p, &existing, attrs).await;
    }
    let tags = spec.tags.as_deref().map(sdk_tags).transpose()?;
    let mut req = p.aws.sns().await.create_topic().name(&spec.name).set_tags(tags);
    if let Some(d) = spec.display_name.as_deref().filter(|d| !d.is_empty()) {
        req = req.attributes("DisplayName", d);
    }
    if spec.name.ends_with(".fifo") {
        req = req.attributes("FifoTopic", "true");
    }
    let out = req.send().await.map_err(|e| map_error(Service::Sns, "CreateTopic", e, &[]))?;
    let arn = out
        .topic_arn()
        .ok_or_else(|| ProviderError::Decode { message: "CreateTopic returned no TopicArn".into() })?
        .to_string();
    read_back(p, &arn, attrs).await
}

/// Sets `DisplayName` and the tags (the user's and watchkeep's; other tags are removed, the
/// ownership tags never).
pub(crate) async fn update(p: &CloudWatchProvider, arn: &str, attrs: &Value) -> Result<LiveObject> {
    let spec = TopicSpec::parse(attrs)?;
    if name_of(arn) != Some(spec.name.as_str()) {
        return Err(wire::invalid(
            TYPE,
            format!(
                "cannot rename topic `{}` to `{}` in place (a rename is a replace)",
                name_of(arn).unwrap_or(arn),
                spec.name
            ),
        ));
    }
    let sns = p.aws.sns().await;
    let current = sns
        .get_topic_attributes()
        .topic_arn(arn)
        .send()
        .await
        .map_err(|e| map_error(Service::Sns, "GetTopicAttributes", e, &[]))?;
    let current_display =
        current.attributes().and_then(|a| a.get("DisplayName")).map(String::as_str).unwrap_or("");
    let desired_display = spec.display_name.as_deref().unwrap_or("");
    if current_display != desired_display {
        sns.set_topic_attributes()
            .topic_arn(arn)
            .attribute_name("DisplayName")
            .attribute_value(desired_display)
            .send()
            .await
            .map_err(|e| map_error(Service::Sns, "SetTopicAttributes", e, &[]))?;
    }
    let current_tags = tags_of(p, arn).await?.unwrap_or_default();
    let desired_tags = spec.tags.unwrap_or_default();
    let stale: Vec<String> = current_tags
        .iter()
        .map(|(k, _)| k)
        .filter(|k| {
            k.as_str() != OWNER_KEY && k.as_str() != ADDRESS_KEY && !desired_tags.iter().any(|(d, _)| d == *k)
        })
        .cloned()
        .collect();
    if !stale.is_empty() {
        sns.untag_resource()
            .resource_arn(arn)
            .set_tag_keys(Some(stale))
            .send()
            .await
            .map_err(|e| map_error(Service::Sns, "UntagResource", e, &[]))?;
    }
    let changed: Vec<(String, String)> =
        desired_tags.iter().filter(|t| !current_tags.contains(t)).cloned().collect();
    if !changed.is_empty() {
        sns.tag_resource()
            .resource_arn(arn)
            .set_tags(Some(sdk_tags(&changed)?))
            .send()
            .await
            .map_err(|e| map_error(Service::Sns, "TagResource", e, &[]))?;
    }
    read_back(p, arn, attrs).await
}

async fn read_back(p: &CloudWatchProvider, arn: &str, attrs: &Value) -> Result<LiveObject> {
    if let Some(live) = read(p, arn).await? {
        return Ok(live);
    }
    // Written but not yet visible: report what was written.
    let tags: Vec<(String, String)> = TopicSpec::parse(attrs)?.tags.unwrap_or_default();
    let (owned, marker) = ownership(&tags);
    Ok(LiveObject {
        id: arn.to_string(),
        resource_type: TYPE.to_string(),
        attrs: normalize::topic(attrs),
        modified: None,
        marker,
        owned,
    })
}

pub(crate) async fn delete(p: &CloudWatchProvider, arn: &str) -> Result<()> {
    if name_of(arn).is_none() {
        return Ok(());
    }
    match p.aws.sns().await.delete_topic().topic_arn(arn).send().await {
        Ok(_) => {}
        Err(e) => match map_error(Service::Sns, "DeleteTopic", e, &[]) {
            ProviderError::NotFound { .. } => {}
            e => return Err(e),
        },
    }
    Ok(())
}

/// Tags `managed-by=watchkeep` and `watchkeep-address=<marker>`.
pub(crate) fn mark(attrs: &mut Value, address: &str) {
    if let Value::Object(m) = attrs {
        marker::set_tags(m, address);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_of_arns() {
        assert_eq!(name_of("arn:aws:sns:us-east-1:123456789012:ops"), Some("ops"));
        assert_eq!(name_of("arn:aws:sns:us-east-1:123456789012:ops:1234-sub"), None);
        assert_eq!(name_of("arn:aws:sqs:us-east-1:123456789012:q"), None);
        assert_eq!(name_of("ops"), None);
    }

    #[test]
    fn validation() {
        TopicSpec::parse(&json!({ "Name": "ops-alerts_1" })).unwrap().validate().unwrap();
        TopicSpec::parse(&json!({ "Name": "orders.fifo" })).unwrap().validate().unwrap();
        for bad in ["has space", "", ".fifo", "a/b"] {
            let r = TopicSpec::parse(&json!({ "Name": bad })).and_then(|s| s.validate());
            assert!(r.is_err(), "{bad}");
        }
        let err = TopicSpec::parse(&json!({ "Name": "x", "Policy": "{}" })).unwrap_err().to_string();
        assert!(err.contains("unknown attribute `Policy`"), "{err}");
    }
}
