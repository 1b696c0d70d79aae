// Package costmodel prices flow records the way AWS bills them and turns the
// priced bytes into recommendations with monthly savings.
//
// It is pure: it reads nothing but its embedded price table (and an override
// file when asked), imports only the standard library and internal/flows, and
// does no I/O of its own beyond that. The billing rules are DESIGN.md's:
//
//   - Inter-AZ bytes cost InterAZPerGB at each metered network interface: a
//     byte between two of the cluster's own nodes is counted once and priced
//     at both sides (out + in); a byte to a managed endpoint or an unknown
//     address is priced once.
//   - NAT gateway bytes cost NATPerGB in both directions, plus InterAZPerGB
//     each way when the NAT sits in another AZ than the node, plus internet
//     egress on bytes that leave AWS. Hourly fees are shown, never spread.
//   - Gateway endpoints are free; interface endpoints cost per GB and per AZ-hour.
//
// A "GB" in a price is 2^30 bytes.
package costmodel
