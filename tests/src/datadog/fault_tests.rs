//! Fault injection over real HTTP (reqwest and raw TCP), as a client sees it.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::faults::MALFORMED_BODY;
use super::{DatadogStandIn, FaultKind, FaultRule, StandInOptions};

const MONITORS: &str = "/api/v1/monitor";

fn start_with(faults: Vec<FaultRule>) -> DatadogStandIn {
    DatadogStandIn::start(StandInOptions { faults, ..StandInOptions::default() }).expect("stand-in starts")
}

fn rule(spec: &str) -> FaultRule {
    spec.parse().unwrap_or_else(|e| panic!("{spec:?} parses: {e}"))
}

fn monitor_body(name: &str) -> Value {
    json!({
        "name": name,
        "type": "metric alert",
        "query": "avg(last_5m):avg:system.cpu.user{env:prod} > 90",
        "message": "CPU high @slack-ops",
        "options": {"thresholds": {"critical": 90}},
    })
}

/// A client of one org; `send` returns the raw reqwest result so connection errors show.
struct Client {
    http: reqwest::Client,
    base: String,
    api_key: String,
}

impl Client {
    fn new(server: &DatadogStandIn, api_key: &str) -> Self {
        Self::with_http(server, api_key, reqwest::Client::new())
    }

    fn with_http(server: &DatadogStandIn, api_key: &str, http: reqwest::Client) -> Self {
        Client { http, base: server.base_url(), api_key: api_key.to_owned() }
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> reqwest::Result<reqwest::Response> {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("DD-API-KEY", &self.api_key)
            .header("DD-APPLICATION-KEY", "app-key");
        if let Some(body) = body {
            req = req.json(body);
        }
        req.send().await
    }

    async fn create(&self, name: &str) -> reqwest::Result<reqwest::Response> {
        self.send(reqwest::Method::POST, MONITORS, Some(&monitor_body(name))).await
    }

    async fn list(&self) -> reqwest::Result<reqwest::Response> {
        self.send(reqwest::Method::GET, MONITORS, None).await
    }

    /// Status of a request that must get an HTTP answer.
    async fn status_of(&self, resp: reqwest::Result<reqwest::Response>) -> u16 {
        resp.expect("an HTTP answer").status().as_u16()
    }
}

fn header<'a>(resp: &'a reqwest::Response, name: &str) -> &'a str {
    resp.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

/// Whether the error chain holds a TCP reset (rather than a timeout or an HTTP answer).
fn is_connection_reset(err: &reqwest::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::ConnectionReset {
                return true;
            }
        }
        source = e.source();
    }
    false
}

#[tokio::test]
async fn rate_limit_fault_answers_429_with_headers() {
    let server = start_with(vec![rule("rate-limit:7 GET /api/v1/monitor times=1")]);
    let client = Client::new(&server, "rl-org");
    let limited = client.list().await.expect("answer");
    assert_eq!(limited.status().as_u16(), 429);
    assert_eq!(header(&limited, "x-ratelimit-remaining"), "0");
    assert_eq!(header(&limited, "x-ratelimit-reset"), "7");
    assert_eq!(header(&limited, "x-ratelimit-name"), "monitor_api");
    assert_eq!(header(&limited, "x-ratelimit-limit"), "1000000");
    assert_eq!(header(&limited, "x-ratelimit-period"), "10");
    assert_eq!(limited.json::<Value>().await.expect("JSON"), json!({"errors": ["Rate limit exceeded"]}));
    assert_eq!(client.status_of(client.list().await).await, 200);
    assert_eq!(server.rate_limited_count(), 1);
    assert_eq!(server.injected_count(), 1);
}

#[tokio::test]
async fn status_faults_answer_datadog_errors_and_change_nothing() {
    let server = start_with(Vec::new());
    let client = Client::new(&server, "status-org");
    for (code, reason) in [(500, "Internal Server Error"), (502, "Bad Gateway"), (503, "Service Unavailable")]
    {
        server.set_faults(vec![FaultRule::new(FaultKind::Status(code)).with_method("post").with_times(1)]);
        let resp = client.create("never").await.expect("answer");
        assert_eq!(resp.status().as_u16(), code);
        assert_eq!(header(&resp, "content-type"), "application/json");
        assert_eq!(resp.json::<Value>().await.expect("JSON"), json!({"errors": [reason]}));
        assert!(server.monitors("status-org").is_empty(), "a {code} must not create anything");
    }
    assert_eq!(client.status_of(client.create("after").await).await, 200);
    assert_eq!(server.monitors("status-org").len(), 1);
    assert_eq!(server.injected_count(), 3);
}

#[tokio::test]
async fn slow_fault_acts_at_once_and_answers_late() {
    let server = start_with(vec![rule("slow:300ms POST /api/v1/monitor times=2")]);
    let impatient = reqwest::Client::builder().timeout(Duration::from_millis(100)).build().expect("client");
    let err = Client::with_http(&server, "slow-org", impatient).create("first").await.expect_err("times out");
    assert!(err.is_timeout(), "{err:?}");
    assert_eq!(server.monitors("slow-org").len(), 1, "acted on before the delay");

    let client = Client::new(&server, "slow-org");
    let t = Instant::now();
    let resp = client.create("second").await.expect("answer");
    assert!(t.elapsed() >= Duration::from_millis(300), "{:?}", t.elapsed());
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.json::<Value>().await.expect("JSON")["name"], "second");

    let t = Instant::now();
    assert_eq!(client.status_of(client.create("third").await).await, 200);
    assert!(t.elapsed() < Duration::from_millis(300), "only twice");
    assert_eq!(server.monitors("slow-org").len(), 3);
}

#[tokio::test]
async fn connection_reset_gives_a_connection_error_and_changes_nothing() {
    let server = start_with(vec![rule("reset POST /api/v1/monitor times=1")]);
    let client = Client::new(&server, "reset-org");
    // Warm the connection pool so the reset hits a reused connection too.
    assert_eq!(client.status_of(client.list().await).await, 200);
    let err = client.create("never").await.expect_err("no HTTP answer");
    assert!(!err.is_timeout() && err.status().is_none(), "{err:?}");
    assert!(is_connection_reset(&err), "expected a TCP reset: {err:?}");
    assert!(server.monitors("reset-org").is_empty());
    assert_eq!(server.requests_matching("POST", MONITORS), 1, "the client did not retry");

    assert_eq!(client.status_of(client.create("after").await).await, 200);
    assert_eq!(server.monitors("reset-org").len(), 1);
    assert_eq!(server.injected_count(), 1);
}

#[tokio::test]
async fn acted_but_lost_creates_the_monitor_then_drops_the_connection() {
    let server = start_with(vec![rule("acted-but-lost POST /api/v1/monitor times=1")]);
    let client = Client::new(&server, "lost-org");
    let err = client.create("made").await.expect_err("no HTTP answer");
    assert!(!err.is_timeout() && err.status().is_none(), "{err:?}");
    assert!(is_connection_reset(&err), "expected a TCP reset: {err:?}");
    let made = server.monitors("lost-org");
    assert_eq!(made.len(), 1, "the create happened");
    assert_eq!(made[0]["name"], "made");
    assert_eq!(server.requests_matching("POST", MONITORS), 1, "no duplicate create");

    let listed: Value = client.list().await.expect("answer").json().await.expect("JSON");
    assert_eq!(listed.as_array().map(Vec::len), Some(1));
}

/// Below HTTP: the socket yields no byte of a response, only a reset (or at worst EOF).
#[test]
fn dropped_connections_send_no_bytes() {
    let server = start_with(vec![rule("reset GET"), rule("acted-but-lost POST")]);
    let body = monitor_body("raw").to_string();
    let requests = [
        "GET /api/v1/monitor HTTP/1.1\r\nhost: x\r\ndd-api-key: raw-org\r\ndd-application-key: a\r\n\r\n"
            .to_owned(),
        format!(
            "POST /api/v1/monitor HTTP/1.1\r\nhost: x\r\ndd-api-key: raw-org\r\ndd-application-key: a\r\n\
             content-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        ),
    ];
    for request in requests {
        let mut tcp = std::net::TcpStream::connect(server.addr()).expect("connect");
        tcp.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
        tcp.write_all(request.as_bytes()).expect("request written");
        let mut got = Vec::new();
        let read = tcp.read_to_end(&mut got);
        assert!(got.is_empty(), "no response bytes, got {:?}", String::from_utf8_lossy(&got));
        let err = read.expect_err("the connection is reset");
        assert_eq!(err.kind(), std::io::ErrorKind::ConnectionReset, "{err:?}");
    }
    assert_eq!(server.monitors("raw-org").len(), 1, "acted-but-lost created it");
}

#[tokio::test]
async fn malformed_json_answers_200_with_broken_json_and_changes_nothing() {
    let server = start_with(vec![rule("malformed POST times=1")]);
    let client = Client::new(&server, "malformed-org");
    let resp = client.create("never").await.expect("answer");
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(header(&resp, "content-type"), "application/json");
    let text = resp.text().await.expect("body");
    assert_eq!(text, MALFORMED_BODY);
    assert!(serde_json::from_str::<Value>(&text).is_err());
    assert!(server.monitors("malformed-org").is_empty());
}

#[tokio::test]
async fn truncated_json_acts_and_answers_half_the_body() {
    let server = start_with(vec![rule("truncated POST times=1")]);
    let client = Client::new(&server, "truncated-org");
    let resp = client.create("cut").await.expect("answer");
    assert_eq!(resp.status().as_u16(), 200);
    let length: usize = header(&resp, "content-length").parse().expect("content-length");
    let text = resp.text().await.expect("the whole (cut) body arrives");
    assert_eq!(text.len(), length);
    assert!(serde_json::from_str::<Value>(&text).is_err(), "{text}");
    assert_eq!(server.monitors("truncated-org").len(), 1, "the create happened");
    let made = server.monitors_as_created("truncated-org");
    let full = made[0].to_string();
    assert_eq!(text.len(), full.len() / 2);
    assert!(full.starts_with(&text), "{text} is the start of {full}");
}

#[tokio::test]
async fn skip_and_times_count_matching_authenticated_requests() {
    let server = start_with(vec![rule("503 POST /api/v1/monitor skip=2 times=2")]);
    let client = Client::new(&server, "count-org");
    let anon = reqwest::Client::new();
    let mut seen = Vec::new();
    for i in 0..5 {
        // Neither other methods, other paths, nor refused (403) requests count.
        assert_eq!(client.status_of(client.list().await).await, 200);
        let dash = json!({"title": "d", "layout_type": "ordered", "widgets": []});
        let dash = client.send(reqwest::Method::POST, "/api/v1/dashboard", Some(&dash)).await;
        assert_eq!(client.status_of(dash).await, 200);
        let refused = anon.post(format!("{}{MONITORS}", server.base_url())).json(&monitor_body("x")).send();
        assert_eq!(refused.await.expect("answer").status().as_u16(), 403);
        seen.push(client.status_of(client.create(&format!("m{i}")).await).await);
    }
    assert_eq!(seen, [200, 200, 503, 503, 200]);
    assert_eq!(server.injected_count(), 2);
    assert_eq!(server.monitors("count-org").len(), 3);
    assert_eq!(server.requests_matching("post", MONITORS), 10);
    assert_eq!(server.requests_matching("GET", "/api/v1/"), 5);
    assert_eq!(server.requests_matching("DELETE", "/"), 0);

    // Rules are tried in order; the first that injects takes the request.
    server.set_faults(vec![rule("500 times=1"), rule("502 times=1")]);
    let seen = [client.list().await, client.list().await, client.list().await];
    let mut codes = Vec::new();
    for resp in seen {
        codes.push(client.status_of(resp).await);
    }
    assert_eq!(codes, [500, 502, 200]);

    // Faults apply to `/api/` only: the control endpoint keeps working under a catch-all rule.
    server.set_faults(vec![rule("reset")]);
    let control = anon.get(format!("{}/_sandbox/faults", server.base_url())).send().await.expect("answer");
    assert_eq!(control.status().as_u16(), 200);
}

#[tokio::test]
async fn set_faults_replaces_rules_and_resets_their_counters() {
    let once = rule("503 GET times=1");
    let server = start_with(vec![once.clone()]);
    assert_eq!(server.faults(), vec![once.clone()]);
    let client = Client::new(&server, "set-org");
    assert_eq!(client.status_of(client.list().await).await, 503);
    assert_eq!(client.status_of(client.list().await).await, 200);
    server.set_faults(vec![once.clone()]);
    assert_eq!(client.status_of(client.list().await).await, 503, "the counter restarted");
    assert_eq!(client.status_of(client.list().await).await, 200);
    server.set_faults(Vec::new());
    assert!(server.faults().is_empty());
    assert_eq!(client.status_of(client.list().await).await, 200);
    assert_eq!(server.injected_count(), 2, "injections are counted since start");
    assert_eq!(server.requests_matching("GET", MONITORS), 5);
    server.reset_request_count();
    assert_eq!(server.requests_matching("GET", MONITORS), 0);
}

#[tokio::test]
async fn control_endpoint_sets_lists_and_clears_faults() {
    let server = start_with(Vec::new());
    let http = reqwest::Client::new();
    let url = format!("{}/_sandbox/faults", server.base_url());
    let call = |req: reqwest::RequestBuilder| async move {
        let resp = req.send().await.expect("answer");
        (resp.status().as_u16(), resp.json::<Value>().await.expect("JSON"))
    };

    assert_eq!(call(http.get(&url)).await, (200, json!({"faults": [], "injected": 0})));
    let set = call(http.post(&url).body(r#"["503 post /api/v1/monitor times=1", "slow:2s GET"]"#)).await;
    assert_eq!(
        set,
        (200, json!({"faults": ["503 POST /api/v1/monitor times=1", "slow:2s GET"], "injected": 0}))
    );
    assert_eq!(server.faults()[0], rule("503 POST /api/v1/monitor times=1"));

    let client = Client::new(&server, "control-org");
    assert_eq!(client.status_of(client.create("a").await).await, 503);
    assert_eq!(client.status_of(client.create("b").await).await, 200);
    assert_eq!(call(http.get(&url)).await.1["injected"], 1);

    let (status, body) = call(http.post(&url).body(r#"["reset", "teapot", "503 /a /b"]"#)).await;
    assert_eq!(status, 400);
    let errors: Vec<&str> =
        body["errors"].as_array().expect("errors").iter().filter_map(Value::as_str).collect();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors[0].starts_with("fault 2: unknown fault kind `teapot`"), "{}", errors[0]);
    assert!(errors[1].starts_with("fault 3: `503 /a /b` gives a path prefix twice"), "{}", errors[1]);
    let (status, body) = call(http.post(&url).body(r#"{"faults": "503"}"#)).await;
    assert_eq!(status, 400);
    assert!(body["errors"][0].as_str().unwrap_or("").contains("JSON array of fault specs"), "{body}");
    assert_eq!(server.faults().len(), 2, "refused updates change nothing");

    assert_eq!(call(http.delete(&url)).await, (200, json!({"faults": [], "injected": 1})));
    assert!(server.faults().is_empty());
    let listed = client.list().await.expect("answer");
    assert_eq!(listed.status().as_u16(), 200);
}
