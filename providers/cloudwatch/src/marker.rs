//! watchkeep's ownership marker, the AWS way: tags `managed-by=watchkeep` and
//! `watchkeep-address=<marker>`, and for alarms also a last description line
//! `managed-by:watchkeep watchkeep-address:<marker>` (DescribeAlarms returns no tags, so refresh
//! reads the line; create checks the tags).

use serde_json::{json, Value};
use watchkeep_provider::{address_marker, ADDRESS_TAG_KEY, OWNER_TAG};

/// Key of the ownership tag (`managed-by`), from [`OWNER_TAG`] (`managed-by:watchkeep`).
pub const OWNER_KEY: &str = "managed-by";
/// Value of the ownership tag.
pub const OWNER_VALUE: &str = "watchkeep";
/// Key of the address tag.
pub const ADDRESS_KEY: &str = ADDRESS_TAG_KEY;

/// AWS's limit on `AlarmDescription`, in characters.
pub const MAX_ALARM_DESCRIPTION: usize = 1024;

/// `managed-by:watchkeep watchkeep-address:<marker>`.
pub fn marker_line(address: &str) -> String {
    format!("{OWNER_TAG} {ADDRESS_TAG_KEY}:{}", address_marker(address))
}

/// Sets the two ownership tags in a `Tags` list of `{Key, Value}` (replacing any with the same
/// keys, keeping the user's other tags). A `Tags` that is not a list is left for validation.
pub fn set_tags(attrs: &mut serde_json::Map<String, Value>, address: &str) {
    let tags = attrs.entry("Tags").or_insert_with(|| Value::Array(Vec::new()));
    if tags.is_null() {
        *tags = Value::Array(Vec::new());
    }
    let Value::Array(list) = tags else { return };
    list.retain(|t| {
        let key = t.get("Key").and_then(Value::as_str);
        key != Some(OWNER_KEY) && key != Some(ADDRESS_KEY)
    });
    list.push(json!({ "Key": OWNER_KEY, "Value": OWNER_VALUE }));
    list.push(json!({ "Key": ADDRESS_KEY, "Value": address_marker(address) }));
}

/// The description with any marker line removed and the one for `address` as its last line,
/// shortened (the user's part, ending in `…`) to fit AWS's 1024-character limit.
pub fn mark_description(current: &str, address: &str) -> String {
    let kept: Vec<&str> = current.lines().filter(|l| !is_marker_line(l)).collect();
    let kept = kept.join("\n");
    let kept = kept.trim_end();
    let line = marker_line(address);
    if kept.is_empty() {
        return line;
    }
    let line_len = line.chars().count();
    let kept_len = kept.chars().count();
    if kept_len + 1 + line_len <= MAX_ALARM_DESCRIPTION {
        return format!("{kept}\n{line}");
    }
    // Room for the user's text, the `…` and the newline.
    let room = MAX_ALARM_DESCRIPTION.saturating_sub(line_len + 2);
    if room == 0 {
        return line;
    }
    let cut: String = kept.chars().take(room).collect();
    format!("{}…\n{line}", cut.trim_end())
}

/// Removes what [`set_tags`] and [`mark_description`] add: the two ownership tags and the
/// description's marker line (`watchkeep import` writes the rest as configuration). A `Tags` or
/// description left empty is removed, as an object created without them reads back.
pub fn unmark(attrs: &mut serde_json::Map<String, Value>, description_key: &str) {
    if let Some(Value::Array(list)) = attrs.get_mut("Tags") {
        list.retain(|t| {
            let key = t.get("Key").and_then(Value::as_str);
            key != Some(OWNER_KEY) && key != Some(ADDRESS_KEY)
        });
        if list.is_empty() {
            attrs.remove("Tags");
        }
    }
    if let Some(Value::String(d)) = attrs.get(description_key) {
        let kept: Vec<&str> = d.lines().filter(|l| !is_marker_line(l)).collect();
        let kept = kept.join("\n").trim_end().to_string();
        if kept.is_empty() {
            attrs.remove(description_key);
        } else {
            attrs.insert(description_key.to_string(), Value::String(kept));
        }
    }
}

fn is_marker_line(line: &str) -> bool {
    line.split_whitespace().next().is_some_and(|first| first.eq_ignore_ascii_case(OWNER_TAG))
}

/// `(owned, marker)` from a description or markdown text: its last non-blank line must start
/// with `managed-by:watchkeep`.
pub fn from_text(text: &str) -> (bool, Option<String>) {
    let Some(last) = text.lines().rev().find(|l| !l.trim().is_empty()) else {
        return (false, None);
    };
    if !is_marker_line(last) {
        return (false, None);
    }
    let marker = last.split_whitespace().find_map(|tok| {
        let (key, value) = tok.split_once(':')?;
        key.eq_ignore_ascii_case(ADDRESS_TAG_KEY).then(|| value.to_string())
    });
    (true, marker)
}

/// `(owned, marker)` from tags: owned needs `managed-by=watchkeep`.
pub fn from_tags<'a>(tags: impl IntoIterator<Item = (&'a str, &'a str)>) -> (bool, Option<String>) {
    let mut owned = false;
    let mut marker = None;
    for (k, v) in tags {
        if k == OWNER_KEY && v == OWNER_VALUE {
            owned = true;
        } else if k == ADDRESS_KEY {
            marker = Some(v.to_string());
        }
    }
    (owned, if owned { marker } else { None })
}

/// The marker in desired attributes' `Tags` (what [`set_tags`] wrote), if any.
pub fn from_attr_tags(attrs: &Value) -> Option<String> {
    let tags = attrs.get("Tags")?.as_array()?;
    let pairs = tags.iter().filter_map(|t| Some((t.get("Key")?.as_str()?, t.get("Value")?.as_str()?)));
    from_tags(pairs).1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn description_marker_is_replaced_and_fits() {
        let d = mark_description("CPU high.\n\n", r#"alarm.cpu["web"]"#);
        assert_eq!(d, "CPU high.\nmanaged-by:watchkeep watchkeep-address:alarm.cpu.web");
        assert_eq!(mark_description(&d, r#"alarm.cpu["web"]"#), d, "idempotent");
        assert_eq!(
            mark_description(&d, "alarm.other"),
            "CPU high.\nmanaged-by:watchkeep watchkeep-address:alarm.other"
        );
        assert_eq!(mark_description("", "a"), "managed-by:watchkeep watchkeep-address:a");

        let long = "é".repeat(2000);
        let marked = mark_description(&long, "alarm.cpu");
        assert_eq!(marked.chars().count(), MAX_ALARM_DESCRIPTION);
        assert!(marked.ends_with("…\nmanaged-by:watchkeep watchkeep-address:alarm.cpu"), "{marked}");
        assert_eq!(mark_description(&marked, "alarm.cpu").chars().count(), MAX_ALARM_DESCRIPTION);
        assert_eq!(from_text(&marked), (true, Some("alarm.cpu".into())));
        // Exactly at the limit: no truncation.
        let line = marker_line("a");
        let exact = "x".repeat(MAX_ALARM_DESCRIPTION - 1 - line.len());
        assert_eq!(mark_description(&exact, "a"), format!("{exact}\n{line}"));
    }

    #[test]
    fn ownership_from_text_and_tags() {
        assert_eq!(from_text("x\nmanaged-by:watchkeep watchkeep-address:a.b\n"), (true, Some("a.b".into())));
        assert_eq!(from_text("managed-by:watchkeep watchkeep-address:a\nlater"), (false, None));
        assert_eq!(from_text(""), (false, None));
        assert_eq!(
            from_tags([("managed-by", "watchkeep"), ("watchkeep-address", "m")]),
            (true, Some("m".into()))
        );
        assert_eq!(from_tags([("watchkeep-address", "m")]), (false, None));
        assert_eq!(from_tags([("managed-by", "terraform")]), (false, None));
    }

    #[test]
    fn tags_keep_user_tags() {
        let mut attrs =
            json!({ "Tags": [{ "Key": "team", "Value": "web" }, { "Key": "managed-by", "Value": "x" }] });
        set_tags(attrs.as_object_mut().unwrap(), "a.b");
        assert_eq!(
            attrs["Tags"],
            json!([{ "Key": "team", "Value": "web" }, { "Key": "managed-by", "Value": "watchkeep" },
                   { "Key": "watchkeep-address", "Value": "a.b" }])
        );
        assert_eq!(from_attr_tags(&attrs).as_deref(), Some("a.b"));
        let mut none = json!({ "Tags": null });
        set_tags(none.as_object_mut().unwrap(), "a");
        assert_eq!(none["Tags"].as_array().map(Vec::len), Some(2));
    }

    #[test]
    fn unmark_removes_what_mark_adds() {
        let mut m = serde_json::Map::new();
        m.insert("AlarmDescription".into(), json!("CPU ${x}\nsecond"));
        m.insert("Tags".into(), json!([{"Key": "team", "Value": "ops"}]));
        let before = m.clone();
        set_tags(&mut m, "resource.cloudwatch_metric_alarm.a");
        let d = mark_description(
            m["AlarmDescription"].as_str().unwrap_or_default(),
            "resource.cloudwatch_metric_alarm.a",
        );
        m.insert("AlarmDescription".into(), json!(d));
        assert_ne!(m, before);
        unmark(&mut m, "AlarmDescription");
        assert_eq!(m, before);
        let mut only = serde_json::Map::new();
        set_tags(&mut only, "a.b");
        only.insert("AlarmDescription".into(), json!(marker_line("a.b")));
        unmark(&mut only, "AlarmDescription");
        assert!(only.is_empty(), "{only:?}");
    }
}
