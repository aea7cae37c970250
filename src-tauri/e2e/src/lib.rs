//! End-to-end harness of the Iskra desktop app: the real `iskra-desktop` binary on a private
//! X display (`display`), launched and driven through tauri-driver + WebKitWebDriver
//! (`webdriver`, `app`) or started alone and timed to its first frame (`direct`), with `/proc` readings for the benchmarks (`procs`) and test images
//! (`images`).

pub mod app;
pub mod direct;
pub mod display;
pub mod images;
pub mod procs;
pub mod webdriver;
