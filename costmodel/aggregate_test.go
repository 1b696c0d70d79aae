package costmodel

import (
	"reflect"
	"testing"

	"github.com/netcost/netcost/internal/flows"
)

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
		t.Errorf("pair row local %s tx %d rx %d remote %s; want products-b 3GiB 1GiB graphql-a",
			r.Local.Pod, r.TxBytes, r.RxBytes, r.Remote.Pod)
	}

	// A remote whose node runs no agent (a Fargate pod): the one record
	// counts its bytes once and prices both interfaces.
	solo := m.NewAggregator(ByWorkload)
	req.RemoteReportedRaw = flows.BoolFalse
	if err := solo.Add(&req); err != nil {
		t.Fatal(err)
	}
	rows, _ = solo.Rows()
	if len(rows) != 1 || rows[0].Bytes != GB || !near(rows[0].CostUSD, 0.02) || rows[0].Local.Workload != "graphql" ||
		rows[0].Local.Pod != "" {
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
		r.RemoteIP, r.Via, r.ViaAZID = "52.46.1.1", "nat-1", "use1-az2"
		r.RemoteAWSService, r.RemoteRegion = "AMAZON", "us-east-1"
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
		t.Errorf("row = bytes %d cost %v az %q workload %q; want 2 GiB, 0.10, %q, graphql",
			r.Bytes, r.CostUSD, r.Local.AZID, r.Local.Workload, Several)
	}
}

// TestPairTotalsIndependentOfGrouping: a pair reported only by its sender,
// another only by its receiver (their remotes run no agent), and a record
// that lacks the remote's
// workload give the same totals at every grouping level, and the same rows
// whatever the order of the records.
func TestPairTotalsIndependentOfGrouping(t *testing.T) {
	a1 := rec(flows.Egress, flows.InterAZ, GB) // graphql-a -> products-b, sender only: products-b has no agent
	a1.RemoteReportedRaw = flows.BoolFalse
	a2 := mirror(rec(flows.Egress, flows.InterAZ, GB))
	a2.LocalIP, a2.LocalPod, a2.RemoteIP, a2.RemotePod = "10.0.2.8", "products-c", "10.0.1.6", "graphql-d" // receiver only
	a2.RemoteReportedRaw = flows.BoolFalse
	a3 := rec(flows.Egress, flows.InterAZ, GB)
	a3.LocalIP, a3.LocalPod = "10.0.1.7", "graphql-e"
	a3.RemoteIP, a3.RemotePod, a3.RemoteWorkload = "10.0.2.9", "products-f", ""
	a3r := mirror(a3) // the receiver names its own workload
	a3r.LocalWorkload = "products"
	recs := []flows.Record{a1, a2, a3, a3r}
	var first []Row
	for _, g := range []GroupBy{ByPod, ByWorkload, ByNamespace} {
		for _, order := range [][]int{{0, 1, 2, 3}, {3, 2, 1, 0}, {2, 0, 3, 1}} {
			ordered := make([]flows.Record, len(order))
			for j, i := range order {
				ordered[j] = recs[i]
			}
			rows, bytes, usd := aggregate(t, g, ordered...)
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

// TestIntraAZPairsCountedOnce: two pods in one AZ each report their side
// of the same bytes; the pair is one row with the bytes once, and free.
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
	if len(rows) != 1 || rows[0].Bytes != 3*GB || !rows[0].Pair || rows[0].Category != flows.IntraAZ ||
		rows[0].CostUSD != 0 {
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
// by workload), the split is the pod rows' split.
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
		rows, _, _ := aggregate(t, g, recs...)
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
					t.Fatalf("pod row %s/%s <-> %s/%s has no %s row",
						p.Local.Namespace, p.Local.Pod, p.Remote.Namespace, p.Remote.Pod, g)
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
