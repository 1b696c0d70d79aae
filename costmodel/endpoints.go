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
