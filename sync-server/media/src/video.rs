//! MP4 and QuickTime (ISO-BMFF) probing: first video track's size and the movie's duration.
//!
//! A video is validated by its container only; frames are never decoded. Before handing the
//! file to the `mp4` crate, the top-level boxes are walked by seeking: every box must fit inside
//! the file (a truncated upload is refused even when `moov` comes first) and `moov` must be of a
//! sane size, which bounds what `mp4::Mp4Reader::read_header` allocates. That reader seeks over
//! `mdat`, so the media payload is never read into memory. The `mp4` crate loops forever on a
//! nested box of size 0, so its reader also runs on an I/O operation budget proportional to the
//! bytes it has to parse.

use std::io::{self, Read, Seek, SeekFrom};

use mp4::{Mp4Reader, Mp4Track, TrackType};

use crate::MediaError;

/// ISO-BMFF box type of the movie header box (all track metadata lives in it).
const MOOV: &[u8; 4] = b"moov";
/// Largest `moov` box accepted (hours of video need a few MiB).
const MAX_MOOV_LEN: u64 = 128 * 1024 * 1024;
/// Most top-level boxes walked (a fragmented file has two per fragment).
const MAX_TOP_LEVEL_BOXES: u64 = 1_000_000;
/// `tkhd` matrix entries are 16.16 fixed point; this is 1.0.
const FIXED_ONE: i32 = 0x1_0000;

/// Validates an ISO-BMFF video of `len` bytes and returns `(width, height, duration_ms)`.
pub(crate) fn probe<R: Read + Seek>(
    mut reader: R,
    len: u64,
) -> Result<(u32, u32, Option<u64>), MediaError> {
    let parsed = check_top_level(&mut reader, len)?;
    reader.seek(SeekFrom::Start(0))?;
    let ops_left = parsed
        .bytes
        .saturating_mul(4)
        .saturating_add(parsed.boxes * 16 + 4096);
    let budgeted = Budgeted {
        inner: reader,
        ops_left,
    };
    let mp4 = Mp4Reader::read_header(budgeted, len).map_err(mp4_err)?;

    let mut video: Vec<&Mp4Track> = mp4
        .tracks()
        .values()
        .filter(|t| matches!(t.track_type(), Ok(TrackType::Video)))
        .collect();
    video.sort_by_key(|t| t.track_id());
    let track = video
        .first()
        .ok_or_else(|| MediaError::invalid("no video track"))?;

    let (mut width, mut height) = (u32::from(track.width()), u32::from(track.height()));
    if width == 0 || height == 0 {
        let tkhd = &track.trak.tkhd;
        (width, height) = (
            u32::from(tkhd.width.value()),
            u32::from(tkhd.height.value()),
        );
    }
    if width == 0 || height == 0 {
        return Err(MediaError::invalid("video track has no dimensions"));
    }
    let m = &track.trak.tkhd.matrix;
    if m.a == 0 && m.d == 0 && m.b.abs() == FIXED_ONE && m.c.abs() == FIXED_ONE {
        // Rotated by 90 or 270 degrees (phone portrait video): report the displayed size.
        (width, height) = (height, width);
    }

    let mvhd = &mp4.moov.mvhd;
    let fragmented = mp4.moov.mvex.as_ref().and_then(|mvex| mvex.mehd.as_ref());
    let mdhd = &track.trak.mdia.mdhd;
    let duration_ms = to_ms(mvhd.duration, mvhd.timescale)
        .or_else(|| fragmented.and_then(|mehd| to_ms(mehd.fragment_duration, mvhd.timescale)))
        .or_else(|| to_ms(mdhd.duration, mdhd.timescale));
    Ok((width, height, duration_ms))
}

/// Converts a duration in `timescale` units to milliseconds; `None` when unknown or zero.
fn to_ms(duration: u64, timescale: u32) -> Option<u64> {
    // All ones means "unknown" in both the 32-bit and the 64-bit box versions.
    if duration == 0 || timescale == 0 || duration == u64::from(u32::MAX) || duration == u64::MAX {
        return None;
    }
    let ms = u128::from(duration) * 1000 / u128::from(timescale);
    u64::try_from(ms).ok()
}

/// Top-level box types whose contents `mp4::Mp4Reader::read_header` parses (it seeks over the
/// others).
const PARSED_BOXES: [&[u8; 4]; 4] = [b"ftyp", MOOV, b"moof", b"emsg"];

/// What the `mp4` crate will have to parse: bytes inside parsed boxes, and top-level boxes.
struct ParseWork {
    bytes: u64,
    boxes: u64,
}

/// Walks the top-level boxes by their headers, seeking over bodies: all must lie inside the
/// file, there must be one `moov` and it must not be larger than [`MAX_MOOV_LEN`].
fn check_top_level<R: Read + Seek>(reader: &mut R, len: u64) -> Result<ParseWork, MediaError> {
    let mut pos = 0u64;
    let mut moov_seen = false;
    let mut work = ParseWork { bytes: 0, boxes: 0 };
    while pos < len {
        work.boxes += 1;
        if work.boxes > MAX_TOP_LEVEL_BOXES {
            return Err(MediaError::invalid("too many top-level boxes"));
        }
        let mut header = [0u8; 8];
        reader
            .read_exact(&mut header)
            .map_err(MediaError::from_parse_io)?;
        let (size32, kind) = header.split_at(4);
        let size32 = u32::from_be_bytes([size32[0], size32[1], size32[2], size32[3]]);
        let (size, header_len) = match size32 {
            // Box extends to the end of the file (allowed for the last box only).
            0 => (len - pos, 8),
            1 => {
                let mut large = [0u8; 8];
                reader
                    .read_exact(&mut large)
                    .map_err(MediaError::from_parse_io)?;
                (u64::from_be_bytes(large), 16)
            }
            n => (u64::from(n), 8),
        };
        let name = String::from_utf8_lossy(kind).into_owned();
        if size < header_len {
            return Err(MediaError::invalid(format!("box '{name}' has a bad size")));
        }
        let end = pos
            .checked_add(size)
            .filter(|&end| end <= len)
            .ok_or_else(|| {
                MediaError::invalid(format!(
                    "box '{name}' runs past the end of the file (truncated?)"
                ))
            })?;
        if kind == MOOV {
            if size > MAX_MOOV_LEN {
                return Err(MediaError::invalid("'moov' box is too large"));
            }
            moov_seen = true;
        }
        if PARSED_BOXES.iter().any(|&b| b == kind) {
            work.bytes = work.bytes.saturating_add(size);
        }
        reader.seek(SeekFrom::Start(end))?;
        pos = end;
    }
    if !moov_seen {
        return Err(MediaError::invalid(
            "no 'moov' box (truncated or not a movie)",
        ));
    }
    Ok(work)
}

/// A reader that fails with `InvalidData` after a fixed number of read and seek calls, so a
/// parser stuck re-reading the same bytes ends with an error instead of spinning forever.
struct Budgeted<R> {
    inner: R,
    ops_left: u64,
}

impl<R> Budgeted<R> {
    /// Uses up one operation, or fails when none are left.
    fn spend(&mut self) -> io::Result<()> {
        self.ops_left = self.ops_left.checked_sub(1).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                "container structure loops (parse budget)",
            )
        })?;
        Ok(())
    }
}

impl<R: Read> Read for Budgeted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.spend()?;
        self.inner.read(buf)
    }
}

impl<R: Seek> Seek for Budgeted<R> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.spend()?;
        self.inner.seek(pos)
    }
}

/// Maps an error of the `mp4` crate.
fn mp4_err(err: mp4::Error) -> MediaError {
    match err {
        mp4::Error::IoError(e) => MediaError::from_parse_io(e),
        other => MediaError::invalid(format!("bad MP4/QuickTime container: {other}")),
    }
}
