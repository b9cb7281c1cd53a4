#!/usr/bin/env bash
# Runs inside a fresh network namespace (`unshare --net`), where only `lo` exists: starts `erizo all`
# on loopback with two media workers, makes tokens through Nuve's REST API, and runs one scenario of
# real WebRTC peers (pymediasoup on aiortc) against it. Prints the scenario's JSON line.
#   media_scenario.sh BIN_DIR MEDIA_PYTHON e2e|e2e-single-port|e2e-tcp|loss|fault|whip-whep|browser|browser-tcp
# (for `browser` and `browser-tcp`, MEDIA_PYTHON is the venv with selenium; SCREENSHOT names the
# picture to save). `browser-tcp` runs the workers in single-port mode and drops every UDP packet to
# their ports, as a network that blocks UDP would: media must take passive ICE-TCP. `e2e-tcp` is
# `e2e` with transports made with `forceTcp` (range mode: a TCP listener per transport).
set -euo pipefail
bin=$1
python=$2
scenario=$3
fixtures=$(cd "$(dirname "$0")" && pwd)

ip link set lo up
ip addr add 127.0.0.2/8 dev lo  # aiortc does not gather the literal 127.0.0.1

mode=()
if [ "$scenario" = e2e-single-port ] || [ "$scenario" = browser-tcp ]; then
  mode=(ERIZO_AGENT_SINGLE_PORT=true ERIZO_AGENT_SINGLE_PORT_BASE=40000)
fi
if [ "$scenario" = browser-tcp ]; then
  iptables -A INPUT -p udp --dport 40000:40001 -j DROP
fi

data=$(mktemp -d)
trap 'kill "$erizo" 2>/dev/null || true; wait "$erizo" 2>/dev/null || true; rm -rf "$data"' EXIT
id=$(python3 -c 'import secrets; print(secrets.token_hex(12))')
key=$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')
env -i PATH="$PATH" HOME="${HOME:-/tmp}" \
  ERIZO_NUVE_DATA_DIRECTORY="$data" ERIZO_NUVE_SUPERSERVICE_ID="$id" ERIZO_NUVE_SUPERSERVICE_KEY="$key" \
  PUBLIC_IP=127.0.0.1 ERIZO_AGENT_NUM_WORKERS=2 ERIZO_CONTROLLER_AGENT_POLL_INTERVAL=500 \
  ERIZO_CONTROLLER_DRAIN_TIMEOUT=1 ERIZO_AGENT_DRAIN_TIMEOUT=1 "${mode[@]}" \
  "$bin/erizo" all >"$data/erizo.log" 2>&1 &
erizo=$!

# tokens COUNT [ROOM]: {"room", "tokens"} once Nuve and a registered controller answer.
tokens() {
  for _ in $(seq 1 100); do
    if python3 "$fixtures/nuve_tokens.py" http://127.0.0.1:3000 "$id" "$key" "$1" "${2:-}" peer 2>/dev/null; then
      return 0
    fi
    sleep 0.2
  done
  echo '{"errors":["no tokens from Nuve"]}'
  cat "$data/erizo.log" >&2
  exit 0
}
field() { python3 -c "import json,sys; v=json.load(sys.stdin)$1; print(v)"; }

case "$scenario" in
  e2e | e2e-single-port | e2e-tcp | loss)
    room=$(tokens 2)
    sleep 1  # the controller's first agent poll
    script=mediasoup_e2e.py
    if [ "$scenario" = loss ]; then script=media_loss.py; fi
    force_tcp=0
    if [ "$scenario" = e2e-tcp ]; then force_tcp=1; fi
    FORCE_TCP=$force_tcp "$python" "$fixtures/$script" http://127.0.0.1:8080 \
      "$(field '["tokens"][0]' <<<"$room")" "$(field '["tokens"][1]' <<<"$room")" || true
    ;;
  whip-whep)
    room=$(tokens 4)
    sleep 1
    "$python" "$fixtures/whip_whep.py" http://127.0.0.1:8080 \
      "$(field '["tokens"][0]' <<<"$room")" "$(field '["tokens"][1]' <<<"$room")" \
      "$(field '["tokens"][2]' <<<"$room")" "$(field '["tokens"][3]' <<<"$room")" || true
    ;;
  join-latency)  # a benchmark (scripts/bench-join-latency), not a test
    room=$(tokens 21)
    sleep 1
    readarray -t all < <(python3 -c 'import json,sys; [print(t) for t in json.load(sys.stdin)["tokens"]]' <<<"$room")
    "$python" "$fixtures/../../../Tools/join-latency/join_latency.py" http://127.0.0.1:8080 "${all[@]}" || true
    ;;
  browser | browser-tcp)
    tokens 0 >/dev/null  # Nuve and a registered controller are up
    sleep 1
    "$python" "$fixtures/demo_browser.py" http://127.0.0.1:8080/ "${SCREENSHOT:-$data/demo.png}" || true
    ;;
  fault)
    a=$(tokens 4)
    b=$(tokens 2)
    sleep 1
    "$python" "$fixtures/media_fault.py" http://127.0.0.1:8080 "$data/erizo.log" \
      "$(field '["room"]' <<<"$a")" "$(field '["room"]' <<<"$b")" \
      "$(field '["tokens"][0]' <<<"$a")" "$(field '["tokens"][1]' <<<"$a")" \
      "$(field '["tokens"][2]' <<<"$a")" "$(field '["tokens"][3]' <<<"$a")" \
      "$(field '["tokens"][0]' <<<"$b")" "$(field '["tokens"][1]' <<<"$b")" || true
    ;;
esac
if [ -n "${KEEP_TEST_LOGS:-}" ]; then cp "$data/erizo.log" "/tmp/media-$scenario-erizo.log"; fi
grep -E " (error|warning) " "$data/erizo.log" | tail -20 >&2 || true
