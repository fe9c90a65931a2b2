//! The canonical form desired attributes and live objects are compared in (rules in the crate
//! docs). Every function is pure, applies the same rules to both sides, and is idempotent.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use watchkeep_provider::managed::{self, Writable};
use watchkeep_provider::{ADDRESS_TAG_KEY, OWNER_TAG};

/// The fields watchkeep manages per resource type: the fields of the NerdGraph input types the
/// provider's mutations send (`writable.json`, derived from and checked against the SDL by
/// `tests/writable_spec.rs`), plus the few the canonical form adds (listed there with why).
/// The normalisers below build their output from explicit field lists; the projection at their
/// end guarantees nothing outside this table is ever compared, and the test guarantees the lists
/// stay inside it.
static WRITABLE: LazyLock<BTreeMap<String, Writable>> = LazyLock::new(|| {
    // Bundled data, parsed by a unit test below: this cannot fail at run time.
    managed::load_table(include_str!("writable.json")).unwrap_or_default()
});

/// The managed fields of `resource_type`, when it is one of New Relic's.
pub fn writable(resource_type: &str) -> Option<&'static Writable> {
    WRITABLE.get(resource_type)
}

/// Property carrying the ownership marker on destinations and channels.
pub const MARKER_PROPERTY: &str = "watchkeep";
/// Property carrying the salted SHA-256 of a destination's secrets.
pub const SECRET_HASH_PROPERTY: &str = "watchkeep-secret-sha256";
/// Normalised attribute holding the same hash.
pub const SECRET_HASH_ATTR: &str = "secretSha256";

/// `managed-by:watchkeep watchkeep-address:<marker>`.
pub fn marker_line(marker: &str) -> String {
    format!("{OWNER_TAG} {ADDRESS_TAG_KEY}:{marker}")
}

/// The marker of a marker line (`None` for any other text).
pub fn parse_marker_line(line: &str) -> Option<String> {
    let rest = line.trim().strip_prefix(OWNER_TAG)?.trim_start();
    let marker = rest.strip_prefix(ADDRESS_TAG_KEY)?.strip_prefix(':')?.trim();
    (!marker.is_empty() && !marker.contains(char::is_whitespace)).then(|| marker.to_string())
}

/// Whether a text (description, filter name, property value) holds a marker line, and which.
pub fn marker_in_text(text: &str) -> (bool, Option<String>) {
    match text.lines().last() {
        Some(l) if l.trim().starts_with(OWNER_TAG) => (true, parse_marker_line(l)),
        _ => (false, None),
    }
}

/// A description with its marker line replaced by `marker`'s.
pub fn with_marker_line(description: Option<&str>, marker: &str) -> String {
    let base = description.map(strip_marker_line).unwrap_or_default();
    if base.is_empty() {
        marker_line(marker)
    } else {
        format!("{base}\n{}", marker_line(marker))
    }
}

/// Text without a trailing marker line (trailing whitespace trimmed).
pub fn strip_marker_line(text: &str) -> String {
    let trimmed = text.trim_end();
    match trimmed.rsplit_once('\n') {
        Some((head, last)) if last.trim().starts_with(OWNER_TAG) => head.trim_end().to_string(),
        None if trimmed.trim().starts_with(OWNER_TAG) => String::new(),
        _ => trimmed.to_string(),
    }
}

/// The 12-hex-digit hash of a marker that alert policies carry in their name.
pub fn policy_hash(marker: &str) -> String {
    let digest = Sha256::digest(format!("watchkeep-policy\0{marker}").as_bytes());
    hex::encode(digest)[..12].to_string()
}

/// ` [wk:<hash>]`.
pub fn policy_suffix(marker: &str) -> String {
    format!(" [wk:{}]", policy_hash(marker))
}

/// The hash at the end of a policy name, if it carries one.
pub fn policy_name_hash(name: &str) -> Option<String> {
    let rest = name.trim_end().strip_suffix(']')?;
    let (_, hash) = rest.rsplit_once(" [wk:")?;
    (hash.len() == 12 && hash.bytes().all(|b| b.is_ascii_hexdigit())).then(|| hash.to_ascii_lowercase())
}

/// A name without its ` [wk:<hash>]` suffix.
pub fn strip_policy_suffix(name: &str) -> &str {
    match policy_name_hash(name) {
        Some(_) => name.trim_end().rsplit_once(" [wk:").map_or(name, |(n, _)| n),
        None => name,
    }
}

pub use crate::ids::{id_text, linked_id};

fn text(v: &Value) -> Option<String> {
    v.as_str().map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

fn upper(v: &Value) -> Option<String> {
    text(v).map(|s| s.to_ascii_uppercase())
}

fn bool_or(v: &Value, default: bool) -> bool {
    v.as_bool().unwrap_or(default)
}

/// Whole numbers become integers (`85.0` → `85`), recursively.
pub fn ints(v: &Value) -> Value {
    match v {
        Value::Number(n) if n.is_f64() => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => json!(f as i64),
            _ => v.clone(),
        },
        Value::Array(a) => Value::Array(a.iter().map(ints).collect()),
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), ints(v))).collect()),
        _ => v.clone(),
    }
}

/// Object keys sorted, recursively (the canonical form always prints the same way).
pub fn sorted(v: &Value) -> Value {
    match v {
        Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            Value::Object(keys.into_iter().map(|k| (k.clone(), sorted(&m[k]))).collect())
        }
        _ => v.clone(),
    }
}

/// The canonical form of a `resource_type` object: integers, sorted keys, managed fields only.
fn finish(resource_type: &str, out: Map<String, Value>) -> Value {
    let v = sorted(&ints(&Value::Object(out)));
    match writable(resource_type) {
        Some(w) => w.project(&v),
        None => v,
    }
}

fn put(out: &mut Map<String, Value>, key: &str, v: Option<impl Into<Value>>) {
    if let Some(v) = v {
        out.insert(key.to_string(), v.into());
    }
}

/// A muting rule's canonical form (rules in `muting.rs`), managed fields only.
pub fn muting_rule(v: &Value) -> Value {
    match crate::muting::normalize(v) {
        Value::Object(m) => finish("newrelic_muting_rule", m),
        other => other,
    }
}

/// The canonical form of an object of `resource_type` (`None` for a type that is not New Relic's).
pub fn normalize_type(resource_type: &str, v: &Value) -> Option<Value> {
    Some(match resource_type {
        "newrelic_alert_policy" => policy(v),
        "newrelic_nrql_condition" => condition(v),
        "newrelic_notification_destination" => destination(v),
        "newrelic_notification_channel" => channel(v),
        "newrelic_workflow" => workflow(v),
        "newrelic_dashboard" => dashboard(v),
        "newrelic_muting_rule" => muting_rule(v),
        _ => return None,
    })
}

// ---- alert policies ----

pub fn policy(v: &Value) -> Value {
    let mut out = Map::new();
    put(&mut out, "name", text(&v["name"]));
    out.insert(
        "incidentPreference".into(),
        json!(upper(&v["incidentPreference"]).unwrap_or("PER_POLICY".into())),
    );
    finish("newrelic_alert_policy", out)
}

// ---- NRQL conditions ----

const TIME_LIMITS: &[(&str, i64)] = &[
    ("ONE_HOUR", 3_600),
    ("TWO_HOURS", 7_200),
    ("FOUR_HOURS", 14_400),
    ("EIGHT_HOURS", 28_800),
    ("TWELVE_HOURS", 43_200),
    ("TWENTY_FOUR_HOURS", 86_400),
    ("THIRTY_DAYS", 2_592_000),
];

/// Default `violationTimeLimitSeconds` (3 days).
pub const DEFAULT_VIOLATION_TIME_LIMIT: i64 = 259_200;

fn priority_rank(p: &str) -> u8 {
    match p {
        "CRITICAL" => 0,
        "WARNING" => 1,
        _ => 2,
    }
}

pub fn condition(v: &Value) -> Value {
    let mut out = Map::new();
    put(&mut out, "policyId", id_text(&v["policyId"]).map(|p| linked_id(&p)));
    put(&mut out, "name", text(&v["name"]));
    put(
        &mut out,
        "description",
        v["description"].as_str().map(|d| d.trim_end().to_string()).filter(|d| !d.trim().is_empty()),
    );
    out.insert("enabled".into(), json!(bool_or(&v["enabled"], true)));
    put(&mut out, "runbookUrl", text(&v["runbookUrl"]));
    put(&mut out, "titleTemplate", text(&v["titleTemplate"]));
    out.insert("valueFunction".into(), json!(upper(&v["valueFunction"]).unwrap_or("SINGLE_VALUE".into())));
    let limit = v["violationTimeLimitSeconds"].as_f64().map(|f| f as i64).filter(|s| *s > 0).or_else(|| {
        upper(&v["violationTimeLimit"])
            .and_then(|e| TIME_LIMITS.iter().find(|(n, _)| *n == e).map(|(_, s)| *s))
    });
    out.insert("violationTimeLimitSeconds".into(), json!(limit.unwrap_or(DEFAULT_VIOLATION_TIME_LIMIT)));

    let mut nrql = Map::new();
    put(&mut nrql, "query", text(&v["nrql"]["query"]));
    if !v["nrql"]["dataAccountId"].is_null() {
        nrql.insert("dataAccountId".into(), v["nrql"]["dataAccountId"].clone());
    }
    if !v["nrql"]["evaluationOffset"].is_null() {
        nrql.insert("evaluationOffset".into(), v["nrql"]["evaluationOffset"].clone());
    }
    out.insert("nrql".into(), Value::Object(nrql));

    let mut terms: Vec<Value> = v["terms"]
        .as_array()
        .map(|ts| {
            ts.iter()
                .map(|t| {
                    let mut o = Map::new();
                    put(&mut o, "operator", upper(&t["operator"]));
                    o.insert("priority".into(), json!(upper(&t["priority"]).unwrap_or("CRITICAL".into())));
                    o.insert("threshold".into(), t["threshold"].clone());
                    o.insert("thresholdDuration".into(), t["thresholdDuration"].clone());
                    o.insert(
                        "thresholdOccurrences".into(),
                        json!(upper(&t["thresholdOccurrences"]).unwrap_or("ALL".into())),
                    );
                    Value::Object(o)
                })
                .collect()
        })
        .unwrap_or_default();
    terms.sort_by_key(|t| priority_rank(t["priority"].as_str().unwrap_or_default()));
    out.insert("terms".into(), Value::Array(terms));

    let s = &v["signal"];
    let mut signal = Map::new();
    let method = upper(&s["aggregationMethod"]).unwrap_or("EVENT_FLOW".into());
    let window = s["aggregationWindow"].as_f64().filter(|w| *w > 0.0).map_or(json!(60), |w| json!(w));
    signal.insert("aggregationWindow".into(), window);
    if method == "EVENT_TIMER" {
        let timer = s["aggregationTimer"].as_f64().filter(|t| *t > 0.0).map_or(json!(60), |t| json!(t));
        signal.insert("aggregationTimer".into(), timer);
    } else {
        let delay = if s["aggregationDelay"].is_null() { json!(120) } else { s["aggregationDelay"].clone() };
        signal.insert("aggregationDelay".into(), delay);
    }
    signal.insert("aggregationMethod".into(), json!(method));
    let fill = upper(&s["fillOption"]).unwrap_or("NONE".into());
    if fill == "STATIC" && !s["fillValue"].is_null() {
        signal.insert("fillValue".into(), s["fillValue"].clone());
    }
    signal.insert("fillOption".into(), json!(fill));
    for key in ["slideBy", "evaluationDelay", "evaluationOffset"] {
        if !s[key].is_null() {
            signal.insert(key.into(), s[key].clone());
        }
    }
    out.insert("signal".into(), Value::Object(signal));

    let e = &v["expiration"];
    let mut expiration = Map::new();
    if !e["expirationDuration"].is_null() {
        expiration.insert("expirationDuration".into(), e["expirationDuration"].clone());
    }
    for key in ["openViolationOnExpiration", "closeViolationsOnExpiration", "ignoreOnExpectedTermination"] {
        expiration.insert(key.into(), json!(bool_or(&e[key], false)));
    }
    out.insert("expiration".into(), Value::Object(expiration));
    finish("newrelic_nrql_condition", out)
}

// ---- notification destinations and channels ----

/// `[{key, value[, label, displayValue]}]` sorted, without the secret-hash property.
fn properties(v: &Value) -> Vec<Value> {
    let mut props: Vec<Value> = v
        .as_array()
        .map(|ps| {
            ps.iter()
                .filter(|p| p["key"].as_str() != Some(SECRET_HASH_PROPERTY))
                .map(|p| {
                    let mut o = Map::new();
                    o.insert("key".into(), json!(p["key"].as_str().unwrap_or_default()));
                    o.insert("value".into(), json!(p["value"].as_str().unwrap_or_default()));
                    for k in ["label", "displayValue"] {
                        put(&mut o, k, text(&p[k]));
                    }
                    Value::Object(o)
                })
                .collect()
        })
        .unwrap_or_default();
    props.sort_by(|a, b| {
        (a["key"].as_str(), a["value"].as_str()).cmp(&(b["key"].as_str(), b["value"].as_str()))
    });
    props
}

fn property_value<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v["properties"].as_array()?.iter().find(|p| p["key"].as_str() == Some(key))?["value"].as_str()
}

/// The marker property's marker, and whether the object carries the ownership property at all.
pub fn property_marker(v: &Value) -> (bool, Option<String>) {
    match property_value(v, MARKER_PROPERTY) {
        Some(line) => marker_in_text(line),
        None => (false, None),
    }
}

/// Sets the marker property of desired destination/channel attributes.
pub fn set_property_marker(attrs: &mut Value, marker: &str) {
    if !attrs.is_object() {
        return;
    }
    let mut props: Vec<Value> = attrs["properties"].as_array().cloned().unwrap_or_default();
    props.retain(|p| p["key"].as_str() != Some(MARKER_PROPERTY));
    props.push(json!({"key": MARKER_PROPERTY, "value": marker_line(marker)}));
    attrs["properties"] = Value::Array(props);
}

/// The public part of a destination's auth, in the input's shape (secret members removed):
/// `{type, token: {prefix}}`, `{type, basic: {user}}`, `{type, customHeaders: {customHeaders:
/// [{key}]}}`, `{type, oauth2: {...}}`. Live objects (`authType`, flat members) come out the same.
fn auth_public(a: &Value) -> Option<Value> {
    if a.is_null() {
        return None;
    }
    let kind = upper(&a["type"]).or_else(|| upper(&a["authType"]))?;
    let mut out = Map::new();
    out.insert("type".into(), json!(kind));
    let member = |name: &str| if a[name].is_object() { a[name].clone() } else { a.clone() };
    match kind.as_str() {
        "TOKEN" => {
            if let Some(prefix) = text(&member("token")["prefix"]) {
                out.insert("token".into(), json!({ "prefix": prefix }));
            }
        }
        "BASIC" => {
            let mut b = Map::new();
            put(&mut b, "user", text(&member("basic")["user"]));
            out.insert("basic".into(), Value::Object(b));
        }
        "CUSTOM_HEADERS" => {
            let h = member("customHeaders");
            let list = if h["customHeaders"].is_array() { &h["customHeaders"] } else { &a["customHeaders"] };
            let mut keys: Vec<String> = list
                .as_array()
                .map(|l| l.iter().filter_map(|x| text(&x["key"])).collect())
                .unwrap_or_default();
            keys.sort();
            out.insert(
                "customHeaders".into(),
                json!({"customHeaders": keys.iter().map(|k| json!({"key": k})).collect::<Vec<_>>()}),
            );
        }
        "OAUTH2" => {
            let o = member("oauth2");
            let mut m = Map::new();
            for k in ["accessTokenUrl", "authorizationUrl", "clientId", "prefix", "scope"] {
                put(&mut m, k, text(&o[k]));
            }
            for k in ["refreshInterval", "refreshable"] {
                if !o[k].is_null() {
                    m.insert(k.into(), o[k].clone());
                }
            }
            out.insert("oauth2".into(), Value::Object(m));
        }
        _ => {}
    }
    Some(Value::Object(out))
}

/// The secret values of desired destination attributes (what New Relic never returns):
/// `None` when there are none.
pub fn destination_secrets(v: &Value) -> Option<Value> {
    let a = &v["auth"];
    let mut s = Map::new();
    let mut add = |k: &str, x: &Value| {
        if !x.is_null() {
            s.insert(k.to_string(), x.clone());
        }
    };
    add("token", &a["token"]["token"]);
    add("password", &a["basic"]["password"]);
    add("clientSecret", &a["oauth2"]["clientSecret"]);
    add("oauth2Token", &a["oauth2"]["token"]);
    add("refreshToken", &a["oauth2"]["refreshToken"]);
    if let Some(headers) = a["customHeaders"]["customHeaders"].as_array() {
        let mut hv: Vec<(String, Value)> = headers
            .iter()
            .map(|h| (h["key"].as_str().unwrap_or_default().to_string(), h["value"].clone()))
            .collect();
        hv.sort_by(|x, y| x.0.cmp(&y.0));
        if hv.iter().any(|(_, v)| !v.is_null()) {
            add("headers", &json!(hv.into_iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>()));
        }
    }
    add("secureSuffix", &v["secureUrl"]["secureSuffix"]);
    (!s.is_empty()).then_some(Value::Object(s))
}

/// Salted SHA-256 (hex) of a destination's secrets. The salt is the object's marker, so equal
/// secrets of two destinations hash differently.
pub fn secret_hash(secrets: &Value, marker: Option<&str>) -> String {
    let mut h = Sha256::new();
    h.update(b"watchkeep/newrelic/destination-secret/v1\0");
    h.update(marker.unwrap_or_default().as_bytes());
    h.update(b"\0");
    h.update(sorted(secrets).to_string().as_bytes());
    hex::encode(h.finalize())
}

/// The secret hash desired attributes imply (from their secrets), or live ones carry (from the
/// property), or an already-normalised form holds.
pub fn destination_secret_hash(v: &Value) -> Option<String> {
    if let Some(h) = text(&v[SECRET_HASH_ATTR]) {
        return Some(h);
    }
    if let Some(h) = property_value(v, SECRET_HASH_PROPERTY) {
        return Some(h.to_string());
    }
    let secrets = destination_secrets(v)?;
    Some(secret_hash(&secrets, property_marker(v).1.as_deref()))
}

pub fn destination(v: &Value) -> Value {
    let mut out = Map::new();
    put(&mut out, "name", text(&v["name"]));
    put(&mut out, "type", upper(&v["type"]));
    out.insert("properties".into(), Value::Array(properties(&v["properties"])));
    put(&mut out, "auth", auth_public(&v["auth"]));
    if let Some(prefix) = text(&v["secureUrl"]["prefix"]) {
        out.insert("secureUrl".into(), json!({ "prefix": prefix }));
    }
    put(&mut out, SECRET_HASH_ATTR, destination_secret_hash(v));
    if v["active"] == json!(false) {
        out.insert("active".into(), json!(false));
    }
    finish("newrelic_notification_destination", out)
}

pub fn channel(v: &Value) -> Value {
    let mut out = Map::new();
    put(&mut out, "name", text(&v["name"]));
    put(&mut out, "type", upper(&v["type"]));
    out.insert("product".into(), json!(upper(&v["product"]).unwrap_or("IINT".into())));
    put(&mut out, "destinationId", id_text(&v["destinationId"]).map(|d| linked_id(&d)));
    out.insert("properties".into(), Value::Array(properties(&v["properties"])));
    if v["active"] == json!(false) {
        out.insert("active".into(), json!(false));
    }
    finish("newrelic_notification_channel", out)
}

// ---- workflows ----

/// Predicate attributes whose values are alert policy ids (links the engine resolves).
pub const POLICY_ID_ATTRIBUTES: &[&str] = &["labels.policyIds"];

pub fn workflow(v: &Value) -> Value {
    let mut out = Map::new();
    put(&mut out, "name", text(&v["name"]));
    let enabled = if v["workflowEnabled"].is_null() { &v["enabled"] } else { &v["workflowEnabled"] };
    out.insert("workflowEnabled".into(), json!(bool_or(enabled, true)));
    out.insert("destinationsEnabled".into(), json!(bool_or(&v["destinationsEnabled"], true)));
    out.insert("enrichmentsEnabled".into(), json!(bool_or(&v["enrichmentsEnabled"], true)));
    out.insert(
        "mutingRulesHandling".into(),
        json!(upper(&v["mutingRulesHandling"]).unwrap_or("NOTIFY_ALL_ISSUES".into())),
    );
    let f = &v["issuesFilter"];
    let mut filter = Map::new();
    put(&mut filter, "name", text(&f["name"]));
    filter.insert("type".into(), json!(upper(&f["type"]).unwrap_or("FILTER".into())));
    let predicates: Vec<Value> = f["predicates"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .map(|p| {
                    let values: Vec<Value> = p["values"]
                        .as_array()
                        .map(|vs| vs.iter().filter_map(id_text).map(|s| json!(linked_id(&s))).collect())
                        .unwrap_or_default();
                    json!({
                        "attribute": p["attribute"].as_str().unwrap_or_default().trim(),
                        "operator": upper(&p["operator"]).unwrap_or_default(),
                        "values": values,
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    filter.insert("predicates".into(), Value::Array(predicates));
    out.insert("issuesFilter".into(), Value::Object(filter));
    let mut dcs: Vec<Value> = v["destinationConfigurations"]
        .as_array()
        .map(|dcs| {
            dcs.iter()
                .map(|d| {
                    let mut o = Map::new();
                    put(&mut o, "channelId", id_text(&d["channelId"]).map(|c| linked_id(&c)));
                    if let Some(ts) = d["notificationTriggers"].as_array() {
                        let mut ts: Vec<String> = ts.iter().filter_map(upper).collect();
                        ts.sort();
                        ts.dedup();
                        o.insert("notificationTriggers".into(), json!(ts));
                    }
                    if let Some(b) = d["updateOriginalMessage"].as_bool() {
                        o.insert("updateOriginalMessage".into(), json!(b));
                    }
                    Value::Object(o)
                })
                .collect()
        })
        .unwrap_or_default();
    dcs.sort_by(|a, b| a["channelId"].as_str().cmp(&b["channelId"].as_str()));
    out.insert("destinationConfigurations".into(), Value::Array(dcs));
    finish("newrelic_workflow", out)
}

// ---- dashboards ----

pub fn dashboard(v: &Value) -> Value {
    let mut out = Map::new();
    put(&mut out, "name", text(&v["name"]));
    put(
        &mut out,
        "description",
        v["description"].as_str().map(|d| d.trim_end().to_string()).filter(|d| !d.trim().is_empty()),
    );
    out.insert("permissions".into(), json!(upper(&v["permissions"]).unwrap_or("PUBLIC_READ_WRITE".into())));
    let pages: Vec<Value> = v["pages"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .map(|p| {
                    let mut page = Map::new();
                    put(&mut page, "name", text(&p["name"]));
                    put(&mut page, "description", text(&p["description"]));
                    let widgets: Vec<Value> =
                        p["widgets"].as_array().map(|ws| ws.iter().map(widget).collect()).unwrap_or_default();
                    page.insert("widgets".into(), Value::Array(widgets));
                    Value::Object(page)
                })
                .collect()
        })
        .unwrap_or_default();
    out.insert("pages".into(), Value::Array(pages));
    finish("newrelic_dashboard", out)
}

fn widget(w: &Value) -> Value {
    let mut o = Map::new();
    put(&mut o, "title", text(&w["title"]));
    let l = &w["layout"];
    let num = |k: &str, d: i64| l[k].as_f64().map_or(json!(d), |n| json!(n));
    o.insert(
        "layout".into(),
        json!({"column": num("column", 1), "row": num("row", 1), "width": num("width", 4), "height": num("height", 3)}),
    );
    put(&mut o, "visualization", text(&w["visualization"]["id"]).map(|id| json!({ "id": id })));
    if w["rawConfiguration"].is_object() {
        o.insert("rawConfiguration".into(), strip_nulls(&w["rawConfiguration"]));
    }
    if let Some(l) = w["linkedEntityGuids"].as_array().filter(|a| !a.is_empty()) {
        o.insert("linkedEntityGuids".into(), json!(l));
    }
    Value::Object(o)
}

fn strip_nulls(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k.clone(), strip_nulls(v))).collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(strip_nulls).collect()),
        _ => v.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idempotent(f: fn(&Value) -> Value, v: &Value) -> Value {
        let once = f(v);
        assert_eq!(f(&once), once, "normalising twice changes nothing");
        once
    }

    #[test]
    fn bundled_writable_fields_parse() {
        let table = managed::load_table(include_str!("writable.json")).unwrap();
        for t in crate::RESOURCE_TYPES {
            assert!(table.contains_key(*t), "writable.json has no entry for {t}");
        }
    }

    #[test]
    fn marker_lines() {
        let line = marker_line("a.b-c");
        assert_eq!(line, "managed-by:watchkeep watchkeep-address:a.b-c");
        assert_eq!(parse_marker_line(&line).as_deref(), Some("a.b-c"));
        assert_eq!(marker_in_text(&format!("hello\n{line}")), (true, Some("a.b-c".into())));
        assert_eq!(marker_in_text("hello"), (false, None));
        assert_eq!(
            with_marker_line(Some(&format!("x\n{}", marker_line("old"))), "new"),
            format!("x\n{}", marker_line("new"))
        );
        assert_eq!(with_marker_line(None, "a.b-c"), line);
        assert_eq!(strip_marker_line(&line), "");
    }

    #[test]
    fn policy_suffixes() {
        let name = format!("Oncall{}", policy_suffix("route.oncall"));
        assert_eq!(policy_name_hash(&name), Some(policy_hash("route.oncall")));
        assert_eq!(strip_policy_suffix(&name), "Oncall");
        assert_eq!(policy_name_hash("Oncall [wk:nothex]"), None);
        assert_ne!(policy_hash("a"), policy_hash("b"));
    }

    #[test]
    fn linked_ids_are_ids() {
        assert_eq!(linked_id(" 12345 "), "12345");
        assert_eq!(id_text(&json!(12345)), Some("12345".into()));
        assert_eq!(id_text(&json!("")), None);
    }

    #[test]
    fn policy_defaults() {
        let n = idempotent(policy, &json!({"name": " P ", "id": "1", "accountId": 3}));
        assert_eq!(n, json!({"incidentPreference": "PER_POLICY", "name": "P"}));
        let n = idempotent(policy, &json!({"name": "P", "incidentPreference": "per_condition"}));
        assert_eq!(n["incidentPreference"], "PER_CONDITION");
    }

    #[test]
    fn condition_rules() {
        let desired = json!({
            "policyId": "4242 ",
            "name": "cpu",
            "nrql": {"query": " SELECT 1 FROM T "},
            "terms": [
                {"threshold": 5.0, "thresholdDuration": 300, "thresholdOccurrences": "all", "operator": "above", "priority": "warning"},
                {"threshold": 9.5, "thresholdDuration": 300, "thresholdOccurrences": "at_least_once", "operator": "above"},
            ],
        });
        let live = json!({
            "id": "9", "policyId": 4242, "name": "cpu", "enabled": true, "description": null,
            "runbookUrl": null, "titleTemplate": null, "valueFunction": "SINGLE_VALUE",
            "violationTimeLimitSeconds": 259200, "violationTimeLimit": "NON_MATCHABLE_LIMIT_VALUE",
            "nrql": {"query": "SELECT 1 FROM T", "dataAccountId": null, "evaluationOffset": null},
            "terms": [
                {"threshold": 9.5, "thresholdDuration": 300, "thresholdOccurrences": "AT_LEAST_ONCE", "operator": "ABOVE", "priority": "CRITICAL", "prediction": null},
                {"threshold": 5, "thresholdDuration": 300, "thresholdOccurrences": "ALL", "operator": "ABOVE", "priority": "WARNING", "prediction": null},
            ],
            "signal": {"aggregationWindow": 60, "aggregationMethod": "EVENT_FLOW", "aggregationDelay": 120, "aggregationTimer": null, "fillOption": "NONE", "fillValue": null, "slideBy": null, "evaluationDelay": null, "evaluationOffset": null},
            "expiration": {"expirationDuration": null, "openViolationOnExpiration": false, "closeViolationsOnExpiration": false, "ignoreOnExpectedTermination": false},
        });
        let d = idempotent(condition, &desired);
        assert_eq!(d, idempotent(condition, &live));
        assert_eq!(d["terms"][0]["priority"], "CRITICAL");
        assert_eq!(d["terms"][1]["threshold"], json!(5));
        assert_eq!(d["violationTimeLimitSeconds"], json!(259_200));
        // "" aggregation method, EVENT_TIMER timer 0 → defaults; delay irrelevant with a timer.
        let a = condition(&json!({"signal": {"aggregationMethod": ""}}));
        assert_eq!(a["signal"]["aggregationMethod"], "EVENT_FLOW");
        assert_eq!(a["signal"]["aggregationDelay"], 120);
        let t = condition(
            &json!({"signal": {"aggregationMethod": "event_timer", "aggregationTimer": 0, "aggregationDelay": 0}}),
        );
        assert_eq!(
            t["signal"],
            json!({"aggregationMethod": "EVENT_TIMER", "aggregationTimer": 60, "aggregationWindow": 60, "fillOption": "NONE"})
        );
        // fillValue only matters with STATIC; the enum limit maps to seconds.
        let f = condition(
            &json!({"signal": {"fillOption": "static", "fillValue": 0.0}, "violationTimeLimit": "ONE_HOUR"}),
        );
        assert_eq!(f["signal"]["fillValue"], 0);
        assert_eq!(f["violationTimeLimitSeconds"], 3600);
        assert!(condition(&json!({"signal": {"fillValue": 3}}))["signal"].get("fillValue").is_none());
    }

    #[test]
    fn destination_secrets_are_hashed() {
        let marker = marker_line("n.pd");
        let desired = json!({
            "name": "pd", "type": "pagerduty_service_integration",
            "properties": [{"key": "watchkeep", "value": marker}],
            "auth": {"type": "TOKEN", "token": {"token": "s3cret", "prefix": "Token"}},
        });
        let d = idempotent(destination, &desired);
        assert!(!d.to_string().contains("s3cret"), "{d}");
        let hash = d[SECRET_HASH_ATTR].as_str().unwrap().to_string();
        assert_eq!(hash, secret_hash(&json!({"token": "s3cret"}), Some("n.pd")));
        let live = json!({
            "id": "x", "name": "pd", "type": "PAGERDUTY_SERVICE_INTEGRATION", "active": true,
            "properties": [{"key": "watchkeep", "value": marker, "label": null, "displayValue": null},
                           {"key": SECRET_HASH_PROPERTY, "value": hash}],
            "auth": {"__typename": "AiNotificationsTokenAuth", "authType": "TOKEN", "prefix": "Token"},
            "secureUrl": null,
        });
        assert_eq!(idempotent(destination, &live), d);
        let mut rotated = desired.clone();
        rotated["auth"]["token"]["token"] = json!("n3w");
        assert_ne!(destination(&rotated), d);
        // A token without prefix: the live `prefix: ""` is the same.
        let bare = destination(&json!({"auth": {"type": "TOKEN", "token": {"token": "t"}}}));
        assert_eq!(bare["auth"], json!({"type": "TOKEN"}));
        assert_eq!(
            destination(&json!({"auth": {"authType": "TOKEN", "prefix": ""}}))["auth"],
            json!({"type": "TOKEN"})
        );
    }

    #[test]
    fn channel_and_workflow_rules() {
        let c = idempotent(
            channel,
            &json!({"name": "c", "type": "webhook", "destinationId": " d-1 ", "properties": [{"key": "z", "value": "1"}, {"key": "a", "value": "2"}]}),
        );
        assert_eq!(c["product"], "IINT");
        assert_eq!(c["destinationId"], "d-1");
        assert_eq!(c["properties"][0]["key"], "a");
        let w = idempotent(
            workflow,
            &json!({
                "name": "w", "enabled": false,
                "issuesFilter": {"type": "filter", "predicates": [{"attribute": "labels.policyIds", "operator": "exactly_matches", "values": [" 8", 7]}]},
                "destinationConfigurations": [{"channelId": "c-b"}, {"channelId": "c-a", "notificationTriggers": ["closed", "activated"]}],
            }),
        );
        assert_eq!(w["workflowEnabled"], false);
        assert_eq!(w["mutingRulesHandling"], "NOTIFY_ALL_ISSUES");
        assert_eq!(w["issuesFilter"]["predicates"][0]["values"], json!(["8", "7"]));
        assert_eq!(w["destinationConfigurations"][0]["notificationTriggers"], json!(["ACTIVATED", "CLOSED"]));
    }

    #[test]
    fn dashboard_rules() {
        let d = idempotent(
            dashboard,
            &json!({"name": "d", "pages": [{"name": "p", "widgets": [{"title": "t", "visualization": {"id": "viz.line"}, "rawConfiguration": {"nrqlQueries": [{"accountIds": [1], "query": "q"}]}}]}]}),
        );
        assert_eq!(d["permissions"], "PUBLIC_READ_WRITE");
        assert_eq!(
            d["pages"][0]["widgets"][0]["layout"],
            json!({"column": 1, "row": 1, "width": 4, "height": 3})
        );
    }
}
