//! HTTP receivers that speak the contracts `watchkeep routes test` sends to: PagerDuty Events API
//! v2 (`POST /v2/enqueue`), Slack incoming webhooks (`POST /services/<T>/<B>/<token>`) and generic
//! webhooks (`POST /hooks/<name>`), all on one loopback server.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};

use crate::server::BackgroundServer;

/// One request a receiver answered.
#[derive(Debug, Clone)]
pub struct Received {
    /// `pagerduty`, `slack`, `webhook`.
    pub receiver: &'static str,
    pub path: String,
    /// The body as JSON (`null` when it was not JSON).
    pub body: Value,
    pub raw: String,
    /// The status it was answered with.
    pub status: u16,
    pub answer: String,
}

/// What the Slack receiver answers on one webhook path.
#[derive(Debug, Clone)]
pub enum SlackBehaviour {
    /// 200 `ok`.
    Ok,
    /// A Slack failure: status and error string (410 `channel_is_archived`, 404
    /// `channel_not_found`, 403 `action_prohibited`, …).
    Fail(u16, String),
}

#[derive(Default)]
struct Shared {
    log: Vec<Received>,
    /// Statuses the PagerDuty receiver answers next, before validating (500, 429, …).
    pagerduty_script: VecDeque<u16>,
    slack: BTreeMap<String, SlackBehaviour>,
    /// Statuses the webhook receiver answers next per hook name.
    webhook_script: BTreeMap<String, VecDeque<u16>>,
    /// Print each request on stderr (the sandbox shows what arrived).
    echo: bool,
}

/// The PagerDuty, Slack and webhook receivers on one loopback port.
pub struct HttpReceivers {
    server: BackgroundServer,
    shared: Arc<Mutex<Shared>>,
}

impl HttpReceivers {
    /// Starts on `127.0.0.1:0`.
    pub fn start() -> std::io::Result<Self> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), false)
    }

    /// Starts on `addr`; `echo` prints every request (secrets masked) on stderr.
    pub fn start_on(addr: SocketAddr, echo: bool) -> std::io::Result<Self> {
        let shared = Arc::new(Mutex::new(Shared { echo, ..Shared::default() }));
        let app = Router::new()
            .route("/v2/enqueue", post(pagerduty))
            .route("/services/{*path}", post(slack))
            .route("/hooks/{*name}", post(webhook))
            .with_state(shared.clone());
        let server = BackgroundServer::start(addr, "receivers", 0, move |listener, shutdown| async move {
            let _ = axum::serve(listener, app).with_graceful_shutdown(shutdown).await;
        })?;
        Ok(HttpReceivers { server, shared })
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.server.addr())
    }

    /// PagerDuty's Events API v2 endpoint here (`events_url` in a `pagerduty` target).
    pub fn pagerduty_url(&self) -> String {
        format!("{}/v2/enqueue", self.base_url())
    }

    /// Registers a Slack incoming webhook (`path` like `T000/B000/token`) and its behaviour;
    /// returns its URL. A path never registered answers 404 `no_service`, as Slack does for a
    /// removed webhook.
    pub fn slack_hook(&self, path: &str, behaviour: SlackBehaviour) -> String {
        self.lock().slack.insert(path.to_string(), behaviour);
        format!("{}/services/{path}", self.base_url())
    }

    /// A generic webhook URL (`/hooks/<name>`); every hook answers 202 unless scripted.
    pub fn webhook_url(&self, name: &str) -> String {
        format!("{}/hooks/{name}", self.base_url())
    }

    /// The PagerDuty receiver answers the next requests with these statuses (500, 429) before
    /// it goes back to validating.
    pub fn script_pagerduty(&self, statuses: &[u16]) {
        self.lock().pagerduty_script.extend(statuses);
    }

    /// The webhook `name` answers its next requests with these statuses.
    pub fn script_webhook(&self, name: &str, statuses: &[u16]) {
        self.lock().webhook_script.entry(name.to_string()).or_default().extend(statuses);
    }

    /// Everything received so far, in order.
    pub fn received(&self) -> Vec<Received> {
        self.lock().log.clone()
    }

    /// What one receiver got (`pagerduty`, `slack`, `webhook`).
    pub fn received_by(&self, receiver: &str) -> Vec<Received> {
        self.lock().log.iter().filter(|r| r.receiver == receiver).cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }
}

type St = State<Arc<Mutex<Shared>>>;

fn record(
    shared: &Arc<Mutex<Shared>>,
    receiver: &'static str,
    path: String,
    raw: &[u8],
    status: u16,
    answer: String,
) {
    let raw = String::from_utf8_lossy(raw).into_owned();
    let body = serde_json::from_str(&raw).unwrap_or(Value::Null);
    let mut s = shared.lock().unwrap_or_else(|e| e.into_inner());
    if s.echo {
        // The routing key is a secret even here: show its length only.
        let mut shown = body.clone();
        if let Some(k) = shown.get_mut("routing_key") {
            *k = json!(format!("({} chars)", k.as_str().map_or(0, str::len)));
        }
        eprintln!("[receiver {receiver}] {path} -> {status} {answer}: {shown}");
    }
    s.log.push(Received { receiver, path, body, raw, status, answer });
}

/// PagerDuty Events API v2, as PagerDuty Developer documents it ("Send an Alert Event",
/// "Events API v2 Overview"): `routing_key` is the 32-character integration key; `event_action`
/// is `trigger`, `acknowledge` or `resolve`; a trigger needs `payload.summary` (at most 1024
/// characters), `payload.source` and `payload.severity` (`critical`, `error`, `warning`,
/// `info`); `acknowledge`/`resolve` need `dedup_key` (at most 255 characters). Accepted: 202
/// `{"status":"success","message":"Event processed","dedup_key":…}` (a trigger without a
/// `dedup_key` gets a generated one); invalid: 400 `{"status":"invalid event","message":"Event
/// object is invalid","errors":[…]}`. The texts of the individual `errors` entries are our
/// wording (guessed), the envelope is PagerDuty's. 429 answers with PagerDuty's throttle body
/// (`{"status":"throttle event",…}`; its exact wording is a guess).
async fn pagerduty(State(shared): St, body: Bytes) -> Response {
    let scripted = shared.lock().unwrap_or_else(|e| e.into_inner()).pagerduty_script.pop_front();
    let (status, answer) = match scripted {
        Some(429) => (
            429,
            json!({"status": "throttle event", "message": "Requests for this service are arriving too quickly.  Please retry later."}),
        ),
        Some(code) => (code, json!({"status": "error", "message": "Internal Server Error"})),
        None => pagerduty_validate(&body),
    };
    let message = answer.get("message").and_then(Value::as_str).unwrap_or("").to_string();
    record(&shared, "pagerduty", "/v2/enqueue".into(), &body, status, message);
    (StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), axum::Json(answer))
        .into_response()
}

fn pagerduty_validate(body: &[u8]) -> (u16, Value) {
    let invalid = |errors: Vec<String>| {
        (400, json!({"status": "invalid event", "message": "Event object is invalid", "errors": errors}))
    };
    let v: Value = match serde_json::from_slice(body) {
        Ok(v @ Value::Object(_)) => v,
        _ => return invalid(vec!["Event object must be a JSON object".into()]),
    };
    let mut errors = Vec::new();
    match v.get("routing_key").and_then(Value::as_str) {
        None => errors.push("'routing_key' is missing or blank".to_string()),
        Some(k) if k.len() != 32 => {
            errors.push("Length of 'routing_key' is incorrect (should be 32 characters)".to_string())
        }
        Some(_) => {}
    }
    let action = v.get("event_action").and_then(Value::as_str).unwrap_or("");
    if !["trigger", "acknowledge", "resolve"].contains(&action) {
        errors.push("'event_action' is invalid (must be one of: trigger, acknowledge, resolve)".to_string());
    }
    let dedup = v.get("dedup_key").and_then(Value::as_str);
    if dedup.is_some_and(|d| d.len() > 255) {
        errors.push("'dedup_key' is longer than 255 characters".to_string());
    }
    if action == "trigger" {
        let p = v.get("payload");
        match p.and_then(|p| p.get("summary")).and_then(Value::as_str) {
            None | Some("") => errors.push("'payload.summary' is missing or blank".to_string()),
            Some(s) if s.chars().count() > 1024 => {
                errors.push("'payload.summary' is longer than 1024 characters".to_string())
            }
            Some(_) => {}
        }
        if p.and_then(|p| p.get("source")).and_then(Value::as_str).is_none_or(str::is_empty) {
            errors.push("'payload.source' is missing or blank".to_string());
        }
        let sev = p.and_then(|p| p.get("severity")).and_then(Value::as_str).unwrap_or("");
        if !["critical", "error", "warning", "info"].contains(&sev) {
            errors.push(
                "'payload.severity' is invalid (must be one of: critical, error, warning, info)".to_string(),
            );
        }
    } else if !action.is_empty() && dedup.is_none_or(str::is_empty) {
        errors.push(format!("'dedup_key' is required for event_action '{action}'"));
    }
    if !errors.is_empty() {
        return invalid(errors);
    }
    let key = dedup.map(str::to_string).unwrap_or_else(|| uuid_like(body));
    (202, json!({"status": "success", "message": "Event processed", "dedup_key": key}))
}

/// A stable 32-hex key for a trigger sent without one (PagerDuty generates a UUID-like key).
fn uuid_like(body: &[u8]) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    body.hash(&mut h);
    format!("{:016x}{:016x}", h.finish(), body.len())
}

/// Slack incoming webhooks, per Slack's "Sending messages using incoming webhooks" → "Handling
/// errors": 200 `ok`; 400 `invalid_payload` (not JSON) or `no_text` (no `text`, `blocks` or
/// `attachments`); 404 `no_service` for a webhook that does not exist; a registered path
/// answers what it was told to (410 `channel_is_archived`, …). Bodies are plain text.
async fn slack(State(shared): St, Path(path): Path<String>, body: Bytes) -> Response {
    let behaviour = shared.lock().unwrap_or_else(|e| e.into_inner()).slack.get(&path).cloned();
    let (status, answer) = match behaviour {
        None => (404, "no_service".to_string()),
        Some(SlackBehaviour::Fail(code, err)) => (code, err),
        Some(SlackBehaviour::Ok) => match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(m)) => {
                let has_text = m.get("text").and_then(Value::as_str).is_some_and(|t| !t.trim().is_empty());
                if has_text || m.contains_key("blocks") || m.contains_key("attachments") {
                    (200, "ok".to_string())
                } else {
                    (400, "no_text".to_string())
                }
            }
            _ => (400, "invalid_payload".to_string()),
        },
    };
    record(&shared, "slack", format!("/services/{path}"), &body, status, answer.clone());
    (StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), answer).into_response()
}

/// A generic webhook: records the JSON and answers 202 `{"received":true}` (or a scripted status).
async fn webhook(State(shared): St, Path(name): Path<String>, body: Bytes) -> Response {
    let scripted = shared
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .webhook_script
        .get_mut(&name)
        .and_then(VecDeque::pop_front);
    let (status, answer) = match scripted {
        Some(code) => (code, json!({"error": "scripted failure"})),
        None if serde_json::from_slice::<Value>(&body).is_err() => {
            (400, json!({"error": "body is not JSON"}))
        }
        None => (202, json!({"received": true})),
    };
    record(&shared, "webhook", format!("/hooks/{name}"), &body, status, answer.to_string());
    (StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), axum::Json(answer))
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pagerduty_validation_follows_the_documented_contract() {
        let ok = json!({"routing_key": "0123456789abcdef0123456789abcdef", "event_action": "trigger", "dedup_key": "k",
            "payload": {"summary": "s", "source": "h", "severity": "info"}});
        let (status, body) = pagerduty_validate(ok.to_string().as_bytes());
        assert_eq!((status, body["dedup_key"].as_str()), (202, Some("k")));
        let bad = json!({"routing_key": "short", "event_action": "trigger", "payload": {"summary": "s", "source": "h", "severity": "loud"}});
        let (status, body) = pagerduty_validate(bad.to_string().as_bytes());
        assert_eq!(status, 400);
        assert_eq!(body["status"], "invalid event");
        assert_eq!(body["errors"].as_array().map(Vec::len), Some(2), "{body}");
        let resolve = json!({"routing_key": "0123456789abcdef0123456789abcdef", "event_action": "resolve"});
        assert_eq!(pagerduty_validate(resolve.to_string().as_bytes()).0, 400);
    }
}
