package cur_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/netcost/netcost/internal/cur"
	"github.com/netcost/netcost/internal/cur/curtest"
	"github.com/netcost/netcost/internal/usage"
)

// writeExport writes e under a new directory and returns the directory.
func writeExport(t *testing.T, e curtest.Export) string {
	t.Helper()
	objs, err := e.Objects("example-cur-bucket", "cur")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := curtest.WriteDir(dir, objs); err != nil {
		t.Fatal(err)
	}
	return dir
}

func read(t *testing.T, loc string, o cur.Options) (*cur.Bill, error) {
	t.Helper()
	l, err := cur.ParseLocation(loc)
	if err != nil {
		t.Fatal(err)
	}
	return cur.NewReader(aws.Config{}, nil).Read(t.Context(), l, o)
}

var window = cur.Options{Start: winStart, End: winEnd}

// TestReadExport reads the fixture in both formats, from the export's
// folder and from the folder above it, and checks every figure.
func TestReadExport(t *testing.T) {
	for _, ext := range []string{"snappy.parquet", "csv.gz"} {
		t.Run(ext, func(t *testing.T) {
			dir := writeExport(t, fixture(ext))
			for _, loc := range []string{"file:" + dir, "file:" + filepath.Join(dir, "netcost-cur")} {
				b, err := read(t, loc, window)
				if err != nil {
					t.Fatalf("Read(%s): %v", loc, err)
				}
				checkFixtureBill(t, b, fixtureLineItems)
				if strings.Join(b.Periods, ",") != "2026-09,2026-10" || strings.Join(b.Read, ",") != "2026-10" {
					t.Errorf("Periods, Read = %v, %v; want [2026-09 2026-10], [2026-10]", b.Periods, b.Read)
				}
			}
		})
	}
}

// TestReadByResource: per NAT gateway (from its ARN) and per instance.
func TestReadByResource(t *testing.T) {
	for _, ext := range []string{"snappy.parquet", "csv.gz"} {
		t.Run(ext, func(t *testing.T) {
			o := window
			o.ByResource = true
			b, err := read(t, "file:"+writeExport(t, fixture(ext)), o)
			if err != nil {
				t.Fatal(err)
			}
			got := map[cur.Key]cur.Amount{}
			for _, r := range b.Rows {
				got[r.Key] = r.Amount
			}
			for k, w := range map[cur.Key]cur.Amount{
				{Region: "us-east-1", Line: cur.NATBytes, Resource: "nat-0123"}:  {GB: 100, USD: 4.50, Items: 1},
				{Region: "us-east-1", Line: cur.NATHours, Resource: "nat-0123"}:  {Hours: 1, USD: 0.045, Items: 1},
				{Region: "us-east-2", Line: cur.NATHours, Resource: "nat-0456"}:  {Hours: 12, USD: 0.54, Items: 1},
				{Region: "eu-west-1", Line: cur.NATBytes, Resource: "nat-0eu"}:   {GB: 20, USD: 0.96, Items: 1},
				{Region: "us-east-1", Line: cur.InterAZ, Resource: "i-0aaa"}:     {GB: 10, USD: 0.10, Items: 1},
				{Region: "us-east-1", Line: cur.InterAZ, Resource: "i-0bbb"}:     {GB: 5, USD: 0.05, Items: 1},
				{Region: "us-east-1", Line: cur.InternetOut, Resource: "i-0aaa"}: {GB: 50, USD: 4.50, Items: 1},
			} {
				if g, ok := got[k]; !ok || !near(g.GB, w.GB) || !near(g.Hours, w.Hours) || !near(g.USD, w.USD) ||
					g.Items != w.Items {
					t.Errorf("row %+v = %+v, %v; want %+v", k, g, ok, w)
				}
			}
			// The 14 rows of fixtureRows, with us-east-1's inter-az split
			// between i-0aaa and i-0bbb and its public IPv4 between two
			// addresses.
			if len(b.Rows) != 16 {
				t.Errorf("%d rows; want 16: %+v", len(b.Rows), b.Rows)
			}
			checkRows(t, b.ByLine(), byLine(fixtureRows))
		})
	}
}

// byLine merges rows over destinations, as Bill.ByLine does, by hand:
// only inter-region rows have one in the fixture.
func byLine(rows []cur.Row) []cur.Row {
	var out []cur.Row
	for _, r := range rows {
		r.To = ""
		out = append(out, r)
	}
	return out
}

// TestReadOneFile: file:PATH may name one data file.
func TestReadOneFile(t *testing.T) {
	dir := writeExport(t, fixture("csv.gz"))
	file := filepath.Join(dir, "netcost-cur/data/BILLING_PERIOD=2026-10/exec-new/netcost-cur-00001.csv.gz")
	b, err := read(t, "file:"+file, window)
	if err != nil {
		t.Fatal(err)
	}
	// The first 12 line items: us-east-1 inter-az 10 + 5 GB, ...
	if b.Rows[0].Line != cur.InterAZ || !near(b.Rows[0].GB, 15) || strings.Join(b.Read, ",") != "2026-10" {
		t.Errorf("rows %+v, read %v; want inter-az 15 GB first, from 2026-10", b.Rows, b.Read)
	}
}

func TestWindowOutsideExport(t *testing.T) {
	dir := writeExport(t, fixture("snappy.parquet"))
	for _, c := range []struct {
		start, end time.Time
		want       string
	}{
		// No billing period overlaps August.
		{time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC),
			"holds no billing period in the window [2026-08-01T00:00:00Z, 2026-09-01T00:00:00Z): it holds 2026-09, 2026-10"},
		// September's only line item is on the 15th.
		{time.Date(2026, 9, 20, 0, 0, 0, 0, time.UTC), time.Date(2026, 9, 21, 0, 0, 0, 0, time.UTC),
			"has no line item in the window [2026-09-20T00:00:00Z, 2026-09-21T00:00:00Z): it holds 2026-09, 2026-10"},
	} {
		_, err := read(t, "file:"+dir, cur.Options{Start: c.start, End: c.end})
		checkUsage(t, err, c.want)
	}
}

// checkUsage checks err is a usage error of one line containing want.
func checkUsage(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want one saying %q", want)
	}
	if !errors.Is(err, usage.Err) {
		t.Errorf("error %q is not a usage error", err)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error %q has more than one line", err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not say %q", err, w)
		}
	}
}

func TestBadInput(t *testing.T) {
	oct := octoberItems()
	one := func(f curtest.DataFile) curtest.Export {
		f.Period = "2026-10"
		return curtest.Export{Name: "x", Files: []curtest.DataFile{f}}
	}
	for _, c := range []struct {
		name string
		e    curtest.Export
		o    cur.Options
		want []string
	}{
		{"parquet missing columns", one(curtest.DataFile{Path: "x-00001.snappy.parquet", Items: oct,
			Omit: []string{"line_item_usage_type", "line_item_unblended_cost"}}), window,
			[]string{"x-00001.snappy.parquet is not a CUR 2.0 data file", "line_item_usage_type, line_item_unblended_cost"}},
		{"csv missing columns", one(curtest.DataFile{Path: "x-00001.csv.gz", Items: oct,
			Omit: []string{"line_item_line_item_type"}}), window,
			[]string{"x-00001.csv.gz is not a CUR 2.0 data file", "no column line_item_line_item_type"}},
		{"no resource ids", one(curtest.DataFile{Path: "x-00001.csv.gz", Items: oct,
			Omit: []string{"line_item_resource_id"}}), cur.Options{Start: winStart, End: winEnd, ByResource: true},
			[]string{"no column line_item_resource_id", "Include resource IDs"}},
		{"legacy csv", one(curtest.DataFile{Path: "x-00001.csv.gz", Raw: legacyCSV(t, oct)}), window,
			[]string{"is a legacy Cost and Usage Report", "lineItem/UsageType", "CUR 2.0"}},
		{"not parquet", one(curtest.DataFile{Path: "x-00001.snappy.parquet", Raw: []byte("PAR1 not really")}), window,
			[]string{"x-00001.snappy.parquet is not a Parquet file"}},
		{"not gzip", one(curtest.DataFile{Path: "x-00001.csv.gz", Raw: []byte("a,b\n1,2\n")}), window,
			[]string{"x-00001.csv.gz is not a gzip file"}},
		{"csv record with a field too many", one(curtest.DataFile{Path: "x-00001.csv.gz",
			Raw: append(csvOf(t, oct), gzipped(t, "Usage,extra\n")...)}), window,
			[]string{"x-00001.csv.gz", fmt.Sprintf("record %d: 2 fields, the header 33", len(oct)+2)}},
		{"euros", one(curtest.DataFile{Path: "x-00001.snappy.parquet", Items: inCurrency(oct, "EUR")}), window,
			[]string{"is in EUR (24 line items), not USD"}},
		{"two executions, no manifest", curtest.Export{Name: "x", Files: []curtest.DataFile{
			{Period: "2026-10", Path: "a/x-00001.csv.gz", Items: oct},
			{Period: "2026-10", Path: "b/x-00001.csv.gz", Items: oct}}},
			window, []string{"billing period 2026-10 holds the files of 2 executions", "no manifest"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := read(t, "file:"+writeExport(t, c.e), c.o)
			checkUsage(t, err, c.want...)
		})
	}
}

func TestBadLayout(t *testing.T) {
	oct := octoberItems()
	t.Run("legacy layout", func(t *testing.T) {
		dir := t.TempDir()
		if err := curtest.WriteDir(dir, map[string][]byte{
			"legacy/20261001-20261101/legacy-Manifest.json":             []byte(`{"reportKeys":[]}`),
			"legacy/20261001-20261101/a1b2/legacy-00001.csv.gz":         legacyCSV(t, oct),
			"legacy/20261001-20261101/a1b2/legacy-Manifest.json.sha256": nil,
		}); err != nil {
			t.Fatal(err)
		}
		_, err := read(t, "file:"+dir, window)
		checkUsage(t, err, "holds a legacy Cost and Usage Report (legacy/20261001-20261101/", "CUR 2.0")
	})
	t.Run("empty", func(t *testing.T) {
		_, err := read(t, "file:"+t.TempDir(), window)
		checkUsage(t, err, "holds no CUR 2.0 data: want EXPORT/data/BILLING_PERIOD=YYYY-MM/*.parquet")
	})
	t.Run("no such path", func(t *testing.T) {
		_, err := read(t, "file:/nonexistent/cur", window)
		checkUsage(t, err, "--cur file:/nonexistent/cur: no such file or directory")
	})
	t.Run("two exports", func(t *testing.T) {
		dir := writeExport(t, fixture("csv.gz"))
		other := fixture("csv.gz")
		other.Name = "other-cur"
		objs, err := other.Objects("b", "")
		if err != nil {
			t.Fatal(err)
		}
		if err := curtest.WriteDir(dir, objs); err != nil {
			t.Fatal(err)
		}
		_, err = read(t, "file:"+dir, window)
		checkUsage(t, err, "holds 2 exports (netcost-cur, other-cur): name one of them in --cur")
	})
	t.Run("manifest names a missing file", func(t *testing.T) {
		e := fixture("csv.gz")
		e.Manifests["2026-10"] = append(e.Manifests["2026-10"], "exec-new/netcost-cur-00003.csv.gz")
		_, err := read(t, "file:"+writeExport(t, e), window)
		if err == nil || !strings.Contains(err.Error(), "netcost-cur-00003.csv.gz, which is not in the export") {
			t.Errorf("err = %v; want one naming the missing file", err)
		}
	})
	t.Run("bad manifest", func(t *testing.T) {
		dir := writeExport(t, fixture("csv.gz"))
		m := filepath.Join(dir, "netcost-cur/metadata/BILLING_PERIOD=2026-10/netcost-cur-Manifest.json")
		if err := os.WriteFile(m, []byte("{not json"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := read(t, "file:"+dir, window)
		checkUsage(t, err, "netcost-cur-Manifest.json is not a Data Exports manifest")
	})
	t.Run("empty window", func(t *testing.T) {
		_, err := read(t, "file:"+t.TempDir(), cur.Options{Start: winEnd, End: winStart})
		checkUsage(t, err, "is empty")
	})
}

func legacyCSV(t *testing.T, items []curtest.Item) []byte {
	t.Helper()
	b, err := curtest.CSV(items, nil, curtest.LegacyHeader()...)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// csvOf is a CUR 2.0 gzip CSV of items; a test appends bad records to it
// as another gzip member, which readers of gzip read on.
func csvOf(t *testing.T, items []curtest.Item) []byte {
	t.Helper()
	b, err := curtest.CSV(items, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func gzipped(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func inCurrency(items []curtest.Item, c string) []curtest.Item {
	out := append([]curtest.Item(nil), items...)
	for i := range out {
		out[i].Currency = c
	}
	return out
}

func TestParseLocation(t *testing.T) {
	for _, c := range []struct {
		in   string
		want cur.Location
	}{
		{"file:/tmp/cur", cur.Location{Kind: cur.File, Path: "/tmp/cur"}},
		{"s3://bucket", cur.Location{Kind: cur.S3, Bucket: "bucket"}},
		{"s3://bucket/cur/netcost-cur/", cur.Location{Kind: cur.S3, Bucket: "bucket", Prefix: "cur/netcost-cur"}},
		{"athena:cur_db.cur2", cur.Location{Kind: cur.Athena, Database: "cur_db", Table: "cur2"}},
	} {
		got, err := cur.ParseLocation(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseLocation(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
	for _, c := range []struct{ in, want string }{
		{"file:", `--cur "file:": no path after file:`},
		{"s3://", `--cur "s3://": no bucket name`},
		{"athena:db", `--cur "athena:db": want athena:DATABASE.TABLE`},
		{`athena:db.t"; DROP TABLE x`, `want athena:DATABASE.TABLE`},
		{"/tmp/cur", `--cur "/tmp/cur": want file:PATH, s3://BUCKET/PREFIX or athena:DATABASE.TABLE`},
	} {
		_, err := cur.ParseLocation(c.in)
		checkUsage(t, err, c.want)
	}
}
