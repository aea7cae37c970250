//! Corrupt, truncated and random input after valid magic bytes: always an error, never a panic.
//!
//! These call `probe_reader` directly, bypassing the panic guard of the public functions, so a
//! panic inside any parser fails the test instead of being turned into `Invalid`.

use std::io::Cursor;

use image::ImageFormat;

use crate::fixtures::{self, WebmSpec, MAX_PIXELS};
use crate::{probe_bytes, MediaError, MediaInfo};

/// How many differently corrupted copies of each fixture the flip test probes.
const FLIP_SEEDS: u64 = 2000;

fn probe_unguarded(bytes: &[u8]) -> Result<MediaInfo, MediaError> {
    let head = &bytes[..bytes.len().min(512)];
    crate::probe_reader(Cursor::new(bytes), bytes.len() as u64, head, MAX_PIXELS)
}

fn all_fixtures() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("png", fixtures::image(ImageFormat::Png, 40, 30)),
        ("jpeg", fixtures::image(ImageFormat::Jpeg, 40, 30)),
        ("gif", fixtures::image(ImageFormat::Gif, 40, 30)),
        ("animated gif", fixtures::animated_gif(40, 30)),
        ("webp", fixtures::image(ImageFormat::WebP, 40, 30)),
        ("mp4", fixtures::mp4("isom", 320, 240, 300)),
        ("mov", fixtures::mp4("qt  ", 320, 240, 300)),
        ("webm", fixtures::webm(&WebmSpec::default())),
    ]
}

#[test]
fn png_header_followed_by_random_bytes_is_invalid() {
    for seed in 0..20 {
        let mut bytes = fixtures::png_header(16, 16);
        bytes.extend(fixtures::noise(seed, 200 + seed as usize * 37));
        let result = probe_unguarded(&bytes);
        assert!(
            matches!(result, Err(MediaError::Invalid(_))),
            "seed {seed}: {result:?}"
        );
    }
}

#[test]
fn corrupted_png_data_is_invalid() {
    let mut bytes = fixtures::image(ImageFormat::Png, 40, 30);
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x55; // breaks the IDAT CRC (and likely the zlib stream)
    assert!(matches!(
        probe_unguarded(&bytes),
        Err(MediaError::Invalid(_))
    ));
}

#[test]
fn truncated_files_are_errors() {
    for (name, bytes) in all_fixtures() {
        let len = bytes.len();
        let mut cuts: Vec<usize> = (1..24).map(|i| len * i / 24).collect();
        cuts.extend([len - 1, len - 2, 8, 12, 16, 20]);
        for cut in cuts {
            let result = probe_unguarded(&bytes[..cut]);
            assert!(result.is_err(), "{name} cut at {cut}/{len}: {result:?}");
        }
        assert!(probe_unguarded(&bytes).is_ok(), "{name} whole");
    }
}

#[test]
fn random_bytes_after_valid_magic_are_errors_not_panics() {
    for (name, bytes) in all_fixtures() {
        for keep in [4usize, 8, 12, 16, 24, 32, 48, 64] {
            for seed in 0..12u64 {
                let mut input = bytes[..keep.min(bytes.len())].to_vec();
                input.extend(fixtures::noise(
                    seed * 131 + keep as u64,
                    16 + seed as usize * 97,
                ));
                let result = probe_unguarded(&input);
                assert!(
                    result.is_err(),
                    "{name} keep {keep} seed {seed}: {result:?}"
                );
            }
        }
    }
}

#[test]
fn flipped_bytes_never_panic() {
    for (name, bytes) in all_fixtures() {
        for seed in 0..FLIP_SEEDS {
            let mut input = bytes.clone();
            let noise = fixtures::noise(seed, 8);
            for pair in noise.chunks(2) {
                let at = (usize::from(pair[0]) * 257 + seed as usize * 31) % input.len();
                input[at] ^= pair[1] | 1;
            }
            // Any outcome but a panic is acceptable: the flip may hit ignorable metadata.
            let _ = probe_unguarded(&input).map_err(|e| (name, e));
        }
    }
}

#[test]
fn unsupported_types_are_unsupported() {
    for bytes in [&b"plain text, definitely not an image"[..], b"", b"\x89PN"] {
        assert!(matches!(
            probe_bytes(bytes, MAX_PIXELS),
            Err(MediaError::Unsupported(_))
        ));
    }
    let heic = fixtures::ftyp_head(b"heic", &[b"mif1", b"heic"]);
    assert!(matches!(
        probe_bytes(&heic, MAX_PIXELS),
        Err(MediaError::Unsupported(_))
    ));
}

#[test]
fn nested_zero_size_box_does_not_hang() {
    let mut bytes = fixtures::mp4("isom", 320, 240, 300);
    let at = bytes.windows(4).position(|w| w == b"hdlr").unwrap();
    bytes[at - 4..at + 4].copy_from_slice(b"\0\0\0\0zzzz");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(probe_unguarded(&bytes).map(|_| ())));
    let result = rx
        .recv_timeout(std::time::Duration::from_secs(20))
        .expect("probe hangs");
    assert!(matches!(result, Err(MediaError::Invalid(_))), "{result:?}");
}
