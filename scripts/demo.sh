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
# as written), DEMO_PROMETHEUS (auto | 0 to leave Prometheus and Alertmanager out),
# DEMO_MOCK_HOST (loopback address of the mock containers, 127.0.0.1; ports 8001,
# 8002, 8011, 8012).
#
# Only links that answer are printed: Debian's Prometheus 2.42 serves its UI under
# /classic/, and Debian's Alertmanager has no web UI (then its API and an amtool
# command are printed instead).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin}
EXPORTER_ADDR=${EXPORTER_ADDR:-127.0.0.1:9842}
PROMETHEUS_ADDR=${PROMETHEUS_ADDR:-127.0.0.1:9090}
ALERTMANAGER_ADDR=${ALERTMANAGER_ADDR:-127.0.0.1:9093}
DEMO_INTERVAL=${DEMO_INTERVAL:-2s}
DEMO_SPEEDUP=${DEMO_SPEEDUP:-15}
DEMO_PROMETHEUS=${DEMO_PROMETHEUS:-auto}
DEMO_MOCK_HOST=${DEMO_MOCK_HOST:-127.0.0.1}

pids=()
tmp=""
cleanup() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ -n "$tmp" ]; then rm -rf "$tmp"; fi
  if [ ${#pids[@]} -gt 0 ]; then echo "demo stopped"; fi
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

# holder names the process listening on a port, when ss can tell.
holder() { # host:port
  command -v ss >/dev/null 2>&1 || return 0
  ss -ltnpH "sport = :${1##*:}" 2>/dev/null | grep -o 'users:(("[^"]*",pid=[0-9]*' | head -n 1 |
    sed 's/users:(("\([^"]*\)",pid=\([0-9]*\)/ (held by \1, pid \2)/'
}

# answers: does a GET of the URL return 2xx?
answers() { curl -fsS -o /dev/null --max-time 5 "$1" 2>/dev/null; }

# Prometheus and Alertmanager, when installed.
PROMETHEUS=$(command -v prometheus || true)
ALERTMANAGER=$(command -v prometheus-alertmanager || command -v alertmanager || true)
AMTOOL=$(command -v amtool || true)
stack=""
if [ "$DEMO_PROMETHEUS" != 0 ] && [ -n "$PROMETHEUS" ] && [ -n "$ALERTMANAGER" ]; then
  stack=yes
fi

# Every address the demo needs, checked before anything starts.
mocks=("$DEMO_MOCK_HOST:8001" "$DEMO_MOCK_HOST:8002" "$DEMO_MOCK_HOST:8011" "$DEMO_MOCK_HOST:8012")
need=("${mocks[@]}" "$EXPORTER_ADDR")
if [ -n "$stack" ]; then need+=("$PROMETHEUS_ADDR" "$ALERTMANAGER_ADDR"); fi
busy=()
for addr in "${need[@]}"; do
  if ! port_free "$addr"; then busy+=("$addr$(holder "$addr")"); fi
done
if [ ${#busy[@]} -gt 0 ]; then
  echo "cannot start the demo; these addresses are in use:" >&2
  printf '  %s\n' "${busy[@]}" >&2
  echo "A demo already running? Stop it (Ctrl-C in its terminal). Debian starts prometheus and" >&2
  echo "prometheus-alertmanager as services: systemctl stop prometheus prometheus-alertmanager." >&2
  echo "Or choose other addresses: EXPORTER_ADDR, PROMETHEUS_ADDR, ALERTMANAGER_ADDR, DEMO_MOCK_HOST (e.g. 127.0.0.2)." >&2
  exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/antspace-demo.XXXXXX")
# The mocks and the inventory on DEMO_MOCK_HOST.
sed "s/127\.0\.0\.1:80/$DEMO_MOCK_HOST:80/" examples/mock-fleet.yml >"$tmp/mock-fleet.yml"
sed "s/127\.0\.0\.1:80/$DEMO_MOCK_HOST:80/" targets.example.yml >"$tmp/targets.yml"

"$BIN/antspace_mock" --bulk "$tmp/mock-fleet.yml" &
pids+=($!)
# Cooling on/off is enabled for the demo's approval round trip; the example
# config still makes it wait for a second credential (control.approvals).
"$BIN/antspace_exporter" --config.file "$tmp/targets.yml" --web.listen-address "$EXPORTER_ADDR" --control.enable-dangerous-actions &
pids+=($!)

wait_http "http://$DEMO_MOCK_HOST:8001/cooler?operation=coolerState" "mock hk3-001"
wait_http "http://$DEMO_MOCK_HOST:8011/cooler?operation=coolerState" "mock imm-001"
wait_http "http://$EXPORTER_ADDR/-/healthy" "antspace_exporter"

if [ -n "$stack" ]; then
  # The same rendering as the e2e suite: only addresses, paths and intervals change.
  go run ./e2e/render -root . -out "$tmp/config" \
    -exporter "$EXPORTER_ADDR" -alertmanager "$ALERTMANAGER_ADDR" \
    -interval "$DEMO_INTERVAL" -speedup "$DEMO_SPEEDUP" >/dev/null
  "$ALERTMANAGER" --config.file "$tmp/config/alertmanager.yml" --storage.path "$tmp/alertmanager" \
    --web.listen-address "$ALERTMANAGER_ADDR" --cluster.listen-address= >"$tmp/alertmanager.log" 2>&1 &
  pids+=($!)
  wait_http "http://$ALERTMANAGER_ADDR/-/ready" "Alertmanager" "$tmp/alertmanager.log"
  # --web.external-url: the links in alerts (generatorURL) point at this
  # loopback address, not at the host name Prometheus would guess.
  "$PROMETHEUS" --config.file "$tmp/config/prometheus.yml" --storage.tsdb.path "$tmp/prometheus" \
    --web.listen-address "$PROMETHEUS_ADDR" --web.external-url "http://$PROMETHEUS_ADDR/" \
    --web.enable-lifecycle >"$tmp/prometheus.log" 2>&1 &
  pids+=($!)
  wait_http "http://$PROMETHEUS_ADDR/-/ready" "Prometheus" "$tmp/prometheus.log"
fi

# link: print "  label: url" when the URL answers.
link() { # label, url
  if answers "$2"; then printf '  %-24s%s\n' "$1:" "$2"; fi
}

echo
echo "antspace demo is running."
link "Exporter landing page" "http://$EXPORTER_ADDR/"
link "Exporter own metrics" "http://$EXPORTER_ADDR/metrics"
link "HTTP SD (inventory)" "http://$EXPORTER_ADDR/sd"
link "Probe HK3" "http://$EXPORTER_ADDR/probe?target=hk3-001"
link "Probe HK3" "http://$EXPORTER_ADDR/probe?target=hk3-002"
link "Probe Immersion" "http://$EXPORTER_ADDR/probe?target=imm-001"
link "Probe Immersion" "http://$EXPORTER_ADDR/probe?target=imm-002"
link "Why a probe fails" "http://$EXPORTER_ADDR/probe?target=hk3-001&debug=true"
if [ -n "$stack" ]; then
  # The React UI answers /alerts; Debian's 2.42 package has only the classic UI.
  for page in alerts targets; do
    for path in "/$page" "/classic/$page"; do
      if answers "http://$PROMETHEUS_ADDR$path"; then link "Prometheus $page" "http://$PROMETHEUS_ADDR$path"; break; fi
    done
  done
  # Debian's Alertmanager serves a placeholder page instead of its web UI.
  if curl -fsS --max-time 5 "http://$ALERTMANAGER_ADDR/" 2>/dev/null | grep -q 'script.js'; then
    link "Alertmanager" "http://$ALERTMANAGER_ADDR/#/alerts"
  else
    link "Alertmanager API" "http://$ALERTMANAGER_ADDR/api/v2/alerts"
  fi
  if [ -n "$AMTOOL" ]; then
    echo "  Alerts in Alertmanager: amtool --alertmanager.url=http://$ALERTMANAGER_ADDR alert query"
  fi
  cat <<TXT
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
  curl -X POST 'http://$DEMO_MOCK_HOST:8001/mock/fault?name=leakage_fault&on=true'
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
