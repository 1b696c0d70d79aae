package sink

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/netcost/netcost/internal/flows"
	"github.com/netcost/netcost/internal/source"
)

func window(n int, bytes uint64) []flows.Record {
	recs := make([]flows.Record, n)
	for i := range recs {
		recs[i] = flows.Record{Schema: 1, TS: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC), WindowS: 60, Region: "us-east-1",
			Direction: flows.Egress, Category: flows.InterAZ, Protocol: flows.TCP, LocalIP: "10.0.1.5", RemoteIP: "10.0.2.5",
			RemotePort: uint16(1000 + i), Bytes: bytes, Packets: 1}
	}
	return recs
}

func TestFilesRotateAndPrune(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenFiles(dir, "ip-10-0-1-10")
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	s.now = func() time.Time { clock = clock.Add(time.Second); return clock }
	s.MaxBytes, s.MaxFiles = 20_000, 3
	for range 20 {
		if err := s.Write(t.Context(), window(40, 1000)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "ip-10-0-1-10-*.jsonl"))
	if len(files) != 3 {
		t.Fatalf("%d files: %v; want the newest 3", len(files), files)
	}
	var total atomic.Uint64
	st, err := source.Read(t.Context(), dir, source.ReadOptions{}, func(_ int, r *flows.Record) error { total.Add(r.Bytes); return nil })
	if err != nil {
		t.Fatalf("the files do not read back: %v", err)
	}
	if st.Records == 0 || st.Records%40 != 0 || total.Load() != uint64(st.Records)*1000 {
		t.Errorf("read back %d records, %d bytes; want whole windows of 40 at 1000 bytes", st.Records, total.Load())
	}
}

func TestWriter(t *testing.T) {
	var out bytes.Buffer
	w := NewWriter(&out)
	if err := w.Write(t.Context(), window(2, 5)); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), "\n"); n != 2 || !strings.Contains(out.String(), `"remote_port":1001`) {
		t.Errorf("wrote %q; want two JSON lines", out.String())
	}
}

func TestOpenFilesErrors(t *testing.T) {
	if _, err := OpenFiles(t.TempDir(), "a/b"); err == nil || !strings.Contains(err.Error(), "want a plain name") {
		t.Errorf("a prefix with a slash: error = %v", err)
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenFiles(filepath.Join(file, "dir"), "n"); err == nil || !strings.Contains(err.Error(), "creating the record directory") {
		t.Errorf("a directory under a file: error = %v", err)
	}
}
