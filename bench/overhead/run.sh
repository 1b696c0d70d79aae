#!/usr/bin/env bash
# bench/overhead: what the flow counters cost a bulk TCP stream. iperf3
# between two network namespaces joined by a veth pair, SECS-second runs
# (default 5), PAIRS pairs (default 5) of one run without the programs and
# one with flowcount attached (bench/flowcount, the agent's data path), in
# alternating order. Prints each run, the median throughput of each side,
# their ratio (budget >= 0.97), flowcount's CPU, and from one more run with
# kernel.bpf_stats_enabled=1 the ns per program run and what it counted
# against the veth's own counters. The sysctl is restored afterwards.
# NAMES=1 runs flowcount with name capture on (-names).
# Usage: [PAIRS=5] [SECS=5] [NAMES=1] bench/overhead/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
pairs=${PAIRS:-5}
secs=${SECS:-5}
[[ $pairs =~ ^[1-9][0-9]*$ && $secs =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: PAIRS and SECS must be positive integers" >&2; exit 2; }

# shellcheck source=netns.sh
. bench/overhead/netns.sh
need ip ethtool iperf3 python3 go sysctl
bench_traps
BENCH_TMP=$(mktemp -d /tmp/netcost-overhead.XXXXXX)
BENCH_RESTORE_STATS=$(sysctl -n kernel.bpf_stats_enabled)
FLOWCOUNT=$BENCH_TMP/flowcount
go build -o "$FLOWCOUNT" ./bench/flowcount

netns_setup
cgroup_setup client server
echo "machine: $(nproc) CPUs ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), $(uname -r), $(go version | cut -d' ' -f3)"
echo "veth $NS_A/$IF_A -> $NS_B/$IF_B, tso off gso on gro on; $pairs pairs of ${secs}s iperf3 TCP runs"

(in_cgroup "$CG_BASE/server" "$NS_B" iperf3 -s -B "$ADDR_B") >"$BENCH_TMP/iperf3-server.log" 2>&1 &
start_bg $!
for ((i = 0; i < 100; i++)); do
	ip netns exec "$NS_B" ss -Hltn "sport = :5201" | grep -q . && break
	sleep 0.1
done
((i < 100)) || { cat "$BENCH_TMP/iperf3-server.log" >&2; die "iperf3 server did not start"; }

# iperf_run OUT runs the client in its cgroup and prints Gbit/s received.
iperf_run() {
	local out=$1
	sleep 1 # the server is ready for the next test, the veth quiet
	(in_cgroup "$CG_BASE/client" "$NS_A" iperf3 -c "$ADDR_B" -t "$secs" -J) >"$out" 2>&1 ||
		{ cat "$out" >&2; die "iperf3 client failed"; }
	python3 -c 'import json, sys; print("%.3f" % (json.load(open(sys.argv[1]))["end"]["sum_received"]["bits_per_second"] / 1e9))' "$out"
}

# cpu_pct REPORT prints flowcount's CPU (user+system) as % of one core
# over its wall time, from its start and since it attached.
cpu_pct() {
	python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))
pct = lambda c: 100 * (c["user_seconds"] + c["system_seconds"]) / c["wall_seconds"]
print("%.3f %.3f" % (pct(r["cpu"]), pct(r["since_attach"])))' "$1"
}

others=$(bpf_others 0)
[ "$others" = 0 ] || echo "warning: $others count_* BPF programs of someone else are loaded (another agent or test): they add to both sides"
without=() with=() cpus=() cpus_att=()
other_note() { [ "$1" = 0 ] || echo "   ($1 other count_* programs loaded)"; }
for ((p = 1; p <= pairs; p++)); do
	order="without with"
	((p % 2 == 0)) && order="with without"
	for side in $order; do
		out=$BENCH_TMP/iperf-$p-$side.json
		if [ "$side" = with ]; then
			agent_start "$BENCH_TMP/flowcount-$p.json" "$BENCH_TMP/flowcount-$p.log"
			o=$(bpf_others 2)
			g=$(iperf_run "$out")
			agent_stop "$BENCH_TMP/flowcount-$p.log"
			with+=("$g")
			read -r cpu cpu_att <<<"$(cpu_pct "$BENCH_TMP/flowcount-$p.json")"
			cpus+=("$cpu") cpus_att+=("$cpu_att")
			printf 'pair %d  with     %8s Gbit/s   flowcount CPU %s%% of a core (%s%% since attached)%s\n' "$p" "$g" "$cpu" "$cpu_att" "$(other_note "$o")"
		else
			o=$(bpf_others 0)
			g=$(iperf_run "$out")
			without+=("$g")
			printf 'pair %d  without  %8s Gbit/s%s\n' "$p" "$g" "$(other_note "$o")"
		fi
	done
done

# One more run with the kernel's program statistics on (they add two clock
# reads a run, so this run is not among the pairs), and with the veth's
# counters read around it.
wait_quiet
agent_start "$BENCH_TMP/flowcount-stats.json" "$BENCH_TMP/flowcount-stats.log" -bpf-stats
[ "$(sysctl -n kernel.bpf_stats_enabled)" = 1 ] || die "flowcount -bpf-stats did not enable kernel.bpf_stats_enabled"
before=$(link_stats "$NS_A" "$IF_A")
g=$(iperf_run "$BENCH_TMP/iperf-stats.json")
sleep 0.2 # the last ACKs
after=$(link_stats "$NS_A" "$IF_A")
agent_stop "$BENCH_TMP/flowcount-stats.log"
[ "$(sysctl -n kernel.bpf_stats_enabled)" = "$BENCH_RESTORE_STATS" ] ||
	die "kernel.bpf_stats_enabled is $(sysctl -n kernel.bpf_stats_enabled) after flowcount; it was $BENCH_RESTORE_STATS"
echo "stats   with     $(printf '%8s' "$g") Gbit/s   (kernel.bpf_stats_enabled=1, not in the medians)"

python3 - "$BENCH_TMP/flowcount-stats.json" "$(cgroup_id "$CG_BASE/client")" "$before" "$after" "${without[*]}" "${with[*]}" "${cpus[*]}" "$NS_A/$IF_A" "${cpus_att[*]}" <<'EOF'
import json, statistics, sys
report, cg, before, after = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3].split(), sys.argv[4].split()
without, with_, cpus = ([float(x) for x in a.split()] for a in sys.argv[5:8])
mw, mx = statistics.median(without), statistics.median(with_)
print()
print("median without  %.3f Gbit/s  (min %.3f, max %.3f)" % (mw, min(without), max(without)))
print("median with     %.3f Gbit/s  (min %.3f, max %.3f)" % (mx, min(with_), max(with_)))
print("ratio with/without %.4f  (budget >= 0.97); per pair: %s" % (
    mx / mw, " ".join("%.3f" % (b / a) for a, b in zip(without, with_))))
print("flowcount CPU, median of the runs with: %.3f%% of a core from its start, %.3f%% since attached" % (
    statistics.median(cpus), statistics.median(float(x) for x in sys.argv[9].split())))
s = report["bpf_stats"]
print("programs: %d runs, %.1f ns per run (egress and ingress together)" % (s["runs"], s["ns_per_run"]))
d = [int(a) - int(b) for a, b in zip(after, before)]
wire = d[0] + d[2]
c = report["cgroups"].get(cg, {"egress": {"bytes": 0, "packets": 0}, "ingress": {"bytes": 0, "packets": 0}})
counted = c["egress"]["bytes"] + c["ingress"]["bytes"]
lost = report["lost"]["egress"]["bytes"] + report["lost"]["ingress"]["bytes"]
print("sanity: iperf3 client cgroup %s counted %d bytes (egress %d, ingress %d); veth %s tx+rx %d bytes; "
      "counted/wire %.6f; lost %d" % (cg, counted, c["egress"]["bytes"], c["ingress"]["bytes"],
      sys.argv[8], wire, counted / wire if wire else float("nan"), lost))
if d[4]:
    print("        the veth dropped %d packets (its ring was full): the sender counted them, the wire did not carry them; "
          "counted - wire = %d bytes, %.1f a dropped packet" % (d[4], counted - wire, (counted - wire) / d[4]))
EOF
