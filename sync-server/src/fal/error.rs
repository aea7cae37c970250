//! What can go wrong talking to fal, and fal's error bodies rendered as readable messages.
//!
//! fal answers errors in two shapes: model validation errors carry `detail` as a list of
//! `{loc, msg, type}` objects, request errors a flat `{detail, error_type}` (and some bodies an
//! `error` string). The helpers here turn either into one line a person can read, because the
//! message ends up on the failed job the user sees.

use serde_json::Value;
use std::error::Error as _;

/// The longest message kept from fal (in characters); the rest is cut with an ellipsis.
const MAX_MESSAGE: usize = 1_000;

/// Why a call to fal did not give the expected answer.
#[derive(Debug, thiserror::Error)]
pub enum FalError {
    /// Connection refused / reset before the request was sent, 5xx, 429, timeouts on idempotent
    /// calls: try again later.
    #[error("fal is unavailable: {0}")]
    Transient(String),
    /// fal refused the input (4xx other than 429): fail the job with fal's message (its `detail`).
    #[error("fal refused the request (HTTP {status}): {message}")]
    Rejected { status: u16, message: String },
    /// The run finished but failed (result fetch said so): fail the job with fal's message.
    #[error("the fal run failed: {0}")]
    Failed(String),
    /// A submit whose outcome is unknown (the request may have reached fal: timeout or
    /// connection lost after sending). Never retried.
    #[error("fal may or may not have accepted the request: {0}")]
    Ambiguous(String),
    /// The circuit breaker is open; nothing was sent.
    #[error("fal is marked down (circuit open); nothing was sent")]
    CircuitOpen,
    /// fal answered something that is not its documented shape.
    #[error("unexpected answer from fal: {0}")]
    Protocol(String),
}

impl FalError {
    /// True for errors worth trying again later: [`FalError::Transient`] and
    /// [`FalError::CircuitOpen`].
    pub fn is_transient(&self) -> bool {
        matches!(self, FalError::Transient(_) | FalError::CircuitOpen)
    }

    /// The label of this error in the `result` dimension of `iskra_fal_requests_total`.
    pub(crate) fn metric_label(&self) -> &'static str {
        match self {
            FalError::Transient(_) => "transient",
            FalError::Rejected { .. } => "rejected",
            FalError::Failed(_) => "failed",
            FalError::Ambiguous(_) => "ambiguous",
            FalError::CircuitOpen => "circuit_open",
            FalError::Protocol(_) => "protocol",
        }
    }

    /// The same error with `secret` replaced wherever it occurs in its text.
    pub(crate) fn scrubbed(self, secret: &str) -> Self {
        let s = |m: String| scrub(m, secret);
        match self {
            FalError::Transient(m) => FalError::Transient(s(m)),
            FalError::Rejected { status, message } => FalError::Rejected {
                status,
                message: s(message),
            },
            FalError::Failed(m) => FalError::Failed(s(m)),
            FalError::Ambiguous(m) => FalError::Ambiguous(s(m)),
            FalError::CircuitOpen => FalError::CircuitOpen,
            FalError::Protocol(m) => FalError::Protocol(s(m)),
        }
    }
}

/// `text` with every occurrence of `secret` replaced by a marker (secrets of under 4 characters
/// are left alone: replacing them would garble the text and hide nothing).
pub(crate) fn scrub(text: String, secret: &str) -> String {
    if secret.len() < 4 || !text.contains(secret) {
        text
    } else {
        text.replace(secret, "[redacted]")
    }
}

/// `text` cut to [`MAX_MESSAGE`] characters (on a character boundary).
pub(crate) fn truncate(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(MAX_MESSAGE) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// A reqwest error as text without its URL (which may carry the webhook's query), with its
/// causes.
pub(crate) fn describe(e: &reqwest::Error) -> String {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_builder() {
        "could not build the request"
    } else if e.is_body() || e.is_decode() {
        "the body failed"
    } else {
        "the request failed"
    };
    let mut parts = vec![what.to_owned()];
    let mut source = e.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if parts.last() != Some(&text) {
            parts.push(text);
        }
        source = cause.source();
    }
    truncate(&parts.join(": "))
}

/// fal's `detail` as one readable line: a string as it is, a list of `{loc, msg}` as
/// `prompt: field required; num_images: …`, anything else as compact JSON.
pub fn render_detail(detail: &Value) -> String {
    match detail {
        Value::String(s) => truncate(s),
        Value::Array(items) => {
            let parts: Vec<String> = items
                .iter()
                .map(render_item)
                .filter(|p| !p.is_empty())
                .collect();
            truncate(&parts.join("; "))
        }
        Value::Object(_) => truncate(&render_item(detail)),
        Value::Null => String::new(),
        other => truncate(&other.to_string()),
    }
}

/// One entry of a `detail` list: `loc: msg` (the leading `body` of `loc` dropped).
fn render_item(item: &Value) -> String {
    let Some(obj) = item.as_object() else {
        return match item {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
    };
    let msg = obj
        .get("msg")
        .or_else(|| obj.get("message"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let Some(msg) = msg else {
        return item.to_string();
    };
    let loc: Vec<String> = obj
        .get("loc")
        .and_then(Value::as_array)
        .map(|parts| {
            parts
                .iter()
                .enumerate()
                .filter(|(i, p)| !(*i == 0 && p.as_str() == Some("body")))
                .map(|(_, p)| match p {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect()
        })
        .unwrap_or_default();
    if loc.is_empty() {
        msg
    } else {
        format!("{}: {msg}", loc.join("."))
    }
}

/// The `error` field of a body as text: a string, or an object's `message`/`msg`.
fn render_error_field(error: &Value) -> Option<String> {
    match error {
        Value::Null => None,
        Value::String(s) if s.trim().is_empty() => None,
        Value::String(s) => Some(truncate(s)),
        Value::Object(o) => o
            .get("message")
            .or_else(|| o.get("msg"))
            .and_then(Value::as_str)
            .map(truncate)
            .or_else(|| Some(truncate(&error.to_string()))),
        other => Some(truncate(&other.to_string())),
    }
}

/// The message of a failed run from its body: `detail` (or `error`), with `error_type`
/// added when it says something the message does not.
pub(crate) fn failure_message(body: &Value) -> Option<String> {
    let obj = body.as_object()?;
    let detail = obj
        .get("detail")
        .map(render_detail)
        .filter(|d| !d.is_empty());
    let error = obj.get("error").and_then(render_error_field);
    let message = match (detail, error) {
        (Some(d), Some(e)) if d.contains(&e) => Some(d),
        (Some(d), Some(e)) => Some(format!("{e}: {d}")),
        (Some(d), None) => Some(d),
        (None, Some(e)) => Some(e),
        (None, None) => None,
    };
    let error_type = obj
        .get("error_type")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty());
    match (message, error_type) {
        (Some(m), Some(t)) if !m.contains(t) => Some(format!("{m} ({t})")),
        (Some(m), _) => Some(m),
        (None, Some(t)) => Some(t.to_owned()),
        (None, None) => None,
    }
}

/// The most readable message in an error body: `detail`, `error`, `message` or `status` of a
/// JSON object, else the body's text, else `HTTP <status>`.
pub(crate) fn body_message(status: u16, body: &[u8]) -> String {
    if let Ok(value) = serde_json::from_slice::<Value>(body) {
        if let Some(m) = failure_message(&value) {
            return m;
        }
        if let Some(obj) = value.as_object() {
            for key in ["message", "status"] {
                if let Some(m) = obj
                    .get(key)
                    .and_then(Value::as_str)
                    .filter(|m| !m.is_empty())
                {
                    return truncate(m);
                }
            }
        }
    }
    let text = String::from_utf8_lossy(body);
    if text.trim().is_empty() {
        format!("HTTP {status}")
    } else {
        truncate(&text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn detail_list_reads_as_fields_and_messages() {
        let detail = json!([
            {"loc": ["body", "prompt"], "msg": "field required", "type": "missing"},
            {"loc": ["body", "image_size", 0], "msg": "bad size", "type": "value_error"}
        ]);
        assert_eq!(
            render_detail(&detail),
            "prompt: field required; image_size.0: bad size"
        );
        assert_eq!(render_detail(&json!("Not found")), "Not found");
        assert_eq!(render_detail(&json!({"msg": "nope"})), "nope");
        assert_eq!(render_detail(&json!(42)), "42");
    }

    #[test]
    fn failure_message_combines_error_detail_and_type() {
        let body = json!({"detail": "Request timed out", "error_type": "request_timeout"});
        assert_eq!(
            failure_message(&body).as_deref(),
            Some("Request timed out (request_timeout)")
        );
        let body = json!({"error": "CUDA out of memory", "error_type": "runner_disconnected"});
        assert_eq!(
            failure_message(&body).as_deref(),
            Some("CUDA out of memory (runner_disconnected)")
        );
        assert_eq!(failure_message(&json!({"images": []})), None);
        assert_eq!(failure_message(&json!([1, 2])), None);
    }

    #[test]
    fn body_message_falls_back_to_text_then_status() {
        assert_eq!(
            body_message(400, br#"{"detail":"Invalid model"}"#),
            "Invalid model"
        );
        assert_eq!(
            body_message(400, br#"{"status":"ALREADY_COMPLETED"}"#),
            "ALREADY_COMPLETED"
        );
        assert_eq!(body_message(502, b"Bad gateway"), "Bad gateway");
        assert_eq!(body_message(502, b""), "HTTP 502");
    }

    #[test]
    fn truncate_cuts_on_char_boundaries() {
        let long = "é".repeat(MAX_MESSAGE + 10);
        let cut = truncate(&long);
        assert_eq!(cut.chars().count(), MAX_MESSAGE + 1);
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn scrub_hides_the_secret() {
        let e = FalError::Rejected {
            status: 401,
            message: "bad key Key s3cr3t".into(),
        }
        .scrubbed("s3cr3t");
        assert!(!e.to_string().contains("s3cr3t"));
        assert_eq!(scrub("abc".into(), ""), "abc");
        assert_eq!(scrub("abc".into(), "a"), "abc");
    }
}
