package query

import (
	"context"
	"errors"
	"io"
	"log/slog"

	"github.com/netcost/netcost/costmodel"
	"github.com/netcost/netcost/internal/awscfg"
	"github.com/netcost/netcost/internal/source"
	"github.com/netcost/netcost/internal/usage"
)

// Options are common to every query.
type Options struct {
	Source  source.Spec
	Window  source.Window
	Lenient bool           // skip bad lines instead of stopping
	AWS     awscfg.Options // region, profile, endpoint of the AWS sources
	// Exact makes the cloudwatch source read every record (FilterLogEvents)
	// and aggregate locally instead of asking Logs Insights for sums.
	Exact bool
	// Progress, if set, shows how long-running queries advance (a terminal).
	Progress io.Writer
	Workers  int
	Logger   *slog.Logger
}

// reader answers a batch's queries from where the records are: a file
// store, a log group or a monitor (internal/source).
type reader interface {
	Read(ctx context.Context, qs []*source.Query) ([]source.Span, error)
}

// newReader returns the reader of opts' source.
func newReader(opts Options) (reader, error) {
	switch s := opts.Source; s.Kind {
	case "file":
		return &source.Store{Path: s.Path, Lenient: opts.Lenient, Workers: opts.Workers, Logger: opts.Logger}, nil
	case "cloudwatch":
		return &source.LogGroup{Name: s.Path, AWS: opts.AWS, Exact: opts.Exact, Lenient: opts.Lenient,
			Progress: opts.Progress, Logger: opts.Logger}, nil
	case "nfm":
		return &source.Monitor{Name: s.Path, AWS: opts.AWS, Lenient: opts.Lenient, Logger: opts.Logger}, nil
	}
	return nil, usage.Errorf("source %s is not supported", opts.Source)
}

// readError marks as usage errors the records of a region without prices:
// bad input, found as the records are priced.
func readError(err error) error {
	if errors.Is(err, costmodel.ErrUnknownRegion) {
		return usage.Wrap(err)
	}
	return err
}

// spanSource names what a span's records came from: the source's own
// name for it, or the one asked for.
func spanSource(sp source.Span, opts Options) string {
	if sp.Source != "" {
		return sp.Source
	}
	return opts.Source.String()
}
