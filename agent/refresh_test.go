package main

import (
	"log/slog"
	"net/netip"
	"strings"
	"testing"

	"github.com/netcost/netcost/agent/internal/collect"
	"github.com/netcost/netcost/agent/internal/node"
	"github.com/netcost/netcost/agent/internal/testbed"
	"github.com/netcost/netcost/internal/flows"
	"github.com/netcost/netcost/internal/mototest"
	"github.com/netcost/netcost/internal/syncbuf"
)

// TestRefresh: a node whose instance metadata did not answer at start is
// identified at the next refresh and its view loaded from EC2 (moto); when
// EC2 then fails, the last view is kept and says so.
func TestRefresh(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	moto := mototest.Start(t)
	vpc := testbed.NewVPC(t.Context(), t, moto, 3)
	var logs syncbuf.Buffer
	a := newAgent(settings{imdsEndpoint: vpc.IMDS(t), ec2Endpoint: moto}, slog.New(slog.NewJSONHandler(&logs, nil)))
	col := &collect.Collector{Region: "unknown"}

	id := a.refresh(t.Context(), node.Identity{}, nil, col)
	if id.VPCID != vpc.ID || col.Region != "us-east-1" || col.Classifier == nil || !strings.Contains(logs.String(), "instance metadata answered") {
		t.Fatalf("after a refresh: identity %+v, region %q, view %v; want the VPC %s, us-east-1 and a view\n%s", id, col.Region, col.Classifier != nil, vpc.ID, logs.String())
	}
	local, ok := col.Classifier.Local(netip.MustParseAddr(vpc.Net + "1.10"))
	if !ok || local.Classify(netip.MustParseAddr(vpc.Net+"2.20")).Category != flows.InterAZ {
		t.Fatalf("the refreshed view does not place %s1.10 -> %s2.20 across AZs", vpc.Net, vpc.Net)
	}

	kept := col.Classifier
	a.cfg.ec2Endpoint = "http://127.0.0.1:1" // EC2 unreachable from now on
	if again := a.refresh(t.Context(), id, nil, col); again != id {
		t.Errorf("a failed refresh changed the identity: %+v", again)
	}
	if col.Classifier != kept || !strings.Contains(logs.String(), "VPC view not refreshed; keeping the last one") {
		t.Errorf("a failed refresh did not keep the last view, or did not say so:\n%s", logs.String())
	}
}
