//! The anonymous generation end to end, on both backends (the scaled one with a second
//! replica): quota, trusted proxies, the capability URL, the sweep, bad input, privacy.

use super::privacy::{assert_no_raw_address, capture_logs};
use crate::common::{poll_for, send, Backend, ManualClock, Resp, TestServer};
use crate::support;
use iskra_fake_fal::Progress;
use serde_json::{json, Value};

/// Addresses the test's clients claim through the trusted proxy (documentation ranges, so
/// nothing else in a run contains them).
const A: &str = "203.0.113.41";
const B: &str = "198.51.100.42";
const C: &str = "203.0.113.43";
const SPOOFED: &str = "198.51.100.44";

fn text(prompt: &str) -> Value {
    json!({ "kind": "text-to-image", "prompt": prompt })
}

/// An anonymous request through the trusted proxy (loopback) on behalf of `client`.
async fn post_as(server: &TestServer, client: &str, body: &Value) -> Resp {
    send(
        server
            .http
            .post(server.url("/v1/generations"))
            .header("x-forwarded-for", format!("{client}, 127.0.0.1"))
            .json(body),
    )
    .await
}

async fn quota_of(server: &TestServer, client: &str) -> Value {
    send(
        server
            .http
            .get(server.url("/v1/quota"))
            .header("x-forwarded-for", client),
    )
    .await
    .expect(200)
    .clone()
}

/// Reads an anonymous result by its URL until it has ended.
async fn wait_result(server: &TestServer, url: &str) -> Value {
    poll_for(&format!("{url} completed"), || async {
        let g = send(server.http.get(url)).await.expect(200).clone();
        match g["status"].as_str().unwrap_or_default() {
            "completed" => Some(g),
            "failed" | "canceled" => panic!("anonymous generation ended: {g}"),
            _ => None,
        }
    })
    .await
}

fn assert_quota_refusal(r: &Resp) {
    let e = r.expect_error(429, "ANONYMOUS_QUOTA_EXCEEDED");
    assert_eq!(e["used"], 1, "{e}");
    assert_eq!(e["limit"], 1, "{e}");
    assert_eq!(e["remaining"], 0, "{e}");
    assert_eq!(e["window"], "day", "{e}");
    assert_eq!(e["tier"], "anonymous", "{e}");
    assert_eq!(e["upgradeUrl"], "iskra://sign-in", "{e}");
    let resets: chrono::DateTime<chrono::Utc> = e["resetsAt"].as_str().unwrap().parse().unwrap();
    assert_eq!(resets.timestamp() % 86_400, 0, "midnight UTC: {e}");
    for h in [
        "retry-after",
        "ratelimit-limit",
        "ratelimit-remaining",
        "ratelimit-reset",
    ] {
        assert!(r.header(h).is_some(), "{h} missing");
    }
    assert_eq!(r.header("ratelimit-limit"), Some("1"));
    assert_eq!(r.header("ratelimit-remaining"), Some("0"));
}

async fn anonymous_generation(b: Backend) {
    capture_logs();
    let fal = support::fake(Progress::Polls {
        queue_polls: 0,
        progress_polls: 1,
    })
    .await;
    let server = support::server(b, &fal, |cfg| {
        cfg.trusted_proxies = "127.0.0.1, ::1".into();
    })
    .await;
    let replica = match b {
        Backend::Scaled => Some(server.replica().await),
        Backend::Embedded => None,
    };
    let other = replica.as_ref().unwrap_or(&server);

    // Bad input answers 4xx with the error shape and counts nothing.
    let bad = [
        (
            json!({"kind": "image-to-image", "prompt": "x", "imageAssetId": "a"}),
            401,
        ),
        (json!({"kind": "image-to-video", "prompt": "x"}), 401),
        (
            json!({"kind": "text-to-image", "prompt": "x", "projectId": uuid::Uuid::new_v4()}),
            401,
        ),
        (json!({"kind": "text-to-image", "prompt": ""}), 422),
        (
            json!({"kind": "text-to-image", "prompt": "x", "params": {"numImages": 2}}),
            422,
        ),
        (
            json!({"kind": "text-to-image", "prompt": "x", "model": "nope"}),
            422,
        ),
        (json!({"kind": "text-to-image"}), 422),
        (
            json!({"kind": "text-to-image", "prompt": "x", "bogus": 1}),
            422,
        ),
    ];
    for (body, status) in bad {
        let r = post_as(&server, C, &body).await;
        assert_eq!(r.status, status, "{body}: {:?}", r.json);
        crate::common::assert_error_shape(&r.json);
    }
    let r = send(
        server
            .http
            .post(server.url("/v1/generations"))
            .header("x-forwarded-for", C)
            .header("content-type", "application/json")
            .body("{not json"),
    )
    .await;
    r.expect_error(400, "BAD_REQUEST");
    let bad_token = send(
        server
            .http
            .post(server.url("/v1/generations"))
            .header("authorization", "Bearer nope")
            .json(&text("x")),
    )
    .await;
    bad_token.expect_error(401, "UNAUTHENTICATED");
    assert_eq!(
        quota_of(&server, C).await["generation"]["standard"][0]["used"],
        0
    );

    // Client A: ten parallel attempts spread over both replicas → exactly one accepted.
    let body = text("a lighthouse at dusk");
    let attempts = (0..10).map(|i| {
        let s = if i % 2 == 0 { &server } else { other };
        post_as(s, A, &body)
    });
    let answers = futures::future::join_all(attempts).await;
    let accepted: Vec<&Resp> = answers.iter().filter(|r| r.status == 202).collect();
    assert_eq!(
        accepted.len(),
        1,
        "{:?}",
        answers.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    for r in answers.iter().filter(|r| r.status != 202) {
        assert_quota_refusal(r);
    }
    let first = accepted[0].json.clone();
    let access = &first["anonymous"];
    let token = access["token"].as_str().unwrap().to_owned();
    assert_eq!(token.len(), 43);
    assert!(
        first["id"].is_string() && first["status"].is_string(),
        "{first}"
    );
    assert!(access["url"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/v1/generations/anonymous/{token}")));
    let q = quota_of(other, A).await;
    assert_eq!(q["isAnonymous"], true);
    assert_eq!(q["upgradeUrl"], "iskra://sign-in");
    let w = &q["generation"]["standard"][0];
    assert_eq!(
        (w["used"].as_i64(), w["remaining"].as_i64()),
        (Some(1), Some(0)),
        "{q}"
    );

    // Client B through the same proxy has its own quota; C still has its own after bad input.
    let b_answer = post_as(other, B, &text("a fox in snow")).await;
    let b_token = b_answer.expect(202)["anonymous"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    post_as(&server, C, &text("a quiet harbour"))
        .await
        .expect(202);
    assert_quota_refusal(&post_as(&server, B, &text("again")).await);

    // The result, by its capability URL, on either replica; outputs are downloadable.
    let url = |s: &TestServer, t: &str| s.url(&format!("/v1/generations/anonymous/{t}"));
    let done = wait_result(other, &url(other, &token)).await;
    assert_eq!(done["id"], first["id"]);
    assert_eq!(done["prompt"], "a lighthouse at dusk");
    assert_eq!(done["anonymous"]["token"], token.as_str());
    let outputs = done["outputs"].as_array().unwrap();
    assert_eq!(outputs.len(), 1, "{done}");
    let file = send(server.http.get(outputs[0]["url"].as_str().unwrap())).await;
    assert_eq!(file.status, 200);
    assert_eq!(
        file.bytes.len() as i64,
        outputs[0]["sizeBytes"].as_i64().unwrap()
    );
    wait_result(&server, &url(&server, &b_token)).await;

    // Not without the token: a guessed one, a malformed one, a signed-in user.
    let guessed = "A".repeat(43);
    send(server.http.get(url(&server, &guessed)))
        .await
        .expect_error(404, "NOT_FOUND");
    send(server.http.get(url(&server, "short")))
        .await
        .expect_error(404, "NOT_FOUND");
    let user = server.user("anon-reader");
    let id = first["id"].as_str().unwrap();
    user.get(&format!("/v1/generations/{id}"))
        .await
        .expect_error(404, "NOT_FOUND");
    assert_eq!(
        user.get("/v1/generations").await.expect(200)["items"],
        json!([])
    );
    assert_eq!(user.get("/v1/assets").await.expect(200)["items"], json!([]));
    user.delete(&format!("/v1/generations/{id}"))
        .await
        .expect_error(404, "NOT_FOUND");

    // X-Forwarded-For from a peer that is not a trusted proxy is ignored: a client at
    // 127.0.0.2 claiming two addresses is one client (its own address) and gets one.
    let untrusted = reqwest::Client::builder()
        .no_proxy()
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .build()
        .unwrap();
    let from = |claimed: &str| {
        untrusted
            .post(server.url("/v1/generations"))
            .header("x-forwarded-for", claimed.to_owned())
            .json(&text("spoofed"))
    };
    send(from(SPOOFED)).await.expect(202);
    assert_quota_refusal(&send(from("192.0.2.99")).await);

    assert_no_raw_address(&server, &[A, B, C, SPOOFED, "192.0.2.99", "127.0.0.2"]).await;

    // The sweep: nothing expired yet; a day later every ended result goes with its files.
    let now = chrono::Utc::now().timestamp_millis();
    assert_eq!(
        iskra_server::anonymous::sweep(&server.state, now)
            .await
            .unwrap(),
        0
    );
    crate::common::poll_until("every anonymous job ended", || {
        let s = &server;
        async move {
            let ended: Vec<(i64,)> = sqlx::query_as(
                "SELECT COUNT(*) FROM generations WHERE phase IN ('completed', 'failed', 'canceled')",
            )
            .fetch_all(s.state.store.pool())
            .await
            .unwrap();
            ended[0].0 == 4
        }
    })
    .await;
    let later = now + 86_400_000 + 1;
    assert_eq!(
        iskra_server::anonymous::sweep(&server.state, later)
            .await
            .unwrap(),
        4
    );
    assert_eq!(
        iskra_server::anonymous::sweep(&server.state, later)
            .await
            .unwrap(),
        0
    );
    send(server.http.get(url(&server, &token)))
        .await
        .expect_error(404, "NOT_FOUND");
    send(other.http.get(url(other, &b_token)))
        .await
        .expect_error(404, "NOT_FOUND");
    let left: Vec<(i64,)> = sqlx::query_as("SELECT COUNT(*) FROM assets")
        .fetch_all(server.state.store.pool())
        .await
        .unwrap();
    assert_eq!(left[0].0, 0, "outputs removed");
    let left: Vec<(i64,)> = sqlx::query_as("SELECT COUNT(*) FROM generations")
        .fetch_all(server.state.store.pool())
        .await
        .unwrap();
    assert_eq!(left[0].0, 0, "jobs removed");
    let sha = outputs[0]["id"].as_str().unwrap();
    let key = iskra_server::blobs::asset_key(iskra_server::anonymous::OWNER, sha);
    assert!(
        matches!(
            server.state.blobs.get(&key).await,
            Err(iskra_server::blobs::BlobError::NotFound)
        ),
        "the output's file is removed"
    );
    let blobs = server.blobs().await;
    assert_eq!(blobs, Vec::<String>::new(), "blobs removed");
}

/// The anonymous quota's day turns at midnight UTC: on a manual clock ten seconds before it,
/// the day's one image is used and refused until the clock passes midnight.
async fn anonymous_quota_turns_at_midnight_utc(b: Backend) {
    let fal = support::fake(Progress::Hold).await;
    let clock = ManualClock::new(
        chrono::DateTime::parse_from_rfc3339("2026-12-01T23:59:50Z")
            .unwrap()
            .to_utc(),
    );
    let server = TestServer::start_at(b, &clock, |cfg| {
        support::wire(cfg, &fal);
        cfg.trusted_proxies = "127.0.0.1, ::1".into();
    })
    .await;
    let day = |q: &Value| {
        let w = &q["generation"]["standard"][0];
        (
            w["used"].clone(),
            w["remaining"].clone(),
            w["resetsAt"].clone(),
        )
    };
    post_as(&server, A, &text("the last image of the day"))
        .await
        .expect(202);
    let refused = post_as(&server, A, &text("one more tonight")).await;
    assert_quota_refusal(&refused);
    assert_eq!(refused.json["error"]["resetsAt"], "2026-12-02T00:00:00Z");
    assert_eq!(refused.header("retry-after"), Some("10"));
    assert_eq!(
        day(&quota_of(&server, A).await),
        (json!(1), json!(0), json!("2026-12-02T00:00:00Z"))
    );
    clock.advance(chrono::TimeDelta::seconds(9));
    assert_quota_refusal(&post_as(&server, A, &text("still tonight")).await);
    clock.advance(chrono::TimeDelta::seconds(1));
    assert_eq!(
        day(&quota_of(&server, A).await),
        (json!(0), json!(1), json!("2026-12-03T00:00:00Z"))
    );
    post_as(&server, A, &text("the first image of the day"))
        .await
        .expect(202);
    let refused = post_as(&server, A, &text("one more today")).await;
    assert_quota_refusal(&refused);
    assert_eq!(refused.json["error"]["resetsAt"], "2026-12-03T00:00:00Z");
}

backend_tests!(anonymous_generation, anonymous_quota_turns_at_midnight_utc);
