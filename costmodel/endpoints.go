package costmodel

import (
	"strings"

	"github.com/netcost/netcost/internal/flows"
)

// endpointUsage prices what a VPC endpoint on the path processes: an
// interface endpoint charges for bytes in both directions; gateway
// endpoints (S3, DynamoDB) are free.
func endpointUsage(r *flows.Record) Usage {
	if r.ViaEndpoint() && !gatewayCategory(r.Category) {
		return Usage{Endpoint: r.Bytes}
	}
	return Usage{}
}

// interfaceEndpointFees is what an interface endpoint in azs AZs charges in
// a month: processing on bytes (a window's, which month projects onto a
// month) plus its AZ-hours; hours is the AZ-hours alone.
func (p *Prices) interfaceEndpointFees(bytes uint64, month float64, azs int) (total, hours float64) {
	hours = float64(azs) * HoursPerMonth * p.EndpointPerAZHour.USD
	return gb(bytes)*month*p.EndpointPerGB.USD + hours, hours
}

// gatewayCategory reports whether c is a service with gateway endpoints.
func gatewayCategory(c flows.Category) bool { return c == flows.AmazonS3 || c == flows.AmazonDynamoDB }

// interVPCUsage prices bytes to a peered or transit-gateway-attached VPC. A
// transit gateway processes the bytes each attachment sends, on the bill
// of the attachment's owner: both directions when the other VPC is the
// account's too (the default), the bytes this side sends when it is not
// (opt.TGWPeerExternal). Peering is free within one AZ ID; a record that
// does not say both AZs is priced as a crossing, and marked assumed.
func interVPCUsage(r *flows.Record, opt Options) Usage {
	switch {
	case strings.HasPrefix(r.Via, "tgw-"):
		if r.Direction == flows.Egress || !opt.TGWPeerExternal {
			return Usage{TGW: r.Bytes}
		}
	case r.RemoteAZID == "" || r.LocalAZID == "":
		return Usage{InterAZ: r.Bytes, AssumedCrossing: r.Bytes}
	case crossesAZ(r.LocalAZID, r.RemoteAZID):
		return Usage{InterAZ: r.Bytes}
	}
	return Usage{}
}
