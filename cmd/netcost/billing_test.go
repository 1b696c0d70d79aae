package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// billingRecord is a us-east-1 record of a one-minute window from
// graphql-a (use1-az1), with the fields given as JSON members after it.
func billingRecord(dir, cat string, bytes uint64, more string) string {
	return fmt.Sprintf(`{"schema":1,"ts":"2026-11-20T09:00:00Z","window_s":60,"region":"us-east-1",`+
		`"direction":%q,"category":%q,"protocol":"tcp","local_ip":"10.0.1.5","local_pod":"graphql-a",`+
		`"local_namespace":"shop","local_az_id":"use1-az1",%s,"bytes":%d,"packets":1}`, dir, cat, more, bytes)
}

// topTotal runs top -o json and returns its total cost and notes.
func topTotal(t *testing.T, args ...string) (float64, []string) {
	t.Helper()
	var res struct {
		TotalCostUSD float64  `json:"total_cost_usd"`
		Notes        []string `json:"notes"`
	}
	out := mustRun(t, append([]string{"top", "-o", "json"}, args...)...)
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("top -o json: %v\n%s", err, out)
	}
	return res.TotalCostUSD, res.Notes
}

// hasNote reports whether a note contains s.
func hasNote(notes []string, s string) bool {
	for _, n := range notes {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}

// TestInternetEgressTier: internet bytes are priced at the tier that the
// account's monthly volume reaches, and the output says which.
func TestInternetEgressTier(t *testing.T) {
	src := writeStore(t, billingRecord("egress", "INTERNET", 10<<30, `"remote_ip":"198.51.100.7"`))
	// 10 GiB out at the first tier: 10 * 0.09 = $0.90.
	usd, notes := topTotal(t, "-c", "internet", "-s", src)
	if !near(usd, 0.90) || !hasNote(notes, "priced at the first tier") {
		t.Errorf("default: $%v, notes %q; want $0.90 and a note on the first tier", usd, notes)
	}
	// 60 TB a month reaches the 50-150 TB tier: 10 * 0.07 = $0.70.
	usd, notes = topTotal(t, "-c", "internet", "--internet-egress-tb-month", "60", "-s", src)
	if !near(usd, 0.70) || !hasNote(notes, "the tier 60 TB a month reaches") {
		t.Errorf("--internet-egress-tb-month 60: $%v, notes %q; want $0.70 and a note on the tier", usd, notes)
	}
}

// TestTransitGatewayDirections: a transit gateway's processing counts on
// bytes in as well as out, unless the other VPC is someone else's.
func TestTransitGatewayDirections(t *testing.T) {
	src := writeStore(t,
		billingRecord("egress", "INTER_VPC", 1<<30, `"remote_ip":"10.8.0.9","via":"tgw-0abc"`),
		billingRecord("ingress", "INTER_VPC", 3<<30, `"remote_ip":"10.8.0.9","via":"tgw-0abc"`))
	// Both attachments the account's: (1 + 3) * 0.02 = $0.08.
	if usd, _ := topTotal(t, "-c", "inter-vpc", "-s", src); !near(usd, 0.08) {
		t.Errorf("default: $%v; want $0.08", usd)
	}
	// The peer's attachment is not: the 1 GiB this side sent, 1 * 0.02.
	if usd, _ := topTotal(t, "-c", "inter-vpc", "--tgw-peer-external", "-s", src); !near(usd, 0.02) {
		t.Errorf("--tgw-peer-external: $%v; want $0.02", usd)
	}
}

// TestUnknownAZNoted: NAT bytes whose NAT AZ is unknown are priced as a
// crossing and listed in the notes.
func TestUnknownAZNoted(t *testing.T) {
	src := writeStore(t, billingRecord("egress", "NAT_GATEWAY", 2<<30,
		`"remote_ip":"52.94.133.131","remote_aws_service":"AMAZON","remote_region":"us-east-1","via":"nat-0abc"`))
	// 2 GiB: processing 2 * 0.045 + the assumed crossing 2 * 0.01 = $0.11.
	usd, notes := topTotal(t, "-c", "nat", "-s", src)
	if !near(usd, 0.11) || !hasNote(notes, "2.0 GiB priced as crossing AZs ($0.02)") {
		t.Errorf("$%v, notes %q; want $0.11 and a note on 2.0 GiB assumed", usd, notes)
	}
}

// TestFoldedPairCLI is issue 14's first example through top: products-b
// folds its 1 GiB to graphql-a into "other", graphql-a reports it in. The
// crossing is 1 GiB, billed at both interfaces: 1 * (0.01 + 0.01) = $0.02.
func TestFoldedPairCLI(t *testing.T) {
	in := billingRecord("ingress", "INTER_AZ", 1<<30, `"remote_ip":"10.0.2.7","remote_pod":"products-b",`+
		`"remote_namespace":"shop","remote_az_id":"use1-az2","remote_reported":true`)
	fold := `{"schema":1,"ts":"2026-11-20T09:00:00Z","window_s":60,"region":"us-east-1","direction":"egress",` +
		`"category":"INTER_AZ","protocol":"tcp","local_ip":"10.0.2.7","local_pod":"products-b","local_namespace":"shop",` +
		`"local_az_id":"use1-az2","remote_ip":"other","remote_reported":true,"bytes":1073741824,"packets":1}`
	var res struct {
		TotalBytes   uint64  `json:"total_bytes"`
		TotalCostUSD float64 `json:"total_cost_usd"`
	}
	out := mustRun(t, "top", "-o", "json", "-c", "inter-az", "-s", writeStore(t, in, fold))
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if res.TotalBytes != 1<<30 || !near(res.TotalCostUSD, 0.02) {
		t.Errorf("top: %d bytes, $%v; want 1 GiB, $0.02", res.TotalBytes, res.TotalCostUSD)
	}
}

// TestLoadBalancerNamed: top names a load balancer remote by its kind and
// name, and prices an ALB's bytes to its targets at nothing across AZs, an
// NLB's at both interfaces: 2 GiB * (0.01 + 0.01) = $0.04.
func TestLoadBalancerNamed(t *testing.T) {
	src := writeStore(t,
		billingRecord("ingress", "INTER_AZ", 3<<30, `"remote_ip":"10.0.2.50","remote_az_id":"use1-az2",`+
			`"remote_lb":"app/web/0123456789abcdef","remote_reported":false`),
		billingRecord("egress", "INTER_AZ", 2<<30, `"remote_ip":"10.0.2.60","remote_az_id":"use1-az2",`+
			`"remote_lb":"net/edge/0123456789abcdef","remote_reported":false`))
	var res struct {
		Rows []struct {
			Remote  struct{ LB string }
			CostUSD float64 `json:"cost_usd"`
		}
	}
	out := mustRun(t, "top", "-o", "json", "-c", "inter-az", "-s", src)
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 2 || res.Rows[0].Remote.LB != "net/edge/0123456789abcdef" || !near(res.Rows[0].CostUSD, 0.04) ||
		res.Rows[1].Remote.LB != "app/web/0123456789abcdef" || res.Rows[1].CostUSD != 0 {
		t.Errorf("rows = %+v; want the NLB at $0.04, then the ALB at $0", res.Rows)
	}
	table := mustRun(t, "top", "-o", "wide", "-c", "inter-az", "-s", src)
	if !strings.Contains(table, "nlb:edge") || !strings.Contains(table, "alb:web") {
		t.Errorf("top's table does not name the load balancers:\n%s", table)
	}
}
