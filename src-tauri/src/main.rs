//! The `iskra-desktop` binary: runs the app (see the library for everything else).

// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    if let Err(e) = iskra_desktop::run() {
        eprintln!("iskra-desktop: {e}");
        std::process::exit(1);
    }
}
