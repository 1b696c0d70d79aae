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
// RemoteReportedRaw is remote_reported as written, absent in older agents'
// records: read it through RemoteReported, which applies the rule for
// absent values.
type Record struct {
	Schema         int       `json:"schema"`
	TS             time.Time `json:"ts"`
	WindowS        int64     `json:"window_s"`
	Cluster        string    `json:"cluster,omitempty"`
	Node           string    `json:"node,omitempty"`
	Region         string    `json:"region"`
	NodeInstanceID string    `json:"node_instance_id,omitempty"`
	Direction      Direction `json:"direction"`
	Category       Category  `json:"category"`
	Protocol       Protocol  `json:"protocol"`

	LocalIP           string `json:"local_ip"`
	LocalPod          string `json:"local_pod,omitempty"`
	LocalNamespace    string `json:"local_namespace,omitempty"`
	LocalWorkload     string `json:"local_workload,omitempty"`
	LocalWorkloadKind string `json:"local_workload_kind,omitempty"`
	LocalAZ           string `json:"local_az,omitempty"`
	LocalAZID         string `json:"local_az_id,omitempty"`
	LocalSubnet       string `json:"local_subnet,omitempty"`

	RemoteIP          string  `json:"remote_ip"`
	RemotePort        uint16  `json:"remote_port,omitempty"`
	RemotePod         string  `json:"remote_pod,omitempty"`
	RemoteNamespace   string  `json:"remote_namespace,omitempty"`
	RemoteWorkload    string  `json:"remote_workload,omitempty"`
	RemoteService     string  `json:"remote_service,omitempty"`
	RemoteNode        string  `json:"remote_node,omitempty"`
	RemoteAZ          string  `json:"remote_az,omitempty"`
	RemoteAZID        string  `json:"remote_az_id,omitempty"`
	RemoteName        string  `json:"remote_name,omitempty"`
	RemoteNameSource  string  `json:"remote_name_source,omitempty"`
	RemoteReportedRaw OptBool `json:"remote_reported,omitempty"`
	RemoteLB          string  `json:"remote_lb,omitempty"`
	RemoteAWSService  string  `json:"remote_aws_service,omitempty"`
	RemoteRegion      string  `json:"remote_region,omitempty"`

	Via     string `json:"via,omitempty"`
	ViaAZID string `json:"via_az_id,omitempty"`

	Bytes   uint64 `json:"bytes"`
	Packets uint64 `json:"packets"`
}

// End is the end of the record's window.
func (r *Record) End() time.Time { return r.TS.Add(time.Duration(r.WindowS) * time.Second) }

// ViaNAT reports whether the record's bytes pass a NAT gateway, whatever its category.
func (r *Record) ViaNAT() bool { return strings.HasPrefix(r.Via, "nat-") }

// ViaEndpoint reports whether the record's bytes pass a VPC endpoint (gateway or interface).
func (r *Record) ViaEndpoint() bool { return strings.HasPrefix(r.Via, "vpce-") }

// RemoteInCluster reports whether the record names the remote end as one of
// the cluster's pods or nodes: both ends are then the cluster's, and two
// agents' records of the same bytes can be joined by their addresses. It
// says nothing of whether the remote's agent reports them (a Fargate pod
// runs none): that is RemoteReported, which pricing uses.
func (r *Record) RemoteInCluster() bool { return r.RemotePod != "" || r.RemoteNode != "" }

// RemoteReported reports whether the remote end is a node that runs the
// agent, whose own records count the same bytes at its own interface: then
// this record prices only the local interface, and of a crossing's two
// records only the egress one counts its bytes. Records without the field
// (older agents) count as reported when they name a remote pod or node,
// as those agents' readers assumed.
func (r *Record) RemoteReported() bool {
	if v, ok := r.RemoteReportedRaw.Get(); ok {
		return v
	}
	return r.RemoteInCluster()
}

// RemoteLBKind is the kind of load balancer remote_lb names, or "" when
// the remote is none.
func (r *Record) RemoteLBKind() LBKind { return LBKindOf(r.RemoteLB) }

// LBKindOf returns the kind of load balancer a remote_lb value names, or "".
func LBKindOf(lb string) LBKind {
	k, _, _ := strings.Cut(lb, "/")
	switch LBKind(k) {
	case LBApplication, LBNetwork, LBGateway, LBClassic:
		return LBKind(k)
	}
	return ""
}

// LBKind is a kind of Elastic Load Balancing load balancer, as remote_lb
// spells it.
type LBKind string

// Load balancer kinds.
const (
	LBApplication LBKind = "app"     // Application Load Balancer
	LBNetwork     LBKind = "net"     // Network Load Balancer
	LBGateway     LBKind = "gwy"     // Gateway Load Balancer
	LBClassic     LBKind = "classic" // Classic Load Balancer
)

// ValidLB reports whether s is a remote_lb value: app/NAME/ID, net/NAME/ID
// or gwy/NAME/ID (NAME up to 32 letters, digits and hyphens, ID up to 32
// lower-case hex digits; AWS's are 16), or classic/NAME.
func ValidLB(s string) bool {
	kind, rest, _ := strings.Cut(s, "/")
	name, id, hasID := strings.Cut(rest, "/")
	switch LBKind(kind) {
	case LBApplication, LBNetwork, LBGateway:
		return lbName(name) && hasID && len(id) <= 32 && isHex(id)
	case LBClassic:
		return lbName(name) && !hasID
	}
	return false
}

func lbName(s string) bool {
	if len(s) == 0 || len(s) > 32 {
		return false
	}
	for _, c := range []byte(s) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// isHex reports whether s is one or more lower-case hex digits.
func isHex(s string) bool {
	for _, c := range []byte(s) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return s != ""
}

// How a remote_name was learned (remote_name_source).
const (
	NameFromDNS  = "dns"  // an answer the local pod received
	NameFromSNI  = "sni"  // the TLS server name the local pod sent
	NameFromCert = "cert" // the certificate the remote presented to the CLI's resolver
	NameFromRDNS = "rdns" // the remote's reverse DNS
)

// ValidNameSource reports whether s is a remote_name_source value.
func ValidNameSource(s string) bool {
	return s == NameFromDNS || s == NameFromSNI || s == NameFromCert || s == NameFromRDNS
}

// ValidName reports whether s is a DNS name a record may carry as
// remote_name: at most 253 characters without the final dot, labels of 1
// to 63 letters, digits, hyphens and underscores (service names such as
// _sip use them), a leading "*" label for a certificate's wildcard.
func ValidName(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	// Label by label without splitting: the agent checks every name it learns from a packet, and readers
	// every record's.
	for first := true; ; first = false {
		label, rest, more := strings.Cut(s, ".")
		if !(label == "*" && first) {
			if label == "" || len(label) > 63 {
				return false
			}
			for _, c := range []byte(label) {
				if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
					return false
				}
			}
		}
		if !more {
			return true
		}
		s = rest
	}
}

// ValidInstanceID reports whether s is an EC2 instance ID: i- and 8 or 17
// lower-case hex digits.
func ValidInstanceID(s string) bool {
	h, ok := strings.CutPrefix(s, "i-")
	return ok && (len(h) == 8 || len(h) == 17) && isHex(h)
}

// OptBool is a JSON boolean that may be absent: the zero value is absent,
// and is omitted when encoded.
type OptBool uint8

// OptBool values.
const (
	BoolUnset OptBool = iota
	BoolFalse
	BoolTrue
)

// BoolOf returns the OptBool that holds b.
func BoolOf(b bool) OptBool {
	if b {
		return BoolTrue
	}
	return BoolFalse
}

// Get returns the value and whether there is one.
func (o OptBool) Get() (value, ok bool) { return o == BoolTrue, o == BoolTrue || o == BoolFalse }

func (o OptBool) String() string {
	switch o {
	case BoolUnset:
		return "unset"
	case BoolFalse:
		return "false"
	case BoolTrue:
		return "true"
	}
	return fmt.Sprintf("OptBool(%d)", uint8(o))
}

// MarshalJSON implements json.Marshaler.
func (o OptBool) MarshalJSON() ([]byte, error) {
	switch o {
	case BoolFalse:
		return []byte("false"), nil
	case BoolTrue:
		return []byte("true"), nil
	case BoolUnset:
		return []byte("null"), nil // only without omitempty
	}
	return nil, fmt.Errorf("invalid OptBool %d", uint8(o))
}

// UnmarshalJSON implements json.Unmarshaler; null leaves o as it is, as
// encoding/json does for its own types.
func (o *OptBool) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case "true":
		*o = BoolTrue
	case "false":
		*o = BoolFalse
	case "null":
	default:
		return fmt.Errorf("want true or false, got %s", b)
	}
	return nil
}

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
	return []*string{&r.Cluster, &r.Node, &r.Region, &r.NodeInstanceID, &r.LocalPod, &r.LocalNamespace, &r.LocalWorkload,
		&r.LocalWorkloadKind, &r.LocalAZ, &r.LocalAZID, &r.LocalSubnet, &r.RemotePod, &r.RemoteNamespace,
		&r.RemoteWorkload, &r.RemoteService, &r.RemoteNode, &r.RemoteAZ, &r.RemoteAZID, &r.RemoteName,
		&r.RemoteNameSource, &r.RemoteLB, &r.RemoteAWSService, &r.RemoteRegion, &r.Via, &r.ViaAZID}
}
