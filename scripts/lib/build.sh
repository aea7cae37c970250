# Shared by scripts/run.sh and scripts/bench.sh (sourced): builds what they run, the same way,
# so running one after the other compiles nothing.
# - The UI bundle (ui/dist, embedded in the desktop binary) is rebuilt only when its inputs
#   changed: rewriting identical files would still make cargo rebuild the desktop app.
# - Every release binary of the workspace in ONE cargo invocation: separate `-p` invocations
#   resolve different feature sets for shared crates and rebuild them each time.

# Hash of the files a step depends on (paths relative to the repository root).
inputs_hash() {
  find "$@" -type f -print0 2>/dev/null | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1
}

build_ui() {
  local lock_hash src_hash
  lock_hash=$(inputs_hash ui/package-lock.json)
  if [ "$(cat ui/node_modules/.iskra-lock.sha 2>/dev/null)" != "$lock_hash" ]; then
    (cd ui && npm ci --no-audit --no-fund --loglevel=error)
    echo "$lock_hash" >ui/node_modules/.iskra-lock.sha
  fi
  src_hash=$(inputs_hash ui/src ui/index.html ui/package-lock.json ui/vite.config.ts \
    ui/svelte.config.js ui/tsconfig.json)
  if [ ! -f ui/dist/index.html ] || [ "$(cat ui/node_modules/.iskra-dist.sha 2>/dev/null)" != "$src_hash" ]; then
    (cd ui && npm run build)
    echo "$src_hash" >ui/node_modules/.iskra-dist.sha
  fi
}

build_release() {
  build_ui
  cargo build --release --locked --workspace --bins
}
