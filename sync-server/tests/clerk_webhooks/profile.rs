//! `user.created` / `user.updated` keep the user's email (the primary address) and name in
//! step: the email shows in `GET /v1/me`; a user unknown so far is created; a repeated delivery
//! or a profile older than the one applied (Svix does not deliver in order) changes nothing.

use crate::common::svix::{new_secret, user_event, ClerkSender};
use crate::common::{Backend, TestServer};

async fn user_updated_changes_the_email_seen_in_me(b: Backend) {
    let secret = new_secret();
    let srv = TestServer::start(b, |cfg| {
        cfg.clerk_webhook_secret = Some(secret.clone());
    })
    .await;
    let clerk = ClerkSender::new(&srv.base, &secret);
    let pool = srv.state.store.pool().clone();
    let name_of = |id: String| {
        let pool = pool.clone();
        async move {
            let row: Option<(Option<String>,)> =
                sqlx::query_as("SELECT name FROM users WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&pool)
                    .await
                    .expect("users");
            row.and_then(|(n,)| n)
        }
    };

    let alice = srv.user("user_profile");
    let me = alice.get("/v1/me").await.expect(200).clone();
    assert_eq!(me["email"], serde_json::Value::Null);
    let update = user_event("user.updated", &alice.id, "ada@example.com", "Ada", 2_000);
    clerk.deliver("msg_u2", &update).await.expect(200);
    let me = alice.get("/v1/me").await.expect(200).clone();
    assert_eq!(me["email"], "ada@example.com");
    assert_eq!(me["tier"], "free");
    assert_eq!(
        name_of(alice.id.clone()).await.as_deref(),
        Some("Ada Tester")
    );

    // An older profile delivered late, and the same delivery again: nothing changes.
    let older = user_event("user.updated", &alice.id, "stale@example.com", "Old", 1_000);
    clerk.deliver("msg_u1", &older).await.expect(200);
    let newer = user_event("user.updated", &alice.id, "new@example.com", "New", 3_000);
    clerk.deliver("msg_u2", &newer).await.expect(200);
    assert_eq!(
        alice.get("/v1/me").await.expect(200)["email"],
        "ada@example.com"
    );
    clerk.deliver("msg_u3", &newer).await.expect(200);
    assert_eq!(
        alice.get("/v1/me").await.expect(200)["email"],
        "new@example.com"
    );
    assert_eq!(
        name_of(alice.id.clone()).await.as_deref(),
        Some("New Tester")
    );

    // A user Iskra has not seen is created by user.created, with the email and name.
    let carol_id = "user_created_by_webhook";
    let created = user_event(
        "user.created",
        carol_id,
        "carol@example.com",
        "Carol",
        5_000,
    );
    clerk.deliver("msg_c1", &created).await.expect(200);
    assert_eq!(
        name_of(carol_id.into()).await.as_deref(),
        Some("Carol Tester")
    );
    let carol = srv.user(carol_id);
    let me = carol.get("/v1/me").await.expect(200).clone();
    assert_eq!(me["email"], "carol@example.com");
    assert_eq!(me["id"], carol_id);
}

backend_tests!(user_updated_changes_the_email_seen_in_me);
