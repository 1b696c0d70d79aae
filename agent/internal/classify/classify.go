// Package classify decides how AWS bills a flow's bytes, from the node's
// view of its VPC (subnets and their AZ IDs, route tables, NAT gateways,
// VPC endpoints, prefix lists) and AWS's published IP ranges, by the rules
// of DESIGN.md. It says UNCLASSIFIED rather than guess.
package classify

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/gaissmai/bart"

	"github.com/netcost/netcost/internal/flows"
	"github.com/netcost/netcost/internal/ipranges"
)

// VPC is what the agent knows of its VPC, as EC2 describes it.
type VPC struct {
	ID          string
	Region      string
	CIDRs       []netip.Prefix
	Subnets     []Subnet
	RouteTables []RouteTable
	NATGateways []NATGateway
	Endpoints   []Endpoint
	// LoadBalancers are the network interfaces of the load balancers in the
	// VPC.
	LoadBalancers []LBInterface
	// PrefixLists holds the CIDRs of the managed prefix lists that routes
	// name (the S3 and DynamoDB gateway endpoint routes).
	PrefixLists map[string][]netip.Prefix
}

// Subnet is a subnet of the VPC.
type Subnet struct {
	ID   string
	CIDR netip.Prefix
	AZ   string
	AZID string
}

// RouteTable is a route table and the subnets it is explicitly associated
// with; the main table serves the subnets no other table names.
type RouteTable struct {
	ID      string
	Main    bool
	Subnets []string
	Routes  []Route
}

// Route sends a destination (a CIDR or a prefix list) to a target: local,
// igw-..., nat-..., vpce-..., pcx-..., tgw-...
type Route struct {
	Dest         netip.Prefix
	PrefixListID string
	Target       string
}

// NATGateway is a NAT gateway and the subnet it sits in.
type NATGateway struct {
	ID       string
	SubnetID string
}

// Endpoint is a VPC endpoint; an interface endpoint's ENIs have addresses.
type Endpoint struct {
	ID      string
	Service string // com.amazonaws.us-east-1.sqs
	IPs     []netip.Addr
}

// LBInterface is a load balancer's network interface: its addresses, the
// load balancer as remote_lb names it (app/NAME/ID, net/NAME/ID,
// gwy/NAME/ID or classic/NAME), and its AZ as EC2 gives it.
type LBInterface struct {
	LB       string
	AZ, AZID string
	IPs      []netip.Addr
}

// Result is what classification adds to a flow record.
type Result struct {
	Category         flows.Category
	Via, ViaAZID     string
	RemoteAZ         string
	RemoteAZID       string
	RemoteSubnet     string
	RemoteAWSService string
	RemoteRegion     string
	RemoteLB         string // the load balancer whose interface the remote is
}

type subnet struct {
	Subnet
	routes *bart.Fast[*target] // the subnet's route table: destination -> target
}

// place is what an address in the VPC's CIDRs is: in a subnet (or in none
// known), and maybe an interface endpoint's or a load balancer's interface.
type place struct {
	subnet *subnet // nil: in the VPC, in no known subnet
	iface
}

// targetKind is a route target's kind, compiled from its id's prefix.
type targetKind uint8

const (
	targetOther    targetKind = iota // local, and targets netcost does not price
	targetPeer                       // pcx-, tgw-
	targetEndpoint                   // vpce-
	targetNAT                        // nat-
	targetInternet                   // igw-, eigw-
)

// target is a route's target, compiled: a lookup then costs no string tests.
type target struct {
	kind  targetKind
	id    string
	natAZ string // a NAT gateway's AZ ID; empty if its subnet is unknown: never a guess
}

// Classifier classifies flows. It is safe for concurrent use.
//
// It answers with two prefix lookups for an address in the VPC (the local
// end once per flow, the remote) and three for one outside: every address
// of the VPC, its subnets, and its endpoints' and load balancers'
// interfaces as host prefixes, are in one table, and route targets are
// compiled. bart.Fast trades some memory, a few KiB per route table, for
// lookups about twice as fast as bart.Table's.
type Classifier struct {
	region string
	places bart.Fast[*place] // VPC CIDRs, subnets, interface addresses
	ranges *ipranges.Ranges
}

// iface is what an address in the VPC is besides a subnet's: an interface
// endpoint's (vpce id) or a load balancer's (remote_lb).
type iface struct {
	endpoint, lb string
}

// Local is a local address placed in its subnet, for classifying its flows.
type Local struct {
	c      *Classifier
	subnet *subnet
	egress *subnet // whose routes take its flows out of the VPC; nil: its own subnet's
}

// New compiles a VPC view. ranges may be nil (no AWS service names: public
// addresses are then classified by route only).
func New(v VPC, ranges *ipranges.Ranges) (*Classifier, error) {
	c := &Classifier{region: v.Region, ranges: ranges}
	azOfSubnet := map[string]string{}
	for _, s := range v.Subnets {
		azOfSubnet[s.ID] = s.AZID
	}
	targets := map[string]*target{}
	for _, n := range v.NATGateways {
		targets[n.ID] = &target{kind: targetNAT, id: n.ID, natAZ: azOfSubnet[n.SubnetID]}
	}
	targetOf := func(id string) *target {
		if t, ok := targets[id]; ok {
			return t
		}
		t := &target{kind: kindOf(id), id: id}
		targets[id] = t
		return t
	}
	var mainTable *bart.Fast[*target]
	tableOf := map[string]*bart.Fast[*target]{} // subnet id -> its table
	for _, rt := range v.RouteTables {
		t := &bart.Fast[*target]{}
		for _, r := range rt.Routes {
			switch {
			case r.PrefixListID != "":
				cidrs, ok := v.PrefixLists[r.PrefixListID]
				if !ok {
					return nil, fmt.Errorf("route table %s: route to %s names prefix list %s, which the VPC view lacks", rt.ID, r.Target, r.PrefixListID)
				}
				for _, p := range cidrs {
					t.Insert(p.Masked(), targetOf(r.Target))
				}
			case r.Dest.IsValid():
				t.Insert(r.Dest.Masked(), targetOf(r.Target))
			default:
				return nil, fmt.Errorf("route table %s: a route to %s has no destination", rt.ID, r.Target)
			}
		}
		if rt.Main {
			mainTable = t
		}
		for _, s := range rt.Subnets {
			tableOf[s] = t
		}
	}
	for _, p := range v.CIDRs {
		c.places.Insert(p.Masked(), &place{})
	}
	for _, s := range v.Subnets {
		t := tableOf[s.ID]
		if t == nil {
			t = mainTable
		}
		c.places.Insert(s.CIDR.Masked(), &place{subnet: &subnet{Subnet: s, routes: t}})
	}
	// An interface's address becomes a host prefix holding its subnet too;
	// one in no known subnet is classified as any address there.
	addIface := func(ip netip.Addr, set func(*iface)) {
		ip = ip.Unmap()
		old, ok := c.places.Lookup(ip)
		if !ok || old.subnet == nil {
			return
		}
		pl := *old
		set(&pl.iface)
		c.places.Insert(netip.PrefixFrom(ip, ip.BitLen()), &pl)
	}
	for _, e := range v.Endpoints {
		for _, ip := range e.IPs {
			addIface(ip, func(f *iface) { f.endpoint = e.ID })
		}
	}
	for _, lb := range v.LoadBalancers {
		for _, ip := range lb.IPs {
			addIface(ip, func(f *iface) { f.lb = lb.LB })
		}
	}
	return c, nil
}

// kindOf compiles a route target's id.
func kindOf(id string) targetKind {
	switch {
	case strings.HasPrefix(id, "pcx-"), strings.HasPrefix(id, "tgw-"):
		return targetPeer
	case strings.HasPrefix(id, "vpce-"):
		return targetEndpoint
	case strings.HasPrefix(id, "nat-"):
		return targetNAT
	case strings.HasPrefix(id, "igw-"), strings.HasPrefix(id, "eigw-"):
		return targetInternet
	}
	return targetOther
}

// InVPC reports whether a is in one of the VPC's CIDRs.
func (c *Classifier) InVPC(a netip.Addr) bool {
	_, ok := c.places.Lookup(a.Unmap())
	return ok
}

// Local places a local address (a pod's or the node's) in its subnet. It
// returns false for an address outside the VPC's subnets: its flows are
// UNCLASSIFIED.
func (c *Classifier) Local(a netip.Addr) (Local, bool) {
	p, ok := c.places.Lookup(a.Unmap())
	if !ok || p.subnet == nil {
		return Local{c: c}, false
	}
	return Local{c: c, subnet: p.subnet}, true
}

// Subnet returns the local address's subnet.
func (l Local) Subnet() Subnet {
	if l.subnet == nil {
		return Subnet{}
	}
	return l.subnet.Subnet
}

// SNATTo returns l with its flows to addresses outside the VPC leaving as
// node's do. The VPC CNI translates a pod's IPv4 source address to its
// node's primary address for such destinations (its default,
// AWS_VPC_K8S_CNI_EXTERNALSNAT=false), so the route table of the node's
// subnet decides where they go, not that of the pod's: with custom
// networking the pods' subnets may have no route out at all. Flows within
// the VPC keep l's own subnet and AZ.
func (l Local) SNATTo(node Local) Local {
	if l.subnet != nil && node.subnet != nil && node.subnet != l.subnet {
		l.egress = node.subnet
	}
	return l
}

// Classify says how the bytes between the local address and remote are billed.
func (l Local) Classify(remote netip.Addr) Result {
	c := l.c
	remote = remote.Unmap()
	if l.subnet == nil {
		return Result{Category: flows.Unclassified}
	}
	pl, inVPC := c.places.Lookup(remote)
	// In the VPC: compare AZ IDs, not names.
	if inVPC && pl.subnet != nil {
		s := pl.subnet
		r := Result{Category: flows.IntraAZ, RemoteAZ: s.AZ, RemoteAZID: s.AZID, RemoteSubnet: s.ID, RemoteLB: pl.lb}
		if s.AZID != l.subnet.AZID {
			r.Category = flows.InterAZ
		}
		if pl.endpoint != "" {
			r.Via, r.ViaAZID = pl.endpoint, s.AZID
		}
		return r
	}
	var r Result
	owner, isAWS := c.lookupOwner(remote)
	if isAWS {
		r.RemoteAWSService, r.RemoteRegion = owner.Service, owner.Region
	}
	if inVPC {
		r.Category = flows.Unclassified // a VPC address in no known subnet
		return r
	}
	routes := l.subnet.routes
	if l.egress != nil {
		routes = l.egress.routes
	}
	if routes == nil {
		r.Category = flows.Unclassified
		return r
	}
	t, ok := routes.Lookup(remote)
	if !ok {
		r.Category = flows.Unclassified
		return r
	}
	service := ""
	if isAWS && owner.Region == c.region && (owner.Service == "S3" || owner.Service == "DYNAMODB") {
		service = owner.Service
	}
	switch {
	case t.kind == targetPeer:
		r.Category, r.Via = flows.InterVPC, t.id
		return r
	case !remote.IsGlobalUnicast() || remote.IsPrivate() || sharedSpace.Contains(remote):
		// A private address outside the VPC reached by the default route
		// goes nowhere billable that netcost can name.
		r.Category = flows.Unclassified
		return r
	case t.kind == targetEndpoint:
		r.Via = t.id
		switch service {
		case "S3":
			r.Category = flows.AmazonS3
		case "DYNAMODB":
			r.Category = flows.AmazonDynamoDB
		default:
			r.Category = flows.Unclassified
		}
		return r
	case t.kind == targetNAT, t.kind == targetInternet:
		nat := t.kind == targetNAT
		if nat {
			r.Via, r.ViaAZID = t.id, t.natAZ
		}
		switch {
		case service == "S3":
			r.Category = flows.AmazonS3
		case service == "DYNAMODB":
			r.Category = flows.AmazonDynamoDB
		case isAWS && owner.Region != c.region && owner.Region != "GLOBAL":
			r.Category = flows.InterRegion
		case nat:
			r.Category = flows.NATGateway
		default:
			r.Category = flows.Internet
		}
		return r
	}
	r.Category = flows.Unclassified
	return r
}

// sharedSpace is RFC 6598's carrier-grade NAT range: not the internet either.
var sharedSpace = netip.MustParsePrefix("100.64.0.0/10")

func (c *Classifier) lookupOwner(a netip.Addr) (ipranges.Owner, bool) {
	if c.ranges == nil {
		return ipranges.Owner{}, false
	}
	return c.ranges.Lookup(a)
}
