package flows

import (
	"fmt"
	"strings"
	"time"
)

// SchemaVersion is the version of the record format this package reads and writes.
const SchemaVersion = 1

// OtherIP is the remote_ip of a record that folds low-volume remotes together.
const OtherIP = "other"

// Record is one schema-1 flow record: the bytes one local endpoint exchanged
// with one remote endpoint in one direction during one window. Empty fields
// are omitted when encoded. See DESIGN.md for the meaning of each field.
type Record struct {
	Schema    int       `json:"schema"`
	TS        time.Time `json:"ts"`
	WindowS   int64     `json:"window_s"`
	Cluster   string    `json:"cluster,omitempty"`
	Node      string    `json:"node,omitempty"`
	Region    string    `json:"region"`
	Direction Direction `json:"direction"`
	Category  Category  `json:"category"`
	Protocol  Protocol  `json:"protocol"`

	LocalIP           string `json:"local_ip"`
	LocalPod          string `json:"local_pod,omitempty"`
	LocalNamespace    string `json:"local_namespace,omitempty"`
	LocalWorkload     string `json:"local_workload,omitempty"`
	LocalWorkloadKind string `json:"local_workload_kind,omitempty"`
	LocalAZ           string `json:"local_az,omitempty"`
	LocalAZID         string `json:"local_az_id,omitempty"`
	LocalSubnet       string `json:"local_subnet,omitempty"`

	RemoteIP         string `json:"remote_ip"`
	RemotePort       uint16 `json:"remote_port,omitempty"`
	RemotePod        string `json:"remote_pod,omitempty"`
	RemoteNamespace  string `json:"remote_namespace,omitempty"`
	RemoteWorkload   string `json:"remote_workload,omitempty"`
	RemoteService    string `json:"remote_service,omitempty"`
	RemoteNode       string `json:"remote_node,omitempty"`
	RemoteAZ         string `json:"remote_az,omitempty"`
	RemoteAZID       string `json:"remote_az_id,omitempty"`
	RemoteName       string `json:"remote_name,omitempty"`
	RemoteAWSService string `json:"remote_aws_service,omitempty"`
	RemoteRegion     string `json:"remote_region,omitempty"`

	Via     string `json:"via,omitempty"`
	ViaAZID string `json:"via_az_id,omitempty"`

	Bytes   uint64 `json:"bytes"`
	Packets uint64 `json:"packets"`
}

// End is the end of the record's window.
func (r *Record) End() time.Time { return r.TS.Add(time.Duration(r.WindowS) * time.Second) }

// ViaNAT reports whether the record's bytes pass a NAT gateway, whatever its category.
func (r *Record) ViaNAT() bool { return strings.HasPrefix(r.Via, "nat-") }

// ViaGatewayEndpoint reports whether the record's bytes pass a VPC endpoint.
func (r *Record) ViaEndpoint() bool { return strings.HasPrefix(r.Via, "vpce-") }

// RemoteInCluster reports whether the remote end is one of the cluster's own
// pods or nodes, so that its network interface is metered too.
func (r *Record) RemoteInCluster() bool { return r.RemotePod != "" || r.RemoteNode != "" }

// Direction says which way a record's bytes went.
type Direction uint8

// Directions. The zero value is invalid so that a missing field is caught.
const (
	Egress  Direction = iota + 1 // local -> remote
	Ingress                      // remote -> local
)

func (d Direction) String() string {
	switch d {
	case Egress:
		return "egress"
	case Ingress:
		return "ingress"
	}
	return fmt.Sprintf("Direction(%d)", uint8(d))
}

// ParseDirection parses "egress" or "ingress".
func ParseDirection(s string) (Direction, error) {
	switch s {
	case "egress":
		return Egress, nil
	case "ingress":
		return Ingress, nil
	}
	return 0, fmt.Errorf("unknown direction %q: want egress or ingress", s)
}

// MarshalText implements encoding.TextMarshaler.
func (d Direction) MarshalText() ([]byte, error) {
	if d != Egress && d != Ingress {
		return nil, fmt.Errorf("invalid direction %d", uint8(d))
	}
	return []byte(d.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Direction) UnmarshalText(b []byte) (err error) {
	*d, err = ParseDirection(string(b))
	return err
}

// Protocol is the transport protocol of a flow.
type Protocol uint8

// Protocols. The zero value is invalid.
const (
	TCP Protocol = iota + 1
	UDP
)

func (p Protocol) String() string {
	switch p {
	case TCP:
		return "tcp"
	case UDP:
		return "udp"
	}
	return fmt.Sprintf("Protocol(%d)", uint8(p))
}

// ParseProtocol parses "tcp" or "udp".
func ParseProtocol(s string) (Protocol, error) {
	switch s {
	case "tcp":
		return TCP, nil
	case "udp":
		return UDP, nil
	}
	return 0, fmt.Errorf("unknown protocol %q: want tcp or udp", s)
}

// MarshalText implements encoding.TextMarshaler.
func (p Protocol) MarshalText() ([]byte, error) {
	if p != TCP && p != UDP {
		return nil, fmt.Errorf("invalid protocol %d", uint8(p))
	}
	return []byte(p.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (p *Protocol) UnmarshalText(b []byte) (err error) {
	*p, err = ParseProtocol(string(b))
	return err
}

// Clone returns a copy of r whose strings share no memory with r's, for
// keeping a record that a borrowing Decoder produced.
func (r *Record) Clone() Record {
	c := *r
	for _, p := range c.stringFields() {
		*p = strings.Clone(*p)
	}
	c.LocalIP, c.RemoteIP = strings.Clone(c.LocalIP), strings.Clone(c.RemoteIP)
	return c
}

func (r *Record) stringFields() []*string {
	return []*string{&r.Cluster, &r.Node, &r.Region, &r.LocalPod, &r.LocalNamespace, &r.LocalWorkload,
		&r.LocalWorkloadKind, &r.LocalAZ, &r.LocalAZID, &r.LocalSubnet, &r.RemotePod, &r.RemoteNamespace,
		&r.RemoteWorkload, &r.RemoteService, &r.RemoteNode, &r.RemoteAZ, &r.RemoteAZID, &r.RemoteName,
		&r.RemoteAWSService, &r.RemoteRegion, &r.Via, &r.ViaAZID}
}
