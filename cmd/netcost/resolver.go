package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/netcost/netcost/internal/ipranges"
	"github.com/netcost/netcost/internal/resolve"
	"github.com/netcost/netcost/internal/usage"
)

const resolveCategory = "Naming remote addresses:"

// resolveFlags configure the resolver, for resolve and top --resolve.
func resolveFlags() []cli.Flag {
	return []cli.Flag{
		&cli.DurationFlag{Name: "resolve-timeout", Value: resolve.DefaultTimeout, Category: resolveCategory,
			Usage: "time per address for its TLS certificate and reverse DNS; what has not answered by then is unknown"},
		&cli.IntFlag{Name: "tls-port", Value: resolve.DefaultPort, Category: resolveCategory,
			Usage: "port to read TLS certificates from"},
		&cli.StringFlag{Name: "dns-server", Category: resolveCategory, EnvVars: []string{"NETCOST_DNS_SERVER"},
			Usage: "IP:PORT of the DNS server for reverse lookups (default: the system's resolver)"},
		&cli.StringFlag{Name: "ip-ranges-file", Category: resolveCategory, TakesFile: true,
			EnvVars: []string{"NETCOST_IP_RANGES_FILE"}, Usage: "AWS ip-ranges.json to read instead of downloading it"},
		&cli.StringFlag{Name: "ip-ranges-url", Value: ipranges.URL, Category: resolveCategory,
			EnvVars: []string{"NETCOST_IP_RANGES_URL"},
			Usage: "where to download AWS ip-ranges.json (kept a day in the cache directory): " +
				"https, or http to this machine; \"\": never",
			// Checked as the flags are read, before any work: top reads the
			// records before it builds the resolver.
			Action: func(_ *cli.Context, url string) error {
				if err := ipranges.CheckURL(url); err != nil {
					return usage.Errorf("--ip-ranges-url %v", err)
				}
				return nil
			}},
		&cli.StringFlag{Name: "cache", Category: resolveCategory, TakesFile: true, EnvVars: []string{"NETCOST_RESOLVE_CACHE"},
			Usage: "file keeping answers between runs, written only if absent or netcost's cache " +
				"(default: resolve.json in ~/.cache/netcost)",
			Action: checkCacheFlag},
		&cli.DurationFlag{Name: "cache-ttl", Value: resolve.DefaultTTL, Category: resolveCategory,
			Usage: "how long a cached answer is used (unknown answers: at most an hour)"},
		&cli.BoolFlag{Name: "no-cache", Category: resolveCategory, Usage: "ask every address afresh and keep nothing"},
	}
}

// resolverOptions are the resolver's settings, as resolveFlags give them.
type resolverOptions struct {
	timeout    time.Duration // per address
	port       int           // TLS port
	dnsServer  string        // IP:PORT; "": the system's resolver
	rangesFile string        // ip-ranges.json to read; "": rangesURL
	rangesURL  string        // where to download ip-ranges.json; "": never
	cache      string        // the cache file; "": the default one
	cacheTTL   time.Duration
	noCache    bool
}

// resolverOptionsOf copies resolveFlags into options; newResolver checks them.
func resolverOptionsOf(cCtx *cli.Context) resolverOptions {
	return resolverOptions{timeout: cCtx.Duration("resolve-timeout"), port: cCtx.Int("tls-port"),
		dnsServer: cCtx.String("dns-server"), rangesFile: cCtx.String("ip-ranges-file"),
		rangesURL: cCtx.String("ip-ranges-url"), cache: cCtx.String("cache"), cacheTTL: cCtx.Duration("cache-ttl"),
		noCache: cCtx.Bool("no-cache")}
}

// newResolver checks opts and builds a resolver: it reads or downloads AWS
// ip-ranges and opens the cache, which saveCache writes.
func newResolver(ctx context.Context, opts resolverOptions) (*resolve.Resolver, error) {
	if opts.timeout <= 0 {
		return nil, usage.Errorf("--resolve-timeout %s: want a positive duration such as 2s", opts.timeout)
	}
	if p := opts.port; p < 1 || p > 65535 {
		return nil, usage.Errorf("--tls-port %d: want a port from 1 to 65535", p)
	}
	log := slog.Default().With("component", "netcost.resolve")
	r := &resolve.Resolver{Port: opts.port, Timeout: opts.timeout, Logger: log}
	if s := opts.dnsServer; s != "" {
		if _, err := netip.ParseAddrPort(s); err != nil {
			return nil, usage.Errorf("--dns-server %q: want IP:PORT, as in 10.0.0.2:53", s)
		}
		r.DNS = resolve.DNSResolver(s)
	}
	var err error
	if r.Ranges, err = loadRanges(ctx, opts, log); err != nil {
		return nil, err
	}
	if r.Cache, err = openCache(opts, log); err != nil {
		return nil, err
	}
	return r, nil
}

// saveCache writes r's cache, if it has one; a failure is a warning.
func saveCache(r *resolve.Resolver) {
	if err := r.Cache.Save(time.Now()); err != nil {
		r.Logger.Warn(err.Error())
	}
}

// checkCacheFlag refuses, as the flags are read and before any work, a
// --cache naming a file that is not netcost's cache: a typo such as
// --cache ~/.bashrc.
func checkCacheFlag(cCtx *cli.Context, path string) error {
	if path == "" || cCtx.Bool("no-cache") {
		return nil
	}
	if _, err := resolve.OpenCache(path, 0, 0); errors.Is(err, resolve.ErrNotCache) {
		return usage.Errorf("--cache %v", err)
	}
	return nil
}

// openCache opens --cache, or the default cache; nil with --no-cache. A
// default path holding something else than netcost's cache is a warning,
// and the file is left as it is.
func openCache(opts resolverOptions, log *slog.Logger) (*resolve.Cache, error) {
	if opts.noCache {
		return nil, nil
	}
	path := opts.cache
	named := path != ""
	if !named {
		var err error
		if path, err = resolve.DefaultCachePath(); err != nil {
			return nil, usage.Errorf("%v", err)
		}
	}
	c, err := resolve.OpenCache(path, opts.cacheTTL, 0)
	switch {
	case named && errors.Is(err, resolve.ErrNotCache): // checkCacheFlag saw it already, unless the file just appeared
		return nil, usage.Errorf("--cache %v", err)
	case err != nil:
		log.Warn(err.Error())
	}
	return c, nil
}

// rangesMaxAge is how long a downloaded ip-ranges.json is used before
// downloading it again.
const rangesMaxAge = 24 * time.Hour

// loadRanges reads --ip-ranges-file, or the cached download if it is
// fresh, or downloads it. Without ranges the resolver still names
// addresses: a failed download is a warning, a bad file an error.
func loadRanges(ctx context.Context, opts resolverOptions, log *slog.Logger) (*ipranges.Ranges, error) {
	if path := opts.rangesFile; path != "" {
		f, err := os.Open(path)
		if err != nil {
			return nil, usage.Errorf("--ip-ranges-file: %v", err)
		}
		defer f.Close()
		r, err := ipranges.Parse(f)
		if err != nil {
			return nil, usage.Errorf("--ip-ranges-file %s: %v", path, err)
		}
		return r, nil
	}
	if opts.rangesURL == "" {
		return nil, nil
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		log.Warn("no AWS ip-ranges: no cache directory; pass --ip-ranges-file", "err", err)
		return nil, nil
	}
	cache := filepath.Join(dir, "netcost", "ip-ranges.json")
	if st, err := os.Stat(cache); err == nil && time.Since(st.ModTime()) < rangesMaxAge {
		if f, err := os.Open(cache); err == nil {
			r, err := ipranges.Parse(f)
			f.Close()
			if err == nil {
				return r, nil
			}
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	f := &ipranges.Fetcher{URL: opts.rangesURL, Cache: cache, Client: &http.Client{Timeout: 10 * time.Second}}
	r, err := f.Fetch(ctx, nil)
	switch {
	case r == nil:
		log.Warn("no AWS ip-ranges: AWS services are named from certificates and DNS only; pass --ip-ranges-file",
			"err", err)
	case err != nil:
		log.Warn(err.Error())
	}
	return r, nil
}
