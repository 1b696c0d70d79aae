package sample

import (
	"fmt"
	"math/rand/v2"

	"github.com/netcost/netcost/internal/flows"
)

// The scenario's fixed names.
const (
	Cluster    = "shop"
	Region     = "us-east-1"
	Namespace  = "shop"
	NodeAZ1    = "ip-10-0-1-10.ec2.internal" // the use1-az1 node
	NodeAZ2    = "ip-10-0-2-20.ec2.internal" // the use1-az2 node
	NATGateway = "nat-0b2b2b2b2b2b2b2b2"     // in use1-az2, the default route of both subnets
	NATAZID    = "use1-az2"
	S3Endpoint = "vpce-05e3a4b1c2d3e4f50" // S3 gateway endpoint on the use1-az1 subnet's route table
)

// Sizes, as DESIGN.md counts them: a GB in a price is 2^30 bytes.
const (
	MiB uint64 = 1 << 20
	GiB uint64 = 1 << 30
)

type zone struct{ name, id, subnet string }

var zones = [2]zone{
	{"us-east-1a", "use1-az1", "subnet-0a1b2c3d4e5f60001"},
	{"us-east-1b", "use1-az2", "subnet-0a1b2c3d4e5f60002"},
}

type node struct {
	name, ip string
	zone     *zone
}

// endpoint is a pod, or a node's host network when pod is empty.
type endpoint struct {
	pod, namespace, workload, kind, ip string
	node                               *node
}

// remote is an endpoint outside the cluster.
type remote struct {
	ip         string
	port       uint16
	name       string
	awsService string
	region     string
}

// The remotes outside the VPC.
var (
	dynamoDB = remote{"3.218.182.189", 443, "dynamodb.us-east-1.amazonaws.com", "DYNAMODB", Region}
	sqs      = remote{"52.46.151.20", 443, "sqs.us-east-1.amazonaws.com", "AMAZON", Region}
	s3Put    = remote{"52.216.8.43", 443, "s3.us-east-1.amazonaws.com", "S3", Region}
	s3Get    = remote{"52.216.170.2", 443, "s3.us-east-1.amazonaws.com", "S3", Region}
	stripe   = remote{"185.166.143.10", 443, "api.stripe.com", "", ""}
	supplier = remote{"203.0.113.40", 443, "feeds.supplier.example", "", ""}
	datadog  = remote{"3.233.146.73", 443, "agent-intake.logs.datadoghq.com", "", ""}
	unknown  = remote{"100.64.5.5", 8125, "", "", ""}
)

// podSpec describes one pod of the scenario; copies of the cluster reuse the
// workload, template hash and host number with a new random suffix.
type podSpec struct {
	key       string // how the traffic table below refers to it
	workload  string
	kind      string
	namespace string
	hash      string // the ReplicaSet's pod-template-hash; empty for a DaemonSet pod
	suffix    string // the scenario's pod name suffix
	zone      int
	host      int // last octet of the pod IP
}

var podSpecs = []podSpec{
	{"graphql-a", "graphql", "Deployment", Namespace, "7d9f8b6c5", "x2x9q", 0, 34},
	{"products-a", "products", "Deployment", Namespace, "5c6b7f9d84", "kq7lz", 0, 57},
	{"orders", "orders", "Deployment", Namespace, "6f8d9c7b5", "m4n8p", 0, 82},
	{"sqs-sender", "sqs-sender", "Deployment", Namespace, "84b6d5f7c9", "t5wzr", 0, 101},
	{"reports", "reports", "Deployment", Namespace, "7b9c6d8f45", "h8k2v", 0, 118},
	{"payments", "payments", "Deployment", Namespace, "5d7f8c6b9", "z4q7n", 0, 140},
	{"catalog-sync", "catalog-sync", "Deployment", Namespace, "6b5c8d7f9", "q3w8e", 0, 150},
	{"datadog-a", "datadog-agent", "DaemonSet", "monitoring", "", "7kq2m", 0, 163},
	{"coredns-a", "coredns", "Deployment", "kube-system", "5d78c9869d", "fk9tl", 0, 201},
	{"graphql-b", "graphql", "Deployment", Namespace, "7d9f8b6c5", "p7r4t", 1, 41},
	{"products-b", "products", "Deployment", Namespace, "5c6b7f9d84", "w9h2j", 1, 66},
	{"images", "images", "Deployment", Namespace, "6c8b7d9f5", "r2m6x", 1, 95},
	{"datadog-b", "datadog-agent", "DaemonSet", "monitoring", "", "x9v4c", 1, 120},
	{"coredns-b", "coredns", "Deployment", "kube-system", "5d78c9869d", "zq7nb", 1, 187},
}

// Services the pods call, with their ports.
const (
	svcProducts = "products"
	svcOrders   = "orders"
	svcDNS      = "kube-dns"
	appPort     = 8080
	dnsPort     = 53
)

// Mean packet sizes: bulk TCP, and DNS queries and answers.
const (
	bulkPkt  = 1400
	dnsQuery = 80
	dnsReply = 160
)

// call is a client pod calling a Service whose backend is server: req bytes
// per hour from client to server, resp bytes per hour back.
type call struct {
	client, server string
	service        string
	port           uint16
	proto          flows.Protocol
	req, resp      uint64
	reqPkt         uint64
	respPkt        uint64
}

var calls = []call{
	// graphql -> products: kube-proxy spreads each graphql pod's calls over
	// both products pods, so half stay in the zone and half cross it.
	{"graphql-a", "products-a", svcProducts, appPort, flows.TCP, 2 * GiB, 18 * GiB, bulkPkt, bulkPkt},
	{"graphql-a", "products-b", svcProducts, appPort, flows.TCP, 2 * GiB, 18 * GiB, bulkPkt, bulkPkt},
	{"graphql-b", "products-b", svcProducts, appPort, flows.TCP, 2 * GiB, 18 * GiB, bulkPkt, bulkPkt},
	{"graphql-b", "products-a", svcProducts, appPort, flows.TCP, 2 * GiB, 18 * GiB, bulkPkt, bulkPkt},
	// graphql -> orders: a single orders pod, in use1-az1.
	{"graphql-a", "orders", svcOrders, appPort, flows.TCP, GiB / 2, 5 * GiB / 2, bulkPkt, bulkPkt},
	{"graphql-b", "orders", svcOrders, appPort, flows.TCP, GiB / 2, 5 * GiB / 2, bulkPkt, bulkPkt},
	// DNS, each pod to the coredns pod on its own node.
	{"graphql-a", "coredns-a", svcDNS, dnsPort, flows.UDP, 12 * MiB, 24 * MiB, dnsQuery, dnsReply},
	{"orders", "coredns-a", svcDNS, dnsPort, flows.UDP, 6 * MiB, 12 * MiB, dnsQuery, dnsReply},
	{"payments", "coredns-a", svcDNS, dnsPort, flows.UDP, 2 * MiB, 4 * MiB, dnsQuery, dnsReply},
	{"graphql-b", "coredns-b", svcDNS, dnsPort, flows.UDP, 12 * MiB, 24 * MiB, dnsQuery, dnsReply},
	{"products-b", "coredns-b", svcDNS, dnsPort, flows.UDP, 6 * MiB, 12 * MiB, dnsQuery, dnsReply},
	{"images", "coredns-b", svcDNS, dnsPort, flows.UDP, 4 * MiB, 8 * MiB, dnsQuery, dnsReply},
}

// egressRoute is how a local endpoint reaches a remote outside the VPC.
type egressRoute struct {
	category flows.Category
	via      string
	viaAZID  string
}

// viaNAT is the default route of both subnets: the NAT gateway in use1-az2.
func viaNAT(c flows.Category) egressRoute { return egressRoute{c, NATGateway, NATAZID} }

var (
	viaS3    = egressRoute{flows.AmazonS3, S3Endpoint, ""} // the use1-az1 subnet's gateway endpoint
	unplaced = egressRoute{flows.Unclassified, "", ""}     // an address the agent cannot place
)

// external is a local pod (or, with local "host", the host network of the
// node in zone hostNode) exchanging bytes with a remote: out bytes per hour to it, in back.
type external struct {
	local    string
	remote   remote
	route    egressRoute
	proto    flows.Protocol
	out, in  uint64
	pktOut   uint64
	pktIn    uint64
	hostNode int // for local "host": the zone of the node
}

var externals = []external{
	{local: "orders", remote: dynamoDB, route: viaNAT(flows.AmazonDynamoDB), proto: flows.TCP, out: GiB, in: GiB / 2},
	{local: "sqs-sender", remote: sqs, route: viaNAT(flows.NATGateway), proto: flows.TCP, out: 6 * GiB, in: 256 * MiB},
	{local: "images", remote: s3Put, route: viaNAT(flows.AmazonS3), proto: flows.TCP, out: 3 * GiB, in: 64 * MiB},
	{local: "reports", remote: s3Get, route: viaS3, proto: flows.TCP, out: 96 * MiB, in: 5 * GiB},
	{local: "payments", remote: stripe, route: viaNAT(flows.NATGateway), proto: flows.TCP, out: 80 * MiB, in: 120 * MiB},
	// A supplier's product feeds, pulled over the internet: nothing but a NAT
	// in the puller's own AZ makes them cheaper to fetch.
	{local: "catalog-sync", remote: supplier, route: viaNAT(flows.NATGateway), proto: flows.TCP, out: 256 * MiB, in: 7 * GiB},
	{local: "datadog-a", remote: datadog, route: viaNAT(flows.NATGateway), proto: flows.TCP, out: 288 * MiB, in: 12 * MiB},
	{local: "datadog-b", remote: datadog, route: viaNAT(flows.NATGateway), proto: flows.TCP, out: 288 * MiB, in: 12 * MiB},
	{local: "host", hostNode: 0, remote: unknown, route: unplaced, proto: flows.UDP, out: 6 * MiB, in: MiB, pktOut: 200, pktIn: 200},
}

// topology is a set of nodes and the channels that carry bytes between their
// endpoints and the world.
type topology struct {
	nodes []*node
	chans []*channel
}

// buildTopology lays out copies of the scenario cluster. Copy 0 is the
// scenario itself; the others get their own nodes, pod IPs and pod names.
func buildTopology(copies int) *topology {
	t := &topology{}
	names := make(map[string]bool)
	nameRNG := rand.New(rand.NewPCG(0x5a3b1e, 0x7c0de))
	for c := range copies {
		var nodes [2]*node
		for z := range zones {
			ip := ipFor(c, z, 10*(z+1))
			nodes[z] = &node{name: nodeName(ip), ip: ip, zone: &zones[z]}
			t.nodes = append(t.nodes, nodes[z])
		}
		eps := make(map[string]*endpoint, len(podSpecs)+1)
		for _, p := range podSpecs {
			suffix := p.suffix
			name := podName(p, suffix)
			for c > 0 && (suffix == p.suffix || names[name]) {
				suffix = randomSuffix(nameRNG)
				name = podName(p, suffix)
			}
			names[name] = true
			eps[p.key] = &endpoint{pod: name, namespace: p.namespace, workload: p.workload, kind: p.kind,
				ip: ipFor(c, p.zone, p.host), node: nodes[p.zone]}
		}
		for _, cl := range calls {
			t.addCall(eps[cl.client], eps[cl.server], cl)
		}
		for _, x := range externals {
			l := eps[x.local]
			if x.local == "host" {
				n := nodes[x.hostNode]
				l = &endpoint{ip: n.ip, node: n}
			}
			t.addExternal(l, x)
		}
	}
	return t
}

// ipFor is the address of host h in zone z of copy c: the scenario's subnets
// 10.0.1.0/24 and 10.0.2.0/24 for copy 0, other private /24s for the others.
func ipFor(c, z, h int) string {
	if c == 0 {
		return fmt.Sprintf("10.0.%d.%d", z+1, h)
	}
	return fmt.Sprintf("10.%d.%d.%d", 16*(z+1)+c>>8, c&0xff, h)
}

func nodeName(ip string) string {
	b := []byte("ip-" + ip + ".ec2.internal")
	for i := range len(ip) {
		if b[3+i] == '.' {
			b[3+i] = '-'
		}
	}
	return string(b)
}

func podName(p podSpec, suffix string) string {
	if p.hash == "" {
		return p.workload + "-" + suffix
	}
	return p.workload + "-" + p.hash + "-" + suffix
}

// suffixAlphabet is what Kubernetes draws generated name suffixes from.
const suffixAlphabet = "bcdfghjklmnpqrstvwxz2456789"

func randomSuffix(r *rand.Rand) string {
	var b [5]byte
	for i := range b {
		b[i] = suffixAlphabet[r.IntN(len(suffixAlphabet))]
	}
	return string(b[:])
}

// local fills a record template's producer and local fields for e.
func local(e *endpoint, proto flows.Protocol, cat flows.Category, dir flows.Direction) flows.Record {
	return flows.Record{
		Schema:            flows.SchemaVersion,
		WindowS:           WindowS,
		Cluster:           Cluster,
		Node:              e.node.name,
		Region:            Region,
		Direction:         dir,
		Category:          cat,
		Protocol:          proto,
		LocalIP:           e.ip,
		LocalPod:          e.pod,
		LocalNamespace:    e.namespace,
		LocalWorkload:     e.workload,
		LocalWorkloadKind: e.kind,
		LocalAZ:           e.node.zone.name,
		LocalAZID:         e.node.zone.id,
		LocalSubnet:       e.node.zone.subnet,
	}
}

// podRecord is a record on l's node about bytes exchanged with the pod r;
// service and port are set on the client's side only.
func podRecord(l, r *endpoint, proto flows.Protocol, dir flows.Direction, service string, port uint16) flows.Record {
	cat := flows.IntraAZ
	if l.node.zone.id != r.node.zone.id {
		cat = flows.InterAZ
	}
	rec := local(l, proto, cat, dir)
	rec.RemoteIP = r.ip
	rec.RemotePort = port
	rec.RemotePod = r.pod
	rec.RemoteNamespace = r.namespace
	rec.RemoteWorkload = r.workload
	rec.RemoteService = service
	rec.RemoteNode = r.node.name
	rec.RemoteAZ = r.node.zone.name
	rec.RemoteAZID = r.node.zone.id
	return rec
}

// addCall adds the two channels of a call: the requests, seen as the client's
// egress and the server's ingress, and the responses, seen as the server's
// egress and the client's ingress.
func (t *topology) addCall(client, server *endpoint, c call) {
	var pair PodPair
	if client.node.zone.id != server.node.zone.id {
		pair = Pair(client.pod, server.pod)
	}
	t.add(&channel{perHour: c.req, pkt: c.reqPkt, pair: pair, recs: []template{
		{client.node.name, podRecord(client, server, c.proto, flows.Egress, c.service, c.port)},
		{server.node.name, podRecord(server, client, c.proto, flows.Ingress, "", 0)},
	}})
	t.add(&channel{perHour: c.resp, pkt: c.respPkt, pair: pair, recs: []template{
		{server.node.name, podRecord(server, client, c.proto, flows.Egress, "", 0)},
		{client.node.name, podRecord(client, server, c.proto, flows.Ingress, c.service, c.port)},
	}})
}

// addExternal adds the egress and the ingress channel of l with a remote
// outside the VPC; only l's agent sees them.
func (t *topology) addExternal(l *endpoint, x external) {
	for _, dir := range []flows.Direction{flows.Egress, flows.Ingress} {
		rec := local(l, x.proto, x.route.category, dir)
		rec.RemoteIP = x.remote.ip
		rec.RemotePort = x.remote.port
		rec.RemoteName = x.remote.name
		rec.RemoteAWSService = x.remote.awsService
		rec.RemoteRegion = x.remote.region
		rec.Via = x.route.via
		rec.ViaAZID = x.route.viaAZID
		ch := &channel{perHour: x.out, pkt: x.pktOut, recs: []template{{l.node.name, rec}}}
		if dir == flows.Ingress {
			ch.perHour, ch.pkt = x.in, x.pktIn
		}
		if ch.pkt == 0 {
			ch.pkt = bulkPkt
		}
		t.add(ch)
	}
}

func (t *topology) add(ch *channel) { t.chans = append(t.chans, ch) }

// recordsPerWindow is how many records each window holds.
func (t *topology) recordsPerWindow() int {
	n := 0
	for _, ch := range t.chans {
		n += len(ch.recs)
	}
	return n
}
