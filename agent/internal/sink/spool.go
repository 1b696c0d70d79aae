package sink

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// A spool is a bounded directory of windows waiting to be published, one
// file per window, oldest first. A file is written whole (a temporary file,
// fsync, rename, fsync of the directory), so a crash leaves a window either
// complete or absent, and it is removed only once CloudWatch accepted every
// event in it. When the spool would pass its bound the oldest windows are
// dropped, counted and logged: the newest data is what dashboards read, and
// CloudWatch refuses events older than 14 days anyway.
//
// A window file is a JSON header line, then one line per event:
// the event's timestamp in Unix milliseconds, a space, the EMF message.
// Event i of a window carries "seq":i in its message.
type spool struct {
	dir      string
	maxBytes int64
	log      *slog.Logger

	mu       sync.Mutex
	entries  []*spoolEntry // oldest first
	bytes    int64
	last     uint64 // order of the newest entry
	overflow overflowStats
	commit   spoolCommit // the last window written, as the commit file or the newest entry says
}

// spoolCommit is the spool's commit file: the window of order Order (or,
// for a window without records, the spool as it was then) is written,
// under Mark. It outlives the window files, which go once published; a
// newer window file's header wins over it (a crash between the two).
type spoolCommit struct {
	Order uint64 `json:"order"`
	Mark  Mark   `json:"mark"`
}

const spoolCommitFile = "commit"

type overflowStats struct {
	windows, events, bytes uint64
}

// spoolHeader is a window file's first line.
type spoolHeader struct {
	WindowID string `json:"window_id"`
	Events   int    `json:"events"`
	FirstMS  int64  `json:"first_ms"`
	LastMS   int64  `json:"last_ms"`
	Mark     *Mark  `json:"mark,omitempty"` // the kernel's counts the window accounts for
}

type spoolEntry struct {
	name  string // file name in the spool; empty when held in memory
	mem   []byte // the file's content, when it could not be written
	order uint64
	size  int64
	head  spoolHeader

	// Owned by the publisher.
	acked int  // leading events known to be in CloudWatch
	check bool // some events may be in CloudWatch already: look before sending
}

const (
	spoolExt    = ".window"
	rejectedDir = "rejected"
	keepRejects = 16
)

// errGone says that a window was dropped to make room before it was published.
var errGone = errors.New("the window was dropped from the spool")

// errOverflow says that a window did not fit in the spool at all.
var errOverflow = errors.New("the window is larger than the whole spool")

// openSpool opens (creating it if needed) a spool directory and lists the
// windows a previous run left, which come first, and each of which may
// already be in CloudWatch in part or whole.
func openSpool(dir string, maxBytes int64, log *slog.Logger) (*spool, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating the spool directory: %w", err)
	}
	s := &spool{dir: dir, maxBytes: maxBytes, log: log}
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reading the spool directory: %w", err)
	}
	for _, de := range des {
		name := de.Name()
		switch {
		case strings.HasSuffix(name, ".tmp"): // a window whose writing a crash cut short
			os.Remove(filepath.Join(dir, name))
		case strings.HasSuffix(name, spoolExt):
			order, err := strconv.ParseUint(strings.TrimSuffix(name, spoolExt), 10, 64)
			if err != nil {
				continue // not ours
			}
			e := &spoolEntry{name: name, order: order, check: true}
			if err := s.readHeader(e); err != nil {
				s.reject(e, err)
				continue
			}
			s.entries = append(s.entries, e)
			s.bytes += e.size
			s.last = max(s.last, order)
		}
	}
	slices.SortFunc(s.entries, func(a, b *spoolEntry) int { return cmpUint(a.order, b.order) })
	if _, err := readCommit(filepath.Join(dir, spoolCommitFile), &s.commit); err != nil {
		return nil, err
	}
	for _, e := range s.entries {
		if e.head.Mark != nil && e.order > s.commit.Order {
			s.commit = spoolCommit{Order: e.order, Mark: *e.head.Mark}
		}
	}
	return s, nil
}

// committed records that the window e (nil: a window without records) is
// written under m.
func (s *spool) committed(e *spoolEntry, m Mark) error {
	s.mu.Lock()
	c := spoolCommit{Order: s.last, Mark: m}
	if e != nil {
		c.Order = e.order
	}
	s.mu.Unlock()
	if err := writeCommit(filepath.Join(s.dir, spoolCommitFile), c); err != nil {
		return err
	}
	s.mu.Lock()
	s.commit = c
	s.mu.Unlock()
	return nil
}

// lastMark is the Mark of the last window written.
func (s *spool) lastMark() Mark {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.commit.Mark
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (s *spool) readHeader(e *spoolEntry) error {
	f, err := os.Open(filepath.Join(s.dir, e.name))
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	e.size = st.Size()
	line, err := bufio.NewReader(f).ReadBytes('\n')
	if err != nil {
		return fmt.Errorf("reading its header: %w", err)
	}
	if err := json.Unmarshal(line, &e.head); err != nil || e.head.WindowID == "" || e.head.Events <= 0 {
		return fmt.Errorf("bad header %.80q", line)
	}
	return nil
}

// add writes a window, given its header and a function that writes its
// event lines, and makes room for it by dropping the oldest windows.
// A window larger than the whole spool is dropped (errOverflow). If the
// file cannot be written the window is kept in memory, with an error in
// the log: it is then published but lost if the agent stops first.
func (s *spool) add(head spoolHeader, events func(io.Writer) error) (*spoolEntry, error) {
	s.mu.Lock()
	order := max(s.last+1, uint64(time.Now().UnixNano()))
	s.last = order
	s.mu.Unlock()
	e := &spoolEntry{name: fmt.Sprintf("%020d%s", order, spoolExt), order: order, head: head}
	hb, _ := json.Marshal(head)
	hb = append(hb, '\n')
	size, err := s.write(e.name, hb, events)
	if err != nil {
		s.log.Error("the spool cannot be written: the window is kept in memory until it is published, and lost if the agent stops first; check the disk under -spool-dir",
			"dir", s.dir, "window_id", head.WindowID, "error", err)
		var buf bytes.Buffer
		buf.Write(hb)
		if err := events(&buf); err != nil {
			return nil, err
		}
		e.name, e.mem, size = "", buf.Bytes(), int64(buf.Len())
	}
	e.size = size

	s.mu.Lock()
	defer s.mu.Unlock()
	if size > s.maxBytes {
		s.countOverflow(e)
		s.removeFile(e)
		s.log.Error("a window is larger than the whole spool: dropped; raise -spool-max-bytes",
			"window_id", head.WindowID, "events", head.Events, "bytes", size, "spool_max_bytes", s.maxBytes)
		return nil, errOverflow
	}
	for s.bytes+size > s.maxBytes && len(s.entries) > 0 {
		old := s.entries[0]
		s.entries = s.entries[1:]
		s.bytes -= old.size
		s.countOverflow(old)
		s.removeFile(old)
		s.log.Error("the spool is full: dropped its oldest window; CloudWatch has been unreachable for long, or raise -spool-max-bytes",
			"window_id", old.head.WindowID, "events", old.head.Events, "bytes", old.size, "spool_max_bytes", s.maxBytes,
			"dropped_windows", s.overflow.windows, "dropped_events", s.overflow.events)
	}
	s.entries = append(s.entries, e)
	s.bytes += size
	return e, nil
}

func (s *spool) countOverflow(e *spoolEntry) {
	s.overflow.windows++
	s.overflow.events += uint64(e.head.Events)
	s.overflow.bytes += uint64(e.size)
}

// write writes a window file: a temporary file, synced, renamed, and the
// directory synced so that the rename survives a crash.
func (s *spool) write(name string, head []byte, events func(io.Writer) error) (int64, error) {
	tmp := filepath.Join(s.dir, name+".tmp")
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return 0, err
	}
	w := bufio.NewWriterSize(f, 256<<10)
	w.Write(head)
	err = events(w)
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	var size int64
	if st, serr := f.Stat(); serr == nil {
		size = st.Size()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(s.dir, name))
	}
	if err != nil {
		os.Remove(tmp)
		return 0, err
	}
	return size, syncDir(s.dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	return errors.Join(err, d.Close())
}

// pending returns the windows to publish, oldest first.
func (s *spool) pending() []*spoolEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.entries)
}

// has reports whether a window is still waiting.
func (s *spool) has(e *spoolEntry) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Contains(s.entries, e)
}

// remove forgets a published window. If the window was dropped to make
// room while it was being published (the reader keeps the file), it was
// not lost after all: the overflow count takes it back.
func (s *spool) remove(e *spoolEntry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i := slices.Index(s.entries, e); i >= 0 {
		s.entries = slices.Delete(s.entries, i, i+1)
		s.bytes -= e.size
	} else {
		s.overflow.windows--
		s.overflow.events -= uint64(e.head.Events)
		s.overflow.bytes -= uint64(e.size)
	}
	s.removeFile(e)
}

func (s *spool) removeFile(e *spoolEntry) {
	if e.name != "" {
		if err := os.Remove(filepath.Join(s.dir, e.name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			s.log.Warn("removing a spooled window", "error", err)
		}
	}
	e.mem = nil
}

// reject moves a window CloudWatch (or the spool's reader) refused into
// the rejected directory, where the newest few are kept for a person to
// look at, and forgets it.
func (s *spool) reject(e *spoolEntry, why error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i := slices.Index(s.entries, e); i >= 0 {
		s.entries = slices.Delete(s.entries, i, i+1)
		s.bytes -= e.size
	}
	kept := ""
	if e.name != "" {
		rd := filepath.Join(s.dir, rejectedDir)
		kept = filepath.Join(rd, e.name)
		if err := os.MkdirAll(rd, 0o700); err != nil || os.Rename(filepath.Join(s.dir, e.name), kept) != nil {
			kept = ""
			os.Remove(filepath.Join(s.dir, e.name))
		}
		if old, _ := filepath.Glob(filepath.Join(rd, "*"+spoolExt)); len(old) > keepRejects {
			slices.Sort(old)
			for _, f := range old[:len(old)-keepRejects] {
				os.Remove(f)
			}
		}
	}
	e.mem = nil
	s.log.Error("a spooled window cannot be published (damaged on disk, or malformed for CloudWatch) and was set aside; please report it with the file",
		"window_id", e.head.WindowID, "events", e.head.Events, "kept_as", kept, "error", why)
}

// depth returns the windows and bytes waiting, and what overflowed.
func (s *spool) depth() (int, int64, overflowStats) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.entries), s.bytes, s.overflow
}

// spoolReader reads a window's events.
type spoolReader struct {
	f    *os.File
	r    *bufio.Reader
	line []byte
}

// open returns a reader positioned after the window's header.
func (s *spool) open(e *spoolEntry) (*spoolReader, error) {
	if e.name == "" && e.mem == nil {
		return nil, os.ErrNotExist // a window held in memory, dropped
	}
	if e.mem != nil {
		r := bufio.NewReader(bytes.NewReader(e.mem))
		_, err := r.ReadBytes('\n')
		return &spoolReader{r: r}, err
	}
	f, err := os.Open(filepath.Join(s.dir, e.name))
	if err != nil {
		return nil, err
	}
	r := bufio.NewReaderSize(f, 256<<10)
	if _, err := r.ReadBytes('\n'); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: reading its header: %w", e.name, err)
	}
	return &spoolReader{f: f, r: r}, nil
}

// next returns the next event's timestamp and message, which is valid
// until the next call, or io.EOF.
func (r *spoolReader) next() (int64, []byte, error) {
	line, err := r.r.ReadSlice('\n')
	if err == bufio.ErrBufferFull { // a long line: gather it
		r.line = append(r.line[:0], line...)
		for err == bufio.ErrBufferFull {
			line, err = r.r.ReadSlice('\n')
			r.line = append(r.line, line...)
		}
		line = r.line
	}
	if err == io.EOF && len(line) == 0 {
		return 0, nil, io.EOF
	}
	if err != nil {
		return 0, nil, fmt.Errorf("a truncated event line: %w", errors.Join(err, io.ErrUnexpectedEOF))
	}
	line = line[:len(line)-1]
	sp := bytes.IndexByte(line, ' ')
	ts, perr := strconv.ParseInt(string(line[:max(sp, 0)]), 10, 64)
	if sp <= 0 || perr != nil {
		return 0, nil, fmt.Errorf("a bad event line %.80q", line)
	}
	return ts, line[sp+1:], nil
}

func (r *spoolReader) close() {
	if r.f != nil {
		r.f.Close()
	}
}
