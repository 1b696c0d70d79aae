package costmodel

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/netcost/netcost/internal/flows"
)

// Notes says what the prices of the aggregated records rest on beyond the
// records: the internet egress tier, and the AZ crossings assumed because
// a record did not say an AZ. Each note is one line a person reads.
func (a *Aggregator) Notes() []string {
	internet := map[string]bool{} // regions with internet bytes out
	assumed := map[string]uint64{}
	for _, ac := range a.rows {
		if ac.use.InternetOut > 0 {
			internet[ac.region] = true
		}
		if ac.use.AssumedCrossing > 0 {
			assumed[ac.region] += ac.use.AssumedCrossing
		}
	}
	var notes []string
	if len(internet) > 0 {
		notes = append(notes, a.tierNote(slices.Sorted(maps.Keys(internet))))
	}
	var bytes uint64
	var cost float64
	for region, n := range assumed {
		bytes += n
		if p, err := a.m.prices(region); err == nil {
			cost += gb(n) * p.InterAZPerGB.USD
		}
	}
	if bytes > 0 {
		notes = append(notes, fmt.Sprintf("%s priced as crossing AZs ($%s) because their records do not say an AZ "+
			"(a NAT gateway's, or a peered remote's): the likelier bill unless each AZ has its own NAT gateway",
			flows.HumanBytes(bytes), strconv.FormatFloat(cost, 'f', 2, 64)))
	}
	return notes
}

// tierNote says at which tier internet bytes out were priced.
func (a *Aggregator) tierNote(regions []string) string {
	var rates []string
	for _, r := range regions {
		if p, err := a.m.prices(r); err == nil {
			rates = append(rates, fmt.Sprintf("$%s/GB in %s", perGB(p.InternetEgressPerGB.USD), r))
		}
	}
	if tb := a.m.opt.InternetEgressTBMonth; tb > 0 {
		return fmt.Sprintf("internet egress priced at the tier %s TB a month reaches, the price of one more GB: %s",
			strconv.FormatFloat(tb, 'f', -1, 64), strings.Join(rates, ", "))
	}
	return "internet egress priced at the first tier (up to 10 TB a month): " + strings.Join(rates, ", ") +
		"; give the account's monthly volume (--internet-egress-tb-month, NETCOST_INTERNET_EGRESS_TB_MONTH) " +
		"to price at its tier"
}
