//! Upload load: ~25 MB MP4 files (one H.264 track written with `mp4::Mp4Writer`, samples of
//! random bytes, so every file is distinct and dedup never answers early) sent to
//! `PUT /v1/assets/{sha256}`: first one after the other for throughput, then all at once while
//! the server's peak memory is watched (it must not grow with the size of the bodies).

use crate::report::{Bound, Row};
use crate::server::Server;
use anyhow::{ensure, Result};
use bytes::Bytes;
use mp4::{AvcConfig, FourCC, MediaConfig, Mp4Config, Mp4Sample, Mp4Writer, TrackConfig};
use rand::RngCore;
use reqwest::header::CONTENT_TYPE;
use sha2::{Digest, Sha256};
use std::io::Cursor;
use std::time::Instant;

/// Samples per file.
const SAMPLES: u64 = 100;
/// Bytes per sample: 100 × 250,000 = 25 MB of payload, under the 25 MiB default upload limit.
const SAMPLE_BYTES: usize = 250_000;
/// Milliseconds per sample (25 fps).
const SAMPLE_MS: u32 = 40;
/// Target: sequential upload throughput, MB/s.
const TARGET_MB_S: f64 = 150.0;
/// Target: growth of the server's peak RSS during the concurrent uploads, MB.
const TARGET_GROWTH_MB: f64 = 32.0;

/// A test file: its SHA-256 (hex) and its bytes.
struct Upload {
    sha: String,
    body: Bytes,
}

/// Builds one valid 1080p MP4 of about 25 MB whose samples are random bytes.
fn mp4_file() -> Result<Upload> {
    let brands = [FourCC::from(*b"isom"), FourCC::from(*b"avc1")];
    let config = Mp4Config {
        major_brand: brands[0],
        minor_version: 512,
        compatible_brands: brands.into(),
        timescale: 1000,
    };
    let avc = AvcConfig {
        width: 1920,
        height: 1080,
        seq_param_set: vec![0x67, 0x64, 0x00, 0x1F, 0xAC, 0xD9],
        pic_param_set: vec![0x68, 0xEB, 0xE3, 0xCB],
    };
    let mut writer = Mp4Writer::write_start(Cursor::new(Vec::new()), &config)?;
    writer.add_track(&TrackConfig {
        track_type: mp4::TrackType::Video,
        timescale: 1000,
        language: "und".into(),
        media_conf: MediaConfig::AvcConfig(avc),
    })?;
    for i in 0..SAMPLES {
        let mut bytes = vec![0; SAMPLE_BYTES];
        rand::thread_rng().fill_bytes(&mut bytes);
        let sample = Mp4Sample {
            start_time: i * u64::from(SAMPLE_MS),
            duration: SAMPLE_MS,
            rendering_offset: 0,
            is_sync: i == 0,
            bytes: bytes.into(),
        };
        writer.write_sample(1, &sample)?;
    }
    writer.write_end()?;
    let body = Bytes::from(writer.into_writer().into_inner());
    let sha = hex::encode(Sha256::digest(&body));
    Ok(Upload { sha, body })
}

/// Uploads one file and checks that the server stored it (201).
async fn put(http: &reqwest::Client, server: &Server, token: &str, file: &Upload) -> Result<()> {
    let url = server.url(&format!("/v1/assets/{}", file.sha));
    let request = http.put(url).bearer_auth(token).body(file.body.clone());
    let r = request.header(CONTENT_TYPE, "video/mp4").send().await?;
    let status = r.status();
    ensure!(status == 201, "upload: {status}: {}", r.text().await?);
    Ok(())
}

/// Measurement 3: (a) sequential MB/s over `n` uploads, (b) peak RSS growth during `n`
/// concurrent uploads (and their aggregate MB/s, for information).
pub async fn run(server: &Server, n: usize) -> Result<Vec<Row>> {
    let token = server.token("bench-upload").await?;
    let http = reqwest::Client::new();
    let make = move || (0..2 * n).map(|_| mp4_file()).collect::<Result<Vec<_>>>();
    let files = tokio::task::spawn_blocking(make).await??;
    let mb = |files: &[Upload]| files.iter().map(|f| f.body.len()).sum::<usize>() as f64 / 1e6;
    let (sequential, concurrent) = files.split_at(n);

    let start = Instant::now();
    for file in sequential {
        put(&http, server, &token, file).await?;
    }
    let seq = mb(sequential) / start.elapsed().as_secs_f64();

    server.reset_peak()?;
    let before = server.memory()?.rss;
    let start = Instant::now();
    futures::future::try_join_all(concurrent.iter().map(|f| put(&http, server, &token, f))).await?;
    let conc = mb(concurrent) / start.elapsed().as_secs_f64();
    let growth = server.memory()?.peak - before;

    let size = mb(&files[..1]);
    let name = |how: &str| format!("upload {size:.1} MB MP4 x {n}, {how}");
    let growth_name = format!("server peak RSS growth, {n} uploads");
    Ok(vec![
        Row::new(name("sequential"), seq, "MB/s", Bound::Min(TARGET_MB_S)),
        Row::new(name("concurrent"), conc, "MB/s", Bound::Info),
        Row::new(growth_name, growth, "MB", Bound::Max(TARGET_GROWTH_MB)),
    ])
}
