package source

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/netcost/netcost/internal/awscfg"
	"github.com/netcost/netcost/internal/flows"
	"github.com/netcost/netcost/internal/insightstest"
)

var gapStart = time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)

// gapRecords is two records (egress and ingress) a minute for each node over six hours from gapStart, but
// in the minutes that down says the node's agent was not running.
func gapRecords(nodes []string, down func(node string, at time.Time) bool) (recs []flows.Record, by []string) {
	for m := range 6 * 60 {
		ts := gapStart.Add(time.Duration(m) * time.Minute)
		for i, node := range nodes {
			if down(node, ts) {
				continue
			}
			for _, d := range []flows.Direction{flows.Egress, flows.Ingress} {
				recs = append(recs, flows.Record{Schema: flows.SchemaVersion, TS: ts, WindowS: 60, Cluster: "c",
					Node: node, Region: "us-east-1", Direction: d, Category: flows.InterAZ, Protocol: flows.TCP,
					LocalIP: fmt.Sprintf("10.0.1.%d", i+1), RemoteIP: "10.0.2.9", Bytes: 1000, Packets: 1})
				by = append(by, node)
			}
		}
	}
	return recs, by
}

// readNotes reads every record of recs in w from a file store and from Logs Insights (the fake), and
// returns each one's notes.
func readNotes(t *testing.T, recs []flows.Record, nodes []string, w Window) (files, insights []string) {
	t.Helper()
	insightstest.AWSEnv(t)
	fastPolls(t)
	srv := insightstest.Start(t)
	srv.PutRecords(DefaultLogGroup, nodes, recs)
	group := &LogGroup{Name: DefaultLogGroup, AWS: awscfg.Options{Region: "us-east-1", EndpointURL: srv.URL}}
	store := &Store{Path: insightstest.WriteStore(t, recs)}
	for _, r := range []struct {
		src   reader
		notes *[]string
	}{{store, &files}, {group, &insights}} {
		_, sp := groupSums(t, r.src, w, nil)
		*r.notes = sp.Notes
	}
	return files, insights
}

// TestGapNotes: a node whose agent was down for 2h10m of the six hours read gets a note saying so, when
// (from the records one by one) and, from Logs Insights, between which times; a node down for two minutes
// (a restart) gets none, nor do the others.
func TestGapNotes(t *testing.T) {
	nodes := []string{"ip-10-0-1-5", "ip-10-0-1-6", "ip-10-0-1-7"}
	down := func(node string, at time.Time) bool {
		switch node {
		case "ip-10-0-1-5": // 03:00-05:10
			return !at.Before(gapStart.Add(3*time.Hour)) && at.Before(gapStart.Add(5*time.Hour+10*time.Minute))
		case "ip-10-0-1-6": // 01:00-01:02
			return !at.Before(gapStart.Add(time.Hour)) && at.Before(gapStart.Add(time.Hour+2*time.Minute))
		}
		return false
	}
	recs, by := gapRecords(nodes, down)
	files, insights := readNotes(t, recs, by, Window{gapStart, gapStart.Add(6 * time.Hour)})
	const tail = ": its agent was not running or the node was down; these figures do not cover it then"
	want := []string{"node ip-10-0-1-5: no records for 2h10m of the 6h read (03:00-05:10 UTC)" + tail}
	if !slices.Equal(files, want) {
		t.Errorf("file store notes:\n%s\nwant\n%s", strings.Join(files, "\n"), strings.Join(want, "\n"))
	}
	if want := []string{"node ip-10-0-1-5: no records for 2h10m of the 6h read (in windows between 00:00 and " +
		"06:00 UTC)" + tail}; !slices.Equal(insights, want) {
		t.Errorf("Logs Insights notes:\n%s\nwant\n%s", strings.Join(insights, "\n"), strings.Join(want, "\n"))
	}

	// The same nodes without holes: no note.
	recs, by = gapRecords(nodes, func(string, time.Time) bool { return false })
	files, insights = readNotes(t, recs, by, Window{gapStart, gapStart.Add(6 * time.Hour)})
	if len(files) != 0 || len(insights) != 0 {
		t.Errorf("a store without holes: notes %q from files, %q from Logs Insights; want none", files, insights)
	}
}

// TestGapNotesEnds: a node that started late and one that stopped early have holes at the span's ends,
// which Logs Insights places too.
func TestGapNotesEnds(t *testing.T) {
	nodes := []string{"early", "late", "steady"}
	recs, by := gapRecords(nodes, func(node string, at time.Time) bool {
		return node == "early" && !at.Before(gapStart.Add(5*time.Hour)) ||
			node == "late" && at.Before(gapStart.Add(30*time.Minute))
	})
	files, insights := readNotes(t, recs, by, Window{gapStart, gapStart.Add(6 * time.Hour)})
	for _, notes := range [][]string{files, insights} {
		if len(notes) != 2 ||
			!strings.HasPrefix(notes[0], "node early: no records for 1h of the 6h read (05:00-06:00 UTC)") ||
			!strings.HasPrefix(notes[1], "node late: no records for 30m of the 6h read (00:00-00:30 UTC)") {
			t.Errorf("notes:\n%s\nwant early's hour at the end, then late's half hour at the start", strings.Join(notes, "\n"))
		}
	}
}

// TestGapNotesBounded: past maxGapNotes nodes with holes, one note sums up the others; past maxGapPlaces
// holes, a note counts the rest.
func TestGapNotesBounded(t *testing.T) {
	var ns nodeSpans
	from, to := gapStart, gapStart.Add(24*time.Hour)
	for i := range 8 {
		node := fmt.Sprintf("n%d", i)
		for m := 0; m < 24*60; m++ {
			at := from.Add(time.Duration(m) * time.Minute)
			// node i is down 10 minutes of every hour from 00:00 until hour i+1
			if at.Minute() < 10 && at.Hour() <= i {
				continue
			}
			ns.note(node, at, at.Add(time.Minute))
		}
	}
	notes := ns.gapNotes(from, to)
	if len(notes) != maxGapNotes+1 {
		t.Fatalf("%d notes; want %d and a sum:\n%s", len(notes), maxGapNotes, strings.Join(notes, "\n"))
	}
	want := "node n7: no records for 1h20m of the 24h read (00:00-00:10, 01:00-01:10, 02:00-02:10, and 5 more UTC)"
	if !strings.HasPrefix(notes[0], want) {
		t.Errorf("first note %q; want it to start %q", notes[0], want)
	}
	if want := "3 more nodes have no records for 1h in all"; notes[maxGapNotes] != want {
		t.Errorf("last note %q; want %q", notes[maxGapNotes], want)
	}
}

// TestNodeSpansBorrowedNames: note keeps no borrowed name. A record's node may point into a read buffer
// that the next block overwrites; the shortcut for records in a row must compare with the name it owns.
func TestNodeSpansBorrowedNames(t *testing.T) {
	var ns nodeSpans
	s, e := gapStart, gapStart.Add(time.Minute)
	ns.note("node-a", s, e)
	ns.note("node-x", s, e)
	buf := []byte("node-a")
	ns.note(unsafe.String(&buf[0], len(buf)), s, e) // node-a again after another, borrowed from buf
	copy(buf, "node-b")                             // the buffer is reused for the next block
	ns.note("node-b", s.Add(time.Hour), e.Add(time.Hour))
	if a, b := ns.byNode["node-a"], ns.byNode["node-b"]; a == nil || b == nil || len(a.windows) != 1 ||
		len(b.windows) != 1 {
		t.Errorf("spans %v; want node-a's windows and node-b's, each its own", ns.byNode)
	}
}
