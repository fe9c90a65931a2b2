//! Synthetic cassettes shaped like the recorded ones (bodies copied from
//! `test_create_a_monitor_returns_ok_response.yaml` and friends, shortened).

use serde_json::{json, Value};

use super::hcl::{corpus_monitors, expr, resource_block};
use super::*;
use crate::recordings::Interaction;

const CREATE_SRC: &str =
    "tests/v1/cassettes/test_scenarios/test_create_a_cost_monitor_returns_ok_response.yaml";

fn interaction(
    method: &str,
    path: &str,
    query: &[(&str, &str)],
    request: Option<Value>,
    status: u16,
    response: Value,
) -> Interaction {
    Interaction {
        method: method.into(),
        path: path.into(),
        query: query.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        request,
        status,
        response_text: response.to_string(),
        response: Some(response),
    }
}

fn request() -> Value {
    json!({"message":"m","name":"Example Monitor","options":{"include_tags":true,"thresholds":{"critical":5,"warning":3}},
           "priority":3,"query":"avg(last_5m):avg:system.load.1{*} > 5","tags":["test:examplemonitor","env:ci"],"type":"metric alert"})
}

fn response(id: i64) -> Value {
    json!({"id":id,"type":"query alert","name":"Example Monitor","message":"m","tags":["test:examplemonitor","env:ci"],
           "query":"avg(last_5m):avg:system.load.1{*} > 5",
           "options":{"include_tags":true,"thresholds":{"critical":5.0,"warning":3.0},"notify_no_data":false,"silenced":{}},
           "multi":false,"created":"2025-01-17T11:21:26.560275+00:00","modified":"2025-01-17T11:21:26.560275+00:00",
           "priority":3,"overall_state":"No Data"})
}

fn corpus() -> Vec<Cassette> {
    vec![
        Cassette {
            source: CREATE_SRC.into(),
            recorded: Some("2025-01-17T11:21:26.000Z".into()),
            interactions: vec![
                interaction("POST", "/api/v1/monitor", &[], Some(request()), 200, response(162921056)),
                interaction("DELETE", "/api/v1/monitor/162921056", &[], None, 200, json!({"deleted_monitor_id":162921056})),
            ],
        },
        Cassette {
            source: "tests/v1/cassettes/test_scenarios/test_get_a_monitors_details_returns_monitor_not_found_error_response.yaml".into(),
            recorded: None,
            interactions: vec![interaction("GET", "/api/v1/monitor/12345", &[], None, 404, json!({"errors":["Monitor not found"]}))],
        },
        Cassette {
            source: "tests/v1/cassettes/test_scenarios/test_validate_a_monitor_returns_ok_response.yaml".into(),
            recorded: None,
            interactions: vec![interaction("POST", "/api/v1/monitor/validate", &[], Some(json!({"name":"other","type":"log alert","query":"q"})), 200, json!({}))],
        },
        Cassette {
            source: FORBIDDEN_CASSETTE.into(),
            recorded: None,
            interactions: vec![interaction("GET", "/api/v1/validate", &[], None, 403, json!({"errors":["API key required"]}))],
        },
    ]
}

fn call(s: &RecordedDatadog, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = reqwest::blocking::Client::new()
        .request(method, format!("{}{path}", s.base_url()))
        .header("DD-API-KEY", "k")
        .header("DD-APPLICATION-KEY", "a");
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().expect("request");
    (resp.status().as_u16(), resp.json().unwrap_or(Value::Null))
}

/// What watchkeep sends: the configured body, whole numbers as written, its two tags appended.
fn watchkeep_body() -> Value {
    let mut b = request();
    b["options"]["thresholds"] = json!({"warning": 3.0, "critical": 5});
    b["tags"] = json!([
        "test:examplemonitor",
        "env:ci",
        "managed-by:watchkeep",
        "watchkeep-address:datadog_monitor.x"
    ]);
    b
}

#[test]
fn match_key_ignores_watchkeep_tags_number_form_and_key_order() {
    assert_eq!(match_key(&watchkeep_body()), match_key(&request()));
    let mut other = watchkeep_body();
    other["options"]["thresholds"]["critical"] = json!(5.5);
    assert_ne!(match_key(&other), match_key(&request()), "a different threshold does not match");
    let mut reordered = watchkeep_body();
    reordered["tags"] = json!(["env:ci", "test:examplemonitor"]);
    assert_ne!(match_key(&reordered), match_key(&request()), "tag order is part of the body");
    // No tags configured: watchkeep sends only its own; the recording sent none, or `[]`.
    assert_eq!(
        match_key(&json!({"a":1,"tags":["managed-by:watchkeep","watchkeep-address:m"]})),
        json!({"a":1})
    );
    assert_eq!(match_key(&json!({"a":1,"tags":[]})), json!({"a":1}));
}

#[test]
fn a_matching_create_answers_the_recorded_body_with_the_tags_received() {
    let s = RecordedDatadog::start(&corpus()).unwrap();
    let (status, body) = call(&s, reqwest::Method::POST, "/api/v1/monitor", Some(watchkeep_body()));
    assert_eq!(status, 200, "{body}");
    let mut want = response(162921056);
    want["tags"] = watchkeep_body()["tags"].clone();
    assert_eq!(body, want, "the recorded answer, tags as received in the order received");
    // The read answer is the create answer (no read recorded), with the same tags.
    let (status, read) = call(&s, reqwest::Method::GET, "/api/v1/monitor/162921056", None);
    assert_eq!((status, &read), (200, &want));
    // The list: filtered by monitor_tags, paged.
    let (_, l) = call(
        &s,
        reqwest::Method::GET,
        "/api/v1/monitor?page=0&page_size=1000&monitor_tags=managed-by:watchkeep",
        None,
    );
    assert_eq!(l, json!([want]));
    let (_, l) = call(&s, reqwest::Method::GET, "/api/v1/monitor?page=1&page_size=1", None);
    assert_eq!(l, json!([]));
    let (_, l) =
        call(&s, reqwest::Method::GET, "/api/v1/monitor?page=0&page_size=10&monitor_tags=team:none", None);
    assert_eq!(l, json!([]));
    // Validate: a body whose create is recorded.
    assert_eq!(
        call(&s, reqwest::Method::POST, "/api/v1/monitor/validate", Some(watchkeep_body())),
        (200, json!({}))
    );
    // A second create of the same body: the recording is used up.
    let (status, _) = call(&s, reqwest::Method::POST, "/api/v1/monitor", Some(watchkeep_body()));
    assert_eq!(status, 501);
    assert_eq!(s.unrecorded().len(), 1, "{:?}", s.unrecorded());
    // Delete, then the recorded 404 on read.
    assert_eq!(
        call(&s, reqwest::Method::DELETE, "/api/v1/monitor/162921056", None),
        (200, json!({"deleted_monitor_id":162921056}))
    );
    assert_eq!(
        call(&s, reqwest::Method::GET, "/api/v1/monitor/162921056", None),
        (404, json!({"errors":["Monitor not found"]}))
    );
    assert!(s.live_ids().is_empty());
}

#[test]
fn unrecorded_requests_get_501_and_a_log_line() {
    let s = RecordedDatadog::start(&corpus()).unwrap();
    let mut other = watchkeep_body();
    other["name"] = json!("not recorded");
    let cases: Vec<(reqwest::Method, &str, Option<Value>)> = vec![
        (reqwest::Method::POST, "/api/v1/monitor", Some(other.clone())),
        (reqwest::Method::POST, "/api/v1/monitor/validate", Some(other)),
        (reqwest::Method::GET, "/api/v1/dashboard", None),
        (reqwest::Method::GET, "/api/v1/monitor", None),
        (reqwest::Method::GET, "/api/v1/monitor?page=0&page_size=10&id_offset=3", None),
        (reqwest::Method::PUT, "/api/v1/monitor/162921056", Some(json!({"name":"x"}))),
    ];
    let n = cases.len();
    for (m, p, b) in cases {
        let (status, body) = call(&s, m.clone(), p, b);
        assert_eq!(status, 501, "{m} {p}: {body}");
        assert!(body["errors"][0].as_str().is_some_and(|e| e.starts_with("not recorded")), "{body}");
    }
    assert_eq!(s.unrecorded().len(), n, "{:#?}", s.unrecorded());
    assert!(s.live_ids().is_empty(), "nothing was created");
}

#[test]
fn requests_without_keys_get_403() {
    let s = RecordedDatadog::start(&corpus()).unwrap();
    let url = format!("{}/api/v1/monitor?page=0&page_size=10", s.base_url());
    let r = reqwest::blocking::get(&url).unwrap();
    assert_eq!(r.status().as_u16(), 403);
    assert_eq!(r.json::<Value>().unwrap(), json!({"errors":["API key required"]}));
    let r = reqwest::blocking::Client::new().get(&url).header("DD-API-KEY", "k").send().unwrap();
    assert_eq!(r.status().as_u16(), 403);
}

#[test]
fn an_answer_patch_changes_reads_only() {
    let s = RecordedDatadog::start(&corpus()).unwrap();
    let (_, created) = call(&s, reqwest::Method::POST, "/api/v1/monitor", Some(watchkeep_body()));
    s.with_answer_patch(json!({"future_field":{"x":1},"overall_state":"Alert","multi":null}));
    let (_, read) = call(&s, reqwest::Method::GET, "/api/v1/monitor/162921056", None);
    assert_eq!(read["future_field"], json!({"x":1}));
    assert_eq!(read["overall_state"], "Alert");
    assert!(read.get("multi").is_none());
    assert_eq!(read["options"], created["options"]);
    s.with_answer_patch(Value::Null);
    assert_eq!(call(&s, reqwest::Method::GET, "/api/v1/monitor/162921056", None).1, created);
}

#[test]
fn recorded_creates_become_raw_blocks_as_recorded() {
    let monitors = corpus_monitors(&corpus());
    assert_eq!(monitors.len(), 1);
    assert_eq!(monitors[0].label, "create_a_cost_monitor");
    assert_eq!(monitors[0].id, 162921056);
    let body = json!({"name":"n ${x} %{y}","options":{"no_data_timeframe":null,"thresholds":{"critical":2}},
                      "priority":3,"variables":[{"name":"q","group_by":[]}],"silenced":{}});
    let hcl = resource_block("r", &body);
    assert_eq!(
        hcl,
        "resource \"datadog_monitor\" \"r\" {\n  name = \"n $${x} %%{y}\"\n  options = {\n    no_data_timeframe = null\n    \
         thresholds = {\n      critical = 2\n    }\n  }\n  priority = 3\n  variables = [\n    {\n      name = \"q\"\n      \
         group_by = []\n    },\n  ]\n  silenced = {}\n}\n"
    );
    let hcl = resource_block("r", &json!({"options":{"thresholds":{"critical":0.5}}}));
    assert_eq!(hcl, "resource \"datadog_monitor\" \"r\" {\n  options {\n    thresholds {\n      critical = 0.5\n    }\n  }\n}\n");
    assert_eq!(expr(&json!(["a", 1, true]), 0), "[\"a\", 1, true]");
}

#[test]
fn a_read_recorded_after_other_writes_is_not_the_monitors_read() {
    // Shaped like test_get_a_monitors_details_with_downtime_returns_ok_response.yaml: create,
    // POST /api/v1/downtime, then the read shows `options.silenced` set by that downtime.
    let mut silenced = response(162921056);
    silenced["options"]["silenced"] = json!({"*": 1685394919});
    let mut cassettes = corpus();
    cassettes[0].interactions.insert(
        1,
        interaction(
            "POST",
            "/api/v1/downtime",
            &[],
            Some(json!({"monitor_id":162921056})),
            200,
            json!({"id":1}),
        ),
    );
    cassettes[0].interactions.insert(
        2,
        interaction("GET", "/api/v1/monitor/162921056", &[("with_downtimes", "true")], None, 200, silenced),
    );
    let s = RecordedDatadog::start(&cassettes).unwrap();
    let (_, created) = call(&s, reqwest::Method::POST, "/api/v1/monitor", Some(watchkeep_body()));
    let (_, read) = call(&s, reqwest::Method::GET, "/api/v1/monitor/162921056", None);
    assert_eq!(read, created, "the create answer, not the read after the downtime");
    // Without the downtime in between, the recorded read is the answer.
    let mut read_answer = response(162921056);
    read_answer["matching_downtimes"] = json!([]);
    let mut cassettes = corpus();
    cassettes[0].interactions.insert(
        1,
        interaction(
            "GET",
            "/api/v1/monitor/162921056",
            &[("with_downtimes", "true")],
            None,
            200,
            read_answer.clone(),
        ),
    );
    let s = RecordedDatadog::start(&cassettes).unwrap();
    call(&s, reqwest::Method::POST, "/api/v1/monitor", Some(watchkeep_body()));
    let (_, read) = call(&s, reqwest::Method::GET, "/api/v1/monitor/162921056", None);
    read_answer["tags"] = watchkeep_body()["tags"].clone();
    assert_eq!(read, read_answer);
}

#[test]
fn dashboard_lists_answer_recorded_queries_or_the_named_emptied_list() {
    let page = json!({"dashboards":[{"id":"5vp-fxm-s4j","title":"PCF Testing","description":null}]});
    let mut cassettes = corpus();
    cassettes.push(Cassette {
        source: "tests/v1/cassettes/test_scenarios/test_get_all_dashboards_returns_ok_response_with_pagination.yaml".into(),
        recorded: None,
        interactions: vec![interaction("GET", "/api/v1/dashboard", &[("count", "2")], None, 200, page.clone())],
    });
    let s = RecordedDatadog::start(&cassettes).unwrap();
    assert_eq!(call(&s, reqwest::Method::GET, "/api/v1/dashboard?start=0&count=2", None), (200, page));
    assert_eq!(call(&s, reqwest::Method::GET, "/api/v1/dashboard?start=0&count=100", None).0, 501);
    s.with_dashboard_list_emptied();
    assert_eq!(
        call(&s, reqwest::Method::GET, "/api/v1/dashboard?start=0&count=100", None),
        (200, json!({"dashboards":[]}))
    );
    assert_eq!(call(&s, reqwest::Method::GET, "/api/v1/dashboard?filter[deleted]=true", None).0, 501);
    assert!(s.served().iter().any(|l| l.contains("test mutation: dashboards emptied")));
}
