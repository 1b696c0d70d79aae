package report

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netcost/netcost/costmodel"
	"github.com/netcost/netcost/internal/flows"
	"github.com/netcost/netcost/internal/query"
	"github.com/netcost/netcost/internal/source"
)

var update = flag.Bool("update", false, "rewrite the golden files")

const store = "../../testdata/store"

// sampleWindow is the second half of the sample store's hour, so that the
// first half is the previous window.
var sampleWindow = source.Window{Start: time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC), End: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)}

func buildSample(t *testing.T, w source.Window) *Report {
	t.Helper()
	r, err := Build(context.Background(), costmodel.New(nil), Options{Options: query.Options{Source: source.Spec{Kind: "file", Path: store}, Window: w}, Cluster: "shop"})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/report -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test ./internal/report -update rewrites it):\n%s", name, got)
	}
}

func TestSampleReport(t *testing.T) {
	r := buildSample(t, sampleWindow)
	msg := r.Message()
	if err := Check(msg); err != nil {
		t.Fatal(err)
	}
	out, err := msg.JSON(true)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "sample.json", out)

	// The figures agree with the queries they come from.
	if !r.Previous.End.Equal(sampleWindow.Start) || r.Previous.Start != sampleWindow.Start.Add(-30*time.Minute) {
		t.Errorf("previous window %v, want the 30 minutes before %v", r.Previous, sampleWindow.Start)
	}
	if r.Spend.Records == 0 || r.PreviousSpend.Records == 0 {
		t.Fatalf("no records: %d now, %d before", r.Spend.Records, r.PreviousSpend.Records)
	}
	var sum float64
	for _, c := range r.Spend.ByCategory {
		sum += c.CostUSD
		if c.Category == flows.InterAZ && math.Abs(c.CostUSD-r.InterAZ.TotalCostUSD) > 1e-5 {
			t.Errorf("inter-AZ spend %v, top inter-az total %v: both price the same bytes", c.CostUSD, r.InterAZ.TotalCostUSD)
		}
	}
	if math.Abs(sum-r.Spend.TotalCostUSD) > 1e-5 {
		t.Errorf("categories add up to %v, total %v", sum, r.Spend.TotalCostUSD)
	}
	summary := msg.Blocks[1].Text.Text
	for _, want := range []string{money(r.Spend.TotalCostUSD), change(r.Spend, r.PreviousSpend, "previous 30 minutes")} {
		if !strings.Contains(summary, want) {
			t.Errorf("summary %q lacks %q", summary, want)
		}
	}
	if !strings.Contains(msg.Text, money(r.Recommend.TotalSavingsUSD)) {
		t.Errorf("fallback text %q lacks the savings %s", msg.Text, money(r.Recommend.TotalSavingsUSD))
	}
}

// A day with nothing before it: the report says so instead of a change.
func TestReportWithoutPreviousData(t *testing.T) {
	r := buildSample(t, DefaultWindow(time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC)))
	if r.Window.Start != time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC) || r.PreviousSpend.Records != 0 || r.Spend.Records == 0 {
		t.Fatalf("window %v: %d records, %d before", r.Window, r.Spend.Records, r.PreviousSpend.Records)
	}
	msg := r.Message()
	if err := Check(msg); err != nil {
		t.Fatal(err)
	}
	if h := msg.Blocks[0].Text.Text; h != "Network cost: shop, 2026-11-20" {
		t.Errorf("header %q", h)
	}
	if s := msg.Blocks[1].Text.Text; !strings.Contains(s, "no records in the previous day to compare with") {
		t.Errorf("summary %q", s)
	}
}

func TestChange(t *testing.T) {
	sp := func(usd float64, n int64) *query.SpendResult {
		return &query.SpendResult{TotalCostUSD: usd, Records: n}
	}
	for _, tt := range []struct {
		cur, prev *query.SpendResult
		want      string
	}{
		{sp(110, 1), sp(100, 1), "▲ +$10.00 (+10.0%) vs the previous day"},
		{sp(75, 1), sp(100, 1), "▼ -$25.00 (-25.0%) vs the previous day"},
		{sp(100.001, 1), sp(100, 1), "no change vs the previous day"},
		{sp(5, 1), sp(0, 3), "▲ +$5.00 vs the previous day"},
		{sp(5, 1), sp(0, 0), "no records in the previous day to compare with"},
	} {
		if got := change(tt.cur, tt.prev, "previous day"); got != tt.want {
			t.Errorf("change(%v, %v) = %q, want %q", tt.cur.TotalCostUSD, tt.prev.TotalCostUSD, got, tt.want)
		}
	}
}

func TestFormatting(t *testing.T) {
	for v, want := range map[float64]string{0: "$0.00", 0.0042: "$0.0042", 1234567.891: "$1,234,567.89", 999.999: "$1,000.00", -12.5: "-$12.50", 12: "$12.00"} {
		if got := money(v); got != want {
			t.Errorf("money(%v) = %q, want %q", v, got, want)
		}
	}
	for d, want := range map[time.Duration]string{24 * time.Hour: "previous day", 72 * time.Hour: "previous 3 days", time.Hour: "previous hour",
		6 * time.Hour: "previous 6 hours", 30 * time.Minute: "previous 30 minutes", 90 * time.Second: "previous 1m30s"} {
		if got := periodName(d); got != want {
			t.Errorf("periodName(%v) = %q, want %q", d, got, want)
		}
	}
	day := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	for w, want := range map[source.Window]string{
		{Start: day, End: day.Add(24 * time.Hour)}:                      "2026-11-20",
		{Start: day.Add(9 * time.Hour), End: day.Add(10 * time.Hour)}:   "2026-11-20 09:00 to 10:00 UTC",
		{Start: day.Add(12 * time.Hour), End: day.Add(36 * time.Hour)}:  "2026-11-20 12:00 to 2026-11-21 12:00 UTC",
		{Start: day.Add(-24 * time.Hour), End: day.Add(24 * time.Hour)}: "2026-11-19 00:00 to 2026-11-21 00:00 UTC",
		{Start: day.Add(23 * time.Hour), End: day.Add(24 * time.Hour)}:  "2026-11-20 23:00 to 00:00 UTC",
	} {
		if got := windowLabel(w); got != want {
			t.Errorf("windowLabel(%v) = %q, want %q", w, got, want)
		}
	}
	if got := escape("a<b>&c"); got != "a&lt;b&gt;&amp;c" {
		t.Errorf("escape: %q", got)
	}
}

// encode checks that m marshals and returns it decoded again, as Slack
// would read it.
func roundTrip(t *testing.T, m Message) Message {
	t.Helper()
	b, err := m.JSON(false)
	if err != nil {
		t.Fatal(err)
	}
	var back Message
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	return back
}

// BenchmarkSampleReport: the five queries and the message over the sample
// store's hour (3,960 records read five times).
func BenchmarkSampleReport(b *testing.B) {
	m := costmodel.New(nil)
	w := source.Window{Start: time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)}
	opts := Options{Options: query.Options{Source: source.Spec{Kind: "file", Path: store}, Window: w}, Cluster: "shop"}
	for b.Loop() {
		r, err := Build(context.Background(), m, opts)
		if err != nil {
			b.Fatal(err)
		}
		if err := Check(r.Message()); err != nil {
			b.Fatal(err)
		}
	}
}

// A window without records says so instead of reporting $0.
func TestReportWithoutRecords(t *testing.T) {
	r := buildSample(t, DefaultWindow(time.Date(2030, 1, 2, 8, 0, 0, 0, time.UTC)))
	msg := r.Message()
	if err := Check(msg); err != nil {
		t.Fatal(err)
	}
	if s := msg.Blocks[1].Text.Text; s != "*No flow records in this window* from file:"+store+": check that the agents publish there." {
		t.Errorf("summary %q", s)
	}
	for _, b := range msg.Blocks {
		if b.Text != nil && strings.HasPrefix(b.Text.Text, "*Top ") && !strings.HasSuffix(b.Text.Text, "\nNone in this window.") {
			t.Errorf("empty list %q", b.Text.Text)
		}
	}
}

// TestNATFigures: the summary's NAT_GATEWAY field and the NAT section
// price different bytes (the section adds S3 and DynamoDB through a NAT),
// so they carry different names, each saying what it counts, and neither
// name is part of the other's.
func TestNATFigures(t *testing.T) {
	r := buildSample(t, sampleWindow)
	msg := r.Message()
	var field string
	for _, c := range r.Spend.ByCategory {
		if c.Category == flows.NATGateway {
			field = fmt.Sprintf("*Internet via NAT*\n%s · ", money(c.CostUSD))
			if math.Abs(c.CostUSD-r.NAT.TotalCostUSD) < 0.01 {
				t.Fatalf("the sample's NAT_GATEWAY spend %v and NAT view %v agree: the test needs S3 through a NAT", c.CostUSD, r.NAT.TotalCostUSD)
			}
		}
	}
	section := fmt.Sprintf("*%s* · %s · ", natTitle, money(r.NAT.TotalCostUSD))
	var labels []string
	var sawField, sawSection bool
	for _, b := range msg.Blocks {
		for _, f := range b.Fields {
			sawField = sawField || strings.HasPrefix(f.Text, field)
			labels = append(labels, strings.Trim(strings.SplitN(f.Text, "\n", 2)[0], "*"))
		}
		if b.Text != nil && strings.HasPrefix(b.Text.Text, "*") {
			sawSection = sawSection || strings.HasPrefix(b.Text.Text, section)
			labels = append(labels, strings.SplitN(b.Text.Text, "*", 3)[1])
		}
	}
	if !sawField || !sawSection {
		t.Errorf("want a field %q and a section %q in %q", field, section, labels)
	}
	for _, a := range labels {
		for _, b := range labels {
			if a != b && strings.Contains(b, a) {
				t.Errorf("%q is part of %q: a reader takes them for the same figure", a, b)
			}
		}
	}
}

// TestCoverageLine: with a bill, the report says under its summary how
// much of the bill the records explain, escaped like every name.
func TestCoverageLine(t *testing.T) {
	r := buildSample(t, sampleWindow)
	r.Coverage = "netcost explains 86% of the inter-AZ bill of 2026-11-20 <!channel>"
	msg := r.Message()
	if err := Check(msg); err != nil {
		t.Fatal(err)
	}
	b := msg.Blocks[3]
	if b.Type != blockContext || len(b.Elements) != 1 ||
		b.Elements[0].Text != "Bill: netcost explains 86% of the inter-AZ bill of 2026-11-20 &lt;!channel&gt;" {
		t.Errorf("block 3: %+v; want the coverage line, escaped", b)
	}
	r.Coverage = ""
	for _, b := range r.Message().Blocks {
		for _, e := range b.Elements {
			if strings.HasPrefix(e.Text, "Bill: ") {
				t.Errorf("a coverage line without a bill: %q", e.Text)
			}
		}
	}
}
