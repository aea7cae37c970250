//! Canvas commands (D1): place files, pasted bytes or library assets; patch, delete, duplicate
//! and reorder elements; playback, viewport, selection; undo and redo. Every edit resolves
//! after the engine committed it and answers a [`CanvasDelta`] read back from the engine.
//! Where new elements go and how they stack is the engine's rule (`Engine::place_assets`,
//! `duplicate_elements`, `reorder_elements`, used by the CLI too): these commands translate.

use super::projects::SELECTION_PREFIX;
use super::{blocking, header, raw_body, Shared};
use crate::error::{parse_id, CmdResult, CommandError};
use crate::state::{AppState, CanvasMirror};
use iskra_engine::media;
use iskra_engine::store::assets::AssetRecord;
use iskra_engine::zorder::ZOrderMove;
use iskra_engine::Edit;
use iskra_protocol::{Element, Playback, Viewport};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use tauri::State;
use uuid::Uuid;

/// Bytes read from a file to tell its type by magic bytes.
const SNIFF_BYTES: u64 = 64;

/// What an edit changed (the UI's `CanvasDelta`).
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CanvasDelta {
    pub project_id: String,
    pub upserted: Vec<Element>,
    pub deleted: Vec<String>,
    pub can_undo: bool,
    pub can_redo: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selection: Option<Vec<String>>,
}

/// A world point: where new media is centred, or a duplicate's offset.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct Placement {
    pub x: f64,
    pub y: f64,
}

/// The editable properties `update_elements` may patch.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ElementProps {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub y: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rotation: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locked: Option<bool>,
}

/// One element's patch.
#[derive(Debug, Deserialize)]
pub struct ElementPatch {
    pub id: String,
    pub props: ElementProps,
}

/// `set_playback` argument.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlaybackUpdate {
    pub element_id: String,
    pub playback: Playback,
}

fn parse_ids(ids: &[String]) -> CmdResult<Vec<Uuid>> {
    ids.iter().map(|id| parse_id("element", id)).collect()
}

/// Reads back the elements an edit touched and records the delta in the mirror.
pub(crate) fn delta(
    s: &AppState,
    mirror: &mut CanvasMirror,
    project: Uuid,
    touched: impl IntoIterator<Item = Uuid>,
    selection: Option<Vec<String>>,
) -> CmdResult<CanvasDelta> {
    let open = s.engine.open_project(project)?;
    let mut out = CanvasDelta {
        project_id: project.to_string(),
        can_undo: open.can_undo,
        can_redo: open.can_redo,
        selection,
        ..Default::default()
    };
    let mut seen = HashSet::new();
    for id in touched.into_iter().filter(|id| seen.insert(*id)) {
        match open.canvas.elements.iter().find(|e| e.id == id) {
            Some(e) => out.upserted.push(e.clone()),
            None => out.deleted.push(id.to_string()),
        }
    }
    mirror.apply(&out, Some(open.project.updated_at));
    Ok(out)
}

/// Checks a file before the engine copies it: it exists and is a supported image or video.
fn check_file(path: &Path) -> CmdResult<()> {
    let meta = std::fs::metadata(path)
        .map_err(|_| CommandError::NotFound(format!("no such file: {}", path.display())))?;
    if !meta.is_file() {
        return Err(CommandError::invalid(format!(
            "{} is not a file",
            path.display()
        )));
    }
    let mut head = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(SNIFF_BYTES).read_to_end(&mut head))
        .map_err(|e| CommandError::Io(format!("reading {}: {e}", path.display())))?;
    if !media::is_supported(&head) {
        return Err(unsupported(&path.display().to_string()));
    }
    Ok(())
}

fn unsupported(name: &str) -> CommandError {
    CommandError::UnsupportedFile(format!(
        "{name} is not a supported image or video ({})",
        media::ACCEPTED_NAMES
    ))
}

/// Places cached assets around `at` (the engine's rule), on top, as ONE undo step.
fn place(
    s: &AppState,
    project: Uuid,
    assets: &[AssetRecord],
    at: Placement,
) -> CmdResult<CanvasDelta> {
    let mut mirror = s.canvas();
    let (placed, _) = s.engine.place_assets(project, assets, at.x, at.y)?;
    let ids: Vec<Uuid> = placed.iter().map(|e| e.id).collect();
    let selection = (!ids.is_empty()).then(|| ids.iter().map(Uuid::to_string).collect());
    delta(s, &mut mirror, project, ids, selection)
}

/// Applies one user action and answers the delta of the elements it touched.
fn edit(
    s: &AppState,
    project: Uuid,
    edits: Vec<Edit>,
    selection: Option<Vec<String>>,
) -> CmdResult<CanvasDelta> {
    let mut mirror = s.canvas();
    let touched: Vec<Uuid> = edits
        .iter()
        .filter_map(|e| match e {
            Edit::Create { element_id, .. }
            | Edit::Set { element_id, .. }
            | Edit::Delete { element_id }
            | Edit::Restore { element_id, .. } => Some(*element_id),
            Edit::Viewport { .. } => None,
        })
        .collect();
    if !edits.is_empty() {
        s.engine.apply(project, &edits)?;
    }
    delta(s, &mut mirror, project, touched, selection)
}

#[tauri::command]
pub async fn add_files(
    state: State<'_, Shared>,
    project_id: String,
    paths: Vec<String>,
    at: Placement,
) -> CmdResult<CanvasDelta> {
    let project = parse_id("project", &project_id)?;
    let paths: Vec<PathBuf> = paths.into_iter().map(PathBuf::from).collect();
    blocking(&state, move |s| {
        s.engine.project(project)?;
        for p in &paths {
            check_file(p)?;
        }
        let mut assets = Vec::with_capacity(paths.len());
        for p in &paths {
            assets.push(s.engine.import_asset(p)?.0);
        }
        place(s, project, &assets, at)
    })
    .await
}

/// Pasted or browser-dropped bytes into the asset cache: raw body; header `x-file-name`
/// (URI-encoded, for messages). Answers the asset id; `add_assets` then places every file of
/// the drop together, as one undo step.
#[tauri::command]
pub async fn import_bytes(
    state: State<'_, Shared>,
    request: tauri::ipc::Request<'_>,
) -> CmdResult<String> {
    let name = percent_encoding::percent_decode_str(header(&request, "x-file-name")?)
        .decode_utf8_lossy()
        .into_owned();
    let bytes = raw_body(&request)?;
    if !media::is_supported(&bytes[..bytes.len().min(SNIFF_BYTES as usize)]) {
        return Err(unsupported(&name));
    }
    let bytes = bytes.to_vec();
    blocking(&state, move |s| {
        // The engine imports from a path: stage the bytes in the data dir (removed on drop).
        let staged = tempfile::Builder::new()
            .prefix("import-")
            .tempfile_in(s.engine.data_dir())
            .map_err(|e| CommandError::Io(format!("staging {name}: {e}")))?;
        std::fs::write(staged.path(), &bytes)
            .map_err(|e| CommandError::Io(format!("staging {name}: {e}")))?;
        let (asset, _) = s.engine.import_asset(staged.path())?;
        Ok(asset.sha256)
    })
    .await
}

#[tauri::command]
pub async fn add_assets(
    state: State<'_, Shared>,
    project_id: String,
    asset_ids: Vec<String>,
    at: Placement,
) -> CmdResult<CanvasDelta> {
    let project = parse_id("project", &project_id)?;
    blocking(&state, move |s| {
        s.engine.project(project)?;
        let assets = asset_ids
            .iter()
            .map(|id| {
                s.engine
                    .asset(id)?
                    .ok_or_else(|| CommandError::NotFound(format!("asset {id} not found")))
            })
            .collect::<CmdResult<Vec<_>>>()?;
        place(s, project, &assets, at)
    })
    .await
}

#[tauri::command]
pub async fn update_elements(
    state: State<'_, Shared>,
    project_id: String,
    patches: Vec<ElementPatch>,
) -> CmdResult<CanvasDelta> {
    let project = parse_id("project", &project_id)?;
    let mut edits = Vec::with_capacity(patches.len());
    for p in patches {
        let element_id = parse_id("element", &p.id)?;
        let props = match serde_json::to_value(&p.props) {
            Ok(Value::Object(m)) if !m.is_empty() => m,
            _ => continue,
        };
        edits.push(Edit::Set { element_id, props });
    }
    blocking(&state, move |s| edit(s, project, edits, None)).await
}

#[tauri::command]
pub async fn delete_elements(
    state: State<'_, Shared>,
    project_id: String,
    ids: Vec<String>,
) -> CmdResult<CanvasDelta> {
    let project = parse_id("project", &project_id)?;
    let edits = parse_ids(&ids)?
        .into_iter()
        .map(|element_id| Edit::Delete { element_id })
        .collect();
    blocking(&state, move |s| edit(s, project, edits, Some(Vec::new()))).await
}

#[tauri::command]
pub async fn duplicate_elements(
    state: State<'_, Shared>,
    project_id: String,
    ids: Vec<String>,
    offset: Placement,
) -> CmdResult<CanvasDelta> {
    let project = parse_id("project", &project_id)?;
    let ids = parse_ids(&ids)?;
    blocking(&state, move |s| {
        let mut mirror = s.canvas();
        let (copies, _) = s
            .engine
            .duplicate_elements(project, &ids, offset.x, offset.y)?;
        let ids: Vec<Uuid> = copies.iter().map(|e| e.id).collect();
        let selection = ids.iter().map(Uuid::to_string).collect();
        delta(s, &mut mirror, project, ids, Some(selection))
    })
    .await
}

#[tauri::command]
pub async fn reorder_elements(
    state: State<'_, Shared>,
    project_id: String,
    ids: Vec<String>,
    r#move: ZOrderMove,
) -> CmdResult<CanvasDelta> {
    let project = parse_id("project", &project_id)?;
    let ids = parse_ids(&ids)?;
    blocking(&state, move |s| {
        let mut mirror = s.canvas();
        let receipt = s.engine.reorder_elements(project, &ids, r#move)?;
        let touched: Vec<Uuid> = receipt
            .changes
            .iter()
            .filter_map(|c| Uuid::parse_str(&c.element_id).ok())
            .collect();
        delta(s, &mut mirror, project, touched, None)
    })
    .await
}

/// A video's play state. Persisted with the canvas (D1); note: the engine has no write
/// outside undo history yet, so this is an undo step too.
#[tauri::command]
pub async fn set_playback(
    state: State<'_, Shared>,
    project_id: String,
    update: PlaybackUpdate,
) -> CmdResult<()> {
    let project = parse_id("project", &project_id)?;
    let element = parse_id("element", &update.element_id)?;
    let value =
        serde_json::to_value(&update.playback).map_err(|e| CommandError::invalid(e.to_string()))?;
    blocking(&state, move |s| {
        let mut props = Map::new();
        props.insert("playback".into(), value);
        let mut mirror = s.canvas();
        s.engine.set_properties(project, element, props)?;
        delta(s, &mut mirror, project, [element], None)?;
        Ok(())
    })
    .await
}

fn replay(s: &AppState, project: Uuid, undo: bool) -> CmdResult<CanvasDelta> {
    let mut mirror = s.canvas();
    let receipt = if undo {
        s.engine.undo(project)?
    } else {
        s.engine.redo(project)?
    };
    let touched: Vec<Uuid> = receipt
        .map(|r| {
            r.changes
                .iter()
                .filter_map(|c| Uuid::parse_str(&c.element_id).ok())
                .collect()
        })
        .unwrap_or_default();
    let mut d = delta(s, &mut mirror, project, touched, None)?;
    d.selection = Some(d.upserted.iter().map(|e| e.id.to_string()).collect());
    Ok(d)
}

#[tauri::command]
pub async fn undo(state: State<'_, Shared>, project_id: String) -> CmdResult<CanvasDelta> {
    let project = parse_id("project", &project_id)?;
    blocking(&state, move |s| replay(s, project, true)).await
}

#[tauri::command]
pub async fn redo(state: State<'_, Shared>, project_id: String) -> CmdResult<CanvasDelta> {
    let project = parse_id("project", &project_id)?;
    blocking(&state, move |s| replay(s, project, false)).await
}

#[tauri::command]
pub async fn set_viewport(
    state: State<'_, Shared>,
    project_id: String,
    viewport: Viewport,
) -> CmdResult<()> {
    let project = parse_id("project", &project_id)?;
    blocking(&state, move |s| {
        s.engine.set_viewport(project, &viewport)?;
        Ok(())
    })
    .await
}

/// Saves the selection as device state (not an undo step, not synced).
#[tauri::command]
pub async fn set_selection(
    state: State<'_, Shared>,
    project_id: String,
    ids: Vec<String>,
) -> CmdResult<()> {
    let project = parse_id("project", &project_id)?;
    let ids: Vec<String> = parse_ids(&ids)?.iter().map(Uuid::to_string).collect();
    blocking(&state, move |s| {
        s.engine.project(project)?;
        let json = serde_json::to_string(&ids).map_err(|e| CommandError::Engine(e.to_string()))?;
        s.engine
            .set_setting(&format!("{SELECTION_PREFIX}{project}"), &json)?;
        Ok(())
    })
    .await
}
