# Sourced by scripts/worst-case.sh and scripts/soak.sh: starts `$erx serve` on a fresh data
# directory in $work at port $1, brings $2 tasks to in-progress (scripts/prepare_tasks.py), and
# leaves $server (the pid), $pharmacy (a pharmacy token), $work/tasks.txt and $work/body.json
# (the one-dispensation 1.6 body with {{id}} and {{kvnr}} placeholders).
start_prepared_server() {
  local port=$1 count=$2
  $erx serve --data "$work/data" --port "$port" --accept-unsigned > "$work/server.log" 2>&1 &
  server=$!
  for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/health/live" >/dev/null && break; sleep 0.2; done
  local pharmacy_id=3-SMC-B-Testkarte-883110000095957 doctor
  doctor=$($erx token --data "$work/data" --profession-oid 1.2.276.0.76.4.50 --telematik-id 1-HBA-Testkarte-883110000129068)
  pharmacy=$($erx token --data "$work/data" --profession-oid 1.2.276.0.76.4.54 --telematik-id $pharmacy_id)
  python3 scripts/prepare_tasks.py "http://127.0.0.1:$port" "$doctor" "$pharmacy" "$count" > "$work/tasks.txt"
  sed -e "s/{{telematikID}}/$pharmacy_id/g" fixtures/scenarios/bodies/dispense-1.6.json > "$work/body.json"
}
