package flows

import (
	"fmt"
	"strings"
)

// Category says how AWS bills a record's bytes. The zero value is invalid.
type Category uint8

// Categories, in the order DESIGN.md lists them.
const (
	IntraAZ Category = iota + 1
	InterAZ
	InterVPC
	InterRegion
	AmazonS3
	AmazonDynamoDB
	NATGateway
	Internet
	Unclassified
)

// Categories lists every valid category in order.
var Categories = []Category{IntraAZ, InterAZ, InterVPC, InterRegion, AmazonS3, AmazonDynamoDB, NATGateway, Internet,
	Unclassified}

var categoryNames = [...]struct{ record, cli string }{
	IntraAZ:        {"INTRA_AZ", "intra-az"},
	InterAZ:        {"INTER_AZ", "inter-az"},
	InterVPC:       {"INTER_VPC", "inter-vpc"},
	InterRegion:    {"INTER_REGION", "inter-region"},
	AmazonS3:       {"AMAZON_S3", "s3"},
	AmazonDynamoDB: {"AMAZON_DYNAMODB", "dynamodb"},
	NATGateway:     {"NAT_GATEWAY", "nat"},
	Internet:       {"INTERNET", "internet"},
	Unclassified:   {"UNCLASSIFIED", "unclassified"},
}

func (c Category) valid() bool { return c >= IntraAZ && c <= Unclassified }

// String returns the record name, such as INTER_AZ.
func (c Category) String() string {
	if !c.valid() {
		return fmt.Sprintf("Category(%d)", uint8(c))
	}
	return categoryNames[c].record
}

// CLIName returns the name the CLI uses, such as inter-az.
func (c Category) CLIName() string {
	if !c.valid() {
		return c.String()
	}
	return categoryNames[c].cli
}

// ParseCategory accepts a CLI name (inter-az, s3, nat, ...) or a record name
// (INTER_AZ, AMAZON_S3, NAT_GATEWAY, ...), case-insensitively.
func ParseCategory(s string) (Category, error) {
	for _, c := range Categories {
		n := categoryNames[c]
		if strings.EqualFold(s, n.record) || strings.EqualFold(s, n.cli) {
			return c, nil
		}
	}
	return 0, fmt.Errorf("unknown category %q: want one of %s", s, categoryList())
}

// parseRecordCategory accepts the exact record name only, as records must carry it.
func parseRecordCategory(b []byte) (Category, bool) {
	for _, c := range Categories {
		if string(b) == categoryNames[c].record {
			return c, true
		}
	}
	return 0, false
}

func categoryList() string {
	names := make([]string, len(Categories))
	for i, c := range Categories {
		names[i] = categoryNames[c].cli
	}
	return strings.Join(names, ", ")
}

// MarshalText implements encoding.TextMarshaler.
func (c Category) MarshalText() ([]byte, error) {
	if !c.valid() {
		return nil, fmt.Errorf("invalid category %d", uint8(c))
	}
	return []byte(c.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler. Records carry the record
// name exactly; CLI names are not accepted here.
func (c *Category) UnmarshalText(b []byte) error {
	v, ok := parseRecordCategory(b)
	if !ok {
		return fmt.Errorf("unknown category %q", b)
	}
	*c = v
	return nil
}
