//! API key commands (S9), forwarded to the engine's sync client, which owns the calls. The
//! shapes, in camelCase JSON (wire types of `iskra-protocol`):
//!
//! - `create_api_key { name, scopes: string[] | null }` → `NewApiKeyCreated` (`ApiKeyInfo` and
//!   `key`): the key itself, this once; the shell neither keeps nor logs it.
//! - `list_api_keys {}` → `ApiKeyInfo[]`: the active keys with today's use, oldest first.
//! - `revoke_api_key { id }` → `void`: the key is refused from the next request on.
//! - `api_key_usage { query: { from, to, keyId } }` → `UsageReport`: use by day and key (the
//!   server's default: the 30 days to today, every key).
//!
//! Errors are the usual `{kind, message}`: `auth` signed out (keys belong to an account),
//! `conflict` at the most keys allowed, `invalidInput` for a name or scope the server refuses,
//! `notFound` for a key revoked meanwhile, `network` when the server cannot be reached.

use super::Shared;
use crate::error::{parse_id, CmdResult, CommandError};
use iskra_engine::sync::api_keys::{ApiKeyError, UsageQuery};
use iskra_engine::sync::SyncClient;
use iskra_protocol::{ApiKeyInfo, NewApiKeyCreated, UsageReport};
use tauri::State;

/// The sync client, or why API keys cannot work signed out.
fn client(state: &Shared) -> CmdResult<SyncClient> {
    if !state.signed_in() {
        return Err(CommandError::Auth(
            "API keys belong to an Iskra account: sign in to make and manage them".into(),
        ));
    }
    state.sync_client()
}

impl From<ApiKeyError> for CommandError {
    fn from(e: ApiKeyError) -> Self {
        match e {
            ApiKeyError::TooMany(m) => Self::Conflict(m),
            ApiKeyError::Invalid(m) => Self::InvalidInput(m),
            ApiKeyError::NotFound => Self::NotFound(e.to_string()),
            ApiKeyError::Sync(e) => e.into(),
        }
    }
}

#[tauri::command]
pub async fn create_api_key(
    state: State<'_, Shared>,
    name: String,
    scopes: Option<Vec<String>>,
) -> CmdResult<NewApiKeyCreated> {
    Ok(client(&state)?.create_api_key(&name, scopes).await?)
}

#[tauri::command]
pub async fn list_api_keys(state: State<'_, Shared>) -> CmdResult<Vec<ApiKeyInfo>> {
    Ok(client(&state)?.api_keys().await?)
}

#[tauri::command]
pub async fn revoke_api_key(state: State<'_, Shared>, id: String) -> CmdResult<()> {
    let id = parse_id("API key", &id)?;
    Ok(client(&state)?.revoke_api_key(id).await?)
}

#[tauri::command]
pub async fn api_key_usage(state: State<'_, Shared>, query: UsageQuery) -> CmdResult<UsageReport> {
    Ok(client(&state)?.api_key_usage(&query).await?)
}
