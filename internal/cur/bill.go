package cur

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/netcost/netcost/internal/usage"
)

// Amount is what the bill says of a line: GB for the lines of bytes, hours
// for the lines of hours (NAT, endpoint and attachment hours, public IPv4
// address-hours), dollars, and how many line items added to it.
type Amount struct {
	GB    float64 `json:"gb"`
	Hours float64 `json:"hours"`
	USD   float64 `json:"usd"`
	Items int64   `json:"line_items"`
}

func (a *Amount) add(b Amount) {
	a.GB += b.GB
	a.Hours += b.Hours
	a.USD += b.USD
	a.Items += b.Items
}

// Key says which line a row of the bill is.
type Key struct {
	Region string `json:"region"`
	Line   Line   `json:"line"`
	// To is an inter-region line's destination region; empty for other
	// lines and for inter-region bytes over VPC peering, whose usage types
	// name no destination.
	To string `json:"to,omitempty"`
	// Resource is the resource the line item names (nat-..., i-...,
	// vpce-..., eipalloc-...), when the bill was read by resource; empty
	// for line items that name none.
	Resource string `json:"resource,omitempty"`
}

// Row is a line of the bill and what it sums to.
type Row struct {
	Key
	Amount
}

// Apart is a line item of a network usage type that is not usage: a
// Credit, Discount, Refund or Tax the bill applies to the line. They are
// shown apart, never in the line's figures.
type Apart struct {
	Type   string `json:"line_item_type"`
	Region string `json:"region"`
	Line   Line   `json:"line"`
	Amount
}

// Volume is the internet-out volume of a whole billing period in a region:
// what places the account in an egress tier.
type Volume struct {
	Period string  `json:"billing_period"`
	Region string  `json:"region"`
	GB     float64 `json:"gb"`
}

// Bill is the network part of a CUR over a window.
type Bill struct {
	// Location is where the bill was read (the --cur value).
	Location string
	// Start and End are the window [Start, End).
	Start, End time.Time
	// Periods are the billing periods (YYYY-MM) the export holds, and Read
	// those it read: the ones the window overlaps.
	Periods, Read []string
	// Rows are the usage line items (line_item_line_item_type Usage) of
	// the network lines, summed per line and region (and destination,
	// and resource), sorted by region, line, destination and resource.
	Rows []Row
	// Apart are the other line items of network usage types.
	Apart []Apart
	// CreditsUSD sums every Credit line item of the window, of any usage
	// type (credits are negative).
	CreditsUSD float64
	// Egress is each billing period's internet-out volume per region, over
	// the whole period, window or not. The current period's is month to
	// date.
	Egress []Volume
	// LineItems counts the line items of the window, of any type.
	LineItems int64
	// Prorated counts the line items only partly in the window: their
	// amounts count in proportion to the time inside it.
	Prorated int64
}

// ByLine returns the rows summed per region and line, over destinations
// and resources: the rows of reconcile's contract.
func (b *Bill) ByLine() []Row {
	m := map[Key]*Amount{}
	for _, r := range b.Rows {
		k := Key{Region: r.Region, Line: r.Line}
		if m[k] == nil {
			m[k] = &Amount{}
		}
		m[k].add(r.Amount)
	}
	return sortedRows(m)
}

// TotalUSD sums the rows' dollars.
func (b *Bill) TotalUSD() float64 {
	var usd float64
	for _, r := range b.Rows {
		usd += r.USD
	}
	return usd
}

// EgressGB returns the internet-out volume that sets the egress tier for
// the window: the volume, in region (every region when region is empty),
// of the billing period that holds the most of the window, and that
// period. It is 0 and "" when the bill read no period.
func (b *Bill) EgressGB(region string) (float64, string) {
	period, most := "", time.Duration(0)
	for _, p := range b.Read {
		ps, pe, err := periodBounds(p)
		if err != nil {
			continue
		}
		if d := minTime(pe, b.End).Sub(maxTime(ps, b.Start)); period == "" || d > most {
			period, most = p, d
		}
	}
	var gb float64
	for _, v := range b.Egress {
		if v.Period == period && (region == "" || v.Region == region) {
			gb += v.GB
		}
	}
	return gb, period
}

func minTime(a, b time.Time) time.Time {
	if b.IsZero() || a.Before(b) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if b.IsZero() || a.After(b) {
		return a
	}
	return b
}

// periodBounds returns the first instant of a billing period (YYYY-MM, in
// UTC) and of the next.
func periodBounds(p string) (time.Time, time.Time, error) {
	t, err := time.Parse("2006-01", p)
	if err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("billing period %q is not YYYY-MM", p)
	}
	return t, t.AddDate(0, 1, 0), nil
}

// lineItem is one line item as a reader hands it to the aggregator. Its
// strings may alias the reader's buffers: the aggregator copies what it
// keeps.
type lineItem struct {
	itemType, usageType, productCode, productRegion, resource, currency string
	// start and end are the usage start and end, in Unix milliseconds.
	start, end   int64
	amount, cost float64
	// items is how many line items this one stands for: 1 from files.
	items int64
	// windowed marks a group that Athena summed and prorated already:
	// start and end are ignored, items and prorated count the group's
	// line items in the window and those only partly in it, amount and
	// cost are the window's share, and periodGB is the usage amount over
	// the whole billing period.
	windowed bool
	prorated int64
	periodGB float64
}

// class is a usage type's Usage, remembered per usage type.
type class struct {
	Usage
	ok, known bool // a network line; a region code the table has
}

type apartKey struct {
	typ, region string
	line        Line
}

type volumeKey struct{ period, region string }

// aggregator sums line items into a bill's rows. One per reading goroutine;
// merge joins them.
type aggregator struct {
	start, end int64 // the window in Unix milliseconds
	byResource bool
	classes    map[string]class
	resources  map[string]string // resource ids as the bill writes them, to short ids
	rows       map[Key]*Amount
	apart      map[apartKey]*Amount
	egress     map[volumeKey]float64
	credits    float64
	items      int64
	prorated   int64
	currencies map[string]int64 // line items counted in another currency than USD
}

func newAggregator(start, end time.Time, byResource bool) *aggregator {
	a := &aggregator{start: math.MinInt64, end: math.MaxInt64, byResource: byResource,
		classes: map[string]class{}, resources: map[string]string{}, rows: map[Key]*Amount{},
		apart: map[apartKey]*Amount{}, egress: map[volumeKey]float64{}, currencies: map[string]int64{}}
	if !start.IsZero() {
		a.start = start.UnixMilli()
	}
	if !end.IsZero() {
		a.end = end.UnixMilli()
	}
	return a
}

// share is the part of [start, end) inside the window: 1 for a line item
// wholly in it, 0 for one outside, the fraction of its time in between. A
// line item of no duration counts where it starts.
func (a *aggregator) share(start, end int64) float64 {
	if end <= start {
		if start >= a.start && start < a.end {
			return 1
		}
		return 0
	}
	lo, hi := max(start, a.start), min(end, a.end)
	switch {
	case hi <= lo:
		return 0
	case lo == start && hi == end:
		return 1
	}
	return float64(hi-lo) / float64(end-start)
}

func (a *aggregator) classify(usageType, productCode, productRegion string) class {
	c, ok := a.classes[usageType]
	if !ok {
		c.Usage, c.ok = Classify(usageType, "")
		_, c.known = regionPrefixes[c.Region]
		a.classes[strings.Clone(usageType)] = c
	}
	if c.ok && c.Line == InternetOut && productCode == cloudFront {
		return class{}
	}
	if c.ok && !c.known && productRegion != "" {
		// A region code this table does not know yet: the line item's
		// own region column says where it is.
		c.Region = productRegion
	}
	return c
}

// resourceID returns the short id of a resource as the bill names it:
// nat-0abc for arn:aws:ec2:us-east-1:123456789012:natgateway/nat-0abc.
func (a *aggregator) resourceID(s string) string {
	if s == "" {
		return ""
	}
	if id, ok := a.resources[s]; ok {
		return id
	}
	id := s
	if strings.HasPrefix(id, "arn:") {
		if i := strings.LastIndexAny(id, "/:"); i >= 0 {
			id = id[i+1:]
		}
	}
	id = strings.Clone(id)
	a.resources[strings.Clone(s)] = id
	return id
}

func (a *aggregator) add(period string, it *lineItem) {
	f, prorated := 1.0, int64(0)
	if it.windowed {
		if it.items == 0 {
			f = 0
		}
		prorated = it.prorated
	} else {
		f = a.share(it.start, it.end)
		if f > 0 && f < 1 {
			prorated = it.items
		}
	}
	if f > 0 {
		a.items += it.items
		if it.currency != "USD" {
			a.currencies[strings.Clone(it.currency)] += it.items
		}
	}
	if it.itemType == "Credit" {
		a.credits += f * it.cost
		return
	}
	c := a.classify(it.usageType, it.productCode, it.productRegion)
	if !c.ok {
		return
	}
	if it.itemType == "Usage" && c.Line == InternetOut {
		gb := it.amount
		if it.windowed {
			gb = it.periodGB
		}
		a.egress[volumeKey{period, c.Region}] += gb
	}
	if f == 0 {
		return
	}
	amount := Amount{USD: f * it.cost, Items: it.items}
	if c.Hours {
		amount.Hours = f * it.amount
	} else {
		amount.GB = f * it.amount
	}
	if it.itemType != "Usage" {
		k := apartKey{strings.Clone(it.itemType), c.Region, c.Line}
		if a.apart[k] == nil {
			a.apart[k] = &Amount{}
		}
		a.apart[k].add(amount)
		return
	}
	a.prorated += prorated
	k := Key{Region: c.Region, Line: c.Line, To: c.To}
	if a.byResource {
		k.Resource = a.resourceID(it.resource)
	}
	if a.rows[k] == nil {
		a.rows[k] = &Amount{}
	}
	a.rows[k].add(amount)
}

// merge adds b's sums to a's.
func (a *aggregator) merge(b *aggregator) {
	for k, v := range b.rows {
		if a.rows[k] == nil {
			a.rows[k] = &Amount{}
		}
		a.rows[k].add(*v)
	}
	for k, v := range b.apart {
		if a.apart[k] == nil {
			a.apart[k] = &Amount{}
		}
		a.apart[k].add(*v)
	}
	for k, v := range b.egress {
		a.egress[k] += v
	}
	for k, v := range b.currencies {
		a.currencies[k] += v
	}
	a.credits += b.credits
	a.items += b.items
	a.prorated += b.prorated
}

// currencyError says the bill is not in USD, which netcost's prices are.
func (a *aggregator) currencyError(where string) error {
	if len(a.currencies) == 0 {
		return nil
	}
	var names []string
	for c, n := range a.currencies {
		if c == "" {
			c = "no currency"
		}
		names = append(names, fmt.Sprintf("%s (%d line items)", c, n))
	}
	slices.Sort(names)
	return usage.Errorf("the bill at %s is in %s, not USD (line_item_currency_code): netcost's prices are in USD, "+
		"so it cannot compare them", where, strings.Join(names, ", "))
}

// fill writes the sums into b.
func (a *aggregator) fill(b *Bill) {
	b.Rows = sortedRows(a.rows)
	b.Apart = b.Apart[:0]
	for k, v := range a.apart {
		b.Apart = append(b.Apart, Apart{Type: k.typ, Region: k.region, Line: k.line, Amount: *v})
	}
	slices.SortFunc(b.Apart, func(x, y Apart) int {
		return cmp.Or(cmp.Compare(x.Type, y.Type), cmp.Compare(x.Region, y.Region), lineOrder(x.Line, y.Line))
	})
	b.Egress = b.Egress[:0]
	for k, gb := range a.egress {
		b.Egress = append(b.Egress, Volume{Period: k.period, Region: k.region, GB: gb})
	}
	slices.SortFunc(b.Egress, func(x, y Volume) int {
		return cmp.Or(cmp.Compare(x.Period, y.Period), cmp.Compare(x.Region, y.Region))
	})
	b.CreditsUSD = a.credits
	b.LineItems = a.items
	b.Prorated = a.prorated
}

func lineOrder(x, y Line) int {
	return cmp.Compare(slices.Index(Lines(), x), slices.Index(Lines(), y))
}

func sortedRows(m map[Key]*Amount) []Row {
	rows := make([]Row, 0, len(m))
	for k, v := range m {
		rows = append(rows, Row{Key: k, Amount: *v})
	}
	slices.SortFunc(rows, func(x, y Row) int {
		return cmp.Or(cmp.Compare(x.Region, y.Region), lineOrder(x.Line, y.Line), cmp.Compare(x.To, y.To),
			cmp.Compare(x.Resource, y.Resource))
	})
	return rows
}
