package costmodel

import (
	"cmp"
	"maps"

	"github.com/netcost/netcost/internal/flows"
)

// bytesCost is bytes and what they cost, kept as usage (integers) so that
// sums do not depend on the order of records; priced when recommending.
type bytesCost struct {
	bytes uint64
	use   Usage
}

func (b *bytesCost) add(n uint64, u Usage) { b.bytes += n; b.use.add(u) }

type svcKey struct{ ns, name, region string }

type svcStats struct {
	crossByClientAZ map[string]*bytesCost // client AZ ID -> the Service's inter-AZ bytes
	endpointAZs     map[string]bool       // AZ IDs where the Service's backends run
	workloads       map[string]bool
}

// natTag names what could take bytes off a NAT gateway: an endpoint kind
// (gateway, interface, saas) and its service; zero for nothing.
type natTag struct{ kind, name string }

type natKey struct {
	region, service string // gateway or interface service name, provider, or ""
	nat             string
}

type natStats struct {
	bytesCost
	clientAZs map[string]bool
	subnets   map[string]bool
	natAZID   string
	names     map[string]bool
	nats      map[string]bool
	byTag     map[natTag]*bytesCost // crossNAT: the bytes by what an endpoint could take off the NAT
}

// pairStats is what one pair of endpoints exchanged. For two of the
// cluster's own endpoints the reports are kept by direction and side, so
// that a byte both agents reported counts once.
type pairStats struct {
	bytesCost              // NAT to the internet: the records' bytes and cost
	egress, ingress uint64 // in-cluster: sender's and receiver's reports, one direction
	region          string
	inCluster       bool
	category        flows.Category // INTER_AZ or NAT_GATEWAY
}

// Advisor collects what the recommendation rules need in one pass over the
// records (all categories). Like Aggregator it is not safe for concurrent
// use: give each goroutine its own and Merge them.
type Advisor struct {
	m        *Model
	services map[svcKey]*svcStats
	gateway  map[natKey]*natStats // S3/DynamoDB through a NAT
	iface    map[natKey]*natStats // other AWS services through a NAT
	crossNAT map[natKey]*natStats // bytes to a NAT in another AZ, by client AZ in service
	saas     map[natKey]*natStats // known SaaS through a NAT or the internet gateway
	pairs    map[[2]string]*pairStats
}

// NewAdvisor returns an empty Advisor.
func (m *Model) NewAdvisor() *Advisor {
	return &Advisor{m: &Model{table: m.table}, services: map[svcKey]*svcStats{}, gateway: map[natKey]*natStats{},
		iface: map[natKey]*natStats{}, crossNAT: map[natKey]*natStats{}, saas: map[natKey]*natStats{},
		pairs: map[[2]string]*pairStats{}}
}

func getNAT(m map[natKey]*natStats, k natKey) *natStats {
	s := m[k]
	if s == nil {
		s = &natStats{clientAZs: map[string]bool{}, subnets: map[string]bool{}, names: map[string]bool{}, nats: map[string]bool{}, byTag: map[natTag]*bytesCost{}}
		k.region, k.service, k.nat = clonestr(k.region), clonestr(k.service), clonestr(k.nat)
		m[k] = s
	}
	return s
}

func (s *natStats) note(r *flows.Record, u Usage) {
	s.add(r.Bytes, u)
	if r.LocalAZID != "" && !s.clientAZs[r.LocalAZID] {
		s.clientAZs[clonestr(r.LocalAZID)] = true
	}
	if r.LocalSubnet != "" && !s.subnets[r.LocalSubnet] {
		s.subnets[clonestr(r.LocalSubnet)] = true
	}
	if r.RemoteName != "" && !s.names[r.RemoteName] && len(s.names) < 8 {
		s.names[clonestr(r.RemoteName)] = true
	}
	if s.natAZID == "" {
		s.natAZID = clonestr(r.ViaAZID)
	}
	if r.Via != "" && !s.nats[r.Via] {
		s.nats[clonestr(r.Via)] = true
	}
}

// Add takes one record into account.
func (a *Advisor) Add(r *flows.Record) error {
	if err := a.m.checkRegion(r); err != nil {
		return err // a region without prices is bad input, found early
	}
	u := usage(r)
	if r.RemoteService != "" {
		k := svcKey{r.RemoteNamespace, r.RemoteService, r.Region}
		s := a.services[k]
		if s == nil {
			s = &svcStats{crossByClientAZ: map[string]*bytesCost{}, endpointAZs: map[string]bool{}, workloads: map[string]bool{}}
			a.services[svcKey{clonestr(k.ns), clonestr(k.name), clonestr(k.region)}] = s
		}
		if r.RemoteAZID != "" && !s.endpointAZs[r.RemoteAZID] {
			s.endpointAZs[clonestr(r.RemoteAZID)] = true
		}
		if r.RemoteWorkload != "" && !s.workloads[r.RemoteWorkload] {
			s.workloads[clonestr(r.RemoteWorkload)] = true
		}
		if r.Category == flows.InterAZ && r.RemoteInCluster() && r.LocalAZID != "" {
			// The client sees both directions of the Service's traffic, and
			// both ends are the cluster's: each byte is billed out and in.
			bc := s.crossByClientAZ[r.LocalAZID]
			if bc == nil {
				bc = &bytesCost{}
				s.crossByClientAZ[clonestr(r.LocalAZID)] = bc
			}
			bc.add(r.Bytes, Usage{InterAZ: 2 * r.Bytes})
		}
	}
	inRegion := r.RemoteRegion == "" || r.RemoteRegion == r.Region
	var saas SaaS
	isSaaS := false
	if r.RemoteName != "" && (r.ViaNAT() || r.Category == flows.Internet) {
		saas, isSaaS = LookupSaaS(r.RemoteName)
	}
	if r.ViaNAT() {
		// tag names what an endpoint could take off the NAT, if anything.
		var tagKind, tagName string
		natOnly := Usage{NAT: u.NAT, InterAZ: u.InterAZ}
		svc, isvc := gatewayService(r.RemoteAWSService), ""
		if svc == "" && r.RemoteAWSService != "" {
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
	if (r.ViaNAT() || r.Category == flows.Internet) && isSaaS {
		getNAT(a.saas, natKey{r.Region, saas.Provider, ""}).note(r, u)
	}
	// ReducePayload is for bytes no endpoint removes: inter-AZ traffic and
	// NAT traffic to the internet that is neither AWS nor a known SaaS.
	toInternet := r.ViaNAT() && r.RemoteAWSService == "" && r.Category == flows.NATGateway && !isSaaS
	if u != (Usage{}) && (r.Category == flows.InterAZ && r.Via == "" || toInternet) { // billed at all
		from := endpointName(r.LocalNamespace, r.LocalWorkload, r.LocalPod, r.LocalIP)
		to := endpointName(r.RemoteNamespace, r.RemoteWorkload, r.RemotePod, cmp.Or(r.RemoteName, r.RemoteIP))
		inCluster := r.Category == flows.InterAZ && r.RemoteInCluster()
		k := [2]string{from, to}
		if inCluster && r.Direction == flows.Ingress {
			k = [2]string{to, from} // keyed by sender and receiver
		}
		ps := a.pairs[k]
		if ps == nil {
			ps = &pairStats{region: clonestr(r.Region), inCluster: inCluster, category: r.Category}
			a.pairs[[2]string{clonestr(k[0]), clonestr(k[1])}] = ps
		}
		switch {
		case !inCluster:
			ps.add(r.Bytes, u)
		case r.Direction == flows.Egress:
			ps.egress += r.Bytes
		default:
			ps.ingress += r.Bytes
		}
	}
	return nil
}

func endpointName(ns, workload, pod, ip string) string {
	switch {
	case workload != "":
		return ns + "/" + workload
	case pod != "":
		return ns + "/" + pod
	}
	return ip
}

// Merge adds b's observations into a. b must not be used afterwards.
func (a *Advisor) Merge(b *Advisor) {
	for k, bs := range b.services {
		as := a.services[k]
		if as == nil {
			a.services[k] = bs
			continue
		}
		for az, bc := range bs.crossByClientAZ {
			if ac := as.crossByClientAZ[az]; ac != nil {
				ac.add(bc.bytes, bc.use)
			} else {
				as.crossByClientAZ[az] = bc
			}
		}
		maps.Copy(as.endpointAZs, bs.endpointAZs)
		maps.Copy(as.workloads, bs.workloads)
	}
	for _, m := range [][2]map[natKey]*natStats{{a.gateway, b.gateway}, {a.iface, b.iface}, {a.crossNAT, b.crossNAT}, {a.saas, b.saas}} {
		for k, bs := range m[1] {
			as := m[0][k]
			if as == nil {
				m[0][k] = bs
				continue
			}
			as.add(bs.bytes, bs.use)
			maps.Copy(as.clientAZs, bs.clientAZs)
			maps.Copy(as.subnets, bs.subnets)
			maps.Copy(as.names, bs.names)
			maps.Copy(as.nats, bs.nats)
			for tag, bc := range bs.byTag {
				if ac := as.byTag[tag]; ac != nil {
					ac.add(bc.bytes, bc.use)
				} else {
					as.byTag[tag] = bc
				}
			}
		}
	}
	for k, bp := range b.pairs {
		if ap := a.pairs[k]; ap != nil {
			ap.add(bp.bytes, bp.use)
			ap.egress += bp.egress
			ap.ingress += bp.ingress
		} else {
			a.pairs[k] = bp
		}
	}
}

func natKeyString(k natKey) string { return k.region + "/" + k.service + "/" + k.nat }
