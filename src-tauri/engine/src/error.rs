//! Errors of the local engine: the store, validation of edits and lookups.
//!
//! These are the errors a caller of [`crate::Engine`] sees. They are never retryable in the
//! outbox sense (that is [`crate::sync::SyncError`]); [`EngineError::kind`] gives a stable
//! machine name so the desktop shell can map them to `{kind, message}` without string matching.

use uuid::Uuid;

/// Everything that can go wrong inside the engine itself.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The SQLite store failed (I/O, corruption, constraint).
    #[error("local store error: {0}")]
    Store(#[from] rusqlite::Error),
    /// A migration could not be applied.
    #[error("migration {name} failed: {source}")]
    Migration {
        name: String,
        #[source]
        source: rusqlite::Error,
    },
    /// File system error (data dir, asset cache).
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// Stored JSON could not be read back (a bug or a corrupt row).
    #[error("stored data is not valid: {0}")]
    Corrupt(String),
    /// No such project on this device.
    #[error("project {0} not found")]
    ProjectNotFound(Uuid),
    /// No such (visible) element in the project.
    #[error("element {0} not found")]
    ElementNotFound(Uuid),
    /// No such generation on this device.
    #[error("generation {0} not found")]
    GenerationNotFound(Uuid),
    /// The action needs the account (generation runs on the server) and no one is signed in.
    #[error("{}", crate::generation::SIGN_IN_TO_GENERATE)]
    SignInRequired,
    /// No such outbox operation (or not in a state that allows the action).
    #[error("outbox operation {0} not found{1}")]
    OpNotFound(Uuid, &'static str),
    /// The edit or input is invalid; nothing was written.
    #[error("invalid input: {0}")]
    Invalid(String),

    #[error("no room left in the z order; move other elements first")]
    ZOrder(#[from] crate::zorder::ZError),
}

impl EngineError {
    /// Stable machine name of the error kind, for the UI.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Store(_) | Self::Migration { .. } | Self::Corrupt(_) => "store",
            Self::Io { .. } => "io",
            Self::ProjectNotFound(_)
            | Self::ElementNotFound(_)
            | Self::GenerationNotFound(_)
            | Self::OpNotFound(..) => "not_found",
            Self::SignInRequired => "auth",
            Self::Invalid(_) | Self::ZOrder(_) => "invalid",
        }
    }

    /// Wraps an I/O error with what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }
}

impl From<serde_json::Error> for EngineError {
    fn from(e: serde_json::Error) -> Self {
        Self::Corrupt(e.to_string())
    }
}

/// Result type of the engine.
pub type Result<T, E = EngineError> = std::result::Result<T, E>;
