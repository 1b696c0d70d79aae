#!/usr/bin/env bash
# bench/names: what passive naming costs the agent. bench/names makes DNS
# lookups (DNS=5000 a second, each answered with a CNAME and an A record) and
# TLS connections (TLS=1000 a second, each sending a real ClientHello) from a
# client namespace and cgroup to a server across a veth pair, for SECS
# seconds (default 30), RUNS times (default 3), with the built agent running
# with -names=false and with names on, interleaved. It reports the agent
# process's CPU (user + kernel, every thread) over the client's run on each
# side, the difference (budget <= 0.5% of a core), the client's achieved
# rates, the events the agent read, and the events the ring had no room for
# from the agent's /metrics (netcost_name_events_lost_total; budget: none).
# The agent writes WINDOW-long windows (default 10s, aligned to the clock;
# the run starts just after a window's end and SECS should be a multiple of
# it, so each side holds as many window ends, with their name lookups).
# One more pair, with flowcount -bpf-stats (kernel.bpf_stats_enabled=1,
# restored afterwards), gives the programs' ns per run without and with
# capture: the kernel's share, charged to the processes that send and
# receive, not to the agent.
# PERF=DIR records each names-on agent's profile over the client's run with
# perf at PERF_FREQ samples a second (default 499; DIR/N-on.perf.data, read
# with `perf report -i FILE --children`): perf adds to the CPU it profiles.
# AGENT_BIN runs that agent binary instead of building ./agent (an older one).
# Usage: [RUNS=3] [SECS=30] [WINDOW=10] [DNS=5000] [TLS=1000] [PERF=DIR]
#        [PERF_FREQ=499] [AGENT_BIN=FILE] bench/names/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${RUNS:-3}
secs=${SECS:-30}
window=${WINDOW:-10}
dns=${DNS:-5000}
tls=${TLS:-1000}
for v in "$runs" "$secs" "$window" "$dns" "$tls"; do
	[[ $v =~ ^[0-9]+$ ]] || { echo "run.sh: RUNS, SECS, WINDOW, DNS and TLS must be whole numbers" >&2; exit 2; }
done
((runs > 0 && secs > 0 && window > 0)) || { echo "run.sh: RUNS, SECS and WINDOW must be positive" >&2; exit 2; }

# shellcheck source=../overhead/netns.sh
. bench/overhead/netns.sh
need ip ethtool python3 go sysctl curl
if [ -n "${PERF:-}" ]; then
	command -v perf >/dev/null || die "PERF needs perf (apt-get install linux-perf)"
	mkdir -p "$PERF"
	PERF=$(cd "$PERF" && pwd)
fi
bench_traps
BENCH_TMP=$(mktemp -d /tmp/netcost-names.XXXXXX)
BENCH_RESTORE_STATS=$(sysctl -n kernel.bpf_stats_enabled)
AGENT=$BENCH_TMP/agent
FLOWCOUNT=$BENCH_TMP/flowcount
NAMESGEN=$BENCH_TMP/names
if [ -n "${AGENT_BIN:-}" ]; then
	[ -x "$AGENT_BIN" ] || die "AGENT_BIN $AGENT_BIN is not an executable file"
	cp "$AGENT_BIN" "$AGENT"
else
	go build -o "$AGENT" ./agent
fi
go build -o "$FLOWCOUNT" ./bench/flowcount
go build -o "$NAMESGEN" ./bench/names
unset NAMES # agent_start's switch: this script passes -names itself

netns_setup
# The client closes 1,000 TCP connections a second, and each port it used
# waits 60 s in TIME_WAIT: reuse them, or the 28,000 ephemeral ports run out
# within the first side and every later side runs short of its rate.
ip netns exec "$NS_A" sysctl -qw net.ipv4.tcp_tw_reuse=1
cgroup_setup client server
model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
echo "machine: $(nproc) CPUs ($model), $(uname -r), $(go version | cut -d' ' -f3)"
echo "veth $NS_A/$IF_A -> $NS_B/$IF_B; $runs pairs of ${secs}s, ${window}s windows:" \
	"$dns DNS lookups/s and $tls TLS connections/s"
echo "start $(date -u +%H:%M:%S) UTC, load average $(cut -d' ' -f1-3 /proc/loadavg)"

(in_cgroup "$CG_BASE/server" "$NS_B" "$NAMESGEN" server "$ADDR_B") >"$BENCH_TMP/server.out" 2>"$BENCH_TMP/server.log" &
start_bg $!
wait_ready "$BENCH_TMP/server.out" "$BENCH_TMP/server.log" "names server"

# agent_cpu PID prints the process's CPU: user and kernel clock ticks (dead
# threads included), and the nanoseconds its threads have run
# (/proc/PID/task/*/schedstat: finer than a tick; Go's threads live as long as
# the process).
agent_cpu() {
	local ns=0 t
	for t in /proc/"$1"/task/*/schedstat; do
		read -r run _ <"$t" && ns=$((ns + run))
	done
	echo "$(awk '{print $14, $15}' "/proc/$1/stat") $ns"
}

# client NAME runs the names client and writes its JSON result.
client() {
	(in_cgroup "$CG_BASE/client" "$NS_A" "$NAMESGEN" client "$ADDR_B" -dns "$dns" -tls "$tls" -duration "${secs}s") \
		>"$1.client.json" 2>"$1.client.log" || { cat "$1.client.log" >&2; die "names client failed"; }
}

# agent_side NAME NAMES runs the client with the built agent attached,
# -names=NAMES, and writes the agent's CPU over the client's run, its name
# metrics and the load average to NAME.agent.json.
agent_side() {
	local n=$BENCH_TMP/$1 on=$2 pid i addr c0 c1 t0 t1 load
	"$AGENT" -node bench -window "${window}s" -drain-interval 1s -dir "$n.flows" -bpffs "" -names="$on" \
		-imds-endpoint http://127.0.0.1:1 -startup-attempts 1 -ip-ranges-url "" -log-level info \
		-metrics-addr 127.0.0.1:0 2>"$n.agent.log" &
	pid=$!
	start_bg "$pid"
	for ((i = 0; i < 300; i++)); do
		grep -q '"msg":"counting"' "$n.agent.log" && break
		kill -0 "$pid" 2>/dev/null || { cat "$n.agent.log" >&2; die "the agent exited before counting"; }
		sleep 0.1
	done
	grep -q '"msg":"counting"' "$n.agent.log" || die "the agent did not start counting within 30 s"
	addr=$(grep -o '"msg":"serving /metrics[^}]*"addr":"[^"]*"' "$n.agent.log" | sed 's/.*"addr":"//; s/"$//')
	# Start a second after a window's end, so that each side holds as many.
	sleep 2
	sleep "$(python3 -c "import time; print(($window - time.time() % $window + 1) % $window)")"
	load=$(cut -d' ' -f1 /proc/loadavg)
	local perf=
	if [ -n "${PERF:-}" ] && [ "$on" = true ]; then
		perf record -q -F ${PERF_FREQ:-499} -g -p "$pid" -o "$PERF/$1.perf.data" 2>"$n.perf.log" &
		perf=$!
		sleep 0.5
	fi
	c0=$(agent_cpu "$pid")
	t0=$(date +%s.%N)
	client "$n"
	c1=$(agent_cpu "$pid")
	t1=$(date +%s.%N)
	if [ -n "$perf" ]; then
		kill -INT "$perf"
		local rc=0
		wait "$perf" || rc=$?
		((rc == 0 || rc == 130)) || { cat "$n.perf.log" >&2; die "perf record failed"; } # 130: SIGINT, as asked
	fi
	curl -fsS "http://$addr/metrics" >"$n.metrics" || die "no /metrics from the agent at $addr"
	kill -TERM "$pid"
	wait "$pid" || { cat "$n.agent.log" >&2; die "the agent failed"; }
	forget_bg "$pid"
	python3 - "$n" "$on" "$c0" "$c1" "$t0" "$t1" "$(getconf CLK_TCK)" "$load" <<'PY'
import json, sys
n, on = sys.argv[1], sys.argv[2] == "true"
c0, c1 = [list(map(int, s.split())) for s in sys.argv[3:5]]
t0, t1, ticks, load = map(float, sys.argv[5:])
metrics = {}
for line in open(n + ".metrics"):
    if line.startswith("netcost_name") and not line.startswith("#"):
        k, v = line.split()[:2]
        metrics[k] = float(v)
wall = t1 - t0
json.dump({"names": on, "wall_seconds": wall, "load": load,
           "cpu_percent": 100 * (c1[2] - c0[2]) / 1e9 / wall,
           "tick_percent": 100 * ((c1[0] + c1[1]) - (c0[0] + c0[1])) / ticks / wall,
           "sys_tick_percent": 100 * (c1[1] - c0[1]) / ticks / wall,
           "events": metrics.get("netcost_name_events_total"), "lost": metrics.get("netcost_name_events_lost_total"),
           "parse_failures": metrics.get("netcost_name_parse_failures_total"),
           "unasked": metrics.get("netcost_name_answers_unasked_total")}, open(n + ".agent.json", "w"))
PY
}

# stats_side NAME [FLOWCOUNT-ARGS...] runs the client with flowcount
# -bpf-stats attached, for the programs' ns per run.
stats_side() {
	local n=$BENCH_TMP/$1
	shift
	agent_start "$n.flowcount.json" "$n.flowcount.log" -bpf-stats "$@"
	client "$n"
	agent_stop "$n.flowcount.log"
}

report() { # NAME: one line for a run
	python3 - "$BENCH_TMP/$1" "$1" <<'PY'
import json, sys
n, name = sys.argv[1], sys.argv[2]
c = json.load(open(n + ".client.json"))
rates = f"client {c['dns_per_second']:.0f} DNS/s, {c['tls_per_second']:.0f} TLS/s, {c['errors']} errors"
try:
    a = json.load(open(n + ".agent.json"))
except FileNotFoundError:
    f = json.load(open(n + ".flowcount.json"))
    print(f"{name:10s} {rates}; programs {f['bpf_stats']['ns_per_run']:.0f} ns per run "
          f"({f['bpf_stats']['runs']} runs; the senders' and receivers' CPU, not the agent's)")
    sys.exit(0)
line = (f"{name:10s} agent CPU {a['cpu_percent']:6.3f}% of a core (ticks {a['tick_percent']:.2f}%, kernel "
        f"{a['sys_tick_percent']:.2f}%), load {a['load']:.1f}; {rates}")
if a["names"]:
    line += (f"; events {a['events']:.0f} (made {c['dns_queries'] + c['dns_answers'] + c['tls_hellos']}), "
             f"lost {a['lost']:.0f}, unparsed {a['parse_failures']:.0f}, unasked {a['unasked']:.0f}")
print(line)
PY
}

names=()
for ((r = 1; r <= runs; r++)); do
	order="off on"
	((r % 2 == 0)) && order="on off"
	for side in $order; do
		if [ "$side" = on ]; then agent_side "$r-on" true; else agent_side "$r-off" false; fi
		names+=("$r-$side")
		report "$r-$side"
	done
done
stats_side stats-off
report stats-off
stats_side stats-on -names
report stats-on
[ "$(sysctl -n kernel.bpf_stats_enabled)" = "$BENCH_RESTORE_STATS" ] ||
	die "kernel.bpf_stats_enabled is $(sysctl -n kernel.bpf_stats_enabled) after flowcount; it was $BENCH_RESTORE_STATS"
echo "end $(date -u +%H:%M:%S) UTC, load average $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$BENCH_TMP" "${names[@]}" <<'PY'
import json, statistics, sys
d, names = sys.argv[1], sys.argv[2:]
agent = lambda name: json.load(open(f"{d}/{name}.agent.json"))
cpu = lambda name: agent(name)["cpu_percent"]
off = [cpu(n) for n in names if n.endswith("-off")]
on = [cpu(n) for n in names if n.endswith("-on")]
pairs = [cpu(n.replace("-off", "-on")) - cpu(n) for n in names if n.endswith("-off")]
lost = sum(agent(n)["lost"] for n in names if n.endswith("-on"))
print(f"\nmedian agent CPU: -names=false {statistics.median(off):.3f}%, "
      f"names on {statistics.median(on):.3f}% of a core")
print(f"names cost the agent {statistics.median(pairs):.3f}% of a core more "
      f"(median of pairs: {' '.join(f'{p:.3f}' for p in pairs)}; budget <= 0.5)")
print(f"events lost in all runs: {lost:.0f} (budget 0)")
sys.exit(1 if lost else 0)
PY
