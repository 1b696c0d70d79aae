package source

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"golang.org/x/sync/errgroup"

	"github.com/netcost/netcost/internal/awscfg"
	"github.com/netcost/netcost/internal/flows"
	"github.com/netcost/netcost/internal/usage"
)

// Logs Insights limits and pacing. Tests lower them.
var (
	insightsRowLimit   = 10000 // the most rows a query returns (StartQuery's limit)
	insightsConcurrent = 4     // queries running at once, of the account's quota
	insightsPollFirst  = 500 * time.Millisecond
	insightsPollMax    = 5 * time.Second
	insightsStopWait   = 5 * time.Second // for StopQuery after Ctrl-C
)

// groupFields are the record fields the Logs Insights sums are grouped by:
// every field the cost model reads, so that one group's synthetic record
// (its bytes summed) prices and groups exactly as its records would, and
// node_instance_id, which names the node as the bill does. Left out: the
// time (the span has its own query), cluster, protocol and packets, which
// the model does not read.
var groupFields = []string{"region", "direction", "category",
	"local_ip", "local_pod", "local_namespace", "local_workload", "local_workload_kind",
	"node", "node_instance_id", "local_az", "local_az_id", "local_subnet",
	"remote_ip", "remote_port", "remote_pod", "remote_namespace", "remote_workload", "remote_service", "remote_node",
	"remote_az", "remote_az_id", "remote_name", "remote_name_source", "remote_reported", "remote_lb",
	"remote_aws_service", "remote_region", "via", "via_az_id"}

// Result fields of the aggregates.
const (
	sumField     = "sum_bytes"
	countField   = "records"
	firstField   = "first"
	lastField    = "last"
	windowsField = "window_s"
	nodeField    = "node"
	distinctTS   = "windows" // a node's windows: the distinct timestamps of its events
)

// viewFilter is the Logs Insights filter of a view, the same selection as
// View.Matches; empty for every record.
func viewFilter(view *View) string {
	if view == nil {
		return ""
	}
	if flows.Category(*view) == flows.NATGateway {
		return fmt.Sprintf("filter via like /^nat-/ and category != %q and category != %q", flows.IntraAZ, flows.InterAZ)
	}
	return fmt.Sprintf("filter category = %q", flows.Category(*view))
}

// byteRange is a part of the records of one second, [Lo, Hi) by their
// bytes, for when one second holds more groups than a query returns. Hi 0
// is unbounded; the zero byteRange is every record.
type byteRange struct{ Lo, Hi uint64 }

func (p byteRange) filter() string {
	switch {
	case p == byteRange{}:
		return ""
	case p.Hi == 0:
		return fmt.Sprintf("filter bytes >= %d", p.Lo)
	}
	return fmt.Sprintf("filter bytes >= %d and bytes < %d", p.Lo, p.Hi)
}

// split halves the range, geometrically while it spans more than a
// factor of 4 (record sizes spread over orders of magnitude), else
// linearly; ok is false for a single value.
func (p byteRange) split() (a, b byteRange, ok bool) {
	hi := p.Hi
	if hi == 0 {
		hi = flows.MaxBytes * 2 // nothing valid above
	}
	if hi-p.Lo <= 1 {
		return p, p, false
	}
	var mid uint64
	switch {
	case p.Lo == 0:
		mid = 1 << (bits.Len64(hi-1) / 2)
	case hi/p.Lo > 4:
		mid = 1 << ((bits.Len64(p.Lo) + bits.Len64(hi-1)) / 2)
	default:
		mid = p.Lo + (hi-p.Lo)/2
	}
	return byteRange{p.Lo, mid}, byteRange{mid, p.Hi}, true
}

// queryText joins Logs Insights commands, skipping empty ones.
func queryText(cmds ...string) string {
	cmds = slices.DeleteFunc(cmds, func(c string) bool { return c == "" })
	return strings.Join(cmds, "\n| ")
}

// statsQuery is the Logs Insights query that sums a view's bytes per
// group, over the part p of the records.
func statsQuery(view *View, p byteRange) string {
	return queryText(viewFilter(view), p.filter(),
		fmt.Sprintf("stats sum(bytes) as %s, count(*) as %s by %s", sumField, countField, strings.Join(groupFields, ", ")))
}

// spanQuery finds the extent of every record in the window, whatever the
// view, as a file source's span does, per node and window length (a window
// ends window_s after it starts): its first and last event, and how many
// windows it has records for (an agent stamps a window's events with its
// start), which tells the node's holes; one row per node, in one scan.
func spanQuery(p byteRange) string {
	return queryText(p.filter(), fmt.Sprintf("stats count(*) as %s, min(@timestamp) as %s, max(@timestamp) as %s, "+
		"count_distinct(@timestamp) as %s by %s, %s", countField, firstField, lastField, distinctTS, nodeField,
		windowsField))
}

// countQuery counts a view's records, ungrouped, over the part p of the
// records: Logs Insights leaves out of a stats ... by query the events that
// lack a grouped field (records omit empty fields), and this count is the
// check that the grouped answer holds them all.
func countQuery(view *View, p byteRange) string {
	return queryText(viewFilter(view), p.filter(), fmt.Sprintf("stats count(*) as %s", countField))
}

// statsGroup is one row of a stats query: n records with rec's fields, their
// bytes summed in rec.Bytes.
type statsGroup struct {
	rec flows.Record
	n   int64
}

// parseGroups turns a stats query's rows into records. Rows whose fields
// are not a valid record are an error, or skipped (and their records
// counted) when lenient.
func parseGroups(rows [][]types.ResultField, lenient bool) (groups []statsGroup, skipped int64, err error) {
	for _, row := range rows {
		if !slices.ContainsFunc(row, func(f types.ResultField) bool { return aws.ToString(f.Field) == countField }) {
			return nil, 0, errNoStats
		}
		g, err := parseGroup(row)
		if err != nil {
			if lenient {
				skipped += max(g.n, 1)
				continue
			}
			return nil, 0, err
		}
		groups = append(groups, g)
	}
	return groups, skipped, nil
}

func parseGroup(row []types.ResultField) (statsGroup, error) {
	g := statsGroup{rec: flows.Record{Schema: flows.SchemaVersion, TS: time.Unix(0, 0).UTC(), WindowS: 1,
		Protocol: flows.TCP}}
	r := &g.rec
	var sum float64
	var err error
	for _, f := range row {
		name, v := aws.ToString(f.Field), aws.ToString(f.Value)
		switch name {
		case sumField:
			sum, err = strconv.ParseFloat(v, 64)
			if err != nil || sum < 0 || sum > 1<<53 || sum != math.Trunc(sum) {
				err = fmt.Errorf("sum of bytes %q is not a whole number of bytes", v)
			}
		case countField:
			g.n, err = strconv.ParseInt(v, 10, 64)
		case "direction":
			r.Direction, err = flows.ParseDirection(v)
		case "category":
			if r.Category, err = flows.ParseCategory(v); err == nil && r.Category.String() != v {
				err = fmt.Errorf("category %q: want a record name such as %s", v, r.Category)
			}
		case "remote_port":
			var p uint64
			if v != "" {
				p, err = strconv.ParseUint(v, 10, 16)
			}
			r.RemotePort = uint16(p)
		case "remote_reported":
			r.RemoteReportedRaw, err = parseInsightsBool(name, v)
		default:
			if p := stringField(r, name); p != nil {
				*p = v
			}
		}
		if err != nil {
			break
		}
	}
	if err == nil {
		err = r.Validate() // bytes are not set yet: a sum may exceed one record's bound
	}
	if err != nil {
		var desc []string // the group's fields
		for _, f := range row {
			if name, v := aws.ToString(f.Field), aws.ToString(f.Value); name != sumField && name != countField && v != "" {
				desc = append(desc, name+"="+v)
			}
		}
		return g, fmt.Errorf("a group of %d records (%s): %w", g.n, strings.Join(desc, " "), err)
	}
	r.Bytes = uint64(sum)
	return g, nil
}

// parseInsightsBool parses a JSON boolean as Logs Insights returns it: 1
// or 0 (true or false also taken). A group of records without the field
// has no value for it, or an empty one: that is BoolUnset, not false.
func parseInsightsBool(name, v string) (flows.OptBool, error) {
	switch v {
	case "":
		return flows.BoolUnset, nil
	case "1", "true":
		return flows.BoolTrue, nil
	case "0", "false":
		return flows.BoolFalse, nil
	}
	return flows.BoolUnset, fmt.Errorf("%s %q: want 1 or 0, a JSON true or false", name, v)
}

// stringField returns the record's string field of that name, or nil.
func stringField(r *flows.Record, name string) *string {
	switch name {
	case "region":
		return &r.Region
	case "local_ip":
		return &r.LocalIP
	case "local_pod":
		return &r.LocalPod
	case "local_namespace":
		return &r.LocalNamespace
	case "local_workload":
		return &r.LocalWorkload
	case "local_workload_kind":
		return &r.LocalWorkloadKind
	case "node":
		return &r.Node
	case "node_instance_id":
		return &r.NodeInstanceID
	case "local_az":
		return &r.LocalAZ
	case "local_az_id":
		return &r.LocalAZID
	case "local_subnet":
		return &r.LocalSubnet
	case "remote_ip":
		return &r.RemoteIP
	case "remote_pod":
		return &r.RemotePod
	case "remote_namespace":
		return &r.RemoteNamespace
	case "remote_workload":
		return &r.RemoteWorkload
	case "remote_service":
		return &r.RemoteService
	case "remote_node":
		return &r.RemoteNode
	case "remote_az":
		return &r.RemoteAZ
	case "remote_az_id":
		return &r.RemoteAZID
	case "remote_name":
		return &r.RemoteName
	case "remote_name_source":
		return &r.RemoteNameSource
	case "remote_lb":
		return &r.RemoteLB
	case "remote_aws_service":
		return &r.RemoteAWSService
	case "remote_region":
		return &r.RemoteRegion
	case "via":
		return &r.Via
	case "via_az_id":
		return &r.ViaAZID
	}
	return nil
}

// errNoStats is the answer of an endpoint that returns log events for a
// stats query.
var errNoStats = errors.New("the Logs Insights answer has no stats fields: " +
	"the endpoint does not run Logs Insights stats (moto does not): use --exact")

// parseSpan folds the span query's rows into a span accumulator.
func parseSpan(rows [][]types.ResultField) (spanAcc, error) {
	var acc spanAcc
	for _, row := range rows {
		if !slices.ContainsFunc(row, func(f types.ResultField) bool { return aws.ToString(f.Field) == countField }) {
			return spanAcc{}, errNoStats
		}
		var n, windowS, windows int64
		var first, last time.Time
		var node string
		var err error
		for _, f := range row {
			v := aws.ToString(f.Value)
			switch aws.ToString(f.Field) {
			case countField:
				n, err = strconv.ParseInt(v, 10, 64)
			case windowsField:
				windowS, _ = strconv.ParseInt(v, 10, 64) // a bad window_s: no end to take
			case distinctTS:
				windows, err = strconv.ParseInt(v, 10, 64)
			case nodeField:
				node = v
			case firstField:
				first, err = parseInsightsTime(v)
			case lastField:
				last, err = parseInsightsTime(v)
			}
			if err != nil {
				return spanAcc{}, fmt.Errorf("a bad span row from Logs Insights: %w", err)
			}
		}
		if n == 0 || first.IsZero() {
			continue
		}
		window := time.Duration(max(windowS, 0)) * time.Second
		if acc.first.IsZero() || first.Before(acc.first) {
			acc.first = first
		}
		if e := last.Add(window); e.After(acc.last) {
			acc.last = e
		}
		acc.seen += n
		if node != "" && window > 0 {
			acc.nodes.counted(node, first, last.Add(window), window, time.Duration(windows)*window)
		}
	}
	return acc, nil
}

// parseCount sums the record counts of a count query's rows.
func parseCount(rows [][]types.ResultField) (int64, error) {
	var n int64
	for _, row := range rows {
		i := slices.IndexFunc(row, func(f types.ResultField) bool { return aws.ToString(f.Field) == countField })
		if i < 0 {
			return 0, errNoStats
		}
		v, err := strconv.ParseInt(aws.ToString(row[i].Value), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("a bad count row from Logs Insights: %q", aws.ToString(row[i].Value))
		}
		n += v
	}
	return n, nil
}

// missingNote says that the grouped answer holds fewer records than the
// view matches, or is empty when it holds them all.
func missingNote(grouped, counted int64) string {
	if counted <= grouped {
		return ""
	}
	return fmt.Sprintf("Logs Insights grouped %d of the %d records this view matches: the %d others are not in "+
		"these figures; rerun with --exact to read every record", grouped, counted, counted-grouped)
}

// parseInsightsTime parses a timestamp as Logs Insights shows it
// ("2026-11-20 09:00:00.000", UTC) or as milliseconds since the epoch.
func parseInsightsTime(v string) (time.Time, error) {
	if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.UnixMilli(ms).UTC(), nil
	}
	t, err := time.Parse("2006-01-02 15:04:05.999", v)
	if err != nil {
		return time.Time{}, fmt.Errorf("timestamp %q: want 2006-01-02 15:04:05.000 or milliseconds", v)
	}
	return t, nil
}

// insights answers a view with Logs Insights: the stats query for the
// view's groups and the span query run side by side, each split in time
// until its answer fits the row limit; fn sees one record per group.
func (cw *cloudWatchScan) insights(ctx context.Context, w Window, view *View, fn RecordFunc) (Span, error) {
	q := &insightsRunner{cw: cw, sem: make(chan struct{}, insightsConcurrent)}
	var statsRows, spanRows, countRows [][]types.ResultField
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		statsRows, err = q.run(gctx, func(p byteRange) string { return statsQuery(view, p) }, w, byteRange{})
		return err
	})
	g.Go(func() (err error) { spanRows, err = q.run(gctx, spanQuery, w, byteRange{}); return err })
	g.Go(func() (err error) {
		countRows, err = q.run(gctx, func(p byteRange) string { return countQuery(view, p) }, w, byteRange{})
		return err
	})
	if err := g.Wait(); err != nil {
		if ctx.Err() != nil {
			return Span{}, ctx.Err()
		}
		return Span{}, err
	}
	acc, err := parseSpan(spanRows)
	if err != nil {
		return Span{}, fmt.Errorf("%s: %w", cw.what(), err)
	}
	counted, err := parseCount(countRows)
	if err != nil {
		return Span{}, fmt.Errorf("%s: %w", cw.what(), err)
	}
	groups, skipped, err := parseGroups(statsRows, cw.lenient)
	if errors.Is(err, errNoStats) {
		return Span{}, fmt.Errorf("%s: %w", cw.what(), err)
	}
	if err != nil {
		return Span{}, usage.Errorf("%s: %w (fix the agent's records, or pass --strict=false to skip them)", cw.what(), err)
	}
	stats := ReadStats{Skipped: skipped, Lines: acc.seen}
	for i := range groups {
		gr := &groups[i]
		acc.matched += gr.n
		stats.Records += gr.n
		if err := fn(0, &gr.rec, gr.n); err != nil {
			return Span{}, cw.recordError(err, fmt.Sprintf("records of local_ip %s, remote_ip %s",
				gr.rec.LocalIP, gr.rec.RemoteIP))
		}
	}
	sp := acc.span(w, stats, cw.logger)
	if note := missingNote(stats.Records+skipped, counted); note != "" {
		if cw.logger != nil {
			cw.logger.Warn("the Logs Insights groups miss records", "log_group", cw.group,
				"grouped", stats.Records+skipped, "matched", counted)
		}
		sp.Notes = append(sp.Notes, note)
	}
	return sp, nil
}

// insightsRunner runs Logs Insights queries: splits, polls, stops.
type insightsRunner struct {
	cw  *cloudWatchScan
	sem chan struct{}

	mu                 sync.Mutex
	started, completed int
	scanned            map[string]float64 // bytes scanned by query id
}

// errTooManyGroups is returned when records of one second and one size
// hold more groups than a query returns.
var errTooManyGroups = errors.New("too many groups")

// run runs the query build(p) over w. When the answer fills the row limit
// (so may be cut short) it runs it again over each half of w, recursively;
// within one second (one agent window's records share their ts), over
// each half of p, the records' sizes. The parts' rows are merged: a group
// found in several parts is summed by the caller.
func (q *insightsRunner) run(ctx context.Context, build func(byteRange) string, w Window,
	p byteRange) ([][]types.ResultField, error) {
	rows, err := q.once(ctx, build(p), w)
	if err != nil || len(rows) < insightsRowLimit {
		return rows, err
	}
	var wa, wb Window
	pa, pb := p, p
	if half := w.End.Sub(w.Start) / 2; half >= time.Second {
		mid := w.Start.Add(half).Truncate(time.Second)
		wa, wb = Window{w.Start, mid}, Window{mid, w.End}
	} else {
		var ok bool
		if pa, pb, ok = p.split(); !ok {
			return nil, usage.Errorf("%w: Logs Insights returned its limit of %d rows for the records of %d bytes "+
				"in the second at %s of %s: use --exact to read the records instead",
				errTooManyGroups, insightsRowLimit, p.Lo, w.Start.Format(time.RFC3339), q.cw.what())
		}
		wa, wb = w, w
	}
	var a, b [][]types.ResultField
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) { a, err = q.run(gctx, build, wa, pa); return err })
	g.Go(func() (err error) { b, err = q.run(gctx, build, wb, pb); return err })
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return append(a, b...), nil
}

// once runs one query over [w.Start, w.End) and waits for its rows,
// polling with backoff. If ctx ends first the query is stopped.
func (q *insightsRunner) once(ctx context.Context, query string, w Window) ([][]types.ResultField, error) {
	select {
	case q.sem <- struct{}{}:
		defer func() { <-q.sem }()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	c := q.cw.c
	out, err := c.StartQuery(ctx, &cloudwatchlogs.StartQueryInput{
		LogGroupName: aws.String(q.cw.group), QueryString: aws.String(query),
		StartTime: aws.Int64(w.Start.Unix()), EndTime: aws.Int64(w.End.Unix() - 1), // both inclusive, in seconds
		Limit: aws.Int32(int32(insightsRowLimit))})
	if err != nil {
		return nil, awscfg.Explain(err, q.cw.what())
	}
	id := aws.ToString(out.QueryId)
	q.note(id, 0, 1, 0)
	stop := func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), insightsStopWait)
		defer cancel()
		_, err := c.StopQuery(sctx, &cloudwatchlogs.StopQueryInput{QueryId: aws.String(id)})
		if err != nil && q.cw.logger != nil {
			q.cw.logger.Debug("stopping a Logs Insights query", "query_id", id, "err", err)
		}
	}
	delay := insightsPollFirst
	for {
		select {
		case <-ctx.Done():
			stop()
			return nil, ctx.Err()
		case <-time.After(delay):
		}
		res, err := c.GetQueryResults(ctx, &cloudwatchlogs.GetQueryResultsInput{QueryId: aws.String(id)})
		if err != nil {
			if ctx.Err() != nil {
				stop()
				return nil, ctx.Err()
			}
			return nil, awscfg.Explain(err, q.cw.what())
		}
		var scanned float64
		if res.Statistics != nil {
			scanned = res.Statistics.BytesScanned
		}
		switch res.Status {
		case types.QueryStatusComplete:
			q.note(id, scanned, 0, 1)
			return res.Results, nil
		case types.QueryStatusFailed, types.QueryStatusCancelled, types.QueryStatusTimeout, types.QueryStatusUnknown:
			hint := ""
			if res.Status == types.QueryStatusTimeout {
				hint = ": ask for a shorter window"
			}
			return nil, fmt.Errorf("%s: Logs Insights query %s ended %s%s", q.cw.what(), id, res.Status, hint)
		}
		q.note(id, scanned, 0, 0)
		delay = min(delay*3/2, insightsPollMax)
	}
}

// note records a query's progress and shows it.
func (q *insightsRunner) note(id string, scanned float64, started, completed int) {
	q.mu.Lock()
	if q.scanned == nil {
		q.scanned = map[string]float64{}
	}
	q.scanned[id] = max(q.scanned[id], scanned)
	q.started += started
	q.completed += completed
	var total float64
	for _, b := range q.scanned {
		total += b
	}
	done, all := q.completed, q.started
	q.mu.Unlock()
	q.cw.progress.show("Logs Insights on %s: %d of %d queries done, %s scanned", q.cw.what(), done, all,
		flows.HumanBytes(uint64(max(total, 0))))
}
