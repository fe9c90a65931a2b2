//! A dated picture of a managed dashboard for `watchkeep evidence`: a Datadog graph snapshot of
//! the dashboard's in-scope hosts, or, when that fails, the same query's series for the engine
//! to draw.
//!
//! 1. The query: the dashboard's widget queries (as `engine/src/compile/datadog.rs`
//!    `compile_dashboards` writes them: per component a group of timeseries widgets whose
//!    `q` is the catalog expression with the component's scope, e.g.
//!    `100 - avg:system.cpu.idle{host:web-1}`) are read in order; the first one with a single
//!    `{scope}` gives the shape, and every widget query of the same shape adds its scope. The
//!    scopes are joined with `OR` (a scope with several tags becomes `(a AND b)`), as Datadog's
//!    metric queries allow boolean filters (docs, "Advanced Filtering": `AND`, `OR`, `NOT`,
//!    `IN` and parentheses inside `{}`), and grouped `by {<the scopes' tag keys>}` so each host
//!    is its own line: `100 - avg:system.cpu.idle{host:web-1 OR host:web-2} by {host}`.
//! 2. `GET /api/v1/graph/snapshot?metric_query=&start=&end=&title=` (`GetGraphSnapshot`,
//!    answer `GraphSnapshot {graph_def, metric_query, snapshot_url}`).
//! 3. `snapshot_url` is a public image URL on another host (`p.datadoghq.com`): it is fetched
//!    with a client that sends no Datadog keys, at most [`MAX_IMAGE_BYTES`]. Datadog renders
//!    snapshots asynchronously and the URL answers 403/404 until the image exists (guess: the
//!    docs say only that the URL is returned; clients commonly wait a few seconds before
//!    downloading it), so a 403/404 is retried after 1, 2, 4 and 8 s (15 s at most), then
//!    given up.
//! 4. The bytes must be a PNG ([`watchkeep_provider::png_size`]).
//! 5. Any failure of 2–4 falls back to `GET /api/v1/query?from=&to=&query=` (`QueryMetrics`,
//!    calibrated on the recorded `test_query_timeseries_points_returns_ok_response.yaml`:
//!    `series[].pointlist` of `[epoch ms, value|null]`, `scope`, `expression`), returned as
//!    [`Picture::Series`] whose `source` says why the snapshot was not used.

use std::time::Duration;

use reqwest::Method;
use serde_json::Value;
use watchkeep_provider::{png_size, Picture, ProviderError, Result, Series};

use crate::http::Http;

/// The largest snapshot image accepted.
pub(crate) const MAX_IMAGE_BYTES: usize = 10 * 1024 * 1024;

/// Waits before each further try of a snapshot image that is not there yet.
pub(crate) const IMAGE_RETRY_DELAYS: &[Duration] =
    &[Duration::from_secs(1), Duration::from_secs(2), Duration::from_secs(4), Duration::from_secs(8)];

fn widget_queries(widgets: &Value, out: &mut Vec<String>) {
    for w in widgets.as_array().into_iter().flatten() {
        let def = &w["definition"];
        if let Some(q) = def["requests"].as_array() {
            out.extend(q.iter().filter_map(|r| r["q"].as_str()).map(str::to_owned));
        }
        widget_queries(&def["widgets"], out);
    }
}

/// `q` split at its only `{…}`: `(before, scope, after)`.
fn split_scope(q: &str) -> Option<(&str, &str, &str)> {
    if q.matches('{').count() != 1 || q.matches('}').count() != 1 {
        return None;
    }
    let open = q.find('{')?;
    let close = q.find('}')?;
    (open < close).then(|| (&q[..open], q[open + 1..close].trim(), &q[close + 1..]))
}

/// The one metric query showing every in-scope host of a dashboard (see the module doc);
/// `None` when its widgets have no metric query watchkeep can combine.
pub(crate) fn picture_query(attrs: &Value) -> Option<String> {
    let mut queries = Vec::new();
    widget_queries(&attrs["widgets"], &mut queries);
    let (before, _, after) = queries.iter().find_map(|q| split_scope(q))?;
    let mut scopes: Vec<&str> = Vec::new();
    for q in &queries {
        if let Some((b, s, a)) = split_scope(q) {
            if b == before && a == after && !s.is_empty() && !scopes.contains(&s) {
                scopes.push(s);
            }
        }
    }
    let tags_of = |s: &str| -> Vec<String> { s.split(',').map(|t| t.trim().to_owned()).collect() };
    let scope = if scopes.len() == 1 {
        scopes[0].to_owned()
    } else {
        scopes
            .iter()
            .map(|s| {
                let tags = tags_of(s);
                if tags.len() == 1 {
                    tags[0].clone()
                } else {
                    format!("({})", tags.join(" AND "))
                }
            })
            .collect::<Vec<_>>()
            .join(" OR ")
    };
    let mut keys: Vec<String> = Vec::new();
    for s in &scopes {
        for t in tags_of(s) {
            if let Some((k, _)) = t.split_once(':') {
                if !keys.iter().any(|x| x == k) {
                    keys.push(k.to_owned());
                }
            }
        }
    }
    let mut out = format!("{}{{{scope}}}{}", before, after.trim_end());
    if !after.contains(" by ") && !keys.is_empty() && !scopes.contains(&"*") {
        out.push_str(&format!(" by {{{}}}", keys.join(",")));
    }
    Some(out.trim().to_owned())
}

/// Why a snapshot gave no picture (for the fallback's `source`).
enum NoSnapshot {
    Failed(ProviderError),
    NoUrl,
    NotReady,
    NotPng,
}

impl std::fmt::Display for NoSnapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NoSnapshot::Failed(e) => write!(f, "the graph snapshot failed: {e}"),
            NoSnapshot::NoUrl => f.write_str("the graph snapshot answer had no snapshot_url"),
            NoSnapshot::NotReady => f.write_str("the graph snapshot image was not ready after 15 s"),
            NoSnapshot::NotPng => f.write_str("the graph snapshot image was not a PNG"),
        }
    }
}

async fn snapshot(
    http: &Http,
    query: &str,
    title: &str,
    from: i64,
    to: i64,
    delays: &[Duration],
) -> std::result::Result<Vec<u8>, NoSnapshot> {
    let params = [
        ("metric_query", query.to_owned()),
        ("start", from.to_string()),
        ("end", to.to_string()),
        ("title", title.to_owned()),
    ];
    let answer =
        http.json(Method::GET, "/api/v1/graph/snapshot", &params, None).await.map_err(NoSnapshot::Failed)?;
    let url = answer["snapshot_url"].as_str().filter(|u| !u.trim().is_empty()).ok_or(NoSnapshot::NoUrl)?;
    let mut waits = delays.iter();
    loop {
        match http.download(url, MAX_IMAGE_BYTES).await.map_err(NoSnapshot::Failed)? {
            Some(bytes) if png_size(&bytes).is_some() => return Ok(bytes),
            Some(_) => return Err(NoSnapshot::NotPng),
            None => match waits.next() {
                Some(d) => tokio::time::sleep(*d).await,
                None => return Err(NoSnapshot::NotReady),
            },
        }
    }
}

/// `QueryMetrics` answer → series named by scope (or expression), `null` points skipped.
pub(crate) fn series_of(answer: &Value) -> Vec<Series> {
    answer["series"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            let scope = s["scope"].as_str().filter(|x| !x.is_empty() && *x != "*");
            let name =
                scope.or(s["expression"].as_str()).or(s["metric"].as_str()).unwrap_or("series").to_owned();
            let points = s["pointlist"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| Some(((p.get(0)?.as_f64()? / 1000.0) as i64, p.get(1)?.as_f64()?)))
                .collect();
            Series { name, points }
        })
        .collect()
}

/// See the module doc. `Ok(None)` when the dashboard has no metric query to picture.
pub(crate) async fn picture(http: &Http, attrs: &Value, from: i64, to: i64) -> Result<Option<Picture>> {
    picture_with_delays(http, attrs, from, to, IMAGE_RETRY_DELAYS).await
}

pub(crate) async fn picture_with_delays(
    http: &Http,
    attrs: &Value,
    from: i64,
    to: i64,
    delays: &[Duration],
) -> Result<Option<Picture>> {
    let Some(query) = picture_query(attrs) else { return Ok(None) };
    let title = attrs["title"].as_str().unwrap_or("dashboard").trim().to_owned();
    let why = match snapshot(http, &query, &title, from, to, delays).await {
        Ok(bytes) => {
            return Ok(Some(Picture::Png { bytes, source: format!("Datadog graph snapshot of `{query}`") }))
        }
        Err(why) => why,
    };
    let params = [("from", from.to_string()), ("to", to.to_string()), ("query", query.clone())];
    let answer = http.json(Method::GET, "/api/v1/query", &params, None).await?;
    Ok(Some(Picture::Series {
        title,
        series: series_of(&answer),
        source: format!("Datadog metric query `{query}` (GET /api/v1/query), because {why}"),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn dashboard(scopes: &[&str]) -> Value {
        let groups: Vec<Value> = scopes
            .iter()
            .map(|s| {
                json!({"definition": {"type": "group", "widgets": [
                    {"definition": {"type": "timeseries", "requests": [{"q": format!("100 - avg:system.cpu.idle{{{s}}}")}]}},
                    {"definition": {"type": "timeseries", "requests": [{"q": format!("avg:system.net.bytes_rcvd{{{s}}} + avg:system.net.bytes_sent{{{s}}}")}]}},
                    {"definition": {"type": "check_status", "check": "datadog.agent.up"}},
                ]}})
            })
            .collect();
        json!({"title": "Infra", "widgets": groups})
    }

    #[test]
    fn one_query_for_every_host() {
        assert_eq!(
            picture_query(&dashboard(&["host:web-1", "host:web-2"])).as_deref(),
            Some("100 - avg:system.cpu.idle{host:web-1 OR host:web-2} by {host}")
        );
        assert_eq!(
            picture_query(&dashboard(&["host:web-1"])).as_deref(),
            Some("100 - avg:system.cpu.idle{host:web-1} by {host}")
        );
        assert_eq!(
            picture_query(&dashboard(&["host:a,env:prod", "host:b,env:prod"])).as_deref(),
            Some("100 - avg:system.cpu.idle{(host:a AND env:prod) OR (host:b AND env:prod)} by {host,env}")
        );
        assert_eq!(picture_query(&json!({"widgets": [{"definition": {"type": "note"}}]})), None);
    }

    fn http(stand_in: &watchkeep_tests::DatadogStandIn, key: &str) -> Http {
        let block = json!({"api_url": stand_in.base_url()});
        let key = key.to_owned();
        let env = move |n: &str| match n {
            "DD_API_KEY" => Some(key.clone()),
            "DD_APP_KEY" => Some("app".to_owned()),
            _ => None,
        };
        Http::new(&crate::DatadogConfig::from_block(block.as_object().unwrap(), &env).unwrap()).unwrap()
    }

    async fn post_idle(stand_in: &watchkeep_tests::DatadogStandIn, key: &str, at: i64) {
        let body =
            json!({"series": [{"metric": "system.cpu.idle", "host": "web-1", "points": [[at, 40.0]]}]});
        let resp = reqwest::Client::new()
            .post(format!("{}/api/v1/series", stand_in.base_url()))
            .header("DD-API-KEY", key)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 202);
    }

    #[tokio::test]
    async fn an_image_not_ready_yet_is_waited_for_a_bounded_time() {
        let dd = watchkeep_tests::DatadogStandIn::start(Default::default()).unwrap();
        let http = http(&dd, "key-pending");
        let t = chrono::Utc::now().timestamp() - 60;
        post_idle(&dd, "key-pending", t).await;
        let no_wait = [Duration::ZERO, Duration::ZERO];
        // Two 403s, then the image: three downloads, a PNG.
        dd.set_snapshot_pending(2);
        let p =
            picture_with_delays(&http, &dashboard(&["host:web-1"]), t - 60, t + 60, &no_wait).await.unwrap();
        assert!(matches!(p, Some(Picture::Png { .. })), "{p:?}");
        assert_eq!(dd.snapshot_downloads(), (3, 0));
        // Still not there after every wait: the series instead, saying why.
        dd.set_snapshot_pending(10);
        let p =
            picture_with_delays(&http, &dashboard(&["host:web-1"]), t - 60, t + 60, &no_wait).await.unwrap();
        match p {
            Some(Picture::Series { series, source, .. }) => {
                assert!(source.contains("not ready"), "{source}");
                assert_eq!(series[0].points, vec![(t, 60.0)]);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(dd.snapshot_downloads(), (6, 0), "one try and one per wait");
        assert_eq!(IMAGE_RETRY_DELAYS.iter().sum::<Duration>(), Duration::from_secs(15));
    }

    /// Answers one connection per entry, in order (`Connection: close`), at `base`.
    async fn canned(answers: Vec<(&'static str, Vec<u8>)>) -> (String, tokio::task::JoinHandle<Vec<String>>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let mut requests = Vec::new();
            for (head, body) in answers {
                let Ok((mut sock, _)) = listener.accept().await else { break };
                let mut buf = vec![0u8; 16 * 1024];
                let n = sock.read(&mut buf).await.unwrap_or(0);
                requests.push(String::from_utf8_lossy(&buf[..n]).to_lowercase());
                let _ = sock.write_all(head.as_bytes()).await;
                let _ = sock.write_all(&body).await;
                let _ = sock.shutdown().await;
            }
            requests
        });
        (base, task)
    }

    fn ok_json(body: String) -> (&'static str, Vec<u8>) {
        let head: &'static str = Box::leak(
            format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len())
                .into_boxed_str(),
        );
        (head, body.into_bytes())
    }

    async fn with_image(image: (&'static str, Vec<u8>)) -> (Option<Picture>, Vec<String>) {
        let (image_base, image_task) = canned(vec![image]).await;
        let snapshot = ok_json(format!(r#"{{"metric_query":"q","snapshot_url":"{image_base}/img.png"}}"#));
        let query =
            ok_json(r#"{"status":"ok","series":[{"scope":"host:web-1","pointlist":[[1000,1.5]]}]}"#.into());
        let (api, api_task) = canned(vec![snapshot, query]).await;
        let block = json!({"api_url": api});
        let env = |n: &str| match n {
            "DD_API_KEY" => Some("the-api-key".to_owned()),
            "DD_APP_KEY" => Some("the-app-key".to_owned()),
            _ => None,
        };
        let http =
            Http::new(&crate::DatadogConfig::from_block(block.as_object().unwrap(), &env).unwrap()).unwrap();
        let p = picture_with_delays(&http, &dashboard(&["host:web-1"]), 0, 10, &[]).await.unwrap();
        let mut seen = image_task.await.unwrap();
        seen.extend(api_task.await.unwrap());
        (p, seen)
    }

    #[tokio::test]
    async fn an_image_that_is_no_png_or_too_large_falls_back() {
        let junk = (
            "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 6\r\nConnection: close\r\n\r\n",
            b"<html>".to_vec(),
        );
        let (p, seen) = with_image(junk).await;
        match p {
            Some(Picture::Series { source, series, .. }) => {
                assert!(source.contains("not a PNG"), "{source}");
                assert_eq!(series[0].points, vec![(1, 1.5)]);
            }
            other => panic!("{other:?}"),
        }
        assert!(
            !seen[0].contains("dd-api-key") && !seen[0].contains("the-api-key"),
            "image request: {}",
            seen[0]
        );
        assert!(!seen[0].contains("dd-application-key"), "{}", seen[0]);
        assert!(seen[1].contains("dd-api-key: the-api-key"), "API requests carry the keys: {}", seen[1]);

        let huge = ("HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 20000000\r\nConnection: close\r\n\r\n", b"\x89PNG".to_vec());
        let (p, _) = with_image(huge).await;
        match p {
            Some(Picture::Series { source, .. }) => assert!(source.contains("10485760 bytes"), "{source}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn series_from_the_recorded_shape() {
        let answer = json!({"status": "ok", "series": [
            {"scope": "host:web-1", "expression": "system.cpu.idle{host:web-1}",
             "pointlist": [[1641344100000.0, 91.5], [1641344400000.0, null]]},
            {"scope": "*", "expression": "system.cpu.idle{*}", "pointlist": []}]});
        let s = series_of(&answer);
        assert_eq!(s[0].name, "host:web-1");
        assert_eq!(s[0].points, vec![(1_641_344_100, 91.5)]);
        assert_eq!(s[1].name, "system.cpu.idle{*}");
    }
}
