package costmodel_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/netcost/netcost/costmodel"
	"github.com/netcost/netcost/internal/flows"
)

// checkNoDoubleCount checks what Recommend promises of an hour of records:
// certain changes first, by savings, each saving within the cost it rests
// on, and no byte counted twice: the dollars each recommendation rests on
// (what it removes from the bill, before any new fee) add up to no more
// than the monthly bill of all the records. PreferSameZone rests on its
// saving alone: the bytes it leaves crossing are ReducePayload's.
func checkNoDoubleCount(t *testing.T, recs []flows.Record, opt costmodel.AdviseOptions) {
	t.Helper()
	m := costmodel.New(nil)
	a, agg := m.NewAdvisor(), m.NewAggregator(costmodel.ByPod)
	for i := range recs {
		if err := a.Add(&recs[i]); err != nil {
			t.Fatal(err)
		}
		if err := agg.Add(&recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := agg.Rows()
	if err != nil {
		t.Fatal(err)
	}
	var bill float64
	for _, r := range rows {
		bill += r.CostUSD * costmodel.HoursPerMonth // an hour's records
	}
	out, err := a.Recommend(time.Hour, opt)
	if err != nil {
		t.Fatal(err)
	}
	var used float64
	for i, r := range out {
		if r.MonthlySavingsUSD > r.MonthlyCostUSD+1e-9 || r.MonthlySavingsUSD < 0 {
			t.Errorf("%s %s saves $%.4f of $%.4f", r.Kind, r.Target, r.MonthlySavingsUSD, r.MonthlyCostUSD)
		}
		if i > 0 && !out[i-1].Estimate && !r.Estimate && r.MonthlySavingsUSD > out[i-1].MonthlySavingsUSD {
			t.Errorf("%s saves $%.4f, more than %s above it ($%.4f)", r.Kind, r.MonthlySavingsUSD, out[i-1].Kind,
				out[i-1].MonthlySavingsUSD)
		}
		if i > 0 && out[i-1].Estimate && !r.Estimate {
			t.Errorf("certain %s %s after an estimate", r.Kind, r.Target)
		}
		if r.Kind == costmodel.PreferSameZone {
			used += r.MonthlySavingsUSD
		} else {
			used += r.MonthlyCostUSD
		}
	}
	if used > bill*(1+1e-9)+1e-9 {
		t.Errorf("the recommendations rest on $%.4f/month, more than the bill $%.4f of all the bytes:\n%+v",
			used, bill, out)
	}
	if certain := costmodel.TotalSavings(out); certain > bill*(1+1e-9)+1e-9 {
		t.Errorf("certain savings $%.4f > the bill $%.4f", certain, bill)
	}
}

// TestNoDoubleCountSample: over the sample store.
func TestNoDoubleCountSample(t *testing.T) {
	for _, opt := range []costmodel.AdviseOptions{{}, {CompressionRatio: 0.9, ReducePayloadMinMonthlyUSD: 1e-9}} {
		checkNoDoubleCount(t, sampleRecords(t), opt)
	}
}

// TestNoDoubleCountRandom: over random stores of an hour where Services,
// NAT gateways in several AZs, endpoints' services, SaaS and internet
// hosts overlap.
func TestNoDoubleCountRandom(t *testing.T) {
	rnd := rand.New(rand.NewPCG(14, 11))
	for try := range 200 {
		recs := randomStore(rnd)
		opt := costmodel.AdviseOptions{ReducePayloadMinMonthlyUSD: 1e-9, MinMonthlySavingsUSD: float64(rnd.IntN(3))}
		if rnd.IntN(2) == 0 {
			opt.CompressionRatio = 0.05 + 0.9*rnd.Float64()
		}
		t.Run(fmt.Sprint(try), func(t *testing.T) { checkNoDoubleCount(t, recs, opt) })
	}
}

// randomStore returns an hour of records of a few workloads in three AZs.
func randomStore(rnd *rand.Rand) []flows.Record {
	azs := []string{"use1-az1", "use1-az2", "use1-az3"}
	ts := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	pod := func(w string, i int) (name, ip, az string) {
		return fmt.Sprintf("%s-%d", w, i), fmt.Sprintf("10.0.%d.%d", len(w), i), azs[i%3]
	}
	base := func(w string, i int) flows.Record {
		name, ip, az := pod(w, i)
		return flows.Record{Schema: 1, TS: ts, WindowS: 3600, Region: "us-east-1", Node: "node-" + name,
			Category: flows.NATGateway, Protocol: flows.TCP, LocalIP: ip, LocalPod: name, LocalNamespace: "shop",
			LocalWorkload: w, LocalAZID: az, LocalSubnet: "subnet-" + az}
	}
	var recs []flows.Record
	for range 5 + rnd.IntN(30) {
		w := []string{"graphql", "checkout", "sync"}[rnd.IntN(3)]
		r := base(w, rnd.IntN(6))
		r.Direction = flows.Egress + flows.Direction(rnd.IntN(2))
		r.Bytes = uint64(1 + rnd.IntN(8*costmodel.GB))
		nat := rnd.IntN(3)
		r.Via, r.ViaAZID = fmt.Sprintf("nat-%d", nat), azs[nat]
		r.RemotePort = 443
		switch kind := rnd.IntN(7); kind {
		case 0, 1: // a Service's backend, each side reporting what it saw
			s := []string{"products", "users"}[rnd.IntN(2)]
			name, ip, az := pod(s, rnd.IntN(6))
			r.Via, r.ViaAZID, r.RemotePort = "", "", 8080
			r.RemoteIP, r.RemotePod, r.RemoteNamespace, r.RemoteWorkload, r.RemoteService = ip, name, "shop", s, s
			r.RemoteNode, r.RemoteAZID, r.Category = "node-"+name, az, flows.IntraAZ
			if az != r.LocalAZID {
				r.Category = flows.InterAZ
			}
			mirrored := rnd.IntN(3) > 0
			if !mirrored {
				r.RemoteReportedRaw = flows.BoolFalse // no agent on the remote's node reports these bytes
			}
			recs = append(recs, r)
			if mirrored {
				m := r
				m.Node, m.RemoteNode, m.Direction = r.RemoteNode, r.Node, flows.Egress+flows.Ingress-r.Direction
				m.LocalIP, m.RemoteIP, m.LocalPod, m.RemotePod = r.RemoteIP, r.LocalIP, r.RemotePod, r.LocalPod
				m.LocalWorkload, m.RemoteWorkload, m.LocalAZID, m.RemoteAZID = r.RemoteWorkload, r.LocalWorkload, az, r.LocalAZID
				m.RemoteService, m.LocalSubnet = "", "subnet-"+az
				recs = append(recs, m)
			}
			continue
		case 2:
			r.Category, r.RemoteAWSService, r.RemoteRegion = flows.AmazonS3, "S3", "us-east-1"
			r.RemoteIP, r.RemoteName = "52.216.8.43", "s3.us-east-1.amazonaws.com"
		case 3:
			r.RemoteAWSService, r.RemoteRegion = "AMAZON", "us-east-1"
			r.RemoteIP, r.RemoteName = "52.46.1.1", "sqs.us-east-1.amazonaws.com"
		case 4:
			r.RemoteAWSService, r.RemoteRegion = "EC2", "us-east-1"
			r.RemoteIP, r.RemoteName = "3.233.1.1", "agent-intake.logs.datadoghq.com"
			if rnd.IntN(3) == 0 {
				r.Category, r.Via, r.ViaAZID = flows.Internet, "", ""
			}
		default:
			host := rnd.IntN(2)
			r.RemoteIP, r.RemoteName = fmt.Sprintf("198.51.100.%d", host), fmt.Sprintf("api%d.example", host)
		}
		recs = append(recs, r)
	}
	return recs
}
