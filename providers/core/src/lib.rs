//! The provider contract.
//!
//! Every vendor (Datadog, New Relic, CloudWatch) implements [`Provider`]. The engine owns retries,
//! ordering, state and the rate budget; a provider only speaks to its vendor and reports exactly what
//! the vendor said, as typed [`ProviderError`]s (rate-limit headers included).
//!
//! Objects cross the boundary as JSON ([`serde_json::Value`]) shaped the way the vendor API names
//! its fields, so raw `resource` blocks and compiled high-level blocks share one path.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub use serde_json::{Map, Value};

mod budget;
mod canonical;
pub mod config;
mod dispatch;
pub mod endpoint;
mod factory;
pub mod managed;
mod retry;
mod secret;
mod text;
pub use budget::{too_long, vendor_wait, BudgetStats, RateBudget, DEFAULT_TARGET_FRACTION, MAX_VENDOR_WAIT};
pub use canonical::canonical;
pub use dispatch::unknown_resource_type;
pub use factory::ProviderFactory;
pub use retry::{with_retries, RetryPolicy};
pub use secret::Secret;
pub use text::{replace_urls, shorten, url_host_only, MAX_ERROR_TEXT};

/// Tag key (Datadog) / tag name (others) that marks an object as created and owned by watchkeep.
pub const OWNER_TAG: &str = "managed-by:watchkeep";
/// Tag key prefix carrying the object's watchkeep address (sanitised, see [`address_marker`]).
pub const ADDRESS_TAG_KEY: &str = "watchkeep-address";

/// Whether `address` is `prefix` or an object under it: `baseline.soc2["web-1"].cpu` is under
/// `baseline.soc2` and `baseline.soc2["web-1"]`, not under `baseline.soc`. Used by `-target` and
/// by `depends_on` naming a high-level block.
pub fn address_within(address: &str, prefix: &str) -> bool {
    address == prefix
        || (address.starts_with(prefix) && matches!(address.as_bytes().get(prefix.len()), Some(b'[' | b'.')))
}

/// Turns a watchkeep address such as `baseline.soc2["web-1"].cpu` into a tag value every vendor
/// accepts (Datadog lowercases tags and allows only `[a-z0-9_\-:./]`).
///
/// The mapping is deterministic so a crashed apply can find what it created by address alone.
/// Two addresses that map to the same marker are rejected by the compiler.
pub fn address_marker(address: &str) -> String {
    let mut out = String::with_capacity(address.len());
    let mut chars = address.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '[' => {
                out.push('.');
                if chars.peek() == Some(&'"') {
                    chars.next();
                }
            }
            '"' if chars.peek() == Some(&']') => {
                chars.next();
            }
            ']' => {}
            c if c.is_ascii_alphanumeric() => out.push(c.to_ascii_lowercase()),
            '_' | '-' | '.' | '/' | ':' => out.push(c),
            _ => out.push('_'),
        }
    }
    out
}

/// How many hex digits of a state's lineage its ownership markers carry.
pub const OWNER_ID_LEN: usize = 12;

/// The owner id of a state: the first [`OWNER_ID_LEN`] hex digits of its lineage (a UUID), which
/// every marker the state writes starts with (`<owner>:<address marker>`), so a state adopts only
/// its own objects. A lineage that is not a UUID is hashed instead (never happens for states
/// watchkeep made; kept total so a hand-edited lineage still gives a valid tag).
pub fn owner_id(lineage: &str) -> String {
    let hex: String =
        lineage.chars().filter(char::is_ascii_hexdigit).map(|c| c.to_ascii_lowercase()).collect();
    if hex.len() >= OWNER_ID_LEN && lineage.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
        return hex[..OWNER_ID_LEN].to_string();
    }
    // FNV-1a, 64 bits: stable across versions, no dependency.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in lineage.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")[..OWNER_ID_LEN].to_string()
}

/// What the engine hands to [`Provider::mark`] and [`Provider::find_by_marker`] for `address`
/// in the state whose owner id is `owner`: `<owner>:<address>`. Its [`address_marker`] is
/// `<owner>:<address marker>` (`:` is kept by the sanitiser, and an owner id is lowercase hex).
pub fn owned_address(owner: &str, address: &str) -> String {
    format!("{owner}:{address}")
}

/// The marker of `address` as written by the state whose owner id is `owner`.
pub fn owner_marker(owner: &str, address: &str) -> String {
    address_marker(&owned_address(owner, address))
}

/// Splits a marker read from a vendor into (owner id, address marker). Markers written before
/// ownership per state (watchkeep ≤ 0.13) carry no owner: `(None, marker)`. An address marker
/// always starts with a block type (a word), never with 12 hex digits and `:`, so this is exact.
pub fn split_marker(marker: &str) -> (Option<&str>, &str) {
    match marker.split_once(':') {
        Some((owner, rest))
            if owner.len() == OWNER_ID_LEN
                && owner.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) =>
        {
            (Some(owner), rest)
        }
        _ => (None, marker),
    }
}

/// One live vendor object as read back by refresh, in the provider's normalised form.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveObject {
    /// Vendor identifier (Datadog monitor ids are numbers; kept as strings everywhere).
    pub id: String,
    /// Resource type, e.g. `datadog_monitor`.
    pub resource_type: String,
    /// Normalised attributes (see [`Provider::normalize`]); read-only vendor fields removed.
    pub attrs: Value,
    /// The vendor's own last-modified time (RFC 3339), when it reports one.
    pub modified: Option<String>,
    /// The watchkeep address marker found on the object, if it carries [`OWNER_TAG`].
    pub marker: Option<String>,
    /// Whether the object carries the ownership tag at all.
    pub owned: bool,
}

/// Rate-limit information a vendor reported on its last response.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RateLimit {
    pub limit: Option<u64>,
    pub period: Option<u64>,
    pub remaining: Option<u64>,
    /// Seconds until the window resets.
    pub reset: Option<u64>,
    pub name: Option<String>,
}

/// What went wrong talking to a vendor.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ProviderError {
    #[error("authentication failed: {message}")]
    Auth { message: String },
    #[error("not found: {what}")]
    NotFound { what: String },
    #[error("rate limited by the vendor{}", retry_after.map(|d| format!(" (retry after {}s)", d.as_secs())).unwrap_or_default())]
    RateLimited { retry_after: Option<Duration> },
    #[error("transient vendor error: {message}")]
    Transient { message: String },
    #[error("vendor rejected the request (HTTP {status}): {body}")]
    Api { status: u16, body: String },
    #[error("invalid provider configuration: {message}")]
    InvalidConfig { message: String },
    #[error("could not understand the vendor's response: {message}")]
    Decode { message: String },
    /// The object exists at the vendor already and watchkeep does not own it (e.g. a CloudWatch
    /// alarm of the same name: `PutMetricAlarm` would silently overwrite it). Never retried.
    #[error("{message}")]
    Conflict { message: String },
}

impl ProviderError {
    /// Whether the engine may retry the same call.
    pub fn is_retryable(&self) -> bool {
        matches!(self, ProviderError::RateLimited { .. } | ProviderError::Transient { .. })
    }
}

pub type Result<T, E = ProviderError> = std::result::Result<T, E>;

/// How a change to an attribute is carried out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateKind {
    /// The vendor can change the object in place.
    InPlace,
    /// The object must be deleted and created again (e.g. a Datadog monitor's `type`).
    Replace,
}

/// Counts vendor API requests, for benchmarks and `--json` statistics.
#[derive(Debug, Default)]
pub struct CallCounter(AtomicU64);

impl CallCounter {
    pub fn incr(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// One alert state change read back from the vendor: a line of the alert log that SOC 2 evidence
/// needs ("the alert fired at 14:02 and recovered at 14:20").
#[derive(Debug, Clone, PartialEq)]
pub struct AlertEvent {
    /// When the vendor recorded the change (RFC 3339, UTC).
    pub timestamp: String,
    /// The state it left (`OK`), when the vendor says.
    pub from: Option<String>,
    /// The state it entered (`ALARM`, `OK`, `INSUFFICIENT_DATA`, …).
    pub to: String,
    /// The vendor's own summary or reason.
    pub summary: String,
}

/// A component of the configuration, as `coverage --live` asks a vendor about it.
#[derive(Debug, Clone, PartialEq)]
pub struct ComponentProbe {
    /// Component name (`web-1`).
    pub name: String,
    /// `server | database | container | cloud_service | custom`.
    pub kind: String,
    /// How the vendor identifies it (`host = "web-1"`, `InstanceId = "i-…"`, `hostname = "…"`).
    pub identifier: BTreeMap<String, String>,
}

/// Whether one probed component reports data to the vendor.
#[derive(Debug, Clone, PartialEq)]
pub struct ComponentReport {
    /// [`ComponentProbe::name`].
    pub component: String,
    /// The vendor has data from it within the window asked for.
    pub reporting: bool,
    /// When it last reported (RFC 3339, UTC), when the vendor says.
    pub last_reported: Option<String>,
    /// What was asked and answered, in a few words ("GET /api/v1/hosts: last reported …").
    pub detail: String,
}

/// Something the vendor sees reporting (a host, an instance, an entity), whether or not the
/// inventory has it; `coverage --live` names those the inventory lacks (CC7.1 "unknown
/// components").
#[derive(Debug, Clone, PartialEq)]
pub struct SeenEntity {
    /// The vendor's name for it (host name, instance id, entity name).
    pub name: String,
    /// The component kind it would be (`server`, `database`, …), when the vendor says.
    pub kind: Option<String>,
    /// The identifier an inventory row would carry to match it (`host = "web-3"`).
    pub identifier: BTreeMap<String, String>,
    /// When it last reported (RFC 3339, UTC), when the vendor says.
    pub last_reported: Option<String>,
}

/// A managed alert object the vendor reports in "No Data" (Datadog `overall_state: "No Data"`,
/// CloudWatch `INSUFFICIENT_DATA`, …): it alerts on nothing until data comes back.
#[derive(Debug, Clone, PartialEq)]
pub struct NoDataAlert {
    pub resource_type: String,
    pub id: String,
    /// The vendor's state as it says it.
    pub state: String,
    /// Since when, when the vendor says (RFC 3339, UTC).
    pub since: Option<String>,
}

/// What a vendor says about the components and alerts of one configuration (`coverage --live`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observation {
    /// One entry per probed component, in the order asked.
    pub components: Vec<ComponentReport>,
    /// Everything the vendor sees reporting within the window (the engine subtracts the inventory).
    pub seen: Vec<SeenEntity>,
    /// Managed alert objects (of the ids asked about) in No Data.
    pub no_data: Vec<NoDataAlert>,
    /// Vendor API calls this observation made.
    pub api_calls: u64,
}

/// How one test delivery through a vendor-side notification object went (`routes test`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// The channel accepted the test (and the resolve, where it has one).
    Delivered,
    /// The channel refused it, or could not be reached.
    Failed,
    /// The channel exists but cannot deliver yet (an SNS subscription pending confirmation).
    NotDelivering,
}

/// One test notification sent through a vendor-side object of a route: an SNS topic's
/// subscriptions, a New Relic destination or channel.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// What was tested, secrets redacted ("SNS topic watchkeep-oncall → email o***@example.com").
    pub target: String,
    pub status: DeliveryStatus,
    /// The vendor's answer, short (message id, error string).
    pub answer: String,
    /// The key that ties the test and its resolve together, when the channel has one.
    pub dedup_key: Option<String>,
    /// Whether a resolve was sent and accepted (`None`: the channel has no resolve).
    pub resolved: Option<bool>,
}

/// A dated picture of one managed dashboard for the evidence bundle (`watchkeep evidence`): the
/// PNG the vendor drew, or the data for watchkeep to draw when the vendor draws none (or its
/// picture service is unavailable). The engine draws the capture time into either.
#[derive(Debug, Clone, PartialEq)]
pub enum Picture {
    /// A PNG image the vendor rendered (CloudWatch `GetMetricWidgetImage`, a Datadog graph
    /// snapshot, a New Relic dashboard snapshot URL). Already checked to be a PNG.
    Png {
        bytes: Vec<u8>,
        /// How it was obtained, in a few words (`GetMetricWidgetImage`, `graph snapshot`).
        source: String,
    },
    /// Time series read from the vendor's metric query API, for the engine to draw.
    Series {
        /// What the chart shows (the dashboard's title).
        title: String,
        series: Vec<Series>,
        /// How they were read, and why not as a vendor picture
        /// (`GetMetricData (GetMetricWidgetImage answered NotImplemented)`).
        source: String,
    },
}

/// One line of a chart: a named series of `(epoch seconds, value)` points, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// `web-1: CPU utilisation` or the vendor's expression.
    pub name: String,
    pub points: Vec<(i64, f64)>,
}

/// Reads a PNG's width and height from its IHDR chunk; `None` when `bytes` is not a PNG.
pub fn png_size(bytes: &[u8]) -> Option<(u32, u32)> {
    const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    if bytes.len() < 24 || &bytes[..8] != SIGNATURE || &bytes[12..16] != b"IHDR" {
        return None;
    }
    let w = u32::from_be_bytes(bytes[16..20].try_into().ok()?);
    let h = u32::from_be_bytes(bytes[20..24].try_into().ok()?);
    (w > 0 && h > 0).then_some((w, h))
}

/// A configured provider: credentials resolved, one HTTP client built.
#[async_trait::async_trait]
pub trait Provider: Send + Sync {
    /// Provider name as written in HCL (`datadog`).
    fn name(&self) -> &'static str;

    /// Resource types this provider manages, e.g. `["datadog_monitor", "datadog_dashboard"]`.
    fn resource_types(&self) -> &'static [&'static str];

    /// Reads **all** live objects of a type with the vendor's list/paginated calls.
    /// `owned_only` lets the vendor filter server-side on the ownership tag where it can.
    async fn list(&self, resource_type: &str, owned_only: bool) -> Result<Vec<LiveObject>>;

    /// Reads one object; `Ok(None)` when the vendor says it does not exist.
    async fn read(&self, resource_type: &str, id: &str) -> Result<Option<LiveObject>>;

    /// Finds objects carrying the ownership marker of `address` (used before retrying a create
    /// whose response was lost, so a retry never makes a duplicate). The default lists owned
    /// objects and filters; vendors with a tag filter should do it in one cheap call.
    async fn find_by_marker(&self, resource_type: &str, address: &str) -> Result<Vec<LiveObject>> {
        let marker = address_marker(address);
        Ok(self
            .list(resource_type, true)
            .await?
            .into_iter()
            .filter(|o| o.owned && o.marker.as_deref() == Some(marker.as_str()))
            .collect())
    }

    /// Canonicalises desired attributes (as written in config, after compile) into the same form
    /// [`Provider::list`] returns, so that equal intent compares equal. Pure.
    fn normalize(&self, resource_type: &str, attrs: &Value) -> Value;

    /// Puts watchkeep's ownership marker on desired attributes the vendor's way (Datadog monitors:
    /// tags `managed-by:watchkeep` and `watchkeep-address:<address_marker>`; objects without tags
    /// carry it in their description). [`Provider::list`] reads it back into [`LiveObject::marker`].
    fn mark(&self, resource_type: &str, attrs: &mut Value, address: &str);

    /// Removes watchkeep's ownership marker (what [`Provider::mark`] adds) from live attributes,
    /// leaving the user's own values: `watchkeep import` writes the rest as configuration. The
    /// default leaves the attributes as they are (a marker left in would be written into the
    /// generated HCL, where `mark` replaces it again: correct, only untidy).
    fn unmark(&self, _resource_type: &str, _attrs: &mut Value) {}

    /// The id the vendor will give an object with these (normalised) attributes, when the vendor
    /// keys objects by a name the configuration chooses (CloudWatch alarms and dashboards).
    /// The plan uses it to refuse, before anything is written, a create whose name is taken by
    /// an object watchkeep does not own.
    fn natural_id(&self, _resource_type: &str, _attrs: &Value) -> Option<String> {
        None
    }

    /// The fields watchkeep manages for `resource_type`: the vendor's writable fields from its
    /// published schema ([`managed::Writable`]). Objects from [`Provider::list`] and
    /// [`Provider::normalize`] carry only these; the engine projects older state onto them too.
    /// `None`: the provider's normaliser already keeps only managed fields.
    fn writable(&self, _resource_type: &str) -> Option<&managed::Writable> {
        None
    }

    /// Whether changing `attr` (a top-level attribute name) needs a replace.
    fn update_kind(&self, resource_type: &str, attr: &str) -> UpdateKind;

    /// Checks desired attributes before anything is created (e.g. Datadog's validate endpoint).
    /// Pure providers may return `Ok(())`.
    async fn validate_remote(&self, _resource_type: &str, _attrs: &Value) -> Result<()> {
        Ok(())
    }

    /// Creates an object. `attrs` already carries the ownership marker.
    async fn create(&self, resource_type: &str, attrs: &Value) -> Result<LiveObject>;

    /// Updates an object in place.
    async fn update(&self, resource_type: &str, id: &str, attrs: &Value) -> Result<LiveObject>;

    /// Deletes an object; deleting one that is already gone is `Ok`.
    async fn delete(&self, resource_type: &str, id: &str) -> Result<()>;

    /// State changes of one object (an alarm) since `since`, oldest first, read from the
    /// vendor's alert history. `Ok(None)`: this provider or type keeps no alert log watchkeep
    /// can read.
    async fn alert_history(
        &self,
        _resource_type: &str,
        _id: &str,
        _since: Option<std::time::SystemTime>,
    ) -> Result<Option<Vec<AlertEvent>>> {
        Ok(None)
    }

    /// `coverage --live`: whether each component reports data within `window`, what else the
    /// vendor sees reporting, and which of `alerts` (managed alert objects: resource type and
    /// vendor id) it reports in No Data. `Ok(None)`: this provider cannot tell.
    async fn observe(
        &self,
        _components: &[ComponentProbe],
        _alerts: &[(String, String)],
        _window: Duration,
    ) -> Result<Option<Observation>> {
        Ok(None)
    }

    /// `routes test`: sends one test notification through a vendor-side notification object a
    /// route compiled to (`attrs` as in state), marked as a test, and resolves it where the
    /// channel has a resolve. `Ok(None)`: objects of this type deliver nothing themselves
    /// (the engine tests the route's direct targets instead).
    async fn test_delivery(
        &self,
        _resource_type: &str,
        _id: &str,
        _attrs: &Value,
    ) -> Result<Option<Vec<Delivery>>> {
        Ok(None)
    }

    /// `evidence`: a picture of one managed dashboard (`attrs` as in state) over `from..to`
    /// (epoch seconds), showing the components it covers. `Ok(None)`: this type is not a
    /// dashboard, or the provider cannot picture it.
    async fn dashboard_picture(
        &self,
        _resource_type: &str,
        _id: &str,
        _attrs: &Value,
        _from: i64,
        _to: i64,
    ) -> Result<Option<Picture>> {
        Ok(None)
    }

    /// The vendor's web page for one object (an auditor follows it from the alert
    /// configuration export); `None` when there is none watchkeep can build.
    fn web_link(&self, _resource_type: &str, _id: &str) -> Option<String> {
        None
    }

    /// Vendor API requests made so far by this handle.
    fn api_calls(&self) -> u64;

    /// Where this provider sends its requests (and so its keys), `scheme://host[:port]`, for
    /// the plan to show (issue 15). `None` when the vendor's SDK decides.
    fn endpoint(&self) -> Option<String> {
        None
    }

    /// The last rate-limit headers the vendor sent.
    fn last_rate_limit(&self) -> Option<RateLimit> {
        None
    }

    /// Figures of the provider's [`RateBudget`]: 429s seen, time spent waiting, paced rates.
    fn rate_budget(&self) -> Option<BudgetStats> {
        None
    }
}

impl fmt::Display for UpdateKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UpdateKind::InPlace => "update in place",
            UpdateKind::Replace => "replace",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_marker_is_tag_safe() {
        assert_eq!(address_marker(r#"baseline.soc2["web-1"].cpu"#), "baseline.soc2.web-1.cpu");
        assert_eq!(address_marker(r#"resource.datadog_monitor.x["A b"]"#), "resource.datadog_monitor.x.a_b");
    }

    #[test]
    fn markers_carry_the_owner_state() {
        let owner = owner_id("3F2A9C01-B7DE-4a5b-9c3d-0123456789ab");
        assert_eq!(owner, "3f2a9c01b7de");
        let m = owner_marker(&owner, r#"baseline.soc2["web-1"].cpu"#);
        assert_eq!(m, "3f2a9c01b7de:baseline.soc2.web-1.cpu");
        assert_eq!(split_marker(&m), (Some("3f2a9c01b7de"), "baseline.soc2.web-1.cpu"));
        // Markers from before ownership per state, including a key holding a colon.
        assert_eq!(split_marker("baseline.soc2.web-1.cpu"), (None, "baseline.soc2.web-1.cpu"));
        assert_eq!(split_marker("resource.x.y.a:b"), (None, "resource.x.y.a:b"));
        // A lineage that is not a UUID still gives a 12-digit hex owner id.
        let odd = owner_id("hand edited");
        assert_eq!(odd.len(), OWNER_ID_LEN);
        assert_eq!(split_marker(&owner_marker(&odd, "a.b")).0, Some(odd.as_str()));
    }
}
