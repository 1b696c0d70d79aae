package main

import (
	"context"
	"io"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/netcost/netcost/internal/resolve"
	"github.com/netcost/netcost/internal/usage"
)

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
		opts := resolveOptions{format: strings.ToLower(cCtx.String("output"))}
		if !slices.Contains(resolveFormats, opts.format) {
			return usage.Errorf("-o %q: want %s", cCtx.String("output"), orList(resolveFormats))
		}
		if !cCtx.Args().Present() {
			return usage.Errorf("resolve needs IP addresses, as in netcost resolve 52.46.151.20")
		}
		for _, a := range cCtx.Args().Slice() {
			ip, err := netip.ParseAddr(a)
			if err != nil {
				return usage.Errorf("%q is not an IP address: give IPv4 or IPv6 addresses, "+
					"as in netcost resolve 52.46.151.20", a)
			}
			opts.ips = append(opts.ips, ip)
		}
		opts.resolver = resolverOptionsOf(cCtx)
		return runResolve(cCtx.Context, cCtx.App.Writer, newDeps(cCtx), opts)
	},
}

// resolveOptions are what netcost resolve was asked.
type resolveOptions struct {
	ips      []netip.Addr
	format   string // one of resolveFormats
	resolver resolverOptions
}

// runResolve says who is behind opts.ips, asking the resolver that
// d.newResolver builds, and saves its cache.
func runResolve(ctx context.Context, w io.Writer, d deps, opts resolveOptions) error {
	r, err := d.newResolver(ctx, opts.resolver)
	if err != nil {
		return err
	}
	res := r.Resolve(ctx, opts.ips)
	saveCache(r)
	return writeResult(w, opts.format, struct {
		Results []resolve.Result `json:"results"`
	}{res}, func(bool) table { return makeResolveTable(res) })
}

// makeResolveTable lays out the answers of netcost resolve.
func makeResolveTable(res []resolve.Result) table {
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

// certificateCell is the CERTIFICATE cell: verified if any certificate
// read verified, else why the first did not; "-" if none was read.
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
