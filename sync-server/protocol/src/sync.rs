//! Canvas sync messages (`POST /v1/projects/{id}/sync`, `GET …/changes`) and the validation of
//! element and viewport properties, shared by server and clients.

use crate::error::ErrorDetail;
use crate::hlc::Hlc;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

/// The `elementId` that addresses the canvas viewport instead of an element.
pub const VIEWPORT_ID: &str = "viewport";
/// Most changes accepted in one sync request.
pub const MAX_CHANGES_PER_SYNC: usize = 1000;

/// One property-level change to an element (or the viewport).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(export, export_to = "../../../ui/src/generated/")
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Change {
    pub op_id: Uuid,
    /// An element UUID, or `"viewport"`.
    pub element_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    #[cfg_attr(feature = "ts", ts(type = "Record<string, unknown>"))]
    pub set: Option<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete: Option<bool>,
    /// Hybrid logical clock, e.g. `0001732300000000-000003-3f2a9c`.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::patterns::schemas::clock))]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub clock: Hlc,
}

/// What a change does, once checked.
#[derive(Debug, Clone, PartialEq)]
pub enum ChangeAction<'a> {
    Set(&'a Map<String, Value>),
    Delete,
}

/// Which object a change addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Element(Uuid),
    Viewport,
}

impl Change {
    /// A fresh op id for a change this client makes: a time-ordered UUID (version 7). The
    /// server remembers every op id it applied, per user, to skip repeats; ids that grow with
    /// time land at the edge of that index, so a push of a hundred changes adds to one or two
    /// of its pages instead of a hundred scattered ones. Any UUID is accepted from other
    /// clients; only the cost differs.
    pub fn new_op_id() -> Uuid {
        Uuid::now_v7()
    }

    /// Checks the change's shape and every property value; the error names what is wrong.
    pub fn validate(&self) -> Result<(Target, ChangeAction<'_>), String> {
        let target = if self.element_id == VIEWPORT_ID {
            Target::Viewport
        } else {
            Target::Element(
                Uuid::parse_str(&self.element_id)
                    .map_err(|_| "elementId must be a UUID or \"viewport\"".to_string())?,
            )
        };
        let action = match (&self.set, self.delete) {
            (Some(set), None) => {
                if set.is_empty() {
                    return Err("set must name at least one property".into());
                }
                for (name, value) in set {
                    match target {
                        Target::Viewport => validate_viewport_property(name, value)?,
                        Target::Element(_) => validate_element_property(name, value)?,
                    }
                }
                ChangeAction::Set(set)
            }
            (None, Some(true)) if target != Target::Viewport => ChangeAction::Delete,
            (None, Some(true)) => return Err("the viewport cannot be deleted".into()),
            (None, Some(false)) => return Err("delete must be true when present".into()),
            (Some(_), Some(_)) => return Err("a change has either set or delete, not both".into()),
            (None, None) => return Err("a change needs set or delete".into()),
        };
        Ok((target, action))
    }
}

fn finite(name: &str, v: &Value) -> Result<f64, String> {
    v.as_f64()
        .filter(|n| n.is_finite())
        .ok_or_else(|| format!("{name} must be a finite number"))
}

fn positive(name: &str, v: &Value) -> Result<(), String> {
    if finite(name, v)? > 0.0 {
        Ok(())
    } else {
        Err(format!("{name} must be greater than 0"))
    }
}

fn nullable_str(name: &str, v: &Value, check: impl Fn(&str) -> bool) -> Result<(), String> {
    match v {
        Value::Null => Ok(()),
        Value::String(s) if check(s) => Ok(()),
        _ => Err(format!("{name} has an invalid value")),
    }
}

/// Longest fractional z-index accepted.
pub const MAX_Z_LEN: usize = 128;

/// Validates one element property by name.
pub fn validate_element_property(name: &str, v: &Value) -> Result<(), String> {
    match name {
        "kind" => match v.as_str() {
            Some("image" | "video" | "generation") => Ok(()),
            _ => Err("kind must be image, video or generation".into()),
        },
        "assetId" => nullable_str(name, v, crate::model::is_sha256_hex),
        "generationId" => nullable_str(name, v, |s| Uuid::parse_str(s).is_ok()),
        "x" | "y" | "rotation" => finite(name, v).map(|_| ()),
        "width" | "height" => positive(name, v),
        "z" => match v.as_str() {
            Some(s)
                if !s.is_empty()
                    && s.len() <= MAX_Z_LEN
                    && s.bytes().all(|b| b.is_ascii_alphanumeric()) =>
            {
                Ok(())
            }
            _ => Err("z must be a non-empty alphanumeric fractional index".into()),
        },
        "locked" => v
            .as_bool()
            .map(|_| ())
            .ok_or_else(|| "locked must be a boolean".into()),
        "playback" => match v {
            Value::Null => Ok(()),
            other => {
                let p: crate::model::Playback = serde_json::from_value(other.clone())
                    .map_err(|e| format!("playback is invalid: {e}"))?;
                if p.current_time.is_finite() && p.current_time >= 0.0 {
                    Ok(())
                } else {
                    Err("playback.currentTime must be a finite number ≥ 0".into())
                }
            }
        },
        other => Err(format!("unknown element property {other:?}")),
    }
}

/// Validates one viewport property by name.
pub fn validate_viewport_property(name: &str, v: &Value) -> Result<(), String> {
    match name {
        "x" | "y" => finite(name, v).map(|_| ()),
        "scale" => positive(name, v),
        other => Err(format!("unknown viewport property {other:?}")),
    }
}

/// `POST /v1/projects/{id}/sync` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SyncRequest {
    pub client_id: Uuid,
    /// The `cursor` of an earlier answer; absent or empty = from the beginning.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::patterns::schemas::sync_cursor))]
    pub since: Option<String>,
    #[serde(default)]
    pub changes: Vec<Change>,
}

/// A change refused by the server, with the reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(export, export_to = "../../../ui/src/generated/")
)]
#[serde(rename_all = "camelCase")]
pub struct RejectedOp {
    pub op_id: Uuid,
    pub error: ErrorDetail,
}

/// Answer to a sync: the new cursor, what others changed since `since`, what was refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(export, export_to = "../../../ui/src/generated/")
)]
#[serde(rename_all = "camelCase")]
pub struct SyncResponse {
    pub cursor: String,
    pub changes: Vec<Change>,
    pub rejected: Vec<RejectedOp>,
}

/// `GET /v1/projects/{id}/changes`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChangesResponse {
    pub cursor: String,
    pub changes: Vec<Change>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn change(v: Value) -> Result<Change, serde_json::Error> {
        serde_json::from_value(v)
    }

    #[test]
    fn new_op_ids_are_time_ordered_and_distinct() {
        let ids: Vec<Uuid> = (0..10_000).map(|_| Change::new_op_id()).collect();
        assert!(ids.iter().all(|id| id.get_version_num() == 7));
        // Strictly increasing, as text too (the server's index compares the hyphenated text).
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        let text: Vec<String> = ids.iter().map(Uuid::to_string).collect();
        assert!(text.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn validates_properties() {
        let base = json!({"opId": Uuid::nil(), "elementId": Uuid::nil(), "clock": "1-0-a"});
        let with = |extra: Value| {
            let mut v = base.clone();
            v.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            change(v).unwrap()
        };
        assert!(with(json!({"set": {"x": 1.5, "width": 3}}))
            .validate()
            .is_ok());
        assert!(with(json!({"set": {"width": -1}})).validate().is_err());
        assert!(with(json!({"set": {"width": 0}})).validate().is_err());
        assert!(with(json!({"set": {"nope": 1}})).validate().is_err());
        assert!(with(json!({"set": {}})).validate().is_err());
        assert!(with(json!({"delete": true})).validate().is_ok());
        assert!(with(json!({"delete": false})).validate().is_err());
        assert!(with(json!({})).validate().is_err());
        assert!(with(
            json!({"set": {"playback": {"playing": true, "currentTime": 2.0, "muted": false}}})
        )
        .validate()
        .is_ok());
        assert!(with(json!({"set": {"assetId": "abc"}})).validate().is_err());
        let mut v = base.clone();
        v["unknown"] = json!(1);
        assert!(change(v).is_err());
        let mut vp = base;
        vp["elementId"] = json!("viewport");
        vp["set"] = json!({"scale": 2});
        assert!(change(vp).unwrap().validate().is_ok());
    }
}
