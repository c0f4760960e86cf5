#!/usr/bin/env bash
# Starts the demo: mock HK3 and Immersion containers, the exporter on them and,
# when installed, Prometheus (examples/prometheus.yml, the rule bundle) and
# Alertmanager (examples/alertmanager.yml) set up like the end-to-end suite:
# loopback ports, temporary data directories, short scrape/evaluation
# intervals and rule `for:` durations divided by DEMO_SPEEDUP (see e2e/config.go).
# Prints where to look. Ctrl-C stops everything it started.
#
# Environment: BIN (binaries, default bin), EXPORTER_ADDR (127.0.0.1:9842),
# PROMETHEUS_ADDR (127.0.0.1:9090), ALERTMANAGER_ADDR (127.0.0.1:9093),
# DEMO_INTERVAL (scrape/evaluation interval, 2s), DEMO_SPEEDUP (15; 1 = rule timings
# as written), DEMO_PROMETHEUS (auto | 0 to leave Prometheus and Alertmanager out).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin}
EXPORTER_ADDR=${EXPORTER_ADDR:-127.0.0.1:9842}
PROMETHEUS_ADDR=${PROMETHEUS_ADDR:-127.0.0.1:9090}
ALERTMANAGER_ADDR=${ALERTMANAGER_ADDR:-127.0.0.1:9093}
DEMO_INTERVAL=${DEMO_INTERVAL:-2s}
DEMO_SPEEDUP=${DEMO_SPEEDUP:-15}
DEMO_PROMETHEUS=${DEMO_PROMETHEUS:-auto}

pids=()
tmp=""
cleanup() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ -n "$tmp" ]; then rm -rf "$tmp"; fi
  echo "demo stopped"
}
trap cleanup INT TERM EXIT

wait_http() { # url, what[, log]
  for _ in $(seq 1 300); do
    if curl -fsS -o /dev/null "$1" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "$2 did not come up at $1" >&2
  if [ -n "${3:-}" ] && [ -f "$3" ]; then tail -n 20 "$3" >&2; fi
  return 1
}

port_free() { # host:port
  ! (exec 3<>"/dev/tcp/${1%:*}/${1##*:}") 2>/dev/null
}

for addr in 127.0.0.1:8001 127.0.0.1:8002 127.0.0.1:8011 127.0.0.1:8012 "$EXPORTER_ADDR"; do
  if ! port_free "$addr"; then
    echo "$addr is in use (a demo already running?); stop it or set EXPORTER_ADDR" >&2
    exit 1
  fi
done

"$BIN/antspace_mock" --bulk examples/mock-fleet.yml &
pids+=($!)
# Cooling on/off is enabled for the demo's approval round trip; the example
# config still makes it wait for a second credential (control.approvals).
"$BIN/antspace_exporter" --config.file targets.example.yml --web.listen-address "$EXPORTER_ADDR" --control.enable-dangerous-actions &
pids+=($!)

wait_http "http://127.0.0.1:8001/cooler?operation=coolerState" "mock hk3-001"
wait_http "http://127.0.0.1:8011/cooler?operation=coolerState" "mock imm-001"
wait_http "http://$EXPORTER_ADDR/-/healthy" "antspace_exporter"

# Prometheus and Alertmanager, when installed.
PROMETHEUS=$(command -v prometheus || true)
ALERTMANAGER=$(command -v prometheus-alertmanager || command -v alertmanager || true)
stack=""
if [ "$DEMO_PROMETHEUS" != 0 ] && [ -n "$PROMETHEUS" ] && [ -n "$ALERTMANAGER" ]; then
  for addr in "$PROMETHEUS_ADDR" "$ALERTMANAGER_ADDR"; do
    if ! port_free "$addr"; then
      echo "$addr is in use (Debian starts prometheus/prometheus-alertmanager as services:" >&2
      echo "  systemctl stop prometheus prometheus-alertmanager), or set PROMETHEUS_ADDR/ALERTMANAGER_ADDR" >&2
      exit 1
    fi
  done
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/antspace-demo.XXXXXX")
  # The same rendering as the e2e suite: only addresses, paths and intervals change.
  go run ./e2e/render -root . -out "$tmp/config" \
    -exporter "$EXPORTER_ADDR" -alertmanager "$ALERTMANAGER_ADDR" \
    -interval "$DEMO_INTERVAL" -speedup "$DEMO_SPEEDUP" >/dev/null
  "$ALERTMANAGER" --config.file "$tmp/config/alertmanager.yml" --storage.path "$tmp/alertmanager" \
    --web.listen-address "$ALERTMANAGER_ADDR" --cluster.listen-address= >"$tmp/alertmanager.log" 2>&1 &
  pids+=($!)
  wait_http "http://$ALERTMANAGER_ADDR/-/ready" "Alertmanager" "$tmp/alertmanager.log"
  "$PROMETHEUS" --config.file "$tmp/config/prometheus.yml" --storage.tsdb.path "$tmp/prometheus" \
    --web.listen-address "$PROMETHEUS_ADDR" --web.enable-lifecycle >"$tmp/prometheus.log" 2>&1 &
  pids+=($!)
  wait_http "http://$PROMETHEUS_ADDR/-/ready" "Prometheus" "$tmp/prometheus.log"
  stack=yes
fi

cat <<TXT

antspace demo is running.
  Exporter landing page:  http://$EXPORTER_ADDR/
  Exporter own metrics:   http://$EXPORTER_ADDR/metrics
  HTTP SD (inventory):    http://$EXPORTER_ADDR/sd
  Probe HK3:              http://$EXPORTER_ADDR/probe?target=hk3-001
  Probe HK3:              http://$EXPORTER_ADDR/probe?target=hk3-002
  Probe Immersion:        http://$EXPORTER_ADDR/probe?target=imm-001
  Probe Immersion:        http://$EXPORTER_ADDR/probe?target=imm-002
TXT
if [ -n "$stack" ]; then
  cat <<TXT
  Prometheus alerts:      http://$PROMETHEUS_ADDR/alerts
  Prometheus targets:     http://$PROMETHEUS_ADDR/targets
  Alertmanager:           http://$ALERTMANAGER_ADDR/#/alerts
  (scrape/evaluation every $DEMO_INTERVAL; rule for/keep_firing_for divided by $DEMO_SPEEDUP,
   so AntspaceLeakage fires about $((60 / DEMO_SPEEDUP))s after the fault; logs and data in $tmp)
TXT
else
  cat <<TXT
  (Prometheus and Alertmanager not started: install them with
   apt-get install --no-install-recommends prometheus prometheus-alertmanager)
TXT
fi
cat <<TXT

Inject a fault (mock admin API), then probe again:
  curl -X POST 'http://127.0.0.1:8001/mock/fault?name=leakage_fault&on=true'
  curl -s 'http://$EXPORTER_ADDR/probe?target=hk3-001' | grep leakage
Clear it through the exporter's authenticated /control (demo token from targets.example.yml):
  curl -X POST -H 'Authorization: Bearer demo-operator-token' 'http://$EXPORTER_ADDR/control/reset?target=hk3-001'
Change a setpoint the same way:
  curl -X POST -H 'Authorization: Bearer demo-operator-token' 'http://$EXPORTER_ADDR/control/setpoint?target=imm-001&celsius=42'

Ctrl-C stops everything.
TXT
# --- approval round trip (docs/control.md#approvals) ---
# cooling needs two credentials in targets.example.yml: demo-operator asks,
# demo-approver (scoped to site=demo) approves, then it runs. state=on is
# harmless: the mock's cooling is already on.
approval_demo() {
  local base="http://$EXPORTER_ADDR/control" ans code id
  ans=$(curl -sS -w '\n%{http_code}' -X POST -H 'Authorization: Bearer demo-operator-token' "$base/cooling?target=imm-001&state=on")
  code=${ans##*$'\n'}
  id=$(printf '%s' "$ans" | sed -n 's/.*"approval_id": "\([0-9a-f]*\)".*/\1/p')
  echo "Approval round trip (cooling needs 2 credentials):"
  echo "  demo-operator  POST $base/cooling?target=imm-001&state=on  -> $code (waiting), approval_id=$id"
  if [ "$code" != 202 ] || [ -z "$id" ]; then echo "  unexpected answer: ${ans%$'\n'*}" >&2; return 0; fi
  echo "  open requests: curl -H 'Authorization: Bearer demo-approver-token' $base/pending"
  ans=$(curl -sS -w '\n%{http_code}' -X POST -H 'Authorization: Bearer demo-approver-token' "$base/approve?id=$id")
  echo "  demo-approver  POST $base/approve?id=$id  -> ${ans##*$'\n'} (executed, $(printf '%s' "$ans" | grep -m1 -o '"verified": [a-z]*'))"
}
approval_demo
# --- end approval round trip ---
wait -n "${pids[@]}"
