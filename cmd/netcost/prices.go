package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/netcost/netcost/costmodel"
	"github.com/netcost/netcost/internal/usage"
)

var pricesCommand = &cli.Command{
	Name:  "prices",
	Usage: "show the price table netcost uses, with the source of each figure",
	Description: "Figures marked * are derived or unverified (see their source); -o csv says so in a column of its own\n" +
		"(VERIFIED, or derived_or_unverified listing the figures), to keep the numbers plain. Override any figure\n" +
		"with --prices FILE.",
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "region", Aliases: []string{"r"}, EnvVars: []string{"NETCOST_REGION"},
			Usage: "one region (default: every region, one row each)"},
		outputFlag, pricesFlag,
	},
	Action: func(cCtx *cli.Context) error {
		if cCtx.Args().Present() {
			return usage.Errorf("unexpected argument %q: give the region as --region %s", cCtx.Args().First(),
				cCtx.Args().First())
		}
		format, err := parseOutput(cCtx.String("output"))
		if err != nil {
			return err
		}
		d, err := loadDeps(cCtx)
		if err != nil {
			return err
		}
		return runPrices(cCtx.Context, cCtx.App.Writer, d, pricesOptions{region: cCtx.String("region"), format: format})
	},
}

// pricesOptions are what netcost prices was asked.
type pricesOptions struct {
	region string // "": every region
	format string // one of outputFormats
}

type pricesJSON struct {
	AsOf    string                       `json:"as_of"`
	Regions map[string]*costmodel.Prices `json:"regions"`
	Sources map[string]costmodel.Source  `json:"sources"`
}

// runPrices writes d.model's price table to w: one row per region, or
// with opts.region every figure of that region with its source.
func runPrices(_ context.Context, w io.Writer, d deps, opts pricesOptions) error {
	t := d.model.Table()
	regions := t.RegionNames()
	if opts.region != "" {
		if _, err := t.Lookup(opts.region); err != nil {
			return usage.Errorf("--region: %v", err)
		}
		regions = []string{opts.region}
	}
	return writeResult(w, opts.format, makePricesJSON(t, regions), func(raw bool) table {
		if opts.region != "" {
			p, _ := t.Lookup(opts.region)
			return makeRegionPricesTable(t, p, raw)
		}
		return makePricesTable(t, regions, raw)
	})
}

// makePricesJSON is prices -o json: the regions' figures and their sources.
func makePricesJSON(t *costmodel.Table, regions []string) pricesJSON {
	out := pricesJSON{AsOf: t.AsOf, Regions: map[string]*costmodel.Prices{}, Sources: map[string]costmodel.Source{}}
	for _, r := range regions {
		p, _ := t.Lookup(r)
		out.Regions[r] = p
		for _, f := range costmodel.Figures {
			src := f.Get(p).Source
			out.Sources[src] = t.Sources[src]
		}
	}
	return out
}

// priceCell is a price in a table, marked * when it is derived or
// unverified; raw (CSV) keeps the number plain and says so in a column of
// its own, for spreadsheets.
func priceCell(p costmodel.Price, raw bool) string {
	s := strconv.FormatFloat(p.USD, 'f', -1, 64)
	if !raw && !p.IsVerified() {
		s += "*"
	}
	return s
}

// makeRegionPricesTable lays out every figure of one region's prices p,
// its volume tiers and region pairs included, with their sources.
func makeRegionPricesTable(t *costmodel.Table, p *costmodel.Prices, raw bool) table {
	tb := table{header: []string{"PRICE", "USD", "UNIT", "SOURCE"},
		narrow: &narrowing{abbrev: map[string]abbrev{"PRICE": {min: 20}}, last: [][]string{{"SOURCE"}}}}
	if raw {
		tb.header = append(tb.header, "VERIFIED")
	}
	used := map[string]bool{}
	add := func(label string, pr costmodel.Price, unit string) {
		row := []string{label, priceCell(pr, raw), unit, pr.Source}
		if raw {
			row = append(row, strconv.FormatBool(pr.IsVerified()))
		}
		tb.rows = append(tb.rows, row)
		used[pr.Source] = true
	}
	for _, f := range costmodel.Figures {
		add(f.Label, *f.Get(p), f.Unit)
		// The volume tiers and the region pairs follow their figure.
		switch f.Key {
		case "internet_egress_per_gb":
			for _, tier := range p.InternetEgressTiers {
				add(fmt.Sprintf("Data transfer out to the internet (past %v TB a month)", tier.FromTB), tier.Price, f.Unit)
			}
		case "inter_region_per_gb":
			for _, dst := range slices.Sorted(maps.Keys(p.InterRegionPairs)) {
				add("Data transfer out to "+dst, p.InterRegionPairs[dst], f.Unit)
			}
		}
	}
	tb.notes = append(tb.notes, fmt.Sprintf("%s, %s; * derived or unverified; a GB is 2^30 bytes", p.Region, p.Name))
	for _, k := range slices.Sorted(maps.Keys(used)) {
		s := t.Sources[k]
		tb.notes = append(tb.notes, fmt.Sprintf("%s: %s. %s (%s)", k, s.What, s.Ref, s.Date))
	}
	return tb
}

// makePricesTable lays out the figures of regions, one row each. On a
// terminal the figures go from the last (transit gateway) until the table
// fits; the inter-AZ and NAT ones stay.
func makePricesTable(t *costmodel.Table, regions []string, raw bool) table {
	tb := table{header: []string{"REGION"}, narrow: &narrowing{}}
	for i, f := range costmodel.Figures {
		tb.header = append(tb.header, f.Key)
		if i >= 3 {
			tb.narrow.first = slices.Insert(tb.narrow.first, 0, []string{f.Key})
		}
	}
	if raw {
		tb.header = append(tb.header, "derived_or_unverified")
	}
	for _, r := range regions {
		p, _ := t.Lookup(r)
		row := []string{r}
		var unverified []string
		for _, f := range costmodel.Figures {
			row = append(row, priceCell(*f.Get(p), raw))
			if !f.Get(p).IsVerified() {
				unverified = append(unverified, f.Key)
			}
		}
		if raw {
			row = append(row, strings.Join(unverified, " "))
		}
		tb.rows = append(tb.rows, row)
	}
	tb.notes = append(tb.notes, fmt.Sprintf("USD; per GB (2^30 bytes) or per hour; * derived or unverified; as of %s. "+
		"Sources, internet volume tiers and region pairs: netcost prices --region R", t.AsOf))
	return tb
}
