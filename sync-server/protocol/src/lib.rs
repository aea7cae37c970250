//! Wire types of the Iskra HTTP API v1 (`docs/api.md`): the one definition of the contract
//! used by the sync server, the desktop engine and the `iskra` CLI.
//!
//! Names are camelCase on the wire. The hybrid logical clock ([`Hlc`]) and the property-level
//! last-writer-wins merge ([`merge`]) live here too, so every device and the server resolve a
//! conflict the same way by construction.

pub mod api_keys;
pub mod credits;
pub mod error;
pub mod events;
pub mod generation;
pub mod hlc;
pub mod merge;
pub mod model;
pub mod patterns;
pub mod shares;
pub mod sync;

pub use api_keys::*;
pub use credits::*;
pub use error::{ErrorBody, ErrorCode, ErrorDetail};
pub use generation::*;
pub use hlc::{Clock, Hlc, HlcParseError};
pub use model::*;
pub use shares::*;
pub use sync::*;
