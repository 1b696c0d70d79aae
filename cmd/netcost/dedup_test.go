package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// copyStore copies the sample store into a new directory and returns it.
func copyStore(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files, _ := filepath.Glob(filepath.Join(store, "*"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func gzipFile(t *testing.T, from, to string, n int) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if n > 0 { // the first n lines only
		data = []byte(strings.Join(strings.SplitAfter(string(data), "\n")[:n], ""))
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(data)
	zw.Close()
	if err := os.WriteFile(to, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestDuplicateFiles: a gzip copy of a file beside it, a link to a file and
// a copy of the store inside itself are counted once, not twice, and the
// notes say which records were left out.
func TestDuplicateFiles(t *testing.T) {
	plain := "ip-10-0-1-10.ec2.internal.jsonl"
	dir := copyStore(t)
	gzipFile(t, filepath.Join(dir, plain), filepath.Join(dir, plain+".gz"), 0)
	if err := os.Symlink(plain, filepath.Join(dir, "link.jsonl")); err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(dir, "backup")
	os.Mkdir(backup, 0o755)
	gz, _ := os.ReadFile(filepath.Join(store, "ip-10-0-2-20.ec2.internal.jsonl.gz"))
	os.WriteFile(filepath.Join(backup, "az2.jsonl.gz"), gz, 0o644)

	type result struct {
		TotalBytes uint64   `json:"total_bytes"`
		Records    int64    `json:"records"`
		Notes      []string `json:"notes"`
	}
	for _, cat := range []string{"inter-az", "nat"} {
		var want, got result
		json.Unmarshal([]byte(mustRun(t, "top", "-c", cat, "-o", "json", "-s", "file:"+store)), &want)
		json.Unmarshal([]byte(mustRun(t, "top", "-c", cat, "-o", "json", "-s", "file:"+dir)), &got)
		if got.TotalBytes != want.TotalBytes || got.Records != want.Records || want.TotalBytes == 0 {
			t.Errorf("top %s over a store with copies: %d bytes in %d records; want the store's %d in %d", cat,
				got.TotalBytes, got.Records, want.TotalBytes, want.Records)
		}
		notes := strings.Join(got.Notes, "\n")
		for _, n := range []string{
			"ignored 2400 records of " + filepath.Join(dir, plain+".gz") + " as duplicates: " + filepath.Join(dir, plain) +
				" holds the same",
			"ignored 1560 records of " + filepath.Join(backup, "az2.jsonl.gz") + " as duplicates: " +
				filepath.Join(dir, "ip-10-0-2-20.ec2.internal.jsonl.gz") + " holds the same",
			"ignored " + filepath.Join(dir, "link.jsonl") + " as duplicates (2400 records): it is another name of " +
				filepath.Join(dir, plain),
		} {
			if !strings.Contains(notes, n) {
				t.Errorf("top %s -o json notes %q; want %q", cat, got.Notes, n)
			}
		}
	}
	out := mustRun(t, "top", "-c", "inter-az", "-s", "file:"+dir)
	if !strings.Contains(out, "\nignored 2400 records of ") {
		t.Errorf("top's table notes do not say what was ignored:\n%s", out)
	}
}

// TestPartialCopy: a file that holds some of another's windows, as a file
// gzipped while its agent still wrote to it does, is refused with one line
// naming both: which records to count is the user's call.
func TestPartialCopy(t *testing.T) {
	plain := "ip-10-0-1-10.ec2.internal.jsonl"
	dir := copyStore(t)
	gzipFile(t, filepath.Join(dir, plain), filepath.Join(dir, plain+".gz"), 1000)
	code, out, errs := netcost(t, "top", "-c", "inter-az", "-s", "file:"+dir)
	want := filepath.Join(dir, plain) + " and " + filepath.Join(dir, plain+".gz") +
		" both hold records of node ip-10-0-1-10.ec2.internal from 2026-11-20T09:00:00Z to "
	if code != 2 || out != "" || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, want) {
		t.Errorf("exit %d, stdout %q, stderr %q; want 2 and one line saying %q", code, out, errs, want)
	}
	// A window the two files do not share both hold is read.
	if code, _, errs := netcost(t, "top", "-c", "inter-az", "-s", "file:"+dir, "--start",
		"2026-11-20T09:50:00Z"); code != 0 {
		t.Errorf("a window after the overlap: exit %d, %s", code, errs)
	}
}
