//! Balances, history and prices: the free plan's month on first use (once), grants from the
//! admin command that roll over, estimates before a click, and refusals of bad queries.

use super::helpers::{assert_ledger_matches, history, kinds_of};
use crate::common::{Backend, TestServer};
use chrono::{Datelike, TimeZone, Utc};

async fn a_new_user_gets_the_month_once_and_sees_prices(b: Backend) {
    let srv = TestServer::default(b).await;
    let alice = srv.user("alice");
    let c = alice.get("/v1/credits").await.expect(200).clone();
    assert_eq!(c["plan"], "free");
    assert_eq!(c["available"], 100);
    assert_eq!(c["allocation"], 100);
    assert_eq!(c["grants"], 0);
    assert_eq!(c["reserved"], 0);
    assert_eq!(c["monthlyAllocation"], 100);
    let now = Utc::now();
    let (y, m) = if now.month() == 12 {
        (now.year() + 1, 1)
    } else {
        (now.year(), now.month() + 1)
    };
    let next = Utc.with_ymd_and_hms(y, m, 1, 0, 0, 0).unwrap();
    let ends = chrono::DateTime::parse_from_rfc3339(c["periodEndsAt"].as_str().unwrap()).unwrap();
    assert_eq!(ends, next, "the free period is the UTC month");
    // Reading again (also in parallel) allocates nothing more.
    let reads = (0..10).map(|_| {
        let a = alice.clone();
        async move { a.get("/v1/credits").await.expect(200)["available"].clone() }
    });
    for available in futures::future::join_all(reads).await {
        assert_eq!(available, 100);
    }
    let rows = history(&alice).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["kind"], "allocation");
    assert_eq!(rows[0]["amount"], 100);
    assert_eq!(rows[0]["balanceAfter"], 100);
    assert_eq!(
        kinds_of(&rows, rows[0]["cause"].as_str().unwrap()),
        ["allocation"]
    );

    // Prices before a click: base × size × model × count (docs/api.md).
    let price = |q: &'static str| {
        let a = alice.clone();
        async move { a.get(&format!("/v1/credits/estimate{q}")).await }
    };
    let e = price("").await.expect(200).clone();
    assert_eq!(
        (e["credits"].as_i64(), e["available"].as_i64()),
        (Some(3), Some(100))
    );
    assert_eq!(e["model"], "fal-ai/flux/dev");
    assert_eq!(price("?numImages=4").await.expect(200)["credits"], 12);
    assert_eq!(
        price("?imageSize=square&numImages=2").await.expect(200)["credits"],
        4
    );
    assert_eq!(
        price("?kind=image-to-image").await.expect(200)["credits"],
        5
    );
    assert_eq!(
        price("?kind=image-to-video&durationS=10").await.expect(200)["credits"],
        80
    );
    for bad in [
        "?kind=poem",
        "?numImages=9",
        "?numImages=0",
        "?imageSize=huge",
        "?model=fal-ai/kling-video/v2.1/standard/image-to-video",
        "?durationS=99",
    ] {
        price(bad).await.expect_error(422, "VALIDATION_FAILED");
    }
    price("?numImages=lots").await.expect(400);
    alice
        .get("/v1/credits/history?cursor=nonsense")
        .await
        .expect_error(422, "VALIDATION_FAILED");
    alice
        .get("/v1/credits/history?limit=0")
        .await
        .expect_error(422, "VALIDATION_FAILED");
    for path in ["/v1/credits", "/v1/credits/history", "/v1/credits/estimate"] {
        srv.anonymous()
            .get(path)
            .await
            .expect_error(401, "UNAUTHENTICATED");
    }
    assert_ledger_matches(&alice).await;
}

async fn admin_grants_roll_over_and_are_in_the_history(b: Backend) {
    let srv = TestServer::default(b).await;
    let alice = srv.user("alice");
    alice.get("/v1/credits").await.expect(200);
    let admin = |args: &[&str]| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_iskra-server"));
        cmd.args(args)
            .env("ISKRA_DATA_DIR", &srv.data_dir)
            .env("ISKRA_LOG_FORMAT", "pretty");
        if let Some(url) = &srv.config.database_url {
            cmd.env("ISKRA_DATABASE_URL", url);
        }
        let out = cmd.output().expect("iskra-server runs");
        assert!(out.status.success(), "{args:?}: {out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    admin(&[
        "credits",
        "grant",
        "alice",
        "50",
        "--reason",
        "launch promo",
    ]);
    let c = alice.get("/v1/credits").await.expect(200).clone();
    assert_eq!(
        (c["available"].as_i64(), c["grants"].as_i64()),
        (Some(150), Some(50))
    );
    let rows = history(&alice).await;
    assert_eq!(rows[0]["kind"], "grant");
    assert_eq!(rows[0]["reason"], "launch promo");
    assert!(rows[0]["cause"].as_str().unwrap().starts_with("admin:"));
    let shown = admin(&["credits", "show", "alice"]);
    assert!(shown.contains("\"available\": 150"), "{shown}");
    assert!(shown.contains("launch promo"), "{shown}");
    // An upgrade by the admin command tops the period up to the new plan, once.
    admin(&["users", "set-tier", "alice", "pro"]);
    let c = alice.get("/v1/credits").await.expect(200).clone();
    assert_eq!(c["plan"], "pro");
    assert_eq!(c["available"], 2_050, "{c}");
    assert_ledger_matches(&alice).await;
}

backend_tests!(
    a_new_user_gets_the_month_once_and_sees_prices,
    admin_grants_roll_over_and_are_in_the_history,
);
