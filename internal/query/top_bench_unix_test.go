//go:build unix

package query

import (
	"os"
	"syscall"
	"testing"

	"github.com/netcost/netcost/costmodel"
	"github.com/netcost/netcost/internal/flows"
	"github.com/netcost/netcost/internal/source"
)

// BenchmarkTopStore runs `top --category inter-az` over the store that
// `make bench-top` generates (or NETCOST_BENCH_STORE), reporting the CPU
// time of each run besides its wall time: on a shared machine, compare
// builds by that, in adjacent pairs.
func BenchmarkTopStore(b *testing.B) {
	dir := os.Getenv("NETCOST_BENCH_STORE")
	if dir == "" {
		dir = "../../bench/out/store-10000000"
	}
	if _, err := os.Stat(dir); err != nil {
		b.Skipf("no benchmark store: %v (make bench-top generates it, or set NETCOST_BENCH_STORE)", err)
	}
	m := costmodel.New(nil)
	opts := TopOptions{Options: Options{Source: source.Spec{Kind: "file", Path: dir}}, Category: flows.InterAZ, Limit: 10}
	cpu := func() int64 {
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return ru.Utime.Nano() + ru.Stime.Nano()
	}
	c0 := cpu()
	for b.Loop() {
		if _, err := Top(b.Context(), m, opts); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpu()-c0)/float64(b.N), "cpu-ns/op")
}
