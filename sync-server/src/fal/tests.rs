//! The fal client and the webhook verifier against a tiny fal stand-in served on 127.0.0.1:0
//! inside each test: submit and the URLs it returns, status and result shapes, retries, the
//! circuit breaker, storage upload, key redaction, and webhook signatures with JWKS refetching.

use super::*;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ed25519_dalek::{Signer, SigningKey};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const KEY: &str = "fal-test-key-5ecr3t";

/// Serves `app` on a fresh loopback port; the listener is bound before this returns.
async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

fn config(base: &str) -> FalConfig {
    FalConfig {
        key: KEY.into(),
        queue_url: base.into(),
        rest_url: base.into(),
        jwks_url: format!("{base}/jwks"),
        circuit_failures: 5,
        circuit_open: Duration::from_secs(30),
        request_timeout: Duration::from_secs(10),
    }
}

fn client(cfg: FalConfig) -> FalClient {
    FalClient::new(cfg, reqwest::Client::new())
}

fn auth_of(headers: &HeaderMap) -> Option<String> {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// A port nothing listens on (bound, then released).
async fn closed_port() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    format!("http://{addr}")
}

/// Waits until `cond` holds, failing the test after a generous deadline.
async fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[derive(Default)]
struct Seen {
    hits: AtomicUsize,
    auth: Mutex<Vec<Option<String>>>,
    query: Mutex<Vec<Option<String>>>,
    body: Mutex<Vec<Value>>,
}

async fn submit_handler(
    State((seen, base)): State<(Arc<Seen>, Arc<Mutex<String>>)>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    Json(body): Json<Value>,
) -> Json<Value> {
    seen.hits.fetch_add(1, Ordering::SeqCst);
    seen.auth.lock().expect("lock").push(auth_of(&headers));
    seen.query.lock().expect("lock").push(query);
    seen.body.lock().expect("lock").push(body);
    let base = base.lock().expect("lock").clone();
    Json(json!({
        "request_id": "req-1",
        "status": "IN_QUEUE",
        "queue_position": 0,
        "status_url": format!("{base}/elsewhere/req-1/state?x=1"),
        "response_url": format!("{base}/elsewhere/req-1/answer"),
        "cancel_url": format!("{base}/elsewhere/req-1/stop"),
    }))
}

async fn submit_server() -> (String, Arc<Seen>) {
    let seen = Arc::new(Seen::default());
    let base = Arc::new(Mutex::new(String::new()));
    let app = Router::new()
        .route("/fal-ai/flux/dev", post(submit_handler))
        .route(
            "/elsewhere/req-1/state",
            get(|| async { Json(json!({"status": "IN_PROGRESS"})) }),
        )
        .with_state((seen.clone(), base.clone()));
    let url = serve(app).await;
    *base.lock().expect("lock") = url.clone();
    (url, seen)
}

#[tokio::test]
async fn submit_without_webhook_keeps_the_given_urls() {
    let (base, seen) = submit_server().await;
    let fal = client(config(&base));
    let input = json!({"prompt": "a red fox", "num_images": 1});
    let submitted = fal
        .submit("fal-ai/flux/dev", &input, None)
        .await
        .expect("submitted");
    assert_eq!(
        submitted,
        Submitted {
            request_id: "req-1".into(),
            status_url: format!("{base}/elsewhere/req-1/state?x=1"),
            response_url: format!("{base}/elsewhere/req-1/answer"),
            cancel_url: format!("{base}/elsewhere/req-1/stop"),
        }
    );
    assert_eq!(
        seen.auth.lock().expect("lock").as_slice(),
        &[Some(format!("Key {KEY}"))]
    );
    assert_eq!(seen.query.lock().expect("lock").as_slice(), &[None]);
    assert_eq!(seen.body.lock().expect("lock").as_slice(), &[input]);
    // The status URL is followed as given, not rebuilt from the request id.
    assert_eq!(
        fal.status(&submitted.status_url).await.expect("status"),
        FalStatus::InProgress
    );
}

#[tokio::test]
async fn submit_with_webhook_encodes_it_as_a_query_parameter() {
    let (base, seen) = submit_server().await;
    let fal = client(config(&base));
    let hook = "https://iskra.example/v1/webhooks/fal?job=j 1&sig=a+b/c";
    fal.submit("/fal-ai/flux/dev", &json!({"prompt": "x"}), Some(hook))
        .await
        .expect("submitted");
    let query = seen.query.lock().expect("lock")[0]
        .clone()
        .expect("a query");
    assert!(query.starts_with("fal_webhook="), "{query}");
    assert!(
        !query.contains("&sig"),
        "the webhook's own query is encoded: {query}"
    );
    let parsed = reqwest::Url::parse(&format!("http://x/?{query}")).expect("url");
    let pairs: Vec<(String, String)> = parsed.query_pairs().into_owned().collect();
    assert_eq!(pairs, vec![("fal_webhook".to_owned(), hook.to_owned())]);
}

#[tokio::test]
async fn submit_refuses_a_bad_model_id_without_sending() {
    let (base, seen) = submit_server().await;
    let fal = client(config(&base));
    for model in ["", "fal-ai/../x", "fal-ai/flux?x=1", "a b"] {
        let err = fal.submit(model, &json!({}), None).await.expect_err(model);
        assert!(
            matches!(err, FalError::Rejected { status: 400, .. }),
            "{err:?}"
        );
    }
    assert_eq!(seen.hits.load(Ordering::SeqCst), 0);
}

async fn status_handler(Path(kind): Path<String>) -> impl IntoResponse {
    match kind.as_str() {
        "queued" => (
            StatusCode::ACCEPTED,
            Json(json!({"status": "IN_QUEUE", "queue_position": 3, "response_url": "x"})),
        ),
        "queued-nopos" => (StatusCode::ACCEPTED, Json(json!({"status": "IN_QUEUE"}))),
        "running" => (
            StatusCode::ACCEPTED,
            Json(json!({"status": "IN_PROGRESS", "logs": []})),
        ),
        "done" => (StatusCode::OK, Json(json!({"status": "COMPLETED"}))),
        "odd" => (StatusCode::OK, Json(json!({"status": "PAUSED"}))),
        "nostatus" => (StatusCode::OK, Json(json!({"state": "COMPLETED"}))),
        _ => (
            StatusCode::NOT_FOUND,
            Json(json!({"detail": "Request not found"})),
        ),
    }
}

#[tokio::test]
async fn status_variants_including_unknown() {
    let base = serve(Router::new().route("/status/{kind}", get(status_handler))).await;
    let fal = client(config(&base));
    let status = |k: &str| format!("{base}/status/{k}");
    assert_eq!(
        fal.status(&status("queued")).await.expect("queued"),
        FalStatus::InQueue { position: Some(3) }
    );
    assert_eq!(
        fal.status(&status("queued-nopos")).await.expect("queued"),
        FalStatus::InQueue { position: None }
    );
    assert_eq!(
        fal.status(&status("running")).await.expect("running"),
        FalStatus::InProgress
    );
    assert_eq!(
        fal.status(&status("done")).await.expect("done"),
        FalStatus::Completed
    );
    assert_eq!(
        fal.status(&status("odd")).await.expect("odd"),
        FalStatus::Unknown("PAUSED".into())
    );
    assert!(matches!(
        fal.status(&status("nostatus")).await,
        Err(FalError::Protocol(_))
    ));
    match fal.status(&status("gone")).await {
        Err(FalError::Rejected { status, message }) => {
            assert_eq!(status, 404);
            assert_eq!(message, "Request not found");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

async fn result_handler(Path(kind): Path<String>) -> axum::response::Response {
    match kind.as_str() {
        "ok" => Json(json!({
            "images": [{"url": "https://v3.fal.media/a.png", "content_type": "image/png"}],
            "seed": 9
        }))
        .into_response(),
        "invalid" => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({"detail": [
                {"loc": ["body", "prompt"], "msg": "field required", "type": "missing"}
            ]})),
        )
            .into_response(),
        "crashed" => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({"error": "CUDA out of memory", "error_type": "runner_disconnected"})),
        )
            .into_response(),
        "error-ok" => {
            Json(json!({"error": "NSFW content detected", "error_type": "content_policy"}))
                .into_response()
        }
        "timed-out" => (
            StatusCode::GATEWAY_TIMEOUT,
            [("x-fal-error-type", "request_timeout")],
            Json(json!({"detail": "Request timed out", "error_type": "request_timeout"})),
        )
            .into_response(),
        "not-json" => "<html>hi</html>".into_response(),
        _ => (
            StatusCode::BAD_REQUEST,
            Json(json!({"detail": "Request is still in progress"})),
        )
            .into_response(),
    }
}

#[tokio::test]
async fn result_success_and_failure_shapes() {
    let base = serve(Router::new().route("/result/{kind}", get(result_handler))).await;
    let fal = client(config(&base));
    let result = |k: &str| format!("{base}/result/{k}");

    let ok = fal.result(&result("ok")).await.expect("result");
    assert_eq!(result_seed(&ok), Some(9));
    assert_eq!(output_refs(&ok).len(), 1);

    let failed = |r: Result<Value, FalError>| match r {
        Err(FalError::Failed(message)) => message,
        other => panic!("expected a failed run, got {other:?}"),
    };
    assert_eq!(
        failed(fal.result(&result("invalid")).await),
        "prompt: field required"
    );
    let m = failed(fal.result(&result("crashed")).await);
    assert!(m.contains("CUDA out of memory"), "{m}");
    let m = failed(fal.result(&result("error-ok")).await);
    assert!(m.contains("NSFW content detected"), "{m}");
    let m = failed(fal.result(&result("timed-out")).await);
    assert!(m.contains("Request timed out"), "{m}");
    assert!(matches!(
        fal.result(&result("not-json")).await,
        Err(FalError::Protocol(_))
    ));
    assert!(matches!(
        fal.result(&result("early")).await,
        Err(FalError::Rejected { status: 400, .. })
    ));
}

/// A route that answers `failures` times with `status`, then succeeds with `ok`.
fn flaky(failures: usize, status: StatusCode, ok: Value) -> (Router, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let handler = move || {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        let ok = ok.clone();
        async move {
            if n < failures {
                (status, Json(json!({"detail": "try later"})))
            } else {
                (StatusCode::OK, Json(ok))
            }
        }
    };
    (
        Router::new()
            .route("/flaky", get(handler.clone()))
            .route("/fal-ai/flux/dev", post(handler)),
        hits,
    )
}

#[tokio::test]
async fn a_5xx_then_success_is_retried() {
    let (app, hits) = flaky(
        2,
        StatusCode::SERVICE_UNAVAILABLE,
        json!({"status": "COMPLETED"}),
    );
    let base = serve(app).await;
    let fal = client(config(&base));
    assert_eq!(
        fal.status(&format!("{base}/flaky")).await.expect("status"),
        FalStatus::Completed
    );
    assert_eq!(hits.load(Ordering::SeqCst), 3);
    assert!(!fal.circuit_open());
}

#[tokio::test]
async fn a_submit_answered_429_or_5xx_is_retried() {
    for status in [StatusCode::TOO_MANY_REQUESTS, StatusCode::BAD_GATEWAY] {
        let (app, hits) = flaky(
            1,
            status,
            json!({"request_id": "r", "status_url": "s", "response_url": "p", "cancel_url": "c"}),
        );
        let base = serve(app).await;
        let fal = client(config(&base));
        let submitted = fal
            .submit("fal-ai/flux/dev", &json!({}), None)
            .await
            .expect("submitted");
        assert_eq!(submitted.request_id, "r");
        assert_eq!(hits.load(Ordering::SeqCst), 2);
    }
}

#[tokio::test]
async fn retries_give_up_with_a_transient_error() {
    let (app, hits) = flaky(usize::MAX, StatusCode::SERVICE_UNAVAILABLE, json!({}));
    let base = serve(app).await;
    let fal = client(config(&base));
    let err = fal
        .result(&format!("{base}/flaky"))
        .await
        .expect_err("down");
    assert!(matches!(err, FalError::Transient(_)), "{err:?}");
    assert!(err.is_transient());
    // The first attempt and three retries.
    assert_eq!(hits.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn submit_to_a_refused_connection_is_transient() {
    let base = closed_port().await;
    let fal = client(config(&base));
    let err = fal
        .submit("fal-ai/flux/dev", &json!({}), None)
        .await
        .expect_err("nothing listens");
    assert!(matches!(err, FalError::Transient(_)), "{err:?}");
}

#[tokio::test]
async fn submit_timeout_is_ambiguous_and_not_retried() {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let app = Router::new().route(
        "/fal-ai/flux/dev",
        post(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                "late"
            }
        }),
    );
    let base = serve(app).await;
    let mut cfg = config(&base);
    cfg.request_timeout = Duration::from_millis(300);
    let fal = client(cfg);
    let err = fal
        .submit("fal-ai/flux/dev", &json!({}), None)
        .await
        .expect_err("timed out");
    assert!(matches!(err, FalError::Ambiguous(_)), "{err:?}");
    assert!(!err.is_transient());
    assert!(
        hits.load(Ordering::SeqCst) <= 1,
        "a lost submit is never sent again"
    );
}

#[tokio::test]
async fn a_4xx_is_rejected_with_fal_detail_and_not_retried() {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let app = Router::new().route(
        "/fal-ai/flux/dev",
        post(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            async {
                (
                    StatusCode::BAD_REQUEST,
                    Json(json!({"detail": [
                        {"loc": ["body", "num_images"], "msg": "must be at most 4", "type": "value_error"}
                    ]})),
                )
            }
        }),
    );
    let base = serve(app).await;
    let fal = client(config(&base));
    match fal
        .submit("fal-ai/flux/dev", &json!({"num_images": 9}), None)
        .await
    {
        Err(FalError::Rejected { status, message }) => {
            assert_eq!(status, 400);
            assert_eq!(message, "num_images: must be at most 4");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    assert!(!fal.circuit_open(), "a refusal does not count against fal");
}

#[tokio::test]
async fn circuit_opens_fails_fast_and_closes_after_the_open_period() {
    let hits = Arc::new(AtomicUsize::new(0));
    let healthy = Arc::new(AtomicBool::new(false));
    let (h, ok) = (hits.clone(), healthy.clone());
    let app = Router::new().route(
        "/status",
        get(move || {
            h.fetch_add(1, Ordering::SeqCst);
            let up = ok.load(Ordering::SeqCst);
            async move {
                if up {
                    (StatusCode::OK, Json(json!({"status": "COMPLETED"})))
                } else {
                    (
                        StatusCode::SERVICE_UNAVAILABLE,
                        Json(json!({"detail": "down"})),
                    )
                }
            }
        }),
    );
    let base = serve(app).await;
    let mut cfg = config(&base);
    cfg.circuit_failures = 3;
    cfg.circuit_open = Duration::from_secs(2);
    let fal = client(cfg);
    let url = format!("{base}/status");

    assert!(!fal.circuit_open());
    let err = fal.status(&url).await.expect_err("fal is down");
    assert!(err.is_transient(), "{err:?}");
    assert!(
        fal.circuit_open(),
        "three consecutive failures open the circuit"
    );
    let sent = hits.load(Ordering::SeqCst);
    assert!(sent >= 3, "{sent}");

    // While open, calls fail fast without sending anything.
    let clone = fal.clone();
    assert!(matches!(
        clone.status(&url).await,
        Err(FalError::CircuitOpen)
    ));
    assert!(matches!(
        fal.submit("fal-ai/x", &json!({}), None).await,
        Err(FalError::CircuitOpen)
    ));
    assert_eq!(hits.load(Ordering::SeqCst), sent);

    // After the open period a trial call goes through, and its success closes the circuit.
    healthy.store(true, Ordering::SeqCst);
    wait_for("the open period to end", || !fal.circuit_open()).await;
    assert_eq!(fal.status(&url).await.expect("back"), FalStatus::Completed);
    assert!(!fal.circuit_open());
    assert_eq!(hits.load(Ordering::SeqCst), sent + 1);
    assert_eq!(fal.status(&url).await.expect("still"), FalStatus::Completed);
}

#[tokio::test]
async fn the_key_never_shows() {
    let app = Router::new()
        .route(
            "/echo",
            get(|headers: HeaderMap| async move {
                let auth = auth_of(&headers).unwrap_or_default();
                (
                    StatusCode::UNAUTHORIZED,
                    Json(json!({"detail": format!("{auth} is not a valid key")})),
                )
            }),
        )
        .route(
            "/echo-down",
            get(|headers: HeaderMap| async move {
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    auth_of(&headers).unwrap_or_default(),
                )
            }),
        )
        .route(
            "/echo-failed",
            get(|headers: HeaderMap| async move {
                (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    Json(json!({"detail": auth_of(&headers)})),
                )
            }),
        );
    let base = serve(app).await;
    let cfg = config(&base);
    assert!(!format!("{cfg:?}").contains(KEY));
    let fal = client(cfg);
    assert!(!format!("{fal:?}").contains(KEY));
    for path in ["/echo", "/echo-down", "/echo-failed"] {
        let err = fal
            .result(&format!("{base}{path}"))
            .await
            .expect_err("refused");
        assert!(!err.to_string().contains(KEY), "{err}");
        assert!(!format!("{err:?}").contains(KEY), "{err:?}");
    }
}

#[tokio::test]
async fn cancel_puts_to_the_given_url() {
    let app = Router::new()
        .route(
            "/requests/r1/cancel",
            put(|| async {
                (
                    StatusCode::ACCEPTED,
                    Json(json!({"status": "CANCELLATION_REQUESTED"})),
                )
            }),
        )
        .route(
            "/requests/r2/cancel",
            put(|| async {
                (
                    StatusCode::BAD_REQUEST,
                    Json(json!({"status": "ALREADY_COMPLETED"})),
                )
            }),
        );
    let base = serve(app).await;
    let fal = client(config(&base));
    fal.cancel(&format!("{base}/requests/r1/cancel"))
        .await
        .expect("cancelled");
    match fal.cancel(&format!("{base}/requests/r2/cancel")).await {
        Err(FalError::Rejected { status, message }) => {
            assert_eq!(status, 400);
            assert_eq!(message, "ALREADY_COMPLETED");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// One PUT to the upload URL: its Authorization and Content-Type headers, and its body.
type Put = (Option<String>, Option<String>, Vec<u8>);

#[derive(Default)]
struct Uploads {
    initiated: Mutex<Vec<(Option<String>, Value)>>,
    put: Mutex<Vec<Put>>,
}

#[tokio::test]
async fn upload_initiates_then_puts_without_the_key() {
    let seen = Arc::new(Uploads::default());
    let base_cell = Arc::new(Mutex::new(String::new()));
    let (s1, s2, b) = (seen.clone(), seen.clone(), base_cell.clone());
    let app = Router::new()
        .route(
            "/storage/upload/initiate",
            post(
                move |headers: HeaderMap, Json(body): Json<Value>| async move {
                    s1.initiated
                        .lock()
                        .expect("lock")
                        .push((auth_of(&headers), body));
                    let base = b.lock().expect("lock").clone();
                    Json(json!({
                        "upload_url": format!("{base}/bucket/obj-1?signature=abc"),
                        "file_url": "https://cdn.example/obj-1.png"
                    }))
                },
            ),
        )
        .route(
            "/bucket/obj-1",
            put(move |headers: HeaderMap, body: bytes::Bytes| async move {
                let ct = headers
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                s2.put
                    .lock()
                    .expect("lock")
                    .push((auth_of(&headers), ct, body.to_vec()));
                StatusCode::OK
            }),
        );
    let base = serve(app).await;
    *base_cell.lock().expect("lock") = base.clone();
    let fal = client(config(&base));
    let url = fal
        .upload(
            bytes::Bytes::from_static(b"\x89PNG..."),
            "image/png",
            "in.png",
        )
        .await
        .expect("uploaded");
    assert_eq!(url, "https://cdn.example/obj-1.png");
    assert_eq!(
        seen.initiated.lock().expect("lock").as_slice(),
        &[(
            Some(format!("Key {KEY}")),
            json!({"content_type": "image/png", "file_name": "in.png"})
        )]
    );
    assert_eq!(
        seen.put.lock().expect("lock").as_slice(),
        &[(None, Some("image/png".to_owned()), b"\x89PNG...".to_vec())]
    );
}

// ---- webhooks ----

/// A JWKS endpoint serving the public halves of `keys`, counting fetches.
#[derive(Default)]
struct JwksServer {
    keys: Mutex<Vec<SigningKey>>,
    hits: AtomicUsize,
    broken: AtomicBool,
}

async fn jwks_server(keys: Vec<SigningKey>) -> (String, Arc<JwksServer>) {
    let state = Arc::new(JwksServer {
        keys: Mutex::new(keys),
        ..JwksServer::default()
    });
    let s = state.clone();
    let app = Router::new().route(
        "/jwks",
        get(move || {
            s.hits.fetch_add(1, Ordering::SeqCst);
            let broken = s.broken.load(Ordering::SeqCst);
            let keys: Vec<Value> = s
                .keys
                .lock()
                .expect("lock")
                .iter()
                .map(|k| {
                    json!({
                        "kty": "OKP", "crv": "Ed25519", "kid": "k",
                        "x": URL_SAFE_NO_PAD.encode(k.verifying_key().to_bytes())
                    })
                })
                .collect();
            async move {
                if broken {
                    (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({})))
                } else {
                    (StatusCode::OK, Json(json!({ "keys": keys })))
                }
            }
        }),
    );
    let base = serve(app).await;
    (format!("{base}/jwks"), state)
}

const TS: i64 = 1_790_000_000;
const BODY: &[u8] = br#"{"request_id":"req-9","status":"OK","payload":{"images":[]}}"#;

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn signed(key: &SigningKey, request_id: &str, ts: i64, body: &[u8]) -> HeaderMap {
    let ts = ts.to_string();
    let message = webhook_message(request_id, "user-1", &ts, body);
    let signature = hex::encode(key.sign(&message).to_bytes());
    let mut h = HeaderMap::new();
    let mut set = |name: &'static str, value: &str| {
        h.insert(name, HeaderValue::from_str(value).expect("header"));
    };
    set("x-fal-webhook-request-id", request_id);
    set("x-fal-webhook-user-id", "user-1");
    set("x-fal-webhook-timestamp", &ts);
    set("x-fal-webhook-signature", &signature);
    h
}

#[tokio::test]
async fn a_valid_webhook_verifies_and_the_keys_are_cached() {
    let (url, jwks) = jwks_server(vec![key(1)]).await;
    let verifier = WebhookVerifier::new(url, reqwest::Client::new());
    let headers = signed(&key(1), "req-9", TS, BODY);
    for _ in 0..3 {
        let id = verifier
            .verify(&headers, BODY, TS + 5)
            .await
            .expect("verified");
        assert_eq!(id, "req-9");
    }
    assert_eq!(jwks.hits.load(Ordering::SeqCst), 1);
    // Upper-case hex and a timestamp a little ahead of us are fine too.
    let mut upper = headers.clone();
    let sig = upper["x-fal-webhook-signature"]
        .to_str()
        .expect("text")
        .to_uppercase();
    upper.insert(
        "x-fal-webhook-signature",
        HeaderValue::from_str(&sig).expect("header"),
    );
    verifier
        .verify(&upper, BODY, TS - 200)
        .await
        .expect("verified");
}

#[tokio::test]
async fn a_wrong_signature_is_refused() {
    let (url, _jwks) = jwks_server(vec![key(1)]).await;
    let verifier = WebhookVerifier::new(url, reqwest::Client::new());
    // Signed for another request id than the header says.
    let mut headers = signed(&key(1), "req-other", TS, BODY);
    headers.insert(
        "x-fal-webhook-request-id",
        HeaderValue::from_static("req-9"),
    );
    assert!(matches!(
        verifier.verify(&headers, BODY, TS).await,
        Err(WebhookError::BadSignature)
    ));
    for junk in ["zz", "abcd", ""] {
        let mut h = signed(&key(1), "req-9", TS, BODY);
        h.insert(
            "x-fal-webhook-signature",
            HeaderValue::from_str(junk).expect("header"),
        );
        let r = verifier.verify(&h, BODY, TS).await;
        assert!(
            matches!(
                r,
                Err(WebhookError::BadSignature | WebhookError::Missing(_))
            ),
            "{r:?}"
        );
    }
}

#[tokio::test]
async fn a_body_changed_after_signing_is_refused() {
    let (url, _jwks) = jwks_server(vec![key(1)]).await;
    let verifier = WebhookVerifier::new(url, reqwest::Client::new());
    let headers = signed(&key(1), "req-9", TS, BODY);
    let changed = br#"{"request_id":"req-9","status":"OK","payload":{"images":[{"url":"https://evil.example/x.png"}]}}"#;
    assert!(matches!(
        verifier.verify(&headers, changed, TS).await,
        Err(WebhookError::BadSignature)
    ));
}

#[tokio::test]
async fn stale_timestamps_are_refused() {
    let (url, jwks) = jwks_server(vec![key(1)]).await;
    let verifier = WebhookVerifier::new(url, reqwest::Client::new());
    let old = signed(&key(1), "req-9", TS - 600, BODY);
    assert!(matches!(
        verifier.verify(&old, BODY, TS).await,
        Err(WebhookError::Stale)
    ));
    let future = signed(&key(1), "req-9", TS + 600, BODY);
    assert!(matches!(
        verifier.verify(&future, BODY, TS).await,
        Err(WebhookError::Stale)
    ));
    let mut h = signed(&key(1), "req-9", TS, BODY);
    h.insert(
        "x-fal-webhook-timestamp",
        HeaderValue::from_static("yesterday"),
    );
    assert!(matches!(
        verifier.verify(&h, BODY, TS).await,
        Err(WebhookError::Stale)
    ));
    assert_eq!(
        jwks.hits.load(Ordering::SeqCst),
        0,
        "refused before any key is needed"
    );
}

#[tokio::test]
async fn missing_headers_are_named() {
    let (url, _jwks) = jwks_server(vec![key(1)]).await;
    let verifier = WebhookVerifier::new(url, reqwest::Client::new());
    let full = signed(&key(1), "req-9", TS, BODY);
    for (name, shown) in [
        ("x-fal-webhook-request-id", "X-Fal-Webhook-Request-Id"),
        ("x-fal-webhook-user-id", "X-Fal-Webhook-User-Id"),
        ("x-fal-webhook-timestamp", "X-Fal-Webhook-Timestamp"),
        ("x-fal-webhook-signature", "X-Fal-Webhook-Signature"),
    ] {
        let mut h = full.clone();
        h.remove(name);
        match verifier.verify(&h, BODY, TS).await {
            Err(WebhookError::Missing(n)) => assert_eq!(n, shown),
            other => panic!("expected {shown} missing, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn an_unknown_key_refetches_once_then_is_refused_and_refetches_are_limited() {
    let (url, jwks) = jwks_server(vec![key(1)]).await;
    let verifier = WebhookVerifier::new(url, reqwest::Client::new());
    let fetches = || jwks.hits.load(Ordering::SeqCst);
    let known = signed(&key(1), "req-9", TS, BODY);
    let unknown = signed(&key(7), "req-9", TS, BODY);

    verifier.verify(&known, BODY, TS).await.expect("known key");
    assert_eq!(fetches(), 1);

    // Fetched less than a minute ago: no refetch for an unknown key.
    for _ in 0..3 {
        assert!(matches!(
            verifier.verify(&unknown, BODY, TS).await,
            Err(WebhookError::BadSignature)
        ));
    }
    assert_eq!(fetches(), 1);

    // A minute later an unknown key prompts one refetch, then is refused.
    verifier.backdate_fetch(Duration::from_secs(61));
    assert!(matches!(
        verifier.verify(&unknown, BODY, TS).await,
        Err(WebhookError::BadSignature)
    ));
    assert_eq!(fetches(), 2);
    assert!(matches!(
        verifier.verify(&unknown, BODY, TS).await,
        Err(WebhookError::BadSignature)
    ));
    assert_eq!(fetches(), 2);

    // fal rotates its keys: after the interval the new key is fetched and verifies.
    jwks.keys.lock().expect("lock").push(key(7));
    verifier.backdate_fetch(Duration::from_secs(61));
    verifier
        .verify(&unknown, BODY, TS)
        .await
        .expect("rotated key");
    assert_eq!(fetches(), 3);
    verifier.verify(&known, BODY, TS).await.expect("old key");
    assert_eq!(fetches(), 3);
}

#[tokio::test]
async fn an_unreachable_jwks_is_a_jwks_error_and_retried_while_no_key_is_cached() {
    let (url, jwks) = jwks_server(vec![key(1)]).await;
    jwks.broken.store(true, Ordering::SeqCst);
    let verifier = WebhookVerifier::new(url, reqwest::Client::new());
    let headers = signed(&key(1), "req-9", TS, BODY);
    for attempt in 1..=2 {
        assert!(matches!(
            verifier.verify(&headers, BODY, TS).await,
            Err(WebhookError::Jwks(_))
        ));
        assert_eq!(jwks.hits.load(Ordering::SeqCst), attempt);
    }
    jwks.broken.store(false, Ordering::SeqCst);
    verifier.verify(&headers, BODY, TS).await.expect("verified");

    let nowhere = WebhookVerifier::new(
        format!("{}/jwks", closed_port().await),
        reqwest::Client::new(),
    );
    assert!(matches!(
        nowhere.verify(&headers, BODY, TS).await,
        Err(WebhookError::Jwks(_))
    ));
}

#[tokio::test]
async fn concurrent_unknown_signatures_share_one_fetch() {
    let (url, jwks) = jwks_server(vec![key(1)]).await;
    let verifier = WebhookVerifier::new(url, reqwest::Client::new());
    let headers = signed(&key(1), "req-9", TS, BODY);
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let v = verifier.clone();
            let h = headers.clone();
            tokio::spawn(async move { v.verify(&h, BODY, TS).await })
        })
        .collect();
    for call in calls {
        call.await.expect("joined").expect("verified");
    }
    assert_eq!(jwks.hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn verified_body_parses_into_its_outcome() {
    let (url, _jwks) = jwks_server(vec![key(1)]).await;
    let verifier = WebhookVerifier::new(url, reqwest::Client::new());
    let headers = signed(&key(1), "req-9", TS, BODY);
    let id = verifier.verify(&headers, BODY, TS).await.expect("verified");
    let hook = FalWebhook::parse(BODY).expect("fal's shape");
    assert_eq!(hook.request_id, id);
    assert_eq!(hook.outcome(), Ok(Some(json!({"images": []}))));
}
