#!/usr/bin/env bash
# bench/metrics: what serving /metrics costs the built agent (idle node, no
# VPC view). Runs it ROUNDS times each way for SECS seconds: without a
# metrics server (-metrics-addr ""), and with one scraped every SCRAPE
# seconds in OpenMetrics (default 1 s: thirty times Prometheus's usual
# 30 s, so the cost shows). Prints RSS, peak RSS and CPU per run. Root.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${SECS:-30}
rounds=${ROUNDS:-2}
scrape=${SCRAPE:-1}
tmp=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
CGO_ENABLED=0 go build -o "$tmp/agent" ./agent
ticks=$(getconf CLK_TCK)
one() { # $1: metrics address ("" for none)
	rm -rf "$tmp/flows"
	"$tmp/agent" -node bench -window 10s -drain-interval 5s -dir "$tmp/flows" -imds-endpoint http://127.0.0.1:1 \
		-startup-attempts 1 -ip-ranges-url "" -kubeconfig "" -metrics-addr "$1" 2>"$tmp/log" &
	pid=$!
	local addr=""
	for _ in $(seq 100); do
		addr=$(grep -o '"msg":"serving /metrics[^}]*"addr":"[^"]*"' "$tmp/log" | sed 's/.*"addr":"//; s/"$//' || true)
		grep -q '"msg":"counting"' "$tmp/log" && break
		sleep 0.1
	done
	local c0 c1
	c0=$(awk '{print $14 + $15}' "/proc/$pid/stat")
	local end=$((SECONDS + secs))
	while [ $SECONDS -lt $end ]; do
		[ -n "$addr" ] && curl -fsS -H 'Accept: application/openmetrics-text;version=1.0.0' "http://$addr/metrics" >/dev/null
		sleep "$scrape"
	done
	c1=$(awk '{print $14 + $15}' "/proc/$pid/stat")
	printf 'metrics-addr=%-14s RSS %6.1f MiB  peak %6.1f MiB  CPU %.2f%% of a core\n' "${1:-none}" \
		"$(awk '/VmRSS/ {print $2 / 1024}' "/proc/$pid/status")" "$(awk '/VmHWM/ {print $2 / 1024}' "/proc/$pid/status")" \
		"$(python3 -c "print(100 * ($c1 - $c0) / $ticks / $secs)")"
	kill -TERM "$pid"
	wait "$pid" || true
	pid=
}
for _ in $(seq "$rounds"); do
	one ""
	one 127.0.0.1:0
done
