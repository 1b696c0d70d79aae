package main

import (
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/term"

	"github.com/netcost/netcost/costmodel"
	"github.com/netcost/netcost/internal/awscfg"
	"github.com/netcost/netcost/internal/query"
)

// Flags shared by the commands that read records.
var (
	sourceFlag = &cli.StringFlag{Name: "source", Aliases: []string{"s"}, EnvVars: []string{"NETCOST_SOURCE"},
		Usage: "where the flow records are: file:PATH (a JSONL file or a directory of them, plain or .gz), cloudwatch[:LOGGROUP] (default log group " + query.DefaultLogGroup + "; with no window flag, the last 24h), or nfm (AWS Network Flow Monitor; see --monitor)"}
	exactFlag  = &cli.BoolFlag{Name: "exact", Usage: "cloudwatch: read every record (FilterLogEvents) and sum locally instead of asking Logs Insights; for small windows and emulators"}
	sinceFlag  = &cli.StringFlag{Name: "since", Usage: "window ending now, such as 90m, 24h or 7d (default: all records of a file source)", EnvVars: []string{"NETCOST_WINDOW"}}
	startFlag  = &cli.StringFlag{Name: "start", Usage: "window start, RFC 3339 or YYYY-MM-DD"}
	endFlag    = &cli.StringFlag{Name: "end", Usage: "window end (exclusive), RFC 3339 or YYYY-MM-DD (default: now)"}
	outputFlag = &cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "table", Usage: "table, json, csv or markdown"}
	strictFlag = &cli.BoolFlag{Name: "strict", Value: true, Usage: "stop at the first bad record; --strict=false skips and counts bad lines"}
	pricesFlag = &cli.StringFlag{Name: "prices", EnvVars: []string{"NETCOST_PRICES"}, Usage: "price override file (JSON) applied over the embedded price table"}
)

// The shared AWS flags, for every command that may call AWS. Unset, the
// SDK's default chain decides (environment, ~/.aws/config, roles).
var (
	awsRegionFlag   = &cli.StringFlag{Name: "region", EnvVars: []string{"AWS_REGION"}, Category: "AWS", Usage: "AWS region of the source (default: the SDK's chain, as AWS_DEFAULT_REGION or the profile's region)"}
	awsProfileFlag  = &cli.StringFlag{Name: "profile", EnvVars: []string{"AWS_PROFILE"}, Category: "AWS", Usage: "named profile of ~/.aws/config and ~/.aws/credentials"}
	awsEndpointFlag = &cli.StringFlag{Name: "endpoint-url", EnvVars: []string{"AWS_ENDPOINT_URL"}, Category: "AWS", Usage: "send AWS API calls to this URL instead, such as a local emulator (http://127.0.0.1:5000)"}
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
	o := awscfg.Options{Region: cCtx.String("region"), Profile: cCtx.String("profile"), EndpointURL: cCtx.String("endpoint-url")}
	return o, o.Validate()
}

func readFlags() []cli.Flag {
	return append([]cli.Flag{sourceFlag, exactFlag, sinceFlag, startFlag, endFlag, outputFlag, strictFlag, pricesFlag, monitorFlag}, awsFlags()...)
}

var now = time.Now // tests pin the clock

// commonOptions turns the shared flags into query options.
func commonOptions(cCtx *cli.Context) (query.Options, error) {
	src, err := query.ParseSource(cCtx.String("source"))
	if err != nil {
		return query.Options{}, err
	}
	if cCtx.Args().Present() {
		return query.Options{}, usagef("unexpected argument %q: flags start with --, as in --source file:PATH", cCtx.Args().First())
	}
	if m := cCtx.String("monitor"); m != "" {
		if src.Kind != "nfm" || (src.Path != "" && src.Path != m) {
			return query.Options{}, usagef("--monitor %s is for --source nfm (got --source %s)", m, cCtx.String("source"))
		}
		src.Path = m
	}
	w, err := query.ParseWindow(now().UTC().Truncate(time.Second), cCtx.String("since"), cCtx.String("start"), cCtx.String("end"))
	if err != nil {
		return query.Options{}, err
	}
	ao, err := awsOptions(cCtx)
	if err != nil {
		return query.Options{}, err
	}
	if cCtx.Bool("exact") && src.Kind != "cloudwatch" {
		return query.Options{}, usagef("--exact applies to --source cloudwatch only")
	}
	return query.Options{Source: src, Window: w, Lenient: !cCtx.Bool("strict"), AWS: ao, Exact: cCtx.Bool("exact"), Progress: terminal(cCtx.App.ErrWriter),
		Logger: slog.Default().With("component", "netcost.read")}, nil
}

func parseOutput(s string) (string, error) {
	switch o := strings.ToLower(s); o {
	case "table", "json", "csv", "markdown":
		return o, nil
	case "md":
		return "markdown", nil
	}
	return "", usagef("-o %q: want table, json, csv or markdown", s)
}

// loadModel returns the cost model with the --prices overrides applied.
func loadModel(cCtx *cli.Context) (*costmodel.Model, error) {
	t := costmodel.DefaultTable()
	if path := cCtx.String("prices"); path != "" {
		f, err := os.Open(path)
		if err != nil {
			return nil, usagef("--prices: %v", err)
		}
		defer f.Close()
		if err := t.ApplyOverride(f, path); err != nil {
			return nil, usagef("%v", err)
		}
	}
	return costmodel.New(t), nil
}

func windowNote(start, end time.Time) string {
	if start.IsZero() || end.IsZero() {
		return "window: no records"
	}
	d := end.Sub(start)
	return fmt.Sprintf("window: %s to %s (%s); monthly figures extrapolate this window to %d hours",
		start.Format(time.RFC3339), end.Format(time.RFC3339), d, costmodel.HoursPerMonth)
}

// readSetup parses what every command that reads records shares: the
// output format, the source and window, and the price table.
func readSetup(cCtx *cli.Context) (format string, opts query.Options, m *costmodel.Model, err error) {
	if format, err = parseOutput(cCtx.String("output")); err != nil {
		return "", query.Options{}, nil, err
	}
	if opts, err = commonOptions(cCtx); err != nil {
		return "", query.Options{}, nil, err
	}
	if m, err = loadModel(cCtx); err != nil {
		return "", query.Options{}, nil, err
	}
	return format, opts, m, nil
}

// minSavingsFlag is recommend's and report's threshold; adviseOptions reads it.
func minSavingsFlag(usage string) cli.Flag {
	return &cli.Float64Flag{Name: "min-savings", Value: 1, Usage: usage}
}

// adviseOptions reads --min-savings: USD a month, 0 or more.
func adviseOptions(cCtx *cli.Context) (costmodel.AdviseOptions, error) {
	v := cCtx.Float64("min-savings")
	if !(v >= 0) || math.IsInf(v, 1) {
		return costmodel.AdviseOptions{}, usagef("--min-savings %v: want USD a month, 0 or more", v)
	}
	return costmodel.AdviseOptions{MinMonthlySavingsUSD: v}, nil
}
