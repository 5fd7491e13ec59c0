#!/usr/bin/env bash
# Compares erx builds on the $dispense load (JSON, concurrency 32, loopback), interleaved round by
# round so that the machine's drift hits every build alike. Besides requests per second it reports
# the server's CPU time per request (from /proc, user + system), which moves far less with the
# machine's load than throughput does: on the shared 2-core machine the same binary ranged
# 6.3–7.3 k req/s between sessions, its CPU per request 195–227 µs.
# Needs wrk (apt-get install wrk) and release builds of erx.
# Usage: scripts/ab-dispense.sh [-r ROUNDS] [-d SECONDS] BINARY...
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=3; duration=8
while getopts "r:d:" option; do
  case $option in
    r) rounds=$OPTARG ;;
    d) duration=$OPTARG ;;
    *) echo "usage: $0 [-r ROUNDS] [-d SECONDS] BINARY..." >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || { echo "usage: $0 [-r ROUNDS] [-d SECONDS] BINARY..." >&2; exit 2; }
port=${PORT:-18191}
pharmacy_id=3-SMC-B-Testkarte-883110000095957
work=$(mktemp -d)
server=""
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT

wait_live() { for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/health/live" >/dev/null && return; sleep 0.2; done; }

# One measurement: a fresh server and data directory, 300 tasks, then the load.
# Prints "<req/s> <server CPU µs per request>".
measure() {
  local erx=$1 data="$work/data-$RANDOM"
  "$erx" serve --data "$data" --port "$port" --accept-unsigned > "$work/server.log" 2>&1 &
  server=$!
  wait_live
  local doctor pharmacy
  doctor=$("$erx" token --data "$data" --profession-oid 1.2.276.0.76.4.50 --telematik-id 1-HBA-Testkarte-883110000129068)
  pharmacy=$("$erx" token --data "$data" --profession-oid 1.2.276.0.76.4.54 --telematik-id $pharmacy_id)
  python3 scripts/prepare_tasks.py "http://127.0.0.1:$port" "$doctor" "$pharmacy" 300 > "$work/tasks.txt"
  sed -e "s/{{telematikID}}/$pharmacy_id/g" fixtures/scenarios/bodies/dispense-1.6.json > "$work/body.json"
  local before after out
  before=$(awk '{print $14 + $15}' "/proc/$server/stat")
  out=$(TASKS="$work/tasks.txt" BODY="$work/body.json" CONTENT_TYPE="application/fhir+json" TOKEN="$pharmacy" \
    wrk -t2 -c32 -d"${duration}s" -s scripts/dispense.lua "http://127.0.0.1:$port" 2>&1)
  after=$(awk '{print $14 + $15}' "/proc/$server/stat")
  kill $server; wait $server 2>/dev/null || true; server=""
  rm -rf "$data"
  if echo "$out" | grep -qE "Non-2xx|unexpected status"; then echo "$erx: answers other than 204" >&2; exit 1; fi
  local requests rps ticks
  requests=$(echo "$out" | awk '/requests in/ {print $1}')
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  ticks=$(getconf CLK_TCK)
  awk -v r="$rps" -v n="$requests" -v c=$((after - before)) -v t="$ticks" 'BEGIN { printf "%s %.1f\n", r, c * 1e6 / t / n }'
}

echo "erx \$dispense A/B: $rounds interleaved rounds, ${duration}s each, concurrency 32, JSON body"
for round in $(seq "$rounds"); do
  for binary in "$@"; do
    echo "$round $binary $(measure "$binary")" | tee -a "$work/results.txt"
  done
done
echo
echo "binary | median req/s | median server CPU µs per request"
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
for binary in "$@"; do
  rps=$(awk -v b="$binary" '$2 == b { print $3 }' "$work/results.txt" | median)
  cpu=$(awk -v b="$binary" '$2 == b { print $4 }' "$work/results.txt" | median)
  echo "$binary | $rps | $cpu"
done
