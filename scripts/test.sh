#!/usr/bin/env bash
# Runs every Iskra test on a fresh Debian machine: installs what is missing, makes sure
# PostgreSQL, Redis and an S3-compatible server (moto) run on 127.0.0.1, then runs the suites.
# Usage: scripts/test.sh            (everything)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD=${CARGO_TARGET_DIR:-$ROOT/target}
WORK=${ISKRA_TEST_WORK:-$BUILD/test-services}
mkdir -p "$WORK"
log() { printf '\n== %s\n' "$*"; }
# No process the run starts outlives it: checked (and failed on) at exit, whatever the outcome.
. scripts/lib/procs.sh
trap check_survivors EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
have() { command -v "$1" >/dev/null 2>&1; }
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
apt_updated=0
apt_install() {
  [ $apt_updated = 1 ] || { $SUDO apt-get update -qq; apt_updated=1; }
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

log "toolchain"
if ! have cargo; then
  have curl || apt_install curl ca-certificates
  curl -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
  . "$HOME/.cargo/env"
fi
have cc || apt_install build-essential
have pkg-config || apt_install pkg-config
# The engine's keyring (Secret Service over D-Bus) links libdbus.
dpkg -s libdbus-1-dev >/dev/null 2>&1 || apt_install libdbus-1-dev
have python3 || apt_install python3 python3-pip python3-venv
# Link previews of shared videos take their first frame with ffmpeg (the sharing tests check it).
have ffmpeg || apt_install ffmpeg
# The desktop app (Tauri: WebKitGTK) and its end-to-end tests (Xvfb, WebKitWebDriver).
desktop_pkgs=()
for p in libwebkit2gtk-4.1-dev libsoup-3.0-dev libjavascriptcoregtk-4.1-dev libgtk-3-dev librsvg2-dev \
         libayatana-appindicator3-dev webkit2gtk-driver xvfb xauth; do
  dpkg -s "$p" >/dev/null 2>&1 || desktop_pkgs+=("$p")
done
[ ${#desktop_pkgs[@]} -eq 0 ] || apt_install "${desktop_pkgs[@]}"
if ! have tauri-driver && [ ! -x "${CARGO_HOME:-$HOME/.cargo}/bin/tauri-driver" ]; then
  log "tauri-driver"
  cargo install tauri-driver --locked --quiet
fi
# Finds dependencies a crate declares and no longer uses (run with the lints below).
if ! have cargo-machete && [ ! -x "${CARGO_HOME:-$HOME/.cargo}/bin/cargo-machete" ]; then
  log "cargo-machete"
  cargo install cargo-machete --locked --quiet
fi

log "PostgreSQL on 127.0.0.1:5432"
pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
if ! pg_up; then
  have pg_ctlcluster || apt_install postgresql
  if ls /etc/postgresql >/dev/null 2>&1 && [ -n "$(ls /etc/postgresql)" ]; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  fi
  for _ in $(seq 1 30); do pg_up && break; sleep 1; done
fi
pg_up || { echo "PostgreSQL is not reachable on 127.0.0.1:5432" >&2; exit 1; }

log "Redis on 127.0.0.1:6379"
redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }
if ! redis_up; then
  have redis-server || apt_install redis-server
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir "$WORK" --logfile "$WORK/redis.log"
  for _ in $(seq 1 30); do redis_up && break; sleep 0.5; done
fi
redis_up || { echo "Redis is not reachable on 127.0.0.1:6379" >&2; exit 1; }

# Everything started from here on is the run's (PostgreSQL and Redis above are services).
run_marked

log "S3-compatible server (moto) on 127.0.0.1"
VENV="$BUILD/py"
if [ ! -x "$VENV/bin/moto_server" ]; then
  python3 -m venv "$VENV" 2>/dev/null || { apt_install python3-venv; python3 -m venv "$VENV"; }
  "$VENV/bin/pip" install -q --disable-pip-version-check 'moto[server]>=5,<6'
fi
S3_PORT=${ISKRA_TEST_S3_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}
"$VENV/bin/moto_server" -H 127.0.0.1 -p "$S3_PORT" >"$WORK/moto.log" 2>&1 &
MOTO_PID=$!
for _ in $(seq 1 60); do curl -s "http://127.0.0.1:$S3_PORT/" >/dev/null 2>&1 && break; sleep 0.5; done
curl -s -X PUT "http://127.0.0.1:$S3_PORT/iskra-test" >/dev/null

export ISKRA_TEST_POSTGRES_URL=${ISKRA_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
export ISKRA_TEST_REDIS_URL=${ISKRA_TEST_REDIS_URL:-redis://127.0.0.1:6379}
export ISKRA_TEST_S3_BUCKET=iskra-test
export AWS_ENDPOINT_URL="http://127.0.0.1:$S3_PORT" AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \
  AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1

log "UI: install, typecheck, unit tests, build"
if ! have npm; then apt_install nodejs npm; fi
# The desktop binary embeds ui/dist, so the UI is built before any cargo step.
in_session bash -c 'cd ui && npm ci --no-audit --no-fund --loglevel=error && npm run typecheck && npm test && npm run build'

log "format and lints"
cargo fmt --all -- --check
cargo machete
cargo clippy --workspace --all-targets --locked -- -D warnings

log "tests"
# Includes the desktop app's end-to-end tests (src-tauri/tests: the real binary under Xvfb).
status=0
exec 3> >(tee "$WORK/cargo-test.log")
TEE_PID=$!
in_session cargo test --workspace --locked --no-fail-fast >&3 2>&3 || status=$?
exec 3>&-
# tee ends once every writer closed the pipe; a process left holding it is found below.
for _ in $(seq 1 50); do [ -e "/proc/$TEE_PID" ] || break; sleep 0.1; done

log "schemathesis: the server against its own /openapi.json, both backends"
in_session scripts/schemathesis.sh embedded scaled || status=1
passed=$(grep -E '^test result:' "$WORK/cargo-test.log" | awk '{s+=$4} END {print s+0}')
failed=$(grep -E '^test result:' "$WORK/cargo-test.log" | awk '{s+=$6} END {print s+0}')
echo
echo "$passed passed, $failed failed"
exit "$status"
