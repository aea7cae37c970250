//! Results landing on the canvas: the server writes a finished job's outputs into its project
//! where the placeholder element stood (side by side, each as tall as the placeholder) and
//! deletes the placeholder, through the same merge and change log as a device's push — so every
//! device, also one that was closed, gets the result by ordinary sync.
//!
//! The writes are deterministic per job (element and op ids derived from the job id), so a
//! worker that repeats the step after a crash changes nothing: the repeated op ids are skipped.

use crate::state::AppState;
use crate::store::assets::AssetRow;
use crate::store::generations::GenRow;
use iskra_protocol::events::ServerEvent;
use iskra_protocol::merge::ObjectState;
use iskra_protocol::{AssetType, Canvas, Change, ElementKind};
use serde_json::{json, Map, Value};
use uuid::Uuid;

/// Space between outputs placed side by side, in world units.
const GAP: f64 = 24.0;
/// Longest side of an output placed without a placeholder to stand in for.
const FREE_SIDE: f64 = 512.0;

/// The id of output `i`'s element (the same on every attempt).
pub fn output_element_id(job: Uuid, i: usize) -> Uuid {
    Uuid::new_v5(&job, format!("output-element-{i}").as_bytes())
}

fn op_id(job: Uuid, what: &str) -> Uuid {
    Uuid::new_v5(&job, format!("op-{what}").as_bytes())
}

/// Where the outputs go: the placeholder's box and z, or a free spot.
struct Anchor {
    x: f64,
    y: f64,
    height: Option<f64>,
    z: String,
}

fn anchor(state: Option<&ObjectState>, placeholder: Uuid, canvas: &Canvas) -> Option<Anchor> {
    match state {
        // The user deleted the placeholder: the outputs stay in the library only.
        Some(s) if !s.is_visible() => None,
        Some(s) => {
            let e = s.to_element(placeholder);
            Some(Anchor {
                x: e.x,
                y: e.y,
                height: Some(e.height),
                z: e.z,
            })
        }
        // No placeholder: right of everything on the canvas, on top.
        None => {
            let right = canvas
                .elements
                .iter()
                .map(|e| e.x + e.width)
                .reduce(f64::max);
            let top = canvas.elements.iter().map(|e| e.y).reduce(f64::min);
            let z = canvas.elements.iter().map(|e| e.z.clone()).max();
            Some(Anchor {
                x: right.map_or(0.0, |r| r + GAP),
                y: top.unwrap_or(0.0),
                height: None,
                z: z.unwrap_or_else(|| iskra_protocol::merge::DEFAULT_Z.to_owned()),
            })
        }
    }
}

/// Writes the outputs into the job's project (when it names one) and announces the change.
pub async fn place(
    state: &AppState,
    row: &GenRow,
    outputs: &[AssetRow],
) -> Result<(), sqlx::Error> {
    let (Some(project), Ok(job)) = (
        row.project_id
            .as_deref()
            .and_then(|p| Uuid::parse_str(p).ok()),
        Uuid::parse_str(&row.id),
    ) else {
        return Ok(());
    };
    let placeholder = row
        .element_id
        .as_deref()
        .and_then(|e| Uuid::parse_str(e).ok());
    let existing = match placeholder {
        Some(p) => state.store.element_state(&row.user_id, project, p).await?,
        None => None,
    };
    let canvas = match existing {
        Some(_) => Canvas {
            elements: Vec::new(),
            viewport: Default::default(),
        },
        None => state.store.canvas(&row.user_id, project).await?,
    };
    let Some(at) = anchor(existing.as_ref(), placeholder.unwrap_or(job), &canvas) else {
        return Ok(());
    };
    let seen = existing
        .iter()
        .flat_map(|s| s.clocks.values().chain(s.deleted.iter()));
    let clock = state.gen.tick_after(seen);
    let mut changes = Vec::with_capacity(outputs.len() + 1);
    let mut x = at.x;
    for (i, asset) in outputs.iter().enumerate() {
        let (w, h) = (asset.width.max(1) as f64, asset.height.max(1) as f64);
        let height = at
            .height
            .unwrap_or_else(|| FREE_SIDE.min(h * FREE_SIDE / w.max(h)));
        let width = height * w / h;
        let video = asset.kind() == AssetType::Video;
        let mut set = Map::new();
        let kind = if video {
            ElementKind::Video
        } else {
            ElementKind::Image
        };
        set.insert(
            "kind".into(),
            serde_json::to_value(kind).unwrap_or(Value::Null),
        );
        set.insert("assetId".into(), json!(asset.sha256));
        set.insert("x".into(), json!(x));
        set.insert("y".into(), json!(at.y));
        set.insert("width".into(), json!(width));
        set.insert("height".into(), json!(height));
        set.insert("rotation".into(), json!(0.0));
        set.insert("z".into(), json!(at.z));
        set.insert("locked".into(), json!(false));
        if video {
            set.insert(
                "playback".into(),
                json!({"playing": false, "currentTime": 0.0, "muted": true}),
            );
        }
        set.insert("generationId".into(), json!(row.id));
        changes.push(Change {
            op_id: op_id(job, &format!("output-{i}")),
            element_id: output_element_id(job, i).to_string(),
            set: Some(set),
            delete: None,
            clock: clock.clone(),
        });
        x += width + GAP;
    }
    // Also when the placeholder has not reached the server yet: its later push loses to this
    // deletion, whose clock is later.
    if let Some(p) = placeholder {
        changes.push(Change {
            op_id: op_id(job, "remove-placeholder"),
            element_id: p.to_string(),
            set: None,
            delete: Some(true),
            clock,
        });
    }
    let pushed = state
        .store
        .push_server_changes(&row.user_id, project, state.gen.client_id, &changes)
        .await?;
    if let Some(Some(cursor)) = pushed {
        state.events.publish(
            &row.user_id,
            ServerEvent::ProjectChanged {
                project_id: project,
                cursor: cursor.to_string(),
            },
        );
    }
    Ok(())
}
