package query

import (
	"context"
	"slices"
	"time"

	"github.com/netcost/netcost/costmodel"
	"github.com/netcost/netcost/internal/flows"
	"github.com/netcost/netcost/internal/source"
	"github.com/netcost/netcost/internal/usage"
)

// Batch answers several queries over one source together, each in its own
// window: a file store is read once for all of them, where asking each in
// turn read it once a query. Add the queries, then Run: the results the
// queries returned are filled in by Run.
type Batch struct {
	m       *costmodel.Model
	opts    Options
	queries []*source.Query
	finish  []func(source.Span) error // by query, once the read is done
}

// NewBatch starts a batch over opts' source; opts.Window is not used.
func NewBatch(m *costmodel.Model, opts Options) *Batch { return &Batch{m: m, opts: opts} }

// Run reads the source and fills in the results.
func (b *Batch) Run(ctx context.Context) error {
	r, err := newReader(b.opts)
	if err != nil {
		return err
	}
	sps, err := r.Read(ctx, b.queries)
	if err != nil {
		return readError(err)
	}
	for i, q := range b.queries {
		sps[i].Notes = append(sps[i].Notes, emptyNotes(b.opts, q, sps[i], time.Now())...)
	}
	for i, f := range b.finish {
		if err := f(sps[i]); err != nil {
			return err
		}
	}
	return nil
}

// Top adds a top-contributors query: opts' window, category, grouping and
// limit; the batch's source.
func (b *Batch) Top(opts TopOptions) *TopResult {
	res := &TopResult{}
	view := source.View(opts.Category)
	opts.Options.Source = b.opts.Source
	b.aggregate(opts.Window, &view, opts.GroupBy, func(rows []costmodel.Row, fees []costmodel.Fee, sp source.Span) error {
		*res = *topResult(opts, rows, fees, sp)
		return nil
	})
	return res
}

// Spend adds the spend of window w.
func (b *Batch) Spend(w source.Window) *SpendResult {
	res := &SpendResult{}
	// Namespaces keep the rows few; pairs are still joined per pod pair.
	b.aggregate(w, nil, costmodel.ByNamespace, func(rows []costmodel.Row, fees []costmodel.Fee, sp source.Span) error {
		*res = *spendResult(b.opts, rows, fees, sp)
		return nil
	})
	return res
}

// Recommend adds the recommendations from the records of window w.
func (b *Batch) Recommend(w source.Window, ao costmodel.AdviseOptions) *RecommendResult {
	res := &RecommendResult{}
	var advs []*costmodel.Advisor
	b.add(w, nil, func(workers int) source.RecordFunc {
		advs = make([]*costmodel.Advisor, workers)
		for i := range advs {
			advs[i] = b.m.NewAdvisor()
		}
		return func(w int, r *flows.Record, _ int64) error { return advs[w].Add(r) }
	}, func(sp source.Span) error {
		for _, a := range advs[1:] {
			advs[0].Merge(a)
		}
		r, err := recommendResult(b.opts, advs[0], ao, sp)
		if err != nil {
			return err
		}
		*res = *r
		return nil
	})
	return res
}

func (b *Batch) add(w source.Window, view *source.View, begin func(workers int) source.RecordFunc, finish func(source.Span) error) {
	b.queries = append(b.queries, &source.Query{Window: w, View: view, Begin: begin})
	b.finish = append(b.finish, finish)
}

// aggregate adds a query that prices the records of view (nil: all) in w
// grouped by g, one aggregator a reading worker, merged at the end.
// finish gets the rows, and the hourly fees of the hops they pass over
// the span's hours.
func (b *Batch) aggregate(w source.Window, view *source.View, g costmodel.GroupBy,
	finish func([]costmodel.Row, []costmodel.Fee, source.Span) error) {
	var aggs []*costmodel.Aggregator
	b.add(w, view, func(workers int) source.RecordFunc {
		aggs = make([]*costmodel.Aggregator, workers)
		for i := range aggs {
			aggs[i] = b.m.NewAggregator(g)
		}
		return func(w int, r *flows.Record, n int64) error { return aggs[w].AddRecords(r, n) }
	}, func(sp source.Span) error {
		for _, a := range aggs[1:] {
			aggs[0].Merge(a)
		}
		rows, err := aggs[0].Rows()
		if err != nil {
			return usage.Wrap(err)
		}
		sp.Notes = append(slices.Clip(sp.Notes), aggs[0].Notes()...) // what the prices assumed
		var fees []costmodel.Fee
		if h := sp.Duration().Hours(); h > 0 {
			fees = aggs[0].Fees(h)
		}
		return finish(rows, fees, sp)
	})
}
