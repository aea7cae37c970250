//! The autosave indicator's state (D3): one derivation, used by the desktop shell's status
//! event, the CLI's `status` line and — mirrored case by case — the UI's in-memory backend.
//! Both sides run the table `fixtures/autosave.json` (this module's test and
//! `ui/src/backend/memory/syncSim.test.ts`), so they cannot drift apart. How long ago "saved"
//! was is the UI's concern: the state carries the time, never a text that ages.

use serde::{Deserialize, Serialize};

/// The autosave indicator (D3), as the UI's `AutosaveState`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum AutosaveState {
    Saving,
    Saved { at: String },
    Offline,
    Paused { reason: String },
    Error { message: String },
}

/// What the indicator depends on.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AutosaveInput {
    pub signed_in: bool,
    /// Whether the server answered the last attempt (`None`: never tried).
    pub online: Option<bool>,
    /// Operations waiting to be sent.
    pub pending: u64,
    /// Why uploads are paused, while they are.
    pub paused_reason: Option<String>,
    /// The last sync error, until a sync succeeds.
    pub error: Option<String>,
    /// When the last sync succeeded.
    pub last_sync_at: Option<String>,
    /// When anything was last saved on this device.
    pub last_local_at: Option<String>,
    /// Now (RFC 3339): "saved" when nothing was ever saved.
    pub now: String,
}

/// The indicator for `input`. Signed out everything is saved on this device; signed in the
/// first that holds wins: offline, paused, error, saving (operations pending), saved — at the
/// last sync, else the last local save, else now.
pub fn derive(input: &AutosaveInput) -> AutosaveState {
    let saved = || AutosaveState::Saved {
        at: input
            .last_sync_at
            .clone()
            .filter(|_| input.signed_in)
            .or_else(|| input.last_local_at.clone())
            .unwrap_or_else(|| input.now.clone()),
    };
    if !input.signed_in {
        saved()
    } else if input.online == Some(false) {
        AutosaveState::Offline
    } else if let Some(reason) = &input.paused_reason {
        AutosaveState::Paused {
            reason: reason.clone(),
        }
    } else if let Some(message) = &input.error {
        AutosaveState::Error {
            message: message.clone(),
        }
    } else if input.pending > 0 {
        AutosaveState::Saving
    } else {
        saved()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Case {
        name: String,
        input: AutosaveInput,
        expect: AutosaveState,
    }

    /// The table the UI's memory backend runs too.
    #[test]
    fn derives_every_case_of_the_shared_table() {
        let json = include_str!("../../fixtures/autosave.json");
        let cases: Vec<Case> = serde_json::from_str(json).unwrap();
        assert!(cases.len() >= 10, "{} cases", cases.len());
        for c in &cases {
            assert_eq!(derive(&c.input), c.expect, "{}", c.name);
        }
    }
}
