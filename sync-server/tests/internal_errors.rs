//! An internal failure keeps its cause: the whole chain (what the server was doing and why it
//! failed) is logged with the request id, and the client gets only the bare `INTERNAL` body.

#[macro_use]
mod common;

use common::logs::{capture_logs, logs};
use common::{send, Backend, TestServer};
use reqwest::Method;

async fn internal_error_chain_is_logged_with_the_request_id_not_returned(b: Backend) {
    capture_logs();
    let srv = TestServer::default(b).await;
    let alice = srv.user("alice");
    alice.get("/v1/me").await.expect(200);
    // The database goes away under the server: every query now fails inside sqlx.
    srv.state.store.close().await;
    let request_id = format!("internal-{}", uuid::Uuid::new_v4());
    let res = send(
        alice
            .request(Method::GET, "/v1/me")
            .header("x-request-id", &request_id),
    )
    .await;
    let error = res.expect_error(500, "INTERNAL");
    assert_eq!(
        error["message"],
        "internal error; see the server log for this request id"
    );
    let body = String::from_utf8_lossy(&res.bytes);
    for hidden in ["database", "closed pool"] {
        assert!(!body.contains(hidden), "the body names the cause: {body}");
    }
    assert_eq!(res.header("x-request-id"), Some(request_id.as_str()));
    let logged = logs();
    let line = logged
        .lines()
        .find(|l| l.contains(&request_id) && l.contains("internal error"))
        .unwrap_or_else(|| panic!("no internal error logged for {request_id}"));
    assert!(
        line.contains("database: attempted to acquire a connection on a closed pool"),
        "the context and its source are both logged: {line}"
    );
}

backend_tests!(internal_error_chain_is_logged_with_the_request_id_not_returned);
