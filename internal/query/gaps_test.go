package query

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/netcost/netcost/costmodel"
	"github.com/netcost/netcost/internal/cur/curtest"
	"github.com/netcost/netcost/internal/flows"
	"github.com/netcost/netcost/internal/insightstest"
	"github.com/netcost/netcost/internal/source"
)

// TestGapNotesInAnswers: top, recommend and reconcile carry the source's note on a node without records
// for a while, with no change of their own; curtest's day has an hourly window of three nodes at 10:00,
// repeated here until 16:00, but node-b's from 12:00 to 15:00.
func TestGapNotesInAnswers(t *testing.T) {
	var recs []flows.Record
	for h := range 6 {
		for _, r := range curtest.DayRecords() {
			r.TS = r.TS.Add(time.Duration(h) * time.Hour)
			if r.Node == "node-b" && h >= 2 && h < 5 {
				continue
			}
			recs = append(recs, r)
		}
	}
	const want = "node node-b: no records for 3h of the 6h read (12:00-15:00 UTC): its agent was not running or " +
		"the node was down; these figures do not cover it then"
	opts := Options{Source: source.Spec{Kind: "file", Path: insightstest.WriteStore(t, recs)},
		Window: source.Window{Start: curtest.DayStart, End: curtest.DayEnd}}
	m := costmodel.New(nil)
	top, err := Top(context.Background(), m, TopOptions{Options: opts, Category: flows.InterAZ})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := Recommend(context.Background(), m, opts, costmodel.AdviseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	recon := reconcileBill(t, ".snappy.parquet", ReconcileOptions{Options: opts})
	for what, notes := range map[string][]string{"top": top.Notes, "recommend": rec.Notes, "reconcile": recon.Notes} {
		if !slices.Contains(notes, want) {
			t.Errorf("%s notes:\n%s\nwant among them:\n%s", what, strings.Join(notes, "\n"), want)
		}
	}
}
