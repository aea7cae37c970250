//! The client of fal's queue API and storage upload, as the job workers use it.
//!
//! Every call goes through the same path: the circuit breaker is asked first (nothing is sent
//! while it is open), the request is sent with the configured timeout, and fal's answer is
//! sorted into a [`FalError`] kind the caller can act on — try later, fail the job with fal's
//! message, or leave a submit whose fate is unknown alone. Idempotent calls are retried with a
//! short jittered exponential backoff on transient errors; a submit is retried only when it
//! certainly did not reach fal (connection refused, 5xx, 429), because a second submit of a
//! request fal did receive would run (and bill) twice. The URLs fal returns on submit are kept
//! and used as given. The API key is sent in a sensitive header and scrubbed from every error;
//! the Debug output of the config and the client redacts it.

use super::breaker::{Breaker, Health};
use super::error::{body_message, describe, failure_message, truncate, FalError};
use backon::{ExponentialBuilder, Retryable};
use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Method, RequestBuilder, StatusCode, Url};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// Retries of an idempotent call (or a submit that did not reach fal) after the first attempt.
const RETRIES: usize = 3;
/// The first retry delay (before jitter); each next one doubles.
const RETRY_MIN_DELAY: Duration = Duration::from_millis(100);
/// The longest retry delay.
const RETRY_MAX_DELAY: Duration = Duration::from_secs(2);
/// Extra upload time allowed per MiB of the file, on top of the request timeout.
const UPLOAD_SECS_PER_MIB: u64 = 1;

/// How to reach fal, and how patient to be with it.
#[derive(Clone)]
pub struct FalConfig {
    /// The API key, sent as `Authorization: Key …`; never logged or shown.
    pub key: String,
    /// The queue API, e.g. `https://queue.fal.run`.
    pub queue_url: String,
    /// The REST API (storage uploads), e.g. `https://rest.alpha.fal.ai`.
    pub rest_url: String,
    /// The JWKS of fal's webhook signing keys (used by the webhook verifier).
    pub jwks_url: String,
    /// Consecutive transient failures that open the circuit, e.g. 5 (0 counts as 1).
    pub circuit_failures: u32,
    /// How long the circuit stays open before a trial call (capped at 30 s).
    pub circuit_open: Duration,
    /// The timeout of one HTTP request to fal.
    pub request_timeout: Duration,
}

impl FalConfig {
    /// A config with the usual patience: the circuit opens after 5 consecutive transient
    /// failures for 30 s, and each request may take 30 s.
    pub fn new(
        key: impl Into<String>,
        queue_url: impl Into<String>,
        rest_url: impl Into<String>,
        jwks_url: impl Into<String>,
    ) -> Self {
        FalConfig {
            key: key.into(),
            queue_url: queue_url.into(),
            rest_url: rest_url.into(),
            jwks_url: jwks_url.into(),
            circuit_failures: 5,
            circuit_open: Duration::from_secs(30),
            request_timeout: Duration::from_secs(30),
        }
    }
}

impl fmt::Debug for FalConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let key = if self.key.is_empty() {
            "<none>"
        } else {
            "<redacted>"
        };
        f.debug_struct("FalConfig")
            .field("key", &key)
            .field("queue_url", &self.queue_url)
            .field("rest_url", &self.rest_url)
            .field("jwks_url", &self.jwks_url)
            .field("circuit_failures", &self.circuit_failures)
            .field("circuit_open", &self.circuit_open)
            .field("request_timeout", &self.request_timeout)
            .finish()
    }
}

/// What fal answered to a submit: the request id and the URLs to follow it with, kept as given.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Submitted {
    pub request_id: String,
    pub status_url: String,
    pub response_url: String,
    pub cancel_url: String,
}

/// Where a queued request stands.
#[derive(Debug, Clone, PartialEq)]
pub enum FalStatus {
    /// Waiting for a runner; `position` is how many requests are ahead, when fal says.
    InQueue { position: Option<i64> },
    /// A runner is working on it.
    InProgress,
    /// Finished (successfully or not: the result fetch tells).
    Completed,
    /// A status fal did not document; logged at warn, caller polls again.
    Unknown(String),
}

/// The fal client; cheap to clone (the state is shared).
#[derive(Clone)]
pub struct FalClient {
    inner: Arc<Inner>,
}

struct Inner {
    cfg: FalConfig,
    http: reqwest::Client,
    /// `Key …`, marked sensitive; `None` when the key cannot be a header value.
    auth: Option<HeaderValue>,
    breaker: Breaker,
    retry: ExponentialBuilder,
}

/// Whether a failed send may be retried safely.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A submit: only a request that certainly did not reach fal may be sent again.
    Submit,
    /// Reading or cancelling: sending twice does no harm.
    Idempotent,
}

/// fal's answer to one request.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

#[derive(Deserialize)]
struct StatusBody {
    status: Option<String>,
    queue_position: Option<i64>,
}

#[derive(Deserialize)]
struct Initiated {
    upload_url: String,
    file_url: String,
}

impl FalClient {
    /// A client for `cfg` that sends through `http` (whose own timeouts and proxies apply too).
    pub fn new(cfg: FalConfig, http: reqwest::Client) -> Self {
        let auth = HeaderValue::from_str(&format!("Key {}", cfg.key))
            .ok()
            .map(|mut v| {
                v.set_sensitive(true);
                v
            });
        if auth.is_none() {
            tracing::error!("the fal key cannot be sent in a header; every fal call will fail");
        }
        let breaker = Breaker::new(cfg.circuit_failures, cfg.circuit_open);
        let retry = ExponentialBuilder::default()
            .with_jitter()
            .with_min_delay(RETRY_MIN_DELAY)
            .with_max_delay(RETRY_MAX_DELAY)
            .with_max_times(RETRIES);
        FalClient {
            inner: Arc::new(Inner {
                cfg,
                http,
                auth,
                breaker,
                retry,
            }),
        }
    }

    /// POST `{queue_url}/{model}[?fal_webhook=<url-encoded>]` with `Authorization: Key …`, JSON
    /// input. Retried only when the request certainly did not reach fal; a timeout or a
    /// connection lost after sending is [`FalError::Ambiguous`].
    pub async fn submit(
        &self,
        model: &str,
        input: &Value,
        webhook: Option<&str>,
    ) -> Result<Submitted, FalError> {
        let url = match self.submit_url(model, webhook) {
            Ok(url) => url,
            Err(e) => return self.finish("submit", Err(e)),
        };
        let result = self
            .retrying("submit", || async {
                let req = self.authed(Method::POST, url.clone())?.json(input);
                self.attempt(Kind::Submit, req, read_submitted).await
            })
            .await;
        if let Ok(s) = &result {
            tracing::debug!(request_id = %s.request_id, model, "fal request submitted");
        }
        self.finish("submit", result)
    }

    /// GET `status_url` (as fal gave it).
    pub async fn status(&self, status_url: &str) -> Result<FalStatus, FalError> {
        let result = self
            .retrying("status", || async {
                let req = self.authed(Method::GET, status_url)?;
                self.attempt(Kind::Idempotent, req, read_status).await
            })
            .await;
        self.finish("status", result)
    }

    /// GET `response_url`. A failed run shows only here: 422 with `detail`, or a body with
    /// `error`/`error_type` → [`FalError::Failed`] with fal's message.
    pub async fn result(&self, response_url: &str) -> Result<Value, FalError> {
        let result = self
            .retrying("result", || async {
                let req = self.authed(Method::GET, response_url)?;
                self.attempt(Kind::Idempotent, req, read_result).await
            })
            .await;
        self.finish("result", result)
    }

    /// PUT `cancel_url`. A request that already completed answers 400 (`ALREADY_COMPLETED`),
    /// which comes back as [`FalError::Rejected`].
    pub async fn cancel(&self, cancel_url: &str) -> Result<(), FalError> {
        let result = self
            .retrying("cancel", || async {
                let req = self.authed(Method::PUT, cancel_url)?;
                self.attempt(Kind::Idempotent, req, |ans| {
                    if ans.status.is_success() {
                        Ok(())
                    } else {
                        Err(status_error(&ans))
                    }
                })
                .await
            })
            .await;
        self.finish("cancel", result)
    }

    /// POST `{rest_url}/storage/upload/initiate` `{"content_type","file_name"}` →
    /// `{"upload_url","file_url"}`; PUT the bytes to `upload_url` (a presigned URL: no key is
    /// sent there); returns `file_url`.
    pub async fn upload(
        &self,
        bytes: Bytes,
        content_type: &str,
        file_name: &str,
    ) -> Result<String, FalError> {
        let result = self.upload_inner(bytes, content_type, file_name).await;
        self.finish("upload", result)
    }

    /// True while the circuit breaker is open (calls fail fast with [`FalError::CircuitOpen`]).
    pub fn circuit_open(&self) -> bool {
        self.inner.breaker.is_open()
    }

    async fn upload_inner(
        &self,
        bytes: Bytes,
        content_type: &str,
        file_name: &str,
    ) -> Result<String, FalError> {
        let base = self.inner.cfg.rest_url.trim_end_matches('/');
        let init_url = Url::parse(&format!("{base}/storage/upload/initiate"))
            .map_err(|e| FalError::Protocol(format!("the fal REST URL is not a URL: {e}")))?;
        let body = serde_json::json!({ "content_type": content_type, "file_name": file_name });
        let initiated = self
            .retrying("upload", || async {
                let req = self.authed(Method::POST, init_url.clone())?.json(&body);
                self.attempt(Kind::Idempotent, req, |ans| {
                    if !ans.status.is_success() {
                        return Err(status_error(&ans));
                    }
                    let init: Initiated = serde_json::from_slice(&ans.body)
                        .map_err(|e| FalError::Protocol(format!("upload initiate answer: {e}")))?;
                    if init.upload_url.is_empty() || init.file_url.is_empty() {
                        return Err(FalError::Protocol(
                            "upload initiate answer: empty URL".into(),
                        ));
                    }
                    Ok(init)
                })
                .await
            })
            .await?;
        let mib = u64::try_from(bytes.len() / (1 << 20)).unwrap_or(u64::MAX);
        let timeout = self
            .inner
            .cfg
            .request_timeout
            .saturating_add(Duration::from_secs(mib.saturating_mul(UPLOAD_SECS_PER_MIB)));
        self.retrying("upload", || async {
            let req = self
                .inner
                .http
                .put(initiated.upload_url.as_str())
                .header(CONTENT_TYPE, content_type)
                .body(bytes.clone())
                .timeout(timeout);
            self.attempt(Kind::Idempotent, req, |ans| {
                if ans.status.is_success() {
                    Ok(())
                } else {
                    Err(status_error(&ans))
                }
            })
            .await
        })
        .await?;
        Ok(initiated.file_url)
    }

    /// The submit URL: the model id appended to the queue URL, the webhook as `fal_webhook`.
    fn submit_url(&self, model: &str, webhook: Option<&str>) -> Result<Url, FalError> {
        let model = model.trim().trim_matches('/');
        let bad_segment = |s: &str| s.is_empty() || s == "." || s == "..";
        if model.is_empty()
            || model.contains(['?', '#', '\\'])
            || model.chars().any(char::is_whitespace)
            || model.split('/').any(bad_segment)
        {
            return Err(FalError::Rejected {
                status: 400,
                message: format!("not a fal model id: {:?}", truncate(model)),
            });
        }
        let base = self.inner.cfg.queue_url.trim_end_matches('/');
        let mut url = Url::parse(&format!("{base}/{model}"))
            .map_err(|e| FalError::Protocol(format!("the fal queue URL is not a URL: {e}")))?;
        if let Some(hook) = webhook {
            url.query_pairs_mut().append_pair("fal_webhook", hook);
        }
        Ok(url)
    }

    /// A request to fal with the key and the request timeout.
    fn authed(
        &self,
        method: Method,
        url: impl reqwest::IntoUrl,
    ) -> Result<RequestBuilder, FalError> {
        let auth = self.inner.auth.clone().ok_or_else(|| FalError::Rejected {
            status: 401,
            message: "the configured fal key cannot be sent (not a valid header value)".into(),
        })?;
        Ok(self
            .inner
            .http
            .request(method, url)
            .header(AUTHORIZATION, auth)
            .timeout(self.inner.cfg.request_timeout))
    }

    /// One attempt: ask the breaker, send, sort the answer with `read`, tell the breaker. The
    /// request carries its own timeout.
    async fn attempt<T>(
        &self,
        kind: Kind,
        req: RequestBuilder,
        read: impl FnOnce(Answer) -> Result<T, FalError>,
    ) -> Result<T, FalError> {
        let req = req.build().map_err(|e| FalError::Protocol(describe(&e)))?;
        if !self.inner.breaker.permit() {
            return Err(FalError::CircuitOpen);
        }
        let outcome = match self.inner.http.execute(req).await {
            Err(e) => Err(send_error(&e, kind)),
            Ok(resp) => {
                let status = resp.status();
                let headers = resp.headers().clone();
                match resp.bytes().await {
                    Ok(body) => read(Answer {
                        status,
                        headers,
                        body,
                    }),
                    // Only the body was lost: an error status is still the answer.
                    Err(_) if !status.is_success() => read(Answer {
                        status,
                        headers,
                        body: Bytes::new(),
                    }),
                    Err(e) if kind == Kind::Submit => Err(FalError::Ambiguous(format!(
                        "fal answered {status} but the body was lost: {}",
                        describe(&e)
                    ))),
                    Err(e) => Err(FalError::Transient(format!(
                        "the answer's body was lost: {}",
                        describe(&e)
                    ))),
                }
            }
        };
        let health = match &outcome {
            Err(FalError::Transient(_) | FalError::Ambiguous(_)) => Health::Failing,
            _ => Health::Answered,
        };
        self.inner.breaker.record(health);
        outcome.map_err(|e| e.scrubbed(&self.inner.cfg.key))
    }

    /// Runs `call` again on [`FalError::Transient`] with the jittered backoff.
    async fn retrying<T, F, Fut>(&self, op: &'static str, call: F) -> Result<T, FalError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, FalError>>,
    {
        call.retry(self.inner.retry)
            .when(|e| matches!(e, FalError::Transient(_)))
            .notify(|e, delay| {
                tracing::debug!(op, error = %e, delay_ms = delay.as_millis() as u64, "fal call failed; retrying");
            })
            .await
    }

    /// Counts the call's outcome and logs the failures worth a look.
    fn finish<T>(&self, op: &'static str, result: Result<T, FalError>) -> Result<T, FalError> {
        let result = result.map_err(|e| e.scrubbed(&self.inner.cfg.key));
        let label = match &result {
            Ok(_) => "ok",
            Err(e) => e.metric_label(),
        };
        match &result {
            Err(e @ (FalError::Transient(_) | FalError::Ambiguous(_) | FalError::Protocol(_))) => {
                tracing::warn!(op, error = %e, "fal call failed");
            }
            Err(e) => tracing::debug!(op, error = %e, "fal call did not succeed"),
            Ok(_) => {}
        }
        metrics::counter!("iskra_fal_requests_total", "op" => op, "result" => label).increment(1);
        result
    }
}

impl fmt::Debug for FalClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FalClient")
            .field("config", &self.inner.cfg)
            .field("circuit_open", &self.circuit_open())
            .finish()
    }
}

/// A send error sorted: refused connections are transient; for a submit anything else may have
/// reached fal.
fn send_error(e: &reqwest::Error, kind: Kind) -> FalError {
    let text = describe(e);
    if e.is_builder() {
        FalError::Protocol(text)
    } else if e.is_connect() {
        FalError::Transient(text)
    } else if kind == Kind::Submit {
        FalError::Ambiguous(text)
    } else {
        FalError::Transient(text)
    }
}

/// A non-success answer sorted: 429 and 5xx are transient, other 4xx a refusal.
fn status_error(ans: &Answer) -> FalError {
    let code = ans.status.as_u16();
    let message = body_message(code, &ans.body);
    if ans.status == StatusCode::TOO_MANY_REQUESTS || ans.status.is_server_error() {
        FalError::Transient(format!("HTTP {code}: {message}"))
    } else if ans.status.is_client_error() {
        FalError::Rejected {
            status: code,
            message,
        }
    } else {
        FalError::Protocol(format!("HTTP {code}: {message}"))
    }
}

fn read_submitted(ans: Answer) -> Result<Submitted, FalError> {
    if !ans.status.is_success() {
        return Err(status_error(&ans));
    }
    let s: Submitted = serde_json::from_slice(&ans.body)
        .map_err(|e| FalError::Protocol(format!("submit answer: {e}")))?;
    if s.request_id.is_empty()
        || s.status_url.is_empty()
        || s.response_url.is_empty()
        || s.cancel_url.is_empty()
    {
        return Err(FalError::Protocol(
            "submit answer: empty request id or URL".into(),
        ));
    }
    Ok(s)
}

fn read_status(ans: Answer) -> Result<FalStatus, FalError> {
    if !ans.status.is_success() {
        return Err(status_error(&ans));
    }
    let body: StatusBody = serde_json::from_slice(&ans.body)
        .map_err(|e| FalError::Protocol(format!("status answer: {e}")))?;
    let status = body
        .status
        .ok_or_else(|| FalError::Protocol("status answer has no status".into()))?;
    Ok(match status.as_str() {
        "IN_QUEUE" => FalStatus::InQueue {
            position: body.queue_position,
        },
        "IN_PROGRESS" => FalStatus::InProgress,
        "COMPLETED" => FalStatus::Completed,
        _ => {
            tracing::warn!(status = %truncate(&status), "fal answered a status it does not document");
            FalStatus::Unknown(status)
        }
    })
}

/// True for a result body that reports a failure rather than an output: an `error_type`, or an
/// `error` that says something.
fn is_failure_body(value: &Value) -> bool {
    value.as_object().is_some_and(|o| {
        let error_type = o.get("error_type").is_some_and(|v| !v.is_null());
        let error = o.get("error").is_some_and(|v| match v {
            Value::Null | Value::Bool(false) => false,
            Value::String(s) => !s.trim().is_empty(),
            _ => true,
        });
        error_type || error
    })
}

fn read_result(ans: Answer) -> Result<Value, FalError> {
    let json = serde_json::from_slice::<Value>(&ans.body).ok();
    let header_type = ans
        .headers
        .get("x-fal-error-type")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned);
    if ans.status.is_success() {
        let value = json.ok_or_else(|| FalError::Protocol("the result is not JSON".into()))?;
        if is_failure_body(&value) {
            let message =
                failure_message(&value).unwrap_or_else(|| "fal reported a failure".into());
            return Err(FalError::Failed(message));
        }
        return Ok(value);
    }
    let reports_failure = ans.status == StatusCode::UNPROCESSABLE_ENTITY
        || header_type.is_some()
        || json
            .as_ref()
            .and_then(|v| v.get("error_type"))
            .is_some_and(|t| !t.is_null());
    if reports_failure && ans.status != StatusCode::TOO_MANY_REQUESTS {
        let message = json
            .as_ref()
            .and_then(failure_message)
            .or(header_type)
            .unwrap_or_else(|| body_message(ans.status.as_u16(), &ans.body));
        return Err(FalError::Failed(message));
    }
    Err(status_error(&ans))
}
