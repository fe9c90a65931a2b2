//! What a snapshot URL handed out by `dashboardCreateSnapshotUrl` serves: the dashboard page
//! drawn as a real PNG (`format=PNG`), or a small PDF (`format=PDF`, New Relic's default).
//!
//! The PNG is drawn on the stand-ins' shared canvas (`crate::canvas`: rectangles, lines, a 5×7
//! bitmap font, written as a PNG by `image`). It shows
//! the dashboard's name, the page's name, the time window, and each widget in its place on
//! New Relic's 12-column grid with its title; a line widget draws the points its NRQL query
//! finds among the events posted to the stand-in, or says `NO DATA`.

use serde_json::Value;

pub(crate) use crate::canvas::{Canvas, Rgb, INK, WHITE};

const FRAME: Rgb = [200, 205, 210];
const HEADER: Rgb = [0, 120, 110];
const LINE: Rgb = [20, 110, 200];

/// One widget as drawn: its grid layout, title, and for charts the points of its first query.
pub(crate) struct WidgetPicture {
    pub(crate) title: String,
    /// `(column, row, width, height)` on the 12-column grid (1-based).
    pub(crate) layout: (i64, i64, i64, i64),
    /// `None`: not a chart; `Some(empty)`: a chart without data.
    pub(crate) points: Option<Vec<(i64, f64)>>,
    pub(crate) text: Option<String>,
}

impl WidgetPicture {
    /// A widget of a stored `DashboardWidget` (its layout defaults as the stand-in stores them).
    pub(crate) fn of(widget: &Value) -> Self {
        let l = &widget["layout"];
        let n = |v: &Value, d: i64| v.as_i64().unwrap_or(d).max(1);
        WidgetPicture {
            title: widget["title"].as_str().unwrap_or_default().to_owned(),
            layout: (n(&l["column"], 1), n(&l["row"], 1), n(&l["width"], 4), n(&l["height"], 3)),
            points: None,
            text: widget["rawConfiguration"]["text"].as_str().map(str::to_owned),
        }
    }
}

/// Draws a dashboard page: header (dashboard and page names, the window), then the widgets.
pub(crate) fn dashboard_png(
    width: u32,
    height: u32,
    dashboard: &str,
    page: &str,
    window: &str,
    widgets: &[WidgetPicture],
) -> Vec<u8> {
    let mut c = Canvas::new(width, height, WHITE);
    let (w, h) = (i64::from(width), i64::from(height));
    let scale = (w / 400).clamp(1, 4);
    let header = 7 * scale * 3 + 8 * scale;
    c.fill(0, 0, w, header, HEADER);
    c.text(6 * scale, 4 * scale, &format!("{dashboard} / {page}"), scale, w - 12 * scale, WHITE);
    c.text(6 * scale, 4 * scale + 12 * scale, window, scale.max(2) - 1, w - 12 * scale, WHITE);
    let rows = widgets.iter().map(|wd| wd.layout.1 + wd.layout.3 - 1).max().unwrap_or(1).max(1);
    let cell_w = (w - 8) / 12;
    let cell_h = ((h - header - 8) / rows).max(8);
    for wd in widgets {
        let (col, row, ww, wh) = wd.layout;
        let x = 4 + (col - 1).clamp(0, 11) * cell_w;
        let y = header + 4 + (row - 1) * cell_h;
        let bw = ww.clamp(1, 12) * cell_w - 4;
        let bh = wh * cell_h - 4;
        c.frame(x, y, bw, bh, FRAME);
        c.text(x + 3 * scale, y + 3 * scale, &wd.title, scale, bw - 6 * scale, INK);
        let top = y + 12 * scale;
        let inner = (x + 4 * scale, top, bw - 8 * scale, bh - (top - y) - 4 * scale);
        match (&wd.points, &wd.text) {
            (Some(points), _) if points.is_empty() => {
                c.text(inner.0, inner.1 + inner.3 / 2, "NO DATA", scale, inner.2, FRAME);
            }
            (Some(points), _) => plot(&mut c, inner, points, scale),
            (None, Some(text)) => {
                for (i, line) in text.lines().filter(|l| !l.trim().is_empty()).take(6).enumerate() {
                    let line = line.trim_start_matches('#').trim();
                    c.text(inner.0, inner.1 + i as i64 * 9 * scale, line, scale, inner.2, INK);
                }
            }
            (None, None) => {}
        }
    }
    c.png()
}

fn plot(c: &mut Canvas, (x, y, w, h): (i64, i64, i64, i64), points: &[(i64, f64)], scale: i64) {
    if w < 4 || h < 4 {
        return;
    }
    let (t0, t1) = (points[0].0, points[points.len() - 1].0.max(points[0].0 + 1));
    let lo = points.iter().map(|p| p.1).fold(f64::INFINITY, f64::min).min(0.0);
    let hi = points.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max).max(lo + 1.0);
    c.fill(x, y + h - 1, w, 1, FRAME);
    let at = |(t, v): (i64, f64)| {
        let px = x + ((t - t0) as f64 / (t1 - t0) as f64 * (w - 1) as f64) as i64;
        let py = y + h - 1 - ((v - lo) / (hi - lo) * (h - 1) as f64) as i64;
        (px, py)
    };
    c.text(x, y, &format!("MAX {hi:.1}"), scale.max(2) - 1, w, INK);
    if points.len() == 1 {
        let p = at(points[0]);
        c.fill(p.0 - 2, p.1 - 2, 5, 5, LINE);
    }
    for pair in points.windows(2) {
        c.line(at(pair[0]), at(pair[1]), scale.max(2), LINE);
    }
}

/// A one-page PDF naming the dashboard page (what `format=PDF` serves). Minimal but well
/// formed: catalog, pages, one page with a text stream, the cross-reference table.
pub(crate) fn dashboard_pdf(dashboard: &str, page: &str, window: &str) -> Vec<u8> {
    let clean = |s: &str| {
        s.chars()
            .filter(|c| c.is_ascii_graphic() || *c == ' ')
            .filter(|c| !"()\\".contains(*c))
            .collect::<String>()
    };
    let content = format!(
        "BT /F1 18 Tf 40 540 Td ({} / {}) Tj 0 -28 Td /F1 12 Tf ({}) Tj ET",
        clean(dashboard),
        clean(page),
        clean(window)
    );
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 842 595] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>"
            .to_owned(),
        format!("<< /Length {} >>\nstream\n{content}\nendstream", content.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
    ];
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1)
            .as_bytes(),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_decodes_to_its_size_and_pixels() {
        let mut c = Canvas::new(40, 20, WHITE);
        c.fill(0, 0, 10, 10, INK);
        c.text(12, 2, "Ab1", 1, 30, INK);
        let png = c.png();
        let img = image::load_from_memory(&png).expect("a PNG").to_rgb8();
        assert_eq!(img.dimensions(), (40, 20));
        assert_eq!(img.get_pixel(0, 0).0, INK);
        assert_eq!(img.get_pixel(39, 0).0, WHITE);
    }

    #[test]
    fn pdf_is_well_formed_enough() {
        let pdf = dashboard_pdf("Hosts (prod)", "Overview", "2026-11-01");
        let text = String::from_utf8(pdf).unwrap();
        assert!(text.starts_with("%PDF-1.4") && text.ends_with("%%EOF\n"));
        let start: usize =
            text.rsplit("startxref\n").next().unwrap().lines().next().unwrap().parse().unwrap();
        assert!(text[start..].starts_with("xref"));
        assert!(text.contains("(Hosts prod / Overview)"));
    }
}
