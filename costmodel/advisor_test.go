package costmodel_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/netcost/netcost/costmodel"
	"github.com/netcost/netcost/internal/flows"
	"github.com/netcost/netcost/internal/sample"
)

// sampleRecords returns the records of the sample store (an hour).
func sampleRecords(t *testing.T) []flows.Record {
	t.Helper()
	var recs []flows.Record
	if err := sample.Generate(sample.DefaultOptions(), func(_ string, r *flows.Record) error {
		recs = append(recs, *r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return recs
}

// adviseSplit adds recs to n Advisors, record i to Advisor split(i), merges
// them in the order given, and returns the recommendations as JSON.
func adviseSplit(t *testing.T, recs []flows.Record, n int, split func(int) int, order []int) string {
	t.Helper()
	m := costmodel.New(nil)
	advs := make([]*costmodel.Advisor, n)
	for i := range advs {
		advs[i] = m.NewAdvisor()
	}
	for i := range recs {
		if err := advs[split(i)].Add(&recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	for _, i := range order[1:] {
		advs[order[0]].Merge(advs[i])
	}
	out, err := advs[order[0]].Recommend(time.Hour, costmodel.AdviseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.MarshalIndent(out, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestAdvisorOrderIndependent: the recommendations do not depend on the
// order of the records or on how they are split between Advisors (one per
// goroutine) and merged. Datadog is reached under 12 hostnames, more than a
// target lists, and some records do not know their NAT's AZ.
func TestAdvisorOrderIndependent(t *testing.T) {
	recs := sampleRecords(t)
	for i := range 12 {
		dd := flows.Record{Schema: 1, TS: time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC), WindowS: 3600,
			Region: "us-east-1", Direction: flows.Egress, Category: flows.NATGateway, Protocol: flows.TCP,
			LocalIP: "10.0.1.9", LocalPod: "dd-agent", LocalNamespace: "monitoring", LocalWorkload: "dd-agent",
			LocalAZID: "use1-az1", LocalSubnet: "subnet-use1-az1", RemoteIP: fmt.Sprintf("3.233.1.%d", i),
			RemotePort: 443, RemoteName: fmt.Sprintf("intake-%02d.datadoghq.com", i), Via: "nat-0b2",
			Bytes: costmodel.GB / 8}
		if i%3 != 0 {
			dd.ViaAZID = "use1-az2"
		}
		recs = append(recs, dd)
	}
	all := make([]int, 1)
	want := adviseSplit(t, recs, 1, func(int) int { return 0 }, all)
	rnd := rand.New(rand.NewPCG(1, 2))
	for try := range 20 {
		n := 1 + rnd.IntN(6)
		shuffled := append([]flows.Record(nil), recs...)
		rnd.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		parts := make([]int, len(shuffled))
		for i := range parts {
			parts[i] = rnd.IntN(n)
		}
		order := rnd.Perm(n)
		if got := adviseSplit(t, shuffled, n, func(i int) int { return parts[i] }, order); got != want {
			t.Fatalf("try %d: %d Advisors merged in order %v recommend\n%s\nwant (one Advisor, records in order)\n%s",
				try, n, order, got, want)
		}
	}
}
