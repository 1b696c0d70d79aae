package costmodel

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/netcost/netcost/internal/flows"
)

// sqs returns one hour's record of a pod in az sending bytes to SQS through a NAT in natAZ.
func sqs(az, natAZ string, bytes uint64) flows.Record {
	return flows.Record{Schema: 1, TS: t0, WindowS: 3600, Region: "us-east-1", Direction: flows.Egress,
		Category: flows.NATGateway, Protocol: flows.TCP,
		LocalIP: "10.0.1.9", LocalPod: "sqs-sender-" + az, LocalNamespace: "shop", LocalWorkload: "sqs-sender",
		LocalAZID: az, LocalSubnet: "subnet-" + az,
		RemoteIP: "52.46.1.1", RemotePort: 443, RemoteName: "sqs.us-east-1.amazonaws.com",
		RemoteAWSService: "AMAZON", RemoteRegion: "us-east-1", Via: "nat-" + natAZ, ViaAZID: natAZ, Bytes: bytes}
}

func advise(t *testing.T, window time.Duration, recs ...flows.Record) []Recommendation {
	t.Helper()
	return adviseWith(t, window, AdviseOptions{}, recs...)
}

// adviseWith is advise with options.
func adviseWith(t *testing.T, window time.Duration, opt AdviseOptions, recs ...flows.Record) []Recommendation {
	t.Helper()
	a := New(nil).NewAdvisor()
	for i := range recs {
		if err := a.Add(&recs[i]); err != nil {
			t.Fatal(err)
		}
	}
	out, err := a.Recommend(window, opt)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func find(recs []Recommendation, kind string) *Recommendation {
	for i := range recs {
		if recs[i].Kind == kind {
			return &recs[i]
		}
	}
	return nil
}

// TestInterfaceEndpointBreakEven: in us-east-1 with clients in two AZs the
// endpoint costs 2 x 730 h x $0.01 = $14.60/month plus $0.01/GB, and removes
// $0.045/GB of NAT processing: it pays off above 14.6/0.035 = 417 GB/month.
func TestInterfaceEndpointBreakEven(t *testing.T) {
	half := uint64(GB / 4) // per AZ per hour: 0.5 GiB/h in all, 365 GB/month
	below := advise(t, time.Hour, sqs("use1-az1", "use1-az1", half), sqs("use1-az2", "use1-az2", half))
	if r := find(below, InterfaceEndpoint); r != nil {
		t.Errorf("365 GB/month: got %+v; want no interface endpoint below break-even", r)
	}
	above := advise(t, time.Hour, sqs("use1-az1", "use1-az1", GB/2), sqs("use1-az2", "use1-az2", GB/2))
	r := find(above, InterfaceEndpoint)
	if r == nil {
		t.Fatalf("730 GB/month: no InterfaceEndpoint in %+v", above)
	}
	// 730 GB x $0.045 - (730 GB x $0.01 + $14.60) = 32.85 - 21.90 = 10.95
	if !near2(r.MonthlySavingsUSD, 10.95) || !near2(r.MonthlyCostUSD, 32.85) {
		t.Errorf("savings %.4f of %.4f; want 10.95 of 32.85", r.MonthlySavingsUSD, r.MonthlyCostUSD)
	}
	if !strings.Contains(r.Action, "--service-name com.amazonaws.us-east-1.sqs") ||
		!strings.Contains(r.Action, "subnet-use1-az1 subnet-use1-az2") {
		t.Errorf("action = %s", r.Action)
	}
	if find(above, NatPerAZ) != nil {
		t.Errorf("NatPerAZ proposed although every client uses the NAT in its own AZ")
	}
}

// TestInterfaceEndpointBreakEvenText: the break-even the evidence states is
// the one the savings are worked out with, whose per-GB saving counts the
// AZ crossing to a NAT in another AZ as well as the NAT's processing.
func TestInterfaceEndpointBreakEvenText(t *testing.T) {
	p, err := New(nil).Table().Lookup("us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	// An hour: 3 GiB from az1 through the NAT in az2, 1 GiB from az2.
	const crossGiB, sameGiB = 3, 1
	recs := advise(t, time.Hour, sqs("use1-az1", "use1-az2", crossGiB*GB), sqs("use1-az2", "use1-az2", sameGiB*GB))
	r := find(recs, InterfaceEndpoint)
	if r == nil {
		t.Fatal("no InterfaceEndpoint for 4 GiB/h to SQS through a NAT")
	}
	removed := p.NATPerGB.USD + p.InterAZPerGB.USD*crossGiB/(crossGiB+sameGiB) // per GB off the NAT's bill
	net := removed - p.EndpointPerGB.USD
	hours := 2 * HoursPerMonth * p.EndpointPerAZHour.USD // two client AZs
	breakEven := hours / net
	monthlyGB := float64(crossGiB+sameGiB) * HoursPerMonth
	if want := (monthlyGB - breakEven) * net; math.Abs(r.MonthlySavingsUSD-want) > 1e-6 {
		t.Errorf("savings %v; want (%v - %v GB) x $%v/GB = %v", r.MonthlySavingsUSD, monthlyGB, breakEven, net, want)
	}
	if want := fmt.Sprintf("pays off above %.0f GB/month", breakEven); !strings.Contains(r.Evidence.Detail, want) {
		t.Errorf("evidence %q; want %q", r.Evidence.Detail, want)
	}
	want := "$" + strconv.FormatFloat(math.Round(removed*1e4)/1e4, 'f', -1, 64) + "/GB"
	if !strings.Contains(r.Evidence.Detail, want) {
		t.Errorf("evidence %q; want the per-GB saving %s", r.Evidence.Detail, want)
	}
}

func near2(a, b float64) bool { return a-b < 0.005 && b-a < 0.005 }

// internet returns an hour of a pod in az calling an internet API through
// the NAT in natAZ: nothing but a NAT in its own AZ can save on it.
func internet(az, natAZ string, bytes uint64) flows.Record {
	r := sqs(az, natAZ, bytes)
	r.RemoteName, r.RemoteAWSService, r.RemoteRegion, r.RemoteIP = "api.stripe.com", "", "", "185.166.143.10"
	return r
}

func TestNatPerAZ(t *testing.T) {
	// A new NAT gateway costs 730 h x $0.045 = $32.85/month, and its Elastic
	// IP, a public IPv4 address, 730 h x $0.005 = $3.65: $36.50 in all.
	// 5 GiB/h from az1 through the NAT in az2: 3650 GB/month x $0.01 =
	// $36.50 of inter-AZ transfer: not worth it (it was, by $3.65, before
	// the address was counted).
	if r := find(advise(t, time.Hour, internet("use1-az1", "use1-az2", 5*GB)), NatPerAZ); r != nil {
		t.Errorf("NatPerAZ at $36.50/month of crossing: %+v; want none (a NAT and its address cost $36.50)", r)
	}
	// 8 GiB/h: $58.40 - $32.85 - $3.65 = $21.90.
	r := find(advise(t, time.Hour, internet("use1-az1", "use1-az2", 8*GB)), NatPerAZ)
	if r == nil || !near2(r.MonthlySavingsUSD, 21.90) || !strings.Contains(r.Action, "create-nat-gateway") ||
		!strings.Contains(r.Action, "replace-route") {
		t.Errorf("NatPerAZ = %+v; want $21.90/month with create-nat-gateway and replace-route", r)
	}
	if r != nil && !strings.Contains(strings.Join(r.Caveats, " "),
		"net of the new NAT gateway's hourly fee ($32.85/month) and its public IPv4 address ($3.65/month)") {
		t.Errorf("NatPerAZ caveats %q; want the NAT's hours and its address", r.Caveats)
	}
	// The same 8 GiB/h to SQS: the interface endpoint takes it off the NAT,
	// so a NAT per AZ would save nothing more; 8 GiB/h to SQS and 8 to the
	// internet: only the internet's crossing counts.
	recs := advise(t, time.Hour, sqs("use1-az1", "use1-az2", 8*GB))
	if find(recs, InterfaceEndpoint) == nil || find(recs, NatPerAZ) != nil {
		t.Errorf("SQS through a NAT in another AZ: %+v; want InterfaceEndpoint and no NatPerAZ", recs)
	}
	recs = advise(t, time.Hour, sqs("use1-az1", "use1-az2", 8*GB), internet("use1-az1", "use1-az2", 8*GB))
	if r := find(recs, NatPerAZ); r == nil || !near2(r.MonthlySavingsUSD, 21.90) || r.Evidence.Bytes != 8*GB {
		t.Errorf("NatPerAZ beside an interface endpoint = %+v; want $21.90 on the internet's 8 GiB", r)
	}
}

func TestGatewayEndpointOnlyInRegion(t *testing.T) {
	here := sqs("use1-az2", "use1-az2", GB)
	here.Category, here.RemoteAWSService, here.RemoteName = flows.AmazonS3, "S3", "s3.us-east-1.amazonaws.com"
	there := here
	there.RemoteRegion, there.RemoteName = "eu-west-1", "s3.eu-west-1.amazonaws.com"
	r := find(advise(t, time.Hour, here, there), GatewayEndpoint)
	// Only the us-east-1 GiB: 730 GB x $0.045 = $32.85.
	if r == nil || r.Evidence.Bytes != GB || !near2(r.MonthlySavingsUSD, 32.85) {
		t.Errorf("GatewayEndpoint = %+v; want 1 GiB and $32.85: a gateway endpoint cannot reach eu-west-1", r)
	}
}

func TestGatewayEndpointAndPreferSameZone(t *testing.T) {
	s3 := sqs("use1-az2", "use1-az2", GB)
	s3.Category, s3.RemoteAWSService, s3.RemoteName = flows.AmazonS3, "S3", "s3.us-east-1.amazonaws.com"
	// graphql in az1 calls products in az2 (10 GiB each way... 1 GiB out, 9 back),
	// and products also has a pod in az1 (seen in-zone).
	out := rec(flows.Egress, flows.InterAZ, GB)
	back := rec(flows.Ingress, flows.InterAZ, 9*GB)
	inZone := rec(flows.Egress, flows.IntraAZ, GB)
	inZone.RemotePod, inZone.RemoteAZID = "products-a", "use1-az1"
	for _, r := range []*flows.Record{&out, &back, &inZone} {
		r.WindowS = 3600
	}
	recs := advise(t, time.Hour, s3, out, mirror(out), back, mirror(back), inZone)

	g := find(recs, GatewayEndpoint)
	// 1 GiB/h x 730 x $0.045 = $32.85, all of it saved.
	if g == nil || !near2(g.MonthlySavingsUSD, 32.85) ||
		!strings.Contains(g.Action, "--vpc-endpoint-type Gateway --service-name com.amazonaws.us-east-1.s3") {
		t.Errorf("GatewayEndpoint = %+v", g)
	}
	p := find(recs, PreferSameZone)
	// 10 GiB/h crossing, counted once from the client's side, x 730 x $0.02 = $146.
	if p == nil || !near2(p.MonthlySavingsUSD, 146) || p.Target != "service shop/products" ||
		p.Action != `kubectl -n shop patch service products --type merge `+
			`-p '{"spec":{"trafficDistribution":"PreferSameZone"}}'` {
		t.Errorf("PreferSameZone = %+v", p)
	}
	if r := find(recs, ReducePayload); r != nil {
		t.Errorf("ReducePayload for a pair PreferSameZone fixes: %+v", r)
	}

	// Without a products endpoint in az1, PreferSameZone saves nothing:
	// ReducePayload is proposed instead, an estimate on the $146 without a
	// dollar figure of its own unless a compression ratio is given.
	recs = advise(t, time.Hour, out, mirror(out), back, mirror(back))
	if r := find(recs, PreferSameZone); r != nil {
		t.Errorf("PreferSameZone without a same-zone endpoint: %+v", r)
	}
	if r := find(recs, ReducePayload); r == nil || r.MonthlySavingsUSD != 0 || !near2(r.MonthlyCostUSD, 146) ||
		r.SavingsNeed != NeedCompressionRatio || !r.Estimate || r.Evidence.Bytes != 10*GB ||
		r.Evidence.Category != "INTER_AZ" {
		t.Errorf("ReducePayload = %+v; want an estimate on $146, 10 GiB counted once, that needs a ratio", r)
	}
	// Reported by one agent only, the pair costs the same; with a ratio of
	// 0.6, it saves 0.6 x $146 = $87.60.
	recs = adviseWith(t, time.Hour, AdviseOptions{CompressionRatio: 0.6}, out, back)
	if r := find(recs, ReducePayload); r == nil || !near2(r.MonthlySavingsUSD, 87.60) || r.SavingsNeed != "" {
		t.Errorf("one-sided ReducePayload = %+v; want $87.60", r)
	}
}

func TestPrivateLink(t *testing.T) {
	dd := sqs("use1-az1", "use1-az1", 2*GB)
	dd.RemoteAWSService, dd.RemoteRegion, dd.RemoteName = "", "", "agent-intake.logs.datadoghq.com"
	r := find(advise(t, time.Hour, dd), PrivateLink)
	// 1460 GB x ($0.045 + $0.09) = $197.10; endpoint 1460 x $0.01 + $7.30 = $21.90.
	if r == nil || !near2(r.MonthlySavingsUSD, 175.20) || !strings.HasPrefix(r.Target, "Datadog") {
		t.Errorf("PrivateLink = %+v; want Datadog saving $175.20", r)
	}
}

// TestPreferSameZoneKubernetesVersions: PreferSameZone is beta and on by
// default from Kubernetes 1.34 (alpha behind a gate in 1.33); 1.31-1.33
// take PreferClose.
func TestPreferSameZoneKubernetesVersions(t *testing.T) {
	out := rec(flows.Egress, flows.InterAZ, GB)
	inZone := rec(flows.Egress, flows.IntraAZ, GB)
	inZone.RemotePod, inZone.RemoteAZID = "products-a", "use1-az1"
	p := find(advise(t, time.Hour, out, inZone), PreferSameZone)
	if p == nil {
		t.Fatal("no PreferSameZone for a Service with an endpoint in its client's zone")
	}
	caveats := strings.Join(p.Caveats, "\n")
	for _, want := range []string{"needs Kubernetes 1.34 or later", "beta and on by default", "in 1.33 it is alpha",
		`on 1.31-1.33 use "PreferClose"`} {
		if !strings.Contains(caveats, want) {
			t.Errorf("PreferSameZone caveats %q; want %q", caveats, want)
		}
	}
}

// TestProjectionWarning: a window shorter than a day is projected with a
// warning. A minute is projected x43,800 (730 h x 60), an hour x730.
func TestProjectionWarning(t *testing.T) {
	for _, tt := range []struct {
		window time.Duration
		want   string
	}{
		{time.Minute, "monthly figures project 1m0s of records onto 730 hours (x43800), less than a day"},
		{time.Hour, "monthly figures project 1h0m0s of records onto 730 hours (x730), less than a day"},
		{24 * time.Hour, ""},
		{7 * 24 * time.Hour, ""},
	} {
		if got := ProjectionWarning(tt.window); !strings.HasPrefix(got, tt.want) || (tt.want == "") != (got == "") {
			t.Errorf("ProjectionWarning(%v) = %q; want %q...", tt.window, got, tt.want)
		}
	}
}

// TestInterfaceEndpointFromName: records the agent named from the pod's own DNS answers or TLS server name
// (sqs.us-east-1.amazonaws.com) get an InterfaceEndpoint even where ip-ranges said nothing of the address
// (the agent had none, or the address is new); a name the CLI's resolver read from a certificate does not
// suffice alone.
func TestInterfaceEndpointFromName(t *testing.T) {
	for _, tt := range []struct {
		source, service string
		want            bool
	}{
		{flows.NameFromDNS, "", true}, {flows.NameFromSNI, "", true}, {flows.NameFromDNS, "AMAZON", true},
		{flows.NameFromCert, "", false}, {"", "", false},
	} {
		a, b := sqs("use1-az1", "use1-az1", GB/2), sqs("use1-az2", "use1-az2", GB/2)
		for _, r := range []*flows.Record{&a, &b} {
			r.RemoteNameSource, r.RemoteAWSService = tt.source, tt.service
			if tt.service == "" {
				r.RemoteRegion = ""
			}
		}
		r := find(advise(t, time.Hour, a, b), InterfaceEndpoint)
		if (r != nil) != tt.want {
			t.Errorf("name from %q, remote_aws_service %q: InterfaceEndpoint %v; want %v", tt.source, tt.service,
				r != nil, tt.want)
		}
		if r != nil && !strings.Contains(r.Action, "com.amazonaws.us-east-1.sqs") {
			t.Errorf("name from %q: action %s; want the SQS endpoint", tt.source, r.Action)
		}
	}
}
