//! `iskra-desktop`: the Tauri v2 shell of Iskra. Thin by design — all state lives in
//! `iskra-engine`; this crate opens it in `setup()`, exposes it as the commands the UI names
//! (`ui/src/backend/commands.ts`), forwards its changes as events, serves asset bytes over the
//! `iskra-asset` scheme, routes `iskra://project/<id>` deep links, the return from a billing
//! page (`iskra://billing`), shared images (`iskra://share/<shortId>`) and second launches to
//! the running window, and flushes the engine when the window closes.

pub mod commands;
pub mod error;
pub mod events;
pub use iskra_engine::layout;
pub mod protocol;
pub mod state;

use commands::Shared;
use iskra_engine::hotfolder::HotFolderWatcher;
use state::AppState;
use std::sync::Arc;
use std::time::Instant;
use tauri::{AppHandle, Emitter, Listener, Manager, RunEvent, WindowEvent};
use tauri_plugin_deep_link::DeepLinkExt;
use uuid::Uuid;

/// Label of the one window (`tauri.conf.json`).
pub const MAIN_WINDOW: &str = "main";
/// Event the UI emits once its first canvas frame is drawn (`ui/src/backend/commands.ts`).
pub const READY_EVENT: &str = "app-ready";
/// Scheme of deep links (`iskra://project/<id>`).
pub const DEEP_LINK_SCHEME: &str = "iskra";

/// The project a deep link names, if it is `iskra://project/<uuid>`.
pub fn project_from_link(url: &tauri::Url) -> Option<Uuid> {
    if url.scheme() != DEEP_LINK_SCHEME || url.host_str() != Some("project") {
        return None;
    }
    Uuid::parse_str(url.path().trim_matches('/')).ok()
}

/// Brings the main window to the front (a second launch, a deep link).
fn focus_main(app: &AppHandle) {
    if let Some(w) = app.get_webview_window(MAIN_WINDOW) {
        let _ = w.unminimize();
        let _ = w.show();
        let _ = w.set_focus();
    }
}

/// Whether a deep link is the return from a billing page (`iskra://billing`, where Stripe
/// Checkout and the portal send the browser back).
pub fn is_billing_return(url: &tauri::Url) -> bool {
    url.scheme() == DEEP_LINK_SCHEME && url.host_str() == Some("billing")
}

/// Handles a deep link: a project is remembered for `recent_project` (the UI may not listen
/// yet) and emitted as `open-project`; the return from a billing page brings the window to
/// the front (the new plan and credits arrive as events).
fn open_link(app: &AppHandle, url: &tauri::Url) {
    if is_billing_return(url) {
        focus_main(app);
        return;
    }
    if let Some(short_id) = commands::sharing::share_from_link(url) {
        commands::sharing::open_shared(app, short_id);
        focus_main(app);
        return;
    }
    let Some(project) = project_from_link(url) else {
        tracing::info!(%url, "ignoring a deep link Iskra does not know");
        return;
    };
    if let Some(state) = app.try_state::<Shared>() {
        *state.pending_open.lock().unwrap_or_else(|p| p.into_inner()) = Some(project);
    }
    focus_main(app);
    let _ = app.emit(events::EVENT_OPEN_PROJECT, project.to_string());
}

/// The hot folder watcher, kept alive as long as the app (D8).
struct HotFolders {
    _watcher: HotFolderWatcher,
}

fn setup(app: &mut tauri::App, launched: Instant) -> Result<(), Box<dyn std::error::Error>> {
    // Start-up time as users feel it: `run()` to the first frame of the canvas.
    app.once_any(READY_EVENT, move |_| {
        let ms = launched.elapsed().as_millis() as u64;
        tracing::info!(ms, "interactive: first canvas frame drawn");
    });
    let dir = state::data_dir(app.path().app_data_dir().ok())?;
    tracing::info!(data_dir = %dir.display(), "opening the engine");
    let state: Shared = Arc::new(AppState::open(&dir)?);
    match HotFolderWatcher::start(state.engine.clone()) {
        Ok(w) => {
            app.manage(HotFolders { _watcher: w });
        }
        Err(e) => tracing::warn!(error = %e, "hot folders are not watched"),
    }
    app.manage(Arc::clone(&state));
    app.manage(commands::sharing::SharedInbox::default());

    // Deep links: registered with the desktop in development (installers do it for releases).
    #[cfg(any(target_os = "linux", windows))]
    if cfg!(debug_assertions) {
        if let Err(e) = app.deep_link().register_all() {
            tracing::info!(error = %e, "deep link scheme not registered");
        }
    }
    let handle = app.handle().clone();
    if let Ok(Some(urls)) = app.deep_link().get_current() {
        urls.iter().for_each(|u| open_link(&handle, u));
    }
    app.deep_link().on_open_url(move |event| {
        event.urls().iter().for_each(|u| open_link(&handle, u));
    });

    tauri::async_runtime::spawn(commands::sync::supervise(Arc::clone(&state)));
    tauri::async_runtime::spawn(commands::anonymous::resume(Arc::clone(&state)));
    tauri::async_runtime::spawn(events::forward(app.handle().clone(), state));
    Ok(())
}

/// Flushes the engine (window closed, app exiting).
fn flush(app: &AppHandle) {
    if let Some(state) = app.try_state::<Shared>() {
        state.flush();
    }
}

/// Builds and runs the app; returns when it exits.
pub fn run() -> tauri::Result<()> {
    let launched = Instant::now();
    tauri::Builder::default()
        // First: a second launch hands its arguments (and deep link) to this one.
        .plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| {
            focus_main(app)
        }))
        .plugin(tauri_plugin_deep_link::init())
        .plugin(
            tauri_plugin_log::Builder::new()
                .level(log::LevelFilter::Info)
                .build(),
        )
        .plugin(tauri_plugin_window_state::Builder::default().build())
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_opener::init())
        .register_asynchronous_uri_scheme_protocol(protocol::SCHEME, |ctx, request, responder| {
            let app = ctx.app_handle().clone();
            tauri::async_runtime::spawn_blocking(move || {
                let response = match app.try_state::<Shared>() {
                    Some(state) => protocol::respond(&state, &request),
                    None => tauri::http::Response::builder()
                        .status(tauri::http::StatusCode::SERVICE_UNAVAILABLE)
                        .body(Vec::new())
                        .unwrap_or_default(),
                };
                responder.respond(response);
            });
        })
        .setup(move |app| setup(app, launched))
        .invoke_handler(tauri::generate_handler![
            commands::projects::list_projects,
            commands::projects::create_project,
            commands::projects::rename_project,
            commands::projects::delete_project,
            commands::projects::recent_project,
            commands::projects::open_project,
            commands::projects::save_project_thumbnail,
            commands::canvas::add_files,
            commands::canvas::import_bytes,
            commands::canvas::add_assets,
            commands::canvas::update_elements,
            commands::canvas::delete_elements,
            commands::canvas::duplicate_elements,
            commands::canvas::reorder_elements,
            commands::canvas::set_playback,
            commands::canvas::undo,
            commands::canvas::redo,
            commands::canvas::set_viewport,
            commands::canvas::set_selection,
            commands::assets::list_assets,
            commands::assets::delete_asset,
            commands::assets::storage_quota,
            commands::sync::sync_status,
            commands::sync::retry_rejected,
            commands::sync::discard_rejected,
            commands::account::account,
            commands::account::sign_in,
            commands::account::sign_out,
            commands::local::local_projects,
            commands::local::import_local_projects,
            commands::local::add_project_to_account,
            commands::files::export_png,
            commands::files::export_project,
            commands::files::import_project,
            commands::files::hot_folders,
            commands::files::add_hot_folder,
            commands::files::remove_hot_folder,
            commands::display::software_rendering,
            commands::generation::list_models,
            commands::generation::generate,
            commands::generation::list_generations,
            commands::generation::cancel_generation,
            commands::generation::retry_generation,
            commands::anonymous::free_generate,
            commands::credits::get_credits,
            commands::credits::estimate_generation,
            commands::credits::open_checkout,
            commands::credits::open_billing_portal,
            commands::api_keys::create_api_key,
            commands::api_keys::list_api_keys,
            commands::api_keys::revoke_api_key,
            commands::api_keys::api_key_usage,
            commands::sharing::share_asset,
            commands::sharing::unshare_asset,
            commands::sharing::list_shares,
            commands::sharing::gallery,
            commands::sharing::fetch_asset,
            commands::sharing::take_shared_images,
            commands::clipboard::copy_text,
        ])
        .on_window_event(|window, event| {
            if let WindowEvent::CloseRequested { .. } = event {
                flush(window.app_handle());
            }
        })
        .build(tauri::generate_context!())?
        .run(|app, event| {
            if let RunEvent::Exit = event {
                flush(app);
            }
        });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_links_name_projects() {
        let id = Uuid::new_v4();
        let url = tauri::Url::parse(&format!("iskra://project/{id}")).unwrap();
        assert_eq!(project_from_link(&url), Some(id));
        let other = tauri::Url::parse("iskra://upgrade").unwrap();
        assert_eq!(project_from_link(&other), None);
        let bad = tauri::Url::parse("iskra://project/not-a-uuid").unwrap();
        assert_eq!(project_from_link(&bad), None);
        let billing = tauri::Url::parse("iskra://billing?session_id=cs_1").unwrap();
        assert!(is_billing_return(&billing) && project_from_link(&billing).is_none());
        assert!(!is_billing_return(&url));
    }
}
