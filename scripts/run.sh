#!/usr/bin/env bash
# Runs Iskra on this machine: the sync server on the embedded default (SQLite + local files,
# dev auth, 127.0.0.1:8787) and the desktop app signed in to it with a dev token. Installs
# what is missing on a fresh Debian machine (Rust, build tools, WebKitGTK, Node packages).
# ISKRA_HEADLESS=1 runs only the server (no display needed).
# AI generation uses fal with ISKRA_FAL_KEY from the environment. Without a key, ISKRA_FAKE_FAL=1
# runs the local fake fal (tests/fake-fal: generated test images, a few seconds per job), so
# the generation panel can be tried offline; otherwise generation says it is unavailable.
# Billing uses Stripe with ISKRA_STRIPE_SECRET_KEY; without one, ISKRA_FAKE_STRIPE=1 runs the local
# fake Stripe (tests/fake-stripe), whose Checkout and portal pages subscribe and cancel for real.
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

BIN=${CARGO_TARGET_DIR:-target}/release
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
. scripts/lib/build.sh
if [ "${ISKRA_HEADLESS:-0}" = 1 ]; then
  # No display, no WebKitGTK: everything but the desktop app.
  cargo build --release --locked --workspace --bins --exclude iskra-desktop --exclude iskra-e2e
else
  build_release
fi
SERVER_DIR=${ISKRA_SERVER_DATA_DIR:-$HOME/.local/share/iskra-server}
server_env=(env ISKRA_DATA_DIR="$SERVER_DIR" ISKRA_LOG_FORMAT="${ISKRA_LOG_FORMAT:-pretty}")
if [ -z "${ISKRA_FAL_KEY:-}" ] && [ "${ISKRA_FAKE_FAL:-0}" = 1 ]; then
  fal_out=$(mktemp)
  "$BIN"/iskra-fake-fal --delay-ms 4000 >"$fal_out" &
  pids+=($!)
  for _ in $(seq 1 100); do [ -s "$fal_out" ] && break; sleep 0.1; done
  fal=$(head -1 "$fal_out")
  field() { printf '%s' "$fal" | python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
  server_env+=(ISKRA_FAL_KEY="$(field key)" ISKRA_FAL_QUEUE_URL="$(field queueUrl)"
               ISKRA_FAL_REST_URL="$(field restUrl)" ISKRA_FAL_JWKS_URL="$(field jwksUrl)")
  echo "Generation runs against the local fake fal at $(field queueUrl)"
fi
if [ -z "${ISKRA_STRIPE_SECRET_KEY:-}" ] && [ "${ISKRA_FAKE_STRIPE:-0}" = 1 ]; then
  stripe_out=$(mktemp)
  listen=${ISKRA_LISTEN:-127.0.0.1:8787}
  "$BIN"/iskra-fake-stripe --webhook-url "http://$listen/v1/webhooks/stripe" >"$stripe_out" &
  pids+=($!)
  for _ in $(seq 1 100); do [ -s "$stripe_out" ] && break; sleep 0.1; done
  stripe=$(head -1 "$stripe_out")
  sfield() { printf '%s' "$stripe" | python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
  server_env+=(ISKRA_STRIPE_SECRET_KEY="$(sfield secretKey)" ISKRA_STRIPE_API_URL="$(sfield apiUrl)"
               ISKRA_STRIPE_WEBHOOK_SECRET="$(sfield webhookSecret)"
               ISKRA_STRIPE_PRICE_PRO=price_fake_pro ISKRA_STRIPE_PRICE_ENTERPRISE=price_fake_enterprise)
  echo "Billing runs against the local fake Stripe at $(sfield apiUrl)"
fi
TOKEN=$("${server_env[@]}" "$BIN"/iskra-server token --user demo)
if [ "${ISKRA_HEADLESS:-0}" = 1 ]; then
  echo "Dev token for user 'demo': $TOKEN"
  "${server_env[@]}" "$BIN"/iskra-server serve &
  pids+=($!)
  wait "${pids[-1]}"
  exit
fi
"${server_env[@]}" "$BIN"/iskra-server serve &
pids+=($!)

ISKRA_SERVER=http://127.0.0.1:8787 ISKRA_TOKEN="$TOKEN" "$BIN"/iskra-desktop
