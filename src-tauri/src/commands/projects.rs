//! Project commands (D2): list with search and sort, create (`Iskra NN` by default), rename,
//! hard delete, the project to restore at start, open, and the UI-rendered thumbnail.

use super::{blocking, header, raw_body, Shared};
use crate::error::{parse_id, CmdResult, CommandError};
use crate::state::AppState;
use iskra_engine::engine::THUMBS_DIR;
use iskra_engine::store::projects::ProjectSort;
use iskra_protocol::{Element, Project, Viewport};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use tauri::State;
use uuid::Uuid;

/// Device setting: the project opened last (restored at start, D2).
pub const LAST_OPENED: &str = "desktop.last_opened_project";
/// Prefix of the device setting holding a project's saved selection (JSON id list).
pub const SELECTION_PREFIX: &str = "desktop.selection.";
/// PNG signature: the first bytes of every PNG file.
pub(crate) const PNG_MAGIC: &[u8] = b"\x89PNG\r\n\x1a\n";

/// `list_projects` query.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProjectQuery {
    #[serde(default)]
    pub query: String,
    #[serde(default)]
    pub sort: ProjectSort,
    #[serde(default)]
    pub order: SortOrder,
}

/// Ascending or descending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SortOrder {
    Asc,
    #[default]
    Desc,
}

/// `open_project`: the project, its canvas, the saved selection, undo/redo availability.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenCanvas {
    pub project: Project,
    pub elements: Vec<Element>,
    pub viewport: Viewport,
    pub selection: Vec<String>,
    pub can_undo: bool,
    pub can_redo: bool,
}

/// Where the UI's rendering of a project's canvas is kept.
pub fn ui_thumbnail_path(state: &AppState, project: Uuid) -> PathBuf {
    state
        .engine
        .data_dir()
        .join(THUMBS_DIR)
        .join(format!("project-ui-{project}.png"))
}

/// The saved selection of a project (ids of elements that still exist).
pub fn saved_selection(state: &AppState, project: Uuid, elements: &[Element]) -> Vec<String> {
    let key = format!("{SELECTION_PREFIX}{project}");
    let ids: Vec<String> = state
        .engine
        .setting(&key)
        .ok()
        .flatten()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_default();
    ids.into_iter()
        .filter(|id| elements.iter().any(|e| e.id.to_string() == *id))
        .collect()
}

#[tauri::command]
pub async fn list_projects(
    state: State<'_, Shared>,
    query: ProjectQuery,
) -> CmdResult<Vec<Project>> {
    blocking(&state, move |s| {
        // The engine sorts updated-desc and name-asc; the other direction is the reverse.
        let mut list = s.engine.search_projects(Some(&query.query), query.sort)?;
        let natural = match query.sort {
            ProjectSort::Updated => SortOrder::Desc,
            ProjectSort::Name => SortOrder::Asc,
        };
        if query.order != natural {
            list.reverse();
        }
        Ok(list)
    })
    .await
}

#[tauri::command]
pub async fn create_project(state: State<'_, Shared>, name: Option<String>) -> CmdResult<Project> {
    blocking(&state, move |s| {
        Ok(s.engine.create_project(name.as_deref())?)
    })
    .await
}

#[tauri::command]
pub async fn rename_project(
    state: State<'_, Shared>,
    id: String,
    name: String,
) -> CmdResult<Project> {
    let id = parse_id("project", &id)?;
    blocking(&state, move |s| Ok(s.engine.rename_project(id, &name)?)).await
}

#[tauri::command]
pub async fn delete_project(state: State<'_, Shared>, id: String) -> CmdResult<()> {
    let id = parse_id("project", &id)?;
    blocking(&state, move |s| {
        s.engine.delete_project(id)?;
        let _ = std::fs::remove_file(ui_thumbnail_path(s, id));
        let _ = s.engine.remove_setting(&format!("{SELECTION_PREFIX}{id}"));
        let mut mirror = s.canvas();
        if mirror.project == Some(id) {
            *mirror = Default::default();
        }
        Ok(())
    })
    .await
}

/// The project to open at start: a deep-linked one, else the last opened, else the most
/// recently modified; `None` when there is no project yet.
#[tauri::command]
pub async fn recent_project(state: State<'_, Shared>) -> CmdResult<Option<String>> {
    blocking(&state, |s| {
        let linked = s
            .pending_open
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        let last = s
            .engine
            .setting(LAST_OPENED)?
            .and_then(|id| Uuid::parse_str(&id).ok());
        for id in [linked, last].into_iter().flatten() {
            if s.engine.project(id).is_ok() {
                return Ok(Some(id.to_string()));
            }
        }
        Ok(s.engine.list_projects()?.first().map(|p| p.id.to_string()))
    })
    .await
}

#[tauri::command]
pub async fn open_project(state: State<'_, Shared>, id: String) -> CmdResult<OpenCanvas> {
    let id = parse_id("project", &id)?;
    blocking(&state, move |s| {
        let mut mirror = s.canvas();
        let open = s.engine.open_project(id)?;
        s.engine.set_setting(LAST_OPENED, &id.to_string())?;
        mirror.reset(id, open.project.updated_at.clone(), &open.canvas.elements);
        let selection = saved_selection(s, id, &open.canvas.elements);
        Ok(OpenCanvas {
            project: open.project,
            elements: open.canvas.elements,
            viewport: open.canvas.viewport,
            selection,
            can_undo: open.can_undo,
            can_redo: open.can_redo,
        })
    })
    .await
}

/// Stores the UI's rendering of a canvas (raw PNG body, header `x-project-id`), served as
/// `iskra-asset://…/project-thumb/<id>`.
#[tauri::command]
pub async fn save_project_thumbnail(
    state: State<'_, Shared>,
    request: tauri::ipc::Request<'_>,
) -> CmdResult<()> {
    let id = parse_id("project", header(&request, "x-project-id")?)?;
    let png = raw_body(&request)?;
    if !png.starts_with(PNG_MAGIC) {
        return Err(CommandError::UnsupportedFile(
            "a project thumbnail must be a PNG image".into(),
        ));
    }
    let png = png.to_vec();
    blocking(&state, move |s| {
        s.engine.project(id)?;
        let dest = ui_thumbnail_path(s, id);
        let dir = dest.parent().map(PathBuf::from).unwrap_or_default();
        std::fs::create_dir_all(&dir).map_err(|e| CommandError::Io(e.to_string()))?;
        // Temp file + rename: a reader never sees half a thumbnail.
        let tmp = tempfile::NamedTempFile::new_in(&dir)
            .map_err(|e| CommandError::Io(format!("saving thumbnail: {e}")))?;
        std::fs::write(tmp.path(), &png)
            .map_err(|e| CommandError::Io(format!("saving thumbnail: {e}")))?;
        tmp.persist(&dest)
            .map_err(|e| CommandError::Io(format!("saving thumbnail: {e}")))?;
        Ok(())
    })
    .await
}
