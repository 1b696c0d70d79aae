package costmodel

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/netcost/netcost/internal/flows"
)

var t0 = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)

// rec returns a record between graphql-a (use1-az1) and products-b (use1-az2).
func rec(dir flows.Direction, cat flows.Category, bytes uint64) flows.Record {
	return flows.Record{Schema: 1, TS: t0, WindowS: 60, Region: "us-east-1", Node: "node-a", Direction: dir,
		Category: cat, Protocol: flows.TCP,
		LocalIP: "10.0.1.5", LocalPod: "graphql-a", LocalNamespace: "shop", LocalWorkload: "graphql",
		LocalAZID: "use1-az1", LocalSubnet: "subnet-a",
		RemoteIP: "10.0.2.7", RemotePod: "products-b", RemoteNamespace: "shop", RemoteWorkload: "products",
		RemoteService: "products", RemoteNode: "node-b", RemoteAZID: "use1-az2", Bytes: bytes}
}

// mirror returns the other agent's report of the same bytes.
func mirror(r flows.Record) flows.Record {
	m := r
	m.Node = r.RemoteNode
	m.Direction = flows.Egress + flows.Ingress - r.Direction
	m.LocalIP, m.RemoteIP = r.RemoteIP, r.LocalIP
	m.LocalPod, m.RemotePod = r.RemotePod, r.LocalPod
	m.LocalWorkload, m.RemoteWorkload = r.RemoteWorkload, r.LocalWorkload
	m.LocalAZID, m.RemoteAZID = r.RemoteAZID, r.LocalAZID
	m.RemoteNode = r.Node
	m.RemoteService = ""
	m.LocalSubnet = "subnet-b"
	return m
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// aggregate adds recs to an aggregator grouping at g, in order, and returns
// its rows and their totals.
func aggregate(t *testing.T, g GroupBy, recs ...flows.Record) (rows []Row, bytes uint64, usd float64) {
	t.Helper()
	ag := New(nil).NewAggregator(g)
	for i := range recs {
		if err := ag.Add(&recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := ag.Rows()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		bytes += r.Bytes
		usd += r.CostUSD
	}
	return rows, bytes, usd
}

// priceCase is a record and what Price says it costs.
type priceCase struct {
	name string
	r    flows.Record
	want Cost
}

// testPrice checks Price on each case, with the default options.
func testPrice(t *testing.T, tests []priceCase) {
	t.Helper()
	testPriceWith(t, Options{}, tests)
}

// testPriceWith checks Price on each case, with options opt.
func testPriceWith(t *testing.T, opt Options, tests []priceCase) {
	t.Helper()
	m := NewWithOptions(nil, opt)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := m.Price(&tt.r)
			if err != nil {
				t.Fatal(err)
			}
			if !near(got.InterAZ, tt.want.InterAZ) || !near(got.NATProcessing, tt.want.NATProcessing) ||
				!near(got.Regional, tt.want.Regional) ||
				!near(got.DataTransferOut, tt.want.DataTransferOut) || !near(got.Processing, tt.want.Processing) {
				t.Errorf("Price(%s) = %+v; want %+v", tt.name, got, tt.want)
			}
		})
	}
}

// TestPrice covers what no billing path prices; each path's cases are in
// its own file's test.
func TestPrice(t *testing.T) {
	testPrice(t, []priceCase{
		{"unclassified is not priced", rec(flows.Egress, flows.Unclassified, 2*GB), Cost{}},
	})
	m := New(nil)
	bad := rec(flows.Egress, flows.InterAZ, 1)
	bad.Region = "mars-north-1"
	if _, err := m.Price(&bad); err == nil || !strings.Contains(err.Error(), `unknown region "mars-north-1"`) {
		t.Errorf("Price(unknown region) error = %v", err)
	}
}

// TestAddKeepsNoBorrowedBytes: records decoded with Borrow alias the read
// buffer, which is reused (or unmapped) afterwards; the aggregators must
// copy what they keep.
func TestAddKeepsNoBorrowedBytes(t *testing.T) {
	m := New(nil)
	ag, ad := m.NewAggregator(ByWorkload), m.NewAdvisor()
	r := rec(flows.Egress, flows.InterAZ, GB)
	line := flows.AppendJSON(nil, &r)
	n := sqs("use1-az1", "use1-az2", GB)
	nline := flows.AppendJSON(nil, &n)
	d := flows.NewDecoder()
	d.Borrow = true
	for _, l := range [][]byte{line, nline} {
		var got flows.Record
		if err := d.Decode(l, &got); err != nil {
			t.Fatal(err)
		}
		if err := ag.Add(&got); err != nil {
			t.Fatal(err)
		}
		if err := ad.Add(&got); err != nil {
			t.Fatal(err)
		}
		for i := range l {
			l[i] = 'X' // what the reader's next block would do to the buffer
		}
	}
	rows, err := ag.Rows()
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range rows {
		for _, s := range []string{row.Local.Workload, row.Local.Namespace, row.Remote.IP, row.Remote.Workload, row.Region,
			row.Via, row.Local.AZID} {
			if strings.Contains(s, "XX") {
				t.Errorf("row kept borrowed bytes: %+v", row)
			}
		}
	}
	recs, err := ad.Recommend(time.Minute, AdviseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) == 0 {
		t.Fatal("no recommendations")
	}
	for _, rc := range recs {
		if strings.Contains(rc.Target+rc.Action+rc.Evidence.Detail, "XX") {
			t.Errorf("recommendation kept borrowed bytes: %+v", rc)
		}
	}
}

// TestUnknownRegionUnclassified: an agent that started without instance
// metadata writes region "unknown" on its UNCLASSIFIED records; they are
// shown unpriced and the other records are priced. An unknown region on a
// record that would be priced is still an error.
func TestUnknownRegionUnclassified(t *testing.T) {
	m := New(nil)
	lost := rec(flows.Egress, flows.Unclassified, 5*GB)
	lost.Region, lost.Node, lost.RemoteService = "unknown", "node-c", ""
	priced := rec(flows.Egress, flows.InterAZ, 2*GB)
	a := m.NewAggregator(ByPod)
	adv := m.NewAdvisor()
	for _, r := range []flows.Record{lost, priced} {
		if err := a.Add(&r); err != nil {
			t.Fatalf("Aggregator.Add(%s in %s): %v", r.Category, r.Region, err)
		}
		if err := adv.Add(&r); err != nil {
			t.Fatalf("Advisor.Add(%s in %s): %v", r.Category, r.Region, err)
		}
	}
	rows, err := a.Rows()
	if err != nil {
		t.Fatal(err)
	}
	var unpriced, total uint64
	var cost float64
	for _, r := range rows {
		total += r.Bytes
		cost += r.CostUSD
		if r.Region == "unknown" {
			unpriced += r.Bytes
			if r.CostUSD != 0 {
				t.Errorf("the unknown region's row costs %v; want nothing", r.CostUSD)
			}
		}
	}
	if unpriced != 5*GB || total != 7*GB || cost == 0 {
		t.Errorf("rows hold %d bytes, %d of them unpriced, $%v; want 7 GiB, 5 unpriced, the inter-AZ priced",
			total, unpriced, cost)
	}
	if _, err := adv.Recommend(time.Minute, AdviseOptions{}); err != nil {
		t.Errorf("Recommend: %v", err)
	}
	bad := priced
	bad.Region = "unknown"
	if err := m.NewAggregator(ByPod).Add(&bad); err == nil {
		t.Error("an inter-AZ record in an unknown region was accepted; it cannot be priced")
	}
}
