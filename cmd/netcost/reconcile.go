package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/urfave/cli/v2"

	"github.com/netcost/netcost/costmodel"
	"github.com/netcost/netcost/internal/awscfg"
	"github.com/netcost/netcost/internal/cur"
	"github.com/netcost/netcost/internal/query"
	"github.com/netcost/netcost/internal/usage"
)

// curFlag is where the bill is; reconcile needs it.
var curFlag = &cli.StringFlag{Name: "cur", EnvVars: []string{"NETCOST_CUR"}, Usage: "the bill: a Cost and Usage " +
	"Report 2.0 export of AWS Data Exports, as file:PATH, s3://BUCKET/PREFIX or athena:DATABASE.TABLE " +
	"(see docs/reconcile.md)"}

// curFlags are the flags that find the bill: reconcile's, and top's and
// recommend's, which price internet bytes at the tier the bill reaches.
func curFlags() []cli.Flag {
	return []cli.Flag{curFlag,
		&cli.StringFlag{Name: "athena-workgroup", Usage: "athena: the workgroup that runs the query (default: primary)"},
		&cli.StringFlag{Name: "athena-output",
			Usage: "athena: s3:// folder for the query's results (default: the workgroup's)"},
	}
}

var reconcileCommand = &cli.Command{
	Name:  "reconcile",
	Usage: "set the bill (a Cost and Usage Report 2.0) beside what netcost measured, line by line",
	Description: "Per region and line of the bill (inter-az, nat-bytes, nat-hours, internet-out, inter-region,\n" +
		"vpc-endpoint, transit-gateway, public-ipv4): billed GB or hours and USD, the same measured from the\n" +
		"records of the same window, and coverage (measured USD / billed USD). Only usage line items count;\n" +
		"credits, refunds and taxes are shown apart. --by resource compares per NAT gateway and per instance\n" +
		"(the records' node_instance_id): an instance billed with nothing measured runs no agent.\n" +
		"Internet bytes are priced at the egress tier the bill's own monthly volume reaches.",
	Flags: append(append(curFlags(),
		&cli.StringFlag{Name: "by", Value: "line", Usage: "line, or resource (needs an export with resource IDs)"}),
		readFlags()...),
	Action: func(cCtx *cli.Context) error {
		ro, err := reconcileFlags(cCtx)
		if err != nil {
			return err
		}
		format, qo, bill, d, err := readSetup(cCtx, false) // Reconcile prices at the bill's tier itself
		if err != nil {
			return err
		}
		ro.ReconcileOptions.Options, ro.billFlags, ro.format = qo, bill, format
		ro.EgressGiven = cCtx.IsSet(egressTBFlag.Name)
		return runReconcile(cCtx.Context, cCtx.App.Writer, d, ro)
	},
}

// reconcileOptions are what netcost reconcile was asked.
type reconcileOptions struct {
	query.ReconcileOptions
	billFlags
	format string // one of outputFormats
}

// billFlags are where the bill is and how to reach it.
type billFlags struct {
	cur    cur.Location // Kind 0: no --cur
	athena cur.AthenaOptions
	aws    awscfg.Options // for a CUR in S3 or Athena
}

// parseBillFlags reads --cur and the flags that reach it.
func parseBillFlags(cCtx *cli.Context) (billFlags, error) {
	var b billFlags
	if cCtx.String("cur") == "" {
		return b, athenaOnly(cCtx, "no --cur")
	}
	var err error
	if b.cur, err = cur.ParseLocation(cCtx.String("cur")); err != nil {
		return b, err
	}
	if b.cur.Kind != cur.Athena {
		if err := athenaOnly(cCtx, "this is --cur "+cCtx.String("cur")); err != nil {
			return b, err
		}
	}
	b.athena = cur.AthenaOptions{Workgroup: cCtx.String("athena-workgroup"), OutputLocation: cCtx.String("athena-output")}
	if b.readsAWS() {
		if b.aws, err = awsOptions(cCtx); err != nil {
			return b, err
		}
	}
	return b, nil
}

// athenaOnly fails when the command line gives an Athena flag, which only
// a bill in Athena reads: it would do nothing, and say nothing about it.
func athenaOnly(cCtx *cli.Context, why string) error {
	var given []string
	for _, n := range []string{"athena-workgroup", "athena-output"} {
		if cCtx.IsSet(n) {
			given = append(given, "--"+n)
		}
	}
	if len(given) == 0 {
		return nil
	}
	verb, them := "applies", "it"
	if len(given) > 1 {
		verb, them = "apply", "them"
	}
	return usage.Errorf("%s %s only to --cur athena:DATABASE.TABLE (%s): leave %s out", joinAnd(given), verb, why, them)
}

// readsAWS says the bill is read from AWS (S3 or Athena), with the AWS flags.
func (b billFlags) readsAWS() bool { return b.cur.Kind == cur.S3 || b.cur.Kind == cur.Athena }

// read reads the bill over [start, end).
func (b billFlags) read(ctx context.Context, start, end time.Time, byResource bool) (*cur.Bill, error) {
	var cfg aws.Config
	if b.readsAWS() {
		var err error
		if cfg, err = awscfg.Load(ctx, b.aws); err != nil {
			return nil, err
		}
	}
	log := slog.Default().With("component", "netcost.cur")
	return cur.NewReader(cfg, log).Read(ctx, b.cur, cur.Options{Start: start, End: end, ByResource: byResource,
		Athena: b.athena})
}

// egressTier is the egress tier (TB a month) that prices internet bytes:
// tb, from --internet-egress-tb-month, unless --cur is given and that flag
// is not; then the tier that the bill reaches in the billing period of the
// records' window (query.Extent), as reconcile prices them.
func (b billFlags) egressTier(cCtx *cli.Context, t *costmodel.Table, qo query.Options, tb float64) (float64, error) {
	if b.cur.Kind == 0 || cCtx.IsSet(egressTBFlag.Name) {
		return tb, nil
	}
	w, err := query.Extent(cCtx.Context, costmodel.NewWithOptions(t, costmodel.Options{}), qo)
	if err != nil || w.Start.IsZero() || w.End.IsZero() { // no records: no internet bytes to price
		return tb, err
	}
	bill, err := b.read(cCtx.Context, w.Start, w.End, false)
	if err != nil {
		return 0, err
	}
	tb, period := query.BillEgressTier(bill)
	slog.Info("internet egress tier from the bill", "billing_period", period, "internet_out_tb", tb)
	return tb, nil
}

// reconcileFlags reads reconcile's own flags, before the shared ones
// (readSetup parses --cur).
func reconcileFlags(cCtx *cli.Context) (reconcileOptions, error) {
	var ro reconcileOptions
	if cCtx.String("cur") == "" {
		return ro, usage.Errorf("reconcile needs the bill: --cur file:PATH, s3://BUCKET/PREFIX or athena:DATABASE.TABLE " +
			"(a Cost and Usage Report 2.0 export; see docs/reconcile.md)")
	}
	switch by := cCtx.String("by"); by {
	case "line":
	case "resource":
		ro.ByResource = true
	default:
		return ro, usage.Errorf("--by %q: want line or resource", by)
	}
	return ro, nil
}

// runReconcile reads the bill and the records of the same window and
// writes them side by side to w.
func runReconcile(ctx context.Context, w io.Writer, d deps, opts reconcileOptions) error {
	read := func(ctx context.Context, start, end time.Time) (*cur.Bill, error) {
		return opts.read(ctx, start, end, opts.ByResource)
	}
	res, err := query.Reconcile(ctx, d.model.Table(), d.model.Options(), read, opts.ReconcileOptions)
	if err != nil {
		return err
	}
	return writeResult(w, opts.format, res, func(raw bool) table { return makeReconcileTable(res, opts.ByResource, raw) })
}

// makeReconcileTable lays out the comparison: amounts with their units
// for people, or exact numbers in columns of their own for CSV (raw).
func makeReconcileTable(res *query.ReconcileResult, byResource, raw bool) table {
	t := table{header: []string{"REGION", "LINE", "BILLED", "BILLED USD", "MEASURED", "MEASURED USD", "COVERAGE"}}
	if raw {
		t.header = []string{"REGION", "LINE", "BILLED GB", "BILLED HOURS", "BILLED USD", "MEASURED GB", "MEASURED HOURS",
			"MEASURED USD", "COVERAGE"}
	}
	if byResource {
		t.header = append(t.header[:2], append([]string{"RESOURCE"}, t.header[2:]...)...)
	}
	num := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	for _, r := range res.Rows {
		row := []string{r.Region, string(r.Line), quantity(r.Line, r.BilledGB, r.BilledHours), usdCell(r.BilledUSD, raw),
			quantity(r.Line, r.MeasuredGB, r.MeasuredHours), usdCell(r.MeasuredUSD, raw), coverageCell(r.Coverage, raw)}
		if raw {
			row = []string{r.Region, string(r.Line), num(r.BilledGB), num(r.BilledHours), usdCell(r.BilledUSD, raw),
				num(r.MeasuredGB), num(r.MeasuredHours), usdCell(r.MeasuredUSD, raw), coverageCell(r.Coverage, raw)}
		}
		if byResource {
			row = append(row[:2], append([]string{orDash(r.Resource)}, row[2:]...)...)
		}
		t.rows = append(t.rows, row)
	}
	t.notes = []string{
		fmt.Sprintf("total: billed $%s, measured $%s, coverage %s", usd(res.TotalBilledUSD), usd(res.TotalMeasuredUSD),
			coverageCell(res.Coverage, false)),
		res.Verdict,
	}
	if res.CreditsUSD != 0 {
		t.notes = append(t.notes, fmt.Sprintf("credits in the window: %s, in no line", signedUSD(res.CreditsUSD)))
	}
	for _, a := range res.Apart {
		t.notes = append(t.notes, fmt.Sprintf("%s of %s in %s: %s, in no line", a.Type, a.Line, a.Region, signedUSD(a.USD)))
	}
	t.notes = append(t.notes, res.Notes...)
	t.notes = append(t.notes, fmt.Sprintf("window: %s to %s; bill: %s (%d line items); records: %s (%d)",
		res.Start.Format(time.RFC3339), res.End.Format(time.RFC3339), res.CUR, res.LineItems, res.Source, res.Records))
	return t
}

// signedUSD writes dollars that may be negative (credits, refunds).
func signedUSD(v float64) string {
	if v < 0 {
		return "-$" + usd(-v)
	}
	return "$" + usd(v)
}

// quantity is a line's amount in its units: hours for the lines of hours,
// GB and hours for endpoints and transit gateways, which bill both.
func quantity(line cur.Line, gb, hours float64) string {
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }
	switch line {
	case cur.NATHours, cur.PublicIPv4:
		return f(hours) + " h"
	case cur.VPCEndpoint, cur.TransitGateway:
		return f(gb) + " GB + " + f(hours) + " h"
	}
	return f(gb) + " GB"
}

// coverageCell is a coverage as a percentage, or its ratio (raw); "-"
// where nothing is billed.
func coverageCell(c *float64, raw bool) string {
	switch {
	case c == nil && raw:
		return ""
	case c == nil:
		return "-"
	case raw:
		return strconv.FormatFloat(*c, 'f', -1, 64)
	}
	return strconv.FormatFloat(*c*100, 'f', 0, 64) + "%"
}
