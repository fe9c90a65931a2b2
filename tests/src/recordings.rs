//! Recorded real vendor traffic: the oracle the stand-ins are calibrated against.
//!
//! Datadog's recordings come from the sdist of the official Python API client on PyPI
//! (`datadog-api-client` 2.62.0), which ships the cassettes its BDD tests recorded against the live
//! API (`tests/v{1,2}/cassettes/test_scenarios/*.yaml`, vcrpy format, with a `.frozen` file holding
//! the recording time). `tests/recordings/fetch-datadog` downloads and unpacks them (CI runs it);
//! nothing recorded is committed.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

/// Name and version of the package the Datadog recordings come from.
pub const DATADOG_SOURCE: &str = "PyPI datadog-api-client 2.62.0 (sdist)";

/// One recorded request/response pair.
#[derive(Debug, Clone)]
pub struct Interaction {
    pub method: String,
    /// Path without scheme, host or query, e.g. `/api/v1/monitor/107235710`.
    pub path: String,
    /// Query parameters in recorded order.
    pub query: Vec<(String, String)>,
    /// The request body parsed as JSON (`None`: no body, or not JSON).
    pub request: Option<Value>,
    pub status: u16,
    /// The response body parsed as JSON (`None`: empty or not JSON; see `response_text`).
    pub response: Option<Value>,
    pub response_text: String,
}

/// One cassette: the interactions of one recorded test scenario, in order.
#[derive(Debug, Clone)]
pub struct Cassette {
    /// Path inside the package, e.g. `tests/v1/cassettes/test_scenarios/test_create_a_monitor_returns_ok_response.yaml`.
    pub source: String,
    /// When it was recorded (the `.frozen` file), e.g. `2023-01-09T10:07:16.112Z`.
    pub recorded: Option<String>,
    pub interactions: Vec<Interaction>,
}

/// Where the unpacked Datadog recordings are: `WATCHKEEP_DD_RECORDINGS`, else
/// `target/recordings/datadog-api-client-2.62.0` under the repository. An error says how to get them.
pub fn datadog_dir() -> Result<PathBuf, String> {
    let dir = match std::env::var_os("WATCHKEEP_DD_RECORDINGS") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/recordings/datadog-api-client-2.62.0"),
    };
    if dir.join(".complete").is_file() {
        Ok(dir)
    } else {
        Err(format!(
            "Datadog's recorded traffic is not at {}: run `tests/recordings/fetch-datadog` (CI's .ci/run does) \
             or set WATCHKEEP_DD_RECORDINGS",
            dir.display()
        ))
    }
}

#[derive(Deserialize)]
struct RawCassette {
    #[serde(default)]
    interactions: Vec<RawInteraction>,
}

#[derive(Deserialize)]
struct RawInteraction {
    request: RawRequest,
    response: RawResponse,
}

#[derive(Deserialize)]
struct RawRequest {
    body: Option<serde_yaml::Value>,
    method: String,
    uri: String,
}

#[derive(Deserialize)]
struct RawResponse {
    body: Option<RawBody>,
    status: RawStatus,
}

#[derive(Deserialize)]
struct RawBody {
    #[serde(default)]
    string: Option<String>,
}

#[derive(Deserialize)]
struct RawStatus {
    code: u16,
}

fn body_text(v: &Option<serde_yaml::Value>) -> Option<String> {
    match v {
        Some(serde_yaml::Value::String(s)) => Some(s.clone()),
        Some(serde_yaml::Value::Mapping(m)) => {
            m.get(serde_yaml::Value::String("string".into())).and_then(|s| s.as_str()).map(str::to_string)
        }
        _ => None,
    }
}

fn parse_json(text: &str) -> Option<Value> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    serde_json::from_str(t).ok()
}

/// Reads one cassette file. `root` is the directory `source` is relative to.
pub fn load_cassette(root: &Path, source: &str) -> Result<Cassette, String> {
    let path = root.join(source);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let raw: RawCassette = serde_yaml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let recorded = std::fs::read_to_string(path.with_extension("frozen")).ok().map(|s| s.trim().to_string());
    let mut interactions = Vec::new();
    for i in raw.interactions {
        let uri = i.request.uri;
        let after_host = match uri.split_once("://") {
            Some((_, rest)) => rest.find('/').map(|at| &rest[at..]).unwrap_or("/"),
            None => uri.as_str(),
        };
        let (path, query) = after_host.split_once('?').unwrap_or((after_host, ""));
        let query =
            form_urlencoded::parse(query.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        let response_text = i.response.body.and_then(|b| b.string).unwrap_or_default();
        interactions.push(Interaction {
            method: i.request.method.to_ascii_uppercase(),
            path: path.to_string(),
            query,
            request: body_text(&i.request.body).as_deref().and_then(parse_json),
            status: i.response.status.code,
            response: parse_json(&response_text),
            response_text,
        });
    }
    Ok(Cassette { source: source.to_string(), recorded, interactions })
}

/// Every cassette under `root` (recursively) whose relative path passes `keep`, sorted by path.
pub fn load_all(root: &Path, keep: &dyn Fn(&str) -> bool) -> Result<Vec<Cassette>, String> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let p = entry?.path();
            if p.is_dir() {
                walk(&p, out)?;
            } else if p.extension().is_some_and(|e| e == "yaml") {
                out.push(p);
            }
        }
        Ok(())
    }
    let mut files = Vec::new();
    walk(root, &mut files).map_err(|e| format!("{}: {e}", root.display()))?;
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let rel = f.strip_prefix(root).unwrap_or(&f).to_string_lossy().replace('\\', "/");
        if keep(&rel) {
            out.push(load_cassette(root, &rel)?);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vcr_cassette_is_read_into_interactions() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("c.yaml"),
            "interactions:\n- request:\n    body: '{\"name\":\"n\",\"type\":\"metric alert\"}'\n    headers: {}\n    method: POST\n    uri: https://api.datadoghq.com/api/v1/monitor?x=1\n  response:\n    body:\n      string: '{\"id\":5}\n\n        '\n    headers: {}\n    status:\n      code: 200\n      message: OK\n- request:\n    body: null\n    headers: {}\n    method: DELETE\n    uri: https://api.datadoghq.com/api/v1/monitor/5\n  response:\n    body:\n      string: ''\n    headers: {}\n    status:\n      code: 204\n      message: No Content\nversion: 1\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("c.frozen"), "2023-01-09T10:07:16.112Z").unwrap();
        let c = load_cassette(dir.path(), "c.yaml").unwrap();
        assert_eq!(c.recorded.as_deref(), Some("2023-01-09T10:07:16.112Z"));
        assert_eq!(c.interactions.len(), 2);
        let i = &c.interactions[0];
        assert_eq!((i.method.as_str(), i.path.as_str()), ("POST", "/api/v1/monitor"));
        assert_eq!(i.query, vec![("x".to_string(), "1".to_string())]);
        assert_eq!(i.request.as_ref().unwrap()["type"], "metric alert");
        assert_eq!(i.response.as_ref().unwrap()["id"], 5);
        assert_eq!(c.interactions[1].status, 204);
        assert!(c.interactions[1].request.is_none() && c.interactions[1].response.is_none());
        assert!(load_all(dir.path(), &|p| p.ends_with(".yaml")).unwrap().len() == 1);
    }
}
