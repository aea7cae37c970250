//! Authentication over HTTP (S1): in Clerk mode against a local JWKS endpoint, every forged,
//! foreign, expired or premature token is a 401 `UNAUTHENTICATED` that creates no user, and a
//! valid token reaches `/v1/me` and creates the user. Missing or malformed credentials are 401
//! in every mode.

#[macro_use]
mod common;

use chrono::TimeDelta;
use common::clerk::{self, claims, TestKey, APP, ISSUER};
use common::{Backend, ManualClock, TestServer, User};
use jsonwebtoken::Algorithm;
use serde_json::json;

/// A Clerk-mode server whose JWKS serves fixture key A under kid `a`.
async fn clerk_server(b: Backend) -> (TestServer, TestKey) {
    let key = TestKey::load("a");
    let jwks = clerk::jwks_server(vec![key.jwk("a")]).await;
    let srv = TestServer::start(b, |cfg| clerk::configure(cfg, &jwks)).await;
    (srv, key)
}

fn bearer(srv: &TestServer, sub: &str, token: String) -> User {
    User::new(srv.http.clone(), &srv.base, sub, Some(token))
}

async fn clerk_refuses_bad_tokens(b: Backend) {
    let (srv, a) = clerk_server(b).await;
    let other = TestKey::load("b");
    let sub = "user_mallory";
    let now = clerk::now();
    let cases = [
        (
            "signature of another key",
            other.sign(Algorithm::RS256, "a", &claims(sub, json!({}))),
        ),
        (
            "wrong iss",
            a.sign(
                Algorithm::RS256,
                "a",
                &claims(sub, json!({"iss": "https://evil.example"})),
            ),
        ),
        (
            "iss with a trailing slash",
            a.sign(
                Algorithm::RS256,
                "a",
                &claims(sub, json!({"iss": format!("{ISSUER}/")})),
            ),
        ),
        (
            "foreign azp",
            a.sign(
                Algorithm::RS256,
                "a",
                &claims(sub, json!({"azp": "https://evil.example"})),
            ),
        ),
        ("alg none", clerk::unsigned(&claims(sub, json!({})))),
        (
            "HS256 signed with the public key",
            clerk::hs256_with_public_key(&a, &claims(sub, json!({}))),
        ),
        (
            "expired beyond the 5 s skew",
            a.sign(
                Algorithm::RS256,
                "a",
                &claims(sub, json!({"exp": now - 30, "iat": now - 400})),
            ),
        ),
        (
            "nbf in the future",
            a.sign(
                Algorithm::RS256,
                "a",
                &claims(sub, json!({"nbf": now + 120})),
            ),
        ),
        (
            "no exp",
            a.sign(Algorithm::RS256, "a", &claims(sub, json!({"exp": null}))),
        ),
        (
            "unknown kid",
            a.sign(Algorithm::RS256, "zz", &claims(sub, json!({}))),
        ),
        ("garbage", "not.a.jwt".to_owned()),
    ];
    for (what, token) in cases {
        let res = bearer(&srv, sub, token).get("/v1/me").await;
        assert_eq!(res.status, 401, "{what}: {}", res.json);
        res.expect_error(401, "UNAUTHENTICATED");
    }
    let created = srv.state.store.user(sub).await.unwrap();
    assert!(created.is_none(), "a refused token created the user");
}

async fn clerk_accepts_a_valid_token_and_creates_the_user(b: Backend) {
    let (srv, a) = clerk_server(b).await;
    let sub = "user_2ada";
    assert!(srv.state.store.user(sub).await.unwrap().is_none());
    // Within the 5 s skew: expired 2 s ago is still accepted.
    for (i, overrides) in [
        json!({}),
        json!({"exp": clerk::now() - 2}),
        json!({"azp": null}),
    ]
    .into_iter()
    .enumerate()
    {
        let user = bearer(
            &srv,
            sub,
            a.sign(Algorithm::RS256, "a", &claims(sub, overrides)),
        );
        let me = user.get("/v1/me").await;
        let me = me.expect(200);
        assert_eq!(me["id"], sub, "case {i}");
        assert_eq!(me["email"], format!("{sub}@example.com"));
        assert_eq!(me["tier"], "free");
    }
    let row = srv
        .state
        .store
        .user(sub)
        .await
        .unwrap()
        .expect("user created on first request");
    assert_eq!(row.email.as_deref(), Some("user_2ada@example.com"));
    // The same user can work with the API.
    let user = bearer(
        &srv,
        sub,
        a.sign(Algorithm::RS384, "a", &claims(sub, json!({"azp": APP}))),
    );
    user.create_project(Some("from clerk")).await;
}

async fn missing_or_malformed_credentials_are_401(b: Backend) {
    let srv = TestServer::default(b).await;
    let anon = srv.anonymous();
    for path in ["/v1/me", "/v1/projects", "/v1/assets", "/v1/events"] {
        anon.get(path).await.expect_error(401, "UNAUTHENTICATED");
    }
    for header in [
        "Basic YWxhZGRpbjpvcGVuc2VzYW1l",
        "Bearer",
        "Bearer    ",
        "token abc",
        "Bearer a.b.c",
    ] {
        let res = common::send(
            srv.http
                .get(srv.url("/v1/me"))
                .header("authorization", header),
        )
        .await;
        res.expect_error(401, "UNAUTHENTICATED");
    }
    // A dev token of another server (other secret) is refused.
    let other = TestServer::default(Backend::Embedded).await;
    let foreign = other.user("eve");
    let res = common::send(
        srv.http
            .get(srv.url("/v1/me"))
            .bearer_auth(foreign.token.unwrap()),
    )
    .await;
    res.expect_error(401, "UNAUTHENTICATED");
    // The anonymous quota works without a token.
    let q = anon.get("/v1/quota").await;
    assert_eq!(q.expect(200)["isAnonymous"], true);
}

/// A token accepted now is refused once the server's clock passes its `exp` and the 5 s skew;
/// the clock is moved, nothing waits.
async fn clerk_token_expires_as_the_server_clock_moves(b: Backend) {
    let key = TestKey::load("a");
    let jwks = clerk::jwks_server(vec![key.jwk("a")]).await;
    let start = clerk::now();
    let clock = ManualClock::new(chrono::DateTime::from_timestamp(start, 0).unwrap());
    let srv = TestServer::start_at(b, &clock, |cfg| clerk::configure(cfg, &jwks)).await;
    let sub = "user_2brief";
    let token = key.sign(
        Algorithm::RS256,
        "a",
        &claims(sub, json!({"exp": start + 60})),
    );
    let user = bearer(&srv, sub, token);
    user.get("/v1/me").await.expect(200);
    clock.advance(TimeDelta::seconds(65));
    user.get("/v1/me").await.expect(200);
    clock.advance(TimeDelta::seconds(1));
    user.get("/v1/me")
        .await
        .expect_error(401, "UNAUTHENTICATED");
}

backend_tests!(
    clerk_token_expires_as_the_server_clock_moves,
    clerk_refuses_bad_tokens,
    clerk_accepts_a_valid_token_and_creates_the_user,
    missing_or_malformed_credentials_are_401,
);
