//! Email capture for a shared image: leads recorded lower-cased and once per share, the
//! download URL answered (and working), refusals of bad input in the error shape, unknown and
//! revoked shares 404, and the per-IP limit.

use crate::common::{media, send, Backend, Resp, TestServer};
use serde_json::{json, Value};

async fn capture(server: &TestServer, client: &str, body: &Value) -> Resp {
    send(
        server
            .http
            .post(server.url("/v1/images/capture-email"))
            .header("x-forwarded-for", client)
            .json(body),
    )
    .await
}

async fn email_capture(b: Backend) {
    let server = TestServer::start(b, |cfg| {
        cfg.trusted_proxies = "127.0.0.1".into();
        cfg.anonymous.capture_per_ip.minute = 12;
    })
    .await;
    let owner = server.user("sharer");
    let png = media::png(64, 48, 7);
    let sha = owner.upload(&png, "image/png").await.expect(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let link = owner
        .post(&format!("/v1/assets/{sha}/share"), &json!({}))
        .await
        .expect(201)
        .clone();
    let short = link["shortId"].as_str().unwrap().to_owned();
    let client = "203.0.113.61";

    let ok = capture(
        &server,
        client,
        &json!({"email": " Ada@Example.COM ", "shortId": short}),
    )
    .await;
    let body = ok.expect(200).clone();
    let url = body["downloadUrl"].as_str().unwrap();
    assert_eq!(url, format!("{}/t/{short}/image", server.base));
    assert!(body["message"].is_string());
    let file = send(server.http.get(url)).await;
    assert_eq!(file.status, 200);
    assert_eq!(&file.bytes[..], &png[..]);
    capture(
        &server,
        client,
        &json!({"email": "ada@example.com", "shortId": short}),
    )
    .await
    .expect(200);
    capture(
        &server,
        client,
        &json!({"email": "bob@example.org", "shortId": short}),
    )
    .await
    .expect(200);
    let leads = server.state.store.leads_of_share(&short).await.unwrap();
    assert_eq!(leads, ["ada@example.com", "bob@example.org"]);

    // Bad input: 4xx in the error shape, nothing recorded.
    let bad = [
        (json!({"email": "not-an-address", "shortId": short}), 422),
        (json!({"email": "", "shortId": short}), 422),
        (json!({"email": "a@b.co", "shortId": "bad"}), 422),
        (json!({"email": "a@b.co"}), 422),
        (json!({"shortId": short}), 422),
        (
            json!({"email": "a@b.co", "shortId": short, "extra": 1}),
            422,
        ),
        (json!({"email": 5, "shortId": short}), 422),
        (json!({"email": "a@b.co", "shortId": "AAAAAAAA"}), 404),
    ];
    for (body, status) in bad {
        let r = capture(&server, "203.0.113.62", &body).await;
        assert_eq!(r.status, status, "{body}: {}", r.json);
        crate::common::assert_error_shape(&r.json);
    }
    let malformed = send(
        server
            .http
            .post(server.url("/v1/images/capture-email"))
            .header("x-forwarded-for", "203.0.113.62")
            .header("content-type", "application/json")
            .body("{\"email\":"),
    )
    .await;
    malformed.expect_error(400, "BAD_REQUEST");
    assert_eq!(
        server
            .state
            .store
            .leads_of_share(&short)
            .await
            .unwrap()
            .len(),
        2
    );

    // A revoked share is gone for capture too.
    owner
        .delete(&format!("/v1/assets/{sha}/share"))
        .await
        .expect(204);
    capture(
        &server,
        client,
        &json!({"email": "carol@example.net", "shortId": short}),
    )
    .await
    .expect_error(404, "NOT_FOUND");

    // The per-IP limit: 12 a minute for this client (3 + 1 used above), the rest 429.
    let mut statuses = Vec::new();
    for _ in 0..10 {
        statuses.push(
            capture(
                &server,
                client,
                &json!({"email": "x@example.com", "shortId": short}),
            )
            .await
            .status,
        );
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        2,
        "{statuses:?}"
    );
    let limited = capture(
        &server,
        client,
        &json!({"email": "x@example.com", "shortId": short}),
    )
    .await;
    let e = limited.expect_error(429, "RATE_LIMITED");
    assert_eq!(e["limit"], 12);
    assert!(limited.header("retry-after").is_some());
    // Another client is not limited by it.
    capture(
        &server,
        "203.0.113.63",
        &json!({"email": "x@example.com", "shortId": short}),
    )
    .await
    .expect_error(404, "NOT_FOUND");
}

backend_tests!(email_capture);
