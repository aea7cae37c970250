//! Generators of test media: images encoded with `image`/`gif`, MP4 and QuickTime written with
//! `mp4::Mp4Writer`, WebM assembled from hand-written EBML, and a PNG with a forged header.
//!
//! Everything is built in memory at test time so the repository holds no binary fixtures.

use std::io::Cursor;

use bytes::Bytes;
use image::{DynamicImage, ImageFormat, RgbImage};
use mp4::{
    AacConfig, AvcConfig, MediaConfig, Mp4Config, Mp4Sample, Mp4Writer, TrackConfig, TrackType,
};

/// The pixel limit of S4 (100 megapixels).
pub const MAX_PIXELS: u64 = 100_000_000;

/// Encodes a `width` x `height` gradient in `format` with the `image` crate.
pub fn image(format: ImageFormat, width: u32, height: u32) -> Vec<u8> {
    let img = RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x * 7) as u8, (y * 13) as u8, ((x + y) * 3) as u8])
    });
    let mut out = Cursor::new(Vec::new());
    DynamicImage::ImageRgb8(img)
        .write_to(&mut out, format)
        .unwrap();
    out.into_inner()
}

/// A two-frame animated GIF written with the `gif` crate.
pub fn animated_gif(width: u16, height: u16) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let palette = [0u8, 0, 0, 255, 255, 255];
        let mut enc = gif::Encoder::new(&mut out, width, height, &palette).unwrap();
        for shade in 0..2u8 {
            let pixels = vec![shade; usize::from(width) * usize::from(height)];
            let frame = gif::Frame::from_indexed_pixels(width, height, pixels, None);
            enc.write_frame(&frame).unwrap();
        }
    }
    out
}

/// Standard CRC-32 (as used by PNG chunks).
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

/// One PNG chunk with a correct CRC.
fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut out = (data.len() as u32).to_be_bytes().to_vec();
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    out.extend_from_slice(&body);
    out.extend_from_slice(&crc32(&body).to_be_bytes());
    out
}

/// PNG signature plus a valid IHDR chunk for an 8-bit RGB image.
pub fn png_header(width: u32, height: u32) -> Vec<u8> {
    let mut ihdr = width.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    out.extend(png_chunk(b"IHDR", &ihdr));
    out
}

/// A tiny file claiming to be a `width` x `height` PNG: header, a minimal IDAT, IEND.
pub fn forged_png(width: u32, height: u32) -> Vec<u8> {
    let mut out = png_header(width, height);
    // zlib stream of an empty deflate block.
    out.extend(png_chunk(
        b"IDAT",
        &[0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    ));
    out.extend(png_chunk(b"IEND", &[]));
    out
}

/// An H.264 MP4 (or QuickTime with `major` = `qt  `) with three 400 ms samples of
/// `sample_len` bytes each: 1200 ms long.
pub fn mp4(major: &str, width: u16, height: u16, sample_len: usize) -> Vec<u8> {
    let brand = |s: &str| s.parse().unwrap();
    let config = Mp4Config {
        major_brand: brand(major),
        minor_version: 512,
        compatible_brands: vec![brand(major), brand("avc1")],
        timescale: 1000,
    };
    let avc = AvcConfig {
        width,
        height,
        seq_param_set: vec![0x67, 0x64, 0x00, 0x1F, 0xAC, 0xD9],
        pic_param_set: vec![0x68, 0xEB, 0xE3, 0xCB],
    };
    write_mp4(
        &config,
        TrackType::Video,
        MediaConfig::AvcConfig(avc),
        sample_len,
    )
}

/// An MP4 holding a single AAC audio track.
pub fn audio_only_mp4() -> Vec<u8> {
    let config = Mp4Config {
        major_brand: "isom".parse().unwrap(),
        minor_version: 512,
        compatible_brands: vec!["isom".parse().unwrap(), "mp41".parse().unwrap()],
        timescale: 1000,
    };
    write_mp4(
        &config,
        TrackType::Audio,
        MediaConfig::AacConfig(AacConfig::default()),
        64,
    )
}

/// Writes one track of three samples with `mp4::Mp4Writer`.
fn write_mp4(config: &Mp4Config, kind: TrackType, media: MediaConfig, len: usize) -> Vec<u8> {
    let mut writer = Mp4Writer::write_start(Cursor::new(Vec::new()), config).unwrap();
    let track = TrackConfig {
        track_type: kind,
        timescale: 1000,
        language: "und".into(),
        media_conf: media,
    };
    writer.add_track(&track).unwrap();
    for i in 0..3u64 {
        let sample = Mp4Sample {
            start_time: i * 400,
            duration: 400,
            rendering_offset: 0,
            is_sync: i == 0,
            bytes: Bytes::from(vec![i as u8; len]),
        };
        writer.write_sample(1, &sample).unwrap();
    }
    writer.write_end().unwrap();
    writer.into_writer().into_inner()
}

/// An `ftyp` box with the given brands followed by zero padding to 64 bytes.
pub fn ftyp_head(major: &[u8; 4], compatible: &[&[u8; 4]]) -> Vec<u8> {
    let size = 16 + 4 * compatible.len() as u32;
    let mut out = size.to_be_bytes().to_vec();
    out.extend_from_slice(b"ftyp");
    out.extend_from_slice(major);
    out.extend_from_slice(&[0, 0, 2, 0]);
    compatible.iter().for_each(|b| out.extend_from_slice(*b));
    out.resize(64, 0);
    out
}

/// One EBML element; `None` data size writes the "unknown size" marker.
fn el(id: &[u8], data: &[u8], unknown_size: bool) -> Vec<u8> {
    let mut out = id.to_vec();
    if unknown_size {
        out.extend_from_slice(&[0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]);
    } else if data.len() < 0x7F {
        out.push(0x80 | data.len() as u8);
    } else {
        out.push(0x01);
        out.extend_from_slice(&(data.len() as u64).to_be_bytes()[1..]);
    }
    out.extend_from_slice(data);
    out
}

/// A known-size EBML element.
fn e(id: &[u8], data: &[u8]) -> Vec<u8> {
    el(id, data, false)
}

/// Shape of a generated WebM file.
pub struct WebmSpec<'a> {
    pub doc_type: &'a str,
    pub width: u64,
    pub height: u64,
    /// Segment duration in ticks of 1 ms (`None` = element absent, as MediaRecorder writes).
    pub duration: Option<f64>,
    /// Segment and Cluster of unknown size (live recording).
    pub live: bool,
    pub with_video: bool,
}

impl Default for WebmSpec<'_> {
    fn default() -> Self {
        WebmSpec {
            doc_type: "webm",
            width: 640,
            height: 360,
            duration: Some(2500.0),
            live: false,
            with_video: true,
        }
    }
}

/// Builds a WebM from hand-written EBML: header, Segment { Void, Info, Tracks (audio, then
/// video), Cluster }.
pub fn webm(spec: &WebmSpec<'_>) -> Vec<u8> {
    let mut header = e(&[0x42, 0x86], &[1]);
    header.extend(e(&[0x42, 0x82], spec.doc_type.as_bytes()));
    let mut out = e(&[0x1A, 0x45, 0xDF, 0xA3], &header);

    let mut info = e(&[0x2A, 0xD7, 0xB1], &1_000_000u32.to_be_bytes());
    if let Some(d) = spec.duration {
        info.extend(e(&[0x44, 0x89], &d.to_be_bytes()));
    }
    info.extend(e(&[0x4D, 0x80], b"iskra-tests"));
    let mut audio = e(&[0xD7], &[1]);
    audio.extend(e(&[0x83], &[2]));
    audio.extend(e(&[0x86], b"A_OPUS"));
    let mut tracks = e(&[0xAE], &audio);
    if spec.with_video {
        let mut video = e(&[0xB0], &spec.width.to_be_bytes()[6..]);
        video.extend(e(&[0xBA], &spec.height.to_be_bytes()[6..]));
        let mut entry = e(&[0xD7], &[2]);
        entry.extend(e(&[0x83], &[1]));
        entry.extend(e(&[0x86], b"V_VP9"));
        entry.extend(e(&[0xE0], &video));
        tracks.extend(e(&[0xAE], &entry));
    }
    let mut cluster = e(&[0xE7], &[0]);
    cluster.extend(e(&[0xA3], &[0x81; 300]));

    let mut segment = e(&[0xEC], &[0; 10]);
    segment.extend(e(&[0x15, 0x49, 0xA9, 0x66], &info));
    segment.extend(e(&[0x16, 0x54, 0xAE, 0x6B], &tracks));
    segment.extend(el(&[0x1F, 0x43, 0xB6, 0x75], &cluster, spec.live));
    out.extend(el(&[0x18, 0x53, 0x80, 0x67], &segment, spec.live));
    out
}

/// Deterministic pseudo-random bytes (xorshift64*).
pub fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 56) as u8
        })
        .collect()
}
