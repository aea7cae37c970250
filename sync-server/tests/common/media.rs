//! Test media built in memory: PNG and JPEG with the `image` crate, MP4 with `mp4::Mp4Writer`,
//! and hostile files (a forged 30000×30000 PNG, a PNG header on noise).

use bytes::Bytes;
use image::{DynamicImage, ImageFormat, RgbImage};
use mp4::{AvcConfig, MediaConfig, Mp4Config, Mp4Sample, Mp4Writer, TrackConfig, TrackType};
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

/// Duration of [`mp4`] files: three samples of 400 ms.
pub const MP4_DURATION_MS: i64 = 1200;

/// An H.264 MP4 of `width`×`height`, [`MP4_DURATION_MS`] long.
pub fn mp4(width: u16, height: u16) -> Vec<u8> {
    let brand = |s: &str| s.parse().expect("brand");
    let config = Mp4Config {
        major_brand: brand("isom"),
        minor_version: 512,
        compatible_brands: vec![brand("isom"), brand("avc1")],
        timescale: 1000,
    };
    let avc = AvcConfig {
        width,
        height,
        seq_param_set: vec![0x67, 0x64, 0x00, 0x1F, 0xAC, 0xD9],
        pic_param_set: vec![0x68, 0xEB, 0xE3, 0xCB],
    };
    let mut writer = Mp4Writer::write_start(Cursor::new(Vec::new()), &config).expect("mp4 start");
    let track = TrackConfig {
        track_type: TrackType::Video,
        timescale: 1000,
        language: "und".into(),
        media_conf: MediaConfig::AvcConfig(avc),
    };
    writer.add_track(&track).expect("track");
    for i in 0..3u64 {
        let sample = Mp4Sample {
            start_time: i * 400,
            duration: 400,
            rendering_offset: 0,
            is_sync: i == 0,
            bytes: Bytes::from(vec![i as u8; 300]),
        };
        writer.write_sample(1, &sample).expect("sample");
    }
    writer.write_end().expect("mp4 end");
    writer.into_writer().into_inner()
}

/// Standard CRC-32 of PNG chunks.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut out = (data.len() as u32).to_be_bytes().to_vec();
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    out.extend_from_slice(&body);
    out.extend_from_slice(&crc32(&body).to_be_bytes());
    out
}

/// PNG signature and a valid IHDR for an 8-bit RGB `width`×`height` image.
pub fn png_header(width: u32, height: u32) -> Vec<u8> {
    let mut ihdr = width.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    out.extend(png_chunk(b"IHDR", &ihdr));
    out
}

/// A tiny file claiming to be a `width`×`height` PNG: header, an empty IDAT, IEND.
pub fn forged_png(width: u32, height: u32) -> Vec<u8> {
    let mut out = png_header(width, height);
    out.extend(png_chunk(
        b"IDAT",
        &[0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    ));
    out.extend(png_chunk(b"IEND", &[]));
    out
}

/// `len` pseudo-random bytes from `seed` (xorshift; deterministic).
pub fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}
