package resolve

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/netcost/netcost/internal/atomicfile"
)

// Default cache lifetimes.
const (
	DefaultTTL = 24 * time.Hour
	// An address that named nothing is asked again sooner.
	DefaultUnknownTTL = time.Hour
)

// Cache keeps results on disk between runs. Entries older than TTL (or
// UnknownTTL for results that named nothing) are not used, and are
// dropped when the cache is saved. A nil *Cache caches nothing.
type Cache struct {
	Path       string
	TTL        time.Duration
	UnknownTTL time.Duration

	mu      sync.Mutex
	entries map[string]Result
	dirty   bool
	keep    bool // the file is not one Save may replace
}

// cacheFile is the file's layout. Kind and Version say it is netcost's:
// Save writes only over a file that carries them (or is in the layout of
// version 1, which had neither kind nor other fields), never over
// whatever else a mistyped path names.
type cacheFile struct {
	Kind    string            `json:"netcost_cache"`
	Version int               `json:"version"`
	Entries map[string]Result `json:"entries"`
}

const (
	cacheKind    = "resolve"
	cacheVersion = 2
	// maxCacheFile bounds what is read of a cache: a few hundred bytes an
	// address.
	maxCacheFile = 64 << 20
)

// ErrNotCache marks a cache path that holds something else than
// netcost's resolve cache: it is neither read nor written.
var ErrNotCache = errors.New("not a netcost resolve cache")

// DefaultCachePath is resolve.json in the user's cache directory
// (~/.cache/netcost on Linux).
func DefaultCachePath() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("finding the cache directory: %w (pass --cache PATH or --no-cache)", err)
	}
	return filepath.Join(dir, "netcost", "resolve.json"), nil
}

// OpenCache reads the cache at path; a missing file is an empty cache, and
// a cache of version 1 is read and rewritten as version 2 at the next
// Save. Whatever the error, the returned cache is usable: a file that is
// not netcost's cache (ErrNotCache) or cannot be read starts it empty,
// and Save leaves that file as it is; netcost's own cache that cannot be
// used (another version, damaged entries) starts it empty too, and Save
// replaces it.
func OpenCache(path string, ttl, unknownTTL time.Duration) (*Cache, error) {
	c := &Cache{Path: path, TTL: orDefault(ttl, DefaultTTL), UnknownTTL: orDefault(unknownTTL, DefaultUnknownTTL),
		entries: map[string]Result{}}
	data, err := atomicfile.ReadRegular(path, maxCacheFile)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	version, ours := 0, false
	if err == nil {
		version, ours = cacheVersionOf(data)
	}
	switch {
	case errors.Is(err, atomicfile.ErrForeign) || err == nil && !ours:
		c.keep = true
		return c, fmt.Errorf("%s: %w; it is left as it is (name another file, or pass --no-cache)", path, ErrNotCache)
	case err != nil:
		c.keep = true
		return c, fmt.Errorf("reading the resolve cache: %w", err)
	}
	var cf cacheFile
	err = fmt.Errorf("version %d, want %d", version, cacheVersion)
	if version == 1 || version == cacheVersion {
		err = json.Unmarshal(data, &cf)
	}
	if err != nil {
		return c, fmt.Errorf("ignoring the resolve cache %s: %w (it will be rewritten)", path, err)
	}
	for k, v := range cf.Entries {
		c.entries[k] = v
	}
	c.dirty = version != cacheVersion // rewritten in this version's layout
	return c, nil
}

// cacheVersionOf says whether data is a resolve cache netcost wrote, and
// of which version: a JSON object whose netcost_cache is "resolve", or
// version 1's object of exactly version 1 and entries.
func cacheVersionOf(data []byte) (int, bool) {
	var fields map[string]json.RawMessage
	if json.Unmarshal(data, &fields) != nil {
		return 0, false
	}
	var head struct {
		Kind    string `json:"netcost_cache"`
		Version int    `json:"version"`
	}
	if json.Unmarshal(data, &head) != nil {
		return 0, false
	}
	if head.Kind == cacheKind {
		return head.Version, true
	}
	_, entries := fields["entries"]
	if _, kind := fields["netcost_cache"]; kind || len(fields) != 2 || !entries || head.Version != 1 {
		return 0, false
	}
	var v1 struct {
		Entries map[string]json.RawMessage `json:"entries"`
	}
	return 1, json.Unmarshal(data, &v1) == nil && v1.Entries != nil
}

func (c *Cache) ttl(r Result) time.Duration {
	if r.BelongsTo == Unknown || r.Name == "" && r.AWSService == "" {
		return min(c.UnknownTTL, c.TTL)
	}
	return c.TTL
}

func (c *Cache) get(key string, now time.Time) (Result, bool) {
	if c == nil {
		return Result{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.entries[key]
	if !ok || now.Sub(r.ResolvedAt) >= c.ttl(r) || r.ResolvedAt.After(now) {
		return Result{}, false
	}
	r.Cached = true
	return r, true
}

func (c *Cache) put(key string, r Result) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	r.Cached = false
	c.entries[key] = r
	c.dirty = true
}

// Save writes the cache if it changed, without its expired entries,
// through a temporary file (mode 0600) renamed over the old one, and only
// where the path is absent or holds netcost's resolve cache.
func (c *Cache) Save(now time.Time) error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.dirty {
		return nil
	}
	if c.keep {
		return nil // OpenCache said why
	}
	f := cacheFile{Kind: cacheKind, Version: cacheVersion, Entries: map[string]Result{}}
	for k, r := range c.entries {
		if now.Sub(r.ResolvedAt) < c.ttl(r) {
			f.Entries[k] = r
		}
	}
	data, err := json.Marshal(f)
	if err != nil {
		return fmt.Errorf("writing the resolve cache: %w", err)
	}
	// The file is checked again: it may have appeared since OpenCache.
	err = atomicfile.ReplaceOwn(c.Path, data, maxCacheFile, func(old []byte) bool {
		_, ok := cacheVersionOf(old)
		return ok
	})
	if errors.Is(err, atomicfile.ErrForeign) {
		c.keep = true
		return fmt.Errorf("not saving the resolve cache: %w; it is left as it is", err)
	}
	if err != nil {
		return fmt.Errorf("saving the resolve cache: %w", err)
	}
	c.dirty = false
	return nil
}
