//! The one description of every block and attribute the language accepts. The loader validates
//! bodies against it (unknown names, required attributes, repeated blocks) and
//! [`config_schema`] turns it into the JSON Schema checked in as `schema/config.schema.json`.

use serde_json::{json, Map, Value};

/// Component kinds.
pub const KINDS: &[&str] = &["server", "database", "container", "cloud_service", "custom"];
/// Alert severities.
pub const SEVERITIES: &[&str] = &["critical", "high", "medium", "low", "info", "warning"];
// Vendor names (`provider` blocks and attributes) and raw resource types come from the vendor
// registry: `crate::vendors::config_names()` and `crate::vendors::resource_types()`.

/// State backends accepted by `watchkeep { state "<backend>" {} }`.
pub const STATE_BACKENDS: &[&str] = &["local", "s3"];
/// The attributes `state "local"` takes.
pub const STATE_LOCAL_ATTRS: &[&str] = &["path"];
/// The attributes `state "s3"` takes.
pub const STATE_S3_ATTRS: &[&str] = &["bucket", "key", "region", "endpoint_url", "force_path_style"];

/// What an attribute's value must be.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Ty {
    String,
    Number,
    Bool,
    StringList,
    StringMap,
    Any,
    /// `YYYY-MM-DD`.
    Date,
    /// `5m`, `30s`, `2h`, `1d`.
    Duration,
    OneOf(&'static [&'static str]),
    /// A vendor name, one of [`crate::vendors::config_names`].
    Vendor,
    ListOneOf(&'static [&'static str]),
    /// A reference to a block of that type (`inventory.production`), or its name as a string.
    Ref(&'static str),
    RefList(&'static str),
    /// A core-catalog metric name (`"cpu"`) or `metric.<name>`.
    MetricRef,
    /// A type constraint (`string`, `list(string)`, `object({...})`), not evaluated.
    TypeExpr,
    /// A map, or a set of strings.
    ForEach,
    Count,
    /// A list of block addresses, not evaluated.
    DependsOn,
    /// A map of numbers: `{ cpu = 95, disk = 90 }`.
    NumberMap,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct AttrDef {
    pub name: &'static str,
    pub ty: Ty,
    pub required: bool,
    pub doc: &'static str,
}

#[derive(Debug)]
pub(crate) struct NestedDef {
    pub def: &'static BlockDef,
    pub repeated: bool,
}

#[derive(Debug)]
pub(crate) struct BlockDef {
    pub ident: &'static str,
    pub labels: &'static [&'static str],
    pub doc: &'static str,
    pub attrs: &'static [AttrDef],
    pub blocks: &'static [NestedDef],
    /// Any further attribute (and nested block) is accepted as written (vendor objects, provider
    /// settings, locals, module inputs).
    pub open: bool,
}

impl BlockDef {
    pub fn attr(&self, name: &str) -> Option<&'static AttrDef> {
        self.attrs.iter().find(|a| a.name == name)
    }

    pub fn nested(&self, ident: &str) -> Option<&'static NestedDef> {
        self.blocks.iter().find(|b| b.def.ident == ident)
    }

    pub fn attr_names(&self) -> Vec<&'static str> {
        self.attrs.iter().map(|a| a.name).collect()
    }

    pub fn block_names(&self) -> Vec<&'static str> {
        self.blocks.iter().map(|b| b.def.ident).collect()
    }
}

const fn attr(name: &'static str, ty: Ty, doc: &'static str) -> AttrDef {
    AttrDef { name, ty, required: false, doc }
}

const fn required(name: &'static str, ty: Ty, doc: &'static str) -> AttrDef {
    AttrDef { name, ty, required: true, doc }
}

const fn one(def: &'static BlockDef) -> NestedDef {
    NestedDef { def, repeated: false }
}

const fn many(def: &'static BlockDef) -> NestedDef {
    NestedDef { def, repeated: true }
}

const DESCRIPTION: AttrDef = attr("description", Ty::String, "Free text for readers of the configuration.");

pub(crate) static STATE: BlockDef = BlockDef {
    ident: "state",
    labels: &["backend"],
    doc: "Where the state lives: `state \"local\" { path }` (a file) or `state \"s3\" { bucket, key, region, endpoint_url, force_path_style }` (an S3 object, locked with conditional writes; history, validation records and notes beside it under `<key>.history/`, `<key>.validations/`, `<key>.notes/`).",
    attrs: &[
        attr(
            "path",
            Ty::String,
            "local: state file path, relative to the working directory (default `.watchkeep/state.json`).",
        ),
        attr("bucket", Ty::String, "s3 (required): the bucket holding the state."),
        attr("key", Ty::String, "s3 (required): the state object's key, e.g. `team/watchkeep.json`."),
        attr("region", Ty::String, "s3: the bucket's region; default from the AWS chain (`AWS_REGION`, the profile)."),
        attr(
            "endpoint_url",
            Ty::String,
            "s3: an S3-compatible endpoint (MinIO, moto, LocalStack), e.g. `http://127.0.0.1:9000`.",
        ),
        attr("force_path_style", Ty::Bool, "s3: address the bucket in the path (`endpoint/bucket/key`), as most S3-compatible stores need."),
    ],
    blocks: &[],
    open: false,
};

pub(crate) static WATCHKEEP: BlockDef = BlockDef {
    ident: "watchkeep",
    labels: &[],
    doc: "Engine settings.",
    attrs: &[],
    blocks: &[one(&STATE)],
    open: false,
};

pub(crate) static VARIABLE: BlockDef = BlockDef {
    ident: "variable",
    labels: &["name"],
    doc: "An input variable, set with `-var`, `-var-file`, `*.wkvars` files or `WATCHKEEP_VAR_<name>`.",
    attrs: &[
        attr("type", Ty::TypeExpr, "Type constraint: string, number, bool, list(T), set(T), map(T), object({...}), tuple([...]) or any."),
        attr("default", Ty::Any, "Value used when none is given; without it the variable is required."),
        DESCRIPTION,
        attr("sensitive", Ty::Bool, "Redact the value from every output (plans, state, logs, evidence)."),
        attr("nullable", Ty::Bool, "Whether null is an acceptable value (default true)."),
    ],
    blocks: &[],
    open: false,
};

pub(crate) static LOCALS: BlockDef = BlockDef {
    ident: "locals",
    labels: &[],
    doc: "Named values computed from other values: `local.<name>`.",
    attrs: &[],
    blocks: &[],
    open: true,
};

pub(crate) static PROVIDER: BlockDef = BlockDef {
    ident: "provider",
    labels: &["name"],
    doc: "Vendor settings (datadog: site, api_url; newrelic: account_id, region, api_url; cloudwatch: region, endpoint_url). Credentials come from the vendor's usual environment variables, never from here.",
    attrs: &[],
    blocks: &[],
    open: true,
};

const COMPONENT_ATTRS_COMMON: [AttrDef; 7] = [
    required("kind", Ty::OneOf(KINDS), "What it is: server, database, container, cloud_service or custom."),
    required("provider", Ty::Vendor, "Which vendor monitors it: datadog, newrelic or cloudwatch."),
    attr("environment", Ty::String, "Environment name, e.g. production."),
    attr("owner", Ty::String, "Owning team or person."),
    attr(
        "identifier",
        Ty::StringMap,
        "How the vendor identifies it, e.g. { host = \"web-1\" } or { DBInstanceIdentifier = \"orders\" }.",
    ),
    attr("tags", Ty::StringMap, "Extra tags."),
    DESCRIPTION,
];

pub(crate) static INLINE_COMPONENT: BlockDef = BlockDef {
    ident: "component",
    labels: &["name"],
    doc: "A component listed inline in an inventory.",
    attrs: &COMPONENT_ATTRS_COMMON,
    blocks: &[],
    open: false,
};

pub(crate) static INVENTORY: BlockDef = BlockDef {
    ident: "inventory",
    labels: &["name"],
    doc: "The approved system inventory: what is in monitoring scope, and when it was last reviewed.",
    attrs: &[
        attr("source", Ty::String, "A CSV (name,kind,environment,owner,provider,identifier[,tags]) or JSON file, relative to the configuration directory."),
        attr("reviewed_on", Ty::Date, "Date of the last scope review, YYYY-MM-DD."),
        attr("reviewed_by", Ty::String, "Who reviewed the scope."),
        DESCRIPTION,
    ],
    blocks: &[many(&INLINE_COMPONENT)],
    open: false,
};

pub(crate) static COMPONENT: BlockDef = BlockDef {
    ident: "component",
    labels: &["name"],
    doc: "A monitored component (server, database, container, cloud service).",
    attrs: &[
        attr("inventory", Ty::Ref("inventory"), "The inventory it belongs to: inventory.<name>."),
        attr(
            "name",
            Ty::String,
            "Component name; defaults to the block label, or to each.key with for_each.",
        ),
        attr(
            "for_each",
            Ty::ForEach,
            "A map or set of strings: one component per element, named by its key.",
        ),
        COMPONENT_ATTRS_COMMON[0],
        COMPONENT_ATTRS_COMMON[1],
        COMPONENT_ATTRS_COMMON[2],
        COMPONENT_ATTRS_COMMON[3],
        COMPONENT_ATTRS_COMMON[4],
        COMPONENT_ATTRS_COMMON[5],
        COMPONENT_ATTRS_COMMON[6],
    ],
    blocks: &[],
    open: false,
};

pub(crate) static PAGERDUTY: BlockDef = BlockDef {
    ident: "pagerduty",
    labels: &[],
    doc: "Page through PagerDuty.",
    attrs: &[
        attr(
            "service",
            Ty::String,
            "Vendor-side service name (Datadog @pagerduty-<service>); defaults to the route name.",
        ),
        attr("routing_key", Ty::String, "Events API routing key; use a sensitive variable."),
        attr(
            "events_url",
            Ty::String,
            "Events API v2 endpoint `routes test` sends to; default https://events.pagerduty.com/v2/enqueue (set it only for a stand-in or proxy).",
        ),
    ],
    blocks: &[],
    open: false,
};

pub(crate) static SLACK: BlockDef = BlockDef {
    ident: "slack",
    labels: &[],
    doc: "Post to a Slack channel.",
    attrs: &[
        required("channel", Ty::String, "Channel, `#ops-alerts` or `ops-alerts`."),
        attr("account", Ty::String, "Datadog Slack integration account name."),
        attr(
            "webhook_url",
            Ty::String,
            "Incoming-webhook URL, for vendors that post to Slack over HTTPS (CloudWatch via SNS); use a sensitive variable.",
        ),
    ],
    blocks: &[],
    open: false,
};

pub(crate) static SMTP_STARTTLS: &[&str] = &["required", "opportunistic", "none"];

pub(crate) static SMTP: BlockDef = BlockDef {
    ident: "smtp",
    labels: &[],
    doc: "The SMTP relay `watchkeep routes test` sends this target's test mails through.",
    attrs: &[
        required("host", Ty::String, "SMTP server host name."),
        attr("port", Ty::Number, "Port; default 587."),
        attr(
            "starttls",
            Ty::OneOf(SMTP_STARTTLS),
            "required (default: refuse to send without STARTTLS), opportunistic, or none (loopback or private relays only).",
        ),
        attr("username", Ty::String, "User name for SMTP AUTH; omit for a relay without authentication."),
        attr("password", Ty::String, "SMTP AUTH password: must be a sensitive variable (var.<name> declared sensitive = true)."),
        required("from", Ty::String, "Sender address, e.g. watchkeep@example.com."),
        attr("ca_file", Ty::String, "PEM file of extra trusted root certificates (a private relay's CA), relative to the configuration directory."),
    ],
    blocks: &[],
    open: false,
};

pub(crate) static EMAIL: BlockDef = BlockDef {
    ident: "email",
    labels: &[],
    doc: "Send email.",
    attrs: &[required("to", Ty::StringList, "Recipient addresses.")],
    blocks: &[one(&SMTP)],
    open: false,
};

pub(crate) static WEBHOOK: BlockDef = BlockDef {
    ident: "webhook",
    labels: &[],
    doc: "Call a webhook.",
    attrs: &[
        attr(
            "name",
            Ty::String,
            "Vendor-side webhook name (Datadog @webhook-<name>); defaults to the route name.",
        ),
        attr("url", Ty::String, "Webhook URL; use a sensitive variable."),
    ],
    blocks: &[],
    open: false,
};

pub(crate) static ESCALATION: BlockDef = BlockDef {
    ident: "escalation",
    labels: &[],
    doc: "One level of the route's on-call contact list, in order: whom it reaches and when. Read by `watchkeep coverage` only; vendors' notification objects do not change.",
    attrs: &[
        required("after", Ty::Duration, "When this level is reached after the alert opens: \"0m\", \"15m\" (not earlier than the level before)."),
        attr("rotation", Ty::String, "An on-call rotation (schedule) reached at this level, e.g. \"platform-primary\"."),
        attr("people", Ty::StringList, "People reached at this level: [\"alice@example.com\"]. A level needs `rotation` or `people`."),
    ],
    blocks: &[],
    open: false,
};

pub(crate) static ROUTE: BlockDef = BlockDef {
    ident: "route",
    labels: &["name"],
    doc: "Where alerts go, vendor-neutral. Needs at least one target block.",
    attrs: &[
        DESCRIPTION,
        attr("owner", Ty::String, "Who answers for this route (a person or team address). `watchkeep coverage` reports a route alerts use without one."),
    ],
    blocks: &[many(&PAGERDUTY), many(&SLACK), many(&EMAIL), many(&WEBHOOK), many(&ESCALATION)],
    open: false,
};

const SCOPE: AttrDef = attr(
    "scope",
    Ty::Ref("inventory"),
    "Inventory it applies to: inventory.<name>. Omit for every component.",
);
const KINDS_ATTR: AttrDef =
    attr("kinds", Ty::ListOneOf(KINDS), "Component kinds it applies to; omit for all.");
const ROUTE_ATTR: AttrDef = attr("route", Ty::Ref("route"), "Where notifications go: route.<name>.");
const ROUTES_ATTR: AttrDef = attr("routes", Ty::RefList("route"), "Several routes: [route.a, route.b].");
const RUNBOOK: AttrDef = attr("runbook", Ty::String, "Runbook URL.");
const ABOVE: AttrDef = attr("above", Ty::Number, "Critical when the metric is above this value.");
const BELOW: AttrDef = attr("below", Ty::Number, "Critical when the metric is below this value.");
const WARNING: AttrDef = attr("warning", Ty::Number, "Warning threshold.");
const FOR: AttrDef = attr("for", Ty::Duration, "How long the condition must hold: 30s, 5m, 1h, 1d.");
const SEVERITY: AttrDef =
    attr("severity", Ty::OneOf(SEVERITIES), "critical, high, medium, low, info or warning.");

pub(crate) static ALERT: BlockDef = BlockDef {
    ident: "alert",
    labels: &["name"],
    doc: "A threshold alert, expanded per matching component and compiled per vendor.",
    attrs: &[
        SCOPE,
        KINDS_ATTR,
        attr("components", Ty::RefList("component"), "Only these components: [component.a]."),
        required("metric", Ty::MetricRef, "A core-catalog metric (\"cpu\", \"memory\", \"disk\", \"network\", \"uptime\") or metric.<name>."),
        ABOVE,
        BELOW,
        WARNING,
        FOR,
        SEVERITY,
        ROUTE_ATTR,
        ROUTES_ATTR,
        RUNBOOK,
        attr("message", Ty::String, "Notification text."),
        DESCRIPTION,
    ],
    blocks: &[],
    open: false,
};

pub(crate) static OVERRIDE: BlockDef = BlockDef {
    ident: "override",
    labels: &["metric"],
    doc: "Changes the baseline thresholds for one core metric.",
    attrs: &[
        ABOVE,
        BELOW,
        WARNING,
        FOR,
        SEVERITY,
        attr("enabled", Ty::Bool, "false drops the metric from the baseline."),
    ],
    blocks: &[],
    open: false,
};

pub(crate) static BASELINE: BlockDef = BlockDef {
    ident: "baseline",
    labels: &["name"],
    doc: "Gives every in-scope component the full core metric set (cpu, memory, disk, network, uptime).",
    attrs: &[SCOPE, KINDS_ATTR, ROUTE_ATTR, ROUTES_ATTR, RUNBOOK, DESCRIPTION],
    blocks: &[many(&OVERRIDE)],
    open: false,
};

pub(crate) static METRIC_DATADOG: BlockDef = BlockDef {
    ident: "datadog",
    labels: &[],
    doc: "Datadog metric query; `$scope` is replaced by the component's scope.",
    attrs: &[required("query", Ty::String, "e.g. avg:rabbitmq.queue.messages{$scope}")],
    blocks: &[],
    open: false,
};

pub(crate) static METRIC_CLOUDWATCH: BlockDef = BlockDef {
    ident: "cloudwatch",
    labels: &[],
    doc: "CloudWatch metric: namespace, metric_name, statistic, dimensions.",
    attrs: &[],
    blocks: &[],
    open: true,
};

pub(crate) static METRIC_NEWRELIC: BlockDef = BlockDef {
    ident: "newrelic",
    labels: &[],
    doc: "New Relic NRQL query; `$scope` is replaced by the component's WHERE clause.",
    attrs: &[],
    blocks: &[],
    open: true,
};

pub(crate) static METRIC: BlockDef = BlockDef {
    ident: "metric",
    labels: &["name"],
    doc: "A user-defined metric, mapped per vendor: metric.<name>.",
    attrs: &[attr("unit", Ty::String, "Unit, e.g. count, percent, ms."), DESCRIPTION],
    blocks: &[one(&METRIC_DATADOG), one(&METRIC_CLOUDWATCH), one(&METRIC_NEWRELIC)],
    open: false,
};

pub(crate) static DASHBOARD: BlockDef = BlockDef {
    ident: "dashboard",
    labels: &["name"],
    doc: "A dashboard of the core metrics for the components in scope, one per vendor.",
    attrs: &[
        SCOPE,
        KINDS_ATTR,
        attr("title", Ty::String, "Dashboard title; defaults to the block name."),
        DESCRIPTION,
    ],
    blocks: &[],
    open: false,
};

pub(crate) static MAINTENANCE: BlockDef = BlockDef {
    ident: "maintenance",
    labels: &["name"],
    doc: "A maintenance window silencing alerts in scope: a Datadog downtime, a New Relic muting rule (CloudWatch has no equivalent: a warning says so).",
    attrs: &[
        SCOPE,
        KINDS_ATTR,
        attr("components", Ty::RefList("component"), "Only these components: [component.a]."),
        attr("tags", Ty::StringMap, "Only components whose tags include all of these: { team = \"web\" }."),
        attr("alerts", Ty::Any, "Which alerts it silences: [alert.cpu, baseline.soc2]; omit for every alert in scope."),
        required("start", Ty::String, "When the (first) window starts, local time in `timezone`: \"2026-12-05T02:00\"."),
        attr("duration", Ty::String, "Length of each window: a whole number of m, h, d or w (\"2h\"). Or set `end`."),
        attr("end", Ty::String, "When the (first) window ends, local time in `timezone`; instead of `duration`."),
        attr("recurrence", Ty::String, "RFC 5545 RRULE, e.g. \"FREQ=WEEKLY;BYDAY=SA\"; omit for a one-time window."),
        attr("timezone", Ty::String, "IANA time zone of `start`/`end`, e.g. \"Europe/Berlin\" (default UTC)."),
        attr("message", Ty::String, "Why: shown on the vendor's downtime or muting rule."),
        DESCRIPTION,
    ],
    blocks: &[],
    open: false,
};

pub(crate) static RESOURCE: BlockDef = BlockDef {
    ident: "resource",
    labels: &["type", "name"],
    doc: "A raw vendor object, attributes and nested blocks as the vendor API names them.",
    attrs: &[
        attr("for_each", Ty::ForEach, "One object per element: address type.name[\"key\"]."),
        attr("count", Ty::Count, "N objects: address type.name[0..N]."),
        attr("depends_on", Ty::DependsOn, "Explicit dependencies: [datadog_monitor.other]."),
    ],
    blocks: &[],
    open: true,
};

pub(crate) static MODULE: BlockDef = BlockDef {
    ident: "module",
    labels: &["name"],
    doc: "Includes the configuration in another directory; other attributes set its variables.",
    attrs: &[required("source", Ty::String, "Local directory, e.g. ./modules/team.")],
    blocks: &[],
    open: true,
};

pub(crate) static OUTPUT: BlockDef = BlockDef {
    ident: "output",
    labels: &["name"],
    doc: "A value a module exposes to its caller as module.<module>.<name>.",
    attrs: &[
        required("value", Ty::Any, "The value."),
        DESCRIPTION,
        attr("sensitive", Ty::Bool, "Redact the value."),
    ],
    blocks: &[],
    open: false,
};

pub(crate) static COVERAGE_REQUIRE: BlockDef = BlockDef {
    ident: "require",
    labels: &["kind"],
    doc: "The metrics every component of this kind must have an alert for (default: cpu, memory, disk, network, uptime).",
    attrs: &[required("metrics", Ty::StringList, "Catalog metric names or user metric names: [\"cpu\", \"memory\"].")],
    blocks: &[],
    open: false,
};

pub(crate) static COVERAGE: BlockDef = BlockDef {
    ident: "coverage",
    labels: &[],
    doc: "What `watchkeep coverage` requires of every in-scope component (at most one block, root module only). Without it, every component needs the five core metrics and inventories a review every 90 days.",
    attrs: &[
        attr("review_interval", Ty::Duration, "Longest time since an inventory's `reviewed_on` (default \"90d\")."),
        attr("max_threshold", Ty::NumberMap, "Loosest critical threshold allowed per metric: { cpu = 95, disk = 95 }. For an `above` alert the highest allowed value, for a `below` alert (e.g. free storage) the lowest."),
        attr("max_window", Ty::Duration, "Longest evaluation window (`for`) allowed: \"15m\"."),
        attr("severities", Ty::ListOneOf(SEVERITIES), "Severities the covering alert may have: [\"critical\", \"high\"]; omit to allow any."),
        DESCRIPTION,
    ],
    blocks: &[many(&COVERAGE_REQUIRE)],
    open: false,
};

/// Every top-level block type, in documentation order.
pub(crate) static TOP_LEVEL: &[&BlockDef] = &[
    &WATCHKEEP,
    &VARIABLE,
    &LOCALS,
    &PROVIDER,
    &INVENTORY,
    &COMPONENT,
    &ROUTE,
    &ALERT,
    &BASELINE,
    &METRIC,
    &DASHBOARD,
    &MAINTENANCE,
    &RESOURCE,
    &MODULE,
    &OUTPUT,
    &COVERAGE,
];

pub(crate) fn top_level(ident: &str) -> Option<&'static BlockDef> {
    TOP_LEVEL.iter().copied().find(|d| d.ident == ident)
}

fn ty_schema(ty: Ty) -> Value {
    match ty {
        Ty::String => json!({"type": "string"}),
        Ty::Number => json!({"type": "number"}),
        Ty::Bool => json!({"type": "boolean"}),
        Ty::StringList => json!({"type": "array", "items": {"type": "string"}}),
        Ty::StringMap => json!({"type": "object", "additionalProperties": {"type": "string"}}),
        Ty::Any => json!({}),
        Ty::Date => json!({"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}),
        Ty::Duration => json!({"type": "string", "pattern": "^[0-9]+(s|m|h|d)$"}),
        Ty::OneOf(values) => json!({"type": "string", "enum": values}),
        Ty::Vendor => json!({"type": "string", "enum": crate::vendors::config_names()}),
        Ty::ListOneOf(values) => json!({"type": "array", "items": {"type": "string", "enum": values}}),
        Ty::Ref(kind) => json!({"type": "string", "description": format!("Reference: {kind}.<name>")}),
        Ty::RefList(kind) => {
            json!({"type": "array", "items": {"type": "string", "description": format!("Reference: {kind}.<name>")}})
        }
        Ty::MetricRef => json!({"type": "string"}),
        Ty::TypeExpr => json!({"type": "string"}),
        Ty::ForEach => json!({"anyOf": [{"type": "object"}, {"type": "array", "items": {"type": "string"}}]}),
        Ty::Count => json!({"type": "integer", "minimum": 0}),
        Ty::DependsOn => json!({"type": "array", "items": {"type": "string"}}),
        Ty::NumberMap => json!({"type": "object", "additionalProperties": {"type": "number"}}),
    }
}

fn def_name(path: &str, def: &BlockDef) -> String {
    if path.is_empty() {
        def.ident.to_string()
    } else {
        format!("{path}.{}", def.ident)
    }
}

/// The body schema of one block, registering nested blocks in `defs`.
fn body_schema(def: &BlockDef, path: &str, defs: &mut Map<String, Value>) -> Value {
    let mut props = Map::new();
    let mut required_names = Vec::new();
    for a in def.attrs {
        let mut s = ty_schema(a.ty);
        if let Value::Object(o) = &mut s {
            let doc = match o.get("description").and_then(Value::as_str) {
                Some(extra) => format!("{} ({extra})", a.doc),
                None => a.doc.to_string(),
            };
            o.insert("description".into(), Value::String(doc));
        }
        props.insert(a.name.to_string(), s);
        if a.required {
            required_names.push(a.name);
        }
    }
    let name = def_name(path, def);
    for n in def.blocks {
        let nested_name = def_name(&name, n.def);
        let nested = body_schema(n.def, &name, defs);
        defs.insert(nested_name.clone(), nested);
        let reference = json!({"$ref": format!("#/$defs/{nested_name}")});
        let mut s = labelled(n.def.labels, reference.clone());
        if n.repeated && n.def.labels.is_empty() {
            s = json!({"anyOf": [reference, {"type": "array", "items": {"$ref": format!("#/$defs/{nested_name}")}}]});
        }
        props.insert(n.def.ident.to_string(), s);
    }
    let mut o = Map::new();
    o.insert("description".into(), Value::String(def.doc.to_string()));
    o.insert("type".into(), Value::String("object".into()));
    o.insert("properties".into(), Value::Object(props));
    if !required_names.is_empty() {
        o.insert("required".into(), json!(required_names));
    }
    o.insert("additionalProperties".into(), Value::Bool(def.open));
    Value::Object(o)
}

/// Blocks with labels appear in the JSON form as one object level per label.
fn labelled(labels: &[&str], inner: Value) -> Value {
    labels.iter().rev().fold(inner, |acc, label| {
        json!({"type": "object", "description": format!("Keyed by {label}."), "additionalProperties": acc})
    })
}

/// JSON Schema (draft 2020-12) of the configuration in HCL's JSON form: one property per block
/// type, one object level per block label.
pub fn config_schema() -> Value {
    let mut defs = Map::new();
    let mut props = Map::new();
    for def in TOP_LEVEL {
        let body = body_schema(def, "", &mut defs);
        defs.insert(def.ident.to_string(), body);
        let reference = json!({"$ref": format!("#/$defs/{}", def.ident)});
        let s = if def.ident == "resource" {
            let types: Map<String, Value> = crate::vendors::resource_types()
                .iter()
                .map(|t| {
                    (t.to_string(), json!({"type": "object", "additionalProperties": reference.clone()}))
                })
                .collect();
            json!({"type": "object", "description": "Keyed by resource type, then name.", "properties": types, "additionalProperties": false})
        } else {
            labelled(def.labels, reference)
        };
        props.insert(def.ident.to_string(), s);
    }
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://watchkeep.dev/schema/config.schema.json",
        "title": "watchkeep configuration",
        "description": "Every block and attribute of a watchkeep configuration, in HCL's JSON form (one object level per block label). Expressions and references (var.x, inventory.production) are written as strings.",
        "type": "object",
        "properties": props,
        "additionalProperties": false,
        "$defs": defs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_covers_every_block_and_attribute() {
        let s = config_schema();
        for def in TOP_LEVEL {
            assert!(s["properties"].get(def.ident).is_some(), "{}", def.ident);
            for a in def.attrs {
                assert!(
                    s["$defs"][def.ident]["properties"].get(a.name).is_some(),
                    "{}.{}",
                    def.ident,
                    a.name
                );
            }
        }
        assert_eq!(s["$defs"]["alert"]["properties"]["severity"]["enum"][0], "critical");
        assert!(s["$defs"].get("route.slack").is_some());
        assert!(s["properties"]["resource"]["properties"].get("datadog_monitor").is_some());
        // Deterministic.
        assert_eq!(serde_json::to_string(&s).unwrap(), serde_json::to_string(&config_schema()).unwrap());
    }

    /// The prose that lists vendors cannot be derived from the registry; this fails when a vendor
    /// is added to `vendors::ALL` without being described there.
    #[test]
    fn vendor_prose_names_every_vendor() {
        let s = config_schema();
        let types = s["properties"]["resource"]["properties"].as_object().unwrap();
        assert_eq!(types.keys().map(String::as_str).collect::<Vec<_>>(), crate::vendors::resource_types());
        let provider_attr = &s["$defs"]["component"]["properties"]["provider"];
        assert_eq!(provider_attr["enum"], json!(crate::vendors::config_names()));
        for name in crate::vendors::names() {
            assert!(PROVIDER.doc.contains(&format!("{name}: ")), "provider block doc lacks {name}");
            assert!(
                provider_attr["description"].as_str().unwrap().contains(name),
                "provider attr doc lacks {name}"
            );
            assert!(METRIC.nested(name).is_some(), "metric block lacks a `{name}` mapping");
        }
    }
}
