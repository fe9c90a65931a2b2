//! Per-attribute differences between two normalised objects.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One attribute that differs. `path` is dotted (`options.thresholds.critical`); arrays compare
/// as whole values.
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
        Value::Null if prefix.is_empty() => {}
        other => {
            out.insert(prefix.to_string(), other.clone());
        }
    }
}

/// Attribute-level differences, sorted by path. `replace(path)` says whether a change there forces
/// a replace.
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
            if bv == av {
                return None;
            }
            Some(AttrChange { path: k.clone(), before: bv.cloned(), after: av.cloned(), replace: replace(k) })
        })
        .collect()
}
