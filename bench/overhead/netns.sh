# Sourced by bench/overhead/run.sh and bench/churn/run.sh: two network
# namespaces joined by a veth pair, as bpf/netns_test.go builds them (static
# neighbours, no IPv6, software GSO), a cgroup v2 directory for the traffic
# processes, and the cleanup of all of it. Needs bash, set -euo pipefail.

BENCH_ID=$(head -c3 /dev/urandom | od -An -tx1 | tr -d ' \n')
NS_A=ncb-a-$BENCH_ID NS_B=ncb-b-$BENCH_ID
IF_A=nba$BENCH_ID IF_B=nbb$BENCH_ID
ADDR_A=10.203.0.1 ADDR_B=10.203.0.2
CG_BASE= # set by cgroup_setup
BENCH_PIDS=()
BENCH_TMP=

die() {
	echo "${0##*/}: $*" >&2
	exit 1
}

need() {
	[ "$(id -u)" = 0 ] || die "needs root (BPF programs, network namespaces, cgroups)"
	local t pkgs=()
	for t in "$@"; do
		command -v "$t" >/dev/null && continue
		case $t in
		ip) pkgs+=(iproute2) ;;
		ethtool | iperf3 | python3 | iptables) pkgs+=("$t") ;;
		*) die "$t not found" ;;
		esac
	done
	if [ ${#pkgs[@]} -gt 0 ]; then
		echo "installing ${pkgs[*]} ..." >&2
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}" >/dev/null ||
			die "could not install ${pkgs[*]}: apt-get install ${pkgs[*]}"
	fi
}

# netns_setup makes the namespaces and the veth pair and waits until the
# pair is quiet. IPv6 is off in both namespaces, the neighbours are static
# (no ARP), so nothing but the benchmark's own traffic crosses the veth.
netns_setup() {
	local ns dev mac peer peermac addr
	ip netns add "$NS_A"
	ip netns add "$NS_B"
	for ns in "$NS_A" "$NS_B"; do
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	done
	ip link add "$IF_A" netns "$NS_A" type veth peer name "$IF_B" netns "$NS_B"
	for side in "$NS_A $IF_A 02:00:00:20:03:01 $ADDR_A $ADDR_B 02:00:00:20:03:02" \
		"$NS_B $IF_B 02:00:00:20:03:02 $ADDR_B $ADDR_A 02:00:00:20:03:01"; do
		read -r ns dev mac addr peer peermac <<<"$side"
		ip -n "$ns" link set "$dev" address "$mac" addrgenmode none
		ip -n "$ns" addr add "$addr/24" dev "$dev"
		ip -n "$ns" neigh add "$peer" lladdr "$peermac" dev "$dev" nud permanent
		# Segmentation offload off, software GSO on, GRO on: the interface
		# counts real segments, as in the tests.
		ip netns exec "$ns" ethtool -K "$dev" tso off gso on gro on >/dev/null
		ip -n "$ns" link set "$dev" up
		ip -n "$ns" link set lo up
	done
	wait_quiet
}

# link_stats NS DEV prints the veth's counters: rx_bytes rx_packets
# tx_bytes tx_packets dropped (bytes are IP-level on a veth).
link_stats() {
	ip -n "$1" -s -j link show "$2" | python3 -c '
import json, sys
s = json.load(sys.stdin)[0]["stats64"]
print(s["rx"]["bytes"], s["rx"]["packets"], s["tx"]["bytes"], s["tx"]["packets"], s["rx"]["dropped"] + s["tx"]["dropped"])'
}

# wait_quiet waits until neither end of the veth counts a packet for 300 ms.
wait_quiet() {
	local last now quiet=0 i
	last="$(link_stats "$NS_A" "$IF_A") $(link_stats "$NS_B" "$IF_B")"
	for ((i = 0; i < 100; i++)); do
		sleep 0.1
		now="$(link_stats "$NS_A" "$IF_A") $(link_stats "$NS_B" "$IF_B")"
		if [ "$now" = "$last" ]; then
			if ((++quiet == 3)); then return 0; fi
		else
			quiet=0 last=$now
		fi
	done
	die "the veth never went quiet"
}

# cgroup_setup makes CG_BASE, a directory under the cgroup v2 mount, with
# the subdirectories named in its arguments.
cgroup_setup() {
	local root
	root=$(awk '{ split($0, a, " - "); split(a[1], f, " "); split(a[2], t, " ");
		if (t[1] == "cgroup2") print f[5] }' /proc/self/mountinfo |
		awk '$0 == "/sys/fs/cgroup" || $0 == "/sys/fs/cgroup/unified" { std = $0 } NR == 1 { first = $0 }
			END { print (std != "" ? std : first) }')
	[ -n "$root" ] || die "no cgroup v2 mount found"
	CG_BASE=$root/netcost-bench-$BENCH_ID
	mkdir "$CG_BASE"
	local d
	for d in "$@"; do mkdir "$CG_BASE/$d"; done
}

# cgroup_id DIR prints a cgroup's id: its directory's inode number.
cgroup_id() { stat -c %i "$1"; }

# in_cgroup DIR NS CMD... runs CMD in network namespace NS, in cgroup DIR.
# It joins the cgroup before `ip netns exec`, which mounts a fresh /sys.
in_cgroup() {
	local dir=$1 ns=$2
	shift 2
	echo "$BASHPID" >"$dir/cgroup.procs"
	exec ip netns exec "$ns" "$@"
}

# bench_cleanup kills what the script started, deletes the namespaces and
# the cgroup directories. It is the EXIT trap, so it runs on failure and
# interruption too.
bench_cleanup() {
	local rc=$? pid d i
	trap - EXIT INT TERM
	set +e
	for pid in "${BENCH_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
	for pid in "${BENCH_PIDS[@]}"; do
		for ((i = 0; i < 50; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	[ -n "${BENCH_RESTORE_STATS:-}" ] && sysctl -qw kernel.bpf_stats_enabled="$BENCH_RESTORE_STATS"
	ip netns pids "$NS_A" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
	ip netns pids "$NS_B" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
	ip netns del "$NS_A" 2>/dev/null
	ip netns del "$NS_B" 2>/dev/null
	if [ -n "$CG_BASE" ] && [ -d "$CG_BASE" ]; then
		for d in "$CG_BASE"/*/ "$CG_BASE"; do
			[ -d "$d" ] || continue
			for ((i = 0; i < 50; i++)); do rmdir "$d" 2>/dev/null && break; sleep 0.1; done
			[ -d "$d" ] && echo "${0##*/}: could not remove cgroup $d" >&2
		done
	fi
	[ -n "$BENCH_TMP" ] && rm -rf "$BENCH_TMP"
	exit "$rc"
}

# bench_traps installs the cleanup; an interrupted run exits through it.
bench_traps() {
	trap bench_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# start_bg records a background process for the cleanup: start_bg $!
start_bg() { BENCH_PIDS+=("$1"); }

# forget_bg PID drops a process the script has waited for from the cleanup.
forget_bg() {
	local p keep=()
	for p in "${BENCH_PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
	BENCH_PIDS=("${keep[@]}")
}

# bpf_others EXPECTED prints how many cgroup_skb programs named count_*
# are loaded beyond the EXPECTED ones (flowcount's two, or none): another
# agent or a test running at the same time skews the figures. It prints ?
# without bpftool.
bpf_others() {
	command -v bpftool >/dev/null || { echo "?"; return; }
	local n
	n=$(bpftool prog list 2>/dev/null | grep -c ' name count_') || true
	echo $((n - $1))
}

# wait_ready OUT LOG WHAT waits until a server prints "ready" to OUT, and
# stops the benchmark with its LOG if it does not within 10 s.
wait_ready() {
	local i
	for ((i = 0; i < 100; i++)); do
		grep -qx ready "$1" && return 0
		sleep 0.1
	done
	cat "$2" >&2
	die "$3 did not start"
}

# agent_start OUT LOG ARGS... starts flowcount ($FLOWCOUNT) writing its
# report to OUT and its log to LOG, and waits until it is attached. With
# NAMES=1 it captures and reads name events too (-names), as the agent does.
AGENT_PID=
agent_start() {
	local out=$1 log=$2 i
	shift 2
	"$FLOWCOUNT" "$@" ${NAMES:+-names} >"$out" 2>"$log" &
	AGENT_PID=$!
	start_bg "$AGENT_PID"
	for ((i = 0; i < 300; i++)); do
		grep -q 'msg=attached' "$log" && return 0
		kill -0 "$AGENT_PID" 2>/dev/null || { cat "$log" >&2; die "flowcount exited before attaching"; }
		sleep 0.1
	done
	die "flowcount did not attach within 30 s"
}

# agent_stop stops flowcount with SIGINT; it drains once more and prints.
agent_stop() {
	local rc=0 log=$1
	kill -INT "$AGENT_PID"
	wait "$AGENT_PID" || rc=$?
	forget_bg "$AGENT_PID"
	AGENT_PID=
	[ "$rc" = 0 ] || { cat "$log" >&2; die "flowcount failed (exit $rc)"; }
}
