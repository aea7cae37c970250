//! A key's life: created and shown once, listed without the secret, working only on the
//! images routes its scopes allow, refused (401, one answer for every reason) on the very next
//! request after revocation on both replicas, at most 20 per user; and the key never appears
//! in the database, the data dir, the logs or any response after its creation.

use super::support::{capture_logs, create_key, logs, KeyClient};
use crate::common::{files_under, Backend, TestServer};
use serde_json::{json, Value};
use sqlx::{Connection, Row};

/// Asserts the key's secret part is nowhere in the server's data: the data dir's files
/// (SQLite database and WAL), and on PostgreSQL every row of every table as text.
async fn assert_not_stored(srv: &TestServer, key: &str) {
    for file in files_under(&srv.data_dir) {
        let bytes = std::fs::read(&file).unwrap_or_default();
        assert!(
            !bytes.windows(key.len()).any(|w| w == key.as_bytes()),
            "the key is in {}",
            file.display()
        );
    }
    if let Some(url) = srv.config.database_url.as_deref() {
        let mut conn = sqlx::postgres::PgConnection::connect(url).await.unwrap();
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'",
        )
        .fetch_all(&mut conn)
        .await
        .unwrap();
        assert!(tables.iter().any(|t| t == "api_keys"), "{tables:?}");
        for table in tables {
            let dump: Option<String> = sqlx::query(&format!(
                "SELECT string_agg(t::text, E'\\n') FROM \"{table}\" t"
            ))
            .fetch_one(&mut conn)
            .await
            .unwrap()
            .get(0);
            assert!(
                !dump.unwrap_or_default().contains(key),
                "the key is in table {table}"
            );
        }
        let _ = conn.close().await;
    }
}

async fn a_key_lives_and_dies_and_is_never_kept(b: Backend) {
    capture_logs();
    let srv = TestServer::default(b).await;
    let alice = srv.user("alice");
    let created = create_key(&alice, "ci", None).await;
    let key = created["key"].as_str().unwrap().to_owned();
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(key.len(), 42, "{created}");
    assert!(key.starts_with("isk_"));
    assert_eq!(created["prefix"], json!(&key[..8]));
    assert_eq!(created["scopes"], json!(["images:generate", "images:read"]));
    assert_eq!(created["name"], "ci");

    // Listed without the secret.
    let list = alice.get("/v1/api-keys").await;
    let items = list.expect(200)["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], json!(id));
    assert_eq!(items[0]["usageToday"]["requests"], 0);
    assert!(items[0].get("key").is_none());

    // The key works on its routes, and only there.
    let k = KeyClient::new(&srv, &key);
    let mut seen: Vec<Value> = Vec::new();
    let res = k.get("/v1/images/usage").await;
    seen.push(res.expect(200).clone());
    for (path, method) in [
        ("/v1/projects", reqwest::Method::GET),
        ("/v1/api-keys", reqwest::Method::GET),
        ("/v1/api-keys", reqwest::Method::POST),
        ("/v1/generations", reqwest::Method::GET),
    ] {
        let res = crate::common::send(k.request(method, path).json(&json!({"name": "x"}))).await;
        seen.push(res.expect_error(403, "FORBIDDEN").clone());
    }
    let readonly = create_key(&alice, "read only", Some(&["images:read"])).await;
    let ro = KeyClient::new(&srv, readonly["key"].as_str().unwrap());
    ro.get("/v1/images/usage").await.expect(200);
    let res = ro
        .post("/v1/images/generate", &json!({"prompt": "x"}))
        .await;
    assert!(res.expect_error(403, "FORBIDDEN")["message"]
        .as_str()
        .unwrap()
        .contains("images:generate"));

    // A second replica sees the same key (scaled: same database and Redis).
    let other = match b {
        Backend::Scaled => Some(srv.replica().await),
        Backend::Embedded => None,
    };
    let k2 = other.as_ref().map(|o| KeyClient::new(o, &key));
    if let Some(k2) = &k2 {
        k2.get("/v1/images/usage").await.expect(200);
    }

    // Revoked: the very next request is refused, on both replicas, with the same answer as
    // an unknown key and a mistyped one.
    alice
        .delete(&format!("/v1/api-keys/{id}"))
        .await
        .expect(204);
    let revoked = k.get("/v1/images/usage").await;
    let revoked_body = revoked.expect_error(401, "UNAUTHENTICATED").clone();
    if let Some(k2) = &k2 {
        let res = k2.get("/v1/images/usage").await;
        assert_eq!(res.expect_error(401, "UNAUTHENTICATED"), &revoked_body);
    }
    let mut typo = key.clone().into_bytes();
    typo[12] = if typo[12] == b'x' { b'y' } else { b'x' };
    let typo = String::from_utf8(typo).unwrap();
    let unknown = create_key(&alice, "gone", None).await;
    let unknown_key = unknown["key"].as_str().unwrap().to_owned();
    alice
        .delete(&format!("/v1/api-keys/{}", unknown["id"].as_str().unwrap()))
        .await
        .expect(204);
    for bad in [
        typo.as_str(),
        unknown_key.as_str(),
        "isk_short",
        "not a key",
    ] {
        let res = KeyClient::new(&srv, bad).get("/v1/images/usage").await;
        assert_eq!(
            res.expect_error(401, "UNAUTHENTICATED"),
            &revoked_body,
            "{bad}"
        );
    }
    alice
        .delete(&format!("/v1/api-keys/{id}"))
        .await
        .expect_error(404, "NOT_FOUND");
    // Another user cannot see or revoke alice's keys.
    let bob = srv.user("bob");
    bob.delete(&format!(
        "/v1/api-keys/{}",
        readonly["id"].as_str().unwrap()
    ))
    .await
    .expect_error(404, "NOT_FOUND");
    assert_eq!(
        bob.get("/v1/api-keys").await.expect(200)["items"],
        json!([])
    );

    // At most 20 active keys (the read-only one is still active).
    for i in 1..20 {
        create_key(&alice, &format!("k{i}"), None).await;
    }
    let res = alice
        .post("/v1/api-keys", &json!({"name": "one too many"}))
        .await;
    assert!(res.expect_error(409, "CONFLICT")["message"]
        .as_str()
        .unwrap()
        .contains("20"));
    let listed = alice.get("/v1/api-keys").await;
    seen.push(listed.expect(200).clone());
    assert_eq!(listed.json["items"].as_array().unwrap().len(), 20);

    // The secret never again: not in later responses, the database, the data dir, the logs.
    for body in &seen {
        assert!(!body.to_string().contains(&key[4..]), "{body}");
    }
    assert_not_stored(&srv, &key[4..]).await;
    assert_not_stored(&srv, &unknown_key[4..]).await;
    let logged = logs();
    assert!(logged.contains("API key created"), "logs are captured");
    assert!(!logged.contains(&key[4..]), "the key is in the logs");
    assert!(
        !logged.contains(&unknown_key[4..]),
        "the key is in the logs"
    );
}

backend_tests!(a_key_lives_and_dies_and_is_never_kept);
