//! Image validation with bounded memory: PNG, JPEG, WebP and GIF.
//!
//! S4 refuses images over the pixel limit *before decoding*, so dimensions are first read from
//! the header alone (`imagesize`) and checked; only then is the image decoded to prove it is not
//! corrupt. PNG is decoded row by row (`png`: CRCs and zlib validated, one row buffer), GIF frame
//! by frame into a small fixed chunk (`gif`), JPEG and WebP by `image` under an allocation limit.

use std::io::{BufRead, Read, Seek, SeekFrom};
use std::num::NonZeroU64;

use ::image::{ImageFormat, ImageReader, Limits};
use imagesize::ImageType;

use crate::sniff::{MIME_GIF, MIME_JPEG, MIME_PNG, MIME_WEBP};
use crate::MediaError;

/// Most bytes any one decoder may allocate (pixel buffer included).
const MAX_DECODE_ALLOC: u64 = 512 * 1024 * 1024;
/// JPEG start-of-image marker code.
const JPEG_SOI: u8 = 0xD8;
/// JPEG end-of-image marker code.
const JPEG_EOI: u8 = 0xD9;
/// JPEG start-of-scan marker code (entropy-coded data follows its header).
const JPEG_SOS: u8 = 0xDA;
/// Bytes `imagesize` consumes to detect a format; its size readers start from there.
const IMAGESIZE_SNIFF_LEN: u64 = 12;
/// Size of the scratch buffer GIF frames are decoded into, chunk after chunk.
const GIF_CHUNK: usize = 64 * 1024;
/// A GIF may decode at most this many times `max_pixels` over all its frames (CPU bound).
const GIF_WORK_FACTOR: u64 = 16;

/// Validates the image behind `reader` (positioned at its start) and returns its dimensions.
pub(crate) fn probe<R: BufRead + Seek>(
    mut reader: R,
    mime: &str,
    max_pixels: u64,
) -> Result<(u32, u32), MediaError> {
    let (kind, format) = match mime {
        MIME_PNG => (ImageType::Png, ImageFormat::Png),
        MIME_JPEG => (ImageType::Jpeg, ImageFormat::Jpeg),
        MIME_WEBP => (ImageType::Webp, ImageFormat::WebP),
        MIME_GIF => (ImageType::Gif, ImageFormat::Gif),
        other => return Err(MediaError::Unsupported(other.to_string())),
    };
    // imagesize's per-format readers expect the stream just past its 12-byte type sniff.
    reader.seek(SeekFrom::Start(IMAGESIZE_SNIFF_LEN))?;
    let size = kind.reader_size(&mut reader).map_err(header_err)?;
    check_pixels(size.width as u64, size.height as u64, max_pixels)?;
    reader.seek(SeekFrom::Start(0))?;
    if format == ImageFormat::Jpeg {
        // The JPEG decoder conceals truncated scans; require the markers up to EOI.
        check_jpeg_markers(&mut reader)?;
        reader.seek(SeekFrom::Start(0))?;
    }
    let (width, height) = match format {
        ImageFormat::Png => decode_png(reader)?,
        ImageFormat::Gif => decode_gif(reader, max_pixels)?,
        _ => decode_with_image(reader, format)?,
    };
    check_pixels(u64::from(width), u64::from(height), max_pixels)?;
    Ok((width, height))
}

/// Refuses images with more than `max_pixels` pixels.
pub(crate) fn check_pixels(width: u64, height: u64, max_pixels: u64) -> Result<(), MediaError> {
    let pixels = width.saturating_mul(height);
    if pixels > max_pixels {
        return Err(MediaError::invalid(format!(
            "image is {width}x{height} ({pixels} pixels), over the pixel limit of {max_pixels}"
        )));
    }
    Ok(())
}

/// Decodes a PNG one row at a time, then reads the remaining chunks up to `IEND`.
fn decode_png<R: BufRead + Seek>(reader: R) -> Result<(u32, u32), MediaError> {
    let limits = png::Limits {
        bytes: usize::try_from(MAX_DECODE_ALLOC).unwrap_or(usize::MAX),
    };
    let mut png = png::Decoder::new_with_limits(reader, limits)
        .read_info()
        .map_err(png_err)?;
    let (width, height) = (png.info().width, png.info().height);
    while png.next_row().map_err(png_err)?.is_some() {}
    png.finish().map_err(png_err)?;
    Ok((width, height))
}

/// Decodes every GIF frame into a small fixed buffer (indexed colour, no canvas compositing).
fn decode_gif<R: BufRead + Seek>(reader: R, max_pixels: u64) -> Result<(u32, u32), MediaError> {
    let mut options = gif::DecodeOptions::new();
    options.set_color_output(gif::ColorOutput::Indexed);
    if let Some(limit) = NonZeroU64::new(MAX_DECODE_ALLOC) {
        options.set_memory_limit(gif::MemoryLimit::Bytes(limit));
    }
    let mut gif = options.read_info(reader).map_err(gif_err)?;
    let (width, height) = (u32::from(gif.width()), u32::from(gif.height()));
    let budget = max_pixels.saturating_mul(GIF_WORK_FACTOR);
    let mut chunk = vec![0u8; GIF_CHUNK];
    let (mut frames, mut total) = (0u64, 0u64);
    while let Some(frame) = gif.next_frame_info().map_err(gif_err)? {
        let pixels = u64::from(frame.width) * u64::from(frame.height);
        check_pixels(u64::from(frame.width), u64::from(frame.height), max_pixels)?;
        frames += 1;
        total = total.saturating_add(pixels);
        if total > budget {
            return Err(MediaError::invalid(format!(
                "GIF animation decodes to more than {budget} pixels in total"
            )));
        }
        let mut remaining = pixels;
        while remaining > 0 {
            let n = remaining.min(GIF_CHUNK as u64) as usize;
            if !gif.fill_buffer(&mut chunk[..n]).map_err(gif_err)? {
                return Err(MediaError::invalid(format!(
                    "GIF frame {frames} is truncated"
                )));
            }
            remaining -= n as u64;
        }
    }
    if frames == 0 {
        return Err(MediaError::invalid("GIF has no frames"));
    }
    Ok((width, height))
}

/// Decodes a JPEG or WebP with `image` under an allocation limit.
fn decode_with_image<R: BufRead + Seek>(
    reader: R,
    format: ImageFormat,
) -> Result<(u32, u32), MediaError> {
    let mut reader = ImageReader::with_format(reader, format);
    let mut limits = Limits::default();
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    reader.limits(limits);
    let image = reader.decode().map_err(image_err)?;
    Ok((image.width(), image.height()))
}

/// Walks the JPEG marker structure from SOI to EOI: segments are skipped by their length,
/// entropy-coded data after each SOS is scanned for the next marker. Fails on truncation.
fn check_jpeg_markers<R: BufRead>(reader: &mut R) -> Result<(), MediaError> {
    let mut soi = [0u8; 2];
    reader
        .read_exact(&mut soi)
        .map_err(MediaError::from_parse_io)?;
    if soi != [0xFF, JPEG_SOI] {
        return Err(MediaError::invalid("JPEG does not start with SOI"));
    }
    let mut pending = None;
    loop {
        let marker = match pending.take() {
            Some(marker) => marker,
            None => {
                // Like libjpeg, tolerate extraneous bytes before a marker.
                while next_byte(reader)? != 0xFF {}
                next_marker_code(reader)?
            }
        };
        match marker {
            JPEG_EOI => return Ok(()),
            0x01 | 0xD0..=0xD7 => {} // TEM and RSTn stand alone
            JPEG_SOS => {
                skip_segment(reader)?;
                pending = Some(scan_entropy_data(reader)?);
            }
            _ => skip_segment(reader)?,
        }
    }
}

/// After a 0xFF, skips fill bytes and returns the marker code.
fn next_marker_code<R: BufRead>(reader: &mut R) -> Result<u8, MediaError> {
    loop {
        match next_byte(reader)? {
            0xFF => continue,
            code => return Ok(code),
        }
    }
}

/// Skips a marker segment by its 16-bit length (which counts itself).
fn skip_segment<R: BufRead>(reader: &mut R) -> Result<(), MediaError> {
    let len = u16::from_be_bytes([next_byte(reader)?, next_byte(reader)?]);
    let body = u64::from(len)
        .checked_sub(2)
        .ok_or_else(|| MediaError::invalid("JPEG segment length below 2"))?;
    let skipped = std::io::copy(&mut reader.by_ref().take(body), &mut std::io::sink())?;
    if skipped != body {
        return Err(MediaError::invalid("JPEG is truncated inside a segment"));
    }
    Ok(())
}

/// Scans entropy-coded data up to the next real marker (not a stuffed 0xFF00 or RSTn) and
/// returns its code.
fn scan_entropy_data<R: BufRead>(reader: &mut R) -> Result<u8, MediaError> {
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Err(MediaError::invalid(
                "JPEG is truncated inside scan data (no EOI)",
            ));
        }
        let (used, found) = match buf.iter().position(|&b| b == 0xFF) {
            Some(at) => (at + 1, true),
            None => (buf.len(), false),
        };
        reader.consume(used);
        if found {
            match next_marker_code(reader)? {
                0x00 | 0xD0..=0xD7 => {}
                code => return Ok(code),
            }
        }
    }
}

/// Reads one byte; running out of data is a truncated file.
fn next_byte<R: BufRead>(reader: &mut R) -> Result<u8, MediaError> {
    let mut byte = [0u8; 1];
    reader
        .read_exact(&mut byte)
        .map_err(MediaError::from_parse_io)?;
    Ok(byte[0])
}

/// Maps a header-parsing error of `imagesize`.
fn header_err(err: imagesize::ImageError) -> MediaError {
    match err {
        imagesize::ImageError::IoError(e) => MediaError::from_parse_io(e),
        other => MediaError::invalid(format!("unreadable image header: {other}")),
    }
}

/// Maps a PNG decoding error.
fn png_err(err: png::DecodingError) -> MediaError {
    match err {
        png::DecodingError::IoError(e) => MediaError::from_parse_io(e),
        other => MediaError::invalid(format!("PNG does not decode: {other}")),
    }
}

/// Maps a GIF decoding error.
fn gif_err(err: gif::DecodingError) -> MediaError {
    match err {
        gif::DecodingError::Io(e) => MediaError::from_parse_io(e),
        other => MediaError::invalid(format!("GIF does not decode: {other}")),
    }
}

/// Maps a JPEG/WebP decoding error of `image`.
fn image_err(err: ::image::ImageError) -> MediaError {
    match err {
        ::image::ImageError::IoError(e) => MediaError::from_parse_io(e),
        other => MediaError::invalid(format!("image does not decode: {other}")),
    }
}
