//go:build unix

package main

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestNonRegularSource: a named pipe with no writer and a device are
// refused with one line and exit 2 at once; they used to block in open,
// deaf to SIGTERM, or read /dev/zero for ten minutes.
func TestNonRegularSource(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "flows.jsonl")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ path, want string }{
		{fifo, fifo + ": a named pipe (FIFO), not a file of records"},
		{"/dev/zero", "/dev/zero: a character device, not a file of records"},
	} {
		done := make(chan struct{})
		var code int
		var out, errs string
		go func() {
			code, out, errs = netcost(t, "top", "-c", "nat", "-s", "file:"+tt.path)
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("netcost top -s file:%s still running after 5 s", tt.path)
		}
		if code != 2 || out != "" || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, tt.want) || !strings.Contains(errs, "(check --source)") {
			t.Errorf("file:%s: exit %d, stdout %q, stderr %q; want 2 and one line saying %q", tt.path, code, out, errs, tt.want)
		}
	}
}
