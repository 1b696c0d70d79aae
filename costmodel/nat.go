package costmodel

import "github.com/netcost/netcost/internal/flows"

// natUsage prices a record that goes through a NAT gateway: processing on
// bytes in both directions, the AZ crossing to a NAT in another AZ, and on
// bytes out, what it costs to reach the remote beyond the NAT.
func natUsage(r *flows.Record) Usage {
	n := r.Bytes
	u := Usage{NAT: n}
	if crossesAZ(r.LocalAZID, r.ViaAZID) {
		u.InterAZ = n
	}
	if r.Direction != flows.Egress {
		return u
	}
	// Nothing more to an AWS service in the region; the inter-region
	// rate to one elsewhere; internet egress to everything else.
	switch {
	case gatewayCategory(r.Category):
	case r.RemoteAWSService != "" && (r.RemoteRegion == "" || r.RemoteRegion == r.Region || r.RemoteRegion == "GLOBAL"):
	case r.RemoteAWSService != "":
		u.add(interRegionUsage(r))
	default:
		u.add(internetUsage(r))
	}
	return u
}
