//! Shared set-up of the desktop E2E tests: one app at a time (they share two cores), a real
//! sync server on loopback, a private display, test images, and where screenshots go.

use iskra_e2e::app::{App, Profile};
use iskra_e2e::display::Display;
use iskra_fake_fal::FakeFal;
use iskra_server::Config;
use iskra_tests::server::TestServer;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

/// The tests launch one app at a time.
pub static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The email of the tests' signed-in user.
pub const EMAIL: &str = "maya@studio.example";

/// Everything a desktop test needs.
pub struct World {
    pub display: Display,
    pub server: TestServer,
    pub token: String,
    pub files: TempDir,
    pub profile: Profile,
    _server_dir: TempDir,
    _data: TempDir,
}

impl World {
    /// A server, a signed-in profile and a display of the app's default window size.
    pub async fn new() -> Self {
        Self::with_config(|_| {}).await
    }

    /// Like [`World::new`], with a server that runs generations through `fal` (polling it
    /// often, so tests do not wait on the production interval) and `tweak` applied to its
    /// configuration.
    pub async fn with_fal(fal: &FakeFal, tweak: impl FnOnce(&mut Config)) -> Self {
        Self::with_config(|cfg| {
            cfg.fal_key = Some(fal.key());
            cfg.fal_queue_url = fal.queue_url();
            cfg.fal_rest_url = fal.rest_url();
            cfg.fal_jwks_url = fal.jwks_url();
            cfg.generation.poll_interval_ms = 50;
            tweak(cfg);
        })
        .await
    }

    /// Like [`World::new`], with `tweak` applied to the server's configuration.
    pub async fn with_config(tweak: impl FnOnce(&mut Config)) -> Self {
        let server_dir = tempfile::tempdir().expect("server dir");
        let mut config = TestServer::config(server_dir.path());
        tweak(&mut config);
        let server = TestServer::start_with(config).await;
        let user = format!("e2e-{}", uuid::Uuid::new_v4().simple());
        let token = server.token_with_email(&user, EMAIL);
        let data = tempfile::tempdir().expect("app data dir");
        let profile = Profile {
            binary: Some(env!("CARGO_BIN_EXE_iskra-desktop").into()),
            data_dir: data.path().to_path_buf(),
            server: Some(server.url()),
            token: Some(token.clone()),
            path_first: Vec::new(),
        };
        Self {
            display: Display::start(1440, 900).expect("Xvfb"),
            server,
            token,
            files: tempfile::tempdir().expect("files dir"),
            profile,
            _server_dir: server_dir,
            _data: data,
        }
    }

    /// Launches the app on this world's profile.
    pub async fn launch(&self) -> App {
        App::launch(&self.display, &self.profile)
            .await
            .expect("launch the app")
    }

    /// `count` distinct PNG files (`w`×`h`); their paths.
    pub fn images(&self, prefix: &str, count: u32, w: u32, h: u32) -> Vec<PathBuf> {
        (0..count)
            .map(|i| {
                let seed = i + prefix.len() as u32 * 7;
                iskra_e2e::images::write_png(
                    self.files.path(),
                    &format!("{prefix}-{i}.png"),
                    seed,
                    w,
                    h,
                )
            })
            .collect()
    }
}

/// Where the tests save screenshots of the main screens (shown in README).
pub fn screenshot_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../docs/screenshots")
        .join(format!("desktop-{name}.png"))
}

/// Chooses files in the toolbar's "Add images or videos" picker, as a user would.
pub async fn add_files(app: &App, paths: &[PathBuf]) {
    let input = app.find("#iskra-file-input").await.expect("file input");
    let list: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    app.session
        .send_keys(&input, &list.join("\n"))
        .await
        .expect("choose files");
}

/// The ids of the open canvas's elements, back to front.
pub async fn element_ids(app: &App) -> Vec<String> {
    let v = app
        .js("window.__iskra.canvas.doc.ordered().map((e) => e.id)")
        .await
        .expect("element ids");
    serde_json::from_value(v).expect("ids")
}

/// Waits until the open canvas has `n` elements.
pub async fn wait_elements(app: &App, n: usize) {
    app.wait_until(
        &format!("{n} elements on the canvas"),
        &format!("window.__iskra.canvas.elementCount === {n}"),
    )
    .await
    .expect("element count");
}

/// Waits until nothing is waiting to sync and the app is online.
pub async fn wait_synced(app: &App) {
    app.wait_until(
        "pending changes to drain",
        "window.__iskra.sync.online && window.__iskra.sync.pending === 0 && window.__iskra.sync.autosave.state === 'saved'",
    )
    .await
    .expect("synced");
}
