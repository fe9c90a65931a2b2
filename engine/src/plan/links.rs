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

/// Where an address that starts `s` may end: after each of its segments from the second on
/// (`datadog_monitor.a`, `baseline.soc2["web-1"].cpu`, `route.oncall.newrelic_policy`,
/// `datadog_monitor.c[0]`), shortest first; empty when `s` does not start with one. The first
/// segment starts with a lowercase letter; the others are names (letters, digits, `_`, `-`),
/// `["key"]` or `[index]`.
fn address_ends(s: &str) -> Vec<usize> {
    let b = s.as_bytes();
    let ident = |i: usize, first_lower: bool| -> usize {
        let mut j = i;
        while j < b.len() {
            let c = b[j];
            let ok = c.is_ascii_alphanumeric() || c == b'_' || (!first_lower && c == b'-');
            if !ok || (j == i && first_lower && !c.is_ascii_lowercase()) {
                break;
            }
            j += 1;
        }
        j
    };
    let mut ends = Vec::new();
    let mut i = ident(0, true);
    if i == 0 {
        return ends;
    }
    loop {
        let next = match b.get(i) {
            Some(b'.') => {
                let j = ident(i + 1, false);
                (j > i + 1).then_some(j)
            }
            Some(b'[') if b.get(i + 1) == Some(&b'"') => {
                let mut j = i + 2;
                while j < b.len() && b[j] != b'"' {
                    j += if b[j] == b'\\' { 2 } else { 1 };
                }
                (b.get(j) == Some(&b'"') && b.get(j + 1) == Some(&b']')).then_some(j + 2)
            }
            Some(b'[') => {
                let mut j = i + 1;
                while j < b.len() && b[j].is_ascii_digit() {
                    j += 1;
                }
                (j > i + 1 && b.get(j) == Some(&b']')).then_some(j + 1)
            }
            _ => None,
        };
        match next {
            Some(j) => {
                ends.push(j);
                i = j;
            }
            None => return ends,
        }
    }
}

/// Calls `f(start, after, ends)` for each placeholder in `s`: `start` is where `ref:` starts,
/// `after` the text after it, `ends` where the address after it may end (see [`address_ends`]).
fn placeholders(s: &str, f: &mut dyn FnMut(usize, &str, &[usize])) {
    let mut from = 0;
    while let Some(rel) = s[from..].find(PREFIX) {
        let at = from + rel;
        let after = &s[at + PREFIX.len()..];
        let ends = address_ends(after);
        // A placeholder must not be glued to a preceding word (`xref:a.b` is text).
        let glued = s[..at].chars().last().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ends.is_empty() && !glued {
            f(at, after, &ends);
        }
        from = at + PREFIX.len();
    }
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// The links in a compiled body: one per (position, address), sorted. Where a placeholder's
/// address could end at several segments (`ref:a.b.c` in running text), the longest one `known`
/// names is taken (an object of the configuration or of state), else the longest.
pub fn collect(body: &Value, known: &dyn Fn(&str) -> bool) -> Vec<Link> {
    fn walk(v: &Value, at: &mut String, known: &dyn Fn(&str) -> bool, out: &mut Vec<Link>) {
        match v {
            Value::String(s) if s.contains(PREFIX) => placeholders(s, &mut |_, after, ends| {
                let end = ends.iter().rev().find(|&&e| known(&after[..e])).or(ends.last());
                if let Some(&e) = end {
                    out.push(Link { at: at.clone(), to: after[..e].to_string() });
                }
            }),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let n = at.len();
                    at.push('/');
                    at.push_str(&i.to_string());
                    walk(item, at, known, out);
                    at.truncate(n);
                }
            }
            Value::Object(m) => {
                for (k, item) in m {
                    let n = at.len();
                    at.push('/');
                    at.push_str(&escape(k));
                    walk(item, at, known, out);
                    at.truncate(n);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(body, &mut String::new(), known, &mut out);
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
        placeholders(s, &mut |start, after, ends| {
            // The longest address at this placeholder that a link of this position names.
            let Some((i, e)) =
                ends.iter().rev().find_map(|&e| here.iter().position(|l| l.to == after[..e]).map(|i| (i, e)))
            else {
                return;
            };
            if start < last {
                return;
            }
            seen[i] = true;
            match id_of(&here[i].to) {
                Some(id) => {
                    out.push_str(&s[last..start]);
                    out.push_str(&id);
                    last = start + PREFIX.len() + e;
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

/// State written before links were typed holds them in the providers' old forms: New Relic's
/// `ref:<ownership marker>` where the vendor has the id of a watchkeep object, CloudWatch's
/// `sns:<topic name>` where it has the topic's ARN. Live objects now keep ids and ARNs, so such an
/// entry would read as drift until the object is written again. Returns `state` with those values
/// turned into the ids and ARNs that state itself records (each changed entry normalised again by
/// `normalize`, which orders sets by their new values), or `None` when there is nothing to upgrade.
/// A value naming nothing in state is left as it is.
pub fn upgrade_legacy(
    state: &crate::state::State,
    normalize: &dyn Fn(&crate::state::ResourceState, &Value) -> Value,
) -> Option<crate::state::State> {
    use std::collections::HashMap;
    const NEWRELIC_PREFIX: &str = "ref:";
    const SNS_PREFIX: &str = "sns:";
    fn prefix_of(r: &crate::state::ResourceState) -> Option<&'static str> {
        match (r.provider.as_str(), r.resource_type.as_str()) {
            ("newrelic", _) => Some(NEWRELIC_PREFIX),
            ("cloudwatch", "cloudwatch_metric_alarm" | "cloudwatch_composite_alarm" | "sns_subscription") => {
                Some(SNS_PREFIX)
            }
            _ => None,
        }
    }
    fn has(v: &Value, prefix: &str) -> bool {
        match v {
            Value::String(s) => s.starts_with(prefix),
            Value::Array(items) => items.iter().any(|i| has(i, prefix)),
            Value::Object(m) => m.values().any(|i| has(i, prefix)),
            _ => false,
        }
    }
    fn replace(v: &mut Value, prefix: &str, ids: &HashMap<String, String>) {
        match v {
            Value::String(s) => {
                if let Some(id) = s.strip_prefix(prefix).and_then(|k| ids.get(k)) {
                    *s = id.clone();
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|i| replace(i, prefix, ids)),
            Value::Object(m) => m.values_mut().for_each(|i| replace(i, prefix, ids)),
            _ => {}
        }
    }
    let legacy: Vec<usize> = (0..state.resources.len())
        .filter(|&i| prefix_of(&state.resources[i]).is_some_and(|p| has(&state.resources[i].attrs, p)))
        .collect();
    if legacy.is_empty() {
        return None;
    }
    // New Relic: marker → id of the watchkeep object carrying it; SNS: topic name → ARN.
    let markers: HashMap<String, String> = state
        .resources
        .iter()
        .filter(|r| r.provider == "newrelic")
        .map(|r| (watchkeep_provider::address_marker(&r.address), r.id.clone()))
        .collect();
    let topics: HashMap<String, String> = state
        .resources
        .iter()
        .filter(|r| r.resource_type == "sns_topic")
        .filter_map(|r| Some((r.id.rsplit(':').next()?.to_string(), r.id.clone())))
        .collect();
    let mut out = state.clone();
    for i in legacy {
        let r = &mut out.resources[i];
        let Some(prefix) = prefix_of(r) else { continue };
        let ids = if prefix == SNS_PREFIX { &topics } else { &markers };
        let mut attrs = std::mem::take(&mut r.attrs);
        replace(&mut attrs, prefix, ids);
        r.attrs = normalize(r, &attrs);
    }
    Some(out)
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
            collect(&body(), &|_| false),
            vec![
                link("/a~1b~0c/x", "datadog_monitor.a"),
                link("/message", "datadog_monitor.new"),
                link("/query", "datadog_monitor.a"),
                link("/query", r#"datadog_monitor.b["x y"]"#),
                link("/query", "datadog_monitor.c[3]"),
                link("/tags/0", "datadog_monitor.a"),
            ]
        );
        assert!(collect(
            &json!({"q": "no placeholders", "r": "ref: x", "s": "xref:a.b", "t": "ref:a"}),
            &|_| false
        )
        .is_empty());
    }

    /// Addresses of compiled objects have more segments (`baseline.soc2["web-1"].cpu`); in
    /// running text, where the address ends is taken from what the configuration and state know.
    #[test]
    fn long_addresses_and_known_ends() {
        let body = json!({
            "policyId": "ref:baseline.soc2.newrelic_policy",
            "values": [r#"ref:baseline.soc2["web-1"].cpu"#, "ref:alert.cpu_hot[0]"],
            "message": "see ref:datadog_monitor.a.runbook",
        });
        let tos = |links: Vec<Link>| links.into_iter().map(|l| (l.at, l.to)).collect::<Vec<_>>();
        let greedy = tos(collect(&body, &|_| false));
        assert!(greedy.contains(&("/message".into(), "datadog_monitor.a.runbook".into())));
        let known = |a: &str| a == "datadog_monitor.a";
        assert_eq!(
            tos(collect(&body, &known)),
            vec![
                ("/message".into(), "datadog_monitor.a".into()),
                ("/policyId".into(), "baseline.soc2.newrelic_policy".into()),
                ("/values/0".into(), r#"baseline.soc2["web-1"].cpu"#.into()),
                ("/values/1".into(), "alert.cpu_hot[0]".into()),
            ]
        );
        let mut v = body.clone();
        let links = collect(&v, &known);
        let ids = |a: &str| Some(format!("id({a})"));
        assert!(resolve(&mut v, &links, &ids).is_empty());
        assert_eq!(v["message"], "see id(datadog_monitor.a).runbook");
        assert_eq!(v["policyId"], "id(baseline.soc2.newrelic_policy)");
        assert_eq!(v["values"], json!([r#"id(baseline.soc2["web-1"].cpu)"#, "id(alert.cpu_hot[0])"]));
    }

    /// Old state's New Relic `ref:<marker>` and CloudWatch `sns:<name>` become the ids and ARNs
    /// state records; what names nothing in state, and other vendors' strings, stay.
    #[test]
    fn legacy_link_forms_in_state_become_ids() {
        use crate::state::{ResourceState, State};
        let entry = |address: &str, provider: &str, rtype: &str, id: &str, attrs: Value| ResourceState {
            address: address.into(),
            resource_type: rtype.into(),
            provider: provider.into(),
            id: id.into(),
            origin: None,
            attrs,
            vendor_modified: None,
            changed_at: "2026-11-24T00:00:00Z".into(),
            sensitive_paths: vec![],
            depends_on: vec![],
            configured: Default::default(),
        };
        let mut state = State::new();
        state.upsert(entry(
            r#"route.oncall["A b"]"#,
            "newrelic",
            "newrelic_alert_policy",
            "71",
            json!({"name": "P"}),
        ));
        state.upsert(entry(
            "route.oncall.cpu",
            "newrelic",
            "newrelic_nrql_condition",
            "72",
            json!({"policyId": "ref:route.oncall.a_b", "name": "ref:not.in.state"}),
        ));
        state.upsert(entry(
            "route.oncall.sns_topic",
            "cloudwatch",
            "sns_topic",
            "arn:aws:sns:us-east-1:1:wk-oncall",
            json!({"Name": "wk-oncall"}),
        ));
        state.upsert(entry(
            "cpu",
            "cloudwatch",
            "cloudwatch_metric_alarm",
            "cpu",
            json!({"AlarmActions": ["sns:wk-oncall", "sns:elsewhere"], "AlarmName": "cpu"}),
        ));
        state.upsert(entry("m", "datadog", "datadog_monitor", "9", json!({"query": "ref:route.oncall.a_b"})));
        let sorted = |_: &ResourceState, v: &Value| {
            let mut v = v.clone();
            if let Some(a) = v.get_mut("AlarmActions").and_then(Value::as_array_mut) {
                a.sort_by_key(|x| x.to_string());
            }
            v
        };
        let up = upgrade_legacy(&state, &sorted).expect("something to upgrade");
        assert_eq!(
            up.get("route.oncall.cpu").unwrap().attrs,
            json!({"policyId": "71", "name": "ref:not.in.state"})
        );
        assert_eq!(
            up.get("cpu").unwrap().attrs["AlarmActions"],
            json!(["arn:aws:sns:us-east-1:1:wk-oncall", "sns:elsewhere"])
        );
        assert_eq!(up.get("m").unwrap().attrs, state.get("m").unwrap().attrs, "not a legacy form");
        assert!(upgrade_legacy(&up, &sorted).is_some(), "a name in no state stays (and is seen again)");
        let mut clean = up.clone();
        clean.resources.retain(|r| r.address != "cpu" && r.address != "route.oncall.cpu");
        assert!(upgrade_legacy(&clean, &sorted).is_none());
    }

    #[test]
    fn placeholders_become_ids_and_unknown_ones_stay() {
        let mut v = body();
        let links = collect(&v, &|_| false);
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
