#!/usr/bin/env bash
# bench/churn: the flow counters under connection churn. 64 parallel short
# TCP connections (bench/churn: connect, 200-byte request, 1000-byte
# response, close) for SECS seconds (default 10) between two network
# namespaces joined by a veth pair, RUNS times (default 3) without and with
# flowcount (bench/flowcount, the agent's data path) attached, interleaved.
# For each run with flowcount it compares what flowcount counted for the
# client's cgroup (egress + ingress, flows and overflow) with the client-side
# veth's tx + rx bytes over the run: they must be equal. It reports the
# connections/s ratio (with/without) and flowcount's CPU as % of one core
# (budget <= 2%), and from one more run with kernel.bpf_stats_enabled=1 the
# ns per program run (the sysctl is restored afterwards).
# RATE caps the client's connections/s in all (default: no cap).
# NAMES=1 runs flowcount with name capture on (-names).
# Usage: [RUNS=3] [SECS=10] [CONNS=64] [RATE=0] [MAX_FLOWS=65536] [INTERVAL=1s] [NAMES=1] bench/churn/run.sh
# Exits 1 if a count differs from the wire.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${RUNS:-3}
secs=${SECS:-10}
conns=${CONNS:-64}
max_flows=${MAX_FLOWS:-65536}
interval=${INTERVAL:-1s}
rate=${RATE:-0}
for v in "$runs" "$secs" "$conns" "$max_flows"; do
	[[ $v =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: RUNS, SECS, CONNS and MAX_FLOWS must be positive integers" >&2; exit 2; }
done
[[ $rate =~ ^[0-9]+$ ]] || { echo "run.sh: RATE must be a whole number of connections a second" >&2; exit 2; }

# shellcheck source=../overhead/netns.sh
. bench/overhead/netns.sh
need ip ethtool python3 go sysctl
bench_traps
BENCH_TMP=$(mktemp -d /tmp/netcost-churn.XXXXXX)
BENCH_RESTORE_STATS=$(sysctl -n kernel.bpf_stats_enabled)
FLOWCOUNT=$BENCH_TMP/flowcount
CHURN=$BENCH_TMP/churn
go build -o "$FLOWCOUNT" ./bench/flowcount
go build -o "$CHURN" ./bench/churn

netns_setup
cgroup_setup client server
client_id=$(cgroup_id "$CG_BASE/client")
echo "machine: $(nproc) CPUs ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), $(uname -r), $(go version | cut -d' ' -f3)"
echo "veth $NS_A/$IF_A -> $NS_B/$IF_B; $runs pairs of ${secs}s, $conns connections at a time (200 B request, 1000 B response)," \
	"$( ((rate > 0)) && echo "at most $rate a second" || echo "no rate cap");" \
	"flowcount -max-flows $max_flows -interval $interval; client cgroup $CG_BASE/client (id $client_id)"

(in_cgroup "$CG_BASE/server" "$NS_B" "$CHURN" server "$ADDR_B:7000") >"$BENCH_TMP/server.out" 2>"$BENCH_TMP/server.log" &
start_bg $!
wait_ready "$BENCH_TMP/server.out" "$BENCH_TMP/server.log" "churn server"

# client_run OUT runs the churn client in its cgroup and namespace.
client_run() {
	(in_cgroup "$CG_BASE/client" "$NS_A" "$CHURN" client "$ADDR_B:7000" -conns "$conns" -duration "${secs}s" -rate "$rate") \
		>"$1" 2>"$1.log" || { cat "$1.log" >&2; die "churn client failed"; }
}

# with_agent N [FLOWCOUNT-ARGS...] runs the client with flowcount attached and
# writes N.{client,flowcount}.json and N.wire (veth counters before, after).
with_agent() {
	local n=$BENCH_TMP/$1
	shift
	wait_quiet
	agent_start "$n.flowcount.json" "$n.flowcount.log" -max-flows "$max_flows" -interval "$interval" "$@"
	link_stats "$NS_A" "$IF_A" >"$n.wire"
	client_run "$n.client.json"
	sleep 0.3 # the last FINs and ACKs
	link_stats "$NS_A" "$IF_A" >>"$n.wire"
	agent_stop "$n.flowcount.log"
}

export BENCH_TMP CLIENT_ID=$client_id
others=$(bpf_others 0)
[ "$others" = 0 ] || echo "warning: $others count_* BPF programs of someone else are loaded (another agent or test): they add to both sides"
names=()
for ((r = 1; r <= runs; r++)); do
	order="without with"
	((r % 2 == 0)) && order="with without"
	for side in $order; do
		name=$r-$side
		if [ "$side" = with ]; then
			bpf_others 0 >"$BENCH_TMP/$name.others"
			with_agent "$name"
		else
			wait_quiet
			bpf_others 0 >"$BENCH_TMP/$name.others"
			client_run "$BENCH_TMP/$name.client.json"
		fi
		names+=("$name")
		python3 bench/churn/report.py run "$name"
	done
done

# One more run with the kernel's program statistics on (two clock reads a
# run more, so it is not among the pairs).
bpf_others 0 >"$BENCH_TMP/stats.others"
with_agent stats -bpf-stats
[ "$(sysctl -n kernel.bpf_stats_enabled)" = "$BENCH_RESTORE_STATS" ] ||
	die "kernel.bpf_stats_enabled is $(sysctl -n kernel.bpf_stats_enabled) after flowcount; it was $BENCH_RESTORE_STATS"
names+=(stats)
python3 bench/churn/report.py run stats
# And one without a Service CIDR in the keep_ports trie: what its lookup,
# on every client packet, costs a program run.
bpf_others 0 >"$BENCH_TMP/stats-notrie.others"
with_agent stats-notrie -bpf-stats -service-cidr=
names+=(stats-notrie)
python3 bench/churn/report.py run stats-notrie
python3 bench/churn/report.py summary "${names[@]}" || die "flowcount's count differs from the wire (see above)"
