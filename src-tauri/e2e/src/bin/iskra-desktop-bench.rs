//! Benchmarks of the desktop app, the real binary under Xvfb (alone, then through tauri-driver):
//! cold start to an interactive canvas, memory after opening a 2,000-image project, frame
//! times while panning and zooming it (with the renderer the machine has), a 10,000-image
//! canvas opened and panned end to end while memory is sampled, and a 100,000-image canvas:
//! opened, 10,000 images in view at far zoom (drawn from the atlas), swept end to end.
//!
//! `cargo build --release -p iskra-desktop -p iskra-e2e && target/release/iskra-desktop-bench`
//! (`--only start,2000,10000,100000` picks parts; `scripts/bench.sh` runs it all). Figures go
//! to stdout; README records them.

use iskra_e2e::app::{App, Profile};
use iskra_e2e::direct::DirectApp;
use iskra_e2e::display::Display;
use iskra_e2e::procs;
use iskra_engine::store::assets::AssetRecord;
use iskra_engine::NewElement;
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

/// A data dir holding one project of `count` distinct images laid out in a grid: the files are
/// imported by two threads (the engine takes imports from several at once), then placed a
/// thousand per edit.
fn seed_project(dir: &Path, count: u32) -> anyhow::Result<()> {
    const THREADS: u32 = 2;
    const PER_EDIT: usize = 1000;
    let engine = iskra_engine::Engine::open(dir)?;
    let project = engine.create_project(Some(&format!("{count} images")))?;
    let files = tempfile::tempdir()?;
    let columns = f64::from(count).sqrt().ceil() as u32;
    let started = Instant::now();
    let mut assets = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..THREADS)
            .map(|t| {
                let (engine, files) = (&engine, files.path());
                scope.spawn(move || -> anyhow::Result<Vec<(u32, AssetRecord)>> {
                    let name = format!("img-{t}.png");
                    (t..count)
                        .step_by(THREADS as usize)
                        .map(|i| {
                            let file = iskra_e2e::images::write_png(files, &name, i, 240, 180);
                            Ok((i, engine.import_asset(&file)?.0))
                        })
                        .collect()
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .map_err(|_| anyhow::anyhow!("a seeding thread panicked"))?
            })
            .collect::<anyhow::Result<Vec<_>>>()
    })?
    .concat();
    assets.sort_by_key(|(i, _)| *i);
    let imported = started.elapsed();
    let news: Vec<NewElement> = assets
        .iter()
        .map(|(i, asset)| {
            let (col, row) = (i % columns, i / columns);
            NewElement::for_asset(asset, f64::from(col) * CELL, f64::from(row) * CELL)
        })
        .collect();
    for chunk in news.chunks(PER_EDIT) {
        engine.add_elements(project.id, chunk)?;
    }
    engine.snapshot_now()?;
    println!(
        "  seeded {count} images in {:.1} s (imports {:.1} s)",
        started.elapsed().as_secs_f64(),
        imported.as_secs_f64()
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

/// Sweeps the camera across the whole canvas at `scale`, row by row: steps FROM..TO of STEPS
/// (one per frame); the most textures and elements alive on the way.
const SWEEP: &str = r#"
new Promise((resolve) => {
  const e = window.__iskra.canvas.engine, doc = window.__iskra.canvas.doc;
  const b = doc.contentBounds(), view = e.viewSize, scale = SCALE, steps = STEPS, to = TO;
  const w = view.width / scale, h = view.height / scale;
  const rows = Math.max(1, Math.ceil(b.height / h));
  let i = FROM, maxReady = 0, maxVisible = 0;
  const step = () => {
    const s = e.stats();
    maxReady = Math.max(maxReady, s.textures.ready);
    maxVisible = Math.max(maxVisible, s.visible);
    if (i >= to) { resolve({ maxReady, maxVisible }); return; }
    const t = i / steps, row = Math.min(rows - 1, Math.floor(t * rows)), u = (t * rows) % 1;
    const x = b.x + (row % 2 === 0 ? u : 1 - u) * Math.max(0, b.width - w);
    e.setCamera({ x, y: b.y + row * h, scale });
    i++;
    requestAnimationFrame(step);
  };
  requestAnimationFrame(step);
})
"#;

/// Runs SWEEP in parts short enough for WebDriver's script timeout on a slow renderer; the
/// most textures and elements alive over the whole sweep.
async fn sweep(app: &App, scale: f64, steps: u32) -> anyhow::Result<(u64, u64)> {
    const PART: u32 = 200;
    let (mut ready, mut visible) = (0, 0);
    for from in (0..steps).step_by(PART as usize) {
        let v = app
            .js_async(
                &SWEEP
                    .replace("SCALE", &scale.to_string())
                    .replace("STEPS", &steps.to_string())
                    .replace("FROM", &from.to_string())
                    .replace("TO", &(from + PART).min(steps).to_string()),
            )
            .await?;
        ready = ready.max(v["ok"]["maxReady"].as_u64().unwrap_or(0));
        visible = visible.max(v["ok"]["maxVisible"].as_u64().unwrap_or(0));
    }
    Ok((ready, visible))
}

/// Centres the camera on the canvas at `SCALE`, or (SCALE = 0) at the zoom that puts about
/// `COUNT` images in view; returns the scale.
const CENTRE: &str = r#"
(() => {
  const e = window.__iskra.canvas.engine, doc = window.__iskra.canvas.doc;
  const b = doc.contentBounds(), view = e.viewSize, count = COUNT, cell = CELL;
  const scale = SCALE || Math.sqrt((view.width * view.height) / (count * cell * cell));
  const cx = b.x + b.width / 2, cy = b.y + b.height / 2;
  e.setCamera({ x: cx - view.width / scale / 2, y: cy - view.height / scale / 2, scale });
  return scale;
})()
"#;

/// Centres the camera on the canvas at `scale` (0: with about `count` images in view).
async fn centre(app: &App, scale: f64, count: u32) -> anyhow::Result<f64> {
    let v = app
        .js(&CENTRE
            .replace("SCALE", &scale.to_string())
            .replace("COUNT", &count.to_string())
            .replace("CELL", &CELL.to_string()))
        .await?;
    v.as_f64()
        .ok_or_else(|| anyhow::anyhow!("centring the camera answered {v}"))
}

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

/// The parts of the bench, in order; `--only a,b` runs some of them.
const PARTS: [&str; 4] = ["start", "2000", "10000", "100000"];

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let only: Vec<String> = match args.as_slice() {
        [] => PARTS.iter().map(|p| p.to_string()).collect(),
        [flag, list] if flag == "--only" => list.split(',').map(str::to_owned).collect(),
        _ => anyhow::bail!("usage: iskra-desktop-bench [--only {}]", PARTS.join(",")),
    };
    if let Some(unknown) = only.iter().find(|p| !PARTS.contains(&p.as_str())) {
        anyhow::bail!("no part {unknown:?}; the parts are {}", PARTS.join(", "));
    }
    let display = Display::start(1440, 900)?;
    for part in &only {
        match part.as_str() {
            "start" => cold_start(&display).await?,
            "2000" => two_thousand(&display).await?,
            "10000" => ten_thousand(&display).await?,
            _ => hundred_thousand(&display).await?,
        }
    }
    Ok(())
}

/// A profile of the app alone (no server) on `dir`.
fn local(dir: &Path) -> Profile {
    Profile {
        binary: None,
        data_dir: dir.to_path_buf(),
        server: None,
        token: None,
        path_first: Vec::new(),
    }
}

/// Spawn → first canvas frame on a fresh profile.
async fn cold_start(display: &Display) -> anyhow::Result<()> {
    println!("Cold start (spawn → first frame of the canvas), the binary alone, 5 runs:");
    let dir = tempfile::tempdir()?;
    start_ups(display, &local(dir.path()), "fresh profile")?;
    Ok(())
}

/// Start, memory and frame times with a 2,000-image project.
async fn two_thousand(display: &Display) -> anyhow::Result<()> {
    println!("2,000-image project:");
    let dir = tempfile::tempdir()?;
    seed_project(dir.path(), 2000)?;
    start_ups(display, &local(dir.path()), "2,000 images")?;
    let (app, ms) = launch(display, &local(dir.path())).await?;
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
    Ok(())
}

/// A 10,000-image project opened and swept at 60 %, memory sampled.
async fn ten_thousand(display: &Display) -> anyhow::Result<()> {
    let (app, _dir) = open_seeded(display, 10_000).await?;
    let (stop, sampler) = peak_memory(&app);
    let (ready, visible) = sweep(&app, 0.6, 1200).await?;
    println!(
        "  swept the canvas at 60 %: at most {ready} textures alive, {visible} elements drawn"
    );
    frame_times(&app, "pan + zoom", 6.0).await?;
    wrap_up(app, stop, sampler).await
}

/// A 100,000-image project: 10,000 in view at far zoom, swept end to end, memory sampled.
async fn hundred_thousand(display: &Display) -> anyhow::Result<()> {
    let (app, _dir) = open_seeded(display, 100_000).await?;
    let (stop, sampler) = peak_memory(&app);
    let scale = centre(&app, 0.0, 10_000).await?;
    // Images far out come in as their thumbnails are made and decoded: how many a second, and
    // frame times first while they still come in, then once the view has them all.
    let started = Instant::now();
    let filled = |stats: &Value| {
        let t = &stats["textures"];
        t["loading"].as_u64() == Some(0) && t["queued"].as_u64() == Some(0)
    };
    let mut stats = Value::Null;
    while started.elapsed() < Duration::from_secs(30) && !filled(&stats) {
        tokio::time::sleep(Duration::from_millis(500)).await;
        stats = app.js("window.__iskra.canvas.engine.stats()").await?;
    }
    let ready = stats["textures"]["ready"].as_f64().unwrap_or(0.0);
    println!(
        "  far zoom ({:.2} %): {stats} after {:.1} s ({:.0} images drawn in per second)",
        scale * 100.0,
        started.elapsed().as_secs_f64(),
        ready / started.elapsed().as_secs_f64()
    );
    frame_times(&app, "pan + zoom at far zoom, images still coming in", 6.0).await?;
    while started.elapsed() < Duration::from_secs(300) && !filled(&stats) {
        tokio::time::sleep(Duration::from_millis(500)).await;
        stats = app.js("window.__iskra.canvas.engine.stats()").await?;
    }
    println!(
        "  all in after {:.1} s: {stats}",
        started.elapsed().as_secs_f64()
    );
    frame_times(&app, "pan + zoom at far zoom, all images in", 6.0).await?;
    let (ready, visible) = sweep(&app, scale, 600).await?;
    println!(
        "  swept the whole canvas at far zoom: at most {ready} textures alive, {visible} elements drawn"
    );
    centre(&app, 0.6, 0).await?;
    // Two animation frames: the canvas has culled at the new camera and asked for its textures.
    app.js_async(
        "new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))",
    )
    .await?;
    settle(&app).await?;
    frame_times(&app, "pan + zoom at 60 %", 6.0).await?;
    wrap_up(app, stop, sampler).await
}

/// Seeds a project of `count` images, starts the app on it and prints how long that took;
/// the data dir lives as long as the returned guard.
async fn open_seeded(display: &Display, count: u32) -> anyhow::Result<(App, tempfile::TempDir)> {
    println!("{count}-image project:");
    let dir = tempfile::tempdir()?;
    seed_project(dir.path(), count)?;
    let (app, ms) = launch(display, &local(dir.path())).await?;
    println!("  start to interactive canvas: {ms:.0} ms");
    Ok((app, dir))
}

/// Samples the app's memory every 200 ms until `stop` is set; the task returns the peaks.
fn peak_memory(
    app: &App,
) -> (
    std::sync::Arc<std::sync::atomic::AtomicBool>,
    tokio::task::JoinHandle<(f64, f64)>,
) {
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let pid = app.app_pid();
    let flag = stop.clone();
    let sampler = tokio::spawn(async move {
        let mut peak = (0.0f64, 0.0f64);
        while !flag.load(std::sync::atomic::Ordering::Relaxed) {
            let (rss, pss) = memory_of(pid);
            peak = (peak.0.max(rss), peak.1.max(pss));
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        peak
    });
    (stop, sampler)
}

/// Prints memory now and at its peak, then what is alive once idle textures are released, and quits.
async fn wrap_up(
    app: App,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    sampler: tokio::task::JoinHandle<(f64, f64)>,
) -> anyhow::Result<()> {
    let alive = app.js("window.__iskra.canvas.elementCount").await?;
    let (rss, pss) = memory(&app);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let peak = sampler.await?;
    println!("  still responsive with {alive} elements; now app RSS {rss:.0} MB, PSS {pss:.0} MB");
    println!(
        "  peak while panning: app RSS {:.0} MB, PSS with WebKit {:.0} MB",
        peak.0, peak.1
    );
    idle_release(&app).await?;
    app.quit().await;
    Ok(())
}

/// Waits past the textures' idle time, draws one frame and prints what is still alive.
async fn idle_release(app: &App) -> anyhow::Result<()> {
    tokio::time::sleep(Duration::from_secs(9)).await; // idle textures are released after 8 s
    app.js("(window.__iskra.canvas.engine.invalidate(), true)")
        .await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let stats = app.js("window.__iskra.canvas.engine.stats()").await?;
    println!("  after 9 s idle: {stats}");
    Ok(())
}
