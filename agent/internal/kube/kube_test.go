package kube

import (
	"context"
	"net/netip"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/cache"
)

func pod(uid, name, ip string, created time.Time, owner *metav1.OwnerReference, hash string) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{UID: types.UID(uid), Name: name, Namespace: "shop", CreationTimestamp: metav1.NewTime(created),
		Labels: map[string]string{"app": name}},
		Spec:   corev1.PodSpec{NodeName: "node-a"},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}}}}
	if owner != nil {
		p.OwnerReferences = []metav1.OwnerReference{*owner}
	}
	if hash != "" {
		p.Labels["pod-template-hash"] = hash
	}
	return p
}

func owner(kind, name string) *metav1.OwnerReference {
	yes := true
	return &metav1.OwnerReference{Kind: kind, Name: name, Controller: &yes, APIVersion: "apps/v1", UID: "o"}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !ok(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestWatch runs the informers against client-go's fake clientset: pods
// by UID and IP with their workloads, Services by endpoint address, and an
// IP reused by a new pod naming the new pod.
func TestWatch(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	client := fake.NewClientset(
		pod("uid-web", "web-7d9f8b6c5-x2x9q", "10.0.1.15", t0, owner("ReplicaSet", "web-7d9f8b6c5"), "7d9f8b6c5"),
		pod("uid-dd", "datadog-agent-7kq2m", "10.0.1.16", t0, owner("DaemonSet", "datadog-agent"), ""),
		pod("uid-db", "db-0", "10.0.2.30", t0, owner("StatefulSet", "db"), ""),
		pod("uid-bare", "debug", "10.0.2.31", t0, nil, ""),
		&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "ip-10-0-2-20.ec2.internal"},
			Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.0.2.20"}, {Type: corev1.NodeHostName, Address: "ip-10-0-2-20"}}}},
		&discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: "products-abc", Namespace: "shop",
			Labels: map[string]string{discoveryv1.LabelServiceName: "products"}},
			Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.0.2.30"}}}},
	)
	x := NewIndex()
	if err := Watch(t.Context(), fakeSources(client), x, nil); err != nil {
		t.Fatal(err)
	}
	ip := netip.MustParseAddr
	for _, tt := range []struct {
		ip, name, workload, kind string
	}{
		{"10.0.1.15", "web-7d9f8b6c5-x2x9q", "web", "Deployment"},
		{"10.0.1.16", "datadog-agent-7kq2m", "datadog-agent", "DaemonSet"},
		{"10.0.2.30", "db-0", "db", "StatefulSet"},
		{"10.0.2.31", "debug", "debug", "Pod"},
	} {
		p, ok := x.PodByIP(ip(tt.ip))
		if !ok || p.Name != tt.name || p.Workload != tt.workload || p.WorkloadKind != tt.kind || p.Namespace != "shop" {
			t.Errorf("PodByIP(%s) = %+v, %v; want %s of %s %s", tt.ip, p, ok, tt.name, tt.kind, tt.workload)
		}
	}
	if p, ok := x.PodByUID("uid-web"); !ok || p.Name != "web-7d9f8b6c5-x2x9q" {
		t.Errorf("PodByUID = %+v, %v", p, ok)
	}
	if n, ok := x.NodeByIP(ip("10.0.2.20")); !ok || n != "ip-10-0-2-20.ec2.internal" {
		t.Errorf("NodeByIP = %q, %v", n, ok)
	}
	if ns, svc, ok := x.ServiceOf(ip("10.0.2.30")); !ok || ns != "shop" || svc != "products" {
		t.Errorf("ServiceOf = %s/%s, %v; want shop/products", ns, svc, ok)
	}

	// Churn: web's pod goes, a new pod gets its IP; new bytes to that IP
	// name the new pod, never the old one.
	ctx := t.Context()
	pods := client.CoreV1().Pods("shop")
	if err := pods.Delete(ctx, "web-7d9f8b6c5-x2x9q", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the old pod to go", func() bool { _, ok := x.PodByIP(ip("10.0.1.15")); return !ok })
	if _, err := pods.Create(ctx, pod("uid-new", "web-7d9f8b6c5-qq8zz", "10.0.1.15", t0.Add(time.Hour), owner("ReplicaSet", "web-7d9f8b6c5"), "7d9f8b6c5"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the new pod", func() bool { p, ok := x.PodByIP(ip("10.0.1.15")); return ok && p.UID == "uid-new" })

	// A terminated pod keeps its object a while; a newer running pod with
	// its IP wins, in whichever order the two updates arrive.
	done := pod("uid-job", "job-1", "10.0.2.40", t0.Add(2*time.Hour), owner("Job", "report"), "")
	done.Status.Phase = corev1.PodSucceeded
	x.SetPod(PodOf(pod("uid-run", "api-1", "10.0.2.40", t0, nil, "")))
	x.SetPod(PodOf(done))
	if p, _ := x.PodByIP(ip("10.0.2.40")); p.UID != "uid-run" {
		t.Errorf("a finished pod took the address of a running one: %+v", p)
	}
	// The EndpointSlice goes: the address serves no Service any more.
	if err := client.DiscoveryV1().EndpointSlices("shop").Delete(ctx, "products-abc", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the slice to go", func() bool { _, _, ok := x.ServiceOf(ip("10.0.2.30")); return !ok })
}

func TestTrim(t *testing.T) {
	p := pod("u", "web-1", "10.0.0.1", time.Now(), owner("ReplicaSet", "web-abc"), "abc")
	p.Spec.Containers = []corev1.Container{{Name: "web", Image: "nginx", Env: []corev1.EnvVar{{Name: "A", Value: "x"}}}}
	p.Annotations = map[string]string{"big": string(make([]byte, 10000))}
	got, err := trim(p)
	if err != nil {
		t.Fatal(err)
	}
	tp := got.(*corev1.Pod)
	if len(tp.Spec.Containers) != 0 || len(tp.Annotations) != 0 || len(tp.Labels) != 1 || PodOf(tp).Workload != "web" {
		t.Errorf("trimmed pod keeps %+v", tp)
	}
}

// fakeSources lists and watches through client-go's fake clientset.
func fakeSources(c *fake.Clientset) Sources {
	lw := func(list func(context.Context, metav1.ListOptions) (runtime.Object, error), watch func(context.Context, metav1.ListOptions) (watch.Interface, error)) cache.ListerWatcher {
		return &cache.ListWatch{ListWithContextFunc: list, WatchFuncWithContext: watch}
	}
	core, disc := c.CoreV1(), c.DiscoveryV1()
	return Sources{
		Pods: lw(func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return core.Pods("").List(ctx, o)
		},
			func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
				return core.Pods("").Watch(ctx, o)
			}),
		Slices: lw(func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return disc.EndpointSlices("").List(ctx, o)
		},
			func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
				return disc.EndpointSlices("").Watch(ctx, o)
			}),
		Nodes: lw(func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return core.Nodes().List(ctx, o)
		},
			func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
				return core.Nodes().Watch(ctx, o)
			}),
	}
}

// agentPod is a pod of DaemonSet ds in namespace ns on node, Ready or not.
func agentPod(uid, ns, ds, name, node string, ready bool) *corev1.Pod {
	p := pod(uid, name, "", time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC), owner("DaemonSet", ds), "")
	p.Namespace, p.Spec.NodeName, p.Spec.HostNetwork = ns, node, true
	p.Status.PodIP, p.Status.PodIPs = "", nil
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionTrue},
		{Type: corev1.PodReady, Status: status}}
	return p
}

func node(name, ip string) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name},
		Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: ip}}}}
}

// TestReported: a node runs the agent when a Ready pod of the agent's own
// DaemonSet (the one that controls the agent's pod) runs there, or when it
// is the agent's own node; a remote pod or node address is reported when
// its node runs the agent. Fargate pods, nodes whose agent is not Ready
// yet, and other DaemonSets' pods report nothing.
func TestReported(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	onNode := func(p *corev1.Pod, n string) *corev1.Pod { p.Spec.NodeName = n; return p }
	const fargateNode = "fargate-ip-10-0-2-40.ec2.internal"
	fargate := onNode(pod("uid-fg", "batch-1", "10.0.2.40", t0, owner("Job", "batch"), ""), fargateNode)
	client := fake.NewClientset(
		agentPod("uid-ag-a", "netcost", "netcost-agent", "netcost-agent-aaaaa", "node-a", true), // this agent
		agentPod("uid-ag-b", "netcost", "netcost-agent", "netcost-agent-bbbbb", "node-b", true),
		agentPod("uid-ag-c", "netcost", "netcost-agent", "netcost-agent-ccccc", "node-c", false), // starting
		agentPod("uid-dd-d", "netcost", "datadog-agent", "datadog-agent-ddddd", "node-d", true),  // another DaemonSet
		agentPod("uid-ag-e", "other", "netcost-agent", "netcost-agent-eeeee", "node-e", true),    // another namespace's
		onNode(pod("uid-local", "web-1", "10.0.1.15", t0, nil, ""), "node-a"),
		onNode(pod("uid-b", "products-1", "10.0.2.30", t0, nil, ""), "node-b"),
		onNode(pod("uid-c", "orders-1", "10.0.2.31", t0, nil, ""), "node-c"),
		onNode(pod("uid-d", "cart-1", "10.0.2.32", t0, nil, ""), "node-d"),
		onNode(pod("uid-e", "search-1", "10.0.2.33", t0, nil, ""), "node-e"),
		fargate,
		node("node-a", "10.0.1.10"), node("node-b", "10.0.2.20"), node("node-c", "10.0.2.21"),
		node(fargateNode, "10.0.2.40"),
	)
	x := NewIndex()
	x.SetSelf(Self{Node: "node-a", Namespace: "netcost", Pod: "netcost-agent-aaaaa"})
	if err := Watch(t.Context(), fakeSources(client), x, nil); err != nil {
		t.Fatal(err)
	}
	check := func(when string, want map[string]bool) {
		t.Helper()
		for ip, reported := range want {
			r, ok := x.Remote(netip.MustParseAddr(ip))
			if !ok || r.Reported != reported {
				t.Errorf("%s: Remote(%s) = %+v, %v; want reported %v", when, ip, r, ok, reported)
			}
		}
	}
	check("at sync", map[string]bool{
		"10.0.1.15": true,  // a pod on this agent's node
		"10.0.1.10": true,  // this agent's node
		"10.0.2.30": true,  // a pod on node-b, whose agent is Ready
		"10.0.2.20": true,  // node-b itself (and its host-network pods)
		"10.0.2.31": false, // node-c's agent is not Ready yet
		"10.0.2.21": false,
		"10.0.2.32": false, // node-d runs another DaemonSet only
		"10.0.2.33": false, // node-e runs a DaemonSet of the same name in another namespace
		"10.0.2.40": false, // Fargate: no agent
	})
	if r, _ := x.Remote(netip.MustParseAddr("10.0.2.40")); r.Pod.Name != "batch-1" || r.Node != fargateNode {
		t.Errorf("the Fargate pod's address names %+v; want the pod batch-1 on its Fargate node", r)
	}
	if _, ok := x.Remote(netip.MustParseAddr("10.0.9.9")); ok {
		t.Error("Remote of an unknown address says it knows it")
	}

	// node-c's agent becomes Ready; node-b's goes (its node is drained).
	ctx := t.Context()
	pods := client.CoreV1().Pods("netcost")
	ready := agentPod("uid-ag-c", "netcost", "netcost-agent", "netcost-agent-ccccc", "node-c", true)
	if _, err := pods.Update(ctx, ready, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := pods.Delete(ctx, "netcost-agent-bbbbb", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "node-c's agent to be Ready", func() bool { return x.Reported("node-c") })
	waitFor(t, "node-b's agent to go", func() bool { return !x.Reported("node-b") })
	check("after the changes", map[string]bool{"10.0.2.31": true, "10.0.2.21": true,
		"10.0.2.30": false, "10.0.2.20": false})
}

// TestReportedOrder: the agent's own pod may come after the others in a
// list; its DaemonSet's pods count from then on. Without its own pod
// (POD_NAME unset), only its node runs the agent.
func TestReportedOrder(t *testing.T) {
	x := NewIndex()
	x.SetPod(PodOf(agentPod("uid-ag-b", "netcost", "netcost-agent", "netcost-agent-bbbbb", "node-b", true)))
	x.SetSelf(Self{Node: "node-a"})
	if x.Reported("node-b") || !x.Reported("node-a") || x.Reported("") {
		t.Errorf("without its own pod: node-b %v, node-a %v, \"\" %v; want false, true, false",
			x.Reported("node-b"), x.Reported("node-a"), x.Reported(""))
	}
	x.SetSelf(Self{Node: "node-a", Namespace: "netcost", Pod: "netcost-agent-aaaaa"})
	if x.Reported("node-b") {
		t.Error("node-b runs the agent before the agent knows its own DaemonSet")
	}
	x.SetPod(PodOf(agentPod("uid-ag-a", "netcost", "netcost-agent", "netcost-agent-aaaaa", "node-a", false)))
	if !x.Reported("node-b") {
		t.Error("node-b does not run the agent once the agent's own pod names its DaemonSet")
	}
	// A pod that ended is not counting, whatever its last condition said.
	done := agentPod("uid-ag-b", "netcost", "netcost-agent", "netcost-agent-bbbbb", "node-b", true)
	done.Status.Phase = corev1.PodFailed
	x.SetPod(PodOf(done))
	if x.Reported("node-b") {
		t.Error("a failed agent pod still counts as its node's agent")
	}
	// One set by SetSelf after the pods arrived finds its DaemonSet among them.
	y := NewIndex()
	y.SetPod(PodOf(agentPod("uid-ag-a", "netcost", "netcost-agent", "netcost-agent-aaaaa", "node-a", true)))
	y.SetPod(PodOf(agentPod("uid-ag-b", "netcost", "netcost-agent", "netcost-agent-bbbbb", "node-b", true)))
	y.SetSelf(Self{Node: "node-a", Namespace: "netcost", Pod: "netcost-agent-aaaaa"})
	if !y.Reported("node-b") {
		t.Error("SetSelf after the pods: node-b does not run the agent")
	}
}
