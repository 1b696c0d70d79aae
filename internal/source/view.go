package source

import "github.com/netcost/netcost/internal/flows"

// View selects the records of a CLI category. NATGateway selects every
// record whose bytes pass a NAT gateway, whatever its category, which is
// the NAT gateway's bill; the others select their category.
type View flows.Category

// MayMatch reports whether a record of r's category can belong to the view:
// it needs only the record's leading fields.
func (v View) MayMatch(r *flows.Record) bool {
	if flows.Category(v) == flows.NATGateway {
		return r.Category != flows.IntraAZ && r.Category != flows.InterAZ // Matches decides on via
	}
	return r.Category == flows.Category(v)
}

// Matches reports whether r belongs to the view. Records inside the VPC
// (INTRA_AZ, INTER_AZ) never pass a NAT gateway, whatever their via says:
// the view is decided by the leading fields first, the same in any layout.
func (v View) Matches(r *flows.Record) bool {
	if flows.Category(v) == flows.NATGateway {
		return v.MayMatch(r) && r.ViaNAT()
	}
	return r.Category == flows.Category(v)
}
