#!/usr/bin/env bash
# Runs inside a fresh network namespace (`unshare --net`): starts the distributed deployment with
# scripts/run-cluster (its own RabbitMQ node, the MongoDB wire server, Nuve, two controllers and two
# agents as separate processes) and runs the pymediasoup publisher/subscriber scenario against the
# controller Nuve chose for the room. Prints the scenario's JSON line.
#   cluster_scenario.sh BIN_DIR MEDIA_PYTHON
set -euo pipefail
bin=$1
python=$2
fixtures=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$fixtures/../../.." && pwd)

ip link set lo up
ip addr add 127.0.0.2/8 dev lo  # aiortc does not gather the literal 127.0.0.1

work=$(mktemp -d)
chmod 755 "$work"
CLUSTER_BIN="$bin" CLUSTER_DIR="$work/cluster" CLUSTER_READY="$work/ready" "$root/scripts/run-cluster" \
  >"$work/run-cluster.out" 2>&1 &
cluster=$!
# A stop file, not SIGTERM: under the test runner bash gets SIGTERM blocked and would never see it.
trap 'touch "$work/cluster/stop"; wait "$cluster" 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 300); do [ -s "$work/ready" ] && break; sleep 0.2; done
if [ ! -s "$work/ready" ]; then
  echo '{"errors": ["the cluster did not start"]}'
  cat "$work/run-cluster.out" >&2
  exit 0
fi
field() { python3 -c "import json,sys; v=json.load(sys.stdin)$1; print(v)"; }
id=$(field '["id"]' <"$work/ready")
key=$(field '["key"]' <"$work/ready")
room=""
for _ in $(seq 1 50); do
  room=$(python3 "$fixtures/nuve_tokens.py" http://127.0.0.1:3000 "$id" "$key" 2 "" peer 2>/dev/null) && break
  sleep 0.2
done
token=$(field '["tokens"][0]' <<<"$room")
host=$(python3 -c 'import base64,json,sys; print(json.loads(base64.b64decode(sys.argv[1]))["host"])' "$token")
"$python" "$fixtures/mediasoup_e2e.py" "http://$host" "$token" "$(field '["tokens"][1]' <<<"$room")" \
  | python3 -c 'import json,sys; r=json.loads(sys.stdin.read().strip().splitlines()[-1]); r["controller"]=sys.argv[1]; print(json.dumps(r))' "$host" || true
grep -h -E " (error|warning) " "$work"/cluster/*.log | tail -20 >&2 || true
