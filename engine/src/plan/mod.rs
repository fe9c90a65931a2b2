//! Plans as data. The planner is a pure function of (desired objects, prior state, live objects):
//! no I/O, deterministic order, so it is tested with plain values.

mod diff;
pub mod file;
pub mod links;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use diff::{attribute_changes, is_empty_value, leaves, value_hash, AttrChange};
use watchkeep_provider::{address_marker, owner_id, owner_marker, split_marker, LiveObject, UpdateKind};

use crate::redact::Redactor;
use crate::state::State;

/// What happens to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, PartialOrd, Ord, Hash)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    NoOp,
    Create,
    Update,
    Replace,
    Delete,
}

impl Action {
    pub fn verb(self) -> &'static str {
        match self {
            Action::NoOp => "unchanged",
            Action::Create => "created",
            Action::Update => "updated in place",
            Action::Replace => "replaced",
            Action::Delete => "destroyed",
        }
    }
    pub fn symbol(self) -> &'static str {
        match self {
            Action::NoOp => " ",
            Action::Create => "+",
            Action::Update => "~",
            Action::Replace => "-/+",
            Action::Delete => "-",
        }
    }
}

/// A desired object ready for planning: marked and normalised by its provider.
#[derive(Debug, Clone)]
pub struct PlanDesired {
    pub address: String,
    pub resource_type: String,
    pub provider: String,
    pub origin: Option<String>,
    /// Normalised form, used for comparison.
    pub normalized: Value,
    pub depends_on: Vec<String>,
    /// Where its body holds the ids of other objects (see [`links`]).
    pub links: Vec<links::Link>,
}

/// (owner id, vendor id) of an object marked for an address; `None`: marked before markers
/// named their state.
pub type MarkedBy = (Option<String>, String);

/// Live objects from refresh, indexed.
#[derive(Debug, Default)]
pub struct LiveSet {
    pub by_id: HashMap<(String, String), LiveObject>,
    /// (resource type, marker) → ids carrying that marker (markers name their state's owner id:
    /// `<owner>:<address marker>`).
    pub by_marker: HashMap<(String, String), Vec<String>>,
    /// (resource type, address marker) → (owner id, id) of every owned object marked for that
    /// address by any state, or by a watchkeep from before markers named their state (`None`).
    pub by_address_marker: HashMap<(String, String), Vec<MarkedBy>>,
}

impl LiveSet {
    pub fn insert(&mut self, obj: LiveObject) {
        if let (true, Some(m)) = (obj.owned, obj.marker.clone()) {
            let (owner, address) = split_marker(&m);
            self.by_address_marker
                .entry((obj.resource_type.clone(), address.to_string()))
                .or_default()
                .push((owner.map(str::to_string), obj.id.clone()));
            self.by_marker.entry((obj.resource_type.clone(), m)).or_default().push(obj.id.clone());
        }
        self.by_id.insert((obj.resource_type.clone(), obj.id.clone()), obj);
    }
    pub fn get(&self, resource_type: &str, id: &str) -> Option<&LiveObject> {
        self.by_id.get(&(resource_type.to_string(), id.to_string()))
    }
    pub fn len(&self) -> usize {
        self.by_id.len()
    }
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}

/// One planned change. `before`/`after` are redacted; `after_hash` lets a saved plan check that
/// the configuration it is applied with is the one it was made from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ResourceChange {
    pub address: String,
    pub resource_type: String,
    pub provider: String,
    pub origin: Option<String>,
    pub action: Action,
    /// Vendor id of the existing object (update, replace, delete, adopted).
    pub id: Option<String>,
    /// Why, when it is not simply the configuration: "deleted outside watchkeep", …
    pub reason: Option<String>,
    /// The object was found by its ownership marker but was missing from state.
    #[serde(default)]
    pub adopt: bool,
    /// For deletes: the object is already gone, only the state entry is removed.
    #[serde(default)]
    pub already_gone: bool,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub attribute_changes: Vec<AttrChange>,
    pub after_hash: Option<String>,
    /// Attribute paths holding values derived from sensitive variables (shown as hashes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sensitive_paths: Vec<String>,
    /// Where the body sent to the vendor holds the ids of other objects: resolved from state at
    /// plan time when they exist, else by the executor once their create is done (see [`links`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<links::Link>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Summary {
    pub create: u32,
    pub update: u32,
    pub replace: u32,
    pub delete: u32,
    pub no_op: u32,
}

impl Summary {
    pub fn has_changes(&self) -> bool {
        self.create + self.update + self.replace + self.delete > 0
    }
}

/// A whole plan: what `plan -out` saves and `plan --json` prints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Plan {
    pub format_version: u32,
    pub watchkeep_version: String,
    pub created: String,
    /// Lineage and serial of the state the plan was made against (`None`: no state yet).
    pub lineage: Option<String>,
    pub serial: u64,
    pub destroy: bool,
    pub refreshed: bool,
    pub targets: Vec<String>,
    pub summary: Summary,
    /// Every object, including unchanged ones (action `no-op`), sorted by address.
    pub changes: Vec<ResourceChange>,
    /// Objects this state tracks that another watchkeep state's marker now claims: never edited
    /// (the command refuses the plan and names them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<String>,
    /// Where each provider of this plan sends its requests, and so its keys
    /// (`scheme://host[:port]`; issue 15: only the vendor's own hosts or operator-allowed ones).
    /// Saved with the plan, so `show FILE` and `apply FILE` name them too.
    #[serde(default)]
    pub endpoints: BTreeMap<String, String>,
}

impl Plan {
    pub fn has_changes(&self) -> bool {
        self.summary.has_changes()
    }
    pub fn actionable(&self) -> impl Iterator<Item = &ResourceChange> {
        self.changes.iter().filter(|c| c.action != Action::NoOp || c.adopt)
    }
}

pub struct PlanRequest<'a> {
    pub desired: &'a [PlanDesired],
    pub state: &'a State,
    pub live: &'a LiveSet,
    pub refreshed: bool,
    pub destroy: bool,
    pub targets: &'a [String],
    pub redactor: &'a Redactor,
    /// Provider's answer to "does changing this attribute need a replace?".
    pub update_kind: &'a dyn Fn(&str, &str) -> UpdateKind,
    pub created: String,
    /// `watchkeep import`: address → vendor id of the objects this run imports. The adoption
    /// branch takes these first (reason "imported"); empty for every other command.
    pub imports: &'a BTreeMap<String, String>,
}

pub const PLAN_FORMAT_VERSION: u32 = 1;

/// Whether `address` is selected by `-target` values (exact, or a parent such as `baseline.soc2`).
pub fn targeted(address: &str, targets: &[String]) -> bool {
    targets.is_empty() || targets.iter().any(|t| watchkeep_provider::address_within(address, t))
}

/// Checks that a `-target` is an address: names joined by `.`, each optionally indexed by
/// `["key"]` or `[N]` (e.g. `baseline.soc2["web-1"].cpu`). A malformed target would select
/// nothing, and a plan that silently does nothing must not pass for one that did what was asked.
pub fn check_target(t: &str) -> Result<(), String> {
    let bytes = t.as_bytes();
    let mut i = 0;
    let name = |i: &mut usize| -> Result<(), String> {
        let start = *i;
        while *i < bytes.len()
            && (bytes[*i].is_ascii_alphanumeric() || bytes[*i] == b'_' || bytes[*i] == b'-')
        {
            *i += 1;
        }
        if *i == start || !(bytes[start].is_ascii_alphabetic() || bytes[start] == b'_') {
            return Err(format!(
                "a name (letters, digits, `_`, `-`, starting with a letter) is expected at character {}",
                start + 1
            ));
        }
        Ok(())
    };
    name(&mut i)?;
    while i < bytes.len() {
        match bytes[i] {
            b'.' => {
                i += 1;
                name(&mut i)?;
            }
            b'[' => {
                i += 1;
                if bytes.get(i) == Some(&b'"') {
                    i += 1;
                    loop {
                        match bytes.get(i) {
                            None => return Err("the quoted key is not closed (`\"`)".into()),
                            Some(b'\\') => i += 2,
                            Some(b'"') => break,
                            Some(_) => i += 1,
                        }
                    }
                    i += 1;
                } else {
                    let start = i;
                    while i < bytes.len() && bytes[i].is_ascii_digit() {
                        i += 1;
                    }
                    if i == start {
                        return Err(format!(
                            "`[` must be followed by a quoted key or a number at character {}",
                            i + 1
                        ));
                    }
                }
                if bytes.get(i) != Some(&b']') {
                    return Err(format!("`]` is expected at character {}", i + 1));
                }
                i += 1;
            }
            _ => {
                return Err(format!(
                    "unexpected `{}` at character {}",
                    t[i..].chars().next().unwrap_or(' '),
                    i + 1
                ))
            }
        }
    }
    Ok(())
}

pub fn hash_value(v: &Value) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(v.to_string().as_bytes()))
}

/// The planner.
pub fn plan(req: &PlanRequest) -> Plan {
    let r = req.redactor;
    let mut changes = Vec::new();
    let desired_addrs: BTreeSet<&str> = req.desired.iter().map(|d| d.address.as_str()).collect();
    // Ids already tracked in state: never adopt those for another address.
    let tracked: BTreeSet<(&str, &str)> =
        req.state.resources.iter().map(|s| (s.resource_type.as_str(), s.id.as_str())).collect();
    // Markers name the state that wrote them: this state adopts only objects carrying its own.
    let owner = owner_id(&req.state.lineage);
    let mut conflicts = Vec::new();

    if !req.destroy {
        for d in req.desired.iter().filter(|d| targeted(&d.address, req.targets)) {
            let prior = req.state.get(&d.address);
            let mut paths = r.sensitive_paths(&d.normalized);
            for p in prior.map(|p| p.sensitive_paths.as_slice()).unwrap_or(&[]) {
                if !paths.contains(p) {
                    paths.push(p.clone());
                }
            }
            paths.sort();
            let after = r.mask(&d.normalized, &paths);
            let after_hash = Some(hash_value(&after));
            let base = ResourceChange {
                address: d.address.clone(),
                resource_type: d.resource_type.clone(),
                provider: d.provider.clone(),
                origin: d.origin.clone(),
                action: Action::Create,
                id: None,
                reason: None,
                adopt: false,
                already_gone: false,
                before: None,
                after: Some(after.clone()),
                attribute_changes: Vec::new(),
                after_hash,
                sensitive_paths: paths.clone(),
                links: d.links.clone(),
            };
            let change = match prior {
                Some(st) if st.resource_type == d.resource_type => {
                    match req.live.get(&d.resource_type, &st.id) {
                        None if req.refreshed => ResourceChange {
                            reason: Some(format!("deleted outside watchkeep (was id {})", st.id)),
                            attribute_changes: attribute_changes(&Value::Null, &after, &|_| false),
                            ..base
                        },
                        None => compare(base, &st.id, &r.mask(&st.attrs, &paths), &after, d, req, Some(st)),
                        Some(live) => {
                            let before = r.mask(&live.attrs, &paths);
                            let mut c = compare(base, &st.id, &before, &after, d, req, Some(st));
                            match live.marker.as_deref().filter(|_| live.owned).map(split_marker) {
                                Some((Some(other), _)) if other != owner => conflicts.push(format!(
                                    "{}: {} {} is tracked by this state (owner id {owner}) but carries the marker of another watchkeep state (owner id {other}); it is not edited\nhint: decide which state manages it: `watchkeep state rm {}` here, or remove it from the other state",
                                    d.address, d.resource_type, st.id, d.address
                                )),
                                Some((None, _)) if c.action == Action::Update && c.reason.is_none() => {
                                    c.reason = Some(
                                        "its ownership marker gains this state's owner id (a one-time migration of markers written before they named their state)"
                                            .into(),
                                    );
                                }
                                _ => {}
                            }
                            c
                        }
                    }
                }
                Some(st) => ResourceChange {
                    action: Action::Replace,
                    id: Some(st.id.clone()),
                    reason: Some(format!(
                        "resource type changes from {} to {}",
                        st.resource_type, d.resource_type
                    )),
                    before: Some(st.attrs.clone()),
                    attribute_changes: attribute_changes(&st.attrs, &after, &|_| true),
                    ..base
                },
                None => {
                    let imported = req
                        .imports
                        .get(&d.address)
                        .filter(|id| !tracked.contains(&(d.resource_type.as_str(), id.as_str())))
                        .and_then(|id| req.live.get(&d.resource_type, id));
                    let marker = owner_marker(&owner, &d.address);
                    let found = req.live.by_marker.get(&(d.resource_type.clone(), marker)).and_then(|ids| {
                        ids.iter().find(|id| !tracked.contains(&(d.resource_type.as_str(), id.as_str())))
                    });
                    match imported.or_else(|| found.and_then(|id| req.live.get(&d.resource_type, id))) {
                        Some(live) => {
                            let before = r.mask(&live.attrs, &paths);
                            let mut c = compare(base, &live.id, &before, &after, d, req, None);
                            c.adopt = true;
                            c.reason = Some(if imported.is_some() {
                                "imported".into()
                            } else {
                                "found by its ownership marker but missing from state (an earlier apply did not finish); adopting it"
                                    .into()
                            });
                            c
                        }
                        None => ResourceChange {
                            reason: others_reason(req, d, &owner, &tracked),
                            attribute_changes: attribute_changes(&Value::Null, &after, &|_| false),
                            ..base
                        },
                    }
                }
            };
            // Other live objects carrying this address's marker of this state: a create that took
            // effect late (the response was lost, a retry created another, the first appeared
            // later). Each extra one is deleted, never adopted.
            let kept = change.id.clone();
            changes.extend(duplicates(req, d, &owner, kept.as_deref(), &tracked));
            changes.push(change);
        }
    }

    for st in &req.state.resources {
        if (!req.destroy && desired_addrs.contains(st.address.as_str()))
            || !targeted(&st.address, req.targets)
        {
            continue;
        }
        let live = req.live.get(&st.resource_type, &st.id);
        let gone = req.refreshed && live.is_none();
        let before = live.map(|l| r.mask(&l.attrs, &st.sensitive_paths)).unwrap_or_else(|| st.attrs.clone());
        changes.push(ResourceChange {
            address: st.address.clone(),
            resource_type: st.resource_type.clone(),
            provider: st.provider.clone(),
            origin: st.origin.clone(),
            action: Action::Delete,
            id: Some(st.id.clone()),
            reason: Some(if gone {
                "already deleted outside watchkeep; only the state entry is removed".into()
            } else if req.destroy {
                "destroy".into()
            } else {
                "no longer in the configuration".into()
            }),
            adopt: false,
            already_gone: gone,
            attribute_changes: attribute_changes(&before, &Value::Null, &|_| false),
            before: Some(before),
            after: None,
            after_hash: None,
            sensitive_paths: st.sensitive_paths.clone(),
            links: Vec::new(),
        });
    }

    changes.sort_by(|a, b| a.address.cmp(&b.address));
    let mut summary = Summary::default();
    for c in &changes {
        match c.action {
            Action::NoOp => summary.no_op += 1,
            Action::Create => summary.create += 1,
            Action::Update => summary.update += 1,
            Action::Replace => summary.replace += 1,
            Action::Delete => summary.delete += 1,
        }
    }
    Plan {
        format_version: PLAN_FORMAT_VERSION,
        watchkeep_version: env!("CARGO_PKG_VERSION").to_string(),
        created: req.created.clone(),
        lineage: Some(req.state.lineage.clone()),
        serial: req.state.serial,
        destroy: req.destroy,
        refreshed: req.refreshed,
        targets: req.targets.to_vec(),
        summary,
        changes,
        conflicts,
        endpoints: BTreeMap::new(),
    }
}

/// Delete changes for the live objects that carry `d`'s marker of this state besides `kept` (the
/// object state tracks or the plan adopts). Their address is `<address> (duplicate <id>)`: no
/// state entry has it, so deleting one leaves the kept object's entry alone.
fn duplicates(
    req: &PlanRequest,
    d: &PlanDesired,
    owner: &str,
    kept: Option<&str>,
    tracked: &BTreeSet<(&str, &str)>,
) -> Vec<ResourceChange> {
    let Some(ids) = req.live.by_marker.get(&(d.resource_type.clone(), owner_marker(owner, &d.address)))
    else {
        return Vec::new();
    };
    ids.iter()
        .filter(|id| Some(id.as_str()) != kept && !tracked.contains(&(d.resource_type.as_str(), id.as_str())))
        .filter_map(|id| req.live.get(&d.resource_type, id))
        .map(|live| {
            let before = req.redactor.mask(&live.attrs, &[]);
            ResourceChange {
                address: format!("{} (duplicate {})", d.address, live.id),
                resource_type: d.resource_type.clone(),
                provider: d.provider.clone(),
                origin: d.origin.clone(),
                action: Action::Delete,
                id: Some(live.id.clone()),
                reason: Some(format!(
                    "duplicate of {}: it carries the same ownership marker of this state (a create that took effect late); the extra object is deleted",
                    d.address
                )),
                adopt: false,
                already_gone: false,
                attribute_changes: attribute_changes(&before, &Value::Null, &|_| false),
                before: Some(before),
                after: None,
                after_hash: None,
                sensitive_paths: Vec::new(),
                links: Vec::new(),
            }
        })
        .collect()
}

/// Why a create goes ahead although objects carry a marker for its address: they belong to
/// other states (left alone: this state makes its own), or were marked before markers named their
/// state (not adopted: nothing says they are this state's).
fn others_reason(
    req: &PlanRequest,
    d: &PlanDesired,
    owner: &str,
    tracked: &BTreeSet<(&str, &str)>,
) -> Option<String> {
    let found = req.live.by_address_marker.get(&(d.resource_type.clone(), address_marker(&d.address)))?;
    let mut other_states: Vec<&str> = Vec::new();
    let mut unnamed: Vec<&str> = Vec::new();
    for (o, id) in found {
        if tracked.contains(&(d.resource_type.as_str(), id.as_str())) {
            continue;
        }
        match o.as_deref() {
            Some(o) if o != owner => other_states.push(o),
            None => unnamed.push(id),
            _ => {}
        }
    }
    let mut parts = Vec::new();
    if !other_states.is_empty() {
        other_states.sort_unstable();
        other_states.dedup();
        parts.push(format!(
            "another watchkeep state (owner id {}) has an object for this address; it is left alone and this state creates its own",
            other_states.join(", ")
        ));
    }
    if !unnamed.is_empty() {
        parts.push(format!(
            "{} {} this address's marker from before markers named their state and {} not adopted (if {} this state's, adopt with `watchkeep import --id {}`)",
            unnamed.join(", "),
            if unnamed.len() == 1 { "carries" } else { "carry" },
            if unnamed.len() == 1 { "is" } else { "are" },
            if unnamed.len() == 1 { "it is" } else { "they are" },
            unnamed[0]
        ));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// Whether a difference between the vendor (`before`) and the configuration (`after`) is one
/// watchkeep must act on. Only what the configuration sets is managed:
/// - a path the configuration sets is compared; when the vendor does not return it and did not
///   return it when the object was last written either (a write-only attribute), it counts only
///   if the configured value changed since (by [`ResourceState::configured`]);
/// - a path the configuration does not set is the vendor's to choose (Terraform's optional +
///   computed): never a change, unless the configuration set it when the object was last written
///   (then it was removed from the configuration, and the removal is a change).
fn managed_change(
    c: &AttrChange,
    prior: Option<&crate::state::ResourceState>,
    baseline: &dyn Fn(&str) -> bool,
) -> bool {
    match (&c.before, &c.after) {
        (before, Some(after)) => {
            let vendor_silent = before.as_ref().is_none_or(is_empty_value);
            match prior {
                Some(p) if vendor_silent && !baseline(&c.path) => {
                    p.configured.get(&c.path) != Some(&value_hash(after))
                }
                _ => true,
            }
        }
        (Some(_), None) => prior.is_some_and(|p| p.configured.contains_key(&c.path)),
        (None, None) => false,
    }
}

fn compare(
    base: ResourceChange,
    id: &str,
    before: &Value,
    after: &Value,
    d: &PlanDesired,
    req: &PlanRequest,
    prior: Option<&crate::state::ResourceState>,
) -> ResourceChange {
    let kind = |path: &str| {
        let top = path.split(['.', '[']).next().unwrap_or(path);
        (req.update_kind)(&d.resource_type, top) == UpdateKind::Replace
    };
    let baseline = std::cell::OnceCell::new();
    let in_baseline = |path: &str| {
        let leaves = baseline.get_or_init(|| prior.map(|p| leaves(&p.attrs)).unwrap_or_default());
        leaves.get(path).is_some_and(|v| !is_empty_value(v))
    };
    let attrs: Vec<AttrChange> = attribute_changes(before, after, &kind)
        .into_iter()
        .filter(|c| managed_change(c, prior, &in_baseline))
        .collect();
    let recorded = prior.map(|p| &p.attrs);
    let action = if attrs.is_empty() {
        Action::NoOp
    } else if attrs.iter().any(|a| a.replace) {
        Action::Replace
    } else {
        Action::Update
    };
    let reason = match recorded {
        Some(rec) if action != Action::NoOp && !attribute_changes(rec, before, &|_| false).is_empty() => {
            Some("changed outside watchkeep".to_string())
        }
        _ => None,
    };
    // Unchanged objects keep only their hash: at 10,000 objects a copy of every before/after
    // would double the plan's memory for nothing anyone reads.
    let unchanged = action == Action::NoOp;
    ResourceChange {
        action,
        id: Some(id.to_string()),
        reason,
        before: (!unchanged).then(|| before.clone()),
        after: if unchanged { None } else { base.after.clone() },
        attribute_changes: attrs,
        ..base
    }
}

/// Counts of the objects in a plan by origin, for summaries.
pub fn by_origin(plan: &Plan) -> BTreeMap<String, Summary> {
    let mut out: BTreeMap<String, Summary> = BTreeMap::new();
    for c in &plan.changes {
        let s = out.entry(c.origin.clone().unwrap_or_else(|| c.address.clone())).or_default();
        match c.action {
            Action::NoOp => s.no_op += 1,
            Action::Create => s.create += 1,
            Action::Update => s.update += 1,
            Action::Replace => s.replace += 1,
            Action::Delete => s.delete += 1,
        }
    }
    out
}

#[cfg(test)]
mod tests;
