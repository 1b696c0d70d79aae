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
	// Estimate marks a change whose saving is not certain (ReducePayload):
	// it comes after every certain change and is never in a total.
	Estimate bool `json:"estimate,omitempty"`
	// SavingsNeed names what an estimate lacks for a dollar figure
	// (NeedCompressionRatio); its MonthlySavingsUSD is then 0.
	SavingsNeed string `json:"savings_need,omitempty"`
}

// NeedCompressionRatio is the SavingsNeed of a ReducePayload made without
// AdviseOptions.CompressionRatio.
const NeedCompressionRatio = "compression_ratio"

// OverlapNote says how the savings of a list of recommendations add up.
const OverlapNote = "each saving assumes the ones above it are made, so no byte is saved twice " +
	"and the total never exceeds the bill of the bytes involved; estimates are not in the total"

// ProjectionWarning warns that monthly figures projected from window rest
// on less than a day, whose daily cycle they miss; "" for a day or more.
func ProjectionWarning(window time.Duration) string {
	if window <= 0 || window >= 24*time.Hour {
		return ""
	}
	return fmt.Sprintf("monthly figures project %s of records onto %d hours (x%.0f), less than a day: "+
		"they miss the daily cycle; read 24 hours or more before acting on them", window, HoursPerMonth,
		perMonth(window))
}

// TotalSavings is the monthly savings of the certain recommendations of a
// list: estimates are left out.
func TotalSavings(recs []Recommendation) float64 {
	var total float64
	for _, r := range recs {
		if !r.Estimate {
			total += r.MonthlySavingsUSD
		}
	}
	return total
}

// AdviseOptions tune the recommendation rules.
type AdviseOptions struct {
	// MinMonthlySavingsUSD drops recommendations that save less.
	MinMonthlySavingsUSD float64
	// CompressionRatio is the share of bytes that compression removes
	// (0 < R < 1), as the user measured it. Unset (0), ReducePayload has
	// no dollar figure: no ratio is assumed.
	CompressionRatio float64
	// ReducePayloadMinMonthlyUSD is the inter-AZ or NAT spend of one pair above
	// which ReducePayload is proposed where no certain change applies (default 50).
	ReducePayloadMinMonthlyUSD float64
}

// withDefaults returns opt with the defaults of its unset fields.
func (opt AdviseOptions) withDefaults() AdviseOptions {
	if opt.ReducePayloadMinMonthlyUSD <= 0 {
		opt.ReducePayloadMinMonthlyUSD = 50
	}
	return opt
}

// proposal is what the rules of one Recommend call share: the changes
// made so far, which later ones count on.
type proposal struct {
	opt     AdviseOptions
	windowS int64            // the window the savings are projected from, in seconds
	month   float64          // projects a window's figures onto a month
	recs    []Recommendation // what the rules that ran so far proposed
	// offNAT holds the endpoints proposed: their bytes leave the NAT.
	offNAT map[regionTag]bool
	// perAZ holds the client AZs (crossNAT keys) given a NAT of their own:
	// their bytes no longer cross to reach one.
	perAZ map[natKey]bool
	// sameZone holds the Services and client AZs whose traffic
	// PreferSameZone keeps in the zone.
	sameZone map[svcZone]bool
}

// regionTag is a natTag in a region.
type regionTag struct {
	region string
	tag    natTag
}

// svcZone is a Service's clients in one AZ ID.
type svcZone struct {
	svc svcKey
	az  string
}

// evidence is the Evidence of bytes that cost cost in the window.
func (prop *proposal) evidence(bytes uint64, cost float64, cat, detail string) Evidence {
	return Evidence{Bytes: bytes, CostUSD: cost, WindowS: prop.windowS, Category: cat, Detail: detail}
}

// candidate is a certain change whose saving may depend on the changes
// made before it. saving returns its monthly saving given prop's changes
// (0 or less: none) and a function that builds it; the building, with
// its text, is left until the change is chosen.
type candidate struct {
	saving func(prop *proposal) (float64, func() Recommendation)
	made   func(prop *proposal) // notes in prop what the change removes
}

// byRank orders recommendations: by savings, then by kind and target.
func byRank(x, y Recommendation) int {
	return cmp.Or(cmp.Compare(y.MonthlySavingsUSD, x.MonthlySavingsUSD), cmp.Compare(x.Kind, y.Kind),
		cmp.Compare(x.Target, y.Target))
}

// Recommend turns the observations of a window into recommendations: the
// certain ones first, by savings, each saving counting on the changes
// above it being made (as AWS Cost Optimization Hub removes overlapping
// savings), then the estimates.
func (a *Advisor) Recommend(window time.Duration, opt AdviseOptions) ([]Recommendation, error) {
	if window <= 0 {
		return nil, fmt.Errorf("projecting savings: empty window")
	}
	if r := opt.CompressionRatio; r != 0 && !(r > 0 && r < 1) {
		return nil, fmt.Errorf("estimating savings: compression ratio %v: want a share of the bytes, above 0 and below 1", r)
	}
	prop := &proposal{opt: opt.withDefaults(), windowS: int64(window / time.Second), month: perMonth(window),
		offNAT: map[regionTag]bool{}, perAZ: map[natKey]bool{}, sameZone: map[svcZone]bool{}}
	// PreferSameZone saves bytes that no other certain change touches; the
	// changes that take bytes off a NAT gateway overlap (an endpoint takes
	// off bytes whose crossing to the NAT NatPerAZ would save), so they are
	// chosen one at a time, the largest saving first, each priced on what
	// the ones before it leave.
	if err := a.preferSameZone(prop); err != nil {
		return nil, err
	}
	var cands []candidate
	for _, rule := range []func(*proposal) ([]candidate, error){a.gatewayEndpoint, a.interfaceEndpoint,
		a.privateLink, a.natPerAZ} {
		c, err := rule(prop)
		if err != nil {
			return nil, err
		}
		cands = append(cands, c...)
	}
	prop.choose(cands)
	slices.SortStableFunc(prop.recs, byRank)
	if err := a.reducePayload(prop); err != nil {
		return nil, err
	}
	return prop.recs, nil
}

// choose proposes the candidates one at a time, the one that saves the
// most given the changes made so far first, until none saves anything
// (or MinMonthlySavingsUSD).
func (prop *proposal) choose(cands []candidate) {
	for len(cands) > 0 {
		best, bestSaving := -1, 0.0
		var bestRec Recommendation
		for i := 0; i < len(cands); i++ {
			saving, build := cands[i].saving(prop)
			if saving <= 0 || saving < prop.opt.MinMonthlySavingsUSD {
				// Savings only fall as changes are made: this one is out.
				cands = slices.Delete(cands, i, i+1)
				i--
				continue
			}
			if best >= 0 && saving < bestSaving {
				continue
			}
			if r := build(); best < 0 || byRank(r, bestRec) < 0 {
				best, bestSaving, bestRec = i, saving, r
			}
		}
		if best < 0 {
			break
		}
		cands[best].made(prop)
		prop.recs = append(prop.recs, bestRec)
		cands = slices.Delete(cands, best, best+1)
	}
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
