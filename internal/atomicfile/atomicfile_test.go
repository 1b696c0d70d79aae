package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "f.json")
	for _, content := range []string{"first", "second"} {
		if err := WriteFile(path, []byte(content)); err != nil {
			t.Fatal(err)
		}
		if got, err := os.ReadFile(path); err != nil || string(got) != content {
			t.Errorf("read %q, %v; want %q", got, err, content)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "sub", ".*")); len(left) != 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
	if err := WriteFile(filepath.Join(path, "under-a-file"), nil); err == nil {
		t.Error("writing under a regular file: no error")
	}
}

func TestReplaceOwn(t *testing.T) {
	dir := t.TempDir()
	own := func(b []byte) bool { return strings.HasPrefix(string(b), "mine") }
	path := filepath.Join(dir, "sub", "cache")
	for _, content := range []string{"mine 1", "mine 2"} { // absent, then its own
		if err := ReplaceOwn(path, []byte(content), 100, own); err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(path); string(got) != content {
			t.Errorf("read %q; want %q", got, content)
		}
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, %v; want 0600", st.Mode(), err)
	}
	for _, other := range []string{"theirs", "", "mine but too long " + strings.Repeat("x", 100)} {
		os.WriteFile(path, []byte(other), 0o644)
		err := ReplaceOwn(path, []byte("mine 3"), 100, own)
		if !errors.Is(err, ErrForeign) || err.Error() != path+" holds something else" {
			t.Errorf("over %.20q: %v; want %s holds something else", other, err, path)
		}
		if got, _ := os.ReadFile(path); string(got) != other {
			t.Errorf("over %.20q: the file now holds %q", other, got)
		}
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{dir, fifo} { // neither is read: a FIFO would block
		if err := ReplaceOwn(p, []byte("mine"), 100, own); !errors.Is(err, ErrForeign) {
			t.Errorf("over %s: %v; want ErrForeign", p, err)
		}
	}
	if st, err := os.Stat(fifo); err != nil || st.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("the FIFO is gone: %v, %v", st, err)
	}
}
