//! Ids as New Relic writes them and as objects link to each other: a leaf the normaliser, the
//! muting rules and the alert log share.

use serde_json::Value;

/// An id another object is linked by, trimmed (the engine puts ids there; see the crate docs,
/// "References between objects").
pub fn linked_id(v: &str) -> String {
    v.trim().to_string()
}

/// An id as text (ids are strings or numbers on the wire).
pub fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}
