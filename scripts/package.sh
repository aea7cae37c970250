#!/usr/bin/env bash
# Builds the desktop app's installer for this platform with the Tauri CLI's `build` (the
# prebuilt `@tauri-apps/cli` from npm, run by npx; `cargo tauri build` is the same program):
# on Debian/Ubuntu a .deb in target/release/bundle/deb/ (or under $CARGO_TARGET_DIR).
# Extra arguments go to `tauri build` (default: --bundles deb).
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
need=()
for p in libwebkit2gtk-4.1-dev libsoup-3.0-dev libjavascriptcoregtk-4.1-dev libgtk-3-dev \
         librsvg2-dev libayatana-appindicator3-dev libdbus-1-dev dpkg-dev file; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
command -v npm >/dev/null 2>&1 || {
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nodejs npm
}
(cd ui && npm ci --no-audit --no-fund --loglevel=error)
args=("$@"); [ ${#args[@]} -gt 0 ] || args=(--bundles deb)
# Installers ship without debug info (the release profile keeps it for profiling benches).
export CARGO_PROFILE_RELEASE_DEBUG=0 CARGO_PROFILE_RELEASE_STRIP=symbols
cd src-tauri && exec npx --yes @tauri-apps/cli@2.12 build "${args[@]}"
