//! `evidence`: a dated picture of a `cloudwatch_dashboard`, and the console links of every type.
//!
//! **The picture.** Every metric widget of the dashboard body (as in state; what
//! `engine/src/compile/cloudwatch.rs` `compile_dashboards` writes: one widget per component and
//! core metric, titled `<component>: <metric>`) is drawn by CloudWatch with one
//! `GetMetricWidgetImage` call, over the period asked for, and the images are laid out as the
//! dashboard lays out its widgets (its 24-column grid; rows without a metric widget, such as
//! the header text, left out) into one PNG. One call per widget rather than one widget holding
//! every metric: a widget takes at most 100 metrics, its legend would list every line of every
//! component, and the per-component titles are what shows an auditor which in-scope system each
//! graph is. GetMetricWidgetImage's quota is 20 TPS (`quota.rs`); the calls are paced by it.
//!
//! Sources: the API reference, "GetMetricWidgetImage: Metric Widget Structure and Syntax"
//! (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Metric-Widget-Structure.html>):
//! `metrics` (1 to 100), `start`/`end` absolute (`2018-04-25T12:00:00.000Z`) or relative,
//! `width` (default 600) and `height` (default 400) in pixels, 1 to 2000, `title`, `view`,
//! `stat`, `period`, `stacked`, `yAxis`, `legend`, `annotations`, `region`, `timezone` (UTC when
//! unset). Widget positions: "Dashboard Body Structure and Syntax" (`x`/`y`/`width`/`height`
//! in grid units, 24 columns, default width and height 6).
//!
//! **When CloudWatch draws no picture.** moto (5.2.5) raises `NotImplementedError("The
//! get_metric_widget_image action has not been implemented")` (`moto/core/responses.py`), which
//! reaches the client as Werkzeug's HTML "500 Internal Server Error" page, without an AWS error
//! code (seen on the wire while writing this; AWS's own errors always carry one); LocalStack (localstack-core 2026.3.0, `services/cloudwatch/provider*.py`)
//! raises `NotImplementedError`, which its handler chain (`aws/handlers/service.py`,
//! `aws/catalog_exceptions.py`) answers with HTTP 501 `InternalFailure` ("… not currently
//! supported by LocalStack"). For those answers — code `NotImplemented`, `UnknownOperation`,
//! `UnknownOperationException` or `InvalidAction`, HTTP 501, or HTTP 500 without an error
//! code — the picture falls back to
//! [`Picture::Series`] read with `GetMetricData` over the same metrics and period, which the
//! engine draws; its `source` says why. Any other failure (auth, throttling, a bad widget) is
//! returned as an error: a picture that silently changes kind on an expired credential would
//! hide the problem.
//!
//! **Console links** (`web_link`): the console's own deep links, as CloudWatch alarm
//! notifications and the console's address bar show them:
//! `https://<region>.console.aws.amazon.com/cloudwatch/home?region=<region>#alarmsV2:alarm/<name>`
//! (metric and composite alarms alike), `…#dashboards/dashboard/<name>`, and SNS
//! `https://<region>.console.aws.amazon.com/sns/v3/home?region=<region>#/topic/<arn>` and
//! `#/subscription/<arn>`. Names and ARNs are percent-encoded as JavaScript's
//! `encodeURIComponent` does (the console reads the fragment back with its decoder). China
//! regions use `console.amazonaws.cn` and GovCloud `console.amazonaws-us-gov.com` (AWS's
//! partition console hosts; the exact paths there are assumed to match the commercial console:
//! a guess, not checked against those consoles).

use std::collections::BTreeMap;

use aws_sdk_cloudwatch::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat, ScanBy};
use image::{GenericImage, ImageFormat, RgbImage};
use serde_json::{json, Map, Value};
use watchkeep_provider::{Picture, ProviderError, Result, Series};

use crate::client::{map_error, Service};
use crate::{alarm, dashboard, subscription, topic, CloudWatchProvider};

/// Pixels per dashboard grid column and row in the stitched picture: a full-width widget (24
/// columns) is 1200 px wide, a standard one (12×6) 600×360.
const COLUMN_PX: u32 = 50;
const ROW_PX: u32 = 60;
/// The stitched picture stays within the engine's limits (`evidence::picture`: 8000 px a side);
/// widgets below this height are left out and counted in `source`.
const MAX_HEIGHT_PX: u32 = 7800;
/// GetMetricWidgetImage's bounds for `width` and `height` (pixels).
const WIDGET_PX: std::ops::RangeInclusive<u32> = 1..=2000;
/// Grid defaults (Dashboard Body Structure): 24 columns, widgets 6×6 unless they say otherwise.
const GRID_COLUMNS: i64 = 24;
const DEFAULT_SIZE: i64 = 6;
/// GetMetricData (API reference): 500 queries a call; `Period` a multiple of 60 (for standard
/// resolution data). The fallback draws at most this many points per line.
const MAX_QUERIES: usize = 500;
const MAX_POINTS_PER_LINE: i64 = 1440;

/// One metric widget of a dashboard body: where it sits and what it shows.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MetricWidget {
    x: i64,
    y: i64,
    width: i64,
    height: i64,
    properties: Map<String, Value>,
}

/// The metric widgets of a `DashboardBody` (an object, or the JSON string GetDashboard returns),
/// in reading order (top to bottom, left to right). Widgets without a `metrics` list (text,
/// alarm, log widgets) are not pictured.
pub(crate) fn metric_widgets(attrs: &Value) -> Result<Vec<MetricWidget>> {
    let body = match attrs.get("DashboardBody") {
        Some(Value::String(s)) => {
            serde_json::from_str::<Value>(s).map_err(|e| ProviderError::InvalidConfig {
                message: format!("{}: `DashboardBody` is not valid JSON ({e})", dashboard::TYPE),
            })?
        }
        Some(v @ Value::Object(_)) => v.clone(),
        _ => {
            return Err(ProviderError::InvalidConfig {
                message: format!("{}: the state holds no `DashboardBody` object to picture", dashboard::TYPE),
            })
        }
    };
    let int = |w: &Value, k: &str| w.get(k).and_then(Value::as_f64).map(|f| f as i64);
    let mut widgets: Vec<MetricWidget> = body
        .get("widgets")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|w| w.get("type").and_then(Value::as_str) == Some("metric"))
        .filter_map(|w| {
            let properties = w.get("properties")?.as_object()?.clone();
            let has_metrics =
                properties.get("metrics").and_then(Value::as_array).is_some_and(|m| !m.is_empty());
            has_metrics.then(|| MetricWidget {
                x: int(w, "x").unwrap_or(0).clamp(0, GRID_COLUMNS - 1),
                y: int(w, "y").unwrap_or(0).max(0),
                width: int(w, "width").unwrap_or(DEFAULT_SIZE).clamp(1, GRID_COLUMNS),
                height: int(w, "height").unwrap_or(DEFAULT_SIZE).clamp(1, 1000),
                properties,
            })
        })
        .collect();
    widgets.sort_by_key(|w| (w.y, w.x));
    Ok(widgets)
}

/// A widget's cell in the stitched picture: x, y, width, height in pixels.
type Place = (u32, u32, u32, u32);

/// Where each widget goes in the stitched picture, in pixels, and the picture's size: the grid
/// scaled by [`COLUMN_PX`] × [`ROW_PX`], with the rows no widget covers removed. Widgets that
/// would end below [`MAX_HEIGHT_PX`] are dropped (`None`).
fn layout(widgets: &[MetricWidget]) -> (Vec<Option<Place>>, u32, u32) {
    let bottom = widgets.iter().map(|w| w.y + w.height).max().unwrap_or(0);
    let covered: Vec<bool> =
        (0..bottom).map(|row| widgets.iter().any(|w| (w.y..w.y + w.height).contains(&row))).collect();
    // Rows kept above grid row `y`.
    let kept_above = |y: i64| covered[..y as usize].iter().filter(|c| **c).count() as u32;
    let mut width = 0;
    let mut height = 0;
    let places = widgets
        .iter()
        .map(|w| {
            let x = w.x as u32 * COLUMN_PX;
            let y = kept_above(w.y) * ROW_PX;
            let cols = (w.width.min(GRID_COLUMNS - w.x)) as u32;
            let (pw, ph) = (
                (cols * COLUMN_PX).clamp(*WIDGET_PX.start(), *WIDGET_PX.end()),
                (w.height as u32 * ROW_PX).clamp(*WIDGET_PX.start(), *WIDGET_PX.end()),
            );
            if y + ph > MAX_HEIGHT_PX {
                return None;
            }
            width = width.max(x + pw);
            height = height.max(y + ph);
            Some((x, y, pw, ph))
        })
        .collect();
    (places, width, height)
}

/// The GetMetricWidgetImage `MetricWidget` for one dashboard widget over `from..to`.
fn image_widget(w: &MetricWidget, from: i64, to: i64, width: u32, height: u32) -> Value {
    let mut m = Map::new();
    // The properties the image API's widget structure lists (module documentation); those only
    // dashboards know (`setPeriodToTimeRange`, `sparkline`, …) are left out.
    for key in [
        "metrics",
        "annotations",
        "title",
        "view",
        "stacked",
        "stat",
        "period",
        "yAxis",
        "legend",
        "region",
        "liveData",
    ] {
        if let Some(v) = w.properties.get(key) {
            m.insert(key.into(), v.clone());
        }
    }
    m.insert("start".into(), json!(iso(from)));
    m.insert("end".into(), json!(iso(to)));
    m.insert("timezone".into(), json!("+0000"));
    m.insert("width".into(), json!(width));
    m.insert("height".into(), json!(height));
    Value::Object(m)
}

fn iso(epoch: i64) -> String {
    chrono::DateTime::from_timestamp(epoch, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_else(|| epoch.to_string())
}

/// Why GetMetricWidgetImage drew nothing.
pub(crate) enum ImageFailure {
    /// The endpoint does not implement it (the fallback applies): how it answered, and the
    /// error it is otherwise.
    Unsupported {
        why: String,
        error: ProviderError,
    },
    Failed(ProviderError),
}

/// Whether an error answer means "this endpoint has no GetMetricWidgetImage" (see the module
/// documentation for the answers this covers), and how to say so.
pub(crate) fn unsupported(status: Option<u16>, code: Option<&str>, message: Option<&str>) -> Option<String> {
    const CODES: &[&str] =
        &["NotImplemented", "UnknownOperation", "UnknownOperationException", "InvalidAction"];
    let by_code = code.is_some_and(|c| CODES.contains(&c));
    // AWS's error answers always carry a code (an awsQuery `ErrorResponse`); a bare HTTP 500
    // is an endpoint that is not CloudWatch failing on an action it has no handler for.
    let codeless_500 = status == Some(500) && code.is_none_or(str::is_empty);
    if !by_code && status != Some(501) && !codeless_500 {
        return None;
    }
    let status_text = status.map_or_else(|| "no HTTP status".to_string(), |s| format!("HTTP {s}"));
    let mut why = match code.filter(|c| !c.is_empty()) {
        Some(c) => format!("answered {c} ({status_text})"),
        None => format!("answered {status_text} without an error code"),
    };
    if let Some(m) = message.map(str::trim).filter(|m| !m.is_empty()) {
        why.push_str(": ");
        why.push_str(&watchkeep_provider::shorten(m));
    }
    Some(why)
}

/// One GetMetricWidgetImage call, its failure classified.
pub(crate) async fn widget_image(
    p: &CloudWatchProvider,
    widget: &Value,
) -> std::result::Result<Vec<u8>, ImageFailure> {
    let out = p
        .aws
        .cw()
        .await
        .get_metric_widget_image()
        .metric_widget(widget.to_string())
        .output_format("png")
        .send()
        .await;
    let out = match out {
        Ok(out) => out,
        Err(e) => {
            let status = match &e {
                SdkError::ServiceError(s) => Some(s.raw().status().as_u16()),
                _ => None,
            };
            let why = unsupported(status, e.code(), e.message());
            let err = map_error(Service::CloudWatch, "GetMetricWidgetImage", e, &[]);
            return Err(match why {
                // An auth failure is never "unsupported", whatever else it says.
                Some(why) if !matches!(err, ProviderError::Auth { .. }) => {
                    ImageFailure::Unsupported { why, error: err }
                }
                _ => ImageFailure::Failed(err),
            });
        }
    };
    let bytes = out.metric_widget_image().map(|b| b.as_ref().to_vec()).unwrap_or_default();
    if !bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Err(ImageFailure::Failed(ProviderError::Decode {
            message: format!("GetMetricWidgetImage returned {} bytes that are not a PNG image", bytes.len()),
        }));
    }
    Ok(bytes)
}

/// The picture of one dashboard (see the module documentation). `Ok(None)` when its body has
/// no metric widget.
pub(crate) async fn dashboard_picture(
    p: &CloudWatchProvider,
    id: &str,
    attrs: &Value,
    from: i64,
    to: i64,
) -> Result<Option<Picture>> {
    if to <= from {
        return Err(ProviderError::InvalidConfig {
            message: format!(
                "dashboard picture of `{id}`: the period's end ({to}) must be after its start ({from})"
            ),
        });
    }
    let title = attrs.get("DashboardName").and_then(Value::as_str).unwrap_or(id).to_string();
    let widgets = metric_widgets(attrs)?;
    if widgets.is_empty() {
        return Ok(None);
    }
    let (places, width, height) = layout(&widgets);
    let mut canvas = RgbImage::from_pixel(width, height, image::Rgb([255, 255, 255]));
    let mut drawn = 0usize;
    for (w, place) in widgets.iter().zip(&places) {
        let Some((x, y, pw, ph)) = *place else { continue };
        let png = match widget_image(p, &image_widget(w, from, to, pw, ph)).await {
            Ok(png) => png,
            Err(ImageFailure::Unsupported { why, .. }) => {
                let series = series(p, &widgets, from, to).await?;
                return Ok(Some(Picture::Series {
                    title,
                    series: series.lines,
                    source: format!("GetMetricData (GetMetricWidgetImage: {why}){}", series.note),
                }));
            }
            Err(ImageFailure::Failed(e)) => return Err(e),
        };
        let img = image::load_from_memory_with_format(&png, ImageFormat::Png)
            .map_err(|e| ProviderError::Decode {
                message: format!("GetMetricWidgetImage returned a PNG that does not decode: {e}"),
            })?
            .to_rgb8();
        // AWS draws the size asked for; anything larger is cut to the widget's cell.
        let (cw, ch) = (img.width().min(pw), img.height().min(ph));
        let cell = image::imageops::crop_imm(&img, 0, 0, cw, ch).to_image();
        canvas.copy_from(&cell, x, y).map_err(|e| ProviderError::Decode {
            message: format!("could not place a widget picture in the dashboard picture: {e}"),
        })?;
        drawn += 1;
    }
    let mut png = Vec::new();
    canvas.write_to(&mut std::io::Cursor::new(&mut png), ImageFormat::Png).map_err(|e| {
        ProviderError::Decode { message: format!("could not encode the dashboard picture: {e}") }
    })?;
    let source = if drawn == widgets.len() {
        format!("GetMetricWidgetImage ({drawn} widget{})", if drawn == 1 { "" } else { "s" })
    } else {
        format!(
            "GetMetricWidgetImage ({drawn} of {} widgets: the rest lie below the picture's height limit)",
            widgets.len()
        )
    };
    Ok(Some(Picture::Png { bytes: png, source }))
}

/// One line of a metric widget's `metrics`, resolved.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MetricLine {
    pub(crate) name: String,
    namespace: String,
    metric: String,
    dimensions: Vec<(String, String)>,
    stat: String,
    period: i64,
}

/// The raw metric lines of the widgets (metric math expressions are not read: counted in the
/// second value). The `metrics` array format (Metric Widget Structure, "Format for Each Metric
/// in the Array of Metrics"): `[Namespace, MetricName, DimName, DimValue, …, {options}]`, where
/// `"."` repeats the value at the same position in the line above, and the options may hold
/// `stat`, `period`, `label`, `region`, `visible`, `expression`.
pub(crate) fn metric_lines(widgets: &[MetricWidget]) -> (Vec<MetricLine>, usize) {
    let mut out = Vec::new();
    let mut expressions = 0;
    for w in widgets {
        let title = w.properties.get("title").and_then(Value::as_str).filter(|t| !t.is_empty());
        let stat = w.properties.get("stat").and_then(Value::as_str).unwrap_or("Average");
        let period = w.properties.get("period").and_then(Value::as_i64).unwrap_or(300);
        let mut previous: Vec<String> = Vec::new();
        for line in w.properties.get("metrics").and_then(Value::as_array).into_iter().flatten() {
            let Some(items) = line.as_array() else { continue };
            let options = items.last().and_then(Value::as_object);
            if options.is_some_and(|o| o.contains_key("expression")) {
                expressions += 1;
                continue;
            }
            let positional: Vec<String> = items
                .iter()
                .filter_map(Value::as_str)
                .enumerate()
                .map(
                    |(i, s)| {
                        if s == "." {
                            previous.get(i).cloned().unwrap_or_default()
                        } else {
                            s.to_string()
                        }
                    },
                )
                .collect();
            previous = positional.clone();
            if positional.len() < 2 || positional[..2].iter().any(String::is_empty) {
                continue;
            }
            let dimensions: Vec<(String, String)> =
                positional[2..].chunks_exact(2).map(|c| (c[0].clone(), c[1].clone())).collect();
            let opt_str = |k: &str| options.and_then(|o| o.get(k)).and_then(Value::as_str);
            let label = opt_str("label").map(str::to_string).unwrap_or_else(|| {
                let dims: Vec<&str> = dimensions.iter().map(|(_, v)| v.as_str()).collect();
                format!("{} {}", positional[1], dims.join(" ")).trim_end().to_string()
            });
            let name = match title {
                Some(t) => format!("{t} — {label} ({} {})", positional[0], positional[1]),
                None => format!("{label} ({})", positional[0]),
            };
            out.push(MetricLine {
                name,
                namespace: positional[0].clone(),
                metric: positional[1].clone(),
                dimensions,
                stat: opt_str("stat").unwrap_or(stat).to_string(),
                period: options.and_then(|o| o.get("period")).and_then(Value::as_i64).unwrap_or(period),
            });
        }
    }
    (out, expressions)
}

/// The period GetMetricData is asked for: the widget's, raised (to whole minutes) so that a
/// line has at most [`MAX_POINTS_PER_LINE`] points over the picture's period.
fn query_period(line_period: i64, span: i64) -> i32 {
    let least = (span + MAX_POINTS_PER_LINE - 1) / MAX_POINTS_PER_LINE;
    let p = line_period.max(least).max(60);
    let p = (p + 59) / 60 * 60;
    i32::try_from(p).unwrap_or(i32::MAX)
}

struct Lines {
    lines: Vec<Series>,
    /// Said after the source when something was left out.
    note: String,
}

/// GetMetricData over the widgets' raw metric lines, `from..to`, 500 queries a call, every
/// `NextToken` followed.
async fn series(p: &CloudWatchProvider, widgets: &[MetricWidget], from: i64, to: i64) -> Result<Lines> {
    let (lines, expressions) = metric_lines(widgets);
    let mut points: Vec<BTreeMap<i64, f64>> = vec![BTreeMap::new(); lines.len()];
    for (chunk_no, chunk) in lines.chunks(MAX_QUERIES).enumerate() {
        let queries: Vec<MetricDataQuery> = chunk
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let dims = l.dimensions.iter().map(|(k, v)| Dimension::builder().name(k).value(v).build());
                let metric = Metric::builder()
                    .namespace(&l.namespace)
                    .metric_name(&l.metric)
                    .set_dimensions(Some(dims.collect()))
                    .build();
                let stat = MetricStat::builder()
                    .metric(metric)
                    .period(query_period(l.period, to - from))
                    .stat(&l.stat)
                    .build();
                MetricDataQuery::builder().id(format!("m{i}")).metric_stat(stat).return_data(true).build()
            })
            .collect();
        for r in crate::observe::metric_data(&p.aws, queries, from, to, ScanBy::TimestampAscending).await? {
            let Some(i) = r.id().and_then(|id| id.strip_prefix('m')).and_then(|n| n.parse::<usize>().ok())
            else {
                continue;
            };
            let Some(slot) = points.get_mut(chunk_no * MAX_QUERIES + i) else { continue };
            for (t, v) in r.timestamps().iter().zip(r.values()) {
                slot.insert(t.secs(), *v);
            }
        }
    }
    let lines = lines
        .into_iter()
        .zip(points)
        .map(|(l, pts)| Series { name: l.name, points: pts.into_iter().collect() })
        .collect();
    let note = match expressions {
        0 => String::new(),
        1 => "; 1 metric math expression not drawn".to_string(),
        n => format!("; {n} metric math expressions not drawn"),
    };
    Ok(Lines { lines, note })
}

/// `encodeURIComponent`: everything but `A-Z a-z 0-9 - _ . ! ~ * ' ( )` percent-encoded as UTF-8.
fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The console host for a region (see the module documentation).
fn console(region: &str) -> String {
    if region.starts_with("cn-") {
        format!("https://{region}.console.amazonaws.cn")
    } else if region.starts_with("us-gov-") {
        "https://console.amazonaws-us-gov.com".to_string()
    } else {
        format!("https://{region}.console.aws.amazon.com")
    }
}

/// The console page of one object (module documentation); `None` for an empty id or an unknown
/// type.
pub(crate) fn web_link(region: &str, resource_type: &str, id: &str) -> Option<String> {
    if id.is_empty() || region.is_empty() {
        return None;
    }
    let host = console(region);
    let region_q = encode_component(region);
    let id = encode_component(id);
    Some(match resource_type {
        alarm::METRIC_TYPE | alarm::COMPOSITE_TYPE => {
            format!("{host}/cloudwatch/home?region={region_q}#alarmsV2:alarm/{id}")
        }
        dashboard::TYPE => format!("{host}/cloudwatch/home?region={region_q}#dashboards/dashboard/{id}"),
        topic::TYPE => format!("{host}/sns/v3/home?region={region_q}#/topic/{id}"),
        subscription::TYPE => format!("{host}/sns/v3/home?region={region_q}#/subscription/{id}"),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(widgets: Value) -> Value {
        json!({ "DashboardName": "watchkeep-infra", "DashboardBody": { "widgets": widgets } })
    }

    fn metric(x: i64, y: i64, w: i64, title: &str, metrics: Value) -> Value {
        json!({ "type": "metric", "x": x, "y": y, "width": w, "height": 6,
                "properties": { "title": title, "view": "timeSeries", "stat": "Average", "period": 300,
                                "region": "us-east-1", "metrics": metrics } })
    }

    #[test]
    fn widgets_are_read_in_order_and_laid_out_without_empty_rows() {
        let attrs = body(json!([
            { "type": "text", "x": 0, "y": 0, "width": 24, "height": 2, "properties": { "markdown": "# infra" } },
            metric(12, 2, 12, "web-1: Memory", json!([["CWAgent", "mem_used_percent", "InstanceId", "i-1"]])),
            metric(0, 2, 12, "web-1: CPU", json!([["AWS/EC2", "CPUUtilization", "InstanceId", "i-1"]])),
            metric(0, 8, 12, "web-1: Network", json!([["AWS/EC2", "NetworkIn", "InstanceId", "i-1"], [".", "NetworkOut", ".", "."]])),
            { "type": "metric", "x": 0, "y": 20, "properties": { "metrics": [] } },
            { "type": "text", "x": 0, "y": 14, "width": 24, "height": 1, "properties": { "markdown": "managed-by:watchkeep" } },
        ]));
        let widgets = metric_widgets(&attrs).unwrap();
        let titles: Vec<&str> = widgets.iter().map(|w| w.properties["title"].as_str().unwrap()).collect();
        assert_eq!(
            titles,
            ["web-1: CPU", "web-1: Memory", "web-1: Network"],
            "reading order; empty and text widgets left out"
        );
        let (places, w, h) = layout(&widgets);
        assert_eq!(places, vec![Some((0, 0, 600, 360)), Some((600, 0, 600, 360)), Some((0, 360, 600, 360))]);
        assert_eq!((w, h), (1200, 720), "the header text rows are not in the picture");

        // The body as GetDashboard returns it (a string) reads the same.
        let as_string = json!({ "DashboardBody": attrs["DashboardBody"].to_string() });
        assert_eq!(metric_widgets(&as_string).unwrap(), widgets);
        assert!(metric_widgets(&json!({ "DashboardBody": "{" })).is_err());
        assert!(metric_widgets(&json!({})).is_err());
    }

    #[test]
    fn a_tall_dashboard_is_cut_at_the_height_limit() {
        let many: Vec<Value> = (0..60)
            .map(|i| metric((i % 2) * 12, 2 + (i / 2) * 6, 12, "w", json!([["AWS/EC2", "CPUUtilization"]])))
            .collect();
        let widgets = metric_widgets(&body(Value::Array(many))).unwrap();
        let (places, _, h) = layout(&widgets);
        let kept = places.iter().filter(|p| p.is_some()).count();
        assert_eq!(kept, 2 * (MAX_HEIGHT_PX / 360) as usize);
        assert!(h <= MAX_HEIGHT_PX);
    }

    #[test]
    fn the_image_widget_carries_the_period_and_size() {
        let attrs = body(json!([metric(
            0,
            2,
            12,
            "web-1: CPU",
            json!([["AWS/EC2", "CPUUtilization", "InstanceId", "i-1"]])
        )]));
        let w = &metric_widgets(&attrs).unwrap()[0];
        let v = image_widget(w, 1_796_428_800, 1_796_515_200, 600, 360);
        assert_eq!(v["start"], "2026-12-05T00:00:00.000Z");
        assert_eq!(v["end"], "2026-12-06T00:00:00.000Z");
        assert_eq!((v["width"].as_u64(), v["height"].as_u64()), (Some(600), Some(360)));
        assert_eq!(v["title"], "web-1: CPU");
        assert_eq!(v["metrics"], json!([["AWS/EC2", "CPUUtilization", "InstanceId", "i-1"]]));
        assert_eq!(v["region"], "us-east-1");
    }

    #[test]
    fn metric_lines_follow_the_dot_shorthand_and_options() {
        let attrs = body(json!([
            metric(0, 0, 12, "web-1: Network", json!([
                ["AWS/EC2", "NetworkIn", "InstanceId", "i-1"],
                [".", "NetworkOut", ".", ".", { "stat": "Sum", "label": "out" }],
                [{ "expression": "m1+m2", "label": "total" }],
            ])),
            { "type": "metric", "x": 12, "y": 0, "properties": { "metrics": [["CWAgent", "mem_used_percent", "InstanceId", "i-2", { "period": 60 }]] } },
        ]));
        let (lines, expressions) = metric_lines(&metric_widgets(&attrs).unwrap());
        assert_eq!(expressions, 1);
        type Row<'a> = (&'a str, &'a str, &'a str, Vec<(String, String)>, &'a str, i64);
        let got: Vec<Row<'_>> = lines
            .iter()
            .map(|l| {
                (
                    l.name.as_str(),
                    l.namespace.as_str(),
                    l.metric.as_str(),
                    l.dimensions.clone(),
                    l.stat.as_str(),
                    l.period,
                )
            })
            .collect();
        let d = |v: &str| vec![("InstanceId".to_string(), v.to_string())];
        assert_eq!(
            got,
            vec![
                (
                    "web-1: Network — NetworkIn i-1 (AWS/EC2 NetworkIn)",
                    "AWS/EC2",
                    "NetworkIn",
                    d("i-1"),
                    "Average",
                    300
                ),
                ("web-1: Network — out (AWS/EC2 NetworkOut)", "AWS/EC2", "NetworkOut", d("i-1"), "Sum", 300),
                ("mem_used_percent i-2 (CWAgent)", "CWAgent", "mem_used_percent", d("i-2"), "Average", 60),
            ]
        );
    }

    #[test]
    fn query_periods_keep_lines_short_and_whole_minutes() {
        assert_eq!(query_period(300, 86_400), 300);
        assert_eq!(query_period(60, 6 * 3600), 60);
        assert_eq!(query_period(300, 90 * 86_400), 5400, "90 days at most 1440 points");
        assert_eq!(query_period(10, 3600), 60);
        assert_eq!(query_period(300, 30 * 86_400 + 7), 1860);
    }

    #[test]
    fn unsupported_answers_are_told_apart_from_failures() {
        assert_eq!(
            unsupported(Some(500), Some("NotImplemented"), Some("The get_metric_widget_image action has not been implemented")).as_deref(),
            Some("answered NotImplemented (HTTP 500): The get_metric_widget_image action has not been implemented")
        );
        assert!(unsupported(Some(501), Some("InternalFailure"), None).is_some(), "LocalStack");
        assert!(unsupported(Some(400), Some("InvalidAction"), None).is_some());
        assert_eq!(
            unsupported(Some(500), Some("InternalFailure"), None),
            None,
            "a server error is not \"unsupported\""
        );
        assert_eq!(unsupported(Some(403), Some("AccessDenied"), None), None);
        assert_eq!(unsupported(Some(400), Some("Throttling"), None), None);
        assert_eq!(unsupported(None, None, None), None);
    }

    #[test]
    fn console_links_encode_names() {
        let l = |t: &str, id: &str| web_link("eu-west-1", t, id);
        assert_eq!(
            l("cloudwatch_metric_alarm", "watchkeep web-1 cpu/high").as_deref(),
            Some("https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#alarmsV2:alarm/watchkeep%20web-1%20cpu%2Fhigh")
        );
        assert_eq!(
            l("cloudwatch_composite_alarm", "web#down").as_deref(),
            Some("https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#alarmsV2:alarm/web%23down")
        );
        assert_eq!(
            l("cloudwatch_dashboard", "watchkeep-infra").as_deref(),
            Some("https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#dashboards/dashboard/watchkeep-infra")
        );
        assert_eq!(
            l("sns_topic", "arn:aws:sns:eu-west-1:123456789012:oncall").as_deref(),
            Some("https://eu-west-1.console.aws.amazon.com/sns/v3/home?region=eu-west-1#/topic/arn%3Aaws%3Asns%3Aeu-west-1%3A123456789012%3Aoncall")
        );
        assert!(l("sns_subscription", "arn:aws:sns:eu-west-1:1:t:abc")
            .unwrap()
            .contains("#/subscription/arn%3Aaws"));
        assert_eq!(l("cloudwatch_log_group", "x"), None);
        assert_eq!(l("cloudwatch_dashboard", ""), None);
        assert!(web_link("cn-north-1", "cloudwatch_dashboard", "d")
            .unwrap()
            .starts_with("https://cn-north-1.console.amazonaws.cn/"));
        assert_eq!(encode_component("é ü"), "%C3%A9%20%C3%BC");
    }
}
