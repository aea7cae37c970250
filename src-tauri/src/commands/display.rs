//! What the UI should know about the machine it draws on: whether WebGL runs on a software
//! rasterizer (Mesa's llvmpipe: no GPU render node, or forced by `LIBGL_ALWAYS_SOFTWARE`).
//! The canvas then draws one texture per batch — llvmpipe evaluates every branch of the
//! many-texture batch shader for every pixel, which made each frame ~15× slower.
//! `ISKRA_SOFTWARE_GL=1|0` overrides the guess.

use std::path::Path;

/// Whether the webview's WebGL is (very likely) rendered in software.
#[tauri::command]
pub fn software_rendering() -> bool {
    guess(
        std::env::var("ISKRA_SOFTWARE_GL").ok().as_deref(),
        std::env::var("LIBGL_ALWAYS_SOFTWARE").ok().as_deref(),
        has_render_node(Path::new("/dev/dri")),
    )
}

fn flag(v: Option<&str>) -> Option<bool> {
    match v.map(str::trim) {
        Some("1" | "true" | "yes") => Some(true),
        Some("0" | "false" | "no") => Some(false),
        _ => None,
    }
}

fn guess(override_: Option<&str>, always_software: Option<&str>, render_node: bool) -> bool {
    if let Some(v) = flag(override_) {
        return v;
    }
    if flag(always_software) == Some(true) {
        return true;
    }
    cfg!(target_os = "linux") && !render_node
}

/// Whether `dir` holds a DRM render node (`renderD128`, …): a GPU Mesa can use.
fn has_render_node(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries
            .filter_map(Result::ok)
            .any(|e| e.file_name().to_string_lossy().starts_with("renderD"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_win_then_mesa_then_the_render_node() {
        assert!(guess(Some("1"), None, true));
        assert!(!guess(Some("0"), Some("1"), false));
        assert!(guess(None, Some("1"), true));
        assert!(!guess(None, Some("0"), true));
        assert_eq!(guess(None, None, false), cfg!(target_os = "linux"));
        assert!(!guess(None, None, true));
    }

    #[test]
    fn finds_render_nodes() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!has_render_node(dir.path()));
        std::fs::write(dir.path().join("card0"), "").unwrap();
        assert!(!has_render_node(dir.path()));
        std::fs::write(dir.path().join("renderD128"), "").unwrap();
        assert!(has_render_node(dir.path()));
        assert!(!has_render_node(&dir.path().join("missing")));
    }
}
