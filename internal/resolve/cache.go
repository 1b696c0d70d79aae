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
}

type cacheFile struct {
	Version int               `json:"version"`
	Entries map[string]Result `json:"entries"`
}

const cacheVersion = 1

// DefaultCachePath is resolve.json in the user's cache directory
// (~/.cache/netcost on Linux).
func DefaultCachePath() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("finding the cache directory: %w (pass --cache PATH or --no-cache)", err)
	}
	return filepath.Join(dir, "netcost", "resolve.json"), nil
}

// OpenCache reads the cache at path; a missing file is an empty cache. A
// file that cannot be read as a cache is an error naming it, and the
// returned cache is empty and usable (saving it replaces the file).
func OpenCache(path string, ttl, unknownTTL time.Duration) (*Cache, error) {
	c := &Cache{Path: path, TTL: orDefault(ttl, DefaultTTL), UnknownTTL: orDefault(unknownTTL, DefaultUnknownTTL),
		entries: map[string]Result{}}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("reading the resolve cache: %w", err)
	}
	var f cacheFile
	if err := json.Unmarshal(data, &f); err != nil || f.Version != cacheVersion {
		if err == nil {
			err = fmt.Errorf("version %d, want %d", f.Version, cacheVersion)
		}
		return c, fmt.Errorf("ignoring the resolve cache %s: %w (it will be rewritten)", path, err)
	}
	for k, v := range f.Entries {
		c.entries[k] = v
	}
	return c, nil
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
// through a temporary file renamed over the old one.
func (c *Cache) Save(now time.Time) error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.dirty {
		return nil
	}
	f := cacheFile{Version: cacheVersion, Entries: map[string]Result{}}
	for k, r := range c.entries {
		if now.Sub(r.ResolvedAt) < c.ttl(r) {
			f.Entries[k] = r
		}
	}
	data, err := json.Marshal(f)
	if err != nil {
		return fmt.Errorf("writing the resolve cache: %w", err)
	}
	if err := atomicfile.WriteFile(c.Path, data); err != nil {
		return fmt.Errorf("saving the resolve cache: %w", err)
	}
	c.dirty = false
	return nil
}
