//! New elements: [`NewElement`] (what a caller places on the canvas, turned into a full
//! property set so every property has a clock from the start), the one way an asset becomes an
//! element ([`NewElement::for_asset`]: kind, natural size, a paused muted video), and the
//! default value of each property (used when undoing a write to a property that was never
//! set). Their z keys come from [`crate::zorder`].

use crate::store::assets::AssetRecord;
use iskra_protocol::merge::{DEFAULT_SIZE, DEFAULT_Z};
use iskra_protocol::{ElementKind, Playback};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use uuid::Uuid;

/// A new element as the caller describes it; the engine gives it an id and a z on top.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewElement {
    pub kind: ElementKind,
    pub asset_id: Option<String>,
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
    pub rotation: f64,
    pub locked: bool,
    pub playback: Option<Playback>,
    pub generation_id: Option<Uuid>,
}

impl NewElement {
    /// An image element of `width`×`height` at (`x`, `y`).
    pub fn image(asset_id: Option<String>, x: f64, y: f64, width: f64, height: f64) -> Self {
        Self {
            kind: ElementKind::Image,
            asset_id,
            x,
            y,
            width,
            height,
            rotation: 0.0,
            locked: false,
            playback: None,
            generation_id: None,
        }
    }

    /// An element showing a cached asset at its natural size (100×100 when unknown) with its
    /// top-left corner at (`x`, `y`): a video starts paused and muted.
    pub fn for_asset(asset: &AssetRecord, x: f64, y: f64) -> Self {
        let (width, height) = asset_size(asset);
        let mut new = Self::image(Some(asset.sha256.clone()), x, y, width, height);
        if asset.mime.starts_with("video/") {
            new.kind = ElementKind::Video;
            new.playback = Some(Playback {
                playing: false,
                current_time: 0.0,
                muted: true,
            });
        }
        new
    }

    pub(crate) fn props(&self, z: &str) -> Map<String, Value> {
        let v = json!({
            "kind": self.kind, "assetId": self.asset_id, "x": self.x, "y": self.y,
            "width": self.width, "height": self.height, "rotation": self.rotation, "z": z,
            "locked": self.locked, "playback": self.playback, "generationId": self.generation_id,
        });
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }
}

/// Size of a placed file whose dimensions are unknown.
pub const UNKNOWN_SIZE: f64 = 100.0;

/// An asset's natural size on the canvas, [`UNKNOWN_SIZE`] where unknown.
pub fn asset_size(asset: &AssetRecord) -> (f64, f64) {
    (
        asset.width.map_or(UNKNOWN_SIZE, f64::from),
        asset.height.map_or(UNKNOWN_SIZE, f64::from),
    )
}

/// The value a property has when never written (what `ObjectState::to_element` assumes).
pub(crate) fn default_prop(name: &str) -> Value {
    match name {
        "x" | "y" | "rotation" => json!(0.0),
        "width" | "height" => json!(DEFAULT_SIZE),
        "z" => json!(DEFAULT_Z),
        "locked" => json!(false),
        "kind" => json!("image"),
        _ => Value::Null,
    }
}
