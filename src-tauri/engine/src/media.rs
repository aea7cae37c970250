//! Bringing a file into the local asset cache: stream it once through SHA-256 while copying it
//! into the data dir (never the whole file in memory), tell its type from magic bytes (not the
//! name), and probe dimensions and video duration with `iskra-media` — the server's own
//! prober, so desktop and server agree, and a file the server would refuse is refused here.

use crate::error::{EngineError, Result};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

pub use iskra_media::{extension, is_supported, ACCEPTED_MIME, ACCEPTED_NAMES, MAX_PIXELS};

/// Bytes read per step while hashing and copying.
const CHUNK: usize = 64 * 1024;

/// A file copied into the cache, before it is indexed.
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    pub sha256: String,
    /// Final path inside the cache folder.
    pub path: PathBuf,
    pub mime: String,
    pub size_bytes: u64,
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// Duration of a video, when it states one.
    pub duration_ms: Option<u64>,
}

/// Type and dimensions of a file with the same rules as the server (`iskra-media`).
fn probe(path: &Path, head: &[u8], src: &Path) -> Result<iskra_media::MediaInfo> {
    let unsupported = || {
        EngineError::Invalid(format!(
            "{} is not a supported image or video ({ACCEPTED_NAMES})",
            src.display()
        ))
    };
    if !is_supported(head) {
        return Err(unsupported());
    }
    iskra_media::probe_file(path, MAX_PIXELS).map_err(|e| match e {
        iskra_media::MediaError::Unsupported(_) => unsupported(),
        iskra_media::MediaError::Io(e) => EngineError::io(format!("reading {}", src.display()), e),
        e => EngineError::Invalid(format!("{} is not a readable file: {e}", src.display())),
    })
}

/// Copies `src` into `cache_dir` as `<sha256>.<ext>`; returns what it is.
pub fn import(src: &Path, cache_dir: &Path) -> Result<Imported> {
    let ioe = |what: &str, e| EngineError::io(format!("{what} {}", src.display()), e);
    let mut input = File::open(src).map_err(|e| ioe("opening", e))?;
    let tmp_path = cache_dir.join(format!(".import-{}", uuid::Uuid::new_v4().simple()));
    let mut tmp = File::create(&tmp_path).map_err(|e| ioe("creating cache file for", e))?;
    let result = copy_and_hash(&mut input, &mut tmp, src).and_then(|(sha, size, head)| {
        tmp.sync_all()
            .map_err(|e| ioe("syncing cache copy of", e))?;
        let info = probe(&tmp_path, &head, src)?;
        let path = cache_dir.join(format!("{sha}.{}", extension(info.mime)));
        std::fs::rename(&tmp_path, &path).map_err(|e| ioe("storing", e))?;
        Ok(Imported {
            sha256: sha,
            path,
            mime: info.mime.to_owned(),
            size_bytes: size,
            width: Some(info.width),
            height: Some(info.height),
            duration_ms: info.duration_ms,
        })
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp_path);
    }
    result
}

/// Streams `input` into `out`, returning (hex SHA-256, size, first bytes for type detection).
fn copy_and_hash(input: &mut File, out: &mut File, src: &Path) -> Result<(String, u64, Vec<u8>)> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; CHUNK];
    let mut head = Vec::new();
    let mut size = 0u64;
    loop {
        let n = input
            .read(&mut buf)
            .map_err(|e| EngineError::io(format!("reading {}", src.display()), e))?;
        if n == 0 {
            break;
        }
        if head.len() < 8192 {
            head.extend_from_slice(&buf[..n.min(8192 - head.len())]);
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n])
            .map_err(|e| EngineError::io(format!("copying {}", src.display()), e))?;
        size += n as u64;
    }
    Ok((hex::encode(hasher.finalize()), size, head))
}

/// Hex SHA-256 of a file, streamed.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut f =
        File::open(path).map_err(|e| EngineError::io(format!("opening {}", path.display()), e))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut f, &mut hasher)
        .map_err(|e| EngineError::io(format!("reading {}", path.display()), e))?;
    Ok(hex::encode(hasher.finalize()))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A valid 1×1 PNG, the smallest image the tests need.
    pub(crate) const PNG_1X1: &[u8] = &[
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44,
        0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f,
        0x15, 0xc4, 0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8,
        0xcf, 0xc0, 0xf0, 0x1f, 0x00, 0x05, 0x00, 0x01, 0xff, 0x89, 0x99, 0x3d, 0x1d, 0x00, 0x00,
        0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
    ];

    #[test]
    fn imports_png_by_magic_bytes_and_refuses_text() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("picture.txt");
        std::fs::write(&src, PNG_1X1).unwrap();
        let cache = dir.path().join("cache");
        std::fs::create_dir(&cache).unwrap();
        let got = import(&src, &cache).unwrap();
        assert_eq!(got.mime, "image/png");
        assert_eq!(
            (got.width, got.height, got.size_bytes),
            (Some(1), Some(1), 70)
        );
        assert_eq!(got.sha256, sha256_file(&src).unwrap());
        assert_eq!(got.path, cache.join(format!("{}.png", got.sha256)));
        let txt = dir.path().join("a.png");
        std::fs::write(&txt, b"hello, not an image").unwrap();
        assert_eq!(import(&txt, &cache).unwrap_err().kind(), "invalid");
        assert_eq!(
            std::fs::read_dir(&cache).unwrap().count(),
            1,
            "no temp file left"
        );
    }
}
