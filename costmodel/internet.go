package costmodel

import "github.com/netcost/netcost/internal/flows"

// internetUsage prices bytes to the internet, through the internet gateway
// or beyond a NAT gateway: bytes out pay internet egress, bytes in are free.
func internetUsage(r *flows.Record) Usage {
	if r.Direction == flows.Egress {
		return Usage{InternetOut: r.Bytes}
	}
	return Usage{}
}
