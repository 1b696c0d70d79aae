package source

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/netcost/netcost/internal/awscfg"
)

// CloudWatchDefaultWindow is what a log group is read over when no window
// is given: a log group holds months, and Logs Insights bills the bytes it
// scans.
const CloudWatchDefaultWindow = 24 * time.Hour

// LogGroup is a CloudWatch Logs log group the agents publish to. It is
// read with Logs Insights, which sums the records on AWS's side, or with
// Exact, every event (FilterLogEvents) as a file store is read.
type LogGroup struct {
	Name     string
	AWS      awscfg.Options
	Exact    bool
	Lenient  bool      // skip bad records instead of stopping at the first
	Progress io.Writer // a terminal, to show how long-running queries advance
	Logger   *slog.Logger
}

func (g *LogGroup) String() string { return Spec{Kind: "cloudwatch", Path: g.Name}.String() }

// cloudWatchWindow closes the open bounds of w: the end is now, the start
// CloudWatchDefaultWindow before the end. Both are whole seconds, as
// Logs Insights takes them.
func cloudWatchWindow(w Window, now time.Time) Window {
	if w.End.IsZero() {
		w.End = now.UTC().Truncate(time.Second)
	}
	if w.Start.IsZero() {
		w.Start = w.End.Add(-CloudWatchDefaultWindow)
	}
	return w
}

// newLogsClient builds a CloudWatch Logs client from the shared AWS flags.
func newLogsClient(ctx context.Context, o awscfg.Options) (*cloudwatchlogs.Client, error) {
	cfg, err := awscfg.Load(ctx, o)
	if err != nil {
		return nil, err
	}
	return cloudwatchlogs.NewFromConfig(cfg), nil
}

// Read answers the queries one after the other: Logs Insights sums each
// query's records on its side, so there is no read to share. An error of
// a query's function comes back saying which records it came from.
func (g *LogGroup) Read(ctx context.Context, qs []*Query) ([]Span, error) {
	c, err := newLogsClient(ctx, g.AWS)
	if err != nil {
		return nil, err
	}
	sps := make([]Span, len(qs))
	for i, q := range qs {
		w := cloudWatchWindow(q.Window, time.Now())
		cw := &cloudWatchScan{c: c, group: g.Name, lenient: g.Lenient, logger: g.Logger, progress: newProgress(g.Progress)}
		if g.Exact {
			sps[i], err = cw.events(ctx, w, q.View, q.Begin(1))
		} else {
			sps[i], err = cw.insights(ctx, w, q.View, q.Begin(1))
		}
		cw.progress.done()
		if err != nil {
			return nil, err
		}
	}
	return sps, nil
}

type cloudWatchScan struct {
	c        *cloudwatchlogs.Client
	group    string
	lenient  bool
	logger   *slog.Logger
	progress *progress
}

// what names the log group in errors.
func (cw *cloudWatchScan) what() string { return "log group " + strconv.Quote(cw.group) }

// progress shows on a terminal how the queries advance, on one line that
// it clears when done. A nil *progress shows nothing.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	start time.Time
	shown bool
}

func newProgress(w io.Writer) *progress {
	if w == nil {
		return nil
	}
	return &progress{w: w, start: time.Now()}
}

func (p *progress) show(format string, a ...any) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "\r\x1b[Knetcost: "+format+" (%s)", append(a, time.Since(p.start).Round(time.Second))...)
	p.shown = true
}

func (p *progress) done() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
}

// recordError says which records the error of a query's function came
// from.
func (cw *cloudWatchScan) recordError(err error, where string) error {
	return fmt.Errorf("%s, %s: %w", cw.what(), where, err)
}
