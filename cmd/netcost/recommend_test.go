package main

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/netcost/netcost/costmodel"
	"github.com/netcost/netcost/internal/query"
)

func TestMakeRecommendTable(t *testing.T) {
	start := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	res := &query.RecommendResult{Start: start, End: start.Add(time.Hour), WindowS: 3600, TotalSavingsUSD: 120.5,
		Notes: []string{costmodel.OverlapNote}, Recommendations: []costmodel.Recommendation{
			{Kind: "GatewayEndpoint", Target: "vpc-0a1 S3", MonthlySavingsUSD: 120.5, MonthlyCostUSD: 130.25,
				Action:   "aws ec2 create-vpc-endpoint --vpc-id vpc-0a1\naws ec2 describe-route-tables",
				Evidence: costmodel.Evidence{WindowS: 3600, Detail: "3.0 GiB of S3 through nat-0a1"},
				Caveats:  []string{"one", "two"}},
			{Kind: "ReducePayload", Target: "shop/web", MonthlySavingsUSD: 6, MonthlyCostUSD: 10, Estimate: true,
				Action: "compress the payloads", Evidence: costmodel.Evidence{WindowS: 3600}},
			{Kind: "ReducePayload", Target: "shop/cart", MonthlyCostUSD: 4, Estimate: true,
				SavingsNeed: costmodel.NeedCompressionRatio, Action: "compress", Evidence: costmodel.Evidence{WindowS: 3600}},
		}}
	for _, tc := range []struct {
		raw                 bool
		save, cost, actions []string
	}{
		{raw: false, save: []string{"120.50", "6.00 (estimate)", "needs --compression-ratio"},
			cost: []string{"130.25", "10.00", "4.00"},
			actions: []string{"`aws ec2 create-vpc-endpoint --vpc-id vpc-0a1` `aws ec2 describe-route-tables`",
				"`compress the payloads`", "`compress`"}},
		// CSV: plain numbers, no figure where there is none, one line per action.
		{raw: true, save: []string{"120.50", "6.00", ""}, cost: []string{"130.25", "10.00", "4.00"},
			actions: []string{"aws ec2 create-vpc-endpoint --vpc-id vpc-0a1; aws ec2 describe-route-tables",
				"compress the payloads", "compress"}},
	} {
		tb := makeRecommendTable(res, tc.raw)
		for col, want := range map[string][]string{"MONTHLY SAVINGS USD": tc.save, "MONTHLY COST USD": tc.cost,
			"ACTION": tc.actions, "CAVEATS": {"one; two", "", ""}, "PROJECTED FROM": {"1h0m0s", "1h0m0s", "1h0m0s"}} {
			if got := column(t, tb, col); !slices.Equal(got, want) {
				t.Errorf("raw %v: %s = %q; want %q", tc.raw, col, got, want)
			}
		}
		if len(tb.notes) != 3 || tb.notes[0] != "total: $120.50/month (from 1h0m0s)" ||
			tb.notes[1] != costmodel.OverlapNote || !strings.HasPrefix(tb.notes[2], "window: ") {
			t.Errorf("raw %v: notes %q; want the total, the result's notes, the window", tc.raw, tb.notes)
		}
	}
}
