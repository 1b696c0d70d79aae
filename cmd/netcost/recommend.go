package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

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
		"another AZ than its clients), PrivateLink (known SaaS), ReducePayload (what no routing change removes).\n" +
		"Savings are projected to a month from the window read, net of any new fees.",
	Flags: append([]cli.Flag{
		minSavingsFlag("hide recommendations saving less than this many USD a month"),
	}, readFlags()...),
	Action: func(cCtx *cli.Context) error {
		ao, err := adviseOptions(cCtx)
		if err != nil {
			return err
		}
		format, opts, m, err := readSetup(cCtx)
		if err != nil {
			return err
		}
		return runRecommend(cCtx.Context, cCtx.App.Writer, m, opts, ao, format)
	},
}

func runRecommend(ctx context.Context, w io.Writer, m *costmodel.Model, opts query.Options, ao costmodel.AdviseOptions, format string) error {
	res, err := query.Recommend(ctx, m, opts, ao)
	if err != nil {
		return err
	}
	if format == "json" {
		return writeJSON(w, res)
	}
	if format == "table" {
		return writeRecommendText(w, res)
	}
	t := table{header: []string{"KIND", "TARGET", "MONTHLY SAVINGS USD", "MONTHLY COST USD", "EVIDENCE", "ACTION", "CAVEATS"}}
	for _, r := range res.Recommendations {
		save, cost := usd(r.MonthlySavingsUSD), usd(r.MonthlyCostUSD)
		action := r.Action
		if format == "csv" {
			save, cost = strconv.FormatFloat(r.MonthlySavingsUSD, 'f', 2, 64), strconv.FormatFloat(r.MonthlyCostUSD, 'f', 2, 64)
			action = strings.ReplaceAll(action, "\n", "; ") // one line, the same commands in the same order
		} else {
			action = "`" + strings.ReplaceAll(action, "\n", "` `") + "`"
		}
		t.rows = append(t.rows, []string{r.Kind, r.Target, save, cost, r.Evidence.Detail, action, strings.Join(r.Caveats, "; ")})
	}
	if format != "csv" {
		t.notes = append([]string{fmt.Sprintf("total: $%s/month", usd(res.TotalSavingsUSD))}, res.Notes...)
		t.notes = append(t.notes, windowNote(res.Start, res.End))
	}
	return renderTable(w, format, t)
}

// writeRecommendText prints each recommendation as a block: commands are
// too long for table cells and must stay copyable.
func writeRecommendText(w io.Writer, res *query.RecommendResult) error {
	if len(res.Recommendations) == 0 {
		fmt.Fprintf(w, "No recommendations: nothing in %d records would save money.\n%s\n", res.Records, windowNote(res.Start, res.End))
		return nil
	}
	// Kinds, targets, reasons and commands quote names from the records:
	// they go out escaped (safetext), a command line by line.
	esc := safetext.Escape
	for i, r := range res.Recommendations {
		fmt.Fprintf(w, "%d. %s  %s\n", i+1, esc(r.Kind), esc(r.Target))
		fmt.Fprintf(w, "   saves $%s/month of $%s/month\n", usd(r.MonthlySavingsUSD), usd(r.MonthlyCostUSD))
		fmt.Fprintf(w, "   why: %s\n", esc(r.Evidence.Detail))
		for _, line := range strings.Split(r.Action, "\n") {
			fmt.Fprintf(w, "   $ %s\n", esc(line))
		}
		for _, c := range r.Caveats {
			fmt.Fprintf(w, "   note: %s\n", esc(c))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "total: $%s/month across %d recommendations\n%s\n", usd(res.TotalSavingsUSD), len(res.Recommendations), windowNote(res.Start, res.End))
	return nil
}
