package window

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/netcost/netcost/internal/flows"
)

var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func rec(pod, workload, remote string, port uint16, cat flows.Category, dir flows.Direction, bytes uint64) flows.Record {
	return flows.Record{Schema: 1, TS: t0.Add(17 * time.Second), WindowS: 5, Cluster: "shop", Node: "n1", Region: "us-east-1",
		Direction: dir, Category: cat, Protocol: flows.TCP, LocalIP: "10.0.1." + fmt.Sprint(len(pod)), LocalPod: pod,
		LocalNamespace: "shop", LocalWorkload: workload, RemoteIP: remote, RemotePort: port, Bytes: bytes, Packets: 1 + bytes/1400}
}

func TestAddMergesAndStampsTheWindow(t *testing.T) {
	w := New(t0, time.Minute)
	a := rec("web-1", "web", "52.1.1.1", 443, flows.NATGateway, flows.Egress, 100)
	w.Add(&a)
	w.Add(&a)
	b := a
	b.Direction = flows.Ingress
	w.Add(&b)
	got := w.Records(0)
	if len(got) != 2 || got[0].Bytes != 200 || got[0].Packets != 2 || !got[0].TS.Equal(t0) || got[0].WindowS != 60 {
		t.Fatalf("Records = %+v; want egress 200 bytes in 2 packets at the window's start, and ingress", got)
	}
	for _, r := range got {
		if err := r.Validate(); err != nil {
			t.Errorf("record %+v: %v", r, err)
		}
	}
}

// TestFoldKeepsTotals: many small remotes per workload are folded beyond the
// top K; per workload, category and direction the totals are unchanged.
func TestFoldKeepsTotals(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	w := New(t0, time.Minute)
	type group struct {
		workload string
		cat      flows.Category
		dir      flows.Direction
	}
	want := map[group][2]uint64{}
	for i := range 5000 {
		wl := []string{"web", "api", "batch"}[i%3]
		cat := []flows.Category{flows.NATGateway, flows.InterAZ, flows.Internet}[rng.IntN(3)]
		dir := []flows.Direction{flows.Egress, flows.Ingress}[rng.IntN(2)]
		r := rec(fmt.Sprintf("%s-%d", wl, rng.IntN(4)), wl, fmt.Sprintf("52.%d.%d.%d", rng.IntN(4), rng.IntN(250), rng.IntN(250)),
			uint16(443+rng.IntN(3)), cat, dir, uint64(1+rng.IntN(100000)))
		w.Add(&r)
		g := group{wl, cat, dir}
		v := want[g]
		want[g] = [2]uint64{v[0] + r.Bytes, v[1] + r.Packets}
	}
	const topK = 10
	got := map[group][2]uint64{}
	others := map[group]int{}
	kept := map[group]int{}
	var total uint64
	for _, r := range w.Records(topK) {
		if err := r.Validate(); err != nil {
			t.Fatalf("record %+v: %v", r, err)
		}
		g := group{r.LocalWorkload, r.Category, r.Direction}
		v := got[g]
		got[g] = [2]uint64{v[0] + r.Bytes, v[1] + r.Packets}
		total += r.Bytes
		if r.RemoteIP == flows.OtherIP {
			others[g]++
		} else {
			kept[g]++
		}
	}
	if total != w.Bytes() {
		t.Errorf("records hold %d bytes; %d were added", total, w.Bytes())
	}
	for g, v := range want {
		if got[g] != v {
			t.Errorf("%+v: %v bytes/packets after folding; want %v", g, got[g], v)
		}
		if others[g] != 1 || kept[g] != topK {
			t.Errorf("%+v: %d kept, %d other; want %d and 1", g, kept[g], others[g], topK)
		}
	}
}

func TestFoldKeepsBilledHopsApart(t *testing.T) {
	// S3 through the NAT and through the gateway endpoint never fold together.
	w := New(t0, time.Minute)
	for i := range 30 {
		r := rec("up-1", "up", fmt.Sprintf("52.216.0.%d", i), 443, flows.AmazonS3, flows.Egress, uint64(100+i))
		r.Via = "nat-1"
		if i%2 == 0 {
			r.Via = "vpce-1"
		}
		w.Add(&r)
	}
	byVia := map[string]uint64{}
	for _, r := range w.Records(3) {
		byVia[r.Via] += r.Bytes
	}
	var nat, vpce uint64
	for i := range 30 {
		if i%2 == 0 {
			vpce += uint64(100 + i)
		} else {
			nat += uint64(100 + i)
		}
	}
	if byVia["nat-1"] != nat || byVia["vpce-1"] != vpce {
		t.Errorf("bytes by hop %v; want nat-1 %d, vpce-1 %d", byVia, nat, vpce)
	}
}

// TestFoldKeepsReportedApart: remotes whose agents report the same bytes
// (pods on nodes running the agent) and remotes that do not (a database, a
// Fargate pod) of one workload fold into two "other" records, each with
// its own remote_reported and its own totals.
func TestFoldKeepsReportedApart(t *testing.T) {
	w := New(t0, time.Minute)
	var want [3]uint64 // by remote_reported
	for i := range 40 {
		r := rec("web-1", "web", fmt.Sprintf("10.0.2.%d", i), 5432, flows.InterAZ, flows.Egress, uint64(1000+i))
		r.NodeInstanceID = "i-0abc123def4567890"
		r.RemoteReportedRaw = flows.BoolOf(i%2 == 0)
		w.Add(&r)
		want[r.RemoteReportedRaw] += r.Bytes
	}
	var got [3]uint64
	others := map[flows.OptBool]int{}
	for _, r := range w.Records(3) {
		got[r.RemoteReportedRaw] += r.Bytes
		if r.RemoteIP == flows.OtherIP {
			others[r.RemoteReportedRaw]++
			if r.NodeInstanceID != "i-0abc123def4567890" || r.LocalWorkload != "web" {
				t.Errorf("other record %+v lacks the node's instance or the workload", r)
			}
		}
	}
	if got != want || others[flows.BoolTrue] != 1 || others[flows.BoolFalse] != 1 || others[flows.BoolUnset] != 0 {
		t.Errorf("bytes by remote_reported %v, other records %v; want %v and one other record each for true and false",
			got, others, want)
	}
}

// TestFoldKeepsAgreedName: the "other" record keeps the remote name of what it folds only where all agree.
func TestFoldKeepsAgreedName(t *testing.T) {
	tests := []struct {
		name          string
		names         [][2]string // of the folded records: name, source
		want, wantSrc string
	}{
		{"all agree", [][2]string{{"s3.example", "dns"}, {"s3.example", "dns"}, {"s3.example", "dns"}}, "s3.example", "dns"},
		{"names differ", [][2]string{{"s3.example", "dns"}, {"s3.example", "dns"}, {"sqs.example", "dns"}}, "", ""},
		{"sources differ", [][2]string{{"s3.example", "dns"}, {"s3.example", "sni"}, {"s3.example", "dns"}}, "", ""},
		{"one unnamed", [][2]string{{"s3.example", "dns"}, {"", ""}, {"s3.example", "dns"}}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := New(t0, time.Minute)
			big := rec("web-1", "web", "52.0.0.1", 443, flows.NATGateway, flows.Egress, 1000)
			big.RemoteName, big.RemoteNameSource = "big.example", "sni"
			w.Add(&big)
			for i, n := range tt.names {
				r := rec("web-1", "web", fmt.Sprintf("52.0.1.%d", i), 443, flows.NATGateway, flows.Egress, uint64(10+i))
				r.RemoteName, r.RemoteNameSource = n[0], n[1]
				w.Add(&r)
			}
			got := w.Records(1)
			if len(got) != 2 || got[1].RemoteIP != flows.OtherIP {
				t.Fatalf("Records(1) = %+v; want the largest and other", got)
			}
			if got[0].RemoteName != "big.example" {
				t.Errorf("kept record's name = %q; want big.example", got[0].RemoteName)
			}
			if o := got[1]; o.RemoteName != tt.want || o.RemoteNameSource != tt.wantSrc {
				t.Errorf("other's name = %q/%q; want %q/%q", o.RemoteName, o.RemoteNameSource, tt.want, tt.wantSrc)
			}
			if err := got[1].Validate(); err != nil {
				t.Errorf("other: %v", err)
			}
		})
	}
}
