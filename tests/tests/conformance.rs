//! Conformance of the Datadog stand-in to Datadog's recorded real answers.
//!
//! The oracle is the corpus indexed in `tests/fixtures/datadog/corpus.json`: cassettes the official
//! Python client (PyPI `datadog-api-client`, pinned version and SHA-256) recorded against the live
//! API. For every indexed cassette the test starts from an empty org on one stand-in (a fresh API
//! key), sends every recorded request in order (recorded ids in paths, queries and bodies mapped to
//! the ids the stand-in assigned), and compares the stand-in's status and body with the recorded
//! ones leaf by leaf. Ids, timestamps, `org_id` and the creator are compared by presence only.
//!
//! It prints `datadog: N fields equal / M compared (P %)` with counts per endpoint, and every
//! remaining difference with its reason from [`ALLOWED`]; it fails below [`MIN_PERCENT`] or on a
//! difference no entry explains. `cargo test -p watchkeep-tests --test conformance -- --nocapture`
//! prints the report. The recordings are downloaded by `tests/recordings/fetch-datadog` (CI's
//! `.ci/run` runs it); without them the test fails and says how to get them.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use watchkeep_tests::recordings::{self, Cassette, Interaction};
use watchkeep_tests::{DatadogStandIn, StandInOptions};

/// The figure below which the stand-in is not a faithful picture of Datadog.
const MIN_PERCENT: f64 = 98.0;

/// Keys whose values are the vendor's to choose: compared by presence (a whole subtree for
/// `creator`), never by value.
const PRESENCE_ONLY: &[&str] = &[
    "id",
    "org_id",
    "created",
    "modified",
    "created_at",
    "modified_at",
    "creator",
    "author_handle",
    "author_name",
];

/// Keys whose values are ids: a recorded id met under one of them is mapped to the stand-in's.
const ID_KEYS: &[&str] = &["id"];

/// A difference the stand-in keeps on purpose, and why.
struct Allowed {
    /// Leaf path pattern; `*` matches any run of characters (`$.options.*`).
    path: &'static str,
    /// Only for cassettes whose path contains this.
    cassette: Option<&'static str>,
    /// Only for cassettes recorded before this date (`YYYY-MM-DD`): Datadog changed since.
    recorded_before: Option<&'static str>,
    reason: &'static str,
}

const fn allow_before(path: &'static str, date: &'static str, reason: &'static str) -> Allowed {
    Allowed { path, cassette: None, recorded_before: Some(date), reason }
}

const fn allow_in(path: &'static str, cassette: &'static str, reason: &'static str) -> Allowed {
    Allowed { path, cassette: Some(cassette), recorded_before: None, reason }
}

/// Every difference the stand-in may keep. Each entry says why; a difference not listed fails the
/// test.
const ALLOWED: &[Allowed] = &[
    // Each org replays its cassette as Datadog was on the recording date (`set_api_date`), so the
    // fields Datadog added or dropped on dates the corpus shows are not listed here (see the
    // stand-in's `normalize::Era`). What remains:
    allow_in(
        "$.options.avalanche_window",
        "2025-05-14",
        "recorded in a different org (org_id 2, not the usual 321813) on 2025-05-14: only its answers add avalanche_window: 20",
    ),
    allow_in(
        "$.run_as",
        "2025-05-14",
        "recorded in a different org (org_id 2) on 2025-05-14: only its answers add run_as: null",
    ),
    allow_in(
        "$.restricted",
        "2025-05-14",
        "recorded in a different org (org_id 2) on 2025-05-14: only its answers add restricted: false",
    ),
    allow_in(
        "$.options.notify_no_data",
        "2025-05-14",
        "recorded in a different org (org_id 2) on 2025-05-14: that answer alone lacks the notify_no_data: false default every other recorded create (2022 to 2026-08) has",
    ),
    allow_before(
        "$.options.locked",
        "2022-02-01",
        "locked: false was added by default in early 2022 only (test_create_a_cipipelines_monitor_returns_ok_response, 2022-01-06); one recording is too little to date the change, so the stand-in does not model it",
    ),
    allow_in(
        "$.options.thresholds.critical",
        "test_create_a_cipipelines_monitor_returns_ok_response",
        "on 2022-01-06 an integer threshold came back as sent (1); every later recording answers a float (1.0)",
    ),
    allow_in(
        "$[*].overall_state_modified",
        "test_get_all_monitors_returns_ok_response_with_pagination",
        "the listed monitors had been evaluated in the recorded org since 2021; the replay's copies were just created and never evaluated",
    ),
    allow_in(
        "$.url",
        "test_create_a_new_dashboard_with_apm_metrics_widget",
        "on 2025-02-20 the slug dropped dashes (testcreateanew...1740045600); recordings before (2024-11) and after (2025-12, 2026) keep them",
    ),
    allow_in(
        "$.experience_type",
        "test_clients_deserialize_a_dashboard_with_a_empty_time_object",
        "experience_type: \"default\" appears in one answer only (2024-09-24); no later dashboard answer has it",
    ),
];

#[derive(Deserialize)]
struct Corpus {
    package: String,
    version: String,
    sha256: String,
    cassettes: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    path: String,
    recorded: String,
    sha256: String,
    covers: String,
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn load_corpus() -> Corpus {
    let path = repo_root().join("tests/fixtures/datadog/corpus.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The SHA-256 `tests/recordings/fetch-datadog` pins (`sha256=...`).
fn pinned_sha256() -> String {
    let path = repo_root().join("tests/recordings/fetch-datadog");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .find_map(|l| l.strip_prefix("sha256="))
        .map(str::trim)
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("{}: no sha256= line", path.display()))
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks the corpus index against the unpacked package and loads the indexed cassettes.
fn indexed_cassettes(corpus: &Corpus) -> Result<Vec<(Cassette, String)>, Vec<String>> {
    let mut problems = Vec::new();
    if corpus.package != "datadog-api-client" || corpus.version != "2.62.0" {
        problems.push(format!(
            "corpus.json names {} {}, the loader expects datadog-api-client 2.62.0",
            corpus.package, corpus.version
        ));
    }
    let pinned = pinned_sha256();
    if corpus.sha256 != pinned {
        problems.push(format!(
            "corpus.json says the package has SHA-256 {}, tests/recordings/fetch-datadog pins {pinned}",
            corpus.sha256
        ));
    }
    let dir = match recordings::datadog_dir() {
        Ok(d) => d,
        Err(e) => return Err(vec![e]),
    };
    let complete = std::fs::read_to_string(dir.join(".complete")).unwrap_or_default();
    if !complete.contains(&format!("sha256:{}", corpus.sha256)) {
        problems.push(format!(
            "{} was unpacked from a package whose SHA-256 is not {} ({:?}): run tests/recordings/fetch-datadog again",
            dir.display(),
            corpus.sha256,
            complete.trim()
        ));
    }
    let mut out = Vec::new();
    for e in &corpus.cassettes {
        let file = dir.join(&e.path);
        let bytes = match std::fs::read(&file) {
            Ok(b) => b,
            Err(err) => {
                problems.push(format!("indexed cassette {} is missing: {err}", file.display()));
                continue;
            }
        };
        let got = sha256_hex(&bytes);
        if got != e.sha256 {
            problems.push(format!("{}: SHA-256 {got}, corpus.json says {}", e.path, e.sha256));
        }
        match recordings::load_cassette(&dir, &e.path) {
            Ok(c) => {
                if c.recorded.as_deref() != Some(e.recorded.as_str()) {
                    problems.push(format!(
                        "{}: recorded {:?} by its .frozen file, corpus.json says {}",
                        e.path, c.recorded, e.recorded
                    ));
                }
                out.push((c, e.covers.clone()));
            }
            Err(err) => problems.push(err),
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// Recorded ids → the stand-in's, learned from answers.
#[derive(Default)]
struct IdMap(HashMap<String, String>);

impl IdMap {
    fn scalar(v: &Value) -> Option<String> {
        match v {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    /// Walks the recorded and the stand-in's answer together and maps ids found at the same place.
    fn learn(&mut self, recorded: &Value, actual: &Value) {
        match (recorded, actual) {
            (Value::Object(r), Value::Object(a)) => {
                for (k, rv) in r {
                    let Some(av) = a.get(k) else { continue };
                    if ID_KEYS.contains(&k.as_str()) {
                        if let (Some(rs), Some(as_)) = (Self::scalar(rv), Self::scalar(av)) {
                            if rs != as_ {
                                self.0.insert(rs, as_);
                            }
                        }
                    } else {
                        self.learn(rv, av);
                    }
                }
            }
            (Value::Array(r), Value::Array(a)) => {
                for (rv, av) in r.iter().zip(a) {
                    self.learn(rv, av);
                }
            }
            _ => {}
        }
    }

    fn text(&self, s: &str) -> String {
        if let Some(m) = self.0.get(s) {
            return m.clone();
        }
        let mut out = s.to_owned();
        // Ids inside text (a dashboard's `url`, a query) — only long ones, to avoid accidents.
        for (from, to) in &self.0 {
            if from.len() >= 6 && out.contains(from.as_str()) {
                out = out.replace(from.as_str(), to);
            }
        }
        out
    }

    fn value(&self, v: &Value) -> Value {
        match v {
            Value::String(s) => Value::String(self.text(s)),
            Value::Number(n) => match self.0.get(&n.to_string()) {
                Some(m) => m.parse::<i64>().map(Value::from).unwrap_or_else(|_| Value::String(m.clone())),
                None => v.clone(),
            },
            Value::Array(a) => Value::Array(a.iter().map(|x| self.value(x)).collect()),
            Value::Object(o) => Value::Object(o.iter().map(|(k, x)| (k.clone(), self.value(x))).collect()),
            other => other.clone(),
        }
    }

    fn path(&self, p: &str) -> String {
        p.split('/')
            .map(|seg| self.0.get(seg).cloned().unwrap_or_else(|| seg.to_owned()))
            .collect::<Vec<_>>()
            .join("/")
    }
}

/// `GET /api/v1/monitor/{id}`-style name of a request's endpoint.
fn endpoint(method: &str, path: &str) -> String {
    let templ: Vec<String> = path
        .split('/')
        .map(|seg| {
            let dash_id =
                seg.len() == 11 && seg.split('-').count() == 3 && seg.split('-').all(|g| g.len() == 3);
            if !seg.is_empty() && (seg.chars().all(|c| c.is_ascii_digit()) || dash_id) {
                "{id}".to_owned()
            } else {
                seg.to_owned()
            }
        })
        .collect();
    format!("{method} {}", templ.join("/"))
}

fn leaves(v: &Value, path: String, out: &mut BTreeMap<String, Value>) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, x) in m {
                let p = format!("{path}.{k}");
                if PRESENCE_ONLY.contains(&k.as_str()) {
                    out.insert(p, Value::String("<present>".into()));
                } else {
                    leaves(x, p, out);
                }
            }
        }
        Value::Array(a) if !a.is_empty() => {
            for (i, x) in a.iter().enumerate() {
                leaves(x, format!("{path}[{i}]"), out);
            }
        }
        other => {
            out.insert(path, other.clone());
        }
    }
}

fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let mut rest = text;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            let Some(r) = rest.strip_prefix(part) else { return false };
            rest = r;
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(at) => rest = &rest[at + part.len()..],
                None => return false,
            }
        }
    }
    true
}

struct Difference {
    cassette: String,
    recorded_at: String,
    endpoint: String,
    path: String,
    recorded: Option<Value>,
    actual: Option<Value>,
}

impl Difference {
    /// The allow-list entry that explains this difference, and its index.
    fn reason(&self) -> Option<(usize, &'static str)> {
        ALLOWED
            .iter()
            .enumerate()
            .find(|(_, a)| {
                glob(a.path, &self.path)
                    && a.cassette.is_none_or(|c| self.cassette.contains(c) || self.recorded_at.starts_with(c))
                    && a.recorded_before.is_none_or(|d| self.recorded_at.as_str() < d)
            })
            .map(|(i, a)| (i, a.reason))
    }
}

#[derive(Default)]
struct Tally {
    equal: usize,
    compared: usize,
}

struct Replay {
    http: reqwest::blocking::Client,
    base: String,
    per_endpoint: BTreeMap<String, Tally>,
    differences: Vec<Difference>,
}

struct Answer {
    status: u16,
    body: Option<Value>,
    text: String,
}

impl Replay {
    fn send(
        &self,
        key: &str,
        method: &str,
        path: &str,
        query: &[(String, String)],
        body: Option<&Value>,
    ) -> Answer {
        let mut url = format!("{}{path}", self.base);
        if !query.is_empty() {
            let q: String = form_urlencoded_pairs(query);
            url = format!("{url}?{q}");
        }
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("recorded method");
        let mut req =
            self.http.request(method, url).header("DD-API-KEY", key).header("DD-APPLICATION-KEY", "app");
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b.to_string());
        }
        let resp = req.send().expect("the stand-in answers");
        let status = resp.status().as_u16();
        let text = resp.text().unwrap_or_default();
        let body = serde_json::from_str(text.trim()).ok();
        Answer { status, body, text }
    }

    fn compare(&mut self, cassette: &Cassette, endpoint: &str, rec: &Interaction, ans: &Answer, ids: &IdMap) {
        let mut want = BTreeMap::new();
        let mut got = BTreeMap::new();
        want.insert("status".to_owned(), Value::from(rec.status));
        got.insert("status".to_owned(), Value::from(ans.status));
        match (&rec.response, &ans.body) {
            (Some(r), a) => {
                leaves(&ids.value(r), "$".into(), &mut want);
                if let Some(a) = a {
                    leaves(a, "$".into(), &mut got);
                } else {
                    got.insert("$".into(), Value::String(ans.text.trim().to_owned()));
                }
            }
            (None, Some(a)) => {
                want.insert("$".into(), Value::String(rec.response_text.trim().to_owned()));
                leaves(a, "$".into(), &mut got);
            }
            (None, None) => {
                want.insert("$".into(), Value::String(rec.response_text.trim().to_owned()));
                got.insert("$".into(), Value::String(ans.text.trim().to_owned()));
            }
        }
        let mut keys: Vec<&String> = want.keys().chain(got.keys()).collect();
        keys.sort();
        keys.dedup();
        let tally = self.per_endpoint.entry(endpoint.to_owned()).or_default();
        for k in keys {
            tally.compared += 1;
            let (w, g) = (want.get(k), got.get(k));
            if w == g {
                tally.equal += 1;
            } else {
                self.differences.push(Difference {
                    cassette: cassette
                        .source
                        .rsplit('/')
                        .next()
                        .unwrap_or("")
                        .trim_end_matches(".yaml")
                        .to_owned(),
                    recorded_at: cassette.recorded.clone().unwrap_or_default(),
                    endpoint: endpoint.to_owned(),
                    path: k.clone(),
                    recorded: w.cloned(),
                    actual: g.cloned(),
                });
            }
        }
    }

    /// A list of monitors shows what the recorded org held: create those monitors first (from the
    /// writable fields of the recorded answers), so that the list can be replayed from an empty org.
    fn seed_listed_monitors(&mut self, key: &str, cassette: &Cassette, ids: &mut IdMap) {
        const WRITABLE: &[&str] =
            &["name", "type", "query", "message", "tags", "options", "priority", "restricted_roles"];
        let mut listed: BTreeMap<i64, Value> = BTreeMap::new();
        for i in &cassette.interactions {
            if i.method == "GET" && i.path == "/api/v1/monitor" {
                if let Some(Value::Array(list)) = &i.response {
                    for m in list {
                        if let Some(id) = m.get("id").and_then(Value::as_i64) {
                            listed.insert(id, m.clone());
                        }
                    }
                }
            }
        }
        for (id, m) in listed {
            let body: Map<String, Value> = m
                .as_object()
                .map(|o| {
                    o.iter()
                        .filter(|(k, _)| WRITABLE.contains(&k.as_str()))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect()
                })
                .unwrap_or_default();
            let ans = self.send(key, "POST", "/api/v1/monitor", &[], Some(&Value::Object(body)));
            assert_eq!(ans.status, 200, "seeding monitor {id} listed by {}: {}", cassette.source, ans.text);
            if let Some(new_id) = ans.body.as_ref().and_then(|b| b.get("id")).and_then(IdMap::scalar) {
                ids.0.insert(id.to_string(), new_id);
            }
        }
    }

    fn run(&mut self, key: &str, cassette: &Cassette) {
        let mut ids = IdMap::default();
        self.seed_listed_monitors(key, cassette, &mut ids);
        for rec in &cassette.interactions {
            let path = ids.path(&rec.path);
            let query: Vec<(String, String)> =
                rec.query.iter().map(|(k, v)| (k.clone(), ids.text(v))).collect();
            let body = rec.request.as_ref().map(|b| ids.value(b));
            let ans = self.send(key, &rec.method, &path, &query, body.as_ref());
            if let (Some(r), Some(a)) = (&rec.response, &ans.body) {
                ids.learn(r, a);
            }
            let ep = endpoint(&rec.method, &rec.path);
            self.compare(cassette, &ep, rec, &ans, &ids);
        }
    }
}

fn form_urlencoded_pairs(pairs: &[(String, String)]) -> String {
    fn enc(s: &str) -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    }
    pairs.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&")
}

fn show(v: &Option<Value>) -> String {
    match v {
        None => "(absent)".to_owned(),
        Some(v) => {
            let s = v.to_string();
            if s.len() > 400 {
                format!("{}…", &s[..s.char_indices().nth(400).map_or(s.len(), |(i, _)| i)])
            } else {
                s
            }
        }
    }
}

fn figure(per_endpoint: &BTreeMap<String, Tally>) -> (usize, usize, f64) {
    let equal: usize = per_endpoint.values().map(|t| t.equal).sum();
    let compared: usize = per_endpoint.values().map(|t| t.compared).sum();
    let percent = if compared == 0 { 0.0 } else { 100.0 * equal as f64 / compared as f64 };
    (equal, compared, percent)
}

/// Replays every cassette, each in a fresh org; `dated`: the org answers like Datadog on the
/// recording date.
fn replay_all(server: &DatadogStandIn, cassettes: &[(Cassette, String)], dated: bool) -> Replay {
    let mut replay = Replay {
        http: reqwest::blocking::Client::new(),
        base: server.base_url(),
        per_endpoint: BTreeMap::new(),
        differences: Vec::new(),
    };
    for (n, (cassette, _covers)) in cassettes.iter().enumerate() {
        // A fresh API key is a fresh, empty org.
        let key = format!("conformance-{}-{n}", if dated { "dated" } else { "today" });
        if dated {
            let date = cassette.recorded.as_deref().and_then(|r| r.get(..10)).and_then(|d| d.parse().ok());
            assert!(date.is_some(), "{}: no recording date", cassette.source);
            server.set_api_date(&key, date);
        }
        replay.run(&key, cassette);
    }
    replay
}

#[test]
fn corpus_index_matches_the_pinned_package() {
    let corpus = load_corpus();
    let cassettes = indexed_cassettes(&corpus)
        .unwrap_or_else(|problems| panic!("the recorded corpus is not usable:\n  {}", problems.join("\n  ")));
    assert_eq!(cassettes.len(), corpus.cassettes.len());
    for (c, covers) in &cassettes {
        assert!(!c.interactions.is_empty(), "{}: no interactions", c.source);
        assert!(!covers.is_empty(), "{}: corpus.json says nothing of what it covers", c.source);
    }
}

#[test]
fn datadog_stand_in_answers_like_the_recorded_vendor() {
    let corpus = load_corpus();
    let cassettes = match indexed_cassettes(&corpus) {
        Ok(c) => c,
        Err(problems) => panic!("the recorded corpus is not usable:\n  {}", problems.join("\n  ")),
    };
    assert!(!cassettes.is_empty(), "corpus.json indexes no cassette");
    let server = DatadogStandIn::start(StandInOptions::default()).expect("stand-in starts");
    let replay = replay_all(&server, &cassettes, true);

    let (equal, compared, percent) = figure(&replay.per_endpoint);
    println!(
        "datadog: {equal} fields equal / {compared} compared ({percent:.2} %) over {} recorded cassettes of {} {} \
         (each replayed as Datadog on its recording date)",
        cassettes.len(),
        corpus.package,
        corpus.version
    );
    for (ep, t) in &replay.per_endpoint {
        println!(
            "  {ep:<45} {:>6} / {:<6} ({:.2} %)",
            t.equal,
            t.compared,
            100.0 * t.equal as f64 / t.compared.max(1) as f64
        );
    }
    // For information: the same replay against today's Datadog only (no dating); the difference
    // is what Datadog changed between the recordings and now.
    let today = replay_all(&server, &cassettes, false);
    let (t_equal, t_compared, t_percent) = figure(&today.per_endpoint);
    println!(
        "datadog (not dated, every recording against today's answers): {t_equal} / {t_compared} ({t_percent:.2} %)"
    );

    let mut unexplained = Vec::new();
    let mut used = vec![false; ALLOWED.len()];
    if !replay.differences.is_empty() {
        println!("differences ({}):", replay.differences.len());
    }
    for d in &replay.differences {
        let line = format!(
            "{} ({}) {} {}: recorded {}, stand-in {}",
            d.cassette,
            d.recorded_at.get(..10).unwrap_or(&d.recorded_at),
            d.endpoint,
            d.path,
            show(&d.recorded),
            show(&d.actual)
        );
        match d.reason() {
            Some((i, r)) => {
                used[i] = true;
                println!("  {line}\n      allowed: {r}");
            }
            None => {
                println!("  {line}\n      NOT ON THE ALLOW-LIST");
                unexplained.push(line);
            }
        }
    }
    for (a, used) in ALLOWED.iter().zip(&used) {
        if !used {
            println!("allow-list entry that matched nothing: {} ({})", a.path, a.reason);
        }
    }
    assert!(
        unexplained.is_empty(),
        "{} difference(s) from the recorded vendor are not on the allow-list (fix the stand-in, or add an \
         entry with its reason to ALLOWED):\n  {}",
        unexplained.len(),
        unexplained.join("\n  ")
    );
    assert!(
        percent >= MIN_PERCENT,
        "the stand-in agrees with the recorded vendor on {percent:.2} % of the fields, below {MIN_PERCENT} %"
    );
}

#[test]
fn globs_match_leaf_paths() {
    assert!(glob("$.options.*", "$.options.avalanche_window"));
    assert!(glob("$.a", "$.a"));
    assert!(!glob("$.a", "$.ab"));
    assert!(glob("$.widgets[*].id", "$.widgets[3].id"));
    assert!(!glob("$.widgets[*].id", "$.widgets[3].definition.id2"));
    assert!(glob("*x*", "axb"));
}

#[test]
fn ids_are_mapped_in_paths_bodies_and_text() {
    let mut ids = IdMap::default();
    ids.learn(
        &serde_json::json!({"id": 155844758, "widgets": [{"id": 7381515167611300_i64}]}),
        &serde_json::json!({"id": 1000001, "widgets": [{"id": 42}]}),
    );
    assert_eq!(ids.path("/api/v1/monitor/155844758/validate"), "/api/v1/monitor/1000001/validate");
    assert_eq!(
        ids.value(&serde_json::json!({"alert_id": "155844758"})),
        serde_json::json!({"alert_id": "1000001"})
    );
    assert_eq!(ids.value(&serde_json::json!([155844758])), serde_json::json!([1000001]));
    assert_eq!(ids.text("/x/155844758/y"), "/x/1000001/y");
    assert_eq!(endpoint("GET", "/api/v1/dashboard/4jv-jai-fe2"), "GET /api/v1/dashboard/{id}");
    assert_eq!(endpoint("DELETE", "/api/v1/monitor/0"), "DELETE /api/v1/monitor/{id}");
}
