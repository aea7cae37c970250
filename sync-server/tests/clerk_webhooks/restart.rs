//! The real `iskra-server` binary killed with SIGKILL halfway through a deletion (some of the
//! user's blobs deleted, others not; a step delay makes that moment last), then started again:
//! the deletion finishes by itself, and the other user — who has a copy of the same bytes —
//! keeps everything.

use super::support::{assert_empty, Inspect};
use crate::common::binary::BinaryServer;
use crate::common::media::{png, sha256_hex};
use crate::common::svix::{new_secret, user_deleted, ClerkSender};
use crate::common::{poll_until, Backend};
use iskra_protocol::Tier;
use iskra_server::Config;

/// Alice's uploads (the first one Bob has too).
const ASSETS: u32 = 8;

/// The server's environment: the Clerk secret, quick resumption, `step_delay_ms` between
/// deletion steps.
fn env(secret: &str, step_delay_ms: u64) -> Vec<(String, String)> {
    [
        ("ISKRA_CLERK_WEBHOOK_SECRET", secret.to_owned()),
        ("ISKRA_ACCOUNTS__DELETION_LEASE_SECS", "2".into()),
        ("ISKRA_ACCOUNTS__DELETION_RESUME_SECS", "1".into()),
        ("ISKRA_ACCOUNTS__DELETION_SETTLE_SECS", "0".into()),
        (
            "ISKRA_ACCOUNTS__DELETION_STEP_DELAY_MS",
            step_delay_ms.to_string(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

async fn killed_during_a_deletion_then_it_finishes_after_restart(b: Backend) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cfg = Config {
        data_dir: dir.path().join("data"),
        ..Config::default()
    };
    let _services = match b {
        Backend::Embedded => None,
        Backend::Scaled => Some(crate::common::scaled_env(&mut cfg).await),
    };
    let secret = new_secret();
    let mut server = BinaryServer::new(&cfg, dir.path(), env(&secret, 400));
    let base = server.base.clone();
    let alice = server.user("user_crash_alice", Tier::Free);
    let bob = server.user("user_crash_bob", Tier::Free);

    server.start().await;
    let db = Inspect::connect(b, &cfg).await;
    let uploads: Vec<Vec<u8>> = (0..ASSETS).map(|i| png(32, 32, 100 + i)).collect();
    alice.new_project().await;
    for bytes in &uploads {
        alice.upload(bytes, "image/png").await.expect(201);
    }
    let bob_own = png(32, 32, 7);
    bob.upload(&uploads[0], "image/png").await.expect(201);
    bob.upload(&bob_own, "image/png").await.expect(201);
    let bob_rows = db.rows_of(&bob.id).await;
    let bob_blobs = db.blobs_of(&bob.id).await;
    assert_eq!(bob_blobs.len(), 2);
    assert_eq!(db.blobs_of(&alice.id).await.len(), ASSETS as usize);

    ClerkSender::new(&base, &secret)
        .deliver("msg_crash", &user_deleted(&alice.id))
        .await
        .expect(200);
    poll_until("the deletion is half done", || async {
        let left = db.blobs_of(&alice.id).await.len();
        left > 0 && left < ASSETS as usize - 1
    })
    .await;
    server.kill();

    // It was in progress when the process died: some blobs gone, rows and blobs still there.
    assert_eq!(
        db.deletion_phase(&alice.id).await.as_deref(),
        Some("deleting")
    );
    let left = db.blobs_of(&alice.id).await.len();
    assert!(left > 0 && left < ASSETS as usize, "{left} blobs left");
    assert_eq!(
        db.rows_of(&alice.id).await["users"],
        1,
        "the user row was still there"
    );

    server.set("ISKRA_ACCOUNTS__DELETION_STEP_DELAY_MS", "0");
    server.start().await;
    alice
        .get("/v1/me")
        .await
        .expect_error(401, "UNAUTHENTICATED");
    poll_until("the deletion finished after the restart", || async {
        db.deletion_phase(&alice.id).await.as_deref() == Some("done")
    })
    .await;
    assert_empty(&db.rows_of(&alice.id).await, "alice");
    assert_eq!(db.blobs_of(&alice.id).await, Vec::<String>::new());
    assert_eq!(db.rows_of(&bob.id).await, bob_rows);
    assert_eq!(db.blobs_of(&bob.id).await, bob_blobs);
    for bytes in [&uploads[0], &bob_own] {
        let got = bob
            .get(&format!("/v1/assets/{}/content", sha256_hex(bytes)))
            .await;
        got.expect(200);
        assert_eq!(got.bytes.as_ref(), bytes.as_slice());
    }
    server.kill();
}

backend_tests!(killed_during_a_deletion_then_it_finishes_after_restart);
