package query

import (
	"context"
	"time"

	"github.com/netcost/netcost/costmodel"
	"github.com/netcost/netcost/internal/source"
)

// RecommendResult is the answer to `netcost recommend`.
type RecommendResult struct {
	Start           time.Time                  `json:"start"`
	End             time.Time                  `json:"end"`
	Source          string                     `json:"source"`
	WindowS         int64                      `json:"window_s"` // what the monthly figures extrapolate from
	Recommendations []costmodel.Recommendation `json:"recommendations"`
	TotalSavingsUSD float64                    `json:"total_monthly_savings_usd"` // certain ones only
	Records         int64                      `json:"records"`
	Skipped         int64                      `json:"skipped_lines,omitempty"`
	Notes           []string                   `json:"notes,omitempty"` // the source's caveats, how savings add up
}

// Window is the window the monthly figures project from.
func (r *RecommendResult) Window() time.Duration { return time.Duration(r.WindowS) * time.Second }

// Recommend reads every record in the window and proposes changes.
func Recommend(ctx context.Context, m *costmodel.Model, opts Options, ao costmodel.AdviseOptions) (*RecommendResult, error) {
	b := NewBatch(m, opts)
	res := b.Recommend(opts.Window, ao)
	if err := b.Run(ctx); err != nil {
		return nil, err
	}
	return res, nil
}

// recommendResult proposes changes from what the advisors saw.
func recommendResult(opts Options, adv *costmodel.Advisor, ao costmodel.AdviseOptions, sp source.Span) (*RecommendResult, error) {
	res := &RecommendResult{Start: sp.Start, End: sp.End, Source: spanSource(sp, opts), Records: sp.Matched, Notes: sp.Notes,
		Skipped: sp.Stats.Skipped, WindowS: int64(sp.Duration() / time.Second), Recommendations: []costmodel.Recommendation{}}
	if sp.Matched == 0 {
		return res, nil
	}
	recs, err := adv.Recommend(sp.Duration(), ao)
	if err != nil {
		return nil, err
	}
	for i := range recs {
		r := &recs[i]
		r.MonthlySavingsUSD, r.MonthlyCostUSD, r.Evidence.CostUSD = round6(r.MonthlySavingsUSD), round6(r.MonthlyCostUSD), round6(r.Evidence.CostUSD)
		if !r.Estimate {
			res.TotalSavingsUSD += r.MonthlySavingsUSD
		}
	}
	res.Recommendations = recs
	if len(recs) > 0 {
		res.Notes = append(res.Notes, costmodel.OverlapNote)
		if w := costmodel.ProjectionWarning(sp.Duration()); w != "" {
			res.Notes = append(res.Notes, w)
		}
	}
	res.TotalSavingsUSD = round6(res.TotalSavingsUSD)
	return res, nil
}
