//! The managed (writable) fields of each Datadog resource type are kept as data in
//! `src/writable.json`. This test derives them again from Datadog's published OpenAPI document
//! (`../shared/specs/datadog-v1-openapi.yaml`) and fails when the two disagree.
//!
//! Rules of the derivation: a resource type's request schema (the `POST` body); every property not
//! marked `readOnly`, and not a `$ref` to a schema marked `readOnly` (OpenAPI 3.0 ignores siblings of
//! `$ref`, so Datadog marks `creator`, `state`, `overall_state` on the referenced schema), nor an
//! array of such items. An object schema with its own `properties` becomes a nested tree (to
//! `MAX_DEPTH` levels); anything else (strings, numbers, lists, free-form objects, `oneOf`) is
//! compared whole.
//!
//! To regenerate after a spec update: `WATCHKEEP_UPDATE_WRITABLE=1 cargo test -p watchkeep-datadog
//! --test writable_spec`, then review the diff.

use serde_json::{json, Map, Value};
use serde_yaml::Value as Y;

const MAX_DEPTH: usize = 3;

/// Properties the spec leaves unmarked although its own text says Datadog computes them; they are
/// not managed. Each with the spec's words.
const COMPUTED_BUT_UNMARKED: &[(&str, &str, &str)] = &[(
    "Monitor",
    "matching_downtimes",
    "spec: \"A list of active v1 downtimes that match this monitor.\" (its item schema MatchingDowntime is not marked readOnly)",
)];

/// (resource type, request schema in the spec, where the request goes).
const TYPES: &[(&str, &str, &str)] = &[
    ("datadog_monitor", "Monitor", "POST /api/v1/monitor"),
    ("datadog_dashboard", "Dashboard", "POST /api/v1/dashboard"),
];

fn spec() -> Y {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/specs/datadog-v1-openapi.yaml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_yaml::from_str(&text).expect("the spec parses")
}

fn schema<'a>(spec: &'a Y, name: &str) -> &'a Y {
    &spec["components"]["schemas"][name]
}

/// Follows a `$ref` to its schema (one hop; the spec's refs are all local).
fn deref<'a>(spec: &'a Y, s: &'a Y) -> &'a Y {
    match s.get("$ref").and_then(Y::as_str) {
        Some(r) => schema(spec, r.trim_start_matches("#/components/schemas/")),
        None => s,
    }
}

fn read_only(spec: &Y, s: &Y) -> bool {
    s.get("readOnly").and_then(Y::as_bool) == Some(true)
        || deref(spec, s).get("readOnly").and_then(Y::as_bool) == Some(true)
}

fn writable(spec: &Y, name: &str, s: &Y, depth: usize) -> Value {
    let mut out = Map::new();
    let Some(props) = deref(spec, s).get("properties").and_then(Y::as_mapping) else {
        return Value::Object(out);
    };
    for (k, p) in props {
        let Some(k) = k.as_str() else { continue };
        if read_only(spec, p) || COMPUTED_BUT_UNMARKED.iter().any(|(n, f, _)| *n == name && *f == k) {
            continue;
        }
        let target = deref(spec, p);
        if target.get("type").and_then(Y::as_str) == Some("array") {
            if let Some(items) = target.get("items") {
                if read_only(spec, items) {
                    continue;
                }
            }
            out.insert(k.to_string(), Value::Null);
            continue;
        }
        let nested = target.get("properties").and_then(Y::as_mapping).is_some_and(|m| !m.is_empty());
        if nested && depth < MAX_DEPTH {
            let sub_name =
                p.get("$ref").and_then(Y::as_str).unwrap_or("").trim_start_matches("#/components/schemas/");
            let sub = writable(spec, sub_name, target, depth + 1);
            if sub.as_object().is_some_and(|m| !m.is_empty()) {
                out.insert(k.to_string(), sub);
            }
        } else {
            out.insert(k.to_string(), Value::Null);
        }
    }
    Value::Object(out)
}

fn derived() -> Value {
    let spec = spec();
    let mut out = Map::new();
    for (rtype, name, request) in TYPES {
        out.insert(
            rtype.to_string(),
            json!({
                "source": format!(
                    "shared/specs/datadog-v1-openapi.yaml: components.schemas.{name} ({request} body), readOnly fields removed"
                ),
                "fields": writable(&spec, name, schema(&spec, name), 1),
            }),
        );
    }
    Value::Object(out)
}

#[test]
fn bundled_writable_fields_agree_with_the_published_spec() {
    let want = derived();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/writable.json");
    if std::env::var_os("WATCHKEEP_UPDATE_WRITABLE").is_some() {
        std::fs::write(&path, serde_json::to_string_pretty(&want).unwrap() + "\n").unwrap();
    }
    let have: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let differences = watchkeep_provider::managed::table_differences(&have, &want);
    assert!(
        differences.is_empty(),
        "src/writable.json disagrees with the Datadog OpenAPI spec; regenerate it (see this file's docs) and review:\n{}",
        differences.join("\n")
    );
    // Sanity: the fields the recordings show Datadog computing are not managed.
    let monitor = &want["datadog_monitor"]["fields"];
    for computed in ["id", "created", "modified", "creator", "overall_state", "state", "multi", "deleted"] {
        assert!(monitor.get(computed).is_none(), "{computed} must not be writable");
    }
    for managed in ["name", "type", "query", "message", "tags", "priority", "options"] {
        assert!(monitor.get(managed).is_some(), "{managed} must be writable");
    }
    assert!(monitor["options"]["thresholds"].get("critical").is_some());
}
