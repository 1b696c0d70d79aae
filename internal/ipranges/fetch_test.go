package ipranges

import (
	"net/http"
	"net/http/httptest"
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
