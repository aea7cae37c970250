//! The link-preview rendition of a shared asset (`og:image`): a JPEG at most
//! [`MAX_WIDTH`] px wide and under [`MAX_BYTES`], made once per asset and stored beside it.
//! A video's rendition is made from its first frame (`poster`); a video whose frame cannot be
//! taken and an image that cannot be made small enough get a neutral placeholder instead.

use image::codecs::jpeg::JpegEncoder;
use image::imageops::FilterType;
use image::{DynamicImage, Rgb, RgbImage};
use std::sync::OnceLock;

/// Widest rendition, in pixels.
pub const MAX_WIDTH: u32 = 1_200;
/// A rendition is smaller than this many bytes.
pub const MAX_BYTES: usize = 5_000_000;
/// JPEG qualities tried in turn until the rendition fits [`MAX_BYTES`].
const QUALITIES: [u8; 3] = [85, 70, 50];
/// Size of the placeholder (the 1.91:1 card the networks show).
const PLACEHOLDER: (u32, u32) = (1_200, 630);

/// A JPEG rendition and its size in pixels.
#[derive(Debug, Clone)]
pub struct Rendition {
    pub bytes: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

/// Why no rendition was made of an image.
#[derive(Debug, thiserror::Error)]
pub enum RenditionError {
    #[error("the image does not decode: {0}")]
    Decode(#[from] image::ImageError),
    #[error("no JPEG of the image fits in {MAX_BYTES} bytes")]
    TooLarge,
}

/// The rendition of an encoded image (CPU-bound: run it off the async threads).
pub fn from_image(encoded: &[u8]) -> Result<Rendition, RenditionError> {
    let img = image::load_from_memory(encoded)?;
    let img = if img.width() > MAX_WIDTH {
        img.resize(MAX_WIDTH, img.height(), FilterType::Triangle)
    } else {
        img
    };
    encode(&img)
}

fn encode(img: &DynamicImage) -> Result<Rendition, RenditionError> {
    let rgb = img.to_rgb8();
    for quality in QUALITIES {
        let mut bytes = Vec::new();
        JpegEncoder::new_with_quality(&mut bytes, quality).encode_image(&rgb)?;
        if bytes.len() < MAX_BYTES {
            return Ok(Rendition {
                bytes,
                width: rgb.width(),
                height: rgb.height(),
            });
        }
    }
    Err(RenditionError::TooLarge)
}

/// The neutral placeholder: a dark diagonal gradient, made once per process.
pub fn placeholder() -> &'static Rendition {
    static CELL: OnceLock<Rendition> = OnceLock::new();
    CELL.get_or_init(|| {
        let (w, h) = PLACEHOLDER;
        let img = RgbImage::from_fn(w, h, |x, y| {
            let t = (x + y) as f32 / (w + h) as f32;
            let mix = |a: f32, b: f32| (a + (b - a) * t) as u8;
            Rgb([mix(24.0, 52.0), mix(27.0, 40.0), mix(34.0, 30.0)])
        });
        encode(&DynamicImage::ImageRgb8(img)).expect("a small gradient encodes")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::ImageFormat;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = RgbImage::from_fn(w, h, |x, y| Rgb([(x % 256) as u8, (y % 256) as u8, 90]));
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn wide_images_shrink_and_small_ones_keep_their_size() {
        let r = from_image(&png(2_400, 1_000)).unwrap();
        assert_eq!((r.width, r.height), (1_200, 500));
        assert_eq!(image::guess_format(&r.bytes).unwrap(), ImageFormat::Jpeg);
        assert!(r.bytes.len() < MAX_BYTES);
        let r = from_image(&png(300, 200)).unwrap();
        assert_eq!((r.width, r.height), (300, 200));
        assert!(matches!(
            from_image(b"not an image"),
            Err(RenditionError::Decode(_))
        ));
        let p = placeholder();
        assert_eq!((p.width, p.height), PLACEHOLDER);
        assert_eq!(image::guess_format(&p.bytes).unwrap(), ImageFormat::Jpeg);
    }
}
