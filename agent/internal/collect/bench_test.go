package collect

import (
	"fmt"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/netcost/netcost/bpf"
)

// deltas50k is one drain of 50,000 active flows: 500 local pods in two
// subnets, each talking to 100 remotes in the VPC and on the internet.
func deltas50k() *bpf.Deltas {
	d := &bpf.Deltas{}
	for p := range 500 {
		local := netip.AddrFrom4([4]byte{10, 0, byte(1 + p%2), byte(p / 2)})
		for r := range 100 {
			remote := netip.AddrFrom4([4]byte{10, 0, byte(1 + r%2), byte(100 + r)})
			if r%4 == 0 {
				remote = netip.AddrFrom4([4]byte{185, 166, byte(p), byte(r)})
			}
			d.Flows = append(d.Flows, bpf.Flow{CgroupID: uint64(1000 + p), Local: netip.AddrPortFrom(local, 0),
				Remote: netip.AddrPortFrom(remote, 8080), Proto: 6, Dir: bpf.Direction(1 + r%2), Bytes: 1500, Packets: 1})
		}
	}
	return d
}

// collector50k names the 500 pods of deltas50k.
func collector50k(b *testing.B) *Collector {
	names := map[uint64]Names{}
	for p := range 500 {
		names[uint64(1000+p)] = Names{Pod: fmt.Sprintf("web-%d", p), Namespace: "shop", Workload: fmt.Sprintf("web%d", p%20), WorkloadKind: "Deployment"}
	}
	return &Collector{Cluster: "c", Node: "n", Region: "us-east-1", Classifier: classifier(b),
		Names: func(id uint64) (Names, bool) { n, ok := names[id]; return n, ok }}
}

// BenchmarkPipeline50k adds drains of the same 50k flows to the window in
// hand, as every second of a window but its first does: the agent's steady
// user-space work per drain. At one drain a second, the share of a core is
// ns/op / 1e9. BenchmarkWindow50k is the once-a-window rest.
func BenchmarkPipeline50k(b *testing.B) {
	d := deltas50k()
	c := collector50k(b)
	start := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	c.Add(d) // the window's first drain names and classifies every flow
	for b.Loop() {
		c.Add(d) // the steady state: the same flows, one drain a second
	}
	b.ReportMetric(float64(len(c.Flush(start, time.Minute, 50))), "records")
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MiB")
}

// BenchmarkWindow50k is what a window costs once: naming and classifying
// 50k new flows, then folding and sorting the records (top-K 50).
func BenchmarkWindow50k(b *testing.B) {
	d := deltas50k()
	c := collector50k(b)
	start := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	var peak uint64
	var ms runtime.MemStats
	for b.Loop() {
		c.Add(d)
		recs := c.Flush(start, time.Minute, 50)
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapInuse)
		_ = recs
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
}
