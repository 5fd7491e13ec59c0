#!/usr/bin/env bash
# $dispense throughput and latency at concurrency 32 over loopback (issue 4, "Benchmark"), with a
# trivial route of the same server (/health/live) as the framework baseline, in one run; then the
# same $dispense load on a second server whose relay sends every transfer to `erx registry-sim`
# (issue 5), with the relay's lag sampled from /metrics while the load runs.
# Needs wrk (apt-get install wrk) and a release build: swift build -c release --product erx
# Usage: scripts/bench-dispense.sh [DURATION_SECONDS] [TASKS]
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-20}
task_count=${2:-300}
port=${PORT:-18181}
erx=${ERX:-.build/release/erx}
work=$(mktemp -d)
server=""; relayed=""; registry=""
trap 'kill $server $relayed $registry 2>/dev/null || true; rm -rf "$work"' EXIT

wait_live() { for _ in $(seq 50); do curl -sf "http://127.0.0.1:$1/health/live" >/dev/null && return; sleep 0.2; done; }
$erx serve --data "$work/data" --port "$port" --accept-unsigned > "$work/server.log" 2>&1 &
server=$!
wait_live "$port"

pharmacy_id=3-SMC-B-Testkarte-883110000095957
doctor=$($erx token --data "$work/data" --profession-oid 1.2.276.0.76.4.50 --telematik-id 1-HBA-Testkarte-883110000129068)
pharmacy=$($erx token --data "$work/data" --profession-oid 1.2.276.0.76.4.54 --telematik-id $pharmacy_id)
python3 scripts/prepare_tasks.py "http://127.0.0.1:$port" "$doctor" "$pharmacy" "$task_count" > "$work/tasks.txt"

# The body: our own 1.6 fixture made out for the task (placeholders kept for the Lua script).
sed -e "s/{{telematikID}}/$pharmacy_id/g" fixtures/scenarios/bodies/dispense-1.6.json > "$work/body.json"
sed -e 's/{{id}}/160.000.033.491.280.78/g' -e 's/{{kvnr}}/B999999999/g' "$work/body.json" | $erx convert --to xml - \
  | sed -e 's/160.000.033.491.280.78/{{id}}/g' -e 's/B999999999/{{kvnr}}/g' > "$work/body.xml"

run() { # name, wrk args...
  local name=$1; shift
  local out
  out=$(wrk -t2 -c32 -d"${duration}s" --latency "$@" 2>&1)
  local rps p50 p99
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1=="50%" {print $2}')
  p99=$(echo "$out" | awk '$1=="99%" {print $2}')
  local errors
  errors=$(echo "$out" | grep -E "Non-2xx|unexpected status|Socket errors" || true)
  printf '%-22s %10s req/s   p50 %8s   p99 %8s   %s\n' "$name" "$rps" "$p50" "$p99" "$errors"
  echo "$rps" > "$work/$name.rps"
}

echo "erx \$dispense benchmark: concurrency 32, ${duration}s per run, $task_count pre-accepted tasks, SQLite WAL synchronous=FULL"
run baseline-health-live "http://127.0.0.1:$port/health/live"
TASKS="$work/tasks.txt" BODY="$work/body.json" CONTENT_TYPE="application/fhir+json" TOKEN="$pharmacy" \
  run dispense-json -s scripts/dispense.lua "http://127.0.0.1:$port"
TASKS="$work/tasks.txt" BODY="$work/body.xml" CONTENT_TYPE="application/fhir+xml" TOKEN="$pharmacy" \
  run dispense-xml -s scripts/dispense.lua "http://127.0.0.1:$port"
kill $server; server=""

# The same load with the relay on: a registry simulator and a server that sends it every transfer.
$erx registry-sim --port $((port + 2)) > "$work/registry.log" 2>&1 &
registry=$!
$erx serve --data "$work/relayed" --port $((port + 1)) --accept-unsigned --registry "http://127.0.0.1:$((port + 2))" > "$work/relayed.log" 2>&1 &
relayed=$!
wait_live $((port + 1))
doctor=$($erx token --data "$work/relayed" --profession-oid 1.2.276.0.76.4.50 --telematik-id 1-HBA-Testkarte-883110000129068)
pharmacy=$($erx token --data "$work/relayed" --profession-oid 1.2.276.0.76.4.54 --telematik-id $pharmacy_id)
python3 scripts/prepare_tasks.py "http://127.0.0.1:$((port + 1))" "$doctor" "$pharmacy" "$task_count" > "$work/relayed-tasks.txt"
lag() { curl -sf "http://127.0.0.1:$((port + 1))/metrics" | awk '$1=="erx_outbox_oldest_pending_age_seconds" {print $2}'; }
( while true; do lag >> "$work/lag.txt" || true; sleep 0.25; done ) &
sampler=$!
TASKS="$work/relayed-tasks.txt" BODY="$work/body.json" CONTENT_TYPE="application/fhir+json" TOKEN="$pharmacy" \
  run dispense-json-relay -s scripts/dispense.lua "http://127.0.0.1:$((port + 1))"
kill $sampler
drained_after=0
while [ "$(curl -sf "http://127.0.0.1:$((port + 1))/metrics" | awk '$1=="erx_outbox_pending" {print ($2 + 0 == 0) ? "empty" : "pending"}')" != "empty" ]; do
  sleep 0.1; drained_after=$((drained_after + 100)); [ $drained_after -gt 60000 ] && break
done
received=$(curl -sf "http://127.0.0.1:$((port + 2))/_sim/received" | python3 -c 'import json,sys; r=json.load(sys.stdin); print(len(r), len({t["idempotencyKey"] for t in r}))')

base=$(cat "$work/baseline-health-live.rps")
for name in dispense-json dispense-xml dispense-json-relay; do
  awk -v a="$(cat "$work/$name.rps")" -v b="$base" -v n="$name" 'BEGIN { printf "%s / baseline = %.1f %%\n", n, 100 * a / b }'
done
awk -v a="$(cat "$work/dispense-json-relay.rps")" -v b="$(cat "$work/dispense-json.rps")" \
  'BEGIN { printf "dispense-json with relay / without = %.1f %%\n", 100 * a / b }'
sort -g "$work/lag.txt" | awk '{v[NR]=$1} END { printf "relay lag (oldest pending transfer, sampled every 250 ms): max %.3f s, median %.3f s, %d samples\n", v[NR], v[int((NR+1)/2)], NR }'
echo "outbox drained ${drained_after} ms after the load; registry received (transfers, distinct idempotency keys): $received"
