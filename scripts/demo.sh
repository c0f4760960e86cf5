#!/usr/bin/env bash
# Starts the demo: mock HK3 and Immersion containers, the exporter on them,
# and prints where to look. Ctrl-C stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin}
EXPORTER_ADDR=${EXPORTER_ADDR:-127.0.0.1:9842}

pids=()
cleanup() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "demo stopped"
}
trap cleanup INT TERM EXIT

wait_http() { # url, what
  for _ in $(seq 1 100); do
    if curl -fsS -o /dev/null "$1" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "$2 did not come up at $1" >&2
  return 1
}

"$BIN/antspace_mock" --bulk examples/mock-fleet.yml &
pids+=($!)
"$BIN/antspace_exporter" --config.file targets.example.yml --web.listen-address "$EXPORTER_ADDR" &
pids+=($!)

wait_http "http://127.0.0.1:8001/cooler?operation=coolerState" "mock hk3-001"
wait_http "http://127.0.0.1:8011/cooler?operation=coolerState" "mock imm-001"
wait_http "http://$EXPORTER_ADDR/-/healthy" "antspace_exporter"

cat <<TXT

antspace demo is running.
  Exporter landing page:  http://$EXPORTER_ADDR/
  Exporter own metrics:   http://$EXPORTER_ADDR/metrics
  HTTP SD (inventory):    http://$EXPORTER_ADDR/sd
  Probe HK3:              http://$EXPORTER_ADDR/probe?target=hk3-001
  Probe HK3:              http://$EXPORTER_ADDR/probe?target=hk3-002
  Probe Immersion:        http://$EXPORTER_ADDR/probe?target=imm-001
  Probe Immersion:        http://$EXPORTER_ADDR/probe?target=imm-002

Inject a fault (mock admin API), then probe again:
  curl -X POST 'http://127.0.0.1:8001/mock/fault?name=leakage_fault&on=true'
  curl -s 'http://$EXPORTER_ADDR/probe?target=hk3-001' | grep leakage
Clear it:
  curl -X POST 'http://127.0.0.1:8001/mock/fault?name=leakage_fault&on=false'

Ctrl-C stops everything.
TXT
wait -n "${pids[@]}"
