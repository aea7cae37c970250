//! The one error type of every command: serialised as `{kind, message}` (what the UI's
//! `BackendError.from` reads). Engine errors map by their type, never by their text; bad input
//! is caught before the engine is called where the shell can tell (missing file, unsupported
//! type), so the user reads a clear sentence and nothing is half-written.

use iskra_engine::credits::BillingError;
use iskra_engine::sync::SyncError;
use iskra_engine::EngineError;
use serde::ser::SerializeStruct;

/// A failed command. `kind` is a stable camelCase name the UI may branch on.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// A project, element, asset, file or outbox operation that does not exist.
    #[error("{0}")]
    NotFound(String),
    /// Arguments the command cannot accept (bad id, empty name, malformed header …).
    #[error("{0}")]
    InvalidInput(String),
    /// A file that is not a supported image or video (PNG, JPEG, WebP, GIF, MP4, WebM, MOV).
    #[error("{0}")]
    UnsupportedFile(String),
    /// Reading or writing a file failed.
    #[error("{0}")]
    Io(String),
    /// Signing in failed or is not configured.
    #[error("{0}")]
    Auth(String),
    /// The sync server could not be reached or refused the request.
    #[error("{0}")]
    Network(String),
    /// Something this version of the app cannot do yet.
    #[error("{0}")]
    Unsupported(String),
    /// The server lacks what the request needs (billing without a Stripe key).
    #[error("{0}")]
    Unavailable(String),
    /// The request does not fit the account's state (the billing portal before subscribing).
    #[error("{0}")]
    Conflict(String),
    /// The local engine failed (store, corrupt data).
    #[error("{0}")]
    Engine(String),
}

impl CommandError {
    /// The `kind` the UI sees.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::NotFound(_) => "notFound",
            Self::InvalidInput(_) => "invalidInput",
            Self::UnsupportedFile(_) => "unsupportedFile",
            Self::Io(_) => "io",
            Self::Auth(_) => "auth",
            Self::Network(_) => "network",
            Self::Unsupported(_) => "unsupported",
            Self::Unavailable(_) => "unavailable",
            Self::Conflict(_) => "conflict",
            Self::Engine(_) => "engine",
        }
    }

    /// A bad argument, with a message for people.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::InvalidInput(message.into())
    }

    /// A sync error where the server's refusal of the request itself (400/422: a value it does
    /// not accept, e.g. an unknown model or a bad filter) is the user's input to correct, with
    /// the server's message; every other error maps as usual.
    pub fn rejected_input(e: SyncError) -> Self {
        match e {
            SyncError::Rejected {
                status: 400 | 422,
                error,
            } => Self::InvalidInput(error.message),
            other => other.into(),
        }
    }
}

impl serde::Serialize for CommandError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("CommandError", 2)?;
        st.serialize_field("kind", self.kind())?;
        st.serialize_field("message", &self.to_string())?;
        st.end()
    }
}

impl From<EngineError> for CommandError {
    fn from(e: EngineError) -> Self {
        let message = e.to_string();
        match &e {
            EngineError::ProjectNotFound(_)
            | EngineError::ElementNotFound(_)
            | EngineError::GenerationNotFound(_)
            | EngineError::OpNotFound(..) => Self::NotFound(message),
            EngineError::SignInRequired => Self::Auth(message),
            EngineError::Invalid(_) | EngineError::ZOrder(_) => Self::InvalidInput(message),
            EngineError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                Self::NotFound(message)
            }
            EngineError::Io { .. } => Self::Io(message),
            EngineError::Store(_) | EngineError::Migration { .. } | EngineError::Corrupt(_) => {
                tracing::error!(error = %e, "engine failure");
                Self::Engine(message)
            }
        }
    }
}

impl From<SyncError> for CommandError {
    fn from(e: SyncError) -> Self {
        match e {
            SyncError::Local(e) => e.into(),
            SyncError::NotSignedIn | SyncError::Unauthenticated { .. } => Self::Auth(e.to_string()),
            other => Self::Network(other.to_string()),
        }
    }
}

impl From<BillingError> for CommandError {
    fn from(e: BillingError) -> Self {
        match e {
            BillingError::Unavailable(m) => Self::Unavailable(m),
            BillingError::NoSubscription(m) => Self::Conflict(m),
            BillingError::Plan(m) => Self::InvalidInput(m),
            BillingError::Sync(e) => e.into(),
        }
    }
}

impl From<iskra_engine::auth::AuthError> for CommandError {
    fn from(e: iskra_engine::auth::AuthError) -> Self {
        use iskra_engine::auth::AuthError;
        match e {
            AuthError::Network(_) => Self::Network(e.to_string()),
            other => Self::Auth(other.to_string()),
        }
    }
}

/// Result of a command.
pub type CmdResult<T> = Result<T, CommandError>;

/// Parses a UUID argument (project, element or operation id).
pub fn parse_id(what: &str, s: &str) -> CmdResult<uuid::Uuid> {
    uuid::Uuid::parse_str(s.trim())
        .map_err(|_| CommandError::invalid(format!("{what} id {s:?} is not a valid id")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_as_kind_and_message() {
        let e: CommandError = EngineError::ProjectNotFound(uuid::Uuid::nil()).into();
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["kind"], "notFound");
        assert!(v["message"].as_str().unwrap().contains("not found"));
        let e: CommandError = EngineError::Invalid("empty name".into()).into();
        assert_eq!(serde_json::to_value(&e).unwrap()["kind"], "invalidInput");
        assert_eq!(
            parse_id("project", "nope").unwrap_err().kind(),
            "invalidInput"
        );
        let e: CommandError = BillingError::Unavailable("no billing".into()).into();
        assert_eq!(serde_json::to_value(&e).unwrap()["kind"], "unavailable");
        let e: CommandError = BillingError::NoSubscription("subscribe first".into()).into();
        assert_eq!(serde_json::to_value(&e).unwrap()["kind"], "conflict");
        let e: CommandError = EngineError::SignInRequired.into();
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["kind"], "auth");
        assert_eq!(
            v["message"],
            "Sign in to generate: generation runs on your Iskra account"
        );
    }
}
