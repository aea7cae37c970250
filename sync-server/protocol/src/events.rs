//! Server-sent events of `GET /v1/events`: the event name and its JSON data.

use crate::generation::Generation;
use crate::model::{Asset, Quota};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// One live event for a user's devices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", content = "data")]
pub enum ServerEvent {
    #[serde(rename = "project.changed", rename_all = "camelCase")]
    ProjectChanged { project_id: Uuid, cursor: String },
    #[serde(rename = "project.deleted", rename_all = "camelCase")]
    ProjectDeleted { project_id: Uuid },
    #[serde(rename = "asset.created")]
    AssetCreated { asset: Asset },
    #[serde(rename = "asset.deleted", rename_all = "camelCase")]
    AssetDeleted { asset_id: String },
    #[serde(rename = "generation.updated")]
    GenerationUpdated { generation: Box<Generation> },
    #[serde(rename = "quota.updated")]
    QuotaUpdated { quota: Quota },
    #[serde(rename = "credits.updated")]
    CreditsUpdated { credits: crate::Credits },
}

impl ServerEvent {
    /// The SSE `event:` name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::ProjectChanged { .. } => "project.changed",
            Self::ProjectDeleted { .. } => "project.deleted",
            Self::AssetCreated { .. } => "asset.created",
            Self::AssetDeleted { .. } => "asset.deleted",
            Self::GenerationUpdated { .. } => "generation.updated",
            Self::QuotaUpdated { .. } => "quota.updated",
            Self::CreditsUpdated { .. } => "credits.updated",
        }
    }

    /// The SSE `data:` payload (the JSON object without the event name).
    pub fn data(&self) -> Value {
        serde_json::to_value(self)
            .ok()
            .and_then(|mut v| v.get_mut("data").map(Value::take))
            .unwrap_or(Value::Null)
    }

    /// Rebuilds an event from its SSE name and data.
    pub fn parse(name: &str, data: &str) -> Option<Self> {
        let data: Value = serde_json::from_str(data).ok()?;
        serde_json::from_value(serde_json::json!({"event": name, "data": data})).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let e = ServerEvent::ProjectChanged {
            project_id: Uuid::nil(),
            cursor: "7".into(),
        };
        assert_eq!(e.name(), "project.changed");
        let data = e.data().to_string();
        assert!(data.contains("projectId"));
        assert_eq!(ServerEvent::parse(e.name(), &data), Some(e));
    }
}
