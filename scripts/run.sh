#!/usr/bin/env bash
# Runs Iskra: the sync server on the embedded default (SQLite + local files, dev auth,
# 127.0.0.1:8787). Installs the Rust toolchain when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v cargo >/dev/null 2>&1; then
  command -v curl >/dev/null || { apt-get update -qq && apt-get install -y -qq curl ca-certificates build-essential pkg-config; }
  curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
  . "$HOME/.cargo/env"
fi
command -v cc >/dev/null || { apt-get update -qq && apt-get install -y -qq build-essential pkg-config; }
cargo build --release --locked -p iskra-server
export ISKRA_LOG_FORMAT=${ISKRA_LOG_FORMAT:-pretty}
echo "Dev token for user 'demo':"
./target/release/iskra-server token --user demo
exec ./target/release/iskra-server serve
