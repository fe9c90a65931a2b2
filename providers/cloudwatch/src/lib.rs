//! # The CloudWatch + SNS provider
//!
//! Manages AWS CloudWatch **metric alarms** (`cloudwatch_metric_alarm`), **composite alarms**
//! (`cloudwatch_composite_alarm`) and **dashboards** (`cloudwatch_dashboard`), and the SNS
//! **topics** (`sns_topic`) and **subscriptions** (`sns_subscription`) alarms notify, implementing
//! [`watchkeep_provider::Provider`] with the AWS SDK for Rust.
//!
//! ## Configuration
//!
//! ```hcl
//! provider "cloudwatch" {
//!   region          = "eu-west-1"              # else $AWS_REGION, else $AWS_DEFAULT_REGION
//!   # endpoint_url  = "http://127.0.0.1:5000"  # one URL for CloudWatch and SNS (moto, LocalStack)
//!   # profile       = "ops"                    # a profile from ~/.aws/config
//!   timeout_seconds = 30                       # per operation
//!   # quotas        = { PutMetricAlarm = 10 }  # adjustable API quotas raised for this account
//! }
//! ```
//!
//! * `region` is required (here or in the environment).
//! * `endpoint_url` is `http(s)://host[:port]`. Without it the SDK's own handling applies
//!   (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_CLOUDWATCH`, `AWS_ENDPOINT_URL_SNS`, else AWS).
//! * Credentials are never read from HCL. `profile` (or `$AWS_PROFILE`) selects a profile; else
//!   `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` (/ `AWS_SESSION_TOKEN`); else AWS's standard
//!   chain (SSO, web identity, container and instance metadata). They never appear in errors or
//!   debug output (they print as `***`). Missing or rejected credentials are `Auth` errors whose
//!   hint names those variables.
//! * `quotas` overrides AWS's published per-operation quotas (requests per second) where AWS
//!   lets an account raise them (see [`quota::QUOTAS`]); unknown operation names, quotas AWS
//!   does not adjust (e.g. ListTagsForResource) and values <= 0 are refused.
//! * Any other attribute is an error that lists the known ones.
//!
//! ## What it does on the wire
//!
//! * `aws-sdk-cloudwatch` is pinned to 1.99.0, the last release speaking the awsQuery protocol
//!   (later ones speak Smithy RPC v2 CBOR, which moto does not serve); SNS speaks awsQuery too.
//!   The SDK clients are built on first use (`new` makes no request); the SDK's own retries are
//!   off and `timeout_seconds` bounds each operation.
//! * Refresh lists with DescribeAlarms (one alarm type per call, 100 per page), ListDashboards
//!   then GetDashboard per dashboard (8 at a time), ListTopics then GetTopicAttributes and
//!   ListTagsForResource per topic, and ListSubscriptionsByTopic then GetSubscriptionAttributes per
//!   subscription; every `NextToken` is followed. `owned_only` filters on the client (AWS cannot
//!   filter on tags or descriptions server-side).
//! * Subscriptions waiting for confirmation are listed by SNS as `PendingConfirmation`, not by
//!   ARN, so `list` skips them; `read` (GetSubscriptionAttributes) works for them, so refresh
//!   still finds them by id.
//! * Create and update use PutMetricAlarm, PutCompositeAlarm, PutDashboard, CreateTopic (+
//!   SetTopicAttributes, TagResource, UntagResource) and Subscribe (+ SetSubscriptionAttributes);
//!   each then reads the object back. Delete uses DeleteAlarms, DeleteDashboards, DeleteTopic and
//!   Unsubscribe; deleting something already gone succeeds.
//! * Pacing: AWS sends no rate headers but publishes fixed quotas per account and region
//!   (PutMetricAlarm 3/s, DescribeAlarms 9/s, ...; [`quota`]). Every CloudWatch request first
//!   takes a slot from its operation's family in one `RateBudget` per provider handle, spaced to
//!   95 % of the quota and shared by all concurrent operations, so an apply runs at the quota
//!   instead of into throttling. A throttling answer blocks the family for a second.
//!   `rate_budget()` reports the paced rates, time waited and throttling answers.
//! * `coverage --live` (`observe`, module `observe`): ListMetrics (`RecentlyActive = PT3H`) per
//!   probe metric (EC2/RDS/ECS `CPUUtilization`, ALB `RequestCount`) for candidates, one
//!   GetMetricData per 500 series (components and candidates) for datapoints within the window,
//!   DescribeAlarms by name (100 a call) for managed alarms in `INSUFFICIENT_DATA`.
//! * The provider never retries; it reports what AWS said and the engine decides: dispatch
//!   failures, timeouts and HTTP 5xx → `Transient`; `Throttling`, `ThrottlingException`,
//!   `RequestLimitExceeded`, `TooManyRequestsException` or HTTP 429 → `RateLimited`;
//!   `InvalidClientTokenId`, `UnrecognizedClientException`, `AccessDenied*`, `AuthorizationError`,
//!   `ExpiredToken`, `SignatureDoesNotMatch` and missing credentials → `Auth`; `ResourceNotFound` /
//!   `NotFound` → `NotFound` (a read returns `Ok(None)`); an unreadable answer → `Decode`; any
//!   other error → `Api { status, body: "<Code>: <Message>" }`. URLs in SNS messages and
//!   subscription endpoints are redacted (endpoints carry webhook tokens). `api_calls()` counts
//!   HTTP requests.
//!
//! ## Attributes
//!
//! Attributes are named exactly as the AWS API names them (PascalCase), as JSON: alarms as
//! PutMetricAlarm / PutCompositeAlarm take them, dashboards as `DashboardName` and
//! `DashboardBody` (a JSON object here; a string on the wire), topics as `Name`, `DisplayName` and
//! `Tags`, subscriptions as `TopicArn`, `Protocol`, `Endpoint`, `RawMessageDelivery` and
//! `FilterPolicy` (a JSON object). An attribute the API does not take, or a value of the wrong
//! type, is an error naming it — never silently dropped. `validate_remote` checks
//! PutMetricAlarm's rules locally, without a request: exactly one of `Statistic` /
//! `ExtendedStatistic` / `Metrics`; `Period` 10, 20, 30 or a multiple of 60, and
//! `Period × EvaluationPeriods` at most one day for periods under an hour, seven days otherwise;
//! `DatapointsToAlarm ≤ EvaluationPeriods`; the comparison operators and `TreatMissingData`
//! values AWS knows; one returning query in metric math; at most 5 actions per list.
//!
//! **Topic references.** Alarm actions and a subscription's `TopicArn` are ARNs here. The engine
//! links a topic of the configuration to what names it (compiled routes, and `sns:<TopicName>`
//! in raw resources, which names a declared `sns_topic`) and puts that topic's ARN there, from
//! state or from its create earlier in the same apply
//! (the engine resolves every link, for every vendor); the provider keeps no
//! name → ARN cache and lists no topics to resolve names.
//!
//! ## Ownership marker
//!
//! * Alarms (both kinds) get the tags `managed-by=watchkeep` and `watchkeep-address=<marker>` and
//!   a last description line `managed-by:watchkeep watchkeep-address:<marker>` (an existing such
//!   line is replaced; the user's text is cut with `…` to keep within 1024 characters).
//!   DescribeAlarms returns no tags, so refresh reads ownership from that line, without a request
//!   per alarm. Tags are written on create only: PutMetricAlarm ignores `Tags` when it updates an
//!   alarm, so they are left out of the compared form.
//! * Dashboards have no tags: their body ends with a full-width text widget
//!   `{"type":"text","x":0,"y":<below everything>,"width":24,"height":1,"properties":{"markdown":"managed-by:watchkeep watchkeep-address:<marker>"}}`.
//!   Metric widgets that name no `properties.region` get the provider's region (AWS requires one).
//! * Topics get the two tags; refresh reads them with ListTagsForResource per topic.
//! * Subscriptions have no tags: one is owned when its topic is, and carries no marker.
//!
//! **Name collisions.** PutMetricAlarm, PutCompositeAlarm and PutDashboard overwrite an object of
//! the same name, and CreateTopic returns an existing topic of the same name. So `create` first
//! looks for one (DescribeAlarms by name for both alarm kinds, GetDashboard, ListTopics). If it
//! carries this address's marker (alarms and topics: the tags; dashboards: the widget) it is
//! watchkeep's own from an apply that crashed after writing, and create adopts and updates it;
//! otherwise create fails with `Conflict` and writes nothing. `update` writes without this check
//! (the id is already ours). Because create is idempotent this way — and Subscribe is idempotent
//! in SNS (the same topic, protocol and endpoint give the same subscription) — `find_by_marker`
//! returns nothing for every type: retrying the create is always safe and finds the object itself.
//!
//! The plan can check names before anything is written: `natural_id` is the `AlarmName` /
//! `DashboardName` (topic and subscription ids are ARNs, unknown until created).
//!
//! ## Alert log
//!
//! `alert_history` (and [`CloudWatchProvider::alarm_history`]) read DescribeAlarmHistory for
//! both alarm kinds, following `NextToken`; the state changes are the `StateUpdate` items, their
//! states taken from `HistoryData` (`oldState` / `newState`) or else the summary.
//!
//! ## Evidence: dashboard pictures and console links
//!
//! `dashboard_picture` on a `cloudwatch_dashboard` calls GetMetricWidgetImage once per metric
//! widget of the body in state, over the period asked for, and lays the images out as the
//! dashboard does (its 24-column grid, 50 px a column and 60 px a row, rows without a metric
//! widget left out, at most 7800 px tall) in one PNG. Where the endpoint has no
//! GetMetricWidgetImage (moto: a bare HTTP 500; LocalStack: 501 `InternalFailure`; codes
//! `NotImplemented`, `UnknownOperation`, `InvalidAction`) it returns the widgets' metrics as
//! `Picture::Series` read with GetMetricData (at most 1440 points a line), its source saying
//! why; auth and other errors are returned. `web_link` builds the console URL of alarms,
//! dashboards, topics and subscriptions in the provider's region. Details and sources in
//! [`picture`].
//!
//! ## Route tests
//!
//! `test_delivery` (`watchkeep routes test`) on an `sns_topic`: subscriptions still pending
//! confirmation are reported as not delivering, then one test message (subject
//! `[watchkeep route test] …`, message attribute `watchkeep_test=true`, shaped like a CloudWatch
//! alarm notification in `ALARM`) and its resolve (`OK`) are published; endpoints are redacted.
//! Subscriptions, alarms and dashboards answer `Ok(None)` (the topic's test covers its
//! subscriptions). Details and sources in [`route_test`].
//!
//! ## Changes that replace
//!
//! Changing `AlarmName`, `DashboardName`, a topic's `Name`, or a subscription's `TopicArn`,
//! `Protocol` or `Endpoint` deletes and re-creates the object; everything else is changed in
//! place (a subscription's `RawMessageDelivery` and `FilterPolicy` with
//! SetSubscriptionAttributes).
//!
//! ## Normalisation (why a plan after an apply is empty)
//!
//! Both the desired attributes and what AWS returns are put into one canonical form before they
//! are compared. The same rules apply to both sides, and applying them twice changes nothing.
//! Everywhere: whole numbers become integers (`Threshold = 85.0` → `85`) and object keys are
//! sorted.
//!
//! **Alarms** (both kinds)
//! 1. Read-only fields are removed: `AlarmArn`, `AlarmConfigurationUpdatedTimestamp`,
//!    `StateValue`, `StateReason`, `StateReasonData`, `StateUpdatedTimestamp`,
//!    `StateTransitionedTimestamp`, `EvaluationState`, `ActionsSuppressedBy`,
//!    `ActionsSuppressedReason`; and `Tags` (see above).
//! 2. `null` and `""` values are removed (unset).
//! 3. `ActionsEnabled = true` (the default) is removed.
//! 4. `AlarmActions`, `OKActions` and `InsufficientDataActions` (ARNs, kept as they are) are
//!    sorted and de-duplicated; an empty list is removed.
//!
//! **Metric alarms**, in addition
//! 5. `Dimensions` are sorted by `Name` (then `Value`) and an empty list is removed — also inside
//!    `Metrics[].MetricStat.Metric`.
//! 6. In `Metrics`, `ReturnData = true` (AWS's default) is removed, as are `null` and `""`
//!    values; an empty `Metrics` is removed.
//! 7. An unset `TreatMissingData` becomes `"missing"` (AWS treats it so and returns nothing).
//! 8. An unset `DatapointsToAlarm` becomes `EvaluationPeriods` (AWS's meaning of unset).
//!
//! **Composite alarms**, in addition
//! 5. Without `ActionsSuppressor`, `ActionsSuppressorWaitPeriod` and
//!    `ActionsSuppressorExtensionPeriod` are removed (they mean nothing then).
//!
//! **Dashboards**
//! 1. `DashboardArn`, `LastModified`, `Size` are removed.
//! 2. `DashboardBody` given as a string (as GetDashboard returns it) is parsed into an object.
//!
//! **Topics**
//! 1. Only `Name`, `DisplayName` and `Tags` are kept; `TopicArn` (the id) is removed; an empty
//!    `DisplayName` is removed.
//! 2. The two ownership tags are removed from `Tags` (ownership is compared through
//!    `LiveObject::owned`/`marker`); the rest are sorted by `Key`; an empty list is removed.
//!
//! **Subscriptions**
//! 1. `TopicArn` stays the ARN; `Protocol` is lowercased.
//! 2. `RawMessageDelivery` becomes a boolean (SNS returns `"true"`/`"false"`); `false`, the
//!    default, is removed.
//! 3. `FilterPolicy` given as a string (as SNS returns it) is parsed; an empty one is removed.

mod alarm;
mod client;
mod config;
mod dashboard;
mod history;
mod marker;
pub mod normalize;
mod observe;
mod picture;
pub mod quota;
pub mod route_test;
mod subscription;
mod topic;
mod wire;

use serde_json::Value;
use watchkeep_provider::{AlertEvent, Delivery, LiveObject, Provider, Result, UpdateKind};

pub use alarm::{
    COMPARISON_OPERATORS, COMPOSITE_ATTRIBUTES, METRIC_ATTRIBUTES, STATISTICS, TREAT_MISSING_DATA,
};
pub use config::{
    CloudWatchConfig, Credentials, Secret, DEFAULT_TIMEOUT_SECONDS, ENV_ACCESS_KEY_ID, ENV_PROFILE,
    ENV_REGION, ENV_SECRET_ACCESS_KEY, ENV_SESSION_TOKEN, KNOWN_ATTRIBUTES,
};
pub use history::AlarmHistoryItem;
pub use subscription::PROTOCOLS;

use alarm::AlarmKind;

/// Resource types this provider manages.
pub const RESOURCE_TYPES: &[&str] =
    &[alarm::METRIC_TYPE, alarm::COMPOSITE_TYPE, dashboard::TYPE, topic::TYPE, subscription::TYPE];

/// The vendor's name as written in HCL (`provider "cloudwatch" {}`).
pub const NAME: &str = "cloudwatch";

/// This vendor in the engine's registry (`engine/src/vendors.rs`).
pub static FACTORY: CloudWatchFactory = CloudWatchFactory;

/// Builds [`CloudWatchProvider`]s from a `provider "cloudwatch"` block: [`CloudWatchConfig::from_block`] then
/// [`CloudWatchProvider::new`]. See [`watchkeep_provider::ProviderFactory`].
#[derive(Debug, Clone, Copy)]
pub struct CloudWatchFactory;

impl watchkeep_provider::ProviderFactory for CloudWatchFactory {
    fn name(&self) -> &'static str {
        NAME
    }

    fn resource_types(&self) -> &'static [&'static str] {
        RESOURCE_TYPES
    }

    fn type_prefixes(&self) -> &'static [&'static str] {
        // SNS topics and subscriptions are managed with the alarms that notify them.
        &["cloudwatch", "sns"]
    }

    fn suggest_prefixes(&self) -> &'static [&'static str] {
        // `aws_cloudwatch_metric_alarm` and friends are Terraform's names for these objects.
        &["aws"]
    }

    fn resolves_id_refs(&self) -> bool {
        // Alarms, dashboards and topics are named by the configuration; references use names.
        false
    }

    fn configure(
        &self,
        block: &serde_json::Map<String, Value>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<std::sync::Arc<dyn Provider>> {
        let config = CloudWatchConfig::from_block(block, env)?;
        // Credentials only to AWS's own hosts or to endpoints the operator allows (issue 15).
        config.check_endpoint(env)?;
        Ok(std::sync::Arc::new(CloudWatchProvider::new(config)?))
    }
}

/// A configured CloudWatch + SNS provider. The SDK clients are built on first use.
pub struct CloudWatchProvider {
    aws: client::Aws,
}

impl std::fmt::Debug for CloudWatchProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloudWatchProvider")
            .field("config", self.aws.config())
            .field("api_calls", &self.aws.calls())
            .finish_non_exhaustive()
    }
}

enum Kind {
    Alarm(AlarmKind),
    Dashboard,
    Topic,
    Subscription,
}

impl CloudWatchProvider {
    /// Keeps the configuration; makes no request and loads nothing (the AWS configuration and
    /// credentials are loaded on the first call).
    pub fn new(config: CloudWatchConfig) -> Result<Self> {
        Ok(CloudWatchProvider { aws: client::Aws::new(config) })
    }

    /// [`CloudWatchConfig::from_block`] followed by [`CloudWatchProvider::new`].
    pub fn from_block(
        attrs: &serde_json::Map<String, Value>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self> {
        Self::new(CloudWatchConfig::from_block(attrs, env)?)
    }

    /// The resolved configuration (credentials print as `***`).
    pub fn config(&self) -> &CloudWatchConfig {
        self.aws.config()
    }

    pub(crate) fn region(&self) -> &str {
        self.aws.config().region()
    }

    /// The alert log: DescribeAlarmHistory for one alarm since `start` (everything AWS keeps when
    /// `None`), newest first, following `NextToken`.
    pub async fn alarm_history(
        &self,
        alarm_name: &str,
        start: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<Vec<AlarmHistoryItem>> {
        history::alarm_history(self, alarm_name, start).await
    }

    /// A PNG picture of one metric widget (GetMetricWidgetImage; `widget` is the JSON metric
    /// widget structure, e.g. `{"metrics": [["AWS/EC2", "CPUUtilization"]], "start": "-PT3H"}`).
    pub async fn metric_widget_image(&self, widget: &Value) -> Result<Vec<u8>> {
        history::metric_widget_image(self, widget).await
    }

    /// Publishes one data point, timestamped now (PutMetricData).
    pub async fn put_metric_data(
        &self,
        namespace: &str,
        metric_name: &str,
        dimensions: &[(String, String)],
        value: f64,
    ) -> Result<()> {
        history::put_metric_data(self, namespace, metric_name, dimensions, value).await
    }

    fn kind(resource_type: &str) -> Result<Kind> {
        match resource_type {
            alarm::METRIC_TYPE => Ok(Kind::Alarm(AlarmKind::Metric)),
            alarm::COMPOSITE_TYPE => Ok(Kind::Alarm(AlarmKind::Composite)),
            dashboard::TYPE => Ok(Kind::Dashboard),
            topic::TYPE => Ok(Kind::Topic),
            subscription::TYPE => Ok(Kind::Subscription),
            other => Err(watchkeep_provider::unknown_resource_type("cloudwatch", other, RESOURCE_TYPES)),
        }
    }

    pub(crate) fn normalize_attrs(&self, resource_type: &str, attrs: &Value) -> Value {
        match resource_type {
            alarm::METRIC_TYPE => normalize::metric_alarm(attrs),
            alarm::COMPOSITE_TYPE => normalize::composite_alarm(attrs),
            dashboard::TYPE => normalize::dashboard(attrs),
            topic::TYPE => normalize::topic(attrs),
            subscription::TYPE => normalize::subscription(attrs),
            _ => attrs.clone(),
        }
    }
}

#[async_trait::async_trait]
impl Provider for CloudWatchProvider {
    fn name(&self) -> &'static str {
        NAME
    }

    fn resource_types(&self) -> &'static [&'static str] {
        RESOURCE_TYPES
    }

    fn writable(&self, resource_type: &str) -> Option<&watchkeep_provider::managed::Writable> {
        normalize::writable(resource_type)
    }

    async fn list(&self, resource_type: &str, owned_only: bool) -> Result<Vec<LiveObject>> {
        match Self::kind(resource_type)? {
            Kind::Alarm(k) => alarm::list(self, k, owned_only).await,
            Kind::Dashboard => dashboard::list(self, owned_only).await,
            Kind::Topic => topic::list(self, owned_only).await,
            Kind::Subscription => subscription::list(self, owned_only).await,
        }
    }

    async fn read(&self, resource_type: &str, id: &str) -> Result<Option<LiveObject>> {
        match Self::kind(resource_type)? {
            Kind::Alarm(k) => alarm::read(self, k, id).await,
            Kind::Dashboard => dashboard::read(self, id).await,
            Kind::Topic => topic::read(self, id).await,
            Kind::Subscription => subscription::read(self, id).await,
        }
    }

    /// Always empty: `create` is idempotent for every type here. Alarms, dashboards and topics
    /// are keyed by name and `create` adopts an object of that name that carries this address's
    /// marker (what a create whose answer was lost leaves behind); Subscribe returns the existing
    /// subscription for the same topic, protocol and endpoint (and subscriptions carry no marker
    /// to search for). So retrying the create is the cheapest correct recovery.
    async fn find_by_marker(&self, resource_type: &str, _address: &str) -> Result<Vec<LiveObject>> {
        Self::kind(resource_type)?;
        Ok(Vec::new())
    }

    fn normalize(&self, resource_type: &str, attrs: &Value) -> Value {
        self.normalize_attrs(resource_type, attrs)
    }

    fn mark(&self, resource_type: &str, attrs: &mut Value, address: &str) {
        match resource_type {
            alarm::METRIC_TYPE | alarm::COMPOSITE_TYPE => alarm::mark(attrs, address),
            dashboard::TYPE => dashboard::mark_in_region(attrs, address, self.region()),
            topic::TYPE => topic::mark(attrs, address),
            // Subscriptions have no tags; their topic's ownership stands for them.
            _ => {}
        }
    }

    fn unmark(&self, resource_type: &str, attrs: &mut Value) {
        let Value::Object(m) = attrs else { return };
        match resource_type {
            alarm::METRIC_TYPE | alarm::COMPOSITE_TYPE => marker::unmark(m, "AlarmDescription"),
            topic::TYPE => marker::unmark(m, ""),
            // Dashboards keep their marker widget (mark replaces it); subscriptions carry none.
            _ => {}
        }
    }

    fn update_kind(&self, resource_type: &str, attr: &str) -> UpdateKind {
        match (resource_type, attr) {
            (alarm::METRIC_TYPE | alarm::COMPOSITE_TYPE, "AlarmName")
            | (dashboard::TYPE, "DashboardName")
            | (topic::TYPE, "Name")
            | (subscription::TYPE, "TopicArn" | "Protocol" | "Endpoint") => UpdateKind::Replace,
            _ => UpdateKind::InPlace,
        }
    }

    /// PutMetricAlarm's (and the other APIs') rules, checked locally: no request is made.
    async fn validate_remote(&self, resource_type: &str, attrs: &Value) -> Result<()> {
        match Self::kind(resource_type)? {
            Kind::Alarm(AlarmKind::Metric) => alarm::MetricAlarmSpec::parse(attrs)?.validate(),
            Kind::Alarm(AlarmKind::Composite) => alarm::CompositeAlarmSpec::parse(attrs)?.validate(),
            Kind::Dashboard => dashboard::DashboardSpec::parse(attrs)?.validate(),
            Kind::Topic => topic::TopicSpec::parse(attrs)?.validate(),
            Kind::Subscription => subscription::SubscriptionSpec::parse(attrs)?.validate(),
        }
    }

    async fn create(&self, resource_type: &str, attrs: &Value) -> Result<LiveObject> {
        match Self::kind(resource_type)? {
            Kind::Alarm(k) => alarm::create(self, k, attrs).await,
            Kind::Dashboard => dashboard::create(self, attrs).await,
            Kind::Topic => topic::create(self, attrs).await,
            Kind::Subscription => subscription::create(self, attrs).await,
        }
    }

    async fn update(&self, resource_type: &str, id: &str, attrs: &Value) -> Result<LiveObject> {
        match Self::kind(resource_type)? {
            Kind::Alarm(k) => alarm::update(self, k, id, attrs).await,
            Kind::Dashboard => dashboard::update(self, id, attrs).await,
            Kind::Topic => topic::update(self, id, attrs).await,
            Kind::Subscription => subscription::update(self, id, attrs).await,
        }
    }

    async fn delete(&self, resource_type: &str, id: &str) -> Result<()> {
        match Self::kind(resource_type)? {
            Kind::Alarm(_) => alarm::delete(self, id).await,
            Kind::Dashboard => dashboard::delete(self, id).await,
            Kind::Topic => topic::delete(self, id).await,
            Kind::Subscription => subscription::delete(self, id).await,
        }
    }

    /// Alarms and dashboards are keyed by the name the configuration chooses, so the plan can
    /// check for a name collision before anything is written. Topic ids are ARNs (the account is
    /// not known in advance) and subscription ids are assigned by SNS.
    fn natural_id(&self, resource_type: &str, attrs: &Value) -> Option<String> {
        let key = match resource_type {
            alarm::METRIC_TYPE | alarm::COMPOSITE_TYPE => "AlarmName",
            dashboard::TYPE => "DashboardName",
            _ => return None,
        };
        attrs.get(key).and_then(Value::as_str).filter(|n| !n.is_empty()).map(str::to_string)
    }

    /// The state changes of an alarm (DescribeAlarmHistory `StateUpdate` items), oldest first.
    async fn alert_history(
        &self,
        resource_type: &str,
        id: &str,
        since: Option<std::time::SystemTime>,
    ) -> Result<Option<Vec<AlertEvent>>> {
        match Self::kind(resource_type)? {
            Kind::Alarm(_) => {
                let since = since.map(chrono::DateTime::<chrono::Utc>::from);
                let items = history::alarm_history(self, id, since).await?;
                Ok(Some(history::state_changes(&items)))
            }
            _ => Ok(None),
        }
    }

    /// `routes test`: an `sns_topic` gets one test Publish and its resolve, after its pending
    /// subscriptions are reported as not delivering (see [`route_test`]). Subscriptions are
    /// covered by their topic's test (`Ok(None)`, so nothing is published twice); alarms and
    /// dashboards deliver nothing themselves.
    async fn test_delivery(
        &self,
        resource_type: &str,
        id: &str,
        attrs: &Value,
    ) -> Result<Option<Vec<Delivery>>> {
        match Self::kind(resource_type)? {
            Kind::Topic => route_test::test_topic(self, id, attrs).await.map(Some),
            _ => Ok(None),
        }
    }

    /// `coverage --live`: recent datapoints per component, recently active resources, alarms in
    /// `INSUFFICIENT_DATA` (see `observe.rs`).
    async fn observe(
        &self,
        components: &[watchkeep_provider::ComponentProbe],
        alerts: &[(String, String)],
        window: std::time::Duration,
    ) -> Result<Option<watchkeep_provider::Observation>> {
        observe::observe(&self.aws, components, alerts, window).await.map(Some)
    }

    /// `evidence`: a `cloudwatch_dashboard` pictured by GetMetricWidgetImage, one call per
    /// metric widget laid out as on the dashboard, or its metrics read with GetMetricData where
    /// the endpoint has no GetMetricWidgetImage (see `picture.rs`).
    async fn dashboard_picture(
        &self,
        resource_type: &str,
        id: &str,
        attrs: &Value,
        from: i64,
        to: i64,
    ) -> Result<Option<watchkeep_provider::Picture>> {
        match Self::kind(resource_type)? {
            Kind::Dashboard => picture::dashboard_picture(self, id, attrs, from, to).await,
            _ => Ok(None),
        }
    }

    /// The AWS console page of an alarm, dashboard, topic or subscription (see `picture.rs`).
    fn web_link(&self, resource_type: &str, id: &str) -> Option<String> {
        picture::web_link(self.region(), resource_type, id)
    }

    fn api_calls(&self) -> u64 {
        self.aws.calls()
    }

    fn endpoint(&self) -> Option<String> {
        // Without `endpoint_url`, the SDK's regional endpoint (AWS's endpoint rules; guessed
        // form for the commercial partition: https://docs.aws.amazon.com/general/latest/gr/cw_region.html).
        Some(
            self.config()
                .endpoint_url()
                .map(str::to_string)
                .unwrap_or_else(|| format!("https://monitoring.{}.amazonaws.com", self.config().region())),
        )
    }

    fn rate_budget(&self) -> Option<watchkeep_provider::BudgetStats> {
        Some(self.aws.budget_stats())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use watchkeep_provider::ProviderError;

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

    fn provider(extra: Value) -> CloudWatchProvider {
        let env = |k: &str| match k {
            "AWS_ACCESS_KEY_ID" => Some("AKIDEXAMPLE".to_string()),
            "AWS_SECRET_ACCESS_KEY" => Some(SECRET.to_string()),
            _ => None,
        };
        let mut attrs = json!({ "region": "us-east-1" });
        for (k, v) in extra.as_object().unwrap() {
            attrs[k] = v.clone();
        }
        CloudWatchProvider::from_block(attrs.as_object().unwrap(), &env).unwrap()
    }

    /// Issue 15: requests signed with the AWS credentials go only to AWS's hosts or to
    /// endpoints the operator allows outside the configuration.
    #[test]
    fn the_factory_sends_credentials_only_to_aws_or_allowed_endpoints() {
        use watchkeep_provider::ProviderFactory;
        let configure = |endpoint: &str, allow: Option<&'static str>| {
            let attrs = json!({ "region": "us-east-1", "endpoint_url": endpoint });
            let env = move |k: &str| match k {
                "AWS_ACCESS_KEY_ID" => Some("AKIDEXAMPLE".to_string()),
                "AWS_SECRET_ACCESS_KEY" => Some("secret-example".to_string()),
                watchkeep_provider::endpoint::ENV_ALLOW_ENDPOINTS => allow.map(str::to_string),
                _ => None,
            };
            FACTORY.configure(attrs.as_object().unwrap(), &env).err().map(|e| e.to_string())
        };
        assert_eq!(configure("https://monitoring.eu-west-1.amazonaws.com", None), None);
        let e = configure("http://127.0.0.1:5000", None).expect("refused");
        assert!(
            e.contains("the `endpoint_url` attribute points at `http://127.0.0.1:5000`")
                && e.contains("WATCHKEEP_ALLOW_ENDPOINTS=http://127.0.0.1:5000"),
            "{e}"
        );
        assert_eq!(configure("http://127.0.0.1:5000", Some("http://127.0.0.1")), None);
        let e = configure("https://monitoring.amazonaws.com.evil.io", None).expect("refused");
        assert!(e.contains("not one of AWS's own endpoints"), "{e}");
        let e = configure("http://10.1.2.3:4566", Some("http://10.1.2.3")).expect("refused");
        assert!(e.contains("plain http"), "{e}");
    }

    #[test]
    fn owner_tag_splits_into_key_and_value() {
        assert_eq!(format!("{}:{}", marker::OWNER_KEY, marker::OWNER_VALUE), watchkeep_provider::OWNER_TAG);
    }

    #[test]
    fn debug_output_never_shows_credentials() {
        let p = provider(json!({}));
        let out = format!("{p:?} {p:#?}");
        assert!(!out.contains(SECRET) && !out.contains("AKIDEXAMPLE"), "{out}");
        assert!(out.contains("***"), "{out}");
    }

    #[test]
    fn factory_builds_the_provider_and_passes_its_errors_on() {
        use watchkeep_provider::ProviderFactory;
        let env = |k: &str| match k {
            "AWS_ACCESS_KEY_ID" => Some("AKIDEXAMPLE".to_string()),
            "AWS_SECRET_ACCESS_KEY" => Some(SECRET.to_string()),
            _ => None,
        };
        let good = json!({ "region": "us-east-1" });
        let p = FACTORY.configure(good.as_object().unwrap(), &env).unwrap();
        assert_eq!((p.name(), p.resource_types()), (FACTORY.name(), FACTORY.resource_types()));
        let bad = json!({ "regoin": "us-east-1" });
        let via_factory = FACTORY.configure(bad.as_object().unwrap(), &env).err().map(|e| e.to_string());
        let direct =
            CloudWatchProvider::from_block(bad.as_object().unwrap(), &env).err().map(|e| e.to_string());
        assert!(via_factory.as_deref().is_some_and(|e| e.contains("regoin")), "{via_factory:?}");
        assert_eq!(via_factory, direct);
        assert!(!FACTORY.resolves_id_refs());
    }

    #[test]
    fn names_types_and_update_kinds() {
        let p = provider(json!({}));
        assert_eq!(p.name(), "cloudwatch");
        assert_eq!(
            p.resource_types(),
            [
                "cloudwatch_metric_alarm",
                "cloudwatch_composite_alarm",
                "cloudwatch_dashboard",
                "sns_topic",
                "sns_subscription"
            ]
        );
        let replace = [
            ("cloudwatch_metric_alarm", "AlarmName"),
            ("cloudwatch_composite_alarm", "AlarmName"),
            ("cloudwatch_dashboard", "DashboardName"),
            ("sns_topic", "Name"),
            ("sns_subscription", "TopicArn"),
            ("sns_subscription", "Protocol"),
            ("sns_subscription", "Endpoint"),
        ];
        for (t, a) in replace {
            assert_eq!(p.update_kind(t, a), UpdateKind::Replace, "{t}.{a}");
        }
        assert_eq!(
            p.natural_id("cloudwatch_metric_alarm", &json!({ "AlarmName": "cpu" })).as_deref(),
            Some("cpu")
        );
        assert_eq!(
            p.natural_id("cloudwatch_composite_alarm", &json!({ "AlarmName": "c" })).as_deref(),
            Some("c")
        );
        assert_eq!(
            p.natural_id("cloudwatch_dashboard", &json!({ "DashboardName": "d" })).as_deref(),
            Some("d")
        );
        assert_eq!(p.natural_id("sns_topic", &json!({ "Name": "t" })), None);
        assert_eq!(p.natural_id("cloudwatch_metric_alarm", &json!({})), None);
        for (t, a) in [
            ("cloudwatch_metric_alarm", "Threshold"),
            ("cloudwatch_composite_alarm", "AlarmRule"),
            ("cloudwatch_dashboard", "DashboardBody"),
            ("sns_topic", "DisplayName"),
            ("sns_subscription", "RawMessageDelivery"),
            ("sns_subscription", "FilterPolicy"),
        ] {
            assert_eq!(p.update_kind(t, a), UpdateKind::InPlace, "{t}.{a}");
        }
    }

    #[test]
    fn sns_calls_of_route_tests_are_paced_at_the_published_quotas() {
        let rate = |region: &str, family: &str| {
            let p = provider(json!({ "region": region }));
            p.rate_budget().unwrap().rates.into_iter().find(|(f, _)| f == family).map(|(_, r)| r)
        };
        let near = |got: Option<f64>, want: f64| got.is_some_and(|g| (g - want).abs() < 1e-3 * want);
        // 95 % of the quota (the budget's target fraction), within the nanosecond rounding of the interval.
        assert!(near(rate("us-east-1", "sns:Publish"), 30_000.0 * 0.95));
        assert!(near(rate("us-west-2", "sns:Publish"), 9_000.0 * 0.95));
        assert!(near(rate("eu-west-1", "sns:Publish"), 9_000.0 * 0.95));
        assert!(near(rate("ap-south-1", "sns:Publish"), 300.0 * 0.95));
        assert!(near(rate("us-east-1", "sns:ListSubscriptionsByTopic"), 30.0 * 0.95));
    }

    #[tokio::test]
    async fn unknown_resource_type_is_an_error_without_a_request() {
        let p = provider(json!({ "endpoint_url": "http://127.0.0.1:9" }));
        let err = p.list("cloudwatch_log_group", false).await.unwrap_err();
        assert!(err.to_string().contains("cloudwatch_metric_alarm"), "{err}");
        assert_eq!(p.api_calls(), 0);
    }

    #[tokio::test]
    async fn validate_remote_makes_no_request() {
        let p = provider(json!({ "endpoint_url": "http://127.0.0.1:9" }));
        let bad = json!({ "AlarmName": "a", "Namespace": "N", "MetricName": "M", "Statistic": "Average",
                          "Period": 45, "EvaluationPeriods": 1, "Threshold": 1, "ComparisonOperator": "GreaterThanThreshold" });
        let err = p.validate_remote("cloudwatch_metric_alarm", &bad).await.unwrap_err();
        assert!(err.to_string().contains("multiple of 60"), "{err}");
        let mut good = bad.clone();
        good["Period"] = json!(60);
        p.mark("cloudwatch_metric_alarm", &mut good, "alarm.a");
        p.validate_remote("cloudwatch_metric_alarm", &good).await.unwrap();
        assert_eq!(p.api_calls(), 0);
    }

    #[tokio::test]
    async fn unreachable_endpoint_is_transient_and_counted() {
        // Port 9 (discard) on loopback: nothing listens there in a test sandbox.
        let p = provider(json!({ "endpoint_url": "http://127.0.0.1:9", "timeout_seconds": 3 }));
        let err = p.read("cloudwatch_metric_alarm", "a").await.unwrap_err();
        assert!(matches!(err, ProviderError::Transient { .. }), "{err:?}");
        let text = format!("{err} {err:?}");
        assert!(!text.contains(SECRET), "{text}");
        assert_eq!(p.api_calls(), 1);
    }

    #[tokio::test]
    async fn missing_credentials_are_an_auth_error_with_a_hint() {
        let env = |_: &str| None;
        let attrs = json!({ "region": "us-east-1", "endpoint_url": "http://127.0.0.1:9",
                            "profile": "watchkeep-test-profile-that-does-not-exist", "timeout_seconds": 3 });
        let p = CloudWatchProvider::from_block(attrs.as_object().unwrap(), &env).unwrap();
        let err = p.read("sns_topic", "arn:aws:sns:us-east-1:123456789012:t").await.unwrap_err();
        match &err {
            ProviderError::Auth { message } => {
                assert!(message.contains("AWS_ACCESS_KEY_ID") && message.contains("hint:"), "{message}")
            }
            other => panic!("expected Auth, got {other:?}"),
        }
        assert_eq!(p.api_calls(), 0, "nothing was sent");
    }
}
