//! Validation of requests against Datadog's official v1 OpenAPI document.
//!
//! The OpenAPI 3.0 schemas are translated into JSON Schema (draft 7) once per process:
//! `#/components/schemas/X` references become `#/definitions/X` inside one root document that
//! holds just the components reachable from the schema being validated, `nullable: true` becomes a
//! type union with `"null"` (or an `anyOf` with `{"type":"null"}` around `$ref`/`oneOf`/...),
//! `oneOf` is checked as `anyOf` (some of the spec's alternatives overlap), required `readOnly`
//! properties are not required in requests, and OpenAPI-only keywords (`discriminator`,
//! `example`, `readOnly`, `x-*`, ...) are dropped. Only the
//! operations the stand-in serves are compiled; each gets a body validator and one validator per
//! query parameter.

use std::collections::HashMap;
use std::sync::OnceLock;

use jsonschema::error::ValidationErrorKind;
use jsonschema::ValidationError;
use serde_json::{json, Map, Value};

/// Env var naming an alternative spec file (YAML or JSON) to use instead of the embedded one.
pub const SPEC_ENV: &str = "WATCHKEEP_DATADOG_SPEC";

const EMBEDDED_SPEC: &str =
    include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/specs/datadog-v1-openapi.yaml"));

/// The operations (method, path template exactly as in the spec) the stand-in serves.
pub(crate) const OPERATIONS: &[(&str, &str)] = &[
    ("get", "/api/v1/monitor"),
    ("post", "/api/v1/monitor"),
    ("get", "/api/v1/monitor/{monitor_id}"),
    ("put", "/api/v1/monitor/{monitor_id}"),
    ("delete", "/api/v1/monitor/{monitor_id}"),
    ("post", "/api/v1/monitor/validate"),
    ("post", "/api/v1/monitor/{monitor_id}/validate"),
    ("get", "/api/v1/monitor/can_delete"),
    ("get", "/api/v1/dashboard"),
    ("post", "/api/v1/dashboard"),
    ("get", "/api/v1/dashboard/{dashboard_id}"),
    ("put", "/api/v1/dashboard/{dashboard_id}"),
    ("delete", "/api/v1/dashboard/{dashboard_id}"),
    ("get", "/api/v1/hosts"),
    ("post", "/api/v1/series"),
    ("get", "/api/v1/events"),
    ("get", "/api/v1/query"),
    ("get", "/api/v1/graph/snapshot"),
];

/// Component schemas the stand-in's tests check its answers against.
#[cfg(test)]
const ANSWER_SCHEMAS: &[&str] = &["Event", "EventListResponse", "GraphSnapshot", "MetricsQueryResponse"];

const MAX_REPORTED_ERRORS: usize = 10;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ParamKind {
    Integer,
    Number,
    Boolean,
    String,
    /// `type: array` of integers, `style: form`, `explode: false`: `1,2,3` (e.g. `monitor_ids` of
    /// `GET /api/v1/monitor/can_delete`).
    IntegerList,
}

struct QueryParam {
    name: String,
    required: bool,
    kind: ParamKind,
    validator: jsonschema::Validator,
}

struct Operation {
    body: Option<jsonschema::Validator>,
    body_required: bool,
    query: Vec<QueryParam>,
}

/// Compiled validators for the served operations.
pub(crate) struct Spec {
    ops: HashMap<(&'static str, &'static str), Operation>,
    #[cfg(test)]
    answers: HashMap<&'static str, jsonschema::Validator>,
}

/// The process-wide spec, loaded and compiled on first use.
pub(crate) fn spec() -> Result<&'static Spec, String> {
    static SPEC: OnceLock<Result<Spec, String>> = OnceLock::new();
    SPEC.get_or_init(load).as_ref().map_err(Clone::clone)
}

fn load() -> Result<Spec, String> {
    let text = match std::env::var_os(SPEC_ENV) {
        Some(path) if !path.is_empty() => std::fs::read_to_string(&path).map_err(|e| {
            format!(
                "cannot read Datadog spec {} (from {SPEC_ENV}): {e}",
                std::path::Path::new(&path).display()
            )
        })?,
        _ => EMBEDDED_SPEC.to_owned(),
    };
    let doc = parse_document(&text)?;
    Spec::from_document(&doc)
}

fn parse_document(text: &str) -> Result<Value, String> {
    if text.trim_start().starts_with('{') {
        return serde_json::from_str(text).map_err(|e| format!("invalid spec JSON: {e}"));
    }
    let yaml: serde_yaml::Value =
        serde_yaml::from_str(text).map_err(|e| format!("invalid spec YAML: {e}"))?;
    Ok(yaml_to_json(yaml))
}

fn yaml_to_json(v: serde_yaml::Value) -> Value {
    use serde_yaml::Value as Y;
    match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                n.as_f64().map(Value::from).unwrap_or(Value::Null)
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(seq) => Value::Array(seq.into_iter().map(yaml_to_json).collect()),
        Y::Mapping(map) => {
            let mut out = Map::with_capacity(map.len());
            for (k, v) in map {
                let key = match k {
                    Y::String(s) => s,
                    Y::Bool(b) => b.to_string(),
                    Y::Number(n) => n.to_string(),
                    other => serde_yaml::to_string(&other).unwrap_or_default().trim().to_owned(),
                };
                out.insert(key, yaml_to_json(v));
            }
            Value::Object(out)
        }
        Y::Tagged(t) => yaml_to_json(t.value),
    }
}

impl Spec {
    fn from_document(doc: &Value) -> Result<Self, String> {
        let empty = Map::new();
        let components = doc.pointer("/components/schemas").and_then(Value::as_object).unwrap_or(&empty);
        let shared_params =
            doc.pointer("/components/parameters").and_then(Value::as_object).unwrap_or(&empty);
        let mut ops = HashMap::new();
        for &(method, path) in OPERATIONS {
            let path_item = doc
                .get("paths")
                .and_then(|p| p.get(path))
                .ok_or_else(|| format!("spec has no path {path}"))?;
            let op = path_item
                .get(method)
                .ok_or_else(|| format!("spec has no {} {path}", method.to_uppercase()))?;
            let mut params: Vec<&Value> = Vec::new();
            for list in [path_item.get("parameters"), op.get("parameters")].into_iter().flatten() {
                for p in list.as_array().into_iter().flatten() {
                    params.push(resolve_param(p, shared_params));
                }
            }
            let mut query = Vec::new();
            for p in params {
                if p.get("in").and_then(Value::as_str) != Some("query") {
                    continue;
                }
                let Some(name) = p.get("name").and_then(Value::as_str) else {
                    continue;
                };
                let schema = p.get("schema").cloned().unwrap_or_else(|| json!({}));
                let resolved = resolve_schema_ref(&schema, components);
                let kind = match resolved.get("type").and_then(Value::as_str) {
                    Some("integer") => ParamKind::Integer,
                    Some("number") => ParamKind::Number,
                    Some("boolean") => ParamKind::Boolean,
                    Some("array")
                        if resolved.pointer("/items/type").and_then(Value::as_str) == Some("integer") =>
                    {
                        ParamKind::IntegerList
                    }
                    _ => ParamKind::String,
                };
                let validator = compile(&schema, components)
                    .map_err(|e| format!("{} {path} parameter {name}: {e}", method))?;
                query.push(QueryParam {
                    name: name.to_owned(),
                    required: p.get("required").and_then(Value::as_bool) == Some(true),
                    kind,
                    validator,
                });
            }
            // `POST /api/v1/series` declares its body as `text/json` only.
            let body_schema = op
                .pointer("/requestBody/content/application~1json/schema")
                .or_else(|| op.pointer("/requestBody/content/text~1json/schema"));
            let body = match body_schema {
                Some(s) => {
                    Some(compile(s, components).map_err(|e| format!("{} {path} request body: {e}", method))?)
                }
                None => None,
            };
            let body_required = op.pointer("/requestBody/required").and_then(Value::as_bool) == Some(true);
            ops.insert((method, path), Operation { body, body_required, query });
        }
        #[cfg(test)]
        let answers = ANSWER_SCHEMAS
            .iter()
            .map(|name| {
                let schema = json!({ "$ref": format!("#/components/schemas/{name}") });
                compile(&schema, components).map(|v| (*name, v)).map_err(|e| format!("schema {name}: {e}"))
            })
            .collect::<Result<_, String>>()?;
        Ok(Spec {
            ops,
            #[cfg(test)]
            answers,
        })
    }

    /// Errors of `value` against one of [`ANSWER_SCHEMAS`] (an unknown name is an error).
    #[cfg(test)]
    pub(crate) fn check_schema(&self, name: &str, value: &Value) -> Vec<String> {
        match self.answers.get(name) {
            Some(v) => v.iter_errors(value).map(|e| format!("{}: {e}", e.instance_path())).collect(),
            None => vec![format!("no answer schema {name}")],
        }
    }

    /// Validates a request body of the operation. Errors name the JSON path of each problem.
    pub(crate) fn check_body(&self, method: &str, path: &str, body: &Value) -> Result<(), Vec<String>> {
        let Some(op) = self.ops.get(&(method, path)) else {
            return Ok(());
        };
        let Some(validator) = &op.body else {
            return Ok(());
        };
        if body.is_null() && op.body_required {
            return Err(vec!["Invalid request body: a JSON object is required".to_owned()]);
        }
        let errors: Vec<String> = validator
            .iter_errors(body)
            .take(MAX_REPORTED_ERRORS)
            .map(|e| {
                let (at, message) = describe(&e);
                if at.is_empty() {
                    format!("Invalid request body: {message}")
                } else {
                    format!("Invalid value at {at}: {message}")
                }
            })
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// Validates the query parameters the spec declares for the operation (type, limits,
    /// required). Unknown parameters are ignored, as Datadog does.
    pub(crate) fn check_query(
        &self,
        method: &str,
        path: &str,
        pairs: &[(String, String)],
    ) -> Result<(), Vec<String>> {
        let Some(op) = self.ops.get(&(method, path)) else {
            return Ok(());
        };
        let mut errors = Vec::new();
        for param in &op.query {
            let Some((_, raw)) = pairs.iter().find(|(k, _)| *k == param.name) else {
                if param.required {
                    errors.push(format!("Missing required query parameter '{}'", param.name));
                }
                continue;
            };
            let value = match coerce(raw, param.kind) {
                Ok(v) => v,
                Err(expected) => {
                    errors.push(format!(
                        "Invalid value for query parameter '{}': {raw:?} is not {expected}",
                        param.name
                    ));
                    continue;
                }
            };
            for e in param.validator.iter_errors(&value).take(MAX_REPORTED_ERRORS) {
                errors.push(format!("Invalid value for query parameter '{}': {e}", param.name));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

const MAX_MESSAGE_CHARS: usize = 300;

fn depth(e: &ValidationError<'_>) -> usize {
    e.instance_path().as_str().matches('/').count()
}

/// An alternative of an `anyOf` that failed on what tells the alternatives apart: the kind of
/// value itself, or an enum/const `type` property (widget definitions, queries, ...).
fn ruled_out(alternative: &[ValidationError<'_>], base: usize) -> bool {
    alternative.iter().any(|x| {
        if let ValidationErrorKind::AnyOf { context } | ValidationErrorKind::OneOfNotValid { context } =
            x.kind()
        {
            // A nested union none of whose alternatives fits either.
            return depth(x) == base && context.iter().all(|alt| ruled_out(alt, base));
        }
        let discriminating = matches!(
            x.kind(),
            ValidationErrorKind::Type { .. }
                | ValidationErrorKind::Enum { .. }
                | ValidationErrorKind::Constant { .. }
        );
        let d = depth(x);
        discriminating
            && (d == base
                || (d == base + 1
                    && (x.instance_path().as_str().ends_with("/type")
                        || x.instance_path().as_str().ends_with("/data_source"))))
    })
}

/// The JSON pointer and message of a validation error. For an `anyOf` (a translated `oneOf`)
/// the error of the alternative the value was most likely meant to be is reported, instead of
/// jsonschema's "not valid under any of the schemas", which prints the whole value.
fn describe(e: &ValidationError<'_>) -> (String, String) {
    if let ValidationErrorKind::AnyOf { context } | ValidationErrorKind::OneOfNotValid { context } = e.kind()
    {
        let base = depth(e);
        let best = context
            .iter()
            .filter(|alt| !alt.is_empty() && !ruled_out(alt, base))
            .max_by_key(|alt| {
                let deepest = alt.iter().map(|x| depth(x)).max().unwrap_or(0);
                (deepest, std::cmp::Reverse(alt.len()))
            })
            .and_then(|alt| alt.iter().max_by_key(|x| depth(x)));
        return match best {
            Some(inner) => describe(inner),
            None => (
                e.instance_path().as_str().to_owned(),
                "matches none of the alternatives the spec allows here \
                 (check its `type` and required fields)"
                    .to_owned(),
            ),
        };
    }
    let mut message = e.to_string();
    if message.chars().count() > MAX_MESSAGE_CHARS {
        message = message.chars().take(MAX_MESSAGE_CHARS).collect::<String>() + "...";
    }
    (e.instance_path().as_str().to_owned(), message)
}

fn coerce(raw: &str, kind: ParamKind) -> Result<Value, &'static str> {
    let t = raw.trim();
    match kind {
        ParamKind::String => Ok(Value::String(raw.to_owned())),
        ParamKind::Integer => t.parse::<i64>().map(Value::from).map_err(|_| "an integer"),
        ParamKind::Number => {
            t.parse::<f64>().ok().filter(|f| f.is_finite()).map(Value::from).ok_or("a number")
        }
        ParamKind::Boolean => match t.to_ascii_lowercase().as_str() {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err("a boolean (true or false)"),
        },
        ParamKind::IntegerList => t
            .split(',')
            .map(|x| x.trim().parse::<i64>().map(Value::from))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array)
            .map_err(|_| "a comma-separated list of integers"),
    }
}

fn resolve_param<'a>(p: &'a Value, shared: &'a Map<String, Value>) -> &'a Value {
    match p.get("$ref").and_then(Value::as_str) {
        Some(r) => r.strip_prefix("#/components/parameters/").and_then(|n| shared.get(n)).unwrap_or(p),
        None => p,
    }
}

fn resolve_schema_ref<'a>(s: &'a Value, components: &'a Map<String, Value>) -> &'a Value {
    let mut cur = s;
    for _ in 0..16 {
        match cur
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix("#/components/schemas/"))
            .and_then(|n| components.get(n))
        {
            Some(next) => cur = next,
            None => break,
        }
    }
    cur
}

/// Translates `schema` (and every component it reaches) and compiles it.
fn compile(schema: &Value, components: &Map<String, Value>) -> Result<jsonschema::Validator, String> {
    let doc = to_json_schema(schema, components);
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft7)
        .should_validate_formats(true)
        .should_ignore_unknown_formats(true)
        .build(&doc)
        .map_err(|e| e.to_string())
}

/// One self-contained draft-7 document: `{"allOf":[schema], "definitions": {reachable components}}`.
pub(crate) fn to_json_schema(schema: &Value, components: &Map<String, Value>) -> Value {
    let root = convert(schema, components);
    let mut definitions = Map::new();
    let mut pending = Vec::new();
    collect_refs(&root, &mut pending);
    while let Some(name) = pending.pop() {
        if definitions.contains_key(&name) {
            continue;
        }
        let converted = match components.get(&name) {
            Some(raw) => convert(raw, components),
            // Unknown component: accept anything rather than fail compilation.
            None => json!({}),
        };
        collect_refs(&converted, &mut pending);
        definitions.insert(name, converted);
    }
    json!({ "allOf": [root], "definitions": definitions })
}

fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                if k == "$ref" {
                    if let Some(name) = v.as_str().and_then(|r| r.strip_prefix("#/definitions/")) {
                        out.push(name.to_owned());
                    }
                } else {
                    collect_refs(v, out);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

const COPIED_KEYWORDS: &[&str] = &[
    "type",
    "format",
    "enum",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minProperties",
    "maxProperties",
    "multipleOf",
];

/// Converts one OpenAPI 3.0 schema object into draft-7 JSON Schema (schema-aware: property maps
/// are walked as maps, so a property named `example` or `nullable` survives).
fn convert(schema: &Value, components: &Map<String, Value>) -> Value {
    let Value::Object(obj) = schema else {
        return schema.clone();
    };
    let mut out = Map::new();
    for (k, v) in obj {
        match k.as_str() {
            "$ref" => {
                let target = v
                    .as_str()
                    .map(|r| match r.strip_prefix("#/components/schemas/") {
                        Some(name) => format!("#/definitions/{name}"),
                        None => r.to_owned(),
                    })
                    .unwrap_or_default();
                out.insert(k.clone(), Value::String(target));
            }
            "properties" => {
                if let Value::Object(props) = v {
                    let converted =
                        props.iter().map(|(name, s)| (name.clone(), convert(s, components))).collect();
                    out.insert(k.clone(), Value::Object(converted));
                }
            }
            "items" | "additionalProperties" | "not" => {
                out.insert(k.clone(), convert(v, components));
            }
            "allOf" | "anyOf" | "oneOf" => {
                if let Value::Array(list) = v {
                    let converted = list.iter().map(|s| convert(s, components)).collect();
                    // The spec's `oneOf`s are not always exclusive (the wildcard widget's
                    // request alternatives have no required field, so a request matches
                    // several), and Datadog's clients take the first alternative that fits,
                    // so they are checked as `anyOf`.
                    let key = if k == "oneOf" && !obj.contains_key("anyOf") { "anyOf" } else { k.as_str() };
                    out.insert(key.to_owned(), Value::Array(converted));
                }
            }
            "required" => {
                // OpenAPI: a required readOnly property is required in responses only.
                if let Value::Array(names) = v {
                    let props = obj.get("properties").and_then(Value::as_object);
                    let kept: Vec<Value> = names
                        .iter()
                        .filter(|n| {
                            let prop = n.as_str().and_then(|n| props.and_then(|p| p.get(n)));
                            !prop.is_some_and(|p| is_read_only(p, components))
                        })
                        .cloned()
                        .collect();
                    if !kept.is_empty() {
                        out.insert(k.clone(), Value::Array(kept));
                    }
                }
            }
            "exclusiveMinimum" | "exclusiveMaximum" => {
                // OpenAPI 3.0 uses draft-4 booleans; draft 7 wants the bound itself.
                let bound_key = if k == "exclusiveMinimum" { "minimum" } else { "maximum" };
                match v {
                    Value::Bool(true) => {
                        if let Some(bound) = obj.get(bound_key) {
                            out.insert(k.clone(), bound.clone());
                        }
                    }
                    Value::Number(_) => {
                        out.insert(k.clone(), v.clone());
                    }
                    _ => {}
                }
            }
            key if COPIED_KEYWORDS.contains(&key) => {
                out.insert(k.clone(), v.clone());
            }
            // description, example, discriminator, readOnly, deprecated, default, x-*, ...
            _ => {}
        }
    }
    // A boolean exclusive bound replaced the inclusive one.
    for (excl, bound) in [("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")] {
        if obj.get(excl) == Some(&Value::Bool(true)) && out.contains_key(excl) {
            out.remove(bound);
        }
    }
    if obj.get("nullable").and_then(Value::as_bool) == Some(true) {
        return make_nullable(out);
    }
    Value::Object(out)
}

fn make_nullable(mut out: Map<String, Value>) -> Value {
    let composite = ["$ref", "allOf", "anyOf", "oneOf", "not"].iter().any(|k| out.contains_key(*k));
    if composite {
        return json!({ "anyOf": [Value::Object(out), { "type": "null" }] });
    }
    if let Some(t) = out.get_mut("type") {
        match t {
            Value::String(s) => *t = json!([s.clone(), "null"]),
            Value::Array(list) if !list.iter().any(|x| x == "null") => {
                list.push(Value::from("null"));
            }
            _ => {}
        }
    }
    if let Some(Value::Array(values)) = out.get_mut("enum") {
        if !values.iter().any(Value::is_null) {
            values.push(Value::Null);
        }
    }
    Value::Object(out)
}

fn is_read_only(schema: &Value, components: &Map<String, Value>) -> bool {
    schema.get("readOnly").and_then(Value::as_bool) == Some(true)
        || resolve_schema_ref(schema, components).get("readOnly").and_then(Value::as_bool) == Some(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn monitor_errors(body: Value) -> Result<(), Vec<String>> {
        let spec = spec().expect("spec compiles");
        spec.check_body("post", "/api/v1/monitor", &body)
    }

    #[test]
    fn valid_monitor_is_accepted() {
        let body = json!({
            "name": "CPU high",
            "type": "metric alert",
            "query": "avg(last_5m):avg:system.cpu.user{env:prod} by {host} > 90",
            "message": "CPU is high @slack-ops",
            "tags": ["team:core", "env:prod"],
            "priority": null,
            "restricted_roles": null,
            "options": {
                "thresholds": {"critical": 90, "warning": 80, "ok": null},
                "notify_no_data": false,
                "new_group_delay": 0,
                "renotify_interval": null,
                "evaluation_delay": null
            }
        });
        assert_eq!(monitor_errors(body), Ok(()));
    }

    #[test]
    fn invalid_monitors_are_rejected_with_paths() {
        let bad_type = monitor_errors(json!({"type": "no such type", "query": "x > 1"}));
        let errs = bad_type.expect_err("unknown type rejected");
        assert!(errs[0].contains("/type"), "{errs:?}");

        let missing_query = monitor_errors(json!({"type": "metric alert", "name": "n"}));
        let errs = missing_query.expect_err("missing query rejected");
        assert!(errs.iter().any(|e| e.contains("query")), "{errs:?}");

        let string_number = monitor_errors(json!({
            "type": "metric alert", "query": "avg(last_5m):avg:a{*} > 1",
            "options": {"thresholds": {"critical": "1"}}
        }));
        let errs = string_number.expect_err("string threshold rejected");
        assert!(errs.iter().any(|e| e.contains("/options/thresholds/critical")), "{errs:?}");

        let bad_priority = monitor_errors(json!({
            "type": "metric alert", "query": "avg(last_5m):avg:a{*} > 1", "priority": "high"
        }));
        assert!(bad_priority.is_err());

        assert!(monitor_errors(json!([1, 2])).is_err());
    }

    #[test]
    fn query_parameters_are_checked() {
        let spec = spec().expect("spec compiles");
        let q = |pairs: &[(&str, &str)]| {
            let owned: Vec<(String, String)> =
                pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
            spec.check_query("get", "/api/v1/monitor", &owned)
        };
        assert!(q(&[("page", "0"), ("page_size", "1000")]).is_ok());
        assert!(q(&[("page_size", "1001")]).is_err());
        assert!(q(&[("page", "abc")]).is_err());
        assert!(q(&[("with_downtimes", "maybe")]).is_err());
        assert!(q(&[("unknown", "whatever")]).is_ok());
        let ids = |v: &str| {
            spec.check_query("get", "/api/v1/monitor/can_delete", &[("monitor_ids".into(), v.into())])
        };
        assert!(ids("1,2, 3").is_ok());
        assert!(ids("1,x").is_err());
        assert!(
            spec.check_query("get", "/api/v1/monitor/can_delete", &[]).is_err(),
            "monitor_ids is required"
        );
    }

    #[test]
    fn dashboard_schema_compiles_and_checks() {
        let spec = spec().expect("spec compiles");
        let ok = json!({
            "title": "Service overview",
            "layout_type": "ordered",
            "widgets": [
                {"definition": {"type": "note", "content": "hello"}},
                {"definition": {
                    "type": "timeseries",
                    "requests": [{
                        "queries": [{"data_source": "metrics", "name": "q1",
                                     "query": "avg:system.cpu.user{*}"}],
                        "formulas": [{"formula": "q1"}],
                        "response_format": "timeseries",
                        "display_type": "line"
                    }]
                }},
                {"definition": {"type": "query_value",
                                "requests": [{"q": "avg:system.load.1{*}", "aggregator": "avg"}]}},
                // A request matching several alternatives of the spec's `oneOf`.
                {"definition": {"type": "wildcard",
                    "specification": {"type": "vega-lite", "contents": {}},
                    "requests": [{"response_format": "scalar",
                        "queries": [{"data_source": "metrics", "name": "q1",
                                     "query": "avg:system.cpu.user{*}"}]}]}},
                {"definition": {"type": "funnel", "requests": [{
                    "request_type": "funnel",
                    "query": {"data_source": "rum", "query_string": "@browser.name:Chrome",
                              "steps": [{"facet": "@view.name", "value": "/home"}]}
                }]}}
            ]
        });
        assert_eq!(spec.check_body("post", "/api/v1/dashboard", &ok), Ok(()));
        let wrong_field = json!({"title": "x", "layout_type": "ordered", "widgets": [
            {"definition": {"type": "timeseries", "requests": [{"q": "avg:a{*}",
                                                                "display_type": "pie"}]}}
        ]});
        let errs = spec.check_body("post", "/api/v1/dashboard", &wrong_field).expect_err("bad display_type");
        assert!(
            errs[0].starts_with("Invalid value at /widgets/0/definition/requests/0/display_type:"),
            "{errs:?}"
        );
        let note_without_content = json!({"title": "x", "layout_type": "ordered", "widgets": [
            {"definition": {"type": "note"}}
        ]});
        let errs = spec
            .check_body("post", "/api/v1/dashboard", &note_without_content)
            .expect_err("note needs content");
        assert_eq!(errs, ["Invalid value at /widgets/0/definition: \"content\" is a required property"]);
        let unknown_widget = json!({"title": "x", "layout_type": "ordered", "widgets": [
            {"definition": {"type": "no_such_widget"}}
        ]});
        let errs =
            spec.check_body("post", "/api/v1/dashboard", &unknown_widget).expect_err("unknown widget type");
        assert!(errs[0].starts_with("Invalid value at /widgets/0/definition: matches none"), "{errs:?}");
        let bad = json!({"title": "x", "layout_type": "sideways", "widgets": []});
        assert!(spec.check_body("post", "/api/v1/dashboard", &bad).is_err());
        let no_widgets = json!({"title": "x", "layout_type": "ordered"});
        assert!(spec.check_body("post", "/api/v1/dashboard", &no_widgets).is_err());
    }

    #[test]
    fn nullable_translation() {
        let components = Map::new();
        let s = convert(&json!({"type": "integer", "nullable": true}), &components);
        assert_eq!(s, json!({"type": ["integer", "null"]}));
        let s = convert(&json!({"type": "string", "enum": ["a"], "nullable": true}), &components);
        assert_eq!(s, json!({"type": ["string", "null"], "enum": ["a", null]}));
        let s = convert(&json!({"$ref": "#/components/schemas/X", "nullable": true}), &components);
        assert_eq!(s, json!({"anyOf": [{"$ref": "#/definitions/X"}, {"type": "null"}]}));
    }
}
