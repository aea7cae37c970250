//! End-to-end tests of the desktop app: the real `iskra-desktop` binary on a private X
//! display, driven through tauri-driver + WebKitWebDriver with real pointer and key input,
//! against a real sync server on loopback (and the real `iskra` CLI as a second device).
//! They save screenshots of the main screens to `docs/screenshots/`.

mod common;

use common::{add_files, element_ids, screenshot_path, wait_elements, wait_synced, World, SERIAL};
use iskra_e2e::app::{App, WorldBox};
use iskra_e2e::webdriver::keys;
use iskra_tests::device::Device;
use serde_json::json;
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
    tokio::time::sleep(Duration::from_millis(300)).await;
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
        "window.__iskra.view === 'projects' && window.__iskra.projectsState === 'ready'",
    )
    .await
    .expect("projects grid");
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
    tokio::time::sleep(Duration::from_millis(400)).await; // the fit animates
    app.session
        .chord(&[keys::CONTROL, "-"])
        .await
        .expect("ctrl+-");
    tokio::time::sleep(Duration::from_millis(400)).await;
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
    tokio::time::sleep(Duration::from_millis(600)).await; // tile thumbnails load
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
    tokio::time::sleep(Duration::from_millis(800)).await;
    app.screenshot(&screenshot_path("canvas")).await.unwrap();
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
    tokio::time::sleep(Duration::from_millis(400)).await;
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
    tokio::time::sleep(Duration::from_millis(300)).await;
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
    device
        .cli(&["move", &project, &id, "1234", "-567"])
        .expect("the iskra CLI is built (cargo build -p iskra-engine --bin iskra)");
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

    app.click("header button.library")
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
    tokio::time::sleep(Duration::from_millis(800)).await;
    app.screenshot(&screenshot_path("asset-library"))
        .await
        .unwrap();
    app.click("header button.library").await.unwrap();

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
    tokio::time::sleep(Duration::from_millis(300)).await;
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
    tokio::time::sleep(Duration::from_millis(800)).await;
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
