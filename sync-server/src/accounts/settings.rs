//! Account life-cycle settings (S2): how account deletions are resumed, claimed and finished
//! (`ISKRA_ACCOUNTS__…`).

use serde::{Deserialize, Serialize};

/// What the deletion of accounts tunes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountSettings {
    /// How often every process looks for deletions left unfinished (a crash, a restart) and
    /// for final sweeps that are due; also done once at start-up.
    pub deletion_resume_secs: u64,
    /// How long a process's claim on a deletion lasts without renewal (it renews after every
    /// step); a process that dies leaves the deletion to another after this.
    pub deletion_lease_secs: u64,
    /// Delay between a finished deletion and its last sweep of the user's rows and storage,
    /// which removes what a request or generation already under way when the deletion began
    /// wrote after it (longer than any such request lasts).
    pub deletion_settle_secs: u64,
    /// A pause after every step of a deletion (each blob, each batch of rows). 0 outside
    /// tests: it exists so a test can observe, and kill, a deletion half done.
    pub deletion_step_delay_ms: u64,
}

impl Default for AccountSettings {
    fn default() -> Self {
        Self {
            deletion_resume_secs: 30,
            deletion_lease_secs: 30,
            deletion_settle_secs: 900,
            deletion_step_delay_ms: 0,
        }
    }
}

impl AccountSettings {
    /// Checks the settings: a lease and a resume interval of zero would spin.
    pub fn validate(&self) -> Result<(), String> {
        if self.deletion_lease_secs == 0 || self.deletion_resume_secs == 0 {
            return Err(
                "accounts.deletion_lease_secs and accounts.deletion_resume_secs must be positive"
                    .into(),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid_and_zero_periods_are_not() {
        assert!(AccountSettings::default().validate().is_ok());
        let zero = AccountSettings {
            deletion_lease_secs: 0,
            ..AccountSettings::default()
        };
        assert!(zero.validate().is_err());
    }
}
