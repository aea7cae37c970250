//! Benchmarks of the desktop app, the real binary under Xvfb (alone, then through tauri-driver):
//! cold start to an interactive canvas, memory after opening a 2,000-image project, frame
//! times while panning and zooming it (with the renderer the machine has), and a
//! 10,000-image canvas opened and panned end to end while memory is sampled.
//!
//! `cargo build --release -p iskra-desktop -p iskra-e2e && target/release/iskra-desktop-bench`
//! (`scripts/bench.sh` runs it). Figures go to stdout; README records them.

use iskra_e2e::app::{App, Profile};
use iskra_e2e::direct::DirectApp;
use iskra_e2e::display::Display;
use iskra_e2e::procs;
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Side of the square grid cell each image occupies, world units.
const CELL: f64 = 300.0;

fn epoch_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or(0.0)
}

/// A data dir holding one project of `count` distinct images laid out in a grid.
fn seed_project(dir: &Path, count: u32) -> anyhow::Result<()> {
    let engine = iskra_engine::Engine::open(dir)?;
    let project = engine.create_project(Some(&format!("{count} images")))?;
    let files = tempfile::tempdir()?;
    let columns = f64::from(count).sqrt().ceil() as u32;
    let started = Instant::now();
    for i in 0..count {
        let file = iskra_e2e::images::write_png(files.path(), "img.png", i, 240, 180);
        let (col, row) = (i % columns, i / columns);
        engine.add_media(
            project.id,
            &file,
            f64::from(col) * CELL,
            f64::from(row) * CELL,
        )?;
    }
    engine.snapshot_now()?;
    println!(
        "  seeded {count} images in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Resident memory of the app process, and PSS of it with WebKit's helper processes (MB).
fn memory_of(pid: Option<u32>) -> (f64, f64) {
    let Some(pid) = pid else {
        return (0.0, 0.0);
    };
    let mut all = vec![pid];
    all.extend(procs::descendants(pid));
    let rss = procs::rss(pid).unwrap_or(0) as f64 / 1_048_576.0;
    let pss: u64 = all.iter().filter_map(|p| procs::pss(*p)).sum();
    (rss, pss as f64 / 1_048_576.0)
}

fn memory(app: &App) -> (f64, f64) {
    memory_of(app.app_pid())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn floats(v: &Value, key: &str) -> Vec<f64> {
    let mut out: Vec<f64> = v["ok"][key]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default();
    out.sort_by(f64::total_cmp);
    out
}

/// Launches the app on `profile` and reports start-up time (launch → first frame).
async fn launch(display: &Display, profile: &Profile) -> anyhow::Result<(App, f64)> {
    let before = epoch_ms();
    let app = App::launch(display, profile).await?;
    let ready = app
        .js("window.__iskraReadyAt")
        .await?
        .as_f64()
        .unwrap_or(f64::NAN);
    Ok((app, ready - before))
}

/// Starts the app alone five times on `profile` and prints spawn → first frame.
fn start_ups(display: &Display, profile: &Profile, label: &str) -> anyhow::Result<()> {
    let mut starts = Vec::new();
    let mut logged = Vec::new();
    for _ in 0..5 {
        let app = DirectApp::launch(display, profile)?;
        starts.push(app.start_up.as_secs_f64() * 1000.0);
        logged.extend(app.logged_ms.map(|ms| ms as f64));
    }
    let first = starts.first().copied().unwrap_or(f64::NAN);
    starts.sort_by(f64::total_cmp);
    logged.sort_by(f64::total_cmp);
    println!(
        "  {label}: p50 {:.0} ms, max {:.0} ms, first run {first:.0} ms; the app's own reading (run() → first frame) p50 {:.0} ms",
        percentile(&starts, 0.5),
        starts.last().copied().unwrap_or(f64::NAN),
        percentile(&logged, 0.5),
    );
    Ok(())
}

/// Waits until every texture the view asked for has loaded.
async fn settle(app: &App) -> anyhow::Result<()> {
    let waited = app
        .wait_until(
            "textures to load",
            "(() => { const t = window.__iskra.canvas.engine.stats().textures; return t.loading === 0 && t.queued === 0; })()",
        )
        .await;
    if let Err(e) = waited {
        let stats = app.js("window.__iskra.canvas.engine.stats()").await?;
        anyhow::bail!("{e}; the canvas reports {stats}");
    }
    Ok(())
}

/// Pans and zooms for `seconds` (one camera step per frame); frame intervals and CPU times.
const PAN_ZOOM: &str = r#"
new Promise((resolve) => {
  const e = window.__iskra.canvas.engine, seconds = SECONDS;
  const start = e.cameraState, view = e.viewSize;
  const cpu = [], frames = [];
  e.onFrame = (ms) => cpu.push(ms);
  let last = 0, t0 = 0;
  const step = (now) => {
    if (!t0) t0 = now;
    if (last) frames.push(now - last);
    last = now;
    const t = (now - t0) / 1000;
    if (t > seconds) { e.onFrame = null; e.setCamera(start); resolve({ frames, cpu }); return; }
    const scale = start.scale * (1 + 0.5 * Math.sin(t * 1.3));
    const cx = start.x + view.width / start.scale / 2 + Math.sin(t * 0.7) * view.width / start.scale / 3;
    const cy = start.y + view.height / start.scale / 2 + Math.cos(t * 0.5) * view.height / start.scale / 3;
    e.setCamera({ x: cx - view.width / scale / 2, y: cy - view.height / scale / 2, scale });
    requestAnimationFrame(step);
  };
  requestAnimationFrame(step);
})
"#;

/// Sweeps the camera across the whole canvas at `scale`, row by row, in `steps` frames.
const SWEEP: &str = r#"
new Promise((resolve) => {
  const e = window.__iskra.canvas.engine, doc = window.__iskra.canvas.doc;
  const b = doc.contentBounds(), view = e.viewSize, scale = SCALE, steps = STEPS;
  const w = view.width / scale, h = view.height / scale;
  const rows = Math.max(1, Math.ceil(b.height / h));
  let i = 0, maxReady = 0, maxVisible = 0;
  const step = () => {
    const s = e.stats();
    maxReady = Math.max(maxReady, s.textures.ready);
    maxVisible = Math.max(maxVisible, s.visible);
    if (i >= steps) { resolve({ maxReady, maxVisible }); return; }
    const t = i / steps, row = Math.min(rows - 1, Math.floor(t * rows)), u = (t * rows) % 1;
    const x = b.x + (row % 2 === 0 ? u : 1 - u) * Math.max(0, b.width - w);
    e.setCamera({ x, y: b.y + row * h, scale });
    i++;
    requestAnimationFrame(step);
  };
  requestAnimationFrame(step);
})
"#;

async fn frame_times(app: &App, label: &str, seconds: f64) -> anyhow::Result<()> {
    let v = app
        .js_async(&PAN_ZOOM.replace("SECONDS", &seconds.to_string()))
        .await?;
    let frames = floats(&v, "frames");
    let cpu = floats(&v, "cpu");
    println!(
        "  {label}: {} frames, interval p50 {:.1} ms p95 {:.1} ms; render CPU p50 {:.2} ms p95 {:.2} ms",
        frames.len(),
        percentile(&frames, 0.5),
        percentile(&frames, 0.95),
        percentile(&cpu, 0.5),
        percentile(&cpu, 0.95),
    );
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let display = Display::start(1440, 900)?;
    let local = |dir: &Path| Profile {
        binary: None,
        data_dir: dir.to_path_buf(),
        server: None,
        token: None,
        path_first: Vec::new(),
    };

    println!("Cold start (spawn → first frame of the canvas), the binary alone, 5 runs:");
    let dir = tempfile::tempdir()?;
    start_ups(&display, &local(dir.path()), "fresh profile")?;

    println!("2,000-image project:");
    let dir = tempfile::tempdir()?;
    seed_project(dir.path(), 2000)?;
    start_ups(&display, &local(dir.path()), "2,000 images")?;
    let (app, ms) = launch(&display, &local(dir.path())).await?;
    println!("  through WebDriver, session request to first frame: {ms:.0} ms");
    let renderer = app
        .js("window.__iskra.canvas.engine.stats().renderer")
        .await?;
    let mut drivers: Vec<String> = app
        .app_pid()
        .map(|pid| {
            let mut all = vec![pid];
            all.extend(procs::descendants(pid));
            all.into_iter().flat_map(procs::gl_drivers).collect()
        })
        .unwrap_or_default();
    drivers.sort();
    drivers.dedup();
    println!("  renderer: {renderer}; GL drivers mapped by the app's processes: {drivers:?}");
    settle(&app).await?;
    let (rss, pss) = memory(&app);
    println!("  after opening: app RSS {rss:.0} MB; with WebKit processes PSS {pss:.0} MB");
    app.js("(window.__iskra.canvas.engine.fitContent(), true)")
        .await?;
    tokio::time::sleep(Duration::from_millis(600)).await;
    settle(&app).await?;
    let stats = app.js("window.__iskra.canvas.engine.stats()").await?;
    println!("  fit to content: {stats}");
    frame_times(&app, "pan + zoom, all 2,000 in view", 6.0).await?;
    app.js("(window.__iskra.canvas.engine.zoomTo(0.5), true)")
        .await?;
    tokio::time::sleep(Duration::from_millis(600)).await;
    settle(&app).await?;
    frame_times(&app, "pan + zoom at 50 %", 6.0).await?;
    let (rss, pss) = memory(&app);
    println!("  after panning: app RSS {rss:.0} MB; with WebKit processes PSS {pss:.0} MB");
    app.quit().await;

    println!("10,000-image project:");
    let dir = tempfile::tempdir()?;
    seed_project(dir.path(), 10_000)?;
    let (app, ms) = launch(&display, &local(dir.path())).await?;
    println!("  start to interactive canvas: {ms:.0} ms");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = {
        let pid = app.app_pid();
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut peak = (0.0f64, 0.0f64);
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let (rss, pss) = memory_of(pid);
                peak = (peak.0.max(rss), peak.1.max(pss));
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            peak
        })
    };
    let swept = app
        .js_async(&SWEEP.replace("SCALE", "0.6").replace("STEPS", "1200"))
        .await?;
    println!("  swept the canvas at 60 %: {}", swept["ok"]);
    frame_times(&app, "pan + zoom", 6.0).await?;
    let alive = app.js("window.__iskra.canvas.elementCount").await?;
    let (rss, pss) = memory(&app);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let peak = sampler.await?;
    println!("  still responsive with {alive} elements; now app RSS {rss:.0} MB, PSS {pss:.0} MB");
    println!(
        "  peak while panning: app RSS {:.0} MB, PSS with WebKit {:.0} MB",
        peak.0, peak.1
    );
    tokio::time::sleep(Duration::from_secs(9)).await; // idle textures are released after 8 s
    app.js("(window.__iskra.canvas.engine.invalidate(), true)")
        .await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let stats = app.js("window.__iskra.canvas.engine.stats()").await?;
    println!("  after 9 s idle: {stats}");
    app.quit().await;
    Ok(())
}
