//go:build unix

package source

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/netcost/netcost/internal/flows"
)

// within runs f and fails the test if it has not returned after d, so
// that a read that blocks or spins fails the test instead of hanging it.
func within(t *testing.T, d time.Duration, f func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		t.Fatalf("still running after %v", d)
		return nil
	}
}

// TestReadRefusesNonRegular: a named pipe with no writer, a device and a
// socket are refused up front, given as the path or found in a directory
// (through a link too), instead of blocking in open or reading forever.
func TestReadRefusesNonRegular(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.jsonl")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	store := filepath.Join(t.TempDir(), "store")
	writeFile(t, filepath.Join(store, "a.jsonl"), lines(10), false)
	if err := os.Symlink("/dev/zero", filepath.Join(store, "zero.jsonl")); err != nil {
		t.Fatal(err)
	}
	pipes := filepath.Join(t.TempDir(), "pipes")
	writeFile(t, filepath.Join(pipes, "a.jsonl"), lines(10), false)
	if err := syscall.Mkfifo(filepath.Join(pipes, "b.jsonl"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ path, file, want string }{
		{fifo, fifo, "a named pipe (FIFO), not a file of records"},
		{"/dev/zero", "/dev/zero", "a character device"},
		{store, filepath.Join(store, "zero.jsonl"), "a character device"},
		{pipes, filepath.Join(pipes, "b.jsonl"), "a named pipe (FIFO)"},
	} {
		err := within(t, 5*time.Second, func() error {
			_, err := Read(t.Context(), tt.path, ReadOptions{}, func(int, *flows.Record) error { return nil })
			return err
		})
		var fe *FileError
		if !errors.As(err, &fe) || fe.File != tt.file || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Read(%s) error = %v; want a FileError for %s saying %q", tt.path, err, tt.file, tt.want)
		}
	}
}

// TestReadStopsInALongLine: a gzip stream that unfolds into 16 GiB without
// a newline is one long line to skip; cancelling the context stops the read
// at once instead of after the whole stream.
func TestReadStopsInALongLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "zeros.jsonl.gz")
	writeZeros(t, path, 16<<30)
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(200*time.Millisecond, cancel)
	err := within(t, 5*time.Second, func() error {
		_, err := Read(ctx, path, ReadOptions{Workers: 2}, func(int, *flows.Record) error { return nil })
		return err
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Read cancelled in a long line: error = %v; want context.Canceled", err)
	}
}

// writeZeros writes a gzip file of n zero bytes (a multiple of 16 MiB) as
// repeats of one 16 MiB member, which a gzip reader reads one after another.
func writeZeros(t *testing.T, path string, n int64) {
	t.Helper()
	const member = 16 << 20
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(make([]byte, member))
	zw.Close()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for range n / member {
		if _, err := f.Write(buf.Bytes()); err != nil {
			t.Fatal(err)
		}
	}
}
