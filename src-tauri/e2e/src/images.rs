//! Test images: distinct, recognisable PNGs (a colour field with a contrasting band, so
//! screenshots show which is which), written to files for the app to import.

use image::{Rgb, RgbImage};
use std::path::{Path, PathBuf};

/// A `width`×`height` PNG of colour number `seed` (hues spread around the wheel).
pub fn png(seed: u32, width: u32, height: u32) -> Vec<u8> {
    let hue = (seed as f32 * 137.508) % 360.0;
    let base = hsv(hue, 0.55, 0.85);
    let band = hsv((hue + 180.0) % 360.0, 0.45, 0.95);
    let img = RgbImage::from_fn(width, height, |x, y| {
        let diag = (x * 3 + y * 2 + seed) % (width.max(1) * 2) < width / 3;
        let shade = 0.75 + 0.25 * (y as f32 / height.max(1) as f32);
        let c = if diag { band } else { base };
        Rgb(c.map(|v| (f32::from(v) * shade) as u8))
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .expect("encoding a PNG in memory");
    out.into_inner()
}

/// Writes `png(seed, …)` to `dir/name` and returns the path.
pub fn write_png(dir: &Path, name: &str, seed: u32, width: u32, height: u32) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, png(seed, width, height)).expect("writing a test image");
    path
}

fn hsv(h: f32, s: f32, v: f32) -> [u8; 3] {
    let c = v * s;
    let x = c * (1.0 - ((h / 60.0) % 2.0 - 1.0).abs());
    let m = v - c;
    let (r, g, b) = match (h / 60.0) as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    [r + m, g + m, b + m].map(|f| (f * 255.0).round() as u8)
}
