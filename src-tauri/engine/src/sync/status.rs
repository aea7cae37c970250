//! The observable sync status (D3/D4): online or offline, pending and rejected counts, last sync
//! time, last error, paused uploads — and the indicator text the desktop shows. Built from the
//! store so the CLI's `status` sees what earlier runs did.

use super::autosave::{self, AutosaveInput, AutosaveState};
use crate::error::Result;
use crate::store::{now_ms, now_rfc3339, settings};
use crate::Engine;
use serde::Serialize;

/// Everything the status line needs.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncStatus {
    /// A session token is available.
    pub signed_in: bool,
    /// Server last used.
    pub server: Option<String>,
    /// Whether the server answered the last attempt (`None`: never tried).
    pub online: Option<bool>,
    /// Operations waiting to be sent.
    pub pending: u64,
    /// Operations the server refused, kept for the user.
    pub rejected: u64,
    pub last_sync_at: Option<String>,
    pub last_error: Option<String>,
    /// Why uploads are paused (storage quota), while they are.
    pub uploads_paused: Option<String>,
    /// The autosave indicator of D3 ([`autosave::derive`]).
    pub autosave: AutosaveState,
    /// The indicator as the CLI words it.
    pub indicator: String,
}

/// Reads the status of `engine`; `signed_in` says whether a token is at hand.
pub fn status(engine: &Engine, signed_in: bool) -> Result<SyncStatus> {
    let (pending, rejected) = engine.outbox_counts()?;
    let online = engine.setting(settings::ONLINE)?.map(|v| v == "true");
    let paused_until: u64 = engine
        .setting(settings::UPLOADS_PAUSED_UNTIL)?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let uploads_paused = if paused_until > now_ms() {
        Some(
            engine
                .setting(settings::UPLOADS_PAUSED_REASON)?
                .unwrap_or_default(),
        )
    } else {
        None
    };
    let last_sync_at = engine.setting(settings::LAST_SYNC_AT)?;
    let last_error = engine.setting(settings::LAST_SYNC_ERROR)?;
    let last_local_at = engine
        .list_projects()?
        .into_iter()
        .map(|p| p.updated_at)
        .max();
    let autosave = autosave::derive(&AutosaveInput {
        signed_in,
        online,
        pending,
        paused_reason: uploads_paused.clone(),
        error: last_error.clone(),
        last_sync_at: last_sync_at.clone(),
        last_local_at,
        now: now_rfc3339(),
    });
    let indicator = match &autosave {
        AutosaveState::Saved { .. } if !signed_in => "Saved on this device (signed out)".to_owned(),
        AutosaveState::Offline => "Offline — saved on this device".to_owned(),
        AutosaveState::Paused { reason } => format!("Sync paused: {reason}"),
        AutosaveState::Error { .. } => "Sync error — retrying".to_owned(),
        AutosaveState::Saving => "Saving…".to_owned(),
        AutosaveState::Saved { .. } => match &last_sync_at {
            Some(t) => format!("Saved {t}"),
            None => "Saved".to_owned(),
        },
    };
    Ok(SyncStatus {
        signed_in,
        server: engine.setting(settings::SERVER_URL)?,
        online,
        pending,
        rejected,
        last_sync_at,
        last_error,
        uploads_paused,
        autosave,
        indicator,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indicator_follows_state() {
        let (e, _dir) = crate::engine::tests::engine();
        assert_eq!(
            status(&e, false).unwrap().indicator,
            "Saved on this device (signed out)"
        );
        e.create_project(None).unwrap();
        let s = status(&e, true).unwrap();
        assert_eq!((s.pending, s.indicator.as_str()), (1, "Saving…"));
        e.set_setting(settings::ONLINE, "false").unwrap();
        assert_eq!(
            status(&e, true).unwrap().indicator,
            "Offline — saved on this device"
        );
        e.set_setting(settings::ONLINE, "true").unwrap();
        e.set_setting(
            settings::UPLOADS_PAUSED_UNTIL,
            &(now_ms() + 60_000).to_string(),
        )
        .unwrap();
        e.set_setting(settings::UPLOADS_PAUSED_REASON, "storage full")
            .unwrap();
        assert_eq!(
            status(&e, true).unwrap().indicator,
            "Sync paused: storage full"
        );
    }
}
