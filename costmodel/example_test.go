package costmodel_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/netcost/netcost/costmodel"
	"github.com/netcost/netcost/internal/flows"
)

func ExampleModel_Price() {
	m := costmodel.New(nil) // the embedded price table
	r := flows.Record{Schema: 1, TS: time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC), WindowS: 60, Region: "us-east-1",
		Direction: flows.Egress, Category: flows.NATGateway, Protocol: flows.TCP, LocalIP: "10.0.1.9", LocalAZID: "use1-az1",
		RemoteIP: "52.46.1.1", RemoteAWSService: "AMAZON", RemoteRegion: "us-east-1",
		Via: "nat-0b2", ViaAZID: "use1-az2", Bytes: 10 * costmodel.GB}
	c, _ := m.Price(&r)
	fmt.Printf("NAT processing $%.2f + inter-AZ $%.2f = $%.2f\n", c.NATProcessing, c.InterAZ, c.Total())
	// Output: NAT processing $0.45 + inter-AZ $0.10 = $0.55
}

func ExampleAggregator() {
	m := costmodel.New(nil)
	a := m.NewAggregator(costmodel.ByWorkload)
	base := flows.Record{Schema: 1, TS: time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC), WindowS: 60, Region: "us-east-1",
		Category: flows.InterAZ, Protocol: flows.TCP, Bytes: 5 * costmodel.GB}
	// graphql's node reports 5 GiB sent to products; products' node reports receiving them.
	sent, received := base, base
	sent.Direction, sent.LocalIP, sent.LocalWorkload, sent.LocalNamespace = flows.Egress, "10.0.1.5", "graphql", "shop"
	sent.RemoteIP, sent.RemotePod, sent.RemoteWorkload, sent.RemoteNamespace = "10.0.2.7", "products-b", "products", "shop"
	received.Direction, received.LocalIP, received.LocalWorkload, received.LocalNamespace =
		flows.Ingress, "10.0.2.7", "products", "shop"
	received.RemoteIP, received.RemotePod, received.RemoteWorkload, received.RemoteNamespace =
		"10.0.1.5", "graphql-a", "graphql", "shop"
	_ = a.Add(&sent)
	_ = a.Add(&received)
	rows, _ := a.Rows()
	for _, r := range rows {
		fmt.Printf("%s -> %s: %s, $%.2f\n", r.Local.Workload, r.Remote.Workload, flows.HumanBytes(r.Bytes), r.CostUSD)
	}
	// Output: graphql -> products: 5.0 GiB, $0.10
}

func ExampleAdvisor_Recommend() {
	m := costmodel.New(nil)
	a := m.NewAdvisor()
	r := flows.Record{Schema: 1, TS: time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC), WindowS: 3600, Region: "us-east-1",
		Direction: flows.Egress, Category: flows.AmazonS3, Protocol: flows.TCP, LocalIP: "10.0.2.9", LocalAZID: "use1-az2",
		LocalSubnet: "subnet-0b2", RemoteIP: "52.216.1.1", RemoteAWSService: "S3", RemoteRegion: "us-east-1",
		Via: "nat-0b2", ViaAZID: "use1-az2", Bytes: 3 * costmodel.GB}
	_ = a.Add(&r)
	recs, _ := a.Recommend(time.Hour, costmodel.AdviseOptions{})
	for _, rec := range recs {
		fmt.Printf("%s: save $%.2f/month\n", rec.Kind, rec.MonthlySavingsUSD)
	}
	// Output: GatewayEndpoint: save $98.55/month
}

func ExampleTable_Lookup() {
	p, _ := costmodel.DefaultTable().Lookup("eu-central-1")
	fmt.Printf("%s: NAT $%.3f/hour, inter-AZ $%.2f/GB each way\n", p.Name, p.NATPerHour.USD, p.InterAZPerGB.USD)
	// Output: Europe (Frankfurt): NAT $0.052/hour, inter-AZ $0.01/GB each way
}

func ExampleTable_ApplyOverride() {
	t := costmodel.DefaultTable()
	override := `{"source": "our private pricing addendum", "regions": {"us-east-1": {"nat_per_gb": 0.04}}}`
	if err := t.ApplyOverride(strings.NewReader(override), "prices.json"); err != nil {
		fmt.Println(err)
		return
	}
	p, _ := t.Lookup("us-east-1")
	fmt.Printf("NAT $%.3f/GB (%s), $%.3f/hour (%s)\n",
		p.NATPerGB.USD, t.Sources[p.NATPerGB.Source].What, p.NATPerHour.USD, p.NATPerHour.Source)
	// Output: NAT $0.040/GB (our private pricing addendum), $0.045/hour (S1)
}
