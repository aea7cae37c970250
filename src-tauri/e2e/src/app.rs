//! The desktop app under test: `tauri-driver` (in front of WebKitWebDriver) on a private
//! display, launching the real `iskra-desktop` binary with its own data dir, server and
//! token; helpers that read the app's state, wait for it, and locate canvas elements on
//! screen so tests can point at them with the mouse.

use crate::display::Display;
use crate::webdriver::{Element, Session, WebDriverError};
use serde_json::{json, Value};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Why the app could not be driven.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0} is not built (cargo build -p iskra-desktop)")]
    NotBuilt(PathBuf),
    #[error("cannot start tauri-driver (cargo install tauri-driver --locked): {0}")]
    Driver(std::io::Error),
    #[error("tauri-driver did not listen on port {0}")]
    DriverSilent(u16),
    #[error(transparent)]
    WebDriver(#[from] WebDriverError),
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    #[error("unexpected answer: {0}")]
    Unexpected(String),
    #[error("timed out after {0:?} waiting for {1}")]
    Timeout(Duration, String),
}

pub type Result<T> = std::result::Result<T, AppError>;

/// How long waits for the app last before failing.
pub const WAIT: Duration = Duration::from_secs(60);

/// Where the app keeps its data and which server it talks to.
#[derive(Debug, Clone)]
pub struct Profile {
    /// The app binary; `None` finds it (`desktop_binary`).
    pub binary: Option<PathBuf>,
    pub data_dir: PathBuf,
    /// Sync server base URL; `None` leaves the app local-only.
    pub server: Option<String>,
    /// Dev token to sign in with at start.
    pub token: Option<String>,
    /// Folders searched for programs before `PATH` (a test's stand-in for `xdg-open`).
    pub path_first: Vec<PathBuf>,
}

impl Profile {
    /// The app binary this profile runs, which must exist.
    pub fn app_binary(&self) -> Result<PathBuf> {
        match &self.binary {
            Some(b) if b.exists() => Ok(b.clone()),
            Some(b) => Err(AppError::NotBuilt(b.clone())),
            None => desktop_binary(),
        }
    }

    /// What the app reads at start, set on `cmd` (the app itself, or the driver that starts
    /// it and passes its environment on): display, data dir, log level, server, token, and
    /// the folders searched for programs first.
    pub fn apply(&self, cmd: &mut Command, display: &Display) {
        cmd.env("DISPLAY", display.name())
            .env_remove("WAYLAND_DISPLAY")
            .env("GDK_BACKEND", "x11")
            .env("ISKRA_DATA_DIR", &self.data_dir)
            .env("ISKRA_LOG", "info");
        match &self.server {
            Some(s) => cmd.env("ISKRA_SERVER", s),
            None => cmd.env_remove("ISKRA_SERVER"),
        };
        match &self.token {
            Some(t) => cmd.env("ISKRA_TOKEN", t),
            None => cmd.env_remove("ISKRA_TOKEN"),
        };
        if !self.path_first.is_empty() {
            let system = std::env::var_os("PATH").unwrap_or_default();
            let dirs = self
                .path_first
                .iter()
                .cloned()
                .chain(std::env::split_paths(&system));
            if let Ok(path) = std::env::join_paths(dirs) {
                cmd.env("PATH", path);
            }
        }
    }
}

/// The `target/<profile>` directory this executable was built into.
fn target_profile_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    let dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
    if dir.file_name().is_some_and(|n| n == "deps") {
        dir.parent().map(Path::to_path_buf).unwrap_or(dir)
    } else {
        dir
    }
}

/// The `iskra-desktop` binary: `ISKRA_DESKTOP_BIN`, or beside this executable.
pub fn desktop_binary() -> Result<PathBuf> {
    let bin = std::env::var_os("ISKRA_DESKTOP_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_profile_dir().join("iskra-desktop"));
    bin.exists()
        .then_some(bin.clone())
        .ok_or(AppError::NotBuilt(bin))
}

/// The `tauri-driver` executable: `ISKRA_TAURI_DRIVER`, `~/.cargo/bin`, or `PATH`.
fn tauri_driver() -> PathBuf {
    if let Some(p) = std::env::var_os("ISKRA_TAURI_DRIVER") {
        return PathBuf::from(p);
    }
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    home.map(|h| h.join("bin/tauri-driver"))
        .filter(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from("tauri-driver"))
}

/// Two distinct free loopback ports (both held while the second is chosen).
fn free_ports() -> (u16, u16) {
    let bind = || TcpListener::bind("127.0.0.1:0");
    match (bind(), bind()) {
        (Ok(a), Ok(b)) => match (a.local_addr(), b.local_addr()) {
            (Ok(a), Ok(b)) => (a.port(), b.port()),
            _ => (4444, 4445),
        },
        _ => (4444, 4445),
    }
}

/// How many times a launch whose session request the driver dropped is tried on fresh ports:
/// tauri-driver closes the connection when the WebKitWebDriver it starts cannot come up (its
/// port was taken meanwhile by another process), which says nothing about the app.
const LAUNCH_TRIES: usize = 3;

/// A started tauri-driver; dropping it stops the driver and everything it started.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    /// Starts tauri-driver for `profile` on `display` and waits until it listens.
    async fn start(display: &Display, profile: &Profile) -> Result<Self> {
        let (port, native) = free_ports();
        let mut cmd = Command::new(tauri_driver());
        cmd.args([
            "--port",
            &port.to_string(),
            "--native-port",
            &native.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        profile.apply(&mut cmd, display);
        let driver = Self {
            child: cmd.spawn().map_err(AppError::Driver)?,
            url: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + WAIT;
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                return Err(AppError::DriverSilent(port));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(driver)
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // WebKitWebDriver and the app it started may outlive tauri-driver: found while the
        // driver still runs (once it is gone they belong to init), stopped after it.
        let below = crate::procs::descendants(self.child.id());
        let _ = self.child.kill();
        let _ = self.child.wait();
        for pid in below {
            crate::procs::kill(pid);
        }
    }
}

/// A running app: its driver process and WebDriver session.
pub struct App {
    pub session: Session,
    driver: Driver,
    /// When the session was requested (the launch), for start-up timing.
    pub launched: Instant,
}

impl App {
    /// Launches the app on `display` with `profile` and waits until the canvas is interactive.
    pub async fn launch(display: &Display, profile: &Profile) -> Result<Self> {
        let bin = profile.app_binary()?;
        let caps = json!({ "tauri:options": { "application": bin } });
        let mut tries = 0;
        let (driver, session, launched) = loop {
            tries += 1;
            let driver = Driver::start(display, profile).await?;
            let launched = Instant::now();
            match Session::start(&driver.url, caps.clone()).await {
                Ok(session) => break (driver, session, launched),
                Err(WebDriverError::Transport(e)) if tries < LAUNCH_TRIES => {
                    eprintln!("iskra-e2e: the driver dropped the session request ({e}); again");
                }
                Err(e) => return Err(e.into()),
            }
        };
        let app = Self {
            session,
            driver,
            launched,
        };
        app.session
            .set_script_timeout(WAIT.as_millis() as u64)
            .await?;
        if let Err(e) = app.wait_until("the canvas to be interactive", READY).await {
            // Say how far start-up got.
            let state = app.js(START_STATE).await.unwrap_or_default();
            return Err(AppError::Unexpected(format!(
                "{e}; start-up state: {state}"
            )));
        }
        Ok(app)
    }

    /// Quits the app (the driver closes its window) and stops the driver.
    pub async fn quit(self) {
        let app = self.app_pid();
        let _ = self.session.end().await;
        // The app flushes and exits when its window closes: wait for that (a deadline, then
        // the driver's drop stops whatever is left).
        let deadline = Instant::now() + WAIT;
        while app.is_some_and(crate::procs::alive) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Evaluates a JavaScript expression in the app's page.
    pub async fn js(&self, expr: &str) -> Result<Value> {
        Ok(self
            .session
            .execute(&format!("return ({expr});"), vec![])
            .await?)
    }

    /// Evaluates an async JavaScript expression (a promise) and returns what it resolves to;
    /// a rejection comes back as `{"error": …}`.
    pub async fn js_async(&self, expr: &str) -> Result<Value> {
        let script = format!(
            "const done = arguments[arguments.length - 1];\
             Promise.resolve().then(() => ({expr})).then(\
               (v) => done({{ ok: v === undefined ? null : v }}),\
               (e) => done({{ error: e === undefined ? null : e }}));"
        );
        Ok(self.session.execute_async(&script, vec![]).await?)
    }

    /// Calls a shell command the way the UI does; `Ok` with its value or `Err` with the
    /// error it answered (`{kind, message}`).
    pub async fn invoke(
        &self,
        command: &str,
        args: Value,
    ) -> Result<std::result::Result<Value, Value>> {
        let v = self
            .js_async(&format!(
                "window.__TAURI_INTERNALS__.invoke({}, {args})",
                json!(command)
            ))
            .await?;
        Ok(match v.get("error") {
            Some(e) => Err(e.clone()),
            None => Ok(v.get("ok").cloned().unwrap_or(Value::Null)),
        })
    }

    /// Waits until the JavaScript expression `expr` is truthy; returns its value.
    pub async fn wait_until(&self, what: &str, expr: &str) -> Result<Value> {
        let deadline = Instant::now() + WAIT;
        loop {
            match self.js(expr).await {
                Ok(v) if truthy(&v) => return Ok(v),
                Ok(_) => {}
                // The page may be reloading or not yet there.
                Err(AppError::WebDriver(WebDriverError::Command { .. })) => {}
                Err(e) => return Err(e),
            }
            if Instant::now() > deadline {
                return Err(AppError::Timeout(WAIT, what.to_string()));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the window shows a finished picture — the camera has stopped, every texture
    /// and `<img>` has loaded and no finite CSS animation or transition runs (spinners that
    /// loop forever do not count) — and two frames have been painted after that. For
    /// screenshots and pointer work after a view change.
    pub async fn settle(&self) -> Result<()> {
        self.wait_until("the window to settle", SETTLED).await?;
        self.js_async("new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
            .await?;
        Ok(())
    }

    /// The first element matching a CSS selector.
    pub async fn find(&self, css: &str) -> Result<Element> {
        Ok(self.session.find(css).await?)
    }

    /// Clicks the first element matching a CSS selector.
    pub async fn click(&self, css: &str) -> Result<()> {
        let el = self.find(css).await?;
        Ok(self.session.click(&el).await?)
    }

    /// Where an element of the open canvas is on screen (viewport CSS pixels).
    pub async fn on_screen(&self, element: &str) -> Result<ScreenBox> {
        let v = self
            .js(&format!(
                "(() => {{ {SCREEN_BOX} return screenBox({}); }})()",
                json!(element)
            ))
            .await?;
        serde_json::from_value(v.clone())
            .map_err(|_| AppError::Unexpected(format!("element {element} on screen: {v}")))
    }

    /// The text of the status bar's autosave indicator.
    pub async fn autosave_text(&self) -> Result<String> {
        let v = self
            .js("document.querySelector('footer.status [role=status]')?.textContent.trim() ?? ''")
            .await?;
        Ok(v.as_str().unwrap_or_default().to_string())
    }

    /// Saves a PNG of the window to `path`.
    pub async fn screenshot(&self, path: &Path) -> Result<()> {
        let png = self.session.screenshot().await?;
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        std::fs::write(path, png).map_err(|e| AppError::Io(path.display().to_string(), e))
    }

    /// The process id of the app (the `iskra-desktop` child of the driver's WebKitWebDriver).
    pub fn app_pid(&self) -> Option<u32> {
        crate::procs::descendants(self.driver.child.id())
            .into_iter()
            .find(|p| crate::procs::name(*p).is_some_and(|n| n.starts_with("iskra-desktop")))
    }
}

/// The canvas is mounted, the project loaded and the engine attached.
const READY: &str = "document.documentElement.dataset.ready === 'true' && !!window.__iskra?.canvas?.engine && !!window.__iskra?.project";

/// Nothing on screen is still moving or loading (see [`App::settle`]).
const SETTLED: &str = "(() => { const e = window.__iskra?.canvas?.engine; \
    const t = e ? e.stats().textures : { loading: 0, queued: 0 }; \
    return !(e?.cameraMoving) && t.loading === 0 && t.queued === 0 \
      && [...document.images].every((i) => i.complete) \
      && document.getAnimations().every((a) => a.playState !== 'running' \
           || a.effect?.getComputedTiming().iterations === Infinity); })()";

/// How far start-up got, for a launch that never became interactive.
const START_STATE: &str = "({ ready: document.documentElement.dataset.ready ?? null, \
    started: window.__iskra?.ready ?? null, view: window.__iskra?.view ?? null, \
    project: window.__iskra?.project?.id ?? null, engine: !!window.__iskra?.canvas?.engine, \
    elements: window.__iskra?.canvas?.elementCount ?? null, \
    toasts: [...document.querySelectorAll('.toast .msg')].map((e) => e.textContent) })";

/// `screenBox(id)`: an element's centre, corners, resize handle and rotation handle in
/// viewport pixels, from the canvas camera (`screen = (world − camera) × scale`).
const SCREEN_BOX: &str = r#"
function screenBox(id) {
  const c = window.__iskra.canvas, cam = c.engine.cameraState, b = c.doc.box(id);
  if (!b) return null;
  const host = document.querySelector('.canvas-area .host').getBoundingClientRect();
  const cx = b.x + b.width / 2, cy = b.y + b.height / 2, r = b.rotation || 0;
  const at = (dx, dy) => {
    const x = cx + dx * Math.cos(r) - dy * Math.sin(r), y = cy + dx * Math.sin(r) + dy * Math.cos(r);
    return [host.left + (x - cam.x) * cam.scale, host.top + (y - cam.y) * cam.scale];
  };
  const up = 26 / cam.scale;
  return { center: at(0, 0), se: at(b.width / 2, b.height / 2), rotate: at(0, -b.height / 2 - up),
           width: b.width * cam.scale, height: b.height * cam.scale, box: b };
}
"#;

/// An element of the canvas as the screen shows it.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct ScreenBox {
    pub center: (f64, f64),
    pub se: (f64, f64),
    pub rotate: (f64, f64),
    pub width: f64,
    pub height: f64,
    #[serde(rename = "box")]
    pub world: WorldBox,
}

/// An element's box in world units (the engine's numbers).
#[derive(Debug, Clone, Copy, PartialEq, serde::Deserialize)]
pub struct WorldBox {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
    #[serde(default)]
    pub rotation: f64,
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        _ => true,
    }
}
