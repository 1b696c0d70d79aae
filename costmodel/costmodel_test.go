package costmodel

import (
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/netcost/netcost/internal/flows"
)

var t0 = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)

// rec returns a record between graphql-a (use1-az1) and products-b (use1-az2).
func rec(dir flows.Direction, cat flows.Category, bytes uint64) flows.Record {
	return flows.Record{Schema: 1, TS: t0, WindowS: 60, Region: "us-east-1", Node: "node-a", Direction: dir, Category: cat, Protocol: flows.TCP,
		LocalIP: "10.0.1.5", LocalPod: "graphql-a", LocalNamespace: "shop", LocalWorkload: "graphql", LocalAZID: "use1-az1", LocalSubnet: "subnet-a",
		RemoteIP: "10.0.2.7", RemotePod: "products-b", RemoteNamespace: "shop", RemoteWorkload: "products", RemoteService: "products",
		RemoteNode: "node-b", RemoteAZID: "use1-az2", Bytes: bytes}
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

func TestPrice(t *testing.T) {
	m := New(nil)
	nat := func(dir flows.Direction, cat flows.Category, viaAZ string) flows.Record {
		r := rec(dir, cat, 2*GB)
		r.RemotePod, r.RemoteNamespace, r.RemoteWorkload, r.RemoteService, r.RemoteNode, r.RemoteAZID = "", "", "", "", "", ""
		r.RemoteIP, r.Via, r.ViaAZID = "52.46.1.1", "nat-1", viaAZ
		return r
	}
	withAWS := func(r flows.Record, svc, region string) flows.Record {
		r.RemoteAWSService, r.RemoteRegion = svc, region
		return r
	}
	gwS3 := rec(flows.Ingress, flows.AmazonS3, 2*GB)
	gwS3.Via = "vpce-1"
	tgw := rec(flows.Egress, flows.InterVPC, 2*GB)
	tgw.Via = "tgw-1"
	peerSame := rec(flows.Egress, flows.InterVPC, 2*GB)
	peerSame.Via, peerSame.RemoteAZID = "pcx-1", "use1-az1"
	tests := []struct {
		name string
		r    flows.Record
		want Cost
	}{
		{"intra-az is free", rec(flows.Egress, flows.IntraAZ, 2*GB), Cost{}},
		{"inter-az one side", rec(flows.Egress, flows.InterAZ, 2*GB), Cost{InterAZ: 0.02}},
		{"NAT same AZ, to AWS in region", withAWS(nat(flows.Egress, flows.NATGateway, "use1-az1"), "AMAZON", "us-east-1"), Cost{NATProcessing: 0.09}},
		{"NAT other AZ adds inter-AZ", withAWS(nat(flows.Egress, flows.NATGateway, "use1-az2"), "AMAZON", "us-east-1"), Cost{NATProcessing: 0.09, InterAZ: 0.02}},
		{"NAT ingress processed too", withAWS(nat(flows.Ingress, flows.NATGateway, "use1-az2"), "AMAZON", "us-east-1"), Cost{NATProcessing: 0.09, InterAZ: 0.02}},
		{"NAT to internet pays egress", nat(flows.Egress, flows.NATGateway, "use1-az1"), Cost{NATProcessing: 0.09, DataTransferOut: 0.18}},
		{"NAT from internet: ingress free", nat(flows.Ingress, flows.NATGateway, "use1-az1"), Cost{NATProcessing: 0.09}},
		{"NAT to AWS in another region", withAWS(nat(flows.Egress, flows.NATGateway, "use1-az1"), "AMAZON", "eu-west-1"), Cost{NATProcessing: 0.09, DataTransferOut: 0.04}},
		{"S3 via NAT: processing only", withAWS(nat(flows.Egress, flows.AmazonS3, "use1-az1"), "S3", "us-east-1"), Cost{NATProcessing: 0.09}},
		{"S3 via gateway endpoint is free", gwS3, Cost{}},
		{"internet egress", rec(flows.Egress, flows.Internet, 2*GB), Cost{DataTransferOut: 0.18}},
		{"internet ingress free", rec(flows.Ingress, flows.Internet, 2*GB), Cost{}},
		{"inter-region out", rec(flows.Egress, flows.InterRegion, 2*GB), Cost{DataTransferOut: 0.04}},
		{"transit gateway, sender side", tgw, Cost{Processing: 0.04}},
		{"peering within one AZ ID is free", peerSame, Cost{}},
		{"unclassified is not priced", rec(flows.Egress, flows.Unclassified, 2*GB), Cost{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := m.Price(&tt.r)
			if err != nil {
				t.Fatal(err)
			}
			if !near(got.InterAZ, tt.want.InterAZ) || !near(got.NATProcessing, tt.want.NATProcessing) ||
				!near(got.DataTransferOut, tt.want.DataTransferOut) || !near(got.Processing, tt.want.Processing) {
				t.Errorf("Price(%s) = %+v; want %+v", tt.name, got, tt.want)
			}
		})
	}
	bad := rec(flows.Egress, flows.InterAZ, 1)
	bad.Region = "mars-north-1"
	if _, err := m.Price(&bad); err == nil || !strings.Contains(err.Error(), `unknown region "mars-north-1"`) {
		t.Errorf("Price(unknown region) error = %v", err)
	}
}

func TestAggregatorPairJoin(t *testing.T) {
	m := New(nil)
	req := rec(flows.Egress, flows.InterAZ, 1*GB)   // graphql-a -> products-b, seen by node-a
	resp := rec(flows.Ingress, flows.InterAZ, 3*GB) // products-b -> graphql-a, seen by node-a
	a, b := m.NewAggregator(ByPod), m.NewAggregator(ByPod)
	for _, r := range []flows.Record{req, resp} {
		if err := a.Add(&r); err != nil {
			t.Fatal(err)
		}
		mr := mirror(r) // node-b's report of the same bytes
		if err := b.Add(&mr); err != nil {
			t.Fatal(err)
		}
	}
	a.Merge(b)
	rows, err := a.Rows()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 {
		t.Fatalf("Rows() = %d rows; want one pair: %+v", len(rows), rows)
	}
	r := rows[0]
	// 4 GiB crossed, counted once, priced at both ends: 4 * (0.01 + 0.01).
	if r.Bytes != 4*GB || !near(r.CostUSD, 0.08) || !r.Pair {
		t.Errorf("pair row bytes %d cost %v pair %v; want %d, 0.08, true", r.Bytes, r.CostUSD, r.Pair, 4*GB)
	}
	// The larger sender is Local: products-b sent 3 GiB.
	if r.Local.Pod != "products-b" || r.TxBytes != 3*GB || r.RxBytes != 1*GB || r.Remote.Pod != "graphql-a" {
		t.Errorf("pair row local %s tx %d rx %d remote %s; want products-b 3GiB 1GiB graphql-a", r.Local.Pod, r.TxBytes, r.RxBytes, r.Remote.Pod)
	}

	// With only one agent reporting, the bytes still count once at both prices.
	solo := m.NewAggregator(ByWorkload)
	if err := solo.Add(&req); err != nil {
		t.Fatal(err)
	}
	rows, _ = solo.Rows()
	if len(rows) != 1 || rows[0].Bytes != GB || !near(rows[0].CostUSD, 0.02) || rows[0].Local.Workload != "graphql" || rows[0].Local.Pod != "" {
		t.Errorf("one-sided pair = %+v; want 1 GiB at $0.02 grouped by workload", rows)
	}
}

func TestAggregatorGroupsAndMarksMixedAZ(t *testing.T) {
	m := New(nil)
	ag := m.NewAggregator(ByWorkload)
	for i, az := range []string{"use1-az1", "use1-az2"} {
		r := rec(flows.Egress, flows.NATGateway, GB)
		r.LocalPod, r.LocalAZID = []string{"sqs-a", "sqs-b"}[i], az
		r.RemotePod, r.RemoteNode, r.RemoteService, r.RemoteWorkload, r.RemoteNamespace, r.RemoteAZID = "", "", "", "", "", ""
		r.RemoteIP, r.Via, r.ViaAZID, r.RemoteAWSService, r.RemoteRegion = "52.46.1.1", "nat-1", "use1-az2", "AMAZON", "us-east-1"
		if err := ag.Add(&r); err != nil {
			t.Fatal(err)
		}
	}
	rows, _ := ag.Rows()
	if len(rows) != 1 {
		t.Fatalf("got %d rows; want the two pods in one workload row", len(rows))
	}
	r := rows[0]
	// 2 GiB processed ($0.09) plus 1 GiB crossing to the NAT from az1 ($0.01).
	if r.Bytes != 2*GB || !near(r.CostUSD, 0.10) || r.Local.AZID != Several || r.Local.Workload != "graphql" {
		t.Errorf("row = bytes %d cost %v az %q workload %q; want 2 GiB, 0.10, %q, graphql", r.Bytes, r.CostUSD, r.Local.AZID, r.Local.Workload, Several)
	}
}

func TestOverride(t *testing.T) {
	tb := DefaultTable()
	err := tb.ApplyOverride(strings.NewReader(`{"source":"EDP","regions":{"us-east-1":{"nat_per_gb":0.04}}}`), "o.json")
	if err != nil {
		t.Fatal(err)
	}
	p, _ := tb.Lookup("us-east-1")
	if p.NATPerGB.USD != 0.04 || p.NATPerHour.USD != 0.045 || tb.Sources[p.NATPerGB.Source].What != "EDP" {
		t.Errorf("after override: nat_per_gb %+v, nat_per_hour %v", p.NATPerGB, p.NATPerHour.USD)
	}
	for _, tt := range []struct{ in, want string }{
		{`{"regions":{"us-east-1":{"nat_per_tb":1}}}`, `unknown figure "nat_per_tb"`},
		{`{"regions":{"xx-1":{"nat_per_gb":1}}}`, "must set every figure"},
		{`{"regions":{"us-east-1":{"nat_per_gb":-1}}}`, "not a plausible USD price"},
		{`{"regions":{}}`, "no regions"},
		{`{"region":{}}`, "unknown field"},
		{`not json`, "invalid character"},
	} {
		if err := DefaultTable().ApplyOverride(strings.NewReader(tt.in), "o.json"); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ApplyOverride(%s) error = %v; want %q", tt.in, err, tt.want)
		}
	}
}

func TestEmbeddedTable(t *testing.T) {
	tb := DefaultTable()
	for _, r := range []string{"us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "eu-west-1", "eu-west-2",
		"eu-central-1", "eu-north-1", "ap-south-1", "ap-southeast-1", "ap-southeast-2", "ap-northeast-1", "sa-east-1"} {
		p, err := tb.Lookup(r)
		if err != nil {
			t.Errorf("Lookup(%s): %v", r, err)
			continue
		}
		for _, f := range Figures {
			pr := f.Get(p)
			src, ok := tb.Sources[pr.Source]
			if pr.USD <= 0 || !ok || src.Date == "" || src.Ref == "" {
				t.Errorf("%s %s = %+v: want a positive price with a dated source", r, f.Key, pr)
			}
		}
	}
	if p, _ := tb.Lookup("us-east-1"); p.NATPerGB.USD != 0.045 || p.InterAZPerGB.USD != 0.01 || !p.NATPerGB.IsVerified() {
		t.Errorf("us-east-1 = %+v; want the $0.045 NAT and $0.01 inter-AZ of DESIGN.md, verified", p)
	}
}

func TestInterfaceService(t *testing.T) {
	for host, want := range map[string]string{
		"sqs.us-east-1.amazonaws.com": "sqs", "queue.amazonaws.com": "sqs", "logs.us-east-1.amazonaws.com": "logs",
		"123.dkr.ecr.us-east-1.amazonaws.com": "ecr.dkr", "s3.us-east-1.amazonaws.com": "", "sqs.eu-west-1.amazonaws.com": "",
		"example.com": "",
	} {
		if got := InterfaceService(host, "us-east-1"); got != want {
			t.Errorf("InterfaceService(%q) = %q; want %q", host, got, want)
		}
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
		for _, s := range []string{row.Local.Workload, row.Local.Namespace, row.Remote.IP, row.Remote.Workload, row.Region, row.Via, row.Local.AZID} {
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

// TestPairTotalsIndependentOfGrouping: a pair reported only by its sender,
// another only by its receiver, and a record that lacks the remote's
// workload give the same totals at every grouping level, and the same rows
// whatever the order of the records.
func TestPairTotalsIndependentOfGrouping(t *testing.T) {
	a1 := rec(flows.Egress, flows.InterAZ, GB) // graphql-a -> products-b, sender only
	a2 := mirror(rec(flows.Egress, flows.InterAZ, GB))
	a2.LocalIP, a2.LocalPod, a2.RemoteIP, a2.RemotePod = "10.0.2.8", "products-c", "10.0.1.6", "graphql-d" // receiver only
	a3 := rec(flows.Egress, flows.InterAZ, GB)
	a3.LocalIP, a3.LocalPod, a3.RemoteIP, a3.RemotePod, a3.RemoteWorkload = "10.0.1.7", "graphql-e", "10.0.2.9", "products-f", ""
	a3r := mirror(a3) // the receiver names its own workload
	a3r.LocalWorkload = "products"
	recs := []flows.Record{a1, a2, a3, a3r}
	var first []Row
	for _, g := range []GroupBy{ByPod, ByWorkload, ByNamespace} {
		for _, order := range [][]int{{0, 1, 2, 3}, {3, 2, 1, 0}, {2, 0, 3, 1}} {
			ag := New(nil).NewAggregator(g)
			for _, i := range order {
				if err := ag.Add(&recs[i]); err != nil {
					t.Fatal(err)
				}
			}
			rows, err := ag.Rows()
			if err != nil {
				t.Fatal(err)
			}
			var bytes uint64
			var usd float64
			for _, r := range rows {
				bytes += r.Bytes
				usd += r.CostUSD
			}
			if bytes != 3*GB || !near(usd, 0.06) {
				t.Errorf("%s, order %v: %d bytes, $%v; want 3 GiB, $0.06", g, order, bytes, usd)
			}
			if g == ByWorkload && len(rows) != 1 {
				t.Errorf("by workload: %d rows; want one graphql <-> products row: %+v", len(rows), rows)
			}
			if order[0] == 0 {
				first = rows
			} else if !reflect.DeepEqual(rows, first) {
				t.Errorf("%s: rows depend on the order of records:\n%+v\n%+v", g, rows, first)
			}
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
		t.Errorf("rows hold %d bytes, %d of them unpriced, $%v; want 7 GiB, 5 unpriced, the inter-AZ priced", total, unpriced, cost)
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

// TestIntraAZPairsCountedOnce: two pods in one AZ each report their side
// of the same bytes; the pair is one row with the bytes once (it was
// twice, one row per side), and free.
func TestIntraAZPairsCountedOnce(t *testing.T) {
	m := New(nil)
	a := m.NewAggregator(ByPod)
	sent := rec(flows.Egress, flows.IntraAZ, 3*GB)
	sent.RemoteAZID = sent.LocalAZID
	got := mirror(sent)
	got.Bytes = 3*GB - 1000 // the receiver saw a little less
	for _, r := range []flows.Record{sent, got} {
		if err := a.Add(&r); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := a.Rows()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Bytes != 3*GB || !rows[0].Pair || rows[0].Category != flows.IntraAZ || rows[0].CostUSD != 0 {
		t.Fatalf("rows = %+v; want one free intra-AZ pair of 3 GiB", rows)
	}
}

// podEnd is one pod of a constructed pair.
type podEnd struct{ ip, pod, ns, workload, az, node string }

// sent returns the reports of bytes from src to dst: the sender's egress
// record and, if both, the receiver's ingress record of the same bytes.
func sent(src, dst podEnd, bytes uint64, both bool) []flows.Record {
	r := flows.Record{Schema: 1, TS: t0, WindowS: 60, Region: "us-east-1", Node: src.node, Direction: flows.Egress,
		Category: flows.InterAZ, Protocol: flows.TCP,
		LocalIP: src.ip, LocalPod: src.pod, LocalNamespace: src.ns, LocalWorkload: src.workload, LocalAZID: src.az,
		RemoteIP: dst.ip, RemotePod: dst.pod, RemoteNamespace: dst.ns, RemoteWorkload: dst.workload, RemoteNode: dst.node,
		RemoteAZID: dst.az, Bytes: bytes}
	if !both {
		return []flows.Record{r}
	}
	m := mirror(r)
	m.LocalNamespace, m.RemoteNamespace = r.RemoteNamespace, r.LocalNamespace
	return []flows.Record{r, m}
}

// TestGroupedPairsMatchPodPairs: rows grouped by workload or namespace hold,
// sent and received, the sums of the pod rows that fold into them. Where
// both ends fold into one group (shop <-> shop by namespace, cache <-> cache
// by workload), the split is the pod rows' split; it was all sent, nothing
// received.
func TestGroupedPairsMatchPodPairs(t *testing.T) {
	graphqlA := podEnd{"10.0.1.5", "graphql-a", "shop", "graphql", "use1-az1", "node-a"}
	productsB := podEnd{"10.0.2.7", "products-b", "shop", "products", "use1-az2", "node-b"}
	ordersC := podEnd{"10.0.1.8", "orders-c", "shop", "orders", "use1-az1", "node-a"}
	graphqlD := podEnd{"10.0.2.9", "graphql-d", "shop", "graphql", "use1-az2", "node-b"}
	ledgerE := podEnd{"10.0.2.10", "ledger-e", "billing", "ledger", "use1-az2", "node-b"}
	cache0 := podEnd{"10.0.1.11", "cache-0", "shop", "cache", "use1-az1", "node-a"}
	cache1 := podEnd{"10.0.2.12", "cache-1", "shop", "cache", "use1-az2", "node-b"}
	cache2 := podEnd{"10.0.1.13", "cache-2", "shop", "cache", "use1-az1", "node-a"}
	var recs []flows.Record
	for _, s := range []struct {
		src, dst podEnd
		gib      uint64
		both     bool
	}{
		{productsB, graphqlA, 9, true}, {graphqlA, productsB, 1, true},
		{graphqlD, ordersC, 4, true}, {ordersC, graphqlD, 1, false}, // graphql the larger sender this time
		{ledgerE, graphqlA, 5, true}, {graphqlA, ledgerE, 2, true}, // billing <-> shop
		{cache0, cache1, 3, true}, {cache1, cache0, 2, true},
		{cache1, cache2, 6, false}, {cache2, cache1, 1, true},
	} {
		recs = append(recs, sent(s.src, s.dst, s.gib*GB, s.both)...)
	}
	rowsBy := func(g GroupBy) []Row {
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
		return rows
	}
	pods := rowsBy(ByPod)
	for _, g := range []GroupBy{ByWorkload, ByNamespace} {
		t.Run(g.String(), func(t *testing.T) {
			type sums struct {
				bytes, tx, rx uint64
				usd           float64
			}
			want := map[[2]ident]*sums{}
			for _, r := range rowsBy(g) {
				l, rm := identifyEndpoint(g, &r.Local), identifyEndpoint(g, &r.Remote)
				want[[2]ident{l, rm}] = &sums{}
			}
			selfRx := uint64(0)
			for _, p := range pods {
				l, rm := identifyEndpoint(g, &p.Local), identifyEndpoint(g, &p.Remote)
				s, tx, rx := want[[2]ident{l, rm}], p.TxBytes, p.RxBytes
				if s == nil {
					s, tx, rx = want[[2]ident{rm, l}], rx, tx
				}
				if s == nil {
					t.Fatalf("pod row %s/%s <-> %s/%s has no %s row", p.Local.Namespace, p.Local.Pod, p.Remote.Namespace, p.Remote.Pod, g)
				}
				s.bytes, s.tx, s.rx, s.usd = s.bytes+p.Bytes, s.tx+tx, s.rx+rx, s.usd+p.CostUSD
				if l == rm {
					selfRx += rx
				}
			}
			if selfRx == 0 {
				t.Fatalf("no pod pair within one %s received anything: the test does not test the case", g)
			}
			for _, r := range rowsBy(g) {
				s := want[[2]ident{identifyEndpoint(g, &r.Local), identifyEndpoint(g, &r.Remote)}]
				if r.Bytes != s.bytes || r.TxBytes != s.tx || r.RxBytes != s.rx || !near(r.CostUSD, s.usd) {
					t.Errorf("%s row %s/%s <-> %s/%s: bytes %d sent %d received %d $%v; want the pod rows' %d, %d, %d, $%v",
						g, r.Local.Namespace, r.Local.Workload, r.Remote.Namespace, r.Remote.Workload,
						r.Bytes, r.TxBytes, r.RxBytes, r.CostUSD, s.bytes, s.tx, s.rx, s.usd)
				}
			}
		})
	}
}
