//go:build linux

package report

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"github.com/netcost/netcost/costmodel"
	"github.com/netcost/netcost/internal/query"
	"github.com/netcost/netcost/internal/source"
)

// TestBuildReadsTheStoreOnce: a report over a file store opens each of its
// files once, counted by the kernel (inotify); it used to read the store
// five times, once a view.
func TestBuildReadsTheStoreOnce(t *testing.T) {
	dir := t.TempDir()
	files, _ := filepath.Glob(filepath.Join(store, "*"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, filepath.Base(f)), data, 0o644)
	}
	fd, err := syscall.InotifyInit1(syscall.IN_CLOEXEC | syscall.IN_NONBLOCK)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	if _, err := syscall.InotifyAddWatch(fd, dir, syscall.IN_OPEN); err != nil {
		t.Fatal(err)
	}
	if _, err := Build(context.Background(), costmodel.New(nil), Options{Options: query.Options{Source: source.Spec{Kind: "file", Path: dir},
		Window: sampleWindow}}); err != nil {
		t.Fatal(err)
	}
	opens := map[string]int{}
	buf := make([]byte, 64<<10)
	for {
		n, err := syscall.Read(fd, buf)
		if err == syscall.EAGAIN {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		for off := 0; off+syscall.SizeofInotifyEvent <= n; {
			ev := (*syscall.InotifyEvent)(unsafe.Pointer(&buf[off]))
			name := strings.TrimRight(string(buf[off+syscall.SizeofInotifyEvent:off+syscall.SizeofInotifyEvent+int(ev.Len)]), "\x00")
			if name != "" { // the directory itself, opened to list it
				opens[name]++
			}
			off += syscall.SizeofInotifyEvent + int(ev.Len)
		}
	}
	if len(opens) != len(files) {
		t.Errorf("opened %v; want each of the %d files of the store", opens, len(files))
	}
	for name, n := range opens {
		if n != 1 {
			t.Errorf("%s opened %d times; want once", name, n)
		}
	}
}
