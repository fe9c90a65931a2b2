//! # The New Relic provider
//!
//! Manages New Relic **alert policies** (`newrelic_alert_policy`), **static NRQL conditions**
//! (`newrelic_nrql_condition`), **notification destinations** (`newrelic_notification_destination`)
//! and **channels** (`newrelic_notification_channel`), **workflows** (`newrelic_workflow`) and
//! **dashboards** (`newrelic_dashboard`) through NerdGraph, New Relic's GraphQL API, implementing
//! [`watchkeep_provider::Provider`]. Attributes are JSON named the way NerdGraph names the input
//! fields (`incidentPreference`, `nrql { query }`, `terms`, `destinationConfigurations`, ...).
//!
//! ## Configuration
//!
//! ```hcl
//! provider "newrelic" {
//!   account_id      = 1234567   # or $NEW_RELIC_ACCOUNT_ID; required
//!   region          = "EU"      # "US" (default) or "EU", or $NEW_RELIC_REGION
//!   # api_url       = "http://127.0.0.1:8080"   # overrides the region's endpoint (with or without /graphql)
//!   timeout_seconds = 30        # per request
//!   max_concurrency = 25        # requests in flight, 1..=25
//! }
//! ```
//!
//! * US → `https://api.newrelic.com/graphql`, EU → `https://api.eu.newrelic.com/graphql`.
//! * The user API key is read **only** from `NEW_RELIC_API_KEY` and sent as the `API-Key`
//!   header; it prints as `***` and never appears in errors.
//! * There is no `page_size`: NerdGraph chooses its page sizes, the client only follows cursors.
//! * Any other attribute is an error listing the known ones.
//!
//! ## What it does on the wire
//!
//! * Every request is `POST {query, variables}`; values always travel in `variables`, documents
//!   are constants (see `wire.rs`) that validate against the NerdGraph schema.
//! * Refresh follows cursors: `actor.account.alerts.policiesSearch` and `nrqlConditionsSearch`
//!   (only `STATIC` conditions are listed), `aiNotifications.destinations` / `channels`,
//!   `aiWorkflows.workflows`, and for dashboards `actor.entitySearch` (type `DASHBOARD`, pages of
//!   a dashboard excluded) followed by `actor.entities(guids)` 25 at a time. Listing conditions
//!   also lists policies (to search conditions per policy). `read` lists the type and picks the id.
//! * Writes: `alertsPolicyCreate/Update/Delete`, `alertsNrqlConditionStaticCreate/Update`,
//!   `alertsConditionDelete`, `aiNotificationsCreate/Update/DeleteDestination` and `...Channel`,
//!   `aiWorkflowsCreate/Update/DeleteWorkflow` (always with `deleteChannels: false` /
//!   `deleteUnusedChannels: false`: channels are resources of their own), `dashboardCreate`,
//!   `dashboardUpdate`, `dashboardDelete`. A condition update sends `null` for optional fields
//!   the configuration dropped (NerdGraph merges updates). A workflow update keeps the existing
//!   issues filter's id (one extra read). Deleting something already gone succeeds (a
//!   `NOT_FOUND` error, or a typed error after which the object is confirmed absent).
//! * `coverage --live` (`observe`, module `observe`): one `actor.entitySearch(query: "domain =
//!   'INFRA' AND accountId = N")` following `results(cursor:)`; a component reports when its
//!   entity says `reporting: true`; reporting entities are what the account sees; No Data is not
//!   claimed (the schema has no per-condition signal for it).
//! * Errors — the provider never retries, the engine does: HTTP 401/403 → `Auth`, 429 →
//!   `RateLimited` (`Retry-After`), 5xx, timeouts and connection failures → `Transient`, a body
//!   that is not JSON → `Decode`. In a 200 answer the top-level `errors[].extensions.errorClass`
//!   decides: `TOO_MANY_REQUESTS` → `RateLimited`; `TIMEOUT`, `INTERNAL_SERVER_ERROR`,
//!   `SERVER_ERROR` → `Transient`; `FORBIDDEN`/`UNAUTHORIZED` → `Auth`; `NOT_FOUND` → `NotFound`;
//!   anything else (`GRAPHQL_VALIDATION_FAILED`, `BAD_USER_INPUT`, ...) → `Api` with the messages
//!   joined by `; `. For `aiNotifications*` and `aiWorkflows*` the typed `error`/`errors` inside
//!   `data` are checked too: non-empty means failure (`UNAUTHORIZED_ACCOUNT` → `Auth`, else
//!   `Api` with the type, description, details and field messages).
//! * Concurrency: New Relic allows 25 concurrent requests per user; every request waits for a
//!   permit of a semaphore of `max_concurrency` (25). 429s are still reported as `RateLimited`.
//!   `api_calls()` counts requests sent.
//!
//! ## Alert log
//!
//! `alert_history` (what `watchkeep alerts` reads) returns, for a `newrelic_nrql_condition`, the
//! incidents New Relic opened and closed for it; every other type answers `Ok(None)` (they raise
//! no incidents of their own, so `watchkeep alerts` lists them as not covered, as CloudWatch does
//! for topics and dashboards).
//!
//! * Source: `actor.account(id).aiIssues.incidents(cursor, timeWindow)`, following `nextCursor`,
//!   selecting `... on AiIssuesNewRelicIncident { incidentId conditionFamilyId priority state
//!   title createdAt closedAt updatedAt }`. A `timeWindow` is always sent (without one New Relic
//!   answers for the last 24 hours only): from `since`, or 30 days back when there is none, to
//!   now. New Relic returns the incidents *active* during the window.
//! * NerdGraph cannot filter incidents by condition, so one scan reads every incident of the
//!   account and they are matched to the condition's id by `conditionFamilyId` here. The scan is
//!   kept for 60 seconds and serves every call whose window starts at or after its own, so a log
//!   of N conditions costs one paged scan, not N; concurrent calls wait for the scan in progress.
//!   A failed scan is not kept. Incidents of other sources (anomalies, the REST API) have no
//!   `conditionFamilyId` and are skipped.
//! * Events per incident: when it opened, `from: None` (an incident has no earlier state),
//!   `to: "OPEN"` (NerdGraph's state `CREATED`); when it closed, `from: "OPEN"`, `to: "CLOSED"`
//!   (at `closedAt`; a `CLOSED` incident without `closedAt` at its `updatedAt`). Both are
//!   summarised `<priority>: <title>` (`CRITICAL: CPU high on web-1`; priorities are
//!   `AiIssuesPriority`: `CRITICAL`, `HIGH`, `MEDIUM`, `LOW`). Times are epoch milliseconds on
//!   the wire and RFC 3339 UTC here (`2026-11-01T10:00:00Z`, with `.250` when there are
//!   milliseconds). Only events at or after the window's start, oldest first; an incident opened
//!   before `since` and closed after it gives its closing event alone.
//! * Errors on the incidents query are mapped like every other query's (above).
//!
//! ## Evidence: dashboard pictures and links
//!
//! `dashboard_picture` (for `newrelic_dashboard`): the first page's guid from `actor.entity`,
//! then `dashboardCreateSnapshotUrl(guid: <page>, params: {timeWindow: {beginTime, endTime}})`;
//! the URL it answers is switched from `format=PDF` to `format=PNG` (New Relic's tutorial
//! "Export dashboards as files") and downloaded **without the `API-Key` header**, at most 10 MiB,
//! and must be a PNG. If that fails, the first page's NRQL widgets are read with
//! `actor.account(id).nrql(query: "… SINCE <ms> UNTIL <ms> TIMESERIES")` and returned as series,
//! `source` saying why. `web_link`: `https://one.newrelic.com/redirect/entity/<guid>` (EU:
//! `one.eu.newrelic.com`) for dashboards, conditions and policies; the workflow and destination
//! lists for those; none for channels and muting rules. Details and sources: `provider/picture.rs`.
//!
//! ## Ownership marker
//!
//! The marker is [`watchkeep_provider::address_marker`] of the address; the marker line is
//! `managed-by:watchkeep watchkeep-address:<marker>`.
//!
//! * Conditions and dashboards: the last line of `description`.
//! * Destinations and channels: a property `{key: "watchkeep", value: <marker line>}`.
//! * Workflows: the issues filter's `name` (a workflow has no description; the filter name is
//!   not shown in New Relic's workflow list). A configured filter name is replaced.
//! * Alert policies have only `name` and `incidentPreference`, and tagging
//!   (`taggingAddTagsToEntity`) is not available here, so — as a last resort — the name ends with
//!   ` [wk:<hash>]`, the first 12 hex digits of SHA-256 of the marker (a full marker would not
//!   fit New Relic's 64-character policy names). A hash cannot be turned back into a marker, so
//!   the provider learns hash → marker from every address it marks and every `find_by_marker`;
//!   an owned policy whose hash it has not learnt is reported `owned` with no marker. The suffix takes 18 of the 64 characters.
//!
//! ## References between objects
//!
//! `policyId` (conditions), `destinationId` (channels), `channelId` (workflow destination
//! configurations), the values of workflow predicates on `labels.policyIds` and of muting rule
//! conditions on `policyId` / `conditionId` are vendor ids, on both sides: the engine links them
//! in the plan (`ref:<address>` in the configuration is a typed link it resolves to the id of
//! the object at that address, from state or from the create earlier in the same apply, before
//! anything is sent, as for every vendor). The provider keeps no reference cache and makes no look-up for them: live objects
//! carry the ids NerdGraph returns, normalisation only trims them, and a write sends them as
//! given.
//!
//! ## Secrets of destinations
//!
//! NerdGraph never returns auth secrets (token, password, OAuth2 secrets, custom header values,
//! `secureUrl.secureSuffix`). The normalised form of a destination drops them and carries
//! `secretSha256`: a SHA-256 of the secrets salted with the object's marker. Desired attributes
//! compute it; on the wire it is written as the property `watchkeep-secret-sha256`, which list
//! reads back. So a rotated secret shows as a change of `secretSha256`, and the update re-sends
//! the auth, while the secret itself is never read, stored in a `LiveObject` or printed. The
//! hash of a weak secret could be brute-forced from the property; tokens and keys are not weak.
//!
//! ## Route tests
//!
//! `test_delivery` (`watchkeep routes test`): a channel is tested with
//! `aiNotificationsTestChannelById` (its message, rendered with example values, goes through its
//! destination; `issueTitle` `[watchkeep route test] …` and `issueId` mark the test); a
//! destination no channel uses with `aiNotificationsTestDestinationById`. `SUCCESS` is
//! delivered, `FAIL` failed with the error; an id New Relic no longer has is `NotFound`. Targets
//! and answers show a webhook's host only and email addresses redacted. Details: the
//! `provider::route_test` module.
//!
//! ## Changes that replace
//!
//! A condition's `policyId`, a destination's `type`, and a channel's `type`, `destinationId` and
//! `product` cannot be changed in place; everything else is updated in place.
//!
//! ## Normalisation (why a plan after an apply is empty)
//!
//! Both sides go through the same rules; applying them twice changes nothing. Everywhere: read-only
//! fields (`id`, `guid`, `accountId`, `createdAt`, `updatedAt`, `__typename`, ...) are dropped,
//! whole numbers become integers (`85.0` → `85`), enum values are upper-cased, strings trimmed,
//! object keys sorted.
//!
//! * **Policies**: `incidentPreference` defaults to `PER_POLICY`.
//! * **Conditions**: `enabled` true; `valueFunction` `SINGLE_VALUE`; `violationTimeLimitSeconds`
//!   259200, or the seconds of a `violationTimeLimit` enum; terms get `priority` `CRITICAL` and
//!   `thresholdOccurrences` `ALL` by default, upper-cased `operator`/`priority`/
//!   `thresholdOccurrences`, and are ordered CRITICAL then WARNING; `signal.aggregationMethod`
//!   `""`/absent → `EVENT_FLOW`, `aggregationWindow` 60; with `EVENT_TIMER` `aggregationTimer`
//!   absent/0 → 60 and no `aggregationDelay`, otherwise `aggregationDelay` absent → 120 (an
//!   explicit 0 is kept: it is a valid delay) and no `aggregationTimer`; `fillOption` `NONE`,
//!   `fillValue` kept only with `STATIC`; `expiration` booleans false; `description`,
//!   `runbookUrl`, `titleTemplate`, `nrql.dataAccountId` and other nulls removed.
//! * **Destinations**: properties sorted by key/value (null `label`/`displayValue` dropped), the
//!   secret-hash property moved to `secretSha256`; `auth` in the input's shape without secrets
//!   (`{type, token: {prefix}}`, `{type, basic: {user}}`, `{type, customHeaders: {customHeaders:
//!   [{key}]}}`, `{type, oauth2: {...}}`; an empty token prefix dropped); `secureUrl` as
//!   `{prefix}`; `active` kept only when false.
//! * **Channels**: `product` `IINT` by default; properties as for destinations.
//! * **Workflows**: `enabled` is accepted for `workflowEnabled`; `workflowEnabled`,
//!   `destinationsEnabled`, `enrichmentsEnabled` true, `mutingRulesHandling` `NOTIFY_ALL_ISSUES`,
//!   `issuesFilter.type` `FILTER`; destination configurations sorted by `channelId`, their
//!   `notificationTriggers` sorted. Enrichments are not managed.
//! * **Dashboards**: `permissions` `PUBLIC_READ_WRITE`; widget ids and page guids dropped; a
//!   widget's `layout` defaults to column 1, row 1, width 4, height 3; nulls inside
//!   `rawConfiguration` dropped. Dashboard variables are not managed.

mod client;
mod config;
mod history;
mod ids;
mod muting;
pub mod normalize;
mod observe;
mod provider;
mod wire;

pub use client::USER_AGENT;
pub use config::{
    NewRelicConfig, Region, Secret, DEFAULT_TIMEOUT_SECONDS, ENV_ACCOUNT_ID, ENV_API_KEY, ENV_REGION,
    EU_ENDPOINT, KNOWN_ATTRIBUTES, MAX_CONCURRENCY, US_ENDPOINT,
};
pub use provider::{NewRelicProvider, MAX_PICTURE_BYTES, RESOURCE_TYPES, SNAPSHOT_SOURCE};

use serde_json::Value;
use watchkeep_provider::{Provider, Result};

/// The vendor's name as written in HCL (`provider "newrelic" {}`).
pub const NAME: &str = "newrelic";

/// This vendor in the engine's registry (`engine/src/vendors.rs`).
pub static FACTORY: NewRelicFactory = NewRelicFactory;

/// Builds [`NewRelicProvider`]s from a `provider "newrelic"` block: [`NewRelicConfig::from_block`] then
/// [`NewRelicProvider::new`]. See [`watchkeep_provider::ProviderFactory`].
#[derive(Debug, Clone, Copy)]
pub struct NewRelicFactory;

impl watchkeep_provider::ProviderFactory for NewRelicFactory {
    fn name(&self) -> &'static str {
        NAME
    }

    fn resource_types(&self) -> &'static [&'static str] {
        RESOURCE_TYPES
    }

    fn type_prefixes(&self) -> &'static [&'static str] {
        &["newrelic"]
    }

    fn resolves_id_refs(&self) -> bool {
        // Entity ids are assigned by New Relic at create time; `<type>.<name>.id` (a condition's
        // `policyId`, …) is a typed link the engine fills once the object exists.
        true
    }

    fn configure(
        &self,
        block: &serde_json::Map<String, Value>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<std::sync::Arc<dyn Provider>> {
        let config = NewRelicConfig::from_block(block, env)?;
        // Keys only to New Relic's own hosts or to endpoints the operator allows (issue 15).
        config.check_endpoint(block, env)?;
        Ok(std::sync::Arc::new(NewRelicProvider::new(config)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use watchkeep_provider::{Provider, ProviderError, UpdateKind};

    const KEY: &str = "NRAK-UNITSECRET42";

    fn provider() -> NewRelicProvider {
        let env = |k: &str| match k {
            "NEW_RELIC_API_KEY" => Some(KEY.to_string()),
            "NEW_RELIC_ACCOUNT_ID" => Some("12345".to_string()),
            _ => None,
        };
        NewRelicProvider::from_block(&serde_json::Map::new(), &env).unwrap()
    }

    /// Issue 15: the key goes only to New Relic's hosts or to endpoints the operator allows
    /// outside the configuration.
    #[test]
    fn the_factory_sends_the_key_only_to_new_relic_or_allowed_endpoints() {
        use watchkeep_provider::ProviderFactory;
        let configure = |url: &str, allow: Option<&'static str>| {
            let attrs = serde_json::json!({ "account_id": 1, "api_url": url });
            let env = move |k: &str| match k {
                "NEW_RELIC_API_KEY" => Some(KEY.to_string()),
                watchkeep_provider::endpoint::ENV_ALLOW_ENDPOINTS => allow.map(str::to_string),
                _ => None,
            };
            FACTORY.configure(attrs.as_object().unwrap(), &env).err().map(|e| e.to_string())
        };
        assert_eq!(configure("https://api.eu.newrelic.com/graphql", None), None);
        let e = configure("https://nerdgraph.evil.io/graphql", None).expect("refused");
        assert!(
            e.contains(
                "points at `https://nerdgraph.evil.io`, which is not one of New Relic's own endpoints"
            ) && !e.contains(KEY),
            "{e}"
        );
        let e = configure("http://127.0.0.1:8080/graphql", None).expect("refused");
        assert!(e.contains("WATCHKEEP_ALLOW_ENDPOINTS=http://127.0.0.1:8080"), "{e}");
        assert_eq!(configure("http://127.0.0.1:8080/graphql", Some("http://127.0.0.1:8080")), None);
    }

    #[test]
    fn factory_builds_the_provider_and_passes_its_errors_on() {
        use watchkeep_provider::ProviderFactory;
        let env = |k: &str| match k {
            "NEW_RELIC_API_KEY" => Some(KEY.to_string()),
            "NEW_RELIC_ACCOUNT_ID" => Some("12345".to_string()),
            _ => None,
        };
        let p = FACTORY.configure(&serde_json::Map::new(), &env).unwrap();
        assert_eq!((p.name(), p.resource_types()), (FACTORY.name(), FACTORY.resource_types()));
        let bad: serde_json::Map<String, Value> = serde_json::from_str(r#"{"regoin": "EU"}"#).unwrap();
        let via_factory = FACTORY.configure(&bad, &env).err().map(|e| e.to_string());
        let direct = NewRelicProvider::from_block(&bad, &env).err().map(|e| e.to_string());
        assert!(via_factory.as_deref().is_some_and(|e| e.contains("regoin")), "{via_factory:?}");
        assert_eq!(via_factory, direct);
        assert!(FACTORY.resolves_id_refs());
    }

    #[test]
    fn names_kinds_and_debug() {
        let p = provider();
        assert_eq!(p.name(), "newrelic");
        assert_eq!(p.resource_types().len(), 7);
        assert_eq!(p.update_kind("newrelic_nrql_condition", "policyId"), UpdateKind::Replace);
        assert_eq!(p.update_kind("newrelic_nrql_condition", "name"), UpdateKind::InPlace);
        assert_eq!(p.update_kind("newrelic_notification_destination", "type"), UpdateKind::Replace);
        assert_eq!(p.update_kind("newrelic_notification_channel", "product"), UpdateKind::Replace);
        assert_eq!(p.update_kind("newrelic_notification_channel", "properties"), UpdateKind::InPlace);
        assert_eq!(p.update_kind("newrelic_workflow", "name"), UpdateKind::InPlace);
        let out = format!("{p:?} {p:#?}");
        assert!(!out.contains(KEY) && out.contains("***"), "{out}");
    }

    #[test]
    fn marks_round_trip() {
        let p = provider();
        let mut policy = serde_json::json!({"name": "Oncall"});
        p.mark("newrelic_alert_policy", &mut policy, "route.oncall");
        p.mark("newrelic_alert_policy", &mut policy, "route.oncall");
        assert_eq!(policy["name"], format!("Oncall{}", normalize::policy_suffix("route.oncall")));
        let mut wf = serde_json::json!({"name": "w"});
        p.mark("newrelic_workflow", &mut wf, r#"x["A"]"#);
        assert_eq!(wf["issuesFilter"]["name"], "managed-by:watchkeep watchkeep-address:x.a");
        let mut d = serde_json::json!({"name": "d", "properties": [{"key": "watchkeep", "value": "old"}]});
        p.mark("newrelic_notification_destination", &mut d, "a.b");
        assert_eq!(d["properties"].as_array().unwrap().len(), 1);
        assert_eq!(normalize::property_marker(&d), (true, Some("a.b".into())));
    }

    #[tokio::test]
    async fn unknown_type_and_unreachable_host() {
        let p = provider();
        assert!(matches!(p.list("newrelic_slo", false).await, Err(ProviderError::InvalidConfig { .. })));
        assert_eq!(p.api_calls(), 0);
        let env = |k: &str| (k == "NEW_RELIC_API_KEY").then(|| KEY.to_string());
        let attrs =
            serde_json::json!({"account_id": 1, "api_url": "http://127.0.0.1:9", "timeout_seconds": 2});
        let p = NewRelicProvider::from_block(attrs.as_object().unwrap(), &env).unwrap();
        let err = p.list("newrelic_alert_policy", false).await.unwrap_err();
        assert!(matches!(err, ProviderError::Transient { .. }), "{err:?}");
        assert!(!format!("{err} {err:?}").contains(KEY));
        assert_eq!(p.api_calls(), 1);
    }
}
