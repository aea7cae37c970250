# Sourced by scripts/test.sh: no process started by the test command outlives it.
#
# - run_marked: from then on every process the run starts carries ISKRA_TEST_RUN=<this run>
#   in its environment (inherited, and passed on by the test helpers that clear a child's
#   environment), so it is found even after it left its process group (setsid, daemonize).
# - in_session CMD…: runs a suite in a session of its own (process group = its pid), recorded,
#   so the whole group can be stopped at once on failure or interrupt.
# - check_survivors (from the EXIT trap, on success, failure and interrupt): stops moto, then
#   lists every process that carries this run's mark, belongs to a recorded
#   session, or is an orphan with the name of a process the tests start (servers, CLI, desktop
#   app, driver, display, moto, fakes) that began after this run — prints them, stops them,
#   and makes the command fail.
# PostgreSQL and Redis started by test.sh when they were not running are services: they are
# started before run_marked and are not in the list of names, so they may stay.

# Names (as /proc/PID/comm shows them: at most 15 bytes) of processes the tests start.
TEST_PROCESS_NAMES=(iskra-server iskra iskra-desktop tauri-driver WebKitWebDriver
  WebKitWebProcess WebKitNetworkProcess Xvfb moto_server iskra-fake-fal iskra-fake-stripe)
SESSIONS=()

# Start time of process $1 in clock ticks since boot (field 22 of /proc/PID/stat).
proc_start() {
  local stat
  read -r stat 2>/dev/null <"/proc/$1/stat" || return 1
  # Fields after `pid (comm) `: state is field 3, so the start time is the 20th of these.
  set -- ${stat##*) }
  echo "${20}"
}

# The ISKRA_TEST_RUN value in process $1's environment (empty when none or unreadable).
proc_mark() {
  local var
  while IFS= read -r -d '' var; do
    case $var in ISKRA_TEST_RUN=*) echo "${var#ISKRA_TEST_RUN=}"; return 0 ;; esac
  done 2>/dev/null <"/proc/$1/environ"
  return 0
}

run_marked() {
  RUN_MARK="$$-$(proc_start $$)-$RANDOM"
  RUN_START=$(proc_start $$)
  export ISKRA_TEST_RUN=$RUN_MARK
}

# Runs "$@" in its own session and process group; its status.
in_session() {
  setsid "$@" &
  local pid=$! rc=0
  SESSIONS+=("$pid")
  wait "$pid" || rc=$?
  return $rc
}

# Whether $1 is one of the remaining arguments.
one_of() {
  local x=$1
  shift
  for y in "$@"; do [ "$x" = "$y" ] && return 0; done
  return 1
}

# "pid name args" of each live process of this run (not this shell).
survivors() {
  local dir pid comm stat fields mark known args
  for dir in /proc/[0-9]*; do
    pid=${dir#/proc/}
    [ "$pid" = $$ ] && continue
    read -r stat 2>/dev/null <"$dir/stat" || continue
    # After `pid (comm) `: state, ppid, pgrp, session, … start time (the 20th).
    fields=(${stat##*) })
    case ${fields[0]} in Z | X) continue ;; esac
    read -r comm 2>/dev/null <"$dir/comm" || continue
    mark=$(proc_mark "$pid")
    known=0
    for name in "${TEST_PROCESS_NAMES[@]}"; do
      [ "$comm" = "${name:0:15}" ] && known=1
    done
    # A known name counts only for an orphan (its parent gone: pid 1 adopted it) without any
    # run's mark that began after this run: what escaped every other check. Live processes of
    # other test commands on the same machine (their parent still runs) are left alone.
    if [ "$mark" = "$RUN_MARK" ] || one_of "${fields[3]}" "${SESSIONS[@]}" ||
      { [ $known = 1 ] && [ -z "$mark" ] && [ "${fields[1]}" = 1 ] &&
        [ "${fields[19]}" -ge "$RUN_START" ]; }; then
      args=$(tr '\0' ' ' 2>/dev/null <"$dir/cmdline")
      echo "$pid $comm ${args:0:160}"
    fi
  done
}

# Waits (at most $1 seconds) until no process of the run is left; prints what is left.
wait_gone() {
  local deadline=$((SECONDS + $1)) left
  while left=$(survivors) && [ -n "$left" ] && [ $SECONDS -lt "$deadline" ]; do sleep 0.2; done
  printf '%s' "$left"
}

# From the EXIT trap: lists what the run left running, stops it (its sessions' whole process
# groups, then each process), and fails the command when anything was left.
check_survivors() {
  local status=$? left pid
  # Processes started from here on (the checks themselves) are not the run's.
  export -n ISKRA_TEST_RUN
  [ -n "${RUN_MARK:-}" ] || exit $status
  # moto is the run's own service: stopped and reaped first.
  if [ -n "${MOTO_PID:-}" ]; then
    kill "$MOTO_PID" 2>/dev/null || true
    wait "$MOTO_PID" 2>/dev/null || true
  fi
  # A moment for processes already on their way out (a test's child killed as it ended).
  left=$(wait_gone 2)
  if [ -z "$left" ]; then
    printf '\n== no process of the test run is left running\n'
    exit $status
  fi
  printf '\n== processes the test run left running (stopped now):\n%s\n' "$left" >&2
  for pid in "${SESSIONS[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  while read -r pid _; do kill -TERM "$pid" 2>/dev/null || true; done <<<"$left"
  left=$(wait_gone 10)
  while read -r pid _; do [ -z "$pid" ] || kill -KILL "$pid" 2>/dev/null || true; done <<<"$left"
  left=$(wait_gone 5)
  [ -z "$left" ] || printf '== still running after SIGKILL:\n%s\n' "$left" >&2
  [ $status -ne 0 ] || status=1
  exit $status
}
