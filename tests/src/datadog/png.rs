//! A small line chart for the stand-in's graph snapshots, drawn on the stand-ins' shared canvas
//! (`crate::canvas`): the snapshot's title (Datadog draws the `title` it is given above the
//! graph), then the lines of each group over the requested window on a white ground with a
//! frame and a zero-based grid.

use std::collections::BTreeMap;

use crate::canvas::{Canvas, Rgb, INK, WHITE};

const WIDTH: usize = 640;
const HEIGHT: usize = 320;
const MARGIN: usize = 24;

const PALETTE: &[Rgb] =
    &[[31, 119, 180], [214, 39, 40], [44, 160, 44], [255, 127, 14], [148, 103, 189], [140, 86, 75]];

/// Draws `groups` (points `(epoch s, value)`) over `from..=to`.
pub(crate) fn chart(title: &str, groups: &BTreeMap<String, Vec<(i64, f64)>>, from: i64, to: i64) -> Vec<u8> {
    let mut canvas = Canvas::new(WIDTH as u32, HEIGHT as u32, WHITE);
    canvas.text(MARGIN as i64, 6, title, 2, (WIDTH - 2 * MARGIN) as i64, INK);
    let (left, right) = (MARGIN as i64, (WIDTH - MARGIN) as i64);
    let (top, bottom) = ((MARGIN + 12) as i64, (HEIGHT - MARGIN) as i64);
    let grey: Rgb = [200, 200, 200];
    for i in 0..=4 {
        let y = top + (bottom - top) * i / 4;
        canvas.line((left, y), (right, y), 1, grey);
    }
    let black: Rgb = [0, 0, 0];
    canvas.line((left, top), (left, bottom), 1, black);
    canvas.line((left, bottom), (right, bottom), 1, black);
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
            canvas.line(prev.unwrap_or(here), here, 2, color);
            prev = Some(here);
        }
    }
    canvas.png()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_png_that_decodes() {
        let mut groups = BTreeMap::new();
        groups.insert("host:a".to_owned(), vec![(0, 1.0), (50, 3.0), (100, 2.0)]);
        let png = chart("t", &groups, 0, 100);
        let img = image::load_from_memory(&png).expect("a PNG").to_rgb8();
        assert_eq!(img.dimensions(), (WIDTH as u32, HEIGHT as u32));
        assert!(img.pixels().any(|p| p.0 == PALETTE[0]), "the line is drawn");
    }
}
