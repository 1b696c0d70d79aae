package ipranges

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

func TestFetch(t *testing.T) {
	var doc atomic.Value
	doc.Store(fixture)
	var down atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte(doc.Load().(string)))
	}))
	defer srv.Close()
	cache := filepath.Join(t.TempDir(), "ip-ranges.json")
	f := &Fetcher{URL: srv.URL, Cache: cache}

	r, err := f.Fetch(t.Context(), nil)
	if err != nil || r.SyncToken != "1763700000" {
		t.Fatalf("Fetch = %v, %v", r, err)
	}
	// The same syncToken: the same table, not parsed again.
	again, err := f.Fetch(t.Context(), r)
	if err != nil || again != r {
		t.Errorf("same syncToken: got a new table (%v)", err)
	}
	// A new syncToken: a new table.
	doc.Store(strings.Replace(fixture, "1763700000", "1763800000", 1))
	newer, err := f.Fetch(t.Context(), r)
	if err != nil || newer.SyncToken != "1763800000" {
		t.Errorf("new syncToken: %v, %v", newer, err)
	}
	// Down: the current table is kept; without one, the cache is read.
	down.Store(true)
	kept, err := f.Fetch(t.Context(), newer)
	if kept != newer || err == nil || !strings.Contains(err.Error(), "keeping the ranges of syncToken 1763800000") {
		t.Errorf("outage with a table: %v, %v", kept, err)
	}
	cached, err := f.Fetch(t.Context(), nil)
	if cached == nil || cached.SyncToken != "1763800000" || err == nil || !strings.Contains(err.Error(), "using the cached ranges") {
		t.Errorf("outage at start: %v, %v; want the cached copy and a warning", cached, err)
	}
	// A malformed document is refused, and the cache keeps the good one.
	down.Store(false)
	doc.Store(`{"syncToken":"9","prefixes":[{"ip_prefix":"bad","region":"r","service":"S3"}]}`)
	if _, err := f.Fetch(t.Context(), nil); err == nil || !strings.Contains(err.Error(), "using the cached ranges") {
		t.Errorf("malformed download: %v; want the cached copy", err)
	}
	// No cache and no server: a clear error.
	if _, err := (&Fetcher{URL: "http://127.0.0.1:1"}).Fetch(t.Context(), nil); err == nil || !strings.Contains(err.Error(), "downloading ip-ranges") {
		t.Errorf("unreachable: %v", err)
	}
}

func TestCheckURL(t *testing.T) {
	for _, ok := range []string{"", URL, "https://mirror.example.com/ip-ranges.json", "http://127.0.0.1:8080/r.json", "http://localhost/r", "http://[::1]:1/r"} {
		if err := CheckURL(ok); err != nil {
			t.Errorf("CheckURL(%q) = %v; want nil", ok, err)
		}
	}
	for _, bad := range []string{"file:///etc/passwd", "ftp://example.com/r.json", "http://ip-ranges.amazonaws.com/ip-ranges.json",
		"http://10.0.0.1/r", "ip-ranges.amazonaws.com/ip-ranges.json", "https://", "::bogus", "/etc/passwd"} {
		err := CheckURL(bad)
		if err == nil || !strings.Contains(err.Error(), "is not an https URL") || strings.Contains(err.Error(), "\n") {
			t.Errorf("CheckURL(%q) = %v; want one line saying it is not an https URL", bad, err)
		}
	}
	// The Fetcher checks too, whoever forgot to: nothing is read.
	if r, err := (&Fetcher{URL: "file:///etc/passwd"}).Fetch(t.Context(), nil); r != nil || err == nil || !strings.Contains(err.Error(), "is not an https URL") {
		t.Errorf("Fetch(file:///etc/passwd) = %v, %v; want refused", r, err)
	}
}

// TestFetchRedirects: a redirect is followed to an allowed URL only; a
// download never turns into plain http to another host.
func TestFetchRedirects(t *testing.T) {
	good := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(fixture)) }))
	defer good.Close()
	to := good.URL
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, to, http.StatusFound)
	}))
	defer srv.Close()
	if r, err := (&Fetcher{URL: srv.URL, Client: &http.Client{}}).Fetch(t.Context(), nil); err != nil || r == nil {
		t.Errorf("redirect to loopback: %v, %v; want the ranges", r, err)
	}
	to = "http://example.com/ip-ranges.json"
	if r, err := (&Fetcher{URL: srv.URL}).Fetch(t.Context(), nil); r != nil || err == nil || !strings.Contains(err.Error(), "refusing a redirect") {
		t.Errorf("redirect to plain http: %v, %v; want refused", r, err)
	}
}

// TestFetchLeavesOtherFilesAlone: the cache is written where it is absent
// or holds an ip-ranges document, never over anything else.
func TestFetchLeavesOtherFilesAlone(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(fixture)) }))
	defer srv.Close()
	dir := t.TempDir()
	for _, other := range []string{"export PATH=$HOME/bin:$PATH\n", "", `{"syncToken":""}`, `{"syncToken":"1"} trailing`} {
		path := filepath.Join(dir, "bashrc")
		if err := os.WriteFile(path, []byte(other), 0o644); err != nil {
			t.Fatal(err)
		}
		r, err := (&Fetcher{URL: srv.URL, Cache: path}).Fetch(t.Context(), nil)
		if r == nil || err == nil || !errors.Is(err, ErrNotCached) || !strings.Contains(err.Error(), path+" holds something else") {
			t.Errorf("cache holding %q: %v, %v; want the ranges and a warning", other, r, err)
		}
		if got, _ := os.ReadFile(path); string(got) != other {
			t.Errorf("the file holding %q now holds %.40q", other, got)
		}
	}
	if r, err := (&Fetcher{URL: srv.URL, Cache: dir}).Fetch(t.Context(), nil); r == nil || err == nil {
		t.Errorf("cache path a directory: %v, %v; want the ranges and a warning", r, err)
	}
	// An older ip-ranges document is replaced.
	path := filepath.Join(dir, "ip-ranges.json")
	old := strings.Replace(fixture, "1763700000", "1", 1)
	os.WriteFile(path, []byte(old), 0o644)
	if r, err := (&Fetcher{URL: srv.URL, Cache: path}).Fetch(t.Context(), nil); r == nil || err != nil {
		t.Fatalf("older cache: %v, %v", r, err)
	}
	if got, _ := os.ReadFile(path); string(got) != fixture {
		t.Errorf("the older cache was not replaced: %.60q", got)
	}
}
