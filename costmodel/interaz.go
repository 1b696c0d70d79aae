package costmodel

import "github.com/netcost/netcost/internal/flows"

// interAZUsage prices an INTER_AZ record at its own network interface. A
// byte between two of the cluster's nodes is billed at the other node too:
// the Aggregator and the Advisor count that side when they join the pair.
func interAZUsage(r *flows.Record) Usage { return Usage{InterAZ: r.Bytes} }

// pairUsage prices bytes that crossed AZs between two of the cluster's
// own interfaces, each byte counted once: it is billed where it leaves
// and where it arrives.
func pairUsage(crossed uint64) Usage { return Usage{InterAZ: 2 * crossed} }

// crossesAZ reports whether two AZ IDs are known and differ.
func crossesAZ(a, b string) bool { return a != "" && b != "" && a != b }
