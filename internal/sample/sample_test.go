package sample

import (
	"bytes"
	"context"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netcost/netcost/internal/flows"
	"github.com/netcost/netcost/internal/source"
)

// readStore reads every record at dir with source.Read.
func readStore(t *testing.T, dir string) ([]flows.Record, source.ReadStats) {
	t.Helper()
	var (
		mu   sync.Mutex
		recs []flows.Record
	)
	stats, err := source.Read(context.Background(), dir, source.ReadOptions{}, func(_ int, r *flows.Record) error {
		if err := r.Validate(); err != nil {
			return err
		}
		c := r.Clone()
		mu.Lock()
		recs = append(recs, c)
		mu.Unlock()
		return nil
	})
	if err != nil {
		t.Fatalf("reading %s: %v", dir, err)
	}
	return recs, stats
}

func writeStore(t *testing.T, opt Options) (string, Truth) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "store")
	truth, err := WriteStore(dir, opt)
	if err != nil {
		t.Fatal(err)
	}
	return dir, truth
}

func dirContents(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := make(map[string][]byte)
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		m[e.Name()] = b
	}
	return m
}

func TestWriteStoreFiles(t *testing.T) {
	dir, truth := writeStore(t, DefaultOptions())
	got := slices.Sorted(maps.Keys(dirContents(t, dir)))
	want := []string{NodeAZ1 + ".jsonl", NodeAZ2 + ".jsonl.gz"}
	if !slices.Equal(got, want) {
		t.Fatalf("files = %v, want %v", got, want)
	}
	_, stats := readStore(t, dir)
	if stats.Records != truth.Records || stats.Files != 2 {
		t.Errorf("read %d records from %d files, truth says %d records", stats.Records, stats.Files, truth.Records)
	}
	var size int64
	for _, name := range want {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		size += st.Size()
	}
	if size > 3<<20 {
		t.Errorf("the store takes %d bytes, want at most 3 MiB", size)
	}
}

func TestDeterministic(t *testing.T) {
	for _, opt := range []Options{DefaultOptions(), {Start: time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC), Windows: 90, Seed: 7}} {
		d1, t1 := writeStore(t, opt)
		d2, t2 := writeStore(t, opt)
		c1, c2 := dirContents(t, d1), dirContents(t, d2)
		if !maps.EqualFunc(c1, c2, bytes.Equal) {
			t.Errorf("%+v: two runs wrote different stores", opt)
		}
		if t1.String() != t2.String() {
			t.Errorf("%+v: two runs report different truths:\n%s\n%s", opt, t1, t2)
		}
	}
	// Another seed moves bytes between windows but not between hours.
	da, a := writeStore(t, DefaultOptions())
	o := DefaultOptions()
	o.Seed++
	d, b := writeStore(t, o)
	if !maps.Equal(a.Categories, b.Categories) || !maps.Equal(a.InterAZPairs, b.InterAZPairs) || !maps.Equal(a.NAT, b.NAT) {
		t.Errorf("hourly totals depend on the seed:\n%s\n%s", a, b)
	}
	if maps.EqualFunc(dirContents(t, d), dirContents(t, da), bytes.Equal) {
		t.Error("another seed wrote the same store")
	}
}

func TestRecordsValidAndComplete(t *testing.T) {
	dir, _ := writeStore(t, DefaultOptions())
	recs, _ := readStore(t, dir)
	for _, r := range recs {
		if r.Cluster != Cluster || r.Region != Region || r.WindowS != WindowS ||
			r.LocalAZ == "" || r.LocalAZID == "" || r.LocalSubnet == "" || r.LocalIP == "" || r.RemoteIP == "" {
			t.Fatalf("record misses a producer or local field: %+v", r)
		}
		if r.Node != NodeAZ1 && r.Node != NodeAZ2 {
			t.Fatalf("record from unknown node %q", r.Node)
		}
		if r.LocalPod != "" && (r.LocalNamespace == "" || r.LocalWorkload == "" || r.LocalWorkloadKind == "") {
			t.Fatalf("pod record misses its workload: %+v", r)
		}
		if r.Packets == 0 || r.Bytes == 0 {
			t.Fatalf("empty record: %+v", r)
		}
		switch r.Category {
		case flows.IntraAZ, flows.InterAZ:
			if r.RemotePod == "" || r.RemoteNode == "" || r.RemoteAZID == "" || r.RemoteWorkload == "" {
				t.Fatalf("pod-to-pod record misses its remote: %+v", r)
			}
			if (r.RemoteAZID == r.LocalAZID) != (r.Category == flows.IntraAZ) {
				t.Fatalf("category %s between %s and %s", r.Category, r.LocalAZID, r.RemoteAZID)
			}
			if (r.RemoteService != "") != (r.RemotePort != 0) {
				t.Fatalf("remote_service and remote_port must come together (client side only): %+v", r)
			}
		case flows.NATGateway, flows.AmazonDynamoDB:
			if r.Via != NATGateway || r.ViaAZID != NATAZID || r.RemoteName == "" || r.RemotePort != 443 {
				t.Fatalf("NAT record: %+v", r)
			}
		case flows.AmazonS3:
			if r.RemoteAWSService != "S3" || r.RemoteRegion != Region {
				t.Fatalf("S3 record: %+v", r)
			}
			// az1 has the gateway endpoint; az2 goes through the NAT.
			wantVia := NATGateway
			if r.LocalAZID == zones[0].id {
				wantVia = S3Endpoint
			}
			if r.Via != wantVia {
				t.Fatalf("S3 from %s via %q, want %q", r.LocalAZID, r.Via, wantVia)
			}
		case flows.Unclassified:
			if r.LocalPod != "" || r.Protocol != flows.UDP {
				t.Fatalf("unclassified record: %+v", r)
			}
		default:
			t.Fatalf("unexpected category %s", r.Category)
		}
	}
}

func TestTimeOrderPerNode(t *testing.T) {
	last := make(map[string]time.Time)
	n := 0
	err := Generate(DefaultOptions(), func(node string, r *flows.Record) error {
		if node != r.Node {
			t.Fatalf("emitted for %s a record of %s", node, r.Node)
		}
		if r.TS.Before(last[node]) {
			t.Fatalf("%s: %s after %s", node, r.TS, last[node])
		}
		last[node] = r.TS
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	start := DefaultOptions().Start
	for node, ts := range last {
		if want := start.Add(59 * time.Minute); !ts.Equal(want) {
			t.Errorf("%s: last window %s, want %s", node, ts, want)
		}
	}
}

// TestTwins checks that every pod-to-pod transfer is reported by both ends:
// the sender's egress and the receiver's ingress, with equal bytes.
func TestTwins(t *testing.T) {
	dir, _ := writeStore(t, DefaultOptions())
	recs, _ := readStore(t, dir)
	type key struct {
		ts               time.Time
		sender, receiver string
	}
	type twin struct{ egress, ingress []flows.Record }
	twins := make(map[key]*twin)
	crossNode := 0
	for _, r := range recs {
		if r.RemotePod == "" {
			continue
		}
		k := key{r.TS, r.LocalPod, r.RemotePod}
		if r.Direction == flows.Ingress {
			k.sender, k.receiver = r.RemotePod, r.LocalPod
		}
		tw := twins[k]
		if tw == nil {
			tw = &twin{}
			twins[k] = tw
		}
		if r.Direction == flows.Egress {
			tw.egress = append(tw.egress, r)
		} else {
			tw.ingress = append(tw.ingress, r)
		}
	}
	if len(twins) == 0 {
		t.Fatal("no pod-to-pod records")
	}
	for k, tw := range twins {
		if len(tw.egress) != 1 || len(tw.ingress) != 1 {
			t.Fatalf("%v: %d egress and %d ingress records, want one each", k, len(tw.egress), len(tw.ingress))
		}
		e, i := tw.egress[0], tw.ingress[0]
		if e.Bytes != i.Bytes || e.Packets != i.Packets || e.Category != i.Category || e.Protocol != i.Protocol {
			t.Errorf("%v: egress %d bytes %d packets %s, ingress %d bytes %d packets %s",
				k, e.Bytes, e.Packets, e.Category, i.Bytes, i.Packets, i.Category)
		}
		if e.Node != i.RemoteNode || i.Node != e.RemoteNode || e.LocalIP != i.RemoteIP || i.LocalIP != e.RemoteIP ||
			e.LocalAZID != i.RemoteAZID || i.LocalAZID != e.RemoteAZID {
			t.Errorf("%v: the two sides disagree on the endpoints:\n%+v\n%+v", k, e, i)
		}
		if e.Node != i.Node {
			crossNode++
		}
	}
	if crossNode == 0 {
		t.Error("no transfer between the two nodes")
	}
}

// TestTruthMatchesStore recounts the written store and compares with Truth.
func TestTruthMatchesStore(t *testing.T) {
	for _, opt := range []Options{DefaultOptions(), {Windows: 150, Seed: 99}} {
		dir, truth := writeStore(t, opt)
		recs, _ := readStore(t, dir)
		cats := make(map[flows.Category]uint64)
		nat := make(map[string]uint64)
		pairs := make(map[PodPair]uint64)
		for i := range recs {
			r := &recs[i]
			cats[r.Category] += r.Bytes
			if r.ViaNAT() {
				nat[NATKey(r)] += r.Bytes
			}
			if r.Category == flows.InterAZ && r.RemotePod != "" && r.Direction == flows.Egress {
				pairs[Pair(r.LocalPod, r.RemotePod)] += r.Bytes
			}
		}
		if int64(len(recs)) != truth.Records {
			t.Errorf("%d records, truth says %d", len(recs), truth.Records)
		}
		if !maps.Equal(cats, truth.Categories) {
			t.Errorf("categories: store %v, truth %v", cats, truth.Categories)
		}
		if !maps.Equal(nat, truth.NAT) {
			t.Errorf("NAT: store %v, truth %v", nat, truth.NAT)
		}
		if !maps.Equal(pairs, truth.InterAZPairs) {
			t.Errorf("pairs: store %v, truth %v", pairs, truth.InterAZPairs)
		}
	}
}

// TestScenarioTotals pins the hourly totals the scenario promises.
func TestScenarioTotals(t *testing.T) {
	truth, err := GenerateWithTruth(DefaultOptions(), func(string, *flows.Record) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	var graphqlProducts uint64
	for p, b := range truth.InterAZPairs {
		if strings.HasPrefix(p.A, "graphql-") && strings.HasPrefix(p.B, "products-") {
			graphqlProducts += b
		}
	}
	if graphqlProducts != 40*GiB {
		t.Errorf("graphql<->products crosses %d bytes an hour, want 40 GiB", graphqlProducts)
	}
	want := map[string]uint64{
		"orders-6f8d9c7b5-m4n8p":       GiB + GiB/2,
		"sqs-sender-84b6d5f7c9-t5wzr":  6*GiB + 256*MiB,
		"images-6c8b7d9f5-r2m6x":       3*GiB + 64*MiB,
		"payments-5d7f8c6b9-z4q7n":     200 * MiB,
		"catalog-sync-6b5c8d7f9-q3w8e": 7*GiB + 256*MiB,
		"datadog-agent-7kq2m":          300 * MiB,
		"datadog-agent-x9v4c":          300 * MiB,
	}
	if !maps.Equal(truth.NAT, want) {
		t.Errorf("NAT = %v, want %v", truth.NAT, want)
	}
	if got := truth.InterAZPairs[Pair("graphql-7d9f8b6c5-p7r4t", "orders-6f8d9c7b5-m4n8p")]; got != 3*GiB {
		t.Errorf("graphql(az2)<->orders crosses %d bytes, want 3 GiB", got)
	}
	if len(truth.InterAZPairs) != 3 {
		t.Errorf("inter-AZ pairs = %v, want 3", truth.InterAZPairs)
	}
}

func TestWriteScaled(t *testing.T) {
	defer func(n int64) { maxLinesPerFile = n }(maxLinesPerFile)
	maxLinesPerFile = 7000
	dir := filepath.Join(t.TempDir(), "scaled")
	if err := WriteScaled(dir, 20000, 1); err != nil {
		t.Fatal(err)
	}
	first := dirContents(t, dir)
	if got, want := slices.Sorted(maps.Keys(first)), []string{ScaledFileName(0), ScaledFileName(1), ScaledFileName(2)}; !slices.Equal(got, want) {
		t.Fatalf("files = %v, want %v", got, want)
	}
	for name, b := range first {
		if n := bytes.Count(b, []byte{'\n'}); n > int(maxLinesPerFile) {
			t.Errorf("%s has %d lines", name, n)
		}
	}
	recs, stats := readStore(t, dir)
	if stats.Records != 20000 {
		t.Fatalf("wrote %d records, want 20000", stats.Records)
	}
	cats := make(map[flows.Category]int)
	for _, r := range recs {
		cats[r.Category]++
	}
	for _, c := range []flows.Category{flows.IntraAZ, flows.InterAZ, flows.AmazonS3, flows.AmazonDynamoDB, flows.NATGateway, flows.Unclassified} {
		if cats[c] == 0 {
			t.Errorf("no %s records", c)
		}
	}

	// Same arguments, same bytes; a smaller store removes the stale parts.
	if err := WriteScaled(dir, 20000, 1); err != nil {
		t.Fatal(err)
	}
	if !maps.EqualFunc(first, dirContents(t, dir), bytes.Equal) {
		t.Error("two runs wrote different scaled stores")
	}
	if err := WriteScaled(dir, 5000, 1); err != nil {
		t.Fatal(err)
	}
	if _, stats := readStore(t, dir); stats.Records != 5000 || stats.Files != 1 {
		t.Errorf("after a smaller run: %d records in %d files, want 5000 in 1", stats.Records, stats.Files)
	}
}

func TestWriteScaledCopies(t *testing.T) {
	// Enough records for several copies of the cluster: their pods and nodes are distinct.
	if testing.Short() {
		t.Skip("writes a few hundred thousand records")
	}
	per := int64(buildTopology(1).recordsPerWindow())
	records := 3*per*scaledDay + 17
	dir := filepath.Join(t.TempDir(), "scaled")
	if err := WriteScaled(dir, records, 1); err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		nodes = make(map[string]bool)
		ips   = make(map[string]string)
	)
	stats, err := source.Read(context.Background(), dir, source.ReadOptions{}, func(_ int, r *flows.Record) error {
		mu.Lock()
		defer mu.Unlock()
		nodes[r.Node] = true
		if r.LocalPod != "" {
			if p, ok := ips[r.LocalIP]; ok && p != r.LocalPod {
				t.Errorf("%s is both %s and %s", r.LocalIP, p, r.LocalPod)
			}
			ips[strings.Clone(r.LocalIP)] = strings.Clone(r.LocalPod)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if stats.Records != records {
		t.Errorf("%d records, want %d", stats.Records, records)
	}
	if len(nodes) != 8 || len(ips) != 4*len(podSpecs) {
		t.Errorf("%d nodes and %d pods, want 8 and %d", len(nodes), len(ips), 4*len(podSpecs))
	}
}

func TestOptionsErrors(t *testing.T) {
	if err := Generate(Options{Windows: -1}, func(string, *flows.Record) error { return nil }); err == nil {
		t.Error("negative windows accepted")
	}
	if err := WriteScaled(t.TempDir(), 0, 1); err == nil {
		t.Error("zero records accepted")
	}
}

func BenchmarkWriteScaled(b *testing.B) {
	dir := b.TempDir()
	const n = 200_000
	for b.Loop() {
		if err := WriteScaled(dir, n, 1); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
}
