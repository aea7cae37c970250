//! The knobs of the fake: its start configuration and the behaviour modes that tests switch at
//! run time (progress model, failure injection, bad outputs).

use std::net::SocketAddr;
use std::time::Duration;

/// How a job moves from `IN_QUEUE` to `COMPLETED`. A job keeps the mode that was in force when
/// it was submitted; changing the mode affects later submits only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Progress {
    /// Deterministic, driven by status polls: `IN_QUEUE` for `queue_polls` polls (with
    /// `queue_position` counting down to 0), then `IN_PROGRESS` for `progress_polls` polls, then
    /// `COMPLETED`. With both at 0 the job completes on submit.
    Polls {
        queue_polls: u32,
        progress_polls: u32,
    },
    /// `IN_QUEUE` on the first poll, then `IN_PROGRESS` until `release`/`release_all`.
    Hold,
    /// Completes this long after submit (a timer, independent of polls).
    Delay(Duration),
    /// Completes on submit.
    Instant,
}

impl Default for Progress {
    fn default() -> Self {
        Progress::Polls {
            queue_polls: 1,
            progress_polls: 1,
        }
    }
}

/// How completed jobs fail (applies to jobs completing while it is set).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ResultFailure {
    /// Jobs succeed.
    #[default]
    None,
    /// `GET response_url` answers 422 `{"detail":[{"loc":["body","prompt"],"msg":…,"type":"value_error"}]}`.
    Validation,
    /// `GET response_url` answers `status` (200 or 500, say) with `{"error":…,"error_type":…}`.
    ErrorBody { status: u16 },
}

/// Where the output URLs of completed jobs point (applies to jobs completing while it is set).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OutputMode {
    /// Real, decodable PNGs / MP4 served by the fake.
    #[default]
    Normal,
    /// A 200 MB body, streamed lazily, with its `Content-Length`.
    Huge,
    /// A 200 MB body, streamed lazily, chunked (no `Content-Length`).
    HugeChunked,
    /// `<!doctype html>…` served as `Content-Type: image/png`.
    Html,
    /// A URL on a loopback port nothing listens on.
    Refused,
    /// A URL that answers 404.
    NotFound,
    /// A URL that answers 500.
    ServerError,
}

/// How the fake behaves while it is "down".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DownMode {
    /// Serving normally.
    #[default]
    Up,
    /// Every request answers 503 `{"detail":…}`.
    Unavailable,
    /// Every request gets its connection closed without an answer (new connections are dropped
    /// on accept).
    CloseConnection,
}

/// A kind of incoming request, to aim injected failures at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Route {
    /// Any request.
    Any,
    /// `POST {queue}/{model}`.
    Submit,
    /// `GET {status_url}`.
    Status,
    /// `GET {response_url}`.
    Result,
    /// `PUT {cancel_url}`.
    Cancel,
    /// Upload initiate and the upload `PUT`.
    Storage,
    /// Output and uploaded files.
    Files,
    /// The JWKS document.
    Jwks,
}

/// Start configuration.
#[derive(Clone, Debug)]
pub struct FakeConfig {
    /// Address to bind; `127.0.0.1:0` by default.
    pub listen: SocketAddr,
    /// The API key accepted in `Authorization: Key …`; random when `None`.
    pub key: Option<String>,
    /// The initial progress model.
    pub progress: Progress,
    /// The value of `X-Fal-Webhook-User-Id`.
    pub user_id: String,
}

impl Default for FakeConfig {
    fn default() -> Self {
        FakeConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            key: None,
            progress: Progress::default(),
            user_id: "fake-fal-user".into(),
        }
    }
}

impl FakeConfig {
    /// The default configuration with another progress model.
    pub fn with_progress(progress: Progress) -> Self {
        FakeConfig {
            progress,
            ..FakeConfig::default()
        }
    }
}
