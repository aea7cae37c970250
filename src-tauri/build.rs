//! Tauri's build step: reads `tauri.conf.json` and `capabilities/`, generates the context
//! (`tauri::generate_context!`) and the permission schemas, and embeds the icons.

fn main() {
    tauri_build::build()
}
