package costmodel

import (
	"cmp"
	"fmt"
	"strings"

	"github.com/netcost/netcost/internal/flows"
)

// GroupBy is the level at which Aggregator groups endpoints.
type GroupBy uint8

// Grouping levels. An endpoint without the level's name (a node, an
// external address) is kept at the finest level it has.
const (
	ByPod GroupBy = iota
	ByWorkload
	ByNamespace
)

// ParseGroupBy parses pod, workload or namespace.
func ParseGroupBy(s string) (GroupBy, error) {
	switch s {
	case "pod", "":
		return ByPod, nil
	case "workload":
		return ByWorkload, nil
	case "namespace":
		return ByNamespace, nil
	}
	return 0, fmt.Errorf("unknown grouping %q: want pod, workload or namespace", s)
}

func (g GroupBy) String() string {
	return [...]string{"pod", "workload", "namespace"}[g]
}

// Endpoint is one end of a row, with the record's endpoint fields.
// A field that differs between the records grouped into the row is "*".
type Endpoint struct {
	IP           string `json:"ip,omitempty"`
	Port         uint16 `json:"port,omitempty"`
	Pod          string `json:"pod,omitempty"`
	Namespace    string `json:"namespace,omitempty"`
	Workload     string `json:"workload,omitempty"`
	WorkloadKind string `json:"workload_kind,omitempty"`
	Service      string `json:"service,omitempty"`
	Node         string `json:"node,omitempty"`
	AZ           string `json:"az,omitempty"`
	AZID         string `json:"az_id,omitempty"`
	Subnet       string `json:"subnet,omitempty"`
	Name         string `json:"name,omitempty"`
	AWSService   string `json:"aws_service,omitempty"`
	Region       string `json:"region,omitempty"`
	LB           string `json:"lb,omitempty"` // a load balancer's interface: app/NAME/ID, net/..., gwy/..., classic/NAME
}

// Several marks an endpoint field whose grouped records disagree.
const Several = "*"

// mergeField merges v into a field of grouped records: Several once two
// records disagree, an empty value never counting.
func mergeField(dst *string, v string) {
	switch {
	case v == "" || *dst == v || *dst == Several:
	case *dst == "":
		*dst = strings.Clone(v)
	default:
		*dst = Several
	}
}

func (e *Endpoint) merge(o *Endpoint) {
	mergeField(&e.IP, o.IP)
	if o.Port != 0 && (e.Port == 0 || o.Port < e.Port) {
		e.Port = o.Port // the lowest: a server port, whatever the order of records
	}
	mergeField(&e.Pod, o.Pod)
	mergeField(&e.Namespace, o.Namespace)
	mergeField(&e.Workload, o.Workload)
	mergeField(&e.WorkloadKind, o.WorkloadKind)
	mergeField(&e.Service, o.Service)
	mergeField(&e.Node, o.Node)
	mergeField(&e.AZ, o.AZ)
	mergeField(&e.AZID, o.AZID)
	mergeField(&e.Subnet, o.Subnet)
	mergeField(&e.Name, o.Name)
	mergeField(&e.AWSService, o.AWSService)
	mergeField(&e.Region, o.Region)
	mergeField(&e.LB, o.LB)
}

// LocalEndpoint returns the record's local end.
func LocalEndpoint(r *flows.Record) Endpoint {
	return Endpoint{IP: r.LocalIP, Pod: r.LocalPod, Namespace: r.LocalNamespace, Workload: r.LocalWorkload,
		WorkloadKind: r.LocalWorkloadKind, Node: r.Node, AZ: r.LocalAZ, AZID: r.LocalAZID, Subnet: r.LocalSubnet}
}

// RemoteEndpoint returns the record's remote end.
func RemoteEndpoint(r *flows.Record) Endpoint {
	return Endpoint{IP: r.RemoteIP, Port: r.RemotePort, Pod: r.RemotePod, Namespace: r.RemoteNamespace,
		Workload: r.RemoteWorkload, Service: r.RemoteService, Node: r.RemoteNode, AZ: r.RemoteAZ, AZID: r.RemoteAZID,
		Name: r.RemoteName, AWSService: r.RemoteAWSService, Region: r.RemoteRegion, LB: r.RemoteLB}
}

// ident identifies an endpoint at a grouping level.
type ident struct {
	ns, name, ip string
	node         bool
}

func (id ident) less(o ident) bool {
	return cmp.Or(cmp.Compare(id.ns, o.ns), cmp.Compare(id.name, o.name), cmp.Compare(id.ip, o.ip)) < 0
}

// identify identifies an endpoint at level g: by the level's name if it
// has one, else by its pod, its node or its address.
func identify(g GroupBy, ns, pod, workload, node, ip string) ident {
	switch {
	case g == ByNamespace && ns != "":
		return ident{ns: ns}
	case g == ByWorkload && workload != "":
		return ident{ns: ns, name: workload}
	case pod != "":
		return ident{ns: ns, name: pod}
	case node != "":
		return ident{name: node, node: true}
	}
	return ident{ip: ip}
}

// endpointForGroup clears the fields of e finer than level g, if e has
// the level's name.
func endpointForGroup(g GroupBy, e Endpoint) Endpoint {
	switch g {
	case ByWorkload:
		if e.Workload != "" {
			e.Pod, e.IP, e.Node, e.Port = "", "", "", 0
		}
	case ByNamespace:
		if e.Namespace != "" {
			e.Pod, e.IP, e.Node, e.Port, e.Workload, e.WorkloadKind, e.Service = "", "", "", 0, "", "", ""
		}
	}
	return e
}

// identifyEndpoint is identify for an endpoint whose reports were merged.
func identifyEndpoint(g GroupBy, e *Endpoint) ident {
	return identify(g, e.Namespace, e.Pod, e.Workload, e.Node, e.IP)
}

// clonestr, clone and cloneIdent copy the strings a row keeps, which may
// borrow a decoder's buffer.
func clonestr(s string) string { return strings.Clone(s) }

func clone(e Endpoint) Endpoint {
	for _, p := range []*string{&e.IP, &e.Pod, &e.Namespace, &e.Workload, &e.WorkloadKind, &e.Service, &e.Node,
		&e.AZ, &e.AZID, &e.Subnet, &e.Name, &e.AWSService, &e.Region, &e.LB} {
		*p = clonestr(*p)
	}
	return e
}

func cloneIdent(id ident) ident {
	return ident{ns: clonestr(id.ns), name: clonestr(id.name), ip: clonestr(id.ip), node: id.node}
}
