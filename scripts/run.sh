#!/usr/bin/env bash
# Runs Iskra on this machine: the sync server on the embedded default (SQLite + local files,
# dev auth, 127.0.0.1:8787) and the desktop app signed in to it with a dev token. Installs
# what is missing on a fresh Debian machine (Rust, build tools, WebKitGTK, Node packages).
# ISKRA_HEADLESS=1 runs only the server (no display needed).
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
need_apt=()
command -v cc >/dev/null || need_apt+=(build-essential)
command -v pkg-config >/dev/null || need_apt+=(pkg-config)
command -v curl >/dev/null || need_apt+=(curl ca-certificates)
command -v npm >/dev/null || need_apt+=(nodejs npm)
if [ "${ISKRA_HEADLESS:-0}" != 1 ]; then
  for p in libwebkit2gtk-4.1-dev libsoup-3.0-dev libjavascriptcoregtk-4.1-dev libgtk-3-dev \
           librsvg2-dev libayatana-appindicator3-dev libdbus-1-dev; do
    dpkg -s "$p" >/dev/null 2>&1 || need_apt+=("$p")
  done
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
fi
if ! command -v cargo >/dev/null 2>&1; then
  curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
  . "$HOME/.cargo/env"
fi

cargo build --release --locked -p iskra-server
SERVER_DIR=${ISKRA_SERVER_DATA_DIR:-$HOME/.local/share/iskra-server}
server_env=(env ISKRA_DATA_DIR="$SERVER_DIR" ISKRA_LOG_FORMAT="${ISKRA_LOG_FORMAT:-pretty}")
TOKEN=$("${server_env[@]}" ./target/release/iskra-server token --user demo)
if [ "${ISKRA_HEADLESS:-0}" = 1 ]; then
  echo "Dev token for user 'demo': $TOKEN"
  exec "${server_env[@]}" ./target/release/iskra-server serve
fi
"${server_env[@]}" ./target/release/iskra-server serve &
SERVER_PID=$!
trap 'kill $SERVER_PID 2>/dev/null || true' EXIT

(cd ui && npm ci --no-audit --no-fund --loglevel=error && npm run build)
cargo build --release --locked -p iskra-desktop
ISKRA_SERVER=http://127.0.0.1:8787 ISKRA_TOKEN="$TOKEN" ./target/release/iskra-desktop
