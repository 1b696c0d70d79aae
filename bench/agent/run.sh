#!/usr/bin/env bash
# bench/agent: the built agent's CPU and peak RSS while N UDP flows stay
# active (default 50,000), for SECS seconds, in a network namespace pair.
# No VPC view here (no instance metadata): every flow is UNCLASSIFIED, so
# classification's cost is not in these figures (see BenchmarkWindow50k).
set -euo pipefail
cd "$(dirname "$0")/../.."
flows=${FLOWS:-50000}
secs=${SECS:-40}
. bench/overhead/netns.sh
need ip ethtool python3 go
trap bench_cleanup EXIT
BENCH_TMP=$(mktemp -d)
go build -o "$BENCH_TMP/agent" ./agent
go build -o "$BENCH_TMP/spray" ./bench/agent
netns_setup
GODEBUG=${AGENT_GODEBUG:-} "$BENCH_TMP/agent" -node bench -window "${WINDOW:-60s}" -drain-interval "${DRAIN:-5s}" -dir "$BENCH_TMP/flows" -top-k 50 \
	-imds-endpoint http://127.0.0.1:1 -startup-attempts 1 -ip-ranges-url "" -log-level info 2>"$BENCH_TMP/agent.log" &
agent=$!
BENCH_PIDS+=("$agent")
# Measure from the first drain on: loading the programs (about 0.4 s of
# kernel time) is start-up, not the steady state.
for _ in $(seq 300); do
	grep -q '"msg":"counting"\|msg=counting' "$BENCH_TMP/agent.log" && break
	sleep 0.1
done
grep -q '"msg":"counting"\|msg=counting' "$BENCH_TMP/agent.log" || die "the agent did not start: $(tail -3 "$BENCH_TMP/agent.log")"
sleep "${DRAIN_SECS:-5}"
ticks=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$agent/stat"; }
sys() { awk '{print $15}' "/proc/$agent/stat"; }
c0=$(cpu)
s0=$(sys)
t0=$(date +%s.%N)
ip netns exec "$NS_A" "$BENCH_TMP/spray" -to "$ADDR_B" -flows "$flows" -duration "${secs}s"
c1=$(cpu)
s1=$(sys)
t1=$(date +%s.%N)
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$agent/status")
rss=$(awk '/VmRSS/ {print $2}' "/proc/$agent/status")
kill -TERM "$agent"
wait "$agent" || true
records=$(cat "$BENCH_TMP"/flows/*.jsonl | wc -l)
[ -n "${KEEP_LOG:-}" ] && cp "$BENCH_TMP/agent.log" "$KEEP_LOG"
[ -n "${KEEP_RECORDS:-}" ] && cat "$BENCH_TMP"/flows/*.jsonl >"$KEEP_RECORDS"
python3 - "$c0" "$c1" "$s0" "$s1" "$t0" "$t1" "$ticks" "$hwm" "$rss" "$flows" "$records" <<'PY'
import sys
c0, c1, s0, s1, t0, t1, ticks, hwm, rss, flows, records = map(float, sys.argv[1:])
cpu = lambda a, b: 100 * (b - a) / ticks / (t1 - t0)
print(f"agent at {int(flows)} active flows for {t1 - t0:.0f} s: CPU {cpu(c0, c1):.2f}% of a core ({cpu(s0, s1):.2f}% in the kernel), "
      f"peak RSS {hwm / 1024:.1f} MiB (now {rss / 1024:.1f} MiB), {int(records)} records written")
PY
