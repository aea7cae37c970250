//! API keys through the engine (S9), against the real server: a key is made (the key itself in
//! the answer only), listed with today's use, used by another program with `x-api-key`,
//! reported on by day, and revoked — refused from the next request on; the most keys an
//! account may hold is a clear refusal, and a name the server would refuse never leaves the
//! device.

use iskra_engine::sync::api_keys::{ApiKeyError, UsageQuery};
use iskra_protocol::{SCOPE_GENERATE, SCOPE_READ};
use iskra_tests::device::Device;
use iskra_tests::server::TestServer;

/// `GET /v1/images/usage` as another program would call it, with the key: the status.
async fn use_key(server: &TestServer, key: &str) -> u16 {
    reqwest::Client::new()
        .get(format!("{}/v1/images/usage", server.url()))
        .header("x-api-key", key)
        .send()
        .await
        .expect("GET /v1/images/usage")
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_is_made_used_reported_and_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let device = Device::new(&server.url(), &server.token("keeper"));

    let made = device
        .sync
        .create_api_key("  render farm ", Some(vec![SCOPE_READ.to_owned()]))
        .await
        .expect("create");
    assert!(
        made.key.starts_with("isk_") && made.key.len() == 42,
        "key form"
    );
    assert_eq!(made.info.name, "render farm");
    assert_eq!(made.info.prefix, made.key[..8]);
    assert_eq!(made.info.scopes, [SCOPE_READ]);
    assert!(made.info.last_used_at.is_none());

    let keys = device.sync.api_keys().await.expect("list");
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert_eq!(
        (keys[0].id, keys[0].usage_today.requests),
        (made.info.id, 0)
    );

    for _ in 0..3 {
        assert_eq!(use_key(&server, &made.key).await, 200, "the key works");
    }
    let keys = device.sync.api_keys().await.expect("list");
    assert_eq!(keys[0].usage_today.requests, 3, "{keys:?}");
    assert!(keys[0].last_used_at.is_some(), "last use recorded");

    let all = device
        .sync
        .api_key_usage(&UsageQuery::default())
        .await
        .expect("usage");
    assert_eq!(all.items.len(), 1, "{all:?}");
    assert_eq!(
        (all.items[0].key_id, all.items[0].usage.requests),
        (made.info.id, 3)
    );
    assert_eq!(all.total.requests, 3);
    let day = all.items[0].day.clone();
    assert_eq!((all.to.as_str(), day.len()), (day.as_str(), 10), "today");

    device
        .sync
        .revoke_api_key(made.info.id)
        .await
        .expect("revoke");
    assert_eq!(use_key(&server, &made.key).await, 401, "refused at once");
    assert!(device.sync.api_keys().await.expect("list").is_empty());
    let again = device.sync.revoke_api_key(made.info.id).await.unwrap_err();
    assert!(matches!(again, ApiKeyError::NotFound), "{again:?}");

    // A revoked key's use stays in the report, also on its own.
    let one = UsageQuery {
        from: Some(day.clone()),
        to: Some(day.clone()),
        key_id: Some(made.info.id),
    };
    let report = device.sync.api_key_usage(&one).await.expect("usage");
    assert_eq!((report.from.as_str(), report.to.as_str()), (&*day, &*day));
    assert_eq!(report.total.requests, 3, "{report:?}");

    let backwards = UsageQuery {
        from: Some("2026-02-01".into()),
        to: Some("2026-01-01".into()),
        key_id: None,
    };
    let bad = device.sync.api_key_usage(&backwards).await.unwrap_err();
    assert!(matches!(bad, ApiKeyError::Invalid(_)), "{bad:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_most_keys_allowed_and_bad_names_are_clear_refusals() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = TestServer::config(dir.path());
    cfg.api_keys.max_per_user = 2;
    let server = TestServer::start_with(cfg).await;
    let device = Device::new(&server.url(), &server.token("collector"));
    let other = Device::new(&server.url(), &server.token("stranger"));

    let first = device.sync.create_api_key("one", None).await.expect("one");
    assert_eq!(
        first.info.scopes,
        [SCOPE_GENERATE, SCOPE_READ],
        "both by default"
    );
    device.sync.create_api_key("two", None).await.expect("two");
    let third = device.sync.create_api_key("three", None).await.unwrap_err();
    match &third {
        ApiKeyError::TooMany(m) => assert!(m.contains("revoke one first"), "{m}"),
        other => panic!("expected TooMany, got {other:?}"),
    }
    assert_eq!(device.sync.api_keys().await.expect("list").len(), 2);

    for (name, scopes) in [
        ("   ", None),
        (&*"x".repeat(101), None),
        ("ok", Some(vec!["admin".to_owned()])),
        ("ok", Some(vec![])),
    ] {
        let e = device.sync.create_api_key(name, scopes).await.unwrap_err();
        assert!(matches!(e, ApiKeyError::Invalid(_)), "{name:?}: {e:?}");
    }

    let foreign = other.sync.revoke_api_key(first.info.id).await.unwrap_err();
    assert!(matches!(foreign, ApiKeyError::NotFound), "{foreign:?}");
    let theirs = other.sync.api_keys().await.expect("their list");
    assert!(theirs.is_empty(), "another account's keys are not listed");
    device
        .sync
        .revoke_api_key(first.info.id)
        .await
        .expect("revoke one");
    device
        .sync
        .create_api_key("three", None)
        .await
        .expect("room for one more");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_makes_lists_reports_and_revokes_keys() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    let device = Device::new(&server.url(), &server.token("scripter"));

    let made = device.cli(&["api-keys", "create", "nightly", "--scope", SCOPE_READ]);
    let key = made["key"].as_str().expect("the key, printed once");
    let id = made["id"].as_str().expect("id").to_owned();
    assert_eq!(made["scopes"], serde_json::json!([SCOPE_READ]));
    assert_eq!(use_key(&server, key).await, 200);

    let list = device.cli(&["api-keys", "list"]);
    assert_eq!(list[0]["id"], id.as_str());
    assert_eq!(list[0]["usageToday"]["requests"], 1);
    assert!(list[0].get("key").is_none(), "never the key itself");
    let usage = device.cli(&["api-keys", "usage", "--key", &id]);
    assert_eq!(usage["total"]["requests"], 1, "{usage}");

    device.cli(&["api-keys", "revoke", &id]);
    assert_eq!(use_key(&server, key).await, 401);
    assert_eq!(device.cli(&["api-keys", "list"]), serde_json::json!([]));
}
