package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/netcost/netcost/costmodel"
	"github.com/netcost/netcost/internal/awscfg"
	"github.com/netcost/netcost/internal/query"
	"github.com/netcost/netcost/internal/source"
	"github.com/netcost/netcost/internal/usage"
)

// Flags shared by the commands that read records.
var (
	sourceFlag = &cli.StringFlag{Name: "source", Aliases: []string{"s"}, EnvVars: []string{"NETCOST_SOURCE"},
		Usage: "where the flow records are: file:PATH (a JSONL file or a directory of them, plain or .gz), " +
			"cloudwatch[:LOGGROUP] (default log group " + source.DefaultLogGroup +
			"; with no window flag, the last 24h), or nfm (AWS Network Flow Monitor; see --monitor)"}
	exactFlag = &cli.BoolFlag{Name: "exact", Usage: "cloudwatch: read every record (FilterLogEvents) and sum locally " +
		"instead of asking Logs Insights; for small windows and emulators"}
	sinceFlag = &cli.StringFlag{Name: "since", EnvVars: []string{"NETCOST_WINDOW"},
		Usage: "window ending now, such as 90m, 24h or 7d (default: all records of a file source)"}
	startFlag  = &cli.StringFlag{Name: "start", Usage: "window start, RFC 3339 or YYYY-MM-DD"}
	endFlag    = &cli.StringFlag{Name: "end", Usage: "window end (exclusive), RFC 3339 or YYYY-MM-DD (default: now)"}
	outputFlag = &cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "table", Usage: orList(outputFormats)}
	strictFlag = &cli.BoolFlag{Name: "strict", Value: true,
		Usage: "stop at the first bad record; --strict=false skips and counts bad lines"}
	pricesFlag = &cli.StringFlag{Name: "prices", EnvVars: []string{"NETCOST_PRICES"}, TakesFile: true,
		Usage: "price override file (JSON) applied over the embedded price table"}
	egressTBFlag = &cli.Float64Flag{Name: "internet-egress-tb-month",
		EnvVars: []string{"NETCOST_INTERNET_EGRESS_TB_MONTH"},
		Usage: "the account's internet egress in a month, in TB of 2^40 bytes, all services: internet bytes are priced at " +
			"the tier it reaches, the price of one more GB (default: the first tier, up to 10 TB)"}
	tgwPeerFlag = &cli.BoolFlag{Name: "tgw-peer-external", EnvVars: []string{"NETCOST_TGW_PEER_EXTERNAL"},
		Usage: "the VPCs across the transit gateway are another account's: its processing counts on the bytes this side " +
			"sends only (default: both directions, both attachments the account's)"}
)

// outputFormats are what -o takes; resolveFormats, what resolve's -o
// takes. wide is a text table with every column, even on a terminal.
var (
	outputFormats  = []string{"table", "wide", "json", "csv", "markdown"}
	resolveFormats = []string{"table", "wide", "json"}
)

// The shared AWS flags, for every command that may call AWS. Unset, the
// SDK's default chain decides (environment, ~/.aws/config, roles). Only
// --source cloudwatch and nfm read them (checkSourceOnly).
var (
	awsRegionFlag = &cli.StringFlag{Name: "region", EnvVars: []string{"AWS_REGION"}, Category: "AWS",
		Usage: "cloudwatch, nfm: AWS region of the source (default: the SDK's chain, as AWS_DEFAULT_REGION or the " +
			"profile's region)"}
	awsProfileFlag = &cli.StringFlag{Name: "profile", EnvVars: []string{"AWS_PROFILE"}, Category: "AWS",
		Usage: "cloudwatch, nfm: named profile of ~/.aws/config and ~/.aws/credentials"}
	awsEndpointFlag = &cli.StringFlag{Name: "endpoint-url", EnvVars: []string{"AWS_ENDPOINT_URL"}, Category: "AWS",
		Usage: "cloudwatch, nfm: send AWS API calls to this URL instead, such as a local emulator (http://127.0.0.1:5000)"}
)

// monitorFlag picks the Network Flow Monitor monitor of --source nfm.
var monitorFlag = &cli.StringFlag{Name: "monitor", EnvVars: []string{"NETCOST_NFM_MONITOR"}, Category: "AWS",
	Usage: "--source nfm: the Network Flow Monitor monitor to query (default: the region's one ACTIVE monitor)"}

// awsFlags are the shared AWS flags.
func awsFlags() []cli.Flag { return []cli.Flag{awsRegionFlag, awsProfileFlag, awsEndpointFlag} }

// terminal returns w if it is a terminal, for progress lines; else nil.
func terminal(w io.Writer) io.Writer {
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return f
	}
	return nil
}

// awsOptions reads the shared AWS flags, checked without any AWS call.
func awsOptions(cCtx *cli.Context) (awscfg.Options, error) {
	o := awscfg.Options{Region: cCtx.String("region"), Profile: cCtx.String("profile"),
		EndpointURL: cCtx.String("endpoint-url")}
	return o, o.Validate()
}

// readFlags are the flags of the commands that read records: the source,
// window, output, pricing and AWS flags.
func readFlags() []cli.Flag {
	return append([]cli.Flag{sourceFlag, exactFlag, sinceFlag, startFlag, endFlag, outputFlag, strictFlag, pricesFlag,
		egressTBFlag, tgwPeerFlag, monitorFlag, commandLine{}}, awsFlags()...)
}

// sourceOnly are the flags that only some sources read, with the kinds of
// those sources.
var sourceOnly = []struct {
	flag  cli.Flag
	kinds []string
	bill  bool // a bill in S3 or Athena reads it too
}{
	{awsRegionFlag, awsKinds, true},
	{awsProfileFlag, awsKinds, true},
	{awsEndpointFlag, awsKinds, true},
	{exactFlag, []string{"cloudwatch"}, false},
	{monitorFlag, []string{"nfm"}, false},
}

// awsKinds are the sources that call AWS.
var awsKinds = []string{"cloudwatch", "nfm"}

// checkSourceOnly fails when the command line gives a flag that src does
// not read, such as --region with a file source: it would do nothing, and
// say nothing about it. The same settings from the environment
// (AWS_REGION, AWS_PROFILE, ...) are not the user's words to this command
// and pass: people keep them set for every tool. billAWS says the bill
// (--cur) is read from AWS, which reads the AWS flags whatever the source.
func checkSourceOnly(cCtx *cli.Context, src source.Spec, given map[string]bool, billAWS bool) error {
	var sources []string           // as the error says them, in the order of sourceOnly
	names := map[string][]string{} // sources -> the flags given
	for _, so := range sourceOnly {
		if slices.Contains(so.kinds, src.Kind) || so.bill && billAWS ||
			!slices.ContainsFunc(so.flag.Names(), func(n string) bool { return given[n] }) {
			continue
		}
		s := "--source " + strings.Join(so.kinds, " or --source ")
		if names[s] == nil {
			sources = append(sources, s)
		}
		names[s] = append(names[s], "--"+so.flag.Names()[0])
	}
	if len(sources) == 0 {
		return nil
	}
	var b strings.Builder
	n := 0
	for i, s := range sources {
		flags := names[s]
		n += len(flags)
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(joinAnd(flags))
		switch {
		case i > 0:
			b.WriteString(" only to ")
		case len(flags) == 1:
			b.WriteString(" applies only to ")
		default:
			b.WriteString(" apply only to ")
		}
		b.WriteString(s)
	}
	them := "it"
	if n > 1 {
		them = "them"
	}
	return usage.Errorf("%s (this is --source %s): leave %s out", b.String(), cCtx.String("source"), them)
}

// joinAnd lists names as in "--a, --b and --c".
func joinAnd(names []string) string { return joinLast(names, " and ") }

// orList lists choices as in "table, json or csv".
func orList(choices []string) string { return joinLast(choices, " or ") }

// joinLast joins s with commas, and last before its last element.
func joinLast(s []string, last string) string {
	if len(s) == 1 {
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + last + s[len(s)-1]
}

// commandLine is a hidden flag that hands a command's flag.FlagSet to its
// Action, for givenFlags. It takes no value a user could type: Set fails.
type commandLine struct{}

// commandLineName cannot be typed by accident (it has spaces) and names
// the flag where it might show, as in an error from Set.
const commandLineName = "netcost command line"

func (commandLine) Apply(set *flag.FlagSet) error {
	set.Var(flagSetValue{set}, commandLineName, "")
	return nil
}
func (commandLine) Names() []string { return []string{commandLineName} }
func (commandLine) IsSet() bool     { return false }
func (commandLine) IsVisible() bool { return false }
func (commandLine) String() string  { return "" }

type flagSetValue struct{ set *flag.FlagSet }

func (flagSetValue) String() string   { return "" }
func (flagSetValue) Set(string) error { return errors.New("not a flag") }
func (v flagSetValue) Get() any       { return v.set }

// givenFlags returns the names of the flags given on the command line of
// cCtx's command, as typed (an alias under the alias).
//
// cli.Context.IsSet, FlagNames and LocalFlagNames cannot tell: they count a
// flag as set when its value comes from one of its EnvVars too (urfave/cli
// applies such a value as the flag's default and marks the flag set). The
// command's flag.FlagSet can: its Visit walks exactly the flags that its
// Parse set from the arguments, so the answer follows urfave/cli's own
// parsing (--flag v, --flag=v, -flag, combined short options, "--" ending
// the flags, flag-like values of other flags) instead of redoing it over
// os.Args. urfave/cli v2 keeps that set private; commandLine hands it over.
func givenFlags(cCtx *cli.Context) (map[string]bool, error) {
	set, _ := cCtx.Value(commandLineName).(*flag.FlagSet)
	if set == nil {
		return nil, fmt.Errorf("netcost %s has no commandLine flag", cCtx.Command.Name) // readFlags has it
	}
	given := map[string]bool{}
	set.Visit(func(f *flag.Flag) { given[f.Name] = true })
	return given, nil
}

var now = time.Now // tests pin the clock

// commonOptions turns the shared flags into query options. billAWS says
// the command reads a bill from AWS (billFlags.readsAWS).
func commonOptions(cCtx *cli.Context, billAWS bool) (query.Options, error) {
	src, err := source.Parse(cCtx.String("source"))
	if err != nil {
		return query.Options{}, source.Rename(err, "--source")
	}
	if cCtx.Args().Present() {
		return query.Options{}, usage.Errorf("unexpected argument %q: flags start with --, as in --source file:PATH",
			cCtx.Args().First())
	}
	given, err := givenFlags(cCtx)
	if err != nil {
		return query.Options{}, err
	}
	if err := checkSourceOnly(cCtx, src, given, billAWS); err != nil {
		return query.Options{}, err
	}
	// Past checkSourceOnly, what a source does not read comes from the
	// environment, and is left alone.
	if m := cCtx.String("monitor"); m != "" && src.Kind == "nfm" {
		switch {
		case src.Path == "":
			src.Path = m
		case src.Path != m && given["monitor"]:
			return query.Options{}, usage.Errorf("--monitor %s and --source %s name two monitors: give one", m,
				cCtx.String("source"))
		}
	}
	w, err := parseWindow(now().UTC().Truncate(time.Second), cCtx.String("since"), cCtx.String("start"),
		cCtx.String("end"))
	if err != nil {
		return query.Options{}, err
	}
	var ao awscfg.Options
	if slices.Contains(awsKinds, src.Kind) {
		if ao, err = awsOptions(cCtx); err != nil {
			return query.Options{}, err
		}
	}
	return query.Options{Source: src, Window: w, Lenient: !cCtx.Bool("strict"), AWS: ao, Exact: cCtx.Bool("exact"),
		Progress: terminal(cCtx.App.ErrWriter), Logger: slog.Default().With("component", "netcost.read")}, nil
}

// parseWindow turns --since, or --start and --end, into a window; an open
// end is now. since is a duration or a number of days such as 7d; start
// and end are RFC 3339 or YYYY-MM-DD.
func parseWindow(now time.Time, since, start, end string) (source.Window, error) {
	if since != "" && (start != "" || end != "") {
		return source.Window{}, usage.Errorf("--since and --start/--end are exclusive: give one or the other")
	}
	if since != "" {
		d, err := source.ParseDuration(since)
		if err != nil {
			return source.Window{}, source.Rename(err, "--since")
		}
		return source.Window{Start: now.Add(-d), End: now}, nil
	}
	var w source.Window
	var err error
	if start != "" {
		if w.Start, err = source.ParseTime(start); err != nil {
			return source.Window{}, source.Rename(err, "--start")
		}
	}
	if end != "" {
		if w.End, err = source.ParseTime(end); err != nil {
			return source.Window{}, source.Rename(err, "--end")
		}
	} else if start != "" {
		w.End = now
	}
	if !w.Start.IsZero() && !w.End.IsZero() && !w.End.After(w.Start) {
		return source.Window{}, usage.Errorf("--end %s is not after --start %s",
			w.End.Format(time.RFC3339), w.Start.Format(time.RFC3339))
	}
	return w, nil
}

// parseOutput checks -o: one of outputFormats, any case, or md for markdown.
func parseOutput(s string) (string, error) {
	o := strings.ToLower(s)
	switch {
	case slices.Contains(outputFormats, o):
		return o, nil
	case o == "md":
		return "markdown", nil
	}
	return "", usage.Errorf("-o %q: want %s", s, orList(outputFormats))
}

// loadPricing returns the price table with the --prices overrides applied,
// and the options of --internet-egress-tb-month and --tgw-peer-external.
func loadPricing(cCtx *cli.Context) (*costmodel.Table, costmodel.Options, error) {
	tb := cCtx.Float64(egressTBFlag.Name)
	if !(tb >= 0) || math.IsInf(tb, 1) {
		return nil, costmodel.Options{}, usage.Errorf("--internet-egress-tb-month %v: want the account's monthly internet egress in TB, "+
			"0 or more", tb)
	}
	t := costmodel.DefaultTable()
	if path := cCtx.String("prices"); path != "" {
		f, err := os.Open(path)
		if err != nil {
			return nil, costmodel.Options{}, usage.Errorf("--prices: %v", err)
		}
		defer f.Close()
		if err := t.ApplyOverride(f, path); err != nil {
			return nil, costmodel.Options{}, usage.Errorf("%v", err)
		}
	}
	return t, costmodel.Options{InternetEgressTBMonth: tb, TGWPeerExternal: cCtx.Bool(tgwPeerFlag.Name)}, nil
}

// windowNote is the line under a table that says the window the figures
// cover and how monthly figures are projected from it.
func windowNote(start, end time.Time) string {
	if start.IsZero() || end.IsZero() {
		return "window: no records"
	}
	d := end.Sub(start)
	return fmt.Sprintf("window: %s to %s (%s); monthly figures extrapolate this window to %d hours",
		start.Format(time.RFC3339), end.Format(time.RFC3339), d, costmodel.HoursPerMonth)
}

// readSetup parses what every command that reads records shares: the
// output format, the bill's flags (none for a command without --cur), the
// source and window, and the deps with the price table. With billTier, the
// model prices internet bytes at the bill's tier (billFlags.egressTier).
func readSetup(cCtx *cli.Context, billTier bool) (format string, opts query.Options, bill billFlags, d deps,
	err error) {
	if format, err = parseOutput(cCtx.String("output")); err != nil {
		return "", query.Options{}, billFlags{}, deps{}, err
	}
	if bill, err = parseBillFlags(cCtx); err != nil {
		return "", query.Options{}, billFlags{}, deps{}, err
	}
	if opts, err = commonOptions(cCtx, bill.readsAWS()); err != nil {
		return "", query.Options{}, billFlags{}, deps{}, err
	}
	t, o, err := loadPricing(cCtx)
	if err != nil {
		return "", query.Options{}, billFlags{}, deps{}, err
	}
	if billTier {
		if o.InternetEgressTBMonth, err = bill.egressTier(cCtx, t, opts, o.InternetEgressTBMonth); err != nil {
			return "", query.Options{}, billFlags{}, deps{}, err
		}
	}
	d = newDeps(cCtx)
	d.model = costmodel.NewWithOptions(t, o)
	return format, opts, bill, d, nil
}

// minSavingsFlag is recommend's and report's threshold; adviseOptions reads it.
func minSavingsFlag(usage string) cli.Flag {
	return &cli.Float64Flag{Name: "min-savings", Value: 1, Usage: usage}
}

// compressionRatioFlag is recommend's and report's measured compression
// ratio; adviseOptions reads it.
var compressionRatioFlag = &cli.Float64Flag{Name: "compression-ratio", Usage: "the share of the bytes that " +
	"compression removes, measured on your payloads (above 0, below 1): gives ReducePayload estimates a dollar figure"}

// adviseOptions reads --min-savings (USD a month, 0 or more) and
// --compression-ratio.
func adviseOptions(cCtx *cli.Context) (costmodel.AdviseOptions, error) {
	v := cCtx.Float64("min-savings")
	if !(v >= 0) || math.IsInf(v, 1) {
		return costmodel.AdviseOptions{}, usage.Errorf("--min-savings %v: want USD a month, 0 or more", v)
	}
	ratio := cCtx.Float64("compression-ratio")
	if cCtx.IsSet("compression-ratio") && !(ratio > 0 && ratio < 1) {
		return costmodel.AdviseOptions{}, usage.Errorf("--compression-ratio %v: want the share of the bytes compression "+
			"removes, above 0 and below 1 (0.6 for 60%%)", ratio)
	}
	return costmodel.AdviseOptions{MinMonthlySavingsUSD: v, CompressionRatio: ratio}, nil
}
