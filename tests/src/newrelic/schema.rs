//! The NerdGraph schema and the checks every request document goes through before it runs.
//!
//! The SDL (`shared/specs/newrelic-nerdgraph.graphql`) is loaded once per process with
//! `apollo-compiler` and validated as a schema. Two things in it need care:
//!
//! - It was printed from an introspection result whose enum values carry `deprecationReason: ""`
//!   next to `isDeprecated: false`; the printer turned those into `@deprecated(reason: "")` on
//!   1,413 enum values (every value of most enums). Those marks are dropped on load, so
//!   introspection (`enumValues(includeDeprecated: false)`) lists the values New Relic lists; the
//!   31 real deprecations (with a reason) stay.
//! - New Relic's `Int` is not the spec's 32-bit `Int`: the schema says it holds
//!   `-(2^53 - 1)..=2^53 - 1`. apollo-compiler rejects Int literals past 32 bits, so those
//!   diagnostics are replaced by a 53-bit check of our own.
//!
//! A request document is then parsed and validated against the schema (unknown fields, argument
//! types, missing required arguments, fragments, variable definitions and usages, ...), its
//! literals are checked against the custom scalars the schema types them with (`Seconds` is an
//! integer, `Nrql` a string, `DateTime` an ISO 8601 date, ...), and the request's `variables`
//! are coerced to the operation's variable definitions here, not by apollo-compiler, for the
//! same two reasons (53-bit `Int`, typed custom scalars).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use apollo_compiler::ast;
use apollo_compiler::diagnostic::Diagnostic;
use apollo_compiler::executable::{Selection, SelectionSet};
use apollo_compiler::parser::{LineColumn, SourceMap, SourceSpan};
use apollo_compiler::response::{JsonMap, JsonValue};
use apollo_compiler::schema::{ExtendedType, Implementers};
use apollo_compiler::validation::{DiagnosticData, Valid};
use apollo_compiler::{ExecutableDocument, Name, Node, Schema};
use serde_json::{json, Map, Value};

/// Env var naming the NerdGraph SDL to load instead of `shared/specs/newrelic-nerdgraph.graphql`.
pub const SCHEMA_ENV: &str = "WATCHKEEP_NEWRELIC_SCHEMA";

/// Largest magnitude of a New Relic `Int` (the schema's own description of `Int`).
pub(crate) const MAX_SAFE_INT: i64 = (1 << 53) - 1;

/// The loaded schema.
pub(crate) struct NerdGraph {
    pub(crate) schema: Valid<Schema>,
    pub(crate) implementers: apollo_compiler::collections::HashMap<Name, Implementers>,
}

/// Where the SDL is read from: `$WATCHKEEP_NEWRELIC_SCHEMA`, else the workspace's
/// `../shared/specs/newrelic-nerdgraph.graphql`.
pub fn schema_path() -> PathBuf {
    match std::env::var_os(SCHEMA_ENV) {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/specs/newrelic-nerdgraph.graphql"),
    }
}

/// The process-wide schema, loaded on first use.
pub(crate) fn nerdgraph() -> Result<&'static NerdGraph, String> {
    static SCHEMA: OnceLock<Result<NerdGraph, String>> = OnceLock::new();
    SCHEMA.get_or_init(|| load(&schema_path())).as_ref().map_err(Clone::clone)
}

fn load(path: &Path) -> Result<NerdGraph, String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "cannot read the NerdGraph schema {}: {e} (set {SCHEMA_ENV} to the SDL file, \
             shared/specs/newrelic-nerdgraph.graphql)",
            path.display()
        )
    })?;
    let mut doc = ast::Document::parse(text, path)
        .map_err(|e| format!("the NerdGraph schema {} does not parse: {}", path.display(), e.errors))?;
    drop_empty_deprecations(&mut doc);
    let schema = doc
        .to_schema_validate()
        .map_err(|e| format!("the NerdGraph schema {} is not valid: {}", path.display(), e.errors))?;
    let implementers = schema.implementers_map();
    Ok(NerdGraph { schema, implementers })
}

/// Removes `@deprecated(reason: "")` from enum values (see the module docs).
fn drop_empty_deprecations(doc: &mut ast::Document) {
    for def in &mut doc.definitions {
        let ast::Definition::EnumTypeDefinition(e) = def else { continue };
        if !e.values.iter().any(|v| v.directives.iter().any(is_empty_deprecation)) {
            continue;
        }
        for value in &mut e.make_mut().values {
            if value.directives.iter().any(is_empty_deprecation) {
                value.make_mut().directives.0.retain(|d| !is_empty_deprecation(d));
            }
        }
    }
}

fn is_empty_deprecation(d: &Node<ast::Directive>) -> bool {
    d.name == "deprecated"
        && d.arguments.iter().all(|a| a.name != "reason" || a.value.as_str().is_some_and(str::is_empty))
}

/// One error of a refused request, as NerdGraph words it.
#[derive(Clone, Debug, PartialEq)]
pub struct GraphqlError {
    pub message: String,
    /// `(line, column)`, 1-based.
    pub locations: Vec<(usize, usize)>,
    /// `extensions.errorClass`.
    pub error_class: String,
}

impl GraphqlError {
    pub(crate) fn new(class: &str, message: impl Into<String>, locations: Vec<(usize, usize)>) -> Self {
        GraphqlError { message: message.into(), locations, error_class: class.to_owned() }
    }

    /// The entry of a response's `errors` array.
    pub fn to_json(&self) -> Value {
        let mut out = Map::new();
        out.insert("message".into(), json!(self.message));
        if !self.locations.is_empty() {
            let locs: Vec<Value> =
                self.locations.iter().map(|(line, column)| json!({"line": line, "column": column})).collect();
            out.insert("locations".into(), Value::Array(locs));
        }
        out.insert("extensions".into(), json!({ "errorClass": self.error_class }));
        Value::Object(out)
    }
}

/// A document that passed every check, ready to execute.
pub(crate) struct Prepared {
    pub(crate) doc: Valid<ExecutableDocument>,
    pub(crate) operation_name: Option<String>,
    pub(crate) variables: Valid<JsonMap>,
    pub(crate) root_fields: Vec<String>,
    pub(crate) is_mutation: bool,
}

/// Why a document was refused, and the root fields it asked for (when it parsed far enough).
pub(crate) struct Refused {
    pub(crate) errors: Vec<GraphqlError>,
    pub(crate) root_fields: Vec<String>,
}

/// Parses, validates and coerces one request.
pub(crate) fn prepare(
    ng: &NerdGraph,
    query: &str,
    variables: &Map<String, Value>,
    operation_name: Option<&str>,
) -> Result<Prepared, Refused> {
    let schema = &ng.schema;
    let (doc, mut errors) = match ExecutableDocument::parse_and_validate(schema, query, "query.graphql") {
        Ok(doc) => (doc.into_inner(), Vec::new()),
        Err(with) => {
            let to_error = |d: &Diagnostic<'_, DiagnosticData>, class: &str| {
                let json = d.unstable_to_json_compat();
                GraphqlError::new(class, json.message, locations(&json.locations))
            };
            // Like graphql-js, a document that does not parse gets its first syntax error only
            // (validating what the parser recovered would only add noise).
            let syntax = with.errors.iter().find(|d| d.error.to_string().starts_with("syntax error"));
            if let Some(d) = syntax {
                return Err(Refused {
                    errors: vec![to_error(&d, "GRAPHQL_PARSE_FAILED")],
                    root_fields: Vec::new(),
                });
            }
            let errors: Vec<GraphqlError> = with
                .errors
                .iter()
                .filter(|d| !is_53_bit_int_literal(d))
                .map(|d| to_error(&d, "GRAPHQL_VALIDATION_FAILED"))
                .collect();
            (with.partial, errors)
        }
    };
    let root_fields = root_field_names(&doc, operation_name);
    errors.extend(check_literals(schema, &doc));
    if !errors.is_empty() {
        return Err(Refused { errors, root_fields });
    }
    let doc = Valid::assume_valid(doc);
    let refuse = |errors: Vec<GraphqlError>| Refused { errors, root_fields: root_fields.clone() };
    let operation = doc.operations.get(operation_name).map_err(|e| {
        let loc = e.location().and_then(|l| l.line_column(&doc.sources));
        refuse(vec![GraphqlError::new("GRAPHQL_VALIDATION_FAILED", e.message().to_string(), locs(loc))])
    })?;
    if let Err(e) = apollo_compiler::introspection::check_max_depth(&doc, operation) {
        let loc = e.location().and_then(|l| l.line_column(&doc.sources));
        return Err(refuse(vec![GraphqlError::new(
            "GRAPHQL_VALIDATION_FAILED",
            e.message().to_string(),
            locs(loc),
        )]));
    }
    let coerced = coerce_variables(schema, operation, variables, &doc.sources).map_err(refuse)?;
    let is_mutation = operation.operation_type == ast::OperationType::Mutation;
    let operation_name = operation.name.as_ref().map(|n| n.to_string());
    Ok(Prepared { doc, operation_name, variables: Valid::assume_valid(coerced), root_fields, is_mutation })
}

fn locations(locs: &[LineColumn]) -> Vec<(usize, usize)> {
    locs.iter().map(|l| (l.line, l.column)).collect()
}

fn locs(loc: Option<LineColumn>) -> Vec<(usize, usize)> {
    loc.map(|l| vec![(l.line, l.column)]).unwrap_or_default()
}

fn span_locs(span: Option<SourceSpan>, sources: &SourceMap) -> Vec<(usize, usize)> {
    locs(span.and_then(|s| s.line_column(sources)))
}

/// apollo-compiler's "Int cannot represent non 32-bit signed integer value" for a literal that
/// New Relic's 53-bit `Int` accepts ([`check_literals`] checks the 53-bit range instead).
fn is_53_bit_int_literal(d: &Diagnostic<'_, DiagnosticData>) -> bool {
    d.error.unstable_error_name() == Some("IntCoercionError")
}

/// The root fields of the operation that would run (all operations' when it is ambiguous).
fn root_field_names(doc: &ExecutableDocument, operation_name: Option<&str>) -> Vec<String> {
    let mut names = Vec::new();
    let mut push = |op: &apollo_compiler::executable::Operation| {
        for f in op.root_fields(doc) {
            if !names.iter().any(|n| n == f.name.as_str()) {
                names.push(f.name.to_string());
            }
        }
    };
    match doc.operations.get(operation_name) {
        Ok(op) => push(op),
        Err(_) => doc.operations.iter().for_each(|op| push(op)),
    }
    names
}

/// How a scalar's input values are checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ScalarKind {
    Int,
    Float,
    String,
    Boolean,
    Id,
    DateTime,
    /// JSON-valued custom scalars (`NrdbResult`, `DashboardWidgetRawConfiguration`, ...).
    Any,
}

fn scalar_kind(name: &str) -> ScalarKind {
    match name {
        "Int"
        | "Seconds"
        | "Milliseconds"
        | "Minutes"
        | "EpochMilliseconds"
        | "EpochSeconds"
        | "EntityAlertViolationInt" => ScalarKind::Int,
        "Float" => ScalarKind::Float,
        "Boolean" => ScalarKind::Boolean,
        "ID" => ScalarKind::Id,
        "DateTime" => ScalarKind::DateTime,
        "String"
        | "Nrql"
        | "EntityGuid"
        | "SecureValue"
        | "SemVer"
        | "EntitySearchQuery"
        | "NerdpackTagName"
        | "LogConfigurationsLogDataPartitionName"
        | "Date"
        | "NaiveDateTime" => ScalarKind::String,
        _ => ScalarKind::Any,
    }
}

/// Checks every argument literal of the document against its type where apollo-compiler does
/// not: the 53-bit `Int` range and the custom scalars.
fn check_literals(schema: &Valid<Schema>, doc: &ExecutableDocument) -> Vec<GraphqlError> {
    let mut errors = Vec::new();
    let mut sets: Vec<&SelectionSet> = doc.operations.iter().map(|op| &op.selection_set).collect();
    sets.extend(doc.fragments.values().map(|f| &f.selection_set));
    while let Some(set) = sets.pop() {
        for selection in &set.selections {
            match selection {
                Selection::Field(field) => {
                    for arg in &field.arguments {
                        if let Some(def) = field.definition.argument_by_name(&arg.name) {
                            let what = format!("Argument \"{}\"", arg.name);
                            if let Err(reason) = check_literal(schema, &arg.value, &def.ty) {
                                errors.push(GraphqlError::new(
                                    "GRAPHQL_VALIDATION_FAILED",
                                    format!("{what} has invalid value {}: {reason}", arg.value),
                                    span_locs(arg.value.location(), &doc.sources),
                                ));
                            }
                        }
                    }
                    sets.push(&field.selection_set);
                }
                Selection::InlineFragment(inline) => sets.push(&inline.selection_set),
                Selection::FragmentSpread(_) => {}
            }
        }
    }
    errors
}

fn check_literal(schema: &Schema, value: &ast::Value, ty: &ast::Type) -> Result<(), String> {
    match value {
        ast::Value::Variable(_) | ast::Value::Null => return Ok(()),
        ast::Value::List(items) if ty.is_list() => {
            for item in items {
                check_literal(schema, item, ty.item_type())?;
            }
            return Ok(());
        }
        _ => {}
    }
    if ty.is_list() {
        // A single value where a list is expected is coerced to a list of one.
        return check_literal(schema, value, ty.item_type());
    }
    let name = ty.inner_named_type();
    match schema.types.get(name) {
        Some(ExtendedType::InputObject(def)) => {
            if let ast::Value::Object(fields) = value {
                for (field_name, field_value) in fields {
                    if let Some(field_def) = def.fields.get(field_name) {
                        check_literal(schema, field_value, &field_def.ty)
                            .map_err(|e| format!("In field \"{field_name}\": {e}"))?;
                    }
                }
            }
            Ok(())
        }
        Some(ExtendedType::Scalar(scalar)) if scalar.is_built_in() => {
            // apollo-compiler checks the built-in scalars, except `Int`'s range (53 bits here).
            match value {
                ast::Value::Int(i) if name == "Int" => {
                    if i.as_str().parse::<i64>().is_ok_and(|n| (-MAX_SAFE_INT..=MAX_SAFE_INT).contains(&n)) {
                        Ok(())
                    } else {
                        Err(format!("Int cannot represent non 53-bit signed integer value: {value}"))
                    }
                }
                _ => Ok(()),
            }
        }
        Some(ExtendedType::Scalar(_)) => {
            let kind = scalar_kind(name);
            let ok = match (kind, value) {
                (ScalarKind::Int, ast::Value::Int(i)) => {
                    i.as_str().parse::<i64>().is_ok_and(|n| (-MAX_SAFE_INT..=MAX_SAFE_INT).contains(&n))
                }
                (ScalarKind::Int, _) => false,
                (ScalarKind::DateTime, ast::Value::String(s)) => is_date_time(s),
                (ScalarKind::DateTime, _) => false,
                (ScalarKind::String, v) => matches!(v, ast::Value::String(_)),
                // apollo-compiler has checked the built-in Float, Boolean and ID.
                (ScalarKind::Float | ScalarKind::Boolean | ScalarKind::Id | ScalarKind::Any, _) => true,
            };
            if ok {
                Ok(())
            } else {
                Err(format!("Expected type \"{name}\", found {value}."))
            }
        }
        _ => Ok(()),
    }
}

fn is_date_time(s: &str) -> bool {
    chrono::DateTime::parse_from_rfc3339(s).is_ok()
        || chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").is_ok()
}

/// [CoerceVariableValues](https://spec.graphql.org/October2021/#CoerceVariableValues()) with
/// New Relic's scalars; errors are worded like graphql-js's.
fn coerce_variables(
    schema: &Schema,
    operation: &apollo_compiler::executable::Operation,
    values: &Map<String, Value>,
    sources: &SourceMap,
) -> Result<JsonMap, Vec<GraphqlError>> {
    let mut coerced = Map::new();
    let mut errors = Vec::new();
    for def in &operation.variables {
        let name = def.name.as_str();
        let location = span_locs(def.location(), sources);
        match values.get(name) {
            Some(value) => match coerce_value(schema, value, &def.ty, name) {
                Ok(v) => {
                    coerced.insert(name.to_owned(), v);
                }
                Err(InputError { path, reason }) => {
                    let at = if path == name { String::new() } else { format!(" at \"{path}\"") };
                    errors.push(GraphqlError::new(
                        "BAD_USER_INPUT",
                        format!("Variable \"${name}\" got invalid value {}{at}; {reason}", short(value)),
                        location,
                    ));
                }
            },
            None => {
                if let Some(default) = &def.default_value {
                    coerced.insert(name.to_owned(), ast_to_json(default));
                } else if def.ty.is_non_null() {
                    errors.push(GraphqlError::new(
                        "BAD_USER_INPUT",
                        format!("Variable \"${name}\" of required type \"{}\" was not provided.", def.ty),
                        location,
                    ));
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(coerced.iter().map(|(k, v)| (k.as_str().into(), to_response_json(v))).collect())
    } else {
        Err(errors)
    }
}

struct InputError {
    /// `policy.terms[0].threshold` (without the variable name's `$`).
    path: String,
    reason: String,
}

fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 120 {
        format!("{}...", text.chars().take(117).collect::<String>())
    } else {
        text
    }
}

fn coerce_value(schema: &Schema, value: &Value, ty: &ast::Type, path: &str) -> Result<Value, InputError> {
    let fail = |reason: String| InputError { path: path.to_owned(), reason };
    if value.is_null() {
        return if ty.is_non_null() {
            Err(fail(format!("Expected non-nullable type \"{ty}\" not to be null.")))
        } else {
            Ok(Value::Null)
        };
    }
    if ty.is_list() {
        let item_ty = ty.item_type();
        return match value {
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| coerce_value(schema, item, item_ty, &format!("{path}[{i}]")))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            single => Ok(Value::Array(vec![coerce_value(schema, single, item_ty, path)?])),
        };
    }
    let name = ty.inner_named_type();
    match schema.types.get(name) {
        Some(ExtendedType::Scalar(_)) => coerce_scalar(name, value).map_err(fail),
        Some(ExtendedType::Enum(def)) => match value.as_str() {
            Some(s) if def.values.contains_key(s) => Ok(value.clone()),
            Some(s) => Err(fail(format!("Value \"{s}\" does not exist in \"{name}\" enum."))),
            None => {
                Err(fail(format!("Enum \"{name}\" cannot represent non-string value: {}.", short(value))))
            }
        },
        Some(ExtendedType::InputObject(def)) => {
            let Value::Object(given) = value else {
                return Err(fail(format!("Expected type \"{name}\" to be an object.")));
            };
            if let Some(unknown) = given.keys().find(|k| !def.fields.contains_key(k.as_str())) {
                return Err(fail(format!("Field \"{unknown}\" is not defined by type \"{name}\".")));
            }
            let mut out = Map::new();
            for (field_name, field_def) in &def.fields {
                let field_path =
                    if path.is_empty() { field_name.to_string() } else { format!("{path}.{field_name}") };
                match given.get(field_name.as_str()) {
                    Some(v) => {
                        out.insert(
                            field_name.to_string(),
                            coerce_value(schema, v, &field_def.ty, &field_path)?,
                        );
                    }
                    None => {
                        if let Some(default) = &field_def.default_value {
                            out.insert(field_name.to_string(), ast_to_json(default));
                        } else if field_def.ty.is_non_null() {
                            return Err(fail(format!(
                                "Field \"{field_name}\" of required type \"{}\" was not provided.",
                                field_def.ty
                            )));
                        }
                    }
                }
            }
            Ok(Value::Object(out))
        }
        _ => Err(fail(format!("\"{name}\" is not an input type."))),
    }
}

fn coerce_scalar(name: &str, value: &Value) -> Result<Value, String> {
    let shown = short(value);
    match scalar_kind(name) {
        ScalarKind::Int => {
            let n = value.as_i64().or_else(|| value.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64));
            match n {
                Some(n) if (-MAX_SAFE_INT..=MAX_SAFE_INT).contains(&n) => Ok(json!(n)),
                Some(_) => Err(format!("{name} cannot represent non 53-bit signed integer value: {shown}")),
                None => Err(format!("{name} cannot represent non-integer value: {shown}")),
            }
        }
        ScalarKind::Float => match value.as_f64() {
            Some(f) if f.is_finite() && value.is_number() => Ok(json!(f)),
            _ => Err(format!("Float cannot represent non numeric value: {shown}")),
        },
        ScalarKind::String => match value {
            Value::String(_) => Ok(value.clone()),
            _ => Err(format!("{name} cannot represent a non string value: {shown}")),
        },
        ScalarKind::Boolean => match value {
            Value::Bool(_) => Ok(value.clone()),
            _ => Err(format!("Boolean cannot represent a non boolean value: {shown}")),
        },
        ScalarKind::Id => match value {
            Value::String(_) => Ok(value.clone()),
            Value::Number(n) if n.is_i64() || n.is_u64() => Ok(Value::String(n.to_string())),
            _ => Err(format!("ID cannot represent value: {shown}")),
        },
        ScalarKind::DateTime => match value.as_str() {
            Some(s) if is_date_time(s) => Ok(value.clone()),
            _ => {
                Err(format!("DateTime cannot represent value: {shown} (expected an ISO 8601 date and time)"))
            }
        },
        ScalarKind::Any => Ok(value.clone()),
    }
}

/// A literal (from a default value) as JSON.
pub(crate) fn ast_to_json(value: &ast::Value) -> Value {
    match value {
        ast::Value::Null | ast::Value::Variable(_) => Value::Null,
        ast::Value::Enum(e) => json!(e.as_str()),
        ast::Value::String(s) => json!(s.as_str()),
        ast::Value::Boolean(b) => json!(b),
        ast::Value::Int(i) => i.as_str().parse::<i64>().map(|n| json!(n)).unwrap_or(Value::Null),
        ast::Value::Float(f) => f.try_to_f64().map(|n| json!(n)).unwrap_or(Value::Null),
        ast::Value::List(items) => Value::Array(items.iter().map(|v| ast_to_json(v)).collect()),
        ast::Value::Object(fields) => {
            Value::Object(fields.iter().map(|(k, v)| (k.to_string(), ast_to_json(v))).collect())
        }
    }
}

/// `serde_json` → apollo-compiler's JSON.
pub(crate) fn to_response_json(value: &Value) -> JsonValue {
    match value {
        Value::Null => JsonValue::Null,
        Value::Bool(b) => JsonValue::Bool(*b),
        Value::Number(n) => JsonValue::Number(n.clone()),
        Value::String(s) => JsonValue::String(s.as_str().into()),
        Value::Array(items) => JsonValue::Array(items.iter().map(to_response_json).collect()),
        Value::Object(map) => {
            JsonValue::Object(map.iter().map(|(k, v)| (k.as_str().into(), to_response_json(v))).collect())
        }
    }
}

/// apollo-compiler's JSON → `serde_json`.
pub(crate) fn from_response_json(value: &JsonValue) -> Value {
    match value {
        JsonValue::Null => Value::Null,
        JsonValue::Bool(b) => Value::Bool(*b),
        JsonValue::Number(n) => Value::Number(n.clone()),
        JsonValue::String(s) => Value::String(s.as_str().to_owned()),
        JsonValue::Array(items) => Value::Array(items.iter().map(from_response_json).collect()),
        JsonValue::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.as_str().to_owned(), from_response_json(v))).collect())
        }
    }
}
