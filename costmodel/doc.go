// Package costmodel prices flow records the way AWS bills them and turns the
// priced bytes into recommendations with monthly savings.
//
// It is pure: it reads nothing but its embedded price table (and an override
// file when asked), imports only the standard library and internal/flows, and
// does no I/O of its own beyond that. The billing rules are DESIGN.md's:
//
//   - Inter-AZ bytes cost InterAZPerGB at each of the account's network
//     interfaces they cross: a record prices its own interface, and the
//     remote's when the remote does not report the bytes itself (no agent
//     on its node). Bytes count once per crossing: egress records, plus
//     ingress records whose remote is not reported; folding and the join
//     of a pair's two reports change no figure. Between an ALB or a Classic
//     LB and its targets nothing is charged.
//   - NAT gateway bytes cost NATPerGB in both directions, plus InterAZPerGB
//     each way when the NAT sits in another AZ than the node, plus internet
//     egress on bytes that leave AWS (the inter-region rate to AWS in another
//     region). Hourly fees are shown, never spread.
//   - Bytes out to the internet or another region cost InternetEgressPerGB
//     or InterRegionPerGB; bytes in are free.
//   - Gateway endpoints are free; interface endpoints cost per GB and per
//     AZ-hour. Peering is free within one AZ ID; a transit gateway charges
//     TGWPerGB on the bytes this side sends.
//
// A "GB" in a price is 2^30 bytes.
//
// The files follow the bill: prices.go holds the price table, bill.go the
// lines of the bill and the dispatch of a record to its billing path, and
// each path has its own file (interaz.go, nat.go, internet.go,
// interregion.go, endpoints.go). aggregate.go, pairjoin.go and rows.go group
// priced records into rows; advisor.go collects what the recommendation
// rules need, and recommend.go runs one rule per kind, each in a rec_*.go
// file, with the AWS CLI commands they propose in awscli.go.
//
// Recommendations add up: certain changes come first, by savings, each
// saving assuming the ones above it are made, so that no byte is saved
// twice; estimates (ReducePayload) follow, with a dollar figure only from
// a compression ratio the user gives, and are never in a total.
package costmodel
