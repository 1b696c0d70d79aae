package query

import (
	"context"
	"math"
	"time"

	"github.com/netcost/netcost/costmodel"
	"github.com/netcost/netcost/internal/flows"
	"github.com/netcost/netcost/internal/source"
)

// TopOptions select a top-contributors view.
type TopOptions struct {
	Options
	Category flows.Category // as parsed from the CLI: NATGateway means the NAT view
	GroupBy  costmodel.GroupBy
	Limit    int // 0 means all rows
}

// HourlyFee is a fixed fee of a billed hop seen in the window, shown beside
// the per-byte costs and never spread over them.
type HourlyFee = costmodel.Fee

// TopResult is the answer to `netcost top`.
type TopResult struct {
	Category     flows.Category  `json:"-"`
	View         string          `json:"category"`
	Start        time.Time       `json:"start"`
	End          time.Time       `json:"end"`
	Source       string          `json:"source"`
	GroupBy      string          `json:"group_by"`
	Rows         []costmodel.Row `json:"rows"`
	TotalBytes   uint64          `json:"total_bytes"`
	TotalCostUSD float64         `json:"total_cost_usd"`
	MonthlyUSD   float64         `json:"projected_monthly_cost_usd"` // total, projected from the window
	OmittedRows  int             `json:"omitted_rows"`               // beyond --limit, included in the totals
	HourlyFees   []HourlyFee     `json:"hourly_fees,omitempty"`
	Records      int64           `json:"records"`
	Skipped      int64           `json:"skipped_lines,omitempty"`
	Notes        []string        `json:"notes,omitempty"` // the source's caveats
	Span         source.Span     `json:"-"`
}

// Top computes the top contributors of a category.
func Top(ctx context.Context, m *costmodel.Model, opts TopOptions) (*TopResult, error) {
	b := NewBatch(m, opts.Options)
	res := b.Top(opts)
	if err := b.Run(ctx); err != nil {
		return nil, err
	}
	return res, nil
}

// topResult lays out the priced rows of a top query.
func topResult(opts TopOptions, rows []costmodel.Row, fees []costmodel.Fee, sp source.Span) *TopResult {
	res := &TopResult{Category: opts.Category, View: opts.Category.CLIName(), Start: sp.Start, End: sp.End,
		Source: spanSource(sp, opts.Options), GroupBy: opts.GroupBy.String(), Records: sp.Matched, Skipped: sp.Stats.Skipped,
		Notes: sp.Notes, Span: sp, HourlyFees: roundFees(fees)}
	for _, r := range rows {
		res.TotalBytes += r.Bytes
		res.TotalCostUSD += r.CostUSD
	}
	if h := sp.Duration().Hours(); h > 0 {
		res.MonthlyUSD = res.TotalCostUSD * costmodel.HoursPerMonth / h
	}
	if opts.Limit > 0 && len(rows) > opts.Limit {
		res.OmittedRows = len(rows) - opts.Limit
		rows = rows[:opts.Limit]
	}
	for i := range rows {
		r := &rows[i]
		r.Cost = roundCost(r.Cost)
		r.CostUSD = round6(r.CostUSD)
	}
	res.TotalCostUSD, res.MonthlyUSD = round6(res.TotalCostUSD), round6(res.MonthlyUSD)
	res.Rows = rows
	if res.Rows == nil {
		res.Rows = []costmodel.Row{}
	}
	return res
}

// roundFees rounds each fee's dollars with round6.
func roundFees(fees []costmodel.Fee) []costmodel.Fee {
	for i := range fees {
		fees[i].USD = round6(fees[i].USD)
	}
	return fees
}

// roundCost rounds each line of c with round6.
func roundCost(c costmodel.Cost) costmodel.Cost {
	return costmodel.Cost{InterAZ: round6(c.InterAZ), Regional: round6(c.Regional), NATProcessing: round6(c.NATProcessing),
		DataTransferOut: round6(c.DataTransferOut), Processing: round6(c.Processing)}
}

// round6 rounds USD to a millionth of a dollar, so that JSON shows 0.8, not
// 0.7999999999999999; the tables round further.
func round6(v float64) float64 { return math.Round(v*1e6) / 1e6 }
