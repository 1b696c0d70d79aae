package ipranges

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/netcost/netcost/internal/atomicfile"
	"github.com/netcost/netcost/internal/safehttp"
)

// URL is where AWS publishes its ranges.
const URL = "https://ip-ranges.amazonaws.com/ip-ranges.json"

// maxDocument bounds what Fetch reads: the real document is a few MB.
const maxDocument = 64 << 20

// timeout bounds a download when the Fetcher has no client of its own.
const timeout = 30 * time.Second

// CheckURL checks a download URL before any work starts: https, or http
// to this machine (tests, a local mirror); "" (never download) passes.
// Anything else (file://, plain http across a network) is an error.
func CheckURL(raw string) error {
	if raw == "" {
		return nil
	}
	if u, err := url.Parse(raw); err == nil && safehttp.Allowed(u) {
		return nil
	}
	return fmt.Errorf("%q is not an https URL: want one such as %s (http only to this machine), or \"\" to never download", raw, URL)
}

// Fetcher downloads the ranges, keeps the last good copy in a cache file,
// and reads that copy when the download fails (an air-gapped node, an
// outage): the agent always starts with the newest ranges it can have.
type Fetcher struct {
	URL    string       // default URL; see CheckURL
	Cache  string       // cache file; "" keeps nothing on disk
	Client *http.Client // default: one with a 30 s timeout; redirects are followed to https URLs only
}

// ErrNotCached wraps Fetch's error when the ranges it returns are new but could not be kept in the cache.
var ErrNotCached = errors.New("the new ip-ranges are in use but not kept in the cache")

// Fetch returns the ranges. If current is not nil and the published
// syncToken is the same, it returns current without parsing again. Ranges
// with an error are usable: the error says what was kept, or why the
// cache was not written.
func (f *Fetcher) Fetch(ctx context.Context, current *Ranges) (*Ranges, error) {
	r, err := f.download(ctx, current)
	if r != nil {
		return r, err
	}
	if current != nil {
		return current, fmt.Errorf("keeping the ranges of syncToken %s: %w", current.SyncToken, err)
	}
	if f.Cache == "" {
		return nil, err
	}
	cached, cerr := f.load()
	if cerr != nil {
		return nil, errors.Join(err, cerr)
	}
	return cached, fmt.Errorf("using the cached ranges of syncToken %s: %w", cached.SyncToken, err)
}

// download returns the published ranges; with ranges, an error means they
// could not be kept in the cache.
func (f *Fetcher) download(ctx context.Context, current *Ranges) (*Ranges, error) {
	url := f.URL
	if url == "" {
		url = URL
	}
	if err := CheckURL(url); err != nil {
		return nil, fmt.Errorf("downloading ip-ranges: %w", err)
	}
	client := http.Client{Timeout: timeout}
	if f.Client != nil {
		client = *f.Client // a copy: the caller's client keeps its own redirect policy
	}
	client.CheckRedirect = safehttp.AllowedRedirects
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("downloading ip-ranges: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("downloading ip-ranges: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("downloading ip-ranges from %s: %s", url, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDocument+1))
	if err != nil {
		return nil, fmt.Errorf("downloading ip-ranges: %w", err)
	}
	if len(body) > maxDocument {
		return nil, fmt.Errorf("downloading ip-ranges: more than %d bytes", maxDocument)
	}
	r, err := Parse(bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if current != nil && current.SyncToken == r.SyncToken {
		return current, nil
	}
	if f.Cache != "" {
		// The ranges are good whatever happens to the cache, and a path
		// that names another file leaves it as it is.
		err := atomicfile.ReplaceOwn(f.Cache, body, maxDocument, isDocument)
		if errors.Is(err, atomicfile.ErrForeign) {
			return r, fmt.Errorf("%w: %w (move it away to keep a copy there)", ErrNotCached, err)
		}
		if err != nil {
			return r, fmt.Errorf("%w: %w", ErrNotCached, err)
		}
	}
	return r, nil
}

// isDocument says whether b is an ip-ranges document: what the cache holds.
func isDocument(b []byte) bool {
	var doc struct {
		SyncToken string `json:"syncToken"`
	}
	return json.Unmarshal(b, &doc) == nil && doc.SyncToken != ""
}

func (f *Fetcher) load() (*Ranges, error) {
	file, err := os.Open(f.Cache)
	if err != nil {
		return nil, fmt.Errorf("reading the cached ip-ranges: %w", err)
	}
	defer file.Close()
	return Parse(io.LimitReader(file, maxDocument))
}
