//! Type detection from magic bytes, and the check of a client's claimed `Content-Type`.
//!
//! S4 requires the type to come from the bytes, never from the file name or a header. Only the
//! seven allowed formats are recognised; everything else (including HEIC/AVIF and audio-only
//! files that share the ISO-BMFF container with MP4, and Matroska files that share EBML with
//! WebM) is `None`, which the server answers with 415.

use crate::webm;
use crate::AssetType;

/// Canonical mime of PNG images.
pub(crate) const MIME_PNG: &str = "image/png";
/// Canonical mime of JPEG images.
pub(crate) const MIME_JPEG: &str = "image/jpeg";
/// Canonical mime of WebP images.
pub(crate) const MIME_WEBP: &str = "image/webp";
/// Canonical mime of GIF images.
pub(crate) const MIME_GIF: &str = "image/gif";
/// Canonical mime of MP4 videos.
pub(crate) const MIME_MP4: &str = "video/mp4";
/// Canonical mime of WebM videos.
pub(crate) const MIME_WEBM: &str = "video/webm";
/// Canonical mime of QuickTime videos.
pub(crate) const MIME_QUICKTIME: &str = "video/quicktime";

/// Every mime [`sniff`] can answer: the accepted types, for the server and the desktop alike.
pub const ACCEPTED_MIME: &[&str] = &[
    MIME_PNG,
    MIME_JPEG,
    MIME_WEBP,
    MIME_GIF,
    MIME_MP4,
    MIME_WEBM,
    MIME_QUICKTIME,
];

/// The accepted formats as people name them, for messages.
pub const ACCEPTED_NAMES: &str = "PNG, JPEG, WebP, GIF, MP4, WebM, MOV";

/// Largest image accepted, in pixels: 100 megapixels (the server's default
/// `max_image_pixels`, and the desktop's fixed limit so it refuses what the server would).
pub const MAX_PIXELS: u64 = 100_000_000;

/// File extension for an accepted mime (`bin` for anything else).
pub fn extension(mime: &str) -> &'static str {
    match mime {
        MIME_PNG => "png",
        MIME_JPEG => "jpg",
        MIME_WEBP => "webp",
        MIME_GIF => "gif",
        MIME_MP4 => "mp4",
        MIME_WEBM => "webm",
        MIME_QUICKTIME => "mov",
        _ => "bin",
    }
}

/// True when the first bytes of a file are one of the accepted types.
pub fn is_supported(head: &[u8]) -> bool {
    sniff(head).is_some()
}

/// PNG file signature (PNG spec, section 5.2).
const PNG_MAGIC: &[u8] = b"\x89PNG\r\n\x1a\n";
/// JPEG: SOI marker followed by the first byte of the next marker.
const JPEG_MAGIC: &[u8] = b"\xFF\xD8\xFF";
/// GIF signatures of the two versions of the format.
const GIF_MAGICS: [&[u8]; 2] = [b"GIF87a", b"GIF89a"];
/// WebP: a RIFF container (bytes 0..4) whose form type (bytes 8..12) is `WEBP`.
const RIFF_MAGIC: &[u8] = b"RIFF";
/// RIFF form type of WebP files.
const WEBP_FORM: &[u8] = b"WEBP";
/// ISO-BMFF: the first box must be `ftyp` (bytes 4..8).
const FTYP: &[u8] = b"ftyp";
/// ISO-BMFF major brand of QuickTime movies.
const BRAND_QT: &[u8; 4] = b"qt  ";
/// Largest `ftyp` box we believe in; real ones are a few dozen bytes.
const MAX_FTYP_LEN: usize = 4096;

/// ISO-BMFF brands that make a file an MP4 video (major or compatible brand).
const MP4_BRANDS: &[&[u8; 4]] = &[
    b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"iso7", b"iso8", b"iso9", b"mp41",
    b"mp42", b"avc1", b"M4V ", b"M4VH", b"M4VP", b"dash", b"msdh", b"msix", b"cmfc", b"cmf2",
    b"mmp4", b"MSNV", b"XAVC", b"f4v ",
];

/// ISO-BMFF major brands that are not videos we accept: HEIF/HEIC/AVIF still images and
/// sequences, audio-only MPEG-4, and camera raw files.
const DENIED_MAJOR_BRANDS: &[&[u8; 4]] = &[
    b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1",
    b"miaf", b"avif", b"avis", b"avio", b"MA1A", b"MA1B", b"M4A ", b"M4B ", b"M4P ", b"F4A ",
    b"F4B ", b"crx ",
];

/// Detects the type from the first bytes of a file (give at least 64 bytes when the file has
/// them). Allowed: PNG, JPEG, WebP, GIF (images); MP4, WebM, QuickTime (videos). Returns the
/// asset type and the canonical mime, or `None` for anything else.
pub fn sniff(head: &[u8]) -> Option<(AssetType, &'static str)> {
    if head.starts_with(PNG_MAGIC) {
        return Some((AssetType::Image, MIME_PNG));
    }
    if head.starts_with(JPEG_MAGIC) {
        return Some((AssetType::Image, MIME_JPEG));
    }
    if GIF_MAGICS.iter().any(|m| head.starts_with(m)) {
        return Some((AssetType::Image, MIME_GIF));
    }
    if head.starts_with(RIFF_MAGIC) && head.get(8..12) == Some(WEBP_FORM) {
        return Some((AssetType::Image, MIME_WEBP));
    }
    if head.get(4..8) == Some(FTYP) {
        return sniff_iso_bmff(head).map(|mime| (AssetType::Video, mime));
    }
    if head.starts_with(webm::EBML_MAGIC) && webm::doc_type_is_webm(head) {
        return Some((AssetType::Video, MIME_WEBM));
    }
    None
}

/// Classifies an ISO-BMFF file by the brands of its leading `ftyp` box.
fn sniff_iso_bmff(head: &[u8]) -> Option<&'static str> {
    let size = u32::from_be_bytes(head.get(0..4)?.try_into().ok()?) as usize;
    if !(16..=MAX_FTYP_LEN).contains(&size) {
        return None;
    }
    let major: &[u8; 4] = head.get(8..12)?.try_into().ok()?;
    if major == BRAND_QT {
        return Some(MIME_QUICKTIME);
    }
    if DENIED_MAJOR_BRANDS.contains(&major) {
        return None;
    }
    let compatible = head.get(16..size.min(head.len())).unwrap_or_default();
    let mut brands = std::iter::once(major).chain(
        compatible
            .chunks_exact(4)
            .filter_map(|b| <&[u8; 4]>::try_from(b).ok()),
    );
    if brands.any(|b| MP4_BRANDS.contains(&b)) {
        return Some(MIME_MP4);
    }
    if compatible.chunks_exact(4).any(|b| b == BRAND_QT) {
        return Some(MIME_QUICKTIME);
    }
    None
}

/// Does a client-claimed `Content-Type` agree with the detected mime?
///
/// Parameters (`; charset=...`) are ignored, comparison is case-insensitive and common aliases
/// are accepted (`image/jpg`, `image/pjpeg`, `image/x-png`, `image/apng`, `video/x-m4v`,
/// `application/mp4`, `video/x-quicktime`). MP4 and QuickTime share one container, so a claim of
/// either matches a detection of either. No claim, an empty one, or `application/octet-stream`
/// means "the client does not know" and matches everything.
pub fn claim_matches(claimed: Option<&str>, detected_mime: &str) -> bool {
    let Some(claimed) = claimed else {
        return true;
    };
    let essence = claimed
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if essence.is_empty() || essence == "application/octet-stream" {
        return true;
    }
    let detected = detected_mime.trim().to_ascii_lowercase();
    let claimed_family = family(&essence);
    claimed_family.is_some() && claimed_family == family(&detected)
}

/// Maps a mime (or an accepted alias) to the group of formats it may stand for.
fn family(mime: &str) -> Option<&'static str> {
    Some(match mime {
        "image/png" | "image/x-png" | "image/apng" => MIME_PNG,
        "image/jpeg" | "image/jpg" | "image/pjpeg" => MIME_JPEG,
        "image/webp" => MIME_WEBP,
        "image/gif" => MIME_GIF,
        "video/webm" => MIME_WEBM,
        "video/mp4" | "video/x-m4v" | "application/mp4" | "video/quicktime"
        | "video/x-quicktime" => MIME_MP4,
        _ => return None,
    })
}
