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
source scripts/prepared-server.sh
start_prepared_server "$port" 50
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
