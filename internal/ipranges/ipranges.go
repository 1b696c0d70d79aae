// Package ipranges reads AWS's published IP address ranges (ip-ranges.json)
// and says which AWS service and region own an address.
package ipranges

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"

	"github.com/gaissmai/bart"
)

// Owner is the AWS service and region an address belongs to. Service is the
// most specific one that lists the address: S3 or DYNAMODB before other
// services, EC2 after them, and AMAZON (every AWS address) last.
type Owner struct {
	Service string
	Region  string
}

// Ranges answers ownership lookups. It is safe for concurrent lookups.
type Ranges struct {
	SyncToken  string
	CreateDate string
	table      bart.Table[Owner]
}

type document struct {
	SyncToken  string `json:"syncToken"`
	CreateDate string `json:"createDate"`
	Prefixes   []struct {
		IPPrefix string `json:"ip_prefix"`
		Region   string `json:"region"`
		Service  string `json:"service"`
	} `json:"prefixes"`
	IPv6Prefixes []struct {
		IPv6Prefix string `json:"ipv6_prefix"`
		Region     string `json:"region"`
		Service    string `json:"service"`
	} `json:"ipv6_prefixes"`
}

// ErrEmpty is returned for a document without prefixes.
var ErrEmpty = errors.New("ip-ranges: no prefixes")

// rank orders services from most to least specific.
func rank(service string) int {
	switch service {
	case "S3", "DYNAMODB":
		return 0
	case "EC2":
		return 2
	case "AMAZON":
		return 3
	}
	return 1
}

// Parse reads an ip-ranges.json document. A malformed prefix or entry is an
// error naming it: a half-read table would misclassify silently.
func Parse(r io.Reader) (*Ranges, error) {
	var doc document
	if err := json.NewDecoder(r).Decode(&doc); err != nil {
		return nil, fmt.Errorf("reading ip-ranges: %w", err)
	}
	if doc.SyncToken == "" {
		return nil, errors.New("reading ip-ranges: no syncToken: not an ip-ranges.json document")
	}
	rg := &Ranges{SyncToken: doc.SyncToken, CreateDate: doc.CreateDate}
	add := func(i int, field, prefix, region, service string) error {
		p, err := netip.ParsePrefix(prefix)
		if err != nil {
			return fmt.Errorf("reading ip-ranges: %s[%d]: %q is not a prefix", field, i, prefix)
		}
		if service == "" || region == "" {
			return fmt.Errorf("reading ip-ranges: %s[%d] (%s): missing service or region", field, i, prefix)
		}
		o := Owner{Service: strings.ToUpper(service), Region: region}
		rg.table.Modify(p.Masked(), func(old Owner, ok bool) (Owner, bool) {
			if ok && rank(old.Service) <= rank(o.Service) {
				return old, false
			}
			return o, false
		})
		return nil
	}
	for i, p := range doc.Prefixes {
		if err := add(i, "prefixes", p.IPPrefix, p.Region, p.Service); err != nil {
			return nil, err
		}
	}
	for i, p := range doc.IPv6Prefixes {
		if err := add(i, "ipv6_prefixes", p.IPv6Prefix, p.Region, p.Service); err != nil {
			return nil, err
		}
	}
	if rg.table.Size() == 0 {
		return nil, ErrEmpty
	}
	return rg, nil
}

// Lookup returns the owner of the longest listed prefix holding a.
func (r *Ranges) Lookup(a netip.Addr) (Owner, bool) {
	return r.table.Lookup(a.Unmap())
}

// Len is the number of distinct prefixes.
func (r *Ranges) Len() int { return r.table.Size() }
