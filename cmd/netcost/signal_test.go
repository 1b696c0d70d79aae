//go:build unix

package main

import (
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets a test run this binary as netcost itself, so that signals
// reach main's handler as they do in a shell.
func TestMain(m *testing.M) {
	if os.Getenv("NETCOST_TEST_AS_MAIN") == "1" {
		main()
	}
	os.Exit(m.Run())
}

// TestNonRegularSource: a named pipe with no writer and a device are
// refused with one line and exit 2 at once: opening the pipe would block,
// deaf to SIGTERM, and a device such as /dev/zero never ends.
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
		if code != 2 || out != "" || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, tt.want) ||
			!strings.Contains(errs, "(check --source)") {
			t.Errorf("file:%s: exit %d, stdout %q, stderr %q; want 2 and one line saying %q", tt.path, code, out, errs, tt.want)
		}
	}
}

// TestInterrupt: SIGINT or SIGTERM in the middle of a long read (a gzip
// stream of 16 GiB of zeros: one endless line) ends netcost with exit 130.
func TestInterrupt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "zeros.jsonl.gz")
	const member = 16 << 20
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(make([]byte, member))
	zw.Close()
	if err := os.WriteFile(path, bytes.Repeat(buf.Bytes(), 1024), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		cmd := exec.Command(os.Args[0], "top", "-c", "nat", "-s", "file:"+path)
		cmd.Env = append(os.Environ(), "NETCOST_TEST_AS_MAIN=1")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(500 * time.Millisecond)
		cmd.Process.Signal(sig)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		var err error
		select {
		case err = <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
			t.Fatalf("%v: netcost still running 5 s after the signal", sig)
		}
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 130 || stderr.String() != "netcost: interrupted\n" {
			t.Errorf("%v: %v, stderr %q; want exit 130 and netcost: interrupted", sig, err, stderr.String())
		}
	}
}
