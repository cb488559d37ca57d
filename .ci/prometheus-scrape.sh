#!/usr/bin/env bash
# .ci/prometheus-scrape.sh HOST:PORT: starts Debian's `prometheus` with a temporary config and
# storage on a free loopback port, scraping HOST:PORT/metrics every second; waits (polling, with a
# deadline) for it to be ready and the target up; queries http_request_duration_seconds_count
# through the HTTP API and prints the result. Exits 1 saying why otherwise. Prometheus is stopped
# and its files removed on exit, whatever happens. Needs prometheus, curl and jq.
set -Eeuo pipefail

die() {
  printf 'error: prometheus-scrape.sh: %s\n' "$*" >&2
  exit 1
}
target=${1:-}
[[ $target =~ ^[^[:space:]/]+:[0-9]+$ ]] || die "usage: $0 HOST:PORT (the API's METRICS_PORT address, e.g. 127.0.0.1:9464)"
for tool in prometheus:prometheus curl:curl jq:jq; do
  command -v "${tool%%:*}" >/dev/null || die "${tool%%:*} is not installed: apt-get install ${tool#*:}"
done
deadline_seconds=${PROMETHEUS_SCRAPE_DEADLINE:-60}

work=$(mktemp -d)
prometheus_pid=""
cleanup() {
  if [[ -n $prometheus_pid ]]; then
    kill "$prometheus_pid" 2>/dev/null || true
    wait "$prometheus_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# A free port: the kernel picks one for a socket that is closed at once.
port=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')
cat >"$work/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: starter-api
    static_configs:
      - targets: ['$target']
EOF
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/data" \
  --web.listen-address="127.0.0.1:$port" --log.level=warn >"$work/prometheus.log" 2>&1 &
prometheus_pid=$!
api=http://127.0.0.1:$port

# Polls `$@` every 0.2 s until it succeeds, or fails with $what once the deadline has passed.
wait_for() { # what, then the command
  local what=$1 until=$((SECONDS + deadline_seconds))
  shift
  until "$@"; do
    kill -0 "$prometheus_pid" 2>/dev/null || { tail -20 "$work/prometheus.log" >&2; die "prometheus exited while waiting for $what (its log is above)"; }
    ((SECONDS < until)) || die "$what (waited ${deadline_seconds} s)$(last_error)"
    sleep 0.2
  done
}
target_up() { [[ $(curl -sf "$api/api/v1/targets" | jq -r '.data.activeTargets[0].health // "unknown"') == up ]]; }
last_error() {
  local error
  error=$(curl -sf "$api/api/v1/targets" | jq -r '.data.activeTargets[0].lastError // empty' 2>/dev/null) || true
  [[ -z $error ]] || echo " (last scrape: $error)"
}
query_count() { curl -sf "$api/api/v1/query" --data-urlencode 'query=http_request_duration_seconds_count'; }
has_series() { [[ $(query_count | jq '.data.result | length') -gt 0 ]]; }

wait_for "prometheus was not ready on 127.0.0.1:$port" curl -sf -o /dev/null "$api/-/ready"
echo "prometheus ready on 127.0.0.1:$port, scraping $target"
wait_for "the target $target was not up: is the API running with METRICS_PORT set, and reachable from here?" target_up
echo "target $target is up"
wait_for "no series http_request_duration_seconds_count: the API has answered no request yet, or its metrics lack the histogram" has_series
query_count | jq -r '.data.result[] | "\(.metric.method) \(.metric.route) \(.metric.status) \(.value[1])"' | sort
