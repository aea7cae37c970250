//! Request extractors that answer in the docs/api.md error shape: JSON bodies, paths and queries
//! (axum's rejections mapped to 400/413/415/422), the client's address and the request limits;
//! the authenticated user ([`Auth`], [`MaybeAuth`]) is built in layers by
//! [`crate::auth_layers`].

pub use crate::auth_layers::{Auth, MaybeAuth};
use crate::error::{ApiError, RateLimitInfo};
use crate::state::AppState;
use axum::extract::path::ErrorKind as PathErrorKind;
use axum::extract::rejection::{
    BytesRejection, FailedToBufferBody, JsonDataError, JsonRejection, PathRejection, QueryRejection,
};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap};
use iskra_limiter::{Decision, Rule};
use iskra_protocol::ErrorCode;
use serde::de::DeserializeOwned;
use serde_path_to_error::Segment;
use std::net::{IpAddr, SocketAddr};

/// A JSON object body; malformed JSON is 400, well-formed but invalid data (another JSON value
/// than an object included) 422, too large 413.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let axum::Json(value) = axum::Json::<serde_json::Value>::from_request(req, state)
            .await
            .map_err(|e| json_rejection(e, state.config.max_json_bytes as u64))?;
        // serde reads a struct from an array too; every body of this API is an object.
        if !value.is_object() {
            return Err(ApiError::Validation {
                message: "the body must be a JSON object".into(),
                fields: Default::default(),
            });
        }
        serde_path_to_error::deserialize(value)
            .map(Self)
            .map_err(|e| path_error(&e))
    }
}

/// The API error of each kind of JSON rejection.
fn json_rejection(e: JsonRejection, limit: u64) -> ApiError {
    match e {
        JsonRejection::JsonDataError(e) => data_error(&e),
        JsonRejection::JsonSyntaxError(e) => ApiError::BadRequest(e.body_text()),
        JsonRejection::MissingJsonContentType(_) => {
            ApiError::UnsupportedMediaType("expected Content-Type: application/json".into())
        }
        JsonRejection::BytesRejection(BytesRejection::FailedToBufferBody(
            FailedToBufferBody::LengthLimitError(_),
        )) => ApiError::PayloadTooLarge { limit },
        other => ApiError::BadRequest(other.body_text()),
    }
}

/// A 422 from serde's error, naming the offending field path when serde gives one.
fn data_error(e: &JsonDataError) -> ApiError {
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        if let Some(e) = c.downcast_ref::<serde_path_to_error::Error<serde_json::Error>>() {
            return path_error(e);
        }
        cause = c.source();
    }
    ApiError::Validation {
        message: e.body_text(),
        fields: Default::default(),
    }
}

/// A 422 naming the field path of `e` when there is one.
fn path_error(e: &serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let known = e.path().iter().any(|s| !matches!(s, Segment::Unknown));
    if known {
        ApiError::field(&e.path().to_string(), e.inner().to_string())
    } else {
        ApiError::Validation {
            message: e.inner().to_string(),
            fields: Default::default(),
        }
    }
}

/// Path parameters; an id of the wrong form is 400 (a route whose parameters do not fit its
/// type is the server's own fault: 500).
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Self(p.0))
            .map_err(path_rejection)
    }
}

fn path_rejection(e: PathRejection) -> ApiError {
    match e {
        PathRejection::FailedToDeserializePathParams(e) => match e.kind() {
            PathErrorKind::WrongNumberOfParameters { .. }
            | PathErrorKind::UnsupportedType { .. } => ApiError::internal_in("route parameters", e),
            _ => ApiError::BadRequest(format!("invalid path: {}", e.body_text())),
        },
        other => ApiError::internal_in("route parameters", other),
    }
}

/// Query parameters; invalid ones are 400.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Self(q.0))
            .map_err(|e| match e {
                QueryRejection::FailedToDeserializeQueryString(e) => {
                    ApiError::BadRequest(format!("invalid query: {}", e.body_text()))
                }
                other => ApiError::internal_in("query extraction", other),
            })
    }
}

/// The client's address, when the server knows the peer: the peer itself, or — when the peer
/// is a trusted proxy (`ISKRA_TRUSTED_PROXIES`) — the client `X-Forwarded-For` names.
pub fn client_ip(state: &AppState, extensions: &Extensions, headers: &HeaderMap) -> Option<IpAddr> {
    let peer = extensions.get::<ConnectInfo<SocketAddr>>()?.0.ip();
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok());
    Some(state.proxies.client(peer, forwarded))
}

/// Turns a refused limiter decision into a 429.
pub fn rate_limited(
    state: &AppState,
    d: &Decision,
    code: ErrorCode,
    tier: Option<&'static str>,
) -> ApiError {
    let now = state.clock.now();
    let w = d.tightest().cloned();
    let resets_at = w.as_ref().map_or(now, |w| w.resets_at);
    ApiError::RateLimited(Box::new(RateLimitInfo {
        code,
        window: w.as_ref().map_or("minute", |w| w.window.as_str()),
        limit: w.as_ref().map_or(0, |w| w.limit),
        used: w.as_ref().map_or(0, |w| w.used),
        resets_at,
        reset_secs: (resets_at - now).num_seconds().max(0),
        retry_after_secs: d.retry_after_secs(now),
        tier,
        upgrade_url: state.config.upgrade_url.clone(),
    }))
}

/// Counts one request against `rules` for `key`; a refusal is a 429.
pub async fn check_limit(
    state: &AppState,
    key: &str,
    rules: &[Rule],
    tier: Option<&'static str>,
) -> Result<(), ApiError> {
    if rules.is_empty() {
        return Ok(());
    }
    let decision = state
        .limiter
        .check(key, rules, 1, state.clock.now())
        .await
        .map_err(ApiError::internal)?;
    metrics::counter!("iskra_limiter_decisions_total", "allowed" => decision.allowed.to_string())
        .increment(1);
    if decision.allowed {
        Ok(())
    } else {
        Err(rate_limited(state, &decision, ErrorCode::RateLimited, tier))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use serde::Deserialize;
    use serde_json::Value;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Item {
        n: String,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Doc {
        name: String,
        #[serde(default)]
        items: Vec<Item>,
    }

    const LIMIT: u64 = 1234;

    async fn rejection(content_type: Option<&str>, body: impl Into<Body>) -> ApiError {
        let mut req = Request::builder().method("POST").uri("/");
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        let req = req.body(body.into()).unwrap();
        match axum::Json::<Doc>::from_request(req, &()).await {
            Ok(doc) => panic!("accepted: {:?}", doc.0),
            Err(e) => json_rejection(e, LIMIT),
        }
    }

    fn fields(e: &ApiError) -> Value {
        e.detail()
            .details
            .get("fields")
            .cloned()
            .unwrap_or_default()
    }

    #[tokio::test]
    async fn wrong_data_names_the_field_path() {
        let json = Some("application/json");
        let e = rejection(json, r#"{"name": 1}"#).await;
        assert_eq!(e.detail().code, ErrorCode::ValidationFailed);
        assert!(fields(&e)["name"]
            .as_str()
            .unwrap()
            .starts_with("invalid type: integer `1`, expected a string"));
        let e = rejection(json, r#"{"name": "a", "items": [{"n": false}]}"#).await;
        assert!(fields(&e)["items[0].n"].is_string(), "{:?}", e.detail());
        // No path to name: a 422 without fields.
        let e = rejection(json, r#"{}"#).await;
        assert_eq!(e.detail().code, ErrorCode::ValidationFailed);
        assert!(e.detail().message.starts_with("missing field `name`"));
        assert_eq!(fields(&e), Value::Object(Default::default()));
    }

    #[tokio::test]
    async fn syntax_type_and_size_map_to_400_415_413() {
        let e = rejection(Some("application/json"), r#"{"name": "#).await;
        assert_eq!(e.detail().code, ErrorCode::BadRequest);
        let e = rejection(None, r#"{"name": "a"}"#).await;
        assert_eq!(e.detail().code, ErrorCode::UnsupportedMediaType);
        // axum's default body limit (2 MB) applies without a DefaultBodyLimit layer.
        let big = format!(r#"{{"name": "{}"}}"#, "a".repeat(3 << 20));
        let e = rejection(Some("application/json"), big).await;
        assert!(
            matches!(e, ApiError::PayloadTooLarge { limit: LIMIT }),
            "{e:?}"
        );
    }
}
