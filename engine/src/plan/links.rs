//! Links between vendor objects whose ids exist only after create: `<type>.<name>.id` in the
//! configuration stands for the token `ref:<address>` (a Datadog composite monitor's query
//! `"${datadog_monitor.a.id} && ${datadog_monitor.b.id}"` becomes `"ref:datadog_monitor.a &&
//! ref:datadog_monitor.b"`). For providers that ask for it
//! ([`watchkeep_provider::Provider::engine_resolves_refs`]) the engine replaces each token with the
//! id of the object at that address: at plan time from state (an object not created yet keeps its
//! token, shown in the plan as known after apply), and in the apply executor from state as it
//! grows, so a create that names an object created earlier in the same apply sends its real id.

use serde_json::Value;

/// What a link token starts with.
pub const PREFIX: &str = "ref:";

/// Length of the address that starts `s` (`datadog_monitor.a`, `datadog_monitor.a["k"]`,
/// `datadog_monitor.a[0]`), or 0 when `s` does not start with one.
fn address_len(s: &str) -> usize {
    let b = s.as_bytes();
    let mut i = 0;
    let ident = |i: &mut usize, first_lower: bool| {
        let start = *i;
        while *i < b.len() {
            let c = b[*i];
            let ok = c.is_ascii_alphanumeric() || c == b'_' || (!first_lower && c == b'-');
            if !ok || (*i == start && first_lower && !c.is_ascii_lowercase()) {
                break;
            }
            *i += 1;
        }
        *i > start
    };
    if !ident(&mut i, true) || b.get(i) != Some(&b'.') {
        return 0;
    }
    i += 1;
    if !ident(&mut i, false) {
        return 0;
    }
    if b.get(i) == Some(&b'[') {
        let mut j = i + 1;
        if b.get(j) == Some(&b'"') {
            j += 1;
            while j < b.len() && b[j] != b'"' {
                j += if b[j] == b'\\' { 2 } else { 1 };
            }
            if b.get(j) == Some(&b'"') && b.get(j + 1) == Some(&b']') {
                return j + 2;
            }
        } else {
            let start = j;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            if j > start && b.get(j) == Some(&b']') {
                return j + 1;
            }
        }
    }
    i
}

/// Replaces every `ref:<address>` in the strings of `v` for which `id_of` knows an id. Returns the
/// addresses left unresolved (sorted, without duplicates).
pub fn resolve(v: &mut Value, id_of: &dyn Fn(&str) -> Option<String>) -> Vec<String> {
    let mut missing = Vec::new();
    walk(v, id_of, &mut missing);
    missing.sort();
    missing.dedup();
    missing
}

fn walk(v: &mut Value, id_of: &dyn Fn(&str) -> Option<String>, missing: &mut Vec<String>) {
    match v {
        Value::String(s) if s.contains(PREFIX) => {
            let mut out = String::with_capacity(s.len());
            let mut rest = s.as_str();
            while let Some(at) = rest.find(PREFIX) {
                out.push_str(&rest[..at]);
                let after = &rest[at + PREFIX.len()..];
                let n = address_len(after);
                // A token must not be glued to a preceding word (`xref:a.b` is text).
                let glued = out.chars().last().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
                if n == 0 || glued {
                    out.push_str(PREFIX);
                    rest = after;
                    continue;
                }
                let address = &after[..n];
                match id_of(address) {
                    Some(id) => out.push_str(&id),
                    None => {
                        missing.push(address.to_string());
                        out.push_str(PREFIX);
                        out.push_str(address);
                    }
                }
                rest = &after[n..];
            }
            out.push_str(rest);
            *s = out;
        }
        Value::Array(items) => items.iter_mut().for_each(|i| walk(i, id_of, missing)),
        Value::Object(m) => m.values_mut().for_each(|i| walk(i, id_of, missing)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tokens_become_ids_and_unknown_ones_stay() {
        let ids = |a: &str| match a {
            "datadog_monitor.a" => Some("101".to_string()),
            r#"datadog_monitor.b["x y"]"# => Some("102".to_string()),
            "datadog_monitor.c[3]" => Some("103".to_string()),
            _ => None,
        };
        let mut v = json!({
            "query": r#"ref:datadog_monitor.a && (ref:datadog_monitor.b["x y"] || !ref:datadog_monitor.c[3])"#,
            "message": "see xref:datadog_monitor.a and ref:datadog_monitor.new, ref: nothing",
            "tags": ["ref:datadog_monitor.a"],
            "n": 1,
        });
        let missing = resolve(&mut v, &ids);
        assert_eq!(v["query"], "101 && (102 || !103)");
        assert_eq!(v["message"], "see xref:datadog_monitor.a and ref:datadog_monitor.new, ref: nothing");
        assert_eq!(v["tags"], json!(["101"]));
        assert_eq!(missing, vec!["datadog_monitor.new".to_string()]);
        let mut plain = json!("no tokens");
        assert!(resolve(&mut plain, &ids).is_empty());
    }
}
