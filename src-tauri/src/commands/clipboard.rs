//! The system clipboard (`copy_text { text }` → `void`): Share copies its link with it. The
//! webview's own Clipboard API needs a user gesture still in progress, which is long over once
//! the server has answered; the shell writes GTK's clipboard on the main thread instead.

use crate::error::{CmdResult, CommandError};
use tauri::AppHandle;

#[tauri::command]
pub async fn copy_text(app: AppHandle, text: String) -> CmdResult<()> {
    write(&app, text).await
}

#[cfg(target_os = "linux")]
async fn write(app: &AppHandle, text: String) -> CmdResult<()> {
    let (done, wrote) = tokio::sync::oneshot::channel();
    app.run_on_main_thread(move || {
        let clipboard = gtk::Clipboard::get(&gtk::gdk::SELECTION_CLIPBOARD);
        clipboard.set_text(&text);
        // Kept by the desktop's clipboard manager (when there is one) after Iskra quits.
        clipboard.store();
        let _ = done.send(());
    })
    .map_err(|e| unavailable(&e.to_string()))?;
    wrote.await.map_err(|e| unavailable(&e.to_string()))
}

#[cfg(not(target_os = "linux"))]
async fn write(_app: &AppHandle, _text: String) -> CmdResult<()> {
    Err(unavailable("not supported on this system yet"))
}

fn unavailable(why: &str) -> CommandError {
    CommandError::Unavailable(format!("The clipboard is not available ({why})"))
}
