package costmodel

import "github.com/netcost/netcost/internal/flows"

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
// transit gateway processes the bytes this side sends. Peering is free
// within one AZ ID; an unknown remote AZ is priced as a crossing, the
// bill's upper bound.
func interVPCUsage(r *flows.Record) Usage {
	switch {
	case len(r.Via) > 4 && r.Via[:4] == "tgw-":
		if r.Direction == flows.Egress {
			return Usage{TGW: r.Bytes}
		}
	case r.RemoteAZID == "" || crossesAZ(r.LocalAZID, r.RemoteAZID):
		return Usage{InterAZ: r.Bytes}
	}
	return Usage{}
}
