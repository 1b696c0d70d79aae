package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/netcost/netcost/costmodel"
	"github.com/netcost/netcost/internal/flows"
	"github.com/netcost/netcost/internal/query"
	"github.com/netcost/netcost/internal/resolve"
	"github.com/netcost/netcost/internal/usage"
)

var topCommand = &cli.Command{
	Name:  "top",
	Usage: "rank the workloads that cause a category of network cost",
	Description: "Categories: inter-az, intra-az, inter-vpc, inter-region, s3, dynamodb, nat, internet, unclassified\n" +
		"(record names such as INTER_AZ work too). nat is the NAT gateway's bill: every record whose bytes\n" +
		"pass a NAT gateway, whatever its category. Inter-AZ bytes between two of the cluster's pods are\n" +
		"reported by both agents; top shows the pair once, counts each byte once and prices it out + in.",
	Flags: append([]cli.Flag{
		&cli.StringFlag{Name: "category", Aliases: []string{"c"}, Usage: "what to rank (required; see below)"},
		&cli.StringFlag{Name: "group-by", Value: "pod", Usage: "pod, workload or namespace"},
		&cli.IntFlag{Name: "limit", Aliases: []string{"n"}, Value: 10,
			Usage: "rows to show (0: all); totals count every row"},
		&cli.BoolFlag{Name: "resolve", Category: resolveCategory,
			Usage: "name the rows' remote addresses (see netcost resolve --help)"},
	}, append(append(readFlags(), resolveFlags()...), curFlags()...)...),
	Action: func(cCtx *cli.Context) error {
		if cCtx.String("category") == "" {
			return usage.Errorf("--category is required, as in --category inter-az (see netcost top --help)")
		}
		cat, err := flows.ParseCategory(cCtx.String("category"))
		if err != nil {
			return usage.Errorf("--category: %v", err)
		}
		g, err := costmodel.ParseGroupBy(cCtx.String("group-by"))
		if err != nil {
			return usage.Errorf("--group-by: %v", err)
		}
		if cCtx.Int("limit") < 0 {
			return usage.Errorf("--limit %d: want 0 (all) or more", cCtx.Int("limit"))
		}
		format, qo, _, d, err := readSetup(cCtx, true)
		if err != nil {
			return err
		}
		opts := topOptions{TopOptions: query.TopOptions{Options: qo, Category: cat, GroupBy: g, Limit: cCtx.Int("limit")},
			format: format}
		if cCtx.Bool("resolve") {
			ro := resolverOptionsOf(cCtx)
			opts.resolve = &ro
		}
		return runTop(cCtx.Context, cCtx.App.Writer, d, opts)
	},
}

// topOptions are what netcost top was asked.
type topOptions struct {
	query.TopOptions
	format  string           // one of outputFormats
	resolve *resolverOptions // with --resolve: ask who is behind the remote addresses; nil without
}

// runTop ranks what causes a category of cost, priced by d.model, and
// writes the ranking to w. With opts.resolve it builds a resolver once the
// records are read, and checks its settings then.
func runTop(ctx context.Context, w io.Writer, d deps, opts topOptions) error {
	res, err := query.Top(ctx, d.model, opts.TopOptions)
	if err != nil {
		return err
	}
	var resolved map[string]resolve.Result
	if opts.resolve != nil {
		r, err := d.newResolver(ctx, *opts.resolve)
		if err != nil {
			return err
		}
		resolved = resolveRemotes(ctx, r, res.Rows)
	}
	names := nameRows(res.Rows, resolved)
	return writeResult(w, opts.format, makeTopJSON(res, names),
		func(raw bool) table { return makeTopTable(res, names, raw) })
}

// topRowJSON is a row of top -o json: the row, and who is behind its remote end.
type topRowJSON struct {
	costmodel.Row
	RemoteName string `json:"remote_name,omitempty"`
	BelongsTo  string `json:"belongs_to,omitempty"`
}

// topResultJSON is top -o json: the result, its rows with their names.
type topResultJSON struct {
	*query.TopResult
	Rows []topRowJSON `json:"rows"`
}

// makeTopJSON lays out a top result for -o json, with who is behind each
// row's remote end (names, aligned with res.Rows).
func makeTopJSON(res *query.TopResult, names []naming) topResultJSON {
	rows := make([]topRowJSON, len(res.Rows))
	for i, r := range res.Rows {
		rows[i] = topRowJSON{Row: r, RemoteName: names[i].name, BelongsTo: names[i].belongsTo}
	}
	return topResultJSON{res, rows}
}

// endpointLabel names an endpoint in a table: namespace/pod or
// namespace/workload, the namespace, the node, the load balancer, else
// its name or IP.
func endpointLabel(e costmodel.Endpoint) string {
	switch {
	case e.Pod != "":
		return e.Namespace + "/" + e.Pod
	case e.Workload != "":
		return e.Namespace + "/" + e.Workload
	case e.Namespace != "" && e.IP == "" && e.Node == "":
		return e.Namespace
	case e.Node != "":
		return "node " + e.Node
	case e.LB != "":
		return lbLabel(e.LB)
	}
	return orDash(e.Name, e.IP)
}

// lbLabel names a load balancer by its kind and name, as in alb:web, from
// remote_lb's app/web/ID.
func lbLabel(lb string) string {
	kind, rest, _ := strings.Cut(lb, "/")
	name, _, _ := strings.Cut(rest, "/")
	short := map[flows.LBKind]string{flows.LBApplication: "alb", flows.LBNetwork: "nlb", flows.LBGateway: "gwlb",
		flows.LBClassic: "clb"}[flows.LBKind(kind)]
	if short == "" || name == "" {
		return lb // "*" when rows merge several
	}
	return short + ":" + name
}

// paren puts s in parentheses; an empty s stays empty.
func paren(s string) string {
	if s == "" {
		return ""
	}
	return "(" + s + ")"
}

// makeTopTable lays out a top result, with who is behind each row's
// remote end (names, aligned with res.Rows): the NAT gateway's view or
// pairs of endpoints. raw keeps exact numbers, for CSV.
func makeTopTable(res *query.TopResult, names []naming, raw bool) table {
	if res.Category == flows.NATGateway {
		return makeNATTable(res, names, raw)
	}
	return makePairTable(res, names, raw)
}

// makePairTable lays out the rows of every category but nat: who talks to
// whom, in which AZs, and the billed hop (VIA) where rows have one, as S3
// through a NAT or an endpoint.
func makePairTable(res *query.TopResult, names []naming, raw bool) table {
	t := table{header: []string{"LOCAL", "LOCAL AZ", "REMOTE", "REMOTE AZ", "BYTES", "SENT", "RECEIVED", "COST USD"}}
	via := slices.ContainsFunc(res.Rows, func(r costmodel.Row) bool { return r.Via != "" })
	if via {
		t.header = slices.Insert(t.header, 4, "VIA")
	}
	for i, r := range res.Rows {
		remote := r.Remote
		if remote.Name == "" {
			remote.Name = names[i].name
		}
		row := []string{endpointLabel(r.Local), orDash(r.Local.AZID, r.Local.AZ), endpointLabel(remote),
			orDash(r.Remote.AZID, r.Remote.AZ), bytesCell(r.Bytes, raw), bytesCell(r.TxBytes, raw),
			bytesCell(r.RxBytes, raw), usdCell(r.CostUSD, raw)}
		if via {
			row = slices.Insert(row, 4, viaCell(r))
		}
		t.rows = append(t.rows, row)
	}
	// On a terminal: SENT and RECEIVED go first (BYTES is their sum), then
	// the endpoints are abbreviated in the middle (the namespace and
	// workload at the start, the replica at the end), then the AZ columns
	// go, then BYTES. COST USD stays.
	t.narrow = &narrowing{
		first: [][]string{{"SENT", "RECEIVED"}},
		abbrev: map[string]abbrev{"LOCAL": {min: 16, middle: true}, "REMOTE": {min: 16, middle: true},
			"VIA": {min: 12, middle: true}},
		last: [][]string{{"LOCAL AZ", "REMOTE AZ"}, {"BYTES"}},
	}
	t.notes = topNotes(res, names)
	return t
}

// makeNATTable lays out the NAT gateway's bill: the seed article's columns
// (local ip, remote ip, data transferred in MB, pod, namespace,
// belongs_to), plus the cost, and the NAT gateway when there are several.
// The POD column holds what the rows are grouped by (POD or WORKLOAD);
// grouped by namespace, NAMESPACE says it all.
func makeNATTable(res *query.TopResult, names []naming, raw bool) table {
	byNamespace := res.GroupBy == costmodel.ByNamespace.String()
	t := table{header: []string{"LOCAL IP", "REMOTE IP", "MB", strings.ToUpper(orEmpty(res.GroupBy, "pod")),
		"NAMESPACE", "BELONGS_TO", "COST USD"}}
	if raw {
		t.header[2] = "BYTES"
	}
	if byNamespace {
		t.header = slices.Delete(t.header, 3, 4)
	}
	several := slices.ContainsFunc(res.Rows, func(r costmodel.Row) bool { return r.Via != res.Rows[0].Via })
	if several {
		t.header = slices.Insert(t.header, len(t.header)-1, "NAT (AZ)")
	}
	for i, r := range res.Rows {
		mb := fmt.Sprintf("%.1f", float64(r.Bytes)/(1<<20))
		if raw {
			mb = strconv.FormatUint(r.Bytes, 10)
		}
		row := []string{orDash(r.Local.IP), orDash(r.Remote.IP), mb, orDash(r.Local.Pod, r.Local.Workload, r.Local.Node),
			orDash(r.Local.Namespace), names[i].belongsToCell(), usdCell(r.CostUSD, raw)}
		if byNamespace {
			row[4] = orDash(r.Local.Namespace, r.Local.Pod, r.Local.Workload, r.Local.Node)
			row = slices.Delete(row, 3, 4)
		}
		if several {
			row = slices.Insert(row, len(row)-1, viaCell(r))
		}
		t.rows = append(t.rows, row)
	}
	// On a terminal: LOCAL IP (the pod says who) and NAMESPACE go first,
	// then the pod and BELONGS_TO are abbreviated, then REMOTE IP goes
	// (BELONGS_TO names it), then MB. COST USD stays.
	t.narrow = &narrowing{
		first: [][]string{{"LOCAL IP"}, {"NAMESPACE"}},
		abbrev: map[string]abbrev{"POD": {min: 16, middle: true}, "WORKLOAD": {min: 16, middle: true},
			"BELONGS_TO": {min: 16}, "NAT (AZ)": {min: 12, middle: true}},
		last: [][]string{{"REMOTE IP"}, {"MB"}},
	}
	if byNamespace { // NAMESPACE is what the rows are
		t.narrow.first = t.narrow.first[:1]
		t.narrow.abbrev["NAMESPACE"] = abbrev{min: 16, middle: true}
	}
	t.notes = topNotes(res, names)
	return t
}

// topNotes are the lines under a top table: the totals, what the figures
// mean, the hourly fees, and the source's caveats.
func topNotes(res *query.TopResult, names []naming) []string {
	notes := []string{fmt.Sprintf("total %s: %s, $%s in the window, $%s/month projected (%d records%s)",
		res.View, flows.HumanBytes(res.TotalBytes), usd(res.TotalCostUSD), usd(res.MonthlyUSD), res.Records,
		omitted(res.OmittedRows))}
	if res.Category == flows.NATGateway {
		notes = append(notes, "MB: 2^20 bytes (AWS bills a GB as 2^30 bytes)")
	}
	if n := resolveNote(names); n != "" {
		notes = append(notes, n)
	}
	if res.Category == flows.InterAZ {
		notes = append(notes, "pod pairs: each crossing byte counted once and priced at both ends (out + in)")
	}
	for _, f := range res.HourlyFees {
		each := ""
		if f.Count > 1 {
			each = fmt.Sprintf("%d × ", f.Count)
		}
		notes = append(notes, fmt.Sprintf("hourly fee, not in the costs above: %s: %s$%s/hour, $%s in the window",
			joinNonEmpty(" ", f.Resource, paren(f.AZID), f.What), each, strconv.FormatFloat(f.PerHour, 'f', -1, 64),
			usd(f.USD)))
	}
	if res.Skipped > 0 {
		notes = append(notes, fmt.Sprintf("skipped %d bad lines (--strict=false)", res.Skipped))
	}
	notes = append(notes, res.Notes...)
	return append(notes, windowNote(res.Start, res.End))
}

// viaCell names a row's billed hop and its AZ, as in nat-0a1 (use1-az1).
func viaCell(r costmodel.Row) string { return orDash(joinNonEmpty(" ", r.Via, paren(r.ViaAZID))) }

// omitted is the totals note's mention of the rows --limit left out.
func omitted(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("; %d more rows beyond --limit", n)
}
