package query

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/netcost/netcost/costmodel"
	"github.com/netcost/netcost/internal/awscfg"
	"github.com/netcost/netcost/internal/flows"
	"github.com/netcost/netcost/internal/usage"
)

// DefaultLogGroup is where the agents publish their records.
const DefaultLogGroup = "/netcost/flows"

// CloudWatchDefaultWindow is what a cloudwatch source reads when no window
// is given: a log group holds months, and Logs Insights bills the bytes it
// scans.
const CloudWatchDefaultWindow = 24 * time.Hour

var logGroupName = regexp.MustCompile(`^[A-Za-z0-9_\-/.#]{1,512}$`)

func parseCloudWatch(group string) (Source, error) {
	if group == "" {
		group = DefaultLogGroup
	}
	if !logGroupName.MatchString(group) {
		return Source{}, usage.Errorf("--source cloudwatch:%s: a log group name is 1 to 512 of A-Z a-z 0-9 _ - / . #, as in cloudwatch:%s", group, DefaultLogGroup)
	}
	return Source{Kind: "cloudwatch", Path: group}, nil
}

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
var newLogsClient = func(ctx context.Context, o awscfg.Options) (*cloudwatchlogs.Client, error) {
	cfg, err := awscfg.Load(ctx, o)
	if err != nil {
		return nil, err
	}
	return cloudwatchlogs.NewFromConfig(cfg), nil
}

// scanCloudWatch is scan for a log group: Logs Insights sums by default,
// every event with opts.Exact.
func scanCloudWatch(ctx context.Context, opts Options, view *View, fn func(worker int, r *flows.Record, n int64) error) (Span, error) {
	c, err := newLogsClient(ctx, opts.AWS)
	if err != nil {
		return Span{}, err
	}
	w := cloudWatchWindow(opts.Window, time.Now())
	cw := &cloudWatchScan{c: c, group: opts.Source.Path, opts: opts, progress: newProgress(opts.Progress)}
	defer cw.progress.done()
	if opts.Exact {
		return cw.events(ctx, w, view, fn)
	}
	return cw.insights(ctx, w, view, fn)
}

type cloudWatchScan struct {
	c        *cloudwatchlogs.Client
	group    string
	opts     Options
	progress *progress
}

// what names the log group in errors.
func (cw *cloudWatchScan) what() string { return "log group " + strconv.Quote(cw.group) }

// addError turns an error from the aggregation of a record into one that
// says which records it came from.
func (cw *cloudWatchScan) addError(err error, where string) error {
	if errors.Is(err, costmodel.ErrUnknownRegion) {
		return usage.Errorf("%s, %s: %w", cw.what(), where, err)
	}
	return err
}

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
