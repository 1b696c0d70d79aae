package costmodel

import "github.com/netcost/netcost/internal/flows"

// natUsage prices a record that goes through a NAT gateway: processing on
// bytes in both directions, the AZ crossing to a NAT in another AZ, and
// what reaching the remote beyond the NAT costs (beyondGateway). A NAT
// whose AZ, or a node whose AZ, the record does not say is priced as in
// another AZ, and the bytes are marked assumed: netcost says so rather
// than call them free.
func natUsage(p *Prices, r *flows.Record) Usage {
	n := r.Bytes
	u := Usage{NAT: n}
	switch {
	case r.LocalAZID == "" || r.ViaAZID == "":
		u.InterAZ, u.AssumedCrossing = n, n
	case crossesAZ(r.LocalAZID, r.ViaAZID):
		u.InterAZ = n
	}
	u.add(beyondGateway(p, r))
	return u
}
