//! The `iskra` CLI's generation commands end to end (D7): `generate` offline (the request
//! waits in the outbox; `--from-asset` places the placeholder beside the image), `generations
//! list/cancel`, the signed-out refusal, and `generate --wait` against the engine's fake server
//! — progress lines until completed, a non-zero exit with fal's reason or the rate limit —
//! and `models`, fresh and then cached once the server is gone.

#[allow(dead_code)]
#[path = "../src/sync/fake_server.rs"]
mod fake_server;

#[allow(dead_code)]
#[path = "../src/sync/fake_generations.rs"]
mod fake_generations;

mod common;

use common::{command, iskra, json, ok, signed_in};
use fake_generations::FakeGenerations;
use fake_server::{healthy, unreachable_url, FakeServer};
use iskra_protocol::GenerationStatus;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Output, Stdio};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

/// How long a step may take on a loaded machine.
const STEP: Duration = Duration::from_secs(60);

/// The `{"error": …}` document on stderr (its last line: warnings may come first).
fn error(out: &Output) -> Value {
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last = stderr.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("{e}: {stderr}"))
}

/// The fake server (on its own runtime, alive as long as the value).
struct Fake {
    url: String,
    gens: Arc<FakeGenerations>,
    _rt: tokio::runtime::Runtime,
}

fn fake() -> Fake {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let gens = FakeGenerations::new();
    let handler = Arc::clone(&gens);
    let server = rt.block_on(FakeServer::start(move |req| {
        handler.handle(req).unwrap_or_else(|| healthy(req))
    }));
    Fake {
        url: server.url,
        gens,
        _rt: rt,
    }
}

/// `iskra generate … --wait` (text output) running, its stdout lines arriving on a channel.
fn spawn_wait(dir: &Path, server: &str, args: &[&str]) -> (Child, mpsc::Receiver<String>) {
    let mut child = command(dir)
        .args(args)
        .env("ISKRA_TOKEN", "tok")
        .env("ISKRA_SERVER", server)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    (child, rx)
}

/// Waits for a line starting with `prefix`; returns it.
fn line(rx: &mpsc::Receiver<String>, prefix: &str) -> String {
    let deadline = Instant::now() + STEP;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(l) if l.starts_with(prefix) => return l,
            Ok(_) => {}
            Err(e) => panic!("no line {prefix:?}: {e}"),
        }
    }
}

fn finish(mut child: Child) -> (bool, String) {
    let deadline = Instant::now() + STEP;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
            return (status.success(), err);
        }
        assert!(Instant::now() < deadline, "iskra did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn project(dir: &Path) -> String {
    json(dir, &["projects", "create"])["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn generate_offline_waits_in_the_outbox_and_cancels_here() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let p = project(d);
    let err = error(&iskra(d, &["generate", &p, "a fox"]));
    assert_eq!(err["error"]["kind"], "auth");
    assert_eq!(
        err["error"]["message"],
        "Sign in to generate: generation runs on your Iskra account"
    );

    let server = unreachable_url();
    let args = [
        "generate",
        &p,
        "a fox",
        "--num",
        "2",
        "--size",
        "landscape_16_9",
    ];
    let g = ok(signed_in(d, &server, &args));
    assert_eq!(g["status"], "waiting");
    assert_eq!(g["params"]["numImages"], 2);
    let id = g["id"].as_str().unwrap().to_owned();
    let shown = json(d, &["projects", "show", &p]);
    let placeholder = &shown["canvas"]["elements"][0];
    assert_eq!(placeholder["kind"], "generation");
    assert_eq!(
        (
            placeholder["width"].as_f64(),
            placeholder["height"].as_f64()
        ),
        (Some(1024.0), Some(576.0))
    );
    let outbox = json(d, &["outbox", "list"]);
    let submit = outbox.as_array().unwrap().last().unwrap();
    assert_eq!(submit["payload"]["kind"], "generation.submit");
    assert_eq!(submit["opId"], id.as_str());

    // From an image not yet on the canvas: it is placed first, the placeholder beside it.
    let png = d.join("red.png");
    image::RgbImage::from_pixel(64, 32, image::Rgb([255, 0, 0]))
        .save(&png)
        .unwrap();
    let sha = json(d, &["assets", "upload", png.to_str().unwrap()])["sha256"]
        .as_str()
        .unwrap()
        .to_owned();
    let i2i = ok(signed_in(
        d,
        &server,
        &["generate", &p, "make it blue", "--from-asset", &sha],
    ));
    assert_eq!(i2i["kind"], "image-to-image");
    let elements = json(d, &["projects", "show", &p])["canvas"]["elements"].clone();
    let image = elements
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["assetId"] == sha.as_str());
    let image = image.expect("the image was placed").clone();
    let beside = elements
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == i2i["elementId"]);
    let beside = beside.unwrap();
    assert_eq!(
        (beside["width"].as_f64(), beside["height"].as_f64()),
        (Some(64.0), Some(32.0))
    );
    assert!(beside["x"].as_f64() > image["x"].as_f64().map(|x| x + 64.0));
    let bad = error(&signed_in(
        d,
        &server,
        &["generate", &p, "x", "--kind", "image-to-video"],
    ));
    assert_eq!(bad["error"]["kind"], "usage");

    let waiting = json(d, &["generations", "list", "--status", "waiting"]);
    assert_eq!(waiting.as_array().unwrap().len(), 2);
    let canceled = json(d, &["generations", "cancel", &id]);
    assert_eq!(canceled["status"], "canceled");
    let listed = json(
        d,
        &[
            "generations",
            "list",
            "--project",
            &p,
            "--status",
            "canceled",
        ],
    );
    assert_eq!(listed[0]["id"], id.as_str());
    let err = error(&signed_in(d, &server, &["models"]));
    assert_eq!(err["error"]["kind"], "network");
}

#[test]
fn generate_wait_prints_progress_until_completed_and_models_stay_cached() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let p = project(d);
    let fake = fake();
    let (child, rx) = spawn_wait(
        d,
        &fake.url,
        &["generate", &p, "a fox", "--num", "2", "--wait"],
    );
    line(&rx, "queued (position 0)");
    let job = fake.gens.generations()[0].id;
    fake.gens.set_status(job, GenerationStatus::Running, None);
    line(&rx, "running");
    fake.gens.complete(job, 2);
    line(&rx, "completed: 2 outputs");
    let (success, stderr) = finish(child);
    assert!(success, "{stderr}");
    let (key, body) = fake.gens.submissions()[0].clone();
    let shown = json(d, &["generations", "show", &key]);
    assert_eq!(shown["serverId"], job.to_string());
    assert_eq!(shown["outputs"].as_array().unwrap().len(), 2);
    assert_eq!(body["elementId"], shown["elementId"]);
    let listed = json(d, &["generations", "list"]);
    assert_eq!(listed[0]["status"], "completed");

    let models = ok(signed_in(d, &fake.url, &["models"]));
    assert_eq!(models.as_array().unwrap().len(), 3);
    drop(fake);
    let cached = ok(signed_in(d, &unreachable_url(), &["models"]));
    assert_eq!(cached, models);
}

#[test]
fn generate_wait_fails_with_fals_reason_or_the_rate_limit() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let p = project(d);
    let fake = fake();
    let (child, rx) = spawn_wait(d, &fake.url, &["generate", &p, "a fox", "--wait"]);
    line(&rx, "queued");
    let job = fake.gens.generations()[0].id;
    fake.gens
        .fail(job, "FAL_FAILED", "the model refused the prompt");
    line(&rx, "failed: the model refused the prompt");
    let (success, stderr) = finish(child);
    assert!(!success);
    assert!(stderr.contains("the model refused the prompt"), "{stderr}");

    fake.gens.rate_limit_next(10, "2026-12-01T00:00:00.000Z");
    let out = signed_in(d, &fake.url, &["generate", &p, "an owl", "--wait"]);
    let ended: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(ended["status"], "failed");
    assert_eq!(ended["error"]["limit"]["window"], "day");
    assert_eq!(ended["error"]["limit"]["remaining"], 0);
    let err = error(&out);
    assert_eq!(err["error"]["kind"], "generation");
    let message = err["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("day limit 10, 0 left, resets 2026-12-01"),
        "{message}"
    );
    let rejected = json(d, &["outbox", "list"]);
    assert_eq!(rejected[0]["state"], "rejected");
}
