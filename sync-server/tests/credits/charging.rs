//! Holds, charges and releases: parallel submits never overdraw (one SQLite file, or two
//! replicas over PostgreSQL), a job fal reports done five times over is charged once, and a
//! failed or canceled job gives everything back once.

use super::helpers::{assert_ledger_matches, grant, history, kinds_of};
use crate::common::{Backend, TestServer, User, WAIT};
use crate::support::{fake, request_of, server, submit, text, wait_status, wire};
use futures::future::join_all;
use iskra_fake_fal::Progress;
use iskra_server::config::Windows;
use iskra_server::Config;
use serde_json::json;

/// No generation windows for free users, and no monthly allocation: the test grants exactly.
fn unlimited_and_unallocated(cfg: &mut Config) {
    let open = Windows {
        minute: -1,
        hour: -1,
        day: -1,
    };
    cfg.rate_limits.generation_free.standard = open;
    cfg.credits.plans.free = 0;
}

async fn parallel_submits_never_overdraw(b: Backend) {
    let fal = fake(Progress::Instant).await;
    let a = server(b, &fal, unlimited_and_unallocated).await;
    // Across two replicas when they can share the database.
    let replica = match b {
        Backend::Scaled => Some(a.replica().await),
        Backend::Embedded => None,
    };
    grant(&a, "alice", 30).await; // ten jobs at 3 credits each
    let servers: Vec<&TestServer> = std::iter::once(&a).chain(replica.as_ref()).collect();
    let submits = (0..50).map(|i| {
        let user = servers[i % servers.len()].user("alice");
        async move {
            user.post("/v1/generations", &text(&format!("race {i}")))
                .await
        }
    });
    let answers = join_all(submits).await;
    let accepted: Vec<_> = answers.iter().filter(|r| r.status == 202).collect();
    let refused: Vec<_> = answers.iter().filter(|r| r.status == 402).collect();
    assert_eq!(accepted.len(), 10, "exactly the credits' worth");
    assert_eq!(refused.len(), 40, "the rest are 402");
    for r in &refused {
        let e = r.expect_error(402, "INSUFFICIENT_CREDITS");
        assert_eq!(e["required"], 3);
        assert!(e["available"].as_i64().unwrap() < 3, "{e}");
    }
    for g in &accepted {
        assert_eq!(g.json["credits"], json!({"estimated": 3, "charged": null}));
    }
    let alice = a.user("alice");
    for g in &accepted {
        let done = wait_status(&alice, g.json["id"].as_str().unwrap(), "completed").await;
        assert_eq!(done["credits"], json!({"estimated": 3, "charged": 3}));
    }
    let c = assert_ledger_matches(&alice).await;
    assert_eq!(
        (c["available"].as_i64(), c["reserved"].as_i64()),
        (Some(0), Some(0))
    );
    let rows = history(&alice).await;
    let count = |k: &str| rows.iter().filter(|r| r["kind"] == k).count();
    assert_eq!(
        (count("reserve"), count("charge"), count("release")),
        (10, 10, 0)
    );
    assert_eq!(fal.submits(), 10, "refused requests never reached fal");
}

async fn a_job_fal_reports_done_many_times_is_charged_once(b: Backend) {
    let fal = fake(Progress::Polls {
        queue_polls: 1,
        progress_polls: 2,
    })
    .await;
    fal.duplicate_webhooks(5);
    let fal2 = fal.clone();
    // Webhooks come back to the server, and the poller looks as often as it can as well.
    let srv = TestServer::start_public(b, move |cfg| {
        wire(cfg, &fal2);
        cfg.generation.webhook_poll_secs = 0;
    })
    .await;
    let alice = srv.user("alice");
    let start = alice.get("/v1/credits").await.expect(200)["available"]
        .as_i64()
        .unwrap();
    let g = submit(
        &alice,
        json!({"kind": "text-to-image", "prompt": "storm", "params": {"numImages": 2}}),
    )
    .await;
    let id = g["id"].as_str().unwrap().to_owned();
    let done = wait_status(&alice, &id, "completed").await;
    let request = request_of(&fal, "storm");
    assert!(
        fal.wait_until(WAIT, |f| f.webhook_attempts_for(&request) >= 5)
            .await,
        "fal delivered its webhook five times"
    );
    assert!(
        fal.status_polls_for(&request) >= 1,
        "the poller saw the job too"
    );
    assert_eq!(done["credits"], json!({"estimated": 6, "charged": 6}));
    let rows = history(&alice).await;
    assert_eq!(
        kinds_of(&rows, &format!("generation:{id}")),
        ["charge", "reserve"]
    );
    let c = assert_ledger_matches(&alice).await;
    assert_eq!(c["available"].as_i64().unwrap(), start - 6);
    assert_eq!(c["reserved"], 0);
}

async fn failed_and_canceled_jobs_give_everything_back_once(b: Backend) {
    let fal = fake(Progress::Hold).await;
    let srv = server(b, &fal, |cfg| {
        cfg.rate_limits.generation_free.standard.minute = -1;
    })
    .await;
    let alice = srv.user("alice");
    let start = alice.get("/v1/credits").await.expect(200)["available"]
        .as_i64()
        .unwrap();
    // Rejected by fal: failed, released.
    fal.reject_submits(
        422,
        json!([{"loc": ["body", "prompt"], "msg": "nope", "type": "value_error"}]),
    );
    let failed = submit(&alice, text("refused by fal")).await;
    let failed_id = failed["id"].as_str().unwrap().to_owned();
    wait_status(&alice, &failed_id, "failed").await;
    fal.accept_submits();
    // Running at fal, then canceled: released.
    let running = submit(
        &alice,
        json!({"kind": "text-to-image", "prompt": "cancel me", "params": {"numImages": 3}}),
    )
    .await;
    let running_id = running["id"].as_str().unwrap().to_owned();
    let held = alice.get("/v1/credits").await.expect(200).clone();
    assert_eq!(held["reserved"], 9, "{held}");
    wait_status(&alice, &running_id, "running").await;
    alice
        .delete(&format!("/v1/generations/{running_id}"))
        .await
        .expect(200);
    // A second cancel is refused and changes nothing.
    alice
        .delete(&format!("/v1/generations/{running_id}"))
        .await
        .expect_error(409, "CONFLICT");
    let rows = history(&alice).await;
    for id in [&failed_id, &running_id] {
        assert_eq!(
            kinds_of(&rows, &format!("generation:{id}")),
            ["release", "reserve"]
        );
        let g = alice
            .get(&format!("/v1/generations/{id}"))
            .await
            .expect(200)
            .clone();
        assert_eq!(g["credits"]["charged"], 0, "{g}");
    }
    let c = assert_ledger_matches(&alice).await;
    assert_eq!(c["available"].as_i64().unwrap(), start);
    assert_eq!(c["reserved"], 0);
}

/// A user who cannot afford a request is told the price and their balance, and nothing is
/// queued.
async fn short_users_get_402_with_the_numbers(b: Backend) {
    let fal = fake(Progress::Instant).await;
    let srv = server(b, &fal, unlimited_and_unallocated).await;
    grant(&srv, "bob", 5).await;
    let bob: User = srv.user("bob");
    let body = json!({"kind": "text-to-image", "prompt": "too dear", "params": {"numImages": 2}});
    let e = bob.post("/v1/generations", &body).await;
    let e = e.expect_error(402, "INSUFFICIENT_CREDITS");
    assert_eq!(
        (e["required"].as_i64(), e["available"].as_i64()),
        (Some(6), Some(5))
    );
    assert_eq!(bob.list_all("/v1/generations", "").await.len(), 0);
    assert_eq!(fal.submits(), 0);
    let c = assert_ledger_matches(&bob).await;
    assert_eq!(c["available"], 5);
}

backend_tests!(
    parallel_submits_never_overdraw,
    a_job_fal_reports_done_many_times_is_charged_once,
    failed_and_canceled_jobs_give_everything_back_once,
    short_users_get_402_with_the_numbers,
);
