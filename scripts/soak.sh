#!/usr/bin/env bash
# Memory under a long mixed load (issue 19, item 7): the server's RSS after every chunk of wrk's
# requests (scripts/soak.lua: valid and invalid $dispense, unknown profile versions, broken bodies,
# forged tokens, searches, /metadata), until TOTAL requests. Needs wrk.
# Usage: scripts/soak.sh [TOTAL_REQUESTS] [CHUNK_SECONDS]   (ERX=path picks the binary)
set -euo pipefail
cd "$(dirname "$0")/.."
total=${1:-1000000}
chunk=${2:-30}
port=${PORT:-18195}
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
python3 scripts/prepare_tasks.py "http://127.0.0.1:$port" "$doctor" "$pharmacy" 50 > "$work/tasks.txt"
sed -e "s/{{telematikID}}/$pharmacy_id/g" fixtures/scenarios/bodies/dispense-1.6.json > "$work/body.json"
rss() { awk '/VmRSS/ {print int($2 / 1024)}' "/proc/$server/status"; }
done_requests=0
echo "requests  rss_mb"
echo "0  $(rss)"
while [ "$done_requests" -lt "$total" ]; do
  out=$(TASKS="$work/tasks.txt" BODY="$work/body.json" TOKEN="$pharmacy" wrk -t2 -c16 -d"${chunk}s" -s scripts/soak.lua "http://127.0.0.1:$port" 2>&1)
  count=$(echo "$out" | awk '/requests in/ {print $1}')
  done_requests=$((done_requests + count))
  echo "$done_requests  $(rss)"
done
echo "server log lines with 'unhandled': $(grep -c unhandled "$work/server.log" || true)"
echo "answers by status:"
grep -o 'status=[0-9]*' "$work/server.log" | sort | uniq -c
