//! The dashboard pictures of the evidence bundle: the auditor asks for "a dated screenshot of
//! the infrastructure dashboard showing the in-scope systems, with the timestamp visible".
//!
//! Two pure functions, byte-identical output for equal input:
//! - [`stamp`]: a vendor's PNG (CloudWatch `GetMetricWidgetImage`, a Datadog graph snapshot, a
//!   New Relic dashboard snapshot) with a banner strip above it reading
//!   `<title> — captured <captured_at>`;
//! - [`render_series`]: a line chart drawn by watchkeep from time series read with the vendor's
//!   metric query API (when the vendor draws no picture), with the same banner, a time axis in
//!   UTC, a legend and a footer naming where the data came from.
//!
//! Text is drawn with DejaVu Sans, embedded (crate `dejavu`) and registered with plotters'
//! `ab_glyph` text backend: no system font is needed, so the pictures are the same on every
//! machine. A vendor's PNG is checked before it is decoded: its IHDR must declare at most
//! [`MAX_SIDE`] pixels a side and [`MAX_PIXELS`] in all (a PNG bomb is refused unread), and the
//! decoder runs with the same limits.

use std::io::Cursor;
use std::sync::OnceLock;

use image::{ImageFormat, ImageReader, Limits};
use plotters::backend::BitMapBackend;
use plotters::coord::combinators::BindKeyPoints;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{register_font, FontStyle};
use watchkeep_provider::Series;

/// Largest side of a vendor picture accepted, in pixels.
pub const MAX_SIDE: u32 = 8000;
/// Most pixels of a vendor picture accepted (40 Mpx: 160 MB as RGBA).
pub const MAX_PIXELS: u64 = 40_000_000;

/// Height of the banner strip above every picture, in pixels.
pub const BANNER_HEIGHT: u32 = 56;
/// A stamped picture is at least this wide, so that the banner text stays legible above a
/// small vendor image (which is centred below it).
pub const MIN_WIDTH: u32 = 800;
/// Width of a rendered chart.
pub const CHART_WIDTH: u32 = 1200;
/// Height of the plotting area of a rendered chart (axes and labels included).
const PLOT_HEIGHT: u32 = 560;
/// Height of one legend row, and of the footer.
const LEGEND_ROW: u32 = 22;
const FOOTER_HEIGHT: u32 = 30;
/// Legend columns, and the most legend entries drawn (the rest are counted in one line).
const LEGEND_COLUMNS: usize = 2;
const LEGEND_MAX: usize = 40;

/// The family name DejaVu Sans is registered under (and `sans-serif`, plotters' default, so
/// that no text ever falls back to a missing system font).
const FONT: &str = "watchkeep-dejavu-sans";
/// Banner text size: the largest that fits, down to the smallest; then the title is shortened.
const BANNER_FONT_MAX: u32 = 28;
const BANNER_FONT_MIN: u32 = 14;

const BANNER_BACKGROUND: RGBColor = RGBColor(232, 236, 242);
const BANNER_RULE: RGBColor = RGBColor(120, 130, 145);
const TEXT: RGBColor = RGBColor(20, 24, 30);
const MUTED: RGBColor = RGBColor(90, 96, 105);

/// Line colours (Tableau 10), in series order.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// Why a picture could not be made.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PictureError {
    #[error(
        "the dashboard picture is not a PNG image ({len} bytes, starting {start}): the vendor answered \
         something else than a picture; see the vendor's answer in the log and retry"
    )]
    NotPng { len: usize, start: String },
    #[error(
        "the dashboard picture declares {width}×{height} pixels in its PNG header, over the limit of \
         {MAX_SIDE} pixels a side and {MAX_PIXELS} pixels in all: refused before decoding (a \
         damaged or hostile image); make the dashboard smaller or picture its widgets one by one"
    )]
    TooLarge { width: u32, height: u32 },
    #[error("the dashboard PNG could not be decoded: {0}")]
    Decode(String),
    #[error(
        "the chart's period is empty (from {from} to {to}, epoch seconds): the period's end must be \
         after its start"
    )]
    Period { from: i64, to: i64 },
    #[error("could not draw the picture: {0}")]
    Draw(String),
    #[error("could not encode the picture as PNG: {0}")]
    Encode(String),
}

/// `png` with a banner strip above it reading `<title> — captured <captured_at>`, as a new PNG.
/// The result is as wide as the picture, at least [`MIN_WIDTH`] (a narrower picture is centred
/// on white), and [`BANNER_HEIGHT`] taller. Transparent pixels are laid on white.
pub fn stamp(png: &[u8], title: &str, captured_at: &str) -> Result<Vec<u8>, PictureError> {
    let Some((width, height)) = watchkeep_provider::png_size(png) else {
        let start: String = png.iter().take(8).map(|b| format!("{b:02x}")).collect();
        return Err(PictureError::NotPng {
            len: png.len(),
            start: if start.is_empty() { "(empty)".into() } else { start },
        });
    };
    if width > MAX_SIDE || height > MAX_SIDE || u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(PictureError::TooLarge { width, height });
    }
    let mut reader = ImageReader::with_format(Cursor::new(png), ImageFormat::Png);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_PIXELS * 4 + (1 << 20));
    reader.limits(limits);
    let picture = reader.decode().map_err(|e| PictureError::Decode(e.to_string()))?.to_rgba8();
    // The IHDR read above and the decoder agree for a valid PNG; trust what was decoded.
    let (width, height) = picture.dimensions();

    let out_w = width.max(MIN_WIDTH);
    let out_h = height + BANNER_HEIGHT;
    let mut buf = vec![255u8; out_w as usize * out_h as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (out_w, out_h)).into_drawing_area();
        let (banner, _) = root.split_vertically(BANNER_HEIGHT);
        draw_banner(&banner, title, captured_at)?;
        root.present().map_err(draw_err)?;
    }
    let left = (out_w - width) / 2;
    for (x, y, px) in picture.enumerate_pixels() {
        let [r, g, b, a] = px.0;
        // Over white: c·a + 255·(1 − a), in integers.
        let over = |c: u8| ((u32::from(c) * u32::from(a) + 255 * (255 - u32::from(a)) + 127) / 255) as u8;
        let i = (((y + BANNER_HEIGHT) as usize) * out_w as usize + (x + left) as usize) * 3;
        buf[i..i + 3].copy_from_slice(&[over(r), over(g), over(b)]);
    }
    encode(&buf, out_w, out_h)
}

/// A line chart of `series` over `from..=to` (epoch seconds): one line per series with a
/// legend, a time axis labelled in UTC, the banner with `title` and the capture time above,
/// and a footer line `source` below. Points outside the period and values that are not finite
/// are left out. With no point in the period the chart says "no data in the period" (still a
/// dated picture). [`CHART_WIDTH`] wide; the height grows with the legend.
pub fn render_series(
    title: &str,
    series: &[Series],
    from: i64,
    to: i64,
    captured_at: &str,
    source: &str,
) -> Result<Vec<u8>, PictureError> {
    if to <= from {
        return Err(PictureError::Period { from, to });
    }
    let lines: Vec<(&str, Vec<(i64, f64)>)> = series
        .iter()
        .map(|s| {
            let mut points: Vec<(i64, f64)> =
                s.points.iter().copied().filter(|(t, v)| (from..=to).contains(t) && v.is_finite()).collect();
            points.sort_by_key(|(t, _)| *t);
            (s.name.as_str(), points)
        })
        .collect();
    let shown = lines.len().min(LEGEND_MAX);
    let legend_rows = shown.div_ceil(LEGEND_COLUMNS) + usize::from(lines.len() > LEGEND_MAX);
    let legend_h = if lines.is_empty() { 0 } else { 8 + legend_rows as u32 * LEGEND_ROW };
    let width = CHART_WIDTH;
    let height = BANNER_HEIGHT + PLOT_HEIGHT + legend_h + FOOTER_HEIGHT;

    let mut buf = vec![255u8; width as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (width, height)).into_drawing_area();
        let (banner, rest) = root.split_vertically(BANNER_HEIGHT);
        draw_banner(&banner, title, captured_at)?;
        let (plot, rest) = rest.split_vertically(PLOT_HEIGHT);
        let (legend, footer) = rest.split_vertically(legend_h);
        draw_chart(&plot, &lines, from, to)?;
        draw_legend(&legend, &lines)?;
        let style = font(13).color(&MUTED);
        let text = fit(&footer, &format!("source: {source}"), &style, width as i32 - 24)?;
        footer.draw_text(&text, &style, (12, 8)).map_err(draw_err)?;
        root.present().map_err(draw_err)?;
    }
    encode(&buf, width, height)
}

/// Registers DejaVu Sans once per process.
fn fonts() -> Result<(), PictureError> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            for name in [FONT, "sans-serif"] {
                register_font(name, FontStyle::Normal, dejavu::sans::regular())
                    .map_err(|_| "the embedded DejaVu Sans font could not be read".to_string())?;
            }
            Ok(())
        })
        .clone()
        .map_err(PictureError::Draw)
}

fn font(px: u32) -> TextStyle<'static> {
    TextStyle::from((FONT, f64::from(px)).into_font())
}

fn draw_err<E: std::fmt::Display>(e: E) -> PictureError {
    PictureError::Draw(e.to_string())
}

type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

/// The banner: a light strip with a rule below, the text in the largest size that fits.
fn draw_banner(area: &Area<'_>, title: &str, captured_at: &str) -> Result<(), PictureError> {
    fonts()?;
    area.fill(&BANNER_BACKGROUND).map_err(draw_err)?;
    let (w, h) = area.dim_in_pixel();
    area.draw(&PathElement::new(
        vec![(0, h as i32 - 2), (w as i32, h as i32 - 2)],
        BANNER_RULE.stroke_width(2),
    ))
    .map_err(draw_err)?;
    let when = if captured_at.is_empty() { String::new() } else { format!("captured {captured_at}") };
    let text = match (title.is_empty(), when.is_empty()) {
        (true, true) => return Ok(()),
        (true, false) => when.clone(),
        (false, true) => title.to_string(),
        (false, false) => format!("{title} — {when}"),
    };
    let room = w as i32 - 24;
    let mut size = BANNER_FONT_MAX;
    while size > BANNER_FONT_MIN && text_width(area, &text, &font(size))? > room {
        size -= 1;
    }
    let style = font(size).color(&TEXT);
    // Still too wide at the smallest size: shorten the title, never the capture time.
    let text = if text_width(area, &text, &style)? <= room || title.is_empty() || when.is_empty() {
        fit(area, &text, &style, room)?
    } else {
        let room_for_title = room - text_width(area, &format!(" — {when}"), &style)?;
        format!("{} — {when}", fit(area, title, &style, room_for_title)?)
    };
    // plotters' ab_glyph backend puts the baseline half the font size below `y`; DejaVu's
    // capitals are 0.73 of the size tall: centre them in the strip above the rule.
    let y = (h as i32 - 2) / 2 - (size as i32 * 14) / 100;
    area.draw_text(&text, &style, (12, y)).map_err(draw_err)?;
    Ok(())
}

fn text_width(area: &Area<'_>, text: &str, style: &TextStyle<'_>) -> Result<i32, PictureError> {
    area.estimate_text_size(text, style).map(|(w, _)| w as i32).map_err(draw_err)
}

/// `text`, cut with `…` so that it fits in `room` pixels.
fn fit(area: &Area<'_>, text: &str, style: &TextStyle<'_>, room: i32) -> Result<String, PictureError> {
    if text_width(area, text, style)? <= room {
        return Ok(text.to_string());
    }
    let chars: Vec<char> = text.chars().collect();
    let (mut lo, mut hi) = (0usize, chars.len());
    // The longest prefix that fits with the ellipsis (binary search: widths grow with length).
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        let candidate: String = chars[..mid].iter().collect::<String>() + "…";
        if text_width(area, &candidate, style)? <= room {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    Ok(chars[..lo].iter().collect::<String>() + "…")
}

/// Tick spacings of the time axis (seconds), whole UTC minutes, hours, days and weeks.
const TIME_STEPS: &[i64] = &[
    60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400, 172_800, 604_800, 1_209_600,
    2_419_200,
];
/// At most this many labelled ticks on the time axis.
const TIME_TICKS: i64 = 8;

/// The labelled and the light ticks of the time axis over `from..=to`: the smallest step of
/// [`TIME_STEPS`] (else whole days) giving at most [`TIME_TICKS`] labels, at UTC multiples of
/// it, and quarter (or half) steps between them.
fn time_ticks(from: i64, to: i64) -> (i64, Vec<i64>, Vec<i64>) {
    let span = to - from;
    let step = TIME_STEPS
        .iter()
        .copied()
        .find(|s| span / s <= TIME_TICKS)
        .unwrap_or_else(|| (span / TIME_TICKS + 86_399) / 86_400 * 86_400);
    let light_step = if step % 4 == 0 { step / 4 } else { step / 2 };
    let at = |step: i64| {
        let first = from.div_euclid(step) * step + if from.rem_euclid(step) == 0 { 0 } else { step };
        (0..).map(move |i| first + i * step).take_while(move |t| *t <= to)
    };
    (step, at(step).collect(), at(light_step).collect())
}

/// A time axis label in UTC: the date for steps of a day or more, else the date and time.
fn time_label(t: i64, step: i64) -> String {
    let format = if step >= 86_400 { "%Y-%m-%d" } else { "%m-%d %H:%M" };
    chrono::DateTime::from_timestamp(t, 0).map_or_else(|| t.to_string(), |d| d.format(format).to_string())
}

fn draw_chart(
    area: &Area<'_>,
    lines: &[(&str, Vec<(i64, f64)>)],
    from: i64,
    to: i64,
) -> Result<(), PictureError> {
    let values = lines.iter().flat_map(|(_, p)| p.iter().map(|(_, v)| *v));
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let has_data = lo.is_finite() && hi.is_finite();
    let (y0, y1) = if !has_data {
        (0.0, 1.0)
    } else {
        // Start at zero for non-negative data (as dashboards do); pad the top; widen a flat line.
        let lo = if lo >= 0.0 { 0.0 } else { lo };
        let pad = ((hi - lo).abs() * 0.08).max(if hi == lo { hi.abs().max(1.0) * 0.5 } else { 0.0 });
        (if lo < 0.0 { lo - pad } else { lo }, hi + pad)
    };
    let (step, ticks, light) = time_ticks(from, to);
    let x = (from..to).with_key_points(ticks).with_light_points(light);
    let mut chart = ChartBuilder::on(area)
        .margin_left(12)
        .margin_right(56)
        .margin_top(16)
        .margin_bottom(4)
        .x_label_area_size(52)
        .y_label_area_size(84)
        .build_cartesian_2d(x, y0..y1)
        .map_err(draw_err)?;
    chart
        .configure_mesh()
        .light_line_style(RGBColor(238, 238, 238))
        .bold_line_style(RGBColor(215, 215, 215))
        .y_labels(8)
        .x_label_formatter(&|t| time_label(*t, step))
        .y_label_formatter(&|v| format_value(*v))
        .x_desc("time (UTC)")
        .label_style(font(14).color(&TEXT))
        .axis_desc_style(font(14).color(&MUTED))
        .draw()
        .map_err(draw_err)?;
    for (i, (_, points)) in lines.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        chart
            .draw_series(LineSeries::new(points.iter().copied(), color.stroke_width(2)))
            .map_err(draw_err)?;
        if points.len() == 1 {
            chart.draw_series(points.iter().map(|p| Circle::new(*p, 4, color.filled()))).map_err(draw_err)?;
        }
    }
    if !has_data {
        let style = font(26).color(&MUTED);
        let (w, h) = area.dim_in_pixel();
        let text = "no data in the period";
        let tw = text_width(area, text, &style)?;
        area.draw_text(text, &style, ((w as i32 - tw) / 2 + 36, h as i32 / 2 - 30)).map_err(draw_err)?;
    }
    Ok(())
}

/// Axis values, short: `0.5`, `12`, `1.2k`, `3.4M`.
fn format_value(v: f64) -> String {
    let a = v.abs();
    let (scaled, suffix) = if a >= 1e9 {
        (v / 1e9, "G")
    } else if a >= 1e6 {
        (v / 1e6, "M")
    } else if a >= 1e4 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    let text = if scaled.fract() == 0.0 || scaled.abs() >= 100.0 {
        format!("{scaled:.0}")
    } else if scaled.abs() >= 1.0 {
        format!("{scaled:.1}")
    } else {
        format!("{scaled:.3}").trim_end_matches('0').to_string()
    };
    format!("{text}{suffix}")
}

fn draw_legend(area: &Area<'_>, lines: &[(&str, Vec<(i64, f64)>)]) -> Result<(), PictureError> {
    if lines.is_empty() {
        return Ok(());
    }
    let (w, _) = area.dim_in_pixel();
    let column_w = (w as i32 - 24) / LEGEND_COLUMNS as i32;
    let style = font(14).color(&TEXT);
    for (i, (name, points)) in lines.iter().take(LEGEND_MAX).enumerate() {
        let x = 12 + (i % LEGEND_COLUMNS) as i32 * column_w;
        let y = 4 + (i / LEGEND_COLUMNS) as i32 * LEGEND_ROW as i32;
        let color = PALETTE[i % PALETTE.len()];
        area.draw(&Rectangle::new([(x, y + 7), (x + 22, y + 11)], color.filled())).map_err(draw_err)?;
        let label = if points.is_empty() { format!("{name} (no data)") } else { (*name).to_string() };
        let label = fit(area, &label, &style, column_w - 36)?;
        area.draw_text(&label, &style, (x + 30, y)).map_err(draw_err)?;
    }
    if lines.len() > LEGEND_MAX {
        let y = 4 + LEGEND_MAX.div_ceil(LEGEND_COLUMNS) as i32 * LEGEND_ROW as i32;
        let more = format!("… and {} more series (drawn in repeating colours)", lines.len() - LEGEND_MAX);
        area.draw_text(&more, &font(14).color(&MUTED), (12, y)).map_err(draw_err)?;
    }
    Ok(())
}

fn encode(rgb: &[u8], width: u32, height: u32) -> Result<Vec<u8>, PictureError> {
    use image::ImageEncoder;
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(rgb, width, height, image::ExtendedColorType::Rgb8)
        .map_err(|e| PictureError::Encode(e.to_string()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const WHEN: &str = "2026-12-04 22:31:07 UTC";

    fn decode(png: &[u8]) -> image::RgbImage {
        image::load_from_memory_with_format(png, ImageFormat::Png).expect("a PNG").to_rgb8()
    }

    /// A `w`×`h` PNG of one colour, with a black diagonal.
    fn vendor_png(w: u32, h: u32) -> Vec<u8> {
        let mut img = image::RgbImage::from_pixel(w, h, image::Rgb([200, 220, 255]));
        for i in 0..w.min(h) {
            img.put_pixel(i, i, image::Rgb([0, 0, 0]));
        }
        let mut out = Vec::new();
        img.write_to(&mut Cursor::new(&mut out), ImageFormat::Png).unwrap();
        out
    }

    fn rows(img: &image::RgbImage, from: u32, to: u32) -> Vec<u8> {
        (from..to).flat_map(|y| (0..img.width()).flat_map(move |x| img.get_pixel(x, y).0)).collect()
    }

    fn dark_pixels(img: &image::RgbImage, rows: std::ops::Range<u32>) -> usize {
        rows.flat_map(|y| (0..img.width()).map(move |x| (x, y)))
            .filter(|&(x, y)| img.get_pixel(x, y).0.iter().all(|c| *c < 100))
            .count()
    }

    fn sample_series(from: i64) -> Vec<Series> {
        let wave = |phase: f64, base: f64| -> Vec<(i64, f64)> {
            (0..=72).map(|i| (from + i * 300, base + 20.0 * ((i as f64) / 6.0 + phase).sin())).collect()
        };
        vec![
            Series {
                name: "web-1: CPU utilisation (AWS/EC2 CPUUtilization)".into(),
                points: wave(0.0, 40.0),
            },
            Series {
                name: "web-2: CPU utilisation (AWS/EC2 CPUUtilization)".into(),
                points: wave(1.5, 55.0),
            },
            Series { name: "db-1: CPU utilisation (AWS/RDS CPUUtilization)".into(), points: wave(3.0, 30.0) },
        ]
    }

    #[test]
    fn stamp_adds_a_banner_above_the_picture_and_keeps_it() {
        let png = vendor_png(900, 300);
        let out = stamp(&png, "watchkeep-infra", WHEN).unwrap();
        let img = decode(&out);
        assert_eq!(img.dimensions(), (900, 300 + BANNER_HEIGHT));
        assert_eq!(
            img.get_pixel(5, BANNER_HEIGHT + 5).0,
            [0, 0, 0],
            "the diagonal, moved down by the banner"
        );
        assert_eq!(img.get_pixel(100, BANNER_HEIGHT + 5).0, [200, 220, 255]);
        assert!(dark_pixels(&img, 0..BANNER_HEIGHT) > 300, "the banner text is drawn");
        assert_eq!(out, stamp(&png, "watchkeep-infra", WHEN).unwrap(), "deterministic");
    }

    #[test]
    fn a_small_picture_is_centred_under_a_banner_of_the_minimum_width() {
        let out = stamp(&vendor_png(4, 3), "t", WHEN).unwrap();
        let img = decode(&out);
        assert_eq!(img.dimensions(), (MIN_WIDTH, 3 + BANNER_HEIGHT));
        let left = (MIN_WIDTH - 4) / 2;
        assert_eq!(img.get_pixel(left, BANNER_HEIGHT).0, [0, 0, 0]);
        assert_eq!(img.get_pixel(left + 1, BANNER_HEIGHT).0, [200, 220, 255]);
        assert_eq!(img.get_pixel(0, BANNER_HEIGHT).0, [255, 255, 255], "white around it");
    }

    #[test]
    fn the_banner_shows_the_capture_time() {
        let png = vendor_png(1000, 50);
        let a = decode(&stamp(&png, "infra", WHEN).unwrap());
        let b = decode(&stamp(&png, "infra", "2026-12-04 22:31:08 UTC").unwrap());
        let c = decode(&stamp(&png, "infra", WHEN).unwrap());
        assert_ne!(rows(&a, 0, BANNER_HEIGHT), rows(&b, 0, BANNER_HEIGHT), "one second later differs");
        assert_eq!(rows(&a, 0, BANNER_HEIGHT), rows(&c, 0, BANNER_HEIGHT));
        assert_eq!(
            rows(&a, BANNER_HEIGHT, a.height()),
            rows(&b, BANNER_HEIGHT, b.height()),
            "the picture is unchanged"
        );

        let blank = decode(&stamp(&png, "", "").unwrap());
        assert_eq!(dark_pixels(&blank, 0..BANNER_HEIGHT - 2), 0, "no text: nothing dark in the banner");
        assert!(dark_pixels(&a, 0..BANNER_HEIGHT - 2) > 300, "text: dark pixels in the banner");
    }

    #[test]
    fn a_long_title_is_shortened_but_the_capture_time_stays() {
        let long = "a dashboard title that goes on and on ".repeat(10);
        let cut = decode(&stamp(&vendor_png(800, 10), &long, WHEN).unwrap());
        let later = decode(&stamp(&vendor_png(800, 10), &long, "2026-12-04 22:31:08 UTC").unwrap());
        assert!(dark_pixels(&cut, 0..BANNER_HEIGHT - 2) > 300);
        // Were the time cut off with the title, both banners would be the same.
        assert_ne!(rows(&cut, 0, BANNER_HEIGHT), rows(&later, 0, BANNER_HEIGHT), "the capture time is drawn");
    }

    #[test]
    fn stamped_and_rendered_banners_are_the_same_for_the_same_title_and_time() {
        let from = 1_796_428_800; // 2026-12-05 00:00:00 UTC
        let chart = decode(
            &render_series("infra", &sample_series(from), from, from + 6 * 3600, WHEN, "GetMetricData")
                .unwrap(),
        );
        let stamped = decode(&stamp(&vendor_png(CHART_WIDTH, 20), "infra", WHEN).unwrap());
        assert_eq!(rows(&chart, 0, BANNER_HEIGHT), rows(&stamped, 0, BANNER_HEIGHT));
        let other = decode(&stamp(&vendor_png(CHART_WIDTH, 20), "infra", "2026-12-05 00:00:00 UTC").unwrap());
        assert_ne!(rows(&chart, 0, BANNER_HEIGHT), rows(&other, 0, BANNER_HEIGHT));
    }

    #[test]
    fn render_series_draws_lines_a_legend_and_is_deterministic() {
        let from = 1_796_428_800;
        let series = sample_series(from);
        let out = render_series("infra", &series, from, from + 6 * 3600, WHEN, "GetMetricData").unwrap();
        let img = decode(&out);
        let legend_h = 8 + 2 * LEGEND_ROW;
        assert_eq!(img.dimensions(), (CHART_WIDTH, BANNER_HEIGHT + PLOT_HEIGHT + legend_h + FOOTER_HEIGHT));
        let colour = |c: RGBColor| img.pixels().filter(|p| p.0 == [c.0, c.1, c.2]).count();
        for c in &PALETTE[..3] {
            assert!(colour(*c) > 500, "a line of colour {c:?} is drawn");
        }
        assert_eq!(colour(PALETTE[3]), 0, "no fourth series");
        assert_eq!(
            out,
            render_series("infra", &series, from, from + 6 * 3600, WHEN, "GetMetricData").unwrap()
        );
        let later = render_series(
            "infra",
            &series,
            from,
            from + 6 * 3600,
            "2026-12-04 22:31:08 UTC",
            "GetMetricData",
        )
        .unwrap();
        let later = decode(&later);
        assert_ne!(rows(&img, 0, BANNER_HEIGHT), rows(&later, 0, BANNER_HEIGHT));
        assert_eq!(rows(&img, BANNER_HEIGHT, img.height()), rows(&later, BANNER_HEIGHT, later.height()));
        // The footer names the source.
        let other =
            decode(&render_series("infra", &series, from, from + 6 * 3600, WHEN, "elsewhere").unwrap());
        let footer = img.height() - FOOTER_HEIGHT;
        assert_ne!(rows(&img, footer, img.height()), rows(&other, footer, other.height()));
        assert_eq!(rows(&img, 0, footer), rows(&other, 0, footer));
    }

    #[test]
    fn no_data_in_the_period_is_still_a_dated_chart() {
        let from = 1_796_428_800;
        let empty = render_series("infra", &[], from, from + 3600, WHEN, "GetMetricData").unwrap();
        let img = decode(&empty);
        assert_eq!(img.dimensions(), (CHART_WIDTH, BANNER_HEIGHT + PLOT_HEIGHT + FOOTER_HEIGHT));
        assert!(dark_pixels(&img, 0..BANNER_HEIGHT - 2) > 300, "dated");
        // Points outside the period count as no data; the legend still names the series.
        let outside =
            vec![Series { name: "web-1".into(), points: vec![(from - 10, 1.0), (from + 7200, f64::NAN)] }];
        let img2 =
            decode(&render_series("infra", &outside, from, from + 3600, WHEN, "GetMetricData").unwrap());
        let plot = |img: &image::RgbImage| rows(img, BANNER_HEIGHT, BANNER_HEIGHT + PLOT_HEIGHT);
        assert_eq!(plot(&img), plot(&img2), "the same empty plot");
        let with_data = decode(
            &render_series("infra", &sample_series(from), from, from + 3600, WHEN, "GetMetricData").unwrap(),
        );
        assert_ne!(plot(&img), plot(&with_data), "the message is not drawn over data");
    }

    #[test]
    fn bad_input_is_refused_with_a_reason() {
        let bomb = {
            // A valid signature and IHDR declaring 100000×100000 pixels, and nothing else.
            let mut b = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR".to_vec();
            b.extend_from_slice(&100_000u32.to_be_bytes());
            b.extend_from_slice(&100_000u32.to_be_bytes());
            b.extend_from_slice(&[8, 2, 0, 0, 0, 0, 0, 0, 0]);
            b
        };
        assert_eq!(stamp(&bomb, "t", WHEN), Err(PictureError::TooLarge { width: 100_000, height: 100_000 }));
        let mut wide = bomb.clone();
        wide[16..20].copy_from_slice(&7_000u32.to_be_bytes());
        wide[20..24].copy_from_slice(&7_000u32.to_be_bytes());
        assert!(
            matches!(stamp(&wide, "t", WHEN), Err(PictureError::TooLarge { .. })),
            "49 Mpx: over the pixel limit"
        );
        let err = stamp(b"<Error>NotImplemented</Error>", "t", WHEN).unwrap_err();
        assert!(matches!(err, PictureError::NotPng { len: 29, .. }), "{err:?}");
        assert!(err.to_string().contains("not a PNG"), "{err}");
        assert!(matches!(stamp(&[], "t", WHEN), Err(PictureError::NotPng { .. })));
        // A PNG header with a damaged body.
        let mut broken = vendor_png(10, 10);
        let n = broken.len();
        broken.truncate(n - 20);
        assert!(matches!(stamp(&broken, "t", WHEN), Err(PictureError::Decode(_))));
        assert!(matches!(render_series("t", &[], 10, 10, WHEN, "s"), Err(PictureError::Period { .. })));
    }

    #[test]
    fn time_ticks_are_round_utc_times() {
        let day = 1_796_428_800; // 2026-12-05 00:00:00 UTC
        let (step, ticks, light) = time_ticks(day + 7, day + 6 * 3600);
        assert_eq!(step, 3600);
        assert_eq!(ticks.first().map(|t| time_label(*t, step)).as_deref(), Some("12-05 01:00"));
        assert_eq!(ticks.len(), 6);
        assert_eq!(light.len(), 24, "quarter hours from 00:15 to 06:00");
        let (step, ticks, _) = time_ticks(day, day + 90 * 86_400);
        assert_eq!(step, 1_209_600);
        assert!(ticks.len() as i64 <= TIME_TICKS && ticks.iter().all(|t| t % step == 0));
        assert_eq!(time_label(day, step), "2026-12-05");
        let (step, ticks, _) = time_ticks(day, day + 800 * 86_400);
        assert_eq!(step, 100 * 86_400);
        assert_eq!(ticks.len(), 8, "the 100-day marks (from the epoch) within the period");
    }

    /// Sizes and times of a large chart and a large stamp (printed; run with `--nocapture`).
    #[test]
    fn figures() {
        let from = 1_796_428_800;
        let many: Vec<Series> = (0..25)
            .map(|i| Series {
                name: format!("web-{i}: CPU utilisation"),
                points: (0..1440)
                    .map(|k| (from + k * 60, 50.0 + 40.0 * ((k + i * 37) as f64 / 90.0).sin()))
                    .collect(),
            })
            .collect();
        let t = std::time::Instant::now();
        let chart = render_series("infra", &many, from, from + 86_400, WHEN, "GetMetricData").unwrap();
        let chart_time = t.elapsed();
        let t = std::time::Instant::now();
        let stamped = stamp(&vendor_png(1200, 2160), "infra", WHEN).unwrap();
        let stamp_time = t.elapsed();
        eprintln!(
            "figures: render_series 25 series × 1440 points: {} bytes, {:?} ({:?} px); stamp 1200×2160: {} bytes, {:?}",
            chart.len(),
            chart_time,
            watchkeep_provider::png_size(&chart),
            stamped.len(),
            stamp_time
        );
        assert_eq!(watchkeep_provider::png_size(&chart).map(|(w, _)| w), Some(CHART_WIDTH));
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/evidence-picture-samples");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("rendered-25-series.png"), &chart).unwrap();
        assert_eq!(watchkeep_provider::png_size(&stamped), Some((1200, 2160 + BANNER_HEIGHT)));
    }

    /// Writes one stamped and one rendered picture to `target/evidence-picture-samples/`, to
    /// look at.
    #[test]
    fn write_samples() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/evidence-picture-samples");
        std::fs::create_dir_all(&dir).unwrap();
        let from = 1_796_428_800;
        let rendered = render_series(
            "watchkeep-infra",
            &sample_series(from),
            from,
            from + 6 * 3600,
            WHEN,
            "GetMetricData (GetMetricWidgetImage: NotImplemented)",
        )
        .unwrap();
        std::fs::write(dir.join("rendered.png"), rendered).unwrap();
        let stamped = stamp(&vendor_png(600, 400), "watchkeep-infra", WHEN).unwrap();
        std::fs::write(dir.join("stamped.png"), stamped).unwrap();
        let empty =
            render_series("watchkeep-infra", &[], from, from + 86_400 * 30, WHEN, "GetMetricData").unwrap();
        std::fs::write(dir.join("rendered-empty.png"), empty).unwrap();
    }
}
