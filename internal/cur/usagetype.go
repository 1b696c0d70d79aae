package cur

import (
	"maps"
	"slices"
	"strings"
)

// Line is a network line of the bill, as DESIGN.md's reconcile contract
// names them.
type Line string

// The network lines of the bill.
const (
	InterAZ        Line = "inter-az"        // <R>-DataTransfer-Regional-Bytes: across AZs, each direction
	NATBytes       Line = "nat-bytes"       // <R>-NatGateway-Bytes: data processed by NAT gateways
	NATHours       Line = "nat-hours"       // <R>-NatGateway-Hours
	InternetOut    Line = "internet-out"    // <R>-DataTransfer-Out-Bytes, not CloudFront's
	InterRegion    Line = "inter-region"    // <SRC>-<DST>-AWS-Out-Bytes, or <SRC>-AWS-Out-Bytes over peering
	VPCEndpoint    Line = "vpc-endpoint"    // <R>-VpcEndpoint-Bytes and -Hours (interface endpoints)
	TransitGateway Line = "transit-gateway" // <R>-TransitGateway-Bytes and -Hours
	PublicIPv4     Line = "public-ipv4"     // <R>-PublicIPv4:InUseAddress and :IdleAddress
)

// Lines returns every line, in the order reports show them.
func Lines() []Line {
	return []Line{InterAZ, NATBytes, NATHours, InternetOut, InterRegion, VPCEndpoint, TransitGateway, PublicIPv4}
}

// regionCodes maps the short region codes of usage types to region names.
// Sources: AWS Region billing codes
// (docs.aws.amazon.com/global-infrastructure/latest/regions/aws-region-billing-codes.html:
// North America, Africa and Asia Pacific as listed there, and EU for
// eu-west-1), whose Europe, Middle East and South America rows match
// Amazon S3's "Understanding your AWS billing and usage reports for Amazon
// S3" (EUC1, EU, EUW2, EUW3, SAE1) and the copies of that page in public
// pricing code (EUN1, EUS1, EUC2, EUS2, MES1, MEC1, ILC1). Beware: ap-south-1
// is APS3, not APS1 (ap-southeast-1), and eu-west-1 is EU, not EUW1.
var regionCodes = map[string]string{
	"USE1": "us-east-1", "USE2": "us-east-2", "USW1": "us-west-1", "USW2": "us-west-2",
	"CAN1": "ca-central-1", "CAN2": "ca-west-1", "MXC1": "mx-central-1",
	"AFS1": "af-south-1",
	"APE1": "ap-east-1", "APE2": "ap-east-2",
	"APN1": "ap-northeast-1", "APN2": "ap-northeast-2", "APN3": "ap-northeast-3",
	"APS1": "ap-southeast-1", "APS2": "ap-southeast-2", "APS3": "ap-south-1", "APS4": "ap-southeast-3",
	"APS5": "ap-south-2", "APS6": "ap-southeast-4", "APS7": "ap-southeast-5", "APS8": "ap-southeast-6",
	"APS9": "ap-southeast-7",
	"EU":   "eu-west-1", "EUW2": "eu-west-2", "EUW3": "eu-west-3", "EUC1": "eu-central-1", "EUC2": "eu-central-2",
	"EUN1": "eu-north-1", "EUS1": "eu-south-1", "EUS2": "eu-south-2",
	"ILC1": "il-central-1", "MEC1": "me-central-1", "MES1": "me-south-1",
	"SAE1": "sa-east-1",
}

// regionPrefixes is regionCodes inverted.
var regionPrefixes = func() map[string]string {
	m := make(map[string]string, len(regionCodes))
	for code, region := range regionCodes {
		m[region] = code
	}
	return m
}()

// RegionCode returns the short code that usage types of region carry
// (USE2 for us-east-2, EU for eu-west-1), and false for a region the table
// lacks. us-east-1's is USE1, which its own usage types mostly omit
// (DataTransfer-Regional-Bytes) but inter-region ones name
// (USE1-USE2-AWS-Out-Bytes).
func RegionCode(region string) (string, bool) {
	code, ok := regionPrefixes[region]
	return code, ok
}

// RegionCodes returns the table of region codes, sorted by code.
func RegionCodes() []string { return slices.Sorted(maps.Keys(regionCodes)) }

// Usage is what a usage type says about a line item.
type Usage struct {
	Line Line
	// Region is where the usage is billed: the usage type's region code
	// translated, us-east-1 when it has none. For inter-region, the
	// source. A code the table lacks is kept as it is (MXC9).
	Region string
	// To is the destination of inter-region usage; empty over VPC peering,
	// whose usage types (USE2-AWS-Out-Bytes) name no destination.
	To string
	// Hours is true for usage measured in hours (NAT, endpoint and
	// attachment hours, public IPv4 address-hours), false for GB.
	Hours bool
}

// usageBase is a usage type without its region code.
type usageBase struct {
	suffix string
	line   Line
	hours  bool
}

// bases are the usage types of the network lines, by their region-free
// suffix. Sources: "Understanding data transfer charges" in the CUR user
// guide (docs.aws.amazon.com/cur/latest/userguide/cur-data-transfers-charges.html)
// for DataTransfer-Regional-Bytes and the inter-region AWS-Out-Bytes; "Understand
// codes for Amazon VPC in billing and usage reports"
// (docs.aws.amazon.com/vpc/latest/userguide/vpc-billing-usage-reports.html)
// for PublicIPv4, VpcEndpoint and TransitGateway; the AmazonEC2 price list
// for NatGateway-Bytes and -Hours (costmodel/prices.json, sources S1, S2).
var bases = []usageBase{
	{"DataTransfer-Regional-Bytes", InterAZ, false},
	{"DataTransfer-Out-Bytes", InternetOut, false},
	{"NatGateway-Bytes", NATBytes, false},
	{"NatGateway-Hours", NATHours, true},
	{"VpcEndpoint-Bytes", VPCEndpoint, false},
	{"VpcEndpoint-Hours", VPCEndpoint, true},
	{"TransitGateway-Bytes", TransitGateway, false},
	{"TransitGateway-Hours", TransitGateway, true},
	{"PublicIPv4:InUseAddress", PublicIPv4, true},
	{"PublicIPv4:IdleAddress", PublicIPv4, true},
}

// interRegionSuffix ends the usage types of bytes out to another region;
// the bytes into the destination (-AWS-In-Bytes) are free and not a line.
const interRegionSuffix = "-AWS-Out-Bytes"

// cloudFront is the product code of CloudFront, whose usage types name
// edge locations with two letters (US-, JP-, and EU-, which is also
// eu-west-1's code): EU-DataTransfer-Out-Bytes is CloudFront serving
// viewers in Europe when its product is AmazonCloudFront, and an instance
// in Ireland sending to the internet otherwise.
const cloudFront = "AmazonCloudFront"

// Classify returns the line a usage type belongs to, with its region (and
// for inter-region its destination), and false when it is none of the
// network lines. productCode (line_item_product_code) tells CloudFront's
// own DataTransfer-Out-Bytes apart; data transfer itself is billed under
// AWSDataTransfer or under the service whose resource moved the bytes
// (AmazonEC2, AmazonRDS, AmazonS3...), so no other product is excluded.
func Classify(usageType, productCode string) (Usage, bool) {
	if strings.HasSuffix(usageType, interRegionSuffix) {
		codes := strings.Split(strings.TrimSuffix(usageType, interRegionSuffix), "-")
		switch {
		case len(codes) == 1 && codes[0] != "":
			return Usage{Line: InterRegion, Region: regionOf(codes[0])}, true
		case len(codes) == 2 && codes[0] != "" && codes[1] != "":
			return Usage{Line: InterRegion, Region: regionOf(codes[0]), To: regionOf(codes[1])}, true
		}
		return Usage{}, false
	}
	for _, b := range bases {
		if !strings.HasSuffix(usageType, b.suffix) {
			continue
		}
		code := strings.TrimSuffix(usageType, b.suffix)
		if code != "" {
			var ok bool
			if code, ok = strings.CutSuffix(code, "-"); !ok || code == "" || strings.Contains(code, "-") {
				return Usage{}, false
			}
		}
		if b.line == InternetOut && productCode == cloudFront {
			return Usage{}, false
		}
		return Usage{Line: b.line, Region: regionOf(code), Hours: b.hours}, true
	}
	return Usage{}, false
}

// regionOf translates a usage type's region code; none is us-east-1.
func regionOf(code string) string {
	if code == "" {
		return "us-east-1"
	}
	if r, ok := regionCodes[code]; ok {
		return r
	}
	return code
}

// UsageTypes returns the usage types of line in region, as the bill writes
// them: with the region's code, or without one in us-east-1. For
// inter-region they are the types of bytes out of region to each of to.
func UsageTypes(line Line, region string, to ...string) []string {
	code, ok := RegionCode(region)
	if !ok {
		return nil
	}
	if line == InterRegion {
		var out []string
		for _, dst := range to {
			if dc, ok := RegionCode(dst); ok {
				out = append(out, code+"-"+dc+interRegionSuffix)
			}
		}
		return out
	}
	prefix := code + "-"
	if region == "us-east-1" {
		prefix = ""
	}
	var out []string
	for _, b := range bases {
		if b.line == line {
			out = append(out, prefix+b.suffix)
		}
	}
	return out
}
