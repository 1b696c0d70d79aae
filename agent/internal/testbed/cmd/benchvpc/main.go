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
	"encoding/json"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"os/signal"
	"syscall"

	"github.com/netcost/netcost/agent/internal/testbed"
	"github.com/netcost/netcost/internal/mototest"
)

// runner is testbed.T for a program: Fatalf exits, after the cleanups.
type runner struct{ cleanups []func() }

func (r *runner) Helper()          {}
func (r *runner) Cleanup(f func()) { r.cleanups = append(r.cleanups, f) }
func (r *runner) Errorf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "benchvpc: "+format+"\n", args...)
}
func (r *runner) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	r.cleanup()
	os.Exit(1)
}
func (r *runner) cleanup() {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
	r.cleanups = nil
}

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
	r := &runner{}
	port, err := mototest.FreePort()
	if err != nil {
		r.Fatalf("%v", err)
	}
	moto, err := mototest.Launch(port, nil)
	if err != nil {
		r.Fatalf("%v", err)
	}
	r.Cleanup(func() { moto.Process.Kill(); moto.Wait() })
	endpoint := fmt.Sprintf("http://127.0.0.1:%d", port)
	v := testbed.NewVPC(ctx, r, endpoint, *n)
	imds := v.IMDS(r)
	if err := writeRanges(*ranges, v.S3Prefix); err != nil {
		r.Fatalf("writing %s: %v", *ranges, err)
	}
	fmt.Printf("-imds-endpoint %s -ec2-endpoint %s -ip-ranges-file %s -ip-ranges-url=\n", imds, endpoint, *ranges)
	<-ctx.Done()
	r.cleanup()
}

// writeRanges writes an ip-ranges.json: S3's prefix as the VPC's gateway
// endpoint knows it, CloudFront, and 9,000 synthetic /22s in 3.0.0.0/8
// and 54.0.0.0/8, EC2 and AMAZON, spread over ten regions.
func writeRanges(path string, s3 netip.Prefix) error {
	type prefix struct {
		IPPrefix string `json:"ip_prefix"`
		Region   string `json:"region"`
		Service  string `json:"service"`
	}
	ps := []prefix{{s3.String(), "us-east-1", "S3"}, {s3.String(), "us-east-1", "AMAZON"},
		{"52.84.0.0/15", "GLOBAL", "CLOUDFRONT"}, {"52.84.0.0/15", "GLOBAL", "AMAZON"}}
	regions := []string{"us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1", "eu-central-1",
		"ap-southeast-1", "ap-northeast-1", "sa-east-1", "ca-central-1"}
	for i := range 9000 {
		first := 3
		if i >= 4500 {
			first = 54
		}
		k := i % 4500
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(first), byte(k / 64), byte(k % 64 * 4), 0}), 22)
		service := "EC2"
		if i%3 == 0 {
			service = "AMAZON"
		}
		ps = append(ps, prefix{p.String(), regions[i%len(regions)], service})
	}
	b, err := json.Marshal(map[string]any{"syncToken": "1", "createDate": "2026-12-01-00-00-00", "prefixes": ps,
		"ipv6_prefixes": []any{}})
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}
