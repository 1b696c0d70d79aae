#!/usr/bin/env bash
# bench/agent: the built agent's CPU and peak RSS while N UDP flows stay
# active (default 50,000), for SECS seconds, in a network namespace pair.
# No VPC view by default (no instance metadata): every flow is UNCLASSIFIED,
# so classification's cost is not in these figures (see BenchmarkWindow50k).
# VPC=1: the agent reads a VPC view from moto_server (two AZs, a NAT gateway,
# an S3 gateway endpoint; agent/internal/testbed/cmd/benchvpc) and an
# ip-ranges.json of the real one's size, the sender sits in the node's
# subnet, and the N flows go round three prefixes: the other AZ's subnet,
# CloudFront and the internet (both through the NAT gateway), so that every
# flow is classified and the remotes number about 33,000 (VPC_TO sets other
# prefixes or addresses, such as 10.203.2.10,52.84.0.10,185.166.0.10: three
# remotes, as many ports each).
# AGENT_FLAGS adds flags to the agent's (such as -names=true).
# SERVICES=1: the N flows go from N sockets to a ClusterIP that the second
# namespace DNATs as kube-proxy does; the agent follows that namespace's
# conntrack table and translates each flow to the backend.
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
svc_flags=() spray_flags=(-to "$ADDR_B") vpc_flags=()
if [ -n "${VPC:-}" ]; then
	go build -o "$BENCH_TMP/benchvpc" ./agent/internal/testbed/cmd/benchvpc
	"$BENCH_TMP/benchvpc" -net 203 -ranges "$BENCH_TMP/ip-ranges.json" >"$BENCH_TMP/vpc.out" 2>"$BENCH_TMP/vpc.log" &
	BENCH_PIDS+=($!)
	for _ in $(seq 300); do
		[ -s "$BENCH_TMP/vpc.out" ] && break
		sleep 0.1
	done
	[ -s "$BENCH_TMP/vpc.out" ] || die "no VPC view from moto_server: $(tail -3 "$BENCH_TMP/vpc.log")"
	read -ra vpc_flags <"$BENCH_TMP/vpc.out"
	# The sender is a pod in the node's subnet (10.203.1.0/24, AZ 1).
	ip -n "$NS_A" addr add 10.203.1.10/24 dev "$IF_A"
	ip -n "$NS_A" route add default via "$ADDR_B" src 10.203.1.10
	spray_flags=(-to "${VPC_TO:-10.203.2.0/24,52.84.0.0/16,185.166.0.0/16}")
	export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
fi
if [ -n "${SERVICES:-}" ]; then
	need iptables
	ip -n "$NS_A" route add 10.96.0.0/16 via "$ADDR_B" dev "$IF_A"
	ip netns exec "$NS_B" iptables -t nat -A PREROUTING -d 10.96.0.10 -p udp --dport 53 -j DNAT --to-destination "$ADDR_B:5353"
	ip netns exec "$NS_A" sysctl -qw net.ipv4.ip_local_port_range="10000 65000" # 50,000 sockets to one address
	ip netns exec "$NS_B" "$BENCH_TMP/spray" -listen "$ADDR_B:5353" &
	BENCH_PIDS+=($!)
	svc_flags=(-service-cidr 10.96.0.0/16 -conntrack-netns "/var/run/netns/$NS_B")
	spray_flags=(-to 10.96.0.10 -port 53)
fi
GODEBUG=${AGENT_GODEBUG:-} "$BENCH_TMP/agent" -node bench -window "${WINDOW:-60s}" -drain-interval "${DRAIN:-5s}" -dir "$BENCH_TMP/flows" -top-k 50 \
	-imds-endpoint http://127.0.0.1:1 -startup-attempts 1 -ip-ranges-url "" -log-level info -metrics-addr 127.0.0.1:0 "${svc_flags[@]}" "${vpc_flags[@]}" ${AGENT_FLAGS:-} 2>"$BENCH_TMP/agent.log" &
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
# A socket per flow with -port: 15,000 per spray process, within the
# open-file limit.
per=$flows
[ -n "${SERVICES:-}" ] && per=15000
# With SERVICES, the steady state is measured from WARMUP seconds (default
# 10) after the sprays start: the burst of new connections before (one
# conntrack event each) is measured on its own.
warm=0
[ -n "${SERVICES:-}" ] && warm=${WARMUP:-10}
b0=$(cpu)
bt0=$(date +%s.%N)
sprays=()
for ((left = flows; left > 0; left -= per)); do
	ip netns exec "$NS_A" "$BENCH_TMP/spray" "${spray_flags[@]}" -flows "$((left < per ? left : per))" -duration "$((secs + warm))s" &
	sprays+=($!)
done
sleep "$warm"
c0=$(cpu)
s0=$(sys)
t0=$(date +%s.%N)
wait "${sprays[@]}"
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
python3 - "$c0" "$c1" "$s0" "$s1" "$t0" "$t1" "$ticks" "$hwm" "$rss" "$flows" "$records" "$b0" "$bt0" <<'PY'
import sys
c0, c1, s0, s1, t0, t1, ticks, hwm, rss, flows, records, b0, bt0 = map(float, sys.argv[1:])
cpu = lambda a, b: 100 * (b - a) / ticks / (t1 - t0)
if t0 - bt0 > 1:
    print(f"agent in the first {t0 - bt0:.0f} s, the {int(flows)} connections' start: {(c0 - b0) / ticks:.2f} s of CPU, "
          f"{100 * (c0 - b0) / ticks / (t0 - bt0):.2f}% of a core")
print(f"agent at {int(flows)} active flows for {t1 - t0:.0f} s: CPU {cpu(c0, c1):.2f}% of a core ({cpu(s0, s1):.2f}% in the kernel), "
      f"peak RSS {hwm / 1024:.1f} MiB (now {rss / 1024:.1f} MiB), {int(records)} records written")
PY
if [ -n "${VPC:-}" ]; then
	cat "$BENCH_TMP"/flows/*.jsonl | python3 -c '
import collections, json, sys
c = collections.Counter()
for line in sys.stdin:
    r = json.loads(line)
    if r.get("local_ip") == "10.203.1.10":
        c[r["category"]] += 1
print("the sender\x27s records by category:", ", ".join(f"{k} {v}" for k, v in sorted(c.items())))'
fi
if [ -n "${SERVICES:-}" ]; then
	cat "$BENCH_TMP"/flows/*.jsonl | python3 -c '
import json, sys
b = {"translated to the backend": 0, "left on the ClusterIP": 0}
for line in sys.stdin:
    r = json.loads(line)
    if r["remote_ip"].startswith("10.96."):
        b["left on the ClusterIP"] += r["bytes"]
    elif r["remote_ip"] == sys.argv[1] and r.get("local_ip") != sys.argv[1]:
        b["translated to the backend"] += r["bytes"]
print("Service bytes:", ", ".join(f"{k} {v}" for k, v in b.items()))' "$ADDR_B"
	grep -o '"msg":"conntrack[^}]*' "$BENCH_TMP/agent.log" || true
fi
