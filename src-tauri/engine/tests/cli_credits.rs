//! `iskra credits` and `iskra credits history` end to end against the engine's fake server: the
//! balance as the server gives it, kept and shown again once the server is gone, the ledger's
//! page with its cursor passed on, and the signed-out refusal.

#[allow(dead_code)]
#[path = "../src/sync/fake_server.rs"]
mod fake_server;

#[allow(dead_code)]
mod common;

use common::{iskra, ok, signed_in};
use fake_server::{healthy, unreachable_url, FakeServer, Resp};
use serde_json::{json, Value};

#[test]
fn balance_history_and_the_kept_balance_offline() {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let server = rt.block_on(FakeServer::start(|req| {
        match req.path.split('?').next().unwrap_or("") {
            "/v1/credits" => Resp::json(
                200,
                json!({"available": 88, "reserved": 12, "allocation": 88, "grants": 0,
                    "monthlyAllocation": 100, "periodEndsAt": "2026-12-01T00:00:00Z",
                    "plan": "free"}),
            ),
            "/v1/credits/history" => Resp::json(
                200,
                json!({"items": [{"id": 2, "kind": "reserve", "amount": -12, "held": 12,
                    "balanceAfter": 88, "reservedAfter": 12, "reason": "generation",
                    "cause": "generation:g1", "createdAt": "2026-11-30T12:00:00Z"}],
                    "nextCursor": "c2"}),
            ),
            _ => healthy(req),
        }
    }));

    let balance = ok(signed_in(dir.path(), &server.url, &["credits"]));
    assert_eq!(balance["available"], json!(88));
    assert_eq!(balance["reserved"], json!(12));
    let page = ok(signed_in(
        dir.path(),
        &server.url,
        &["credits", "history", "--limit", "1", "--cursor", "c1"],
    ));
    assert_eq!(page["items"][0]["kind"], json!("reserve"));
    assert_eq!(page["nextCursor"], json!("c2"));
    let asked = server
        .calls()
        .into_iter()
        .find(|c| c.contains("/v1/credits/history"))
        .unwrap();
    assert!(
        asked.contains("limit=1") && asked.contains("cursor=c1"),
        "{asked}"
    );

    // The server is gone: the balance kept by the first call is shown.
    drop(rt);
    let kept = ok(signed_in(dir.path(), &unreachable_url(), &["credits"]));
    assert_eq!(kept["available"], json!(88));

    // Signed out: a clear refusal.
    let out = iskra(dir.path(), &["credits"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let err: Value = serde_json::from_str(stderr.lines().last().unwrap_or_default()).unwrap();
    assert_eq!(err["error"]["kind"], json!("auth"), "{stderr}");
}
