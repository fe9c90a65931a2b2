//! # The Datadog provider
//!
//! Manages Datadog **monitors** (`datadog_monitor`) and **dashboards** (`datadog_dashboard`)
//! through Datadog's v1 REST API, and **downtimes** (`datadog_downtime`) through the v2 downtime
//! API (see the `downtime` module for its wire format, normalisation and marker), implementing
//! [`watchkeep_provider::Provider`].
//!
//! ## Configuration
//!
//! ```hcl
//! provider "datadog" {
//!   site            = "datadoghq.eu"  # default datadoghq.com, or $DD_SITE
//!   # api_url       = "http://127.0.0.1:8126"  # overrides the host, or $DD_HOST
//!   timeout_seconds = 30              # per request
//!   page_size       = 1000            # monitors per list page, at most 1000
//! }
//! ```
//!
//! * `site`: one of `datadoghq.com`, `us3.datadoghq.com`, `us5.datadoghq.com`,
//!   `ap1.datadoghq.com`, `ap2.datadoghq.com`, `datadoghq.eu`, `ddog-gov.com`. Requests go to
//!   `https://api.<site>`.
//! * `api_url`: `http(s)://host[:port]`, with or without a trailing `/` or `/api`; a bare host gets
//!   `https://`. Used for proxies and for local stand-ins of the API.
//! * Keys are read **only** from the environment: `DD_API_KEY` and `DD_APP_KEY` (or
//!   `DD_APPLICATION_KEY`). They are sent as the `DD-API-KEY` / `DD-APPLICATION-KEY` headers and
//!   never appear in errors, logs or debug output (they print as `***`).
//! * Any other attribute is an error that lists the known ones.
//!
//! ## What it does on the wire
//!
//! * Refresh reads every monitor with `GET /api/v1/monitor?page=N&page_size=<page_size>` — one
//!   request per page, never one per monitor — adding `monitor_tags=managed-by:watchkeep` when only
//!   watchkeep's own monitors are wanted. Dashboards are listed with `GET /api/v1/dashboard`
//!   (`start`/`count`, 100 per page) and then read in full, 8 at a time.
//! * Create, update and delete use `POST`, `PUT` and `DELETE` on `/api/v1/monitor[/{id}]` and
//!   `/api/v1/dashboard[/{id}]`; deleting something already gone succeeds. `validate_remote`
//!   checks a desired monitor with `POST /api/v1/monitor/validate` (dashboards have no such
//!   endpoint). Read-only fields are never sent, and whole numbers are sent as integers.
//! * Datadog's monitor `PUT` changes only the fields it is sent, so an update sends
//!   `priority: null`, `restricted_roles: null` and `tags: []` when the desired monitor has no
//!   such field; otherwise removing one from the configuration would never take effect.
//! * `coverage --live` (`observe`, module `observe`): `GET /api/v1/hosts?from=<now − window>&count=1000&start=N`
//!   (every page) says which components' hosts reported within the window and which hosts Datadog
//!   sees; managed monitors asked about are read with the tag-filtered monitor list (1000 a page)
//!   and those whose `overall_state` is `No Data` are reported.
//! * `alerts` / `evidence` (`alert_history`, module `history`): monitor state changes from
//!   `GET /api/v1/events?start=&end=&exclude_aggregate=true&page=N` (every page of 1000), read
//!   once per window and shared by all monitors for a minute; each event is tied to its monitor
//!   by `monitor_id` (or the `/monitors/<id>` link in its text) and to a state (`Alert`, `Warn`,
//!   `No Data`, `OK`) by its title (`[Triggered]`, `[Warn]`, `[No Data]`, `[Recovered]`) or
//!   `alert_type`.
//! * `evidence` (`dashboard_picture`, module `picture`): `GET /api/v1/graph/snapshot` of one
//!   query showing every in-scope host of the dashboard, the image fetched from its public
//!   `snapshot_url` **without** key headers (at most 10 MiB, waiting up to 15 s for an image
//!   not rendered yet, checked to be a PNG); otherwise the same query's series from
//!   `GET /api/v1/query`. `web_link`: `https://app.<site>/monitors/<id>`,
//!   `…/dashboard/<id>` (the default site's app with an `api_url` override).
//! * The provider never retries; it reports what Datadog said and the engine decides:
//!   401/403 → `Auth`, 404 → `NotFound`, 429 → `RateLimited` (retry after `X-RateLimit-Reset`,
//!   else `Retry-After`), 5xx and timeouts/connection failures → `Transient`, other 4xx → `Api`
//!   with Datadog's `errors` joined by `; `, a body that is not JSON → `Decode`. The last
//!   `X-RateLimit-*` headers are available from `last_rate_limit()`, the number of requests from
//!   `api_calls()`.
//!
//! ## Ownership marker
//!
//! * Monitors carry the tags `managed-by:watchkeep` and `watchkeep-address:<address>` (the address
//!   made tag-safe by [`watchkeep_provider::address_marker`]).
//! * Dashboards have no free-form tags, so their description ends with the line
//!   `managed-by:watchkeep watchkeep-address:<address>`.
//! * Downtimes have no tags either: the same line ends their `message`. A cancelled downtime
//!   (Datadog keeps it, `status: "canceled"`) counts as deleted.
//!
//! ## Changes that replace
//!
//! Changing a monitor's `type` or a dashboard's `layout_type` deletes and re-creates the object;
//! every other change is made in place.
//!
//! ## Normalisation (why a plan after an apply is empty)
//!
//! Datadog rewrites what it is sent. Both the desired attributes and what Datadog returns are put
//! into one canonical form before they are compared. The same rules apply to both sides, and
//! applying them twice changes nothing.
//!
//! **Monitors**
//! 1. Read-only fields are removed: `id`, `created`, `modified`, `creator`, `overall_state`,
//!    `overall_state_modified`, `org_id`, `multi`, `deleted`, `matching_downtimes`, `state`.
//! 0. Only the fields Datadog's OpenAPI spec lists as writable are kept (`writable.json`, checked
//!    against the spec): whatever else Datadog returns never reaches a comparison.
//! 2. Top-level `null`, `[]` and `{}` values are removed (Datadog returns `priority: null`, and
//!    `assets: []` in create answers only); so is `priority: 0`, answered as `null`.
//! 3. `name`, `message`, `query` and `options.escalation_message` are trimmed (Datadog trims
//!    them); `name`, `message` or `query` left empty is removed (Datadog returns `""` for them
//!    when unset).
//! 4. `type = "metric alert"` becomes `"query alert"` (Datadog returns either for the other).
//!    For a `query alert` without `options.thresholds.critical`, the critical threshold is taken
//!    from the comparison that ends the query (`... > 85` gives `85`), as Datadog does.
//! 5. Every number that is a whole number becomes an integer (`85.0` → `85`), anywhere in the
//!    body; other numbers stay decimals.
//! 6. `tags` are sorted and de-duplicated (they are a set); an empty `tags` list is removed.
//! 7. In `options`, these are removed because they are Datadog's defaults: `null` values (also
//!    inside `thresholds`), `notify_audit = false`, `include_tags = true`, `new_host_delay = 300`,
//!    `notify_no_data = false`, `renotify_interval = 0`, `escalation_message = ""`,
//!    `silenced = {}`, `new_group_delay = 0`, `timeout_h = 0`, an empty `renotify_statuses`, and
//!    `no_data_timeframe` unless `notify_no_data = true` (Datadog reports a timeframe even when
//!    no-data alerts are off, where it means nothing). An `options` left empty is removed.
//! 8. An empty `restricted_roles` and `draft_status = "published"` (the default) are removed.
//!
//! **Dashboards**
//! 0. Only the spec's writable fields are kept, and top-level `null`, `[]`, `{}` are removed.
//! 1. Read-only fields are removed: `id`, `url`, `author_handle`, `author_name`, `created_at`,
//!    `modified_at`, and every widget's `id` (also inside group widgets).
//! 2. `title` is trimmed.
//! 3. Defaults are removed: `is_read_only = false`, `notify_list` and `template_variables` when
//!    empty or `null`, `description` when empty or `null`.
//! 4. Whole numbers become integers, as for monitors.
//!
//! In both, object keys are sorted so the canonical form always prints the same way.

mod config;
mod dashboard;
pub mod downtime;
mod history;
mod http;
mod monitor;
pub mod normalize;
mod observe;
mod picture;

use serde_json::Value;
use watchkeep_provider::{LiveObject, Provider, RateLimit, Result, UpdateKind};

pub use config::{
    DatadogConfig, Secret, DEFAULT_SITE, DEFAULT_TIMEOUT_SECONDS, ENV_API_KEY, ENV_APPLICATION_KEY,
    ENV_APP_KEY, ENV_HOST, ENV_SITE, KNOWN_ATTRIBUTES, MAX_PAGE_SIZE, SITES,
};
pub use http::USER_AGENT;

/// Resource types this provider manages.
pub const RESOURCE_TYPES: &[&str] = &[monitor::TYPE, dashboard::TYPE, downtime::TYPE];

/// The vendor's name as written in HCL (`provider "datadog" {}`).
pub const NAME: &str = "datadog";

/// This vendor in the engine's registry (`engine/src/vendors.rs`).
pub static FACTORY: DatadogFactory = DatadogFactory;

/// Builds [`DatadogProvider`]s from a `provider "datadog"` block: [`DatadogConfig::from_block`] then
/// [`DatadogProvider::new`]. See [`watchkeep_provider::ProviderFactory`].
#[derive(Debug, Clone, Copy)]
pub struct DatadogFactory;

impl watchkeep_provider::ProviderFactory for DatadogFactory {
    fn name(&self) -> &'static str {
        NAME
    }

    fn resource_types(&self) -> &'static [&'static str] {
        RESOURCE_TYPES
    }

    fn type_prefixes(&self) -> &'static [&'static str] {
        &["datadog"]
    }

    fn resolves_id_refs(&self) -> bool {
        // Monitor ids are assigned by Datadog at create time; a composite monitor's query names
        // other monitors by id, so the engine resolves `<type>.<name>.id` from state or from the
        // create earlier in the same apply.
        true
    }

    fn configure(
        &self,
        block: &serde_json::Map<String, Value>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<std::sync::Arc<dyn Provider>> {
        let config = DatadogConfig::from_block(block, env)?;
        // Keys only to Datadog's own hosts or to endpoints the operator allows (issue 15).
        config.check_endpoint(block, env)?;
        Ok(std::sync::Arc::new(DatadogProvider::new(config)?))
    }
}

/// A configured Datadog provider: keys resolved, one HTTP client built.
pub struct DatadogProvider {
    config: DatadogConfig,
    http: http::Http,
    /// The last scan of the event stream (`alert_history`).
    alert_log: history::AlertLog,
}

impl std::fmt::Debug for DatadogProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatadogProvider")
            .field("config", &self.config)
            .field("api_calls", &self.http.calls())
            .finish_non_exhaustive()
    }
}

enum Kind {
    Monitor,
    Dashboard,
    Downtime,
}

impl DatadogProvider {
    /// Builds the HTTP client (timeout, connection pool, auth headers, `User-Agent`). Makes no
    /// request.
    pub fn new(config: DatadogConfig) -> Result<Self> {
        let http = http::Http::new(&config)?;
        Ok(DatadogProvider { config, http, alert_log: history::AlertLog::default() })
    }

    /// [`DatadogConfig::from_block`] followed by [`DatadogProvider::new`].
    pub fn from_block(
        attrs: &serde_json::Map<String, Value>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self> {
        Self::new(DatadogConfig::from_block(attrs, env)?)
    }

    /// The resolved configuration (keys print as `***`).
    pub fn config(&self) -> &DatadogConfig {
        &self.config
    }

    /// The web app's origin for the configured site (`https://app.datadoghq.com`,
    /// `https://app.datadoghq.eu`, `https://us3.datadoghq.com`, …; Datadog's "Getting Started
    /// with Datadog Sites" table: US1 and EU1 and US1-FED are `app.<site>`, the others
    /// `<site>` itself). With an `api_url` override (a proxy or a stand-in) the default site's.
    fn app_origin(&self) -> String {
        let default_api = format!("https://api.{}", self.config.site);
        let site = if self.config.base_url == default_api { self.config.site.as_str() } else { DEFAULT_SITE };
        match site {
            "datadoghq.com" | "datadoghq.eu" | "ddog-gov.com" => format!("https://app.{site}"),
            other => format!("https://{other}"),
        }
    }

    /// Every event of `start..=end`, unaggregated, page by page (see the `history` module).
    async fn events_in(&self, start: i64, end: i64) -> Result<Vec<Value>> {
        let mut out = Vec::new();
        for page in 0..history::MAX_PAGES {
            let query = [
                ("start", start.to_string()),
                ("end", end.to_string()),
                ("exclude_aggregate", "true".to_string()),
                ("page", page.to_string()),
            ];
            let answer = self.http.json(reqwest::Method::GET, "/api/v1/events", &query, None).await?;
            let events = answer.get("events").and_then(Value::as_array).cloned().unwrap_or_default();
            let full = events.len() >= history::PAGE_SIZE;
            out.extend(events);
            if !full {
                return Ok(out);
            }
        }
        // Answering a log cut short would hide alerts: refuse instead.
        Err(watchkeep_provider::ProviderError::Decode {
            message: format!(
                "GET /api/v1/events returned more than {} full pages of events between {start} and {end}; \
                 ask for a shorter period (`--since`)",
                history::MAX_PAGES
            ),
        })
    }

    fn kind(resource_type: &str) -> Result<Kind> {
        match resource_type {
            monitor::TYPE => Ok(Kind::Monitor),
            dashboard::TYPE => Ok(Kind::Dashboard),
            downtime::TYPE => Ok(Kind::Downtime),
            other => Err(watchkeep_provider::unknown_resource_type("datadog", other, RESOURCE_TYPES)),
        }
    }
}

#[async_trait::async_trait]
impl Provider for DatadogProvider {
    fn name(&self) -> &'static str {
        NAME
    }

    fn resource_types(&self) -> &'static [&'static str] {
        RESOURCE_TYPES
    }

    async fn list(&self, resource_type: &str, owned_only: bool) -> Result<Vec<LiveObject>> {
        match Self::kind(resource_type)? {
            Kind::Monitor => monitor::list(&self.http, self.config.page_size, owned_only).await,
            Kind::Dashboard => dashboard::list(&self.http, self.config.page_size, owned_only).await,
            Kind::Downtime => downtime::list(&self.http, self.config.page_size, owned_only).await,
        }
    }

    async fn read(&self, resource_type: &str, id: &str) -> Result<Option<LiveObject>> {
        match Self::kind(resource_type)? {
            Kind::Monitor => monitor::read(&self.http, id).await,
            Kind::Dashboard => dashboard::read(&self.http, id).await,
            Kind::Downtime => downtime::read(&self.http, id).await,
        }
    }

    async fn find_by_marker(&self, resource_type: &str, address: &str) -> Result<Vec<LiveObject>> {
        match Self::kind(resource_type)? {
            Kind::Monitor => monitor::find_by_marker(&self.http, address).await,
            Kind::Dashboard => {
                let marker = watchkeep_provider::address_marker(address);
                Ok(dashboard::list(&self.http, self.config.page_size, true)
                    .await?
                    .into_iter()
                    .filter(|o| o.marker.as_deref() == Some(marker.as_str()))
                    .collect())
            }
            Kind::Downtime => downtime::find_by_marker(&self.http, self.config.page_size, address).await,
        }
    }

    fn normalize(&self, resource_type: &str, attrs: &Value) -> Value {
        match resource_type {
            monitor::TYPE => normalize::monitor(attrs),
            dashboard::TYPE => normalize::dashboard(attrs),
            downtime::TYPE => downtime::normalize(attrs),
            _ => attrs.clone(),
        }
    }

    fn writable(&self, resource_type: &str) -> Option<&watchkeep_provider::managed::Writable> {
        normalize::writable(resource_type)
    }

    fn mark(&self, resource_type: &str, attrs: &mut Value, address: &str) {
        match resource_type {
            monitor::TYPE => monitor::mark(attrs, address),
            dashboard::TYPE => dashboard::mark(attrs, address),
            downtime::TYPE => downtime::mark(attrs, address),
            _ => {}
        }
    }

    fn unmark(&self, resource_type: &str, attrs: &mut Value) {
        if resource_type == monitor::TYPE {
            monitor::unmark(attrs);
        }
    }

    fn update_kind(&self, resource_type: &str, attr: &str) -> UpdateKind {
        match (resource_type, attr) {
            (monitor::TYPE, "type") | (dashboard::TYPE, "layout_type") => UpdateKind::Replace,
            _ => UpdateKind::InPlace,
        }
    }

    async fn validate_remote(&self, resource_type: &str, attrs: &Value) -> Result<()> {
        match Self::kind(resource_type)? {
            Kind::Monitor => monitor::validate(&self.http, attrs).await,
            // Datadog has no validate endpoint for dashboards.
            Kind::Dashboard => Ok(()),
            // Nor for downtimes (the v2 downtime API has no validate operation).
            Kind::Downtime => Ok(()),
        }
    }

    async fn create(&self, resource_type: &str, attrs: &Value) -> Result<LiveObject> {
        match Self::kind(resource_type)? {
            Kind::Monitor => monitor::create(&self.http, attrs).await,
            Kind::Dashboard => dashboard::create(&self.http, attrs).await,
            Kind::Downtime => downtime::create(&self.http, attrs).await,
        }
    }

    async fn update(&self, resource_type: &str, id: &str, attrs: &Value) -> Result<LiveObject> {
        match Self::kind(resource_type)? {
            Kind::Monitor => monitor::update(&self.http, id, attrs).await,
            Kind::Dashboard => dashboard::update(&self.http, id, attrs).await,
            Kind::Downtime => downtime::update(&self.http, id, attrs).await,
        }
    }

    async fn delete(&self, resource_type: &str, id: &str) -> Result<()> {
        match Self::kind(resource_type)? {
            Kind::Monitor => monitor::delete(&self.http, id).await,
            Kind::Dashboard => dashboard::delete(&self.http, id).await,
            Kind::Downtime => downtime::delete(&self.http, id).await,
        }
    }

    async fn observe(
        &self,
        components: &[watchkeep_provider::ComponentProbe],
        alerts: &[(String, String)],
        window: std::time::Duration,
    ) -> Result<Option<watchkeep_provider::Observation>> {
        observe::observe(&self.http, components, alerts, window).await.map(Some)
    }

    async fn alert_history(
        &self,
        resource_type: &str,
        id: &str,
        since: Option<std::time::SystemTime>,
    ) -> Result<Option<Vec<watchkeep_provider::AlertEvent>>> {
        match Self::kind(resource_type)? {
            Kind::Monitor => {}
            // Dashboards and downtimes do not alert.
            Kind::Dashboard | Kind::Downtime => return Ok(None),
        }
        let now = std::time::SystemTime::now();
        self.alert_log.history(id, since, now, |start, end| self.events_in(start, end)).await.map(Some)
    }

    async fn dashboard_picture(
        &self,
        resource_type: &str,
        _id: &str,
        attrs: &Value,
        from: i64,
        to: i64,
    ) -> Result<Option<watchkeep_provider::Picture>> {
        match Self::kind(resource_type)? {
            Kind::Dashboard => picture::picture(&self.http, attrs, from, to).await,
            Kind::Monitor | Kind::Downtime => Ok(None),
        }
    }

    /// `<app>/monitors/<id>`, `<app>/dashboard/<id>` (the paths of the URLs Datadog's own API
    /// answers: a dashboard's `url` field is `/dashboard/<id>/<slug>`, monitor notifications
    /// link `/monitors/<id>`) and, for downtimes, `<app>/monitors/downtimes?id=<id>` (guess:
    /// the downtimes page is `/monitors/downtimes`; that it selects one by `id` is not
    /// documented).
    fn web_link(&self, resource_type: &str, id: &str) -> Option<String> {
        let id = http::segment(id)?;
        let origin = self.app_origin();
        match Self::kind(resource_type).ok()? {
            Kind::Monitor => Some(format!("{origin}/monitors/{id}")),
            Kind::Dashboard => Some(format!("{origin}/dashboard/{id}")),
            Kind::Downtime => Some(format!("{origin}/monitors/downtimes?id={id}")),
        }
    }

    fn api_calls(&self) -> u64 {
        self.http.calls()
    }

    fn endpoint(&self) -> Option<String> {
        Some(self.config.base_url.clone())
    }

    fn last_rate_limit(&self) -> Option<RateLimit> {
        self.http.last_rate_limit()
    }

    fn rate_budget(&self) -> Option<watchkeep_provider::BudgetStats> {
        Some(self.http.budget_stats())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use watchkeep_provider::ProviderError;

    const API: &str = "5ecret-api-key-0123456789";
    const APP: &str = "5ecret-app-key-9876543210";

    fn provider() -> DatadogProvider {
        let env = |k: &str| match k {
            "DD_API_KEY" => Some(API.to_string()),
            "DD_APP_KEY" => Some(APP.to_string()),
            _ => None,
        };
        DatadogProvider::from_block(&serde_json::Map::new(), &env).unwrap()
    }

    #[test]
    fn factory_builds_the_provider_and_passes_its_errors_on() {
        use watchkeep_provider::ProviderFactory;
        let env = |k: &str| match k {
            "DD_API_KEY" => Some(API.to_string()),
            "DD_APP_KEY" => Some(APP.to_string()),
            _ => None,
        };
        let p = FACTORY.configure(&serde_json::Map::new(), &env).unwrap();
        assert_eq!((p.name(), p.resource_types()), (FACTORY.name(), FACTORY.resource_types()));
        let bad: serde_json::Map<String, Value> =
            serde_json::from_str(r#"{"sitee": "datadoghq.eu"}"#).unwrap();
        let via_factory = FACTORY.configure(&bad, &env).err().map(|e| e.to_string());
        let direct = DatadogProvider::from_block(&bad, &env).err().map(|e| e.to_string());
        assert!(via_factory.as_deref().is_some_and(|e| e.contains("sitee")), "{via_factory:?}");
        assert_eq!(via_factory, direct);
        assert!(FACTORY.resolves_id_refs());
    }

    #[test]
    fn debug_output_never_shows_keys() {
        let p = provider();
        let out = format!("{p:?} {p:#?}");
        assert!(!out.contains(API) && !out.contains(APP), "{out}");
        assert!(out.contains("***"));
    }

    #[test]
    fn update_kinds() {
        let p = provider();
        assert_eq!(p.update_kind("datadog_monitor", "type"), UpdateKind::Replace);
        assert_eq!(p.update_kind("datadog_monitor", "query"), UpdateKind::InPlace);
        assert_eq!(p.update_kind("datadog_monitor", "layout_type"), UpdateKind::InPlace);
        assert_eq!(p.update_kind("datadog_dashboard", "layout_type"), UpdateKind::Replace);
        assert_eq!(p.update_kind("datadog_dashboard", "title"), UpdateKind::InPlace);
        assert_eq!(p.name(), "datadog");
        assert_eq!(p.resource_types(), ["datadog_monitor", "datadog_dashboard", "datadog_downtime"]);
    }

    #[test]
    fn web_links_on_the_configured_site() {
        let env = |k: &str| match k {
            "DD_API_KEY" => Some(API.to_string()),
            "DD_APP_KEY" => Some(APP.to_string()),
            _ => None,
        };
        let on = |attrs: Value| DatadogProvider::from_block(attrs.as_object().unwrap(), &env).unwrap();
        let us = provider();
        assert_eq!(
            us.web_link("datadog_monitor", "123").as_deref(),
            Some("https://app.datadoghq.com/monitors/123")
        );
        let eu = on(serde_json::json!({"site": "datadoghq.eu"}));
        assert_eq!(
            eu.web_link("datadog_dashboard", "abc-def-ghi").as_deref(),
            Some("https://app.datadoghq.eu/dashboard/abc-def-ghi")
        );
        let us5 = on(serde_json::json!({"site": "us5.datadoghq.com"}));
        assert_eq!(
            us5.web_link("datadog_monitor", "9").as_deref(),
            Some("https://us5.datadoghq.com/monitors/9")
        );
        let stand_in = on(serde_json::json!({"site": "datadoghq.eu", "api_url": "http://127.0.0.1:8126"}));
        assert_eq!(
            stand_in.web_link("datadog_monitor", "9").as_deref(),
            Some("https://app.datadoghq.com/monitors/9")
        );
        assert_eq!(
            us.web_link("datadog_downtime", "00e0-1").as_deref(),
            Some("https://app.datadoghq.com/monitors/downtimes?id=00e0-1")
        );
        assert_eq!(
            us.web_link("datadog_monitor", "../x").as_deref(),
            Some("https://app.datadoghq.com/monitors/..%2Fx")
        );
        assert_eq!(us.web_link("datadog_slo", "1"), None);
        assert_eq!(us.web_link("datadog_monitor", ".."), None);
    }

    #[tokio::test]
    async fn unknown_resource_type_is_an_error() {
        let p = provider();
        let err = p.list("datadog_slo", false).await.unwrap_err();
        assert!(err.to_string().contains("datadog_monitor"), "{err}");
        assert_eq!(p.api_calls(), 0);
    }

    #[tokio::test]
    async fn unreachable_host_is_transient_and_counted() {
        let env = |k: &str| match k {
            "DD_API_KEY" => Some(API.to_string()),
            "DD_APP_KEY" => Some(APP.to_string()),
            _ => None,
        };
        // Port 9 (discard) on loopback: nothing listens there in a test sandbox.
        let attrs = serde_json::json!({ "api_url": "http://127.0.0.1:9", "timeout_seconds": 2 });
        let p = DatadogProvider::from_block(attrs.as_object().unwrap(), &env).unwrap();
        let err = p.read("datadog_monitor", "1").await.unwrap_err();
        assert!(matches!(err, ProviderError::Transient { .. }), "{err:?}");
        let text = format!("{err} {err:?}");
        assert!(!text.contains(API) && !text.contains(APP), "{text}");
        assert_eq!(p.api_calls(), 1);
    }
}
