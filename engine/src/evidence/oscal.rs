//! `oscal-assessment-results.json`: the bundle as NIST OSCAL 1.0.6 assessment results, valid
//! against NIST's JSON schema (`../shared/specs/oscal/oscal_assessment-results_schema.json`,
//! from usnistgov/OSCAL release 1.0.6; model reference:
//! <https://pages.nist.gov/OSCAL/reference/1.0.6/assessment-results/json-outline/>).
//!
//! One result for the period; the reviewed control is SOC 2 CC7.1 (`cc7.1`) with one objective
//! per CC7.1 step (`cc7.1_<step>`); one observation per evidence file group (its files as
//! `relevant-evidence`, each with its SHA-256); one finding per step of
//! [`super::REQUIREMENTS`], whose verdict comes from [`super::verdict::assess`] (the index shows
//! the same). Every file of the bundle is a back-matter resource with its SHA-256 in `hashes`.
//!
//! Deterministic: every UUID is a name-based (v5) UUID of the content under [`NAMESPACE`],
//! `last-modified` and each observation's `collected` are the period's end (not the generation
//! time, which only `manifest.json` records), and the pictures' hashes (which change with each
//! capture) are left to the manifest.

use serde_json::{json, Map, Value};
use sha1::{Digest, Sha1};
use uuid::Uuid;

use super::files::{group_paths, one_line, ManifestFile, INDEX_HTML, MANIFEST_JSON};
use super::verdict::{assess, GROUPS};
use super::Evidence;

/// The OSCAL version of NIST's schema this file is valid against.
pub const OSCAL_VERSION: &str = "1.0.6";

/// The namespace of watchkeep's name-based UUIDs (fixed forever: changing it changes every id).
pub const NAMESPACE: Uuid = Uuid::from_u128(0x47f4_3ac6_5ba3_4e8f_a677_9050_9d3e_6ce2);

/// The namespace of watchkeep's own `props` (OSCAL reserves names without `ns` for itself).
pub const PROP_NS: &str = "https://watchkeep.dev/ns/oscal";

/// The control reviewed: SOC 2 (2017 Trust Services Criteria) CC7.1, as an OSCAL token (the
/// schema's `TokenDatatype` allows letters, digits, `.`, `-` and `_`).
pub const CONTROL_ID: &str = "cc7.1";

/// A name-based (version 5, SHA-1) UUID of `name` under `namespace`, per RFC 4122 section 4.3.
pub fn uuid_v5(namespace: &Uuid, name: &str) -> Uuid {
    let mut h = Sha1::new();
    h.update(namespace.as_bytes());
    h.update(name.as_bytes());
    let digest = h.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_sha1_bytes(bytes).into_uuid()
}

fn id(name: &str) -> String {
    uuid_v5(&NAMESPACE, name).hyphenated().to_string()
}

/// A watchkeep prop; `None` when the value is empty (the schema's `StringDatatype` wants a
/// non-empty value without surrounding whitespace, on one line).
fn prop(name: &str, value: &str) -> Option<Value> {
    let value = one_line(value);
    (!value.is_empty()).then(|| json!({ "name": name, "ns": PROP_NS, "value": value }))
}

/// The OSCAL objective id of a CC7.1 step.
pub fn objective_id(requirement: &str) -> String {
    format!("{CONTROL_ID}_{requirement}")
}

/// A relative href to a bundle file (URI reference).
fn href(path: &str) -> String {
    let mut out = String::from("./");
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The assessment results of `ev`, whose other bundle files are `files` (the manifest's entries;
/// pictures are those with a `captured_at`).
pub fn assessment_results(ev: &Evidence, files: &[ManifestFile]) -> Value {
    let period = &ev.period;
    let cfg = &ev.configuration;
    let stable = |f: &ManifestFile| f.captured_at.is_none() && f.path != MANIFEST_JSON;
    // The document's identity: the period, the state and every file whose bytes are a function
    // of the evidence.
    let mut identity = format!(
        "assessment-results|{}|{}|{}|{}",
        period.from, period.to, cfg.state_lineage, cfg.state_serial
    );
    let mut sorted: Vec<&ManifestFile> = files.iter().collect();
    sorted.sort_by(|a, b| a.path.cmp(&b.path));
    for f in &sorted {
        if stable(f) {
            identity.push_str(&format!("|{}={}", f.path, f.sha256));
        } else {
            identity.push_str(&format!("|{}", f.path));
        }
    }
    let doc_uuid = id(&identity);
    let scoped = |what: &str| id(&format!("{doc_uuid}|{what}"));

    let verdicts = assess(ev);

    let mut observations = Vec::new();
    let mut observation_of = std::collections::BTreeMap::new();
    for g in GROUPS {
        let paths = group_paths(ev, &[g.id]);
        let mut evidence = Vec::new();
        for p in &paths {
            let Some(f) = files.iter().find(|f| &f.path == p) else { continue };
            let mut e = Map::new();
            e.insert("href".into(), json!(href(&f.path)));
            e.insert("description".into(), json!(f.describes));
            if stable(f) {
                if let Some(p) = prop("sha256", &f.sha256) {
                    e.insert("props".into(), json!([p]));
                }
            } else {
                e.insert(
                    "remarks".into(),
                    json!(format!(
                        "The picture shows when it was captured, so its bytes differ with each capture: its SHA-256 and capture time are in {MANIFEST_JSON}."
                    )),
                );
            }
            evidence.push(Value::Object(e));
        }
        let uuid = scoped(&format!("observation|{}", g.id));
        observation_of.insert(g.id, uuid.clone());
        let mut o = Map::new();
        o.insert("uuid".into(), json!(uuid));
        o.insert("title".into(), json!(g.title));
        o.insert("description".into(), json!(g.describes));
        o.insert("methods".into(), json!([g.method]));
        if evidence.is_empty() {
            o.insert("remarks".into(), json!("Nothing of this kind was gathered for the period."));
        } else {
            o.insert("relevant-evidence".into(), Value::Array(evidence));
        }
        // When the information was collected: the period's end, which the evidence describes
        // (the generation time would make reruns differ; it is in the manifest).
        o.insert("collected".into(), json!(period.to));
        observations.push(Value::Object(o));
    }

    let findings: Vec<Value> = verdicts
        .iter()
        .map(|v| {
            let why: Vec<String> = v.reasons.iter().map(|r| format!("- {r}")).collect();
            let state = if v.satisfied { "satisfied" } else { "not-satisfied" };
            let related: Vec<Value> = v
                .groups
                .iter()
                .filter_map(|g| observation_of.get(g))
                .map(|u| json!({ "observation-uuid": u }))
                .collect();
            let mut f = Map::new();
            f.insert("uuid".into(), json!(scoped(&format!("finding|{}", v.id))));
            f.insert("title".into(), json!(v.title));
            f.insert(
                "description".into(),
                json!(format!(
                    "{}: {}\n\n{}",
                    if v.satisfied { "Satisfied" } else { "Not satisfied" },
                    v.asks,
                    why.join("\n")
                )),
            );
            f.insert(
                "target".into(),
                json!({
                    "type": "objective-id",
                    "target-id": objective_id(v.id),
                    "title": v.title,
                    "description": v.asks,
                    "status": {
                        "state": state,
                        "reason": if v.satisfied { "pass" } else { "fail" },
                        "remarks": why.join("\n"),
                    },
                }),
            );
            if !related.is_empty() {
                f.insert("related-observations".into(), Value::Array(related));
            }
            Value::Object(f)
        })
        .collect();

    let mut result = Map::new();
    result.insert("uuid".into(), json!(scoped("result")));
    result.insert("title".into(), json!(format!("SOC 2 CC7.1 monitoring, {} to {}", period.from, period.to)));
    result.insert(
        "description".into(),
        json!(format!(
            "Evidence gathered by watchkeep from the configuration `{}`, its state, history, validation records, alert notes and the monitoring vendors, for the period {} to {} (both inclusive). One finding per step of the CC7.1 monitoring process.",
            cfg.directory, period.from, period.to
        )),
    );
    result.insert("start".into(), json!(period.from));
    result.insert("end".into(), json!(period.to));
    let satisfied = verdicts.iter().filter(|v| v.satisfied).count();
    result.insert(
        "props".into(),
        Value::Array(
            [
                prop("requirements-satisfied", &format!("{satisfied} of {}", verdicts.len())),
                prop("evidence-complete", if ev.problems.is_empty() { "true" } else { "false" }),
            ]
            .into_iter()
            .flatten()
            .collect(),
        ),
    );
    result.insert(
        "reviewed-controls".into(),
        json!({
            "description": "SOC 2 (AICPA Trust Services Criteria 2017) CC7.1: the entity uses detection and monitoring procedures to identify changes to configurations that result in new vulnerabilities, and susceptibilities to newly discovered vulnerabilities; here, as the infrastructure monitoring process's steps.",
            "control-selections": [{
                "description": "SOC 2 CC7.1",
                "include-controls": [{ "control-id": CONTROL_ID }],
            }],
            "control-objective-selections": [{
                "description": "The steps of the CC7.1 infrastructure monitoring process.",
                "include-objectives": verdicts.iter().map(|v| json!({ "objective-id": objective_id(v.id) })).collect::<Vec<_>>(),
            }],
        }),
    );
    result.insert("observations".into(), Value::Array(observations));
    result.insert("findings".into(), Value::Array(findings));
    if !ev.problems.is_empty() {
        let lines: Vec<String> = ev.problems.iter().map(|p| format!("- {}: {}", p.area, p.message)).collect();
        result.insert(
            "remarks".into(),
            json!(format!("The evidence is incomplete or shows tampering:\n\n{}", lines.join("\n"))),
        );
    }

    let resources: Vec<Value> = sorted
        .iter()
        .map(|f| {
            let mut rlink = Map::new();
            rlink.insert("href".into(), json!(href(&f.path)));
            rlink.insert("media-type".into(), json!(media_type(&f.path)));
            if stable(f) {
                rlink.insert("hashes".into(), json!([{ "algorithm": "SHA-256", "value": f.sha256 }]));
            }
            json!({
                "uuid": scoped(&format!("resource|{}", f.path)),
                "title": f.path,
                "description": f.describes,
                "rlinks": [Value::Object(rlink)],
            })
        })
        .collect();

    let mut metadata_props: Vec<Value> = [
        prop("configuration-directory", &cfg.directory),
        cfg.source_revision.as_deref().and_then(|r| prop("source-revision", r)),
        prop("state-lineage", &cfg.state_lineage),
        prop("state-serial", &cfg.state_serial.to_string()),
        prop("tool", &format!("watchkeep {}", ev.watchkeep_version)),
    ]
    .into_iter()
    .flatten()
    .collect();
    metadata_props.sort_by_key(|p| p["name"].as_str().map(str::to_string));

    let mut ar = Map::new();
    ar.insert("uuid".into(), json!(doc_uuid));
    ar.insert(
        "metadata".into(),
        json!({
            "title": format!("SOC 2 CC7.1 monitoring evidence, {} to {}", period.from, period.to),
            // The period's end: the evidence is as of then (see the module doc).
            "last-modified": period.to,
            "version": format!("{} to {}, state serial {}", period.from, period.to, cfg.state_serial),
            "oscal-version": OSCAL_VERSION,
            "props": metadata_props,
        }),
    );
    // There is no OSCAL assessment plan: the bundle's index says what each step asks, how it
    // is judged and which files answer it, so it stands in for the plan. The schema requires
    // `href` (a URI reference); a relative reference to the index keeps it resolvable inside
    // the bundle.
    ar.insert(
        "import-ap".into(),
        json!({
            "href": href(INDEX_HTML),
            "remarks": "No OSCAL assessment plan exists for this assessment: index.html describes what each CC7.1 step asks, how watchkeep judges it and which files answer it.",
        }),
    );
    ar.insert("results".into(), json!([Value::Object(result)]));
    if !resources.is_empty() {
        ar.insert("back-matter".into(), json!({ "resources": resources }));
    }
    json!({ "assessment-results": Value::Object(ar) })
}

fn media_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("json") => "application/json",
        Some("csv") => "text/csv",
        Some("html") => "text/html",
        Some("md") => "text/markdown",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::PathBuf;

    use super::*;
    use crate::evidence::bundle::{self, fixture::evidence};

    /// NIST's schema (draft-07), with format assertions on. Fails loudly when the file is
    /// missing: it is part of the shared specs, not optional.
    fn nist() -> jsonschema::Validator {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/specs/oscal/oscal_assessment-results_schema.json");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "NIST's OSCAL 1.0.6 assessment-results schema is missing at {} ({e}): it comes with the shared specs (../shared/specs/oscal/ from the repository root)",
                path.display()
            )
        });
        let schema: Value = serde_json::from_str(&text).expect("NIST's schema is JSON");
        assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
        assert_eq!(schema["$id"], "http://csrc.nist.gov/ns/oscal/1.0.6/oscal-ar-schema.json");
        // The patterns use `\p{L}` and `\p{N}` (Unicode classes, valid in ECMA-262 with the `u`
        // flag); the crate's fancy-regex engine (its default, named here) supports them, and
        // build() fails on any pattern it cannot compile, so none is dropped silently;
        // `the_schema_check_is_not_vacuous` shows the patterns are applied.
        jsonschema::options()
            .with_draft(jsonschema::Draft::Draft7)
            .with_pattern_options(jsonschema::PatternOptions::fancy_regex())
            .should_validate_formats(true)
            .build(&schema)
            .expect("NIST's schema compiles, every pattern included")
    }

    fn errors(v: &jsonschema::Validator, doc: &Value) -> Vec<String> {
        v.iter_errors(doc).map(|e| format!("{e} at {}", e.instance_path())).collect()
    }

    /// The OSCAL document exactly as `bundle::write` makes it.
    fn written(ev: &Evidence) -> Value {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("b");
        bundle::write(&dir, ev).unwrap();
        serde_json::from_slice(&std::fs::read(dir.join(bundle::OSCAL_JSON)).unwrap()).unwrap()
    }

    #[test]
    fn uuid_v5_matches_rfc_4122() {
        // Python: uuid.uuid5(uuid.NAMESPACE_DNS, "python.org")
        assert_eq!(
            uuid_v5(&Uuid::NAMESPACE_DNS, "python.org").to_string(),
            "886313e1-3b8a-5372-9b90-0c9aee199e5d"
        );
    }

    #[test]
    fn validates_against_nists_schema() {
        let v = nist();
        let doc = written(&evidence());
        assert_eq!(errors(&v, &doc), Vec::<String>::new());
        let ar = &doc["assessment-results"];
        assert_eq!(ar["metadata"]["oscal-version"], "1.0.6");
        assert_eq!(ar["metadata"]["last-modified"], "2026-11-30T23:59:59Z");
        assert_eq!(ar["import-ap"]["href"], "./index.html");
        let result = &ar["results"][0];
        assert_eq!(result["start"], "2026-11-01T00:00:00Z");
        assert_eq!(result["end"], "2026-11-30T23:59:59Z");
        assert_eq!(
            result["reviewed-controls"]["control-selections"][0]["include-controls"][0]["control-id"],
            "cc7.1"
        );
    }

    #[test]
    fn the_schema_check_is_not_vacuous() {
        // Each mutation breaks one rule of NIST's schema that the writer must keep: a token
        // pattern (\p{L} classes), the UUID pattern, the date-time pattern and format, an enum,
        // a required field, no unknown fields.
        let v = nist();
        let doc = written(&evidence());
        type Mutation = Box<dyn Fn(&mut Value)>;
        let mutations: Vec<(&str, Mutation)> = vec![
            (
                "control id with a space",
                Box::new(|d| {
                    d["assessment-results"]["results"][0]["reviewed-controls"]["control-selections"][0]
                        ["include-controls"][0]["control-id"] = json!("cc 7.1")
                }),
            ),
            (
                "target id starting with a digit",
                Box::new(|d| {
                    d["assessment-results"]["results"][0]["findings"][0]["target"]["target-id"] =
                        json!("7cc_scope")
                }),
            ),
            (
                "a version 1 UUID",
                Box::new(|d| d["assessment-results"]["uuid"] = json!("c232ab00-9414-11ec-b3c8-9f6bdeced846")),
            ),
            (
                "a date without time",
                Box::new(|d| d["assessment-results"]["metadata"]["last-modified"] = json!("2026-11-30")),
            ),
            (
                "an unknown state",
                Box::new(|d| {
                    d["assessment-results"]["results"][0]["findings"][0]["target"]["status"]["state"] =
                        json!("partially-satisfied")
                }),
            ),
            (
                "no import-ap",
                Box::new(|d| {
                    d["assessment-results"].as_object_mut().unwrap().remove("import-ap");
                }),
            ),
            (
                "an unknown field",
                Box::new(|d| d["assessment-results"]["results"][0]["verdict"] = json!("ok")),
            ),
            (
                "a version with trailing space",
                Box::new(|d| d["assessment-results"]["metadata"]["version"] = json!("1 ")),
            ),
        ];
        for (what, mutate) in mutations {
            let mut bad = doc.clone();
            mutate(&mut bad);
            assert!(!v.is_valid(&bad), "NIST's schema accepted {what}");
        }
        // And a Unicode token is accepted: the \p{L} class is a real class, not a literal `p`.
        let mut ok = doc.clone();
        ok["assessment-results"]["results"][0]["findings"][0]["target"]["target-id"] = json!("überwachung_1");
        assert!(v.is_valid(&ok));
    }

    #[test]
    fn one_finding_per_requirement_with_the_index_verdicts() {
        let doc = written(&evidence());
        let result = &doc["assessment-results"]["results"][0];
        let findings = result["findings"].as_array().unwrap();
        assert_eq!(findings.len(), crate::evidence::REQUIREMENTS.len());
        let observations: BTreeSet<&str> =
            result["observations"].as_array().unwrap().iter().map(|o| o["uuid"].as_str().unwrap()).collect();
        assert_eq!(observations.len(), GROUPS.len());
        for (f, (req, title, _)) in findings.iter().zip(crate::evidence::REQUIREMENTS) {
            assert_eq!(f["title"], *title);
            assert_eq!(f["target"]["type"], "objective-id");
            assert_eq!(f["target"]["target-id"], format!("cc7.1_{req}"));
            assert_eq!(f["target"]["status"]["state"], "satisfied", "{req}: {f:#}");
            for r in f["related-observations"].as_array().unwrap() {
                assert!(observations.contains(r["observation-uuid"].as_str().unwrap()), "{req}");
            }
        }
        // Evidence files carry their SHA-256; pictures leave theirs to the manifest.
        let scope = result["observations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["title"] == "Monitoring scope")
            .unwrap();
        let ev0 = &scope["relevant-evidence"][0];
        assert_eq!(ev0["href"], "./scope.json");
        assert_eq!(ev0["props"][0]["name"], "sha256");
        assert_eq!(ev0["props"][0]["ns"], PROP_NS);
        assert_eq!(ev0["props"][0]["value"].as_str().unwrap().len(), 64);
        let pics = result["observations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["title"] == "Dashboard pictures")
            .unwrap();
        assert_eq!(pics["relevant-evidence"].as_array().unwrap().len(), 2);
        assert!(pics["relevant-evidence"][0].get("props").is_none());
        // Every UUID defined once.
        fn uuids<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
            match v {
                Value::Object(m) => {
                    for (k, x) in m {
                        match x.as_str() {
                            Some(u) if k == "uuid" => out.push(u),
                            _ => uuids(x, out),
                        }
                    }
                }
                Value::Array(a) => a.iter().for_each(|x| uuids(x, out)),
                _ => {}
            }
        }
        let mut all = Vec::new();
        uuids(&doc, &mut all);
        let unique: BTreeSet<&str> = all.iter().copied().collect();
        assert_eq!(all.len(), unique.len(), "{all:#?}");
        // 1 document + 1 result + observations + findings + one resource per file but itself and the manifest.
        assert_eq!(all.len(), 2 + GROUPS.len() + findings.len() + 17 - 1);
    }

    #[test]
    fn missing_dashboards_and_a_broken_chain_are_not_satisfied() {
        let v = nist();
        let mut ev = evidence();
        ev.dashboards.clear();
        ev.validations.chain.intact = false;
        ev.validations.chain.problems =
            vec!["000002.json: its SHA-256 does not match 000003.json's `previous`".into()];
        ev.problems.push(crate::evidence::Problem {
            area: "validations".into(),
            message: "the validation records' chain is broken at 000002.json".into(),
        });
        let doc = written(&ev);
        assert_eq!(errors(&v, &doc), Vec::<String>::new());
        let result = &doc["assessment-results"]["results"][0];
        let state = |req: &str| {
            result["findings"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["target"]["target-id"] == format!("cc7.1_{req}"))
                .map(|f| (f["target"]["status"]["state"].clone(), f["target"]["status"]["reason"].clone()))
                .unwrap()
        };
        assert_eq!(state("dashboards"), (json!("not-satisfied"), json!("fail")));
        assert_eq!(state("validate"), (json!("not-satisfied"), json!("fail")));
        assert_eq!(state("scope"), (json!("satisfied"), json!("pass")));
        assert!(result["remarks"].as_str().unwrap().contains("chain is broken at 000002.json"));
        let pics = result["observations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["title"] == "Dashboard pictures")
            .unwrap();
        assert!(pics.get("relevant-evidence").is_none());
    }

    #[test]
    fn ids_follow_the_content_not_the_clock() {
        let a = evidence();
        let mut b = evidence();
        b.generated_at = "2027-01-01T00:00:00Z".into();
        b.dashboards[0].captured_at = "2027-01-01T00:00:00Z".into();
        assert_eq!(written(&a), written(&b));
        let mut c = evidence();
        c.alert_configuration[0].critical = Some(91.0);
        let (da, dc) = (written(&a), written(&c));
        assert_ne!(da["assessment-results"]["uuid"], dc["assessment-results"]["uuid"]);
    }
}
