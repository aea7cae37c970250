#!/usr/bin/env bash
# Benchmarks the real iskra-server (release build, separate process, fresh data dir) against
# its performance targets and prints a table, after the engine's and the desktop app's
# benchmarks; arguments go to iskra-bench, e.g.
#   scripts/bench.sh --json bench.json --secs 20
#   scripts/bench.sh --load        # the load test only (see below)
# `iskra-bench --only PART` (repeatable) runs a part alone, e.g. the generation pipeline
# against its in-process fake fal:
#   target/release/iskra-bench --server target/release/iskra-server --only generation
# Binaries are taken from $CARGO_TARGET_DIR when it is set.
# The limiter's own multi-threaded bench is `cargo bench -p iskra-limiter` (not run here;
# iskra-bench measures the single-threaded decision cost in-process).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${CARGO_TARGET_DIR:-target}/release
# The same build as scripts/run.sh (one invocation, one feature set): either script right
# after the other compiles nothing.
. scripts/lib/build.sh
build_release
# The load test alone: fleets of devices with open event streams on each backend, a latency
# histogram per run (PNG) and the table in bench-load/ (`--out DIR` elsewhere); PostgreSQL
# (and Redis) with ISKRA_BENCH_POSTGRES_URL (ISKRA_BENCH_REDIS_URL).
for arg in "$@"; do
  if [ "$arg" = --load ]; then
    exec "$BIN/iskra-bench" --server "$BIN/iskra-server" "$@"
  fi
done
# Engine targets (acceptance 8) on a 2,000-element project; prints its own table.
"$BIN/iskra-engine-bench" \
    || echo "iskra-engine-bench: some engine targets missed (see its table)" >&2
# Desktop app (issue acceptance: start-up, memory, frame times) under Xvfb; needs what
# scripts/test.sh installs (WebKitGTK, Xvfb, tauri-driver).
"$BIN/iskra-desktop-bench" || echo "iskra-desktop-bench failed (see its output)" >&2
exec "$BIN/iskra-bench" --server "$BIN/iskra-server" "$@"
