//! The provider: reads and writes per resource type.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::{json, Map, Value};
use watchkeep_provider::{
    address_marker, AlertEvent, Delivery, LiveObject, Provider, ProviderError, Result, UpdateKind,
};

use crate::client::{payload_errors, Client};
use crate::config::NewRelicConfig;
use crate::history::AlertLog;
use crate::normalize::{self as n, id_text};
use crate::{muting, wire};

mod picture;
mod route_test;

pub use picture::{MAX_PICTURE_BYTES, SNAPSHOT_SOURCE};

/// Resource types this provider manages.
pub const RESOURCE_TYPES: &[&str] = &[
    "newrelic_alert_policy",
    "newrelic_nrql_condition",
    "newrelic_notification_destination",
    "newrelic_notification_channel",
    "newrelic_workflow",
    "newrelic_dashboard",
    "newrelic_muting_rule",
];

/// Most pages one list may take before the provider assumes the cursor loops.
const MAX_PAGES: usize = 10_000;
/// The condition search document (built once: it is sent once per policy).
static WK_CONDITIONS: std::sync::LazyLock<String> = std::sync::LazyLock::new(wire::conditions_search);
/// Dashboards read in full per `actor.entities(guids)` request.
const DASHBOARDS_PER_READ: usize = 25;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    Policy,
    Condition,
    Destination,
    Channel,
    Workflow,
    Dashboard,
    MutingRule,
}

impl Kind {
    fn of(resource_type: &str) -> Result<Kind> {
        Ok(match resource_type {
            "newrelic_alert_policy" => Kind::Policy,
            "newrelic_nrql_condition" => Kind::Condition,
            "newrelic_notification_destination" => Kind::Destination,
            "newrelic_notification_channel" => Kind::Channel,
            "newrelic_workflow" => Kind::Workflow,
            "newrelic_dashboard" => Kind::Dashboard,
            "newrelic_muting_rule" => Kind::MutingRule,
            other => {
                return Err(watchkeep_provider::unknown_resource_type("newrelic", other, RESOURCE_TYPES))
            }
        })
    }

    fn resource_type(self) -> &'static str {
        match self {
            Kind::Policy => RESOURCE_TYPES[0],
            Kind::Condition => RESOURCE_TYPES[1],
            Kind::Destination => RESOURCE_TYPES[2],
            Kind::Channel => RESOURCE_TYPES[3],
            Kind::Workflow => RESOURCE_TYPES[4],
            Kind::Dashboard => RESOURCE_TYPES[5],
            Kind::MutingRule => RESOURCE_TYPES[6],
        }
    }
}

/// A configured New Relic provider: key resolved, one HTTP client built.
pub struct NewRelicProvider {
    config: NewRelicConfig,
    client: Client,
    /// Policy marker hash → marker, learnt from `mark` and `find_by_marker` (a policy carries
    /// only the hash of its marker in its name).
    policy_markers: Mutex<HashMap<String, String>>,
    /// The last scan of the account's incidents (the alert log; see `history.rs`).
    alert_log: AlertLog,
    /// Lists of policies, destinations and channels, shared until a write: one refresh lists
    /// policies for themselves and to search conditions per policy. Each kind's lock is held
    /// while it is read, so concurrent lists wait for one read; any write of that kind clears it.
    shared_lists: [tokio::sync::Mutex<Option<Arc<Vec<Value>>>>; 3],
}

impl std::fmt::Debug for NewRelicProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewRelicProvider")
            .field("config", &self.config)
            .field("api_calls", &self.client.calls())
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn decode(what: &str, detail: &str) -> ProviderError {
    ProviderError::Decode { message: format!("{what}: {detail}") }
}

fn at<'a>(v: &'a Value, path: &[&str]) -> &'a Value {
    path.iter().fold(v, |v, k| &v[*k])
}

/// A millisecond epoch or a date-time string as RFC 3339.
fn modified(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(num) => num
            .as_i64()
            .and_then(chrono::DateTime::from_timestamp_millis)
            .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
        _ => None,
    }
}

impl NewRelicProvider {
    /// Builds the HTTP client. Makes no request.
    pub fn new(config: NewRelicConfig) -> Result<Self> {
        let client = Client::new(&config)?;
        Ok(NewRelicProvider {
            config,
            client,
            policy_markers: Mutex::new(HashMap::new()),
            alert_log: AlertLog::default(),
            shared_lists: Default::default(),
        })
    }

    /// [`NewRelicConfig::from_block`] followed by [`NewRelicProvider::new`].
    pub fn from_block(attrs: &Map<String, Value>, env: &dyn Fn(&str) -> Option<String>) -> Result<Self> {
        Self::new(NewRelicConfig::from_block(attrs, env)?)
    }

    /// The resolved configuration (the key prints as `***`).
    pub fn config(&self) -> &NewRelicConfig {
        &self.config
    }

    pub(crate) fn account(&self) -> i64 {
        self.config.account_id()
    }

    /// The raw incidents of the account active between `start` and `end` (epoch milliseconds),
    /// every page: what the alert log (`history.rs`) indexes.
    async fn incidents(&self, start: i64, end: i64) -> Result<Vec<Value>> {
        self.paged(
            "aiIssues.incidents",
            &wire::incidents(),
            json!({
                "accountId": self.account(),
                "timeWindow": {"startTime": start, "endTime": end},
            }),
            &["actor", "account", "aiIssues", "incidents"],
            "incidents",
            false,
        )
        .await
    }

    fn learn_policy_marker(&self, marker: &str) {
        lock(&self.policy_markers).insert(n::policy_hash(marker), marker.to_string());
    }

    /// `(owned, marker)` of a raw object as NerdGraph returned it.
    fn ownership(&self, kind: Kind, raw: &Value) -> (bool, Option<String>) {
        match kind {
            Kind::Policy => match n::policy_name_hash(raw["name"].as_str().unwrap_or_default()) {
                Some(hash) => (true, lock(&self.policy_markers).get(&hash).cloned()),
                None => (false, None),
            },
            Kind::Condition | Kind::Dashboard | Kind::MutingRule => {
                n::marker_in_text(raw["description"].as_str().unwrap_or_default())
            }
            Kind::Destination | Kind::Channel => n::property_marker(raw),
            Kind::Workflow => n::marker_in_text(raw["issuesFilter"]["name"].as_str().unwrap_or_default()),
        }
    }

    // ---- reading ----

    pub(crate) async fn paged(
        &self,
        what: &str,
        document: &str,
        mut variables: Value,
        path: &[&str],
        items: &str,
        typed_errors: bool,
    ) -> Result<Vec<Value>> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            variables["cursor"] = cursor.clone().map_or(Value::Null, Value::String);
            let data = self.client.query(what, document, variables.clone()).await?;
            let set = at(&data, path);
            if set.is_null() {
                return Err(decode(what, &format!("the answer has no `{}`", path.join("."))));
            }
            if typed_errors {
                if let Some(e) = payload_errors(what, set) {
                    return Err(e);
                }
            }
            out.extend(set[items].as_array().cloned().unwrap_or_default());
            match set["nextCursor"].as_str().filter(|c| !c.is_empty()) {
                Some(next) if cursor.as_deref() == Some(next) => {
                    return Err(decode(what, "NerdGraph returned the same cursor twice"))
                }
                Some(next) => cursor = Some(next.to_string()),
                None => return Ok(out),
            }
        }
        Err(decode(what, &format!("more than {MAX_PAGES} pages")))
    }

    fn shared_slot(&self, kind: Kind) -> Option<&tokio::sync::Mutex<Option<Arc<Vec<Value>>>>> {
        match kind {
            Kind::Policy => Some(&self.shared_lists[0]),
            Kind::Destination => Some(&self.shared_lists[1]),
            Kind::Channel => Some(&self.shared_lists[2]),
            _ => None,
        }
    }

    /// All objects of `kind`, read once and shared until a write of that kind (see
    /// `shared_lists`); other kinds are read every time.
    async fn fetch_all(&self, kind: Kind) -> Result<Arc<Vec<Value>>> {
        let Some(slot) = self.shared_slot(kind) else {
            return Ok(Arc::new(self.fetch(kind, Value::Null).await?));
        };
        let mut held = slot.lock().await;
        if let Some(list) = held.as_ref() {
            return Ok(Arc::clone(list));
        }
        let list = Arc::new(self.fetch(kind, Value::Null).await?);
        *held = Some(Arc::clone(&list));
        Ok(list)
    }

    /// Forgets the shared list of `kind` (it is about to change).
    async fn forget_list(&self, kind: Kind) {
        if let Some(slot) = self.shared_slot(kind) {
            *slot.lock().await = None;
        }
    }

    /// Every NRQL condition of the account. Cursor pages can only be read one after another, so
    /// with several policies the conditions are searched per policy, side by side (within the
    /// client's 25 requests in flight). The per-policy results must add up to the account's
    /// `totalCount`, read first; otherwise (a policy made or removed meanwhile) the account is
    /// read again with one search, so nothing is missed.
    async fn fetch_conditions(&self) -> Result<Vec<Value>> {
        use futures_util::stream::{self, StreamExt, TryStreamExt};
        const PATH: [&str; 4] = ["actor", "account", "alerts", "nrqlConditionsSearch"];
        let search = |criteria: Value| {
            self.paged(
                "nrqlConditionsSearch",
                WK_CONDITIONS.as_str(),
                json!({"accountId": self.account(), "criteria": criteria}),
                &PATH,
                "nrqlConditions",
                false,
            )
        };
        let policies = Box::pin(self.fetch_all(Kind::Policy)).await?;
        let ids: Vec<String> = policies.iter().filter_map(|p| id_text(&p["id"])).collect();
        if ids.len() < 2 {
            return search(Value::Null).await;
        }
        let counted = self
            .client
            .query("nrqlConditionsSearch", wire::CONDITION_COUNT, json!({"accountId": self.account()}))
            .await?;
        let total = at(&counted, &PATH)["totalCount"].as_u64();
        let per_policy: Vec<Vec<Value>> = stream::iter(ids)
            .map(|id| search(json!({ "policyId": id })))
            .buffer_unordered(crate::config::MAX_CONCURRENCY)
            .try_collect()
            .await?;
        let all: Vec<Value> = per_policy.into_iter().flatten().collect();
        if total == Some(all.len() as u64) {
            Ok(all)
        } else {
            search(Value::Null).await
        }
    }

    async fn fetch(&self, kind: Kind, filters: Value) -> Result<Vec<Value>> {
        let account = json!({ "accountId": self.account(), "filters": filters });
        let acct = ["actor", "account"];
        let raws = match kind {
            Kind::Policy => {
                let p = [&acct[..], &["alerts", "policiesSearch"]].concat();
                self.paged(
                    "policiesSearch",
                    &wire::policies_search(),
                    json!({"accountId": self.account()}),
                    &p,
                    "policies",
                    false,
                )
                .await?
            }
            Kind::Condition => {
                let all = self.fetch_conditions().await?;
                all.into_iter().filter(|c| c["type"].as_str().is_none_or(|t| t == "STATIC")).collect()
            }
            Kind::Destination => {
                let p = [&acct[..], &["aiNotifications", "destinations"]].concat();
                self.paged(
                    "aiNotifications.destinations",
                    &wire::destinations(),
                    account,
                    &p,
                    "entities",
                    true,
                )
                .await?
            }
            Kind::Channel => {
                let p = [&acct[..], &["aiNotifications", "channels"]].concat();
                self.paged("aiNotifications.channels", &wire::channels(), account, &p, "entities", true)
                    .await?
            }
            Kind::Workflow => {
                let p = [&acct[..], &["aiWorkflows", "workflows"]].concat();
                self.paged("aiWorkflows.workflows", &wire::workflows(), account, &p, "entities", false)
                    .await?
            }
            Kind::Dashboard => self.fetch_dashboards().await?,
            Kind::MutingRule => {
                let data = self
                    .client
                    .query("mutingRules", &muting::list_document(), json!({"accountId": self.account()}))
                    .await?;
                let rules = at(&data, &["actor", "account", "alerts", "mutingRules"]);
                if rules.is_null() {
                    return Err(decode(
                        "mutingRules",
                        "the answer has no `actor.account.alerts.mutingRules`",
                    ));
                }
                rules.as_array().into_iter().flatten().filter(|r| !r.is_null()).cloned().collect()
            }
        };
        Ok(raws)
    }

    async fn fetch_dashboards(&self) -> Result<Vec<Value>> {
        let query = format!("type = 'DASHBOARD' AND accountId = '{}'", self.account());
        let outlines = self
            .paged(
                "entitySearch",
                wire::DASHBOARD_SEARCH,
                json!({ "query": query }),
                &["actor", "entitySearch", "results"],
                "entities",
                false,
            )
            .await?;
        let guids: Vec<String> = outlines
            .iter()
            .filter(|o| o["dashboardParentGuid"].is_null())
            .filter(|o| o["accountId"].as_i64().is_none_or(|a| a == self.account()))
            .filter_map(|o| id_text(&o["guid"]))
            .collect();
        let mut out = Vec::new();
        for chunk in guids.chunks(DASHBOARDS_PER_READ) {
            let data = self
                .client
                .query("actor.entities", &wire::dashboard_entities(), json!({ "guids": chunk }))
                .await?;
            for e in data["actor"]["entities"].as_array().into_iter().flatten() {
                if e["dashboardParentGuid"].is_null() && !e["name"].is_null() {
                    let mut e = e.clone();
                    e["id"] = e["guid"].clone();
                    out.push(e);
                }
            }
        }
        Ok(out)
    }

    /// A raw object as a live object: owned or not, its marker, its normalised attributes. Ids
    /// of the objects it refers to stay ids (the engine puts ids in desired attributes too).
    fn to_live(&self, kind: Kind, raw: &Value) -> Result<LiveObject> {
        let id = id_text(&raw["id"])
            .or_else(|| id_text(&raw["guid"]))
            .ok_or_else(|| decode(kind.resource_type(), "an object without an id"))?;
        let (owned, marker) = self.ownership(kind, raw);
        Ok(LiveObject {
            id,
            resource_type: kind.resource_type().to_string(),
            attrs: normalize(kind, raw),
            modified: modified(&raw["updatedAt"]),
            marker,
            owned,
        })
    }

    async fn list_kind(&self, kind: Kind, owned_only: bool) -> Result<Vec<LiveObject>> {
        let raws = self.fetch_all(kind).await?;
        raws.iter()
            .map(|r| self.to_live(kind, r))
            .filter(|o| !owned_only || o.as_ref().is_ok_and(|o| o.owned) || o.is_err())
            .collect()
    }

    // ---- writing ----

    async fn mutate(&self, what: &str, document: &str, variables: Value) -> Result<Value> {
        let data = self.client.query(what, document, variables).await?;
        let payload = data.get(what).cloned().unwrap_or(Value::Null);
        if let Some(e) = payload_errors(what, &payload) {
            return Err(e);
        }
        Ok(payload)
    }

    fn returned(what: &str, payload: &Value, member: &str) -> Result<Value> {
        let v = if member.is_empty() { payload } else { &payload[member] };
        if v.is_null() {
            return Err(decode(what, "NerdGraph answered without the object"));
        }
        Ok(v.clone())
    }

    /// Creates or updates. The shared list of the kind is forgotten before and after (a list
    /// read while the request was in flight may lack the object, e.g. when the answer is lost
    /// and the engine looks for it before retrying).
    async fn write(&self, kind: Kind, id: Option<&str>, attrs: &Value) -> Result<LiveObject> {
        self.forget_list(kind).await;
        let written = self.write_now(kind, id, attrs).await;
        self.forget_list(kind).await;
        written
    }

    async fn write_now(&self, kind: Kind, id: Option<&str>, attrs: &Value) -> Result<LiveObject> {
        let norm = normalize(kind, attrs);
        let account = self.account();
        let raw = match kind {
            Kind::Policy => {
                let input = json!({"name": norm["name"], "incidentPreference": norm["incidentPreference"]});
                let (what, doc, vars) = match id {
                    None => (
                        "alertsPolicyCreate",
                        wire::policy_create(),
                        json!({"accountId": account, "policy": input}),
                    ),
                    Some(id) => (
                        "alertsPolicyUpdate",
                        wire::policy_update(),
                        json!({"accountId": account, "id": id, "policy": input}),
                    ),
                };
                Self::returned(what, &self.mutate(what, &doc, vars).await?, "")?
            }
            Kind::Condition => {
                let mut input = norm.clone();
                let policy = input.as_object_mut().and_then(|m| m.remove("policyId"));
                let (what, doc, vars) = match id {
                    None => {
                        let policy_id = linked_id(Kind::Policy, &policy.unwrap_or(Value::Null))?;
                        (
                            "alertsNrqlConditionStaticCreate",
                            wire::condition_create(),
                            json!({"accountId": account, "policyId": policy_id, "condition": input}),
                        )
                    }
                    Some(id) => {
                        // `policyId` is not sent: a policy change replaces the condition.
                        clear_absent_condition_fields(&mut input);
                        (
                            "alertsNrqlConditionStaticUpdate",
                            wire::condition_update(),
                            json!({"accountId": account, "id": id, "condition": input}),
                        )
                    }
                };
                Self::returned(what, &self.mutate(what, &doc, vars).await?, "")?
            }
            Kind::Destination => {
                let mut props: Vec<Value> = norm["properties"].as_array().cloned().unwrap_or_default();
                if let Some(h) = norm[n::SECRET_HASH_ATTR].as_str() {
                    props.push(json!({"key": n::SECRET_HASH_PROPERTY, "value": h}));
                }
                let mut input = json!({"name": norm["name"], "properties": props});
                if !attrs["auth"].is_null() {
                    let mut auth = attrs["auth"].clone();
                    auth["type"] = norm["auth"]["type"].clone();
                    input["auth"] = auth;
                }
                if attrs["secureUrl"].is_object() {
                    input["secureUrl"] = attrs["secureUrl"].clone();
                }
                let (what, doc, vars) = match id {
                    None => {
                        input["type"] = norm["type"].clone();
                        (
                            "aiNotificationsCreateDestination",
                            wire::destination_create(),
                            json!({"accountId": account, "destination": input}),
                        )
                    }
                    Some(id) => {
                        if input.get("auth").is_none() {
                            input["disableAuth"] = json!(true);
                        }
                        input["active"] = json!(norm["active"] != json!(false));
                        (
                            "aiNotificationsUpdateDestination",
                            wire::destination_update(),
                            json!({"accountId": account, "destinationId": id, "destination": input}),
                        )
                    }
                };
                Self::returned(what, &self.mutate(what, &doc, vars).await?, "destination")?
            }
            Kind::Channel => {
                let mut input = json!({"name": norm["name"], "properties": norm["properties"]});
                let (what, doc, vars) = match id {
                    None => {
                        let dest = linked_id(Kind::Destination, &norm["destinationId"])?;
                        input["type"] = norm["type"].clone();
                        input["product"] = norm["product"].clone();
                        input["destinationId"] = json!(dest);
                        (
                            "aiNotificationsCreateChannel",
                            wire::channel_create(),
                            json!({"accountId": account, "channel": input}),
                        )
                    }
                    Some(id) => {
                        // `destinationId` is not sent: a destination change replaces the channel.
                        input["active"] = json!(norm["active"] != json!(false));
                        (
                            "aiNotificationsUpdateChannel",
                            wire::channel_update(),
                            json!({"accountId": account, "channelId": id, "channel": input}),
                        )
                    }
                };
                Self::returned(what, &self.mutate(what, &doc, vars).await?, "channel")?
            }
            Kind::Workflow => {
                let mut input = norm.clone();
                if let Some(dcs) = input["destinationConfigurations"].as_array_mut() {
                    for dc in dcs.iter_mut() {
                        dc["channelId"] = json!(linked_id(Kind::Channel, &dc["channelId"])?);
                    }
                }
                if let Some(ps) = input["issuesFilter"]["predicates"].as_array_mut() {
                    for p in ps.iter_mut() {
                        if !n::POLICY_ID_ATTRIBUTES.contains(&p["attribute"].as_str().unwrap_or_default()) {
                            continue;
                        }
                        if let Some(vs) = p["values"].as_array_mut() {
                            for v in vs.iter_mut() {
                                *v = json!(linked_id(Kind::Policy, v)?);
                            }
                        }
                    }
                }
                let (what, doc, vars) = match id {
                    None => (
                        "aiWorkflowsCreateWorkflow",
                        wire::workflow_create(),
                        json!({"accountId": account, "workflow": input}),
                    ),
                    Some(id) => {
                        // Keep the filter's id, so New Relic updates it rather than making another.
                        let current = self.fetch(Kind::Workflow, json!({ "id": id })).await?;
                        let filter_id = current.first().and_then(|w| id_text(&w["issuesFilter"]["id"]));
                        let filter = input
                            .as_object_mut()
                            .and_then(|m| m.remove("issuesFilter"))
                            .unwrap_or(Value::Null);
                        input["issuesFilter"] = json!({"id": filter_id, "filterInput": filter});
                        input["id"] = json!(id);
                        (
                            "aiWorkflowsUpdateWorkflow",
                            wire::workflow_update(),
                            json!({"accountId": account, "workflow": input}),
                        )
                    }
                };
                Self::returned(what, &self.mutate(what, &doc, vars).await?, "workflow")?
            }
            Kind::MutingRule => {
                let mut input = muting::input(&norm, id.is_some());
                if let Some(cs) = input["condition"]["conditions"].as_array_mut() {
                    for c in cs.iter_mut() {
                        let target = match c["attribute"].as_str() {
                            Some(muting::CONDITION_ID_ATTRIBUTE) => Kind::Condition,
                            Some(muting::POLICY_ID_ATTRIBUTE) => Kind::Policy,
                            _ => continue,
                        };
                        if let Some(vs) = c["values"].as_array_mut() {
                            for v in vs.iter_mut() {
                                *v = json!(linked_id(target, v)?);
                            }
                        }
                    }
                }
                let (what, doc, vars) = match id {
                    None => (
                        "alertsMutingRuleCreate",
                        muting::create_document(),
                        json!({"accountId": account, "rule": input}),
                    ),
                    Some(id) => (
                        "alertsMutingRuleUpdate",
                        muting::update_document(),
                        json!({"accountId": account, "id": id, "rule": input}),
                    ),
                };
                Self::returned(what, &self.mutate(what, &doc, vars).await?, "")?
            }
            Kind::Dashboard => {
                let (what, doc, vars) = match id {
                    None => (
                        "dashboardCreate",
                        wire::dashboard_create(),
                        json!({"accountId": account, "dashboard": norm}),
                    ),
                    Some(guid) => (
                        "dashboardUpdate",
                        wire::dashboard_update(),
                        json!({"guid": guid, "dashboard": norm}),
                    ),
                };
                let mut e = Self::returned(what, &self.mutate(what, &doc, vars).await?, "entityResult")?;
                e["id"] = e["guid"].clone();
                e
            }
        };
        self.to_live(kind, &raw)
    }

    async fn exists(&self, kind: Kind, id: &str) -> Result<bool> {
        let filters = match kind {
            Kind::Destination | Kind::Channel | Kind::Workflow => json!({ "id": id }),
            _ => Value::Null,
        };
        Ok(self.fetch(kind, filters).await?.iter().any(|r| id_text(&r["id"]).as_deref() == Some(id)))
    }

    /// Deletes; the shared list is forgotten before and after, as for [`Self::write`].
    async fn remove(&self, kind: Kind, id: &str) -> Result<()> {
        self.forget_list(kind).await;
        let removed = self.remove_now(kind, id).await;
        self.forget_list(kind).await;
        removed
    }

    async fn remove_now(&self, kind: Kind, id: &str) -> Result<()> {
        let account = self.account();
        let (what, doc, vars) = match kind {
            Kind::Policy => {
                ("alertsPolicyDelete", wire::POLICY_DELETE, json!({"accountId": account, "id": id}))
            }
            Kind::Condition => {
                ("alertsConditionDelete", wire::CONDITION_DELETE, json!({"accountId": account, "id": id}))
            }
            Kind::Destination => (
                "aiNotificationsDeleteDestination",
                wire::DESTINATION_DELETE,
                json!({"accountId": account, "destinationId": id}),
            ),
            Kind::Channel => (
                "aiNotificationsDeleteChannel",
                wire::CHANNEL_DELETE,
                json!({"accountId": account, "channelId": id}),
            ),
            Kind::Workflow => {
                ("aiWorkflowsDeleteWorkflow", wire::WORKFLOW_DELETE, json!({"accountId": account, "id": id}))
            }
            Kind::Dashboard => ("dashboardDelete", wire::DASHBOARD_DELETE, json!({ "guid": id })),
            Kind::MutingRule => {
                ("alertsMutingRuleDelete", muting::DELETE, json!({"accountId": account, "id": id}))
            }
        };
        let result = self.mutate(what, doc, vars).await;
        match result {
            Ok(payload) if kind == Kind::Dashboard && payload["status"] == json!("FAILURE") => {
                let not_found = payload["errors"]
                    .as_array()
                    .is_some_and(|es| es.iter().any(|e| e["type"] == json!("DASHBOARD_NOT_FOUND")));
                if not_found {
                    Ok(())
                } else {
                    Err(ProviderError::Api {
                        status: 200,
                        body: format!("dashboardDelete: {}", payload["errors"]),
                    })
                }
            }
            Ok(_) | Err(ProviderError::NotFound { .. }) => Ok(()),
            // Typed errors do not say "not found" in a fixed way: gone is gone.
            Err(e @ ProviderError::Api { .. }) => {
                if self.exists(kind, id).await? {
                    Err(e)
                } else {
                    Ok(())
                }
            }
            Err(e) => Err(e),
        }
    }
}

/// The id another object is linked by (the engine resolves links to ids before anything is sent).
fn linked_id(kind: Kind, value: &Value) -> Result<String> {
    id_text(value).ok_or_else(|| ProviderError::InvalidConfig {
        message: format!("a reference to a {} must be its id, not {value}", kind.resource_type()),
    })
}

/// An update merges what it is sent; fields the desired condition no longer has are sent as
/// `null` so that removing them from the configuration takes effect.
fn clear_absent_condition_fields(input: &mut Value) {
    for key in ["description", "runbookUrl", "titleTemplate"] {
        if input.get(key).is_none() {
            input[key] = Value::Null;
        }
    }
    for key in ["fillValue", "slideBy", "evaluationDelay", "aggregationDelay", "aggregationTimer"] {
        if input["signal"].get(key).is_none() {
            input["signal"][key] = Value::Null;
        }
    }
    if input["expiration"].get("expirationDuration").is_none() {
        input["expiration"]["expirationDuration"] = Value::Null;
    }
}

pub(crate) fn normalize(kind: Kind, attrs: &Value) -> Value {
    match kind {
        Kind::Policy => n::policy(attrs),
        Kind::Condition => n::condition(attrs),
        Kind::Destination => n::destination(attrs),
        Kind::Channel => n::channel(attrs),
        Kind::Workflow => n::workflow(attrs),
        Kind::Dashboard => n::dashboard(attrs),
        Kind::MutingRule => n::muting_rule(attrs),
    }
}

#[async_trait::async_trait]
impl Provider for NewRelicProvider {
    fn name(&self) -> &'static str {
        "newrelic"
    }

    fn resource_types(&self) -> &'static [&'static str] {
        RESOURCE_TYPES
    }

    fn writable(&self, resource_type: &str) -> Option<&watchkeep_provider::managed::Writable> {
        n::writable(resource_type)
    }

    async fn list(&self, resource_type: &str, owned_only: bool) -> Result<Vec<LiveObject>> {
        self.list_kind(Kind::of(resource_type)?, owned_only).await
    }

    async fn read(&self, resource_type: &str, id: &str) -> Result<Option<LiveObject>> {
        let kind = Kind::of(resource_type)?;
        let filters = match kind {
            Kind::Destination | Kind::Channel | Kind::Workflow => json!({ "id": id }),
            _ => Value::Null,
        };
        let raws = self.fetch(kind, filters).await?;
        let Some(raw) = raws.iter().find(|r| id_text(&r["id"]).as_deref() == Some(id)) else {
            return Ok(None);
        };
        self.to_live(kind, raw).map(Some)
    }

    async fn find_by_marker(&self, resource_type: &str, address: &str) -> Result<Vec<LiveObject>> {
        let kind = Kind::of(resource_type)?;
        let marker = address_marker(address);
        if kind == Kind::Policy {
            self.learn_policy_marker(&marker);
        }
        Ok(self
            .list_kind(kind, true)
            .await?
            .into_iter()
            .filter(|o| o.owned && o.marker.as_deref() == Some(marker.as_str()))
            .collect())
    }

    fn normalize(&self, resource_type: &str, attrs: &Value) -> Value {
        match Kind::of(resource_type) {
            Ok(kind) => normalize(kind, attrs),
            Err(_) => attrs.clone(),
        }
    }

    fn mark(&self, resource_type: &str, attrs: &mut Value, address: &str) {
        let Ok(kind) = Kind::of(resource_type) else { return };
        if !attrs.is_object() {
            return;
        }
        let marker = address_marker(address);
        match kind {
            Kind::Policy => {
                self.learn_policy_marker(&marker);
                let name = attrs["name"].as_str().unwrap_or_default();
                attrs["name"] = json!(format!(
                    "{}{}",
                    n::strip_policy_suffix(name).trim_end(),
                    n::policy_suffix(&marker)
                ));
            }
            Kind::Condition | Kind::MutingRule => {
                attrs["description"] = json!(n::with_marker_line(attrs["description"].as_str(), &marker));
            }
            Kind::Dashboard => {
                attrs["description"] = json!(n::with_marker_line(attrs["description"].as_str(), &marker));
                // A compiled dashboard does not know the account: its NRQL widgets query this
                // provider's account unless they name one.
                let account = self.account();
                let queries = attrs
                    .get_mut("pages")
                    .and_then(Value::as_array_mut)
                    .into_iter()
                    .flatten()
                    .filter_map(|page| page.get_mut("widgets").and_then(Value::as_array_mut))
                    .flatten()
                    .filter_map(|w| {
                        w.pointer_mut("/rawConfiguration/nrqlQueries").and_then(Value::as_array_mut)
                    })
                    .flatten();
                for q in queries.filter_map(Value::as_object_mut) {
                    if !q.contains_key("accountIds") && !q.contains_key("accountId") {
                        q.insert("accountIds".into(), json!([account]));
                    }
                }
            }
            Kind::Destination | Kind::Channel => n::set_property_marker(attrs, &marker),
            Kind::Workflow => {
                if !attrs["issuesFilter"].is_object() {
                    attrs["issuesFilter"] = json!({"type": "FILTER", "predicates": []});
                }
                attrs["issuesFilter"]["name"] = json!(n::marker_line(&marker));
            }
        }
    }

    fn update_kind(&self, resource_type: &str, attr: &str) -> UpdateKind {
        match (resource_type, attr) {
            ("newrelic_nrql_condition", "policyId")
            | ("newrelic_notification_destination", "type")
            | ("newrelic_notification_channel", "type" | "destinationId" | "product") => UpdateKind::Replace,
            _ => UpdateKind::InPlace,
        }
    }

    async fn create(&self, resource_type: &str, attrs: &Value) -> Result<LiveObject> {
        self.write(Kind::of(resource_type)?, None, attrs).await
    }

    async fn update(&self, resource_type: &str, id: &str, attrs: &Value) -> Result<LiveObject> {
        self.write(Kind::of(resource_type)?, Some(id), attrs).await
    }

    async fn delete(&self, resource_type: &str, id: &str) -> Result<()> {
        self.remove(Kind::of(resource_type)?, id).await
    }

    /// NRQL conditions: the incidents they opened and closed (see the crate docs, "Alert log");
    /// `Ok(None)` for the other types, which raise no incidents of their own.
    async fn alert_history(
        &self,
        resource_type: &str,
        id: &str,
        since: Option<std::time::SystemTime>,
    ) -> Result<Option<Vec<AlertEvent>>> {
        match Kind::of(resource_type)? {
            Kind::Condition => self
                .alert_log
                .condition_history(id, since, |start, end| self.incidents(start, end))
                .await
                .map(Some),
            _ => Ok(None),
        }
    }

    /// `routes test` for destinations and channels: NerdGraph's test mutations (see
    /// `provider/route_test.rs`); `Ok(None)` for the other types, and for a destination a
    /// channel uses (the channel's test goes through it).
    async fn test_delivery(
        &self,
        resource_type: &str,
        id: &str,
        attrs: &Value,
    ) -> Result<Option<Vec<Delivery>>> {
        self.test_notification(Kind::of(resource_type)?, id, attrs).await
    }

    /// `coverage --live`: the account's infrastructure entities (see `observe.rs`).
    async fn observe(
        &self,
        components: &[watchkeep_provider::ComponentProbe],
        _alerts: &[(String, String)],
        window: std::time::Duration,
    ) -> Result<Option<watchkeep_provider::Observation>> {
        // New Relic's `reporting` is its own judgement: `window` cannot narrow it (see observe.rs).
        let _ = window;
        let calls_before = self.client.calls();
        let raw = self
            .paged(
                "entitySearch",
                crate::observe::ENTITY_SEARCH,
                json!({ "query": crate::observe::query(self.account()) }),
                &["actor", "entitySearch", "results"],
                "entities",
                false,
            )
            .await?;
        let mut observation = crate::observe::observation(&raw, self.account(), components);
        observation.api_calls = self.client.calls() - calls_before;
        Ok(Some(observation))
    }

    /// `evidence`: the first page of a dashboard as New Relic renders it, else its NRQL
    /// widgets as series (see `provider/picture.rs`); `Ok(None)` for the other types.
    async fn dashboard_picture(
        &self,
        resource_type: &str,
        id: &str,
        attrs: &Value,
        from: i64,
        to: i64,
    ) -> Result<Option<watchkeep_provider::Picture>> {
        match Kind::of(resource_type)? {
            Kind::Dashboard => self.picture(id, attrs, from, to).await,
            _ => Ok(None),
        }
    }

    /// The New Relic page of an object (see `provider/picture.rs`, "Links").
    fn web_link(&self, resource_type: &str, id: &str) -> Option<String> {
        let kind = Kind::of(resource_type).ok()?;
        picture::web_link(self.config.region, self.account(), kind, id)
    }

    fn api_calls(&self) -> u64 {
        self.client.calls()
    }

    fn endpoint(&self) -> Option<String> {
        Some(self.config.endpoint.clone())
    }
}
