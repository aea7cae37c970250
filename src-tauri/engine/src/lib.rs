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
//! - [`quota`]: storage limits shown signed out and the server's quota kept for offline.
//! - [`zorder`]: fractional z-order keys, equal to the UI's npm `fractional-indexing`.
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
pub mod quota;
pub mod secret;
pub mod snapshot;
pub mod store;
pub mod sync;
pub mod zorder;

pub use engine::{
    z_after, Edit, EditReceipt, Engine, EngineEvent, Generated, LocalProjects, NewElement,
    OpenProject,
};
pub use error::{EngineError, Result};
