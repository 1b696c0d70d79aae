package cur_test

import (
	"strings"
	"testing"
	"time"

	"github.com/netcost/netcost/internal/cur"
	"github.com/netcost/netcost/internal/cur/curtest"
)

// The fixture: an hourly CUR 2.0 export, "netcost-cur", holding September
// and October 2026, read over [Oct 1, Oct 3).
var (
	winStart = time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	winEnd   = time.Date(2026, 10, 3, 0, 0, 0, 0, time.UTC)
)

// hour returns the hour of October 2026 at day d, hour h.
func hour(d, h int) (time.Time, time.Time) {
	s := time.Date(2026, 10, d, h, 0, 0, 0, time.UTC)
	return s, s.Add(time.Hour)
}

func hourly(ut, product, resource string, d, h int, amount, cost float64) curtest.Item {
	s, e := hour(d, h)
	return curtest.Item{Type: "Usage", UsageType: ut, ProductCode: product, ResourceID: resource, Start: s, End: e,
		Amount: amount, Cost: cost}
}

const natARN = "arn:aws:ec2:us-east-1:111122223333:natgateway/nat-0123"

// octoberItems are the current line items of October. The figures the
// tests expect are summed from these by hand, in fixtureBill.
func octoberItems() []curtest.Item {
	tax := curtest.Item{Type: "Tax", ProductCode: "AWSDataTransfer", Cost: 1.23,
		Start: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}
	credit := hourly("", "AmazonEC2", "", 1, 5, 0, -5)
	credit.Type, credit.Description = "Credit", `AWS Activate credit, "startup" tier`
	refund := hourly("NatGateway-Bytes", "AmazonEC2", natARN, 1, 5, 0, -0.45)
	refund.Type = "Refund"
	natDay := curtest.Item{Type: "Usage", UsageType: "USE2-NatGateway-Hours", ProductCode: "AmazonEC2",
		ResourceID: "nat-0456", Start: time.Date(2026, 10, 2, 12, 0, 0, 0, time.UTC),
		End: time.Date(2026, 10, 3, 12, 0, 0, 0, time.UTC), Amount: 24, Cost: 1.08}
	items := []curtest.Item{
		// us-east-1, no prefix; inter-AZ under both product codes, on
		// two days.
		hourly("DataTransfer-Regional-Bytes", "AWSDataTransfer", "i-0aaa", 1, 5, 10, 0.10),
		hourly("DataTransfer-Regional-Bytes", "AmazonEC2", "i-0bbb", 2, 13, 5, 0.05),
		hourly("NatGateway-Bytes", "AmazonEC2", natARN, 1, 5, 100, 4.50),
		hourly("NatGateway-Hours", "AmazonEC2", natARN, 1, 5, 1, 0.045),
		hourly("DataTransfer-Out-Bytes", "AWSDataTransfer", "i-0aaa", 1, 5, 50, 4.50),
		hourly("USE1-USE2-AWS-Out-Bytes", "AWSDataTransfer", "i-0aaa", 2, 13, 20, 0.20),
		hourly("USE1-USE2-AWS-In-Bytes", "AWSDataTransfer", "i-0aaa", 2, 13, 20, 0),
		hourly("VpcEndpoint-Bytes", "AmazonVPC", "vpce-0abc", 1, 5, 30, 0.30),
		hourly("VpcEndpoint-Hours", "AmazonVPC", "vpce-0abc", 1, 5, 3, 0.03),
		hourly("TransitGateway-Bytes", "AmazonVPC", "tgw-attach-0a", 1, 5, 8, 0.16),
		hourly("TransitGateway-Hours", "AmazonVPC", "tgw-attach-0a", 1, 5, 1, 0.05),
		hourly("PublicIPv4:InUseAddress", "AmazonVPC", "eipalloc-0a", 1, 5, 1, 0.005),
		hourly("PublicIPv4:IdleAddress", "AmazonVPC", "eipalloc-0b", 1, 5, 2, 0.01),
		tax, credit, refund,
		// CloudFront's EU edge, not eu-west-1.
		hourly("EU-DataTransfer-Out-Bytes", "AmazonCloudFront", "E2ABC", 1, 5, 40, 3.40),
		// The hour after the window: only the month's egress volume.
		hourly("DataTransfer-Out-Bytes", "AWSDataTransfer", "i-0aaa", 3, 0, 25, 2.25),
		// A day-long line item, half in the window.
		natDay,
		// Regions with a prefix.
		hourly("USE2-DataTransfer-Regional-Bytes", "AWSDataTransfer", "i-0ccc", 1, 5, 4, 0.04),
		hourly("EU-DataTransfer-Out-Bytes", "AWSDataTransfer", "i-0ddd", 2, 13, 10, 0.90),
		hourly("EU-NatGateway-Bytes", "AmazonEC2", "arn:aws:ec2:eu-west-1:111122223333:natgateway/nat-0eu", 1, 5, 20, 0.96),
		hourly("APS3-DataTransfer-Regional-Bytes", "AWSDataTransfer", "i-0eee", 1, 5, 3, 0.03),
		hourly("USE2-AWS-Out-Bytes", "AmazonEC2", "pcx-0a", 1, 5, 6, 0.06),
		// Not a network line.
		hourly("BoxUsage:m5.large", "AmazonEC2", "i-0aaa", 1, 5, 1, 0.096),
	}
	regions := map[string]string{"USE2": "us-east-2", "EU": "eu-west-1", "APS3": "ap-south-1"}
	for i, it := range items {
		// product_region_code, as a real bill has it; CloudFront is global.
		code, _, _ := strings.Cut(it.UsageType, "-")
		switch {
		case it.ProductCode == "AmazonCloudFront":
		case regions[code] != "":
			items[i].Region = regions[code]
		default:
			items[i].Region = "us-east-1"
		}
	}
	return items
}

// fixtureLineItems is how many line items of October fall in the window:
// all 25 but the one of Oct 3, 00:00.
const fixtureLineItems = 24

// fixture returns the export with its data files in format ext (parquet
// or csv.gz). October was rewritten by a new execution: the old one's
// file, which would double the NAT bytes, is still there, and the
// manifest names the new files. September has one execution and no
// manifest.
func fixture(ext string) curtest.Export {
	oct := octoberItems()
	stale := []curtest.Item{
		hourly("NatGateway-Bytes", "AmazonEC2", natARN, 1, 5, 999, 44.955),
		hourly("DataTransfer-Regional-Bytes", "AWSDataTransfer", "i-0aaa", 1, 5, 1000, 10),
	}
	sep := []curtest.Item{{Type: "Usage", UsageType: "DataTransfer-Out-Bytes", ProductCode: "AWSDataTransfer",
		Start: time.Date(2026, 9, 15, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 9, 15, 1, 0, 0, 0, time.UTC),
		Amount: 1000, Cost: 90}}
	return curtest.Export{
		Name: "netcost-cur",
		Files: []curtest.DataFile{
			{Period: "2026-09", Path: "netcost-cur-00001." + ext, Items: sep},
			{Period: "2026-10", Path: "exec-old/netcost-cur-00001." + ext, Items: stale},
			{Period: "2026-10", Path: "exec-new/netcost-cur-00001." + ext, Items: oct[:12]},
			{Period: "2026-10", Path: "exec-new/netcost-cur-00002." + ext, Items: oct[12:]},
		},
		Manifests: map[string][]string{"2026-10": {"exec-new/netcost-cur-00001." + ext, "exec-new/netcost-cur-00002." + ext}},
	}
}

// fixtureRows are the rows of the fixture's bill, summed by hand.
var fixtureRows = []cur.Row{
	{Key: cur.Key{Region: "ap-south-1", Line: cur.InterAZ}, Amount: cur.Amount{GB: 3, USD: 0.03, Items: 1}},
	{Key: cur.Key{Region: "eu-west-1", Line: cur.NATBytes}, Amount: cur.Amount{GB: 20, USD: 0.96, Items: 1}},
	// 10 GB from i-0ddd; CloudFront's 40 GB at its EU edge are not here.
	{Key: cur.Key{Region: "eu-west-1", Line: cur.InternetOut}, Amount: cur.Amount{GB: 10, USD: 0.90, Items: 1}},
	// 10 GB (Oct 1, AWSDataTransfer) + 5 GB (Oct 2, AmazonEC2); the stale
	// execution's 1000 GB are not read.
	{Key: cur.Key{Region: "us-east-1", Line: cur.InterAZ}, Amount: cur.Amount{GB: 15, USD: 0.15, Items: 2}},
	// 100 GB, not 100 + 999 from the stale file; the refund is apart.
	{Key: cur.Key{Region: "us-east-1", Line: cur.NATBytes}, Amount: cur.Amount{GB: 100, USD: 4.50, Items: 1}},
	{Key: cur.Key{Region: "us-east-1", Line: cur.NATHours}, Amount: cur.Amount{Hours: 1, USD: 0.045, Items: 1}},
	// 50 GB on Oct 1; the 25 GB of Oct 3 are outside the window.
	{Key: cur.Key{Region: "us-east-1", Line: cur.InternetOut}, Amount: cur.Amount{GB: 50, USD: 4.50, Items: 1}},
	// Out to us-east-2 only; the 20 GB in are free.
	{Key: cur.Key{Region: "us-east-1", Line: cur.InterRegion, To: "us-east-2"},
		Amount: cur.Amount{GB: 20, USD: 0.20, Items: 1}},
	// 30 GB processed + 3 endpoint AZ-hours: $0.30 + $0.03.
	{Key: cur.Key{Region: "us-east-1", Line: cur.VPCEndpoint}, Amount: cur.Amount{GB: 30, Hours: 3, USD: 0.33, Items: 2}},
	// 8 GB + 1 attachment-hour: $0.16 + $0.05.
	{Key: cur.Key{Region: "us-east-1", Line: cur.TransitGateway},
		Amount: cur.Amount{GB: 8, Hours: 1, USD: 0.21, Items: 2}},
	// 1 in-use + 2 idle address-hours: $0.005 + $0.01.
	{Key: cur.Key{Region: "us-east-1", Line: cur.PublicIPv4}, Amount: cur.Amount{Hours: 3, USD: 0.015, Items: 2}},
	{Key: cur.Key{Region: "us-east-2", Line: cur.InterAZ}, Amount: cur.Amount{GB: 4, USD: 0.04, Items: 1}},
	// 24 NAT-hours from Oct 2, 12:00 to Oct 3, 12:00: half in the window,
	// 12 h and $1.08 / 2.
	{Key: cur.Key{Region: "us-east-2", Line: cur.NATHours}, Amount: cur.Amount{Hours: 12, USD: 0.54, Items: 1}},
	// Over VPC peering: no destination.
	{Key: cur.Key{Region: "us-east-2", Line: cur.InterRegion}, Amount: cur.Amount{GB: 6, USD: 0.06, Items: 1}},
}

// fixtureApart: the refund on NAT bytes.
var fixtureApart = []cur.Apart{{Type: "Refund", Region: "us-east-1", Line: cur.NATBytes,
	Amount: cur.Amount{USD: -0.45, Items: 1}}}

// fixtureEgress: October's internet-out volume, the whole month (the
// 25 GB after the window too): us-east-1 50 + 25, eu-west-1 10.
// September is not read: the window is in October.
var fixtureEgress = []cur.Volume{{Period: "2026-10", Region: "eu-west-1", GB: 10},
	{Period: "2026-10", Region: "us-east-1", GB: 75}}

// checkFixtureBill compares a bill read from the fixture with the
// figures summed by hand.
// lineItems is how many line items the reader saw in the window.
func checkFixtureBill(t *testing.T, b *cur.Bill, lineItems int64) {
	t.Helper()
	checkRows(t, b.Rows, fixtureRows)
	if len(b.Apart) != 1 || b.Apart[0].Type != "Refund" || b.Apart[0].Line != cur.NATBytes ||
		b.Apart[0].Region != "us-east-1" || !near(b.Apart[0].USD, -0.45) {
		t.Errorf("Apart = %+v; want %+v", b.Apart, fixtureApart)
	}
	if !near(b.CreditsUSD, -5) {
		t.Errorf("CreditsUSD = %v; want -5", b.CreditsUSD)
	}
	if len(b.Egress) != len(fixtureEgress) {
		t.Errorf("Egress = %+v; want %+v", b.Egress, fixtureEgress)
	} else {
		for i, v := range fixtureEgress {
			if g := b.Egress[i]; g.Period != v.Period || g.Region != v.Region || !near(g.GB, v.GB) {
				t.Errorf("Egress[%d] = %+v; want %+v", i, g, v)
			}
		}
	}
	if gb, p := b.EgressGB("us-east-1"); !near(gb, 75) || p != "2026-10" {
		t.Errorf("EgressGB(us-east-1) = %v, %q; want 75, 2026-10", gb, p)
	}
	if b.LineItems != lineItems || b.Prorated != 1 {
		t.Errorf("LineItems, Prorated = %d, %d; want %d, 1", b.LineItems, b.Prorated, lineItems)
	}
	// $0.03 + 0.96 + 0.90 + 0.15 + 4.50 + 0.045 + 4.50 + 0.20 + 0.33 + 0.21
	// + 0.015 + 0.04 + 0.54 + 0.06
	if !near(b.TotalUSD(), 12.48) {
		t.Errorf("TotalUSD = %v; want 12.48", b.TotalUSD())
	}
}

func checkRows(t *testing.T, got, want []cur.Row) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%d rows; want %d:\n got %+v\nwant %+v", len(got), len(want), got, want)
		return
	}
	for i, w := range want {
		g := got[i]
		if g.Key != w.Key || !near(g.GB, w.GB) || !near(g.Hours, w.Hours) || !near(g.USD, w.USD) || g.Items != w.Items {
			t.Errorf("row %d = %+v; want %+v", i, g, w)
		}
	}
}

func near(a, b float64) bool {
	d := a - b
	return d < 1e-9 && d > -1e-9
}
