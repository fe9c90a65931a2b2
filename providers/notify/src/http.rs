//! The HTTP channels: PagerDuty Events API v2, Slack incoming webhooks, generic webhooks.

use std::time::Duration;

use serde_json::{json, Value};

use crate::{scrub, Options, Outcome, Secret, Status, TestMessage};

/// PagerDuty's Events API v2 endpoint (PagerDuty Developer, "Send an Alert Event":
/// `POST https://events.pagerduty.com/v2/enqueue`).
pub const PAGERDUTY_EVENTS_URL: &str = "https://events.pagerduty.com/v2/enqueue";

/// How one answer is treated.
enum Class {
    Accepted,
    /// Refused; retrying would not help.
    Refused,
    /// 429, 5xx, or no answer: retried with back-off.
    Retry,
}

/// The last answer of one step (a test or a resolve), after retries.
struct Step {
    class: Class,
    /// `202 Event processed`, `410 channel_is_archived`, `no answer: timed out`.
    answer: String,
    body: String,
    attempts: u32,
}

fn client(opts: &Options) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .timeout(opts.timeout)
        .connect_timeout(opts.timeout)
        // A redirect could carry the webhook's secret path elsewhere; a channel answers directly.
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| format!("could not build an HTTP client: {}", e.without_url()))
}

fn retry_after(resp: &reqwest::Response) -> Option<Duration> {
    resp.headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

/// POSTs `body` to `url` until `classify` accepts or refuses it, or `max_attempts` are spent.
async fn post(
    client: &reqwest::Client,
    url: &str,
    body: &Value,
    opts: &Options,
    secrets: &[&str],
    classify: impl Fn(u16, &str) -> (Class, String),
) -> Step {
    let mut attempts = 0;
    loop {
        attempts += 1;
        let (class, answer, body_text, wait) = match client.post(url).json(body).send().await {
            Ok(resp) => {
                let code = resp.status().as_u16();
                let after = retry_after(&resp);
                let text = resp.text().await.unwrap_or_default();
                let (class, answer) = classify(code, &text);
                (class, scrub(&answer, secrets), text, after)
            }
            // `without_url`: the URL of a webhook is its secret.
            Err(e) => {
                let what = if e.is_timeout() {
                    format!("no answer within {:?}", opts.timeout)
                } else if e.is_connect() {
                    format!("could not connect: {}", root_cause(&e))
                } else {
                    format!("request failed: {}", e.without_url())
                };
                (Class::Retry, scrub(&what, secrets), String::new(), None)
            }
        };
        match class {
            Class::Retry if attempts < opts.max_attempts => {
                tokio::time::sleep(opts.wait(attempts, wait)).await;
            }
            class => return Step { class, answer, body: body_text, attempts },
        }
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

fn step_status(step: &Step) -> Status {
    match step.class {
        Class::Accepted => Status::Delivered,
        Class::Refused => Status::Rejected,
        Class::Retry => Status::Failed,
    }
}

fn after_retries(step: &Step) -> String {
    match step.class {
        Class::Retry if step.attempts > 1 => format!("{} (after {} attempts)", step.answer, step.attempts),
        _ => step.answer.clone(),
    }
}

/// Tests and resolves one PagerDuty service through the Events API v2.
///
/// Per PagerDuty Developer "Send an Alert Event" / "Events API v2 Overview": a trigger carries
/// `routing_key`, `event_action`, `dedup_key` and `payload {summary, source, severity}`
/// (`custom_details` optional); a resolve carries `routing_key`, `event_action` and the same
/// `dedup_key`. `202 {"status":"success","message":"Event processed","dedup_key":…}` accepts;
/// `400 {"status":"invalid event","message":…,"errors":[…]}` is not retried; `429` (rate limited)
/// and `5xx` are retried with back-off.
pub async fn pagerduty(events_url: &str, routing_key: &Secret, msg: &TestMessage, opts: &Options) -> Outcome {
    let secrets = [routing_key.expose()];
    let client = match client(opts) {
        Ok(c) => c,
        Err(e) => return failed(e, Some(msg.dedup_key.clone())),
    };
    let mut summary = msg.summary();
    // PagerDuty: `summary` is at most 1024 characters.
    if summary.chars().count() > 1024 {
        summary = summary.chars().take(1021).collect::<String>() + "...";
    }
    let trigger = json!({
        "routing_key": routing_key.expose(),
        "event_action": "trigger",
        "dedup_key": msg.dedup_key,
        "client": "watchkeep",
        "payload": {
            "summary": summary,
            "source": msg.source,
            // The lowest severity PagerDuty accepts (critical, error, warning, info).
            "severity": "info",
            "custom_details": {
                "watchkeep_test": true,
                "route": msg.route,
                "target": msg.target,
            }
        }
    });
    let test = post(&client, events_url, &trigger, opts, &secrets, pagerduty_answer).await;
    let mut attempts = test.attempts;
    let dedup = serde_json::from_str::<Value>(&test.body)
        .ok()
        .and_then(|v| v.get("dedup_key").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_else(|| msg.dedup_key.clone());
    if !matches!(test.class, Class::Accepted) {
        return Outcome {
            status: step_status(&test),
            answer: after_retries(&test),
            dedup_key: Some(dedup),
            attempts,
            resolved: None,
        };
    }
    let resolve = json!({
        "routing_key": routing_key.expose(),
        "event_action": "resolve",
        "dedup_key": dedup,
    });
    let res = post(&client, events_url, &resolve, opts, &secrets, pagerduty_answer).await;
    attempts += res.attempts;
    resolved_outcome(test, res, Some(dedup), attempts)
}

fn pagerduty_answer(code: u16, body: &str) -> (Class, String) {
    let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let message = v.get("message").and_then(Value::as_str).unwrap_or("").to_string();
    let errors: Vec<&str> = v
        .get("errors")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let text = match (message.is_empty(), errors.is_empty()) {
        (true, true) => body.chars().take(200).collect::<String>(),
        (false, true) => message,
        (true, false) => errors.join("; "),
        (false, false) => format!("{message}: {}", errors.join("; ")),
    };
    let answer = format!("{code} {text}").trim().to_string();
    let class = match code {
        202 | 200 => Class::Accepted,
        429 | 500..=599 => Class::Retry,
        _ => Class::Refused,
    };
    (class, answer)
}

/// Posts one test message to a Slack incoming webhook. Slack has no resolve.
///
/// Per Slack's "Sending messages using incoming webhooks" → "Handling errors" (and the 2016-05-17
/// changelog "Improving error conditions for Incoming Webhooks"): `200` with the body `ok`
/// accepts; `400 invalid_payload`/`no_text`, `403 action_prohibited`/`invalid_token`,
/// `404 channel_not_found`/`no_service`, `410 channel_is_archived` are refusals (not retried);
/// `429` and `5xx` (`rollup_error`) are retried.
pub async fn slack(webhook_url: &Secret, msg: &TestMessage, opts: &Options) -> Outcome {
    let secrets = secret_parts(webhook_url.expose());
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    let client = match client(opts) {
        Ok(c) => c,
        Err(e) => return failed(e, None),
    };
    let body = json!({ "text": msg.summary() });
    let step = post(&client, webhook_url.expose(), &body, opts, &secrets, |code, body| {
        let text = body.trim().chars().take(200).collect::<String>();
        let class = match code {
            200 if text == "ok" => Class::Accepted,
            // Slack answers `ok`; anything else with a 200 is not an incoming webhook.
            200..=299 => Class::Refused,
            429 | 500..=599 => Class::Retry,
            _ => Class::Refused,
        };
        (class, format!("{code} {text}").trim().to_string())
    })
    .await;
    Outcome {
        status: step_status(&step),
        answer: after_retries(&step),
        dedup_key: None,
        attempts: step.attempts,
        resolved: None,
    }
}

/// The generic webhook payload (documented in the README): `watchkeep_test: true`,
/// `event_action` `trigger` then `resolve`, the same `dedup_key` in both.
pub fn webhook_payload(msg: &TestMessage, action: &str) -> Value {
    json!({
        "watchkeep_test": true,
        "event_action": action,
        "dedup_key": msg.dedup_key,
        "route": msg.route,
        "target": msg.target,
        "summary": if action == "resolve" { msg.resolved_summary() } else { msg.summary() },
        "source": msg.source,
        "sent_at": chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
    })
}

/// POSTs a test (`event_action: trigger`) and then a resolve to a generic webhook. Any 2xx
/// accepts; 408, 429 and 5xx are retried; other answers are refusals.
pub async fn webhook(url: &Secret, msg: &TestMessage, opts: &Options) -> Outcome {
    let secrets = secret_parts(url.expose());
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    let client = match client(opts) {
        Ok(c) => c,
        Err(e) => return failed(e, Some(msg.dedup_key.clone())),
    };
    let classify = |code: u16, body: &str| {
        let text = body.trim().chars().take(200).collect::<String>();
        let class = match code {
            200..=299 => Class::Accepted,
            408 | 429 | 500..=599 => Class::Retry,
            _ => Class::Refused,
        };
        (class, format!("{code} {text}").trim().to_string())
    };
    let test = post(&client, url.expose(), &webhook_payload(msg, "trigger"), opts, &secrets, classify).await;
    if !matches!(test.class, Class::Accepted) {
        return Outcome {
            status: step_status(&test),
            answer: after_retries(&test),
            dedup_key: Some(msg.dedup_key.clone()),
            attempts: test.attempts,
            resolved: None,
        };
    }
    let res = post(&client, url.expose(), &webhook_payload(msg, "resolve"), opts, &secrets, classify).await;
    let attempts = test.attempts + res.attempts;
    resolved_outcome(test, res, Some(msg.dedup_key.clone()), attempts)
}

fn resolved_outcome(test: Step, res: Step, dedup_key: Option<String>, attempts: u32) -> Outcome {
    match res.class {
        Class::Accepted => Outcome {
            status: Status::Delivered,
            answer: format!("{}; resolve: {}", test.answer, res.answer),
            dedup_key,
            attempts,
            resolved: Some(true),
        },
        _ => Outcome {
            status: Status::Failed,
            answer: format!(
                "{}; resolve refused: {} (the test may still be open)",
                test.answer,
                after_retries(&res)
            ),
            dedup_key,
            attempts,
            resolved: Some(false),
        },
    }
}

fn failed(answer: String, dedup_key: Option<String>) -> Outcome {
    Outcome { status: Status::Failed, answer, dedup_key, attempts: 0, resolved: None }
}

/// The secret parts of a URL: the whole URL, its path and query, each path segment of 6+ chars
/// (Slack's `T…/B…/token`), and any password.
fn secret_parts(url: &str) -> Vec<String> {
    let mut out = vec![url.to_string()];
    if let Ok(u) = reqwest::Url::parse(url) {
        out.push(u.path().to_string());
        if let Some(q) = u.query() {
            out.push(q.to_string());
        }
        if let Some(p) = u.password() {
            out.push(p.to_string());
        }
        out.extend(u.path_segments().into_iter().flatten().filter(|s| s.len() >= 6).map(str::to_string));
    }
    out.retain(|s| s.len() >= 4 && s != "/");
    out.sort_by_key(|s| std::cmp::Reverse(s.len()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pagerduty_answers_are_classified_as_documented() {
        let (c, a) =
            pagerduty_answer(202, r#"{"status":"success","message":"Event processed","dedup_key":"k"}"#);
        assert!(matches!(c, Class::Accepted));
        assert_eq!(a, "202 Event processed");
        let (c, a) = pagerduty_answer(
            400,
            r#"{"status":"invalid event","message":"Event object is invalid","errors":["Length of 'routing_key' is incorrect (should be 32 characters)"]}"#,
        );
        assert!(matches!(c, Class::Refused));
        assert_eq!(
            a,
            "400 Event object is invalid: Length of 'routing_key' is incorrect (should be 32 characters)"
        );
        assert!(matches!(pagerduty_answer(429, "").0, Class::Retry));
        assert!(matches!(pagerduty_answer(503, "").0, Class::Retry));
    }

    #[test]
    fn url_secrets_cover_path_segments() {
        let parts = secret_parts("https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXX");
        assert!(parts.contains(&"XXXXXXXXXXXX".to_string()));
        assert!(parts.contains(&"services".to_string()));
        assert_eq!(
            scrub("404 no_service for XXXXXXXXXXXX", &parts.iter().map(String::as_str).collect::<Vec<_>>()),
            "404 no_service for (redacted)"
        );
    }
}

/// Against a real local server: timeouts are retried and bounded, redirects are not followed,
/// and no answer carries the webhook's secret path.
#[cfg(test)]
mod server_tests {
    use std::time::Duration;

    use axum::http::StatusCode;
    use axum::response::{IntoResponse, Redirect};
    use axum::routing::post;
    use axum::Router;

    use super::*;

    async fn serve(app: Router) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}")
    }

    fn quick() -> Options {
        Options {
            timeout: Duration::from_millis(200),
            max_attempts: 3,
            backoff: Duration::from_millis(10),
            max_wait: Duration::from_millis(50),
        }
    }

    fn msg() -> TestMessage {
        TestMessage::new("oncall", "webhook bot", "test")
    }

    #[tokio::test]
    async fn a_silent_webhook_fails_after_bounded_retries_without_its_path() {
        let hits = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
        let h = hits.clone();
        let base = serve(Router::new().route(
            "/hook/{secret}",
            post(move || {
                let h = h.clone();
                async move {
                    h.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    StatusCode::OK
                }
            }),
        ))
        .await;
        let url = Secret::new(format!("{base}/hook/SECRETPATH123"));
        let o = webhook(&url, &msg(), &quick()).await;
        assert_eq!(o.status, Status::Failed);
        assert_eq!(o.attempts, 3);
        assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 3);
        assert!(
            o.answer.contains("no answer within") && o.answer.contains("after 3 attempts"),
            "{}",
            o.answer
        );
        assert!(!o.answer.contains("SECRETPATH123"), "{}", o.answer);
    }

    #[tokio::test]
    async fn a_redirect_is_not_followed_and_429_honours_a_capped_retry_after() {
        let base = serve(
            Router::new()
                .route("/moved/{secret}", post(|| async { Redirect::temporary("/elsewhere") }))
                .route(
                    "/busy/{secret}",
                    post(|| async {
                        (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "3600")], "rate_limited")
                            .into_response()
                    }),
                ),
        )
        .await;
        let o = slack(&Secret::new(format!("{base}/moved/SECRETTOKEN1")), &msg(), &quick()).await;
        assert_eq!((o.status, o.attempts), (Status::Rejected, 1), "{o:?}");
        let started = std::time::Instant::now();
        let o = slack(&Secret::new(format!("{base}/busy/SECRETTOKEN2")), &msg(), &quick()).await;
        assert_eq!((o.status, o.attempts), (Status::Failed, 3), "{o:?}");
        assert_eq!(o.answer, "429 rate_limited (after 3 attempts)");
        assert!(started.elapsed() < Duration::from_secs(2), "Retry-After: 3600 is capped at max_wait");
    }
}
