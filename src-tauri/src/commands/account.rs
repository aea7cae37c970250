//! Account commands (D6): who is signed in, the browser sign-in (OAuth 2.0 + PKCE with a
//! loopback redirect, run by the engine; the system browser opened through the opener plugin)
//! and sign-out. Tokens stay in the engine's secret store; the shell only caches the email and
//! tier (device settings) so the profile menu shows them offline.

use super::Shared;
use crate::error::{CmdResult, CommandError};
use crate::state::{AppState, DesktopConfig};
use iskra_engine::auth::{self, BrowserOpener};
use iskra_engine::secret::{SecretStore, SESSION_TOKEN};
use iskra_engine::store::settings;
use iskra_engine::sync::SyncClient;
use iskra_engine::Engine;
use iskra_protocol::Tier;
use serde::ser::SerializeStruct;
use std::sync::Arc;
use tauri::{AppHandle, State};
use tauri_plugin_opener::OpenerExt;

/// Device setting: the signed-in user's email, for the profile menu.
const ACCOUNT_EMAIL: &str = "desktop.account.email";
/// Device setting: the signed-in user's tier.
const ACCOUNT_TIER: &str = "desktop.account.tier";

/// Signed in (synced) or local-only.
#[derive(Debug, Clone, PartialEq)]
pub enum Account {
    SignedOut,
    SignedIn {
        email: String,
        tier: Tier,
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
                manage_url,
            } => {
                let mut st = s.serialize_struct("Account", 4)?;
                st.serialize_field("signedIn", &true)?;
                st.serialize_field("email", email)?;
                st.serialize_field("tier", tier)?;
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

/// The account as this device last knew it (no network).
pub fn cached_account(
    engine: &Engine,
    config: &DesktopConfig,
    secrets: &Arc<dyn SecretStore>,
) -> Account {
    if secrets.get(SESSION_TOKEN).is_none() {
        return Account::SignedOut;
    }
    let email = engine
        .setting(ACCOUNT_EMAIL)
        .ok()
        .flatten()
        .unwrap_or_default();
    let tier = engine
        .setting(ACCOUNT_TIER)
        .ok()
        .flatten()
        .and_then(|t| serde_json::from_value(serde_json::Value::String(t)).ok())
        .unwrap_or(Tier::Free);
    Account::SignedIn {
        email,
        tier,
        manage_url: manage_url(config),
    }
}

/// Asks the server who the session belongs to and caches the answer.
pub async fn refresh_account(state: &AppState, token: &str) -> CmdResult<Account> {
    let client = SyncClient::new(state.engine.clone(), &state.config.server, token)?;
    let me = client.api().me().await?;
    let email = me.email.unwrap_or(me.id);
    state.engine.set_setting(ACCOUNT_EMAIL, &email)?;
    state.engine.set_setting(ACCOUNT_TIER, me.tier.as_str())?;
    let account = Account::SignedIn {
        email,
        tier: me.tier,
        manage_url: manage_url(&state.config),
    };
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
    state.engine.remove_setting(ACCOUNT_EMAIL)?;
    state.engine.remove_setting(ACCOUNT_TIER)?;
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
            manage_url: "https://x/user".into(),
        };
        assert_eq!(
            serde_json::to_value(a).unwrap(),
            serde_json::json!({"signedIn": true, "email": "a@b.c", "tier": "pro", "manageUrl": "https://x/user"})
        );
    }
}
