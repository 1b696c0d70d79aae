package curtest

import (
	"time"

	"github.com/netcost/netcost/internal/flows"
)

// DayStart and DayEnd are the day of Day's records and bill: 2026-11-20, UTC.
var (
	DayStart = time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	DayEnd   = DayStart.Add(24 * time.Hour)
)

const (
	natID  = "nat-0abc"
	natARN = "arn:aws:ec2:us-east-1:111122223333:natgateway/" + natID
)

// DayRecords are a cluster's flow records of DayStart, 10:00 to 11:00, in
// GiB: in us-east-1, node-a (i-0aaaaaaaaaaaaaaaa, use1-az1) sends 10 to a pod on node-b
// (i-0bbbbbbbbbbbbbbbb, use1-az2), whose agent reports receiving them; 5 to an RDS
// instance in use1-az2 (no agent); 4 to the internet through nat-0abc in
// use1-az2. In us-east-2, node-c (i-0cccccccccccccccc) sends 2 across AZs to an
// instance without the agent.
func DayRecords() []flows.Record {
	const gib = 1 << 30
	at := DayStart.Add(10 * time.Hour)
	base := func(node, id, ip, az string) flows.Record {
		return flows.Record{Schema: 1, TS: at, WindowS: 3600, Cluster: "shop", Node: node, Region: "us-east-1",
			NodeInstanceID: id, Protocol: flows.TCP, LocalIP: ip, LocalPod: node + "-app", LocalNamespace: "shop",
			LocalWorkload: "app", LocalAZID: az, Direction: flows.Egress, Category: flows.InterAZ}
	}
	toB := base("node-a", "i-0aaaaaaaaaaaaaaaa", "10.0.1.5", "use1-az1")
	toB.RemoteIP, toB.RemotePod, toB.RemoteNode, toB.RemoteAZID = "10.0.2.7", "node-b-app", "node-b", "use1-az2"
	toB.RemoteNamespace, toB.RemoteReportedRaw, toB.Bytes = "shop", flows.BoolTrue, 10*gib
	fromA := base("node-b", "i-0bbbbbbbbbbbbbbbb", "10.0.2.7", "use1-az2")
	fromA.Direction, fromA.RemoteIP, fromA.RemotePod, fromA.RemoteNode = flows.Ingress, "10.0.1.5", "node-a-app", "node-a"
	fromA.RemoteNamespace, fromA.RemoteAZID = "shop", "use1-az1"
	fromA.RemoteReportedRaw, fromA.Bytes = flows.BoolTrue, 10*gib
	rds := base("node-a", "i-0aaaaaaaaaaaaaaaa", "10.0.1.5", "use1-az1")
	rds.RemoteIP, rds.RemotePort, rds.RemoteAZID, rds.RemoteReportedRaw, rds.Bytes = "10.0.3.9", 5432, "use1-az2",
		flows.BoolFalse, 5*gib
	nat := base("node-a", "i-0aaaaaaaaaaaaaaaa", "10.0.1.5", "use1-az1")
	nat.Category, nat.RemoteIP, nat.RemotePort = flows.NATGateway, "203.0.113.7", 443
	nat.Via, nat.ViaAZID = natID, "use1-az2"
	nat.RemoteReportedRaw, nat.Bytes = flows.BoolFalse, 4*gib
	east2 := base("node-c", "i-0cccccccccccccccc", "10.1.1.5", "use2-az1")
	east2.Region, east2.RemoteIP, east2.RemoteAZID, east2.RemoteReportedRaw, east2.Bytes = "us-east-2", "10.1.2.9",
		"use2-az2", flows.BoolFalse, 2*gib
	return []flows.Record{toB, fromA, rds, nat, east2}
}

// DayItems is the bill of the same day, in the CUR 2.0's own terms: the
// inter-AZ bytes at each interface (i-0dddddddddddddddd runs no agent, the RDS
// instance's side is billed under AmazonRDS), the NAT gateway's bytes,
// hours and internet data transfer, two public IPv4 addresses (one the
// NAT's), us-east-2 under its USE2- prefix, a credit and a tax line, and
// the next day, outside the window.
//
// Billed, by line (in the window): us-east-1 inter-az 40 GB $0.40,
// nat-bytes 4 GB $0.18, nat-hours 24 h $1.08, internet-out 4 GB $0.36,
// public-ipv4 48 h $0.24; us-east-2 inter-az 4 GB $0.04. Total $2.30.
func DayItems() []Item {
	hour := func(usageType, product, resource string, h int, amount, cost float64) Item {
		start := DayStart.Add(time.Duration(h) * time.Hour)
		return Item{Type: "Usage", UsageType: usageType, ProductCode: product, ServiceCode: product,
			ResourceID: resource, Start: start, End: start.Add(time.Hour), Amount: amount, Cost: cost,
			Region: "us-east-1", Unit: "GB"}
	}
	day := func(usageType, product, resource string, amount, cost float64) Item {
		it := hour(usageType, product, resource, 0, amount, cost)
		it.End, it.Unit = DayEnd, "Hrs"
		return it
	}
	east2 := func(it Item) Item {
		it.Region = "us-east-2"
		return it
	}
	credit := day("", "AWSDataTransfer", "", 0, -1)
	credit.Type, credit.Description = "Credit", `AWS credit, "promotional"`
	tax := day("", "AWSDataTransfer", "", 0, 0.23)
	tax.Type, tax.End = "Tax", DayStart.AddDate(0, 0, 11)
	return []Item{
		hour("DataTransfer-Regional-Bytes", "AWSDataTransfer", "i-0aaaaaaaaaaaaaaaa", 10, 19, 0.19),
		hour("DataTransfer-Regional-Bytes", "AmazonEC2", "i-0bbbbbbbbbbbbbbbb", 10, 10, 0.10),
		hour("DataTransfer-Regional-Bytes", "AWSDataTransfer", "i-0dddddddddddddddd", 14, 6, 0.06),
		hour("DataTransfer-Regional-Bytes", "AmazonRDS", "arn:aws:rds:us-east-1:111122223333:db:orders", 10, 5, 0.05),
		hour("NatGateway-Bytes", "AmazonEC2", natARN, 10, 4, 0.18),
		day("NatGateway-Hours", "AmazonEC2", natARN, 24, 1.08),
		hour("DataTransfer-Out-Bytes", "AWSDataTransfer", natARN, 10, 4, 0.36),
		day("PublicIPv4:InUseAddress", "AmazonVPC", "eipalloc-0nat", 24, 0.12),
		day("PublicIPv4:InUseAddress", "AmazonVPC", "eipalloc-0web", 24, 0.12),
		east2(hour("USE2-DataTransfer-Regional-Bytes", "AWSDataTransfer", "i-0cccccccccccccccc", 10, 2, 0.02)),
		east2(hour("USE2-DataTransfer-Regional-Bytes", "AWSDataTransfer", "i-0eeeeeeeeeeeeeeee", 10, 2, 0.02)),
		credit, tax,
		hour("DataTransfer-Regional-Bytes", "AWSDataTransfer", "i-0aaaaaaaaaaaaaaaa", 34, 50, 0.50), // the next day
	}
}

// DayExport is DayItems as an export named day in format (".snappy.parquet"
// or ".csv.gz"): the next day in a file of its own, and a manifest that
// names the current files, leaving out a stale one that would double the
// day.
func DayExport(format string) Export {
	items := DayItems()
	return Export{Name: "day", Files: []DataFile{
		{Period: "2026-11", Path: "day-00001" + format, Items: items[:len(items)-1]},
		{Period: "2026-11", Path: "day-00002" + format, Items: items[len(items)-1:]},
		{Period: "2026-11", Path: "stale-00001" + format, Items: items},
	}, Manifests: map[string][]string{"2026-11": {"day-00001" + format, "day-00002" + format}}}
}
