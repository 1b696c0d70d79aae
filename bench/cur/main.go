// Command curbench generates a large Cost and Usage Report 2.0 export and
// times internal/cur reading it, for the reconcile budget (a month of
// hourly CUR for a large account, 10M line items, in under 30 s and
// bounded memory). bench/cur/run.sh drives it.
//
//	curbench gen -o DIR [-items 10000000] [-format parquet|csv.gz] [-files 10]
//	curbench read -cur LOCATION [-by-resource]
//
// gen writes an export named bench-cur holding October 2026, hourly: every
// hour the same large account's line items, a third of them not network
// (instance hours, volumes, free data in), over some thousands of
// instances, NAT gateways, endpoints and attachments in four regions,
// split into files as Data Exports splits them, with a manifest. read
// reads the export over October and prints one JSON line: what it summed
// and how long it took.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/netcost/netcost/internal/awscfg"
	"github.com/netcost/netcost/internal/cur"
	"github.com/netcost/netcost/internal/cur/curtest"
)

var (
	month    = time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	monthEnd = month.AddDate(0, 1, 0)
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		slog.Error("curbench", "error", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return errors.New("want gen or read")
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	switch args[0] {
	case "gen":
		out := fs.String("o", "", "the folder to write the export in")
		items := fs.Int("items", 10_000_000, "line items")
		format := fs.String("format", "parquet", "parquet or csv.gz")
		files := fs.Int("files", 10, "data files")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *out == "" || (*format != "parquet" && *format != "csv.gz") || *files < 1 {
			return errors.New("gen: want -o DIR, -format parquet or csv.gz, -files at least 1")
		}
		return gen(*out, *items, *format, *files)
	case "read":
		loc := fs.String("cur", "", "the export: file:PATH or s3://BUCKET/PREFIX")
		byResource := fs.Bool("by-resource", false, "sum per resource as well")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		return read(*loc, *byResource)
	}
	return fmt.Errorf("unknown command %q: want gen or read", args[0])
}

// template is a kind of line item the generator repeats for many
// resources every hour.
type template struct {
	usageType, product, unit string
	rate, amount             float64 // USD per unit; mean amount per hour
	resource                 string  // fmt pattern of the resource id; an ARN's names the region first
	to                       string  // inter-region: the destination's code, or the source's when they are the same
}

// regions are the account's regions, with their usage-type codes ("" for
// us-east-1).
var regions = []struct{ name, code string }{
	{"us-east-1", ""}, {"us-east-2", "USE2-"}, {"eu-west-1", "EU-"}, {"ap-south-1", "APS3-"},
}

var templates = []template{
	{"BoxUsage:m6i.xlarge", "AmazonEC2", "Hrs", 0.192, 1, "i-%016x", ""},
	{"EBS:VolumeUsage.gp3", "AmazonEC2", "GB-Mo", 0.08, 0.14, "vol-%016x", ""},
	{"DataTransfer-In-Bytes", "AWSDataTransfer", "GB", 0, 2, "i-%016x", ""},
	{"DataTransfer-Regional-Bytes", "AWSDataTransfer", "GB", 0.01, 3, "i-%016x", ""},
	{"DataTransfer-Regional-Bytes", "AmazonEC2", "GB", 0.01, 1, "i-%016x", ""},
	{"DataTransfer-Out-Bytes", "AWSDataTransfer", "GB", 0.09, 0.5, "i-%016x", ""},
	{"PublicIPv4:InUseAddress", "AmazonVPC", "Hrs", 0.005, 1, "eipalloc-%016x", ""},
	{"NatGateway-Bytes", "AmazonEC2", "GB", 0.045, 20, "arn:aws:ec2:%s:111122223333:natgateway/nat-%016x", ""},
	{"NatGateway-Hours", "AmazonEC2", "Hrs", 0.045, 1, "arn:aws:ec2:%s:111122223333:natgateway/nat-%016x", ""},
	{"VpcEndpoint-Bytes", "AmazonVPC", "GB", 0.01, 5, "vpce-%016x", ""},
	{"VpcEndpoint-Hours", "AmazonVPC", "Hrs", 0.01, 3, "vpce-%016x", ""},
	{"TransitGateway-Bytes", "AmazonVPC", "GB", 0.02, 10, "tgw-attach-%016x", ""},
	{"TransitGateway-Hours", "AmazonVPC", "Hrs", 0.05, 1, "tgw-attach-%016x", ""},
	{"AWS-Out-Bytes", "AWSDataTransfer", "GB", 0.02, 1, "i-%016x", "USE2"},
	{"AWS-Out-Bytes", "AWSDataTransfer", "GB", 0.02, 0.5, "i-%016x", "APN1"},
}

// item returns the generator's i-th line item of n: hour i / (n / hours),
// then the templates in turn over resources.
func item(i, perHour int) curtest.Item {
	hours := int(monthEnd.Sub(month) / time.Hour)
	h, k := (i/perHour)%hours, i%perHour
	t := templates[k%len(templates)]
	res := k / len(templates)
	reg := regions[res%len(regions)]
	ut := reg.code + t.usageType
	if t.to != "" { // inter-region pairs name us-east-1 too
		src, _ := cur.RegionCode(reg.name)
		to := t.to
		if to == src {
			to = "USE1"
		}
		ut = src + "-" + to + "-" + t.usageType
	}
	amount := t.amount * (0.5 + float64((i*2654435761)%1000)/1000)
	start := month.Add(time.Duration(h) * time.Hour)
	id := fmt.Sprintf(t.resource, res)
	if strings.HasPrefix(t.resource, "arn:") {
		id = fmt.Sprintf(t.resource, reg.name, res)
	}
	return curtest.Item{Type: "Usage", UsageType: ut, ProductCode: t.product, ServiceCode: t.product, ResourceID: id,
		Operation: "RunInstances", AZ: reg.name + "a", Start: start, End: start.Add(time.Hour), Amount: amount,
		Cost: amount * t.rate, Region: reg.name, Unit: t.unit,
		Description: fmt.Sprintf("$%g per %s for %s", t.rate, t.unit, t.usageType),
		Tags:        map[string]string{"user:team": fmt.Sprintf("team-%d", res%17)}}
}

func gen(out string, n int, format string, files int) error {
	hours := int(monthEnd.Sub(month) / time.Hour)
	perHour := (n + hours - 1) / hours
	period := month.Format("2006-01")
	dir := filepath.Join(out, "bench-cur", "data", "BILLING_PERIOD="+period)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var uris []string
	for f := range files {
		ext := map[string]string{"parquet": "snappy.parquet", "csv.gz": "csv.gz"}[format]
		name := fmt.Sprintf("bench-cur-%05d.%s", f+1, ext)
		uris = append(uris, "s3://bench-bucket/cur/bench-cur/data/BILLING_PERIOD="+period+"/"+name)
		if err := genFile(filepath.Join(dir, name), format, f*n/files, (f+1)*n/files, perHour); err != nil {
			return err
		}
	}
	meta := filepath.Join(out, "bench-cur", "metadata", "BILLING_PERIOD="+period)
	if err := os.MkdirAll(meta, 0o755); err != nil {
		return err
	}
	m := curtest.Manifest("arn:aws:bcm-data-exports:us-east-1:111122223333:export/bench-cur-0a1b", "bench", uris)
	return os.WriteFile(filepath.Join(meta, "bench-cur-Manifest.json"), m, 0o644)
}

type itemWriter interface {
	Write(curtest.Item) error
	Close() error
}

func genFile(path, format string, from, to, perHour int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var w itemWriter
	if format == "parquet" {
		w = curtest.NewParquetWriter(f)
	} else if w, err = curtest.NewCSVWriter(f, nil); err != nil {
		return err
	}
	for i := from; i < to; i++ {
		if err := w.Write(item(i, perHour)); err != nil {
			return fmt.Errorf("writing %s: %w", path, err)
		}
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return f.Close()
}

func read(loc string, byResource bool) error {
	l, err := cur.ParseLocation(loc)
	if err != nil {
		return err
	}
	start := time.Now()
	var cfg aws.Config
	if strings.HasPrefix(loc, "s3://") { // the SDK's chain: AWS_REGION, AWS_PROFILE, AWS_ENDPOINT_URL
		if cfg, err = awscfg.Load(context.Background(), awscfg.Options{}); err != nil {
			return err
		}
	}
	b, err := cur.NewReader(cfg, nil).Read(context.Background(), l, cur.Options{Start: month, End: monthEnd, ByResource: byResource})
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(map[string]any{"seconds": time.Since(start).Seconds(),
		"line_items": b.LineItems, "rows": len(b.Rows), "total_usd": b.TotalUSD()})
}
