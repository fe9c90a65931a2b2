//! Entities: dashboards (`dashboardCreate`, `dashboardUpdate`, `dashboardDelete`,
//! `dashboardCreateSnapshotUrl`), infrastructure entities (hosts, containers, cloud databases:
//! seeded by tests, the sandbox or `POST /_sandbox/newrelic/entities`; read-only), and reading them
//! back through `actor.entity(guid)`, `actor.entities(guids)` and `actor.entitySearch`.
//!
//! Dashboards are stored as the `DashboardEntity` New Relic returns: the input as given, with
//! server fields (`guid`s for the dashboard and each page, numeric widget ids, `owner`,
//! `createdAt`/`updatedAt`, `permalink`, ...) and every optional member the input could have set
//! present as `null`. A widget gets a `visualization.id` from its `configuration` kind when none
//! is given (`line` → `viz.line`), a `rawConfiguration` from that kind's settings when none is
//! given, and a default layout (column 1, row 1, width 4, height 3). Refused inputs (blank names,
//! no pages, a widget with no visualization or two configuration kinds, a layout outside the
//! 12-column grid, a query for an account the key cannot use, an `NRQL` variable without a
//! query) come back as typed `INVALID_INPUT` errors in `errors` with `entityResult: null`.
//! `dashboardUpdate` replaces the dashboard (page guids and widget ids given back are kept);
//! an unknown guid there is a `NOT_FOUND` error. `dashboardDelete` of an unknown guid answers
//! `status: FAILURE` with a `DASHBOARD_NOT_FOUND` error. `dashboardCreateSnapshotUrl` takes a
//! *page* guid (as the schema says) and hands out a URL on the stand-in that serves a PNG.
//!
//! Entity search understands `queryBuilder` (`domain`, `type`, `name` (substring), `tags`,
//! `reporting`, `alertSeverity`, `alertable`) and `query` strings made of `field = 'value'`,
//! `field LIKE '%value%'` and `field IN ('a', 'b')` joined by `AND` over `domain`, `type`, `name`,
//! `reporting`, `accountId`, `entityType` and `tags.KEY`. Results are sorted by name and come
//! in pages of 200, like New Relic's.

use std::sync::atomic::Ordering;

use apollo_compiler::schema::ExtendedType;
use apollo_compiler::Schema;
use serde_json::{json, Map, Value};

use super::exec::args::{given, id, int, obj, str_opt};
use super::exec::{Cx, Resolved};
use super::render::WidgetPicture;
use super::schema::nerdgraph;
use super::state::{entity_guid, now_iso, now_ms, page, parse_guid, Account, Tenant};
use super::{nrql, Snapshot};

/// One infrastructure host to seed into an account.
#[derive(Clone, Debug, PartialEq)]
pub struct HostSeed {
    pub name: String,
    /// Whether the host is reporting (`reporting` on the entity).
    pub reporting: bool,
    /// `(key, values)` entity tags.
    pub tags: Vec<(String, Vec<String>)>,
}

impl HostSeed {
    /// A reporting host without tags.
    pub fn new(name: &str) -> Self {
        HostSeed { name: name.to_owned(), reporting: true, tags: Vec::new() }
    }

    pub fn with_tag(mut self, key: &str, value: &str) -> Self {
        match self.tags.iter_mut().find(|(k, _)| k == key) {
            Some((_, values)) => values.push(value.to_owned()),
            None => self.tags.push((key.to_owned(), vec![value.to_owned()])),
        }
        self
    }

    pub fn not_reporting(mut self) -> Self {
        self.reporting = false;
        self
    }
}

/// Hosts `web-1..web-N` (tags `env: demo`, `role: web`) for `watchkeep-sandbox --demo-hosts`.
pub fn demo_hosts(n: usize) -> Vec<HostSeed> {
    (1..=n)
        .map(|i| HostSeed::new(&format!("web-{i}")).with_tag("env", "demo").with_tag("role", "web"))
        .collect()
}

/// One infrastructure entity to seed into an account: a host, a container, a cloud database
/// (what `coverage --live` looks for with `entitySearch`).
#[derive(Clone, Debug, PartialEq)]
pub struct EntitySeed {
    pub name: String,
    /// `type` of the entity in domain `INFRA`: `HOST`, `CONTAINER`, `AWSRDSDBINSTANCE`, …
    pub entity_type: String,
    /// `reporting` on the entity.
    pub reporting: bool,
    /// `(key, values)` entity tags.
    pub tags: Vec<(String, Vec<String>)>,
    /// `lastReportingChangeAt` (epoch ms); `None`: the time of the seed.
    pub last_reporting_change_at: Option<i64>,
}

impl EntitySeed {
    /// A reporting entity of `entity_type` in domain `INFRA`.
    pub fn new(name: &str, entity_type: &str) -> Self {
        EntitySeed {
            name: name.to_owned(),
            entity_type: entity_type.to_owned(),
            reporting: true,
            tags: Vec::new(),
            last_reporting_change_at: None,
        }
    }

    pub fn with_tag(mut self, key: &str, value: &str) -> Self {
        match self.tags.iter_mut().find(|(k, _)| k == key) {
            Some((_, values)) => values.push(value.to_owned()),
            None => self.tags.push((key.to_owned(), vec![value.to_owned()])),
        }
        self
    }

    /// Not reporting since `at` (epoch ms).
    pub fn stopped_at(mut self, at: i64) -> Self {
        self.reporting = false;
        self.last_reporting_change_at = Some(at);
        self
    }

    /// Reads `{"name", "type"?: "HOST", "reporting"?: true, "tags"?: {"key": ["v"] | "v"},
    /// "lastReportingChangeAt"?: ms}` (the `/_sandbox/newrelic/entities` body's items).
    pub fn from_json(v: &Value) -> Result<Self, String> {
        let name = v["name"]
            .as_str()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| format!("an entity needs a non-empty string `name`: {v}"))?;
        let mut seed = EntitySeed::new(name, v["type"].as_str().unwrap_or("HOST"));
        if let Some(r) = v.get("reporting") {
            seed.reporting =
                r.as_bool().ok_or_else(|| format!("`reporting` of {name} must be true or false"))?;
        }
        seed.last_reporting_change_at = v["lastReportingChangeAt"].as_i64();
        for (key, values) in v["tags"].as_object().into_iter().flatten() {
            let values: Vec<String> = match values {
                Value::String(s) => vec![s.clone()],
                Value::Array(a) => a.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
                _ => return Err(format!("tag `{key}` of {name} must be a string or a list of strings")),
            };
            seed.tags.push((key.clone(), values));
        }
        Ok(seed)
    }
}

impl From<&HostSeed> for EntitySeed {
    fn from(h: &HostSeed) -> Self {
        EntitySeed {
            name: h.name.clone(),
            entity_type: "HOST".to_owned(),
            reporting: h.reporting,
            tags: h.tags.clone(),
            last_reporting_change_at: None,
        }
    }
}

/// Inserts (or replaces, by name) hosts into an account.
pub(crate) fn seed_hosts(account: &mut Account, hosts: &[HostSeed]) {
    let seeds: Vec<EntitySeed> = hosts.iter().map(EntitySeed::from).collect();
    seed_entities(account, &seeds);
}

/// Inserts (or replaces, by name and type) infrastructure entities into an account. Hosts are
/// `InfrastructureHostEntityOutline`s (`entityType: INFRASTRUCTURE_HOST_ENTITY`); other types are
/// `GenericInfrastructureEntityOutline`s (`GENERIC_INFRASTRUCTURE_ENTITY`), the schema's outline
/// for integration entities.
pub(crate) fn seed_entities(account: &mut Account, seeds: &[EntitySeed]) {
    let now = now_ms();
    for h in seeds {
        let ty = h.entity_type.to_ascii_uppercase();
        let existing = account
            .hosts
            .iter()
            .find(|(_, v)| v["name"] == json!(h.name) && v["type"] == json!(ty))
            .map(|(k, _)| k.clone());
        let guid = existing.unwrap_or_else(|| {
            let salt = if ty == "HOST" { h.name.clone() } else { format!("{ty}/{}", h.name) };
            let id = 4_000_000_000_000_000_000u64 + fnv(&salt) % 1_000_000_000_000_000_000;
            entity_guid(account.id, "INFRA", &ty, &id.to_string())
        });
        let mut tags: Vec<Value> = vec![json!({"key": "accountId", "values": [account.id.to_string()]})];
        tags.extend(h.tags.iter().map(|(k, vs)| json!({"key": k, "values": vs})));
        let (typename, entity_type) = if ty == "HOST" {
            ("InfrastructureHostEntityOutline", "INFRASTRUCTURE_HOST_ENTITY")
        } else {
            ("GenericInfrastructureEntityOutline", "GENERIC_INFRASTRUCTURE_ENTITY")
        };
        let mut entity = json!({
            "__typename": typename,
            "guid": guid,
            "name": h.name,
            "accountId": account.id,
            "account": account.outline(),
            "domain": "INFRA",
            "type": ty,
            "entityType": entity_type,
            "reporting": h.reporting,
            "alertSeverity": if h.reporting { "NOT_CONFIGURED" } else { "NOT_ALERTING" },
            "tags": tags,
            "permalink": format!("https://one.newrelic.com/redirect/entity/{guid}"),
            "indexedAt": now,
            "firstIndexedAt": now,
            "lastReportingChangeAt": h.last_reporting_change_at.unwrap_or(now),
        });
        if ty == "HOST" {
            entity["hostSummary"] = Value::Null;
        }
        account.hosts.insert(guid, entity);
    }
}

fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3))
}

// ---- dashboards ----

fn invalid(description: impl Into<String>) -> Value {
    json!({"type": "INVALID_INPUT", "description": description.into()})
}

/// Fills, for every argument-less field of `output` that `input` could have set, a missing
/// member with `null`, recursively (so a query for an optional member the client left out
/// gets `null`, as from New Relic, and not "not implemented").
fn complete(schema: &Schema, value: &mut Value, output: &str, input: &str) {
    let (Some(ExtendedType::Object(out)), Some(ExtendedType::InputObject(inp))) =
        (schema.types.get(output), schema.types.get(input))
    else {
        return;
    };
    let Value::Object(map) = value else { return };
    for (name, field) in &out.fields {
        if !field.arguments.is_empty() {
            continue;
        }
        let Some(in_field) = inp.fields.get(name) else { continue };
        match map.get_mut(name.as_str()) {
            None => {
                map.insert(name.to_string(), Value::Null);
            }
            Some(Value::Array(items)) => {
                for item in items {
                    complete(schema, item, field.ty.inner_named_type(), in_field.ty.inner_named_type());
                }
            }
            Some(v) if v.is_object() => {
                complete(schema, v, field.ty.inner_named_type(), in_field.ty.inner_named_type())
            }
            Some(_) => {}
        }
    }
}

const VIZ_KINDS: &[&str] = &["area", "bar", "billboard", "line", "markdown", "pie", "table"];

/// The stored `DashboardEntity` for an input, or an `INVALID_INPUT` error.
fn build_dashboard(
    cx: &Cx<'_>,
    tenant: &Tenant,
    account_id: i64,
    input: &Map<String, Value>,
    old: Option<&Value>,
) -> Result<Value, Value> {
    let schema = &nerdgraph().map_err(invalid)?.schema;
    let name = str_opt(input, "name").unwrap_or_default();
    if name.trim().is_empty() {
        return Err(invalid("name must not be blank"));
    }
    let pages_in = input.get("pages").and_then(Value::as_array).cloned().unwrap_or_default();
    if pages_in.is_empty() {
        return Err(invalid("a dashboard needs at least one page"));
    }
    let now = now_iso();
    let owner = json!({"email": tenant.user_email(), "userId": tenant.user_id});
    let old_page = |guid: &str| -> Option<Value> {
        old.and_then(|o| o["pages"].as_array()?.iter().find(|p| p["guid"].as_str() == Some(guid)).cloned())
    };
    let old_widget_ids: Vec<String> = old
        .and_then(|o| o["pages"].as_array())
        .map(|ps| {
            ps.iter()
                .flat_map(|p| p["widgets"].as_array().cloned().unwrap_or_default())
                .filter_map(|w| w["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let mut pages = Vec::new();
    for (pi, page_in) in pages_in.iter().enumerate() {
        let mut page = page_in.clone();
        if page["name"].as_str().is_none_or(|n| n.trim().is_empty()) {
            return Err(invalid(format!("pages[{pi}].name must not be blank")));
        }
        let previous = page_in["guid"].as_str().and_then(old_page);
        let (guid, created) = match &previous {
            Some(p) => (p["guid"].clone(), p["createdAt"].clone()),
            None => {
                let id = cx.shared.next_id.fetch_add(1, Ordering::Relaxed).to_string();
                (json!(entity_guid(account_id, "VIZ", "DASHBOARD", &id)), json!(now))
            }
        };
        page["guid"] = guid;
        page["createdAt"] = created;
        page["updatedAt"] = json!(now);
        page["owner"] = owner.clone();
        let widgets_in = page_in["widgets"].as_array().cloned().unwrap_or_default();
        let mut widgets = Vec::new();
        for (wi, w_in) in widgets_in.iter().enumerate() {
            let at = format!("pages[{pi}].widgets[{wi}]");
            widgets.push(build_widget(cx, tenant, w_in, &old_widget_ids, &at)?);
        }
        page["widgets"] = Value::Array(widgets);
        complete(schema, &mut page, "DashboardPage", "DashboardPageInput");
        pages.push(page);
    }
    if let Some(vars) = input.get("variables").and_then(Value::as_array) {
        for (i, v) in vars.iter().enumerate() {
            if v["name"].as_str().is_none_or(|n| n.trim().is_empty()) {
                return Err(invalid(format!("variables[{i}].name must not be blank")));
            }
            if v["type"] == json!("NRQL") && v["nrqlQuery"].is_null() {
                return Err(invalid(format!("variables[{i}]: an NRQL variable needs nrqlQuery")));
            }
            if v["type"] == json!("ENUM") && v["items"].as_array().is_none_or(Vec::is_empty) {
                return Err(invalid(format!("variables[{i}]: an ENUM variable needs items")));
            }
        }
    }
    let account = tenant.account(account_id).map(Account::outline).unwrap_or(Value::Null);
    let (guid, created) = match old {
        Some(o) => (o["guid"].clone(), o["createdAt"].clone()),
        None => {
            let id = cx.shared.next_id.fetch_add(1, Ordering::Relaxed).to_string();
            (json!(entity_guid(account_id, "VIZ", "DASHBOARD", &id)), json!(now))
        }
    };
    let now_ms = now_ms();
    let mut d = json!({
        "__typename": "DashboardEntity",
        "guid": guid,
        "name": name,
        "description": input.get("description").cloned().unwrap_or(Value::Null),
        "permissions": input.get("permissions").cloned().unwrap_or(json!("PUBLIC_READ_WRITE")),
        "variables": input.get("variables").cloned().unwrap_or(Value::Null),
        "pages": pages,
        "accountId": account_id,
        "account": account,
        "owner": owner,
        "createdAt": created,
        "updatedAt": now,
        "domain": "VIZ",
        "type": "DASHBOARD",
        "entityType": "DASHBOARD_ENTITY",
        "reporting": true,
        "alertSeverity": null,
        "dashboardParentGuid": null,
        "tags": [{"key": "accountId", "values": [account_id.to_string()]}],
        "indexedAt": now_ms,
        "firstIndexedAt": old.map_or(json!(now_ms), |o| o["firstIndexedAt"].clone()),
        "lastReportingChangeAt": now_ms,
    });
    d["permalink"] =
        json!(format!("https://one.newrelic.com/redirect/entity/{}", d["guid"].as_str().unwrap_or_default()));
    complete(schema, &mut d, "DashboardEntityResult", "DashboardInput");
    Ok(d)
}

fn build_widget(
    cx: &Cx<'_>,
    tenant: &Tenant,
    w_in: &Value,
    old_ids: &[String],
    at: &str,
) -> Result<Value, Value> {
    let mut w = w_in.clone();
    let obj = w.as_object_mut().ok_or_else(|| invalid(format!("{at} is not an object")))?;
    let linked = obj.remove("linkedEntityGuids");
    let id = obj
        .get("id")
        .and_then(super::state::id_text)
        .filter(|i| old_ids.contains(i))
        .unwrap_or_else(|| cx.shared.next_id.fetch_add(1, Ordering::Relaxed).to_string());
    obj.insert("id".into(), json!(id));
    // Layout on the 12-column grid.
    let mut layout = json!({"column": 1, "row": 1, "width": 4, "height": 3});
    if let Some(given_layout) = obj.get("layout").and_then(Value::as_object) {
        for (k, v) in given_layout {
            if !v.is_null() {
                layout[k.as_str()] = v.clone();
            }
        }
    }
    let n = |k: &str| layout[k].as_i64().unwrap_or_default();
    if !(1..=12).contains(&n("column"))
        || !(1..=12).contains(&n("width"))
        || n("column") + n("width") - 1 > 12
    {
        return Err(invalid(format!("{at}.layout: column and width must fit the 12-column grid")));
    }
    if n("row") < 1 || n("height") < 1 {
        return Err(invalid(format!("{at}.layout: row and height must be at least 1")));
    }
    obj.insert("layout".into(), layout);
    // Configuration, visualization and raw configuration.
    let config = obj.get("configuration").filter(|c| !c.is_null()).cloned();
    let kinds: Vec<&str> = config
        .as_ref()
        .map(|c| VIZ_KINDS.iter().copied().filter(|k| c.get(*k).is_some_and(|v| !v.is_null())).collect())
        .unwrap_or_default();
    if config.is_some() && kinds.len() != 1 {
        return Err(invalid(format!("{at}.configuration must set exactly one widget kind")));
    }
    let viz = obj.get("visualization").and_then(|v| v.get("id")).and_then(Value::as_str).map(str::to_owned);
    let viz = match (viz, kinds.first()) {
        (Some(v), _) => v,
        (None, Some(kind)) => format!("viz.{kind}"),
        (None, None) => return Err(invalid(format!("{at} needs visualization.id or configuration"))),
    };
    obj.insert("visualization".into(), json!({ "id": viz }));
    let raw = match (obj.get("rawConfiguration").filter(|r| !r.is_null()), &config, kinds.first()) {
        (Some(raw), _, _) => raw.clone(),
        (None, Some(c), Some(kind)) => strip_nulls(&c[*kind]),
        _ => json!({}),
    };
    // Queries must name accounts the key can use.
    let queries = raw["nrqlQueries"].as_array().cloned().unwrap_or_default();
    for (qi, q) in queries.iter().enumerate() {
        let ids: Vec<i64> = match (q["accountId"].as_i64(), q["accountIds"].as_array()) {
            (Some(id), _) => vec![id],
            (None, Some(ids)) => ids.iter().filter_map(Value::as_i64).collect(),
            _ => Vec::new(),
        };
        if let Some(bad) = ids.iter().find(|id| tenant.account(**id).is_none()) {
            return Err(invalid(format!(
                "{at}: nrqlQueries[{qi}] uses account {bad}, which this key cannot access"
            )));
        }
        if q["query"].as_str().is_none_or(|s| s.trim().is_empty()) {
            return Err(invalid(format!("{at}: nrqlQueries[{qi}].query must not be blank")));
        }
    }
    obj.insert("rawConfiguration".into(), raw);
    let linked_entities: Vec<Value> = linked
        .and_then(|l| l.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(Value::as_str)
        .filter_map(|g| outline_of(tenant, g))
        .collect();
    obj.insert("linkedEntities".into(), Value::Array(linked_entities));
    if let Ok(ng) = nerdgraph() {
        complete(&ng.schema, &mut w, "DashboardWidget", "DashboardWidgetInput");
    }
    Ok(w)
}

fn strip_nulls(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k.clone(), strip_nulls(v))).collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(strip_nulls).collect()),
        other => other.clone(),
    }
}

/// The account holding a dashboard (by its guid) among the key's accounts.
fn dashboard_account(tenant: &Tenant, guid: &str) -> Option<i64> {
    tenant.accounts.values().find(|a| a.dashboards.contains_key(guid)).map(|a| a.id)
}

pub(crate) fn dashboard_create(cx: &Cx<'_>, args: &Map<String, Value>) -> Resolved {
    let account_id = int(args, "accountId");
    cx.check_account(account_id)?;
    let input = obj(args, "dashboard");
    let mut tenant = cx.tenant.borrow_mut();
    let d = match build_dashboard(cx, &tenant, account_id, input, None) {
        Ok(d) => d,
        Err(e) => return Ok(json!({"entityResult": null, "errors": [e]})),
    };
    let guid = d["guid"].as_str().unwrap_or_default().to_owned();
    let account = tenant.account_mut(account_id).ok_or_else(|| cx.forbidden(account_id))?;
    account.dashboards.insert(guid, d.clone());
    Ok(json!({"entityResult": d, "errors": []}))
}

pub(crate) fn dashboard_update(cx: &Cx<'_>, args: &Map<String, Value>) -> Resolved {
    let guid = id(args, "guid");
    let input = obj(args, "dashboard");
    let mut tenant = cx.tenant.borrow_mut();
    let Some(account_id) = dashboard_account(&tenant, &guid) else {
        return Err(cx.fail("NOT_FOUND", format!("Dashboard {guid} not found")));
    };
    let old = tenant.account(account_id).and_then(|a| a.dashboards.get(&guid)).cloned();
    let d = match build_dashboard(cx, &tenant, account_id, input, old.as_ref()) {
        Ok(d) => d,
        Err(e) => return Ok(json!({"entityResult": null, "errors": [e]})),
    };
    let account = tenant.account_mut(account_id).ok_or_else(|| cx.forbidden(account_id))?;
    account.dashboards.insert(guid, d.clone());
    Ok(json!({"entityResult": d, "errors": []}))
}

pub(crate) fn dashboard_delete(cx: &Cx<'_>, args: &Map<String, Value>) -> Resolved {
    let guid = id(args, "guid");
    let mut tenant = cx.tenant.borrow_mut();
    let Some(account_id) = dashboard_account(&tenant, &guid) else {
        return Ok(json!({
            "status": "FAILURE",
            "errors": [{"type": "DASHBOARD_NOT_FOUND", "description": format!("Dashboard {guid} not found")}],
        }));
    };
    if let Some(account) = tenant.account_mut(account_id) {
        account.dashboards.shift_remove(&guid);
    }
    Ok(json!({"status": "SUCCESS", "errors": []}))
}

/// The `[begin, end)` epoch-ms window of `DashboardSnapshotUrlInput.timeWindow`, as its schema
/// describes the members: `beginTime` needs `endTime` or `duration`, and so does `endTime`;
/// `duration` alone ends now; no window is the last hour (guess: a dashboard's default window).
fn snapshot_window(
    cx: &Cx<'_>,
    params: &Map<String, Value>,
) -> Result<(i64, i64), apollo_compiler::resolvers::FieldError> {
    let tw = params.get("timeWindow").and_then(Value::as_object);
    let get = |k: &str| tw.and_then(|t| t.get(k)).and_then(Value::as_i64);
    let (begin, end, duration) = (get("beginTime"), get("endTime"), get("duration"));
    let bad = |m: &str| cx.fail("BAD_USER_INPUT", format!("Invalid timeWindow: {m}"));
    if duration.is_some_and(|d| d <= 0) {
        return Err(bad("duration must be positive"));
    }
    let now = now_ms();
    let (b, e) = match (begin, end, duration) {
        (Some(b), Some(e), _) => (b, e),
        (Some(b), None, Some(d)) => (b, b + d),
        (None, Some(e), Some(d)) => (e - d, e),
        (None, None, Some(d)) => (now - d, now),
        (None, None, None) => (now - 3_600_000, now),
        (Some(_), None, None) => return Err(bad("a beginTime needs an endTime or a duration")),
        (None, Some(_), None) => return Err(bad("an endTime needs a beginTime or a duration")),
    };
    if e <= b {
        return Err(bad("endTime must be after beginTime"));
    }
    Ok((b, e))
}

pub(crate) fn snapshot_url(cx: &Cx<'_>, args: &Map<String, Value>) -> Resolved {
    let guid = id(args, "guid");
    let params = obj(args, "params");
    let mut tenant = cx.tenant.borrow_mut();
    let holder = tenant.accounts.values().find_map(|a| {
        a.dashboards.values().find_map(|d| {
            let page = d["pages"].as_array()?.iter().find(|p| p["guid"].as_str() == Some(guid.as_str()))?;
            Some((a.id, d.clone(), page.clone()))
        })
    });
    let Some((account_id, dashboard, page)) = holder else {
        // Guess: New Relic's answer for a guid that is no dashboard page is not documented.
        return Err(
            cx.fail("NOT_FOUND", format!("Dashboard page {guid} not found (a page guid is required)"))
        );
    };
    let (begin, end) = snapshot_window(cx, params)?;
    let token = cx.shared.uuid();
    // As New Relic's tutorial shows the URL: `…/image/<uuid>?format=PDF&width=2000&height=2000`
    // (docs.newrelic.com/docs/apis/nerdgraph/examples/export-dashboards-pdfpng-using-api/).
    let url = format!("{}/_sandbox/newrelic/snapshot/{token}?format=PDF&width=2000&height=2000", cx.base_url);
    let events = tenant.account(account_id).map(|a| a.events.clone()).unwrap_or_default();
    let widgets: Vec<WidgetPicture> = page["widgets"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|w| {
            let mut pic = WidgetPicture::of(w);
            if let Some(q) = w["rawConfiguration"]["nrqlQueries"][0]["query"].as_str() {
                pic.points = Some(chart_points(q, &events, begin, end));
            }
            pic
        })
        .collect();
    let window = format!("{} TO {} UTC", utc(begin), utc(end));
    cx.shared.add_snapshot(
        token,
        Snapshot {
            dashboard: dashboard["name"].as_str().unwrap_or_default().to_owned(),
            page: page["name"].as_str().unwrap_or_default().to_owned(),
            window,
            widgets,
        },
    );
    if let Some(account) = tenant.account_mut(account_id) {
        account.snapshots.push(json!({
            "page": guid,
            "dashboard": dashboard["guid"],
            "url": url,
            "params": args.get("params").cloned().unwrap_or(Value::Null),
        }));
    }
    Ok(json!(url))
}

fn utc(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| ms.to_string())
}

/// The points a chart widget's query finds in `[begin, end)` (`(epoch s, value)`); none when
/// the query is outside the stand-in's NRQL.
fn chart_points(query: &str, events: &[Value], begin: i64, end: i64) -> Vec<(i64, f64)> {
    let Ok(mut q) = nrql::parse(query, end) else { return Vec::new() };
    q.since_ms = Some(begin);
    q.until_ms = Some(end);
    q.facet = None;
    if q.timeseries.is_none() {
        q.timeseries = Some(None);
    }
    let key_free = |r: &Value| {
        r.as_object()?.iter().find(|(k, _)| !k.ends_with("TimeSeconds")).and_then(|(_, v)| v.as_f64())
    };
    nrql::run(&q, events, end)
        .unwrap_or_default()
        .iter()
        .filter_map(|r| Some((r["beginTimeSeconds"].as_i64()?, key_free(r)?)))
        .collect()
}

// ---- reading entities ----

/// The outline (`EntityOutline` member) of a known entity.
fn outline_of(tenant: &Tenant, guid: &str) -> Option<Value> {
    tenant.accounts.values().find_map(|a| {
        if let Some(h) = a.hosts.get(guid) {
            return Some(h.clone());
        }
        a.dashboards.get(guid).map(|d| {
            let mut o = d.clone();
            o["__typename"] = json!("DashboardEntityOutline");
            o
        })
    })
}

/// The full entity (`Entity` member) of a known guid.
fn entity_of(tenant: &Tenant, guid: &str) -> Option<Value> {
    let (account_id, ..) = parse_guid(guid)?;
    let account = tenant.account(account_id)?;
    if let Some(d) = account.dashboards.get(guid) {
        return Some(d.clone());
    }
    account.hosts.get(guid).map(|h| {
        let mut e = h.clone();
        let outline = h["__typename"].as_str().unwrap_or("InfrastructureHostEntityOutline");
        e["__typename"] = json!(outline.strip_suffix("Outline").unwrap_or(outline));
        e
    })
}

pub(crate) fn entity(cx: &Cx<'_>, args: &Map<String, Value>) -> Resolved {
    let guid = id(args, "guid");
    Ok(entity_of(&cx.tenant.borrow(), &guid).unwrap_or(Value::Null))
}

pub(crate) fn entities(cx: &Cx<'_>, args: &Map<String, Value>) -> Resolved {
    let tenant = cx.tenant.borrow();
    let guids = args.get("guids").and_then(Value::as_array).cloned().unwrap_or_default();
    Ok(Value::Array(guids.iter().filter_map(Value::as_str).filter_map(|g| entity_of(&tenant, g)).collect()))
}

/// One condition of an entity search: `field op values`.
#[derive(Debug, PartialEq)]
struct Term {
    field: String,
    op: Op,
    values: Vec<String>,
}

#[derive(Debug, PartialEq)]
enum Op {
    Eq,
    Like,
    In,
}

fn entity_field(e: &Value, field: &str) -> Vec<String> {
    if let Some(key) = field.strip_prefix("tags.") {
        let key = key.trim_matches('`');
        return e["tags"]
            .as_array()
            .and_then(|ts| ts.iter().find(|t| t["key"] == json!(key)))
            .and_then(|t| t["values"].as_array())
            .map(|vs| vs.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
            .unwrap_or_default();
    }
    match &e[field] {
        Value::String(s) => vec![s.clone()],
        Value::Bool(b) => vec![b.to_string()],
        Value::Number(n) => vec![n.to_string()],
        _ => Vec::new(),
    }
}

impl Term {
    fn matches(&self, e: &Value) -> bool {
        let have = entity_field(e, &self.field);
        have.iter().any(|h| match self.op {
            Op::Eq => self.values.iter().any(|v| v.eq_ignore_ascii_case(h)),
            Op::In => self.values.iter().any(|v| v.eq_ignore_ascii_case(h)),
            Op::Like => self.values.iter().any(|v| like(v, h)),
        })
    }
}

/// SQL `LIKE` with `%` wildcards, case-insensitive.
fn like(pattern: &str, text: &str) -> bool {
    let (pattern, text) = (pattern.to_lowercase(), text.to_lowercase());
    let parts: Vec<&str> = pattern.split('%').collect();
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if parts.len() == 1 {
        return pattern == text;
    }
    let Some(mut rest) = text.strip_prefix(first) else { return false };
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

const QUERY_FIELDS: &[&str] = &["domain", "type", "name", "reporting", "accountId", "entityType", "guid"];

/// Parses the subset of New Relic's entity search syntax the stand-in understands.
fn parse_query(q: &str) -> Result<Vec<Term>, String> {
    let mut terms = Vec::new();
    let unsupported = |part: &str| {
        format!(
            "The New Relic stand-in does not understand the entity search condition `{part}`; it supports \
             `field = 'v'`, `field LIKE '%v%'` and `field IN ('a', 'b')` joined by AND over {} and tags.KEY",
            QUERY_FIELDS.join(", ")
        )
    };
    for part in split_and(q) {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let (field, rest) =
            part.split_once(char::is_whitespace).map_or((part, ""), |(f, r)| (f, r.trim_start()));
        let (field, rest) = match field.split_once('=') {
            Some((f, r)) => (f, format!("= {r}{rest}")),
            None => (field, rest.to_owned()),
        };
        let field = field.trim().to_owned();
        if !(QUERY_FIELDS.contains(&field.as_str()) || field.starts_with("tags.")) {
            return Err(unsupported(part));
        }
        let upper = rest.to_ascii_uppercase();
        let (op, tail) = if let Some(t) = rest.strip_prefix('=') {
            (Op::Eq, t.trim())
        } else if upper.starts_with("LIKE ") {
            (Op::Like, rest[5..].trim())
        } else if upper.starts_with("IN ") || upper.starts_with("IN(") {
            (Op::In, rest[2..].trim())
        } else {
            return Err(unsupported(part));
        };
        let values = match op {
            Op::In => {
                let inner = tail
                    .strip_prefix('(')
                    .and_then(|t| t.strip_suffix(')'))
                    .ok_or_else(|| unsupported(part))?;
                inner
                    .split(',')
                    .map(|v| unquote(v.trim()))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| unsupported(part))?
            }
            _ => vec![unquote(tail).ok_or_else(|| unsupported(part))?],
        };
        terms.push(Term { field, op, values });
    }
    Ok(terms)
}

fn unquote(v: &str) -> Option<String> {
    let v = v.trim();
    if let Some(inner) = v.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')) {
        return Some(inner.replace("\\'", "'"));
    }
    // Bare words: true/false/numbers.
    (!v.is_empty() && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .then(|| v.to_owned())
}

/// Splits on ` AND ` outside quotes.
fn split_and(q: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let chars: Vec<char> = q.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' && (i == 0 || chars[i - 1] != '\\') {
            quoted = !quoted;
        }
        if !quoted && chars[i..].len() >= 5 {
            let window: String = chars[i..i + 5].iter().collect();
            if window.eq_ignore_ascii_case(" and ") {
                parts.push(std::mem::take(&mut current));
                i += 5;
                continue;
            }
        }
        current.push(c);
        i += 1;
    }
    parts.push(current);
    parts
}

pub(crate) fn search(cx: &Cx<'_>, args: &Map<String, Value>) -> Resolved {
    if given(args, "sortByWithDirection").is_some() {
        return Err(cx.not_implemented("Actor.entitySearch", "sortByWithDirection"));
    }
    let mut terms = Vec::new();
    let mut shown = Vec::new();
    let builder = obj(args, "queryBuilder");
    if given(builder, "infrastructureIntegrationType").is_some() {
        return Err(cx.not_implemented("EntitySearchQueryBuilder", "infrastructureIntegrationType"));
    }
    for (key, field) in [
        ("domain", "domain"),
        ("type", "type"),
        ("reporting", "reporting"),
        ("alertSeverity", "alertSeverity"),
    ] {
        if let Some(v) = given(builder, key) {
            let text = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
            shown.push(format!("{field} = '{text}'"));
            terms.push(Term { field: field.into(), op: Op::Eq, values: vec![text] });
        }
    }
    if let Some(name) = str_opt(builder, "name") {
        shown.push(format!("name LIKE '%{name}%'"));
        terms.push(Term { field: "name".into(), op: Op::Like, values: vec![format!("%{name}%")] });
    }
    for tag in given(builder, "tags").and_then(Value::as_array).cloned().unwrap_or_default() {
        let (k, v) = (tag["key"].as_str().unwrap_or_default(), tag["value"].as_str().unwrap_or_default());
        shown.push(format!("tags.`{k}` = '{v}'"));
        terms.push(Term { field: format!("tags.{k}"), op: Op::Eq, values: vec![v.to_owned()] });
    }
    let alertable = given(builder, "alertable").and_then(Value::as_bool);
    if let Some(q) = str_opt(args, "query").filter(|q| !q.trim().is_empty()) {
        terms.extend(parse_query(q).map_err(|e| cx.fail("BAD_USER_INPUT", e))?);
        shown.push(q.to_owned());
    }
    let tenant = cx.tenant.borrow();
    let mut matches: Vec<Value> = tenant
        .accounts
        .values()
        .flat_map(|a| {
            let dashboards = a.dashboards.values().map(|d| {
                let mut o = d.clone();
                o["__typename"] = json!("DashboardEntityOutline");
                o
            });
            a.hosts.values().cloned().chain(dashboards).collect::<Vec<_>>()
        })
        .filter(|e| terms.iter().all(|t| t.matches(e)))
        .filter(|e| alertable.is_none_or(|want| (e["domain"] == json!("INFRA")) == want))
        .collect();
    let sort_by: Vec<String> = args
        .get("sortBy")
        .and_then(Value::as_array)
        .map(|s| s.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    let key = |e: &Value| -> Vec<String> {
        sort_by
            .iter()
            .map(|s| match s.as_str() {
                "DOMAIN" => e["domain"].as_str().unwrap_or_default().to_owned(),
                "TYPE" => e["type"].as_str().unwrap_or_default().to_owned(),
                "REPORTING" => e["reporting"].to_string(),
                "ALERT_SEVERITY" => e["alertSeverity"].to_string(),
                _ => e["name"].as_str().unwrap_or_default().to_lowercase(),
            })
            .chain(std::iter::once(e["guid"].as_str().unwrap_or_default().to_owned()))
            .collect()
    };
    matches.sort_by_key(|e| key(e));
    if let Some(limit) = obj(args, "options").get("limit").and_then(Value::as_i64) {
        matches.truncate(usize::try_from(limit.max(0)).unwrap_or(usize::MAX));
    }
    let mut types: Vec<Value> = Vec::new();
    for e in &matches {
        match types.iter_mut().find(|t| t["entityType"] == e["entityType"]) {
            Some(t) => t["count"] = json!(t["count"].as_i64().unwrap_or_default() + 1),
            None => types.push(
                json!({"count": 1, "domain": e["domain"], "entityType": e["entityType"], "type": e["type"]}),
            ),
        }
    }
    Ok(json!({
        "count": matches.len(),
        "query": shown.join(" AND "),
        "types": types,
        "__wk_matches": matches,
    }))
}

pub(crate) fn search_results(cx: &Cx<'_>, parent: &Value, args: &Map<String, Value>) -> Resolved {
    let matches = parent["__wk_matches"].as_array().cloned().unwrap_or_default();
    let cursor = args.get("cursor").and_then(Value::as_str);
    let p = page(matches, cursor, cx.shared.opts.page_sizes.entities, "entitySearch")
        .map_err(|e| cx.fail("BAD_USER_INPUT", e))?;
    Ok(json!({"entities": p.items, "nextCursor": p.next_cursor_json()}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns() {
        assert!(like("%web%", "my-web-1"));
        assert!(like("web%", "web-1"));
        assert!(!like("web%", "my-web"));
        assert!(like("%-1", "web-1"));
        assert!(!like("%-1", "web-12"));
        assert!(like("web-1", "WEB-1"));
        assert!(!like("web-1", "web-12"));
    }

    #[test]
    fn queries_parse() {
        let terms = parse_query(
            "domain = 'INFRA' AND type='HOST' and name LIKE '%web%' AND tags.env IN ('prod', 'demo')",
        )
        .expect("parses");
        assert_eq!(terms.len(), 4);
        assert_eq!(terms[0], Term { field: "domain".into(), op: Op::Eq, values: vec!["INFRA".into()] });
        assert_eq!(terms[1].values, vec!["HOST".to_owned()]);
        assert_eq!(terms[2].op, Op::Like);
        assert_eq!(
            terms[3],
            Term { field: "tags.env".into(), op: Op::In, values: vec!["prod".into(), "demo".into()] }
        );
        assert!(parse_query("name = 'a AND b'").expect("quoted AND").len() == 1);
        assert!(parse_query("alertSeverity != 'CRITICAL'").is_err());
        assert!(parse_query("domain ~ 'INFRA'").is_err());
    }
}
