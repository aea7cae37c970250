//! The `.iskra` bundle file (D9): a zip with `project.json` (see
//! [`crate::engine::BundleManifest`]) and `assets/<sha256>`. Export streams each cached asset
//! into the zip and writes to a temp file renamed into place, so a failed export leaves no
//! half bundle. Import extracts each asset to a temp file (bounded by its declared size),
//! brings it into the library like any file (type checked, deduplicated, queued for upload),
//! refuses it when its hash differs from its name, then creates the project.

use crate::engine::{BundleManifest, MANIFEST};
use crate::error::{EngineError, Result};
use crate::Engine;
use iskra_protocol::Project;
use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;
use uuid::Uuid;
use zip::write::SimpleFileOptions;

/// Largest `project.json` read (a canvas of many thousands of elements fits easily).
const MAX_MANIFEST_BYTES: u64 = 64 * 1024 * 1024;
/// Folder of the asset files inside the zip.
const ASSETS_PREFIX: &str = "assets/";

/// Told how far an export or import is: (bytes done, bytes in total).
pub type Progress<'a> = &'a mut dyn FnMut(u64, u64);

fn zip_err(e: zip::result::ZipError) -> EngineError {
    match e {
        zip::result::ZipError::Io(e) => EngineError::io("bundle", e),
        e => EngineError::Invalid(format!("not a readable .iskra bundle: {e}")),
    }
}

/// Writes `project` with its assets to `dest`; returns the manifest written.
pub fn export(
    engine: &Engine,
    project: Uuid,
    dest: &Path,
    progress: Progress<'_>,
) -> Result<BundleManifest> {
    let manifest = engine.bundle_manifest(project)?;
    let total: u64 = manifest.assets.iter().map(|a| a.size_bytes).sum();
    let tmp = dest.with_extension(format!("part-{}", Uuid::new_v4().simple()));
    let ioe = |e| EngineError::io(format!("writing {}", dest.display()), e);
    let result = (|| {
        let mut zip = zip::ZipWriter::new(File::create(&tmp).map_err(ioe)?);
        let deflate = SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .large_file(true);
        // Images and videos are compressed already.
        let stored = SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored)
            .large_file(true);
        zip.start_file(MANIFEST, deflate).map_err(zip_err)?;
        zip.write_all(&serde_json::to_vec_pretty(&manifest)?)
            .map_err(ioe)?;
        let mut done = 0;
        progress(done, total);
        for a in &manifest.assets {
            let rec = engine
                .asset(&a.sha256)?
                .ok_or_else(|| EngineError::Invalid(format!("asset {} vanished", a.sha256)))?;
            let path = engine.asset_path(&rec);
            let mut f = File::open(&path)
                .map_err(|e| EngineError::io(format!("opening {}", path.display()), e))?;
            zip.start_file(format!("{ASSETS_PREFIX}{}", a.sha256), stored)
                .map_err(zip_err)?;
            done += std::io::copy(&mut f, &mut zip).map_err(ioe)?;
            progress(done, total);
        }
        zip.finish().map_err(zip_err)?.sync_all().map_err(ioe)?;
        std::fs::rename(&tmp, dest).map_err(ioe)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map(|()| manifest)
}

/// Reads a bundle into the engine: assets into the library (queued for upload), then the
/// project (a new id when its id is taken here). Returns the project.
pub fn import(engine: &Engine, src: &Path, progress: Progress<'_>) -> Result<Project> {
    let file =
        File::open(src).map_err(|e| EngineError::io(format!("opening {}", src.display()), e))?;
    let mut zip = zip::ZipArchive::new(file).map_err(zip_err)?;
    let manifest: BundleManifest = {
        let entry = zip.by_name(MANIFEST).map_err(zip_err)?;
        let mut buf = Vec::new();
        entry
            .take(MAX_MANIFEST_BYTES)
            .read_to_end(&mut buf)
            .map_err(|e| EngineError::io("reading project.json", e))?;
        serde_json::from_slice(&buf)
            .map_err(|e| EngineError::Invalid(format!("project.json is not valid: {e}")))?
    };
    let total: u64 = manifest.assets.iter().map(|a| a.size_bytes).sum();
    let mut done = 0;
    progress(done, total);
    for a in &manifest.assets {
        if !iskra_protocol::is_sha256_hex(&a.sha256) {
            return Err(EngineError::Invalid(format!(
                "bad asset name {:?}",
                a.sha256
            )));
        }
        if engine.asset(&a.sha256)?.is_some() {
            done += a.size_bytes;
            progress(done, total);
            continue;
        }
        let tmp = engine
            .data_dir()
            .join(format!(".bundle-{}", Uuid::new_v4().simple()));
        let extracted = (|| {
            let entry = zip
                .by_name(&format!("{ASSETS_PREFIX}{}", a.sha256))
                .map_err(zip_err)?;
            let mut out = File::create(&tmp).map_err(|e| EngineError::io("extracting", e))?;
            // One byte more than declared reveals a lying size without reading it all.
            let n = std::io::copy(&mut entry.take(a.size_bytes + 1), &mut out)
                .map_err(|e| EngineError::io("extracting an asset", e))?;
            if n != a.size_bytes {
                return Err(EngineError::Invalid(format!(
                    "asset {} is {n} bytes, the bundle says {}",
                    a.sha256, a.size_bytes
                )));
            }
            let (rec, _) = engine.import_asset(&tmp)?;
            if rec.sha256 != a.sha256 {
                engine.delete_asset(&rec.sha256)?;
                return Err(EngineError::Invalid(format!(
                    "asset {} does not match its content",
                    a.sha256
                )));
            }
            Ok(())
        })();
        let _ = std::fs::remove_file(&tmp);
        extracted?;
        done += a.size_bytes;
        progress(done, total);
    }
    engine.import_manifest(&manifest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::tests::engine;
    use crate::media::tests::PNG_1X1;
    use iskra_protocol::Viewport;

    #[test]
    fn export_import_round_trip_keeps_ids_clocks_and_assets() {
        let (a, dir) = engine();
        let p = a.create_project(Some("Trip")).unwrap().id;
        let file = dir.path().join("in.png");
        std::fs::write(&file, PNG_1X1).unwrap();
        let el = a.add_media(p, &file, 1.0, 2.0).unwrap();
        a.move_element(p, el.id, 30.0, 40.0).unwrap();
        let vp = Viewport {
            x: 5.0,
            y: 6.0,
            scale: 2.0,
        };
        a.set_viewport(p, &vp).unwrap();
        let bundle = dir.path().join("trip.iskra");
        let mut calls = Vec::new();
        export(&a, p, &bundle, &mut |d, t| calls.push((d, t))).unwrap();
        assert_eq!(calls.last(), Some(&(70, 70)));

        let (b, _dir_b) = engine();
        let got = import(&b, &bundle, &mut |_, _| {}).unwrap();
        assert_eq!((got.id, got.name.as_str()), (p, "Trip"));
        let (ca, cb) = (a.open_project(p).unwrap(), b.open_project(p).unwrap());
        assert_eq!(ca.canvas, cb.canvas);
        assert_eq!(
            b.bundle_manifest(p).unwrap().elements,
            a.bundle_manifest(p).unwrap().elements
        );
        assert_eq!(b.assets().unwrap().len(), 1);
        let kinds: Vec<_> = b
            .outbox()
            .unwrap()
            .iter()
            .map(|o| o.payload.kind())
            .collect();
        assert_eq!(kinds[..2], ["asset.upload", "project.create"]);
        assert!(kinds[2..].iter().all(|k| *k == "canvas.change"));
        // A later local edit on B wins over the imported clocks.
        let r = b.move_element(p, el.id, 0.0, 0.0).unwrap();
        let now_x = &b.bundle_manifest(p).unwrap().elements[0].state.clocks["x"];
        assert_eq!(&r.changes[0].clock, now_x);
        assert!(r.changes[0].clock > a.bundle_manifest(p).unwrap().elements[0].state.clocks["x"]);

        let again = import(&b, &bundle, &mut |_, _| {}).unwrap();
        assert_ne!(again.id, p, "taken id: a new one");
    }

    #[test]
    fn bad_bundles_are_refused() {
        let (e, dir) = engine();
        let not_zip = dir.path().join("x.iskra");
        std::fs::write(&not_zip, b"hello").unwrap();
        assert_eq!(
            import(&e, &not_zip, &mut |_, _| {}).unwrap_err().kind(),
            "invalid"
        );
        assert!(e.list_projects().unwrap().is_empty());
    }
}
