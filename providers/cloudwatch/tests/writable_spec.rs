//! The managed (writable) fields of each CloudWatch/SNS resource type are kept as data in
//! `src/writable.json`. This test derives them again from AWS's published service models — the
//! `service-2.json.gz` files botocore ships, the same models the Rust SDK is generated from — and
//! fails when the two disagree; it also checks that the normalisers never emit a field outside
//! the data, and that whatever else AWS returns never changes the canonical form.
//!
//! Where the models are: botocore inside the moto virtualenv `.ci/run` installs. The directory is
//! derived from `$WATCHKEEP_MOTO_SERVER` (`<venv>/bin/moto_server` → `<venv>/lib/python3.*/
//! site-packages/botocore/data`), else `target/py/moto` of the workspace. Without either the test
//! fails and says so: it never skips.
//!
//! Rules of the derivation: for each resource type, the members of the input shape of the
//! operation that writes it. A member whose shape is a `structure` becomes a nested tree (a shape
//! already on the path is a leaf); lists, maps and scalars are leaves. SNS keeps most settings in
//! an `Attributes` map (CreateTopic, Subscribe) written again by SetTopicAttributes /
//! SetSubscriptionAttributes; the provider manages a few of them as top-level fields, so
//! `Attributes` is replaced by those names, each of which must be documented as an attribute name
//! in the model (the model types attribute names as plain strings and lists them only in its
//! documentation).
//!
//! To regenerate after a botocore update: `WATCHKEEP_UPDATE_WRITABLE=1 cargo test -p
//! watchkeep-cloudwatch --test writable_spec`, then review the diff.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};
use watchkeep_cloudwatch::normalize as n;
use watchkeep_cloudwatch::RESOURCE_TYPES;
use watchkeep_provider::managed::{self, Writable};

const REGION: &str = "us-east-1";

/// One resource type: the operation that writes it, in which service model, the SNS attributes it
/// manages as top-level fields (with the input member and operation whose documentation lists
/// them), and the per-type note.
struct Type {
    rtype: &'static str,
    service: &'static str,
    operation: &'static str,
    attributes: &'static [&'static str],
    attribute_docs: &'static [(&'static str, &'static str)],
    note: &'static str,
}

const TYPES: &[Type] = &[
    Type {
        rtype: "cloudwatch_metric_alarm",
        service: "cloudwatch/2010-08-01",
        operation: "PutMetricAlarm",
        attributes: &[],
        attribute_docs: &[],
        note: "The action lists hold ARNs (a topic of the configuration is a link the engine \
               resolves to its ARN). `Tags` is writable on create only and not compared.",
    },
    Type {
        rtype: "cloudwatch_composite_alarm",
        service: "cloudwatch/2010-08-01",
        operation: "PutCompositeAlarm",
        attributes: &[],
        attribute_docs: &[],
        note: "The action lists hold ARNs (a topic of the configuration is a link the engine \
               resolves to its ARN). `Tags` is writable on create only and not compared.",
    },
    Type {
        rtype: "cloudwatch_dashboard",
        service: "cloudwatch/2010-08-01",
        operation: "PutDashboard",
        attributes: &[],
        attribute_docs: &[],
        note: "`DashboardBody` is a JSON string on the wire and a JSON object in the canonical form \
               (same field name), compared whole.",
    },
    Type {
        rtype: "sns_topic",
        service: "sns/2010-03-31",
        operation: "CreateTopic",
        attributes: &["DisplayName"],
        attribute_docs: &[("SetTopicAttributesInput", "AttributeName"), ("CreateTopicInput", "Attributes")],
        note: "`Attributes` (a map) is replaced by the topic attributes the provider manages, as \
               top-level fields: `DisplayName` (written by CreateTopic's Attributes and \
               SetTopicAttributes). watchkeep's two ownership tags are removed from `Tags`.",
    },
    Type {
        rtype: "sns_subscription",
        service: "sns/2010-03-31",
        operation: "Subscribe",
        attributes: &["FilterPolicy", "RawMessageDelivery"],
        attribute_docs: &[
            ("SubscribeInput", "Attributes"),
            ("SetSubscriptionAttributesInput", "AttributeName"),
        ],
        note: "`Attributes` (a map) is replaced by the subscription attributes the provider \
               manages, as top-level fields: `FilterPolicy` (a JSON object in the canonical form) \
               and `RawMessageDelivery` (a boolean). `TopicArn` is the topic's ARN (a link the engine \
               resolves for a topic of the configuration).",
    },
];

/// botocore's `data` directory (see the module docs).
fn botocore_data() -> PathBuf {
    let venv = match std::env::var_os("WATCHKEEP_MOTO_SERVER") {
        Some(server) if !server.is_empty() => {
            let server = PathBuf::from(server);
            match server.parent().and_then(Path::parent) {
                Some(v) => v.to_path_buf(),
                None => panic!("WATCHKEEP_MOTO_SERVER={} is not <venv>/bin/moto_server", server.display()),
            }
        }
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/py/moto"),
    };
    let lib = venv.join("lib");
    let found = std::fs::read_dir(&lib).ok().and_then(|entries| {
        entries
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with("python3"))
            .map(|e| e.path().join("site-packages/botocore/data"))
            .find(|p| p.is_dir())
    });
    found.unwrap_or_else(|| {
        panic!(
            "AWS's service models (botocore) are not installed: no {}/python3.*/site-packages/botocore/data. \
             Install moto with `.ci/run` (it creates target/py/moto) or set WATCHKEEP_MOTO_SERVER to \
             <venv>/bin/moto_server of a virtualenv with moto; this test does not skip.",
            lib.display()
        )
    })
}

fn model(service: &str) -> Value {
    let path = botocore_data().join(service).join("service-2.json.gz");
    let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut text = String::new();
    flate2::read::GzDecoder::new(file)
        .read_to_string(&mut text)
        .unwrap_or_else(|e| panic!("{}: not gzip JSON text: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The tree of a structure shape (`path`: the shapes above, to end recursion).
fn shape_tree(model: &Value, shape: &str, path: &mut Vec<String>) -> Value {
    let s = &model["shapes"][shape];
    assert_eq!(s["type"], "structure", "{shape} is not a structure in the model");
    path.push(shape.to_string());
    let mut out = Map::new();
    for (member, def) in s["members"].as_object().into_iter().flatten() {
        let target = def["shape"].as_str().unwrap_or_default();
        let nested = model["shapes"][target]["type"] == "structure" && !path.iter().any(|p| p == target);
        out.insert(member.clone(), if nested { shape_tree(model, target, path) } else { Value::Null });
    }
    path.pop();
    Value::Object(out)
}

fn derived() -> Value {
    let mut out = Map::new();
    for t in TYPES {
        let model = model(t.service);
        let input = model["operations"][t.operation]["input"]["shape"]
            .as_str()
            .unwrap_or_else(|| panic!("{}: no operation {}", t.service, t.operation))
            .to_string();
        let mut fields = shape_tree(&model, &input, &mut Vec::new());
        let mut source =
            format!("botocore/data/{}/service-2.json.gz: shapes.{input} ({})", t.service, t.operation);
        if !t.attributes.is_empty() {
            let m = fields.as_object_mut().unwrap();
            assert_eq!(
                m.get("Attributes").map(|_| model["shapes"]
                    [model["shapes"][&input]["members"]["Attributes"]["shape"].as_str().unwrap_or_default()]
                    ["type"]
                    .clone()),
                Some(json!("map")),
                "{}: {input}.Attributes is no longer a map; revisit the derivation",
                t.rtype
            );
            m.remove("Attributes");
            for attr in t.attributes {
                for (shape, member) in t.attribute_docs {
                    let doc = model["shapes"][shape]["members"][member]["documentation"]
                        .as_str()
                        .unwrap_or_default();
                    assert!(
                        doc.contains(&format!("<code>{attr}</code> –")),
                        "{}: `{attr}` is not documented as an attribute name in {shape}.{member}",
                        t.rtype
                    );
                }
                m.insert(attr.to_string(), Value::Null);
            }
            let docs: Vec<String> = t.attribute_docs.iter().map(|(s, m)| format!("{s}.{m}")).collect();
            source.push_str(&format!(
                ", `Attributes` replaced by the attribute names {} (documented in {})",
                t.attributes.join(", "),
                docs.join(" and ")
            ));
        }
        out.insert(
            t.rtype.to_string(),
            json!({
                "source": source,
                "note": t.note,
                "fields": Writable::from_json(&fields).unwrap().to_json(),
            }),
        );
    }
    Value::Object(out)
}

fn table() -> std::collections::BTreeMap<String, Writable> {
    managed::load_table(include_str!("../src/writable.json")).expect("src/writable.json parses")
}

/// `PutMetricAlarm` → `put_metric_alarm` (the SDK's method name).
fn snake(op: &str) -> String {
    let mut out = String::new();
    for (i, c) in op.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

#[test]
fn the_operations_are_the_ones_the_provider_calls() {
    let src = [
        include_str!("../src/alarm.rs"),
        include_str!("../src/dashboard.rs"),
        include_str!("../src/topic.rs"),
        include_str!("../src/subscription.rs"),
    ]
    .concat();
    for t in TYPES {
        let call = format!(".{}()", snake(t.operation));
        assert!(src.contains(&call), "{}: the provider never calls {call}; update TYPES", t.rtype);
    }
    for (op, rtype) in
        [("SetTopicAttributes", "sns_topic"), ("SetSubscriptionAttributes", "sns_subscription")]
    {
        let call = format!("{}()", snake(op));
        assert!(src.contains(&call), "{rtype}: the provider no longer calls {call}; revisit its attributes");
    }
}

#[test]
fn bundled_writable_fields_agree_with_the_aws_service_models() {
    let want = derived();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/writable.json");
    if std::env::var_os("WATCHKEEP_UPDATE_WRITABLE").is_some() {
        std::fs::write(&path, serde_json::to_string_pretty(&want).unwrap() + "\n").unwrap();
    }
    let have: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let differences = managed::table_differences(&have, &want);
    assert!(
        differences.is_empty(),
        "src/writable.json disagrees with AWS's service models; regenerate it (see this file's docs) and review:\n{}",
        differences.join("\n")
    );
    assert_eq!(
        have, want,
        "src/writable.json disagrees with AWS's service models; regenerate it (see this file's docs) and review"
    );
    let types: BTreeSet<&str> = TYPES.iter().map(|t| t.rtype).collect();
    assert_eq!(
        types,
        RESOURCE_TYPES.iter().copied().collect::<BTreeSet<_>>(),
        "each resource type needs its operation in TYPES (and writable.json regenerated)"
    );
    // Sanity: what AWS computes is no input member.
    for (rtype, computed) in [
        ("cloudwatch_metric_alarm", "AlarmArn"),
        ("cloudwatch_metric_alarm", "StateValue"),
        ("cloudwatch_metric_alarm", "StateUpdatedTimestamp"),
        ("cloudwatch_metric_alarm", "AlarmConfigurationUpdatedTimestamp"),
        ("cloudwatch_composite_alarm", "ActionsSuppressedBy"),
        ("cloudwatch_dashboard", "DashboardArn"),
        ("cloudwatch_dashboard", "LastModified"),
        ("sns_topic", "TopicArn"),
        ("sns_topic", "SubscriptionsConfirmed"),
        ("sns_subscription", "SubscriptionArn"),
        ("sns_subscription", "Owner"),
    ] {
        assert!(want[rtype]["fields"].get(computed).is_none(), "{rtype}.{computed} must not be writable");
    }
    for (rtype, field) in [
        ("cloudwatch_metric_alarm", "Threshold"),
        ("cloudwatch_metric_alarm", "Metrics"),
        ("cloudwatch_composite_alarm", "AlarmRule"),
        ("cloudwatch_dashboard", "DashboardBody"),
        ("sns_topic", "DisplayName"),
        ("sns_subscription", "FilterPolicy"),
    ] {
        assert!(want[rtype]["fields"].get(field).is_some(), "{rtype}.{field} must be writable");
    }
}

/// Top-level keys of a desired object the normaliser's own rules drop on purpose (so their absence
/// from the canonical form is not the projection's doing): alarms' create-only `Tags`, and
/// `ActionsEnabled: true`, AWS's default.
fn dropped_by_rules(rtype: &str, key: &str, value: &Value) -> bool {
    match (rtype, key) {
        ("cloudwatch_metric_alarm" | "cloudwatch_composite_alarm", "Tags") => true,
        ("cloudwatch_metric_alarm" | "cloudwatch_composite_alarm", "ActionsEnabled") => value == &json!(true),
        _ => false,
    }
}

/// Desired objects that set every attribute the provider accepts, with values its rules keep.
fn maximal_objects() -> Vec<(&'static str, Value)> {
    vec![
        (
            "cloudwatch_metric_alarm",
            json!({
                "AlarmName": "cpu", "AlarmDescription": "d", "ActionsEnabled": false,
                "AlarmActions": ["arn:aws:sns:us-east-1:1:ops"], "OKActions": ["arn:aws:sns:us-east-1:1:ok"],
                "InsufficientDataActions": ["arn:aws:sns:us-east-1:1:x"], "MetricName": "CPU", "Namespace": "AWS/EC2",
                "Statistic": "Average", "Dimensions": [{"Name": "i", "Value": "1"}], "Period": 60,
                "Unit": "Percent", "EvaluationPeriods": 3, "DatapointsToAlarm": 2, "Threshold": 85,
                "ComparisonOperator": "GreaterThanThreshold", "TreatMissingData": "breaching",
                "EvaluateLowSampleCountPercentile": "ignore", "Tags": [{"Key": "k", "Value": "v"}],
            }),
        ),
        (
            "cloudwatch_metric_alarm",
            json!({
                "AlarmName": "p99", "ExtendedStatistic": "p99", "EvaluationPeriods": 1, "Threshold": 1,
                "ComparisonOperator": "LessThanLowerOrGreaterThanUpperThreshold", "ThresholdMetricId": "ad1",
                "Metrics": [{"Id": "m1", "ReturnData": false, "AccountId": "1", "Label": "l",
                             "MetricStat": {"Metric": {"Namespace": "N", "MetricName": "M"}, "Period": 60, "Stat": "p99"}},
                            {"Id": "ad1", "Expression": "ANOMALY_DETECTION_BAND(m1)", "Period": 60}],
            }),
        ),
        (
            "cloudwatch_composite_alarm",
            json!({
                "AlarmName": "c", "AlarmRule": "ALARM(a)", "AlarmDescription": "d", "ActionsEnabled": false,
                "AlarmActions": ["arn:aws:sns:us-east-1:1:ops"], "OKActions": ["arn:aws:sns:us-east-1:1:ok"],
                "InsufficientDataActions": ["arn:aws:sns:us-east-1:1:i"],
                "ActionsSuppressor": "maint", "ActionsSuppressorWaitPeriod": 60,
                "ActionsSuppressorExtensionPeriod": 120, "Tags": [{"Key": "k", "Value": "v"}],
            }),
        ),
        (
            "cloudwatch_dashboard",
            json!({"DashboardName": "d", "DashboardBody": "{\"widgets\":[{\"type\":\"text\",\"x\":0,\"y\":0,\"width\":24,\"height\":1,\"properties\":{\"markdown\":\"m\"}}]}"}),
        ),
        (
            "sns_topic",
            json!({"Name": "ops", "DisplayName": "Ops", "Tags": [{"Key": "team", "Value": "sre"}]}),
        ),
        (
            "sns_subscription",
            json!({"TopicArn": "arn:aws:sns:us-east-1:1:ops", "Protocol": "HTTPS", "Endpoint": "https://h/x",
                   "RawMessageDelivery": "true", "FilterPolicy": "{\"a\": [\"b\"]}"}),
        ),
    ]
}

#[test]
fn every_field_the_normalisers_emit_is_a_managed_field() {
    let table = table();
    // Every attribute the provider accepts for an alarm is a writable field.
    for (rtype, accepted) in [
        ("cloudwatch_metric_alarm", watchkeep_cloudwatch::METRIC_ATTRIBUTES),
        ("cloudwatch_composite_alarm", watchkeep_cloudwatch::COMPOSITE_ATTRIBUTES),
    ] {
        for a in accepted {
            assert!(
                table[rtype].contains(a),
                "{rtype}: the provider accepts `{a}`, which is no writable field"
            );
        }
    }
    let mut seen = BTreeSet::new();
    for (rtype, obj) in maximal_objects() {
        let w = &table[rtype];
        let norm = n::normalize_type(rtype, &obj).unwrap();
        // Nothing the user writes is projected away: each key survives unless a rule drops it.
        for (k, v) in obj.as_object().unwrap() {
            if dropped_by_rules(rtype, k, v) {
                continue;
            }
            assert!(
                norm.get(k).is_some(),
                "{rtype}: `{k}` is dropped from the canonical form: it is no writable field in src/writable.json"
            );
            assert!(w.contains(k), "{rtype}: `{k}`");
            seen.insert((rtype, k.clone()));
        }
        // And everything the canonical form holds is a managed field.
        for k in norm.as_object().unwrap().keys() {
            assert!(w.contains(k), "{rtype}: the normaliser emits `{k}`, which is no writable field");
            seen.insert((rtype, k.clone()));
        }
        assert_eq!(w.project(&norm), norm, "{rtype}");
    }
    let all = |rtype: &'static str, names: &[&str]| {
        for name in names {
            assert!(seen.contains(&(rtype, name.to_string())), "{rtype}: no maximal object sets `{name}`");
        }
    };
    let metric: Vec<&str> =
        watchkeep_cloudwatch::METRIC_ATTRIBUTES.iter().copied().filter(|a| *a != "Tags").collect();
    all("cloudwatch_metric_alarm", &metric);
    let composite: Vec<&str> =
        watchkeep_cloudwatch::COMPOSITE_ATTRIBUTES.iter().copied().filter(|a| *a != "Tags").collect();
    all("cloudwatch_composite_alarm", &composite);
    all("cloudwatch_dashboard", &["DashboardName", "DashboardBody"]);
    all("sns_topic", &["Name", "DisplayName", "Tags"]);
    all("sns_subscription", &["TopicArn", "Protocol", "Endpoint", "RawMessageDelivery", "FilterPolicy"]);
}

/// A live object as AWS answers it: the maximal object plus read-only members and a member AWS
/// might add later.
fn with_vendor_fields(rtype: &str, obj: &Value, variant: u32) -> Value {
    let mut live = obj.clone();
    let m = live.as_object_mut().unwrap();
    m.insert("futureField".into(), json!({"x": variant}));
    let read_only: &[&str] = match rtype {
        "cloudwatch_metric_alarm" | "cloudwatch_composite_alarm" => &[
            "AlarmArn",
            "AlarmConfigurationUpdatedTimestamp",
            "StateValue",
            "StateReason",
            "StateReasonData",
            "StateUpdatedTimestamp",
            "StateTransitionedTimestamp",
            "EvaluationState",
            "ActionsSuppressedBy",
            "ActionsSuppressedReason",
        ],
        "cloudwatch_dashboard" => &["DashboardArn", "LastModified", "Size"],
        "sns_topic" => &[
            "TopicArn",
            "Owner",
            "SubscriptionsConfirmed",
            "SubscriptionsPending",
            "EffectiveDeliveryPolicy",
        ],
        _ => &["SubscriptionArn", "Owner", "ConfirmationWasAuthenticated", "PendingConfirmation"],
    };
    for k in read_only {
        m.insert(k.to_string(), json!(format!("{k}-{variant}")));
    }
    live
}

#[test]
fn unknown_and_read_only_fields_never_change_the_canonical_form() {
    for (rtype, obj) in maximal_objects() {
        let plain = n::normalize_type(rtype, &obj).unwrap();
        let a = n::normalize_type(rtype, &with_vendor_fields(rtype, &obj, 1)).unwrap();
        let b = n::normalize_type(rtype, &with_vendor_fields(rtype, &obj, 2)).unwrap();
        assert_eq!(a, plain, "{rtype}: read-only or unknown fields changed the canonical form");
        assert_eq!(b, plain, "{rtype}: changed read-only fields changed the canonical form");
    }
}

#[test]
fn the_provider_reports_the_table() {
    use watchkeep_provider::Provider;
    let attrs = json!({ "region": REGION });
    let p = watchkeep_cloudwatch::CloudWatchProvider::from_block(attrs.as_object().unwrap(), &|_: &str| None)
        .unwrap();
    let table = table();
    for rtype in RESOURCE_TYPES {
        assert!(p.writable(rtype).is_some(), "{rtype}");
        assert_eq!(p.writable(rtype), table.get(*rtype), "{rtype}");
    }
    assert!(p.writable("cloudwatch_log_group").is_none());
}
