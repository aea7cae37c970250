//! Test media built in memory: seeded PNG and JPEG with the `image` crate (distinct bytes per
//! seed), and the media crate's own fixtures for MP4 and hostile files.

use image::{DynamicImage, ImageFormat, RgbImage};
use sha2::{Digest, Sha256};
use std::io::Cursor;

/// Lower-case hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn encode(width: u32, height: u32, seed: u32, format: ImageFormat) -> Vec<u8> {
    let img = RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([
            (x * 7 + seed) as u8,
            (y * 13 + seed / 256) as u8,
            ((x + y) * 3 + seed / 65536) as u8,
        ])
    });
    let mut out = Cursor::new(Vec::new());
    DynamicImage::ImageRgb8(img)
        .write_to(&mut out, format)
        .expect("encode");
    out.into_inner()
}

/// A `width`×`height` PNG; different seeds give different bytes.
pub fn png(width: u32, height: u32, seed: u32) -> Vec<u8> {
    encode(width, height, seed, ImageFormat::Png)
}

/// A `width`×`height` JPEG.
pub fn jpeg(width: u32, height: u32, seed: u32) -> Vec<u8> {
    encode(width, height, seed, ImageFormat::Jpeg)
}

/// Duration of [`mp4`] files (three 400 ms samples).
pub const MP4_DURATION_MS: i64 = 1200;

/// An H.264 MP4 of `width`×`height`, [`MP4_DURATION_MS`] long.
pub fn mp4(width: u16, height: u16) -> Vec<u8> {
    iskra_media::fixtures::mp4("isom", width, height, 64)
}

pub use iskra_media::fixtures::{forged_png, noise, png_header};

/// A real, decodable H.264 MP4 of `width`×`height` (one second of ffmpeg's test pattern),
/// made by the `ffmpeg` program that `scripts/test.sh` installs; the test fails without it.
pub fn decodable_mp4(width: u32, height: u32) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("pattern.mp4");
    let status = std::process::Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-f", "lavfi", "-i"])
        .arg(format!("testsrc=size={width}x{height}:rate=10"))
        .args(["-t", "1", "-pix_fmt", "yuv420p", "-c:v", "libx264"])
        .arg(&out)
        .status()
        .expect("running ffmpeg (scripts/test.sh installs it)");
    assert!(status.success(), "ffmpeg could not make the test video");
    std::fs::read(&out).expect("the test video")
}
