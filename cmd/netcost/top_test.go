package main

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/netcost/netcost/costmodel"
	"github.com/netcost/netcost/internal/flows"
	"github.com/netcost/netcost/internal/query"
	"github.com/netcost/netcost/internal/resolve"
	"github.com/netcost/netcost/internal/source"
)

// column returns the cells of t's column named header, or fails.
func column(t *testing.T, tb table, header string) []string {
	t.Helper()
	i := slices.Index(tb.header, header)
	if i < 0 {
		t.Fatalf("no column %q in %q", header, tb.header)
	}
	var cells []string
	for _, r := range tb.rows {
		if len(r) != len(tb.header) {
			t.Fatalf("row %q has %d cells; want %d", r, len(r), len(tb.header))
		}
		cells = append(cells, r[i])
	}
	return cells
}

// topResult is a top result over an hour, with rows as given.
func topResult(cat flows.Category, g costmodel.GroupBy, rows ...costmodel.Row) *query.TopResult {
	start := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	res := &query.TopResult{Category: cat, View: cat.CLIName(), GroupBy: g.String(), Rows: rows, Records: 42,
		Start: start, End: start.Add(time.Hour)}
	for _, r := range rows {
		res.TotalBytes += r.Bytes
		res.TotalCostUSD += r.CostUSD
	}
	return res
}

func TestMakePairTable(t *testing.T) {
	web := costmodel.Endpoint{Namespace: "shop", Pod: "web-7d4b9c-abcde", AZID: "use1-az1", IP: "10.0.1.10"}
	cart := costmodel.Endpoint{Namespace: "shop", Pod: "cart-5f6d7e-fghij", AZID: "use1-az2", IP: "10.0.2.20"}
	pair := costmodel.Row{Local: web, Remote: cart, Bytes: 3 << 30, TxBytes: 2 << 30, RxBytes: 1 << 30, CostUSD: 0.06,
		Pair: true}
	s3 := costmodel.Row{Local: web, Remote: costmodel.Endpoint{IP: "52.216.8.43", AWSService: "S3"}, Via: "nat-0a1",
		ViaAZID: "use1-az2", Bytes: 1536, TxBytes: 1024, RxBytes: 512, CostUSD: 0.0000123}
	stripe := costmodel.Row{Local: web, Remote: costmodel.Endpoint{IP: "185.166.143.10", AZ: "us-east-1a"}, Bytes: 100,
		TxBytes: 100}

	t.Run("pairs", func(t *testing.T) {
		tb := makePairTable(topResult(flows.InterAZ, costmodel.ByPod, pair), []naming{{}}, false)
		want := []string{"LOCAL", "LOCAL AZ", "REMOTE", "REMOTE AZ", "BYTES", "SENT", "RECEIVED", "COST USD"}
		if !slices.Equal(tb.header, want) {
			t.Errorf("header = %q; want %q (no VIA: no row has one)", tb.header, want)
		}
		wantRow := []string{"shop/web-7d4b9c-abcde", "use1-az1", "shop/cart-5f6d7e-fghij", "use1-az2", "3.0 GiB",
			"2.0 GiB", "1.0 GiB", "0.06"}
		if len(tb.rows) != 1 || !slices.Equal(tb.rows[0], wantRow) {
			t.Errorf("rows = %q; want [%q]", tb.rows, wantRow)
		}
		for _, n := range []string{"total inter-az: 3.0 GiB, $0.06 in the window", "pod pairs: each crossing byte",
			"window: 2026-11-20T09:00:00Z to 2026-11-20T10:00:00Z (1h0m0s)"} {
			if !slices.ContainsFunc(tb.notes, func(s string) bool { return strings.HasPrefix(s, n) }) {
				t.Errorf("notes %q lack %q", tb.notes, n)
			}
		}
	})

	t.Run("via and names", func(t *testing.T) {
		names := []naming{{}, {}, {name: "api.stripe.com", belongsTo: "Stripe"}}
		tb := makePairTable(topResult(flows.Internet, costmodel.ByPod, pair, s3, stripe), names, false)
		if got := column(t, tb, "VIA"); !slices.Equal(got, []string{"-", "nat-0a1 (use1-az2)", "-"}) {
			t.Errorf("VIA = %q; want the billed hop where a row has one", got)
		}
		if tb.header[4] != "VIA" {
			t.Errorf("header = %q; want VIA after REMOTE AZ", tb.header)
		}
		// A record's name comes first; the resolver's only where it has none.
		if got := column(t, tb, "REMOTE"); !slices.Equal(got, []string{"shop/cart-5f6d7e-fghij", "52.216.8.43",
			"api.stripe.com"}) {
			t.Errorf("REMOTE = %q", got)
		}
		if got := column(t, tb, "REMOTE AZ"); got[2] != "us-east-1a" {
			t.Errorf("REMOTE AZ = %q; want the AZ name where the ID is unknown", got)
		}
		if got := column(t, tb, "COST USD"); !slices.Equal(got, []string{"0.06", "0.0000", "0.00"}) {
			t.Errorf("COST USD = %q", got)
		}
		if slices.ContainsFunc(tb.notes, func(s string) bool { return strings.HasPrefix(s, "pod pairs") }) {
			t.Errorf("notes %q: the pod pairs note is inter-az's", tb.notes)
		}
	})

	t.Run("raw", func(t *testing.T) {
		tb := makePairTable(topResult(flows.AmazonS3, costmodel.ByPod, s3), []naming{{}}, true)
		for col, want := range map[string]string{"BYTES": "1536", "SENT": "1024", "RECEIVED": "512",
			"COST USD": "0.000012"} {
			if got := column(t, tb, col)[0]; got != want {
				t.Errorf("raw %s = %q; want %q", col, got, want)
			}
		}
	})
}

func TestMakeNATTable(t *testing.T) {
	sender := costmodel.Row{Local: costmodel.Endpoint{IP: "10.0.1.101", Namespace: "shop",
		Pod:      "sqs-sender-84b6d5f7c9-t5wzr",
		Workload: "sqs-sender"}, Remote: costmodel.Endpoint{IP: "52.46.151.20"}, Via: "nat-0a1", ViaAZID: "use1-az1",
		Bytes: 6400 << 20, CostUSD: 0.34}
	node := costmodel.Row{Local: costmodel.Endpoint{IP: "10.0.2.7", Node: "ip-10-0-2-7"}, Remote: costmodel.Endpoint{
		IP: "185.166.143.10"}, Via: "nat-0b2", ViaAZID: "use1-az2", Bytes: 200 << 20, CostUSD: 0.02}
	names := []naming{{name: "sqs.us-east-1.amazonaws.com", belongsTo: "Amazon SQS"},
		{name: "api.stripe.com", belongsTo: "Stripe", unverified: true}}

	t.Run("one NAT", func(t *testing.T) {
		tb := makeNATTable(topResult(flows.NATGateway, costmodel.ByPod, sender), names[:1], false)
		want := []string{"LOCAL IP", "REMOTE IP", "MB", "POD", "NAMESPACE", "BELONGS_TO", "COST USD"}
		if !slices.Equal(tb.header, want) {
			t.Errorf("header = %q; want %q", tb.header, want)
		}
		wantRow := []string{"10.0.1.101", "52.46.151.20", "6400.0", "sqs-sender-84b6d5f7c9-t5wzr", "shop",
			"Amazon SQS (sqs.us-east-1.amazonaws.com)", "0.34"}
		if len(tb.rows) != 1 || !slices.Equal(tb.rows[0], wantRow) {
			t.Errorf("rows = %q; want [%q]", tb.rows, wantRow)
		}
		if !slices.Contains(tb.notes, "MB: 2^20 bytes (AWS bills a GB as 2^30 bytes)") {
			t.Errorf("notes %q lack what MB is", tb.notes)
		}
	})

	t.Run("several NATs", func(t *testing.T) {
		tb := makeNATTable(topResult(flows.NATGateway, costmodel.ByWorkload, sender, node), names, false)
		want := []string{"LOCAL IP", "REMOTE IP", "MB", "WORKLOAD", "NAMESPACE", "BELONGS_TO", "NAT (AZ)", "COST USD"}
		if !slices.Equal(tb.header, want) {
			t.Errorf("header = %q; want %q", tb.header, want)
		}
		if got := column(t, tb, "NAT (AZ)"); !slices.Equal(got, []string{"nat-0a1 (use1-az1)", "nat-0b2 (use1-az2)"}) {
			t.Errorf("NAT (AZ) = %q", got)
		}
		if got := column(t, tb, "WORKLOAD"); !slices.Equal(got, []string{"sqs-sender-84b6d5f7c9-t5wzr", "ip-10-0-2-7"}) {
			t.Errorf("WORKLOAD = %q; want the pod, else the node", got)
		}
		if got := column(t, tb, "BELONGS_TO"); got[1] != "Stripe (api.stripe.com, unverified)" {
			t.Errorf("BELONGS_TO = %q", got)
		}
		if got := column(t, tb, "NAMESPACE"); got[1] != "-" {
			t.Errorf("NAMESPACE = %q; want - for the node", got)
		}
	})

	t.Run("by namespace", func(t *testing.T) {
		tb := makeNATTable(topResult(flows.NATGateway, costmodel.ByNamespace, sender, node), names, false)
		if slices.Contains(tb.header, "POD") {
			t.Errorf("header = %q; want no POD column", tb.header)
		}
		if got := column(t, tb, "NAMESPACE"); !slices.Equal(got, []string{"shop", "ip-10-0-2-7"}) {
			t.Errorf("NAMESPACE = %q; want the namespace, else who the row is", got)
		}
		if _, ok := tb.narrow.abbrev["NAMESPACE"]; !ok || slices.ContainsFunc(tb.narrow.first,
			func(g []string) bool { return slices.Contains(g, "NAMESPACE") }) {
			t.Errorf("narrowing %+v: NAMESPACE is what the rows are: abbreviated, never dropped first", tb.narrow)
		}
	})

	t.Run("raw", func(t *testing.T) {
		tb := makeNATTable(topResult(flows.NATGateway, costmodel.ByPod, node), names[1:], true)
		if got := column(t, tb, "BYTES"); got[0] != "209715200" {
			t.Errorf("raw BYTES = %q; want the exact count", got)
		}
		if got := column(t, tb, "COST USD"); got[0] != "0.02" {
			t.Errorf("raw COST USD = %q", got)
		}
	})

	t.Run("unnamed", func(t *testing.T) {
		tb := makeNATTable(topResult(flows.NATGateway, costmodel.ByPod, node), []naming{{unnamed: true}}, false)
		if got := column(t, tb, "BELONGS_TO"); got[0] != "-" {
			t.Errorf("BELONGS_TO = %q; want -", got)
		}
		if !slices.ContainsFunc(tb.notes, func(s string) bool { return strings.Contains(s, "add --resolve") }) {
			t.Errorf("notes %q: want a pointer to --resolve", tb.notes)
		}
	})
}

// makeTopTable picks the layout by the category: nat is the NAT gateway's.
func TestMakeTopTableLayout(t *testing.T) {
	row := costmodel.Row{Local: costmodel.Endpoint{Namespace: "shop", Pod: "web"}, Via: "nat-0a1", Bytes: 1}
	for cat, first := range map[flows.Category]string{flows.NATGateway: "LOCAL IP", flows.AmazonS3: "LOCAL",
		flows.InterAZ: "LOCAL"} {
		if tb := makeTopTable(topResult(cat, costmodel.ByPod, row), []naming{{}}, false); tb.header[0] != first {
			t.Errorf("%s: header %q; want it to start with %s", cat, tb.header, first)
		}
	}
}

// runTop builds the resolver through its deps, and only once the records
// are read: a bad source is the error, not the resolver's settings.
func TestRunTopBuildsResolverAfterReading(t *testing.T) {
	errBuilt := errors.New("resolver built")
	var built []resolverOptions
	newResolver := func(_ context.Context, o resolverOptions) (*resolve.Resolver, error) {
		built = append(built, o)
		return nil, errBuilt
	}
	d := deps{model: costmodel.New(nil), newResolver: newResolver}
	opts := func(path string, ro *resolverOptions) topOptions {
		return topOptions{TopOptions: query.TopOptions{Category: flows.NATGateway,
			Options: query.Options{Source: source.Spec{Kind: "file", Path: path}}}, format: "json", resolve: ro}
	}
	ro := &resolverOptions{port: 8443}
	if err := runTop(t.Context(), io.Discard, d, opts(store, nil)); err != nil || len(built) != 0 {
		t.Fatalf("without --resolve: %v, %d resolvers built; want none", err, len(built))
	}
	missing := filepath.Join(t.TempDir(), "missing")
	if err := runTop(t.Context(), io.Discard, d, opts(missing, ro)); err == nil || errors.Is(err, errBuilt) ||
		len(built) != 0 {
		t.Fatalf("missing source: %v, %d resolvers built; want the source's error, none built", err, len(built))
	}
	if err := runTop(t.Context(), io.Discard, d, opts(store, ro)); !errors.Is(err, errBuilt) || len(built) != 1 ||
		built[0] != *ro {
		t.Fatalf("--resolve: %v, built with %+v; want one built with %+v, its error returned", err, built, *ro)
	}
}
