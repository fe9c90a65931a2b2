//! A small line chart written as a PNG (8-bit RGB, one zlib IDAT chunk, `flate2` for deflate
//! and its CRC-32), for the stand-in's graph snapshots. No text: the chart shows the lines of
//! each group over the requested window on a white ground with a frame and a zero-based grid.

use std::collections::BTreeMap;
use std::io::Write;

const WIDTH: usize = 640;
const HEIGHT: usize = 320;
const MARGIN: usize = 24;

const PALETTE: &[[u8; 3]] =
    &[[31, 119, 180], [214, 39, 40], [44, 160, 44], [255, 127, 14], [148, 103, 189], [140, 86, 75]];

struct Canvas {
    px: Vec<u8>,
}

impl Canvas {
    fn new() -> Self {
        Canvas { px: vec![255; WIDTH * HEIGHT * 3] }
    }

    fn set(&mut self, x: i64, y: i64, c: [u8; 3]) {
        if x < 0 || y < 0 || x >= WIDTH as i64 || y >= HEIGHT as i64 {
            return;
        }
        let i = (y as usize * WIDTH + x as usize) * 3;
        self.px[i..i + 3].copy_from_slice(&c);
    }

    /// Bresenham, two pixels thick.
    fn line(&mut self, (x0, y0): (i64, i64), (x1, y1): (i64, i64), c: [u8; 3]) {
        let (dx, dy) = ((x1 - x0).abs(), -(y1 - y0).abs());
        let (sx, sy) = (if x0 < x1 { 1 } else { -1 }, if y0 < y1 { 1 } else { -1 });
        let (mut x, mut y, mut err) = (x0, y0, dx + dy);
        loop {
            self.set(x, y, c);
            self.set(x, y + 1, c);
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
}

/// Draws `groups` (points `(epoch s, value)`) over `from..=to`.
pub(crate) fn chart(_title: &str, groups: &BTreeMap<String, Vec<(i64, f64)>>, from: i64, to: i64) -> Vec<u8> {
    let mut canvas = Canvas::new();
    let (left, right) = (MARGIN as i64, (WIDTH - MARGIN) as i64);
    let (top, bottom) = (MARGIN as i64, (HEIGHT - MARGIN) as i64);
    let grey = [200, 200, 200];
    for i in 0..=4 {
        let y = top + (bottom - top) * i / 4;
        canvas.line((left, y), (right, y), grey);
    }
    let black = [0, 0, 0];
    canvas.line((left, top), (left, bottom), black);
    canvas.line((left, bottom), (right, bottom), black);
    let values = groups.values().flatten().map(|p| p.1);
    let (lo, hi) = values.fold((0.0f64, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let hi = if hi.is_finite() && hi > lo { hi } else { lo + 1.0 };
    let span = (to - from).max(1) as f64;
    let xy = |(t, v): (i64, f64)| {
        let x = left + (((t - from) as f64 / span) * (right - left) as f64).round() as i64;
        let y = bottom - (((v - lo) / (hi - lo)) * (bottom - top) as f64).round() as i64;
        (x, y)
    };
    for (i, points) in groups.values().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        let mut prev = None;
        for &p in points {
            let here = xy(p);
            canvas.line(prev.unwrap_or(here), here, color);
            prev = Some(here);
        }
    }
    encode(&canvas.px, WIDTH as u32, HEIGHT as u32)
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&u32::try_from(data.len()).unwrap_or(u32::MAX).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc = flate2::Crc::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(&crc.sum().to_be_bytes());
}

/// RGB pixels (row-major) as a PNG.
pub(crate) fn encode(rgb: &[u8], width: u32, height: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit, truecolour, deflate, no filter, no interlace
    chunk(&mut out, b"IHDR", &ihdr);
    let row = width as usize * 3;
    let mut raw = Vec::with_capacity((row + 1) * height as usize);
    for line in rgb.chunks(row) {
        raw.push(0); // filter type None
        raw.extend_from_slice(line);
    }
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing into a Vec cannot fail.
    let _ = z.write_all(&raw);
    let idat = z.finish().unwrap_or_default();
    chunk(&mut out, b"IDAT", &idat);
    chunk(&mut out, b"IEND", &[]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_png_that_decodes() {
        let mut groups = BTreeMap::new();
        groups.insert("host:a".to_owned(), vec![(0, 1.0), (50, 3.0), (100, 2.0)]);
        let png = chart("t", &groups, 0, 100);
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(&png[12..16], b"IHDR");
        // The IDAT inflates to exactly height rows of (1 + width·3) bytes.
        let len = u32::from_be_bytes(png[33..37].try_into().unwrap()) as usize;
        assert_eq!(&png[37..41], b"IDAT");
        let mut raw = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::ZlibDecoder::new(&png[41..41 + len]), &mut raw)
            .unwrap();
        assert_eq!(raw.len(), HEIGHT * (1 + WIDTH * 3));
        assert!(
            raw.chunks(1 + WIDTH * 3).any(|r| r[1..].chunks(3).any(|p| p == [31, 119, 180])),
            "the line is drawn"
        );
        assert!(png.ends_with(&[0, 0, 0, 0, b'I', b'E', b'N', b'D', 0xAE, 0x42, 0x60, 0x82]));
    }
}
