package costmodel

import "github.com/netcost/netcost/internal/flows"

// interRegionUsage prices bytes to another region, directly or beyond a
// NAT gateway: bytes out pay the rate of the (source, destination) pair,
// bytes in are free. An unknown destination pays the source region's
// standard rate.
func interRegionUsage(p *Prices, r *flows.Record) Usage {
	if r.Direction != flows.Egress {
		return Usage{}
	}
	u := Usage{InterRegionOut: r.Bytes}
	u.interRegion.addBytes(r.Bytes, p.InterRegionTo(r.RemoteRegion).USD)
	return u
}
