//! Account commands (D6): who is signed in, the browser sign-in (OAuth 2.0 + PKCE with a
//! loopback redirect, run by the engine; the system browser opened through the opener plugin)
//! and sign-out. Tokens stay in the engine's secret store; the engine also keeps what
//! `GET /v1/me` last said (email, tier, billing status) so the profile menu shows it offline and
//! follows a plan change the server announces.

use super::Shared;
use crate::error::{CmdResult, CommandError};
use crate::state::{AppState, DesktopConfig};
use iskra_engine::auth::{self, BrowserOpener};
use iskra_engine::credits::AccountSummary;
use iskra_engine::secret::{SecretStore, SESSION_TOKEN};
use iskra_engine::store::settings;
use iskra_engine::sync::SyncClient;
use iskra_engine::Engine;
use iskra_protocol::{BillingStatus, Tier};
use serde::ser::SerializeStruct;
use std::sync::Arc;
use tauri::{AppHandle, State};
use tauri_plugin_opener::OpenerExt;

/// Signed in (synced) or local-only.
#[derive(Debug, Clone, PartialEq)]
pub enum Account {
    SignedOut,
    SignedIn {
        email: String,
        tier: Tier,
        billing_status: BillingStatus,
        manage_url: String,
    },
}

impl Account {
    /// The tier when signed in.
    pub fn tier(&self) -> Option<Tier> {
        match self {
            Self::SignedOut => None,
            Self::SignedIn { tier, .. } => Some(*tier),
        }
    }

    /// A signed-in account as `GET /v1/me` described it.
    fn signed_in(summary: AccountSummary, config: &DesktopConfig) -> Self {
        Self::SignedIn {
            email: summary.email,
            tier: summary.tier,
            billing_status: summary.billing_status,
            manage_url: manage_url(config),
        }
    }
}

impl serde::Serialize for Account {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::SignedOut => {
                let mut st = s.serialize_struct("Account", 1)?;
                st.serialize_field("signedIn", &false)?;
                st.end()
            }
            Self::SignedIn {
                email,
                tier,
                billing_status,
                manage_url,
            } => {
                let mut st = s.serialize_struct("Account", 5)?;
                st.serialize_field("signedIn", &true)?;
                st.serialize_field("email", email)?;
                st.serialize_field("tier", tier)?;
                st.serialize_field("billingStatus", billing_status)?;
                st.serialize_field("manageUrl", manage_url)?;
                st.end()
            }
        }
    }
}

/// The "Manage account" link: configured, else the issuer's account page, else the server.
fn manage_url(config: &DesktopConfig) -> String {
    config
        .manage_url
        .clone()
        .unwrap_or_else(|| match &config.oauth {
            Some(o) => format!("{}/user", o.issuer.trim_end_matches('/')),
            None => config.server.clone(),
        })
}

/// The signed-in account as the engine last knew it (no network).
fn known_account(engine: &Engine, config: &DesktopConfig) -> Account {
    let summary = engine
        .account_summary()
        .ok()
        .flatten()
        .unwrap_or(AccountSummary {
            email: String::new(),
            tier: Tier::Free,
            billing_status: BillingStatus::None,
        });
    Account::signed_in(summary, config)
}

/// The account as this device last knew it (no network).
pub fn cached_account(
    engine: &Engine,
    config: &DesktopConfig,
    secrets: &Arc<dyn SecretStore>,
) -> Account {
    if secrets.get(SESSION_TOKEN).is_none() {
        return Account::SignedOut;
    }
    known_account(engine, config)
}

/// Brings the cached account in step with what the engine learnt since (a plan change the
/// server announced, a billing status); true when it changed. Signed out stays signed out.
pub fn reload_account(state: &AppState) -> bool {
    if state.account() == Account::SignedOut {
        return false;
    }
    let now = known_account(&state.engine, &state.config);
    if now == state.account() {
        return false;
    }
    state.set_account(now);
    true
}

/// Asks the server who the session belongs to and caches the answer.
pub async fn refresh_account(state: &AppState, token: &str) -> CmdResult<Account> {
    let client = SyncClient::new(state.engine.clone(), &state.config.server, token)?;
    let summary = client.refresh_account().await?;
    let account = Account::signed_in(summary, &state.config);
    state.set_account(account.clone());
    Ok(account)
}

/// Opens the authorize URL in the system browser.
struct SystemBrowser(AppHandle);

impl BrowserOpener for SystemBrowser {
    fn open(&self, url: &str) {
        if let Err(e) = self.0.opener().open_url(url, None::<&str>) {
            tracing::warn!(error = %e, "could not open the system browser for sign-in");
        }
    }
}

#[tauri::command]
pub async fn account(state: State<'_, Shared>) -> CmdResult<Account> {
    Ok(state.account())
}

#[tauri::command]
pub async fn sign_in(app: AppHandle, state: State<'_, Shared>) -> CmdResult<Account> {
    let cfg = state.config.oauth.clone().ok_or_else(|| {
        CommandError::Auth(
            "sign-in is not configured: set ISKRA_OAUTH_ISSUER and ISKRA_OAUTH_CLIENT_ID".into(),
        )
    })?;
    let tokens = auth::sign_in(&cfg, &SystemBrowser(app)).await?;
    let account = refresh_account(&state, &tokens.access_token).await?;
    state.session.save(&tokens);
    state.engine.set_signed_in(true);
    state
        .engine
        .set_setting(settings::OAUTH_ISSUER, &cfg.issuer)?;
    state
        .engine
        .set_setting(settings::OAUTH_CLIENT_ID, &cfg.client_id)?;
    state.session_epoch.send_modify(|e| *e += 1);
    // The event forwarder emits `account-changed`.
    state.wake.notify_one();
    Ok(account)
}

#[tauri::command]
pub async fn sign_out(state: State<'_, Shared>, remove_local_data: bool) -> CmdResult<()> {
    if remove_local_data {
        // Refused before anything changes: the engine cannot wipe local data without
        // queueing deletions on the server.
        return Err(CommandError::Unsupported(
            "removing local data on sign-out is not available yet; nothing was changed".into(),
        ));
    }
    state.session.clear();
    state.engine.set_signed_in(false);
    state.engine.forget_account()?;
    state.engine.forget_quota()?;
    state.set_account(Account::SignedOut);
    state.session_epoch.send_modify(|e| *e += 1);
    state.wake.notify_one();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_shapes_match_the_ui() {
        let out = serde_json::to_value(Account::SignedOut).unwrap();
        assert_eq!(out, serde_json::json!({"signedIn": false}));
        let a = Account::SignedIn {
            email: "a@b.c".into(),
            tier: Tier::Pro,
            billing_status: BillingStatus::PaymentFailed,
            manage_url: "https://x/user".into(),
        };
        assert_eq!(
            serde_json::to_value(a).unwrap(),
            serde_json::json!({"signedIn": true, "email": "a@b.c", "tier": "pro",
                "billingStatus": "payment_failed", "manageUrl": "https://x/user"})
        );
    }
}
