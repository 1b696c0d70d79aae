package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/netcost/netcost/costmodel"
	"github.com/netcost/netcost/internal/ipranges"
	"github.com/netcost/netcost/internal/query"
	"github.com/netcost/netcost/internal/resolve"
	"github.com/netcost/netcost/internal/usage"
)

const resolveCategory = "Naming remote addresses:"

// resolveFlags configure the resolver, for resolve and top --resolve.
func resolveFlags() []cli.Flag {
	return []cli.Flag{
		&cli.DurationFlag{Name: "resolve-timeout", Value: resolve.DefaultTimeout, Category: resolveCategory,
			Usage: "time per address for its TLS certificate and reverse DNS; what has not answered by then is unknown"},
		&cli.IntFlag{Name: "tls-port", Value: resolve.DefaultPort, Category: resolveCategory, Usage: "port to read TLS certificates from"},
		&cli.StringFlag{Name: "dns-server", Category: resolveCategory, EnvVars: []string{"NETCOST_DNS_SERVER"},
			Usage: "IP:PORT of the DNS server for reverse lookups (default: the system's resolver)"},
		&cli.StringFlag{Name: "ip-ranges-file", Category: resolveCategory, TakesFile: true, EnvVars: []string{"NETCOST_IP_RANGES_FILE"},
			Usage: "AWS ip-ranges.json to read instead of downloading it"},
		&cli.StringFlag{Name: "ip-ranges-url", Value: ipranges.URL, Category: resolveCategory, EnvVars: []string{"NETCOST_IP_RANGES_URL"},
			Usage: "where to download AWS ip-ranges.json (kept a day in the cache directory): https, or http to this machine; \"\": never",
			// Checked as the flags are read, before any work: top reads the
			// records before it builds the resolver.
			Action: func(_ *cli.Context, url string) error {
				if err := ipranges.CheckURL(url); err != nil {
					return usage.Errorf("--ip-ranges-url %v", err)
				}
				return nil
			}},
		&cli.StringFlag{Name: "cache", Category: resolveCategory, TakesFile: true, EnvVars: []string{"NETCOST_RESOLVE_CACHE"},
			Usage:  "file keeping answers between runs, written only if absent or netcost's cache (default: resolve.json in ~/.cache/netcost)",
			Action: checkCacheFlag},
		&cli.DurationFlag{Name: "cache-ttl", Value: resolve.DefaultTTL, Category: resolveCategory,
			Usage: "how long a cached answer is used (unknown answers: at most an hour)"},
		&cli.BoolFlag{Name: "no-cache", Category: resolveCategory, Usage: "ask every address afresh and keep nothing"},
	}
}

var resolveCommand = &cli.Command{
	Name:      "resolve",
	Usage:     "say who is behind IP addresses",
	UsageText: "netcost resolve [-o table|json] [options] IP...",
	ArgsUsage: "IP...",
	Description: "For each address: the names in the TLS certificate it serves (read without SNI, then with its\n" +
		"reverse DNS name as SNI; expired and self-signed certificates are read too and marked unverified),\n" +
		"its reverse DNS, the AWS service and region from AWS's ip-ranges, and belongs_to: who that is,\n" +
		"from a table of well-known AWS and SaaS names. Nothing a certificate suggests is followed.\n" +
		"Addresses are asked 32 at a time, each for at most --resolve-timeout; answers are cached.",
	Flags: append([]cli.Flag{
		&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "table", Usage: orList(resolveFormats)},
	}, resolveFlags()...),
	Action: func(cCtx *cli.Context) error {
		format := strings.ToLower(cCtx.String("output"))
		if !slices.Contains(resolveFormats, format) {
			return usage.Errorf("-o %q: want %s", cCtx.String("output"), orList(resolveFormats))
		}
		if !cCtx.Args().Present() {
			return usage.Errorf("resolve needs IP addresses, as in netcost resolve 52.46.151.20")
		}
		var ips []netip.Addr
		for _, a := range cCtx.Args().Slice() {
			ip, err := netip.ParseAddr(a)
			if err != nil {
				return usage.Errorf("%q is not an IP address: give IPv4 or IPv6 addresses, as in netcost resolve 52.46.151.20", a)
			}
			ips = append(ips, ip)
		}
		r, save, err := newResolver(cCtx)
		if err != nil {
			return err
		}
		res := r.Resolve(cCtx.Context, ips)
		save()
		if format == "json" {
			return writeJSON(cCtx.App.Writer, struct {
				Results []resolve.Result `json:"results"`
			}{res})
		}
		return renderTable(cCtx.App.Writer, format, resolveTable(res))
	},
}

// newResolver builds a resolver from the flags; save writes its cache.
func newResolver(cCtx *cli.Context) (r *resolve.Resolver, save func(), err error) {
	if d := cCtx.Duration("resolve-timeout"); d <= 0 {
		return nil, nil, usage.Errorf("--resolve-timeout %s: want a positive duration such as 2s", d)
	}
	if p := cCtx.Int("tls-port"); p < 1 || p > 65535 {
		return nil, nil, usage.Errorf("--tls-port %d: want a port from 1 to 65535", p)
	}
	log := slog.Default().With("component", "netcost.resolve")
	r = &resolve.Resolver{Port: cCtx.Int("tls-port"), Timeout: cCtx.Duration("resolve-timeout"), Logger: log}
	if s := cCtx.String("dns-server"); s != "" {
		if _, err := netip.ParseAddrPort(s); err != nil {
			return nil, nil, usage.Errorf("--dns-server %q: want IP:PORT, as in 10.0.0.2:53", s)
		}
		r.DNS = resolve.DNSResolver(s)
	}
	if r.Ranges, err = loadRanges(cCtx, log); err != nil {
		return nil, nil, err
	}
	if r.Cache, err = openCache(cCtx, log); err != nil {
		return nil, nil, err
	}
	save = func() {
		if err := r.Cache.Save(time.Now()); err != nil {
			log.Warn(err.Error())
		}
	}
	return r, save, nil
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
func openCache(cCtx *cli.Context, log *slog.Logger) (*resolve.Cache, error) {
	if cCtx.Bool("no-cache") {
		return nil, nil
	}
	path := cCtx.String("cache")
	named := path != ""
	if !named {
		var err error
		if path, err = resolve.DefaultCachePath(); err != nil {
			return nil, usage.Errorf("%v", err)
		}
	}
	c, err := resolve.OpenCache(path, cCtx.Duration("cache-ttl"), 0)
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
func loadRanges(cCtx *cli.Context, log *slog.Logger) (*ipranges.Ranges, error) {
	if path := cCtx.String("ip-ranges-file"); path != "" {
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
	url := cCtx.String("ip-ranges-url")
	if url == "" {
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
	ctx, cancel := context.WithTimeout(cCtx.Context, 10*time.Second)
	defer cancel()
	f := &ipranges.Fetcher{URL: url, Cache: cache, Client: &http.Client{Timeout: 10 * time.Second}}
	r, err := f.Fetch(ctx, nil)
	switch {
	case r == nil:
		log.Warn("no AWS ip-ranges: AWS services are named from certificates and DNS only; pass --ip-ranges-file", "err", err)
	case err != nil:
		log.Warn(err.Error())
	}
	return r, nil
}

func resolveTable(res []resolve.Result) table {
	t := table{header: []string{"IP", "BELONGS_TO", "NAME", "CERTIFICATE", "AWS RANGE", "NOTE"}}
	// On a terminal: the certificate's verdict goes first (NAME and
	// BELONGS_TO say what it named), then the text is abbreviated, then
	// the AWS range, then the note.
	t.narrow = &narrowing{
		first: [][]string{{"CERTIFICATE"}},
		abbrev: map[string]abbrev{"BELONGS_TO": {min: 16}, "NAME": {min: 16, middle: true},
			"CERTIFICATE": {min: 12}, "NOTE": {min: 16}},
		last: [][]string{{"AWS RANGE"}, {"NOTE"}},
	}
	for _, r := range res {
		note := strings.Join(r.Problems, "; ")
		if r.Cached {
			note = joinNonEmpty("; ", "cached "+r.ResolvedAt.UTC().Format(time.RFC3339), note)
		}
		t.rows = append(t.rows, []string{r.IP, r.BelongsTo, orDash(r.Name), certificateCell(r.Certificates),
			orDash(joinNonEmpty(" ", r.AWSService, r.AWSRegion)), orDash(note)})
	}
	return t
}

func certificateCell(cs []resolve.Certificate) string {
	if len(cs) == 0 {
		return "-"
	}
	for _, c := range cs {
		if c.Verified {
			return "verified"
		}
	}
	return "unverified: " + cs[0].VerifyError
}

// naming is what top shows of who is behind a row's remote end.
type naming struct {
	name, belongsTo string
	unverified      bool // the name comes from a certificate that did not verify
	unnamed         bool // a public remote address nothing named, and not asked
}

// nameRows names the rows' remote ends: from the records (remote_name,
// remote_aws_service), and with --resolve from the resolver for the
// remote addresses that are not the cluster's own.
func nameRows(cCtx *cli.Context, rows []costmodel.Row) ([]naming, error) {
	var resolved map[string]resolve.Result
	if cCtx.Bool("resolve") {
		r, save, err := newResolver(cCtx)
		if err != nil {
			return nil, err
		}
		var ips []netip.Addr
		for _, row := range rows {
			if ip, err := netip.ParseAddr(row.Remote.IP); err == nil && !inCluster(row.Remote) {
				ips = append(ips, ip)
			}
		}
		// The table waits for no address longer than --resolve-timeout, and
		// for all of them together at most four rounds of it.
		ctx, cancel := context.WithTimeout(cCtx.Context, 4*r.Timeout)
		defer cancel()
		resolved = map[string]resolve.Result{}
		for _, res := range r.Resolve(ctx, ips) {
			resolved[res.IP] = res
		}
		save()
	}
	out := make([]naming, len(rows))
	for i, row := range rows {
		if inCluster(row.Remote) {
			continue
		}
		res, ok := resolved[row.Remote.IP]
		var names []string
		if row.Remote.Name != "" && row.Remote.Name != costmodel.Several {
			names = append(names, row.Remote.Name)
		}
		names = append(names, res.Names()...)
		svc, region := orEmpty(row.Remote.AWSService, res.AWSService), orEmpty(row.Remote.Region, res.AWSRegion)
		n := naming{}
		if len(names) > 0 {
			n.name = names[0]
			n.unverified = row.Remote.Name == "" && !res.Verified()
		}
		if len(names) > 0 || svc != "" || ok {
			n.belongsTo = resolve.BelongsTo(names, svc, region)
		} else {
			ip, err := netip.ParseAddr(row.Remote.IP)
			n.unnamed = err == nil && ip.IsGlobalUnicast() && !ip.IsPrivate()
		}
		out[i] = n
	}
	return out, nil
}

func orEmpty(a, b string) string {
	if a == costmodel.Several {
		return ""
	}
	if a != "" {
		return a
	}
	return b
}

// inCluster: the remote end is one of the cluster's pods or nodes, named already.
func inCluster(e costmodel.Endpoint) bool {
	return e.Pod != "" || e.Node != "" || e.Workload != ""
}

// belongsToCell is the table's BELONGS_TO: who, and by which name.
func (n naming) belongsToCell() string {
	var detail []string
	if n.name != "" && n.name != n.belongsTo {
		detail = append(detail, n.name)
	}
	if n.unverified {
		detail = append(detail, "unverified")
	}
	if len(detail) == 0 {
		return orDash(n.belongsTo)
	}
	return orDash(n.belongsTo) + " (" + strings.Join(detail, ", ") + ")"
}

// topRowJSON is a row of top -o json: the row, and who is behind its remote end.
type topRowJSON struct {
	costmodel.Row
	RemoteName string `json:"remote_name,omitempty"`
	BelongsTo  string `json:"belongs_to,omitempty"`
}

func writeTopJSON(w io.Writer, res *query.TopResult, names []naming) error {
	rows := make([]topRowJSON, len(res.Rows))
	for i, r := range res.Rows {
		rows[i] = topRowJSON{Row: r, RemoteName: names[i].name, BelongsTo: names[i].belongsTo}
	}
	return writeJSON(w, struct {
		*query.TopResult
		Rows []topRowJSON `json:"rows"`
	}{res, rows})
}

// resolveNote points at --resolve when the table has public remote
// addresses that nothing named.
func resolveNote(names []naming) string {
	for _, n := range names {
		if n.unnamed {
			return "some remote addresses have no name: add --resolve to ask them (TLS certificate, reverse DNS, AWS ip-ranges)"
		}
	}
	return ""
}
