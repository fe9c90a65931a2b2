//! Conversions between HCL values (what expressions evaluate to) and JSON (what the model holds).

use hcl::{Map, Number, Value};

pub(crate) fn hcl_to_json(v: &Value) -> serde_json::Value {
    match v {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Number(n) => number_to_json(n),
        Value::String(s) => serde_json::Value::String(s.clone()),
        Value::Array(a) => serde_json::Value::Array(a.iter().map(hcl_to_json).collect()),
        Value::Object(o) => {
            serde_json::Value::Object(o.iter().map(|(k, v)| (k.clone(), hcl_to_json(v))).collect())
        }
    }
}

fn number_to_json(n: &Number) -> serde_json::Value {
    if let Some(i) = n.as_i64() {
        serde_json::Value::from(i)
    } else if let Some(u) = n.as_u64() {
        serde_json::Value::from(u)
    } else {
        n.as_f64()
            .and_then(serde_json::Number::from_f64)
            .map_or(serde_json::Value::Null, serde_json::Value::Number)
    }
}

pub(crate) fn json_to_hcl(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::Number(Number::from(i))
            } else if let Some(u) = n.as_u64() {
                Value::Number(Number::from(u))
            } else {
                n.as_f64().and_then(Number::from_f64).map_or(Value::Null, Value::Number)
            }
        }
        serde_json::Value::String(s) => Value::String(s.clone()),
        serde_json::Value::Array(a) => Value::Array(a.iter().map(json_to_hcl).collect()),
        serde_json::Value::Object(o) => {
            Value::Object(o.iter().map(|(k, v)| (k.clone(), json_to_hcl(v))).collect::<Map<_, _>>())
        }
    }
}

/// Type names as users write them in `variable` blocks.
pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "object",
    }
}

pub(crate) fn json_type_name(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "bool",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "list",
        serde_json::Value::Object(_) => "object",
    }
}

/// A short rendering of a value for messages (`"abc"`, `5`, `list of 3`).
pub(crate) fn describe(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) if s.chars().count() > 60 => {
            format!("string \"{}…\"", s.chars().take(60).collect::<String>())
        }
        serde_json::Value::String(s) => format!("string \"{s}\""),
        serde_json::Value::Number(n) => format!("number {n}"),
        serde_json::Value::Bool(b) => format!("bool {b}"),
        serde_json::Value::Null => "null".to_string(),
        serde_json::Value::Array(a) => format!("list of {} element(s)", a.len()),
        serde_json::Value::Object(_) => "object".to_string(),
    }
}

/// Scalars as strings (numbers and bools convert, like Terraform's automatic conversion).
pub(crate) fn scalar_string(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let j = serde_json::json!({"a": [1, -2, 2.5, true, null, "x"], "b": {"c": u64::MAX}});
        assert_eq!(hcl_to_json(&json_to_hcl(&j)), j);
        assert_eq!(describe(&serde_json::json!("abc")), "string \"abc\"");
        assert_eq!(scalar_string(&serde_json::json!(5)).as_deref(), Some("5"));
        assert_eq!(type_name(&Value::from("x")), "string");
        assert_eq!(json_type_name(&serde_json::json!([])), "list");
    }
}
