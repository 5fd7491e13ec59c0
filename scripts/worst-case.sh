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
source scripts/prepared-server.sh
start_prepared_server "$port" 4
python3 scripts/worst_case.py "http://127.0.0.1:$port" "$pharmacy" "$work/tasks.txt" "$work/body.json" "$seconds"
