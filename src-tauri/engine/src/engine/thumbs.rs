//! Thumbnails (D2, D5): made locally with the `image` crate under bounded decode limits (a
//! hostile file cannot make us allocate gigabytes), longest side [`THUMB_MAX`] px, cached as
//! PNG under the data dir's [`THUMBS_DIR`] by content hash — an asset's thumbnail by the
//! asset's SHA-256, a project's by the SHA-256 of its visible canvas, so an unchanged canvas
//! is never rendered twice. A project thumbnail composites the visible elements' thumbnails
//! into their places (rotation ignored; videos and missing assets as grey boxes).

use super::Engine;
use crate::error::{EngineError, Result};
use crate::store::canvas;
use image::{imageops, DynamicImage, ImageReader, Limits, Rgba, RgbaImage};
use iskra_protocol::{Element, ElementKind};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use uuid::Uuid;

/// Longest side of every thumbnail, px.
pub const THUMB_MAX: u32 = 512;
/// Folder of the thumbnail cache inside the data dir.
pub const THUMBS_DIR: &str = "thumbs";
/// Largest width or height decoded (the server's 100 MP limit fits within it).
const MAX_DECODE_SIDE: u32 = 20_000;
/// Most memory one decode may allocate (a 100 MP RGBA image is 400 MB).
const MAX_DECODE_ALLOC: u64 = 512 * 1024 * 1024;
/// Colour of elements without a picture (videos, missing assets).
const PLACEHOLDER: Rgba<u8> = Rgba([160, 160, 160, 255]);
/// Canvas background of project thumbnails.
const BACKGROUND: Rgba<u8> = Rgba([255, 255, 255, 255]);

/// Decodes an image file under the limits.
fn decode(path: &Path) -> Result<DynamicImage> {
    let invalid = |e: &dyn std::fmt::Display| {
        EngineError::Invalid(format!("{} is not a decodable image: {e}", path.display()))
    };
    let mut reader = ImageReader::open(path)
        .map_err(|e| EngineError::io(format!("opening {}", path.display()), e))?
        .with_guessed_format()
        .map_err(|e| EngineError::io(format!("reading {}", path.display()), e))?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_DECODE_SIDE);
    limits.max_image_height = Some(MAX_DECODE_SIDE);
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    reader.limits(limits);
    reader.decode().map_err(|e| invalid(&e))
}

/// Writes a PNG atomically (temp file + rename), so a reader never sees half a thumbnail.
fn save_png(img: &RgbaImage, dest: &Path) -> Result<()> {
    let tmp = dest.with_extension(format!("tmp-{}", Uuid::new_v4().simple()));
    img.save_with_format(&tmp, image::ImageFormat::Png)
        .map_err(|e| EngineError::Invalid(format!("encoding thumbnail: {e}")))?;
    std::fs::rename(&tmp, dest).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        EngineError::io(format!("storing {}", dest.display()), e)
    })
}

/// An image scaled to fit within `THUMB_MAX` (never enlarged).
fn shrink(img: &DynamicImage) -> RgbaImage {
    if img.width().max(img.height()) <= THUMB_MAX {
        img.to_rgba8()
    } else {
        img.thumbnail(THUMB_MAX, THUMB_MAX).to_rgba8()
    }
}

/// Bounding box (min x, min y, max x, max y) of the elements.
fn bounds(elements: &[Element]) -> Option<(f64, f64, f64, f64)> {
    elements.iter().fold(None, |acc, e| {
        let (x0, y0, x1, y1) = (e.x, e.y, e.x + e.width, e.y + e.height);
        Some(match acc {
            None => (x0, y0, x1, y1),
            Some((a, b, c, d)) => (a.min(x0), b.min(y0), c.max(x1), d.max(y1)),
        })
    })
}

impl Engine {
    fn thumbs_dir(&self) -> Result<PathBuf> {
        let dir = self.data_dir().join(THUMBS_DIR);
        std::fs::create_dir_all(&dir)
            .map_err(|e| EngineError::io(format!("creating {}", dir.display()), e))?;
        Ok(dir)
    }

    /// The cached thumbnail of an image asset, made on first use; `None` for videos.
    pub fn asset_thumbnail(&self, sha256: &str) -> Result<Option<PathBuf>> {
        let record = self
            .asset(sha256)?
            .ok_or_else(|| EngineError::Invalid(format!("asset {sha256} is not cached here")))?;
        if !record.mime.starts_with("image/") {
            return Ok(None);
        }
        let dest = self.thumbs_dir()?.join(format!("{}.png", record.sha256));
        if !dest.exists() {
            let img = decode(&self.asset_path(&record))?;
            save_png(&shrink(&img), &dest)?;
        }
        Ok(Some(dest))
    }

    /// A PNG of the project's canvas (its visible elements, fitted into [`THUMB_MAX`] px),
    /// cached by the canvas's content hash. `None` for an empty canvas.
    pub fn project_thumbnail(&self, project: Uuid) -> Result<Option<PathBuf>> {
        let elements = canvas::elements(&self.db().conn, project)?;
        let Some((x0, y0, x1, y1)) = bounds(&elements) else {
            return Ok(None);
        };
        let hash = hex::encode(Sha256::digest(serde_json::to_vec(&elements)?));
        let dest = self.thumbs_dir()?.join(format!("project-{hash}.png"));
        if dest.exists() {
            return Ok(Some(dest));
        }
        let (w, h) = ((x1 - x0).max(1.0), (y1 - y0).max(1.0));
        let scale = f64::from(THUMB_MAX) / w.max(h);
        let px = |v: f64| (v * scale).round().max(1.0) as u32;
        let mut out = RgbaImage::from_pixel(px(w), px(h), BACKGROUND);
        for e in &elements {
            let (ew, eh) = (px(e.width), px(e.height));
            let (ex, ey) = (
                ((e.x - x0) * scale).round() as i64,
                ((e.y - y0) * scale).round() as i64,
            );
            let thumb = match (&e.kind, &e.asset_id) {
                (ElementKind::Image, Some(id)) => match self.asset_thumbnail(id) {
                    Ok(Some(p)) => decode(&p).ok(),
                    _ => None,
                },
                _ => None,
            };
            let tile = match thumb {
                Some(t) => imageops::resize(&t.to_rgba8(), ew, eh, imageops::FilterType::Triangle),
                None => RgbaImage::from_pixel(ew, eh, PLACEHOLDER),
            };
            imageops::overlay(&mut out, &tile, ex, ey);
        }
        save_png(&out, &dest)?;
        Ok(Some(dest))
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::tests::engine;

    fn png(dir: &std::path::Path, name: &str, w: u32, h: u32, rgb: [u8; 3]) -> std::path::PathBuf {
        let img = image::RgbImage::from_pixel(w, h, image::Rgb(rgb));
        let path = dir.join(name);
        img.save(&path).unwrap();
        path
    }

    #[test]
    fn asset_thumbnail_is_bounded_and_cached_by_hash() {
        let (e, dir) = engine();
        let file = png(dir.path(), "big.png", 1200, 600, [255, 0, 0]);
        let (rec, _) = e.import_asset(&file).unwrap();
        let thumb = e.asset_thumbnail(&rec.sha256).unwrap().unwrap();
        assert!(thumb.ends_with(format!("thumbs/{}.png", rec.sha256)));
        let img = image::open(&thumb).unwrap();
        assert_eq!((img.width(), img.height()), (512, 256));
        let small = png(dir.path(), "small.png", 40, 30, [0, 0, 255]);
        let (rec2, _) = e.import_asset(&small).unwrap();
        let t2 = image::open(e.asset_thumbnail(&rec2.sha256).unwrap().unwrap()).unwrap();
        assert_eq!((t2.width(), t2.height()), (40, 30), "never enlarged");
    }

    #[test]
    fn project_thumbnail_composites_elements_and_follows_changes() {
        let (e, dir) = engine();
        let p = e.create_project(None).unwrap().id;
        assert!(e.project_thumbnail(p).unwrap().is_none());
        let red = png(dir.path(), "red.png", 100, 100, [255, 0, 0]);
        let blue = png(dir.path(), "blue.png", 100, 100, [0, 0, 255]);
        // Centred on the points: corners at (0, 0) and (900, 0).
        e.add_media(p, &red, 50.0, 50.0).unwrap();
        let b = e.add_media(p, &blue, 950.0, 50.0).unwrap();
        let t1 = e.project_thumbnail(p).unwrap().unwrap();
        assert_eq!(e.project_thumbnail(p).unwrap().unwrap(), t1, "cached");
        let img = image::open(&t1).unwrap().to_rgba8();
        assert_eq!((img.width(), img.height()), (512, 51));
        assert_eq!(img.get_pixel(10, 10).0, [255, 0, 0, 255]);
        assert_eq!(img.get_pixel(505, 10).0, [0, 0, 255, 255]);
        assert_eq!(img.get_pixel(256, 10).0, [255, 255, 255, 255]);
        e.move_element(p, b.id, 100.0, 0.0).unwrap();
        let t2 = e.project_thumbnail(p).unwrap().unwrap();
        assert_ne!(t1, t2);
        let img = image::open(&t2).unwrap();
        assert_eq!((img.width(), img.height()), (512, 256));
    }
}
