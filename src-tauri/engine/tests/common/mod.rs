//! Shared helpers of the CLI tests: run the real `iskra` binary with `--json` on a data dir,
//! signed out (no token or OAuth settings from the environment).

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

/// `iskra` on `dir`, signed out, without arguments yet (add them, a token, a server).
pub fn command(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_iskra"));
    cmd.env("ISKRA_DATA_DIR", dir)
        .env_remove("ISKRA_TOKEN")
        .env_remove("ISKRA_SERVER")
        .env_remove("ISKRA_OAUTH_ISSUER")
        .env_remove("ISKRA_OAUTH_CLIENT_ID");
    cmd
}

/// Runs `iskra --json ARGS` on `dir`.
pub fn iskra(dir: &Path, args: &[&str]) -> Output {
    command(dir).arg("--json").args(args).output().unwrap()
}

/// Runs a command that must succeed and returns its JSON output.
pub fn json(dir: &Path, args: &[&str]) -> Value {
    let out = iskra(dir, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `iskra --json ARGS` on `dir`, signed in (a token) against `server`.
#[allow(dead_code)] // not every CLI test talks to a server
pub fn signed_in(dir: &Path, server: &str, args: &[&str]) -> Output {
    command(dir)
        .arg("--json")
        .args(args)
        .env("ISKRA_TOKEN", "tok")
        .env("ISKRA_SERVER", server)
        .output()
        .unwrap()
}

/// The JSON output of a command that must have succeeded.
#[allow(dead_code)]
pub fn ok(out: Output) -> Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}
