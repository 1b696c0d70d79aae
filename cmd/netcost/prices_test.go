package main

import (
	"slices"
	"testing"

	"github.com/netcost/netcost/costmodel"
)

// priceTable is a price table of two regions, every figure from source
// S1 but a few from S2; one figure of bb-test-1 is derived.
func priceTable() *costmodel.Table {
	a := &costmodel.Prices{Region: "aa-test-1", Name: "Test A"}
	for _, f := range costmodel.Figures {
		*f.Get(a) = costmodel.Price{USD: 0.01, Source: "S1"}
	}
	a.NATPerGB = costmodel.Price{USD: 0.045, Source: "S2"}
	a.InternetEgressTiers = []costmodel.Tier{{FromTB: 10, Price: costmodel.Price{USD: 0.085, Source: "S2"}}}
	a.InterRegionPairs = map[string]costmodel.Price{"bb-test-1": {USD: 0.01, Source: "S2"}}
	b := *a
	derived := false
	b.Region, b.Name = "bb-test-1", "Test B"
	b.NATPerGB = costmodel.Price{USD: 0.05, Source: "S2", Verified: &derived}
	return &costmodel.Table{AsOf: "2026-12-01",
		Sources: map[string]costmodel.Source{"S1": {What: "one", Ref: "example.com/1", Date: "2026-11-01"},
			"S2": {What: "two", Ref: "example.com/2", Date: "2026-11-02"}},
		Regions: map[string]*costmodel.Prices{"aa-test-1": a, "bb-test-1": &b}}
}

func TestMakeRegionPricesTable(t *testing.T) {
	pt := priceTable()
	b, _ := pt.Lookup("bb-test-1")
	tb := makeRegionPricesTable(pt, b, false)
	if len(tb.rows) != len(costmodel.Figures)+2 {
		t.Fatalf("%d rows; want a row per figure, the tier and the pair: %d", len(tb.rows), len(costmodel.Figures)+2)
	}
	labels := column(t, tb, "PRICE")
	for _, after := range []struct{ figure, next string }{
		{"Data transfer out to the internet (first 10 TB)", "Data transfer out to the internet (past 10 TB a month)"},
		{"Data transfer out to another region", "Data transfer out to bb-test-1"},
	} {
		if i := slices.Index(labels, after.figure); i < 0 || labels[i+1] != after.next {
			t.Errorf("PRICE = %q; want %q right after %q", labels, after.next, after.figure)
		}
	}
	if got := column(t, tb, "USD")[1]; got != "0.05*" {
		t.Errorf("the derived NAT figure = %q; want 0.05*", got)
	}
	want := []string{"bb-test-1, Test B; * derived or unverified; a GB is 2^30 bytes",
		"S1: one. example.com/1 (2026-11-01)",
		"S2: two. example.com/2 (2026-11-02)"}
	if !slices.Equal(tb.notes, want) {
		t.Errorf("notes = %q; want %q", tb.notes, want)
	}
	// CSV: the number plain, and a column of its own says it is derived.
	raw := makeRegionPricesTable(pt, b, true)
	if usd, verified := column(t, raw, "USD")[1], column(t, raw, "VERIFIED")[1]; usd != "0.05" || verified != "false" {
		t.Errorf("raw: USD %q, VERIFIED %q; want 0.05, false", usd, verified)
	}
}

func TestMakePricesTable(t *testing.T) {
	pt := priceTable()
	tb := makePricesTable(pt, pt.RegionNames(), false)
	if len(tb.header) != len(costmodel.Figures)+1 || tb.header[0] != "REGION" {
		t.Errorf("header = %q; want REGION and a column per figure", tb.header)
	}
	if got := column(t, tb, "nat_per_gb"); !slices.Equal(got, []string{"0.045", "0.05*"}) {
		t.Errorf("nat_per_gb = %q", got)
	}
	// On a terminal the last figures go first; the first three stay.
	keys := []string{}
	for _, g := range tb.narrow.first {
		keys = append(keys, g...)
	}
	if len(keys) != len(costmodel.Figures)-3 || keys[0] != costmodel.Figures[len(costmodel.Figures)-1].Key ||
		slices.Contains(keys, "nat_per_gb") {
		t.Errorf("narrowing drops %q; want every figure from the last down to the fourth", keys)
	}
	raw := makePricesTable(pt, pt.RegionNames(), true)
	if got := column(t, raw, "derived_or_unverified"); !slices.Equal(got, []string{"", "nat_per_gb"}) {
		t.Errorf("raw derived_or_unverified = %q", got)
	}
	if got := column(t, raw, "nat_per_gb"); !slices.Equal(got, []string{"0.045", "0.05"}) {
		t.Errorf("raw nat_per_gb = %q", got)
	}
}
