"""Figures of bench/churn/run.sh from the files it writes in $BENCH_TMP.

report.py run NAME       prints one run
report.py summary NAME.. prints the medians, ratios and checks; exits 1 if
                         a count differs from the wire or anything was lost

NAME.client.json is the churn client's report, NAME.others how many other
count_* programs were loaded; a run with flowcount also has
NAME.flowcount.json and NAME.wire (the client-side veth's counters before
and after: rx_bytes rx_packets tx_bytes tx_packets dropped).
"""
import json
import os
import statistics
import sys

tmp, client_id = os.environ["BENCH_TMP"], os.environ["CLIENT_ID"]


def load(name):
    r = {"name": name, "client": json.load(open(f"{tmp}/{name}.client.json"))}
    r["others"] = open(f"{tmp}/{name}.others").read().strip()
    if not os.path.exists(f"{tmp}/{name}.flowcount.json"):
        return r
    fc = json.load(open(f"{tmp}/{name}.flowcount.json"))
    before, after = (list(map(int, l.split())) for l in open(f"{tmp}/{name}.wire"))
    d = [a - b for a, b in zip(after, before)]
    zero = {"bytes": 0, "packets": 0}
    c = fc["cgroups"].get(client_id, {"egress": zero, "ingress": zero})

    def pct(t):
        return 100 * (t["user_seconds"] + t["system_seconds"]) / t["wall_seconds"]

    r.update(fc=fc,
             counted=c["egress"]["bytes"] + c["ingress"]["bytes"],
             counted_pkts=c["egress"]["packets"] + c["ingress"]["packets"],
             wire=d[0] + d[2], wire_pkts=d[1] + d[3], drops=d[4],
             lost=fc["lost"]["egress"]["bytes"] + fc["lost"]["ingress"]["bytes"],
             cpu=pct(fc["cpu"]), cpu_attached=pct(fc["since_attach"]))
    return r


def ratio(a, b):
    return a / b if b else float("nan")


def line(r):
    c = r["client"]
    s = "%-10s %6.0f conn/s  %6d conns  %d errors" % (
        r["name"], c["conns_per_second"], c["connections"], c["errors"])
    if "fc" in r:
        s += ("\n           counted %d B / wire %d B = %.6f (packets %d / %d); lost %d B, overflow %d B, "
              "veth drops %d; at most %d flows in a drain\n"
              "           flowcount CPU %.3f%% of a core from its start, %.3f%% since attached") % (
            r["counted"], r["wire"], ratio(r["counted"], r["wire"]), r["counted_pkts"], r["wire_pkts"],
            r["lost"], r["fc"]["overflow_bytes"], r["drops"], r["fc"]["max_flows_per_drain"],
            r["cpu"], r["cpu_attached"])
        if "bpf_stats" in r["fc"]:
            s += "; %.1f ns per program run" % r["fc"]["bpf_stats"]["ns_per_run"]
    if r["others"] not in ("0", "?"):
        s += "  (%s other count_* programs loaded)" % r["others"]
    return s


def summary(rs):
    pairs = [r for r in rs if not r["name"].startswith("stats")]
    without = [r["client"]["conns_per_second"] for r in pairs if "fc" not in r]
    with_ = [r["client"]["conns_per_second"] for r in pairs if "fc" in r]
    counted = [r for r in rs if "fc" in r]
    mw, mx = statistics.median(without), statistics.median(with_)
    print()
    print("median without  %.0f conn/s  (min %.0f, max %.0f)" % (mw, min(without), max(without)))
    print("median with     %.0f conn/s  (min %.0f, max %.0f)" % (mx, min(with_), max(with_)))
    print("ratio with/without %.4f" % (mx / mw))
    print("counted/wire, client cgroup %s: %s (budget 1.000000); lost %d B" % (
        client_id, " ".join("%.6f" % ratio(r["counted"], r["wire"]) for r in counted),
        sum(r["lost"] for r in counted)))
    with_runs = [r for r in counted if r in pairs]
    print("flowcount CPU, median of the runs with: %.3f%% of a core from its start, %.3f%% since attached "
          "(budget <= 2%%)" % (statistics.median(r["cpu"] for r in with_runs),
                               statistics.median(r["cpu_attached"] for r in with_runs)))
    for r in counted:
        if "bpf_stats" in r["fc"]:
            s = r["fc"]["bpf_stats"]
            print("programs (%s): %d runs, %.1f ns per run (egress and ingress together; kernel.bpf_stats_enabled=1)" % (
                r["name"], s["runs"], s["ns_per_run"]))
    bad = [r for r in counted if r["counted"] != r["wire"] or r["lost"]]
    for r in bad:
        print("MISMATCH in %s: counted %d bytes, the wire carried %d (%+d); lost %d; veth drops %d" % (
            r["name"], r["counted"], r["wire"], r["counted"] - r["wire"], r["lost"], r["drops"]))
    return 1 if bad else 0


if __name__ == "__main__":
    if sys.argv[1] == "run":
        print(line(load(sys.argv[2])))
    else:
        sys.exit(summary([load(n) for n in sys.argv[2:]]))
