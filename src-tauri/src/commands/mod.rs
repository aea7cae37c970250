//! The Tauri commands, one file per area, each one short: parse the arguments, call the
//! engine (on the blocking pool: every edit waits for an `fsync`), map the answer to the
//! camelCase shapes of `ui/src/backend/types.ts`. Names match `ui/src/backend/commands.ts`.

pub mod account;
pub mod anonymous;
pub mod api_keys;
pub mod assets;
pub mod canvas;
pub mod clipboard;
pub mod credits;
pub mod display;
pub mod files;
pub mod generation;
pub mod local;
pub mod projects;
pub mod sharing;
pub mod sync;

use crate::error::{CmdResult, CommandError};
use crate::state::AppState;
use std::sync::Arc;

/// The managed state as commands receive it (an `Arc` so blocking work can own a handle).
pub type Shared = Arc<AppState>;

/// Runs engine work on the blocking pool, with a handle to the state.
pub async fn blocking<T, F>(state: &Shared, f: F) -> CmdResult<T>
where
    T: Send + 'static,
    F: FnOnce(&AppState) -> CmdResult<T> + Send + 'static,
{
    let state = Arc::clone(state);
    let out = tauri::async_runtime::spawn_blocking(move || {
        let out = f(&state);
        state.wake.notify_one();
        out
    })
    .await
    .map_err(|e| CommandError::Engine(format!("background task failed: {e}")))?;
    out
}

/// A header of a raw-body command, required.
pub fn header<'a>(req: &'a tauri::ipc::Request<'_>, name: &str) -> CmdResult<&'a str> {
    req.headers()
        .get(name)
        .ok_or_else(|| CommandError::invalid(format!("missing header {name}")))?
        .to_str()
        .map_err(|_| CommandError::invalid(format!("header {name} is not text")))
}

/// The raw body of a command (`invoke(cmd, Uint8Array, {headers})`).
pub fn raw_body<'a>(req: &'a tauri::ipc::Request<'_>) -> CmdResult<&'a [u8]> {
    match req.body() {
        tauri::ipc::InvokeBody::Raw(bytes) => Ok(bytes.as_slice()),
        tauri::ipc::InvokeBody::Json(_) => Err(CommandError::invalid(
            "expected raw bytes as the request body, got JSON",
        )),
    }
}
