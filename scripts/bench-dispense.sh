#!/usr/bin/env bash
# $dispense throughput and latency at concurrency 32 over loopback (issue 4, "Benchmark"), with a
# trivial route of the same server (/health/live) as the framework baseline, in one run.
# Needs wrk (apt-get install wrk) and a release build: swift build -c release --product erx
# Usage: scripts/bench-dispense.sh [DURATION_SECONDS] [TASKS]
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-20}
task_count=${2:-300}
port=${PORT:-18181}
erx=${ERX:-.build/release/erx}
work=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT

$erx serve --data "$work/data" --port "$port" --accept-unsigned > "$work/server.log" 2>&1 &
server=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/health/live" >/dev/null && break; sleep 0.2; done

pharmacy_id=3-SMC-B-Testkarte-883110000095957
doctor=$($erx token --data "$work/data" --profession-oid 1.2.276.0.76.4.50 --telematik-id 1-HBA-Testkarte-883110000129068)
pharmacy=$($erx token --data "$work/data" --profession-oid 1.2.276.0.76.4.54 --telematik-id $pharmacy_id)
python3 scripts/prepare_tasks.py "http://127.0.0.1:$port" "$doctor" "$pharmacy" "$task_count" > "$work/tasks.txt"

# The body: our own 1.6 fixture made out for the task (placeholders kept for the Lua script).
sed -e 's/{{kvnr}}/X234567890/g' -e "s/{{telematikID}}/$pharmacy_id/g" fixtures/scenarios/bodies/dispense-1.6.json > "$work/body.json"
sed -e 's/{{id}}/160.000.033.491.280.78/g' "$work/body.json" | $erx convert --to xml - | sed -e 's/160.000.033.491.280.78/{{id}}/g' > "$work/body.xml"

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
base=$(cat "$work/baseline-health-live.rps")
for name in dispense-json dispense-xml; do
  awk -v a="$(cat "$work/$name.rps")" -v b="$base" -v n="$name" 'BEGIN { printf "%s / baseline = %.1f %%\n", n, 100 * a / b }'
done
