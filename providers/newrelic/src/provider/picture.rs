//! `evidence`: a picture of a managed dashboard (`Provider::dashboard_picture`) and the web pages
//! of managed objects (`Provider::web_link`).
//!
//! ## The picture
//!
//! New Relic renders dashboards itself. From New Relic's tutorial "NerdGraph tutorial: Export
//! dashboards as files" (<https://docs.newrelic.com/docs/apis/nerdgraph/examples/export-dashboards-pdfpng-using-api/>):
//!
//! 1. `dashboardCreateSnapshotUrl(guid:)` takes the guid of a dashboard *page* (the schema,
//!    `shared/specs/newrelic-nerdgraph.graphql`: "Unique entity identifier of the `DashboardPage`
//!    to be accessed as a snapshot through a public URL"), so the page guids are read first with
//!    `actor.entity(guid) { ... on DashboardEntity { name pages { guid name } } }`. watchkeep
//!    pictures the **first page** only (a compiled dashboard has one page): one picture per
//!    dashboard.
//! 2. `params: { timeWindow: { beginTime, endTime } }` (epoch milliseconds,
//!    `DashboardSnapshotUrlTimeWindowInput`) pins the period.
//! 3. The answer is a URL such as `https://gorgon.nr-assets.net/image/<uuid>?format=PDF&width=2000&height=2000`:
//!    the tutorial says it gives a PDF, and a PNG when `format=PDF` is replaced by `format=PNG`
//!    (width and height at most 2000). New Relic's 2026-06-29 "What's new" says the URL is
//!    public ("no authentication required") and time-limited.
//! 4. The URL is on another host and needs no key: it is downloaded with a client of its own
//!    that sends **no `API-Key` header** (the key must not travel to an image host), at most
//!    [`MAX_PICTURE_BYTES`], and the body must be a PNG ([`watchkeep_provider::png_size`]).
//!    Error messages show the URL's host only (the URL itself is a public link to the
//!    dashboard).
//!
//! If any of 2–4 fails, the picture falls back to [`Picture::Series`]: each NRQL query of the
//! first page's widgets (in `attrs`, as `compile::newrelic::compile_dashboards` writes them:
//! `rawConfiguration.nrqlQueries[].query`, e.g. `SELECT average(cpuPercent) FROM SystemSample
//! WHERE hostname = 'web-1' TIMESERIES`) is run over the period with `actor.account(id).nrql(query:
//! "<query> SINCE <from ms> UNTIL <to ms> TIMESERIES")`, and `source` says why the snapshot was
//! not used. A dashboard New Relic no longer has is an error (`NotFound`), not a fallback.
//!
//! ## Links
//!
//! `https://one.newrelic.com/redirect/entity/<guid>` opens any entity (`one.eu.newrelic.com` for
//! the EU region). Dashboards are entities whose guid is their id. Conditions and policies are
//! entities too; their guid is the unpadded base64 of `<account>|AIOPS|CONDITION|<id>`
//! (`terraform-provider-newrelic` builds it so: `getConditionEntityGUID`) and, by the same rule
//! (a guess: not documented by New Relic), `<account>|AIOPS|POLICY|<id>`. Workflows and
//! destinations have entity guids that cannot be derived from their ids, so their links are the
//! account's lists (`/alerts-ai/workflows`, `/alerts-ai/notify/destinations`; guessed from the
//! UI's paths), where the object is found by name. Channels and muting rules have no page of
//! their own (a channel is shown inside its workflow): no link.

use std::time::Duration;

use serde_json::{json, Value};
use watchkeep_provider::{png_size, url_host_only, Picture, ProviderError, Result, Series};

use super::{Kind, NewRelicProvider};
use crate::config::Region;
use crate::normalize::id_text;

/// The largest picture downloaded (10 MiB); a bigger answer is not a dashboard snapshot.
pub const MAX_PICTURE_BYTES: usize = 10 * 1024 * 1024;

/// What `source` of a PNG picture says.
pub const SNAPSHOT_SOURCE: &str = "dashboardCreateSnapshotUrl (first page, PNG)";

const PAGES: &str = "query WkDashboardPages($guid: EntityGuid!) { actor { entity(guid: $guid) { guid \
... on DashboardEntity { name pages { guid name } } } } }";

const SNAPSHOT: &str =
    "mutation WkDashboardSnapshot($guid: EntityGuid!, $params: DashboardSnapshotUrlInput) { \
dashboardCreateSnapshotUrl(guid: $guid, params: $params) }";

const NRQL: &str = "query WkNrql($accountId: Int!, $query: Nrql!) { actor { account(id: $accountId) { \
nrql(query: $query) { results } } } }";

/// The web UI's host of a region.
fn ui_host(region: Region) -> &'static str {
    match region {
        Region::Us => "https://one.newrelic.com",
        Region::Eu => "https://one.eu.newrelic.com",
    }
}

/// Unpadded standard base64 (New Relic's entity guids).
pub(crate) fn base64_unpadded(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// A guid as it may appear in a URL path (New Relic's guids are base64 without padding).
fn guid_like(s: &str) -> bool {
    !s.is_empty() && s.len() <= 200 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

/// The link of one object (see the module docs).
pub(crate) fn web_link(region: Region, account: i64, kind: Kind, id: &str) -> Option<String> {
    let host = ui_host(region);
    let id = id.trim();
    let numeric = !id.is_empty() && id.len() <= 20 && id.bytes().all(|b| b.is_ascii_digit());
    let entity = |guid: &str| format!("{host}/redirect/entity/{guid}");
    match kind {
        Kind::Dashboard => guid_like(id).then(|| entity(id)),
        Kind::Condition => {
            numeric.then(|| entity(&base64_unpadded(format!("{account}|AIOPS|CONDITION|{id}").as_bytes())))
        }
        Kind::Policy => {
            numeric.then(|| entity(&base64_unpadded(format!("{account}|AIOPS|POLICY|{id}").as_bytes())))
        }
        Kind::Workflow => Some(format!("{host}/alerts-ai/workflows")),
        Kind::Destination => Some(format!("{host}/alerts-ai/notify/destinations")),
        Kind::Channel | Kind::MutingRule => None,
    }
}

/// The snapshot URL with `format=PNG` (replacing `format=PDF`, or added when absent); other
/// parameters are kept. Only http(s) URLs are accepted.
pub(crate) fn png_url(raw: &str) -> std::result::Result<reqwest::Url, String> {
    let mut url = reqwest::Url::parse(raw.trim()).map_err(|e| format!("not a URL ({e})"))?;
    if url.scheme() != "https" && url.scheme() != "http" {
        return Err(format!("a `{}:` URL, not http(s)", url.scheme()));
    }
    let pairs: Vec<(String, String)> =
        url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    let mut found = false;
    {
        let mut q = url.query_pairs_mut();
        q.clear();
        for (k, v) in &pairs {
            if k.eq_ignore_ascii_case("format") {
                found = true;
                q.append_pair(k, "PNG");
            } else {
                q.append_pair(k, v);
            }
        }
        if !found {
            q.append_pair("format", "PNG");
        }
    }
    Ok(url)
}

/// A widget query without the clauses watchkeep sets itself (`SINCE`, `UNTIL`, `TIMESERIES`,
/// `COMPARE WITH`, `LIMIT`): the query is cut at the first of them outside a quoted string.
/// `FACET` before them is kept. Guess: compiled queries put these clauses last, as the
/// compiler writes them; a hand-written query with `FACET` after `TIMESERIES` loses its facet.
pub(crate) fn strip_time_clauses(query: &str) -> String {
    let bytes = query.as_bytes();
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(_) if b == b'\\' => i += 1,
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if b == b'\'' || b == b'"' || b == b'`' => quote = Some(b),
            None => {
                let boundary = i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
                if boundary {
                    for kw in ["SINCE", "UNTIL", "TIMESERIES", "COMPARE", "LIMIT"] {
                        let end = i + kw.len();
                        if end <= bytes.len()
                            && query[i..end].eq_ignore_ascii_case(kw)
                            && (end == bytes.len()
                                || !(bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_'))
                        {
                            return query[..i].trim().to_string();
                        }
                    }
                }
            }
        }
        i += 1;
    }
    query.trim().to_string()
}

/// `(epoch seconds, value)` series of NRQL `TIMESERIES` results: every result is one bucket
/// (`beginTimeSeconds`, `endTimeSeconds`, the aggregate under its own name such as
/// `average.cpuPercent`, and `facet` when the query has one). Buckets without a number (no
/// data) are skipped. One series per facet, named `<name>: <facet>`.
pub(crate) fn series_of(name: &str, results: &[Value]) -> Vec<Series> {
    let mut out: Vec<Series> = Vec::new();
    for r in results {
        let Some(obj) = r.as_object() else { continue };
        let Some(t) = obj.get("beginTimeSeconds").and_then(Value::as_f64) else { continue };
        let value = obj
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "beginTimeSeconds" | "endTimeSeconds" | "facet"))
            .find_map(|(_, v)| {
                v.as_f64().or_else(|| v.as_object().and_then(|o| o.values().find_map(Value::as_f64)))
            });
        let series_name = match obj.get("facet") {
            Some(Value::String(f)) => format!("{name}: {f}"),
            Some(Value::Array(fs)) => {
                let parts: Vec<String> =
                    fs.iter().map(|f| f.as_str().map_or_else(|| f.to_string(), str::to_string)).collect();
                format!("{name}: {}", parts.join(", "))
            }
            _ => name.to_string(),
        };
        let idx = match out.iter().position(|s| s.name == series_name) {
            Some(i) => i,
            None => {
                out.push(Series { name: series_name, points: Vec::new() });
                out.len() - 1
            }
        };
        if let Some(v) = value.filter(|v| v.is_finite()) {
            out[idx].points.push((t as i64, v));
        }
    }
    for s in &mut out {
        s.points.sort_by_key(|p| p.0);
    }
    out
}

impl NewRelicProvider {
    /// `Provider::dashboard_picture` for one dashboard (see the module docs).
    pub(crate) async fn picture(
        &self,
        guid: &str,
        attrs: &Value,
        from: i64,
        to: i64,
    ) -> Result<Option<Picture>> {
        if to < from {
            return Err(ProviderError::InvalidConfig {
                message: format!("the picture's period ends ({to}) before it starts ({from})"),
            });
        }
        let data =
            self.client.query("actor.entity (dashboard pages)", PAGES, json!({ "guid": guid })).await?;
        let entity = &data["actor"]["entity"];
        if entity.is_null() {
            return Err(ProviderError::NotFound { what: format!("New Relic dashboard {guid}") });
        }
        let name = entity["name"].as_str().or_else(|| attrs["name"].as_str()).unwrap_or(guid).to_string();
        let page = entity["pages"].as_array().and_then(|p| p.first()).and_then(|p| id_text(&p["guid"]));
        let why = match page {
            None => "the dashboard has no page".to_string(),
            Some(page) => match self.snapshot(&page, from, to).await {
                Ok(bytes) => return Ok(Some(Picture::Png { bytes, source: SNAPSHOT_SOURCE.into() })),
                // Throttling is the engine's to retry, not a reason to draw something else.
                Err(e @ ProviderError::RateLimited { .. }) => return Err(e),
                Err(e) => e.to_string(),
            },
        };
        let (series, skipped) = self.series(attrs, from, to).await?;
        let mut source = format!("NRQL TIMESERIES (dashboardCreateSnapshotUrl failed: {why})");
        if !skipped.is_empty() {
            source.push_str(&format!("; widgets not read: {}", skipped.join("; ")));
        }
        Ok(Some(Picture::Series { title: name, series, source }))
    }

    /// The first page as a PNG: the snapshot URL, then its PNG form downloaded without the key.
    async fn snapshot(&self, page: &str, from: i64, to: i64) -> Result<Vec<u8>> {
        let params = json!({"timeWindow": {"beginTime": from.saturating_mul(1000), "endTime": to.saturating_mul(1000)}});
        let data = self
            .client
            .query("dashboardCreateSnapshotUrl", SNAPSHOT, json!({"guid": page, "params": params}))
            .await?;
        let Some(raw) = data["dashboardCreateSnapshotUrl"].as_str().filter(|s| !s.trim().is_empty()) else {
            return Err(ProviderError::Decode {
                message: "dashboardCreateSnapshotUrl answered without a URL".into(),
            });
        };
        let url = png_url(raw).map_err(|e| ProviderError::Decode {
            message: format!("dashboardCreateSnapshotUrl answered {}: {e}", url_host_only(raw)),
        })?;
        self.download_png(url).await
    }

    async fn download_png(&self, url: reqwest::Url) -> Result<Vec<u8>> {
        let host = url.host_str().unwrap_or("?").to_string();
        let fail = |what: String| ProviderError::Transient {
            message: format!("snapshot image from {host}: {what}"),
        };
        // A client of its own: no default `API-Key` header reaches the image host.
        let http = reqwest::Client::builder()
            .user_agent(crate::client::USER_AGENT)
            .timeout(self.config().timeout)
            .connect_timeout(self.config().timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| fail(format!("could not build the HTTP client: {e}")))?;
        let mut resp =
            http.get(url).send().await.map_err(|e| fail(format!("request failed: {}", e.without_url())))?;
        let status = resp.status();
        if !status.is_success() {
            return Err(ProviderError::Api {
                status: status.as_u16(),
                body: format!("snapshot image from {host}: HTTP {status}"),
            });
        }
        if resp.content_length().is_some_and(|n| n > MAX_PICTURE_BYTES as u64) {
            return Err(fail(format!("larger than {MAX_PICTURE_BYTES} bytes")));
        }
        let mut bytes = Vec::new();
        while let Some(chunk) =
            resp.chunk().await.map_err(|e| fail(format!("reading failed: {}", e.without_url())))?
        {
            if bytes.len() + chunk.len() > MAX_PICTURE_BYTES {
                return Err(fail(format!("larger than {MAX_PICTURE_BYTES} bytes")));
            }
            bytes.extend_from_slice(&chunk);
        }
        if png_size(&bytes).is_none() {
            let kind = resp_kind(&bytes);
            return Err(ProviderError::Decode {
                message: format!("snapshot image from {host} is not a PNG ({kind})"),
            });
        }
        Ok(bytes)
    }

    /// The first page's NRQL widgets over `from..to`, one request per query. A query New Relic
    /// refuses (`Api`/`Decode`: a query it cannot run over a window) is skipped and named in the
    /// second list; throttling, auth and transient errors end the reading (the engine retries or
    /// reports them).
    async fn series(&self, attrs: &Value, from: i64, to: i64) -> Result<(Vec<Series>, Vec<String>)> {
        let mut skipped = Vec::new();
        let widgets = attrs["pages"].as_array().and_then(|p| p.first()).and_then(|p| p["widgets"].as_array());
        let mut out = Vec::new();
        for w in widgets.into_iter().flatten() {
            let queries = w["rawConfiguration"]["nrqlQueries"].as_array().cloned().unwrap_or_default();
            let title = w["title"].as_str().unwrap_or("widget").to_string();
            for (i, q) in queries.iter().enumerate() {
                let Some(text) = q["query"].as_str().filter(|s| !s.trim().is_empty()) else { continue };
                let account = q["accountIds"]
                    .as_array()
                    .and_then(|a| a.first())
                    .and_then(Value::as_i64)
                    .or_else(|| q["accountId"].as_i64())
                    .unwrap_or_else(|| self.account());
                let nrql = format!(
                    "{} SINCE {} UNTIL {} TIMESERIES",
                    strip_time_clauses(text),
                    from.saturating_mul(1000),
                    to.saturating_mul(1000)
                );
                let name = if queries.len() > 1 { format!("{title} ({})", i + 1) } else { title.clone() };
                let data =
                    match self.client.query("nrql", NRQL, json!({"accountId": account, "query": nrql})).await
                    {
                        Ok(data) => data,
                        Err(e @ (ProviderError::Api { .. } | ProviderError::Decode { .. })) => {
                            skipped.push(format!("{name}: {e}"));
                            continue;
                        }
                        Err(e) => return Err(e),
                    };
                let container = &data["actor"]["account"]["nrql"];
                if container.is_null() {
                    skipped.push(format!("{name}: nrql answered no results"));
                    continue;
                }
                let results = container["results"].as_array().cloned().unwrap_or_default();
                out.extend(series_of(&name, &results));
            }
        }
        Ok((out, skipped))
    }
}

/// What a body that is not a PNG looks like, for the error message.
fn resp_kind(bytes: &[u8]) -> &'static str {
    if bytes.starts_with(b"%PDF") {
        "a PDF"
    } else if bytes.is_empty() {
        "empty"
    } else if bytes.first().is_some_and(|b| *b == b'{' || *b == b'<') {
        "text"
    } else {
        "unknown bytes"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Serves one HTTP answer (`head` then `body`) to the first connection; returns the URL and
    /// the request's text once received.
    async fn one_answer(head: String, body: Vec<u8>) -> (String, tokio::task::JoinHandle<String>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/image/x?format=PDF&width=10", listener.local_addr().unwrap());
        let served = tokio::spawn(async move {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut req = Vec::new();
            let mut buf = [0u8; 1024];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = sock.read(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                req.extend_from_slice(&buf[..n]);
            }
            let _ = sock.write_all(head.as_bytes()).await;
            let _ = sock.write_all(&body).await;
            let _ = sock.shutdown().await;
            String::from_utf8_lossy(&req).into_owned()
        });
        (url, served)
    }

    fn provider() -> NewRelicProvider {
        let env = |k: &str| match k {
            "NEW_RELIC_API_KEY" => Some("NRAK-PICTURESECRET".to_string()),
            "NEW_RELIC_ACCOUNT_ID" => Some("12345".to_string()),
            _ => None,
        };
        NewRelicProvider::from_block(&serde_json::Map::new(), &env).unwrap()
    }

    #[tokio::test]
    async fn downloads_are_keyless_bounded_and_must_be_pngs() {
        let p = provider();
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x02\0\0\0\x03rest".to_vec();
        let head =
            format!("HTTP/1.1 200 OK\r\ncontent-type: image/png\r\ncontent-length: {}\r\n\r\n", png.len());
        let (url, served) = one_answer(head, png.clone()).await;
        let got = p.download_png(png_url(&url).unwrap()).await.unwrap();
        assert_eq!(got, png);
        let request = served.await.unwrap();
        assert!(request.starts_with("GET /image/x?format=PNG&width=10 "), "{request}");
        assert!(
            !request.to_ascii_lowercase().contains("api-key") && !request.contains("PICTURESECRET"),
            "{request}"
        );

        let pdf = b"%PDF-1.4 not a picture".to_vec();
        let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n", pdf.len());
        let (url, _) = one_answer(head, pdf).await;
        let err = p.download_png(png_url(&url).unwrap()).await.unwrap_err();
        assert!(err.to_string().contains("is not a PNG (a PDF)"), "{err}");

        let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n", MAX_PICTURE_BYTES + 1);
        let (url, _) = one_answer(head, Vec::new()).await;
        let err = p.download_png(png_url(&url).unwrap()).await.unwrap_err();
        assert!(err.to_string().contains("larger than 10485760 bytes"), "{err}");

        // No length given: counted while reading.
        let head = "HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n".to_string();
        let (url, _) = one_answer(head, vec![0u8; MAX_PICTURE_BYTES + 10]).await;
        let err = p.download_png(png_url(&url).unwrap()).await.unwrap_err();
        assert!(err.to_string().contains("larger than"), "{err}");

        let (url, _) = one_answer("HTTP/1.1 410 Gone\r\ncontent-length: 0\r\n\r\n".into(), Vec::new()).await;
        let err = p.download_png(png_url(&url).unwrap()).await.unwrap_err();
        assert!(matches!(err, ProviderError::Api { status: 410, .. }), "{err:?}");
        assert!(!format!("{err}").contains("/image/x"), "the public URL is not shown: {err}");
    }

    #[test]
    fn base64_matches_known_guids() {
        // `echo -n '1|AIOPS|CONDITION|2' | base64` = MXxBSU9QU3xDT05ESVRJT058Mg==
        assert_eq!(base64_unpadded(b"1|AIOPS|CONDITION|2"), "MXxBSU9QU3xDT05ESVRJT058Mg");
        assert_eq!(base64_unpadded(b"ab"), "YWI");
        assert_eq!(base64_unpadded(b"abc"), "YWJj");
        assert_eq!(base64_unpadded(b""), "");
    }

    #[test]
    fn links_per_kind_and_region() {
        let c = web_link(Region::Us, 1, Kind::Condition, "2").unwrap();
        assert_eq!(c, "https://one.newrelic.com/redirect/entity/MXxBSU9QU3xDT05ESVRJT058Mg");
        let d = web_link(Region::Eu, 1, Kind::Dashboard, "MXxWSVp8REFTSEJPQVJEfDE").unwrap();
        assert_eq!(d, "https://one.eu.newrelic.com/redirect/entity/MXxWSVp8REFTSEJPQVJEfDE");
        assert!(web_link(Region::Us, 1, Kind::Policy, "77").unwrap().contains("/redirect/entity/"));
        assert_eq!(web_link(Region::Us, 1, Kind::Condition, "x/../y"), None);
        assert_eq!(web_link(Region::Us, 1, Kind::Dashboard, "a b"), None);
        assert_eq!(web_link(Region::Us, 1, Kind::Channel, "abc"), None);
        assert_eq!(
            web_link(Region::Us, 1, Kind::Workflow, "abc").as_deref(),
            Some("https://one.newrelic.com/alerts-ai/workflows")
        );
    }

    #[test]
    fn png_url_switches_the_format() {
        let u = png_url("https://gorgon.nr-assets.net/image/e0c2?format=PDF&width=2000&height=2000").unwrap();
        assert_eq!(u.as_str(), "https://gorgon.nr-assets.net/image/e0c2?format=PNG&width=2000&height=2000");
        assert_eq!(png_url("http://h/x").unwrap().as_str(), "http://h/x?format=PNG");
        assert!(png_url("file:///etc/passwd").is_err());
        assert!(png_url("not a url").is_err());
    }

    #[test]
    fn time_clauses_are_cut_outside_quotes() {
        assert_eq!(
            strip_time_clauses(
                "SELECT average(cpuPercent) FROM SystemSample WHERE hostname = 'web-1' TIMESERIES"
            ),
            "SELECT average(cpuPercent) FROM SystemSample WHERE hostname = 'web-1'"
        );
        assert_eq!(
            strip_time_clauses(
                "SELECT count(*) FROM X WHERE name = 'since until' FACET host SINCE 1 day ago"
            ),
            "SELECT count(*) FROM X WHERE name = 'since until' FACET host"
        );
        assert_eq!(strip_time_clauses("SELECT max(sinceBoot) FROM X"), "SELECT max(sinceBoot) FROM X");
        assert_eq!(
            strip_time_clauses(r"SELECT count(*) FROM X WHERE h = 'o\' since' TIMESERIES"),
            r"SELECT count(*) FROM X WHERE h = 'o\' since'"
        );
    }

    #[test]
    fn timeseries_results_become_series() {
        let results = vec![
            json!({"beginTimeSeconds": 120, "endTimeSeconds": 180, "average.cpuPercent": 3.5}),
            json!({"beginTimeSeconds": 60, "endTimeSeconds": 120, "average.cpuPercent": 2}),
            json!({"beginTimeSeconds": 180, "endTimeSeconds": 240, "average.cpuPercent": null}),
        ];
        let s = series_of("cpu", &results);
        assert_eq!(s, vec![Series { name: "cpu".into(), points: vec![(60, 2.0), (120, 3.5)] }]);
        let faceted = vec![
            json!({"beginTimeSeconds": 60, "facet": "web-1", "count": 1}),
            json!({"beginTimeSeconds": 60, "facet": "web-2", "count": 2}),
        ];
        let s = series_of("n", &faceted);
        assert_eq!(s.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["n: web-1", "n: web-2"]);
        let pct = vec![json!({"beginTimeSeconds": 0, "percentile.duration": {"95": 1.5}})];
        assert_eq!(series_of("p", &pct)[0].points, vec![(0, 1.5)]);
    }
}
