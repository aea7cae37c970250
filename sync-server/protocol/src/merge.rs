//! Property-level last-writer-wins merge by hybrid logical clock (the Figma model).
//!
//! An object (element or viewport) keeps, per property, the value and the clock that wrote it,
//! plus the clock of its latest deletion. A property changes only when a write carries a greater
//! clock. The object is visible unless its deletion is later than every property write, so a
//! deletion wins over a concurrent edit only if its clock is later. Every operation is
//! commutative and idempotent: replicas that saw the same changes in any order agree.

use crate::hlc::Hlc;
use crate::model::{Element, ElementKind, Playback, Viewport};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use uuid::Uuid;

/// The mergeable state of one element or of the viewport.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ObjectState {
    /// Current value of each property.
    pub props: Map<String, Value>,
    /// Clock of the write that produced each property's value.
    pub clocks: BTreeMap<String, Hlc>,
    /// Clock of the latest deletion, if any.
    pub deleted: Option<Hlc>,
}

impl ObjectState {
    /// Applies a property write; returns the properties that won (empty when all lost).
    pub fn apply_set(&mut self, set: &Map<String, Value>, clock: &Hlc) -> Map<String, Value> {
        let mut won = Map::new();
        for (name, value) in set {
            if self.clocks.get(name).is_none_or(|c| clock > c) {
                self.clocks.insert(name.clone(), clock.clone());
                self.props.insert(name.clone(), value.clone());
                won.insert(name.clone(), value.clone());
            }
        }
        won
    }

    /// Applies a deletion; returns whether it advanced the deletion clock.
    pub fn apply_delete(&mut self, clock: &Hlc) -> bool {
        if self.deleted.as_ref().is_none_or(|d| clock > d) {
            self.deleted = Some(clock.clone());
            true
        } else {
            false
        }
    }

    /// The latest clock of any property write.
    pub fn last_write(&self) -> Option<&Hlc> {
        self.clocks.values().max()
    }

    /// True when the object exists: never deleted, or written after its latest deletion.
    pub fn is_visible(&self) -> bool {
        match (&self.deleted, self.last_write()) {
            (None, Some(_)) => true,
            (Some(d), Some(w)) => w > d,
            (_, None) => false,
        }
    }

    fn num(&self, name: &str, default: f64) -> f64 {
        self.props
            .get(name)
            .and_then(Value::as_f64)
            .unwrap_or(default)
    }

    fn text(&self, name: &str) -> Option<String> {
        self.props
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_owned)
    }

    /// Materialises an element; properties never written take their defaults.
    pub fn to_element(&self, id: Uuid) -> Element {
        let kind = self
            .props
            .get("kind")
            .and_then(|v| serde_json::from_value::<ElementKind>(v.clone()).ok())
            .unwrap_or(ElementKind::Image);
        Element {
            id,
            kind,
            asset_id: self.text("assetId"),
            x: self.num("x", 0.0),
            y: self.num("y", 0.0),
            width: self.num("width", DEFAULT_SIZE),
            height: self.num("height", DEFAULT_SIZE),
            rotation: self.num("rotation", 0.0),
            z: self.text("z").unwrap_or_else(|| DEFAULT_Z.to_owned()),
            locked: self
                .props
                .get("locked")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            playback: self
                .props
                .get("playback")
                .and_then(|v| serde_json::from_value::<Playback>(v.clone()).ok()),
            generation_id: self
                .text("generationId")
                .and_then(|s| Uuid::parse_str(&s).ok()),
        }
    }

    /// Materialises the viewport.
    pub fn to_viewport(&self) -> Viewport {
        Viewport {
            x: self.num("x", 0.0),
            y: self.num("y", 0.0),
            scale: self.num("scale", 1.0),
        }
    }
}

/// Width and height of an element whose size was never written.
pub const DEFAULT_SIZE: f64 = 100.0;
/// Fractional z-index of an element whose z was never written.
pub const DEFAULT_Z: &str = "a0";

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn set(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }
    fn hlc(ms: u64, node: &str) -> Hlc {
        Hlc::new(ms, 0, node)
    }

    #[test]
    fn different_properties_both_survive_in_any_order() {
        let a = (set(json!({"x": 10})), hlc(5, "a"));
        let b = (set(json!({"y": 20})), hlc(4, "b"));
        let mut s1 = ObjectState::default();
        s1.apply_set(&a.0, &a.1);
        s1.apply_set(&b.0, &b.1);
        let mut s2 = ObjectState::default();
        s2.apply_set(&b.0, &b.1);
        s2.apply_set(&a.0, &a.1);
        assert_eq!(s1, s2);
        assert_eq!(s1.props["x"], 10);
        assert_eq!(s1.props["y"], 20);
    }

    #[test]
    fn same_property_later_clock_wins_ties_by_node() {
        let mut s = ObjectState::default();
        assert_eq!(s.apply_set(&set(json!({"x": 1})), &hlc(5, "b")).len(), 1);
        assert!(s.apply_set(&set(json!({"x": 2})), &hlc(5, "a")).is_empty());
        assert_eq!(s.props["x"], 1);
        assert!(
            s.apply_set(&set(json!({"x": 1})), &hlc(5, "b")).is_empty(),
            "repeat is a no-op"
        );
    }

    #[test]
    fn delete_wins_only_when_later() {
        let mut s = ObjectState::default();
        s.apply_set(&set(json!({"x": 1})), &hlc(5, "a"));
        s.apply_delete(&hlc(4, "b"));
        assert!(s.is_visible(), "edit later than delete keeps the element");
        s.apply_delete(&hlc(6, "b"));
        assert!(!s.is_visible());
        s.apply_set(&set(json!({"x": 3})), &hlc(7, "a"));
        assert!(s.is_visible(), "a later write revives it");
        assert_eq!(s.to_element(Uuid::nil()).x, 3.0);
    }
}
