package costmodel

import (
	"maps"
	"slices"
	"strings"

	"github.com/netcost/netcost/internal/flows"
)

// Fee is an hourly fee of a hop the records name: shown beside the per-byte
// costs, never spread over them.
type Fee struct {
	Resource string  `json:"resource"`        // nat-..., vpce-..., tgw-...
	What     string  `json:"what"`            // what is billed by the hour
	AZID     string  `json:"az_id,omitempty"` // a zonal NAT gateway's AZ
	Count    int     `json:"count"`           // how many of What: AZs, addresses, attachments
	PerHour  float64 `json:"usd_per_hour"`    // each
	USD      float64 `json:"usd"`             // all of them, for the window
}

// hop is what the records say of a billed hop: its region and the AZs it
// serves (a NAT gateway's or an endpoint's via_az_id; the clients' AZs
// where an endpoint's records do not say).
type hop struct {
	region    string
	azs       map[string]bool
	clientAZs map[string]bool
}

// noteHop remembers the hop a record's bytes pass, for Fees.
func (a *Aggregator) noteHop(r *flows.Record) {
	if r.Via == "" || !(r.ViaNAT() || r.ViaEndpoint() && !gatewayCategory(r.Category) || strings.HasPrefix(r.Via, "tgw-")) {
		return
	}
	h := a.hops[r.Via]
	if h == nil {
		h = &hop{region: clonestr(r.Region), azs: map[string]bool{}, clientAZs: map[string]bool{}}
		a.hops[clonestr(r.Via)] = h
	}
	if r.ViaAZID != "" && !h.azs[r.ViaAZID] {
		h.azs[clonestr(r.ViaAZID)] = true
	}
	if r.LocalAZID != "" && !h.clientAZs[r.LocalAZID] {
		h.clientAZs[clonestr(r.LocalAZID)] = true
	}
}

// mergeHops adds the hops of b into a.
func mergeHops(a, b map[string]*hop) {
	for id, bh := range b {
		if ah := a[id]; ah != nil {
			maps.Copy(ah.azs, bh.azs)
			maps.Copy(ah.clientAZs, bh.clientAZs)
		} else {
			a[id] = bh
		}
	}
}

// Fees returns the hourly fees of the hops the records pass, for a window
// of hours:
//   - a NAT gateway: its hours and its public IPv4 address; one that the
//     records place in several AZs is a regional NAT gateway, billed per
//     AZ, with an address in each;
//   - an interface endpoint: its AZ-hours, in the AZs its records name
//     (else the AZs of its clients, each of which resolves the endpoint in
//     its own AZ);
//   - a transit gateway: the attachment hours of the cluster's VPC and,
//     unless Options.TGWPeerExternal, of the VPC across.
func (a *Aggregator) Fees(hours float64) []Fee {
	var fees []Fee
	for _, id := range slices.Sorted(maps.Keys(a.hops)) {
		h := a.hops[id]
		p, err := a.m.prices(h.region)
		if err != nil {
			continue
		}
		add := func(what string, count int, pr Price, az string) {
			fees = append(fees, Fee{Resource: id, What: what, AZID: az, Count: count, PerHour: pr.USD,
				USD: float64(count) * pr.USD * hours})
		}
		azs := slices.Sorted(maps.Keys(h.azs))
		switch {
		case strings.HasPrefix(id, "nat-") && len(azs) > 1:
			add("regional NAT gateway, per AZ ("+strings.Join(azs, ", ")+")", len(azs), p.RegionalNATPerAZHour, "")
			add("public IPv4 addresses, one per AZ", len(azs), p.PublicIPv4PerHour, "")
		case strings.HasPrefix(id, "nat-"):
			az := ""
			if len(azs) == 1 {
				az = azs[0]
			}
			add("NAT gateway", 1, p.NATPerHour, az)
			add("public IPv4 address", 1, p.PublicIPv4PerHour, az)
		case strings.HasPrefix(id, "vpce-"):
			if len(azs) == 0 {
				azs = slices.Sorted(maps.Keys(h.clientAZs))
			}
			add("interface endpoint, per AZ", max(1, len(azs)), p.EndpointPerAZHour, "")
		case strings.HasPrefix(id, "tgw-"):
			n := 2
			if a.m.opt.TGWPeerExternal {
				n = 1
			}
			add("transit gateway attachments", n, p.TGWAttachmentPerHour, "")
		}
	}
	return fees
}
