//! What a new generation request needs before it is queued (D7): a project on the account,
//! the source image of image-to-image and -video (its upload queued when the server lacks it),
//! the model as far as the cached catalogue tells, and where the placeholder goes when the
//! caller names no point — right of the source image, else right of the canvas's content.

use crate::error::{EngineError, Result};
use crate::generation::Point;
use crate::layout::GAP;
use crate::store::outbox::{self, OpPayload};
use crate::store::projects::{self, ProjectScope};
use crate::store::{assets, canvas, settings};
use iskra_protocol::{Element, ElementKind, GenerationKind, ModelInfo};
use rusqlite::Connection;
use uuid::Uuid;

/// Refuses projects kept off the account: the server must not learn of them.
pub(super) fn require_account_project(conn: &Connection, project: Uuid) -> Result<()> {
    match projects::scope(conn, project)? {
        None => Err(EngineError::ProjectNotFound(project)),
        Some(ProjectScope::Account) => Ok(()),
        Some(_) => Err(EngineError::Invalid(format!(
            "project {project} is kept on this device: add it to your account to generate in it"
        ))),
    }
}

/// The visible element a generation starts from or is placed beside.
pub(super) fn source_element(conn: &Connection, project: Uuid, id: Uuid) -> Result<Element> {
    let state = canvas::load_element(conn, project, id)?;
    if !state.is_visible() {
        return Err(EngineError::ElementNotFound(id));
    }
    Ok(state.to_element(id))
}

/// The asset a generation starts from: the source element's image.
pub(super) fn source_image(
    kind: GenerationKind,
    source: Option<&Element>,
) -> Result<Option<String>> {
    if !kind.needs_image() {
        return Ok(None);
    }
    let Some(el) = source else {
        return Err(EngineError::Invalid(format!(
            "{} starts from an image: select an image element (sourceElementId)",
            kind.as_str()
        )));
    };
    match (&el.kind, &el.asset_id) {
        (ElementKind::Image, Some(asset)) => Ok(Some(asset.clone())),
        _ => Err(EngineError::Invalid(format!(
            "element {} is not an image: {} starts from an image",
            el.id,
            kind.as_str()
        ))),
    }
}

/// The model the request will run on as far as this device knows: the one asked for (which
/// must be in the catalogue when one is cached), else the kind's default.
pub(super) fn resolve_model(
    models: &[ModelInfo],
    kind: GenerationKind,
    asked: Option<&str>,
) -> Result<String> {
    let of_kind = || models.iter().filter(move |m| m.kind == kind);
    match asked {
        Some(id) if !models.is_empty() && !of_kind().any(|m| m.id == id) => {
            Err(EngineError::Invalid(format!(
                "model {id:?} is not a {} model of the catalogue",
                kind.as_str()
            )))
        }
        Some(id) => Ok(id.to_owned()),
        None => Ok(of_kind()
            .find(|m| m.default)
            .or_else(|| of_kind().next())
            .map(|m| m.id.clone())
            .unwrap_or_default()),
    }
}

/// A box: left, top, width, height.
type Box = (f64, f64, f64, f64);

fn overlaps(a: Box, b: Box) -> bool {
    a.0 < b.0 + b.2 && b.0 < a.0 + a.2 && a.1 < b.1 + b.3 && b.1 < a.1 + a.3
}

/// Centre of a new `w`×`h` placeholder when the caller gave no point: right of the source
/// element, else right of everything on the canvas (the origin on an empty one) — moved further
/// right past whatever already stands there, so it never covers another element.
pub(super) fn beside(
    conn: &Connection,
    project: Uuid,
    source: Option<&Element>,
    (w, h): (f64, f64),
) -> Result<Point> {
    let boxes: Vec<Box> = canvas::elements(conn, project)?
        .iter()
        .map(|e| (e.x, e.y, e.width, e.height))
        .collect();
    let anchor: Vec<Box> = match source {
        Some(el) => vec![(el.x, el.y, el.width, el.height)],
        None => boxes.clone(),
    };
    if anchor.is_empty() {
        return Ok(Point { x: 0.0, y: 0.0 });
    }
    let right = anchor.iter().map(|b| b.0 + b.2).fold(f64::MIN, f64::max);
    let top = anchor.iter().map(|b| b.1).fold(f64::MAX, f64::min);
    let bottom = anchor.iter().map(|b| b.1 + b.3).fold(f64::MIN, f64::max);
    let y = (top + bottom) / 2.0;
    let mut left = right + GAP;
    // Each step passes one element for good, so this ends.
    while let Some(b) = boxes
        .iter()
        .find(|b| overlaps((left, y - h / 2.0, w, h), **b))
    {
        left = b.0 + b.2 + GAP;
    }
    Ok(Point {
        x: left + w / 2.0,
        y,
    })
}

/// Makes sure the server will have the source image: queues its upload unless it is uploaded
/// or already in the outbox (the submit uploads it first in any case).
pub(super) fn queue_upload(conn: &Connection, sha256: &str, now: &str) -> Result<()> {
    let Some(record) = assets::get(conn, sha256)? else {
        return Ok(()); // made on another device: the server has it
    };
    if !record.uploaded && !outbox::has_upload(conn, sha256)? {
        let payload = OpPayload::AssetUpload {
            sha256: sha256.to_owned(),
        };
        outbox::enqueue(conn, Uuid::new_v4(), None, &payload, now)?;
    }
    Ok(())
}

/// The cached model catalogue (empty until a sync fetched it).
pub(super) fn cached_models(conn: &Connection) -> Result<Vec<ModelInfo>> {
    match settings::get(conn, settings::MODELS)? {
        Some(json) => Ok(serde_json::from_str(&json)?),
        None => Ok(Vec::new()),
    }
}
