package query

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/netcost/netcost/costmodel"
	"github.com/netcost/netcost/internal/flows"
	"github.com/netcost/netcost/internal/source"
)

// CategorySpend is what one record category cost in a window.
type CategorySpend struct {
	Category flows.Category `json:"category"`
	Bytes    uint64         `json:"bytes"`
	CostUSD  float64        `json:"cost_usd"`
}

// SpendResult is the whole network bill of a window: every record, every
// category, priced as Top prices them (an inter-AZ byte between two of the
// cluster's pods counted once and billed at both ends).
type SpendResult struct {
	Start        time.Time       `json:"start"`
	End          time.Time       `json:"end"`
	Source       string          `json:"source"`
	TotalBytes   uint64          `json:"total_bytes"`
	Cost         costmodel.Cost  `json:"cost"` // by line of the bill
	TotalCostUSD float64         `json:"total_cost_usd"`
	ByCategory   []CategorySpend `json:"by_category"` // costliest first
	Records      int64           `json:"records"`
	Skipped      int64           `json:"skipped_lines,omitempty"`
	Notes        []string        `json:"notes,omitempty"` // the source's caveats
	// HourlyFees are the hops' fees by the hour, apart from the per-byte
	// costs above, and FeesUSD their sum for the window.
	HourlyFees []HourlyFee `json:"hourly_fees,omitempty"`
	FeesUSD    float64     `json:"hourly_fees_usd,omitempty"`
}

// Spend prices every record in the window.
func Spend(ctx context.Context, m *costmodel.Model, opts Options) (*SpendResult, error) {
	b := NewBatch(m, opts)
	res := b.Spend(opts.Window)
	if err := b.Run(ctx); err != nil {
		return nil, err
	}
	return res, nil
}

// spendResult sums the priced rows of every record of a window.
func spendResult(opts Options, rows []costmodel.Row, fees []costmodel.Fee, sp source.Span) *SpendResult {
	res := &SpendResult{Start: sp.Start, End: sp.End, Source: spanSource(sp, opts), Records: sp.Matched, Skipped: sp.Stats.Skipped, Notes: sp.Notes}
	for _, f := range fees {
		res.FeesUSD += f.USD
	}
	res.HourlyFees, res.FeesUSD = roundFees(fees), round6(res.FeesUSD)
	byCat := map[flows.Category]*CategorySpend{}
	for _, r := range rows {
		res.TotalBytes += r.Bytes
		res.Cost.Add(r.Cost)
		c := byCat[r.Category]
		if c == nil {
			c = &CategorySpend{Category: r.Category}
			byCat[r.Category] = c
		}
		c.Bytes += r.Bytes
		c.CostUSD += r.CostUSD
	}
	res.TotalCostUSD = round6(res.Cost.Total())
	res.Cost = roundCost(res.Cost)
	res.ByCategory = []CategorySpend{}
	for _, c := range byCat {
		c.CostUSD = round6(c.CostUSD)
		res.ByCategory = append(res.ByCategory, *c)
	}
	slices.SortFunc(res.ByCategory, func(a, b CategorySpend) int {
		return cmp.Or(cmp.Compare(b.CostUSD, a.CostUSD), cmp.Compare(b.Bytes, a.Bytes), cmp.Compare(a.Category, b.Category))
	})
	return res
}
