//! File commands (D8, D9): PNG exports rendered by the UI, written where the user chose;
//! `.iskra` project bundles exported and imported through the engine's `bundle` module; and
//! the hot folder list (a running `HotFolderWatcher` follows it on its own).
//!
//! Paths come from the OS dialogs but are checked here anyway, before anything is written: a
//! missing file or folder, a destination that is a folder, a file that is not a bundle each
//! answer with a sentence naming the path. Files are written to a temporary file beside the
//! destination and renamed into place, so a failed write never leaves half a file.

use super::projects::PNG_MAGIC;
use super::{blocking, header, raw_body, Shared};
use crate::error::{parse_id, CmdResult, CommandError};
use iskra_engine::{bundle, Engine};
use iskra_protocol::Project;
use serde::Serialize;
use std::io::Read;
use std::path::{Path, PathBuf};
use tauri::State;

/// Extension of PNG exports.
pub const PNG_EXTENSION: &str = "png";
/// Extension of project bundles.
pub const BUNDLE_EXTENSION: &str = "iskra";
/// First bytes of a zip file (an `.iskra` bundle is a zip).
const ZIP_MAGIC: &[u8] = b"PK\x03\x04";

/// `export_project`: where the bundle went and what it holds.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BundleExported {
    pub path: String,
    pub elements: usize,
    pub assets: usize,
}

/// `add_hot_folder` / `remove_hot_folder`: the folder as stored, whether the list changed
/// (false: it was watched already / was not watched), and the list now.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HotFolderChange {
    pub folder: String,
    pub changed: bool,
    pub folders: Vec<String>,
}

fn shown(path: &Path) -> String {
    path.display().to_string()
}

/// A path argument: not blank, absolute (a relative one would depend on where the app runs).
pub fn path_arg(path: &str) -> CmdResult<PathBuf> {
    let path = path.trim();
    if path.is_empty() {
        return Err(CommandError::invalid("no path was given"));
    }
    let p = PathBuf::from(path);
    if !p.is_absolute() {
        return Err(CommandError::invalid(format!(
            "{path} is not a full path (from the root of a disk)"
        )));
    }
    Ok(p)
}

/// Where to write a file of type `extension`: `path` with the extension added when missing
/// (not every save dialog adds it), not a folder, in a folder that exists.
pub fn destination(path: &str, extension: &str) -> CmdResult<PathBuf> {
    let mut p = path_arg(path)?;
    let has_ext = p
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case(extension));
    if !has_ext {
        let mut name = p.file_name().unwrap_or_default().to_os_string();
        name.push(format!(".{extension}"));
        p.set_file_name(name);
    }
    if p.is_dir() {
        return Err(CommandError::invalid(format!(
            "{} is a folder, not a file name",
            shown(&p)
        )));
    }
    match p.parent() {
        Some(dir) if dir.is_dir() => Ok(p),
        Some(dir) => Err(CommandError::NotFound(format!(
            "the folder {} does not exist",
            shown(dir)
        ))),
        None => Err(CommandError::invalid(format!(
            "{} is not a file name",
            shown(&p)
        ))),
    }
}

/// A file that must exist (an import's source).
pub fn existing_file(path: &str) -> CmdResult<PathBuf> {
    let p = path_arg(path)?;
    if p.is_dir() {
        return Err(CommandError::invalid(format!(
            "{} is a folder, not a file",
            shown(&p)
        )));
    }
    if !p.is_file() {
        return Err(CommandError::NotFound(format!(
            "there is no file at {}",
            shown(&p)
        )));
    }
    Ok(p)
}

/// A folder that must exist (a hot folder being added).
pub fn existing_folder(path: &str) -> CmdResult<PathBuf> {
    let p = path_arg(path)?;
    if p.is_file() {
        return Err(CommandError::invalid(format!(
            "{} is a file, not a folder",
            shown(&p)
        )));
    }
    if !p.is_dir() {
        return Err(CommandError::NotFound(format!(
            "the folder {} does not exist",
            shown(&p)
        )));
    }
    Ok(p)
}

/// Whether the first bytes of a file can be an `.iskra` bundle (a zip).
pub fn looks_like_bundle(head: &[u8]) -> bool {
    head.starts_with(ZIP_MAGIC)
}

/// A failed write of `dest`, said plainly.
fn write_error(dest: &Path, e: &std::io::Error) -> CommandError {
    let why = match e.kind() {
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        std::io::ErrorKind::StorageFull => "the disk is full".to_owned(),
        _ => e.to_string(),
    };
    CommandError::Io(format!("cannot write {}: {why}", shown(dest)))
}

/// Writes `bytes` to `dest` through a temporary file beside it (a reader never sees half).
pub fn write_file(dest: &Path, bytes: &[u8]) -> CmdResult<()> {
    let dir = dest.parent().unwrap_or(Path::new("."));
    let tmp = tempfile::Builder::new()
        .prefix(".iskra-export-")
        .tempfile_in(dir)
        .map_err(|e| write_error(dest, &e))?;
    std::fs::write(tmp.path(), bytes).map_err(|e| write_error(dest, &e))?;
    tmp.persist(dest).map_err(|e| write_error(dest, &e.error))?;
    Ok(())
}

/// Writes a project's bundle to `dest`.
pub fn export_bundle(engine: &Engine, project: &str, dest: &str) -> CmdResult<BundleExported> {
    let id = parse_id("project", project)?;
    let dest = destination(dest, BUNDLE_EXTENSION)?;
    let manifest = bundle::export(engine, id, &dest, &mut |_, _| {})?;
    Ok(BundleExported {
        path: shown(&dest),
        elements: manifest.elements.len(),
        assets: manifest.assets.len(),
    })
}

/// Reads the bundle at `src` into the engine as a new project.
pub fn import_bundle(engine: &Engine, src: &str) -> CmdResult<Project> {
    let src = existing_file(src)?;
    let mut head = [0u8; 4];
    let n = std::fs::File::open(&src)
        .and_then(|mut f| f.read(&mut head))
        .map_err(|e| CommandError::Io(format!("cannot read {}: {e}", shown(&src))))?;
    if !looks_like_bundle(&head[..n]) {
        return Err(CommandError::UnsupportedFile(format!(
            "{} is not an .iskra project bundle",
            shown(&src)
        )));
    }
    Ok(bundle::import(engine, &src, &mut |_, _| {})?)
}

/// The hot folders as the UI shows them.
fn folder_list(engine: &Engine) -> CmdResult<Vec<String>> {
    Ok(engine.hot_folders()?.iter().map(|p| shown(p)).collect())
}

/// Starts watching a folder that exists.
pub fn add_folder(engine: &Engine, path: &str) -> CmdResult<HotFolderChange> {
    let dir = existing_folder(path)?;
    let changed = engine.add_hot_folder(&dir)?;
    let folder = dir
        .canonicalize()
        .map(|d| shown(&d))
        .unwrap_or_else(|_| shown(&dir));
    Ok(HotFolderChange {
        folder,
        changed,
        folders: folder_list(engine)?,
    })
}

/// Stops watching a folder (which may be gone by now).
pub fn remove_folder(engine: &Engine, path: &str) -> CmdResult<HotFolderChange> {
    let dir = path_arg(path)?;
    let changed = engine.remove_hot_folder(&dir)?;
    Ok(HotFolderChange {
        folder: shown(&dir),
        changed,
        folders: folder_list(engine)?,
    })
}

/// Writes a PNG the UI rendered (raw body, header `x-path`: the destination, percent-encoded);
/// answers the path written.
#[tauri::command]
pub async fn export_png(
    state: State<'_, Shared>,
    request: tauri::ipc::Request<'_>,
) -> CmdResult<String> {
    let path = percent_encoding::percent_decode_str(header(&request, "x-path")?)
        .decode_utf8()
        .map_err(|_| CommandError::invalid("the x-path header is not UTF-8"))?
        .into_owned();
    let png = raw_body(&request)?;
    if !png.starts_with(PNG_MAGIC) {
        return Err(CommandError::UnsupportedFile(
            "an export must be a PNG image".into(),
        ));
    }
    let png = png.to_vec();
    blocking(&state, move |_| {
        let dest = destination(&path, PNG_EXTENSION)?;
        write_file(&dest, &png)?;
        Ok(shown(&dest))
    })
    .await
}

#[tauri::command]
pub async fn export_project(
    state: State<'_, Shared>,
    project_id: String,
    path: String,
) -> CmdResult<BundleExported> {
    blocking(&state, move |s| {
        export_bundle(&s.engine, &project_id, &path)
    })
    .await
}

#[tauri::command]
pub async fn import_project(state: State<'_, Shared>, path: String) -> CmdResult<Project> {
    blocking(&state, move |s| import_bundle(&s.engine, &path)).await
}

#[tauri::command]
pub async fn hot_folders(state: State<'_, Shared>) -> CmdResult<Vec<String>> {
    blocking(&state, |s| folder_list(&s.engine)).await
}

#[tauri::command]
pub async fn add_hot_folder(state: State<'_, Shared>, path: String) -> CmdResult<HotFolderChange> {
    blocking(&state, move |s| add_folder(&s.engine, &path)).await
}

#[tauri::command]
pub async fn remove_hot_folder(
    state: State<'_, Shared>,
    path: String,
) -> CmdResult<HotFolderChange> {
    blocking(&state, move |s| remove_folder(&s.engine, &path)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> tempfile::TempDir {
        tempfile::tempdir().unwrap()
    }

    fn arg(p: &Path) -> String {
        p.display().to_string()
    }

    #[test]
    fn paths_must_be_given_and_absolute() {
        assert_eq!(path_arg("  ").unwrap_err().kind(), "invalidInput");
        assert_eq!(path_arg("out.png").unwrap_err().kind(), "invalidInput");
        let d = dir();
        assert_eq!(path_arg(&arg(d.path())).unwrap(), d.path());
    }

    #[test]
    fn destinations_get_their_extension_and_need_an_existing_folder() {
        let d = dir();
        let plain = destination(&arg(&d.path().join("board")), "png").unwrap();
        assert_eq!(plain, d.path().join("board.png"));
        let upper = destination(&arg(&d.path().join("board.PNG")), "png").unwrap();
        assert_eq!(upper, d.path().join("board.PNG"));
        let dotted = destination(&arg(&d.path().join("v1.2")), "iskra").unwrap();
        assert_eq!(dotted, d.path().join("v1.2.iskra"));

        let missing = destination(&arg(&d.path().join("nope/board.png")), "png").unwrap_err();
        assert_eq!(missing.kind(), "notFound");
        assert!(missing.to_string().contains("does not exist"));

        std::fs::create_dir(d.path().join("shots.png")).unwrap();
        let folder = destination(&arg(&d.path().join("shots.png")), "png").unwrap_err();
        assert_eq!(folder.kind(), "invalidInput");
    }

    #[test]
    fn files_and_folders_must_exist_and_be_what_they_claim() {
        let d = dir();
        let file = d.path().join("a.iskra");
        std::fs::write(&file, b"x").unwrap();
        assert_eq!(existing_file(&arg(&file)).unwrap(), file);
        assert_eq!(existing_folder(&arg(d.path())).unwrap(), d.path());

        let gone = d.path().join("gone");
        assert_eq!(existing_file(&arg(&gone)).unwrap_err().kind(), "notFound");
        assert_eq!(existing_folder(&arg(&gone)).unwrap_err().kind(), "notFound");
        assert_eq!(
            existing_file(&arg(d.path())).unwrap_err().kind(),
            "invalidInput"
        );
        assert_eq!(
            existing_folder(&arg(&file)).unwrap_err().kind(),
            "invalidInput"
        );
    }

    #[test]
    fn bundles_are_recognised_by_their_first_bytes() {
        assert!(looks_like_bundle(b"PK\x03\x04rest"));
        assert!(!looks_like_bundle(PNG_MAGIC));
        assert!(!looks_like_bundle(b"PK"));
        assert!(!looks_like_bundle(b""));
    }

    #[test]
    fn writes_replace_whole_files_and_fail_clearly() {
        let d = dir();
        let dest = d.path().join("out.png");
        write_file(&dest, b"first").unwrap();
        write_file(&dest, b"second").unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"second");
        let leftovers = std::fs::read_dir(d.path()).unwrap().count();
        assert_eq!(leftovers, 1, "no temporary file is left behind");

        let err = write_file(&d.path().join("missing/out.png"), b"x").unwrap_err();
        assert_eq!(err.kind(), "io");
        assert!(err.to_string().contains("cannot write"));
    }

    #[test]
    fn bundles_round_trip_and_other_files_are_refused() {
        let data = dir();
        let engine = Engine::open(data.path()).unwrap();
        let project = engine.create_project(Some("Moodboard")).unwrap();
        let out = dir();

        let exported = export_bundle(
            &engine,
            &project.id.to_string(),
            &arg(&out.path().join("backup")),
        )
        .unwrap();
        assert!(exported.path.ends_with("backup.iskra"));
        let imported = import_bundle(&engine, &exported.path).unwrap();
        assert_eq!(imported.name, "Moodboard");
        assert_ne!(imported.id, project.id, "the id is taken here: a new one");

        let text = out.path().join("notes.iskra");
        std::fs::write(&text, b"just some text").unwrap();
        assert_eq!(
            import_bundle(&engine, &arg(&text)).unwrap_err().kind(),
            "unsupportedFile"
        );
        let gone = out.path().join("gone.iskra");
        assert_eq!(
            import_bundle(&engine, &arg(&gone)).unwrap_err().kind(),
            "notFound"
        );
        let unknown = export_bundle(
            &engine,
            &uuid::Uuid::new_v4().to_string(),
            &arg(&out.path().join("x.iskra")),
        );
        assert_eq!(unknown.unwrap_err().kind(), "notFound");
    }

    #[test]
    fn hot_folders_are_added_once_and_removed() {
        let data = dir();
        let engine = Engine::open(data.path()).unwrap();
        let watched = dir();
        let added = add_folder(&engine, &arg(watched.path())).unwrap();
        assert!(added.changed);
        assert_eq!(added.folders, vec![added.folder.clone()]);
        assert!(!add_folder(&engine, &arg(watched.path())).unwrap().changed);

        let gone = watched.path().join("gone");
        assert_eq!(
            add_folder(&engine, &arg(&gone)).unwrap_err().kind(),
            "notFound"
        );
        let removed = remove_folder(&engine, &added.folder).unwrap();
        assert!(removed.changed);
        assert!(removed.folders.is_empty());
        assert!(!remove_folder(&engine, &added.folder).unwrap().changed);
    }
}
