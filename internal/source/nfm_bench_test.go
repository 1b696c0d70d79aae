package source

import (
	"context"
	"fmt"
	"testing"

	"github.com/netcost/netcost/costmodel"
	"github.com/netcost/netcost/internal/flows"
	"github.com/netcost/netcost/internal/nfmfake"
)

// BenchmarkNFMRead reads the most a monitor can answer, 500 rows in each
// of the 7 destination categories, through the SDK client and the fake
// (pages of 100, one RUNNING poll each), and aggregates them for recommend:
// what netcost adds to NFM's own query time.
func BenchmarkNFMRead(b *testing.B) {
	f := nfmfake.Start(b)
	f.AddMonitor("eks-prod", "ACTIVE")
	for _, c := range nfmCategories {
		for i := range nfmLimit {
			f.AddRows("eks-prod", nfmfake.Row{LocalIP: fmt.Sprintf("10.0.%d.%d", i/250, i%250),
				LocalInstanceID: "i-0a1b2c3d4e5f60001", LocalAz: "use1-az1", RemoteAz: "use1-az2",
				RemoteIP: fmt.Sprintf("10.1.%d.%d", i/250, i%250), RemoteInstanceID: "i-0a1b2c3d4e5f60002",
				DestinationCategory: string(c), Value: int64(1000 + i),
				KubernetesMetadata: &nfmfake.KubernetesMetadata{LocalPodName: fmt.Sprintf("web-%d", i), LocalPodNamespace: "shop",
					RemotePodName: fmt.Sprintf("api-%d", i), RemotePodNamespace: "shop"}})
		}
	}
	m := costmodel.New(nil)
	b.ReportAllocs()
	for b.Loop() {
		n := fakeReader(f, "eks-prod", 1)
		agg := m.NewAggregator(costmodel.ByPod)
		rows := 0
		add := func(r *flows.Record) error { rows++; return agg.Add(r) }
		if err := n.read(context.Background(), nfmWin, nil, add); err != nil {
			b.Fatal(err)
		}
		if _, err := agg.Rows(); err != nil || rows != 7*nfmLimit {
			b.Fatalf("%d rows, %v", rows, err)
		}
	}
}
