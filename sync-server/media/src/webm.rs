//! WebM probing with a small EBML walker: frame size of the first video track and duration.
//!
//! No WebM crate reads just the headers from a seekable file with bounded memory, and we need
//! very little of the format, so this walks the EBML tree by hand: the EBML header (DocType must
//! be `webm`), then `Segment > Info` (TimecodeScale, Duration) and `Segment > Tracks >
//! TrackEntry > Video` (PixelWidth, PixelHeight). Every other element, Clusters included, is
//! skipped by seeking over its declared size; only leaf values of at most 64 bytes are read.
//! Sizes are checked against the parent and the file, so corrupt input is an error, never a
//! panic or a large allocation.

use std::io::{Read, Seek, SeekFrom};

use crate::MediaError;

/// EBML magic: the ID of the EBML header element, first four bytes of every WebM file.
pub(crate) const EBML_MAGIC: &[u8] = &[0x1A, 0x45, 0xDF, 0xA3];
/// EBML header element ID.
const ID_EBML: u32 = 0x1A45_DFA3;
/// DocType element ID (inside the EBML header): `webm` or `matroska`.
const ID_DOC_TYPE: u32 = 0x4282;
/// Segment element ID: the single top-level element holding everything else.
const ID_SEGMENT: u32 = 0x1853_8067;
/// Segment information element ID.
const ID_INFO: u32 = 0x1549_A966;
/// TimecodeScale element ID (nanoseconds per timestamp tick, default 1 000 000).
const ID_TIMECODE_SCALE: u32 = 0x2A_D7B1;
/// Duration element ID (float, in TimecodeScale ticks).
const ID_DURATION: u32 = 0x4489;
/// Tracks element ID.
const ID_TRACKS: u32 = 0x1654_AE6B;
/// TrackEntry element ID.
const ID_TRACK_ENTRY: u32 = 0xAE;
/// TrackType element ID (1 = video).
const ID_TRACK_TYPE: u32 = 0x83;
/// Video settings element ID.
const ID_VIDEO: u32 = 0xE0;
/// PixelWidth element ID.
const ID_PIXEL_WIDTH: u32 = 0xB0;
/// PixelHeight element ID.
const ID_PIXEL_HEIGHT: u32 = 0xBA;
/// Cluster element ID (media data; never read, only skipped).
const ID_CLUSTER: u32 = 0x1F43_B675;
/// TrackType value of video tracks.
const TRACK_TYPE_VIDEO: u64 = 1;
/// TimecodeScale when the element is absent: one millisecond per tick.
const DEFAULT_TIMECODE_SCALE: u64 = 1_000_000;
/// Longest leaf element value that is read into memory.
const MAX_LEAF_LEN: u64 = 64;
/// Most elements visited before giving up.
const MAX_ELEMENTS: u32 = 100_000;

/// Does the EBML header at the start of `head` declare DocType `webm`?
pub(crate) fn doc_type_is_webm(head: &[u8]) -> bool {
    let Some((ID_EBML, 4)) = vint(head, 4, true).map(|(v, n)| (v as u32, n)) else {
        return false;
    };
    let Some((size, n)) = vint(&head[4..], 8, false) else {
        return false;
    };
    let end = usize::try_from(size).map_or(head.len(), |s| (4 + n).saturating_add(s));
    let mut body = &head[4 + n..end.min(head.len())];
    while let Some((id, id_len)) = vint(body, 4, true) {
        let Some((len, len_len)) = body.get(id_len..).and_then(|b| vint(b, 8, false)) else {
            return false;
        };
        let start = id_len + len_len;
        let data_end = usize::try_from(len).ok().and_then(|l| start.checked_add(l));
        let Some(data) = data_end.and_then(|end| body.get(start..end)) else {
            return false;
        };
        if id == u64::from(ID_DOC_TYPE) {
            return data.strip_suffix(b"\0").unwrap_or(data) == b"webm";
        }
        body = &body[start + data.len()..];
    }
    false
}

/// Parses an EBML variable-length integer at the start of `bytes` that is at most `max_len`
/// bytes long. Returns the value (with the length marker when `keep_marker`, as for IDs) and
/// its length. An all-ones size ("unknown") is returned as `u64::MAX`.
fn vint(bytes: &[u8], max_len: usize, keep_marker: bool) -> Option<(u64, usize)> {
    let first = *bytes.first()?;
    let len = first.leading_zeros() as usize + 1;
    if len > max_len {
        return None;
    }
    let raw = bytes.get(..len)?;
    let mask = (0xFFu16 >> len) as u8; // len is 1..=8, so the shift never overflows
    let mut value = u64::from(if keep_marker { first } else { first & mask });
    for &b in &raw[1..] {
        value = (value << 8) | u64::from(b);
    }
    if !keep_marker && value == (1u64 << (7 * len)) - 1 {
        return Some((u64::MAX, len));
    }
    Some((value, len))
}

/// An element header: ID, where its data starts, and its data size (`None` = unknown).
struct Element {
    id: u32,
    start: u64,
    size: Option<u64>,
}

/// Reads element headers and small leaf values, keeping track of the position and budget.
struct Walker<R> {
    reader: R,
    pos: u64,
    len: u64,
    visited: u32,
}

impl<R: Read + Seek> Walker<R> {
    /// Reads the next element header if `pos` is before `parent_end`; checks that a known size
    /// stays inside the parent.
    fn next(&mut self, parent_end: u64) -> Result<Option<Element>, MediaError> {
        if self.pos >= parent_end {
            return Ok(None);
        }
        self.visited += 1;
        if self.visited > MAX_ELEMENTS {
            return Err(MediaError::invalid(
                "WebM has too many elements before its tracks",
            ));
        }
        let (id, _) = self.read_vint(4, true)?;
        let (size, _) = self.read_vint(8, false)?;
        let size = (size != u64::MAX).then_some(size);
        let start = self.pos;
        if let Some(size) = size {
            if start.checked_add(size).is_none_or(|end| end > parent_end) {
                return Err(MediaError::invalid(format!(
                    "WebM element {id:#X} runs past its parent or the end of the file (truncated?)"
                )));
            }
        }
        Ok(Some(Element {
            id: id as u32,
            start,
            size,
        }))
    }

    /// Reads one variable-length integer from the stream.
    fn read_vint(&mut self, max_len: usize, keep_marker: bool) -> Result<(u64, usize), MediaError> {
        let mut buf = [0u8; 8];
        self.read_exact(&mut buf[..1])?;
        let len = buf[0].leading_zeros() as usize + 1;
        if len > max_len {
            return Err(MediaError::invalid("bad EBML variable-length integer"));
        }
        self.read_exact(&mut buf[1..len])?;
        vint(&buf[..len], max_len, keep_marker)
            .ok_or_else(|| MediaError::invalid("bad EBML variable-length integer"))
    }

    /// Reads exactly `buf.len()` bytes, refusing to read past the end of the file.
    fn read_exact(&mut self, buf: &mut [u8]) -> Result<(), MediaError> {
        if self.pos + buf.len() as u64 > self.len {
            return Err(MediaError::invalid("WebM is truncated"));
        }
        self.reader
            .read_exact(buf)
            .map_err(MediaError::from_parse_io)?;
        self.pos += buf.len() as u64;
        Ok(())
    }

    /// Reads the data of a leaf element (at most [`MAX_LEAF_LEN`] bytes).
    fn leaf(&mut self, el: &Element) -> Result<Vec<u8>, MediaError> {
        let size = el.size.filter(|&s| s <= MAX_LEAF_LEN).ok_or_else(|| {
            MediaError::invalid(format!("WebM element {:#X} has a bad size", el.id))
        })?;
        let mut data = vec![0u8; size as usize];
        self.read_exact(&mut data)?;
        Ok(data)
    }

    /// Reads an unsigned integer leaf.
    fn uint(&mut self, el: &Element) -> Result<u64, MediaError> {
        let data = self.leaf(el)?;
        if data.len() > 8 {
            return Err(MediaError::invalid("WebM integer longer than 8 bytes"));
        }
        Ok(data.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
    }

    /// Reads a float leaf (0, 4 or 8 bytes).
    fn float(&mut self, el: &Element) -> Result<f64, MediaError> {
        let data = self.leaf(el)?;
        match data.len() {
            0 => Ok(0.0),
            4 => Ok(f64::from(f32::from_be_bytes([
                data[0], data[1], data[2], data[3],
            ]))),
            8 => Ok(f64::from_be_bytes(data.try_into().unwrap_or_default())),
            _ => Err(MediaError::invalid("WebM float is not 4 or 8 bytes")),
        }
    }

    /// Seeks over the data of an element of known size.
    fn skip(&mut self, el: &Element) -> Result<(), MediaError> {
        let size = el.size.ok_or_else(|| {
            MediaError::invalid(format!(
                "cannot skip WebM element {:#X} of unknown size",
                el.id
            ))
        })?;
        self.pos = el.start + size;
        self.reader.seek(SeekFrom::Start(self.pos))?;
        Ok(())
    }
}

/// End of a master element's data. Only Segment and Cluster may have an unknown size
/// (live recordings); Segment then extends to the end of the file.
fn end_of(el: &Element, parent_end: u64) -> Result<u64, MediaError> {
    match el.size {
        Some(size) => Ok(el.start + size),
        None if el.id == ID_SEGMENT => Ok(parent_end),
        None => Err(MediaError::invalid(format!(
            "WebM element {:#X} has no size",
            el.id
        ))),
    }
}

/// Validates a WebM file of `len` bytes and returns `(width, height, duration_ms)`.
pub(crate) fn probe<R: Read + Seek>(
    reader: R,
    len: u64,
) -> Result<(u32, u32, Option<u64>), MediaError> {
    let mut w = Walker {
        reader,
        pos: 0,
        len,
        visited: 0,
    };
    let header = w.next(len)?.filter(|e| e.id == ID_EBML && e.size.is_some());
    let header = header.ok_or_else(|| MediaError::invalid("missing EBML header"))?;
    let mut doc_type = None;
    let header_end = end_of(&header, len)?;
    while let Some(el) = w.next(header_end)? {
        match el.id {
            ID_DOC_TYPE => doc_type = Some(w.leaf(&el)?),
            _ => w.skip(&el)?,
        }
    }
    let doc_type = doc_type.unwrap_or_default();
    if doc_type.strip_suffix(b"\0").unwrap_or(&doc_type) != b"webm" {
        return Err(MediaError::invalid("EBML DocType is not webm"));
    }
    let segment = loop {
        match w.next(len)? {
            Some(el) if el.id == ID_SEGMENT => break el,
            Some(el) => w.skip(&el)?,
            None => return Err(MediaError::invalid("WebM has no Segment")),
        }
    };
    let segment_end = end_of(&segment, len)?;

    let (mut scale, mut duration, mut dims) = (DEFAULT_TIMECODE_SCALE, None, None);
    let (mut info_seen, mut tracks_seen) = (false, false);
    while !(info_seen && tracks_seen) {
        let Some(el) = w.next(segment_end)? else {
            break;
        };
        match el.id {
            ID_INFO => {
                info_seen = true;
                let end = end_of(&el, segment_end)?;
                while let Some(child) = w.next(end)? {
                    match child.id {
                        ID_TIMECODE_SCALE => scale = w.uint(&child)?,
                        ID_DURATION => duration = Some(w.float(&child)?),
                        _ => w.skip(&child)?,
                    }
                }
            }
            ID_TRACKS => {
                tracks_seen = true;
                dims = first_video_track(&mut w, end_of(&el, segment_end)?)?;
            }
            ID_CLUSTER if tracks_seen => break,
            _ => w.skip(&el)?,
        }
    }
    let (width, height) = dims.ok_or_else(|| MediaError::invalid("WebM has no video track"))?;
    let to_u32 = |v: u64| u32::try_from(v).map_err(|_| MediaError::invalid("WebM size too big"));
    Ok((
        to_u32(width)?,
        to_u32(height)?,
        duration.and_then(|d| duration_ms(d, scale)),
    ))
}

/// Reads the TrackEntries of a Tracks element; returns the pixel size of the first video track.
fn first_video_track<R: Read + Seek>(
    w: &mut Walker<R>,
    tracks_end: u64,
) -> Result<Option<(u64, u64)>, MediaError> {
    let mut found = None;
    while let Some(entry) = w.next(tracks_end)? {
        if entry.id != ID_TRACK_ENTRY || found.is_some() {
            w.skip(&entry)?;
            continue;
        }
        let entry_end = end_of(&entry, tracks_end)?;
        let (mut track_type, mut size) = (None, (0, 0));
        while let Some(el) = w.next(entry_end)? {
            match el.id {
                ID_TRACK_TYPE => track_type = Some(w.uint(&el)?),
                ID_VIDEO => {
                    track_type.get_or_insert(TRACK_TYPE_VIDEO);
                    let video_end = end_of(&el, entry_end)?;
                    while let Some(v) = w.next(video_end)? {
                        match v.id {
                            ID_PIXEL_WIDTH => size.0 = w.uint(&v)?,
                            ID_PIXEL_HEIGHT => size.1 = w.uint(&v)?,
                            _ => w.skip(&v)?,
                        }
                    }
                }
                _ => w.skip(&el)?,
            }
        }
        if track_type == Some(TRACK_TYPE_VIDEO) {
            found = Some(size);
        }
    }
    Ok(found)
}

/// Converts a Segment duration in `scale`-nanosecond ticks to whole milliseconds.
fn duration_ms(ticks: f64, scale: u64) -> Option<u64> {
    let ms = ticks * scale as f64 / 1_000_000.0;
    (ms.is_finite() && ms > 0.0 && ms < u64::MAX as f64).then(|| ms.round() as u64)
}
