package costmodel

import "github.com/netcost/netcost/internal/flows"

// interAZUsage prices an INTER_AZ record. AWS bills a crossing byte at
// each of the account's network interfaces it passes, in and out: the
// record prices its own interface and, when the remote does not report
// the bytes itself (no agent on its node: RDS, ElastiCache, an instance,
// a Fargate pod, an interface endpoint's ENI, a load balancer), the
// remote's too. Summed over every record, a crossing between two agents'
// nodes is priced out + in, once each, whatever the order of the records
// and however they were folded. Between an ALB or a Classic Load Balancer
// and its targets nothing is charged across AZs; an NLB's or a GWLB's
// interface is metered like any other (regional data transfer).
func interAZUsage(r *flows.Record) Usage {
	switch r.RemoteLBKind() {
	case flows.LBApplication, flows.LBClassic:
		return Usage{}
	}
	n := r.Bytes
	if !r.RemoteReported() {
		n *= 2
	}
	return Usage{InterAZ: n}
}

// crossingBytes is the part of a record's bytes that counts each byte
// that crossed once: an egress record's, and an ingress record's whose
// remote does not report the same bytes as its egress.
func crossingBytes(r *flows.Record) uint64 {
	if r.Direction == flows.Egress || !r.RemoteReported() {
		return r.Bytes
	}
	return 0
}

// pairUsage prices bytes that crossed AZs between two of the cluster's
// own interfaces, each byte counted once: it is billed where it leaves
// and where it arrives.
func pairUsage(crossed uint64) Usage { return Usage{InterAZ: 2 * crossed} }

// crossesAZ reports whether two AZ IDs are known and differ.
func crossesAZ(a, b string) bool { return a != "" && b != "" && a != b }
