//! Model outputs: the JSON a completed job answers (fal's image and video output schemas) and
//! the media its URLs serve (PNGs rendered with `image`, a small MP4 from iskra-media's fixtures).

use std::io::Cursor;
use std::sync::OnceLock;

use bytes::Bytes;
use image::{DynamicImage, ImageFormat, RgbImage};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::config::OutputMode;
use crate::job::Job;
use crate::state::Shared;

/// Largest side of a rendered PNG: outputs stay small whatever size was asked for.
const MAX_SIDE: u32 = 64;

/// The path segment under `/files/` that selects how an output URL is served.
pub(crate) fn kind_segment(mode: OutputMode) -> &'static str {
    match mode {
        OutputMode::Normal | OutputMode::Refused => "out",
        OutputMode::Huge => "huge",
        OutputMode::HugeChunked => "huge-chunked",
        OutputMode::Html => "html",
        OutputMode::NotFound => "missing",
        OutputMode::ServerError => "broken",
    }
}

/// The output JSON of a completed job.
pub(crate) fn model_output(job: &Job, shared: &Shared, mode: OutputMode) -> Value {
    let base = if mode == OutputMode::Refused {
        &shared.dead_base
    } else {
        &shared.base
    };
    let kind = kind_segment(mode);
    if job.is_video() {
        let mp4 = video_bytes();
        return json!({
            "video": {
                "url": format!("{base}/files/{kind}/{}-0.mp4", job.id),
                "content_type": "video/mp4",
                "file_name": "output.mp4",
                "file_size": mp4.len(),
            }
        });
    }
    let (width, height) = image_dims(&job.input);
    let n = num_images(&job.input);
    let images: Vec<Value> = (0..n)
        .map(|i| {
            json!({
                "url": format!("{base}/files/{kind}/{}-{i}.png", job.id),
                "content_type": "image/png",
                "width": width,
                "height": height,
            })
        })
        .collect();
    let seed = job
        .input
        .get("seed")
        .and_then(Value::as_u64)
        .unwrap_or_else(|| {
            u64::from(u32::from_be_bytes(
                digest(job.prompt(), 0)[..4].try_into().unwrap(),
            ))
        });
    json!({
        "images": images,
        "seed": seed,
        "prompt": job.prompt(),
        "has_nsfw_concepts": vec![false; n],
        "timings": { "inference": 0.25 },
    })
}

/// `num_images` from the input, 1 by default, at most 8.
pub(crate) fn num_images(input: &Value) -> usize {
    input
        .get("num_images")
        .and_then(Value::as_u64)
        .map_or(1, |n| n.clamp(1, 8) as usize)
}

/// The rendered size for the input's `image_size` (fal's named sizes or `{width,height}`),
/// scaled down so the longest side is at most 64 px.
pub(crate) fn image_dims(input: &Value) -> (u32, u32) {
    let (w, h) = match input.get("image_size") {
        Some(Value::String(s)) => match s.as_str() {
            "portrait_4_3" => (768, 1024),
            "portrait_16_9" => (576, 1024),
            "landscape_4_3" => (1024, 768),
            "landscape_16_9" => (1024, 576),
            _ => (1024, 1024),
        },
        Some(Value::Object(o)) => {
            let side = |k: &str| {
                o.get(k)
                    .and_then(Value::as_u64)
                    .unwrap_or(1024)
                    .clamp(1, 100_000)
            };
            (side("width") as u32, side("height") as u32)
        }
        _ => (1024, 1024),
    };
    let longest = w.max(h);
    if longest <= MAX_SIDE {
        return (w, h);
    }
    let scale = |v: u32| ((u64::from(v) * u64::from(MAX_SIDE)) / u64::from(longest)).max(1) as u32;
    (scale(w), scale(h))
}

fn digest(prompt: &str, index: usize) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(prompt.as_bytes());
    h.update(b"\n");
    h.update(index.to_string().as_bytes());
    h.finalize().into()
}

/// A PNG whose colours derive from a hash of `prompt` and `index`, so different prompts (and
/// the images of one batch) give different bytes; the same inputs always give the same bytes.
pub fn render_png(prompt: &str, index: usize, width: u32, height: u32) -> Vec<u8> {
    let d = digest(prompt, index);
    let img = RgbImage::from_fn(width, height, |x, y| {
        let (x, y) = ((x & 0xFF) as u8, (y & 0xFF) as u8);
        image::Rgb([
            d[0] ^ x.wrapping_mul(3),
            d[1] ^ y.wrapping_mul(5),
            d[2].wrapping_add(x ^ y),
        ])
    });
    let mut out = Cursor::new(Vec::new());
    DynamicImage::ImageRgb8(img)
        .write_to(&mut out, ImageFormat::Png)
        .expect("PNG encoding in memory");
    out.into_inner()
}

/// The PNG a job's `index`-th output URL serves.
pub(crate) fn job_png(job: &Job, index: usize) -> Vec<u8> {
    let (w, h) = image_dims(&job.input);
    render_png(job.prompt(), index, w, h)
}

/// The MP4 every video output serves: 64x64, 1.2 s, H.264 (iskra-media's fixture).
pub fn video_bytes() -> Bytes {
    static MP4: OnceLock<Bytes> = OnceLock::new();
    MP4.get_or_init(|| Bytes::from(iskra_media::fixtures::mp4("isom", 64, 64, 256)))
        .clone()
}
