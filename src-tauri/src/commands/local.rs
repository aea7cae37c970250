//! The offer of D6 after the first sign-in: the projects made on this device while signed out
//! (the engine keeps them out of the outbox until the user answers) are added to the account
//! or kept on this device only; a kept one can still be added later from its menu in the
//! projects panel.

use super::{blocking, Shared};
use crate::error::{parse_id, CmdResult};
use iskra_engine::LocalProjects;
use serde::Serialize;
use tauri::State;

/// `local_projects`: what the offer shows, and which projects are on this device only.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LocalProjectsOffer {
    /// How many projects the unanswered offer is about (0: nothing to offer).
    pub count: usize,
    /// Their names, most recently modified first.
    pub names: Vec<String>,
    /// Every project on this device only, offered or kept ("Add to account" in its menu).
    pub device_only_ids: Vec<String>,
}

impl From<&LocalProjects> for LocalProjectsOffer {
    fn from(l: &LocalProjects) -> Self {
        Self {
            count: l.offered.len(),
            names: l.offered.iter().map(|p| p.name.clone()).collect(),
            device_only_ids: l.ids().map(|id| id.to_string()).collect(),
        }
    }
}

#[tauri::command]
pub async fn local_projects(state: State<'_, Shared>) -> CmdResult<LocalProjectsOffer> {
    blocking(&state, |s| Ok((&s.engine.local_projects()?).into())).await
}

/// Answers the offer: `keep` leaves the projects on this device only, else they join the
/// account (and sync). Returns how many projects the answer covered.
#[tauri::command]
pub async fn import_local_projects(state: State<'_, Shared>, keep: bool) -> CmdResult<usize> {
    blocking(&state, move |s| {
        Ok(if keep {
            s.engine.keep_local_projects()?
        } else {
            s.engine.import_local_projects()?
        })
    })
    .await
}

#[tauri::command]
pub async fn add_project_to_account(state: State<'_, Shared>, id: String) -> CmdResult<()> {
    let id = parse_id("project", &id)?;
    blocking(&state, move |s| {
        s.engine.add_project_to_account(id)?;
        Ok(())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use iskra_protocol::Project;
    use uuid::Uuid;

    fn project(name: &str) -> Project {
        Project {
            id: Uuid::new_v4(),
            name: name.into(),
            created_at: "t".into(),
            updated_at: "t".into(),
            image_count: 0,
            video_count: 0,
            thumbnail_asset_id: None,
        }
    }

    #[test]
    fn offer_shape_matches_the_ui() {
        let local = LocalProjects {
            offered: vec![project("Trip"), project("Iskra 01")],
            kept: vec![project("Private")],
        };
        let v = serde_json::to_value(LocalProjectsOffer::from(&local)).unwrap();
        assert_eq!(v["count"], 2);
        assert_eq!(v["names"], serde_json::json!(["Trip", "Iskra 01"]));
        assert_eq!(v["deviceOnlyIds"].as_array().unwrap().len(), 3);
        assert_eq!(v["deviceOnlyIds"][2], local.kept[0].id.to_string());
    }
}
