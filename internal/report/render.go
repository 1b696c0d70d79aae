package report

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/netcost/netcost/costmodel"
	"github.com/netcost/netcost/internal/flows"
	"github.com/netcost/netcost/internal/query"
	"github.com/netcost/netcost/internal/source"
)

// Message lays the report out as a Block Kit message that fits Slack's
// limits: short lines and fields that read on a phone, no tables.
func (r *Report) Message() Message {
	title := "Network cost"
	if r.Cluster != "" {
		title += ": " + r.Cluster
	}
	title += ", " + windowLabel(r.Window)
	period := periodName(r.Window.End.Sub(r.Window.Start))
	cur := r.Spend
	summary := fmt.Sprintf("*%s* in the window · %s", money(cur.TotalCostUSD), escape(change(cur, r.PreviousSpend, period)))
	if cur.Records == 0 {
		// Say so loudly: a report of $0 is more often a broken pipeline than a quiet day.
		summary = fmt.Sprintf("*No flow records in this window* from %s: check that the agents publish there.", escape(cur.Source))
	}
	if d := cur.End.Sub(cur.Start); d > 0 && cur.TotalCostUSD > 0 {
		summary += fmt.Sprintf("\n≈ %s/month at this rate (from %s)", money(cur.TotalCostUSD*costmodel.HoursPerMonth/d.Hours()), d)
	}
	var fields []string
	for _, c := range cur.ByCategory {
		if c.CostUSD > 0 {
			fields = append(fields, fmt.Sprintf("*%s*\n%s · %s", categoryName(c.Category), money(c.CostUSD), flows.HumanBytes(c.Bytes)))
		}
	}
	about := fmt.Sprintf("%s to %s · %s records from %s", r.Window.Start.Format(time.RFC3339), r.Window.End.Format(time.RFC3339),
		thousands(cur.Records), escape(cur.Source))
	if cur.Skipped > 0 {
		about += fmt.Sprintf(" · %d bad lines skipped", cur.Skipped)
	}
	blocks := []Block{header(escape(title)), section(summary, fields...), contextBlock(about)}
	if r.Coverage != "" {
		blocks = append(blocks, contextBlock("Bill: "+escape(r.Coverage)))
	}
	if warn := r.ProjectionWarning(); warn != "" {
		blocks = append(blocks, contextBlock("⚠ "+strings.ToUpper(warn[:1])+warn[1:]+"."))
	}
	blocks = append(blocks, divider())

	blocks = append(blocks, section(topText("Top inter-AZ", "pair", r.InterAZ, func(row costmodel.Row) string {
		return fmt.Sprintf("%s · %s · %s", money(row.CostUSD), flows.HumanBytes(row.Bytes), escape(zones(row.Local.AZID, row.Remote.AZID)))
	})), divider())
	blocks = append(blocks, section(topText(natTitle, "talker", r.NAT, func(row costmodel.Row) string {
		via := row.Via
		if row.ViaAZID != "" {
			via += " (" + row.ViaAZID + ")"
		}
		return fmt.Sprintf("%s · %s via %s", money(row.CostUSD), flows.HumanBytes(row.Bytes), escape(via))
	})+hourlyFees(r.NAT.HourlyFees)), divider())

	rec := r.Recommend
	if len(rec.Recommendations) == 0 {
		blocks = append(blocks, section("*Recommendations*\nNothing to change: no saving above the threshold in this window."))
	} else {
		blocks = append(blocks, section(fmt.Sprintf("*Recommendations* · save %s/month in total (from %s)",
			money(rec.TotalSavingsUSD), rec.Window())))
		shown := rec.Recommendations[:min(len(rec.Recommendations), r.Limit)]
		for i, c := range shown {
			blocks = append(blocks, section(recommendationText(i+1, c)))
		}
		if rest := rec.Recommendations[len(shown):]; len(rest) > 0 {
			blocks = append(blocks, contextBlock(fmt.Sprintf("…and %d more saving %s/month (from %s): `netcost recommend %s`",
				len(rest), money(costmodel.TotalSavings(rest)), rec.Window(), escape(r.queryFlags()))))
		}
		blocks = append(blocks, contextBlock("Each saving assumes the ones above it are made, so the total counts "+
			"no byte twice; estimates are not in it."))
	}
	flags := escape(r.queryFlags())
	blocks = append(blocks, contextBlock(fmt.Sprintf("Full lists: `netcost top --category inter-az %s` and `netcost top --category nat %s`", flags, flags)))

	var notes []string
	for _, n := range cur.Notes {
		if n != "" { // Slack refuses an empty text
			notes = append(notes, escape(n))
		}
	}
	if len(notes) > 0 {
		blocks = append(blocks, contextBlock(notes...))
	}
	text := fmt.Sprintf("%s: %s (%s)", title, money(cur.TotalCostUSD), change(cur, r.PreviousSpend, period))
	if n := certain(rec.Recommendations); n > 0 {
		text += fmt.Sprintf("; %d recommendations save %s/month", n, money(rec.TotalSavingsUSD))
	}
	return fit(Message{Text: escape(text), Blocks: blocks})
}

// topText is a top list: a title with the view's total, two short lines
// per row, and how many rows and dollars the list leaves out.
func topText(title, noun string, res *query.TopResult, detail func(costmodel.Row) string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "*%s* · %s · %s", title, money(res.TotalCostUSD), flows.HumanBytes(res.TotalBytes))
	if len(res.Rows) == 0 {
		b.WriteString("\nNone in this window.")
		return b.String()
	}
	var shown float64
	for i, row := range res.Rows {
		shown += row.CostUSD
		fmt.Fprintf(&b, "\n*%d. %s → %s*\n%s", i+1, escape(who(row.Local)), escape(who(row.Remote)), detail(row))
	}
	if res.OmittedRows > 0 {
		fmt.Fprintf(&b, "\n…and %d more %s (%s)", res.OmittedRows, plural(res.OmittedRows, noun), money(max(0, res.TotalCostUSD-shown)))
	}
	return b.String()
}

// hourlyFees is a line on the NAT gateways' hourly fees, which no byte
// count includes.
func hourlyFees(fees []query.HourlyFee) string {
	if len(fees) == 0 {
		return ""
	}
	var usd float64
	nats := map[string]bool{}
	for _, f := range fees {
		usd += f.USD
		nats[f.Resource] = true
	}
	their := "its public IPv4 address"
	if len(nats) > 1 {
		their = "their public IPv4 addresses"
	}
	return fmt.Sprintf("\n_Plus %s of hourly fees for %d NAT %s and %s, not in the figures above._",
		money(usd), len(nats), plural(len(nats), "gateway"), their)
}

func recommendationText(i int, c costmodel.Recommendation) string {
	var b strings.Builder
	fmt.Fprintf(&b, "*%d. %s*: %s\n", i, escape(c.Kind), escape(c.Target))
	from := time.Duration(c.Evidence.WindowS) * time.Second
	switch {
	case c.SavingsNeed != "":
		fmt.Fprintf(&b, "Estimate: savings need a compression ratio (--compression-ratio, or the stack's "+
			"CompressionRatio); these bytes cost %s/month (from %s)", money(c.MonthlyCostUSD), from)
	case c.Estimate:
		fmt.Fprintf(&b, "Estimate: saves %s/month of %s/month (from %s), not in the total", money(c.MonthlySavingsUSD),
			money(c.MonthlyCostUSD), from)
	default:
		fmt.Fprintf(&b, "Saves *%s/month* of %s/month (from %s)", money(c.MonthlySavingsUSD), money(c.MonthlyCostUSD), from)
	}
	fmt.Fprintf(&b, "\n%s", escape(c.Evidence.Detail))
	if c.Estimate {
		fmt.Fprintf(&b, "\n_What to do:_ %s", escape(c.Action)) // advice, not a command: one line
	} else {
		fmt.Fprintf(&b, "\n%s\n%s\n%s", codeFence, escapeLines(c.Action), codeFence)
	}
	return b.String()
}

// certain counts the recommendations that are not estimates.
func certain(recs []costmodel.Recommendation) int {
	n := 0
	for _, c := range recs {
		if !c.Estimate {
			n++
		}
	}
	return n
}

// who names a row's endpoint as briefly as it can be named.
func who(e costmodel.Endpoint) string {
	switch {
	case e.Workload != "":
		return e.Namespace + "/" + e.Workload
	case e.Pod != "":
		return e.Namespace + "/" + e.Pod
	case e.Namespace != "" && e.IP == "" && e.Node == "":
		return e.Namespace
	case e.Node != "":
		return "node " + e.Node
	case e.Name != "":
		return e.Name
	case e.AWSService != "":
		return e.AWSService + " " + e.IP
	}
	return orDash(e.IP)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// zones says which AZ IDs a pair spans; a workload in several is "several AZs".
func zones(a, b string) string {
	if a == costmodel.Several || b == costmodel.Several {
		return "several AZs"
	}
	return orDash(a) + " → " + orDash(b)
}

func plural(n int, noun string) string {
	if n == 1 {
		return noun
	}
	return noun + "s"
}

// change says how cur's spend compares with prev's.
func change(cur, prev *query.SpendResult, period string) string {
	if prev == nil || prev.Records == 0 {
		return "no records in the " + period + " to compare with"
	}
	d := cur.TotalCostUSD - prev.TotalCostUSD
	switch {
	case math.Abs(d) < 0.005:
		return "no change vs the " + period
	case prev.TotalCostUSD == 0:
		return fmt.Sprintf("▲ +%s vs the %s", money(d), period)
	}
	arrow, sign := "▲", "+"
	if d < 0 {
		arrow, sign = "▼", "-"
	}
	return fmt.Sprintf("%s %s%s (%s%.1f%%) vs the %s", arrow, sign, money(math.Abs(d)), sign, math.Abs(d)/prev.TotalCostUSD*100, period)
}

// periodName names a window's length as the previous window is read:
// "previous day", "previous 6 hours".
func periodName(d time.Duration) string {
	switch {
	case d == 24*time.Hour:
		return "previous day"
	case d%(24*time.Hour) == 0:
		return fmt.Sprintf("previous %d days", d/(24*time.Hour))
	case d == time.Hour:
		return "previous hour"
	case d%time.Hour == 0:
		return fmt.Sprintf("previous %d hours", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("previous %d minutes", d/time.Minute)
	}
	return "previous " + d.String()
}

// windowLabel is a date for a UTC day, else the window's bounds.
func windowLabel(w source.Window) string {
	s, e := w.Start.UTC(), w.End.UTC()
	day := 24 * time.Hour
	switch {
	case e.Sub(s) == day && s.Equal(s.Truncate(day)):
		return s.Format(time.DateOnly)
	case s.Truncate(day).Equal(e.Add(-time.Nanosecond).Truncate(day)):
		return s.Format("2006-01-02 15:04") + " to " + e.Format("15:04") + " UTC"
	}
	return s.Format("2006-01-02 15:04") + " to " + e.Format("2006-01-02 15:04") + " UTC"
}

// queryFlags are the flags that make netcost top and recommend read what
// the report read: its source and window, quoted for a shell, so that the
// commands the report prints run as printed (with the same AWS settings).
func (r *Report) queryFlags() string {
	return "--source " + shellQuote(strings.TrimSuffix(r.Source, ":")) +
		" --start " + r.Window.Start.UTC().Format(time.RFC3339) + " --end " + r.Window.End.UTC().Format(time.RFC3339)
}

// shellQuote is s as one shell word.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./:@%+=,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// natTitle heads the NAT view: every byte through a NAT gateway, whatever
// its category, so more than the summary's "Internet via NAT" field.
const natTitle = "Top NAT gateway talkers, all destinations"

// categoryName is a category as a person says it.
func categoryName(c flows.Category) string {
	switch c {
	case flows.IntraAZ:
		return "Same AZ"
	case flows.InterAZ:
		return "Inter-AZ"
	case flows.InterVPC:
		return "Inter-VPC"
	case flows.InterRegion:
		return "Inter-region"
	case flows.AmazonS3:
		return "S3"
	case flows.AmazonDynamoDB:
		return "DynamoDB"
	case flows.NATGateway:
		// Not the NAT gateways' whole bill: S3 and DynamoDB through a NAT
		// are in their own fields; natTitle's section has all of it.
		return "Internet via NAT"
	case flows.Internet:
		return "Internet"
	}
	return "Unclassified"
}

// money formats dollars for people: $1,234.56, or four decimals below a cent.
func money(v float64) string {
	neg := v < 0
	v = math.Abs(v)
	var s string
	switch {
	case v == 0:
		s = "0.00"
	case v < 0.01:
		s = strconv.FormatFloat(v, 'f', 4, 64)
	default:
		s = strconv.FormatFloat(v, 'f', 2, 64)
		whole, frac, _ := strings.Cut(s, ".")
		s = commas(whole) + "." + frac
	}
	if neg {
		return "-$" + s
	}
	return "$" + s
}

func thousands(n int64) string { return commas(strconv.FormatInt(n, 10)) }

// commas puts commas in a string of digits.
func commas(digits string) string {
	var b strings.Builder
	for i, c := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
