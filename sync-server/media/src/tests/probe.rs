//! Probing valid fixtures gives the right type, dimensions and duration; limits are enforced.

use std::cell::Cell;
use std::io::{BufReader, Cursor, Read, Seek, SeekFrom};
use std::rc::Rc;

use image::ImageFormat;

use crate::fixtures::{self, WebmSpec, MAX_PIXELS};
use crate::{probe_bytes, probe_file, AssetType, MediaError, MediaInfo};

fn image_info(mime: &'static str, width: u32, height: u32) -> MediaInfo {
    MediaInfo {
        asset_type: AssetType::Image,
        mime,
        width,
        height,
        duration_ms: None,
    }
}

#[test]
fn probes_every_image_format() {
    let cases = [
        (ImageFormat::Png, "image/png"),
        (ImageFormat::Jpeg, "image/jpeg"),
        (ImageFormat::Gif, "image/gif"),
        (ImageFormat::WebP, "image/webp"),
    ];
    for (format, mime) in cases {
        let bytes = fixtures::image(format, 37, 21);
        let info = probe_bytes(&bytes, MAX_PIXELS).unwrap();
        assert_eq!(info, image_info(mime, 37, 21), "{format:?}");
    }
    let gif = fixtures::animated_gif(20, 10);
    assert_eq!(
        probe_bytes(&gif, MAX_PIXELS).unwrap(),
        image_info("image/gif", 20, 10)
    );
}

#[test]
fn probes_files_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("a.bin");
    std::fs::write(&png, fixtures::image(ImageFormat::Png, 5, 3)).unwrap();
    assert_eq!(
        probe_file(&png, MAX_PIXELS).unwrap(),
        image_info("image/png", 5, 3)
    );
    let mov = dir.path().join("b.bin");
    std::fs::write(&mov, fixtures::mp4("qt  ", 1280, 720, 1000)).unwrap();
    let info = probe_file(&mov, MAX_PIXELS).unwrap();
    assert_eq!(
        (info.mime, info.width, info.height),
        ("video/quicktime", 1280, 720)
    );
    let missing = probe_file(&dir.path().join("missing"), MAX_PIXELS);
    assert!(matches!(missing, Err(MediaError::Io(_))), "{missing:?}");
    let text = dir.path().join("c.txt");
    std::fs::write(&text, "just some text").unwrap();
    assert!(matches!(
        probe_file(&text, MAX_PIXELS),
        Err(MediaError::Unsupported(_))
    ));
}

#[test]
fn probes_mp4_and_quicktime() {
    for (major, mime) in [
        ("isom", "video/mp4"),
        ("mp42", "video/mp4"),
        ("qt  ", "video/quicktime"),
    ] {
        let bytes = fixtures::mp4(major, 320, 240, 500);
        let info = probe_bytes(&bytes, MAX_PIXELS).unwrap();
        let expected = MediaInfo {
            asset_type: AssetType::Video,
            mime,
            width: 320,
            height: 240,
            duration_ms: Some(1200),
        };
        assert_eq!(info, expected, "{major}");
    }
}

#[test]
fn probes_webm() {
    let info = probe_bytes(&fixtures::webm(&WebmSpec::default()), MAX_PIXELS).unwrap();
    let expected = MediaInfo {
        asset_type: AssetType::Video,
        mime: "video/webm",
        width: 640,
        height: 360,
        duration_ms: Some(2500),
    };
    assert_eq!(info, expected);

    // MediaRecorder style: unknown sizes and no Duration.
    let live = WebmSpec {
        live: true,
        duration: None,
        width: 1920,
        height: 1080,
        ..Default::default()
    };
    let info = probe_bytes(&fixtures::webm(&live), MAX_PIXELS).unwrap();
    assert_eq!(
        (info.width, info.height, info.duration_ms),
        (1920, 1080, None)
    );
}

#[test]
fn videos_without_a_video_track_or_size_are_invalid() {
    let audio = probe_bytes(&fixtures::audio_only_mp4(), MAX_PIXELS);
    assert!(matches!(audio, Err(MediaError::Invalid(_))), "{audio:?}");
    let no_video = fixtures::webm(&WebmSpec {
        with_video: false,
        ..Default::default()
    });
    assert!(matches!(
        probe_bytes(&no_video, MAX_PIXELS),
        Err(MediaError::Invalid(_))
    ));
    let no_size = fixtures::webm(&WebmSpec {
        width: 0,
        ..Default::default()
    });
    assert!(matches!(
        probe_bytes(&no_size, MAX_PIXELS),
        Err(MediaError::Invalid(_))
    ));
    let mp4_no_size = fixtures::mp4("isom", 0, 0, 10);
    assert!(matches!(
        probe_bytes(&mp4_no_size, MAX_PIXELS),
        Err(MediaError::Invalid(_))
    ));
}

#[test]
fn huge_png_is_refused_from_its_header() {
    let bytes = fixtures::forged_png(30_000, 30_000);
    assert!(bytes.len() < 100, "the forged file is tiny");
    match probe_bytes(&bytes, MAX_PIXELS) {
        Err(MediaError::Invalid(msg)) => {
            assert!(msg.contains("pixel limit"), "{msg}");
            assert!(msg.contains("30000x30000"), "{msg}");
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
    // Under a generous limit the header passes, but the missing pixel data does not decode.
    let lax = probe_bytes(&bytes, u64::MAX);
    assert!(matches!(lax, Err(MediaError::Invalid(_))), "{lax:?}");
}

#[test]
fn pixel_limit_applies_to_every_image_format() {
    for format in [
        ImageFormat::Png,
        ImageFormat::Jpeg,
        ImageFormat::Gif,
        ImageFormat::WebP,
    ] {
        let bytes = fixtures::image(format, 30, 20);
        assert!(probe_bytes(&bytes, 600).is_ok(), "{format:?} at the limit");
        let over = probe_bytes(&bytes, 599);
        assert!(
            matches!(&over, Err(MediaError::Invalid(m)) if m.contains("pixel limit")),
            "{format:?}: {over:?}"
        );
    }
}

/// A `Read + Seek` over memory that counts the bytes actually read.
struct CountingReader {
    inner: Cursor<Vec<u8>>,
    read: Rc<Cell<u64>>,
}

impl Read for CountingReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.set(self.read.get() + n as u64);
        Ok(n)
    }
}

impl Seek for CountingReader {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        self.inner.seek(pos)
    }
}

#[test]
fn mp4_probe_does_not_read_mdat() {
    let bytes = fixtures::mp4("isom", 640, 480, 4 * 1024 * 1024);
    let len = bytes.len() as u64;
    let read = Rc::new(Cell::new(0));
    let reader = CountingReader {
        inner: Cursor::new(bytes),
        read: read.clone(),
    };
    let info = crate::video::probe(BufReader::new(reader), len).unwrap();
    assert_eq!(info, (640, 480, Some(1200)));
    assert!(
        read.get() < 512 * 1024,
        "read {} of {len} bytes",
        read.get()
    );
}
