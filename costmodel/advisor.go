package costmodel

import (
	"maps"
	"slices"

	"github.com/netcost/netcost/internal/flows"
)

// bytesCost is bytes and what they cost, kept as usage (integers) so that
// sums do not depend on the order of records; priced when recommending.
type bytesCost struct {
	bytes uint64
	use   Usage
}

func (b *bytesCost) add(n uint64, u Usage) { b.bytes += n; b.use.add(u) }

// mergeBytesCost adds the entries of b into a.
func mergeBytesCost[K comparable](a, b map[K]*bytesCost) {
	for k, bc := range b {
		if ac := a[k]; ac != nil {
			ac.add(bc.bytes, bc.use)
		} else {
			a[k] = bc
		}
	}
}

// natTag names what could take bytes off a NAT gateway: an endpoint kind
// (gateway, interface, saas) and its service; zero for nothing.
type natTag struct{ kind, name string }

// natKey identifies bytes through NAT gateways in a region: by the gateway or
// interface endpoint service or the SaaS provider that could take them off
// the NAT, or, in crossNAT, by the client AZ ID and the NAT they cross to.
type natKey struct {
	region, service string // endpoint service, SaaS provider or, in crossNAT, client AZ ID
	nat             string // crossNAT only: the NAT gateway
}

// maxNames is how many remote hostnames a natStats keeps: the smallest, so
// that which are kept does not depend on the order of records.
const maxNames = 8

// offNAT returns the made function of an endpoint in region that takes the
// bytes tagged tag off the NAT.
func offNAT(region string, tag natTag) func(*proposal) {
	return func(prop *proposal) { prop.offNAT[regionTag{region, tag}] = true }
}

// natLeft returns u, the usage of bytes an endpoint tagged tag would take
// off the NAT, less the crossing to a NAT in another AZ that the NatPerAZ
// changes made so far remove.
func (a *Advisor) natLeft(prop *proposal, region string, tag natTag, u Usage) Usage {
	var crossed uint64
	for k := range prop.perAZ {
		if bc := a.crossNAT[k].byTag[tag]; k.region == region && bc != nil {
			crossed += bc.use.InterAZ
		}
	}
	u.InterAZ -= min(u.InterAZ, crossed)
	return u
}

// natStats is what a group of NAT bytes cost and where they came from.
type natStats struct {
	bytesCost
	clientAZs map[string]bool
	subnets   map[string]bool
	natAZID   string          // the smallest AZ ID of the NATs seen, for the same reason
	names     map[string]bool // at most maxNames
	nats      map[string]bool
	byTag     map[natTag]*bytesCost // crossNAT: the bytes by what an endpoint could take off the NAT
}

// Advisor collects what the recommendation rules need in one pass over the
// records (all categories). Like Aggregator it is not safe for concurrent
// use: give each goroutine its own and Merge them.
type Advisor struct {
	m        *Model
	services map[svcKey]*svcStats
	gateway  map[natKey]*natStats // S3/DynamoDB through a NAT
	iface    map[natKey]*natStats // other AWS services through a NAT
	crossNAT map[natKey]*natStats // bytes to a NAT in another AZ, by client AZ and NAT
	saas     map[natKey]*natStats // known SaaS through a NAT or the internet gateway
	pairs    map[[2]string]*pairStats
}

// NewAdvisor returns an empty Advisor.
func (m *Model) NewAdvisor() *Advisor {
	return &Advisor{m: m.fork(), services: map[svcKey]*svcStats{}, gateway: map[natKey]*natStats{},
		iface: map[natKey]*natStats{}, crossNAT: map[natKey]*natStats{}, saas: map[natKey]*natStats{},
		pairs: map[[2]string]*pairStats{}}
}

// getNAT returns k's stats in m, added if missing.
func getNAT(m map[natKey]*natStats, k natKey) *natStats {
	s := m[k]
	if s == nil {
		s = &natStats{clientAZs: map[string]bool{}, subnets: map[string]bool{}, names: map[string]bool{},
			nats: map[string]bool{}, byTag: map[natTag]*bytesCost{}}
		k.region, k.service, k.nat = clonestr(k.region), clonestr(k.service), clonestr(k.nat)
		m[k] = s
	}
	return s
}

// note adds a record of bytes that cost u.
func (s *natStats) note(r *flows.Record, u Usage) {
	s.add(r.Bytes, u)
	if r.LocalAZID != "" && !s.clientAZs[r.LocalAZID] {
		s.clientAZs[clonestr(r.LocalAZID)] = true
	}
	if r.LocalSubnet != "" && !s.subnets[r.LocalSubnet] {
		s.subnets[clonestr(r.LocalSubnet)] = true
	}
	if r.RemoteName != "" {
		addName(s.names, r.RemoteName)
	}
	if id := smallerID(s.natAZID, r.ViaAZID); id != s.natAZID {
		s.natAZID = clonestr(id)
	}
	if r.Via != "" && !s.nats[r.Via] {
		s.nats[clonestr(r.Via)] = true
	}
}

// addName adds name to names, which keeps the maxNames smallest names.
func addName(names map[string]bool, name string) {
	if names[name] {
		return
	}
	if len(names) >= maxNames {
		largest := slices.Max(slices.Collect(maps.Keys(names)))
		if name > largest {
			return
		}
		delete(names, largest)
	}
	names[clonestr(name)] = true
}

// smallerID returns the smaller of two AZ IDs, ignoring an empty one.
func smallerID(cur, id string) string {
	if id != "" && (cur == "" || id < cur) {
		return id
	}
	return cur
}

// Add takes one record into account.
func (a *Advisor) Add(r *flows.Record) error {
	if err := a.m.checkRegion(r); err != nil {
		return err // a region without prices is bad input, found early
	}
	u := a.m.usage(r)
	if r.RemoteService != "" {
		a.addService(r)
	}
	saas, isSaaS := remoteSaaS(r)
	if r.ViaNAT() {
		a.addNAT(r, u, saas, isSaaS)
	}
	if isSaaS {
		getNAT(a.saas, natKey{r.Region, saas.Provider, ""}).note(r, u)
	}
	a.addPair(r, u, isSaaS)
	return nil
}

// remoteSaaS returns the known SaaS provider that a record reaches through
// a NAT gateway or the internet gateway.
func remoteSaaS(r *flows.Record) (SaaS, bool) {
	if r.RemoteName != "" && (r.ViaNAT() || r.Category == flows.Internet) {
		return LookupSaaS(r.RemoteName)
	}
	return SaaS{}, false
}

// addNAT notes a record through a NAT gateway by the endpoint that could
// take it off the NAT, and, if it crosses AZs to reach the NAT, by its
// client AZ.
func (a *Advisor) addNAT(r *flows.Record, u Usage, saas SaaS, isSaaS bool) {
	inRegion := r.RemoteRegion == "" || r.RemoteRegion == r.Region
	// tag names what an endpoint could take off the NAT, if anything.
	var tagKind, tagName string
	natOnly := Usage{NAT: u.NAT, InterAZ: u.InterAZ}
	svc, isvc := gatewayService(r.RemoteAWSService), ""
	// An AWS name is enough where the pod itself used it (DNS, SNI): an interface endpoint with private DNS
	// takes the traffic by that name. A certificate's name needs ip-ranges to agree.
	pods := r.RemoteNameSource == flows.NameFromDNS || r.RemoteNameSource == flows.NameFromSNI
	if svc == "" && (r.RemoteAWSService != "" || pods) {
		isvc = InterfaceService(r.RemoteName, r.Region)
	}
	switch {
	case svc != "" && inRegion: // a gateway endpoint serves its own region only
		getNAT(a.gateway, natKey{r.Region, svc, ""}).note(r, natOnly)
		tagKind, tagName = "gateway", svc
	case isvc != "":
		getNAT(a.iface, natKey{r.Region, isvc, ""}).note(r, natOnly)
		tagKind, tagName = "interface", isvc
	case isSaaS:
		tagKind, tagName = "saas", saas.Provider
	}
	if crossesAZ(r.LocalAZID, r.ViaAZID) {
		cross := Usage{InterAZ: u.InterAZ}
		tag := natTag{tagKind, tagName}
		s := getNAT(a.crossNAT, natKey{r.Region, r.LocalAZID, r.Via})
		s.note(r, cross)
		bc := s.byTag[tag]
		if bc == nil {
			bc = &bytesCost{}
			s.byTag[tag] = bc
		}
		bc.add(r.Bytes, cross)
	}
}

// Merge adds b's observations into a. b must not be used afterwards.
func (a *Advisor) Merge(b *Advisor) {
	mergeServices(a.services, b.services)
	mergeNATs(a.gateway, b.gateway)
	mergeNATs(a.iface, b.iface)
	mergeNATs(a.crossNAT, b.crossNAT)
	mergeNATs(a.saas, b.saas)
	mergePairs(a.pairs, b.pairs)
}

// mergeNATs adds the NAT stats of b into a.
func mergeNATs(a, b map[natKey]*natStats) {
	for k, bs := range b {
		as := a[k]
		if as == nil {
			a[k] = bs
			continue
		}
		as.add(bs.bytes, bs.use)
		maps.Copy(as.clientAZs, bs.clientAZs)
		maps.Copy(as.subnets, bs.subnets)
		for n := range bs.names {
			addName(as.names, n)
		}
		as.natAZID = smallerID(as.natAZID, bs.natAZID)
		maps.Copy(as.nats, bs.nats)
		mergeBytesCost(as.byTag, bs.byTag)
	}
}

// natKeyString orders natKeys for stable output.
func natKeyString(k natKey) string { return k.region + "/" + k.service + "/" + k.nat }
