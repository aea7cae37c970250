//! Elements materialised straight from their stored `props` JSON: one typed parse per row into
//! the element's fields, instead of building the merge state's JSON tree (a map of values and
//! one of clocks, a string key and a value allocated per property) that
//! [`ObjectState::to_element`] then reads. This is what opening a project and writing a
//! snapshot do for every element, so on a 100,000-element canvas it is most of their time.
//!
//! The result equals `to_element` for every input: a property of the wrong type takes its
//! default exactly as `to_element` reads it (`as_f64`, `as_str`, `as_bool`, or
//! `serde_json::from_value(…).ok()`), and anything the typed parse refuses (a repeated key,
//! which `serde_json::to_string` never writes; text that is not an object) is read through
//! `to_element` itself.

use crate::error::Result;
use iskra_protocol::merge::{ObjectState, DEFAULT_SIZE, DEFAULT_Z};
use iskra_protocol::{Element, ElementKind, Playback};
use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::fmt;
use std::marker::PhantomData;
use uuid::Uuid;

/// A property's value when it reads as a `T`, `None` otherwise: the `Value` it is parsed
/// from is given to `T`'s own `Deserialize`, as `serde_json::from_value` would.
struct Lenient<T>(Option<T>);

impl<T> Default for Lenient<T> {
    fn default() -> Self {
        Self(None)
    }
}

struct LenientVisitor<T>(PhantomData<T>);

impl<T: DeserializeOwned> LenientVisitor<T> {
    fn read(value: Value) -> Lenient<T> {
        Lenient(T::deserialize(value).ok())
    }
}

impl<'de, T: DeserializeOwned> Visitor<'de> for LenientVisitor<T> {
    type Value = Lenient<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Self::read(Value::Bool(v)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Self::read(Value::from(v)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Self::read(Value::from(v)))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Self::read(Value::from(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Self::read(Value::String(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Self::read(Value::String(v)))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Self::read(Value::Null))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        let value = Value::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
        Ok(Self::read(value))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let value = Value::deserialize(de::value::MapAccessDeserializer::new(map))?;
        Ok(Self::read(value))
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(LenientVisitor(PhantomData))
    }
}

/// The properties an [`Element`] is made of; any other stored property is skipped.
#[derive(Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Props {
    kind: Lenient<ElementKind>,
    asset_id: Lenient<String>,
    x: Lenient<f64>,
    y: Lenient<f64>,
    width: Lenient<f64>,
    height: Lenient<f64>,
    rotation: Lenient<f64>,
    z: Lenient<String>,
    locked: Lenient<bool>,
    playback: Lenient<Playback>,
    generation_id: Lenient<String>,
}

impl Props {
    /// The element `id` with these properties, defaults for the missing ones (as
    /// [`ObjectState::to_element`] makes it).
    fn into_element(self, id: Uuid) -> Element {
        Element {
            id,
            kind: self.kind.0.unwrap_or(ElementKind::Image),
            asset_id: self.asset_id.0,
            x: self.x.0.unwrap_or(0.0),
            y: self.y.0.unwrap_or(0.0),
            width: self.width.0.unwrap_or(DEFAULT_SIZE),
            height: self.height.0.unwrap_or(DEFAULT_SIZE),
            rotation: self.rotation.0.unwrap_or(0.0),
            z: self.z.0.unwrap_or_else(|| DEFAULT_Z.to_owned()),
            locked: self.locked.0.unwrap_or(false),
            playback: self.playback.0,
            generation_id: self.generation_id.0.and_then(|s| Uuid::parse_str(&s).ok()),
        }
    }
}

/// The element `id` whose stored `props` column is `json`.
pub fn element(id: Uuid, json: &str) -> Result<Element> {
    // A struct would also be read from an array; the props are an object or nothing.
    let typed = match json.trim_start().starts_with('{') {
        true => serde_json::from_str::<Props>(json).ok(),
        false => None,
    };
    match typed {
        Some(props) => Ok(props.into_element(id)),
        None => {
            let props: Map<String, Value> = serde_json::from_str(json)?;
            let state = ObjectState {
                props,
                ..ObjectState::default()
            };
            Ok(state.to_element(id))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The element both ways from the stored text: through the merge state read back as the
    /// store reads it, and through the typed parse.
    fn both(props: Value) -> (Element, Element) {
        let id = Uuid::new_v4();
        let stored = serde_json::to_string(&props).unwrap();
        let state = ObjectState {
            props: serde_json::from_str(&stored).unwrap(),
            ..ObjectState::default()
        };
        (state.to_element(id), element(id, &stored).unwrap())
    }

    #[test]
    fn equals_the_merge_state_reading_for_every_kind_of_value() {
        let gen = Uuid::new_v4();
        let cases = [
            json!({}),
            json!({"kind": "image", "x": 1.5, "y": -2, "width": 30, "height": 40.25,
                   "rotation": 90, "z": "a1V", "locked": true, "assetId": "ab12"}),
            json!({"kind": "video", "playback": {"playing": true, "currentTime": 3.5,
                   "muted": false}, "assetId": "cd", "generationId": gen.to_string()}),
            json!({"kind": "generation", "generationId": "not a uuid", "extra": [1, {"a": 2}]}),
            // Wrong types everywhere: every one takes its default.
            json!({"kind": "sculpture", "x": "1", "y": null, "width": true, "height": [],
                   "rotation": {}, "z": 5, "locked": "yes", "assetId": 7,
                   "playback": {"playing": true}, "generationId": 3}),
            json!({"kind": {"video": null}, "playback": {"playing": false, "currentTime": 0,
                   "muted": true, "volume": 1}, "x": 18446744073709551615u64, "y": -9e300}),
            json!({"kind": ["image"], "playback": null, "locked": 1, "z": ""}),
        ];
        for props in cases {
            let (reference, fast) = both(props.clone());
            assert_eq!(fast, reference, "{props}");
        }
    }

    #[test]
    fn a_repeated_key_is_read_as_the_merge_state_reads_it() {
        let id = Uuid::new_v4();
        let stored = r#"{"x": 1, "x": 2, "z": "a5"}"#;
        let props: Map<String, Value> = serde_json::from_str(stored).unwrap();
        let reference = ObjectState {
            props,
            ..ObjectState::default()
        }
        .to_element(id);
        assert_eq!(element(id, stored).unwrap(), reference);
        assert_eq!(reference.x, 2.0);
    }

    #[test]
    fn stored_text_that_is_not_an_object_is_an_error() {
        assert!(element(Uuid::new_v4(), "[1, 2]").is_err());
        assert!(element(Uuid::new_v4(), "{").is_err());
    }
}
