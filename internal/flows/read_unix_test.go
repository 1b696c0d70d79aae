//go:build unix

package flows

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// within runs f and fails the test if it has not returned after d: the
// reads below used to block or spin for minutes.
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
			_, err := Read(t.Context(), tt.path, ReadOptions{}, func(int, *Record) error { return nil })
			return err
		})
		var fe *FileError
		if !errors.As(err, &fe) || fe.File != tt.file || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Read(%s) error = %v; want a FileError for %s saying %q", tt.path, err, tt.file, tt.want)
		}
	}
}
