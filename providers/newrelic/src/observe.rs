//! `coverage --live` for New Relic: which components' infrastructure entities report, which
//! infrastructure entities the account has.
//!
//! One entity search, every page (schema `shared/specs/newrelic-nerdgraph.graphql`:
//! `Actor.entitySearch(query:)` → `EntitySearch.results(cursor:)` → `EntitySearchResult
//! { entities: [EntityOutline], nextCursor }`, "If nextCursor is a String value, set it to the
//! cursor input field … to get the next page"). The query is `domain = 'INFRA' AND accountId = N`
//! (the schema's own examples use `domain IN ('INFRA', 'APM')` and `reporting = 'false'`):
//! hosts, containers and cloud-integration entities (an RDS instance is `INFRA` too).
//!
//! What `EntityOutline` offers: `reporting` ("If New Relic is successfully collecting data from
//! your application, this will be true") and `lastReportingChangeAt` ("The last time the entity's
//! reporting status changed"); there is no "last reported at". So a component reports when its
//! entity says `reporting: true` (New Relic's own judgement, whatever `window` is asked); for an
//! entity that stopped, `lastReportingChangeAt` is when it stopped, given as its last report.
//!
//! No Data: the schema has no faithful per-condition "no data" state (NRQL conditions have a
//! loss-of-signal `expiration` setting, but nothing says which conditions currently have no
//! signal), so `no_data` is always empty.
//!
//! Matching a component to an entity (a guess: New Relic documents no such mapping): an entity
//! matches when its `name` or the entity tag named like an identifier key carries the value
//! (`hostname = "web-1"` matches the host entity `web-1`, or one tagged `hostname: web-1`, as
//! infrastructure hosts are; `displayName`, `containerName` likewise); without an identifier,
//! the component's own name is matched against entity names. A reporting entity wins over one
//! that stopped.

use std::collections::BTreeMap;

use serde_json::Value;
use watchkeep_provider::{ComponentProbe, ComponentReport, Observation, SeenEntity};

/// `Actor.entitySearch` over the account's infrastructure entities, one page per cursor.
pub(crate) const ENTITY_SEARCH: &str = "query WkEntities($query: String, $cursor: String) { actor { entitySearch(query: $query) { \
results(cursor: $cursor) { nextCursor entities { guid name domain type entityType reporting lastReportingChangeAt \
accountId tags { key values } } } } } }";

struct Entity {
    name: String,
    kind: &'static str,
    reporting: bool,
    last_change: Option<String>,
    tags: BTreeMap<String, Vec<String>>,
}

impl Entity {
    fn from(v: &Value) -> Option<Self> {
        let name = v["name"].as_str().filter(|s| !s.trim().is_empty())?.to_owned();
        let tags = v["tags"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| {
                let key = t["key"].as_str()?.to_owned();
                let values =
                    t["values"].as_array()?.iter().filter_map(Value::as_str).map(str::to_owned).collect();
                Some((key, values))
            })
            .collect();
        Some(Entity {
            name,
            kind: kind_of(v["type"].as_str().unwrap_or_default()),
            reporting: v["reporting"].as_bool() == Some(true),
            last_change: v["lastReportingChangeAt"]
                .as_i64()
                .and_then(chrono::DateTime::from_timestamp_millis)
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            tags,
        })
    }

    fn matches(&self, key: &str, value: &str) -> bool {
        self.name.eq_ignore_ascii_case(value)
            || self.tags.get(key).is_some_and(|vs| vs.iter().any(|v| v.eq_ignore_ascii_case(value)))
    }

    /// The identifier an inventory row would carry for it (the `examples/newrelic` inventory's
    /// keys: `hostname`, `containerName`, `displayName`).
    fn identifier(&self) -> BTreeMap<String, String> {
        let key = match self.kind {
            "server" => "hostname",
            "container" => "containerName",
            _ => "displayName",
        };
        let value = self.tags.get(key).and_then(|v| v.first()).cloned().unwrap_or_else(|| self.name.clone());
        BTreeMap::from([(key.to_owned(), value)])
    }
}

/// The component kind of an infrastructure entity type (a guess from New Relic's type names:
/// `HOST`, `CONTAINER`, cloud databases such as `AWSRDSDBINSTANCE`).
fn kind_of(entity_type: &str) -> &'static str {
    let t = entity_type.to_ascii_uppercase();
    if t == "HOST" {
        "server"
    } else if t.contains("CONTAINER") {
        "container"
    } else if t.contains("RDS") || t.contains("DB") || t.contains("DATABASE") {
        "database"
    } else {
        "cloud_service"
    }
}

/// The entity search query for the account's infrastructure entities.
pub(crate) fn query(account: i64) -> String {
    format!("domain = 'INFRA' AND accountId = {account}")
}

/// What the entities (every page of [`ENTITY_SEARCH`] with [`query`]) say about `components`;
/// `api_calls` is left for the caller to fill in.
pub(crate) fn observation(raw: &[Value], account: i64, components: &[ComponentProbe]) -> Observation {
    let query = query(account);
    // The query names the account; entities of another account a key sees are dropped here too.
    let entities: Vec<Entity> = raw
        .iter()
        .filter(|e| e["accountId"].as_i64().is_none_or(|a| a == account))
        .filter_map(Entity::from)
        .collect();

    let reports = components
        .iter()
        .map(|probe| {
            let pairs: Vec<(&str, &str)> = if probe.identifier.is_empty() {
                vec![("name", probe.name.as_str())]
            } else {
                probe.identifier.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
            };
            let asked = pairs.iter().map(|(k, v)| format!("{k} = '{v}'")).collect::<Vec<_>>().join(" or ");
            let mut found: Vec<&Entity> =
                entities.iter().filter(|e| pairs.iter().any(|(k, v)| e.matches(k, v))).collect();
            found.sort_by_key(|e| !e.reporting);
            match found.first() {
                Some(e) if e.reporting => ComponentReport {
                    component: probe.name.clone(),
                    reporting: true,
                    last_reported: None,
                    detail: format!(
                        "entitySearch: entity {} ({}) reporting{}",
                        e.name,
                        asked,
                        e.last_change.as_deref().map(|t| format!(" since {t}")).unwrap_or_default()
                    ),
                },
                Some(e) => ComponentReport {
                    component: probe.name.clone(),
                    reporting: false,
                    last_reported: e.last_change.clone(),
                    detail: format!(
                        "entitySearch: entity {} ({}) not reporting{}",
                        e.name,
                        asked,
                        e.last_change.as_deref().map(|t| format!(" since {t}")).unwrap_or_default()
                    ),
                },
                None => ComponentReport {
                    component: probe.name.clone(),
                    reporting: false,
                    last_reported: None,
                    detail: format!("entitySearch ({query}): no infrastructure entity with {asked}"),
                },
            }
        })
        .collect();

    let seen = entities
        .iter()
        .filter(|e| e.reporting)
        .map(|e| SeenEntity {
            name: e.name.clone(),
            kind: Some(e.kind.to_owned()),
            identifier: e.identifier(),
            last_reported: None,
        })
        .collect();

    Observation { components: reports, seen, no_data: Vec::new(), api_calls: 0 }
}
