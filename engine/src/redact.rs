//! Keeping secrets out of everything watchkeep writes.
//!
//! Values of `sensitive` variables may flow into vendor objects (a webhook token in a message,
//! say). Before anything reaches a plan, a plan file, state, history, evidence or a log line, each
//! occurrence is replaced by `(sensitive:<tag>)`, where the tag is a keyed hash of the value. The
//! tag is deterministic for one state lineage, so a rotated secret still shows up as a change,
//! while the value itself can't be read back.

use std::borrow::Cow;

use serde_json::Value;
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Default)]
pub struct Redactor {
    /// (secret, replacement), longest secret first so overlapping values redact fully.
    pairs: Vec<(String, String)>,
}

impl Redactor {
    pub fn new(secrets: &[String], key: &str) -> Redactor {
        let mut pairs: Vec<(String, String)> = secrets
            .iter()
            .filter(|s| !s.is_empty())
            .map(|s| {
                let mut h = Sha256::new();
                h.update(key.as_bytes());
                h.update([0u8]);
                h.update(s.as_bytes());
                let tag = hex::encode(&h.finalize()[..6]);
                (s.clone(), format!("(sensitive:{tag})"))
            })
            .collect();
        pairs.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
        pairs.dedup_by(|a, b| a.0 == b.0);
        Redactor { pairs }
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    pub fn str<'a>(&self, s: &'a str) -> Cow<'a, str> {
        if !self.pairs.iter().any(|(secret, _)| s.contains(secret.as_str())) {
            return Cow::Borrowed(s);
        }
        let mut out = s.to_string();
        for (secret, repl) in &self.pairs {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), repl);
            }
        }
        Cow::Owned(out)
    }

    pub fn value(&self, v: &Value) -> Value {
        if self.pairs.is_empty() {
            return v.clone();
        }
        match v {
            Value::String(s) => Value::String(self.str(s).into_owned()),
            Value::Array(items) => Value::Array(items.iter().map(|i| self.value(i)).collect()),
            Value::Object(map) => {
                Value::Object(map.iter().map(|(k, v)| (self.str(k).into_owned(), self.value(v))).collect())
            }
            other => other.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn replaces_every_occurrence_and_is_deterministic() {
        let r = Redactor::new(&["s3cr3t-token".into()], "lineage-1");
        let v = json!({"message": "call https://hook/s3cr3t-token now", "tags": ["a:s3cr3t-token"]});
        let out = r.value(&v);
        let text = out.to_string();
        assert!(!text.contains("s3cr3t-token"), "{text}");
        assert_eq!(out, r.value(&v));
        let rotated = Redactor::new(&["other-token".into()], "lineage-1");
        let v2 = json!({"message": "call https://hook/other-token now", "tags": ["a:other-token"]});
        assert_ne!(out, rotated.value(&v2), "a rotated secret must still show as a change");
    }
}
