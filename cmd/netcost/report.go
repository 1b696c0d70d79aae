package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/netcost/netcost/internal/report"
	"github.com/netcost/netcost/internal/usage"
)

// reportReadFlags are readFlags without -o, whose window flags say what a
// report does without them: the previous full UTC day.
func reportReadFlags() []cli.Flag {
	since, end := *sinceFlag, *endFlag
	since.Usage = "window ending now, such as 24h or 7d (default: the previous full UTC day)"
	end.Usage = "window end (exclusive), RFC 3339 or YYYY-MM-DD; alone, the report covers the day before it (default: " +
		"the previous full UTC day)"
	var flags []cli.Flag
	for _, f := range readFlags() {
		switch f {
		case outputFlag:
		case sinceFlag:
			flags = append(flags, &since)
		case endFlag:
			flags = append(flags, &end)
		default:
			flags = append(flags, f)
		}
	}
	return flags
}

var reportCommand = &cli.Command{
	Name:  "report",
	Usage: "post the window's network cost report to Slack, or print it with --dry-run",
	Description: "The report: the window's total network spend and its change against the window of equal length\n" +
		"before it, the top inter-AZ pairs and NAT gateway talkers by workload with their cost, and the top\n" +
		"recommendations with their monthly savings and the command to apply each, as a Slack Block Kit\n" +
		"message. The default window is the previous full UTC day. The webhook URL is a secret: prefer\n" +
		"SLACK_WEBHOOK_URL in the environment to the flag, which other users can see in the process list.",
	Flags: append(reportReadFlags(),
		&cli.StringFlag{Name: "slack-webhook", EnvVars: []string{"SLACK_WEBHOOK_URL"},
			Usage: "Slack incoming webhook URL to post to"},
		&cli.BoolFlag{Name: "dry-run", Usage: "print the Block Kit JSON payload instead of posting it"},
		&cli.StringFlag{Name: "cluster", EnvVars: []string{"NETCOST_CLUSTER"}, Usage: "cluster name for the report's title"},
		&cli.IntFlag{Name: "limit", Aliases: []string{"n"}, Value: report.DefaultLimit,
			Usage: "pairs, talkers and recommendations listed (1 or more)"},
		minSavingsFlag("leave out recommendations saving less than this many USD a month"),
		compressionRatioFlag,
	),
	Action: func(cCtx *cli.Context) error {
		opts := reportOptions{webhook: cCtx.String("slack-webhook"), dryRun: cCtx.Bool("dry-run")}
		if (opts.webhook == "") == !opts.dryRun {
			return usage.Errorf("give exactly one of --slack-webhook URL (or SLACK_WEBHOOK_URL) and --dry-run")
		}
		if !opts.dryRun {
			if err := report.ValidateWebhook(opts.webhook); err != nil {
				return usage.Errorf("--slack-webhook: %v", err)
			}
		}
		if cCtx.Int("limit") < 1 {
			return usage.Errorf("--limit %d: want 1 or more", cCtx.Int("limit"))
		}
		advise, err := adviseOptions(cCtx)
		if err != nil {
			return err
		}
		qo, err := commonOptions(cCtx, false)
		if err != nil {
			return err
		}
		switch w := &qo.Window; {
		case w.Start.IsZero() && w.End.IsZero():
			*w = report.DefaultWindow(now())
		case w.Start.IsZero():
			w.Start = w.End.Add(-24 * time.Hour) // a day, as by default
		}
		opts.Options = report.Options{Options: qo, Cluster: cCtx.String("cluster"), Limit: cCtx.Int("limit"),
			Advise: advise}
		d, err := loadDeps(cCtx)
		if err != nil {
			return err
		}
		return runReport(cCtx.Context, cCtx.App.Writer, d, opts)
	},
}

// reportOptions are what netcost report was asked.
type reportOptions struct {
	report.Options
	webhook string // the Slack incoming webhook to post to, unless dryRun
	dryRun  bool   // print the payload instead of posting it
}

// runReport builds the window's report, priced by d.model, and posts it to
// Slack through d.post, or with opts.dryRun writes its Block Kit payload
// to w.
func runReport(ctx context.Context, w io.Writer, d deps, opts reportOptions) error {
	rep, err := report.Build(ctx, d.model, opts.Options)
	if err != nil {
		return err
	}
	if warn := rep.ProjectionWarning(); warn != "" {
		slog.Warn(warn)
	}
	msg := rep.Message()
	if opts.dryRun {
		out, err := msg.JSON(true)
		if err != nil {
			return err
		}
		_, err = w.Write(out)
		return err
	}
	if err := report.Post(ctx, opts.webhook, msg, d.post); err != nil {
		return err
	}
	fmt.Fprintf(d.stderr, "posted the report (%d blocks) to Slack\n", len(msg.Blocks))
	return nil
}
