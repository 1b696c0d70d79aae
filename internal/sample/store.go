package sample

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/netcost/netcost/internal/flows"
)

const writeBuffer = 1 << 20

// outFile writes one JSON Lines file, optionally gzip-compressed, to a
// temporary name that commit renames into place, so a reader never sees a
// half-written file under its final name.
type outFile struct {
	path string
	f    *os.File
	zw   *gzip.Writer
	w    *bufio.Writer
}

func createOut(path string, compress bool) (*outFile, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return nil, fmt.Errorf("creating %s: %w", path, err)
	}
	o := &outFile{path: path, f: f}
	var w io.Writer = f
	if compress {
		// The zero header (no name, no time) keeps the output reproducible.
		o.zw, _ = gzip.NewWriterLevel(f, gzip.BestCompression)
		w = o.zw
	}
	o.w = bufio.NewWriterSize(w, writeBuffer)
	return o, nil
}

func (o *outFile) commit() error {
	err := o.w.Flush()
	if o.zw != nil {
		err = errors.Join(err, o.zw.Close())
	}
	err = errors.Join(err, o.f.Chmod(0o644), o.f.Close())
	if err == nil {
		err = os.Rename(o.f.Name(), o.path)
	}
	if err != nil {
		os.Remove(o.f.Name())
		return fmt.Errorf("writing %s: %w", o.path, err)
	}
	return nil
}

func (o *outFile) abort() {
	o.f.Close()
	os.Remove(o.f.Name())
}

// WriteStore writes the scenario to dir, creating it: dir/<node>.jsonl for
// the use1-az1 node and dir/<node>.jsonl.gz, gzip-compressed, for the
// use1-az2 node, one record per line. The files are the same, byte for byte,
// every time for the same Options. Other files in dir are left alone.
func WriteStore(dir string, opt Options) (Truth, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Truth{}, fmt.Errorf("creating the sample store: %w", err)
	}
	t := buildTopology(1)
	outs := make(map[string]*outFile, len(t.nodes))
	var order []*outFile
	abort := func() {
		for _, o := range order {
			o.abort()
		}
	}
	for _, n := range t.nodes {
		name := n.name + ".jsonl"
		compress := n.zone.id != zones[0].id
		if compress {
			name += ".gz"
		}
		o, err := createOut(filepath.Join(dir, name), compress)
		if err != nil {
			abort()
			return Truth{}, err
		}
		outs[n.name] = o
		order = append(order, o)
	}
	var buf []byte
	truth, err := t.generate(opt, func(node string, r *flows.Record) error {
		buf = append(flows.AppendJSON(buf[:0], r), '\n')
		_, err := outs[node].w.Write(buf)
		return err
	})
	if err != nil {
		abort()
		return Truth{}, fmt.Errorf("writing the sample store: %w", err)
	}
	for i, o := range order {
		if err := o.commit(); err != nil {
			for _, o := range order[i+1:] {
				o.abort()
			}
			return Truth{}, err
		}
	}
	return truth, nil
}

// maxLinesPerFile bounds the files WriteScaled writes; a variable for tests.
var maxLinesPerFile int64 = 1_000_000

// scaledCopyLimit bounds the copies of the cluster WriteScaled lays out;
// beyond it the store grows in time instead.
const scaledCopyLimit = 1000

// scaledDay is the span WriteScaled aims for, in windows, before it adds copies.
const scaledDay = 24 * windowsPerHour

// ScaledFileName is the name of the i-th file WriteScaled writes.
func ScaledFileName(i int) string { return fmt.Sprintf("flows-%05d.jsonl", i) }

// WriteScaled writes exactly records records to dir, creating it, for
// benchmarks: copies of the scenario cluster (each with its own two nodes,
// pod IPs and pod names, so the store has the scenario's mix of categories
// over many more pods) over up to a day of windows from the default start,
// in time order, spread over plain JSON Lines files of at most 1,000,000
// lines named by ScaledFileName. Files of that name left by an earlier, larger
// run are removed. The output depends only on records and seed.
func WriteScaled(dir string, records int64, seed uint64) error {
	if records <= 0 {
		return fmt.Errorf("sample: %d records: want a positive number", records)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating the scaled sample store: %w", err)
	}
	per := int64(buildTopology(1).recordsPerWindow())
	copies := min(max(1, ceilDiv(records, per*scaledDay)), scaledCopyLimit)
	t := buildTopology(int(copies))
	opt := DefaultOptions()
	opt.Seed = seed
	opt.Windows = int(ceilDiv(records, per*copies))

	var (
		out     *outFile
		files   int
		lines   int64
		written int64
		buf     = make([]byte, 0, 1024)
	)
	_, err := t.generate(opt, func(_ string, r *flows.Record) error {
		if out == nil || lines == maxLinesPerFile {
			if out != nil {
				if err := out.commit(); err != nil {
					out = nil
					return err
				}
			}
			o, err := createOut(filepath.Join(dir, ScaledFileName(files)), false)
			if err != nil {
				out = nil
				return err
			}
			out, lines = o, 0
			files++
		}
		buf = append(flows.AppendJSON(buf[:0], r), '\n')
		if _, err := out.w.Write(buf); err != nil {
			return err
		}
		lines++
		written++
		if written == records {
			return errStop
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		if out != nil {
			out.abort()
		}
		return fmt.Errorf("writing the scaled sample store: %w", err)
	}
	if written != records {
		out.abort()
		return fmt.Errorf("writing the scaled sample store: generated %d records of %d", written, records)
	}
	if err := out.commit(); err != nil {
		return err
	}
	for i := files; ; i++ {
		err := os.Remove(filepath.Join(dir, ScaledFileName(i)))
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("removing a stale file of the scaled sample store: %w", err)
		}
	}
}

func ceilDiv(a, b int64) int64 { return (a + b - 1) / b }
