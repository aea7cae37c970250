//! Embeds the desktop store's SQL migrations (`migrations/desktop/*.sql`, timestamped names)
//! into the engine: generates `$OUT_DIR/migrations.rs` with one `include_str!` per file, in
//! name order, so adding a migration file needs no code change.

use std::{env, fs, path::PathBuf};

fn main() {
    let dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("set by cargo"))
        .join("../../migrations/desktop");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|ext| ext == "sql"))
        .collect();
    files.sort();
    let mut out =
        String::from("/// Embedded migrations: (file stem, SQL), in the order they apply.\n");
    out.push_str("pub(crate) const MIGRATIONS: &[(&str, &str)] = &[\n");
    for path in &files {
        println!("cargo:rerun-if-changed={}", path.display());
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("utf-8 file name");
        let abs = path.canonicalize().expect("migration path");
        out.push_str(&format!(
            "    ({stem:?}, include_str!({:?})),\n",
            abs.display().to_string()
        ));
    }
    out.push_str("];\n");
    let dest = PathBuf::from(env::var("OUT_DIR").expect("set by cargo")).join("migrations.rs");
    fs::write(dest, out).expect("writing migrations.rs");
}
