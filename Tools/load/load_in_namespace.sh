#!/usr/bin/env bash
# Runs inside a fresh network namespace (`unshare --net`, only `lo`): starts `erizo all` with one
# media worker on loopback and runs `erizo-bench load` against it, one scenario after another.
#   load_in_namespace.sh BIN_DIR JSON_OUT "SCENARIO STEPS [OPTIONS]" … [-- options for every run]
# e.g. "rooms 8,16 --signalling socketio". Each run's table goes to stdout; every step's JSON line
# is appended to JSON_OUT.
set -euo pipefail
bin=$1
json=$2
shift 2
runs=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do runs+=("$1"); shift; done
[ "${1:-}" = -- ] && shift
extra=("$@")

ip link set lo up

data=$(mktemp -d)
trap 'kill "$erizo" 2>/dev/null || true; wait "$erizo" 2>/dev/null || true; rm -rf "$data"' EXIT
# LOAD_ERIZO_ENV adds settings for erizo all, e.g. "ERIZO_AGENT_SINGLE_PORT=true".
read -r -a extra_env <<<"${LOAD_ERIZO_ENV:-}"
env -i PATH="$PATH" HOME="${HOME:-/tmp}" ERIZO_NUVE_DATA_DIRECTORY="$data" PUBLIC_IP=127.0.0.1 \
  ERIZO_AGENT_NUM_WORKERS=1 ERIZO_CONTROLLER_DRAIN_TIMEOUT=1 ERIZO_AGENT_DRAIN_TIMEOUT=1 ERIZO_LOG_LEVEL=warning \
  "${extra_env[@]}" "$bin/erizo" all >"$data/erizo.log" 2>&1 &
erizo=$!
for _ in $(seq 1 150); do
  curl -fs -o /dev/null -X POST -H 'Content-Type: application/json' -d '{"room":"warm-up","name":"probe"}' \
    http://127.0.0.1:8080/demo/token && break
  sleep 0.2
done
status=0
for run in "${runs[@]}"; do
  read -r scenario steps options <<<"$run"
  # shellcheck disable=SC2086 # the run's own options are words
  "$bin/erizo-bench" load "$scenario" --steps "$steps" --json "$json" ${options:-} "${extra[@]}" || status=$?
  echo
  [ "$status" = 0 ] || break
  sleep 3  # the worker finishes closing the last run's transports before the next idle measurement
done
if [ "$status" != 0 ]; then tail -30 "$data/erizo.log" >&2; fi
exit "$status"
