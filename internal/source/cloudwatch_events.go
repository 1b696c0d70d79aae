package source

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/netcost/netcost/internal/awscfg"
	"github.com/netcost/netcost/internal/flows"
	"github.com/netcost/netcost/internal/usage"
)

// events reads every event of the log group in w with FilterLogEvents,
// decodes it as a flow record (the EMF metadata `_aws` is skipped) and
// hands it to fn exactly as a file source would: the --exact mode.
//
// The events' timestamps pick the pages (an agent stamps each event with
// its record's ts); the records' own ts then decide, as for files.
func (cw *cloudWatchScan) events(ctx context.Context, w Window, view *View, fn RecordFunc) (Span, error) {
	in := &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(cw.group),
		StartTime: aws.Int64(w.Start.UnixMilli()), EndTime: aws.Int64(w.End.UnixMilli() - 1)} // EndTime is inclusive
	pages := cloudwatchlogs.NewFilterLogEventsPaginator(cw.c, in)
	dec := flows.NewDecoder()
	var (
		acc   spanAcc
		stats ReadStats
		r     flows.Record
	)
	for pages.HasMorePages() {
		out, err := pages.NextPage(ctx)
		if err != nil {
			return Span{}, awscfg.Explain(err, cw.what())
		}
		for _, ev := range out.Events {
			stats.Lines++
			where := func() string {
				return fmt.Sprintf("stream %q, event %s", aws.ToString(ev.LogStreamName), aws.ToString(ev.EventId))
			}
			if err := dec.Decode([]byte(aws.ToString(ev.Message)), &r); err != nil {
				if cw.lenient {
					stats.Skipped++
					if stats.Skipped <= 5 && cw.logger != nil {
						cw.logger.Warn("skipping a bad flow record", "log_group", cw.group, "where", where(), "err", err)
					}
					continue
				}
				return Span{}, usage.Errorf("%s, %s: %w (fix the record, or pass --strict=false to skip bad records)",
					cw.what(), where(), err)
			}
			if !w.Contains(r.TS) {
				continue
			}
			acc.note(&r)
			if view != nil && !view.Matches(&r) {
				continue
			}
			acc.matched++
			stats.Records++
			if err := fn(0, &r, 1); err != nil {
				return Span{}, cw.recordError(err, where())
			}
		}
		cw.progress.show("reading %s: %d events", cw.what(), stats.Lines)
	}
	return acc.span(w, stats, cw.logger), nil
}
