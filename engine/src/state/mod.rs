//! Versioned state: what watchkeep believes it manages, where, and the history of every change.
//!
//! - [`State`] is the model written to `.watchkeep/state.json`: format version, a `serial` that grows
//!   on every write, a `lineage` fixed for the life of the state, and resources sorted by address.
//! - [`LocalBackend`] reads it, takes the lock (`state.json.lock`), and hands out a [`StateLock`]
//!   that is the only way to write: the state file (atomically, keeping `state.json.backup`) and
//!   immutable [`HistoryEntry`] files under `.watchkeep/history/`.
//! - [`Backend`] keeps all of it in a [`store::Store`]: a local directory, or an S3 bucket
//!   ([`s3`], `state "s3" { bucket, key }`), through the same code (see [`store::Layout`]).
//! - [`actor`] and [`source_revision`] say who changed things and from which commit.
//!
//! Nothing here deletes or rewrites a file it cannot read: a corrupt state, a newer format, or a
//! garbled lock file is reported and left exactly as it was.

mod actor;
mod error;
mod fsutil;
pub mod history;
mod local;
mod lock;
mod lock_info;
mod paths;
pub mod s3;
mod statefile;
pub mod store;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use actor::{actor, now_rfc3339, source_revision};
pub use error::StateError;
pub use local::{Backend, LocalBackend};
pub use lock::StateLock;
pub use lock_info::LockInfo;

/// The state file format this build reads and writes. A file with a higher number is refused.
pub const FORMAT_VERSION: u32 = 2;

/// Upgrades of older state formats, applied in order on load to the raw JSON. Format 2 added
/// `sensitive_paths` to every resource. The original file is kept as `<state>.v<N>.backup` on
/// the first write in the new format.
/// Upgrades the raw JSON of one format to the next.
pub(crate) type Migration = fn(&mut serde_json::Value) -> Result<(), String>;

pub(crate) const MIGRATIONS: &[(u32, Migration)] = &[(1, migrate_1_to_2)];

fn migrate_1_to_2(v: &mut serde_json::Value) -> Result<(), String> {
    let resources = v
        .get_mut("resources")
        .and_then(|r| r.as_array_mut())
        .ok_or_else(|| "`resources` is not a list".to_string())?;
    for r in resources {
        let obj = r.as_object_mut().ok_or_else(|| "a resource is not an object".to_string())?;
        obj.entry("sensitive_paths").or_insert_with(|| serde_json::Value::Array(Vec::new()));
    }
    v["format_version"] = serde_json::Value::from(2u32);
    Ok(())
}

/// The version of watchkeep that writes state, history entries and locks.
pub(crate) const WATCHKEEP_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The state file: every vendor object watchkeep manages, as last written.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct State {
    /// Version of this file format; readers refuse a version newer than they support.
    pub format_version: u32,
    /// Increases by one on every write of the state.
    pub serial: u64,
    /// UUID fixed when the state is first created; a write with a different lineage is refused.
    pub lineage: String,
    /// Version of watchkeep that last wrote this file.
    pub watchkeep_version: String,
    /// Managed resources, sorted by address.
    pub resources: Vec<ResourceState>,
    /// The format the file had on disk when it was older than [`FORMAT_VERSION`] and was
    /// migrated on load (not written).
    #[serde(skip)]
    #[schemars(skip)]
    pub migrated_from: Option<u32>,
}

/// One managed vendor object.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct ResourceState {
    /// Resource address, e.g. `baseline.soc2["web-1"].cpu`.
    pub address: String,
    /// Vendor resource type, e.g. `datadog_monitor`.
    pub resource_type: String,
    /// Provider name, e.g. `datadog`.
    pub provider: String,
    /// The vendor's id for the object.
    pub id: String,
    /// The high-level block the resource was compiled from, e.g. `baseline.soc2`.
    pub origin: Option<String>,
    /// Normalised attributes; secret values are redacted before they get here.
    pub attrs: serde_json::Value,
    /// The vendor's last-modified time (RFC 3339), when the vendor reports one.
    pub vendor_modified: Option<String>,
    /// When watchkeep last created or updated the object (RFC 3339, UTC).
    pub changed_at: String,
    /// Attribute paths whose value derives from a sensitive variable; their values in `attrs`
    /// are keyed hashes, never the value.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sensitive_paths: Vec<String>,
    /// Addresses this object referred to when it was last written (a channel's destination, a
    /// workflow's channels): `destroy` deletes it before them, even without the configuration.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
    /// The attribute paths the configuration set when the object was last written, each with a
    /// short hash of the (redacted) value sent. Paths outside it are the vendor's to choose and
    /// never planned as changes; a path that leaves it is planned as a removal; a set path the
    /// vendor never returns (write-only) is compared by this hash.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub configured: std::collections::BTreeMap<String, String>,
}

impl State {
    /// An empty state: serial 0, a fresh lineage.
    pub fn new() -> State {
        State {
            format_version: FORMAT_VERSION,
            serial: 0,
            lineage: uuid::Uuid::new_v4().to_string(),
            watchkeep_version: WATCHKEEP_VERSION.to_string(),
            resources: Vec::new(),
            migrated_from: None,
        }
    }

    pub fn get(&self, address: &str) -> Option<&ResourceState> {
        self.position(address).ok().map(|i| &self.resources[i])
    }

    /// Inserts or replaces the resource with the same address, keeping resources sorted.
    pub fn upsert(&mut self, r: ResourceState) {
        match self.position(&r.address) {
            Ok(i) => self.resources[i] = r,
            Err(i) => self.resources.insert(i, r),
        }
    }

    pub fn remove(&mut self, address: &str) -> Option<ResourceState> {
        self.position(address).ok().map(|i| self.resources.remove(i))
    }

    /// Binary search: `resources` is kept sorted by address (load sorts, `upsert` inserts in
    /// place). Checking sortedness here would make every lookup O(n) and a 10,000-object plan
    /// O(n²); code that builds `resources` by hand must sort it.
    fn position(&self, address: &str) -> Result<usize, usize> {
        self.resources.binary_search_by(|r| r.address.as_str().cmp(address))
    }

    fn sort(&mut self) {
        self.resources.sort_by(|a, b| a.address.cmp(&b.address));
    }

    /// The first address that appears more than once (after sorting).
    fn duplicate_address(&self) -> Option<&str> {
        self.resources.windows(2).find(|w| w[0].address == w[1].address).map(|w| w[0].address.as_str())
    }
}

impl Default for State {
    fn default() -> Self {
        State::new()
    }
}

/// One immutable record per apply/destroy that changed anything (and per `state rm`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
pub struct HistoryEntry {
    /// 1, 2, 3 … in the order entries were written; assigned by [`StateLock::append_history`].
    pub version: u64,
    /// State serial after the operation.
    pub serial: u64,
    /// Lineage of the state the operation changed.
    pub lineage: String,
    /// When the operation finished (RFC 3339, UTC).
    pub timestamp: String,
    /// `apply`, `destroy` or `state rm`.
    pub operation: String,
    /// Who ran it; see [`actor`].
    pub actor: String,
    /// Commit of the configuration, `-dirty` when the work tree had changes; see [`source_revision`].
    pub source_revision: Option<String>,
    /// `complete`, or `partial` when an error stopped the operation part-way.
    pub outcome: String,
    /// Number of changes by action.
    pub counts: ChangeCounts,
    /// Every change that was made.
    pub changes: Vec<ChangeRecord>,
    /// SHA-256 (hex) of the previous entry's file, so an edited, removed or re-ordered entry
    /// shows ([`LocalBackend::history_chain`]). Assigned on append; absent on entries written
    /// before the chain existed and on the first entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_sha256: Option<String>,
}

/// Number of changes by action.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct ChangeCounts {
    pub create: u32,
    pub update: u32,
    pub replace: u32,
    pub delete: u32,
}

/// One change made to one resource.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub struct ChangeRecord {
    /// Resource address.
    pub address: String,
    /// Vendor resource type.
    pub resource_type: String,
    /// `create`, `update`, `replace` or `delete` (`forget` for `state rm`, which leaves the vendor object).
    pub action: String,
    /// The vendor id (the new id for a create or replace).
    pub id: Option<String>,
    /// Names of the attributes that changed (never their secret values).
    pub changed_attributes: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    pub(super) fn resource(address: &str) -> ResourceState {
        ResourceState {
            address: address.to_string(),
            resource_type: "datadog_monitor".to_string(),
            provider: "datadog".to_string(),
            id: format!("id-{address}"),
            origin: Some("baseline.soc2".to_string()),
            attrs: json!({"name": address, "query": "avg(last_5m):avg:system.cpu.user{*} > 90"}),
            vendor_modified: None,
            changed_at: "2026-01-02T03:04:05Z".to_string(),
            configured: Default::default(),
            sensitive_paths: Vec::new(),
            depends_on: Vec::new(),
        }
    }

    #[test]
    fn new_state_is_empty_with_fresh_lineage() {
        let a = State::new();
        let b = State::new();
        assert_eq!(a.serial, 0);
        assert_eq!(a.format_version, FORMAT_VERSION);
        assert!(a.resources.is_empty());
        assert_ne!(a.lineage, b.lineage);
        assert!(uuid::Uuid::parse_str(&a.lineage).is_ok());
    }

    #[test]
    fn upsert_keeps_sorted_and_replaces() {
        let mut s = State::new();
        for a in ["c", "a", "b"] {
            s.upsert(resource(a));
        }
        let order: Vec<_> = s.resources.iter().map(|r| r.address.as_str()).collect();
        assert_eq!(order, ["a", "b", "c"]);

        let mut changed = resource("b");
        changed.id = "new".to_string();
        s.upsert(changed);
        assert_eq!(s.resources.len(), 3);
        assert_eq!(s.get("b").map(|r| r.id.as_str()), Some("new"));
        assert!(s.get("z").is_none());

        assert_eq!(s.remove("a").map(|r| r.address), Some("a".to_string()));
        assert!(s.remove("a").is_none());
        assert_eq!(s.resources.len(), 2);
    }

    #[test]
    fn upsert_keeps_resources_sorted_for_lookups() {
        let mut s = State::new();
        for a in ["m", "z", "a", "q", "b", "m"] {
            s.upsert(resource(a));
        }
        let order: Vec<&str> = s.resources.iter().map(|r| r.address.as_str()).collect();
        assert_eq!(order, ["a", "b", "m", "q", "z"]);
        assert!(s.get("q").is_some() && s.get("c").is_none());
        assert!(s.remove("z").is_some());
        assert_eq!(s.resources.len(), 4);
    }

    #[test]
    fn serializes_fields_in_declared_order() {
        let s = State::new();
        let text = serde_json::to_string(&s).unwrap_or_default();
        let keys = ["format_version", "serial", "lineage", "watchkeep_version", "resources"];
        let positions: Vec<_> = keys.iter().filter_map(|k| text.find(&format!("\"{k}\""))).collect();
        assert_eq!(positions.len(), keys.len());
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{text}");
    }

    #[test]
    fn schemas_generate() {
        let state = serde_json::to_value(schemars::schema_for!(State)).unwrap_or_default();
        assert!(state["properties"]["resources"].is_object(), "{state}");
        let entry = serde_json::to_value(schemars::schema_for!(HistoryEntry)).unwrap_or_default();
        assert!(entry["properties"]["changes"].is_object(), "{entry}");
    }
}
