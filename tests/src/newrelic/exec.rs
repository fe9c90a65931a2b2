//! Execution: apollo-compiler walks the operation (field collection, fragments with type
//! conditions, aliases, `__typename`, argument coercion with defaults, null propagation,
//! introspection) and calls back into one generic object type, `Obj`, for every field.
//!
//! An `Obj` is a JSON value in the shape of its GraphQL type. A field is answered by a
//! resolver when one is registered for `(type, field)` (root fields, the account namespaces,
//! searches), otherwise by the value's own member of that name. A field that is neither is one
//! the stand-in does not implement, and the answer says so (`errorClass`
//! `STAND_IN_NOT_IMPLEMENTED`): never a silent `null`.
//!
//! Values may carry internal members whose names start with `__wk` (a GraphQL field can never
//! be queried under such a name): the account an object belongs to, a search's matches.
//! Objects of interface or union type carry `__typename`.

use std::cell::RefCell;

use apollo_compiler::ast;
use apollo_compiler::resolvers::{Execution, FieldError, ObjectValue, ResolveInfo, ResolvedValue};
use apollo_compiler::schema::ExtendedType;
use apollo_compiler::Schema;
use serde_json::{json, Map, Value};

use super::schema::{from_response_json, to_response_json, NerdGraph, Prepared};
use super::state::Tenant;
use super::{alerts, entities, incidents, muting, notifications, workflows, Shared};

/// `errorClass` of a field the stand-in does not implement.
pub(crate) const NOT_IMPLEMENTED: &str = "STAND_IN_NOT_IMPLEMENTED";

/// The internal member holding the account id of a namespace object.
pub(crate) const ACCOUNT_KEY: &str = "__wk_account";

/// Everything a resolver may need during one request.
pub(crate) struct Cx<'s> {
    pub(crate) shared: &'s Shared,
    pub(crate) tenant: RefCell<&'s mut Tenant>,
    /// `http://host:port` the request came to (for URLs the stand-in hands out).
    pub(crate) base_url: String,
    notes: RefCell<Vec<Note>>,
}

/// What a resolver said about an error it raised, applied to the response afterwards
/// (apollo-compiler's field errors carry only a message).
struct Note {
    message: String,
    class: String,
    extra: Map<String, Value>,
}

pub(crate) type Resolved = Result<Value, FieldError>;

impl<'s> Cx<'s> {
    pub(crate) fn new(shared: &'s Shared, tenant: &'s mut Tenant, base_url: String) -> Self {
        Cx { shared, tenant: RefCell::new(tenant), base_url, notes: RefCell::new(Vec::new()) }
    }

    /// A field error with `extensions.errorClass = class`.
    pub(crate) fn fail(&self, class: &str, message: impl Into<String>) -> FieldError {
        self.fail_with(class, message, Map::new())
    }

    /// A field error with more `extensions` members.
    pub(crate) fn fail_with(
        &self,
        class: &str,
        message: impl Into<String>,
        extra: Map<String, Value>,
    ) -> FieldError {
        let message = message.into();
        self.notes.borrow_mut().push(Note { message: message.clone(), class: class.to_owned(), extra });
        FieldError { message }
    }

    pub(crate) fn not_implemented(&self, ty: &str, field: &str) -> FieldError {
        self.fail(
            NOT_IMPLEMENTED,
            format!("The New Relic stand-in does not implement `{ty}.{field}`; only the fields watchkeep uses are served"),
        )
    }

    /// The account a mutation or query names, if the key may use it.
    pub(crate) fn check_account(&self, account_id: i64) -> Result<(), FieldError> {
        if self.tenant.borrow().account(account_id).is_some() {
            Ok(())
        } else {
            Err(self.forbidden(account_id))
        }
    }

    pub(crate) fn forbidden(&self, account_id: i64) -> FieldError {
        self.fail("FORBIDDEN", format!("Not authorized to access account {account_id}"))
    }
}

/// Runs a prepared operation; returns the response body (`data` and, if any, `errors`).
pub(crate) fn execute(cx: &Cx<'_>, ng: &NerdGraph, prepared: &Prepared) -> Value {
    let Ok(operation) = prepared.doc.operations.get(prepared.operation_name.as_deref()) else {
        return json!({"data": null, "errors": [{"message": "operation vanished", "extensions": {"errorClass": "INTERNAL_SERVER_ERROR"}}]});
    };
    let root_type = if prepared.is_mutation { "RootMutationType" } else { "RootQueryType" };
    let root = Obj { ty: root_type.to_owned(), data: json!({}), cx };
    let result = Execution::new(&ng.schema, &prepared.doc)
        .operation(operation)
        .implementers_map(&ng.implementers)
        .coerced_variable_values(&prepared.variables)
        .enable_schema_introspection(true)
        .execute_sync(&root);
    let response = match result {
        Ok(r) => r,
        Err(e) => {
            return json!({
                "data": null,
                "errors": [{"message": e.message().to_string(), "extensions": {"errorClass": "BAD_USER_INPUT"}}],
            })
        }
    };
    let notes = cx.notes.borrow();
    let errors: Vec<Value> = response
        .errors
        .iter()
        .map(|e| {
            let mut v = serde_json::to_value(e).unwrap_or_else(|_| json!({"message": e.message}));
            let text = e.message.strip_prefix("resolver error: ").unwrap_or(&e.message);
            let (message, class, extra) = match notes.iter().find(|n| n.message == text) {
                Some(n) => (n.message.clone(), n.class.clone(), n.extra.clone()),
                // apollo-compiler's own: argument coercion or a value that broke the schema.
                None if e.message.contains("argument") || e.message.contains("input") => {
                    (e.message.clone(), "BAD_USER_INPUT".to_owned(), Map::new())
                }
                None => (e.message.clone(), "INTERNAL_SERVER_ERROR".to_owned(), Map::new()),
            };
            v["message"] = json!(message);
            let mut ext = extra;
            ext.insert("errorClass".into(), json!(class));
            v["extensions"] = Value::Object(ext);
            v
        })
        .collect();
    let mut body = Map::new();
    let data = response
        .data
        .map_or(Value::Null, |d| from_response_json(&apollo_compiler::response::JsonValue::Object(d)));
    body.insert("data".into(), data);
    if !errors.is_empty() {
        body.insert("errors".into(), Value::Array(errors));
    }
    Value::Object(body)
}

/// A GraphQL object backed by JSON.
pub(crate) struct Obj<'a, 's> {
    pub(crate) ty: String,
    pub(crate) data: Value,
    pub(crate) cx: &'a Cx<'s>,
}

impl ObjectValue for Obj<'_, '_> {
    fn type_name(&self) -> &str {
        &self.ty
    }

    fn resolve_field<'b>(&'b self, info: &'b ResolveInfo<'b>) -> Result<ResolvedValue<'b>, FieldError> {
        let field = info.field_name();
        let args: Map<String, Value> =
            info.arguments().iter().map(|(k, v)| (k.as_str().to_owned(), from_response_json(v))).collect();
        let value = match resolve(self.cx, &self.ty, field, &self.data, &args) {
            Some(result) => result?,
            None => match self.data.get(field) {
                Some(v) => v.clone(),
                None => return Err(self.cx.not_implemented(&self.ty, field)),
            },
        };
        let schema = info.schema();
        // The object's own definition: through an interface the field may have a more abstract type.
        let ty = schema.type_field(&self.ty, field).map(|d| &d.ty).unwrap_or(&info.field_definition().ty);
        to_resolved(self.cx, schema, value, ty)
    }
}

fn to_resolved<'b>(
    cx: &'b Cx<'_>,
    schema: &Schema,
    value: Value,
    ty: &ast::Type,
) -> Result<ResolvedValue<'b>, FieldError> {
    if value.is_null() {
        return Ok(ResolvedValue::null());
    }
    if ty.is_list() {
        let Value::Array(items) = value else {
            return Err(cx.fail("INTERNAL_SERVER_ERROR", format!("stand-in bug: expected a list for {ty}")));
        };
        let item_ty = ty.item_type();
        let items: Vec<Result<ResolvedValue<'b>, FieldError>> =
            items.into_iter().map(|item| to_resolved(cx, schema, item, item_ty)).collect();
        return Ok(ResolvedValue::List(Box::new(items.into_iter())));
    }
    let name = ty.inner_named_type();
    match schema.types.get(name) {
        Some(ExtendedType::Object(_)) => {
            Ok(ResolvedValue::object(Obj { ty: name.to_string(), data: value, cx }))
        }
        Some(ExtendedType::Interface(_) | ExtendedType::Union(_)) => {
            let Some(concrete) = value.get("__typename").and_then(Value::as_str) else {
                return Err(
                    cx.fail("INTERNAL_SERVER_ERROR", format!("stand-in bug: a {name} without __typename"))
                );
            };
            Ok(ResolvedValue::object(Obj { ty: concrete.to_owned(), data: value, cx }))
        }
        Some(ExtendedType::Scalar(_)) => Ok(ResolvedValue::Leaf(to_response_json(&leaf(name, value)))),
        _ => Ok(ResolvedValue::Leaf(to_response_json(&value))),
    }
}

/// Result coercion of the built-in scalars the way NerdGraph answers: `Float`s are always
/// floats (`5` → `5.0`), `ID`s always strings.
fn leaf(scalar: &str, value: Value) -> Value {
    match (scalar, &value) {
        ("Float", Value::Number(n)) => n.as_f64().map_or(value.clone(), |f| json!(f)),
        ("ID", Value::Number(n)) => json!(n.to_string()),
        _ => value,
    }
}

/// The resolver for `(type, field)`, if there is one.
fn resolve(
    cx: &Cx<'_>,
    ty: &str,
    field: &str,
    parent: &Value,
    args: &Map<String, Value>,
) -> Option<Resolved> {
    let account = || parent.get(ACCOUNT_KEY).and_then(Value::as_i64).unwrap_or_default();
    Some(match (ty, field) {
        ("RootQueryType", "actor") => Ok(json!({})),
        ("RootMutationType", _) => return mutation(cx, field, args),
        ("Actor", "accounts") => {
            let tenant = cx.tenant.borrow();
            Ok(Value::Array(tenant.accounts.values().map(|a| a.outline()).collect()))
        }
        ("Actor", "account") => {
            let id = args.get("id").and_then(Value::as_i64).unwrap_or_default();
            let tenant = cx.tenant.borrow();
            match tenant.account(id) {
                Some(a) => {
                    let mut v = a.outline();
                    v[ACCOUNT_KEY] = json!(id);
                    for ns in ["alerts", "aiNotifications", "aiWorkflows", "aiIssues"] {
                        v[ns] = json!({ ACCOUNT_KEY: id });
                    }
                    Ok(v)
                }
                None => Err(cx.forbidden(id)),
            }
        }
        ("Actor", "entity") => entities::entity(cx, args),
        ("Actor", "entities") => entities::entities(cx, args),
        ("Actor", "entitySearch") => entities::search(cx, args),
        ("EntitySearch", "results") => entities::search_results(cx, parent, args),
        ("AlertsAccountStitchedFields", "policiesSearch") => alerts::policies_search(cx, account(), args),
        ("AlertsAccountStitchedFields", "policy") => alerts::policy(cx, account(), args),
        ("AlertsAccountStitchedFields", "nrqlConditionsSearch") => {
            alerts::conditions_search(cx, account(), args)
        }
        ("AlertsAccountStitchedFields", "nrqlCondition") => alerts::condition(cx, account(), args),
        ("AlertsAccountStitchedFields", "mutingRules") => muting::list(cx, account(), args),
        ("AlertsAccountStitchedFields", "mutingRule") => muting::one(cx, account(), args),
        ("AiNotificationsAccountStitchedFields", "destinations") => {
            notifications::destinations(cx, account(), args)
        }
        ("AiNotificationsAccountStitchedFields", "channels") => notifications::channels(cx, account(), args),
        ("AiWorkflowsAccountStitchedFields", "workflows") => workflows::list(cx, account(), args),
        ("AiIssuesAccountStitchedFields", "incidents") => incidents::list(cx, account(), args),
        ("Account", "nrql") => nrql_query(cx, account(), args),
        _ => return None,
    })
}

/// `Account.nrql(query:)` over the account's events (see `nrql.rs`).
fn nrql_query(cx: &Cx<'_>, account_id: i64, args: &Map<String, Value>) -> Resolved {
    let query = args.get("query").and_then(Value::as_str).unwrap_or_default();
    let now = super::state::now_ms();
    let tenant = cx.tenant.borrow();
    let account = tenant.account(account_id).ok_or_else(|| cx.forbidden(account_id))?;
    let parsed = super::nrql::parse(query, now).map_err(|(class, m)| cx.fail(class, m))?;
    let results = super::nrql::run(&parsed, &account.events, now).map_err(|(class, m)| cx.fail(class, m))?;
    Ok(json!({"results": results, "nrql": query}))
}

fn mutation(cx: &Cx<'_>, field: &str, args: &Map<String, Value>) -> Option<Resolved> {
    Some(match field {
        "alertsPolicyCreate" => alerts::policy_create(cx, args),
        "alertsPolicyUpdate" => alerts::policy_update(cx, args),
        "alertsPolicyDelete" => alerts::policy_delete(cx, args),
        "alertsNrqlConditionStaticCreate" => alerts::condition_create(cx, args),
        "alertsNrqlConditionStaticUpdate" => alerts::condition_update(cx, args),
        "alertsConditionDelete" => alerts::condition_delete(cx, args),
        "alertsMutingRuleCreate" => muting::create(cx, args),
        "alertsMutingRuleUpdate" => muting::update(cx, args),
        "alertsMutingRuleDelete" => muting::delete(cx, args),
        "aiNotificationsCreateDestination" => notifications::destination_create(cx, args),
        "aiNotificationsUpdateDestination" => notifications::destination_update(cx, args),
        "aiNotificationsDeleteDestination" => notifications::destination_delete(cx, args),
        "aiNotificationsCreateChannel" => notifications::channel_create(cx, args),
        "aiNotificationsUpdateChannel" => notifications::channel_update(cx, args),
        "aiNotificationsDeleteChannel" => notifications::channel_delete(cx, args),
        "aiNotificationsTestDestinationById" => notifications::destination_test(cx, args),
        "aiNotificationsTestChannelById" => notifications::channel_test(cx, args),
        "aiWorkflowsCreateWorkflow" => workflows::create(cx, args),
        "aiWorkflowsUpdateWorkflow" => workflows::update(cx, args),
        "aiWorkflowsDeleteWorkflow" => workflows::delete(cx, args),
        "dashboardCreate" => entities::dashboard_create(cx, args),
        "dashboardUpdate" => entities::dashboard_update(cx, args),
        "dashboardDelete" => entities::dashboard_delete(cx, args),
        "dashboardCreateSnapshotUrl" => entities::snapshot_url(cx, args),
        _ => return None,
    })
}

/// The root fields with a resolver, for the docs and the tests.
pub const SUPPORTED_ROOT_FIELDS: &[&str] = &[
    "actor",
    "alertsPolicyCreate",
    "alertsPolicyUpdate",
    "alertsPolicyDelete",
    "alertsNrqlConditionStaticCreate",
    "alertsNrqlConditionStaticUpdate",
    "alertsConditionDelete",
    "alertsMutingRuleCreate",
    "alertsMutingRuleUpdate",
    "alertsMutingRuleDelete",
    "aiNotificationsCreateDestination",
    "aiNotificationsUpdateDestination",
    "aiNotificationsDeleteDestination",
    "aiNotificationsCreateChannel",
    "aiNotificationsUpdateChannel",
    "aiNotificationsDeleteChannel",
    "aiWorkflowsCreateWorkflow",
    "aiWorkflowsUpdateWorkflow",
    "aiWorkflowsDeleteWorkflow",
    "dashboardCreate",
    "dashboardUpdate",
    "dashboardDelete",
    "dashboardCreateSnapshotUrl",
    "aiNotificationsTestDestinationById",
    "aiNotificationsTestChannelById",
];

/// Helpers for reading coerced arguments.
pub(crate) mod args {
    use serde_json::{Map, Value};

    use super::super::state::id_text;

    pub(crate) fn int(args: &Map<String, Value>, name: &str) -> i64 {
        args.get(name).and_then(Value::as_i64).unwrap_or_default()
    }

    pub(crate) fn id(args: &Map<String, Value>, name: &str) -> String {
        args.get(name).and_then(id_text).unwrap_or_default()
    }

    pub(crate) fn obj<'a>(args: &'a Map<String, Value>, name: &str) -> &'a Map<String, Value> {
        static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
        args.get(name).and_then(Value::as_object).unwrap_or_else(|| EMPTY.get_or_init(Map::new))
    }

    pub(crate) fn str_opt<'a>(m: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
        m.get(name).and_then(Value::as_str)
    }

    /// Present and not null.
    pub(crate) fn given<'a>(m: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
        m.get(name).filter(|v| !v.is_null())
    }
}
