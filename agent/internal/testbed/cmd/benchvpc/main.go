// Command benchvpc gives bench/agent/run.sh a VPC view for the agent: it starts
// moto_server, creates the testbed's VPC 10.N.0.0/16 in it (two AZs, a NAT
// gateway, an S3 gateway endpoint), serves the instance metadata of a node
// in its first subnet, and writes an ip-ranges.json of about the real
// one's size (the VPC's S3 prefix, CloudFront's 52.84.0.0/15, and 9,000
// synthetic EC2 and AMAZON prefixes over the regions), so that the agent
// classifies every flow as on AWS. It prints the agent's flags on one line
// and runs until SIGINT or SIGTERM, then stops moto_server.
//
//	benchvpc -net 203 -ranges PATH
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/netcost/netcost/agent/internal/testbed"
)

func main() {
	n := flag.Int("net", 203, "the VPC is 10.N.0.0/16")
	ranges := flag.String("ranges", "", "where to write the ip-ranges.json")
	flag.Parse()
	if *ranges == "" || *n < 1 || *n > 255 {
		fmt.Fprintln(os.Stderr, "benchvpc: -ranges PATH [-net 1..255]")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	r := &testbed.Program{Name: "benchvpc"}
	os.Exit(r.Run(func() int {
		endpoint := testbed.Moto(r)
		v := testbed.NewVPC(ctx, r, endpoint, *n)
		imds := v.IMDS(r)
		v.WriteIPRanges(r, *ranges, testbed.IPRanges{Synthetic: 9000})
		fmt.Printf("-imds-endpoint %s -ec2-endpoint %s -ip-ranges-file %s -ip-ranges-url=\n", imds, endpoint, *ranges)
		<-ctx.Done()
		return 0
	}))
}
