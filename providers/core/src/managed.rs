//! Which attributes watchkeep manages: a resource type's *writable* fields, as the vendor's
//! published schema lists them (Datadog's OpenAPI request schemas without `readOnly` fields, New
//! Relic's NerdGraph input types, the AWS SDK's Put/Create input shapes).
//!
//! A provider keeps each type's tree as data (checked by a test against the vendor's schema) and
//! projects every object it reads onto it with [`Writable::project`]: whatever else a vendor
//! returns — read-only fields, fields it adds next month — never reaches the planner, so it can
//! never make a diff or drift.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// A tree of writable fields. A field maps to `None` when its value is compared whole (a string,
/// a number, a list, a free-form object) and to a nested tree when it is an object whose own
/// writable fields are known.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Writable {
    fields: BTreeMap<String, Option<Writable>>,
}

impl Writable {
    /// Reads the data form: `{"name": null, "options": {"thresholds": {"critical": null}}}`.
    pub fn from_json(v: &Value) -> Result<Writable, String> {
        let Value::Object(m) = v else { return Err(format!("expected an object of fields, found {v}")) };
        let mut fields = BTreeMap::new();
        for (k, v) in m {
            let sub = match v {
                Value::Null => None,
                Value::Object(_) => Some(Writable::from_json(v).map_err(|e| format!("{k}.{e}"))?),
                other => return Err(format!("{k}: expected null or an object, found {other}")),
            };
            fields.insert(k.clone(), sub);
        }
        Ok(Writable { fields })
    }

    /// The data form again (what [`Writable::from_json`] reads).
    pub fn to_json(&self) -> Value {
        Value::Object(
            self.fields
                .iter()
                .map(|(k, v)| (k.clone(), v.as_ref().map(Writable::to_json).unwrap_or(Value::Null)))
                .collect(),
        )
    }

    /// Whether `name` is a writable field at this level.
    pub fn contains(&self, name: &str) -> bool {
        self.fields.contains_key(name)
    }

    /// The nested tree of an object field.
    pub fn child(&self, name: &str) -> Option<&Writable> {
        self.fields.get(name).and_then(Option::as_ref)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.fields.keys().map(String::as_str)
    }

    /// `v` with only the writable fields, recursively. Values that are not objects where the
    /// tree expects one are kept as they are (the planner shows them; the vendor decides).
    pub fn project(&self, v: &Value) -> Value {
        let Value::Object(m) = v else { return v.clone() };
        let mut out = Map::new();
        for (k, val) in m {
            match self.fields.get(k) {
                None => {}
                Some(None) => {
                    out.insert(k.clone(), val.clone());
                }
                Some(Some(sub)) => {
                    out.insert(k.clone(), sub.project(val));
                }
            }
        }
        Value::Object(out)
    }

    /// Dotted paths of the fields of `v` that are not writable (what [`Writable::project`] drops).
    pub fn unknown_paths(&self, v: &Value) -> Vec<String> {
        let mut out = Vec::new();
        self.collect_unknown(v, "", &mut out);
        out
    }

    fn collect_unknown(&self, v: &Value, prefix: &str, out: &mut Vec<String>) {
        let Value::Object(m) = v else { return };
        for (k, val) in m {
            let path = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
            match self.fields.get(k) {
                None => out.push(path),
                Some(Some(sub)) => sub.collect_unknown(val, &path, out),
                Some(None) => {}
            }
        }
    }

    /// Removes, in place, every field that is not writable.
    pub fn retain(&self, v: &mut Value) {
        let Value::Object(m) = v else { return };
        m.retain(|k, _| self.fields.contains_key(k));
        for (k, val) in m.iter_mut() {
            if let Some(Some(sub)) = self.fields.get(k) {
                sub.retain(val);
            }
        }
    }
}

/// Parses a provider's bundled data file: `{"<resource type>": {"source": "...", "fields": {...}}}`.
pub fn load_table(text: &str) -> Result<BTreeMap<String, Writable>, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let Value::Object(types) = v else { return Err("expected an object keyed by resource type".into()) };
    let mut out = BTreeMap::new();
    for (t, entry) in types {
        let fields = entry.get("fields").ok_or_else(|| format!("{t}: no `fields`"))?;
        out.insert(t.clone(), Writable::from_json(fields).map_err(|e| format!("{t}: {e}"))?);
    }
    Ok(out)
}

/// Where two data tables (as JSON) differ, as dotted paths: for a readable failure of the tests
/// that check a provider's table against the vendor's schema.
pub fn table_differences(have: &Value, want: &Value) -> Vec<String> {
    fn walk(have: &Value, want: &Value, prefix: &str, out: &mut Vec<String>) {
        let (Some(h), Some(w)) = (have.as_object(), want.as_object()) else {
            if have != want {
                out.push(format!("{prefix}: {have} in the file, {want} derived"));
            }
            return;
        };
        let join = |k: &str| if prefix.is_empty() { k.to_string() } else { format!("{prefix}.{k}") };
        for (k, wv) in w {
            match h.get(k) {
                None => out.push(format!("{}: derived, missing from the file", join(k))),
                Some(hv) => walk(hv, wv, &join(k), out),
            }
        }
        for k in h.keys().filter(|k| !w.contains_key(*k)) {
            out.push(format!("{}: in the file, not derived", join(k)));
        }
    }
    let mut out = Vec::new();
    walk(have, want, "", &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn projection_keeps_only_writable_fields_at_every_level() {
        let w = Writable::from_json(&json!({
            "name": null, "tags": null,
            "options": { "thresholds": { "critical": null, "warning": null }, "notify_no_data": null },
        }))
        .unwrap();
        let live = json!({
            "id": 1, "created_at": 1673258836000u64, "name": "n", "tags": ["b", "a"],
            "future_field": { "x": 1 },
            "options": { "thresholds": { "critical": 5, "period": { "x": 1 } }, "notify_no_data": false,
                         "device_ids": [] },
        });
        let got = w.project(&live);
        assert_eq!(
            got,
            json!({ "name": "n", "tags": ["b", "a"],
                    "options": { "thresholds": { "critical": 5 }, "notify_no_data": false } })
        );
        let mut in_place = live.clone();
        w.retain(&mut in_place);
        assert_eq!(in_place, got);
        assert_eq!(Writable::from_json(&w.to_json()).unwrap(), w);
        assert!(Writable::from_json(&json!({"a": 1})).is_err());
        assert_eq!(
            w.unknown_paths(&live),
            ["id", "created_at", "future_field", "options.thresholds.period", "options.device_ids"]
        );
        assert_eq!(w.project(&json!("x")), json!("x"));
    }
}
