//! Media sniffing and probing: type from magic bytes, dimensions and duration, bounded validation.
//!
//! The sync server (S4) and the desktop engine accept untrusted files. This crate decides what a
//! file is from its first bytes only ([`sniff`]), checks a client's claimed `Content-Type`
//! against that ([`claim_matches`]), and fully validates the file while reading its dimensions
//! and duration ([`probe_file`], [`probe_bytes`]). Images really decode (row by row or through
//! bounded decoders, after a header-only pixel-count check); videos have their container headers
//! parsed without reading the media payload into memory. Every failure is a typed
//! [`MediaError`]: `Unsupported` maps to HTTP 415, `Invalid` to 422.
//!
//! Why this is ours and not a magic-byte table such as `infer`: the first bytes do not decide
//! what the server must accept. An ISO-BMFF file with a video brand may hold only audio, a WebM
//! header says nothing of what its tracks are, and an image's header must be checked for the
//! pixel cap before any decoder allocates. The sniff reads just enough of the container to say
//! which of the seven accepted types a file is or that it is none; the probes then bound every
//! read, which general decoders that load the whole file do not.

mod image;
mod sniff;
mod video;
mod webm;

/// Generators of test media (valid files of every type and crafted hostile ones), public with
/// the `fixtures` feature so the server's tests upload the same files.
#[cfg(any(test, feature = "fixtures"))]
#[path = "tests/fixtures.rs"]
pub mod fixtures;

/// Unit tests of the whole crate, on fixtures generated in memory (no binary files committed):
/// `fixtures` builds small valid files of every allowed type plus crafted hostile ones; the
/// other modules check sniffing, claim matching, probing, and that corrupt or truncated input
/// is an error and never a panic.
#[cfg(test)]
mod tests {
    mod hostile;
    mod probe;
    mod sniffing;
}

use std::fs::File;
use std::io::{BufRead, BufReader, Cursor, Read, Seek, SeekFrom};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

pub use iskra_protocol::AssetType;
pub use sniff::{
    claim_matches, extension, is_supported, sniff, ACCEPTED_MIME, ACCEPTED_NAMES, MAX_PIXELS,
};

/// How many leading bytes [`probe_file`] reads to sniff the type. Larger than the 64 bytes
/// `sniff` needs so that ISO-BMFF `ftyp` compatible brands and the EBML header fit.
const SNIFF_HEAD_LEN: usize = 512;

/// What a probe found out about a valid media file.
#[derive(Debug, Clone, PartialEq)]
pub struct MediaInfo {
    /// Image or video.
    pub asset_type: AssetType,
    /// Canonical mime type detected from the magic bytes (e.g. `image/png`, `video/mp4`).
    pub mime: &'static str,
    /// Width in pixels (for videos: of the first video track, as displayed).
    pub width: u32,
    /// Height in pixels (for videos: of the first video track, as displayed).
    pub height: u32,
    /// Duration in milliseconds; `None` for images and for videos that do not state it.
    pub duration_ms: Option<u64>,
}

/// Why a file was refused.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// Not an allowed type according to its magic bytes (server answers 415).
    #[error("unsupported media type: {0}")]
    Unsupported(String),
    /// Allowed type but undecodable, corrupt, truncated, over the pixel limit or without
    /// dimensions (server answers 422).
    #[error("invalid media: {0}")]
    Invalid(String),
    /// Reading the file failed for a reason that is not the file's content.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

impl MediaError {
    /// Shorthand for [`MediaError::Invalid`].
    pub(crate) fn invalid(msg: impl Into<String>) -> Self {
        MediaError::Invalid(msg.into())
    }

    /// Classifies an I/O error raised while parsing: running out of data or malformed data is
    /// the file's fault (`Invalid`); anything else is a real I/O failure.
    pub(crate) fn from_parse_io(err: std::io::Error) -> Self {
        use std::io::ErrorKind::*;
        match err.kind() {
            UnexpectedEof | InvalidData | InvalidInput => {
                MediaError::Invalid(format!("truncated or malformed data: {err}"))
            }
            _ => MediaError::Io(err),
        }
    }
}

/// Blocking. Fully validates and probes a file on disk.
///
/// Images whose `width * height` exceeds `max_pixels` are refused with
/// [`MediaError::Invalid`] before any pixel buffer is allocated. Memory use is bounded whatever
/// the file's size; video payloads are skipped by seeking, never read.
pub fn probe_file(path: &Path, max_pixels: u64) -> Result<MediaInfo, MediaError> {
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    let mut head = Vec::with_capacity(SNIFF_HEAD_LEN);
    (&mut file)
        .take(SNIFF_HEAD_LEN as u64)
        .read_to_end(&mut head)?;
    file.seek(SeekFrom::Start(0))?;
    probe_guarded(BufReader::new(file), len, &head, max_pixels)
}

/// Same as [`probe_file`] for bytes already in memory (tests and small inputs).
pub fn probe_bytes(bytes: &[u8], max_pixels: u64) -> Result<MediaInfo, MediaError> {
    let head = &bytes[..bytes.len().min(SNIFF_HEAD_LEN)];
    probe_guarded(Cursor::new(bytes), bytes.len() as u64, head, max_pixels)
}

/// Runs [`probe_reader`] behind a panic guard: the third-party parsers are fuzzed upstream, but
/// a bug there must become a 422, not a crashed request.
fn probe_guarded<R: BufRead + Seek>(
    reader: R,
    len: u64,
    head: &[u8],
    max_pixels: u64,
) -> Result<MediaInfo, MediaError> {
    catch_unwind(AssertUnwindSafe(|| {
        probe_reader(reader, len, head, max_pixels)
    }))
    .unwrap_or_else(|_| Err(MediaError::invalid("the media parser rejected the file")))
}

/// Sniffs `head` (the first bytes of the stream) and dispatches to the matching validator.
/// `reader` must be positioned at the start of the file, which is `len` bytes long.
pub(crate) fn probe_reader<R: BufRead + Seek>(
    reader: R,
    len: u64,
    head: &[u8],
    max_pixels: u64,
) -> Result<MediaInfo, MediaError> {
    let (asset_type, mime) = sniff(head).ok_or_else(|| {
        MediaError::Unsupported("not a PNG, JPEG, WebP, GIF, MP4, WebM or QuickTime file".into())
    })?;
    let (width, height, duration_ms) = match asset_type {
        AssetType::Image => {
            let (w, h) = image::probe(reader, mime, max_pixels)?;
            (w, h, None)
        }
        AssetType::Video if mime == sniff::MIME_WEBM => webm::probe(reader, len)?,
        AssetType::Video => video::probe(reader, len)?,
    };
    if width == 0 || height == 0 {
        return Err(MediaError::invalid(format!(
            "no usable dimensions ({width}x{height})"
        )));
    }
    Ok(MediaInfo {
        asset_type,
        mime,
        width,
        height,
        duration_ms,
    })
}
