//! What a snapshot URL handed out by `dashboardCreateSnapshotUrl` serves: the dashboard page
//! drawn as a real PNG (`format=PNG`), or a small PDF (`format=PDF`, New Relic's default).
//!
//! The PNG is drawn here without a graphics crate: an RGB canvas, filled rectangles, lines, a
//! 5×7 bitmap font (upper case, digits and some punctuation; lower case is drawn in upper
//! case), encoded as an 8-bit RGB PNG (zlib through `flate2`, CRC-32 computed here). It shows
//! the dashboard's name, the page's name, the time window, and each widget in its place on
//! New Relic's 12-column grid with its title; a line widget draws the points its NRQL query
//! finds among the events posted to the stand-in, or says `NO DATA`.

use std::io::Write;

use serde_json::Value;

/// An RGB canvas.
pub(crate) struct Canvas {
    pub(crate) width: u32,
    pub(crate) height: u32,
    pixels: Vec<u8>,
}

pub(crate) type Rgb = [u8; 3];

pub(crate) const WHITE: Rgb = [255, 255, 255];
pub(crate) const INK: Rgb = [30, 35, 40];
const FRAME: Rgb = [200, 205, 210];
const HEADER: Rgb = [0, 120, 110];
const LINE: Rgb = [20, 110, 200];

impl Canvas {
    pub(crate) fn new(width: u32, height: u32, background: Rgb) -> Self {
        let mut pixels = Vec::with_capacity((width * height * 3) as usize);
        for _ in 0..width * height {
            pixels.extend_from_slice(&background);
        }
        Canvas { width, height, pixels }
    }

    fn set(&mut self, x: i64, y: i64, c: Rgb) {
        if x < 0 || y < 0 || x >= i64::from(self.width) || y >= i64::from(self.height) {
            return;
        }
        let i = ((y as u32 * self.width + x as u32) * 3) as usize;
        self.pixels[i..i + 3].copy_from_slice(&c);
    }

    pub(crate) fn fill(&mut self, x: i64, y: i64, w: i64, h: i64, c: Rgb) {
        for yy in y.max(0)..(y + h).min(i64::from(self.height)) {
            for xx in x.max(0)..(x + w).min(i64::from(self.width)) {
                self.set(xx, yy, c);
            }
        }
    }

    pub(crate) fn frame(&mut self, x: i64, y: i64, w: i64, h: i64, c: Rgb) {
        self.fill(x, y, w, 1, c);
        self.fill(x, y + h - 1, w, 1, c);
        self.fill(x, y, 1, h, c);
        self.fill(x + w - 1, y, 1, h, c);
    }

    /// A line of `thickness` pixels (Bresenham, stamped).
    pub(crate) fn line(&mut self, (x0, y0): (i64, i64), (x1, y1): (i64, i64), thickness: i64, c: Rgb) {
        let (dx, dy) = ((x1 - x0).abs(), -(y1 - y0).abs());
        let (sx, sy) = (if x0 < x1 { 1 } else { -1 }, if y0 < y1 { 1 } else { -1 });
        let (mut x, mut y, mut err) = (x0, y0, dx + dy);
        loop {
            self.fill(x - thickness / 2, y - thickness / 2, thickness, thickness, c);
            if x == x1 && y == y1 {
                break;
            }
            let e2 = 2 * err;
            if e2 >= dy {
                err += dy;
                x += sx;
            }
            if e2 <= dx {
                err += dx;
                y += sy;
            }
        }
    }

    /// Text at `(x, y)` (top left), each font pixel `scale` pixels wide; cut at `max_width`.
    pub(crate) fn text(&mut self, x: i64, y: i64, text: &str, scale: i64, max_width: i64, c: Rgb) {
        let advance = 6 * scale;
        for (i, ch) in text.chars().enumerate() {
            let gx = x + i as i64 * advance;
            if gx + 5 * scale > x + max_width {
                break;
            }
            let rows = glyph(ch);
            for (row, bits) in rows.iter().enumerate() {
                for col in 0..5 {
                    if bits & (0b10000 >> col) != 0 {
                        self.fill(gx + col * scale, y + row as i64 * scale, scale, scale, c);
                    }
                }
            }
        }
    }

    /// The canvas as an 8-bit RGB PNG.
    pub(crate) fn png(&self) -> Vec<u8> {
        let mut raw = Vec::with_capacity(self.pixels.len() + self.height as usize);
        let stride = (self.width * 3) as usize;
        for row in self.pixels.chunks(stride) {
            raw.push(0); // filter: none
            raw.extend_from_slice(row);
        }
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        let idat = z.write_all(&raw).and_then(|()| z.finish()).unwrap_or_default();
        let mut ihdr = Vec::with_capacity(13);
        ihdr.extend_from_slice(&self.width.to_be_bytes());
        ihdr.extend_from_slice(&self.height.to_be_bytes());
        ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit, RGB, deflate, no filter, no interlace
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        chunk(&mut out, b"IHDR", &ihdr);
        chunk(&mut out, b"IDAT", &idat);
        chunk(&mut out, b"IEND", &[]);
        out
    }
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc_input = kind.to_vec();
    crc_input.extend_from_slice(data);
    out.extend_from_slice(&crc32(&crc_input).to_be_bytes());
}

/// CRC-32 (IEEE), as PNG chunks carry it.
pub(crate) fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for b in bytes {
        crc ^= u32::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// Rows of a 5×7 glyph, most significant of the low 5 bits on the left.
fn glyph(c: char) -> [u8; 7] {
    match c.to_ascii_uppercase() {
        'A' => [14, 17, 17, 31, 17, 17, 17],
        'B' => [30, 17, 17, 30, 17, 17, 30],
        'C' => [14, 17, 16, 16, 16, 17, 14],
        'D' => [30, 17, 17, 17, 17, 17, 30],
        'E' => [31, 16, 16, 30, 16, 16, 31],
        'F' => [31, 16, 16, 30, 16, 16, 16],
        'G' => [14, 17, 16, 23, 17, 17, 15],
        'H' => [17, 17, 17, 31, 17, 17, 17],
        'I' => [14, 4, 4, 4, 4, 4, 14],
        'J' => [7, 2, 2, 2, 2, 18, 12],
        'K' => [17, 18, 20, 24, 20, 18, 17],
        'L' => [16, 16, 16, 16, 16, 16, 31],
        'M' => [17, 27, 21, 21, 17, 17, 17],
        'N' => [17, 17, 25, 21, 19, 17, 17],
        'O' => [14, 17, 17, 17, 17, 17, 14],
        'P' => [30, 17, 17, 30, 16, 16, 16],
        'Q' => [14, 17, 17, 17, 21, 18, 13],
        'R' => [30, 17, 17, 30, 20, 18, 17],
        'S' => [15, 16, 16, 14, 1, 1, 30],
        'T' => [31, 4, 4, 4, 4, 4, 4],
        'U' => [17, 17, 17, 17, 17, 17, 14],
        'V' => [17, 17, 17, 17, 17, 10, 4],
        'W' => [17, 17, 17, 21, 21, 21, 10],
        'X' => [17, 17, 10, 4, 10, 17, 17],
        'Y' => [17, 17, 10, 4, 4, 4, 4],
        'Z' => [31, 1, 2, 4, 8, 16, 31],
        '0' => [14, 17, 19, 21, 25, 17, 14],
        '1' => [4, 12, 4, 4, 4, 4, 14],
        '2' => [14, 17, 1, 2, 4, 8, 31],
        '3' => [31, 2, 4, 2, 1, 17, 14],
        '4' => [2, 6, 10, 18, 31, 2, 2],
        '5' => [31, 16, 30, 1, 1, 17, 14],
        '6' => [6, 8, 16, 30, 17, 17, 14],
        '7' => [31, 1, 2, 4, 8, 8, 8],
        '8' => [14, 17, 17, 14, 17, 17, 14],
        '9' => [14, 17, 17, 15, 1, 2, 12],
        ' ' => [0; 7],
        ':' => [0, 12, 12, 0, 12, 12, 0],
        '-' => [0, 0, 0, 31, 0, 0, 0],
        '.' => [0, 0, 0, 0, 0, 12, 12],
        ',' => [0, 0, 0, 0, 12, 4, 8],
        '/' => [1, 1, 2, 4, 8, 16, 16],
        '_' => [0, 0, 0, 0, 0, 0, 31],
        '(' => [2, 4, 8, 8, 8, 4, 2],
        ')' => [8, 4, 2, 2, 2, 4, 8],
        '%' => [24, 25, 2, 4, 8, 19, 3],
        '=' => [0, 0, 31, 0, 31, 0, 0],
        '\'' => [4, 4, 8, 0, 0, 0, 0],
        '<' => [2, 4, 8, 16, 8, 4, 2],
        '>' => [8, 4, 2, 1, 2, 4, 8],
        '*' => [0, 4, 21, 14, 21, 4, 0],
        '#' => [10, 10, 31, 10, 31, 10, 10],
        _ => [14, 17, 1, 2, 4, 0, 4], // '?'
    }
}

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
    fn crc_of_iend_is_the_known_one() {
        assert_eq!(crc32(b"IEND"), 0xAE42_6082);
    }

    #[test]
    fn png_decodes_to_its_size_and_pixels() {
        let mut c = Canvas::new(40, 20, WHITE);
        c.fill(0, 0, 10, 10, INK);
        c.text(12, 2, "Ab1", 1, 30, INK);
        let png = c.png();
        assert_eq!(watchkeep_provider_png_size(&png), Some((40, 20)));
        // Inflate IDAT and look at a pixel of the filled square and one of the background.
        let idat_len = u32::from_be_bytes(png[33..37].try_into().unwrap()) as usize;
        assert_eq!(&png[37..41], b"IDAT");
        let mut raw = Vec::new();
        use std::io::Read;
        flate2::read::ZlibDecoder::new(&png[41..41 + idat_len]).read_to_end(&mut raw).unwrap();
        assert_eq!(raw.len(), 20 * (1 + 40 * 3));
        assert_eq!(&raw[1..4], &INK);
        assert_eq!(&raw[1 + 39 * 3..1 + 40 * 3], &WHITE);
    }

    fn watchkeep_provider_png_size(bytes: &[u8]) -> Option<(u32, u32)> {
        (bytes.len() > 24 && &bytes[..8] == b"\x89PNG\r\n\x1a\n" && &bytes[12..16] == b"IHDR").then(|| {
            (
                u32::from_be_bytes(bytes[16..20].try_into().unwrap()),
                u32::from_be_bytes(bytes[20..24].try_into().unwrap()),
            )
        })
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
