//! Typed links between vendor objects whose ids exist only after create.
//!
//! `<type>.<name>.id` in the configuration (and a compiler's link to an object it emits, e.g. a
//! New Relic condition's policy, a CloudWatch alarm's topic) leaves the placeholder
//! `ref:<address>` at the linked position of the compiled body: a Datadog composite monitor's
//! query `"${datadog_monitor.a.id} && ${datadog_monitor.b.id}"` becomes `"ref:datadog_monitor.a
//! && ref:datadog_monitor.b"`. The placeholders are read once, when the compiled body enters the
//! plan ([`collect`], called by `run::prepare`), into a list of [`Link`]s (where in the body, to
//! which address) that the desired object, its plan change and its apply job carry. From then on
//! only that list drives resolution ([`resolve`]): at plan time from state (an object not
//! created yet keeps its placeholder, shown in the plan as known after apply), and in the apply
//! executor from state as it grows, so a create that names an object created earlier in the same
//! apply sends its real id. Providers never see a placeholder: a body whose links are not all
//! resolved is never sent.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What a link placeholder starts with.
pub const PREFIX: &str = "ref:";

/// One link: the string at JSON pointer `at` (RFC 6901) of an object's body holds the id of the
/// object at address `to` (the whole string, or a part of it such as a composite query's operand).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
pub struct Link {
    /// JSON pointer into the body sent to the vendor, e.g. `/query` or `/AlarmActions/0`.
    pub at: String,
    /// Address of the object whose vendor id goes there.
    pub to: String,
}

/// The placeholder a compiler writes where the id of the object at `address` goes.
pub fn placeholder(address: &str) -> String {
    format!("{PREFIX}{address}")
}

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

/// Calls `f(start, len, address)` for each placeholder in `s` (`start` is where `ref:` starts,
/// `len` the length of the whole placeholder).
fn placeholders(s: &str, f: &mut dyn FnMut(usize, usize, &str)) {
    let mut from = 0;
    while let Some(rel) = s[from..].find(PREFIX) {
        let at = from + rel;
        let after = &s[at + PREFIX.len()..];
        let n = address_len(after);
        // A placeholder must not be glued to a preceding word (`xref:a.b` is text).
        let glued = s[..at].chars().last().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        if n == 0 || glued {
            from = at + PREFIX.len();
            continue;
        }
        f(at, PREFIX.len() + n, &after[..n]);
        from = at + PREFIX.len() + n;
    }
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// The links in a compiled body: one per (position, address), sorted.
pub fn collect(body: &Value) -> Vec<Link> {
    fn walk(v: &Value, at: &mut String, out: &mut Vec<Link>) {
        match v {
            Value::String(s) if s.contains(PREFIX) => {
                placeholders(s, &mut |_, _, to| out.push(Link { at: at.clone(), to: to.to_string() }))
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let n = at.len();
                    at.push('/');
                    at.push_str(&i.to_string());
                    walk(item, at, out);
                    at.truncate(n);
                }
            }
            Value::Object(m) => {
                for (k, item) in m {
                    let n = at.len();
                    at.push('/');
                    at.push_str(&escape(k));
                    walk(item, at, out);
                    at.truncate(n);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(body, &mut String::new(), &mut out);
    out.sort();
    out.dedup();
    out
}

/// A link that could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unresolved {
    pub link: Link,
    /// Why: the target has no id yet, or the body has no placeholder where the link points.
    pub why: Missing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// `id_of` knows no id for the target (not created yet, not in state).
    Id,
    /// The body holds no placeholder for the target at the link's position.
    Placeholder,
}

/// Puts the id of each link's target (from `id_of`) at the link's position in `body`. Only the
/// positions and addresses `links` names are touched. Returns the links left unresolved (their
/// placeholders stay), in the order of `links`.
pub fn resolve(body: &mut Value, links: &[Link], id_of: &dyn Fn(&str) -> Option<String>) -> Vec<Unresolved> {
    let mut unresolved = Vec::new();
    let mut by_at: BTreeMap<&str, Vec<&Link>> = BTreeMap::new();
    for l in links {
        by_at.entry(l.at.as_str()).or_default().push(l);
    }
    for (at, here) in by_at {
        let Some(Value::String(s)) = body.pointer_mut(at) else {
            unresolved
                .extend(here.into_iter().map(|l| Unresolved { link: l.clone(), why: Missing::Placeholder }));
            continue;
        };
        let mut out = String::with_capacity(s.len());
        let mut last = 0;
        let mut seen = vec![false; here.len()];
        let mut missing = vec![false; here.len()];
        placeholders(s, &mut |start, len, to| {
            let Some(i) = here.iter().position(|l| l.to == to) else { return };
            seen[i] = true;
            match id_of(to) {
                Some(id) => {
                    out.push_str(&s[last..start]);
                    out.push_str(&id);
                    last = start + len;
                }
                None => missing[i] = true,
            }
        });
        out.push_str(&s[last..]);
        *s = out;
        for (i, l) in here.into_iter().enumerate() {
            if !seen[i] {
                unresolved.push(Unresolved { link: l.clone(), why: Missing::Placeholder });
            } else if missing[i] {
                unresolved.push(Unresolved { link: l.clone(), why: Missing::Id });
            }
        }
    }
    unresolved
}

/// Whether every link's target has an id in `id_of` (a body that would resolve completely).
pub fn all_known(links: &[Link], id_of: &dyn Fn(&str) -> Option<String>) -> bool {
    links.iter().all(|l| id_of(&l.to).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ids(a: &str) -> Option<String> {
        match a {
            "datadog_monitor.a" => Some("101".to_string()),
            r#"datadog_monitor.b["x y"]"# => Some("102".to_string()),
            "datadog_monitor.c[3]" => Some("103".to_string()),
            _ => None,
        }
    }

    fn body() -> Value {
        json!({
            "query": r#"ref:datadog_monitor.a && (ref:datadog_monitor.b["x y"] || !ref:datadog_monitor.c[3])"#,
            "message": "see xref:datadog_monitor.a and ref:datadog_monitor.new, ref: nothing",
            "tags": ["ref:datadog_monitor.a"],
            "a/b~c": {"x": "ref:datadog_monitor.a"},
            "n": 1,
        })
    }

    #[test]
    fn links_are_collected_with_their_positions() {
        let link = |at: &str, to: &str| Link { at: at.into(), to: to.into() };
        assert_eq!(
            collect(&body()),
            vec![
                link("/a~1b~0c/x", "datadog_monitor.a"),
                link("/message", "datadog_monitor.new"),
                link("/query", "datadog_monitor.a"),
                link("/query", r#"datadog_monitor.b["x y"]"#),
                link("/query", "datadog_monitor.c[3]"),
                link("/tags/0", "datadog_monitor.a"),
            ]
        );
        assert!(collect(&json!({"q": "no placeholders", "r": "ref: x", "s": "xref:a.b"})).is_empty());
    }

    #[test]
    fn placeholders_become_ids_and_unknown_ones_stay() {
        let mut v = body();
        let links = collect(&v);
        let unresolved = resolve(&mut v, &links, &ids);
        assert_eq!(v["query"], "101 && (102 || !103)");
        assert_eq!(v["message"], "see xref:datadog_monitor.a and ref:datadog_monitor.new, ref: nothing");
        assert_eq!(v["tags"], json!(["101"]));
        assert_eq!(v["a/b~c"]["x"], "101");
        assert_eq!(
            unresolved,
            vec![Unresolved {
                link: Link { at: "/message".into(), to: "datadog_monitor.new".into() },
                why: Missing::Id
            }]
        );
        assert!(!all_known(&links, &ids));
        assert!(all_known(&links[2..], &ids));
    }

    /// Resolution is driven by the list, not by the strings: a placeholder no link names is
    /// left alone, and a link whose position holds no placeholder is reported.
    #[test]
    fn only_listed_links_are_resolved() {
        let mut v = body();
        let links = vec![
            Link { at: "/tags/0".into(), to: "datadog_monitor.a".into() },
            Link { at: "/n".into(), to: "datadog_monitor.a".into() },
            Link { at: "/query".into(), to: "datadog_monitor.z".into() },
        ];
        let unresolved = resolve(&mut v, &links, &ids);
        assert_eq!(v["tags"], json!(["101"]));
        assert_eq!(v["query"], body()["query"], "no link names the query's operands");
        assert_eq!(
            unresolved.iter().map(|u| (u.link.at.as_str(), u.why)).collect::<Vec<_>>(),
            vec![("/n", Missing::Placeholder), ("/query", Missing::Placeholder)]
        );
    }
}
