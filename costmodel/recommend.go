package costmodel

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
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

// withDefaults returns opt with the defaults of its unset fields.
func (opt AdviseOptions) withDefaults() AdviseOptions {
	if opt.CompressionRatio <= 0 || opt.CompressionRatio >= 1 {
		opt.CompressionRatio = 0.6
	}
	if opt.ReducePayloadMinMonthlyUSD <= 0 {
		opt.ReducePayloadMinMonthlyUSD = 50
	}
	return opt
}

// proposal is what the rules of one Recommend call share.
type proposal struct {
	opt     AdviseOptions
	windowS int64            // the window the savings are projected from, in seconds
	month   float64          // projects a window's figures onto a month
	recs    []Recommendation // what the rules that ran so far proposed
	// covered holds the workloads (namespace/name) behind a Service with an
	// endpoint in every client's zone: PreferSameZone keeps their traffic in
	// the zone, so ReducePayload leaves their pairs alone.
	covered map[string]bool
}

// evidence is the Evidence of bytes that cost cost in the window.
func (prop *proposal) evidence(bytes uint64, cost float64, cat, detail string) Evidence {
	return Evidence{Bytes: bytes, CostUSD: cost, WindowS: prop.windowS, Category: cat, Detail: detail}
}

// Recommend turns the observations of a window into recommendations, best first.
func (a *Advisor) Recommend(window time.Duration, opt AdviseOptions) ([]Recommendation, error) {
	if window <= 0 {
		return nil, fmt.Errorf("projecting savings: empty window")
	}
	prop := &proposal{opt: opt.withDefaults(), windowS: int64(window / time.Second), month: perMonth(window),
		covered: map[string]bool{}}
	// One rule per kind, in this order: NatPerAZ counts only the bytes that
	// the endpoints proposed before it leave on the NAT, and ReducePayload
	// skips the pairs that PreferSameZone covers.
	rules := []func(*proposal) error{a.preferSameZone, a.gatewayEndpoint, a.interfaceEndpoint, a.privateLink,
		a.natPerAZ, a.reducePayload}
	for _, rule := range rules {
		if err := rule(prop); err != nil {
			return nil, err
		}
	}
	recs := slices.DeleteFunc(prop.recs, func(r Recommendation) bool {
		return r.MonthlySavingsUSD < prop.opt.MinMonthlySavingsUSD
	})
	slices.SortStableFunc(recs, func(x, y Recommendation) int {
		return cmp.Or(cmp.Compare(y.MonthlySavingsUSD, x.MonthlySavingsUSD), cmp.Compare(x.Kind, y.Kind),
			cmp.Compare(x.Target, y.Target))
	})
	return recs, nil
}

// sortedKeys returns the keys of m in the order of their names, so that
// rules run in a stable order.
func sortedKeys[K comparable, V any](m map[K]V, name func(K) string) []K {
	keys := slices.Collect(maps.Keys(m))
	slices.SortFunc(keys, func(a, b K) int { return cmp.Compare(name(a), name(b)) })
	return keys
}

// setString lists a set's members, sorted.
func setString(m map[string]bool) string { return strings.Join(slices.Sorted(maps.Keys(m)), ", ") }

// orUnknown lists s, or says "unknown" when it is empty.
func orUnknown(s []string) string {
	if len(s) == 0 {
		return "unknown"
	}
	return strings.Join(s, ", ")
}
