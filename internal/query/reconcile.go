package query

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/netcost/netcost/costmodel"
	"github.com/netcost/netcost/internal/cur"
	"github.com/netcost/netcost/internal/flows"
	"github.com/netcost/netcost/internal/source"
	"github.com/netcost/netcost/internal/usage"
)

// ReconcileOptions say what to set beside the bill.
type ReconcileOptions struct {
	Options
	// ByResource compares per resource as well: per NAT gateway (the
	// records' via) and per instance (their node_instance_id).
	ByResource bool
	// EgressGiven says the costmodel.Options' InternetEgressTBMonth was
	// given (even as 0); else the bill's own tier prices (BillEgressTier).
	EgressGiven bool
}

// BillReader reads the bill over a window: a cur.Reader over a location.
type BillReader func(ctx context.Context, start, end time.Time) (*cur.Bill, error)

// Resource names of measured rows that no resource of the bill matches.
const (
	// RemoteInterfaces are the interfaces of remotes without an agent
	// (RDS, instances and pods without it): the records price them, and
	// the bill names them by resources the records do not know.
	RemoteInterfaces = "(remote interfaces)"
	// NoInstanceID are records of agents that did not say their node's
	// instance (node_instance_id): older agents, or no instance metadata.
	NoInstanceID = "(no node_instance_id)"
)

// ReconcileRow is one line of the bill in a region (and, by resource, one
// resource's part of it) beside what netcost measured. GB are the bill's
// GB (2^30 bytes), counted at each interface as the bill counts them;
// hours are the lines' hours (NAT gateways, endpoint AZs, attachments,
// addresses).
type ReconcileRow struct {
	Region        string   `json:"region"`
	Line          cur.Line `json:"line"`
	Resource      string   `json:"resource,omitempty"`
	BilledGB      float64  `json:"billed_gb"`
	BilledHours   float64  `json:"billed_hours,omitempty"`
	BilledUSD     float64  `json:"billed_usd"`
	MeasuredGB    float64  `json:"measured_gb"`
	MeasuredHours float64  `json:"measured_hours,omitempty"`
	MeasuredUSD   float64  `json:"measured_usd"`
	// Coverage is MeasuredUSD / BilledUSD; null where nothing is billed.
	Coverage *float64 `json:"coverage"`
}

// ReconcileResult is the bill of a window beside the records of the same
// window.
type ReconcileResult struct {
	Start            time.Time      `json:"start"`
	End              time.Time      `json:"end"`
	Source           string         `json:"source"`
	CUR              string         `json:"cur"`
	Rows             []ReconcileRow `json:"rows"`
	TotalBilledUSD   float64        `json:"total_billed_usd"`
	TotalMeasuredUSD float64        `json:"total_measured_usd"`
	Coverage         *float64       `json:"coverage"`
	Verdict          string         `json:"verdict"`
	// CreditsUSD are the window's credits, of any usage type (negative),
	// and Apart the refunds, discounts and taxes of network usage types:
	// shown apart, in no line.
	CreditsUSD float64     `json:"credits_usd,omitempty"`
	Apart      []cur.Apart `json:"apart,omitempty"`
	// EgressTBMonth is the internet-out volume of the billing period that
	// prices internet bytes (TB of 2^40 bytes), and EgressPeriod that
	// period.
	EgressTBMonth float64  `json:"internet_egress_tb_month"`
	EgressPeriod  string   `json:"internet_egress_billing_period,omitempty"`
	LineItems     int64    `json:"line_items"`
	Prorated      int64    `json:"prorated_line_items,omitempty"`
	Records       int64    `json:"records"`
	Skipped       int64    `json:"skipped_lines,omitempty"`
	Notes         []string `json:"notes,omitempty"`
}

// Reconcile sets the bill beside the records of the same window and
// source: per region and line of the bill, what it billed and what the
// records account for, in the bill's units, priced by costmodel at the
// egress tier the bill's own internet-out volume reaches (unless
// opts.EgressGiven). An open window is the records' own extent (Extent).
func Reconcile(ctx context.Context, t *costmodel.Table, mo costmodel.Options, read BillReader,
	opts ReconcileOptions) (*ReconcileResult, error) {
	m := costmodel.NewWithOptions(t, mo)
	b := NewBatch(m, opts.Options)
	var ms []*measure
	var sp source.Span
	b.add(opts.Window, nil, func(workers int) source.RecordFunc {
		ms = make([]*measure, workers)
		for i := range ms {
			ms[i] = newMeasure(m, opts.ByResource)
		}
		return func(w int, r *flows.Record, n int64) error { return ms[w].add(r, n) }
	}, func(s source.Span) error {
		sp = s
		return nil
	})
	if err := b.Run(ctx); err != nil {
		return nil, err
	}
	if len(ms) == 0 { // no read: nothing measured
		ms = []*measure{newMeasure(m, opts.ByResource)}
	}
	for _, x := range ms[1:] {
		ms[0].merge(x)
	}
	w := extent(opts.Window, sp)
	start, end := w.Start, w.End
	if start.IsZero() || end.IsZero() {
		return nil, usage.Errorf("no records in %s to set beside the bill: give a window with --start and --end",
			opts.Source)
	}
	bill, err := read(ctx, start, end)
	if err != nil {
		return nil, err
	}
	tb, period := BillEgressTier(bill)
	if !opts.EgressGiven {
		mo.InternetEgressTBMonth = tb
	}
	priced := costmodel.NewWithOptions(t, mo)
	res := &ReconcileResult{Start: start, End: end, Source: spanSource(sp, opts.Options), CUR: bill.Location,
		CreditsUSD: round6(bill.CreditsUSD), Apart: bill.Apart, EgressTBMonth: round6(mo.InternetEgressTBMonth),
		EgressPeriod: period, LineItems: bill.LineItems, Prorated: bill.Prorated, Records: sp.Matched, Skipped: sp.Stats.Skipped,
		Notes: sp.Notes}
	measured, err := ms[0].rows(priced, end.Sub(start).Hours())
	if err != nil {
		return nil, usage.Wrap(err)
	}
	res.Rows = joinRows(bill, measured, opts.ByResource)
	for _, r := range res.Rows {
		res.TotalBilledUSD += r.BilledUSD
		res.TotalMeasuredUSD += r.MeasuredUSD
	}
	res.TotalBilledUSD, res.TotalMeasuredUSD = round6(res.TotalBilledUSD), round6(res.TotalMeasuredUSD)
	res.Coverage = coverage(res.TotalMeasuredUSD, res.TotalBilledUSD)
	res.Verdict = verdict(res)
	res.Notes = append(res.Notes, reconcileNotes(res, ms[0])...)
	return res, nil
}

// BillEgressTier is the egress tier a bill reaches, for pricing internet
// bytes: its internet-out volume in TB of 2^40 bytes in the billing period
// that the window it was read over overlaps most, and that period.
func BillEgressTier(bill *cur.Bill) (tb float64, period string) {
	gb, period := bill.EgressGB("")
	return gb / 1024, period
}

// Extent is the window that opts's records cover: opts.Window where it
// is given, else the records' own extent widened to whole hours; zero
// bounds where there are no records. m reads the records and prices none.
func Extent(ctx context.Context, m *costmodel.Model, opts Options) (source.Window, error) {
	if !opts.Window.Start.IsZero() && !opts.Window.End.IsZero() {
		return opts.Window, nil
	}
	b := NewBatch(m, opts)
	var sp source.Span
	b.add(opts.Window, nil, func(int) source.RecordFunc {
		return func(int, *flows.Record, int64) error { return nil }
	}, func(s source.Span) error {
		sp = s
		return nil
	})
	if err := b.Run(ctx); err != nil {
		return source.Window{}, err
	}
	return extent(opts.Window, sp), nil
}

// extent fills the open bounds of w with those of the records' span sp,
// widened to whole hours, as the bill's line items are.
func extent(w source.Window, sp source.Span) source.Window {
	if w.Start.IsZero() {
		w.Start = sp.Start.Truncate(time.Hour)
	}
	if w.End.IsZero() {
		w.End = sp.End.Add(time.Hour - 1).Truncate(time.Hour)
	}
	return w
}

// mkey is a measured row: a region and, by resource, the resource.
type mkey struct{ region, resource string }

// measure sums what the records put on the bill, in bytes per resource
// the bill meters them on; dollars come at the end, once the bill has
// given the egress tier.
type measure struct {
	m          *costmodel.Model
	byResource bool
	use        map[mkey]*costmodel.Usage
	hops       *costmodel.Aggregator // the NAT gateways, endpoints and TGWs seen, for their hours
	noID       int64                 // records without node_instance_id
}

func newMeasure(m *costmodel.Model, byResource bool) *measure {
	return &measure{m: m, byResource: byResource, use: map[mkey]*costmodel.Usage{},
		hops: m.NewAggregator(costmodel.ByNamespace)}
}

func (x *measure) add(r *flows.Record, n int64) error {
	me, err := x.m.Metered(r)
	if err != nil {
		return err
	}
	if err := x.hops.AddRecords(r, n); err != nil {
		return err
	}
	if r.NodeInstanceID == "" {
		x.noID += n
	}
	node, remote, hop := "", "", ""
	if x.byResource {
		node, remote, hop = cmp.Or(r.NodeInstanceID, NoInstanceID), RemoteInterfaces, cmp.Or(r.Via, node)
	}
	x.addUsage(r.Region, node, me.Node)
	x.addUsage(r.Region, remote, me.Remote)
	x.addUsage(r.Region, hop, me.Hop)
	return nil
}

func (x *measure) addUsage(region, resource string, u costmodel.Usage) {
	if u == (costmodel.Usage{}) {
		return
	}
	k := mkey{region, resource}
	if x.use[k] == nil {
		k = mkey{strings.Clone(region), strings.Clone(resource)}
		x.use[k] = &costmodel.Usage{}
	}
	x.use[k].Add(u)
}

func (x *measure) merge(o *measure) {
	for k, u := range o.use {
		if x.use[k] == nil {
			x.use[k] = &costmodel.Usage{}
		}
		x.use[k].Add(*u)
	}
	x.hops.Merge(o.hops)
	x.noID += o.noID
}

// rkey identifies a row of the comparison.
type rkey struct {
	region   string
	line     cur.Line
	resource string
}

// amounts are one side of a row.
type amounts struct{ gb, hours, usd float64 }

// rows prices the measured usage line by line with m, and the hops' hours
// over a window of hours.
func (x *measure) rows(m *costmodel.Model, hours float64) (map[rkey]*amounts, error) {
	out := map[rkey]*amounts{}
	get := func(k rkey) *amounts {
		if out[k] == nil {
			out[k] = &amounts{}
		}
		return out[k]
	}
	for k, u := range x.use {
		l, err := m.BillLines(k.region, *u)
		if err != nil {
			if *u == (costmodel.Usage{}) {
				continue
			}
			return nil, err
		}
		for line, lc := range map[cur.Line]costmodel.LineCost{cur.InterAZ: l.Regional, cur.NATBytes: l.NAT,
			cur.InternetOut: l.InternetOut, cur.InterRegion: l.InterRegion, cur.VPCEndpoint: l.Endpoint,
			cur.TransitGateway: l.TGW} {
			if lc.Bytes == 0 {
				continue
			}
			a := get(rkey{k.region, line, k.resource})
			a.gb += float64(lc.Bytes) / costmodel.GB
			a.usd += lc.USD
		}
	}
	if hours <= 0 {
		return out, nil
	}
	for _, f := range x.hops.Fees(hours) {
		line := cur.NATHours
		switch {
		case strings.Contains(f.What, "public IPv4"):
			line = cur.PublicIPv4
		case strings.HasPrefix(f.Resource, "vpce-"):
			line = cur.VPCEndpoint
		case strings.HasPrefix(f.Resource, "tgw-"):
			line = cur.TransitGateway
		}
		res := ""
		if x.byResource {
			res = f.Resource
		}
		a := get(rkey{x.hops.HopRegion(f.Resource), line, res})
		a.hours += float64(f.Count) * hours
		a.usd += f.USD
	}
	return out, nil
}

// joinRows sets the bill's rows and the measured ones side by side, in the
// bill's order (region, line, resource).
func joinRows(bill *cur.Bill, measured map[rkey]*amounts, byResource bool) []ReconcileRow {
	billed := map[rkey]*amounts{}
	for _, r := range bill.Rows {
		k := rkey{r.Region, r.Line, ""}
		if byResource {
			k.resource = r.Resource
		}
		if billed[k] == nil {
			billed[k] = &amounts{}
		}
		billed[k].gb += r.GB
		billed[k].hours += r.Hours
		billed[k].usd += r.USD
	}
	keys := map[rkey]bool{}
	for k := range billed {
		keys[k] = true
	}
	for k := range measured {
		keys[k] = true
	}
	rows := make([]ReconcileRow, 0, len(keys))
	for k := range keys {
		b, m := billed[k], measured[k]
		if b == nil {
			b = &amounts{}
		}
		if m == nil {
			m = &amounts{}
		}
		r := ReconcileRow{Region: k.region, Line: k.line, Resource: k.resource,
			BilledGB: round6(b.gb), BilledHours: round6(b.hours), BilledUSD: round6(b.usd),
			MeasuredGB: round6(m.gb), MeasuredHours: round6(m.hours), MeasuredUSD: round6(m.usd)}
		r.Coverage = coverage(r.MeasuredUSD, r.BilledUSD)
		rows = append(rows, r)
	}
	slices.SortFunc(rows, func(x, y ReconcileRow) int {
		return cmp.Or(cmp.Compare(x.Region, y.Region), cmp.Compare(lineIndex(x.Line), lineIndex(y.Line)),
			cmp.Compare(y.BilledUSD, x.BilledUSD), cmp.Compare(x.Resource, y.Resource))
	})
	return rows
}

func lineIndex(l cur.Line) int { return slices.Index(cur.Lines(), l) }

// coverage is measured / billed, to a ten-thousandth; nil where nothing is
// billed.
func coverage(measured, billed float64) *float64 {
	if billed <= 0 {
		return nil
	}
	c := math.Round(measured/billed*1e4) / 1e4
	return &c
}

// verdict says in a line how much of the bill netcost explains: of the
// inter-AZ line, which the agents see whole at their own interfaces,
// else of the whole bill.
func verdict(res *ReconcileResult) string {
	var billed, measured float64
	for _, r := range res.Rows {
		if r.Line == cur.InterAZ {
			billed += r.BilledUSD
			measured += r.MeasuredUSD
		}
	}
	what := "inter-AZ bill"
	if billed <= 0 {
		what, billed, measured = "network bill", res.TotalBilledUSD, res.TotalMeasuredUSD
	}
	when := windowName(res.Start, res.End)
	if billed <= 0 {
		return fmt.Sprintf("the bill %s has no network line to explain", when)
	}
	pct := math.Round(measured / billed * 100)
	switch {
	case pct < 100:
		return fmt.Sprintf("netcost explains %.0f%% of the %s %s; %.0f%% comes from interfaces no agent reports",
			pct, what, when, 100-pct)
	case pct > 100:
		return fmt.Sprintf("netcost measures %.0f%% of the %s %s: %.0f%% more than billed (a window the bill "+
			"has not caught up with, or prices that differ from the account's)", pct, what, when, pct-100)
	}
	return fmt.Sprintf("netcost explains 100%% of the %s %s", what, when)
}

// windowName names a window for the verdict: "of 2026-11-20" for a UTC
// day, "of 2026-11" for a month, else its bounds.
func windowName(start, end time.Time) string {
	start, end = start.UTC(), end.UTC()
	day := start.Truncate(24 * time.Hour)
	switch {
	case start.Equal(day) && end.Equal(day.Add(24*time.Hour)):
		return "of " + start.Format(time.DateOnly)
	case start.Day() == 1 && start.Equal(day) && end.Equal(start.AddDate(0, 1, 0)):
		return "of " + start.Format("2006-01")
	case start.Equal(day) && end.Equal(end.Truncate(24*time.Hour)):
		return fmt.Sprintf("from %s to %s", start.Format(time.DateOnly), end.Format(time.DateOnly))
	}
	return fmt.Sprintf("from %s to %s", start.Format(time.RFC3339), end.Format(time.RFC3339))
}

// reconcileNotes say what the comparison cannot see.
func reconcileNotes(res *ReconcileResult, x *measure) []string {
	var notes []string
	if x.noID > 0 {
		notes = append(notes, fmt.Sprintf("%d records do not name their node's instance (node_instance_id, agents "+
			"before it): by resource, they show as %s", x.noID, NoInstanceID))
	}
	for _, r := range res.Rows {
		if r.Line == cur.PublicIPv4 && r.BilledUSD > 0 {
			notes = append(notes, "public-ipv4: netcost counts the addresses of the NAT gateways it sees; "+
				"instances' and load balancers' public addresses are not measured")
			break
		}
	}
	notes = append(notes, "not measured: traffic of instances without the agent, of other accounts and of managed "+
		"services (RDS replication, ...) that no agent's records touch")
	if res.Prorated > 0 {
		notes = append(notes, fmt.Sprintf("%d line items lie partly in the window and count in proportion", res.Prorated))
	}
	if res.EgressPeriod != "" {
		notes = append(notes, fmt.Sprintf("internet bytes priced at the egress tier of %.3f TB billed in %s",
			res.EgressTBMonth, res.EgressPeriod))
	}
	return notes
}
