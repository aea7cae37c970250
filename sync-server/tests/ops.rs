//! Operations (S12): `/health` (JSON, HEAD, 503 when the database is gone), Prometheus
//! `/metrics` (on its own listener; on the API listener only with the metrics token), an
//! OpenAPI 3.1 document listing exactly the routes the router serves, `x-request-id` on every
//! response, and a graceful shutdown that finishes an upload in flight and ends event streams.

#[macro_use]
mod common;

use common::media::{png, sha256_hex};
use common::sse::EventStream;
use common::{poll_until, send, status_of, Backend, TestServer};
use reqwest::Method;
use serde_json::json;
use std::collections::BTreeSet;
use uuid::Uuid;

async fn health_reports_every_check(b: Backend) {
    let srv = TestServer::default(b).await;
    let anon = srv.anonymous();
    let health = anon.get("/health").await;
    assert_eq!(
        health.expect(200),
        &json!({"status": "ok", "version": env!("CARGO_PKG_VERSION"),
        "checks": {"database": "ok", "storage": "ok", "fal": "unconfigured"}})
    );
    let head = anon.head("/health").await;
    assert_eq!((head.status, head.bytes.len()), (200, 0));
    // With the database gone, health says which check failed.
    srv.state.store.close().await;
    let down = anon.get("/health").await;
    assert_eq!(
        (
            down.expect(503)["status"].as_str(),
            down.json["checks"]["database"].as_str()
        ),
        (Some("degraded"), Some("down"))
    );
    assert_eq!(down.json["checks"]["storage"], "ok");
    assert_eq!(anon.head("/health").await.status, 503);
}

async fn metrics_count_requests(b: Backend) {
    let srv = TestServer::start(b, |cfg| cfg.metrics_token = Some("scrape-token".into())).await;
    srv.user("alice").get("/v1/me").await.expect(200);
    // On the API listener only with the metrics token.
    let anon = srv.anonymous();
    anon.get("/metrics")
        .await
        .expect_error(401, "UNAUTHENTICATED");
    let wrong = anon
        .request(Method::GET, "/metrics")
        .bearer_auth("scrape-tokeN");
    send(wrong).await.expect_error(401, "UNAUTHENTICATED");
    let user = srv.user("alice").get("/metrics").await;
    user.expect_error(401, "UNAUTHENTICATED");
    let with_token = anon
        .request(Method::GET, "/metrics")
        .bearer_auth("scrape-token");
    send(with_token).await.expect(200);
    // The metrics listener serves them without credentials.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(iskra_server::serve_metrics(srv.state.clone(), listener));
    let res = srv
        .http
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .expect("metrics listener");
    assert_eq!(res.status(), 200);
    assert!(res
        .headers()
        .get("content-type")
        .and_then(|t| t.to_str().ok())
        .is_some_and(|t| t.starts_with("text/plain")));
    let text = res.text().await.unwrap();
    assert!(text.contains("iskra_http_requests_total"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("iskra_http_requests_total") && l.contains(r#"route="/v1/me""#)),
        "{text}"
    );
    assert!(text.contains("iskra_http_request_duration_seconds"));
    let other = srv
        .http
        .get(format!("http://{addr}/v1/me"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        other.status(),
        404,
        "the metrics listener serves nothing else"
    );
    // Without a token configured, the API listener never serves them.
    let plain = TestServer::default(b).await;
    let res = plain
        .anonymous()
        .request(Method::GET, "/metrics")
        .bearer_auth("");
    send(res).await.expect_error(401, "UNAUTHENTICATED");
}

/// Every path docs/api.md names (with `{…}` parameters), implemented yet or not.
const API_MD_PATHS: &[&str] = &[
    "/health",
    "/metrics",
    "/openapi.json",
    "/v1/me",
    "/v1/quota",
    "/v1/projects",
    "/v1/projects/{id}",
    "/v1/projects/{id}/sync",
    "/v1/projects/{id}/changes",
    "/v1/events",
    "/v1/assets",
    "/v1/assets/{id}",
    "/v1/assets/{id}/content",
    "/files/{token}",
    "/v1/generations",
    "/v1/generations/{id}",
    "/v1/webhooks/fal",
    "/v1/webhooks/clerk",
    "/v1/webhooks/stripe",
    "/v1/billing/checkout",
    "/v1/billing/portal",
    "/v1/credits",
    "/v1/api-keys",
    "/v1/assets/{id}/share",
    "/v1/shares",
    "/v1/gallery",
    "/t/{shortId}",
    "/t/{shortId}/image",
    "/t/{shortId}/og.jpg",
    "/robots.txt",
];

/// Methods probed on every path. HEAD is checked apart: its 404 has no body that could tell the
/// router's fallback from a handler, and axum answers HEAD on every GET route.
const METHODS: [Method; 5] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
];

async fn openapi_lists_exactly_the_served_routes(b: Backend) {
    // Billing configured, so its routes answer past the 503 of a server without it (Stripe
    // itself is unreachable: no probe gets that far).
    let srv = TestServer::start(b, |cfg| {
        cfg.stripe_secret_key = Some("sk_test_probe".into());
        cfg.stripe_api_url = "http://127.0.0.1:9".into();
    })
    .await;
    let user = srv.user("prober");
    let doc = srv.openapi().await;
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1")),
        "{}",
        doc["openapi"]
    );
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    let concrete = |path: &str| {
        path.replace("{id}", &Uuid::new_v4().to_string())
            .replace("{token}", "a.b")
    };
    let mut documented = BTreeSet::new();
    for (method, path, _) in common::operations(&doc) {
        if method == Method::HEAD {
            let (status, _) = status_of(user.request(Method::HEAD, &concrete(&path))).await;
            assert!(status != 405 && status < 500, "HEAD {path}: {status}");
        } else {
            documented.insert((method.to_string(), path));
        }
    }
    let mut paths: BTreeSet<String> = API_MD_PATHS.iter().map(|p| p.to_string()).collect();
    paths.extend(documented.iter().map(|(_, p)| p.clone()));
    let mut served = BTreeSet::new();
    for path in &paths {
        let concrete = concrete(path);
        for method in METHODS {
            let req = user.request(method.clone(), &concrete).json(&json!({}));
            let (status, body) = status_of(req).await;
            assert!(status < 500, "{method} {path}: {status} {body}");
            let unrouted =
                status == 405 || (status == 404 && body["error"]["message"] == "route not found");
            if !unrouted {
                served.insert((method.to_string(), path.clone()));
            }
        }
    }
    assert_eq!(
        served, documented,
        "served routes (left) differ from /openapi.json (right)"
    );
}

/// `METHOD /path` with every `{parameter}` written `{}` (docs and document may name them apart).
fn operation_key(method: &str, path: &str) -> String {
    let mut out = format!("{method} ");
    let mut in_param = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_param = true;
                out.push_str("{}");
            }
            '}' => in_param = false,
            c if !in_param => out.push(c),
            _ => {}
        }
    }
    out
}

/// Every `` `METHOD /path` `` docs/api.md mentions.
fn api_md_operations() -> BTreeSet<String> {
    let md = include_str!("../../docs/api.md");
    let methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"];
    md.split('`')
        .skip(1)
        .step_by(2)
        .filter_map(|code| {
            let (method, path) = code.split_once(' ')?;
            let path = path.split(['?', ' ']).next()?;
            (methods.contains(&method) && path.starts_with('/'))
                .then(|| operation_key(method, path))
        })
        .collect()
}

async fn api_md_lists_exactly_the_operations_of_openapi(b: Backend) {
    let srv = TestServer::default(b).await;
    let doc = srv.openapi().await;
    let documented: BTreeSet<String> = common::operations(&doc)
        .iter()
        .map(|(method, path, _)| operation_key(method.as_str(), path))
        .collect();
    assert!(documented.len() > 40, "{documented:?}");
    assert_eq!(
        api_md_operations(),
        documented,
        "docs/api.md (left) and /openapi.json (right) name different operations"
    );
}

async fn every_response_has_a_request_id(b: Backend) {
    let srv = TestServer::default(b).await;
    let alice = srv.user("alice");
    let asset = alice.upload(&png(4, 4, 0), "image/png").await;
    let responses = vec![
        asset,
        alice.get("/v1/me").await,
        alice.head("/v1/assets/00").await,
        alice.get("/nowhere").await,
        alice.delete("/v1/me").await,
        alice.post("/v1/projects", &json!({"nope": 1})).await,
        srv.anonymous().get("/v1/projects").await,
        srv.anonymous().get("/openapi.json").await,
        send(srv.http.get(srv.url("/files/x.y"))).await,
    ];
    let ids: BTreeSet<String> = responses
        .iter()
        .map(|r| r.header("x-request-id").unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), responses.len(), "request ids are unique");
    let mine = send(
        alice
            .request(Method::GET, "/v1/me")
            .header("x-request-id", "trace-42"),
    )
    .await;
    assert_eq!(
        mine.header("x-request-id"),
        Some("trace-42"),
        "a client's request id is kept"
    );
}

async fn graceful_shutdown_finishes_uploads_in_flight(b: Backend) {
    let srv = TestServer::default(b).await;
    let alice = srv.user("alice");
    alice.get("/v1/me").await.expect(200);
    let mut events = EventStream::open(&alice, None).await;
    let bytes = png(200, 150, 3);
    let (head, tail) = bytes.split_at(bytes.len() / 2);
    let (tx, rx) = futures::channel::mpsc::unbounded::<Result<Vec<u8>, std::io::Error>>();
    let req = alice
        .request(Method::PUT, &format!("/v1/assets/{}", sha256_hex(&bytes)))
        .header("content-type", "image/png");
    let upload = tokio::spawn(send(req.body(reqwest::Body::wrap_stream(rx))));
    tx.unbounded_send(Ok(head.to_vec())).unwrap();
    poll_until("the upload is in flight", || async {
        !srv.tmp_files().is_empty()
    })
    .await;

    srv.begin_shutdown();
    assert!(
        events.next().await.is_none(),
        "event streams end when shutdown begins"
    );
    tx.unbounded_send(Ok(tail.to_vec())).unwrap();
    drop(tx);
    let res = upload.await.expect("upload task");
    assert_eq!(
        res.expect(201)["width"],
        200,
        "the upload in flight completed"
    );
    srv.stopped().await.expect("the server stopped cleanly");
    assert!(
        srv.http.get(srv.url("/health")).send().await.is_err(),
        "no new requests after shutdown"
    );
}

backend_tests!(
    health_reports_every_check,
    metrics_count_requests,
    openapi_lists_exactly_the_served_routes,
    api_md_lists_exactly_the_operations_of_openapi,
    every_response_has_a_request_id,
    graceful_shutdown_finishes_uploads_in_flight,
);
