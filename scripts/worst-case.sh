#!/usr/bin/env bash
# Issue 19: /health/live and a valid $dispense of another task while 3 clients post worst-case
# 1 MiB bodies at the caps. Usage: scripts/worst-case.sh [SECONDS]  (ERX=path picks the binary)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-15}
port=${PORT:-18191}
erx=${ERX:-.build/release/erx}
work=$(mktemp -d)
server=""
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
$erx serve --data "$work/data" --port "$port" --accept-unsigned > "$work/server.log" 2>&1 &
server=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/health/live" >/dev/null && break; sleep 0.2; done
pharmacy_id=3-SMC-B-Testkarte-883110000095957
doctor=$($erx token --data "$work/data" --profession-oid 1.2.276.0.76.4.50 --telematik-id 1-HBA-Testkarte-883110000129068)
pharmacy=$($erx token --data "$work/data" --profession-oid 1.2.276.0.76.4.54 --telematik-id $pharmacy_id)
python3 scripts/prepare_tasks.py "http://127.0.0.1:$port" "$doctor" "$pharmacy" 4 > "$work/tasks.txt"
sed -e "s/{{telematikID}}/$pharmacy_id/g" fixtures/scenarios/bodies/dispense-1.6.json > "$work/body.json"
python3 scripts/worst_case.py "http://127.0.0.1:$port" "$pharmacy" "$work/tasks.txt" "$work/body.json" "$seconds"
