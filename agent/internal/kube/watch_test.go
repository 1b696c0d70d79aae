package kube

import (
	"context"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/netcost/netcost/internal/kubetest"
	"github.com/netcost/netcost/internal/syncbuf"
)

// cluster is a real API server the tests create objects in, as
// controllers and kubelets would.
type cluster struct {
	*kubetest.Server
	t *testing.T
}

func startCluster(t *testing.T, flags ...string) cluster {
	return cluster{kubetest.Start(t, flags...), t}
}

// sources lists and watches as the agent does, with config c.
func sources(t *testing.T, c *rest.Config) Sources {
	t.Helper()
	src, err := NewSources(c)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// setStatus changes a pod's status.
func (c cluster) setStatus(ns, name string, change func(*corev1.PodStatus)) {
	c.t.Helper()
	ctx := context.Background()
	p, err := c.Client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		c.t.Fatal(err)
	}
	change(&p.Status)
	if _, err := c.Client.CoreV1().Pods(ns).UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
		c.t.Fatalf("updating the status of pod %s/%s: %v", ns, name, err)
	}
}

// deletePod deletes a pod now (grace 0), as the kubelet confirms it gone;
// graceful leaves it terminating, as it stays until its kubelet confirms.
func (c cluster) deletePod(ns, name string, graceful bool) {
	c.t.Helper()
	opts := metav1.DeleteOptions{GracePeriodSeconds: new(int64)}
	if graceful {
		opts = metav1.DeleteOptions{}
	}
	if err := c.Client.CoreV1().Pods(ns).Delete(context.Background(), name, opts); err != nil {
		c.t.Fatalf("deleting pod %s/%s: %v", ns, name, err)
	}
}

// slice is the EndpointSlice name of Service svc in namespace shop.
func slice(name, svc string, ips ...string) *discoveryv1.EndpointSlice {
	s := &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop",
		Labels: map[string]string{discoveryv1.LabelServiceName: svc}}, AddressType: discoveryv1.AddressTypeIPv4}
	for _, ip := range ips {
		s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{Addresses: []string{ip}})
	}
	return s
}

func (c cluster) applySlice(s *discoveryv1.EndpointSlice) {
	c.t.Helper()
	ctx := context.Background()
	c.Namespace(s.Namespace)
	api := c.Client.DiscoveryV1().EndpointSlices(s.Namespace)
	old, err := api.Get(ctx, s.Name, metav1.GetOptions{})
	if err == nil {
		s.ResourceVersion = old.ResourceVersion
		_, err = api.Update(ctx, s, metav1.UpdateOptions{})
	} else {
		_, err = api.Create(ctx, s, metav1.CreateOptions{})
	}
	if err != nil {
		c.t.Fatalf("writing EndpointSlice %s: %v", s.Name, err)
	}
}

// names returns the pods of the Index by IP, as "ns/name ip", sorted; a
// pod the informers delivered twice, or one they missed deleting, shows.
func names(x *Index) []string {
	x.mu.RLock()
	defer x.mu.RUnlock()
	var out []string
	for _, p := range x.byUID {
		ips := make([]string, len(p.IPs))
		for i, ip := range p.IPs {
			ips[i] = ip.String()
		}
		out = append(out, p.Namespace+"/"+p.Name+" "+strings.Join(ips, ","))
	}
	slices.Sort(out)
	return out
}

// TestWatch runs the informers against a real API server: pods by UID and
// IP with their workloads, Services by endpoint address, and nodes by
// address; then pods and EndpointSlices appearing, moving and going, and an
// IP that a new pod takes while the old one is still terminating.
func TestWatch(t *testing.T) {
	c := startCluster(t)
	t0 := time.Now()
	web := c.CreatePod(pod("", "web-7d9f8b6c5-x2x9q", "10.0.1.15", t0, owner("ReplicaSet", "web-7d9f8b6c5"), "7d9f8b6c5"))
	c.CreatePod(pod("", "datadog-agent-7kq2m", "10.0.1.16", t0, owner("DaemonSet", "datadog-agent"), ""))
	c.CreatePod(pod("", "db-0", "10.0.2.30", t0, owner("StatefulSet", "db"), ""))
	c.CreatePod(pod("", "debug", "10.0.2.31", t0, nil, ""))
	c.CreateNode(&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "ip-10-0-2-20.ec2.internal"},
		Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.0.2.20"},
			{Type: corev1.NodeHostName, Address: "ip-10-0-2-20"}}}})
	c.applySlice(slice("products-abc", "products", "10.0.2.30"))

	x := NewIndex()
	if err := Watch(t.Context(), sources(t, c.Admin), x, nil); err != nil {
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
	if p, ok := x.PodByUID(string(web.UID)); !ok || p.Name != "web-7d9f8b6c5-x2x9q" {
		t.Errorf("PodByUID(%s) = %+v, %v", web.UID, p, ok)
	}
	if n, ok := x.NodeByIP(ip("10.0.2.20")); !ok || n != "ip-10-0-2-20.ec2.internal" {
		t.Errorf("NodeByIP = %q, %v", n, ok)
	}
	if ns, svc, ok := x.ServiceOf(ip("10.0.2.30")); !ok || ns != "shop" || svc != "products" {
		t.Errorf("ServiceOf = %s/%s, %v; want shop/products", ns, svc, ok)
	}

	// A pod appears without an address (Pending), then gets one.
	pending := pod("", "cart-1", "", t0, nil, "")
	pending.Status = corev1.PodStatus{Phase: corev1.PodPending}
	c.CreatePod(pending)
	waitFor(t, "the pending pod", func() bool { _, ok := x.PodByUID(uidOf(t, c, "cart-1")); return ok })
	c.setStatus("shop", "cart-1", func(s *corev1.PodStatus) {
		s.Phase, s.PodIP, s.PodIPs = corev1.PodRunning, "10.0.2.32", []corev1.PodIP{{IP: "10.0.2.32"}}
	})
	waitFor(t, "the pod's new address", func() bool {
		p, ok := x.PodByIP(ip("10.0.2.32"))
		return ok && p.Name == "cart-1"
	})

	// An endpoint moves: products' slice now serves debug's address, not db's.
	c.applySlice(slice("products-abc", "products", "10.0.2.31"))
	waitFor(t, "the endpoint to move", func() bool {
		_, _, old := x.ServiceOf(ip("10.0.2.30"))
		_, svc, ok := x.ServiceOf(ip("10.0.2.31"))
		return !old && ok && svc == "products"
	})

	// web's pod is deleted and terminates (no kubelet confirms it, so it
	// stays, with a deletion timestamp); a new pod gets its IP at once. New
	// bytes to that IP name the new pod, never the old one, also once the
	// old one is gone for good.
	c.deletePod("shop", web.Name, true)
	waitFor(t, "the old pod to terminate", func() bool { p, ok := x.PodByUID(string(web.UID)); return ok && p.Done })
	c.CreatePod(pod("", "web-7d9f8b6c5-qq8zz", "10.0.1.15", t0, owner("ReplicaSet", "web-7d9f8b6c5"), "7d9f8b6c5"))
	waitFor(t, "the new pod", func() bool {
		p, ok := x.PodByIP(ip("10.0.1.15"))
		return ok && p.Name == "web-7d9f8b6c5-qq8zz"
	})
	c.deletePod("shop", web.Name, false)
	waitFor(t, "the old pod to go", func() bool { _, ok := x.PodByUID(string(web.UID)); return !ok })
	if p, ok := x.PodByIP(ip("10.0.1.15")); !ok || p.Name != "web-7d9f8b6c5-qq8zz" {
		t.Errorf("once the old pod is gone, PodByIP(10.0.1.15) = %+v, %v; want the new pod", p, ok)
	}

	// A pod goes; the EndpointSlice goes: the address serves no Service.
	c.deletePod("shop", "db-0", false)
	waitFor(t, "db-0 to go", func() bool { _, ok := x.PodByIP(ip("10.0.2.30")); return !ok })
	err := c.Client.DiscoveryV1().EndpointSlices("shop").Delete(t.Context(), "products-abc", metav1.DeleteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the slice to go", func() bool { _, _, ok := x.ServiceOf(ip("10.0.2.31")); return !ok })
	want := []string{"shop/cart-1 10.0.2.32", "shop/datadog-agent-7kq2m 10.0.1.16", "shop/debug 10.0.2.31",
		"shop/web-7d9f8b6c5-qq8zz 10.0.1.15"}
	if got := names(x); !slices.Equal(got, want) {
		t.Errorf("the Index holds %q; want %q", got, want)
	}
}

func uidOf(t *testing.T, c cluster, name string) string {
	t.Helper()
	p, err := c.Client.CoreV1().Pods("shop").Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return string(p.UID)
}

// cuttable wraps a ListerWatcher so that a test can cut the watch the
// informer has open and hold its next one until the test is ready, as a
// network partition does. It counts the lists, and the watch events that
// say the resource version is gone (410). The real API server gives the
// 410 and the lists; only the cut is the test's.
type cuttable struct {
	inner cache.ListerWatcherWithContext
	lists atomic.Int32
	gone  atomic.Int32

	mu   sync.Mutex
	cur  *cutWatch
	hold chan struct{} // while not nil, a new watch waits for it to close
}

func (w *cuttable) ListerWatcher() cache.ListerWatcher {
	return &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			w.lists.Add(1)
			return w.inner.ListWithContext(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			w.mu.Lock()
			hold := w.hold
			w.mu.Unlock()
			if hold != nil {
				select {
				case <-hold:
				case <-ctx.Done():
					return nil, ctx.Err()
				}
			}
			in, err := w.inner.WatchWithContext(ctx, o)
			if err != nil {
				return nil, err
			}
			out := &cutWatch{in: in, out: make(chan watch.Event), stop: make(chan struct{}), gone: &w.gone}
			go out.run()
			w.mu.Lock()
			w.cur = out
			w.mu.Unlock()
			return out, nil
		},
	}
}

// cut ends the open watch as a server closes one, with no error, and holds
// the next until release.
func (w *cuttable) cut() (release func()) {
	hold := make(chan struct{})
	w.mu.Lock()
	w.hold = hold
	if w.cur != nil {
		w.cur.Stop()
	}
	w.mu.Unlock()
	return func() {
		w.mu.Lock()
		w.hold = nil
		w.mu.Unlock()
		close(hold)
	}
}

// cutWatch passes a watch's events on until Stop, then closes its channel
// without passing on the error that stopping the stream causes.
type cutWatch struct {
	in   watch.Interface
	out  chan watch.Event
	stop chan struct{}
	once sync.Once
	gone *atomic.Int32
}

func (c *cutWatch) ResultChan() <-chan watch.Event { return c.out }

func (c *cutWatch) Stop() {
	c.once.Do(func() {
		close(c.stop)
		c.in.Stop()
	})
}

// run is the watch's goroutine; it ends when the inner watch ends or at Stop.
func (c *cutWatch) run() {
	defer close(c.out)
	for {
		var e watch.Event
		var ok bool
		select {
		case e, ok = <-c.in.ResultChan():
			if !ok {
				return
			}
		case <-c.stop:
			return
		}
		select {
		case <-c.stop:
			return
		default:
		}
		if s, isStatus := e.Object.(*metav1.Status); isStatus && e.Type == watch.Error && s.Code == 410 {
			c.gone.Add(1)
		}
		select {
		case c.out <- e:
		case <-c.stop:
			return
		}
	}
}

// TestWatchExpired: the pods watch is cut; while it is down, a pod goes, a
// new one takes its IP, another appears, and etcd compacts its history.
// The watch then resumes from a resource version that is gone: the API
// server answers 410, and the informer lists again. The Index then holds
// each pod once, and none that went. The API server reads etcd directly
// (--watch-cache=false) so that the compaction is what expires the watch.
func TestWatchExpired(t *testing.T) {
	c := startCluster(t, "--watch-cache=false")
	t0 := time.Now()
	c.CreatePod(pod("", "web-1", "10.0.1.15", t0, nil, ""))
	c.CreatePod(pod("", "web-2", "10.0.1.16", t0, nil, ""))
	src := sources(t, c.Admin)
	pods := &cuttable{inner: src.Pods.(cache.ListerWatcherWithContext)}
	src.Pods = pods.ListerWatcher()
	x := NewIndex()
	if err := Watch(t.Context(), src, x, nil); err != nil {
		t.Fatal(err)
	}
	// A watch closed within a second of its start with no events is an
	// error to the informer, which would then list at once.
	time.Sleep(1500 * time.Millisecond)
	release := pods.cut()
	c.deletePod("shop", "web-1", false)
	c.CreatePod(pod("", "web-3", "10.0.1.15", t0, nil, ""))
	c.CreatePod(pod("", "web-4", "10.0.1.17", t0, nil, ""))
	c.Compact()
	lists := pods.lists.Load()
	release()

	want := []string{"shop/web-2 10.0.1.16", "shop/web-3 10.0.1.15", "shop/web-4 10.0.1.17"}
	waitFor(t, "the informer to list again", func() bool { return slices.Equal(names(x), want) })
	if pods.gone.Load() == 0 || pods.lists.Load() <= lists {
		t.Errorf("the watch saw %d 410 Gone and %d new lists; want at least one of each "+
			"(the test no longer expires the watch)",
			pods.gone.Load(), pods.lists.Load()-lists)
	}
	if p, ok := x.PodByIP(netip.MustParseAddr("10.0.1.15")); !ok || p.Name != "web-3" {
		t.Errorf("PodByIP(10.0.1.15) = %+v, %v; want web-3, which took web-1's address", p, ok)
	}
}

// TestWatchRestart: the API server restarts under the informers. Nothing
// they knew is lost, and what changes after the restart reaches the Index.
func TestWatchRestart(t *testing.T) {
	c := startCluster(t)
	t0 := time.Now()
	c.CreatePod(pod("", "web-1", "10.0.1.15", t0, nil, ""))
	c.applySlice(slice("web-x", "web", "10.0.1.15"))
	x := NewIndex()
	if err := Watch(t.Context(), sources(t, c.Admin), x, nil); err != nil {
		t.Fatal(err)
	}
	c.Restart()
	if got, want := names(x), []string{"shop/web-1 10.0.1.15"}; !slices.Equal(got, want) {
		t.Errorf("after the restart the Index holds %q; want %q", got, want)
	}
	c.deletePod("shop", "web-1", false)
	c.CreatePod(pod("", "web-2", "10.0.1.16", t0, nil, ""))
	c.applySlice(slice("web-x", "web", "10.0.1.16"))
	want := []string{"shop/web-2 10.0.1.16"}
	waitFor(t, "the changes after the restart", func() bool {
		_, svc, ok := x.ServiceOf(netip.MustParseAddr("10.0.1.16"))
		return slices.Equal(names(x), want) && ok && svc == "web"
	})
}

// TestWatchDenied: the agent's ServiceAccount may list pods and nodes but
// not EndpointSlices. Watch returns at once rather than waiting for a sync
// that cannot come, says so in one line however often the informer
// retries, and names pods all the same; once RBAC allows EndpointSlices,
// Service names arrive without a restart.
func TestWatchDenied(t *testing.T) {
	c := startCluster(t)
	ctx := t.Context()
	c.CreatePod(pod("", "web-1", "10.0.1.15", time.Now(), nil, ""))
	c.applySlice(slice("web-x", "web", "10.0.1.15"))
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "netcost-agent"}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"pods", "nodes"}, Verbs: []string{"get", "list", "watch"}}}}
	rbac := c.Client.RbacV1()
	if _, err := rbac.ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "netcost-agent"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "netcost-agent"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "netcost-agent", Namespace: "netcost"}}}
	if _, err := rbac.ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var logs syncbuf.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	x := NewIndex()
	synced := make(chan error, 1)
	src := sources(t, c.ServiceAccount("netcost", "netcost-agent"))
	go func() { synced <- Watch(ctx, src, x, log) }()
	select {
	case err := <-synced:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Watch did not return in 30s: the denied EndpointSlices hold up the sync")
	}
	if p, ok := x.PodByIP(netip.MustParseAddr("10.0.1.15")); !ok || p.Name != "web-1" {
		t.Errorf("PodByIP(10.0.1.15) = %+v, %v; want web-1 (pods are allowed)", p, ok)
	}
	time.Sleep(4 * time.Second) // the informer retries the denied list meanwhile
	const line = "the Kubernetes API denies the agent listing endpointslices: records carry no Service names; " +
		"grant get, list and watch on discovery.k8s.io endpointslices (see infra/agent/rbac.yaml)"
	if n := strings.Count(logs.String(), line); n != 1 {
		t.Errorf("the denial was logged %d times; want once, as %q. Logs:\n%s", n, line, logs.String())
	}
	if n := strings.Count(logs.String(), "level=WARN"); n != 1 {
		t.Errorf("%d warnings; want the one. Logs:\n%s", n, logs.String())
	}

	role.Rules = append(role.Rules, rbacv1.PolicyRule{APIGroups: []string{"discovery.k8s.io"},
		Resources: []string{"endpointslices"}, Verbs: []string{"get", "list", "watch"}})
	if _, err := rbac.ClusterRoles().Update(ctx, role, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "Service names once RBAC allows them", func() bool {
		_, svc, ok := x.ServiceOf(netip.MustParseAddr("10.0.1.15"))
		return ok && svc == "web"
	})
}

// TestReported: a node runs the agent when a Ready pod of the agent's own
// DaemonSet (the one that controls the agent's pod) runs there, or when it
// is the agent's own node; a remote pod or node address is reported when
// its node runs the agent. Fargate pods, nodes whose agent is not Ready
// yet, and other DaemonSets' pods report nothing.
func TestReported(t *testing.T) {
	c := startCluster(t)
	t0 := time.Now()
	onNode := func(p *corev1.Pod, n string) *corev1.Pod { p.Spec.NodeName = n; return p }
	const fargateNode = "fargate-ip-10-0-2-40.ec2.internal"
	for _, p := range []*corev1.Pod{
		agentPod("", "netcost", "netcost-agent", "netcost-agent-aaaaa", "node-a", true), // this agent
		agentPod("", "netcost", "netcost-agent", "netcost-agent-bbbbb", "node-b", true),
		agentPod("", "netcost", "netcost-agent", "netcost-agent-ccccc", "node-c", false), // starting
		agentPod("", "netcost", "datadog-agent", "datadog-agent-ddddd", "node-d", true),  // another DaemonSet
		agentPod("", "other", "netcost-agent", "netcost-agent-eeeee", "node-e", true),    // another namespace's
		onNode(pod("", "web-1", "10.0.1.15", t0, nil, ""), "node-a"),
		onNode(pod("", "products-1", "10.0.2.30", t0, nil, ""), "node-b"),
		onNode(pod("", "orders-1", "10.0.2.31", t0, nil, ""), "node-c"),
		onNode(pod("", "cart-1", "10.0.2.32", t0, nil, ""), "node-d"),
		onNode(pod("", "search-1", "10.0.2.33", t0, nil, ""), "node-e"),
		onNode(pod("", "batch-1", "10.0.2.40", t0, owner("Job", "batch"), ""), fargateNode),
	} {
		c.CreatePod(p)
	}
	for _, n := range []*corev1.Node{node("node-a", "10.0.1.10"), node("node-b", "10.0.2.20"), node("node-c", "10.0.2.21"),
		node(fargateNode, "10.0.2.40")} {
		c.CreateNode(n)
	}
	x := NewIndex()
	x.SetSelf(Self{Node: "node-a", Namespace: "netcost", Pod: "netcost-agent-aaaaa"})
	if err := Watch(t.Context(), sources(t, c.Admin), x, nil); err != nil {
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
	c.setStatus("netcost", "netcost-agent-ccccc", func(s *corev1.PodStatus) {
		for i := range s.Conditions {
			if s.Conditions[i].Type == corev1.PodReady {
				s.Conditions[i].Status = corev1.ConditionTrue
			}
		}
	})
	c.deletePod("netcost", "netcost-agent-bbbbb", false)
	waitFor(t, "node-c's agent to be Ready", func() bool { return x.Reported("node-c") })
	waitFor(t, "node-b's agent to go", func() bool { return !x.Reported("node-b") })
	check("after the changes", map[string]bool{"10.0.2.31": true, "10.0.2.21": true,
		"10.0.2.30": false, "10.0.2.20": false})
}
