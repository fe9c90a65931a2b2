//! Per-attribute differences between two normalised objects.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One attribute that differs. `path` is dotted (`options.thresholds.critical`); a list of
/// objects is compared element by element (`terms[0].threshold`), other lists as whole values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AttrChange {
    pub path: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
    /// Changing this attribute forces a replace.
    #[serde(default)]
    pub replace: bool,
}

fn flatten(prefix: &str, v: &Value, out: &mut BTreeMap<String, Value>) {
    match v {
        Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                let path = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                flatten(&path, v, out);
            }
        }
        Value::Array(items)
            if !items.is_empty() && items.iter().all(|i| matches!(i, Value::Object(m) if !m.is_empty())) =>
        {
            for (i, v) in items.iter().enumerate() {
                flatten(&format!("{prefix}[{i}]"), v, out);
            }
        }
        Value::Null if prefix.is_empty() => {}
        other => {
            out.insert(prefix.to_string(), other.clone());
        }
    }
}

/// Every leaf of `v` by path (`options.thresholds.critical`, `terms[0].threshold`), as compared.
pub fn leaves(v: &Value) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    flatten("", v, &mut out);
    out
}

/// `null`, `[]` and `{}` say "nothing here", as an absent attribute does: vendors answer one for
/// the other (Datadog's create answer carries `assets: []`, its reads omit `assets`).
pub fn is_empty_value(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.is_empty(),
        _ => false,
    }
}

/// A short, stable hash of a (redacted) value, for [`crate::state::ResourceState::configured`].
pub fn value_hash(v: &Value) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(&Sha256::digest(v.to_string().as_bytes())[..8])
}

/// Attribute-level differences, sorted by path. `replace(path)` says whether a change there forces
/// a replace. An empty value and an absent one are equal (see [`is_empty_value`]).
pub fn attribute_changes(before: &Value, after: &Value, replace: &dyn Fn(&str) -> bool) -> Vec<AttrChange> {
    let mut b = BTreeMap::new();
    let mut a = BTreeMap::new();
    flatten("", before, &mut b);
    flatten("", after, &mut a);
    let mut keys: Vec<&String> = b.keys().chain(a.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter_map(|k| {
            let (bv, av) = (b.get(k), a.get(k));
            if bv == av || (bv.is_none_or(is_empty_value) && av.is_none_or(is_empty_value)) {
                return None;
            }
            Some(AttrChange { path: k.clone(), before: bv.cloned(), after: av.cloned(), replace: replace(k) })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lists_of_objects_compare_element_by_element_and_other_lists_whole() {
        let before = json!({
            "terms": [{"priority": "CRITICAL", "threshold": 85}, {"priority": "WARNING", "threshold": 80}],
            "tags": ["a", "b"],
        });
        let after = json!({
            "terms": [{"priority": "CRITICAL", "threshold": 97}],
            "tags": ["a", "c"],
        });
        let changes = attribute_changes(&before, &after, &|p| p.starts_with("tags"));
        let got: Vec<(&str, Option<&Value>, Option<&Value>, bool)> = changes
            .iter()
            .map(|c| (c.path.as_str(), c.before.as_ref(), c.after.as_ref(), c.replace))
            .collect();
        assert_eq!(
            got,
            vec![
                ("tags", Some(&json!(["a", "b"])), Some(&json!(["a", "c"])), true),
                ("terms[0].threshold", Some(&json!(85)), Some(&json!(97)), false),
                ("terms[1].priority", Some(&json!("WARNING")), None, false),
                ("terms[1].threshold", Some(&json!(80)), None, false),
            ]
        );
        // An emptied list removes its elements' paths; the empty list itself equals an absent one.
        let emptied = attribute_changes(&json!({"terms": [{"a": 1}]}), &json!({"terms": []}), &|_| false);
        assert_eq!(emptied.iter().map(|c| c.path.as_str()).collect::<Vec<_>>(), vec!["terms[0].a"]);
        // Empty and absent are equal both ways (Datadog's create answer has `assets: []`, reads omit it).
        assert!(
            attribute_changes(&json!({"assets": [], "o": {}, "p": null}), &json!({}), &|_| false).is_empty()
        );
        assert_eq!(attribute_changes(&json!({"tags": ["a"]}), &json!({"tags": []}), &|_| false).len(), 1);
    }
}
