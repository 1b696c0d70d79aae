package cur

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/athena"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"golang.org/x/sync/errgroup"

	"github.com/netcost/netcost/internal/usage"
)

// Options say what part of a bill to read.
type Options struct {
	// Start and End are the window [Start, End). A line item only partly
	// in it counts in proportion to the time inside (daily and monthly
	// exports; an hourly export's line items fall in or out whole when
	// the window is on the hour). Zero is unbounded.
	Start, End time.Time
	// ByResource sums per resource as well: per NAT gateway, per
	// instance. It needs an export with resource IDs.
	ByResource bool
	// Athena is how to run queries for athena: locations.
	Athena AthenaOptions
}

// Reader reads the network lines of a CUR 2.0 from files, S3 or Athena.
type Reader struct {
	s3      s3API
	athena  athenaAPI
	log     *slog.Logger
	workers int           // files read at once
	poll    time.Duration // between GetQueryExecution calls
}

// NewReader returns a Reader with S3 and Athena clients from cfg. With an
// endpoint URL in cfg (a local emulator) S3 is addressed by path, as
// emulators need. A nil log discards.
func NewReader(cfg aws.Config, log *slog.Logger) *Reader {
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = cfg.BaseEndpoint != nil })
	return newReader(s3c, athena.NewFromConfig(cfg), log)
}

func newReader(s3c s3API, ath athenaAPI, log *slog.Logger) *Reader {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Reader{s3: s3c, athena: ath, log: log.With("component", "cur"),
		workers: min(runtime.GOMAXPROCS(0), 4), poll: time.Second}
}

// Read reads the bill at loc and sums its network lines within the window.
// Errors the user fixes (a location that holds no CUR 2.0, missing
// columns, a window the export does not hold, a bill not in USD) are
// usage errors, in one line.
func (r *Reader) Read(ctx context.Context, loc Location, o Options) (*Bill, error) {
	if !o.Start.IsZero() && !o.End.IsZero() && !o.Start.Before(o.End) {
		return nil, usage.Errorf("the window [%s, %s) is empty", stamp(o.Start), stamp(o.End))
	}
	b := &Bill{Location: loc.String(), Start: o.Start, End: o.End}
	switch loc.Kind {
	case File:
		info, err := os.Stat(loc.Path)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, usage.Errorf("--cur %s: no such file or directory", loc)
			}
			return nil, usage.Errorf("--cur %s: %w", loc, err)
		}
		if !info.IsDir() {
			return r.readOne(ctx, b, loc.Path, info.Size(), o)
		}
		return r.readExport(ctx, b, dirStore{root: loc.Path}, o)
	case S3:
		return r.readExport(ctx, b, newS3Store(r.s3, loc), o)
	case Athena:
		return r.readAthena(ctx, b, loc, o)
	}
	return nil, usage.Errorf("--cur: no location")
}

// fileTask is a data file to read and the billing period it belongs to.
type fileTask struct {
	period string
	obj    object
}

func (r *Reader) readExport(ctx context.Context, b *Bill, st store, o Options) (*Bill, error) {
	where := strings.TrimSuffix(b.Location, "/")
	objs, err := st.list(ctx)
	if err != nil {
		return nil, err
	}
	e, err := discover(objs, where)
	if err != nil {
		return nil, err
	}
	b.Periods = e.names()
	var tasks []fileTask
	for _, name := range b.Periods {
		ps, pe, _ := periodBounds(name)
		if (!o.End.IsZero() && !ps.Before(o.End)) || (!o.Start.IsZero() && !pe.After(o.Start)) {
			continue
		}
		b.Read = append(b.Read, name)
		files, err := currentFiles(ctx, st, e, e.periods[name])
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			tasks = append(tasks, fileTask{name, f})
		}
	}
	if len(b.Read) == 0 {
		return nil, usage.Errorf("%s holds no billing period in the window [%s, %s): it holds %s", where,
			stamp(o.Start), stamp(o.End), strings.Join(b.Periods, ", "))
	}
	r.log.Debug("reading the CUR", "location", where, "periods", b.Read, "files", len(tasks))
	a, err := r.readFiles(ctx, st, tasks, o)
	if err != nil {
		return nil, err
	}
	return finish(a, b, where)
}

// readOne reads a single data file named on the command line.
func (r *Reader) readOne(ctx context.Context, b *Bill, file string, size int64, o Options) (*Bill, error) {
	period := ""
	if m := dataKey.FindStringSubmatch(filepath.ToSlash(file)); m != nil {
		period = m[2]
		b.Periods, b.Read = []string{period}, []string{period}
	}
	if !isDataFile(file) {
		return nil, usage.Errorf("--cur %s: want a directory holding an export, or a data file (*.parquet, *.csv.gz)", b.Location)
	}
	st := dirStore{root: filepath.Dir(file)}
	a, err := r.readFiles(ctx, st, []fileTask{{period, object{key: filepath.Base(file), size: size}}}, o)
	if err != nil {
		return nil, err
	}
	return finish(a, b, file)
}

// finish checks the sums and writes them into b.
func finish(a *aggregator, b *Bill, where string) (*Bill, error) {
	if a.items == 0 {
		held := "."
		if len(b.Periods) > 0 {
			held = ": it holds " + strings.Join(b.Periods, ", ")
		}
		return nil, usage.Errorf("%s has no line item in the window [%s, %s)%s", where, stamp(b.Start), stamp(b.End), held)
	}
	if err := a.currencyError(where); err != nil {
		return nil, err
	}
	a.fill(b)
	return b, nil
}

// readFiles reads the tasks' files, several at once, each into an
// aggregator of its own, and merges them.
func (r *Reader) readFiles(ctx context.Context, st store, tasks []fileTask, o Options) (*aggregator, error) {
	total := newAggregator(o.Start, o.End, o.ByResource)
	var mu sync.Mutex
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(max(1, r.workers))
	for _, t := range tasks {
		g.Go(func() error {
			a := newAggregator(o.Start, o.End, o.ByResource)
			if err := readFile(ctx, st, t, o.ByResource, a); err != nil {
				return err
			}
			mu.Lock()
			total.merge(a)
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return total, nil
}

func readFile(ctx context.Context, st store, t fileTask, byResource bool, a *aggregator) error {
	name := st.name(t.obj.key)
	add := func(it *lineItem) { a.add(t.period, it) }
	if strings.HasSuffix(t.obj.key, ".parquet") {
		ra, c, err := st.readerAt(ctx, t.obj)
		if err != nil {
			return err
		}
		defer c.Close()
		return readParquet(ra, t.obj.size, name, byResource, add)
	}
	rc, err := st.open(ctx, t.obj.key)
	if err != nil {
		return err
	}
	defer rc.Close()
	return readCSV(rc, name, byResource, add)
}

// stamp writes a window bound for messages.
func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
