//! Tests of `sniff` (magic bytes only) and `claim_matches` (claimed Content-Type vs. detection).

use image::ImageFormat;

use crate::fixtures::{self, WebmSpec};
use crate::{claim_matches, sniff, AssetType};

fn mime_of(bytes: &[u8]) -> Option<&'static str> {
    sniff(&bytes[..bytes.len().min(64)]).map(|(_, mime)| mime)
}

#[test]
fn sniffs_every_allowed_image() {
    let cases = [
        (ImageFormat::Png, "image/png"),
        (ImageFormat::Jpeg, "image/jpeg"),
        (ImageFormat::Gif, "image/gif"),
        (ImageFormat::WebP, "image/webp"),
    ];
    for (format, mime) in cases {
        let bytes = fixtures::image(format, 8, 8);
        assert_eq!(
            sniff(&bytes[..64]),
            Some((AssetType::Image, mime)),
            "{format:?}"
        );
    }
}

#[test]
fn sniffs_every_allowed_video() {
    let mp4 = fixtures::mp4("isom", 64, 48, 16);
    assert_eq!(sniff(&mp4[..64]), Some((AssetType::Video, "video/mp4")));
    let mov = fixtures::mp4("qt  ", 64, 48, 16);
    assert_eq!(
        sniff(&mov[..64]),
        Some((AssetType::Video, "video/quicktime"))
    );
    let webm = fixtures::webm(&WebmSpec::default());
    assert_eq!(sniff(&webm[..64]), Some((AssetType::Video, "video/webm")));
}

#[test]
fn iso_brands_decide_between_mp4_quicktime_and_refusal() {
    let mp4 = |major: &[u8; 4], compat: &[&[u8; 4]]| mime_of(&fixtures::ftyp_head(major, compat));
    assert_eq!(mp4(b"mp42", &[b"mp42", b"isom"]), Some("video/mp4"));
    assert_eq!(mp4(b"M4V ", &[b"M4V ", b"M4A "]), Some("video/mp4"));
    assert_eq!(mp4(b"dash", &[b"iso6"]), Some("video/mp4"));
    assert_eq!(mp4(b"XAVC", &[b"XAVC", b"mp42"]), Some("video/mp4"));
    assert_eq!(mp4(b"qt  ", &[b"qt  "]), Some("video/quicktime"));
    assert_eq!(
        mp4(b"heic", &[b"mif1", b"heic"]),
        None,
        "HEIC is not allowed"
    );
    assert_eq!(
        mp4(b"mif1", &[b"mif1", b"heic"]),
        None,
        "HEIF is not allowed"
    );
    assert_eq!(
        mp4(b"avif", &[b"avif", b"mif1", b"miaf"]),
        None,
        "AVIF is not allowed"
    );
    assert_eq!(
        mp4(b"M4A ", &[b"M4A ", b"mp42", b"isom"]),
        None,
        "audio is not allowed"
    );
    assert_eq!(mp4(b"zzzz", &[b"zzzz"]), None, "unknown brand");
}

#[test]
fn refuses_text_garbage_and_lookalikes() {
    assert_eq!(sniff(b""), None);
    assert_eq!(
        sniff(b"hello, world! this is plain text, not media at all......"),
        None
    );
    assert_eq!(
        sniff(b"<svg xmlns=\"http://www.w3.org/2000/svg\"></svg>"),
        None
    );
    assert_eq!(sniff(b"%PDF-1.7\n"), None);
    assert_eq!(sniff(b"BM\x3a\x00\x00\x00\x00\x00"), None, "BMP");
    assert_eq!(sniff(b"RIFF\x24\x00\x00\x00WAVEfmt "), None, "WAV");
    assert_eq!(sniff(&fixtures::noise(7, 64)), None);
    let mkv = fixtures::webm(&WebmSpec {
        doc_type: "matroska",
        ..WebmSpec::default()
    });
    assert_eq!(mime_of(&mkv), None, "Matroska is not WebM");
    // Short prefixes of valid magics are not enough.
    assert_eq!(sniff(b"\x89PNG"), None);
    assert_eq!(sniff(b"GIF8"), None);
    assert_eq!(sniff(b"RIFF\0\0\0\0WEB"), None);
    assert_eq!(sniff(b"\0\0\0\x18ftypis"), None);
}

#[test]
fn claims_are_compared_by_essence_and_aliases() {
    assert!(claim_matches(None, "image/png"));
    assert!(claim_matches(Some(""), "image/png"));
    assert!(claim_matches(Some("  "), "video/webm"));
    assert!(claim_matches(Some("application/octet-stream"), "image/gif"));
    assert!(claim_matches(
        Some("Application/Octet-Stream; x=1"),
        "image/gif"
    ));
    assert!(claim_matches(Some("image/png"), "image/png"));
    assert!(claim_matches(
        Some("IMAGE/PNG; charset=binary"),
        "image/png"
    ));
    assert!(claim_matches(Some("image/jpg"), "image/jpeg"));
    assert!(claim_matches(Some("image/pjpeg"), "image/jpeg"));
    assert!(claim_matches(Some("image/apng"), "image/png"));
    assert!(claim_matches(Some("video/x-m4v"), "video/mp4"));
    assert!(claim_matches(Some("video/quicktime"), "video/quicktime"));
    assert!(claim_matches(Some("video/mp4"), "video/quicktime"));
    assert!(claim_matches(Some("video/webm;codecs=vp9"), "video/webm"));

    assert!(!claim_matches(Some("image/png"), "image/jpeg"));
    assert!(!claim_matches(Some("image/gif"), "video/mp4"));
    assert!(!claim_matches(Some("video/webm"), "video/mp4"));
    assert!(!claim_matches(Some("text/plain"), "image/png"));
    assert!(!claim_matches(Some("image/svg+xml"), "image/png"));
    assert!(!claim_matches(Some("application/json"), "video/webm"));
}
