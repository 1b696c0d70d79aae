package source

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/netcost/netcost/internal/flows"
)

func writeFile(t *testing.T, path string, data []byte, gz bool) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if gz {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(data)
		zw.Close()
		data = buf.Bytes()
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// lines makes n valid records, numbered through their byte counts 1..n.
func lines(n int) []byte {
	var b []byte
	r := testRecord()
	for i := 1; i <= n; i++ {
		r.Bytes = uint64(i)
		r.Packets = 1
		r.LocalPod = fmt.Sprintf("pod-%d", i%97)
		b = flows.AppendJSON(b, &r)
		b = append(b, '\n')
		if i%1000 == 0 {
			b = append(b, "  \n"...) // blank lines are skipped but counted for line numbers
		}
	}
	return b
}

func TestReadDirectory(t *testing.T) {
	dir := t.TempDir()
	const n = 60000 // several blocks per file
	writeFile(t, filepath.Join(dir, "node-a.jsonl"), lines(n), false)
	writeFile(t, filepath.Join(dir, "sub", "node-b.jsonl.gz"), lines(n), true)
	writeFile(t, filepath.Join(dir, "README.txt"), []byte("not records"), false)
	writeFile(t, filepath.Join(dir, ".hidden", "x.jsonl"), []byte("garbage"), false)

	link := filepath.Join(t.TempDir(), "store")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	var sum, count atomic.Uint64
	for _, workers := range []int{1, 3} {
		if workers == 3 {
			dir = link // a symlinked directory reads the same
		}
		sum.Store(0)
		count.Store(0)
		st, err := Read(t.Context(), dir, ReadOptions{Workers: workers}, func(w int, r *flows.Record) error {
			if w < 0 || w >= workers {
				t.Errorf("worker index %d out of [0,%d)", w, workers)
			}
			sum.Add(r.Bytes)
			count.Add(1)
			return nil
		})
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
		want := uint64(n) * (n + 1) // two files of 1..n
		if sum.Load() != want || count.Load() != 2*n || st.Records != 2*n || st.Files != 2 || st.Lines != 2*n {
			t.Errorf("workers=%d: sum %d count %d stats %+v; want sum %d count %d files 2",
				workers, sum.Load(), count.Load(), st, want, 2*n)
		}
		if ts := testRecord().TS; !st.Start.Equal(ts) || !st.End.Equal(ts.Add(time.Minute)) {
			t.Errorf("workers=%d: extent %v to %v; want the records' window %v to %v",
				workers, st.Start, st.End, ts, ts.Add(time.Minute))
		}
	}
}

func TestReadBadLine(t *testing.T) {
	dir := t.TempDir()
	data := lines(50000)
	ls := bytes.Split(data, []byte("\n"))
	const badLine = 40041 // record 40001: 40 blank lines precede it
	ls[badLine-1] = bytes.Replace(ls[badLine-1], []byte(`"bytes":`), []byte(`"bytes":-`), 1)
	bad := bytes.Join(ls, []byte("\n"))
	path := filepath.Join(dir, "n.jsonl.gz")
	writeFile(t, path, bad, true)

	_, err := Read(t.Context(), path, ReadOptions{Workers: 2}, func(int, *flows.Record) error { return nil })
	var le *LineError
	if !errors.As(err, &le) || le.Line != badLine || le.File != path ||
		!strings.Contains(err.Error(), "bytes: negative value") {
		t.Fatalf("Read error = %v; want %s:%d: bytes: negative value", err, path, badLine)
	}

	var count atomic.Int64
	st, err := Read(t.Context(), path, ReadOptions{Lenient: true},
		func(int, *flows.Record) error { count.Add(1); return nil })
	if err != nil || st.Skipped != 1 || st.Records != 49999 || count.Load() != 49999 {
		t.Errorf("lenient Read = %+v, %v (delivered %d); want 1 skipped, 49999 records", st, err, count.Load())
	}
}

func TestReadErrors(t *testing.T) {
	dir := t.TempDir()
	none := func(int, *flows.Record) error { return nil }
	if _, err := Read(t.Context(), filepath.Join(dir, "missing"), ReadOptions{}, nil); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing path: error = %v; want ErrNotExist", err)
	}
	if _, err := Read(t.Context(), dir, ReadOptions{}, nil); !errors.Is(err, ErrNoFiles) {
		t.Errorf("empty dir: error = %v; want ErrNoFiles", err)
	}
	notGz := filepath.Join(dir, "x.jsonl.gz")
	writeFile(t, notGz, lines(3), false)
	if _, err := Read(t.Context(), notGz, ReadOptions{}, none); err == nil || !strings.Contains(err.Error(), "gzip") {
		t.Errorf("plain file named .gz: error = %v; want a gzip error", err)
	}
	long := filepath.Join(dir, "long.jsonl")
	writeFile(t, long, bytes.Repeat([]byte("x"), 3<<20), false)
	if _, err := Read(t.Context(), long, ReadOptions{}, none); err == nil ||
		!strings.Contains(err.Error(), "long.jsonl:1: record: line longer than") {
		t.Errorf("3 MiB line: error = %v; want line 1 too long", err)
	}
	empty := filepath.Join(dir, "empty.jsonl.gz")
	writeFile(t, empty, nil, false)
	if st, err := Read(t.Context(), empty, ReadOptions{}, none); err != nil || st.Records != 0 {
		t.Errorf("empty .gz: %+v, %v; want no records and no error", st, err)
	}
	stop := errors.New("stop")
	ok := filepath.Join(dir, "ok.jsonl")
	writeFile(t, ok, lines(10), false)
	stopping := func(int, *flows.Record) error { return stop }
	if _, err := Read(t.Context(), ok, ReadOptions{}, stopping); !errors.Is(err, stop) {
		t.Errorf("callback error = %v; want it returned", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := Read(ctx, ok, ReadOptions{}, none); err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: error = %v", err)
	}
}

func TestReadTruncatedGzip(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(lines(5000))
	zw.Close()
	path := filepath.Join(t.TempDir(), "cut.jsonl.gz")
	writeFile(t, path, buf.Bytes()[:buf.Len()/2], false)
	_, err := Read(t.Context(), path, ReadOptions{}, func(int, *flows.Record) error { return nil })
	var fe *FileError
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("Read(truncated gzip) error = %v; want a FileError saying truncated", err)
	}
}

func TestReadLineNumbers(t *testing.T) {
	// Bad lines in several blocks and files, the last one without a newline:
	// strict mode names the first; lenient mode warns about each.
	dir := t.TempDir()
	data := lines(30000)
	ls := bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
	for _, n := range []int{25000, len(ls)} {
		ls[n-1] = []byte(`{"schema":1,"ts":"nope"}`)
	}
	writeFile(t, filepath.Join(dir, "a.jsonl"), bytes.Join(ls, []byte("\n")), false) // no final newline
	writeFile(t, filepath.Join(dir, "b.jsonl"), append([]byte("\n\n"), ls[len(ls)-1]...), false)
	for _, workers := range []int{1, 2, 4} {
		_, err := Read(t.Context(), dir, ReadOptions{Workers: workers}, func(int, *flows.Record) error { return nil })
		var le *LineError
		if !errors.As(err, &le) || le.Line != 25000 || !strings.HasSuffix(le.File, "a.jsonl") {
			t.Errorf("workers %d: error = %v; want a.jsonl:25000", workers, err)
		}
	}
	var logs bytes.Buffer
	st, err := Read(t.Context(), dir, ReadOptions{Lenient: true, Logger: slog.New(slog.NewTextHandler(&logs, nil))},
		func(int, *flows.Record) error { return nil })
	if err != nil || st.Skipped != 3 {
		t.Fatalf("lenient: %+v, %v; want 3 skipped", st, err)
	}
	for _, want := range []string{"a.jsonl:25000:", fmt.Sprintf("a.jsonl:%d:", len(ls)), "b.jsonl:3:"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("lenient warnings %q lack %q", logs.String(), want)
		}
	}
}

// TestReadFileShrinks: a file truncated while it is read (mapped) gives an
// error naming it, never a crash.
func TestReadFileShrinks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rotating.jsonl")
	writeFile(t, path, lines(40000), false) // ~28 MB: many blocks
	var once sync.Once
	_, err := Read(t.Context(), path, ReadOptions{Workers: 2}, func(int, *flows.Record) error {
		once.Do(func() {
			if err := os.Truncate(path, 0); err != nil {
				t.Error(err)
			}
		})
		return nil
	})
	var fe *FileError
	if !errors.As(err, &fe) || fe.File != path || !strings.Contains(err.Error(), "shrank") {
		t.Fatalf("Read of a file truncated underneath: error = %v; want a FileError saying it shrank", err)
	}
}

// agentLines makes what node's agent writes for windows from..to (minutes
// after 10:00), three records each, with byte counts that differ by run.
func agentLines(node string, from, to, run int) []byte {
	var b []byte
	r := testRecord()
	r.Node = node
	for w := from; w <= to; w++ {
		r.TS = time.Date(2026, 11, 21, 10, w, 0, 0, time.UTC)
		for i := range 3 {
			r.LocalPod = fmt.Sprintf("pod-%d", i)
			r.Bytes, r.Packets = uint64(1000*run+10*w+i+1), 1
			b = append(flows.AppendJSON(b, &r), '\n')
		}
	}
	return b
}

// TestReadDedup: with Dedup, records that two files hold alike are counted
// once and reported; an agent's restart, which splits one window between
// two files, is not taken for a copy; a partial copy is reported as an
// overlap and counted twice, for the caller to refuse.
func TestReadDedup(t *testing.T) {
	a, b := "ip-10-0-1-10.ec2.internal", "ip-10-0-2-20.ec2.internal"
	type dup struct {
		file, of string
		records  int64
		link     bool
	}
	tests := []struct {
		name    string
		files   map[string][]byte // .gz names are compressed
		links   map[string]string // symlink -> target, in the store
		want    int64             // records delivered
		dups    []dup
		overlap []string // the two files, the first window and the end of the last, 10:MM
	}{
		{name: "gzip copy", files: map[string][]byte{"x.jsonl": agentLines(a, 0, 9, 1), "x.jsonl.gz": agentLines(a, 0, 9, 1)},
			want: 30, dups: []dup{{"x.jsonl.gz", "x.jsonl", 30, false}}},
		{name: "links", files: map[string][]byte{"x.jsonl": agentLines(a, 0, 9, 1)},
			links: map[string]string{"y.jsonl": "x.jsonl", "z.jsonl": "x.jsonl"}, want: 30,
			dups: []dup{{"y.jsonl", "x.jsonl", 30, true}, {"z.jsonl", "x.jsonl", 30, true}}},
		{name: "restart", files: map[string][]byte{"a-1.jsonl": agentLines(a, 0, 5, 1), "a-2.jsonl": agentLines(a, 5, 9, 2)},
			want: 33},
		{name: "restart within one window", files: map[string][]byte{"a-1.jsonl": agentLines(a, 0, 5, 1),
			"a-2.jsonl": agentLines(a, 5, 5, 2), "a-3.jsonl": agentLines(a, 5, 9, 3)}, want: 36},
		{name: "a window copied", files: map[string][]byte{"a-1.jsonl": agentLines(a, 0, 5, 1),
			"a-2.jsonl": append(agentLines(a, 5, 5, 1), agentLines(a, 6, 9, 2)...)}, want: 30,
			dups: []dup{{"a-2.jsonl", "a-1.jsonl", 3, false}}},
		{name: "concatenated", files: map[string][]byte{"a.jsonl": agentLines(a, 0, 9, 1), "b.jsonl": agentLines(b, 0, 9, 1),
			"all.jsonl": append(agentLines(a, 0, 9, 1), agentLines(b, 0, 9, 1)...)},
			want: 60, dups: []dup{{"all.jsonl", "a.jsonl", 30, false}, {"all.jsonl", "b.jsonl", 30, false}}},
		{name: "copy in a subdirectory", files: map[string][]byte{"a.jsonl": agentLines(a, 0, 9, 1),
			"old/a.jsonl.gz": agentLines(a, 0, 9, 1), "b.jsonl": agentLines(b, 0, 9, 1)}, want: 60,
			dups: []dup{{"old/a.jsonl.gz", "a.jsonl", 30, false}}},
		{name: "partial copy",
			files: map[string][]byte{"x.jsonl": agentLines(a, 0, 9, 1), "x.jsonl.gz": agentLines(a, 0, 4, 1)}, want: 45,
			overlap: []string{"x.jsonl", "x.jsonl.gz", "10:00", "10:05"}},
		{name: "two agents at once",
			files: map[string][]byte{"a-1.jsonl": agentLines(a, 0, 9, 1), "a-2.jsonl": agentLines(a, 3, 12, 2)}, want: 60,
			overlap: []string{"a-1.jsonl", "a-2.jsonl", "10:03", "10:10"}},
		{name: "no node", files: map[string][]byte{"x.jsonl": agentLines("", 0, 9, 1), "y.jsonl": agentLines("", 0, 9, 1),
			"z.jsonl": agentLines("", 3, 12, 2)}, want: 60, dups: []dup{{"y.jsonl", "x.jsonl", 30, false}}},
	}
	// A line in another layout (a leading space) between two lines of one
	// agent's window: the tally must not take the line after it for the
	// other agent's, as the decoder's shared head would say.
	aw := bytes.SplitAfter(agentLines(a, 2, 2, 1), []byte("\n"))
	bw := append([]byte(" "), agentLines(b, 2, 2, 1)[:len(aw[0])]...)
	tests = append(tests, struct {
		name    string
		files   map[string][]byte
		links   map[string]string
		want    int64
		dups    []dup
		overlap []string
	}{name: "mixed layouts",
		files: map[string][]byte{"x.jsonl": bytes.Join([][]byte{aw[0], aw[1], bw, aw[2]}, nil), "y.jsonl": bw}, want: 4,
		dups: []dup{{"x.jsonl", "y.jsonl", 1, false}}})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, data := range tt.files {
				writeFile(t, filepath.Join(dir, name), data, strings.HasSuffix(name, ".gz"))
			}
			for link, target := range tt.links {
				if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
					t.Fatal(err)
				}
			}
			for _, workers := range []int{1, 3} {
				var delivered, resets atomic.Int64
				st, err := Read(t.Context(), dir, ReadOptions{Workers: workers, Dedup: true, Borrow: true,
					Reset: func() { delivered.Store(0); resets.Add(1) }},
					func(int, *flows.Record) error { delivered.Add(1); return nil })
				if err != nil {
					t.Fatal(err)
				}
				var dups []dup
				var left int64
				for _, d := range st.Duplicates {
					dups = append(dups, dup{strings.TrimPrefix(d.File, dir+"/"), strings.TrimPrefix(d.Of, dir+"/"), d.Records, d.Link})
					left += d.Records
				}
				if delivered.Load() != tt.want || st.Records != tt.want || !reflect.DeepEqual(dups, tt.dups) ||
					st.Duplicate != left {
					t.Errorf("workers %d: delivered %d (stats %d), duplicates %v (%d); want %d, %v",
						workers, delivered.Load(), st.Records, dups, st.Duplicate, tt.want, tt.dups)
				}
				if wantResets := int64(len(tt.dups) - len(tt.links)); min(wantResets, 1) != resets.Load() {
					t.Errorf("workers %d: %d resets; want a second read only to leave copies out", workers, resets.Load())
				}
				var overlap []string
				for _, o := range st.Overlaps {
					overlap = append(overlap, filepath.Base(o.File), filepath.Base(o.Other),
						o.Start.Format("15:04"), o.End.Format("15:04"))
					if o.Node != a || o.Cluster != "shop" {
						t.Errorf("overlap of %s/%s; want shop/%s", o.Cluster, o.Node, a)
					}
				}
				if !reflect.DeepEqual(overlap, tt.overlap) {
					t.Errorf("workers %d: overlaps %v; want %v", workers, st.Overlaps, tt.overlap)
				}
			}
		})
	}
}

// testRecord returns a valid inter-AZ record; mutate it to taste.
func testRecord() flows.Record {
	return flows.Record{
		Schema: 1, TS: time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC), WindowS: 60,
		Cluster: "shop", Node: "ip-10-0-1-10.ec2.internal", Region: "us-east-1",
		Direction: flows.Egress, Category: flows.InterAZ, Protocol: flows.TCP,
		LocalIP: "10.0.1.15", LocalPod: "graphql-7d9f8b6c5-x2x9q", LocalNamespace: "shop",
		LocalAZ: "us-east-1a", LocalAZID: "use1-az1", RemoteIP: "10.0.2.33", RemotePort: 8080,
		RemotePod: "products-5f7c9-abcde", RemoteNamespace: "shop", RemoteAZ: "us-east-1b", RemoteAZID: "use1-az2",
		Bytes: 123456789, Packets: 90000,
	}
}
