//! The canonical JSON form attributes are compared and hashed in.

use serde_json::{Number, Value};

/// Largest magnitude below which every integer is exactly representable as an `f64` (2^53).
const EXACT_F64_INTEGER: f64 = 9_007_199_254_740_992.0;

/// Recursively: integral numbers become integers (`85.0` → `85`), object keys are sorted so the
/// canonical form prints the same way every time.
pub fn canonical(v: Value) -> Value {
    match v {
        Value::Number(n) => Value::Number(canonical_number(n)),
        Value::Array(items) => Value::Array(items.into_iter().map(canonical).collect()),
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, canonical(v))).collect())
        }
        other => other,
    }
}

fn canonical_number(n: Number) -> Number {
    if n.is_i64() || n.is_u64() {
        return n;
    }
    match n.as_f64() {
        Some(f) if f.fract() == 0.0 && f.abs() < EXACT_F64_INTEGER => Number::from(f as i64),
        _ => n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn integral_numbers_become_integers_and_keys_sort() {
        assert_eq!(canonical(json!([1.0, 1.5, -2.0, 3, -0.0])), json!([1, 1.5, -2, 3, 0]));
        assert_eq!(canonical(json!(1e300)), json!(1e300));
        assert_eq!(canonical(json!(u64::MAX)), json!(u64::MAX));
        let v = canonical(json!({"b": {"z": 1.0, "a": 2}, "a": [{"y": 1, "x": 2}]}));
        assert_eq!(v.to_string(), r#"{"a":[{"x":2,"y":1}],"b":{"a":2,"z":1}}"#);
    }
}
