//! Reading an inventory `source` file (CSV or JSON) into component rows.
//!
//! CSV columns: `name,kind,environment,owner,provider,identifier[,tags]`. `identifier` is
//! `key=value` pairs separated by `;` (`host=web-1`), or a bare value meaning `host=<value>`;
//! `tags` is `k=v;k=v`. JSON: an array of objects with the same fields, where `identifier` and
//! `tags` may also be objects.

use std::collections::BTreeMap;
use std::path::Path;

use super::confine::{Policy, MAX_INVENTORY_BYTES};
use super::limits;
use super::model::Span;
use super::source::SourceText;
use super::suggest;
use super::values::scalar_string;
use crate::diag::Diagnostic;

/// One component as read from the file; kind/provider are validated by the loader.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub name: String,
    pub kind: String,
    pub provider: String,
    pub environment: Option<String>,
    pub owner: Option<String>,
    pub identifier: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
    pub span: Span,
}

/// Longest cell value an inventory message quotes (in characters). Inventory errors name the
/// file, row and column; they quote at most this much of the offending cell, and the snippet
/// shows the row cut to 200 characters around the column (`diag::SNIPPET_WIDTH`). The file itself
/// is confined to the configuration (`confine`), so what is quoted is the configuration's own.
const MAX_QUOTED_CHARS: usize = 64;

/// `s`, cut to [`MAX_QUOTED_CHARS`] with `…`.
fn bounded(s: &str) -> String {
    match s.char_indices().nth(MAX_QUOTED_CHARS) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

const COLUMNS: &[&str] = &["name", "kind", "environment", "owner", "provider", "identifier", "tags"];
const REQUIRED: &[&str] = &["name", "kind", "provider"];

/// Reads the file; `Err` holds every problem found (with file and row).
pub(crate) fn read(
    path: &Path,
    policy: &Policy,
) -> Result<(SourceText, Vec<Row>, Vec<Diagnostic>), Vec<Diagnostic>> {
    // Confined to the configuration, symlinks resolved; devices, FIFOs and /proc refused before
    // opening (reading `/dev/zero` or a FIFO would never end); the refusal never quotes the file.
    let src = SourceText::read(path, MAX_INVENTORY_BYTES, policy)
        .map_err(|e| vec![super::source::cannot_read("inventory source", path, &e)])?;
    let is_json = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let result = if is_json { read_json(&src) } else { read_csv(&src) };
    result.map(|(rows, warnings)| (src, rows, warnings))
}

fn too_many_rows() -> Diagnostic {
    Diagnostic::error(format!("the inventory has more than {} rows", limits::MAX_INVENTORY_ROWS)).with_hint(
        "split it into several inventory blocks (each source file is limited; see README.md, \"Limits\")",
    )
}

/// `host=web-1;env=prod` → map; a bare `web-1` → `{host = "web-1"}`.
pub(crate) fn parse_identifier(s: &str) -> Result<BTreeMap<String, String>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(BTreeMap::new());
    }
    if !s.contains('=') {
        return Ok(BTreeMap::from([("host".to_string(), s.to_string())]));
    }
    parse_pairs(s, false)
}

/// `team=web;tier=1` → map; a bare `critical` tag becomes `critical = ""`.
pub(crate) fn parse_tags(s: &str) -> Result<BTreeMap<String, String>, String> {
    parse_pairs(s, true)
}

fn parse_pairs(s: &str, allow_bare: bool) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for part in s.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        match part.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => {
                out.insert(k.trim().to_string(), v.trim().to_string());
            }
            None if allow_bare => {
                out.insert(part.to_string(), String::new());
            }
            _ => return Err(format!("`{}` is not a key=value pair", bounded(part))),
        }
    }
    Ok(out)
}

fn opt(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

fn read_csv(src: &SourceText) -> Result<(Vec<Row>, Vec<Diagnostic>), Vec<Diagnostic>> {
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(src.text.as_bytes());
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            return Err(vec![Diagnostic::error(format!("invalid CSV header: {e}"))
                .with_span(src.line_span(1))
                .with_hint(format!("the first row names the columns: {}", COLUMNS.join(",")))])
        }
    };
    let mut col = BTreeMap::new();
    for (i, h) in headers.iter().enumerate() {
        let h = h.trim().to_lowercase();
        if COLUMNS.contains(&h.as_str()) {
            col.insert(h, i);
        } else {
            warnings.push(
                Diagnostic::warning(format!("unknown inventory column `{}` is ignored", bounded(&h)))
                    .with_span(src.line_span(1))
                    .with_hint(suggest::allowed_hint(&h, COLUMNS, "columns")),
            );
        }
    }
    let missing: Vec<&str> = REQUIRED.iter().copied().filter(|c| !col.contains_key(*c)).collect();
    if !missing.is_empty() {
        return Err(vec![Diagnostic::error(format!(
            "inventory CSV is missing column(s) {}",
            suggest::list(missing)
        ))
        .with_span(src.line_span(1))
        .with_hint(format!("the first row names the columns: {}", COLUMNS.join(",")))]);
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        if rows.len() + errors.len() >= limits::MAX_INVENTORY_ROWS {
            let line = record
                .as_ref()
                .ok()
                .and_then(|r| r.position())
                .map_or(1, |p| usize::try_from(p.line()).unwrap_or(1));
            return Err(vec![too_many_rows().with_span(src.line_span(line))]);
        }
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(1, |p| usize::try_from(p.line()).unwrap_or(1));
                errors.push(
                    Diagnostic::error(format!("invalid CSV row: {e}"))
                        .with_span(src.line_span(line))
                        .with_hint("every row needs the same number of columns as the header; quote values that contain commas"),
                );
                continue;
            }
        };
        let line = record.position().map_or(1, |p| usize::try_from(p.line()).unwrap_or(1));
        let span = src.line_span(line);
        let field = |name: &str| col.get(name).and_then(|&i| record.get(i)).unwrap_or("").trim().to_string();
        let name = field("name");
        let mut row_ok = true;
        for required in REQUIRED {
            if field(required).is_empty() {
                errors.push(
                    Diagnostic::error(format!("inventory row {} has an empty `{required}`", line))
                        .with_span(span.clone())
                        .with_hint(format!("fill in the `{required}` column")),
                );
                row_ok = false;
            }
        }
        let identifier = parse_identifier(&field("identifier")).unwrap_or_else(|e| {
            errors.push(
                Diagnostic::error(format!("invalid identifier for `{}`: {e}", bounded(&name)))
                    .with_span(span.clone())
                    .with_hint("write key=value pairs separated by `;` (host=web-1), or just the host name"),
            );
            row_ok = false;
            BTreeMap::new()
        });
        let tags = parse_tags(&field("tags")).unwrap_or_else(|e| {
            errors.push(
                Diagnostic::error(format!("invalid tags for `{}`: {e}", bounded(&name)))
                    .with_span(span.clone())
                    .with_hint("write tags as key=value pairs separated by `;` (team=web;tier=1)"),
            );
            row_ok = false;
            BTreeMap::new()
        });
        if row_ok {
            rows.push(Row {
                name,
                kind: field("kind"),
                provider: field("provider"),
                environment: opt(&field("environment")),
                owner: opt(&field("owner")),
                identifier,
                tags,
                span,
            });
        }
    }
    if errors.is_empty() {
        Ok((rows, warnings))
    } else {
        Err(errors)
    }
}

fn read_json(src: &SourceText) -> Result<(Vec<Row>, Vec<Diagnostic>), Vec<Diagnostic>> {
    let value: serde_json::Value = serde_json::from_str(&src.text).map_err(|e| {
        vec![Diagnostic::error(format!("invalid JSON: {e}"))
            .with_span(src.span_at(e.line(), e.column()))
            .with_hint("the inventory JSON is an array of objects with name, kind, provider, environment, owner, identifier, tags")]
    })?;
    let serde_json::Value::Array(items) = value else {
        return Err(vec![Diagnostic::error("inventory JSON must be an array of objects")
            .with_span(src.span(0..0))
            .with_hint(
                "write [ { \"name\": \"web-1\", \"kind\": \"server\", \"provider\": \"datadog\" } ]",
            )]);
    };
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    let mut search_from = 0;
    if items.len() > limits::MAX_INVENTORY_ROWS {
        return Err(vec![too_many_rows().with_span(src.span(0..0))]);
    }
    for (i, item) in items.iter().enumerate() {
        let serde_json::Value::Object(o) = item else {
            errors.push(
                Diagnostic::error(format!("inventory element #{} is not an object", i + 1))
                    .with_span(src.span(0..0)),
            );
            continue;
        };
        let text = |k: &str| o.get(k).and_then(scalar_string).unwrap_or_default();
        let name = text("name");
        // Point at the element's name in the file when we can find it.
        let needle = serde_json::Value::String(name.clone()).to_string();
        let span = match src.text[search_from..].find(&needle) {
            Some(pos) if !name.is_empty() => {
                search_from += pos + needle.len();
                src.span(search_from - needle.len()..search_from)
            }
            _ => src.span(0..0),
        };
        let mut row_ok = true;
        for required in REQUIRED {
            if text(required).trim().is_empty() {
                errors.push(
                    Diagnostic::error(format!("inventory element #{} has no `{required}`", i + 1))
                        .with_span(span.clone())
                        .with_hint(format!("add \"{required}\" to the object")),
                );
                row_ok = false;
            }
        }
        for key in o.keys() {
            if !COLUMNS.contains(&key.as_str()) {
                errors.push(
                    Diagnostic::error(format!(
                        "unknown field `{}` in inventory element #{}",
                        bounded(key),
                        i + 1
                    ))
                    .with_span(span.clone())
                    .with_hint(suggest::allowed_hint(key, COLUMNS, "fields")),
                );
                row_ok = false;
            }
        }
        let map_field =
            |key: &str, parse: fn(&str) -> Result<BTreeMap<String, String>, String>| match o.get(key) {
                None | Some(serde_json::Value::Null) => Ok(BTreeMap::new()),
                Some(serde_json::Value::String(s)) => parse(s),
                Some(serde_json::Value::Object(m)) => m
                    .iter()
                    .map(|(k, v)| {
                        scalar_string(v)
                            .map(|s| (k.clone(), s))
                            .ok_or_else(|| format!("`{key}.{k}` must be a string"))
                    })
                    .collect(),
                Some(_) => Err(format!("`{key}` must be an object or a string")),
            };
        let identifier = map_field("identifier", parse_identifier);
        let tags = map_field("tags", parse_tags);
        for (what, r) in [("identifier", &identifier), ("tags", &tags)] {
            if let Err(e) = r {
                errors.push(
                    Diagnostic::error(format!("invalid {what} for `{}`: {e}", bounded(&name)))
                        .with_span(span.clone())
                        .with_hint(format!(
                            "write {what} as an object of strings, e.g. {{\"host\": \"web-1\"}}"
                        )),
                );
                row_ok = false;
            }
        }
        if row_ok {
            rows.push(Row {
                name: name.trim().to_string(),
                kind: text("kind").trim().to_string(),
                provider: text("provider").trim().to_string(),
                environment: opt(&text("environment")),
                owner: opt(&text("owner")),
                identifier: identifier.unwrap_or_default(),
                tags: tags.unwrap_or_default(),
                span,
            });
        }
    }
    if errors.is_empty() {
        Ok((rows, Vec::new()))
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_identifiers_and_tags() {
        assert_eq!(parse_identifier("web-1").unwrap(), BTreeMap::from([("host".into(), "web-1".into())]));
        assert_eq!(
            parse_identifier("host=web-1; env=prod").unwrap(),
            BTreeMap::from([("env".into(), "prod".into()), ("host".into(), "web-1".into())])
        );
        assert!(parse_identifier("host=a;oops").is_err());
        assert_eq!(parse_tags("team=web;critical").unwrap()["critical"], "");
    }

    #[test]
    fn messages_quote_a_bounded_excerpt_of_a_cell() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("inv.csv");
        let long = "k".repeat(5_000);
        std::fs::write(&p, format!("name,kind,provider,identifier\n{long},server,datadog,host=a;{long}\n"))
            .unwrap();
        let Err(errs) = read(&p, &Policy::new(dir.path(), &BTreeMap::new())) else { panic!("accepted") };
        assert!(errs[0].summary.starts_with("invalid identifier for `kkkk"), "{}", errs[0].summary);
        assert!(errs[0].summary.chars().count() < 200, "{}", errs[0].summary);
        assert_eq!(errs[0].span.as_ref().unwrap().line, 2);
    }

    #[test]
    fn csv_errors_name_the_row() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("inv.csv");
        std::fs::write(&p, "name,kind,provider,identifier\nweb-1,server,datadog,web-1\n,server,datadog,x\n")
            .unwrap();
        let errs = read(&p, &Policy::new(p.parent().unwrap(), &BTreeMap::new())).unwrap_err();
        assert_eq!(errs.len(), 1);
        assert!(errs[0].summary.contains("empty `name`"));
        assert_eq!(errs[0].span.as_ref().unwrap().line, 3);
    }

    #[test]
    fn reads_json() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("inv.json");
        std::fs::write(
            &p,
            r#"[{"name": "db", "kind": "database", "provider": "cloudwatch", "identifier": {"DBInstanceIdentifier": "orders"}, "tags": "a=b"}]"#,
        )
        .unwrap();
        let (_, rows, _) = read(&p, &Policy::new(p.parent().unwrap(), &BTreeMap::new())).unwrap();
        assert_eq!(rows[0].identifier["DBInstanceIdentifier"], "orders");
        assert_eq!(rows[0].tags["a"], "b");
        assert_eq!(rows[0].span.col, 11);
    }
}
