package query

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/netcost/netcost/costmodel"
	"github.com/netcost/netcost/internal/awscfg"
	"github.com/netcost/netcost/internal/cur"
	"github.com/netcost/netcost/internal/cur/curtest"
	"github.com/netcost/netcost/internal/insightstest"
	"github.com/netcost/netcost/internal/source"
)

// reconcileDay reconciles curtest's day: its records from a file store,
// its bill from an export on disk in format.
func reconcileDay(t *testing.T, format string, byResource bool) *ReconcileResult {
	t.Helper()
	return reconcileBill(t, format, ReconcileOptions{Options: Options{Source: source.Spec{Kind: "file",
		Path: insightstest.WriteStore(t, curtest.DayRecords())}, Window: source.Window{Start: curtest.DayStart,
		End: curtest.DayEnd}}, ByResource: byResource})
}

// reconcileBill reconciles the records opts says against curtest's day's bill, from an export on disk in
// format.
func reconcileBill(t *testing.T, format string, opts ReconcileOptions) *ReconcileResult {
	t.Helper()
	byResource := opts.ByResource
	dir := t.TempDir()
	objs, err := curtest.DayExport(format).Objects("bucket", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := curtest.WriteDir(dir, objs); err != nil {
		t.Fatal(err)
	}
	loc, err := cur.ParseLocation("file:" + dir)
	if err != nil {
		t.Fatal(err)
	}
	read := func(ctx context.Context, start, end time.Time) (*cur.Bill, error) {
		return cur.NewReader(aws.Config{}, nil).Read(ctx, loc, cur.Options{Start: start, End: end, ByResource: byResource})
	}
	res, err := Reconcile(context.Background(), nil, costmodel.Options{}, read, opts)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// rowText writes a row's figures for comparison.
func rowText(r ReconcileRow) string {
	cov := "-"
	if r.Coverage != nil {
		cov = fmt.Sprint(*r.Coverage)
	}
	return fmt.Sprintf("%s %s %s: billed %gGB %gh $%g, measured %gGB %gh $%g, coverage %s", r.Region, r.Line,
		r.Resource, r.BilledGB, r.BilledHours, r.BilledUSD, r.MeasuredGB, r.MeasuredHours, r.MeasuredUSD, cov)
}

// TestReconcileByLine checks every line of curtest's day, in both formats,
// by hand. Measured, at us-east-1's prices: inter-AZ, 10 GiB between two
// agents at both interfaces (20), 5 to RDS at both (10), 4 to a NAT in
// another AZ at the node's (4): 34 GB, $0.34; the NAT's 4 GB at $0.045
// ($0.18), its 24 hours at $0.045 ($1.08) and its address's 24 at $0.005
// ($0.12); 4 GB out to the internet at the first tier, $0.09 ($0.36, the
// bill's 4 GB of the month being under 10 TB); us-east-2, 2 GiB to an
// instance without the agent, at both ends: 4 GB, $0.04.
func TestReconcileByLine(t *testing.T) {
	want := []string{
		"us-east-1 inter-az : billed 40GB 0h $0.4, measured 34GB 0h $0.34, coverage 0.85",
		"us-east-1 nat-bytes : billed 4GB 0h $0.18, measured 4GB 0h $0.18, coverage 1",
		"us-east-1 nat-hours : billed 0GB 24h $1.08, measured 0GB 24h $1.08, coverage 1",
		"us-east-1 internet-out : billed 4GB 0h $0.36, measured 4GB 0h $0.36, coverage 1",
		"us-east-1 public-ipv4 : billed 0GB 48h $0.24, measured 0GB 24h $0.12, coverage 0.5",
		"us-east-2 inter-az : billed 4GB 0h $0.04, measured 4GB 0h $0.04, coverage 1",
	}
	for _, format := range []string{".snappy.parquet", ".csv.gz"} {
		t.Run(format, func(t *testing.T) {
			res := reconcileDay(t, format, false)
			var got []string
			for _, r := range res.Rows {
				got = append(got, rowText(r))
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			if res.TotalBilledUSD != 2.30 || res.TotalMeasuredUSD != 2.12 || *res.Coverage != 0.9217 {
				t.Errorf("totals: billed %v, measured %v, coverage %v; want 2.30, 2.12, 0.9217", res.TotalBilledUSD,
					res.TotalMeasuredUSD, *res.Coverage)
			}
			// Inter-AZ: $0.38 of $0.44.
			wantVerdict := "netcost explains 86% of the inter-AZ bill of 2026-11-20; 14% comes from interfaces no agent reports"
			if res.Verdict != wantVerdict {
				t.Errorf("verdict %q, want %q", res.Verdict, wantVerdict)
			}
			if res.CreditsUSD != -1 || len(res.Apart) != 0 || res.EgressPeriod != "2026-11" || res.Records != 5 {
				t.Errorf("credits %v, apart %v, egress period %q, records %d; want -1, none, 2026-11, 5",
					res.CreditsUSD, res.Apart, res.EgressPeriod, res.Records)
			}
		})
	}
}

// TestReconcileByResource finds the instance without the agent (i-0dddddddddddddddd):
// billed, nothing measured; each agent's instance is billed what it
// measured at its own interface (i-0aaaaaaaaaaaaaaaa: 10 + 5 + 4), and the RDS side
// shows as the remote interfaces the records priced.
func TestReconcileByResource(t *testing.T) {
	res := reconcileDay(t, ".snappy.parquet", true)
	got := map[string]string{}
	for _, r := range res.Rows {
		got[r.Region+" "+string(r.Line)+" "+r.Resource] = rowText(r)
	}
	for _, w := range []string{
		"us-east-1 inter-az i-0aaaaaaaaaaaaaaaa: billed 19GB 0h $0.19, measured 19GB 0h $0.19, coverage 1",
		"us-east-1 inter-az i-0bbbbbbbbbbbbbbbb: billed 10GB 0h $0.1, measured 10GB 0h $0.1, coverage 1",
		"us-east-1 inter-az i-0dddddddddddddddd: billed 6GB 0h $0.06, measured 0GB 0h $0, coverage 0",
		"us-east-1 inter-az orders: billed 5GB 0h $0.05, measured 0GB 0h $0, coverage 0",
		"us-east-1 inter-az (remote interfaces): billed 0GB 0h $0, measured 5GB 0h $0.05, coverage -",
		"us-east-1 nat-bytes nat-0abc: billed 4GB 0h $0.18, measured 4GB 0h $0.18, coverage 1",
		"us-east-1 nat-hours nat-0abc: billed 0GB 24h $1.08, measured 0GB 24h $1.08, coverage 1",
		"us-east-1 internet-out nat-0abc: billed 4GB 0h $0.36, measured 4GB 0h $0.36, coverage 1",
		"us-east-2 inter-az i-0cccccccccccccccc: billed 2GB 0h $0.02, measured 2GB 0h $0.02, coverage 1",
		"us-east-2 inter-az i-0eeeeeeeeeeeeeeee: billed 2GB 0h $0.02, measured 0GB 0h $0, coverage 0",
		"us-east-2 inter-az (remote interfaces): billed 0GB 0h $0, measured 2GB 0h $0.02, coverage -",
	} {
		k, _, _ := strings.Cut(w, ":")
		if got[k] != w {
			t.Errorf("%s:\n got %s\nwant %s", k, got[k], w)
		}
	}
	if res.TotalBilledUSD != 2.30 || res.TotalMeasuredUSD != 2.12 {
		t.Errorf("totals by resource: billed %v, measured %v; want those by line, 2.30 and 2.12", res.TotalBilledUSD,
			res.TotalMeasuredUSD)
	}
}

// TestReconcileFromLogsInsights: the records summed by Logs Insights (the
// cloudwatch source's default) reconcile as the same records from files,
// by line and by resource: the groups keep via and node_instance_id.
func TestReconcileFromLogsInsights(t *testing.T) {
	insightstest.AWSEnv(t)
	srv := insightstest.Start(t)
	recs := curtest.DayRecords()
	var nodes []string
	for _, r := range recs {
		nodes = append(nodes, r.Node)
	}
	srv.PutRecords(source.DefaultLogGroup, nodes, recs)
	cw := source.Spec{Kind: "cloudwatch", Path: source.DefaultLogGroup}
	ao := awscfg.Options{Region: "us-east-1", EndpointURL: srv.URL}
	for _, byResource := range []bool{false, true} {
		logs := reconcileBill(t, ".csv.gz", ReconcileOptions{Options: Options{Source: cw, AWS: ao,
			Window: source.Window{Start: curtest.DayStart, End: curtest.DayEnd}}, ByResource: byResource})
		files := reconcileDay(t, ".csv.gz", byResource)
		var want, got []string
		for _, r := range files.Rows {
			want = append(want, rowText(r))
		}
		for _, r := range logs.Rows {
			got = append(got, rowText(r))
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") || logs.Verdict != files.Verdict {
			t.Errorf("by resource %v: from Logs Insights\n%s\n%s\nfrom files\n%s\n%s", byResource,
				strings.Join(got, "\n"), logs.Verdict, strings.Join(want, "\n"), files.Verdict)
		}
	}
}
