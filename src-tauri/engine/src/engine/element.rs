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

/// The fractional z-index just above `z`, the top of a stack: what a new element on top gets.
///
/// Keys are digits `0-9A-Za-z` compared as bytes (the format the server, the engine and the UI
/// share). Going up counts in the integer part of the `fractional-indexing` scheme: the head
/// letter gives its length (`a` two characters, `b` three, …), so `a0 … az`, `b00 … bzz`,
/// `c000 …`: keys stay five characters long for millions of elements added on top. (Counting
/// by appending a digit once the last one reached `z` made every 36 adds one character longer,
/// past the 128-character limit after about 4,000.) Any valid key gets a valid key above it:
/// keys below `a0` (uppercase or digit heads, from moves to the back) go to `a0`; a key too short
/// for its head is padded with `0`s.
pub fn z_after(z: Option<&str>) -> String {
    const DIGITS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let z = match z {
        Some(z) if !z.is_empty() && z.bytes().all(|b| b.is_ascii_alphanumeric()) => z,
        _ => return DEFAULT_Z.to_owned(),
    };
    if z < DEFAULT_Z {
        return DEFAULT_Z.to_owned();
    }
    // z ≥ "a0" and alphanumeric: the head is a lowercase letter.
    let bytes = z.as_bytes();
    let head = bytes[0];
    let len = usize::from(head - b'a') + 2;
    if bytes.len() < len {
        return format!("{z}{}", "0".repeat(len - bytes.len()));
    }
    let mut int = bytes[..len].to_vec();
    for i in (1..len).rev() {
        match DIGITS.iter().position(|&d| d == int[i]) {
            Some(p) if p + 1 < DIGITS.len() => {
                int[i] = DIGITS[p + 1];
                return String::from_utf8(int).unwrap_or_else(|_| DEFAULT_Z.to_owned());
            }
            _ => int[i] = b'0',
        }
    }
    if head == b'z' {
        // 62^26 keys used up: unreachable in practice; still strictly above.
        return format!("{z}V");
    }
    // The integer part is all `z`s: the next head, one digit longer, counting from zero.
    let mut next = vec![head + 1];
    next.extend(std::iter::repeat_n(b'0', len));
    String::from_utf8(next).unwrap_or_else(|_| DEFAULT_Z.to_owned())
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
