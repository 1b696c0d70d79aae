package cur_test

import (
	"slices"
	"testing"

	"github.com/netcost/netcost/costmodel"
	"github.com/netcost/netcost/internal/cur"
)

// TestRegionCodeEveryPricedRegion: every region netcost prices has the code
// its usage types carry, as AWS's "Region billing codes" page lists it.
// The want column is copied from that page, not from the code under test.
func TestRegionCodeEveryPricedRegion(t *testing.T) {
	want := map[string]string{
		"us-east-1": "USE1", "us-east-2": "USE2", "us-west-1": "USW1", "us-west-2": "USW2",
		"ca-central-1": "CAN1", "eu-west-1": "EU", "eu-west-2": "EUW2", "eu-west-3": "EUW3",
		"eu-central-1": "EUC1", "eu-north-1": "EUN1", "eu-south-1": "EUS1", "ap-south-1": "APS3",
		"ap-southeast-1": "APS1", "ap-southeast-2": "APS2", "ap-northeast-1": "APN1", "ap-northeast-2": "APN2",
		"ap-northeast-3": "APN3", "sa-east-1": "SAE1", "me-south-1": "MES1", "af-south-1": "AFS1",
	}
	regions := costmodel.DefaultTable().RegionNames()
	if len(regions) < 20 {
		t.Fatalf("the price table has %d regions; want at least the 20 this test knows", len(regions))
	}
	for _, region := range regions {
		w, ok := want[region]
		if !ok {
			t.Errorf("the price table has %s, which this test has no billing code for: add it from AWS's page", region)
			continue
		}
		if got, ok := cur.RegionCode(region); !ok || got != w {
			t.Errorf("RegionCode(%s) = %q, %v; want %q", region, got, ok, w)
		}
		// Every line's usage types, as the bill writes them in this
		// region, classify back to the line and the region.
		for _, line := range cur.Lines() {
			types := cur.UsageTypes(line, region, "eu-central-1")
			if len(types) == 0 {
				t.Errorf("UsageTypes(%s, %s) is empty", line, region)
			}
			for _, ut := range types {
				u, ok := cur.Classify(ut, "AWSDataTransfer")
				if !ok || u.Line != line || u.Region != region {
					t.Errorf("Classify(%q) = %+v, %v; want %s in %s", ut, u, ok, line, region)
				}
				if line == cur.InterRegion && u.To != "eu-central-1" {
					t.Errorf("Classify(%q).To = %q; want eu-central-1", ut, u.To)
				}
			}
		}
	}
}

func TestClassify(t *testing.T) {
	for _, c := range []struct {
		usageType, product string
		want               cur.Usage
		ok                 bool
	}{
		// us-east-1 carries no prefix on its own usage types...
		{"DataTransfer-Regional-Bytes", "AWSDataTransfer", cur.Usage{Line: cur.InterAZ, Region: "us-east-1"}, true},
		{"NatGateway-Hours", "AmazonEC2", cur.Usage{Line: cur.NATHours, Region: "us-east-1", Hours: true}, true},
		{"PublicIPv4:IdleAddress", "AmazonVPC", cur.Usage{Line: cur.PublicIPv4, Region: "us-east-1", Hours: true}, true},
		// ... but may, and names USE1 in pairs.
		{"USE1-DataTransfer-Regional-Bytes", "AmazonEC2", cur.Usage{Line: cur.InterAZ, Region: "us-east-1"}, true},
		{"USE1-USE2-AWS-Out-Bytes", "AWSDataTransfer",
			cur.Usage{Line: cur.InterRegion, Region: "us-east-1", To: "us-east-2"}, true},
		// The codes that are easy to get wrong.
		{"APS3-DataTransfer-Regional-Bytes", "AWSDataTransfer", cur.Usage{Line: cur.InterAZ, Region: "ap-south-1"}, true},
		{"APS1-NatGateway-Bytes", "AmazonEC2", cur.Usage{Line: cur.NATBytes, Region: "ap-southeast-1"}, true},
		{"EU-DataTransfer-Out-Bytes", "AWSDataTransfer", cur.Usage{Line: cur.InternetOut, Region: "eu-west-1"}, true},
		{"EUW2-VpcEndpoint-Hours", "AmazonVPC", cur.Usage{Line: cur.VPCEndpoint, Region: "eu-west-2", Hours: true}, true},
		{"EUC1-TransitGateway-Bytes", "AmazonVPC", cur.Usage{Line: cur.TransitGateway, Region: "eu-central-1"}, true},
		// CloudFront's edge location EU is not eu-west-1.
		{"EU-DataTransfer-Out-Bytes", "AmazonCloudFront", cur.Usage{}, false},
		{"US-DataTransfer-Out-Bytes", "AmazonCloudFront", cur.Usage{}, false},
		// Inter-region: bytes out bill, bytes in do not; peering names no
		// destination.
		{"USE2-APS3-AWS-Out-Bytes", "AWSDataTransfer",
			cur.Usage{Line: cur.InterRegion, Region: "us-east-2", To: "ap-south-1"}, true},
		{"APS3-USE2-AWS-In-Bytes", "AWSDataTransfer", cur.Usage{}, false},
		{"USE2-AWS-Out-Bytes", "AmazonEC2", cur.Usage{Line: cur.InterRegion, Region: "us-east-2"}, true},
		// A code the table does not know yet is kept as the bill writes it.
		{"XYZ9-NatGateway-Bytes", "AmazonEC2", cur.Usage{Line: cur.NATBytes, Region: "XYZ9"}, true},
		// Not network lines.
		{"BoxUsage:m5.large", "AmazonEC2", cur.Usage{}, false},
		{"USE2-DataTransfer-xAZ-In-Bytes", "AmazonMSK", cur.Usage{}, false},
		{"DataTransfer-In-Bytes", "AWSDataTransfer", cur.Usage{}, false},
		{"USE1-USE2-DataTransfer-Regional-Bytes", "AWSDataTransfer", cur.Usage{}, false},
		{"-DataTransfer-Regional-Bytes", "AWSDataTransfer", cur.Usage{}, false},
		{"-AWS-Out-Bytes", "AWSDataTransfer", cur.Usage{}, false},
		{"USE1-USE2-EUC1-AWS-Out-Bytes", "AWSDataTransfer", cur.Usage{}, false},
		{"", "", cur.Usage{}, false},
	} {
		got, ok := cur.Classify(c.usageType, c.product)
		if got != c.want || ok != c.ok {
			t.Errorf("Classify(%q, %q) = %+v, %v; want %+v, %v", c.usageType, c.product, got, ok, c.want, c.ok)
		}
	}
}

func TestUsageTypes(t *testing.T) {
	for _, c := range []struct {
		line   cur.Line
		region string
		to     []string
		want   []string
	}{
		{cur.InterAZ, "us-east-1", nil, []string{"DataTransfer-Regional-Bytes"}},
		{cur.VPCEndpoint, "eu-west-1", nil, []string{"EU-VpcEndpoint-Bytes", "EU-VpcEndpoint-Hours"}},
		{cur.InterRegion, "us-east-1", []string{"us-east-2"}, []string{"USE1-USE2-AWS-Out-Bytes"}},
		{cur.InterAZ, "mars-north-1", nil, nil},
	} {
		if got := cur.UsageTypes(c.line, c.region, c.to...); !slices.Equal(got, c.want) {
			t.Errorf("UsageTypes(%s, %s, %v) = %v; want %v", c.line, c.region, c.to, got, c.want)
		}
	}
}
