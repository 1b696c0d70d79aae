#!/usr/bin/env bash
# bench/names: what passive naming costs. bench/names makes DNS lookups
# (DNS=5000 a second, each answered with a CNAME and an A record) and TLS
# connections (TLS=1000 a second, each sending a real ClientHello) from a
# client namespace and cgroup to a server across a veth pair, for SECS
# seconds (default 20), RUNS times (default 3) with flowcount attached
# without name capture and with it (-names: the kernel copies the packets
# into the ring buffer and flowcount reads every event, as the agent's
# reader does before it parses), interleaved. It reports flowcount's CPU
# since attached (user + kernel) on each side, the difference (budget <=
# 0.5% of a core), the events read against the lookups and hellos made,
# and the events the ring had no room for (budget: none). One more pair
# with kernel.bpf_stats_enabled=1 gives the ns per program run without and
# with capture (the sysctl is restored afterwards).
# Usage: [RUNS=3] [SECS=20] [DNS=5000] [TLS=1000] bench/names/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${RUNS:-3}
secs=${SECS:-20}
dns=${DNS:-5000}
tls=${TLS:-1000}
for v in "$runs" "$secs" "$dns" "$tls"; do
	[[ $v =~ ^[0-9]+$ ]] || { echo "run.sh: RUNS, SECS, DNS and TLS must be whole numbers" >&2; exit 2; }
done
((runs > 0 && secs > 0)) || { echo "run.sh: RUNS and SECS must be positive" >&2; exit 2; }

# shellcheck source=../overhead/netns.sh
. bench/overhead/netns.sh
need ip ethtool python3 go sysctl
bench_traps
BENCH_TMP=$(mktemp -d /tmp/netcost-names.XXXXXX)
BENCH_RESTORE_STATS=$(sysctl -n kernel.bpf_stats_enabled)
FLOWCOUNT=$BENCH_TMP/flowcount
NAMESGEN=$BENCH_TMP/names
go build -o "$FLOWCOUNT" ./bench/flowcount
go build -o "$NAMESGEN" ./bench/names
unset NAMES # agent_start's switch: this script passes -names itself

netns_setup
cgroup_setup client server
echo "machine: $(nproc) CPUs ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), $(uname -r), $(go version | cut -d' ' -f3)"
echo "veth $NS_A/$IF_A -> $NS_B/$IF_B; $runs pairs of ${secs}s: $dns DNS lookups/s and $tls TLS connections/s"

(in_cgroup "$CG_BASE/server" "$NS_B" "$NAMESGEN" server "$ADDR_B") >"$BENCH_TMP/server.out" 2>"$BENCH_TMP/server.log" &
start_bg $!
wait_ready "$BENCH_TMP/server.out" "$BENCH_TMP/server.log" "names server"

# run_side NAME [FLOWCOUNT-ARGS...] runs the client with flowcount attached.
run_side() {
	local n=$BENCH_TMP/$1
	shift
	agent_start "$n.flowcount.json" "$n.flowcount.log" "$@"
	(in_cgroup "$CG_BASE/client" "$NS_A" "$NAMESGEN" client "$ADDR_B" -dns "$dns" -tls "$tls" -duration "${secs}s") \
		>"$n.client.json" 2>"$n.client.log" || { cat "$n.client.log" >&2; die "names client failed"; }
	agent_stop "$n.flowcount.log"
}

report() { # NAME: one line for a run
	python3 - "$BENCH_TMP/$1" "$1" <<'PY'
import json, sys
n, name = sys.argv[1], sys.argv[2]
f, c = json.load(open(n + ".flowcount.json")), json.load(open(n + ".client.json"))
s = f["since_attach"]
cpu = 100 * (s["user_seconds"] + s["system_seconds"]) / s["wall_seconds"]
line = (f"{name:16s} flowcount CPU {cpu:6.3f}% of a core since attached; client: {c['dns_per_second']:.0f} DNS/s, "
        f"{c['tls_per_second']:.0f} TLS/s, {c['errors']} errors")
if "names" in f:
    m = f["names"]
    line += (f"; read {m['dns_queries']} queries, {m['dns_answers']} answers, {m['tls_hellos']} hellos "
             f"(made {c['dns_queries']}, {c['dns_answers']}, {c['tls_hellos']}), lost {m['lost']}")
if "bpf_stats" in f:
    line += f"; {f['bpf_stats']['ns_per_run']:.0f} ns per program run"
print(line)
PY
}

names=()
for ((r = 1; r <= runs; r++)); do
	order="off on"
	((r % 2 == 0)) && order="on off"
	for side in $order; do
		if [ "$side" = on ]; then run_side "$r-on" -names; else run_side "$r-off"; fi
		names+=("$r-$side")
		report "$r-$side"
	done
done
run_side stats-off -bpf-stats
report stats-off
run_side stats-on -bpf-stats -names
report stats-on
[ "$(sysctl -n kernel.bpf_stats_enabled)" = "$BENCH_RESTORE_STATS" ] ||
	die "kernel.bpf_stats_enabled is $(sysctl -n kernel.bpf_stats_enabled) after flowcount; it was $BENCH_RESTORE_STATS"
python3 - "$BENCH_TMP" "${names[@]}" <<'PY'
import json, statistics, sys
d, names = sys.argv[1], sys.argv[2:]
def cpu(name):
    s = json.load(open(f"{d}/{name}.flowcount.json"))["since_attach"]
    return 100 * (s["user_seconds"] + s["system_seconds"]) / s["wall_seconds"]
off = [cpu(n) for n in names if n.endswith("-off")]
on = [cpu(n) for n in names if n.endswith("-on")]
pairs = [cpu(n.replace("-off", "-on")) - cpu(n) for n in names if n.endswith("-off")]
lost = sum(json.load(open(f"{d}/{n}.flowcount.json"))["names"]["lost"] for n in names if n.endswith("-on"))
print(f"\nmedian flowcount CPU: capture off {statistics.median(off):.3f}%, on {statistics.median(on):.3f}% of a core")
print(f"capture costs {statistics.median(pairs):.3f}% of a core more (median of pairs: {' '.join(f'{p:.3f}' for p in pairs)}; budget <= 0.5)")
print(f"events lost in all runs: {lost} (budget 0)")
sys.exit(1 if lost else 0)
PY
