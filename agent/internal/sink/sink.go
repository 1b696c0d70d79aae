// Package sink writes an agent's window records: to rotated JSON Lines
// files (the embedded default, which `netcost --source file:DIR` reads), to
// a writer such as stdout, or as EMF lines to CloudWatch Logs through a
// bounded on-disk spool (CloudWatch, which `--source cloudwatch` reads).
package sink

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/netcost/netcost/internal/flows"
)

// Sink takes the records of one window at a time.
type Sink interface {
	Write(ctx context.Context, recs []flows.Record) error
	Close() error
}

// Writer writes records as JSON Lines to w (stdout, say).
type Writer struct {
	w   *bufio.Writer
	buf []byte
}

// NewWriter returns a Sink writing to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: bufio.NewWriter(w)} }

// Write writes the records, one line each, and flushes.
func (s *Writer) Write(_ context.Context, recs []flows.Record) error {
	for i := range recs {
		s.buf = append(flows.AppendJSON(s.buf[:0], &recs[i]), '\n')
		if _, err := s.w.Write(s.buf); err != nil {
			return fmt.Errorf("writing records: %w", err)
		}
	}
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("writing records: %w", err)
	}
	return nil
}

// Close flushes.
func (s *Writer) Close() error { return s.w.Flush() }

// Files writes records to files named PREFIX-YYYYMMDDTHHMMSSZ.jsonl in a
// directory, starting a new file when the current one passes MaxBytes, and
// keeping the newest MaxFiles. Each window is written whole and synced to
// disk before Write returns, so a crash loses at most the window in hand.
// After each window PREFIX.commit names the file, its size and the window's
// Mark: at open, what a crash left past that size (a window cut short, or
// written but not committed) is removed, its counts being still in the
// kernel for the agent to write again.
type Files struct {
	Dir      string
	Prefix   string // such as the node name
	MaxBytes int64  // rotate past this size (default 64 MiB)
	MaxFiles int    // keep this many files (default 48)

	now  func() time.Time
	f    *os.File
	size int64
	buf  []byte
	last filesCommit // as PREFIX.commit says now
}

// filesCommit is PREFIX.commit: the windows up to Size bytes of File (and
// all of the files before it) are written, the last under Mark.
type filesCommit struct {
	File string `json:"file,omitempty"`
	Size int64  `json:"size"`
	Mark
}

// OpenFiles creates dir if needed and returns a Files sink.
func OpenFiles(dir, prefix string) (*Files, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating the record directory: %w", err)
	}
	if prefix == "" || strings.ContainsAny(prefix, `/\`) {
		return nil, fmt.Errorf("record file prefix %q: want a plain name, such as the node's", prefix)
	}
	s := &Files{Dir: dir, Prefix: prefix, MaxBytes: 64 << 20, MaxFiles: 48, now: time.Now}
	if err := s.recoverCommit(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Files) commitPath() string { return filepath.Join(s.Dir, s.Prefix+".commit") }

// recoverCommit reads PREFIX.commit and removes what was written after it.
// Without one (a new directory, or an agent that wrote none), everything
// there is taken as written.
func (s *Files) recoverCommit() error {
	var c filesCommit
	found, err := readCommit(s.commitPath(), &c)
	if err != nil {
		return err
	}
	matches, err := filepath.Glob(filepath.Join(s.Dir, s.Prefix+"-*.jsonl"))
	if err != nil {
		return fmt.Errorf("listing record files: %w", err)
	}
	slices.Sort(matches)
	if !found {
		if len(matches) > 0 {
			newest := matches[len(matches)-1]
			st, err := os.Stat(newest)
			if err != nil {
				return fmt.Errorf("checking %s: %w", newest, err)
			}
			c.File, c.Size = filepath.Base(newest), st.Size()
		}
		s.last = c
		return nil
	}
	s.last = c
	for _, path := range matches {
		size := int64(0)
		switch name := filepath.Base(path); {
		case name < c.File:
			continue
		case name == c.File:
			size = c.Size
		}
		st, err := os.Stat(path)
		if err != nil {
			return fmt.Errorf("checking %s: %w", path, err)
		}
		if st.Size() <= size {
			continue
		}
		if err := os.Truncate(path, size); err != nil {
			return fmt.Errorf("removing the unwritten window at the end of %s: %w", path, err)
		}
	}
	return nil
}

// Committed returns the Mark of the last window written.
func (s *Files) Committed() Mark { return s.last.Mark }

// Write appends the records of one window and syncs the file.
func (s *Files) Write(ctx context.Context, recs []flows.Record) error {
	return s.WriteMarked(ctx, recs, s.last.Mark)
}

// WriteMarked appends the records of one window, syncs the file, and then
// commits them with m.
func (s *Files) WriteMarked(_ context.Context, recs []flows.Record, m Mark) error {
	if len(recs) == 0 {
		if m == s.last.Mark {
			return nil
		}
		return s.commit(m)
	}
	if s.f == nil || s.size >= s.MaxBytes {
		if err := s.rotate(); err != nil {
			return err
		}
	}
	s.buf = s.buf[:0]
	for i := range recs {
		s.buf = append(flows.AppendJSON(s.buf, &recs[i]), '\n')
	}
	n, err := s.f.Write(s.buf)
	s.size += int64(n)
	if err != nil {
		return fmt.Errorf("writing %s: %w", s.f.Name(), err)
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("syncing %s: %w", s.f.Name(), err)
	}
	return s.commit(m)
}

// commit writes PREFIX.commit: the current file's windows are written, the
// last under m.
func (s *Files) commit(m Mark) error {
	c := s.last
	c.Mark = m
	if s.f != nil {
		c.File, c.Size = filepath.Base(s.f.Name()), s.size
	}
	if err := writeCommit(s.commitPath(), c); err != nil {
		return err
	}
	s.last = c
	return nil
}

func (s *Files) rotate() error {
	if s.f != nil {
		if err := s.f.Close(); err != nil {
			return fmt.Errorf("closing %s: %w", s.f.Name(), err)
		}
		s.f = nil
	}
	name := filepath.Join(s.Dir, fmt.Sprintf("%s-%s.jsonl", s.Prefix, s.now().UTC().Format("20060102T150405.000Z")))
	f, err := os.OpenFile(name, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("opening a record file: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("opening a record file: %w", err)
	}
	s.f, s.size = f, st.Size()
	return s.prune()
}

// prune removes the oldest files beyond MaxFiles.
func (s *Files) prune() error {
	matches, err := filepath.Glob(filepath.Join(s.Dir, s.Prefix+"-*.jsonl"))
	if err != nil {
		return fmt.Errorf("listing record files: %w", err)
	}
	slices.Sort(matches) // the names sort by time
	var errs []error
	for len(matches) > s.MaxFiles {
		if err := os.Remove(matches[0]); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("removing an old record file: %w", err))
		}
		matches = matches[1:]
	}
	return errors.Join(errs...)
}

// Close closes the current file.
func (s *Files) Close() error {
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	return err
}
