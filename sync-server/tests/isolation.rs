//! Isolation (X2): another user's projects, assets, signed files and events answer exactly like
//! ids that do not exist (404 `NOT_FOUND`, same body), change nothing, and equal bytes uploaded
//! by two users are two independent assets.

#[macro_use]
mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::media::{png, sha256_hex};
use common::sse::EventStream;
use common::{Backend, Resp, TestServer, User};
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

/// The requests B tries on a project id.
async fn project_requests(b: &User, id: Uuid) -> Vec<(String, Resp)> {
    let sync = json!({"clientId": Uuid::new_v4(), "changes": [{"opId": Uuid::new_v4(),
        "elementId": Uuid::new_v4(), "set": {"x": 1}, "clock": "0001732300000000-000000-b"}]});
    vec![
        (
            "GET project".into(),
            b.get(&format!("/v1/projects/{id}")).await,
        ),
        (
            "PATCH project".into(),
            b.patch(&format!("/v1/projects/{id}"), &json!({"name": "mine now"}))
                .await,
        ),
        (
            "POST sync".into(),
            b.post(&format!("/v1/projects/{id}/sync"), &sync).await,
        ),
        (
            "GET changes".into(),
            b.get(&format!("/v1/projects/{id}/changes")).await,
        ),
        (
            "DELETE project".into(),
            b.delete(&format!("/v1/projects/{id}")).await,
        ),
    ]
}

/// The requests B tries on an asset hash.
async fn asset_requests(b: &User, sha: &str) -> Vec<(String, Resp)> {
    vec![
        (
            "HEAD asset".into(),
            b.head(&format!("/v1/assets/{sha}")).await,
        ),
        (
            "GET asset".into(),
            b.get(&format!("/v1/assets/{sha}")).await,
        ),
        (
            "GET content".into(),
            b.get(&format!("/v1/assets/{sha}/content")).await,
        ),
        (
            "DELETE asset".into(),
            b.delete(&format!("/v1/assets/{sha}")).await,
        ),
    ]
}

/// Asserts every foreign answer is a 404 identical to the answer for a missing id.
fn assert_same_as_missing(foreign: Vec<(String, Resp)>, missing: Vec<(String, Resp)>) {
    for ((what, f), (_, m)) in foreign.into_iter().zip(missing) {
        assert_eq!(f.status, 404, "{what} on a foreign id: {}", f.json);
        if what.starts_with("HEAD") {
            assert!(f.bytes.is_empty(), "HEAD has no body");
        } else {
            f.expect_error(404, "NOT_FOUND");
        }
        assert_eq!(
            f.json, m.json,
            "{what}: a foreign id must look exactly like a missing one"
        );
    }
}

async fn foreign_projects_and_assets_are_not_found(b: Backend) {
    let srv = TestServer::default(b).await;
    let (alice, bob) = (srv.user("alice"), srv.user("bob"));
    let project = alice.create_project(Some("Secret plans")).await;
    let pid: Uuid = project["id"].as_str().unwrap().parse().unwrap();
    let bytes = png(16, 16, 1);
    let asset = alice.upload(&bytes, "image/png").await.expect(201).clone();
    let sha = sha256_hex(&bytes);
    let before = alice.project(pid).await;

    assert_same_as_missing(
        project_requests(&bob, pid).await,
        project_requests(&bob, Uuid::new_v4()).await,
    );
    assert_same_as_missing(
        asset_requests(&bob, &sha).await,
        asset_requests(&bob, &sha256_hex(b"none")).await,
    );
    assert!(bob.list_all("/v1/projects", "").await.is_empty());
    assert!(bob.list_all("/v1/assets", "").await.is_empty());

    // Nothing B did touched A's data.
    assert_eq!(alice.project(pid).await, before);
    alice.head(&format!("/v1/assets/{sha}")).await.expect(200);
    assert_eq!(alice.storage().await["images"], 1);
    assert_eq!(bob.storage().await["usedBytes"], 0);

    // A signed URL is bearer-less; B cannot obtain one, and a forged token is 404.
    let url = asset["url"].as_str().unwrap().to_owned();
    let token = url.rsplit_once("/files/").unwrap().1.to_owned();
    let (payload, sig) = token.split_once('.').unwrap();
    let mut grant: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    assert_eq!(
        common::send(srv.http.get(&url)).await.bytes.as_ref(),
        bytes.as_slice()
    );
    grant["u"] = json!("bob");
    let forged_user = URL_SAFE_NO_PAD.encode(grant.to_string());
    grant["u"] = json!("alice");
    grant["e"] = json!(grant["e"].as_i64().unwrap() + 3600);
    let forged_expiry = URL_SAFE_NO_PAD.encode(grant.to_string());
    for bad in [
        format!("{forged_user}.{sig}"),
        format!("{forged_expiry}.{sig}"),
        format!("{payload}.{}", &sig[1..]),
    ] {
        let res = common::send(srv.http.get(srv.url(&format!("/files/{bad}")))).await;
        res.expect_error(404, "NOT_FOUND");
    }

    // B creating a project with A's id gets its own project; A's is untouched.
    let mine = bob
        .post("/v1/projects", &json!({"id": pid, "name": "Bob's"}))
        .await;
    assert_eq!(mine.expect(201)["name"], "Bob's");
    assert_eq!(alice.project(pid).await, before);
}

async fn same_bytes_are_separate_assets_per_user(b: Backend) {
    let srv = TestServer::default(b).await;
    let (alice, bob) = (srv.user("alice"), srv.user("bob"));
    let bytes = png(20, 10, 2);
    let sha = sha256_hex(&bytes);
    alice.upload(&bytes, "image/png").await.expect(201);
    bob.head(&format!("/v1/assets/{sha}")).await.expect(404);
    let bobs = bob.upload(&bytes, "image/png").await.expect(201).clone();
    assert_eq!(bobs["id"], sha);
    assert_eq!(bob.storage().await["images"], 1);

    alice.delete(&format!("/v1/assets/{sha}")).await.expect(204);
    alice.head(&format!("/v1/assets/{sha}")).await.expect(404);
    bob.head(&format!("/v1/assets/{sha}")).await.expect(200);
    let content = bob.get(&format!("/v1/assets/{sha}/content")).await;
    content.expect(200);
    assert_eq!(content.bytes.as_ref(), bytes.as_slice());
    let signed = common::send(srv.http.get(bobs["url"].as_str().unwrap())).await;
    assert_eq!(signed.bytes.as_ref(), bytes.as_slice());
    assert_eq!(bob.storage().await["images"], 1);
    assert_eq!(alice.storage().await["images"], 0);
}

async fn events_reach_only_their_user(b: Backend) {
    let srv = TestServer::default(b).await;
    let (alice, bob) = (srv.user("alice"), srv.user("bob"));
    let mut bobs_stream = EventStream::open(&bob, None).await;
    let mut alices_stream = EventStream::open(&alice, None).await;
    let alices = alice.new_project().await;
    alice
        .request(Method::PATCH, &format!("/v1/projects/{alices}"))
        .json(&json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    let bobs = bob.new_project().await;
    // B's first event is about B's own project: A's events never reached B's stream.
    let first = bobs_stream.next_named("project.changed").await;
    assert_eq!(first.data["projectId"], bobs.to_string());
    assert_eq!(
        alices_stream.next_named("project.changed").await.data["projectId"],
        alices.to_string()
    );
}

backend_tests!(
    foreign_projects_and_assets_are_not_found,
    same_bytes_are_separate_assets_per_user,
    events_reach_only_their_user,
);
