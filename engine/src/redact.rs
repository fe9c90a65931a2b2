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
    key: String,
}

const MASK_PREFIX: &str = "(sensitive:";

/// Secrets shorter than this are masked only where a whole string equals them: a value derived
/// from a secret can be short (`substr(var.key, 0, 2)`, a conditional's `"on"`), and masking
/// every occurrence of two letters would garble every output.
pub const MIN_SUBSTRING_SECRET: usize = 4;

/// Whether `text` holds `secret` (as a substring, or whole for short secrets).
pub fn holds_secret(text: &str, secret: &str) -> bool {
    if secret.len() < MIN_SUBSTRING_SECRET {
        !secret.is_empty() && text == secret
    } else {
        text.contains(secret)
    }
}

fn keyed_tag(key: &str, value: &str) -> String {
    let mut h = Sha256::new();
    h.update(key.as_bytes());
    h.update([0u8]);
    h.update(value.as_bytes());
    hex::encode(&h.finalize()[..6])
}

/// Leaves of a JSON value by path (objects recurse; arrays are one leaf), as plan diffs name
/// attributes (the keys joined with dots). The keys are kept apart: a key may hold a dot.
fn leaves<'a>(prefix: &mut Vec<&'a str>, v: &'a Value, out: &mut Vec<(Vec<&'a str>, &'a Value)>) {
    match v {
        Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                prefix.push(k);
                leaves(prefix, v, out);
                prefix.pop();
            }
        }
        Value::Null if prefix.is_empty() => {}
        other => out.push((prefix.clone(), other)),
    }
}

impl Redactor {
    pub fn new(secrets: &[String], key: &str) -> Redactor {
        // Providers' normalisers change some fields before the plan is redacted: they trim
        // (Datadog: `name`, `message`, `query`; New Relic: most strings) and change the case of
        // enumerations (New Relic upper-cases `incidentPreference`, `operator`, ...; CloudWatch
        // lower-cases an SNS `Protocol`). So a secret is also known trimmed, upper-cased and
        // lower-cased (ASCII, as they do), each with its own tag.
        let mut pairs: Vec<(String, String)> = secrets
            .iter()
            .flat_map(|s| [s.as_str(), s.trim()])
            .flat_map(|s| [s.to_string(), s.to_ascii_uppercase(), s.to_ascii_lowercase()])
            .filter(|s| !s.is_empty())
            .map(|s| {
                let tag = format!("{MASK_PREFIX}{})", keyed_tag(key, &s));
                (s, tag)
            })
            .collect();
        pairs.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
        pairs.dedup_by(|a, b| a.0 == b.0);
        Redactor { pairs, key: key.to_string() }
    }

    fn holds(&self, text: &str) -> bool {
        self.pairs.iter().any(|(secret, _)| holds_secret(text, secret))
    }

    /// Attribute paths whose value contains a secret (in the desired attributes).
    ///
    /// The paths are shown (`plan --json`, the plan file) and kept in state, so a map key that
    /// holds a secret (`{ (upper(var.key)) = … }`, a `for` keyed by pieces of one) must not be in
    /// one: the path stops at the object holding that key, which is then masked whole. A
    /// top-level key holding a secret cannot be stopped above: its path is written redacted.
    pub fn sensitive_paths(&self, v: &Value) -> Vec<String> {
        if self.pairs.is_empty() {
            return Vec::new();
        }
        let mut all = Vec::new();
        leaves(&mut Vec::new(), v, &mut all);
        let mut out: Vec<String> = Vec::new();
        for (parts, leaf) in all {
            let text = match leaf {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let shown = match parts.iter().position(|p| self.holds(p)) {
                Some(0) => parts.iter().map(|p| self.str(p).into_owned()).collect::<Vec<_>>().join("."),
                Some(i) => parts[..i].join("."),
                None if self.holds(&text) => parts.join("."),
                None => continue,
            };
            // Keys joined by dots could spell a secret that no one key holds.
            let shown = self.str(&shown).into_owned();
            if !out.contains(&shown) {
                out.push(shown);
            }
        }
        out
    }

    /// Replaces the whole value at each of `paths` by a keyed hash of it (so a value that
    /// changed, e.g. a rotated secret the vendor still holds, shows as a change without being
    /// shown), then redacts known secrets everywhere else. Idempotent.
    pub fn mask(&self, v: &Value, paths: &[String]) -> Value {
        let mut out = v.clone();
        for path in paths {
            let mut cur = Some(&mut out);
            for part in path.split('.') {
                cur = cur.and_then(|c| c.as_object_mut()).and_then(|m| m.get_mut(part));
            }
            if let Some(leaf) = cur {
                let already = matches!(leaf, Value::String(s) if s.starts_with(MASK_PREFIX) && s.ends_with(')') && !s.contains(' '));
                if !already {
                    let text = leaf.to_string();
                    *leaf = Value::String(format!("{MASK_PREFIX}{})", keyed_tag(&self.key, &text)));
                }
            }
        }
        self.value(&out)
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    pub fn str<'a>(&self, s: &'a str) -> Cow<'a, str> {
        if !self.pairs.iter().any(|(secret, _)| holds_secret(s, secret)) {
            return Cow::Borrowed(s);
        }
        if let Some((_, repl)) = self.pairs.iter().find(|(secret, _)| s == secret) {
            return Cow::Owned(repl.clone());
        }
        let mut out = s.to_string();
        for (secret, repl) in &self.pairs {
            if secret.len() >= MIN_SUBSTRING_SECRET && out.contains(secret.as_str()) {
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

    #[test]
    fn short_secrets_are_masked_only_whole() {
        let r = Redactor::new(&["ab".into(), "long-secret".into()], "k");
        assert!(!r.value(&json!({"k": "ab"})).to_string().contains("\"ab\""));
        assert_eq!(r.str("table"), "table", "a short secret inside a word stays");
        assert!(!r.str("x-long-secret-y").contains("long-secret"));
        assert_eq!(r.sensitive_paths(&json!({"a": "ab", "b": "abc"})), ["a"]);
    }

    /// Found by `derived_secrets_never_show` (engine/tests/fuzz.rs): `silenced = { for … in
    /// split("a", var.key) : "k${i}-${c}" => … }` put pieces of the key into `sensitive_paths`,
    /// which `plan --json`, the plan file and state show unredacted.
    #[test]
    fn paths_never_hold_a_secret_map_key() {
        let r = Redactor::new(&["k15-bbbbbb".into(), "BBBBBB".into(), "top-secret-key".into()], "k");
        let v = json!({
            "name": "n",
            "options": {"silenced": {"k15-bbbbbb": "BBBBBB", "k0-plain": "x"}, "keep": "y"},
            "top-secret-key": "shown",
        });
        let paths = r.sensitive_paths(&v);
        let text = format!("{paths:?}");
        assert!(!text.contains("bbbbbb") && !text.contains("top-secret-key"), "{text}");
        assert_eq!(paths[0], "options.silenced", "the object holding the key is masked whole");
        let masked = r.mask(&v, &paths);
        assert!(
            masked["options"]["silenced"].as_str().is_some_and(|s| s.starts_with(MASK_PREFIX)),
            "{masked}"
        );
        assert_eq!(masked["options"]["keep"], "y");
        assert!(!masked.to_string().contains("bbbbbb") && !masked.to_string().contains("top-secret-key"));
        // A key holding a dot after the secret (a template's `"${c}."`) is one key, not two.
        let r = Redactor::new(&["k1-AAAAAAAA.".into()], "k");
        let paths = r.sensitive_paths(&json!({"options": {"silenced": {"k1-AAAAAAAA.": "x"}}}));
        assert_eq!(paths, ["options.silenced"]);
    }

    /// Found by `derived_secrets_never_show` (engine/tests/fuzz.rs): a derived secret with
    /// leading or trailing whitespace (`" ${lower(var.key)}"`, a heredoc's last newline) is
    /// registered as computed, but Datadog's normaliser trims `name`, `message` and `query`
    /// before the plan is redacted, and the trimmed text contained no registered secret.
    #[test]
    fn a_secret_trimmed_by_a_normaliser_is_still_masked() {
        let r = Redactor::new(&[" sx9derived-lower\n".into(), "\tab\n".into()], "k");
        let text = r.value(&json!({"message": "sx9derived-lower", "name": "ab"})).to_string();
        assert!(!text.contains("sx9derived") && !text.contains("\"ab\""), "{text}");
        assert_eq!(r.sensitive_paths(&json!({"message": "sx9derived-lower"})), ["message"]);
    }

    /// Found by `derived_secrets_never_show`: New Relic's normaliser upper-cases its enumerations
    /// (`incidentPreference = var.key` showed the key in capitals); CloudWatch lower-cases an
    /// SNS subscription's `Protocol`.
    #[test]
    fn a_secret_whose_case_a_normaliser_changes_is_still_masked() {
        let r = Redactor::new(&["Sx9bbbbAAAA".into(), " ab ".into()], "k");
        let v = json!({"incidentPreference": "SX9BBBBAAAA", "Protocol": "sx9bbbbaaaa", "x": "AB"});
        let text = r.value(&v).to_string();
        assert!(!text.to_lowercase().contains("sx9bbbb") && !text.contains("\"AB\""), "{text}");
        assert_eq!(r.sensitive_paths(&v), ["incidentPreference", "Protocol", "x"]);
    }

    #[test]
    fn mask_hides_old_values_the_redactor_no_longer_knows() {
        let r = Redactor::new(&["new-secret".into()], "k");
        let desired = json!({"message": "token new-secret", "name": "n"});
        let live = json!({"message": "token old-secret", "name": "n"});
        let paths = r.sensitive_paths(&desired);
        assert_eq!(paths, ["message"]);
        let before = r.mask(&live, &paths);
        let after = r.mask(&desired, &paths);
        assert!(!before.to_string().contains("old-secret"));
        assert!(!after.to_string().contains("new-secret"));
        assert_ne!(before, after);
        assert_eq!(r.mask(&after, &paths), after, "idempotent");
        assert_eq!(r.mask(&desired, &paths), after, "deterministic");
    }
}
