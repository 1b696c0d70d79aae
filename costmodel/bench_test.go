package costmodel

import (
	"fmt"
	"testing"

	"github.com/netcost/netcost/internal/flows"
)

// benchRecords is a mix of 1,000 pod pairs' inter-AZ reports and NAT traffic.
func benchRecords() []flows.Record {
	var recs []flows.Record
	for i := range 1000 {
		r := rec(flows.Egress, flows.InterAZ, 1<<20)
		r.LocalPod, r.RemotePod = fmt.Sprintf("graphql-%d", i%50), fmt.Sprintf("products-%d", i%20)
		recs = append(recs, r, mirror(r))
		n := sqs("use1-az1", "use1-az2", 1<<20)
		n.LocalPod = fmt.Sprintf("sqs-sender-%d", i%10)
		recs = append(recs, n)
	}
	return recs
}

func BenchmarkAggregatorAdd(b *testing.B) {
	recs := benchRecords()
	a := New(nil).NewAggregator(ByPod)
	i := 0
	for b.Loop() {
		if err := a.Add(&recs[i%len(recs)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkAdvisorAdd(b *testing.B) {
	recs := benchRecords()
	a := New(nil).NewAdvisor()
	i := 0
	for b.Loop() {
		if err := a.Add(&recs[i%len(recs)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
