package main

import (
	"log/slog"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/netcost/netcost/agent/internal/testbed"
	"github.com/netcost/netcost/internal/kubetest"
	"github.com/netcost/netcost/internal/syncbuf"
)

// kubeAPI starts a real API server holding testbed's objects for pods
// (naming each pod's UID as the server assigned it, so set none before),
// grants the agent's ServiceAccount what infra/agent/rbac.yaml grants, and
// returns a kubeconfig that authenticates as that ServiceAccount: the agent
// reads the API with the rights its manifests give it.
func kubeAPI(t *testing.T, nodeIP string, pods []*testbed.Pod, agentNodes ...string) (*kubetest.Server, string) {
	t.Helper()
	s := kubetest.Start(t)
	ctx := t.Context()
	rbac, err := os.ReadFile("../infra/agent/rbac.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Apply(ctx, rbac); err != nil {
		t.Fatalf("applying infra/agent/rbac.yaml: %v", err)
	}
	agent := s.ServiceAccount(testbed.AgentNamespace, "netcost-agent")

	objs := testbed.KubeObjects(nodeIP, pods, agentNodes...)
	for _, p := range objs.Pods {
		got := s.CreatePod(&p)
		for _, tp := range pods {
			if tp.Name == p.Name {
				tp.UID = string(got.UID)
			}
		}
	}
	for _, es := range objs.Slices {
		es.ResourceVersion = ""
		s.Namespace(es.Namespace)
		if _, err := s.Client.DiscoveryV1().EndpointSlices(es.Namespace).Create(ctx, &es, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating EndpointSlice %s: %v", es.Name, err)
		}
	}
	for _, n := range objs.Nodes {
		s.CreateNode(&n)
	}
	return s, s.Kubeconfig(t.TempDir(), agent)
}

// TestKubeNames: the agent reads a real API server as its ServiceAccount,
// with the rights infra/agent/rbac.yaml gives it, and names pods, their
// Services and nodes, and the nodes that run it. Where RBAC denies it
// EndpointSlices, it starts at once rather than after a minute's wait,
// says so in one line, and names pods all the same.
func TestKubeNames(t *testing.T) {
	specs := []*testbed.Pod{{Name: "web-7d9f8b6c5-x2x9q", Workload: "web", Hash: "7d9f8b6c5", Node: "node-b", Service: "web",
		IP: "10.1.2.20"}}
	s, kc := kubeAPI(t, "10.1.1.5", specs, "node-a", "node-b")
	cfg := settings{kubeconfig: kc, node: "node-a", podNS: testbed.AgentNamespace, podName: testbed.AgentPod("node-a")}
	idx := newAgent(cfg, slog.New(slog.DiscardHandler)).kubeNames(t.Context())
	if idx == nil {
		t.Fatal("kubeNames = nil: the agent runs without names")
	}
	r, ok := idx.Remote(netip.MustParseAddr("10.1.2.20"))
	if !ok || r.Pod.Name != specs[0].Name || r.Pod.Workload != "web" || r.Service != "web" || r.Node != "node-b" || !r.Reported {
		t.Errorf("Remote(10.1.2.20) = %+v, %v; want pod %s of Deployment web, Service web, on node-b, reported",
			r, ok, specs[0].Name)
	}
	if n, ok := idx.NodeByIP(netip.MustParseAddr("10.1.1.5")); !ok || n != "node-a" {
		t.Errorf("NodeByIP(10.1.1.5) = %q, %v; want node-a", n, ok)
	}

	// RBAC without the EndpointSlices rule.
	roles := s.Client.RbacV1().ClusterRoles()
	role, err := roles.Get(t.Context(), "netcost-agent", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	role.Rules = slices.DeleteFunc(role.Rules, func(r rbacv1.PolicyRule) bool { return slices.Contains(r.Resources, "endpointslices") })
	if _, err := roles.Update(t.Context(), role, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	var logs syncbuf.Buffer
	start := time.Now()
	idx = newAgent(cfg, slog.New(slog.NewJSONHandler(&logs, nil))).kubeNames(t.Context())
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("the agent took %s to start without EndpointSlices; want no wait for a sync that cannot come", d)
	}
	if p, ok := idx.PodByIP(netip.MustParseAddr("10.1.2.20")); !ok || p.Name != specs[0].Name {
		t.Errorf("PodByIP(10.1.2.20) = %+v, %v; want %s", p, ok, specs[0].Name)
	}
	if _, _, ok := idx.ServiceOf(netip.MustParseAddr("10.1.2.20")); ok {
		t.Error("a Service name without EndpointSlices")
	}
	if n := strings.Count(logs.String(), "denies the agent listing endpointslices"); n != 1 {
		t.Errorf("the denial is logged %d times; want once. Logs:\n%s", n, logs.String())
	}
}
