//! Helpers of the credits tests: grants through the service, the ledger read back through the
//! API, and the invariant every account keeps.

use crate::common::{TestServer, User};
use serde_json::{json, Value};

/// Grants `amount` credits to `user` (a real ledger movement, cause unique per call).
pub async fn grant(srv: &TestServer, user: &str, amount: i64) {
    srv.state.store.ensure_user(user, None).await.unwrap();
    let cause = format!("test:{}", uuid::Uuid::new_v4());
    let applied = iskra_server::credits::grant(&srv.state, user, amount, "test grant", &cause)
        .await
        .unwrap();
    assert!(applied);
}

/// The whole ledger of `user`, newest first, through `GET /v1/credits/history`.
pub async fn history(user: &User) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/credits/history?limit=100&cursor={c}"),
            None => "/v1/credits/history?limit=100".to_owned(),
        };
        let page = user.get(&path).await.expect(200).clone();
        out.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return out,
        }
    }
}

/// Rows of the ledger about one cause, as `kind` names.
pub fn kinds_of(rows: &[Value], cause: &str) -> Vec<String> {
    let mut kinds: Vec<String> = rows
        .iter()
        .filter(|r| r["cause"] == cause)
        .map(|r| r["kind"].as_str().unwrap().to_owned())
        .collect();
    kinds.sort();
    kinds
}

/// Checks that the ledger sums to the balance, that no row ever shows a negative balance and
/// that each row's `balanceAfter` follows from the one before it. Returns the credits.
pub async fn assert_ledger_matches(user: &User) -> Value {
    let credits = user.get("/v1/credits").await.expect(200).clone();
    let rows = history(user).await;
    let amount: i64 = rows.iter().map(|r| r["amount"].as_i64().unwrap()).sum();
    let held: i64 = rows.iter().map(|r| r["held"].as_i64().unwrap()).sum();
    assert_eq!(
        json!([amount, held]),
        json!([credits["available"], credits["reserved"]]),
        "the ledger sums to the balance: {credits}"
    );
    let mut oldest_first = rows.clone();
    oldest_first.reverse();
    let (mut balance, mut reserved) = (0_i64, 0_i64);
    for r in &oldest_first {
        balance += r["amount"].as_i64().unwrap();
        reserved += r["held"].as_i64().unwrap();
        assert_eq!(r["balanceAfter"].as_i64().unwrap(), balance, "{r}");
        assert_eq!(r["reservedAfter"].as_i64().unwrap(), reserved, "{r}");
        assert!(balance >= 0 && reserved >= 0, "never negative: {r}");
    }
    credits
}
