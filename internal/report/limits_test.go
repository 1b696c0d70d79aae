package report

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/netcost/netcost/costmodel"
	"github.com/netcost/netcost/internal/flows"
	"github.com/netcost/netcost/internal/query"
	"github.com/netcost/netcost/internal/source"
)

// hugeReport has more of everything than a message holds: a long cluster
// name, hundreds of rows with long names, 80 recommendations shown, one with
// a command longer than a text object.
func hugeReport() *Report {
	day := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	w := source.Window{Start: day, End: day.Add(24 * time.Hour)}
	long := strings.Repeat("very-long-workload-name-", 8)
	top := func(n int) *query.TopResult {
		res := &query.TopResult{TotalBytes: 1 << 40, TotalCostUSD: 5000}
		for i := range n {
			res.Rows = append(res.Rows, costmodel.Row{Bytes: 1 << 30, CostUSD: 1,
				Local:  costmodel.Endpoint{Namespace: "ns", Workload: fmt.Sprintf("%s%d", long, i), AZID: "use1-az1"},
				Remote: costmodel.Endpoint{Namespace: "ns<&>", Workload: fmt.Sprintf("%s%d", long, i), AZID: "use1-az2"}})
		}
		res.OmittedRows = 1000
		return res
	}
	rec := &query.RecommendResult{TotalSavingsUSD: 80 * 100}
	for i := range 80 {
		action := fmt.Sprintf("kubectl -n ns patch service s%d --type merge -p '{}'", i)
		if i == 0 {
			action = "aws ec2 create-vpc-endpoint " + strings.Repeat("--subnet-ids <subnet> & ", 400)
		}
		rec.Recommendations = append(rec.Recommendations, costmodel.Recommendation{Kind: costmodel.PreferSameZone,
			Target: fmt.Sprintf("service ns/s%d", i), MonthlySavingsUSD: 100, MonthlyCostUSD: 120, Action: action,
			Evidence: costmodel.Evidence{Detail: "a reason"}})
	}
	spend := &query.SpendResult{Start: w.Start, End: w.End, TotalCostUSD: 100, Records: 10}
	for c := flows.IntraAZ; c <= flows.Unclassified; c++ {
		spend.ByCategory = append(spend.ByCategory, query.CategorySpend{Category: c, Bytes: 1 << 30, CostUSD: 10})
	}
	return &Report{Cluster: strings.Repeat("cluster-", 40), Window: w, Previous: PreviousWindow(w), Source: "file:x", Limit: 80,
		Spend: spend, PreviousSpend: &query.SpendResult{TotalCostUSD: 90, Records: 10}, InterAZ: top(300), NAT: top(300), Recommend: rec}
}

func TestMessageAtTheLimits(t *testing.T) {
	msg := roundTrip(t, hugeReport().Message())
	if err := Check(msg); err != nil {
		t.Fatal(err)
	}
	if n := len(msg.Blocks); n != MaxBlocks {
		t.Fatalf("%d blocks, want exactly %d (the rest summarised)", n, MaxBlocks)
	}
	last := msg.Blocks[MaxBlocks-1]
	if last.Type != blockContext || !strings.HasPrefix(last.Elements[0].Text, "…and ") || !strings.Contains(last.Elements[0].Text, " more sections") {
		t.Errorf("last block %+v: want a context saying how many sections were left out", last)
	}
	h := msg.Blocks[0].Text.Text
	if runes(h) != MaxHeaderText || !strings.HasSuffix(h, ellipsis) {
		t.Errorf("header of %d characters %q: want %d ending in an ellipsis", runes(h), h, MaxHeaderText)
	}
	var lists, fences int
	for _, b := range msg.Blocks {
		if b.Text == nil {
			continue
		}
		s := b.Text.Text
		if strings.HasPrefix(s, "*Top ") {
			lists++
			if runes(s) > MaxText || !strings.Contains(s, " more lines") {
				t.Errorf("top list of %d characters, want at most %d ending in \"…and N more lines\":\n%s", runes(s), MaxText, s[max(0, len(s)-200):])
			}
		}
		if strings.Contains(s, codeFence) {
			fences++
			if strings.Count(s, codeFence)%2 != 0 {
				t.Errorf("unclosed code block in %q", s[max(0, len(s)-100):])
			}
			for _, bad := range []string{"&am…", "&lt…", "&…"} {
				if strings.Contains(s, bad) {
					t.Errorf("an escape is cut in two: %q", s[max(0, len(s)-100):])
				}
			}
		}
	}
	if lists != 2 || fences == 0 {
		t.Errorf("%d top lists and %d commands seen", lists, fences)
	}
}

func TestFitExactlyAtTheLimits(t *testing.T) {
	at := strings.Repeat("é", MaxText) // multi-byte: limits count characters
	over := at + "x"
	var blocks []Block
	for range MaxBlocks {
		blocks = append(blocks, section(at))
	}
	m := fit(Message{Blocks: blocks})
	if err := Check(m); err != nil || len(m.Blocks) != MaxBlocks || m.Blocks[MaxBlocks-1].Text.Text != at {
		t.Errorf("a message at every limit changed: %d blocks, %v", len(m.Blocks), err)
	}
	m = fit(Message{Blocks: append(blocks, section(over))})
	if err := Check(m); err != nil || len(m.Blocks) != MaxBlocks || m.Blocks[MaxBlocks-1].Elements[0].Text != fmt.Sprintf(moreBlocksFormat, 2) {
		t.Errorf("51 blocks: %d blocks, last %+v, %v", len(m.Blocks), m.Blocks[len(m.Blocks)-1], err)
	}
	if got := cut(over, MaxText); runes(got) != MaxText || !strings.HasSuffix(got, ellipsis) {
		t.Errorf("cut to %d characters, want %d ending in an ellipsis", runes(got), MaxText)
	}

	fields := make([]string, MaxFields)
	for i := range fields {
		fields[i] = strings.Repeat("f", MaxFieldText)
	}
	b := fitBlock(section("x", fields...))
	if len(b.Fields) != MaxFields || b.Fields[MaxFields-1].Text != fields[0] {
		t.Errorf("10 fields of 2000 characters changed: %d fields", len(b.Fields))
	}
	b = fitBlock(section("x", append(fields, "eleven", "twelve")...))
	if len(b.Fields) != MaxFields || b.Fields[MaxFields-1].Text != "…and 3 more fields" {
		t.Errorf("12 fields: %d, last %q", len(b.Fields), b.Fields[len(b.Fields)-1].Text)
	}
	b = fitBlock(section("x", fields[0]+"f"))
	if runes(b.Fields[0].Text) != MaxFieldText {
		t.Errorf("a field of 2001 characters became %d", runes(b.Fields[0].Text))
	}
	h := fitBlock(header(strings.Repeat("h", MaxHeaderText)))
	h2 := fitBlock(header(strings.Repeat("h", MaxHeaderText+1)))
	if runes(h.Text.Text) != MaxHeaderText || strings.HasSuffix(h.Text.Text, ellipsis) || runes(h2.Text.Text) != MaxHeaderText || !strings.HasSuffix(h2.Text.Text, ellipsis) {
		t.Errorf("headers of 150 and 151 characters became %q and %q", h.Text.Text, h2.Text.Text)
	}
}

func TestFitLines(t *testing.T) {
	lines := make([]string, 100)
	for i := range lines {
		lines[i] = fmt.Sprintf("line %02d %s", i, strings.Repeat("x", 40))
	}
	got := fitLines(strings.Join(lines, "\n"), 500)
	if runes(got) > 500 || !strings.HasPrefix(got, lines[0]) || !strings.HasSuffix(got, " more lines") {
		t.Errorf("fitLines: %d characters:\n%s", runes(got), got)
	}
	kept := strings.Count(got, "\n")
	if want := fmt.Sprintf("…and %d more lines", 100-kept); !strings.HasSuffix(got, want) {
		t.Errorf("fitLines kept %d lines but says %q", kept, got[strings.LastIndex(got, "\n")+1:])
	}
	// Never ends inside a code block: the fence's lines go together.
	code := "title\n```\n" + strings.Repeat("y", 60) + "\n```\nafter"
	if got := fitLines(code, 40); strings.Count(got, codeFence)%2 != 0 || runes(got) > 40 {
		t.Errorf("fitLines(code, 40) = %q", got)
	}
	if got := cut("ab&amp;cd", 5); got != "ab…" {
		t.Errorf("cut through an escape: %q", got)
	}
}

// Check fails what Slack would refuse: it is what the tests above lean on.
func TestCheckRejects(t *testing.T) {
	long := strings.Repeat("x", MaxText+1)
	for name, m := range map[string]Message{
		"no blocks":     {},
		"51 blocks":     {Blocks: make([]Block, MaxBlocks+1)},
		"long text":     {Blocks: []Block{section(long)}},
		"long header":   {Blocks: []Block{header(long[:MaxHeaderText+1])}},
		"11 fields":     {Blocks: []Block{section("x", make([]string, 11)...)}},
		"long field":    {Blocks: []Block{section("x", long[:MaxFieldText+1])}},
		"11 elements":   {Blocks: []Block{contextBlock(make([]string, 11)...)}},
		"empty section": {Blocks: []Block{{Type: blockSection}}},
	} {
		if Check(m) == nil {
			t.Errorf("%s: Check passed it", name)
		}
	}
}
