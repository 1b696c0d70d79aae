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
	routes *bart.Table[string] // the subnet's route table: destination -> target
}

// Classifier classifies flows. It is safe for concurrent use.
type Classifier struct {
	region  string
	vpc     bart.Table[bool] // the VPC's CIDRs
	subnets bart.Table[*subnet]
	ifaces  map[netip.Addr]iface // addresses of interface endpoints and load balancers
	natAZID map[string]string    // nat id -> its AZ ID
	ranges  *ipranges.Ranges
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
}

// New compiles a VPC view. ranges may be nil (no AWS service names: public
// addresses are then classified by route only).
func New(v VPC, ranges *ipranges.Ranges) (*Classifier, error) {
	c := &Classifier{region: v.Region, ifaces: map[netip.Addr]iface{}, natAZID: map[string]string{}, ranges: ranges}
	for _, p := range v.CIDRs {
		c.vpc.Insert(p.Masked(), true)
	}
	byTable := map[string]*bart.Table[string]{}
	var mainTable *bart.Table[string]
	tableOf := map[string]*bart.Table[string]{} // subnet id -> its table
	for _, rt := range v.RouteTables {
		t := &bart.Table[string]{}
		for _, r := range rt.Routes {
			switch {
			case r.PrefixListID != "":
				cidrs, ok := v.PrefixLists[r.PrefixListID]
				if !ok {
					return nil, fmt.Errorf("route table %s: route to %s names prefix list %s, which the VPC view lacks", rt.ID, r.Target, r.PrefixListID)
				}
				for _, p := range cidrs {
					t.Insert(p.Masked(), r.Target)
				}
			case r.Dest.IsValid():
				t.Insert(r.Dest.Masked(), r.Target)
			default:
				return nil, fmt.Errorf("route table %s: a route to %s has no destination", rt.ID, r.Target)
			}
		}
		byTable[rt.ID] = t
		if rt.Main {
			mainTable = t
		}
		for _, s := range rt.Subnets {
			tableOf[s] = t
		}
	}
	azOfSubnet := map[string]string{}
	for _, s := range v.Subnets {
		t := tableOf[s.ID]
		if t == nil {
			t = mainTable
		}
		c.subnets.Insert(s.CIDR.Masked(), &subnet{Subnet: s, routes: t})
		azOfSubnet[s.ID] = s.AZID
	}
	for _, n := range v.NATGateways {
		c.natAZID[n.ID] = azOfSubnet[n.SubnetID] // empty if the subnet is unknown: never a guess
	}
	for _, e := range v.Endpoints {
		for _, ip := range e.IPs {
			f := c.ifaces[ip.Unmap()]
			f.endpoint = e.ID
			c.ifaces[ip.Unmap()] = f
		}
	}
	for _, lb := range v.LoadBalancers {
		for _, ip := range lb.IPs {
			f := c.ifaces[ip.Unmap()]
			f.lb = lb.LB
			c.ifaces[ip.Unmap()] = f
		}
	}
	return c, nil
}

// InVPC reports whether a is in one of the VPC's CIDRs.
func (c *Classifier) InVPC(a netip.Addr) bool {
	_, ok := c.vpc.Lookup(a.Unmap())
	return ok
}

// Local places a local address (a pod's or the node's) in its subnet. It
// returns false for an address outside the VPC's subnets: its flows are
// UNCLASSIFIED.
func (c *Classifier) Local(a netip.Addr) (Local, bool) {
	s, ok := c.subnets.Lookup(a.Unmap())
	if !ok {
		return Local{c: c}, false
	}
	return Local{c: c, subnet: s}, true
}

// Subnet returns the local address's subnet.
func (l Local) Subnet() Subnet {
	if l.subnet == nil {
		return Subnet{}
	}
	return l.subnet.Subnet
}

// Classify says how the bytes between the local address and remote are billed.
func (l Local) Classify(remote netip.Addr) Result {
	c := l.c
	remote = remote.Unmap()
	if l.subnet == nil {
		return Result{Category: flows.Unclassified}
	}
	// In the VPC: compare AZ IDs, not names.
	if s, ok := c.subnets.Lookup(remote); ok {
		r := Result{Category: flows.IntraAZ, RemoteAZ: s.AZ, RemoteAZID: s.AZID, RemoteSubnet: s.ID}
		if s.AZID != l.subnet.AZID {
			r.Category = flows.InterAZ
		}
		if f, ok := c.ifaces[remote]; ok {
			if f.endpoint != "" {
				r.Via, r.ViaAZID = f.endpoint, s.AZID
			}
			r.RemoteLB = f.lb
		}
		return r
	}
	var r Result
	owner, isAWS := c.lookupOwner(remote)
	if isAWS {
		r.RemoteAWSService, r.RemoteRegion = owner.Service, owner.Region
	}
	if _, inVPC := c.vpc.Lookup(remote); inVPC {
		r.Category = flows.Unclassified // a VPC address in no known subnet
		return r
	}
	if l.subnet.routes == nil {
		r.Category = flows.Unclassified
		return r
	}
	target, ok := l.subnet.routes.Lookup(remote)
	if !ok {
		r.Category = flows.Unclassified
		return r
	}
	service := ""
	if isAWS && owner.Region == c.region && (owner.Service == "S3" || owner.Service == "DYNAMODB") {
		service = owner.Service
	}
	switch {
	case strings.HasPrefix(target, "pcx-"), strings.HasPrefix(target, "tgw-"):
		r.Category, r.Via = flows.InterVPC, target
		return r
	case !remote.IsGlobalUnicast() || remote.IsPrivate() || sharedSpace.Contains(remote):
		// A private address outside the VPC reached by the default route
		// goes nowhere billable that netcost can name.
		r.Category = flows.Unclassified
		return r
	case strings.HasPrefix(target, "vpce-"):
		r.Via = target
		switch service {
		case "S3":
			r.Category = flows.AmazonS3
		case "DYNAMODB":
			r.Category = flows.AmazonDynamoDB
		default:
			r.Category = flows.Unclassified
		}
		return r
	case strings.HasPrefix(target, "nat-"), strings.HasPrefix(target, "igw-"), strings.HasPrefix(target, "eigw-"):
		nat := strings.HasPrefix(target, "nat-")
		if nat {
			r.Via, r.ViaAZID = target, c.natAZID[target]
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
