//! Reading a `provider "<vendor>" { ... }` block: the attribute and environment helpers every
//! vendor's configuration shares, with the same messages everywhere (what is wrong, what to write).
//!
//! Attributes arrive as the JSON the engine evaluated from HCL. Credentials never do: providers
//! read them from their vendor's usual environment variables.

use serde_json::{Map, Value};

use crate::ProviderError;

/// A configuration error (the engine shows it with the provider block's location).
pub fn invalid(message: impl Into<String>) -> ProviderError {
    ProviderError::InvalidConfig { message: message.into() }
}

/// `` `a`, `b`, `c` ``.
pub fn quoted_list(items: &[&str]) -> String {
    items.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ")
}

/// An environment variable, trimmed, with empty values treated as unset (a common shell accident).
pub fn env_value(env: &dyn Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    env(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

/// Refuses attributes the block does not know, naming them and the known ones.
pub fn reject_unknown(
    attrs: &Map<String, Value>,
    known: &[&str],
    provider: &str,
) -> Result<(), ProviderError> {
    let mut unknown: Vec<&str> = attrs.keys().map(String::as_str).filter(|k| !known.contains(k)).collect();
    if unknown.is_empty() {
        return Ok(());
    }
    unknown.sort_unstable();
    Err(invalid(format!(
        "unknown attribute{} {} in the `provider \"{provider}\"` block\nhint: the known attributes are {}",
        if unknown.len() == 1 { "" } else { "s" },
        quoted_list(&unknown),
        quoted_list(known)
    )))
}

/// A string attribute, trimmed; `null` counts as unset.
pub fn string_attr(attrs: &Map<String, Value>, name: &str) -> Result<Option<String>, ProviderError> {
    match attrs.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
        Some(other) => Err(invalid(format!("`{name}` must be a string (got {})", type_name(other)))),
    }
}

/// A non-negative whole-number attribute; `null` counts as unset. Accepts `30.0` (HCL numbers
/// are floats in some decoders) but not `30.5`. Callers check the range.
pub fn integer_attr(attrs: &Map<String, Value>, name: &str) -> Result<Option<u64>, ProviderError> {
    match attrs.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            if let Some(u) = n.as_u64() {
                return Ok(Some(u));
            }
            match n.as_f64() {
                Some(f) if f >= 0.0 && f.fract() == 0.0 && f <= u32::MAX as f64 => Ok(Some(f as u64)),
                _ => Err(invalid(format!("`{name}` must be a whole number (got {n})"))),
            }
        }
        Some(other) => Err(invalid(format!("`{name}` must be a number (got {})", type_name(other)))),
    }
}

/// How a JSON value's type reads in a message: "a string", "a list", …
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn unknown_attributes_are_named_with_the_known_ones() {
        let attrs = map(json!({"region": "eu", "regoin": "x", "zone": 1}));
        let e = reject_unknown(&attrs, &["region", "api_url"], "newrelic").unwrap_err().to_string();
        assert!(
            e.contains("unknown attributes `regoin`, `zone` in the `provider \"newrelic\"` block")
                && e.contains("the known attributes are `region`, `api_url`"),
            "{e}"
        );
        assert!(reject_unknown(&map(json!({"region": "eu"})), &["region"], "x").is_ok());
    }

    #[test]
    fn typed_attributes() {
        let attrs = map(json!({"s": " a ", "n": 30.0, "f": 30.5, "neg": -1, "b": true, "null": null}));
        assert_eq!(string_attr(&attrs, "s").unwrap().as_deref(), Some("a"));
        assert_eq!(string_attr(&attrs, "null").unwrap(), None);
        assert_eq!(string_attr(&attrs, "missing").unwrap(), None);
        assert!(string_attr(&attrs, "b")
            .unwrap_err()
            .to_string()
            .contains("must be a string (got a boolean)"));
        assert_eq!(integer_attr(&attrs, "n").unwrap(), Some(30));
        assert!(integer_attr(&attrs, "f")
            .unwrap_err()
            .to_string()
            .contains("must be a whole number (got 30.5)"));
        assert!(integer_attr(&attrs, "neg").is_err());
        assert!(integer_attr(&attrs, "s")
            .unwrap_err()
            .to_string()
            .contains("must be a number (got a string)"));
    }

    #[test]
    fn empty_environment_values_are_unset() {
        let env = |k: &str| match k {
            "EMPTY" => Some("  ".to_string()),
            "SET" => Some(" v ".to_string()),
            _ => None,
        };
        assert_eq!(env_value(&env, "EMPTY"), None);
        assert_eq!(env_value(&env, "SET").as_deref(), Some("v"));
        assert_eq!(env_value(&env, "NONE"), None);
    }
}
