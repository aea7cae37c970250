//! Tauri's build step: reads `tauri.conf.json` and `capabilities/`, generates the context
//! (`tauri::generate_context!`) and the permission schemas, and embeds the icons.
//!
//! The built UI (`ui/dist`) is embedded by `generate_context!`, which cargo cannot track by
//! itself: without the line below, a rebuilt UI with unchanged Rust sources would leave the
//! binary serving the old one.

fn main() {
    println!("cargo:rerun-if-changed=../ui/dist");
    tauri_build::build()
}
