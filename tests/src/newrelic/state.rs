//! What one API key sees: its accounts and, per account, the objects NerdGraph manages.
//!
//! Objects are kept as JSON in the shape NerdGraph returns them (`AlertsPolicy`,
//! `AlertsNrqlStaticCondition` with its `__typename`, `AiNotificationsDestination`, ...), so the
//! executor can project any selection set over them and the test hooks can read and change them
//! the way a user clicking in the New Relic UI would. Secrets never enter these values: they are
//! kept aside ([`Account::secrets`]).

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use indexmap::IndexMap;
use serde_json::{json, Value};

/// The kinds of object the stand-in keeps (for the out-of-band test hooks).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ObjectKind {
    /// `AlertsPolicy`, keyed by its numeric id.
    Policy,
    /// `AlertsNrqlStaticCondition`, keyed by its numeric id.
    NrqlCondition,
    /// `AiNotificationsDestination`, keyed by its UUID.
    Destination,
    /// `AiNotificationsChannel`, keyed by its UUID.
    Channel,
    /// `AiWorkflowsWorkflow`, keyed by its UUID.
    Workflow,
    /// `DashboardEntity`, keyed by its entity GUID.
    Dashboard,
    /// `InfrastructureHostEntityOutline`, keyed by its entity GUID.
    Host,
    /// `AiIssuesNewRelicIncident` (with its `__typename`), keyed by its `incidentId`. Seeded
    /// with [`crate::newrelic::NewRelicStandIn::open_incident`]; no mutation creates one.
    Incident,
}

impl ObjectKind {
    pub const ALL: [ObjectKind; 8] = [
        ObjectKind::Policy,
        ObjectKind::NrqlCondition,
        ObjectKind::Destination,
        ObjectKind::Channel,
        ObjectKind::Workflow,
        ObjectKind::Dashboard,
        ObjectKind::Host,
        ObjectKind::Incident,
    ];

    fn name(self) -> &'static str {
        match self {
            ObjectKind::Policy => "policy",
            ObjectKind::NrqlCondition => "nrql-condition",
            ObjectKind::Destination => "destination",
            ObjectKind::Channel => "channel",
            ObjectKind::Workflow => "workflow",
            ObjectKind::Dashboard => "dashboard",
            ObjectKind::Host => "host",
            ObjectKind::Incident => "incident",
        }
    }
}

impl fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ObjectKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        ObjectKind::ALL.into_iter().find(|k| k.name() == s).ok_or_else(|| {
            let names: Vec<&str> = ObjectKind::ALL.iter().map(|k| k.name()).collect();
            format!("unknown object kind `{s}`; expected one of {}", names.join(", "))
        })
    }
}

/// One API key's view of New Relic.
pub(crate) struct Tenant {
    /// The user the key belongs to (`createdBy`, `updatedBy`, dashboard owners).
    pub(crate) user_id: i64,
    pub(crate) accounts: IndexMap<i64, Account>,
}

impl Tenant {
    pub(crate) fn new(api_key: &str) -> Self {
        let hash = fnv1a(api_key.as_bytes());
        let mut tenant =
            Tenant { user_id: 1_000_000 + (hash >> 32) as i64 % 9_000_000, accounts: IndexMap::new() };
        let id = default_account_id(api_key);
        tenant.accounts.insert(id, Account::new(id, format!("Sandbox account {id}")));
        tenant
    }

    pub(crate) fn account(&self, id: i64) -> Option<&Account> {
        self.accounts.get(&id)
    }

    pub(crate) fn account_mut(&mut self, id: i64) -> Option<&mut Account> {
        self.accounts.get_mut(&id)
    }

    /// The `UserReference` of the key's user.
    pub(crate) fn user(&self) -> Value {
        json!({
            "id": self.user_id,
            "name": "Sandbox User",
            "email": format!("user-{}@sandbox.example.com", self.user_id),
            "gravatar": null,
        })
    }

    pub(crate) fn user_email(&self) -> String {
        format!("user-{}@sandbox.example.com", self.user_id)
    }
}

/// The account every new API key starts with: `1_000_000 + fnv1a(key) % 9_000_000`.
pub fn default_account_id(api_key: &str) -> i64 {
    1_000_000 + (fnv1a(api_key.as_bytes()) % 9_000_000) as i64
}

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// One New Relic account's objects, each in creation order.
pub(crate) struct Account {
    pub(crate) id: i64,
    pub(crate) name: String,
    pub(crate) policies: IndexMap<String, Value>,
    pub(crate) conditions: IndexMap<String, Value>,
    pub(crate) destinations: IndexMap<String, Value>,
    /// Destination id → the secrets it was given (tokens, passwords, header values, secure URL
    /// suffixes). Never projected into an answer.
    pub(crate) secrets: HashMap<String, Value>,
    pub(crate) channels: IndexMap<String, Value>,
    pub(crate) workflows: IndexMap<String, Value>,
    /// `AlertsMutingRule`s by id, with their schedule input under `__wk_schedule`.
    pub(crate) muting_rules: IndexMap<String, Value>,
    pub(crate) dashboards: IndexMap<String, Value>,
    pub(crate) hosts: IndexMap<String, Value>,
    /// Incidents (`AiIssuesNewRelicIncident`), in the order they were opened.
    pub(crate) incidents: IndexMap<String, Value>,
    /// `{guid, url, params}` of every `dashboardCreateSnapshotUrl`.
    pub(crate) snapshots: Vec<Value>,
    /// Events posted to the Event API (each with `eventType` and `timestamp` in epoch ms), in
    /// the order received: what `nrql` queries and conditions evaluate.
    pub(crate) events: Vec<Value>,
}

impl Account {
    pub(crate) fn new(id: i64, name: String) -> Self {
        Account {
            id,
            name,
            policies: IndexMap::new(),
            conditions: IndexMap::new(),
            destinations: IndexMap::new(),
            secrets: HashMap::new(),
            channels: IndexMap::new(),
            workflows: IndexMap::new(),
            muting_rules: IndexMap::new(),
            dashboards: IndexMap::new(),
            hosts: IndexMap::new(),
            incidents: IndexMap::new(),
            snapshots: Vec::new(),
            events: Vec::new(),
        }
    }

    pub(crate) fn store(&self, kind: ObjectKind) -> &IndexMap<String, Value> {
        match kind {
            ObjectKind::Policy => &self.policies,
            ObjectKind::NrqlCondition => &self.conditions,
            ObjectKind::Destination => &self.destinations,
            ObjectKind::Channel => &self.channels,
            ObjectKind::Workflow => &self.workflows,
            ObjectKind::Dashboard => &self.dashboards,
            ObjectKind::Host => &self.hosts,
            ObjectKind::Incident => &self.incidents,
        }
    }

    pub(crate) fn store_mut(&mut self, kind: ObjectKind) -> &mut IndexMap<String, Value> {
        match kind {
            ObjectKind::Policy => &mut self.policies,
            ObjectKind::NrqlCondition => &mut self.conditions,
            ObjectKind::Destination => &mut self.destinations,
            ObjectKind::Channel => &mut self.channels,
            ObjectKind::Workflow => &mut self.workflows,
            ObjectKind::Dashboard => &mut self.dashboards,
            ObjectKind::Host => &mut self.hosts,
            ObjectKind::Incident => &mut self.incidents,
        }
    }

    /// `AccountOutline` / `Account` identity fields.
    pub(crate) fn outline(&self) -> Value {
        json!({ "id": self.id, "name": self.name })
    }
}

/// A New Relic entity GUID: unpadded base64 of `ACCOUNT|DOMAIN|TYPE|ID`.
pub(crate) fn entity_guid(account: i64, domain: &str, ty: &str, id: &str) -> String {
    base64_encode(format!("{account}|{domain}|{ty}|{id}").as_bytes())
}

/// The parts of an entity GUID, if it is one.
pub(crate) fn parse_guid(guid: &str) -> Option<(i64, String, String, String)> {
    let text = String::from_utf8(base64_decode(guid)?).ok()?;
    let mut parts = text.splitn(4, '|');
    let account = parts.next()?.parse().ok()?;
    Some((account, parts.next()?.to_owned(), parts.next()?.to_owned(), parts.next()?.to_owned()))
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 without padding.
pub(crate) fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..=chunk.len() {
            out.push(char::from(B64[(n >> (18 - 6 * i)) as usize & 63]));
        }
    }
    out
}

/// Standard base64, padding optional.
pub(crate) fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let text = text.trim_end_matches('=');
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in text.bytes() {
        let v = B64.iter().position(|&b| b == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// Milliseconds since the epoch, now.
pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// RFC 3339 UTC with milliseconds, now (`DateTime` fields).
pub(crate) fn now_iso() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Cursor pagination over an already filtered and sorted list. Cursors are opaque (base64 of
/// `wk:<list>:<offset>`) and only valid for the list they came from.
pub(crate) fn page<T>(
    items: Vec<T>,
    cursor: Option<&str>,
    size: usize,
    list: &str,
) -> Result<Page<T>, String> {
    let start = match cursor {
        None => 0,
        Some("") => 0,
        Some(c) => decode_cursor(c, list).ok_or_else(|| format!("Invalid cursor: {c:?}"))?,
    };
    let total = items.len();
    let size = size.max(1);
    let end = start.saturating_add(size).min(total);
    let next = (end < total).then(|| base64_encode(format!("wk:{list}:{end}").as_bytes()));
    let items = items.into_iter().skip(start).take(end.saturating_sub(start)).collect();
    Ok(Page { items, next_cursor: next, total })
}

fn decode_cursor(cursor: &str, list: &str) -> Option<usize> {
    let text = String::from_utf8(base64_decode(cursor)?).ok()?;
    let rest = text.strip_prefix("wk:")?.strip_prefix(list)?.strip_prefix(':')?;
    rest.parse().ok()
}

pub(crate) struct Page<T> {
    pub(crate) items: Vec<T>,
    pub(crate) next_cursor: Option<String>,
    pub(crate) total: usize,
}

impl<T> Page<T> {
    pub(crate) fn next_cursor_json(&self) -> Value {
        self.next_cursor.as_ref().map_or(Value::Null, |c| json!(c))
    }
}

/// An `ID` argument as text (literal ints arrive as numbers).
pub(crate) fn id_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips() {
        for text in ["", "a", "ab", "abc", "1234567|VIZ|DASHBOARD|42", "\u{e9}t\u{e9}"] {
            let enc = base64_encode(text.as_bytes());
            assert!(!enc.contains('='));
            assert_eq!(base64_decode(&enc).as_deref(), Some(text.as_bytes()));
        }
        assert_eq!(base64_encode(b"1|VIZ|DASHBOARD|1"), "MXxWSVp8REFTSEJPQVJEfDE");
        assert_eq!(
            parse_guid(&entity_guid(12, "INFRA", "HOST", "9")),
            Some((12, "INFRA".into(), "HOST".into(), "9".into()))
        );
        assert_eq!(base64_decode("not base64!"), None);
    }

    #[test]
    fn pages_cover_everything_once() {
        let items: Vec<u32> = (0..120).collect();
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            let p = page(items.clone(), cursor.as_deref(), 50, "x").expect("page");
            assert_eq!(p.total, 120);
            seen.extend(p.items);
            pages += 1;
            match p.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(pages, 3);
        assert_eq!(seen, items);
        assert!(page(items.clone(), Some("garbage"), 50, "x").is_err());
        let other = page(items.clone(), None, 50, "y").expect("page").next_cursor.expect("more");
        assert!(page(items, Some(&other), 50, "x").is_err(), "a cursor is only good for its own list");
    }

    #[test]
    fn kinds_parse() {
        for kind in ObjectKind::ALL {
            assert_eq!(kind.to_string().parse::<ObjectKind>(), Ok(kind));
        }
        assert!("monitor".parse::<ObjectKind>().is_err());
    }
}
