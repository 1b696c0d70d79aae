package sink

import (
	"io"
	"os"
	"path/filepath"
	"testing"
)

// TestFilesCommit: a window is committed with its Mark, which a new Files
// reads back; what a crash left past the commit (a window written but not
// committed, in the committed file or a newer one) is removed at open.
func TestFilesCommit(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenFiles(dir, "node")
	if err != nil {
		t.Fatal(err)
	}
	if m := s.Committed(); m != (Mark{}) {
		t.Fatalf("a new directory's Mark: %+v; want none", m)
	}
	m1 := Mark{Layout: "layout-a", Epoch: 1}
	if err := s.WriteMarked(t.Context(), window(3, 100), m1); err != nil {
		t.Fatal(err)
	}
	file := s.f.Name()
	st, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	committed := st.Size()
	// A crash after the next window's records reached the disk, before its
	// commit: they are in the file, and in a newer one.
	s.buf = s.buf[:0]
	if _, err := s.f.WriteString(`{"schema":1,"ts":"2026-11-22T10:01:00Z","bytes":5}` + "\n"); err != nil {
		t.Fatal(err)
	}
	s.f.Close()
	newer := filepath.Join(dir, "node-29991231T000000.000Z.jsonl")
	if err := os.WriteFile(newer, []byte(`{"schema":1}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	s, err = OpenFiles(dir, "node")
	if err != nil {
		t.Fatal(err)
	}
	if m := s.Committed(); m != m1 {
		t.Errorf("reopened: Mark %+v; want %+v", m, m1)
	}
	for path, want := range map[string]int64{file: committed, newer: 0} {
		if st, err := os.Stat(path); err != nil || st.Size() != want {
			t.Errorf("%s after the reopen: %v, %v; want %d bytes", path, st.Size(), err, want)
		}
	}
	// A window without records still commits its Mark.
	m2 := Mark{Layout: "layout-a", Epoch: 2}
	if err := s.WriteMarked(t.Context(), nil, m2); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = OpenFiles(dir, "node")
	if err != nil {
		t.Fatal(err)
	}
	if m := s.Committed(); m != m2 {
		t.Errorf("after an empty window: Mark %+v; want %+v", m, m2)
	}
	if st, err := os.Stat(file); err != nil || st.Size() != committed {
		t.Errorf("%s: %v, %v; want the %d committed bytes kept", file, st.Size(), err, committed)
	}
}

// TestSpoolCommit: the spool's last Mark is its commit file's, or a newer
// window's when a crash came between the window and the commit file; it
// outlives the window once published.
func TestSpoolCommit(t *testing.T) {
	dir := t.TempDir()
	s, err := openSpool(dir, 1<<20, nil)
	if err != nil {
		t.Fatal(err)
	}
	m1, m2 := Mark{Layout: "l", Epoch: 1}, Mark{Layout: "l", Epoch: 2}
	events := func(w io.Writer) error { _, err := io.WriteString(w, "1 {}\n"); return err }
	e, err := s.add(spoolHeader{WindowID: "w.1", Events: 1, Mark: &m1}, events)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.committed(e, m1); err != nil {
		t.Fatal(err)
	}
	if _, err := s.add(spoolHeader{WindowID: "w.2", Events: 1, Mark: &m2}, events); err != nil {
		t.Fatal(err)
	}
	// The crash: m2's window is on disk, the commit file still says m1.
	s, err = openSpool(dir, 1<<20, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m := s.lastMark(); m != m2 {
		t.Errorf("after a crash between window and commit: %+v; want the window's %+v", m, m2)
	}
	for _, e := range s.pending() { // published
		s.remove(e)
	}
	if err := s.committed(nil, Mark{Layout: "l", Epoch: 3}); err != nil {
		t.Fatal(err)
	}
	s, err = openSpool(dir, 1<<20, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m := s.lastMark(); m != (Mark{Layout: "l", Epoch: 3}) || len(s.pending()) != 0 {
		t.Errorf("after publishing and an empty window: %+v, %d windows; want {l 3}, none", m, len(s.pending()))
	}
}
