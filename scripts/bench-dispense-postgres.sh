#!/usr/bin/env bash
# $dispense on each store in one run (issue 21, item 7): SQLite, PostgreSQL with one instance, and
# PostgreSQL with two instances sharing one database behind round-robin (wrk's two threads take one
# instance each), with the trivial route (/health/live) of the first server as the baseline. JSON
# bodies, concurrency 32, no registry (the outbox fills). Starts a throwaway PostgreSQL with
# scripts/postgres-cluster.sh unless ERX_TEST_POSTGRES_URL is set (its password in
# ERX_TEST_POSTGRES_PASSWORD); each PostgreSQL run gets a fresh database.
# Needs wrk and a release build: swift build -c release --product erx
# Usage: scripts/bench-dispense-postgres.sh [DURATION_SECONDS] [TASKS]
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-20}
task_count=${2:-300}
port=${PORT:-18281}
erx=${ERX:-.build/release/erx}
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"' EXIT

if [ -z "${ERX_TEST_POSTGRES_URL:-}" ]; then
  cluster=$(scripts/postgres-cluster.sh start)
  while IFS= read -r line; do export "$line"; done <<<"$cluster"
fi
export ERX_DATABASE_PASSWORD=$ERX_TEST_POSTGRES_PASSWORD
base_url=${ERX_TEST_POSTGRES_URL%/*}
psql_admin() { PGPASSWORD=$ERX_TEST_POSTGRES_PASSWORD psql "$ERX_TEST_POSTGRES_URL" -qAtc "$1"; }

wait_live() { for _ in $(seq 100); do curl -sf "http://127.0.0.1:$1/health/live" >/dev/null && return; sleep 0.2; done; echo "no server on $1" >&2; exit 1; }
start() { # data-dir port [database-url]
  local args=(serve --data "$1" --port "$2" --accept-unsigned)
  [ -n "${3:-}" ] && args+=(--database "$3")
  $erx "${args[@]}" >"$work/server-$2.log" 2>&1 &
  pids+=($!)
  wait_live "$2"
}
stop_all() { kill "${pids[@]}" 2>/dev/null || true; wait "${pids[@]}" 2>/dev/null || true; pids=(); }

pharmacy_id=3-SMC-B-Testkarte-883110000095957
sed -e "s/{{telematikID}}/$pharmacy_id/g" fixtures/scenarios/bodies/dispense-1.6.json > "$work/body.json"

run() { # name addrs url
  local name=$1 addrs=$2 url=$3 out
  out=$(ADDRS="$addrs" TASKS="$work/tasks.txt" BODY="$work/body.json" CONTENT_TYPE="application/fhir+json" TOKEN="$pharmacy" \
    wrk -t2 -c32 -d"${duration}s" --latency -s scripts/dispense.lua "$url" 2>&1)
  report "$name" "$out"
}
report() {
  local rps p50 p99 errors
  rps=$(echo "$2" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$2" | awk '$1=="50%" {print $2}')
  p99=$(echo "$2" | awk '$1=="99%" {print $2}')
  errors=$(echo "$2" | grep -E "Non-2xx|unexpected status|Socket errors" | tr '\n' ' ' || true)
  printf '%-26s %10s req/s   p50 %8s   p99 %8s   %s\n' "$1" "$rps" "$p50" "$p99" "$errors"
  echo "$rps" > "$work/$1.rps"
}
prepare() { # port data-dir
  local doctor
  doctor=$($erx token --data "$2" --profession-oid 1.2.276.0.76.4.50 --telematik-id 1-HBA-Testkarte-883110000129068)
  pharmacy=$($erx token --data "$2" --profession-oid 1.2.276.0.76.4.54 --telematik-id $pharmacy_id)
  python3 scripts/prepare_tasks.py "http://127.0.0.1:$1" "$doctor" "$pharmacy" "$task_count" > "$work/tasks.txt"
}
fresh_database() { # name -> url
  psql_admin "DROP DATABASE IF EXISTS $1" >/dev/null; psql_admin "CREATE DATABASE $1" >/dev/null
  echo "$base_url/$1"
}

echo "erx \$dispense per store: concurrency 32, ${duration}s per run, $task_count pre-accepted tasks, JSON, no registry"
start "$work/sqlite" "$port"
out=$(wrk -t2 -c32 -d"${duration}s" --latency "http://127.0.0.1:$port/health/live" 2>&1); report baseline-health-live "$out"
prepare "$port" "$work/sqlite"
run sqlite "" "http://127.0.0.1:$port"
stop_all

url=$(fresh_database erx_bench_one)
start "$work/pg-one" "$port" "$url"
prepare "$port" "$work/pg-one"
run postgres-1-instance "" "http://127.0.0.1:$port"
stop_all

url=$(fresh_database erx_bench_two)
start "$work/pg-two" "$port" "$url"
start "$work/pg-two" $((port + 1)) "$url"
prepare "$port" "$work/pg-two"
run postgres-2-instances "127.0.0.1:$port,127.0.0.1:$((port + 1))" "http://127.0.0.1:$port"
stop_all
psql_admin "DROP DATABASE erx_bench_one" >/dev/null; psql_admin "DROP DATABASE erx_bench_two" >/dev/null

base=$(cat "$work/baseline-health-live.rps")
for name in sqlite postgres-1-instance postgres-2-instances; do
  awk -v a="$(cat "$work/$name.rps")" -v b="$base" -v s="$(cat "$work/sqlite.rps")" -v n="$name" \
    'BEGIN { printf "%-22s / baseline = %5.1f %%   / sqlite = %5.1f %%\n", n, 100 * a / b, 100 * a / s }'
done
