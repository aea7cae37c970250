//! End-to-end tests of the desktop app: the real `iskra-desktop` binary on a private X
//! display, driven through tauri-driver + WebKitWebDriver with real pointer and key input,
//! against a real sync server on loopback (and the real `iskra` CLI as a second device).
//! They save screenshots of the main screens to `docs/screenshots/`.

mod common;

use common::{add_files, element_ids, screenshot_path, wait_elements, wait_synced, World, SERIAL};
use iskra_e2e::app::{App, WorldBox};
use iskra_e2e::webdriver::keys;
use iskra_fake_fal::{FakeConfig, FakeFal, Progress};
use iskra_tests::device::Device;
use serde_json::{json, Value};
use std::time::Duration;

async fn world_box(app: &App, id: &str) -> WorldBox {
    app.on_screen(id).await.expect("element on screen").world
}

/// Waits until element `id`'s box satisfies `check`; returns it.
async fn wait_box(app: &App, id: &str, what: &str, check: impl Fn(&WorldBox) -> bool) -> WorldBox {
    let deadline = std::time::Instant::now() + iskra_e2e::app::WAIT;
    loop {
        let b = world_box(app, id).await;
        if check(&b) {
            return b;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: element is at {b:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Every element of the open canvas, by id.
async fn canvas_state(app: &App) -> serde_json::Value {
    app.js(
        "Object.fromEntries(window.__iskra.canvas.doc.ordered().map((e) => \
           [e.id, { x: e.x, y: e.y, w: e.width, h: e.height, r: e.rotation, asset: e.assetId }]))",
    )
    .await
    .expect("canvas state")
}

/// Escape: nothing selected (clean screenshots).
async fn deselect(app: &App) {
    app.settle().await.expect("settled");
    app.session.chord(&[keys::ESCAPE]).await.expect("escape");
    app.wait_until(
        "nothing selected",
        "window.__iskra.canvas.selectionCount === 0",
    )
    .await
    .expect("deselected");
}

async fn open_projects(app: &App) {
    app.click("nav.crumbs button.crumb")
        .await
        .expect("Projects crumb");
    app.wait_until(
        "the projects grid",
        // The newest listing, not the one shown from the last visit: its answer may re-sort
        // the tiles under a click.
        "window.__iskra.view === 'projects' && window.__iskra.projectsState === 'ready' \
         && window.__iskra.projectsFresh",
    )
    .await
    .expect("projects grid");
    // Tiles rise in with an animation: a click aims at where they stand when it is sent.
    app.settle().await.expect("projects grid settled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canvas_edits_projects_and_names_survive_a_relaunch() {
    let _one = SERIAL.lock().await;
    let world = World::new().await;
    let app = world.launch().await;
    let first = app.js("window.__iskra.project.id").await.unwrap();

    // Create a project from the projects panel.
    open_projects(&app).await;
    let new_project = app
        .session
        .find_xpath("//button[normalize-space()='New project']")
        .await
        .expect("New project button");
    app.session
        .click(&new_project)
        .await
        .expect("click New project");
    app.wait_until(
        "the new project to open",
        &format!("window.__iskra.view === 'canvas' && window.__iskra.project.id !== {first}"),
    )
    .await
    .expect("new project open");
    let project = app.js("window.__iskra.project.id").await.unwrap();

    // Add three images through the toolbar's file picker, then fit them in view.
    let files = world.images("photo", 3, 480, 320);
    add_files(&app, &files).await;
    wait_elements(&app, 3).await;
    // Fit them in view, then one zoom step out for room around them.
    app.session
        .chord(&[keys::SHIFT, "!"])
        .await
        .expect("shift+1");
    app.settle().await.expect("settled");
    app.session
        .chord(&[keys::CONTROL, "-"])
        .await
        .expect("ctrl+-");
    app.settle().await.expect("settled");
    let id = element_ids(&app).await.last().cloned().unwrap();

    // Select one and move it with the mouse.
    let before = app.on_screen(&id).await.unwrap();
    app.session.click_at(before.center).await.expect("select");
    app.wait_until("one selected", "window.__iskra.canvas.selectionCount === 1")
        .await
        .unwrap();
    let scale = before.width / before.world.width;
    let to = (before.center.0 - 240.0, before.center.1 + 60.0);
    app.session.drag(before.center, to, 8).await.expect("drag");
    let moved = wait_box(&app, &id, "moved", |b| {
        (b.x - before.world.x + 240.0 / scale).abs() < 2.0 / scale + 1.0
    })
    .await;
    assert!(
        (moved.y - before.world.y - 60.0 / scale).abs() < 2.0 / scale + 1.0,
        "{moved:?}"
    );

    // Resize from the bottom-right handle: the aspect ratio is kept.
    let s = app.on_screen(&id).await.unwrap();
    app.session
        .drag(s.se, (s.se.0 + 90.0, s.se.1 + 60.0), 8)
        .await
        .expect("resize");
    let resized = wait_box(&app, &id, "resized", |b| b.width > moved.width + 10.0).await;
    let ratio = |b: &WorldBox| b.width / b.height;
    assert!(
        (ratio(&resized) - ratio(&moved)).abs() < 0.02,
        "{moved:?} → {resized:?}"
    );

    // Rotate with the handle above the frame: a quarter turn clockwise.
    let s = app.on_screen(&id).await.unwrap();
    let radius = (s.rotate.1 - s.center.1).abs();
    app.session
        .drag(s.rotate, (s.center.0 + radius, s.center.1), 12)
        .await
        .expect("rotate");
    let rotated = wait_box(&app, &id, "rotated", |b| b.rotation > 1.3).await;
    assert!(
        (rotated.rotation - std::f64::consts::FRAC_PI_2).abs() < 0.15,
        "{rotated:?}"
    );

    // Undo and redo from the keyboard.
    app.session
        .chord(&[keys::CONTROL, "z"])
        .await
        .expect("ctrl+z");
    wait_box(&app, &id, "rotation undone", |b| b.rotation.abs() < 1e-6).await;
    app.session
        .chord(&[keys::CONTROL, keys::SHIFT, "z"])
        .await
        .expect("ctrl+shift+z");
    let redone = wait_box(&app, &id, "rotation redone", |b| b.rotation > 1.3).await;
    assert_eq!(redone, rotated);

    // Rename the project in the top bar.
    let name_button = app
        .session
        .find_xpath("//header//button[contains(@aria-label, 'press F2 to rename')]")
        .await
        .expect("project name");
    app.session.click(&name_button).await.unwrap();
    app.session.chord(&["\u{E032}"]).await.expect("F2"); // F2
    app.wait_until(
        "the name field to have focus",
        "document.activeElement?.matches(\"header input[aria-label='Project name']\")",
    )
    .await
    .expect("name field");
    app.session.chord(&[keys::CONTROL, "a"]).await.unwrap();
    app.session
        .type_text(&format!("Moodboard{}", keys::ENTER))
        .await
        .unwrap();
    app.wait_until(
        "the new name",
        "window.__iskra.project.name === 'Moodboard'",
    )
    .await
    .unwrap();
    app.js_async("window.__iskra.canvas.flush()").await.unwrap();
    let edited = canvas_state(&app).await;

    // Switch to the first project and back through the projects grid.
    open_projects(&app).await;
    app.wait_until(
        "both tiles",
        "document.querySelectorAll('article.item').length === 2",
    )
    .await
    .unwrap();
    app.settle().await.expect("settled");
    app.screenshot(&screenshot_path("projects")).await.unwrap();
    let other = app
        .js(&format!(
            "window.__iskra.projects.find((p) => p.id === {first}).name"
        ))
        .await
        .unwrap();
    app.click(&format!(
        "article.item button.open[aria-label=\"Open {}\"]",
        other.as_str().unwrap()
    ))
    .await
    .expect("open the first project");
    app.wait_until(
        "the first project",
        &format!(
            "window.__iskra.project.id === {first} && window.__iskra.canvas.elementCount === 0"
        ),
    )
    .await
    .unwrap();
    open_projects(&app).await;
    app.click("article.item button.open[aria-label=\"Open Moodboard\"]")
        .await
        .expect("open Moodboard");
    app.wait_until(
        "Moodboard again",
        &format!(
            "window.__iskra.project.id === {project} && window.__iskra.canvas.elementCount === 3"
        ),
    )
    .await
    .unwrap();
    assert_eq!(canvas_state(&app).await, edited);
    app.quit().await;

    // Quit and relaunch: the same project opens with everything where it was.
    let app = world.launch().await;
    assert_eq!(app.js("window.__iskra.project.id").await.unwrap(), project);
    assert_eq!(
        app.js("window.__iskra.project.name").await.unwrap(),
        json!("Moodboard")
    );
    wait_elements(&app, 3).await;
    assert_eq!(canvas_state(&app).await, edited);
    let names = app
        .js_async("window.__iskra.backend.listProjects({ query: '', sort: 'name', order: 'asc' }).then((l) => l.map((p) => p.name))")
        .await
        .unwrap();
    assert_eq!(names["ok"].as_array().map(Vec::len), Some(2), "{names}");
    app.wait_until(
        "images drawn",
        "window.__iskra.canvas.engine.stats().textures.ready >= 3",
    )
    .await
    .unwrap();
    deselect(&app).await;
    app.settle().await.expect("settled");
    app.screenshot(&screenshot_path("canvas")).await.unwrap();
    // Zoomed far out, the images are cells of the atlas drawn as particles, not sprites.
    app.js("(window.__iskra.canvas.engine.zoomTo(0.02), true)")
        .await
        .unwrap();
    app.wait_until(
        "the images drawn as dots of the atlas",
        "(() => { const e = window.__iskra.canvas.engine, els = window.__iskra.canvas.doc.ordered(); \
           return !e.cameraMoving && e.scene.dots.count === els.length && e.scene.nodes.size === 0 \
             && els.every((el) => e.textures.peek(el.assetId, 'dot')); })()",
    )
    .await
    .unwrap();
    app.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_edits_keep_saving_and_drain_when_the_server_returns() {
    let _one = SERIAL.lock().await;
    let mut world = World::new().await;
    let app = world.launch().await;
    let files = world.images("trip", 4, 400, 300);
    add_files(&app, &files).await;
    wait_elements(&app, 4).await;
    app.session.chord(&[keys::SHIFT, "!"]).await.unwrap();
    wait_synced(&app).await;
    let project: String =
        serde_json::from_value(app.js("window.__iskra.project.id").await.unwrap()).unwrap();
    // The topmost element: nothing covers its centre.
    let id = element_ids(&app).await.last().cloned().unwrap();

    // The server goes away: the indicator says so.
    world.server.stop().await;
    app.wait_until("the offline indicator", "!window.__iskra.sync.online")
        .await
        .unwrap();
    app.wait_until(
        "the offline autosave text",
        "document.querySelector('footer.status [role=status]').textContent.includes('Offline — saved on this device')",
    )
    .await
    .unwrap();

    // Edits keep saving on this device: select and move one with the arrow keys.
    app.settle().await.expect("settled");
    let s = app.on_screen(&id).await.unwrap();
    app.session.click_at(s.center).await.unwrap();
    app.wait_until("one selected", "window.__iskra.canvas.selectionCount === 1")
        .await
        .unwrap();
    for _ in 0..5 {
        app.session
            .chord(&[keys::SHIFT, keys::ARROW_RIGHT])
            .await
            .unwrap();
    }

    wait_box(&app, &id, "nudged", |b| b.x > s.world.x).await;
    app.wait_until("pending changes", "window.__iskra.sync.pending > 0")
        .await
        .unwrap();
    assert!(app
        .autosave_text()
        .await
        .unwrap()
        .contains("Offline — saved on this device"));
    app.settle().await.expect("settled");
    app.screenshot(&screenshot_path("offline")).await.unwrap();
    let moved = world_box(&app, &id).await;
    let pending = app.js("window.__iskra.sync.pending").await.unwrap();
    assert!(pending.as_u64().unwrap() > 0);

    // The server returns: everything waiting drains, and the server has the move.
    world.server.restart().await;
    wait_synced(&app).await;
    let detail = world
        .server
        .project(&world.token, project.parse().unwrap())
        .await;
    let on_server = serde_json::to_value(&detail).unwrap();
    let el = on_server["canvas"]["elements"]
        .as_array()
        .and_then(|l| l.iter().find(|e| e["id"] == json!(id)))
        .cloned()
        .unwrap_or_else(|| panic!("element {id} on the server: {on_server}"));
    assert_eq!(el["x"].as_f64(), Some(moved.x), "{el}");
    app.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_from_the_cli_on_another_device_appears_live() {
    let _one = SERIAL.lock().await;
    let world = World::new().await;
    let app = world.launch().await;
    add_files(&app, &world.images("live", 2, 320, 240)).await;
    wait_elements(&app, 2).await;
    wait_synced(&app).await;
    let project: String =
        serde_json::from_value(app.js("window.__iskra.project.id").await.unwrap()).unwrap();
    let id = element_ids(&app).await[0].clone();

    // A second device of the same user: pull, move with the CLI, push.
    let device = Device::new(&world.server.url(), &world.token);
    device.sync().await;
    device.cli(&["move", &project, &id, "1234", "-567"]);
    device.sync_until_flushed(Duration::from_secs(20)).await;

    // The open app shows it without a reload.
    let href = app.js("location.href").await.unwrap();
    wait_box(&app, &id, "the CLI's move", |b| {
        b.x == 1234.0 && b.y == -567.0
    })
    .await;
    assert_eq!(app.js("location.href").await.unwrap(), href);
    app.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn asset_library_and_account_menu() {
    let _one = SERIAL.lock().await;
    let world = World::new().await;
    let app = world.launch().await;
    add_files(&app, &world.images("lib", 6, 640, 420)).await;
    wait_elements(&app, 6).await;
    app.session.chord(&[keys::SHIFT, "!"]).await.unwrap();
    deselect(&app).await;
    wait_synced(&app).await;

    app.click("header [data-testid=open-library]")
        .await
        .expect("Library button");
    app.wait_until(
        "the storage bar",
        "[...document.querySelectorAll('[role=meter], .storage')].some((e) => /MB|KB/.test(e.textContent))",
    )
    .await
    .expect("storage bar");
    app.wait_until("six assets", "window.__iskra.assets.length === 6")
        .await
        .unwrap();
    app.settle().await.expect("settled");
    app.screenshot(&screenshot_path("asset-library"))
        .await
        .unwrap();
    app.click("header [data-testid=open-library]")
        .await
        .unwrap();

    // The account menu: who is signed in, storage, settings, sign out.
    app.click("header button.avatar")
        .await
        .expect("account button");
    app.wait_until(
        "the account menu",
        "!!document.querySelector('[role=menu]')",
    )
    .await
    .unwrap();
    let menu = app
        .js("document.querySelector('[role=menu]').textContent")
        .await
        .unwrap();
    let menu = menu.as_str().unwrap_or_default();
    assert!(
        menu.contains(common::EMAIL) && menu.contains("Sign out"),
        "{menu}"
    );
    app.settle().await.expect("settled");
    app.screenshot(&screenshot_path("account-menu"))
        .await
        .unwrap();
    app.quit().await;

    // Signed out (local-only): a Sign in button instead, and the canvas fully usable.
    let local = iskra_e2e::app::Profile {
        server: None,
        token: None,
        data_dir: world.files.path().join("local-profile"),
        ..world.profile.clone()
    };
    let app = App::launch(&world.display, &local)
        .await
        .expect("launch signed out");
    app.session
        .find_xpath("//header//button[normalize-space()='Sign in']")
        .await
        .expect("Sign in button");
    add_files(&app, &world.images("solo", 3, 520, 360)).await;
    wait_elements(&app, 3).await;
    app.session.chord(&[keys::SHIFT, "!"]).await.unwrap();
    deselect(&app).await;
    let net = app
        .js("document.querySelector('footer.status .net').textContent.trim()")
        .await
        .unwrap();
    assert_eq!(net, json!("Local only"));
    app.settle().await.expect("settled");
    app.screenshot(&screenshot_path("signed-out"))
        .await
        .unwrap();
    app.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_clear_messages_and_the_app_keeps_working() {
    let _one = SERIAL.lock().await;
    let world = World::new().await;
    let app = world.launch().await;
    let project: String =
        serde_json::from_value(app.js("window.__iskra.project.id").await.unwrap()).unwrap();
    let missing = uuid::Uuid::new_v4().to_string();
    let nowhere = world.files.path().join("nowhere.png").display().to_string();
    let text = world.files.path().join("notes.png");
    std::fs::write(&text, "not an image at all").unwrap();
    let text = text.display().to_string();

    // Every command with bad input answers {kind, message}; none hangs or kills the app.
    let at = json!({ "x": 0, "y": 0 });
    let cases = [
        ("open_project", json!({ "id": missing })),
        ("open_project", json!({ "id": "not-a-uuid" })),
        ("rename_project", json!({ "id": missing, "name": "x" })),
        ("rename_project", json!({ "id": project, "name": "   " })),
        ("delete_project", json!({ "id": missing })),
        (
            "add_files",
            json!({ "projectId": missing, "paths": [], "at": at }),
        ),
        (
            "add_files",
            json!({ "projectId": project, "paths": [nowhere], "at": at }),
        ),
        (
            "add_files",
            json!({ "projectId": project, "paths": [text], "at": at }),
        ),
        (
            "import_bytes",
            json!({ "projectId": project, "name": "x.txt", "bytes": [1, 2, 3], "at": at }),
        ),
        (
            "add_assets",
            json!({ "projectId": project, "assetIds": [missing], "at": at }),
        ),
        (
            "update_elements",
            json!({ "projectId": project, "patches": [{ "id": missing, "props": { "x": 1 } }] }),
        ),
        (
            "delete_elements",
            json!({ "projectId": missing, "ids": [missing] }),
        ),
        (
            "duplicate_elements",
            json!({ "projectId": missing, "ids": [missing], "offset": at }),
        ),
        (
            "reorder_elements",
            json!({ "projectId": missing, "ids": [missing], "move": "front" }),
        ),
        ("undo", json!({ "projectId": missing })),
        ("redo", json!({ "projectId": missing })),
        (
            "set_viewport",
            json!({ "projectId": missing, "viewport": { "x": 0, "y": 0, "scale": 1 } }),
        ),
        (
            "set_viewport",
            json!({ "projectId": project, "viewport": { "x": 0, "y": 0, "scale": -1 } }),
        ),
        ("delete_asset", json!({ "id": missing })),
        ("retry_rejected", json!({ "opId": missing })),
        ("discard_rejected", json!({ "opId": missing })),
        (
            "save_project_thumbnail",
            json!({ "id": project, "png": [1, 2, 3] }),
        ),
        ("open_checkout", json!({ "plan": "free" })),
        // This server has no Stripe key.
        ("open_billing_portal", json!({})),
        (
            "estimate_generation",
            json!({ "request": { "kind": "text-to-image", "model": "no/such-model",
                "numImages": null, "imageSize": null, "durationS": null } }),
        ),
    ];
    for (command, args) in cases {
        let answer = app
            .invoke(command, args.clone())
            .await
            .expect("the app answers");
        let err = answer.expect_err(&format!("{command} {args} must fail"));
        let kind = err["kind"].as_str().unwrap_or_default();
        let message = err["message"].as_str().unwrap_or_default();
        assert!(
            !kind.is_empty() && message.len() > 8,
            "{command} {args}: {err}"
        );
        assert!(!message.contains("panicked"), "{command}: {message}");
    }
    // Without a Stripe key on the server, Upgrade says billing is unavailable.
    let refused = app
        .invoke("open_checkout", json!({ "plan": "pro" }))
        .await
        .expect("the app answers")
        .expect_err("no billing on this server");
    assert_eq!(refused["kind"], json!("unavailable"), "{refused}");

    // Through the UI: an unsupported file from the picker shows a message and changes nothing.
    add_files(&app, &[text.into()]).await;
    app.wait_until(
        "an error message",
        "[...document.querySelectorAll('.toast.error .msg')].map((e) => e.textContent).join(' ')",
    )
    .await
    .expect("a toast");
    let shown = app
        .js("[...document.querySelectorAll('.toast.error .msg')].map((e) => e.textContent).join(' | ')")
        .await
        .unwrap();
    assert!(
        shown
            .as_str()
            .unwrap_or_default()
            .to_lowercase()
            .contains("image"),
        "{shown}"
    );
    assert_eq!(
        app.js("window.__iskra.canvas.elementCount").await.unwrap(),
        json!(0)
    );

    // A link to a project that does not exist: a message, the open canvas stays.
    app.invoke(
        "plugin:event|emit",
        json!({ "event": "open-project", "payload": missing }),
    )
    .await
    .unwrap()
    .expect("emit");
    app.wait_until(
        "a not-found message",
        "[...document.querySelectorAll('.toast.error .msg')].some((e) => /not found|no longer exists|does not exist/i.test(e.textContent))",
    )
    .await
    .expect("not-found toast");
    assert_eq!(
        app.js("window.__iskra.project.id").await.unwrap(),
        json!(project)
    );

    // Still working: a real image goes in.
    add_files(&app, &world.images("ok", 1, 200, 200)).await;
    wait_elements(&app, 1).await;
    app.quit().await;
}

// ── Generation ──────────────────────────────────────────────────────────────────────────────

/// A JavaScript expression over the generation of the open project whose prompt is `prompt`
/// (`g`, false while there is none), the canvas (`doc`) and its recent-list item (`item`).
fn about_generation(prompt: &str, cond: &str) -> String {
    format!(
        "(() => {{ const g = window.__iskra.generations.list.find((x) => x.prompt === {p}); \
           if (!g) return false; \
           const doc = window.__iskra.canvas.doc; \
           const item = document.querySelector(`[data-testid=gen-recent-item][data-generation-id=\\\"${{g.id}}\\\"]`); \
           return ({cond}); }})()",
        p = json!(prompt)
    )
}

/// The generation whose prompt is `prompt`, as the app holds it (`LocalGeneration`).
async fn generation(app: &App, prompt: &str) -> Value {
    app.js(&about_generation(prompt, "g"))
        .await
        .expect("generation state")
}

/// Waits until the generation whose prompt is `prompt` satisfies `cond` (see
/// [`about_generation`]); says where it stands when it does not.
async fn wait_generation(app: &App, prompt: &str, what: &str, cond: &str) -> Value {
    if let Err(e) = app.wait_until(what, &about_generation(prompt, cond)).await {
        let state = generation(app, prompt).await;
        let canvas = app
            .js("window.__iskra.canvas.doc.ordered().map((e) => ({ id: e.id, kind: e.kind, asset: e.assetId }))")
            .await
            .unwrap_or_default();
        let textures = app
            .js("Object.values(window.__iskra.canvas.engine.textures.entries).flatMap((m) => [...m.values()]).map((e) => [`${e.lod}:${e.assetId}`, e.state])")
            .await
            .unwrap_or_default();
        panic!("{e}\ngeneration: {state}\ncanvas: {canvas}\ntextures: {textures}");
    }
    generation(app, prompt).await
}

/// The generation has ended with its outputs standing on the canvas as images in place of the
/// placeholder.
const PLACED: &str = "g.status === 'completed' && g.outputs.length > 0 && !doc.get(g.elementId) \
    && g.outputs.every((a) => doc.ordered().some((e) => e.kind === 'image' && e.assetId === a))";

/// Every output is drawn: its texture (any level of detail) has loaded.
const DRAWN: &str = "g.outputs.every((a) => ['dot', 'micro', 'thumb', 'full'].some((l) => window.__iskra.canvas.engine.textures.peek(a, l)))";

/// Waits until the generation's outputs replaced its placeholder, fits them in view and waits
/// until they are drawn; returns the generation.
async fn wait_landed(app: &App, prompt: &str) -> Value {
    wait_generation(
        app,
        prompt,
        "the outputs in place of the placeholder",
        PLACED,
    )
    .await;
    fit_canvas(app).await;
    wait_generation(app, prompt, "the outputs drawn", DRAWN).await
}

/// The boxes of the open canvas's elements that overlap another one's, as `[id, id]` pairs.
async fn overlapping(app: &App) -> Value {
    app.js(
        "(() => { const d = window.__iskra.canvas.doc, l = d.ordered().map((e) => d.box(e.id)); \
           const ids = d.ordered().map((e) => e.id), out = []; \
           for (let i = 0; i < l.length; i++) for (let j = i + 1; j < l.length; j++) { \
             const a = l[i], b = l[j]; \
             if (a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height) out.push([ids[i], ids[j]]); } \
           return out; })()",
    )
    .await
    .expect("overlaps")
}

/// Opens the panel and waits until it is ready to type into (prompt focused, models listed).
async fn wait_panel(app: &App) {
    app.wait_until(
        "the generation panel, prompt focused, with the model catalogue",
        "!!document.querySelector('[data-testid=gen-panel]') \
         && document.activeElement?.dataset?.testid === 'gen-prompt' \
         && window.__iskra.generations.models.length > 0",
    )
    .await
    .expect("generation panel");
}

/// Types `prompt` into the panel's prompt field (replacing what it held) with the keyboard.
async fn type_prompt(app: &App, prompt: &str) {
    app.click("[data-testid=gen-prompt]")
        .await
        .expect("prompt field");
    app.session
        .chord(&[keys::CONTROL, "a"])
        .await
        .expect("select all");
    app.session
        .type_text(prompt)
        .await
        .expect("type the prompt");
    let count = format!("{} / 4,000", prompt.chars().count());
    app.wait_until(
        "the prompt and its count",
        &format!(
            "window.__iskra.generations.form.prompt === {} \
             && document.querySelector('[data-testid=gen-prompt-count]').textContent.trim() === {}",
            json!(prompt),
            json!(count)
        ),
    )
    .await
    .expect("prompt typed");
}

/// Moves the mouse over the status bar, away from tooltips and hover outlines (screenshots).
async fn park_pointer(app: &App) {
    let at = app
        .js(
            "(() => { const r = document.querySelector('footer.status').getBoundingClientRect(); \
               return [r.left + r.width / 2, r.top + r.height / 2]; })()",
        )
        .await
        .expect("status bar");
    let at: (f64, f64) = serde_json::from_value(at).expect("point");
    app.session
        .actions(json!([{
            "type": "pointer", "id": "mouse", "parameters": { "pointerType": "mouse" },
            "actions": [{ "type": "pointerMove", "duration": 0, "x": at.0.round() as i64, "y": at.1.round() as i64 }]
        }]))
        .await
        .expect("move the mouse away");
}

/// Waits until the camera rests and no element is highlighted (clean screenshots).
async fn settle(app: &App) {
    app.wait_until(
        "the canvas to settle",
        "!window.__iskra.canvas.engine.tween.active && window.__iskra.canvas.engine.flashes.size === 0",
    )
    .await
    .expect("canvas settled");
}

/// Focuses the canvas with a click in an empty corner of the view (plain-key shortcuts act
/// only there), then fits everything in view and leaves nothing selected.
async fn fit_canvas(app: &App) {
    let corner = app
        .js("(() => { const r = document.querySelector('.canvas-area .host').getBoundingClientRect(); \
               return [r.right - 12, r.top + 12]; })()")
        .await
        .expect("canvas host");
    let corner: (f64, f64) = serde_json::from_value(corner).expect("point");
    app.session
        .click_at(corner)
        .await
        .expect("click the canvas");
    app.wait_until(
        "the canvas to have focus",
        "!!document.activeElement?.closest('.canvas-area')",
    )
    .await
    .expect("canvas focus");
    app.session
        .chord(&[keys::SHIFT, "!"])
        .await
        .expect("shift+1");
    settle(app).await;
    deselect(app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generation_from_the_panel_lands_on_the_canvas() {
    let _one = SERIAL.lock().await;
    let fal = FakeFal::start(FakeConfig::with_progress(Progress::Hold)).await;
    let world = World::with_fal(&fal, |_| {}).await;
    let app = world.launch().await;

    // A photo to remix later, on the server before anything is generated.
    add_files(&app, &world.images("harbour", 1, 640, 480)).await;
    wait_elements(&app, 1).await;
    let photo = element_ids(&app).await[0].clone();
    deselect(&app).await;
    wait_synced(&app).await;

    // Open the panel from the toolbar, type a prompt, choose two outputs, Generate.
    app.click("[data-testid=gen-open]")
        .await
        .expect("toolbar Generate");
    wait_panel(&app).await;
    let prompt = "A lighthouse on a cliff at dusk, volumetric light, 35 mm film";
    type_prompt(&app, prompt).await;
    app.click("[data-testid=gen-count] [data-value=\"2\"]")
        .await
        .expect("two outputs");
    app.wait_until(
        "two outputs chosen",
        "window.__iskra.generations.form.count === 2 \
         && document.querySelector('[data-testid=gen-submit]').textContent.includes('Generate 2 images')",
    )
    .await
    .expect("count");
    app.click("[data-testid=gen-submit]")
        .await
        .expect("Generate");

    // fal holds the job: a placeholder on the canvas shows it running, and so does the list.
    let running = wait_generation(
        &app,
        prompt,
        "the placeholder of a running generation",
        "g.status === 'running' && doc.get(g.elementId)?.kind === 'generation' \
         && window.__iskra.generations.card(doc.get(g.elementId)).title === 'Generating…' \
         && item?.dataset.status === 'running' \
         && item.querySelector('[data-testid=gen-status]').textContent.trim() === 'Generating'",
    )
    .await;
    let placeholder = running["elementId"].as_str().unwrap().to_owned();
    assert_eq!(
        overlapping(&app).await,
        json!([]),
        "the placeholder covers nothing"
    );
    assert_eq!(fal.submits_for_prompt(prompt), 1);
    let input = &fal.submissions()[0].input;
    assert_eq!(input["num_images"], json!(2), "{input}");
    assert_eq!(
        fal.pending_jobs(),
        1,
        "the job is held at fal while the screenshots are taken"
    );
    // Everything in view beside the open panel.
    fit_canvas(&app).await;
    park_pointer(&app).await;
    settle(&app).await;
    app.screenshot(&screenshot_path("generation-panel"))
        .await
        .unwrap();

    // The placeholder on the canvas, panel closed, everything in view.
    app.click("[data-testid=gen-open]")
        .await
        .expect("close the panel");
    app.wait_until(
        "the panel to close",
        "!document.querySelector('[data-testid=gen-panel]')",
    )
    .await
    .unwrap();
    fit_canvas(&app).await;
    let card = app.on_screen(&placeholder).await.expect("placeholder box");
    assert!(
        card.width > 200.0,
        "the placeholder is large enough to read: {card:?}"
    );
    park_pointer(&app).await;
    settle(&app).await;
    app.screenshot(&screenshot_path("generation-placeholder"))
        .await
        .unwrap();
    assert_eq!(
        generation(&app, prompt).await["status"],
        json!("running"),
        "still running when the screenshot was taken"
    );

    // fal finishes: two images replace the placeholder, beside the photo, and are drawn.
    assert_eq!(fal.release_all(), 1);
    let done = wait_landed(&app, prompt).await;
    assert_eq!(
        overlapping(&app).await,
        json!([]),
        "the outputs cover nothing"
    );
    let outputs = done["outputs"].as_array().unwrap().clone();
    assert_eq!(outputs.len(), 2, "{done}");
    assert!(app
        .js(&format!(
            "!window.__iskra.canvas.doc.get({})",
            json!(placeholder)
        ))
        .await
        .unwrap()
        .as_bool()
        .unwrap());
    wait_elements(&app, 3).await;

    // The panel lists it as done, with both outputs' thumbnails loaded.
    app.session.chord(&["g"]).await.expect("G opens the panel");
    wait_panel(&app).await;
    fit_canvas(&app).await;
    wait_generation(
        &app,
        prompt,
        "the finished generation's thumbnails",
        "item?.dataset.status === 'completed' \
         && item.querySelectorAll('.outputs img').length === 2 \
         && [...item.querySelectorAll('.outputs img')].every((i) => i.complete && i.naturalWidth > 0)",
    )
    .await;
    park_pointer(&app).await;
    settle(&app).await;
    app.screenshot(&screenshot_path("generation-result"))
        .await
        .unwrap();

    // Image to image: select the photo on the canvas, Remix, and the result lands beside it.
    fal.set_progress(Progress::Instant);
    app.click("[data-testid=gen-open]")
        .await
        .expect("close the panel");
    fit_canvas(&app).await;
    let source = app.on_screen(&photo).await.expect("the photo on screen");
    app.session
        .click_at(source.center)
        .await
        .expect("select the photo");
    app.wait_until(
        "the photo selected",
        "window.__iskra.canvas.selectionCount === 1",
    )
    .await
    .unwrap();
    app.session.chord(&["g"]).await.expect("G opens the panel");
    wait_panel(&app).await;
    app.click("[data-testid=gen-kind] [data-value=\"image-to-image\"]")
        .await
        .expect("Remix");
    app.wait_until(
        "the selected photo as the source",
        "window.__iskra.generations.form.kind === 'image-to-image' \
         && document.querySelector('[data-testid=gen-source]')?.dataset.ok === 'true'",
    )
    .await
    .expect("source");
    let remix = "Make it a watercolour, keep the composition";
    type_prompt(&app, remix).await;
    app.click("[data-testid=gen-submit]")
        .await
        .expect("Generate");
    let remixed = wait_landed(&app, remix).await;
    assert_eq!(remixed["kind"], json!("image-to-image"), "{remixed}");
    assert_eq!(fal.submits_for_prompt(remix), 1);
    let sub = fal
        .submissions()
        .into_iter()
        .find(|s| s.input["prompt"] == json!(remix))
        .expect("the remix at fal");
    assert!(sub.model.ends_with("image-to-image"), "{}", sub.model);
    let image_url = sub.input["image_url"].as_str().unwrap_or_default();
    assert!(
        !image_url.is_empty(),
        "the source image went to fal: {}",
        sub.input
    );
    // The results stand right of the photo, covering nothing.
    assert_eq!(
        overlapping(&app).await,
        json!([]),
        "the remix covers nothing"
    );
    let src = world_box(&app, &photo).await;
    for out in remixed["outputs"].as_array().unwrap() {
        let id = app
            .js(&format!(
                "window.__iskra.canvas.doc.ordered().find((e) => e.assetId === {out}).id"
            ))
            .await
            .unwrap();
        let b = world_box(&app, id.as_str().unwrap()).await;
        assert!(b.x >= src.x + src.width, "{b:?} right of the photo {src:?}");
    }
    assert_eq!(fal.submits(), 2);
    app.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generation_requested_offline_is_sent_once_when_the_server_returns() {
    let _one = SERIAL.lock().await;
    let fal = FakeFal::start(FakeConfig::with_progress(Progress::Instant)).await;
    // One image a day on the free plan (no minute or hour window): the second request of a
    // UTC day is refused, and its refusal stays current for the rest of the day.
    let mut world = World::with_fal(&fal, |cfg| {
        let standard = &mut cfg.rate_limits.generation_free.standard;
        (standard.minute, standard.hour, standard.day) = (0, 0, 1);
    })
    .await;
    let app = world.launch().await;
    app.wait_until(
        "the model catalogue",
        "window.__iskra.generations.models.length > 0",
    )
    .await
    .expect("models");
    wait_synced(&app).await;

    // The server goes away.
    world.server.stop().await;
    app.wait_until("the offline indicator", "!window.__iskra.sync.online")
        .await
        .unwrap();

    // A generation requested in the panel waits to be sent.
    app.session.chord(&["g"]).await.expect("G opens the panel");
    wait_panel(&app).await;
    app.find("[data-testid=gen-offline-note]")
        .await
        .expect("the panel says requests wait while offline");
    let prompt = "A paper boat on a stormy sea, ink and wash";
    type_prompt(&app, prompt).await;
    app.click("[data-testid=gen-submit]")
        .await
        .expect("Generate");
    let waiting = wait_generation(
        &app,
        prompt,
        "the request waiting to be sent",
        "g.status === 'waiting' && doc.get(g.elementId)?.kind === 'generation' \
         && window.__iskra.generations.card(doc.get(g.elementId)).title === 'Waiting to send — offline' \
         && item?.dataset.status === 'waiting' && item.textContent.includes('Waiting to send')",
    )
    .await;
    assert!(!world.server.is_running(), "the server was down");
    assert!(!app
        .js("window.__iskra.sync.online")
        .await
        .unwrap()
        .as_bool()
        .unwrap());
    assert_eq!(fal.submits(), 0, "nothing reached fal while offline");
    assert_eq!(waiting["serverId"], Value::Null, "{waiting}");
    fit_canvas(&app).await;
    park_pointer(&app).await;
    settle(&app).await;
    app.screenshot(&screenshot_path("generation-waiting"))
        .await
        .unwrap();

    // The server returns: the request goes out once, completes and replaces the placeholder.
    world.server.restart().await;
    let done = wait_landed(&app, prompt).await;
    assert_eq!(done["id"], waiting["id"], "the same generation");
    assert_eq!(done["elementId"], waiting["elementId"]);
    assert_eq!(done["outputs"].as_array().map(Vec::len), Some(1), "{done}");
    wait_synced(&app).await;
    assert_eq!(fal.submits_for_prompt(prompt), 1, "sent exactly once");
    assert_eq!(fal.submits(), 1);

    // The day's one image is used: the next request is refused, and the panel says which
    // window, how many are left and when it resets. Should midnight UTC pass between the two
    // requests, the second uses the new day's image and a third is refused.
    let mut refused = None;
    for attempt in 1..=2 {
        let p = format!("Fog rolling over the harbour at dawn, take {attempt}");
        type_prompt(&app, &p).await;
        app.click("[data-testid=gen-submit]")
            .await
            .expect("Generate");
        let g = wait_generation(
            &app,
            &p,
            "the request to end",
            "g.status === 'failed' || g.status === 'completed'",
        )
        .await;
        if g["status"] == json!("failed") {
            refused = Some((p, g));
            break;
        }
        // The UTC day turned since the first request: this one used the new day's image.
    }
    let (p, g) = refused.expect("a request over the day's limit is refused");
    let limit = &g["error"]["limit"];
    assert_eq!(
        (&limit["window"], &limit["used"], &limit["remaining"]),
        (&json!("day"), &json!(1), &json!(0)),
        "{g}"
    );
    // The refusal's own reset instant: a midnight UTC.
    let resets_at = limit["resetsAt"].as_str().unwrap_or_default();
    assert!(
        resets_at.contains("T00:00:00") && resets_at.ends_with('Z'),
        "resetsAt: {g}"
    );
    assert_eq!(
        fal.submits_for_prompt(&p),
        0,
        "a refused request never reaches fal"
    );
    let message = app
        .wait_until(
            "the limit message",
            "document.querySelector('[data-testid=gen-limit-message]')?.textContent.replace(/\\s+/g, ' ').trim()",
        )
        .await
        .expect("limit message");
    let message = message.as_str().unwrap_or_default();
    assert!(
        message.contains("Daily image limit reached: 1 of 1 used — resets")
            && message.contains("No images left today"),
        "{message}"
    );
    wait_generation(
        &app,
        &p,
        "the refusal in the list",
        "item?.dataset.status === 'failed' && !!item.querySelector('[data-testid=gen-retry]') \
         && window.__iskra.generations.card(doc.get(g.elementId)).title === 'Failed: Daily image limit reached'",
    )
    .await;
    assert_eq!(
        overlapping(&app).await,
        json!([]),
        "the refused request's placeholder covers nothing"
    );
    // The earlier "offline" notice has gone (it would contradict the screen).
    app.wait_until(
        "no notices",
        "document.querySelectorAll('.toast').length === 0",
    )
    .await
    .expect("toasts gone");
    park_pointer(&app).await;
    settle(&app).await;
    app.screenshot(&screenshot_path("generation-limit"))
        .await
        .unwrap();
    app.quit().await;
}

// ── Credits and billing ─────────────────────────────────────────────────────────────────────

/// The generation panel's price line, its spaces collapsed (`''` while there is none).
const PRICE_LINE: &str = "(document.querySelector('[data-testid=gen-price-line]')?.textContent.replace(/\\s+/g, ' ').trim() ?? '')";

/// The lines a stand-in `xdg-open` wrote to `log`: the pages the app asked the system
/// browser to open.
fn opened(log: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Waits until the browser stand-in has been asked to open `n` pages; returns them.
async fn wait_opened(log: &std::path::Path, n: usize, what: &str) -> Vec<String> {
    let deadline = std::time::Instant::now() + iskra_e2e::app::WAIT;
    loop {
        let pages = opened(log);
        if pages.len() >= n {
            return pages;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: the browser was asked to open {pages:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until `cond` holds; on a timeout, says what the app knows of credits.
async fn wait_credits(app: &App, what: &str, cond: &str) -> Value {
    match app.wait_until(what, cond).await {
        Ok(v) => v,
        Err(e) => {
            let state = app
                .js(&format!(
                    "({{ balance: window.__iskra.credits.balance, estimate: window.__iskra.credits.estimate,                        error: window.__iskra.credits.estimateError, account: window.__iskra.account,                        form: window.__iskra.generations.form, line: {PRICE_LINE},                        toasts: [...document.querySelectorAll('.toast')].map((t) => t.textContent) }})"
                ))
                .await
                .unwrap_or_default();
            panic!("{e}\ncredits: {state}");
        }
    }
}

/// `GET path` on the world's server as its user.
async fn server_json(world: &World, path: &str) -> Value {
    reqwest::Client::new()
        .get(format!("{}{path}", world.server.url()))
        .bearer_auth(&world.token)
        .send()
        .await
        .expect("server answers")
        .json()
        .await
        .expect("JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credits_the_price_before_generating_and_the_upgrade_to_checkout() {
    use iskra_fake_stripe::{FakeStripe, FakeStripeConfig};
    use std::os::unix::fs::PermissionsExt;

    let _one = SERIAL.lock().await;
    let fal = FakeFal::start(FakeConfig::with_progress(Progress::Instant)).await;
    let stripe = FakeStripe::start(FakeStripeConfig::default()).await;
    let mut world = World::with_fal(&fal, |cfg| {
        cfg.stripe_secret_key = Some(stripe.secret_key());
        cfg.stripe_api_url = stripe.api_url();
        cfg.stripe_webhook_secret = Some(stripe.webhook_secret());
        cfg.stripe_price_pro = Some("price_pro_monthly".into());
        cfg.stripe_price_enterprise = Some("price_enterprise_monthly".into());
        // A premium model's price: four HD images cost 60 of the free plan's 100 credits.
        cfg.credits.pricing.base.text_to_image = 10.0;
    })
    .await;
    // The system browser: an `xdg-open` found first on the app's PATH notes each page.
    let browser = world.files.path().join("browser");
    std::fs::create_dir_all(&browser).unwrap();
    let log = browser.join("opened.txt");
    let xdg_open = browser.join("xdg-open");
    std::fs::write(
        &xdg_open,
        format!("#!/bin/sh\nprintf '%s\\n' \"$1\" >> '{}'\n", log.display()),
    )
    .unwrap();
    std::fs::set_permissions(&xdg_open, std::fs::Permissions::from_mode(0o755)).unwrap();
    world.profile.path_first = vec![browser.clone()];
    let app = world.launch().await;
    add_files(&app, &world.images("dunes", 1, 640, 420)).await;
    wait_elements(&app, 1).await;
    deselect(&app).await;
    wait_synced(&app).await;

    // The profile menu: the free plan's 100 credits, when they renew, Upgrade.
    app.wait_until(
        "the balance and storage",
        "window.__iskra.credits.balance?.available === 100 && !!window.__iskra.storage",
    )
    .await
    .expect("balance");
    app.click("header button.avatar")
        .await
        .expect("account button");
    let menu = app
        .wait_until(
            "the account menu with credits",
            "document.querySelector('[role=menu] [data-testid=credits-meter]') \
             && document.querySelector('[role=menu]').textContent.replace(/\\s+/g, ' ')",
        )
        .await
        .expect("menu");
    let menu = menu.as_str().unwrap_or_default();
    assert!(
        menu.contains("100 credits available")
            && menu.contains("100 of 100 this month")
            && menu.contains("Renews ")
            && menu.contains("Free plan")
            && menu.contains("Upgrade plan…")
            && !menu.contains("Manage billing"),
        "{menu}"
    );
    app.settle().await.expect("settled");
    app.screenshot(&screenshot_path("credits-menu"))
        .await
        .unwrap();
    app.session.chord(&[keys::ESCAPE]).await.expect("escape");
    app.wait_until(
        "the menu to close",
        "!document.querySelector('[role=menu]')",
    )
    .await
    .unwrap();

    // The panel prices the form before the click, as the server does, and says what is left.
    app.click("[data-testid=gen-open]")
        .await
        .expect("toolbar Generate");
    wait_panel(&app).await;
    let prompt = "Sand dunes at golden hour, long shadows, medium format";
    type_prompt(&app, prompt).await;
    app.click("[data-testid=gen-count] [data-value=\"4\"]")
        .await
        .expect("four outputs");
    let form = app
        .wait_until(
            "four outputs chosen",
            "window.__iskra.generations.form.count === 4 && window.__iskra.generations.form",
        )
        .await
        .unwrap();
    let estimate = server_json(
        &world,
        &format!(
            "/v1/credits/estimate?kind=text-to-image&model={}&numImages=4&imageSize={}",
            form["model"].as_str().unwrap(),
            form["size"].as_str().unwrap()
        ),
    )
    .await;
    let price = estimate["credits"].as_i64().expect("the server's price");
    assert_eq!(price, 60, "{estimate}");
    let line = wait_credits(
        &app,
        "the price line",
        &format!("{PRICE_LINE} === '60 credits · 40 left' && {PRICE_LINE}"),
    )
    .await;
    assert_eq!(line, json!("60 credits · 40 left"));
    park_pointer(&app).await;
    settle(&app).await;
    app.screenshot(&screenshot_path("credits-generation-panel"))
        .await
        .unwrap();

    // Generating spends it: the balance shown drops by the price, as the server's does.
    app.click("[data-testid=gen-submit]")
        .await
        .expect("Generate");
    wait_landed(&app, prompt).await;
    app.wait_until(
        "the balance after the charge",
        "window.__iskra.credits.balance?.available === 40 && window.__iskra.credits.balance.reserved === 0",
    )
    .await
    .expect("balance reduced");
    let credits = server_json(&world, "/v1/credits").await;
    assert_eq!(credits["available"], json!(40), "{credits}");

    // The same form again costs more than is left: a clear message, Upgrade, Generate held.
    let message = app
        .wait_until(
            "the insufficient-credits state",
            &format!(
                "{PRICE_LINE} === '60 credits · you have 40' \
                 && document.querySelector('[data-testid=gen-submit]').disabled \
                 && document.querySelector('[data-testid=gen-credits-message]')?.textContent.replace(/\\s+/g, ' ').trim()"
            ),
        )
        .await
        .expect("short of credits");
    let message = message.as_str().unwrap_or_default();
    assert!(
        message.contains("Not enough credits")
            && message.contains("This needs 60 credits; you have 40.")
            && message.contains("Upgrade"),
        "{message}"
    );
    fit_canvas(&app).await;
    park_pointer(&app).await;
    settle(&app).await;
    app.screenshot(&screenshot_path("credits-insufficient"))
        .await
        .unwrap();

    // Upgrade → the plan choice → Pro: the server's Checkout page opens in the system browser.
    app.click("[data-testid=gen-credits-upgrade]")
        .await
        .expect("Upgrade");
    app.wait_until(
        "the plan choice",
        "!!document.querySelector('[data-testid=plan-choice]')",
    )
    .await
    .expect("plans");
    assert!(opened(&log).is_empty(), "nothing opened before the choice");
    park_pointer(&app).await;
    app.settle().await.expect("settled");
    app.screenshot(&screenshot_path("credits-plans"))
        .await
        .unwrap();
    app.click("[data-testid=plan-pro]").await.expect("Pro");
    let pages = wait_opened(&log, 1, "Checkout in the browser").await;
    let checkout = pages[0].clone();
    let session_id = checkout
        .strip_prefix(&format!("{}/pay/", stripe.api_url()))
        .unwrap_or_else(|| panic!("the fake Stripe's Checkout page: {checkout}"))
        .to_owned();
    let session = stripe.session(&session_id).expect("a session Stripe made");
    let me = server_json(&world, "/v1/me").await;
    assert_eq!(session.user_id, me["id"].as_str().unwrap(), "{me}");
    assert_eq!(session.price, "price_pro_monthly");
    app.wait_until(
        "the plan choice to close",
        "!document.querySelector('[data-testid=plan-choice]')",
    )
    .await
    .unwrap();

    // Stripe takes the payment: the plan and its credits arrive live, the message goes.
    let paid = stripe.complete_checkout(&session_id).expect("paid");
    let sender = stripe.sender(&format!("{}/v1/webhooks/stripe", world.server.url()));
    for event in &paid.events {
        let d = sender.deliver(event).await;
        assert!(d.ok(), "{d:?}");
    }
    app.wait_until(
        "the Pro plan and its credits",
        &format!(
            "window.__iskra.account.tier === 'pro' && window.__iskra.credits.balance?.plan === 'pro' \
             && window.__iskra.credits.balance.available === 2000 \
             && !document.querySelector('[data-testid=gen-credits-message]') \
             && {PRICE_LINE} === '60 credits · 1,940 left'"
        ),
    )
    .await
    .expect("upgraded live");

    // Subscribed: Manage billing opens the Stripe portal.
    app.click("header button.avatar")
        .await
        .expect("account button");
    app.wait_until(
        "Manage billing in the menu",
        "[...document.querySelectorAll('[role=menuitem]')].some((b) => b.textContent.trim() === 'Manage billing') \
         && document.querySelector('[data-testid=account-plan]').textContent.includes('Pro plan')",
    )
    .await
    .expect("manage billing");
    let item = app
        .session
        .find_xpath("//button[@role='menuitem'][normalize-space()='Manage billing']")
        .await
        .expect("Manage billing item");
    app.session.click(&item).await.expect("Manage billing");
    let pages = wait_opened(&log, 2, "the billing portal in the browser").await;
    assert!(
        pages[1].starts_with(&format!("{}/portal/", stripe.api_url())),
        "{pages:?}"
    );
    app.quit().await;
}

// ── Sharing and the gallery ─────────────────────────────────────────────────────────────────

/// A person's browser (not a link-preview crawler): the share page counts the visit.
const PERSON_UA: &str =
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/605.1.15 Version/17.0 Safari/605.1.15";

/// Generates `count` images of `prompt` from the panel (opened afresh from the toolbar, so its
/// prompt has focus) and waits until they are drawn.
async fn generate_images(app: &App, prompt: &str, count: u32) -> Vec<String> {
    let open = "!!document.querySelector('[data-testid=gen-panel]')";
    if app.js(open).await.unwrap().as_bool().unwrap() {
        app.click("[data-testid=gen-open]")
            .await
            .expect("close the panel");
        app.wait_until("the panel to close", &format!("!{open}"))
            .await
            .expect("panel closed");
    }
    app.click("[data-testid=gen-open]")
        .await
        .expect("toolbar Generate");
    wait_panel(app).await;
    type_prompt(app, prompt).await;
    app.click(&format!("[data-testid=gen-count] [data-value=\"{count}\"]"))
        .await
        .expect("output count");
    app.wait_until(
        "the output count chosen",
        &format!("window.__iskra.generations.form.count === {count}"),
    )
    .await
    .expect("count");
    app.click("[data-testid=gen-submit]")
        .await
        .expect("Generate");
    let done = wait_landed(app, prompt).await;
    serde_json::from_value(done["outputs"].clone()).expect("outputs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn share_an_image_and_see_it_in_the_gallery() {
    let _one = SERIAL.lock().await;
    let fal = FakeFal::start(FakeConfig::with_progress(Progress::Instant)).await;
    let world = World::with_fal(&fal, |_| {}).await;
    let app = world.launch().await;

    // Several generated images on the canvas.
    let mut outputs = generate_images(
        &app,
        "A lighthouse on a cliff at dusk, volumetric light, 35 mm film",
        3,
    )
    .await;
    let fox = "A red fox asleep in fresh snow, soft morning light";
    outputs.extend(generate_images(&app, fox, 2).await);
    app.click("[data-testid=gen-open]")
        .await
        .expect("close the panel");
    fit_canvas(&app).await;
    wait_synced(&app).await;

    // Select one image on the canvas and Share it from the selection bar.
    let shared = outputs[3].clone();
    let element = app
        .js(&format!(
            "window.__iskra.canvas.doc.ordered().find((e) => e.assetId === {}).id",
            json!(shared)
        ))
        .await
        .expect("the image's element");
    let target = app
        .on_screen(element.as_str().unwrap())
        .await
        .expect("on screen");
    app.session
        .click_at(target.center)
        .await
        .expect("select the image");
    app.wait_until(
        "the image selected with Share offered",
        "window.__iskra.canvas.selectionCount === 1 && !!document.querySelector('[data-testid=share-selection]')",
    )
    .await
    .expect("Share button");
    app.click("[data-testid=share-selection]")
        .await
        .expect("Share");
    let url = app
        .wait_until(
            "the link on the selection bar and 'Link copied'",
            "(() => { const l = document.querySelector('[data-testid=share-link]'); \
               const toast = [...document.querySelectorAll('.toast .msg')].some((m) => m.textContent.trim() === 'Link copied'); \
               return l && toast ? l.dataset.url : false; })()",
        )
        .await;
    let url = match url {
        Ok(url) => url,
        Err(e) => {
            let seen = app
                .js("({ toasts: [...document.querySelectorAll('.toast .msg')].map((m) => m.textContent), \
                      link: document.querySelector('[data-testid=share-link]')?.dataset.url ?? null })")
                .await
                .unwrap_or_default();
            panic!("{e}: {seen}");
        }
    };
    let url = url.as_str().expect("url").to_owned();
    assert!(
        url.starts_with(&format!("{}/t/", world.server.url())),
        "{url}"
    );
    assert_eq!(
        app.js("window.__iskra.sharing.lastCopied").await.unwrap(),
        json!(url),
        "the link is what was copied"
    );
    park_pointer(&app).await;
    app.settle().await.expect("settled");
    app.screenshot(&screenshot_path("share")).await.unwrap();

    // The link opens the viewer page for people, with the prompt.
    let page = reqwest::Client::builder()
        .user_agent(PERSON_UA)
        .build()
        .unwrap()
        .get(&url)
        .send()
        .await
        .expect("GET the link");
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().await.expect("page");
    assert!(html.contains(fox), "the viewer shows the prompt");

    // The Gallery: every generated image with its prompt, the shared one with its link and
    // the view just counted.
    app.click("[data-testid=open-gallery]")
        .await
        .expect("Gallery");
    app.wait_until(
        "five images in the gallery, drawn, the shared one with one view",
        &format!(
            "(() => {{ const items = [...document.querySelectorAll('[data-testid=gallery-item]')]; \
               const s = items.find((i) => i.dataset.assetId === {}); \
               return items.length === 5 && s?.dataset.shared === 'true' \
                 && items.filter((i) => i.dataset.shared === 'true').length === 1 \
                 && s.querySelector('.counts').getAttribute('aria-label') === '1 view, 0 downloads' \
                 && items.every((i) => {{ const img = i.querySelector('img'); return img && img.complete && img.naturalWidth > 0; }}); }})()",
            json!(shared)
        ),
    )
    .await
    .expect("gallery");
    let listed: Vec<String> = serde_json::from_value(
        app.js("window.__iskra.gallery.items.map((i) => i.assetId)")
            .await
            .unwrap(),
    )
    .unwrap();
    let mut expected = outputs.clone();
    expected.sort();
    let mut got = listed.clone();
    got.sort();
    assert_eq!(got, expected, "every generated image, once");
    // Most downloaded first: a download through the link puts the shared image first.
    let download = reqwest::Client::builder()
        .user_agent(PERSON_UA)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("{url}/image"))
        .send()
        .await
        .expect("download");
    assert_eq!(download.status().as_u16(), 302);
    app.click("[data-testid=gallery-sort] [data-value=\"downloads\"]")
        .await
        .expect("Most downloaded");
    app.wait_until(
        "the downloaded image first",
        &format!(
            "window.__iskra.gallery.state === 'ready' && window.__iskra.gallery.sort === 'downloads' \
             && document.querySelector('[data-testid=gallery-item]')?.dataset.assetId === {} \
             && [...document.querySelectorAll('[data-testid=gallery-item] img')].every((img) => img.complete && img.naturalWidth > 0)",
            json!(shared)
        ),
    )
    .await
    .expect("sorted by downloads");
    app.wait_until("the toasts to go", "!document.querySelector('.toast')")
        .await
        .expect("no toast");
    park_pointer(&app).await;
    app.settle().await.expect("settled");
    app.screenshot(&screenshot_path("gallery")).await.unwrap();

    // Click → the image larger with its link; Place on canvas puts it on the open project.
    app.click(&format!(
        "[data-testid=gallery-item][data-asset-id=\"{}\"] button.open",
        shared.as_str()
    ))
    .await
    .expect("open the image");
    app.wait_until(
        "the image larger with its link",
        &format!(
            "document.querySelector('[role=dialog] [data-testid=viewer-link] input')?.value === {} \
             && document.querySelector('[role=dialog] .large img')?.naturalWidth > 0",
            json!(url)
        ),
    )
    .await
    .expect("viewer");
    app.click("[data-testid=viewer-place]")
        .await
        .expect("Place on canvas");
    app.wait_until(
        "the image placed on the canvas",
        &format!(
            "window.__iskra.view === 'canvas' && window.__iskra.canvas.elementCount === {}",
            outputs.len() + 1
        ),
    )
    .await
    .expect("placed");
    app.quit().await;
}

// ── The free image before sign-in (S6) ──────────────────────────────────────────────────────

/// The generation panel's state of the free image (`phase`), as the app holds it.
const FREE_PHASE: &str = "window.__iskra.generations.free.phase";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_free_image_before_sign_in_then_the_sign_in_offer_and_the_day_quota() {
    let _one = SERIAL.lock().await;
    let fal = FakeFal::start(FakeConfig::with_progress(Progress::Polls {
        queue_polls: 1,
        progress_polls: 2,
    }))
    .await;
    let world = World::with_fal(&fal, |_| {}).await;
    // Signed out, with the server configured.
    let signed_out = iskra_e2e::app::Profile {
        token: None,
        data_dir: world.files.path().join("free-profile"),
        ..world.profile.clone()
    };
    let app = App::launch(&world.display, &signed_out)
        .await
        .expect("launch signed out");
    app.wait_until("an open canvas", "!!window.__iskra.project")
        .await
        .expect("open canvas");

    // The panel offers one free image instead of only signing in.
    app.click("[data-testid=gen-open]")
        .await
        .expect("toolbar Generate");
    app.wait_until(
        "the free image offer, prompt focused",
        "!!document.querySelector('[data-testid=gen-signed-out] [data-testid=gen-free-submit]') \
         && document.activeElement?.dataset?.testid === 'gen-free-prompt'",
    )
    .await
    .expect("free image offer");
    let prompt = "A lighthouse on a cliff at dusk, volumetric light, 35 mm film";
    app.session
        .type_text(prompt)
        .await
        .expect("type the prompt");
    app.wait_until(
        "the prompt typed",
        &format!(
            "window.__iskra.generations.form.prompt === {}",
            json!(prompt)
        ),
    )
    .await
    .expect("prompt typed");
    app.click("[data-testid=gen-free-submit]")
        .await
        .expect("Try one free image");

    // The placeholder stands on the local canvas while the server works …
    app.wait_until(
        "the placeholder on the local canvas",
        "window.__iskra.canvas.doc.ordered().some((e) => e.kind === 'generation')",
    )
    .await
    .expect("placeholder");
    // … then the image takes its place, drawn from the local asset store.
    let landed = "(() => { const els = window.__iskra.canvas.doc.ordered(); \
        return els.length === 1 && els[0].kind === 'image' && !!els[0].assetId \
          && ['dot', 'micro', 'thumb', 'full'].some((l) => window.__iskra.canvas.engine.textures.peek(els[0].assetId, l)); })()";
    app.wait_until("the free image in place of the placeholder", landed)
        .await
        .expect("free image landed");
    app.wait_until("the free image done", &format!("{FREE_PHASE} === 'done'"))
        .await
        .expect("done");
    // Then the sign-in offer.
    let offer = app
        .js("document.querySelector('[data-testid=gen-free-sign-in]')?.textContent.trim() ?? ''")
        .await
        .expect("sign-in offer");
    assert_eq!(offer, json!("Sign in to keep generating"));
    fit_canvas(&app).await;
    park_pointer(&app).await;
    app.settle().await.expect("settled");
    app.screenshot(&screenshot_path("free-generation"))
        .await
        .expect("screenshot");

    // A second try the same day: the quota message with the reset time and the offer.
    app.click("[data-testid=gen-free-submit]")
        .await
        .expect("Try another free image");
    app.wait_until(
        "the day's quota message",
        &format!(
            "{FREE_PHASE} === 'refused' \
             && window.__iskra.generations.free.error?.code === 'ANONYMOUS_QUOTA_EXCEEDED' \
             && !!document.querySelector('[data-testid=gen-free-sign-in]')"
        ),
    )
    .await
    .expect("quota message");
    let quota = app
        .js("document.querySelector('[data-testid=gen-free-quota]').textContent")
        .await
        .expect("quota text");
    let quota = quota.as_str().unwrap_or_default();
    assert!(
        quota.contains("Today’s free image is used") && quota.contains("Another one comes"),
        "{quota}"
    );
    let count = app
        .js("window.__iskra.canvas.doc.ordered().length")
        .await
        .expect("canvas");
    assert_eq!(count, json!(1), "nothing more on the canvas");
    app.quit().await;
}

/// `GET /v1/images/usage` with `x-api-key`, as another program would call it: the status.
async fn call_with_key(world: &World, key: &str) -> u16 {
    reqwest::Client::new()
        .get(format!("{}/v1/images/usage", world.server.url()))
        .header("x-api-key", key)
        .send()
        .await
        .expect("GET /v1/images/usage with the key")
        .status()
        .as_u16()
}

/// Opens Settings from the account menu and shows its API keys tab, loaded.
async fn open_api_keys(app: &App) {
    app.click("header button.avatar")
        .await
        .expect("account button");
    let settings = app
        .session
        .find_xpath("//*[@role='menuitem'][normalize-space()='Settings…']")
        .await
        .expect("Settings… in the account menu");
    app.session.click(&settings).await.expect("Settings…");
    app.click("[data-testid=settings-tabs] [data-value=\"api-keys\"]")
        .await
        .expect("the API keys tab");
    app.wait_until(
        "the API keys section, loaded",
        "!!document.querySelector('[data-testid=api-keys]') \
         && !document.querySelector('[data-testid=api-keys] [aria-busy=true]')",
    )
    .await
    .expect("API keys loaded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_key_made_in_settings_works_until_it_is_revoked() {
    let _one = SERIAL.lock().await;
    let world = World::new().await;
    let app = world.launch().await;
    add_files(&app, &world.images("keys", 4, 640, 420)).await;
    wait_elements(&app, 4).await;
    app.session.chord(&[keys::SHIFT, "!"]).await.unwrap();
    deselect(&app).await;
    wait_synced(&app).await;

    // A key made earlier (on another device), with some use.
    let earlier: Value = reqwest::Client::new()
        .post(format!("{}/v1/api-keys", world.server.url()))
        .bearer_auth(&world.token)
        .json(&json!({"name": "Portfolio site", "scopes": ["images:read"]}))
        .send()
        .await
        .expect("POST /v1/api-keys")
        .json()
        .await
        .expect("created key");
    let earlier_key = earlier["key"].as_str().expect("key").to_owned();
    for _ in 0..2 {
        assert_eq!(call_with_key(&world, &earlier_key).await, 200);
    }

    // Settings → API keys: make a key; it is shown once.
    open_api_keys(&app).await;
    let name = app.find("[data-testid=api-key-name]").await.unwrap();
    app.session.click(&name).await.unwrap();
    app.session.send_keys(&name, "Render farm").await.unwrap();
    app.click("[data-testid=api-key-create]")
        .await
        .expect("Create key");
    let key = app
        .wait_until(
            "the new key in the copy-it-now box",
            "document.querySelector('[data-testid=api-key-secret]')?.value || false",
        )
        .await
        .expect("the key shown");
    let key = key.as_str().expect("key text").to_owned();
    assert!(key.starts_with("isk_") && key.len() == 42, "{key}");
    let says = app
        .js("document.querySelector('[data-testid=api-key-created]').textContent")
        .await
        .unwrap();
    assert!(
        says.as_str()
            .unwrap_or_default()
            .contains("will not be shown again"),
        "{says}"
    );
    app.click("[data-testid=api-key-copy]").await.expect("Copy");
    app.wait_until(
        "the key copied",
        "document.querySelector('[data-testid=api-key-copy]').textContent.trim() === 'Copied'",
    )
    .await
    .expect("copied");
    park_pointer(&app).await;
    app.settle().await.expect("settled");
    app.screenshot(&screenshot_path("api-key-created"))
        .await
        .unwrap();

    // Another program uses it.
    for _ in 0..5 {
        assert_eq!(call_with_key(&world, &key).await, 200, "the key works");
    }

    // Saved: the key leaves the screen; reopened, the list shows the keys with today's use and
    // the chart the last 30 days.
    app.click("[data-testid=api-key-dismiss]")
        .await
        .expect("I've saved it");
    app.wait_until(
        "the key gone from the page",
        &format!(
            "!document.querySelector('[data-testid=api-key-created]') && !document.body.innerHTML.includes({})",
            json!(key)
        ),
    )
    .await
    .expect("key gone");
    app.click("[data-testid=settings-tabs] [data-value=\"folders\"]")
        .await
        .unwrap();
    app.click("[data-testid=settings-tabs] [data-value=\"api-keys\"]")
        .await
        .unwrap();
    let row = app
        .wait_until(
            "both keys listed with today's requests and the chart drawn",
            &format!(
                "(() => {{ const rows = [...document.querySelectorAll('[data-testid=api-key-row]')]; \
                   const farm = rows.find((r) => r.textContent.includes('Render farm')); \
                   const site = rows.find((r) => r.textContent.includes('Portfolio site')); \
                   const bars = [...document.querySelectorAll('[data-testid=api-key-usage-chart] rect.bar')]; \
                   return rows.length === 2 && farm && site \
                     && farm.querySelector('[data-testid=api-key-today]').textContent.trim() === '5 requests today' \
                     && site.querySelector('[data-testid=api-key-today]').textContent.trim() === '2 requests today' \
                     && farm.textContent.includes({}) \
                     && bars.length === 1 && bars[0].dataset.value === '7' \
                     ? farm.dataset.keyId : false; }})()",
                json!(format!("{}…", &key[..8]))
            ),
        )
        .await
        .expect("keys listed");
    let farm_id = row.as_str().expect("key id").to_owned();
    park_pointer(&app).await;
    app.settle().await.expect("settled");
    app.screenshot(&screenshot_path("api-keys")).await.unwrap();

    // Revoke it, confirmed: the same request is refused at once.
    app.click(&format!(
        "[data-key-id=\"{farm_id}\"] [data-testid=api-key-revoke]"
    ))
    .await
    .expect("Revoke");
    app.click(&format!(
        "[data-key-id=\"{farm_id}\"] [data-testid=api-key-revoke-confirm]"
    ))
    .await
    .expect("confirm Revoke");
    app.wait_until(
        "the key gone from the list",
        &format!(
            "!document.querySelector('[data-key-id=\"{farm_id}\"]') \
             && document.querySelectorAll('[data-testid=api-key-row]').length === 1"
        ),
    )
    .await
    .expect("revoked");
    assert_eq!(
        call_with_key(&world, &key).await,
        401,
        "refused once revoked"
    );
    assert_eq!(
        call_with_key(&world, &earlier_key).await,
        200,
        "the other key still works"
    );
    app.quit().await;
}
