package ipranges

import (
	"net/netip"
	"strings"
	"testing"
)

// A small ip-ranges.json written for these tests, in the published format.
const fixture = `{
  "syncToken": "1763700000",
  "createDate": "2026-11-21-05-12-00",
  "prefixes": [
    {"ip_prefix": "52.216.0.0/15", "region": "us-east-1", "service": "AMAZON", "network_border_group": "us-east-1"},
    {"ip_prefix": "52.216.0.0/15", "region": "us-east-1", "service": "S3", "network_border_group": "us-east-1"},
    {"ip_prefix": "3.218.180.0/22", "region": "us-east-1", "service": "DYNAMODB", "network_border_group": "us-east-1"},
    {"ip_prefix": "3.208.0.0/12", "region": "us-east-1", "service": "AMAZON", "network_border_group": "us-east-1"},
    {"ip_prefix": "3.208.0.0/12", "region": "us-east-1", "service": "EC2", "network_border_group": "us-east-1"},
    {"ip_prefix": "52.46.128.0/19", "region": "us-east-1", "service": "AMAZON", "network_border_group": "us-east-1"},
    {"ip_prefix": "3.5.64.0/21", "region": "eu-west-1", "service": "S3", "network_border_group": "eu-west-1"}
  ],
  "ipv6_prefixes": [
    {"ipv6_prefix": "2600:1f18::/33", "region": "us-east-1", "service": "EC2", "network_border_group": "us-east-1"}
  ]
}`

func TestLookup(t *testing.T) {
	r, err := Parse(strings.NewReader(fixture))
	if err != nil {
		t.Fatal(err)
	}
	if r.SyncToken != "1763700000" || r.Len() != 6 {
		t.Errorf("SyncToken %q, %d prefixes; want 1763700000, 6 distinct", r.SyncToken, r.Len())
	}
	tests := []struct {
		ip   string
		want Owner
		ok   bool
	}{
		{"52.216.8.43", Owner{"S3", "us-east-1"}, true},         // S3 beats AMAZON on the same prefix
		{"3.218.182.189", Owner{"DYNAMODB", "us-east-1"}, true}, // the longer prefix inside EC2's
		{"3.210.1.1", Owner{"EC2", "us-east-1"}, true},          // EC2 beats AMAZON
		{"52.46.151.20", Owner{"AMAZON", "us-east-1"}, true},    // SQS and friends: AMAZON only
		{"3.5.64.9", Owner{"S3", "eu-west-1"}, true},
		{"::ffff:52.216.8.43", Owner{"S3", "us-east-1"}, true},
		{"2600:1f18::1", Owner{"EC2", "us-east-1"}, true},
		{"185.166.143.10", Owner{}, false},
		{"10.0.1.5", Owner{}, false},
	}
	for _, tt := range tests {
		got, ok := r.Lookup(netip.MustParseAddr(tt.ip))
		if got != tt.want || ok != tt.ok {
			t.Errorf("Lookup(%s) = %+v, %v; want %+v, %v", tt.ip, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, tt := range []struct{ doc, want string }{
		{`{"syncToken":"1","prefixes":[{"ip_prefix":"52.216.0.0/33","region":"us-east-1","service":"S3"}]}`, `prefixes[0]: "52.216.0.0/33" is not a prefix`},
		{`{"syncToken":"1","prefixes":[{"ip_prefix":"52.216.0.0/15","service":"S3"}]}`, "prefixes[0] (52.216.0.0/15): missing service or region"},
		{`{"syncToken":"1","ipv6_prefixes":[{"ipv6_prefix":"zz::/32","region":"r","service":"S3"}]}`, `ipv6_prefixes[0]: "zz::/32"`},
		{`{"prefixes":[]}`, "no syncToken"},
		{`{"syncToken":"1"}`, "no prefixes"},
		{`<html>`, "reading ip-ranges"},
	} {
		if _, err := Parse(strings.NewReader(tt.doc)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%s) error = %v; want %q", tt.doc, err, tt.want)
		}
	}
}
