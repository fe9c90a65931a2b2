//! The managed (writable) fields of each New Relic resource type are kept as data in
//! `src/writable.json`. This test derives them again from New Relic's published NerdGraph schema
//! (`../shared/specs/newrelic-nerdgraph.graphql`) and fails when the two disagree; it also checks
//! that the normalisers (which build the canonical form from lists of their own) never emit a
//! field outside the data, and that whatever else New Relic returns never changes the canonical
//! form.
//!
//! Rules of the derivation: for each resource type, the fields of the NerdGraph input types the
//! provider's mutations send (`src/wire.rs`): the create input, and the update input where its
//! fields have the same shapes (their union: an update may set fields create cannot, e.g. a
//! destination's `active`). A field whose type is an input object becomes a nested tree (a type
//! already on the path is a leaf, so recursive inputs end); lists, scalars and enums are leaves.
//! Deprecated input fields are still writable and kept. Then the fields watchkeep's canonical form
//! adds that are no input field (`ADDED`, each with why).
//!
//! To regenerate after a schema update: `WATCHKEEP_UPDATE_WRITABLE=1 cargo test -p
//! watchkeep-newrelic --test writable_spec`, then review the diff.

use std::collections::BTreeSet;

use apollo_compiler::schema::ExtendedType;
use apollo_compiler::Schema;
use serde_json::{json, Map, Value};
use watchkeep_newrelic::normalize as n;
use watchkeep_newrelic::RESOURCE_TYPES;
use watchkeep_provider::managed::{self, Writable};

/// The input types a resource type's mutations send: (input type, mutation and argument).
type Inputs = &'static [(&'static str, &'static str)];

/// (resource type, its inputs, note).
const TYPES: &[(&str, Inputs, &str)] = &[
    (
        "newrelic_alert_policy",
        &[
            ("AlertsPolicyInput", "alertsPolicyCreate(policy:)"),
            ("AlertsPolicyUpdateInput", "alertsPolicyUpdate(policy:)"),
        ],
        "The name carries watchkeep's ` [wk:<hash>]` ownership suffix.",
    ),
    (
        "newrelic_nrql_condition",
        &[
            ("AlertsNrqlConditionStaticInput", "alertsNrqlConditionStaticCreate(condition:)"),
            ("AlertsNrqlConditionUpdateStaticInput", "alertsNrqlConditionStaticUpdate(condition:)"),
        ],
        "The SDL's descriptions call `violationTimeLimit` (use `violationTimeLimitSeconds`) and \
         `valueFunction` (use `signal.slideBy`) deprecated; both stay writable. The canonical form \
         reads a `violationTimeLimit` enum into `violationTimeLimitSeconds` and keeps \
         `valueFunction` (default SINGLE_VALUE) under its own name.",
    ),
    (
        "newrelic_notification_destination",
        &[
            ("AiNotificationsDestinationInput", "aiNotificationsCreateDestination(destination:)"),
            ("AiNotificationsDestinationUpdate", "aiNotificationsUpdateDestination(destination:)"),
        ],
        "Secret members (`SecureValue`: tokens, passwords, `secureUrl.secureSuffix`, custom header \
         values) are writable but never returned: the canonical form drops them and compares \
         `secretSha256` instead.",
    ),
    (
        "newrelic_notification_channel",
        &[
            ("AiNotificationsChannelInput", "aiNotificationsCreateChannel(channel:)"),
            ("AiNotificationsChannelUpdate", "aiNotificationsUpdateChannel(channel:)"),
        ],
        "`destinationId` is the destination's id (a link the engine resolves).",
    ),
    (
        "newrelic_workflow",
        &[("AiWorkflowsCreateWorkflowInput", "aiWorkflowsCreateWorkflow(createWorkflowData:)")],
        "The update input (AiWorkflowsUpdateWorkflowInput) carries the same fields plus the target's \
         `id` and wraps the filter as `{id, filterInput}` (the filter's id is the vendor's), so only \
         the create input is used. `enrichments` are writable but not managed yet (the canonical form \
         never emits them). `issuesFilter.name` carries the ownership marker.",
    ),
    (
        "newrelic_dashboard",
        &[("DashboardInput", "dashboardCreate(dashboard:) and dashboardUpdate(dashboard:)")],
        "`pages` is a list and compared whole (the normaliser drops page guids and widget ids). \
         `variables` are writable but not managed yet.",
    ),
    (
        "newrelic_muting_rule",
        &[
            ("AlertsMutingRuleInput", "alertsMutingRuleCreate(rule:)"),
            ("AlertsMutingRuleUpdateInput", "alertsMutingRuleUpdate(rule:)"),
        ],
        "`condition.conditions[].values` may hold ids of conditions or policies (links the engine \
         resolves). The description carries the ownership marker.",
    ),
];

/// Fields of the canonical form that are no input field, with why. Dotted paths.
const ADDED: &[(&str, &str, &str)] = &[
    (
        "newrelic_nrql_condition",
        "policyId",
        "an argument of alertsNrqlConditionStaticCreate (policyId: ID!), not an input field; \
         a condition cannot move policies, so a change replaces it",
    ),
    (
        "newrelic_notification_destination",
        "secretSha256",
        "watchkeep's salted SHA-256 of the write-only secrets, stored in New Relic as the property \
         `watchkeep-secret-sha256`: a rotated secret shows as a change",
    ),
];

fn sdl() -> Schema {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/specs/newrelic-nerdgraph.graphql");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("cannot read the NerdGraph SDL {}: {e} (it ships in shared/specs/)", path.display())
    });
    // Validation is not needed to read input types (and reports New Relic's 53-bit Ints).
    match Schema::parse(text, &path) {
        Ok(s) => s,
        Err(e) => e.partial,
    }
}

/// The tree of an input object type (`path`: the types above, to end recursion).
fn input_tree(schema: &Schema, name: &str, path: &mut Vec<String>) -> Value {
    let Some(ExtendedType::InputObject(input)) = schema.types.get(name) else {
        panic!("{name} is not an input type of the NerdGraph SDL");
    };
    path.push(name.to_string());
    let mut out = Map::new();
    for (field, def) in &input.fields {
        let inner = def.ty.inner_named_type().as_str();
        let nested = !def.ty.is_list()
            && matches!(schema.types.get(inner), Some(ExtendedType::InputObject(_)))
            && !path.iter().any(|p| p == inner);
        let v = if nested { input_tree(schema, inner, path) } else { Value::Null };
        out.insert(field.to_string(), v);
    }
    path.pop();
    Value::Object(out)
}

/// `a` ∪ `b` (a nested tree wins over a leaf of the same name).
fn union(a: &mut Value, b: &Value) {
    let (Value::Object(am), Value::Object(bm)) = (&mut *a, b) else { return };
    for (k, bv) in bm {
        match am.get_mut(k) {
            None => {
                am.insert(k.clone(), bv.clone());
            }
            Some(av) if av.is_null() => *av = bv.clone(),
            Some(av) => union(av, bv),
        }
    }
}

fn has_path(tree: &Value, dotted: &str) -> bool {
    let mut t = tree;
    for part in dotted.split('.') {
        match t.get(part) {
            Some(next) => t = next,
            None => return false,
        }
    }
    true
}

fn insert_path(tree: &mut Value, dotted: &str) {
    let parts: Vec<&str> = dotted.split('.').collect();
    let mut t = tree;
    for part in &parts[..parts.len() - 1] {
        if !t[*part].is_object() {
            t[*part] = json!({});
        }
        t = &mut t[*part];
    }
    t[parts[parts.len() - 1]] = Value::Null;
}

fn derived() -> Value {
    let schema = sdl();
    let mut out = Map::new();
    for (rtype, inputs, note) in TYPES {
        let mut fields = json!({});
        for (input, _) in *inputs {
            union(&mut fields, &input_tree(&schema, input, &mut Vec::new()));
        }
        let mut added = Map::new();
        for (_, path, why) in ADDED.iter().filter(|(t, _, _)| t == rtype) {
            assert!(
                !has_path(&fields, path),
                "{rtype}: `{path}` is listed in ADDED but is an input field of the SDL; remove it from ADDED"
            );
            insert_path(&mut fields, path);
            added.insert(path.to_string(), json!(why));
        }
        let sources: Vec<String> = inputs.iter().map(|(i, m)| format!("{i} ({m})")).collect();
        out.insert(
            rtype.to_string(),
            json!({
                "source": format!("shared/specs/newrelic-nerdgraph.graphql: input {}", sources.join(" ∪ ")),
                "note": note,
                "added": added,
                "fields": managed::Writable::from_json(&fields).unwrap().to_json(),
            }),
        );
    }
    Value::Object(out)
}

fn table() -> std::collections::BTreeMap<String, Writable> {
    managed::load_table(include_str!("../src/writable.json")).expect("src/writable.json parses")
}

#[test]
fn the_input_types_are_the_ones_the_mutations_send() {
    let wire = concat!(include_str!("../src/wire.rs"), include_str!("../src/muting.rs"));
    for (rtype, inputs, _) in TYPES {
        for (input, mutation) in *inputs {
            assert!(
                wire.contains(&format!(": {input}!")),
                "{rtype}: src/wire.rs declares no variable of type {input}! ({mutation}); update TYPES"
            );
        }
    }
    assert!(wire.contains("$policyId: ID!"), "policyId is no longer a mutation argument; revisit ADDED");
}

#[test]
fn bundled_writable_fields_agree_with_the_published_schema() {
    let want = derived();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/writable.json");
    if std::env::var_os("WATCHKEEP_UPDATE_WRITABLE").is_some() {
        std::fs::write(&path, serde_json::to_string_pretty(&want).unwrap() + "\n").unwrap();
    }
    let have: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let differences = managed::table_differences(&have, &want);
    assert!(
        differences.is_empty(),
        "src/writable.json disagrees with the NerdGraph SDL; regenerate it (see this file's docs) and review:\n{}",
        differences.join("\n")
    );
    assert_eq!(
        have, want,
        "src/writable.json disagrees with the NerdGraph SDL; regenerate it (see this file's docs) and review"
    );
    // Every resource type of the provider has an entry, and only those.
    let types: BTreeSet<&str> = TYPES.iter().map(|t| t.0).collect();
    assert_eq!(
        types,
        RESOURCE_TYPES.iter().copied().collect::<BTreeSet<_>>(),
        "each resource type needs its input types in TYPES (and writable.json regenerated)"
    );
    // Sanity: what New Relic computes is no input field.
    for (rtype, computed) in [
        ("newrelic_alert_policy", "id"),
        ("newrelic_alert_policy", "accountId"),
        ("newrelic_nrql_condition", "id"),
        ("newrelic_nrql_condition", "entityGuid"),
        ("newrelic_nrql_condition", "createdAt"),
        ("newrelic_nrql_condition", "updatedAt"),
        ("newrelic_notification_destination", "createdAt"),
        ("newrelic_notification_destination", "status"),
        ("newrelic_notification_channel", "updatedBy"),
        ("newrelic_workflow", "lastRun"),
        ("newrelic_dashboard", "guid"),
        ("newrelic_dashboard", "createdAt"),
    ] {
        assert!(want[rtype]["fields"].get(computed).is_none(), "{rtype}.{computed} must not be writable");
    }
    assert!(has_path(&want["newrelic_nrql_condition"]["fields"], "signal.aggregationWindow"));
    assert!(has_path(&want["newrelic_notification_destination"]["fields"], "auth.token.prefix"));
    assert!(has_path(&want["newrelic_notification_destination"]["fields"], "active"));
}

/// Leaf paths of a canonical value: down objects the tree knows as nested, else the key.
fn leaf_paths(v: &Value, w: Option<&Writable>, prefix: &str, out: &mut Vec<String>) {
    let Value::Object(m) = v else { return };
    for (k, val) in m {
        let path = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
        match w.and_then(|w| w.child(k)) {
            Some(sub) if val.is_object() => leaf_paths(val, Some(sub), &path, out),
            _ => out.push(path),
        }
    }
}

fn in_tree(w: &Writable, path: &str) -> bool {
    let parts: Vec<&str> = path.split('.').collect();
    let mut t = w;
    for (i, part) in parts.iter().enumerate() {
        if !t.contains(part) {
            return false;
        }
        if i + 1 < parts.len() {
            match t.child(part) {
                Some(c) => t = c,
                None => return false,
            }
        }
    }
    true
}

/// For each type, objects that make its normaliser emit every field it can (one per branch:
/// EVENT_TIMER vs EVENT_FLOW signals, each auth kind), desired-side and live-side.
fn maximal_objects() -> Vec<(&'static str, Value)> {
    let marker = n::marker_line("a.b");
    let mut out = vec![
        ("newrelic_alert_policy", json!({"name": "P", "incidentPreference": "per_condition"})),
        (
            "newrelic_nrql_condition",
            json!({
                "policyId": "41", "name": "c", "description": format!("d\n{marker}"), "enabled": false,
                "runbookUrl": "https://r", "titleTemplate": "t", "valueFunction": "sum",
                "violationTimeLimitSeconds": 3600,
                "nrql": {"query": "SELECT 1 FROM T", "dataAccountId": 2, "evaluationOffset": 3},
                "terms": [{"operator": "above", "priority": "critical", "threshold": 1, "thresholdDuration": 60, "thresholdOccurrences": "all"}],
                "signal": {"aggregationWindow": 60, "aggregationMethod": "event_flow", "aggregationDelay": 30,
                           "fillOption": "static", "fillValue": 1, "slideBy": 30, "evaluationDelay": 60, "evaluationOffset": 3},
                "expiration": {"expirationDuration": 600, "openViolationOnExpiration": true,
                               "closeViolationsOnExpiration": true, "ignoreOnExpectedTermination": true},
            }),
        ),
        (
            "newrelic_nrql_condition",
            json!({"name": "t", "signal": {"aggregationMethod": "event_timer", "aggregationTimer": 30}}),
        ),
        (
            "newrelic_notification_channel",
            json!({"name": "c", "type": "webhook", "product": "iint", "destinationId": "d-1", "active": false,
                   "properties": [{"key": "k", "value": "v", "label": "l", "displayValue": "dv"}]}),
        ),
        (
            "newrelic_workflow",
            json!({"name": "w", "workflowEnabled": false, "destinationsEnabled": false, "enrichmentsEnabled": false,
                   "mutingRulesHandling": "dont_notify_fully_muted_issues",
                   "issuesFilter": {"name": marker, "type": "filter", "predicates": [{"attribute": "a", "operator": "equal", "values": ["x"]}]},
                   "destinationConfigurations": [{"channelId": "c-1", "notificationTriggers": ["activated"], "updateOriginalMessage": true}]}),
        ),
        (
            "newrelic_dashboard",
            json!({"name": "d", "description": "x", "permissions": "private",
                   "pages": [{"name": "p", "description": "pd", "widgets": [{"title": "t", "layout": {"column": 1, "row": 1, "width": 4, "height": 3},
                              "visualization": {"id": "viz.line"}, "rawConfiguration": {"a": 1}, "linkedEntityGuids": ["G"]}]}]}),
        ),
    ];
    out.push((
        "newrelic_muting_rule",
        json!({"name": "m", "description": format!("d\n{marker}"), "enabled": false,
               "actionOnMutingRuleWindowEnded": "DO_NOTHING",
               "condition": {"operator": "OR", "conditions": [{"attribute": "policyId", "operator": "IN", "values": ["41"]}]},
               "schedule": {"startTime": "2026-12-06T02:00:00", "endTime": "2026-12-06T04:00:00", "timeZone": "Europe/Berlin",
                            "repeat": "WEEKLY", "endRepeat": "2027-12-06T02:00:00", "weeklyRepeatDays": ["SATURDAY"]}}),
    ));
    for auth in [
        json!({"type": "token", "token": {"prefix": "Bearer", "token": "s"}}),
        json!({"type": "basic", "basic": {"user": "u", "password": "s"}}),
        json!({"type": "custom_headers", "customHeaders": {"customHeaders": [{"key": "X", "value": "s"}]}}),
        json!({"type": "oauth2", "oauth2": {"accessTokenUrl": "https://a", "authorizationUrl": "https://b", "clientId": "c",
               "clientSecret": "s", "prefix": "p", "refreshInterval": 60, "refreshable": true, "scope": "x", "token": "t", "refreshToken": "r"}}),
    ] {
        out.push((
            "newrelic_notification_destination",
            json!({"name": "d", "type": "webhook", "active": false, "auth": auth,
                   "properties": [{"key": "watchkeep", "value": marker, "label": "l", "displayValue": "dv"}],
                   "secureUrl": {"prefix": "https://h/", "secureSuffix": "s"}}),
        ));
    }
    out
}

#[test]
fn every_field_the_normalisers_emit_is_a_managed_field() {
    let table = table();
    let mut seen = BTreeSet::new();
    for (rtype, obj) in maximal_objects() {
        let w = &table[rtype];
        let norm = n::normalize_type(rtype, &obj).unwrap();
        let mut paths = Vec::new();
        leaf_paths(&norm, Some(w), "", &mut paths);
        for p in &paths {
            assert!(in_tree(w, p), "{rtype}: the normaliser emits `{p}`, which is no writable field");
            seen.insert((rtype, p.clone()));
        }
        // The projection therefore removes nothing the normaliser emits.
        assert_eq!(w.project(&norm), norm, "{rtype}");
    }
    // The maximal objects did reach the deep fields (else this test proves little).
    for (rtype, p) in [
        ("newrelic_nrql_condition", "signal.fillValue"),
        ("newrelic_nrql_condition", "signal.aggregationTimer"),
        ("newrelic_nrql_condition", "expiration.expirationDuration"),
        ("newrelic_nrql_condition", "nrql.dataAccountId"),
        ("newrelic_nrql_condition", "policyId"),
        ("newrelic_notification_destination", "auth.oauth2.refreshInterval"),
        ("newrelic_notification_destination", "auth.basic.user"),
        ("newrelic_notification_destination", "auth.customHeaders.customHeaders"),
        ("newrelic_notification_destination", "secureUrl.prefix"),
        ("newrelic_notification_destination", "secretSha256"),
        ("newrelic_notification_destination", "active"),
        ("newrelic_notification_channel", "active"),
        ("newrelic_workflow", "issuesFilter.predicates"),
        ("newrelic_dashboard", "pages"),
        ("newrelic_muting_rule", "schedule.weeklyRepeatDays"),
        ("newrelic_muting_rule", "condition.conditions"),
    ] {
        assert!(seen.contains(&(rtype, p.to_string())), "{rtype}: no maximal object emitted `{p}`");
    }
    for rtype in RESOURCE_TYPES {
        assert!(seen.iter().any(|(t, _)| t == rtype), "no maximal object of {rtype}");
    }
}

/// A live object as New Relic returns it: the maximal object plus read-only fields and a field
/// New Relic might add later, at the top and inside nested objects.
fn with_vendor_fields(obj: &Value, variant: u32) -> Value {
    let mut live = obj.clone();
    let m = live.as_object_mut().unwrap();
    m.insert("futureField".into(), json!({"x": variant}));
    for (k, v) in [
        ("id", json!(format!("id-{variant}"))),
        ("guid", json!(format!("GUID{variant}"))),
        ("entityGuid", json!(format!("ENT{variant}"))),
        ("accountId", json!(variant)),
        ("createdAt", json!(format!("2026-0{variant}-01T00:00:00Z"))),
        ("updatedAt", json!(format!("2026-0{variant}-02T00:00:00Z"))),
        ("updatedBy", json!(variant)),
        ("status", json!(if variant == 1 { "DEFAULT" } else { "ERROR" })),
        ("lastRun", json!(format!("2026-0{variant}-03T00:00:00Z"))),
        ("__typename", json!("Thing")),
    ] {
        m.insert(k.into(), v);
    }
    for nested in ["nrql", "signal", "expiration", "issuesFilter", "auth", "secureUrl"] {
        if let Some(Value::Object(o)) = m.get_mut(nested) {
            o.insert("futureField".into(), json!({"x": variant}));
            o.insert("id".into(), json!(format!("nested-{variant}")));
        }
    }
    live
}

#[test]
fn unknown_and_read_only_fields_never_change_the_canonical_form() {
    for (rtype, obj) in maximal_objects() {
        let plain = n::normalize_type(rtype, &obj).unwrap();
        let a = n::normalize_type(rtype, &with_vendor_fields(&obj, 1)).unwrap();
        let b = n::normalize_type(rtype, &with_vendor_fields(&obj, 2)).unwrap();
        assert_eq!(a, plain, "{rtype}: read-only or unknown fields changed the canonical form");
        assert_eq!(b, plain, "{rtype}: changed read-only fields changed the canonical form");
        assert!(!a.to_string().contains("futureField"), "{rtype}: {a}");
    }
}

#[test]
fn the_provider_reports_the_table() {
    use watchkeep_provider::Provider;
    let env = |k: &str| match k {
        "NEW_RELIC_API_KEY" => Some("NRAK-TEST".to_string()),
        "NEW_RELIC_ACCOUNT_ID" => Some("1".to_string()),
        _ => None,
    };
    let p = watchkeep_newrelic::NewRelicProvider::from_block(&Map::new(), &env).unwrap();
    let table = table();
    for rtype in RESOURCE_TYPES {
        assert_eq!(p.writable(rtype), table.get(*rtype), "{rtype}");
        assert!(p.writable(rtype).is_some(), "{rtype}");
    }
    assert!(p.writable("newrelic_slo").is_none());
}
