package source

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/netcost/netcost/internal/flows"
)

// ReadOptions control Read.
type ReadOptions struct {
	// Lenient skips bad lines and counts them instead of stopping at the first.
	Lenient bool
	// Workers decode in parallel; 0 means GOMAXPROCS.
	Workers int
	// Skip is given to every worker's Decoder (see flows.Decoder.Skip)
	// with the worker's index: records it rejects early are counted in
	// ReadStats.Filtered, not delivered.
	Skip func(worker int, r *flows.Record) bool
	// Borrow hands fn records whose strings alias the read buffer (see
	// flows.Decoder.Borrow): faster, but fn must copy what it keeps.
	Borrow bool
	// Logger receives a warning for each skipped line (at most the first few)
	// and a debug line for each file. Nil discards.
	Logger *slog.Logger
	// Dedup counts once the records that two files hold alike: see
	// Duplicate. Finding them costs little; leaving them out takes a second
	// read, before which Read calls Reset: fn must then forget every record
	// it was given. Dedup needs Reset.
	Dedup bool
	Reset func()
}

// ReadStats says what Read went through.
type ReadStats struct {
	Files   int   // files read
	Lines   int64 // non-blank lines
	Records int64 // records delivered
	Skipped int64 // bad lines skipped (lenient mode only)
	// Filtered counts the records Skip rejected after decoding their
	// leading fields only.
	Filtered int64
	// Duplicate counts the records left out because another file holds
	// them too, which Duplicates details; Overlaps lists the files that
	// share windows of an agent without sharing their records (Dedup).
	Duplicate  int64
	Duplicates []Duplicate
	Overlaps   []Overlap
	// Start and End bound the records decoded, Skip's included: the
	// earliest ts and the latest window end. Zero if there were none.
	Start, End time.Time
}

// Extensions lists the file name endings Read picks up in a directory.
var Extensions = []string{".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz", ".json", ".json.gz"}

const (
	blockSize   = 1 << 20 // bytes handed to a worker at once; also the longest line
	maxWarnings = 5
)

// LineError places a bad record in its file.
type LineError struct {
	File string
	Line int64
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }

// ErrNoFiles is returned when a directory holds no record files.
var ErrNoFiles = errors.New("no flow record files")

// Files returns the record files at path: path itself if it is a file, or the
// files under it with one of Extensions, sorted. A path that is neither a
// regular file nor a directory (a named pipe, a device) is a *FileError:
// reading one could block or never end.
func Files(path string) ([]string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("opening flow records: %w", err)
	}
	if !st.IsDir() {
		if err := checkRegular(path, st); err != nil {
			return nil, err
		}
		return []string{path}, nil
	}
	var files []string
	// A trailing separator makes WalkDir follow a symlinked directory.
	root := strings.TrimSuffix(path, string(filepath.Separator)) + string(filepath.Separator)
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != root && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		for _, ext := range Extensions {
			if strings.HasSuffix(d.Name(), ext) {
				// A link is followed; one that leads nowhere is left for
				// the open to report.
				if st, err := os.Stat(p); err == nil {
					if err := checkRegular(p, st); err != nil {
						return err
					}
				}
				files = append(files, p)
				break
			}
		}
		return nil
	})
	var fe *FileError
	if errors.As(err, &fe) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("listing flow record files in %s: %w", path, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%s: %w (want files ending in %s)", path, ErrNoFiles, strings.Join(Extensions, ", "))
	}
	sort.Strings(files)
	return files, nil
}

// FileError is a problem with a whole file rather than one of its lines:
// it cannot be opened, or it is not the gzip stream its name says.
type FileError struct {
	File string
	Err  error
}

func (e *FileError) Error() string { return e.File + ": " + e.Err.Error() }
func (e *FileError) Unwrap() error { return e.Err }

// checkRegular refuses what is not a regular file: opening a named pipe
// blocks until a writer comes, and a device such as /dev/zero never ends.
func checkRegular(name string, st fs.FileInfo) error {
	m := st.Mode()
	if m.IsRegular() {
		return nil
	}
	what := "not a regular file"
	switch {
	case m&fs.ModeNamedPipe != 0:
		what = "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		what = "a socket"
	case m&fs.ModeCharDevice != 0:
		what = "a character device"
	case m&fs.ModeDevice != 0:
		what = "a block device"
	case m.IsDir():
		what = "a directory"
	}
	return &FileError{File: name,
		Err: fmt.Errorf("%s, not a file of records: give JSON Lines files (plain or gzip) or a directory of them", what)}
}

type block struct {
	file    int
	seq     int // the block's index in its file
	data    []byte
	mapping *mapping // nil: data is a pooled buffer
	// tooLong marks a block that stands for one line longer than a block:
	// the line itself was skipped, and data is nil or "\n".
	tooLong bool
}

var errTooLong error = &flows.FieldError{Field: "record", Msg: fmt.Sprintf("line longer than %d bytes", blockSize)}

// bom is the UTF-8 byte order mark some editors put at the start of a file.
var bom = []byte{0xef, 0xbb, 0xbf}

// mapping is a mapped file shared by the blocks cut from it: the last one
// done with it unmaps it.
type mapping struct {
	data []byte
	refs atomic.Int64
}

func (m *mapping) release() {
	if m.refs.Add(-1) == 0 {
		unmapFile(m.data)
	}
}

// done returns the block's buffer to the pool, or its pages to the kernel.
func (b block) done(pool *sync.Pool) {
	if b.mapping != nil {
		dropPages(b.data)
		b.mapping.release()
		return
	}
	buf := b.data[:0]
	pool.Put(&buf)
}

// Read streams every record at path (a file, or a directory of files; plain
// JSON Lines or gzip-compressed) to fn, decoding in parallel. fn is called
// concurrently, with the index of the calling worker (0 <= worker < Workers)
// so that callers can keep per-worker state without locks; r is reused after
// fn returns. Records arrive in no particular order.
//
// A bad line stops the read with a *LineError naming the file and line,
// unless opts.Lenient, in which case it is counted in ReadStats.Skipped.
// An error from fn stops the read and is returned as is.
//
// A file reached twice under two names (a link) is read once, and
// opts.Dedup leaves out copies of records in other files too; ReadStats
// says what was left out.
func Read(ctx context.Context, path string, opts ReadOptions,
	fn func(worker int, r *flows.Record) error) (ReadStats, error) {
	files, err := Files(path)
	if err != nil {
		return ReadStats{}, err
	}
	files, links := sameFiles(files)
	return readFiles(ctx, files, links, opts, fn)
}

// WorkerCount returns the number of workers, and so of distinct worker
// indexes, that Read uses with these options: Workers, or GOMAXPROCS.
func (o ReadOptions) WorkerCount() int {
	if o.Workers > 0 {
		return o.Workers
	}
	return runtime.GOMAXPROCS(0)
}

// ReadFiles is Read over a list of files.
func ReadFiles(ctx context.Context, files []string, opts ReadOptions,
	fn func(worker int, r *flows.Record) error) (ReadStats, error) {
	return readFiles(ctx, files, nil, opts, fn)
}

// readFiles reads files, once or, to leave out the copies it finds, twice.
// links are files left out already, as names of one of files.
func readFiles(ctx context.Context, files []string, links []Duplicate, opts ReadOptions,
	fn func(worker int, r *flows.Record) error) (ReadStats, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.Dedup && opts.Reset == nil {
		return ReadStats{}, errors.New("flows: ReadOptions.Dedup needs Reset")
	}
	res, err := readPass(ctx, files, opts, nil, opts.Dedup && len(files) > 1, fn)
	if err == nil && opts.Dedup {
		var p *plan
		var dups []Duplicate
		p, dups, res.stats.Overlaps = decide(files, &res.tally)
		if p != nil {
			opts.Reset()
			overlaps, counts := res.stats.Overlaps, res.records
			res, err = readPass(ctx, files, opts, p, false, fn)
			res.stats.Overlaps, res.records = overlaps, counts
		}
		res.stats.Duplicates = dups
	}
	for i, l := range links {
		if j := slices.Index(files, l.Of); j >= 0 && j < len(res.records) {
			links[i].Records = res.records[j]
		}
	}
	res.stats.Duplicates = append(links, res.stats.Duplicates...)
	for _, d := range res.stats.Duplicates {
		res.stats.Duplicate += d.Records
	}
	for i, w := range res.warnings {
		if i == maxWarnings {
			break
		}
		log.Warn("skipping bad flow record", "error", w.Error())
	}
	return res.stats, err
}

// pass is what one read of the files found.
type pass struct {
	stats    ReadStats
	records  []int64 // records decoded, by file
	tally    tally   // what each file holds of each agent, if asked
	warnings []*LineError
}

// readPass reads files but what p leaves out, tallying what each file
// holds of each agent if count is set.
func readPass(ctx context.Context, files []string, opts ReadOptions, p *plan, count bool,
	fn func(worker int, r *flows.Record) error) (pass, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	workers := opts.WorkerCount()
	g, ctx := errgroup.WithContext(ctx)
	blocks := make(chan block, workers*2)
	pool := sync.Pool{New: func() any { b := make([]byte, 0, blockSize); return &b }}

	var (
		mu    sync.Mutex
		res   = pass{records: make([]int64, len(files))}
		stats = &res.stats
		// Line numbers are worked out at the end, from the newlines each
		// block held, so that no one counts them twice on the way.
		newlines = make([][]int64, len(files)) // [file][seq]
		bad      []badLine                     // strict: the first of each worker; lenient: the first few
	)
	setNewlines := func(blk block, n int64) {
		mu.Lock()
		nl := newlines[blk.file]
		for len(nl) <= blk.seq {
			nl = append(nl, -1)
		}
		nl[blk.seq] = n
		newlines[blk.file] = nl
		mu.Unlock()
	}

	g.Go(func() error {
		defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
		defer close(blocks)
		for i, name := range files {
			if p != nil && p.skip[i] {
				continue
			}
			stats.Files++ // before the workers start on the file's blocks
			log.Debug("reading flow records", "file", name)
			if err := produce(ctx, i, name, &pool, blocks); err != nil {
				return err
			}
		}
		return nil
	})

	for w := range workers {
		g.Go(func() error {
			defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
			dec := flows.NewDecoder()
			dec.Borrow = opts.Borrow
			// leaving: the plan leaves records of the block's file out. It
			// comes first, so that Skip never sees them.
			var leaving, left bool
			var file int
			if opts.Skip != nil || p != nil {
				dec.Skip = func(r *flows.Record) bool {
					if leaving && p.leaves(file, r) {
						left = true
						return true
					}
					return opts.Skip != nil && opts.Skip(w, r)
				}
			}
			var rec flows.Record
			var lines, records, skipped, filtered int64
			first, end := int64(math.MaxInt64), int64(math.MinInt64) // Unix nanoseconds
			var t tally
			perFile := make([]int64, len(files))
			defer func() {
				mu.Lock()
				stats.Lines += lines
				stats.Records += records
				stats.Skipped += skipped
				stats.Filtered += filtered
				if first <= end {
					if t := time.Unix(0, first).UTC(); stats.Start.IsZero() || t.Before(stats.Start) {
						stats.Start = t
					}
					if t := time.Unix(0, end).UTC(); t.After(stats.End) {
						stats.End = t
					}
				}
				res.tally.merge(&t)
				for i, n := range perFile {
					res.records[i] += n
				}
				mu.Unlock()
			}()
			// process decodes one block. A fault on a mapped file that
			// shrank underneath becomes an error instead of a crash.
			process := func(blk block) (err error) {
				defer recoverFault(files[blk.file], &err)
				file = blk.file
				leaving = p != nil && p.windows[file] != nil
				t.end() // the decoder's previous line was another block's
				var decoded int64
				defer func() { perFile[file] += decoded }()
				var line int64 // in the block
				data := blk.data
				for len(data) > 0 || blk.tooLong && line == 0 {
					var l []byte
					at := line + 1 // this line's number in the block
					if i := bytes.IndexByte(data, '\n'); i >= 0 {
						l, data = data[:i], data[i+1:]
						line++ // newlines seen
					} else {
						l, data = data, nil
						if blk.tooLong {
							line = 1 // the long line, at the end of the file
						}
					}
					if blk.seq == 0 && at == 1 {
						l = bytes.TrimPrefix(l, bom)
					}
					if len(bytes.TrimSpace(l)) == 0 && !blk.tooLong {
						continue
					}
					lines++
					err := errTooLong
					if !blk.tooLong {
						left = false
						err = dec.Decode(l, &rec)
					}
					if err == nil || err == flows.ErrSkipped {
						decoded++
						ts := rec.TS.UnixNano()
						first, end = min(first, ts), max(end, ts+rec.WindowS*int64(time.Second))
						if count {
							t.add(file, &rec, ts, l, dec.SameHead())
						}
					} else {
						t.end()
					}
					if err == nil && leaving && p.leaves(file, &rec) { // a layout Skip does not see
						err, left = flows.ErrSkipped, true
					}
					if err == flows.ErrSkipped {
						if !left {
							filtered++
						}
						continue
					} else if err != nil {
						b := badLine{file: blk.file, seq: blk.seq, line: at, err: err}
						if !opts.Lenient {
							mu.Lock()
							bad = append(bad, b)
							mu.Unlock()
							setNewlines(blk, line) // the part read; only earlier blocks count
							return b.err
						}
						skipped++
						mu.Lock()
						if len(bad) < 64 {
							bad = append(bad, b)
						}
						mu.Unlock()
						continue
					}
					if err := fn(w, &rec); err != nil {
						return err
					}
					records++
				}
				setNewlines(blk, line)
				return nil
			}
			for blk := range blocks {
				err := process(blk)
				blk.done(&pool)
				if err != nil {
					return err
				}
			}
			return nil
		})
	}
	err := g.Wait()
	for blk := range blocks { // left by workers that stopped early
		n, ferr := countNewlines(blk, files[blk.file])
		if ferr != nil && err == nil {
			err = ferr
		}
		setNewlines(blk, n)
		blk.done(&pool)
	}
	var fe *FileError
	if errors.As(err, &fe) {
		return res, err // a file went wrong: its line numbers may be unknown
	}
	slices.SortFunc(bad, func(a, b badLine) int {
		return cmp.Or(cmp.Compare(a.file, b.file), cmp.Compare(a.seq, b.seq), cmp.Compare(a.line, b.line))
	})
	lineErr := func(b badLine) *LineError {
		n := b.line
		for i := range b.seq {
			if nl := newlines[b.file]; i < len(nl) && nl[i] >= 0 {
				n += nl[i]
			}
		}
		return &LineError{File: files[b.file], Line: n, Err: b.err}
	}
	if !opts.Lenient && len(bad) > 0 {
		return res, lineErr(bad[0])
	}
	for i, b := range bad {
		if i == maxWarnings {
			break
		}
		res.warnings = append(res.warnings, lineErr(b))
	}
	return res, err
}

// countNewlines counts a block's newlines, guarding against a mapped file
// that shrank.
func countNewlines(b block, name string) (n int64, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer recoverFault(name, &err)
	return int64(bytes.Count(b.data, []byte{'\n'})), nil
}

// badLine is a bad record, placed by its block until line numbers are known.
type badLine struct {
	file, seq int
	line      int64 // 1-based, in the block
	err       error
}

// produce reads one file in blocks that end on a line boundary.
func produce(ctx context.Context, fileIdx int, name string, pool *sync.Pool, out chan<- block) error {
	// Non-blocking: a file replaced by a named pipe since it was listed
	// must not hang the open; it is refused below.
	f, err := os.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return &FileError{File: name, Err: fmt.Errorf("opening flow records: %w", err)}
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return &FileError{File: name, Err: fmt.Errorf("opening flow records: %w", err)}
	}
	if err := checkRegular(name, st); err != nil {
		return err
	}
	var r io.Reader = f
	if strings.HasSuffix(name, ".gz") {
		zr, err := gzip.NewReader(f)
		if err == io.EOF {
			return nil // an empty file holds no records
		}
		if err != nil {
			return &FileError{File: name, Err: fmt.Errorf("reading gzip header: %w", err)}
		}
		defer zr.Close()
		r = truncationReader{zr}
	} else if data := mapFile(f, st.Size()); data != nil {
		return produceMapped(ctx, fileIdx, name, data, out)
	}
	seq := 0
	var carry []byte
	for {
		bp := pool.Get().(*[]byte)
		buf := append((*bp)[:0], carry...)
		n, rerr := io.ReadFull(r, buf[len(buf):blockSize])
		buf = buf[:len(buf)+n]
		eof := rerr == io.EOF || rerr == io.ErrUnexpectedEOF
		if rerr != nil && !eof {
			return &FileError{File: name, Err: fmt.Errorf("reading: %w", rerr)}
		}
		cut := len(buf)
		if !eof {
			i := bytes.LastIndexByte(buf, '\n')
			if i < 0 {
				// One line fills the block: report it as one bad line and
				// read on after it.
				pool.Put(bp)
				rest, found, err := skipLine(ctx, r)
				if cerr := ctx.Err(); cerr != nil {
					return cerr
				}
				if err != nil {
					return &FileError{File: name, Err: fmt.Errorf("reading: %w", err)}
				}
				long := block{file: fileIdx, seq: seq, tooLong: true}
				if found {
					long.data = []byte{'\n'}
				}
				seq++
				select {
				case out <- long:
				case <-ctx.Done():
					return ctx.Err()
				}
				if !found {
					return nil
				}
				carry = append(carry[:0], rest...)
				continue
			}
			cut = i + 1
		}
		carry = append(carry[:0], buf[cut:]...)
		blk := block{file: fileIdx, seq: seq, data: buf[:cut]}
		if len(blk.data) > 0 {
			seq++
			select {
			case out <- blk:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if eof {
			return nil
		}
	}
}

// skipLine reads up to and including the next newline. It returns what it
// read after the newline, and whether there was one before the end. It
// stops when ctx is done: a gzip stream can unfold into gigabytes without one.
func skipLine(ctx context.Context, r io.Reader) (rest []byte, found bool, err error) {
	buf := make([]byte, 64<<10)
	for {
		if err := ctx.Err(); err != nil {
			return nil, false, err
		}
		n, err := r.Read(buf)
		if i := bytes.IndexByte(buf[:n], '\n'); i >= 0 {
			return buf[i+1 : n], true, nil
		}
		if err == io.EOF {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, err
		}
	}
}

// produceMapped cuts a mapped file into blocks that end on a line boundary,
// without copying it (see mapFile).
func produceMapped(ctx context.Context, fileIdx int, name string, data []byte, out chan<- block) (err error) {
	m := &mapping{data: data}
	m.refs.Store(1) // the producer's own reference
	defer m.release()
	defer recoverFault(name, &err)
	for off, seq := 0, 0; off < len(data); seq++ {
		end := min(off+blockSize, len(data))
		if end < len(data) {
			i := bytes.LastIndexByte(data[off:end], '\n')
			if i < 0 { // one line fills the block: one bad line
				long := block{file: fileIdx, seq: seq, tooLong: true}
				j, err := indexNewline(ctx, data[end:])
				if err != nil {
					return err
				}
				next := len(data)
				if j >= 0 {
					long.data, next = []byte{'\n'}, end+j+1
				}
				select {
				case out <- long:
				case <-ctx.Done():
					return ctx.Err()
				}
				off = next
				continue
			}
			end = off + i + 1
		}
		m.refs.Add(1)
		select {
		case out <- block{file: fileIdx, seq: seq, data: data[off:end:end], mapping: m}:
		case <-ctx.Done():
			m.release()
			return ctx.Err()
		}
		off = end
	}
	return nil
}

// indexNewline is bytes.IndexByte(b, '\n') in steps that each look at ctx:
// a mapped file of gigabytes without a newline takes seconds to search.
func indexNewline(ctx context.Context, b []byte) (int, error) {
	const step = 64 << 20
	for off := 0; off < len(b); off += step {
		if err := ctx.Err(); err != nil {
			return -1, err
		}
		if i := bytes.IndexByte(b[off:min(off+step, len(b))], '\n'); i >= 0 {
			return off + i, nil
		}
	}
	return -1, nil
}

// errShrunk reports a mapped file cut short while it was read: touching
// its lost pages raises SIGBUS, which SetPanicOnFault turns into a panic.
var errShrunk = errors.New("the file shrank while it was read (truncated or rewritten in place?)")

// recoverFault turns a memory fault on a mapped file into an error. The
// goroutine must have called debug.SetPanicOnFault(true).
func recoverFault(name string, err *error) {
	if r := recover(); r != nil {
		if _, ok := r.(interface{ Addr() uintptr }); ok {
			*err = &FileError{File: name, Err: errShrunk}
			return
		}
		panic(r)
	}
}

// truncationReader tells a gzip stream cut short from the end of a file,
// which io.ReadFull would otherwise report alike.
type truncationReader struct{ r io.Reader }

var errTruncated = errors.New("gzip stream is truncated")

func (t truncationReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err == io.ErrUnexpectedEOF {
		err = errTruncated
	}
	return n, err
}
