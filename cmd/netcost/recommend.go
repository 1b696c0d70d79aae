package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/netcost/netcost/costmodel"
	"github.com/netcost/netcost/internal/query"
	"github.com/netcost/netcost/internal/safetext"
)

var recommendCommand = &cli.Command{
	Name:  "recommend",
	Usage: "turn the bytes into changes with monthly savings and the command to apply each",
	Description: "Rules: PreferSameZone (Service trafficDistribution), GatewayEndpoint (S3/DynamoDB through a NAT),\n" +
		"InterfaceEndpoint (AWS services through a NAT, only above the endpoint's break-even), NatPerAZ (a NAT in\n" +
		"another AZ than its clients), PrivateLink (known SaaS): certain changes, by savings, each saving\n" +
		"assuming the ones above it are made. Then estimates: ReducePayload (what no certain change removes),\n" +
		"with a saving only from --compression-ratio, never in the total.\n" +
		"Savings are projected to a month from the window read, net of any new fees.",
	Flags: append([]cli.Flag{
		minSavingsFlag("hide recommendations saving less than this many USD a month"),
		compressionRatioFlag,
	}, append(readFlags(), curFlags()...)...),
	Action: func(cCtx *cli.Context) error {
		advise, err := adviseOptions(cCtx)
		if err != nil {
			return err
		}
		format, qo, _, d, err := readSetup(cCtx, true)
		if err != nil {
			return err
		}
		opts := recommendOptions{Options: qo, advise: advise, format: format}
		return runRecommend(cCtx.Context, cCtx.App.Writer, d, opts)
	},
}

// recommendOptions are what netcost recommend was asked.
type recommendOptions struct {
	query.Options
	advise costmodel.AdviseOptions
	format string // one of outputFormats
}

// runRecommend turns the records into changes, priced by d.model, and writes
// them to w: as blocks of text on a terminal (the commands stay whole),
// else as JSON, CSV or Markdown.
func runRecommend(ctx context.Context, w io.Writer, d deps, opts recommendOptions) error {
	res, err := query.Recommend(ctx, d.model, opts.Options, opts.advise)
	if err != nil {
		return err
	}
	if warn := costmodel.ProjectionWarning(res.Window()); warn != "" && len(res.Recommendations) > 0 {
		slog.Warn(warn)
	}
	switch opts.format {
	case "table":
		return writeRecommendText(w, res, terminalWidth(w))
	case "wide":
		return writeRecommendText(w, res, 0)
	}
	return writeResult(w, opts.format, res, func(raw bool) table { return makeRecommendTable(res, raw) })
}

// makeRecommendTable lays out recommendations for CSV and Markdown. raw
// (CSV) keeps plain numbers and each action on one line.
func makeRecommendTable(res *query.RecommendResult, raw bool) table {
	t := table{header: []string{"KIND", "TARGET", "MONTHLY SAVINGS USD", "MONTHLY COST USD", "EVIDENCE", "ACTION",
		"CAVEATS", "PROJECTED FROM"}}
	for _, r := range res.Recommendations {
		save, cost := usd(r.MonthlySavingsUSD), usd(r.MonthlyCostUSD)
		action := r.Action
		if raw {
			save, cost = strconv.FormatFloat(r.MonthlySavingsUSD, 'f', 2, 64), strconv.FormatFloat(r.MonthlyCostUSD, 'f', 2, 64)
			action = strings.ReplaceAll(action, "\n", "; ") // one line, the same commands in the same order
		} else {
			action = "`" + strings.ReplaceAll(action, "\n", "` `") + "`"
		}
		switch {
		case r.SavingsNeed != "" && raw:
			save = "" // no figure: not a zero
		case r.SavingsNeed != "":
			save = "needs " + savingsNeedFlag(r.SavingsNeed)
		case r.Estimate && !raw:
			save += " (estimate)"
		}
		t.rows = append(t.rows, []string{r.Kind, r.Target, save, cost, r.Evidence.Detail, action,
			strings.Join(r.Caveats, "; "), projectedFrom(r).String()})
	}
	t.notes = append([]string{fmt.Sprintf("total: $%s/month (from %s)", usd(res.TotalSavingsUSD), res.Window())},
		res.Notes...)
	t.notes = append(t.notes, windowNote(res.Start, res.End))
	return t
}

// writeRecommendText prints each recommendation as a block: commands are
// too long for table cells and must stay copyable. With a width (a
// terminal's), the prose wraps at it; the commands never do.
func writeRecommendText(w io.Writer, res *query.RecommendResult, width int) error {
	// Kinds, targets, reasons and commands quote names from the records:
	// they go out escaped (safetext), a command line by line.
	esc := safetext.Escape
	say := func(first, indent, text string) {
		if width == 0 {
			fmt.Fprintf(w, "%s%s\n", first, esc(text))
			return
		}
		for _, l := range wrapText(text, width, first, indent) {
			fmt.Fprintln(w, esc(l))
		}
	}
	if len(res.Recommendations) == 0 {
		say("", "  ", fmt.Sprintf("No recommendations: nothing in %d records would save money.", res.Records))
		for _, n := range res.Notes {
			say("", "  ", n)
		}
		say("", "  ", windowNote(res.Start, res.End))
		return nil
	}
	certain := 0
	for i, r := range res.Recommendations {
		say(fmt.Sprintf("%d. ", i+1), "   ", r.Kind+"  "+r.Target)
		say("   ", "     ", savingsText(r))
		say("   why: ", "        ", r.Evidence.Detail)
		if r.Estimate {
			say("   do: ", "       ", r.Action) // advice, not a command
		} else {
			certain++
			for _, line := range strings.Split(r.Action, "\n") {
				fmt.Fprintf(w, "   $ %s\n", esc(line))
			}
		}
		for _, c := range r.Caveats {
			say("   note: ", "         ", c)
		}
		fmt.Fprintln(w)
	}
	say("", "  ", fmt.Sprintf("total: $%s/month (from %s) across %d certain recommendation(s)", usd(res.TotalSavingsUSD),
		res.Window(), certain))
	for _, n := range res.Notes {
		say("note: ", "  ", n)
	}
	say("", "  ", windowNote(res.Start, res.End))
	return nil
}

// savingsText says what a recommendation saves, or what an estimate needs
// for a figure, and the window its monthly figures project from.
func savingsText(r costmodel.Recommendation) string {
	from := projectedFrom(r)
	switch {
	case r.SavingsNeed != "":
		return fmt.Sprintf("estimate: savings need %s; these bytes cost $%s/month (from %s)",
			savingsNeedFlag(r.SavingsNeed), usd(r.MonthlyCostUSD), from)
	case r.Estimate:
		return fmt.Sprintf("estimate: saves $%s/month of $%s/month (from %s), not in the total",
			usd(r.MonthlySavingsUSD), usd(r.MonthlyCostUSD), from)
	}
	return fmt.Sprintf("saves $%s/month of $%s/month (from %s)", usd(r.MonthlySavingsUSD), usd(r.MonthlyCostUSD), from)
}

// projectedFrom is the window a recommendation's monthly figures project from.
func projectedFrom(r costmodel.Recommendation) time.Duration {
	return time.Duration(r.Evidence.WindowS) * time.Second
}

// savingsNeedFlag is the flag that gives an estimate what it needs.
func savingsNeedFlag(need string) string {
	if need == costmodel.NeedCompressionRatio {
		return "--compression-ratio"
	}
	return need
}
