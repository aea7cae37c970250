//! New elements and their z order: [`NewElement`] (what a caller places on the canvas, turned
//! into a full property set so every property has a clock from the start), the fractional
//! z-index just above the top, and the default value of each property (used when undoing a
//! write to a property that was never set).

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

/// The fractional z-index just above `z` (digits `0-9A-Za-z`, compared as bytes).
pub(crate) fn z_after(z: Option<&str>) -> String {
    const DIGITS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let z = match z {
        Some(z) if !z.is_empty() && z.bytes().all(|b| b.is_ascii_alphanumeric()) => z,
        _ => return DEFAULT_Z.to_owned(),
    };
    let bytes = z.as_bytes();
    if let Some(i) = bytes.iter().rposition(|&b| b != b'z') {
        let next = DIGITS
            .iter()
            .position(|&d| d == bytes[i])
            .map_or(b'z', |p| DIGITS[p + 1]);
        let mut out = bytes[..i].to_vec();
        out.push(next);
        String::from_utf8(out).unwrap_or_else(|_| DEFAULT_Z.to_owned())
    } else {
        format!("{z}V")
    }
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
