package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/netcost/netcost/internal/cur/curtest"
	"github.com/netcost/netcost/internal/insightstest"
	"github.com/netcost/netcost/internal/mototest"
	"github.com/netcost/netcost/internal/query"
)

// reconcileFixture writes curtest's day (records and a Parquet export)
// and returns the flags that reconcile it, and the temporary folders to
// leave out of golden files.
func reconcileFixture(t *testing.T, format string) (args []string, dirs []string) {
	t.Helper()
	dir := t.TempDir()
	objs, err := curtest.DayExport(format).Objects("bucket", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := curtest.WriteDir(dir, objs); err != nil {
		t.Fatal(err)
	}
	store := insightstest.WriteStore(t, curtest.DayRecords())
	return []string{"reconcile", "--cur", "file:" + dir, "--source", "file:" + store, "--start", "2026-11-20",
		"--end", "2026-11-21"}, []string{dir, store}
}

// runReconcileGolden runs reconcile with extra flags and compares its
// output, temporary folders named by placeholders, with testdata/name.
func runReconcileGolden(t *testing.T, name string, extra ...string) {
	t.Helper()
	args, dirs := reconcileFixture(t, ".snappy.parquet")
	args = append(args, extra...)
	out := mustRun(t, args...)
	out = strings.ReplaceAll(out, dirs[0], "CUR")
	out = strings.ReplaceAll(out, dirs[1], "STORE")
	compareGolden(t, name, out, args...)
}

func TestReconcileGolden(t *testing.T) {
	runReconcileGolden(t, "reconcile.golden", "-o", "wide")
	runReconcileGolden(t, "reconcile.json.golden", "-o", "json")
	runReconcileGolden(t, "reconcile-resource.golden", "-o", "wide", "--by", "resource")
	runReconcileGolden(t, "reconcile.csv.golden", "-o", "csv")
}

// TestReconcileJSONContract checks the JSON fields DESIGN.md names, from
// the CSV export this time.
func TestReconcileJSONContract(t *testing.T) {
	args, _ := reconcileFixture(t, ".csv.gz")
	out := mustRun(t, append(args, "-o", "json")...)
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"start", "end", "source", "cur", "rows", "total_billed_usd", "total_measured_usd",
		"coverage"} {
		if _, ok := m[k]; !ok {
			t.Errorf("reconcile -o json has no %q", k)
		}
	}
	row := m["rows"].([]any)[0].(map[string]any)
	for _, k := range []string{"region", "line", "billed_gb", "billed_usd", "measured_gb", "measured_usd", "coverage"} {
		if _, ok := row[k]; !ok {
			t.Errorf("reconcile -o json's rows have no %q", k)
		}
	}
	if m["total_billed_usd"] != 2.3 || m["total_measured_usd"] != 2.12 {
		t.Errorf("totals %v and %v, want 2.3 and 2.12", m["total_billed_usd"], m["total_measured_usd"])
	}
}

// writeExport writes e under a new folder and returns file:FOLDER.
func writeExport(t *testing.T, e curtest.Export) string {
	t.Helper()
	dir := t.TempDir()
	objs, err := e.Objects("bucket", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := curtest.WriteDir(dir, objs); err != nil {
		t.Fatal(err)
	}
	return "file:" + dir
}

// csvBytes is items as a gzip CSV data file with header's columns.
func csvBytes(t *testing.T, items []curtest.Item, header []string) []byte {
	t.Helper()
	b, err := curtest.CSV(items, nil, header...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestReconcileBadInput: each mistake is one line on stderr, exit 2,
// nothing on stdout.
func TestReconcileBadInput(t *testing.T) {
	store := insightstest.WriteStore(t, curtest.DayRecords())
	one := func(f curtest.DataFile) string {
		f.Period = "2026-11"
		return writeExport(t, curtest.Export{Name: "x", Files: []curtest.DataFile{f}})
	}
	euros := curtest.DayItems()
	for i := range euros {
		euros[i].Currency = "EUR"
	}
	day := []string{"--start", "2026-11-20", "--end", "2026-11-21", "--source", "file:" + store}
	for _, c := range []struct {
		name string
		args []string
		want []string
	}{
		{"no --cur", day, []string{"reconcile needs the bill: --cur file:PATH"}},
		{"bad --cur", append([]string{"--cur", "ftp://x"}, day...),
			[]string{"--cur", "file:PATH, s3://BUCKET/PREFIX or athena:DATABASE.TABLE"}},
		{"athena flag with a file", append([]string{"--cur", "file:/x", "--athena-workgroup", "wg"}, day...),
			[]string{"--athena-workgroup applies only to --cur athena:DATABASE.TABLE (this is --cur file:/x)"}},
		{"athena flags with s3", append([]string{"--cur", "s3://b/p", "--athena-output", "s3://r/", "--athena-workgroup",
			"wg"}, day...), []string{"--athena-workgroup and --athena-output apply only to --cur athena:"}},
		{"bad --by", append([]string{"--cur", "file:/x", "--by", "pod"}, day...),
			[]string{`--by "pod": want line or resource`}},
		{"missing columns", append([]string{"--cur", one(curtest.DataFile{Path: "x-00001.snappy.parquet",
			Items: curtest.DayItems(), Omit: []string{"line_item_usage_amount", "line_item_currency_code"}})}, day...),
			[]string{"is not a CUR 2.0 data file", "line_item_usage_amount, line_item_currency_code"}},
		{"legacy", append([]string{"--cur", one(curtest.DataFile{Path: "x-00001.csv.gz",
			Raw: csvBytes(t, curtest.DayItems(), curtest.LegacyHeader())})}, day...),
			[]string{"is a legacy Cost and Usage Report", "lineItem/UsageType"}},
		{"euros", append([]string{"--cur", one(curtest.DataFile{Path: "x-00001.snappy.parquet", Items: euros})}, day...),
			[]string{"is in EUR", "not USD"}},
		{"window outside the bill", []string{"--cur", writeExport(t, curtest.DayExport(".csv.gz")), "--source",
			"file:" + store, "--start", "2026-09-01", "--end", "2026-09-02"},
			[]string{"holds no billing period in the window", "it holds 2026-11"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, out, errs := netcost(t, append([]string{"reconcile"}, c.args...)...)
			if code != 2 || out != "" || strings.Count(errs, "\n") != 1 {
				t.Fatalf("exit %d, stdout %q, stderr %q; want 2, nothing, one line", code, out, errs)
			}
			for _, w := range c.want {
				if !strings.Contains(errs, w) {
					t.Errorf("stderr %q does not say %q", errs, w)
				}
			}
		})
	}
}

// TestReconcileEscapes: a resource ID in the bill goes out escaped, as
// every name from outside does.
func TestReconcileEscapes(t *testing.T) {
	items := curtest.DayItems()
	items[2].ResourceID = "i-0ddd\x1b]8;;http://evil\x07\u202e"
	cur := writeExport(t, curtest.Export{Name: "x", Files: []curtest.DataFile{{Period: "2026-11",
		Path: "x-00001.snappy.parquet", Items: items}}})
	store := insightstest.WriteStore(t, curtest.DayRecords())
	for _, o := range []string{"wide", "json", "csv", "markdown"} {
		out := mustRun(t, "reconcile", "--cur", cur, "--source", "file:"+store, "--start", "2026-11-20", "--end",
			"2026-11-21", "--by", "resource", "-o", o)
		if strings.ContainsAny(out, "\x1b\x07\u202e") {
			t.Errorf("-o %s: a control character of the bill's resource ID went out raw:\n%q", o, out)
		}
		if !strings.Contains(out, "i-0ddd") {
			t.Errorf("-o %s: the resource is not shown:\n%s", o, out)
		}
	}
}

// TestReconcileS3 reads the bill from moto's S3 with the AWS flags, which
// a file source of records would refuse without a CUR in AWS.
func TestReconcileS3(t *testing.T) {
	endpoint := mototest.Start(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	objs, err := curtest.DayExport(".snappy.parquet").Objects("bills", "cur")
	if err != nil {
		t.Fatal(err)
	}
	mototest.PutObjects(t, endpoint, "bills", "cur", objs)
	store := insightstest.WriteStore(t, curtest.DayRecords())
	out := mustRun(t, "reconcile", "--cur", "s3://bills/cur", "--endpoint-url", endpoint, "--region", "us-east-1",
		"--source", "file:"+store, "--start", "2026-11-20", "--end", "2026-11-21", "-o", "json")
	var res struct {
		CUR              string  `json:"cur"`
		TotalBilledUSD   float64 `json:"total_billed_usd"`
		TotalMeasuredUSD float64 `json:"total_measured_usd"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if res.CUR != "s3://bills/cur" || res.TotalBilledUSD != 2.3 || res.TotalMeasuredUSD != 2.12 {
		t.Errorf("from S3: cur %q, billed %v, measured %v; want s3://bills/cur, 2.3, 2.12", res.CUR, res.TotalBilledUSD,
			res.TotalMeasuredUSD)
	}
	// The same flags with the bill on disk do nothing: refused, as for
	// other commands.
	code, _, errs := netcost(t, "reconcile", "--cur", writeExport(t, curtest.DayExport(".csv.gz")), "--endpoint-url",
		endpoint, "--source", "file:"+store, "--start", "2026-11-20", "--end", "2026-11-21")
	if code != 2 || !strings.Contains(errs, "--endpoint-url applies only to --source cloudwatch") {
		t.Errorf("--endpoint-url with a file CUR and source: exit %d, %q; want 2, refused", code, errs)
	}
}

// TestEgressTierFromBill: given --cur, top prices internet bytes at the
// tier the bill's internet-out of the month reaches: 20 TB more in
// November puts the NAT record's 4 GiB out at $0.085 (10-50 TB) instead of
// the first tier's $0.09. The NAT view is then 4 GiB processed at $0.045,
// 4 across AZs at $0.01 and 4 out: $0.18 + $0.04 + $0.34 = $0.56, against
// $0.58 without the bill. --internet-egress-tb-month still wins.
func TestEgressTierFromBill(t *testing.T) {
	items := curtest.DayItems()
	big := items[6] // the NAT's internet out
	big.Start, big.End, big.Amount, big.Cost = curtest.DayStart.AddDate(0, 0, -15),
		curtest.DayStart.AddDate(0, 0, -14), 20*1024, 20*1024*0.09
	cur := writeExport(t, curtest.Export{Name: "x", Files: []curtest.DataFile{{Period: "2026-11",
		Path: "x-00001.snappy.parquet", Items: append(items, big)}}})
	store := insightstest.WriteStore(t, curtest.DayRecords())
	total := func(extra ...string) float64 {
		var res struct {
			Total float64 `json:"total_cost_usd"`
		}
		out := mustRun(t, append([]string{"top", "-c", "nat", "-o", "json", "--source", "file:" + store, "--start",
			"2026-11-20", "--end", "2026-11-21"}, extra...)...)
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatal(err)
		}
		return res.Total
	}
	for _, c := range []struct {
		args []string
		want float64
	}{
		{nil, 0.58},
		{[]string{"--cur", cur}, 0.56},
		{[]string{"--cur", cur, "--internet-egress-tb-month", "0"}, 0.58},
	} {
		if got := total(c.args...); !near(got, c.want) {
			t.Errorf("top -c nat %v: $%v, want $%v", c.args, got, c.want)
		}
	}
	// Reconcile takes a given tier the same way, even 0 (the first tier).
	for _, c := range []struct {
		args []string
		want float64
	}{
		{nil, 20},
		{[]string{"--internet-egress-tb-month", "0"}, 0},
	} {
		var res query.ReconcileResult
		out := mustRun(t, append([]string{"reconcile", "--cur", cur, "-o", "json", "--source", "file:" + store,
			"--start", "2026-11-20", "--end", "2026-11-21"}, c.args...)...)
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatal(err)
		}
		if res.EgressTBMonth < c.want || res.EgressTBMonth > c.want+0.01 {
			t.Errorf("reconcile %v: priced at %v TB a month, want %v", c.args, res.EgressTBMonth, c.want)
		}
	}
	code, _, errs := netcost(t, "recommend", "--source", "file:"+store, "--cur", "file:/nowhere")
	if code != 2 || !strings.Contains(errs, "/nowhere: no such file or directory") {
		t.Errorf("recommend with a --cur that is not there: exit %d, %q; want 2 and the path", code, errs)
	}
}

// TestEgressTierOfRecordsExtent: with no window, top takes the tier of
// the billing period of the records' extent (November), as reconcile
// does, not the bill's longest period (October, 20 TB out).
func TestEgressTierOfRecordsExtent(t *testing.T) {
	items := curtest.DayItems()
	big := items[6] // the NAT's internet out
	big.Start, big.End, big.Amount, big.Cost = curtest.DayStart.AddDate(0, -1, -15),
		curtest.DayStart.AddDate(0, -1, -14), 20*1024, 20*1024*0.09
	cur := writeExport(t, curtest.Export{Name: "x", Files: []curtest.DataFile{
		{Period: "2026-10", Path: "x-00001.snappy.parquet", Items: []curtest.Item{big}},
		{Period: "2026-11", Path: "x-00001.snappy.parquet", Items: items}}})
	store := insightstest.WriteStore(t, curtest.DayRecords())
	var res struct {
		Total float64 `json:"total_cost_usd"`
	}
	out := mustRun(t, "top", "-c", "nat", "-o", "json", "--source", "file:"+store, "--cur", cur)
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if !near(res.Total, 0.58) {
		t.Errorf("top -c nat --cur with no window: $%v, want $0.58 (the first tier, November's)", res.Total)
	}
}

// TestMakeReconcileTable: units by line for people, plain numbers in
// columns of their own for CSV, and no coverage where nothing is billed.
func TestMakeReconcileTable(t *testing.T) {
	half := 0.5
	res := &query.ReconcileResult{Rows: []query.ReconcileRow{
		{Region: "us-east-1", Line: "vpc-endpoint", BilledGB: 30, BilledHours: 3, BilledUSD: 0.33, MeasuredGB: 15,
			MeasuredHours: 1.5, MeasuredUSD: 0.165, Coverage: &half},
		{Region: "us-east-1", Line: "public-ipv4", Resource: "nat-0abc", MeasuredHours: 24, MeasuredUSD: 0.12},
	}}
	for _, c := range []struct {
		raw        bool
		byResource bool
		want       []string
	}{
		{false, false, []string{"us-east-1|vpc-endpoint|30.00 GB + 3.00 h|0.33|15.00 GB + 1.50 h|0.17|50%",
			"us-east-1|public-ipv4|0.00 h|0.00|24.00 h|0.12|-"}},
		{true, true, []string{"us-east-1|vpc-endpoint|-|30|3|0.33|15|1.5|0.165|0.5",
			"us-east-1|public-ipv4|nat-0abc|0|0|0|0|24|0.12|"}},
	} {
		tbl := makeReconcileTable(res, c.byResource, c.raw)
		for i, row := range tbl.rows {
			if got := strings.Join(row, "|"); got != c.want[i] {
				t.Errorf("raw %v, by resource %v, row %d: %s, want %s", c.raw, c.byResource, i, got, c.want[i])
			}
		}
		if len(tbl.header) != len(tbl.rows[0]) {
			t.Errorf("raw %v, by resource %v: %d columns, %d cells", c.raw, c.byResource, len(tbl.header), len(tbl.rows[0]))
		}
	}
}
