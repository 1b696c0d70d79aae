package costmodel

import "github.com/netcost/netcost/internal/flows"

// interRegionUsage prices bytes to another region, directly or beyond a
// NAT gateway: bytes out pay the inter-region rate, bytes in are free.
func interRegionUsage(r *flows.Record) Usage {
	if r.Direction == flows.Egress {
		return Usage{InterRegionOut: r.Bytes}
	}
	return Usage{}
}
