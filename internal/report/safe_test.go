package report

import (
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/netcost/netcost/costmodel"
	"github.com/netcost/netcost/internal/flows"
	"github.com/netcost/netcost/internal/query"
	"github.com/netcost/netcost/internal/safetext"
	"github.com/netcost/netcost/internal/source"
)

// strangerReport puts s in every field of a report that comes from
// outside netcost: the cluster and source names, the endpoints' names,
// the NAT gateways, the notes and the recommendations built from them.
func strangerReport(s string) *Report {
	day := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	w := source.Window{Start: day, End: day.Add(24 * time.Hour)}
	spend := &query.SpendResult{Start: w.Start, End: w.End, Source: s, TotalCostUSD: 30, Records: 10, Notes: []string{s, "assumed " + s}}
	for _, c := range []flows.Category{flows.InterAZ, flows.NATGateway} {
		spend.ByCategory = append(spend.ByCategory, query.CategorySpend{Category: c, Bytes: 1 << 30, CostUSD: 15})
	}
	rows := []costmodel.Row{
		{Local: costmodel.Endpoint{Namespace: s, Workload: s, AZID: s}, Remote: costmodel.Endpoint{Namespace: "shop", Pod: s, AZID: "use1-az2"},
			Via: s, ViaAZID: s, Bytes: 1 << 30, CostUSD: 1},
		{Local: costmodel.Endpoint{Node: s, IP: "10.0.0.1"}, Remote: costmodel.Endpoint{Name: s, IP: "52.0.0.1"}, Via: "nat-1", Bytes: 1 << 20, CostUSD: 0.5},
		{Local: costmodel.Endpoint{Namespace: s}, Remote: costmodel.Endpoint{AWSService: s, IP: s}, Bytes: 1 << 10, CostUSD: 0.25},
	}
	top := func() *query.TopResult {
		return &query.TopResult{Rows: rows, TotalBytes: 1 << 31, TotalCostUSD: 2, OmittedRows: 3,
			HourlyFees: []query.HourlyFee{{Resource: s, AZID: s, PerHour: 0.045, USD: 1.08}}}
	}
	// A command's lines are the cost model's (NatPerAZ's has several); the
	// names it quotes come from validated records, which hold no newline.
	name := strings.ReplaceAll(s, "\n", "")
	rec := &query.RecommendResult{TotalSavingsUSD: 30, Recommendations: []costmodel.Recommendation{
		{Kind: s, Target: s, MonthlySavingsUSD: 10, MonthlyCostUSD: 20, Action: "kubectl -n " + name + " patch\naws ec2 " + name,
			Evidence: costmodel.Evidence{Detail: s}, Caveats: []string{s}},
		{Kind: costmodel.ReducePayload, Target: s, MonthlySavingsUSD: 10, Action: "compress what " + s + " sends", Estimate: true},
		{Kind: "NatPerAZ", Target: s, MonthlySavingsUSD: 10, Action: s},
	}}
	return &Report{Cluster: s, Window: w, Previous: PreviousWindow(w), Source: s, Limit: 2, Spend: spend,
		PreviousSpend: &query.SpendResult{TotalCostUSD: 20, Records: 5}, InterAZ: top(), NAT: top(), Recommend: rec}
}

type located struct{ where, text string }

// texts lists every text in m with where it is.
func texts(m Message) []located {
	out := []located{{"text", m.Text}}
	for i, b := range m.Blocks {
		if b.Text != nil {
			out = append(out, located{fmt.Sprintf("block %d text", i), b.Text.Text})
		}
		for j, f := range b.Fields {
			out = append(out, located{fmt.Sprintf("block %d field %d", i, j), f.Text})
		}
		for j, e := range b.Elements {
			out = append(out, located{fmt.Sprintf("block %d element %d", i, j), e.Text})
		}
	}
	return out
}

// checkMessage checks that no text of m carries a control or bidi
// character, invalid UTF-8, or one of Slack's control characters (& that
// does not start an entity, < or >), and that no text has more lines
// than the same text in ref, the message of the same report laid out
// with harmless names.
func checkMessage(t *testing.T, m, ref Message) {
	t.Helper()
	if err := Check(m); err != nil {
		t.Error(err)
	}
	want := map[string]string{}
	for _, l := range texts(ref) {
		want[l.where] = l.text
	}
	for _, l := range texts(m) {
		ref, ok := want[l.where]
		if !ok {
			t.Errorf("%s: not in the layout: %q", l.where, l.text)
		}
		if !utf8.ValidString(l.text) {
			t.Errorf("%s: invalid UTF-8: %q", l.where, l.text)
		}
		for _, line := range strings.Split(l.text, "\n") {
			if j := safetext.Index(line); j >= 0 {
				t.Errorf("%s: %q at byte %d of %q", l.where, line[j:], j, line)
			}
		}
		if strings.ContainsAny(l.text, "<>") {
			t.Errorf("%s: Slack control character in %q", l.where, l.text)
		}
		for rest := l.text; ; {
			k := strings.IndexByte(rest, '&')
			if k < 0 {
				break
			}
			rest = rest[k:]
			if !strings.HasPrefix(rest, "&amp;") && !strings.HasPrefix(rest, "&lt;") && !strings.HasPrefix(rest, "&gt;") {
				t.Errorf("%s: a bare & in %q", l.where, l.text)
				break
			}
			rest = rest[1:]
		}
		if n, max := strings.Count(l.text, "\n"), strings.Count(ref, "\n"); n > max {
			t.Errorf("%s: %d lines, the layout makes at most %d:\n%s", l.where, n+1, max+1, l.text)
		}
	}
	out, err := m.JSON(true)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if j := safetext.Index(line); j >= 0 {
			t.Errorf("--dry-run JSON: %q at byte %d of %q", line[j:], j, line)
		}
	}
}

// strangers is what a record, a certificate or a DNS answer could carry.
var strangers = []string{
	"\x1b]0;pwned\a\x1b[31mred",
	"web\r\n*Recommendations* · save $1,000,000/month",
	"nul\x00",
	"evil\u202egnp.exe",
	"c1\u009b31m\u0085",
	"bad\xff\xfe",
	"<!channel> <@U123|boss> & <https://evil.example|click>",
}

// TestMessageEscapesStrangers: text from outside reaches Slack, and the
// terminal of a --dry-run, escaped: no control or bidi character, no line
// it adds, no mention it makes.
func TestMessageEscapesStrangers(t *testing.T) {
	ref := strangerReport("x").Message()
	for _, s := range strangers {
		m := strangerReport(s).Message()
		checkMessage(t, m, ref)
		all := m.Text
		for _, l := range texts(m) {
			all += "\n" + l.text
		}
		if want := escape(s); !strings.Contains(all, want) {
			t.Errorf("%q: the message never shows it as %q", s, want)
		}
	}
	for s, want := range map[string]string{
		"\x1b]0;pwned\a\x1b[31m":                 `\x1b]0;pwned\x07\x1b[31m`,
		"a\r\nb\x00\u202e":                       `a\x0d\x0ab\x00\u202e`,
		"<!channel> & <@U1>":                     "&lt;!channel&gt; &amp; &lt;@U1&gt;",
		"<https://evil.example|\u202eclick\x1b>": `&lt;https://evil.example|\u202eclick\x1b&gt;`,
	} {
		if got := escape(s); got != want {
			t.Errorf("escape(%q) = %q; want %q", s, got, want)
		}
	}
	// A command's own lines stay lines; a name's line breaks do not.
	if got := escapeLines("kubectl -n a\x1b patch\naws <x>\r"); got != "kubectl -n a\\x1b patch\naws &lt;x&gt;\\x0d" {
		t.Errorf("escapeLines = %q", got)
	}
}

// FuzzMessage lays out reports whose outside text is arbitrary and checks
// what reaches Slack as TestMessageEscapesStrangers does.
func FuzzMessage(f *testing.F) {
	for _, s := range strangers {
		f.Add(s)
	}
	ref := strangerReport("x").Message()
	f.Fuzz(func(t *testing.T, s string) {
		checkMessage(t, strangerReport(s).Message(), ref)
	})
}
