#!/usr/bin/env bash
# Fuzzes the server as an outside client would: Schemathesis (from PyPI, pinned) generates
# requests from the server's own /openapi.json — valid and invalid, every operation, stateful
# sequences along the links it infers — and runs every check (no 5xx, only documented statuses,
# content types, headers and bodies, invalid input refused, valid input accepted, auth
# enforced). The server runs with a dev token of an enterprise user, the local fake fal and the
# fake Stripe, so generation and billing answer as they would in production.
# Usage: scripts/schemathesis.sh [embedded|scaled]...   (default: both)
#   embedded: SQLite + local files; scaled: PostgreSQL + S3 + Redis, from the environment
#   scripts/test.sh sets (ISKRA_TEST_POSTGRES_URL, ISKRA_TEST_REDIS_URL, ISKRA_TEST_S3_BUCKET,
#   AWS_*). ISKRA_ST_EXAMPLES sets the examples per operation (default 6); ISKRA_ST_KEEP=1 keeps
#   the logs and reports (server, fake fal and Stripe, schemathesis) for reading.
# Fails when any check fails or anything it needs is missing; never skips a backend.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$BUILD/debug
VENV=$BUILD/py-st
ST_VERSION=4.32.5
EXAMPLES=${ISKRA_ST_EXAMPLES:-6}
backends=("$@")
[ ${#backends[@]} -gt 0 ] || backends=(embedded scaled)

if [ ! -x "$VENV/bin/st" ] || [ "$("$VENV/bin/st" --version 2>/dev/null)" != "st, version $ST_VERSION" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "schemathesis==$ST_VERSION"
fi
cargo build --workspace --locked --quiet --bin iskra-server --bin iskra-fake-fal --bin iskra-fake-stripe

WORK=$(mktemp -d "${TMPDIR:-/tmp}/iskra-st.XXXXXX")
pids=()
dbs=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  for db in "${dbs[@]}"; do
    psql -q "$ISKRA_TEST_POSTGRES_URL" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  done
  if [ -n "${ISKRA_ST_KEEP:-}" ]; then echo "kept: $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# Waits (with a deadline) until a program has printed its first line into $1.
first_line() {
  for _ in $(seq 1 200); do [ -s "$1" ] && { head -1 "$1"; return; }; sleep 0.1; done
  echo "no output in $1" >&2; return 1
}
field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }

# Runs the fuzzer against one server; prints and checks its summary.
fuzz() {
  local name=$1; shift
  local dir=$WORK/$name port
  mkdir -p "$dir"
  port=$(free_port)
  "$BIN/iskra-fake-fal" --delay-ms 200 >"$dir/fal.out" 2>"$dir/fal.log" &
  pids+=($!)
  local fal; fal=$(first_line "$dir/fal.out")
  "$BIN/iskra-fake-stripe" --webhook-url "http://127.0.0.1:$port/v1/webhooks/stripe" \
    >"$dir/stripe.out" 2>"$dir/stripe.log" &
  pids+=($!)
  local stripe; stripe=$(first_line "$dir/stripe.out")
  local env=(env ISKRA_DATA_DIR="$dir/data" ISKRA_LISTEN="127.0.0.1:$port" ISKRA_AUTH_MODE=dev
    ISKRA_LOG_FORMAT=json ISKRA_METRICS_LISTEN=off
    ISKRA_FAL_KEY="$(field "$fal" key)" ISKRA_FAL_QUEUE_URL="$(field "$fal" queueUrl)"
    ISKRA_FAL_REST_URL="$(field "$fal" restUrl)" ISKRA_FAL_JWKS_URL="$(field "$fal" jwksUrl)"
    ISKRA_STRIPE_SECRET_KEY="$(field "$stripe" secretKey)" ISKRA_STRIPE_API_URL="$(field "$stripe" apiUrl)"
    ISKRA_STRIPE_WEBHOOK_SECRET="$(field "$stripe" webhookSecret)"
    ISKRA_STRIPE_PRICE_PRO=price_fake_pro ISKRA_STRIPE_PRICE_ENTERPRISE=price_fake_enterprise "$@")
  local token
  token=$("${env[@]}" "$BIN/iskra-server" token --user fuzzer --tier enterprise)
  "${env[@]}" "$BIN/iskra-server" serve >"$dir/server.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
  curl -sf "http://127.0.0.1:$port/health" >/dev/null || { tail -20 "$dir/server.log" >&2; return 1; }

  local server_pid=${pids[-1]}
  echo "== schemathesis: $name backend"
  local status attempt
  for attempt in 1 2; do
    status=0
    "$VENV/bin/st" --config-file "$ROOT/scripts/schemathesis.toml" run "http://127.0.0.1:$port/openapi.json" \
      --checks all --max-examples "$EXAMPLES" --seed 1 --no-shrink --workers 1 \
      --generation-database none --no-color --warnings off \
      -H "Authorization: Bearer $token" \
      --report json --report-json-path "$dir/report.json" >"$dir/st.txt" 2>&1 || status=$?
    # The run's numbers; a run that tested nothing, or with any failure or error, fails.
    python3 - "$dir/report.json" "$name" <<'EOF' || status=1
import json, sys
report, name = json.load(open(sys.argv[1])), sys.argv[2]
cases = report["test_cases"]
failures = sum(f.get("count", 1) for f in report.get("failures", []))
errors = sum(e.get("count", 1) for e in report.get("errors", []))
operations = report["operations"]
print(f"schemathesis ({name}): {operations['tested']} operations, {cases['generated']} cases, "
      f"{failures} failures, {errors} errors")
sys.exit(0 if failures == errors == 0 and cases["generated"] > 0 and report["exit_code"] == 0 else 1)
EOF
    [ $status -ne 0 ] || break
    # "Server Unavailable" with no failed check is the fuzzer losing a connection (seen on a
    # loaded machine). It counts as a crash unless the server process still runs, answers
    # /health and logged no panic; then the backend is fuzzed once more, from the start.
    if [ $attempt = 1 ] && grep -q "Server Unavailable" "$dir/st.txt" &&
      ! grep -q "FAILURES" "$dir/st.txt" && kill -0 "$server_pid" 2>/dev/null &&
      curl -sf "http://127.0.0.1:$port/health" >/dev/null && ! grep -qi panicked "$dir/server.log"; then
      echo "schemathesis ($name): the fuzzer lost its connection; the server runs, answers /health and logged no panic: once more"
      continue
    fi
    break
  done
  if [ $status -ne 0 ]; then
    cat "$dir/st.txt"
    echo "-- the server's last log lines:"
    tail -20 "$dir/server.log"
    echo "schemathesis: failures on the $name backend" >&2
    return 1
  fi
}

for b in "${backends[@]}"; do
  case $b in
    embedded) fuzz embedded ;;
    scaled)
      : "${ISKRA_TEST_POSTGRES_URL:?scaled needs ISKRA_TEST_POSTGRES_URL (see scripts/test.sh)}"
      : "${ISKRA_TEST_REDIS_URL:?scaled needs ISKRA_TEST_REDIS_URL}"
      : "${ISKRA_TEST_S3_BUCKET:?scaled needs ISKRA_TEST_S3_BUCKET and AWS_*}"
      db=iskra_st_$$
      psql -q "$ISKRA_TEST_POSTGRES_URL" -c "CREATE DATABASE $db" >/dev/null
      dbs+=("$db")
      fuzz scaled ISKRA_DATABASE_URL="${ISKRA_TEST_POSTGRES_URL%/*}/$db" \
        ISKRA_REDIS_URL="$ISKRA_TEST_REDIS_URL" ISKRA_STORAGE_URL="s3://$ISKRA_TEST_S3_BUCKET/st-$$" ;;
    *) echo "unknown backend $b (embedded or scaled)" >&2; exit 2 ;;
  esac
done
