package costmodel

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/netcost/netcost/internal/flows"
)

// Kinds of recommendation.
const (
	PreferSameZone    = "PreferSameZone"
	GatewayEndpoint   = "GatewayEndpoint"
	InterfaceEndpoint = "InterfaceEndpoint"
	NatPerAZ          = "NatPerAZ"
	PrivateLink       = "PrivateLink"
	ReducePayload     = "ReducePayload"
)

// Evidence is what a recommendation rests on.
type Evidence struct {
	Bytes    uint64  `json:"bytes"`    // bytes in the window that the change would affect
	CostUSD  float64 `json:"cost_usd"` // what they cost in the window
	WindowS  int64   `json:"window_s"` // the window the projection extrapolates from
	Detail   string  `json:"detail"`   // one sentence a person reads
	Category string  `json:"category"` // the record category the bytes came from
}

// Recommendation is one change with its projected monthly savings.
type Recommendation struct {
	Kind              string   `json:"kind"`
	Target            string   `json:"target"`
	Evidence          Evidence `json:"evidence"`
	MonthlyCostUSD    float64  `json:"monthly_cost_usd"`    // what the affected bytes cost per month today
	MonthlySavingsUSD float64  `json:"monthly_savings_usd"` // net of any new hourly or per-GB fees
	Action            string   `json:"action"`              // the exact command(s), one per line
	Caveats           []string `json:"caveats,omitempty"`

	tag natTag // what it takes off a NAT gateway, for NatPerAZ's accounting
}

// AdviseOptions tune the recommendation rules.
type AdviseOptions struct {
	// MinMonthlySavingsUSD drops recommendations that save less.
	MinMonthlySavingsUSD float64
	// CompressionRatio is the share of bytes ReducePayload assumes
	// compression removes (default 0.6, typical of gzip on JSON).
	CompressionRatio float64
	// ReducePayloadMinMonthlyUSD is the inter-AZ or NAT spend of one pair above
	// which ReducePayload is proposed where no structural fix applies (default 50).
	ReducePayloadMinMonthlyUSD float64
}

// Recommend turns the observations of a window into recommendations, best first.
func (a *Advisor) Recommend(window time.Duration, opt AdviseOptions) ([]Recommendation, error) {
	if window <= 0 {
		return nil, fmt.Errorf("projecting savings: empty window")
	}
	if opt.CompressionRatio <= 0 || opt.CompressionRatio >= 1 {
		opt.CompressionRatio = 0.6
	}
	if opt.ReducePayloadMinMonthlyUSD <= 0 {
		opt.ReducePayloadMinMonthlyUSD = 50
	}
	month := float64(HoursPerMonth) / window.Hours()
	ev := func(bytes uint64, cost float64, cat, detail string) Evidence {
		return Evidence{Bytes: bytes, CostUSD: cost, WindowS: int64(window / time.Second), Category: cat, Detail: detail}
	}
	var recs []Recommendation
	covered := map[string]bool{} // pairs a structural fix already addresses

	for _, k := range sortedKeys(a.services, func(k svcKey) string { return k.region + "/" + k.ns + "/" + k.name }) {
		s := a.services[k]
		p, err := a.m.prices(k.region)
		if err != nil {
			return nil, err
		}
		var bytes, saveBytes uint64
		var cost, save float64
		var missing []string
		for _, az := range slices.Sorted(maps.Keys(s.crossByClientAZ)) {
			bc := s.crossByClientAZ[az]
			bytes += bc.bytes
			cost += p.costOf(bc.use).Total()
			if s.endpointAZs[az] {
				saveBytes += bc.bytes
				save += p.costOf(bc.use).Total()
			} else {
				missing = append(missing, az)
			}
		}
		if bytes == 0 {
			continue
		}
		for w := range s.workloads {
			if len(missing) == 0 {
				covered[k.ns+"/"+w] = true
			}
		}
		if save == 0 {
			continue
		}
		caveats := []string{
			"needs Kubernetes 1.33 or later (1.31-1.32: use \"PreferClose\", the same behaviour under its older name)",
			"traffic stays in the client's zone while that zone has ready endpoints: size each zone's replicas for its own clients (topologySpreadConstraints, or one HPA per zone)",
		}
		if len(missing) > 0 {
			caveats = append(caveats, fmt.Sprintf("clients in %s have no %s endpoint in their zone, so their traffic still crosses; add a replica there to save it too", strings.Join(missing, ", "), k.name))
		}
		recs = append(recs, Recommendation{
			Kind: PreferSameZone, Target: fmt.Sprintf("service %s/%s", k.ns, k.name),
			Evidence: ev(bytes, cost, flows.InterAZ.String(), fmt.Sprintf("%s of inter-AZ traffic to Service %s/%s, billed on both sides; %s of it from zones that have a %s endpoint",
				HumanBytes(bytes), k.ns, k.name, HumanBytes(saveBytes), k.name)),
			MonthlyCostUSD: cost * month, MonthlySavingsUSD: save * month,
			Action:  fmt.Sprintf(`kubectl -n %s patch service %s --type merge -p '{"spec":{"trafficDistribution":"PreferSameZone"}}'`, k.ns, k.name),
			Caveats: caveats,
		})
	}

	for _, k := range sortedKeys(a.gateway, natKeyString) {
		s := a.gateway[k]
		p, err := a.m.prices(k.region)
		if err != nil {
			return nil, err
		}
		subnets := slices.Sorted(maps.Keys(s.subnets))
		name := map[string]string{"s3": "S3", "dynamodb": "DynamoDB"}[k.service]
		recs = append(recs, Recommendation{
			Kind: GatewayEndpoint, Target: fmt.Sprintf("%s in %s (subnets %s)", name, k.region, orUnknown(subnets)),
			Evidence: ev(s.bytes, p.costOf(s.use).Total(), strings.ToUpper("amazon_"+k.service), fmt.Sprintf("%s to %s through NAT gateway %s, which charges processing on every byte; a gateway endpoint is free",
				HumanBytes(s.bytes), name, setString(s.nats))),
			MonthlyCostUSD: p.costOf(s.use).Total() * month, MonthlySavingsUSD: p.costOf(s.use).Total() * month,
			Action: gatewayEndpointCommand(k.region, k.service, subnets), tag: natTag{"gateway", k.service},
			Caveats: []string{"a gateway endpoint serves only this region's " + name + "; buckets or tables in other regions still go through the NAT",
				"endpoint policies and bucket policies that pin aws:SourceIp stop matching: use aws:SourceVpce instead"},
		})
	}

	for _, k := range sortedKeys(a.iface, natKeyString) {
		s := a.iface[k]
		p, err := a.m.prices(k.region)
		if err != nil {
			return nil, err
		}
		azs := max(len(s.clientAZs), 1)
		monthlyBytes := gb(s.bytes) * month
		hours := float64(azs) * HoursPerMonth * p.EndpointPerAZHour.USD
		endpointCost := monthlyBytes*p.EndpointPerGB.USD + hours
		saving := p.costOf(s.use).Total()*month - endpointCost
		if saving <= 0 {
			continue // below break-even: the endpoint's hours cost more than the NAT charges it removes
		}
		// The break-even of the saving above: per GB, the endpoint removes
		// what these bytes pay the NAT (processing, and the AZ crossing of
		// those that reach a NAT in another AZ) and adds its own processing.
		// saving > 0 makes the difference positive.
		removed := p.costOf(s.use).Total() / gb(s.bytes)
		breakEven := hours / (removed - p.EndpointPerGB.USD)
		what := "processing"
		if s.use.InterAZ > 0 {
			what = "processing and the AZ crossing"
		}
		subnets := slices.Sorted(maps.Keys(s.subnets))
		recs = append(recs, Recommendation{
			Kind: InterfaceEndpoint, Target: fmt.Sprintf("com.amazonaws.%s.%s (%s)", k.region, k.service, strings.Join(slices.Sorted(maps.Keys(s.names)), ", ")),
			Evidence: ev(s.bytes, p.costOf(s.use).Total(), flows.NATGateway.String(), fmt.Sprintf("%s to %s through NAT gateway %s; an interface endpoint in %d AZ(s) costs $%.2f/month at this volume and pays off above %.0f GB/month: it saves $%s/GB of NAT charges (%s) and charges $%s/GB",
				HumanBytes(s.bytes), k.service, setString(s.nats), azs, endpointCost, breakEven, perGB(removed), what, perGB(p.EndpointPerGB.USD))),
			MonthlyCostUSD: p.costOf(s.use).Total() * month, MonthlySavingsUSD: saving,
			Action: interfaceEndpointCommand(k.region, "com.amazonaws."+k.region+"."+k.service, subnets), tag: natTag{"interface", k.service},
			Caveats: []string{"savings are net of the endpoint's per-GB and per-AZ-hour fees", "the security group must allow HTTPS (443) from the nodes"},
		})
	}

	for _, k := range sortedKeys(a.saas, natKeyString) {
		s := a.saas[k]
		var sv SaaS
		for _, x := range KnownSaaS {
			if x.Provider == k.service {
				sv = x
			}
		}
		p, err := a.m.prices(k.region)
		if err != nil {
			return nil, err
		}
		azs := max(len(s.clientAZs), 1)
		endpointCost := gb(s.bytes)*month*p.EndpointPerGB.USD + float64(azs)*HoursPerMonth*p.EndpointPerAZHour.USD
		saving := p.costOf(s.use).Total()*month - endpointCost
		if saving <= 0 {
			continue
		}
		subnets := slices.Sorted(maps.Keys(s.subnets))
		recs = append(recs, Recommendation{
			Kind: PrivateLink, Target: fmt.Sprintf("%s (%s)", sv.Provider, strings.Join(slices.Sorted(maps.Keys(s.names)), ", ")),
			Evidence:       ev(s.bytes, p.costOf(s.use).Total(), flows.NATGateway.String(), fmt.Sprintf("%s to %s over the public internet path (%s)", HumanBytes(s.bytes), sv.Provider, cmp.Or(setString(s.nats), "internet gateway"))),
			MonthlyCostUSD: p.costOf(s.use).Total() * month, MonthlySavingsUSD: saving,
			Action: interfaceEndpointCommand(k.region, fmt.Sprintf("<%s's endpoint service name for %s, from %s>", sv.Provider, k.region, sv.Docs), subnets), tag: natTag{"saas", sv.Provider},
			Caveats: []string{sv.Provider + " must offer PrivateLink in " + k.region + " for your account's site; some providers charge for it",
				"savings are net of the endpoint's per-GB and per-AZ-hour fees"},
		})
	}

	// NatPerAZ counts only the crossing bytes that no endpoint proposed
	// above takes off the NAT, so that the savings do not overlap.
	taken := map[natTag]bool{}
	for _, r := range recs {
		if r.MonthlySavingsUSD >= opt.MinMonthlySavingsUSD && r.tag != (natTag{}) {
			taken[r.tag] = true
		}
	}
	for _, k := range sortedKeys(a.crossNAT, natKeyString) {
		s := a.crossNAT[k]
		p, err := a.m.prices(k.region)
		if err != nil {
			return nil, err
		}
		var left bytesCost
		for tag, bc := range s.byTag {
			if !taken[tag] {
				left.add(bc.bytes, bc.use)
			}
		}
		newNAT := HoursPerMonth * p.NATPerHour.USD
		saving := p.costOf(left.use).Total()*month - newNAT
		if saving <= 0 {
			continue
		}
		subnets := slices.Sorted(maps.Keys(s.subnets))
		caveats := []string{fmt.Sprintf("savings are net of the new NAT gateway's hourly fee ($%.2f/month)", newNAT),
			"the new NAT gateway has a new public IP: update allow-lists that name the old one"}
		if left.bytes < s.bytes {
			caveats = append(caveats, fmt.Sprintf("counts only the %s that the endpoints proposed here leave on the NAT, of %s crossing in all", HumanBytes(left.bytes), HumanBytes(s.bytes)))
		}
		recs = append(recs, Recommendation{
			Kind: NatPerAZ, Target: fmt.Sprintf("%s: clients in %s use %s in %s", k.region, k.service, k.nat, s.natAZID),
			Evidence: ev(left.bytes, p.costOf(left.use).Total(), flows.NATGateway.String(), fmt.Sprintf("%s between %s and NAT gateway %s in %s cross AZs and pay inter-AZ transfer on top of NAT processing",
				HumanBytes(left.bytes), k.service, k.nat, s.natAZID)),
			MonthlyCostUSD: p.costOf(left.use).Total() * month, MonthlySavingsUSD: saving,
			Action:  natPerAZCommand(k.region, k.service, subnets),
			Caveats: caveats,
		})
	}

	// Fold the pairs: the two directions of an in-cluster pair, each byte
	// once (the larger of the sender's and the receiver's report), priced
	// at both ends.
	type folded struct {
		bytes  uint64
		use    Usage
		region string
		nat    bool // through a NAT gateway, not between two pods
		cat    flows.Category
	}
	byPair := map[[2]string]*folded{}
	for k, ps := range a.pairs {
		key := k
		if ps.inCluster && key[1] < key[0] { // two pods: one row for both directions
			key = [2]string{k[1], k[0]}
		}
		f := byPair[key]
		if f == nil {
			f = &folded{region: ps.region, cat: ps.category}
			byPair[key] = f
		}
		if !ps.inCluster {
			f.bytes += ps.bytes
			f.use.add(ps.use)
			f.nat = true
			continue
		}
		crossed := max(ps.egress, ps.ingress)
		f.bytes += crossed
		f.use.InterAZ += 2 * crossed // metered at both ends
	}
	for _, k := range sortedKeys(byPair, func(k [2]string) string { return k[0] + " " + k[1] }) {
		f := byPair[k]
		p, err := a.m.prices(f.region)
		if err != nil {
			return nil, err
		}
		cost := p.costOf(f.use).Total()
		monthly := cost * month
		if monthly < opt.ReducePayloadMinMonthlyUSD || covered[k[0]] || covered[k[1]] {
			continue
		}
		caveats := []string{fmt.Sprintf("savings assume compression removes %.0f%% of the bytes; measure with a sample of real payloads", opt.CompressionRatio*100)}
		if f.nat {
			caveats = append(caveats, "where NatPerAZ is proposed for the same bytes, each saving assumes the other is not made")
		}
		recs = append(recs, Recommendation{
			Kind: ReducePayload, Target: k[0] + " <-> " + k[1],
			Evidence:       ev(f.bytes, cost, f.cat.String(), fmt.Sprintf("%s billed per byte between %s and %s, which no endpoint or routing change removes", HumanBytes(f.bytes), k[0], k[1])),
			MonthlyCostUSD: monthly, MonthlySavingsUSD: monthly * opt.CompressionRatio,
			Action:  fmt.Sprintf("compress what %s and %s exchange (gzip or zstd on HTTP/gRPC), batch small messages, and drop unused fields; if one side is a single replica, add one in the other zone so that PreferSameZone can keep the traffic local", k[0], k[1]),
			Caveats: caveats,
		})
	}

	recs = slices.DeleteFunc(recs, func(r Recommendation) bool { return r.MonthlySavingsUSD < opt.MinMonthlySavingsUSD })
	slices.SortStableFunc(recs, func(x, y Recommendation) int {
		return cmp.Or(cmp.Compare(y.MonthlySavingsUSD, x.MonthlySavingsUSD), cmp.Compare(x.Kind, y.Kind), cmp.Compare(x.Target, y.Target))
	})
	return recs, nil
}

func sortedKeys[K comparable, V any](m map[K]V, name func(K) string) []K {
	keys := slices.Collect(maps.Keys(m))
	slices.SortFunc(keys, func(a, b K) int { return cmp.Compare(name(a), name(b)) })
	return keys
}

func setString(m map[string]bool) string { return strings.Join(slices.Sorted(maps.Keys(m)), ", ") }

func orUnknown(s []string) string {
	if len(s) == 0 {
		return "unknown"
	}
	return strings.Join(s, ", ")
}
