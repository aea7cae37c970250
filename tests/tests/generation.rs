//! The whole generation flow as a creator meets it, through the real `iskra` CLI, the real
//! server and the fake fal (a separate HTTP server speaking fal's queue API and signed
//! webhooks): `iskra generate PROJECT "prompt" --wait` on one device → the job completes → the
//! image is the user's asset, stands on the project's canvas in place of the placeholder, and
//! reaches a second device through sync. Once with results by polling, once by webhook.

use iskra_fake_fal::{FakeConfig, FakeFal, Progress};
use iskra_protocol::ElementKind;
use iskra_tests::device::Device;
use iskra_tests::server::TestServer;
use serde_json::Value;
use std::time::Duration;
use uuid::Uuid;

/// Bound of every wait in these tests.
const BOUND: Duration = Duration::from_secs(30);

/// How fal reports a finished job.
#[derive(Clone, Copy, PartialEq)]
enum Report {
    Polling,
    Webhook,
}

async fn start(report: Report) -> (FakeFal, TestServer, tempfile::TempDir) {
    let progress = match report {
        Report::Polling => Progress::Polls {
            queue_polls: 1,
            progress_polls: 1,
        },
        Report::Webhook => Progress::Instant,
    };
    let fal = FakeFal::start(FakeConfig::with_progress(progress)).await;
    let dir = tempfile::tempdir().expect("server dir");
    let mut cfg = TestServer::config_with_fal(dir.path(), &fal);
    if report == Report::Webhook {
        // fal calls back to the server's own address; polling is only a distant fallback.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        cfg.listen = ([127, 0, 0, 1], port).into();
        cfg.public_url = Some(format!("http://127.0.0.1:{port}"));
        cfg.generation.webhook_poll_secs = 3_600;
    }
    let server = TestServer::start_with(cfg).await;
    (fal, server, dir)
}

async fn prompt_to_canvas_on_every_device(report: Report) {
    let (fal, server, _dir) = start(report).await;
    let token = server.token("creator");
    let (a, b) = (
        Device::new(&server.url(), &token),
        Device::new(&server.url(), &token),
    );
    let project = a.create_project();
    a.sync_until_flushed(BOUND).await;

    let prompt = "a paper boat on a stormy sea";
    let out = a.cli(&["generate", &project.to_string(), prompt, "--wait"]);
    assert_eq!(out["status"], "completed", "{out}");
    let outputs: Vec<String> = out["outputs"]
        .as_array()
        .expect("outputs")
        .iter()
        .map(|o| o.as_str().expect("asset id").to_owned())
        .collect();
    assert_eq!(outputs.len(), 1, "{out}");
    let sha = &outputs[0];

    // The image is the user's asset on the server, made by this generation.
    let asset: Value = server.get(&token, &format!("/v1/assets/{sha}")).await;
    assert_eq!(asset["source"], "generation");
    assert_eq!(asset["generation"]["prompt"], prompt);
    let server_id = out["serverId"].as_str().expect("server id");
    assert_eq!(asset["generation"]["generationId"], server_id);

    // On the server's canvas, the output stands where the placeholder stood.
    let placeholder: Uuid = out["elementId"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("placeholder id");
    let on_server = server.project(&token, project).await.canvas;
    let shown: Vec<_> = on_server
        .elements
        .iter()
        .filter(|e| e.asset_id.as_deref() == Some(sha.as_str()))
        .collect();
    assert_eq!(shown.len(), 1, "{:?}", on_server.elements);
    assert_eq!(shown[0].kind, ElementKind::Image);
    assert!(
        on_server.elements.iter().all(|e| e.id != placeholder),
        "the placeholder was replaced"
    );

    // Both devices get it by ordinary sync, also the one that never asked.
    for device in [&a, &b] {
        device.sync_until_flushed(BOUND).await;
        let canvas = device.canvas(project);
        assert!(
            canvas
                .elements
                .iter()
                .any(|e| e.asset_id.as_deref() == Some(sha.as_str())),
            "{:?}",
            canvas.elements
        );
        assert!(canvas.elements.iter().all(|e| e.id != placeholder));
    }

    let request = fal
        .submissions()
        .pop()
        .expect("fal got the request")
        .request_id;
    assert_eq!(fal.submits(), 1, "submitted once");
    match report {
        Report::Webhook => {
            assert_eq!(
                fal.status_polls_for(&request),
                0,
                "the result came by webhook"
            );
            assert!(fal.webhooks_delivered() >= 1);
        }
        Report::Polling => assert!(fal.status_polls_for(&request) >= 1),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cli_prompt_lands_on_every_device_by_polling() {
    prompt_to_canvas_on_every_device(Report::Polling).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cli_prompt_lands_on_every_device_by_webhook() {
    prompt_to_canvas_on_every_device(Report::Webhook).await;
}
