//! `iskra-engine`: everything the Iskra desktop app does without a window, shared by the Tauri
//! shell and the `iskra` CLI (X4).
//!
//! - [`store`]: the SQLite store (WAL, `synchronous=FULL`, embedded migrations).
//! - [`Engine`]: projects, canvas edits with HLC clocks, undo/redo, assets, AI generation
//!   requests, the outbox; every edit is durable before the call returns (D3, X1, D7).
//! - [`credits`]: the credit balance kept for offline display, price estimates, billing
//!   errors and the account as last seen (S8).
//! - [`generation`]: AI generation requests and their local records (D7); [`layout`]: where
//!   placed items land.
//! - [`bundle`]: `.iskra` export/import (D9); [`hotfolder`]: watched folders (D8).
//! - [`snapshot`]: the 10-second compacted snapshots, off the caller's path.
//! - [`sync`]: the outbox flush and the HTTP/SSE client of the sync server (D4, S3).
//! - [`secret`]: where session tokens live (never a plaintext file, D6).
//! - [`auth`]: browser sign-in (OAuth 2.0 + PKCE, loopback redirect) and token refresh (D6).

pub mod auth;
pub mod bundle;
pub mod credits;
pub mod engine;
pub mod error;
pub mod generation;
pub mod hotfolder;
pub mod layout;
pub mod media;
pub mod secret;
pub mod snapshot;
pub mod store;
pub mod sync;

pub use engine::{
    z_after, Edit, EditReceipt, Engine, Generated, LocalProjects, NewElement, OpenProject,
};
pub use error::{EngineError, Result};
