// Package kube names the ends of flows from the Kubernetes API: pods by UID
// (the local end, from its cgroup) and by IP (the remote end), and the
// Service an address serves, and which nodes run the agent (its own
// DaemonSet's Ready pods). Informers keep a trimmed copy of pods and
// EndpointSlices; an IP reused by a new pod names the new pod from the
// moment the API says so.
package kube

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

// Pod is what the agent keeps of a pod.
type Pod struct {
	UID, Name, Namespace   string
	Workload, WorkloadKind string
	Node                   string
	IPs                    []netip.Addr
	HostNetwork            bool
	Created                time.Time
	Done                   bool // succeeded, failed or being deleted: its IP may already be another pod's
	Ready                  bool // its Ready condition holds and it has not ended (it may be being deleted)
}

// Index answers the agent's lookups. Safe for concurrent use.
type Index struct {
	mu      sync.RWMutex
	byUID   map[string]*Pod
	byIP    map[netip.Addr]*Pod
	slices  map[string][]endpoint // EndpointSlice ns/name -> its endpoints
	svcByIP map[netip.Addr]string // "ns/service"
	nodes   map[string][]netip.Addr
	nodeIP  map[netip.Addr]string // a node's addresses -> its name

	self       Self
	agentSet   string            // the DaemonSet of the agent's own pod, once seen
	agentPods  map[string]string // UID -> node of the agent's Ready pods
	agentNodes map[string]int    // node -> how many of the agent's Ready pods it has
}

// Self is what the agent knows of itself: its node, and its own pod (from
// the downward API; empty when it runs in none).
type Self struct {
	Node           string
	Namespace, Pod string
}

type endpoint struct {
	ip      netip.Addr
	service string
}

// NewIndex returns an empty Index.
func NewIndex() *Index {
	return &Index{byUID: map[string]*Pod{}, byIP: map[netip.Addr]*Pod{}, slices: map[string][]endpoint{}, svcByIP: map[netip.Addr]string{},
		nodes: map[string][]netip.Addr{}, nodeIP: map[netip.Addr]string{},
		agentPods: map[string]string{}, agentNodes: map[string]int{}}
}

// SetSelf tells the Index who the agent is. Its own node runs the agent,
// of course; the other nodes that do are those where a Ready pod of the
// DaemonSet that controls the agent's own pod runs. A Ready pod has
// attached its counter and drained it once (its readiness probe), so its
// records count its node's bytes; a Running one may not yet.
func (x *Index) SetSelf(s Self) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.self, x.agentSet = s, ""
	for _, p := range x.byUID {
		if x.isSelf(p) {
			x.agentSet = p.Workload
		}
	}
	x.recountAgents()
}

// isSelf reports whether p is the agent's own pod, controlled by a DaemonSet.
func (x *Index) isSelf(p *Pod) bool {
	return x.self.Pod != "" && p.Name == x.self.Pod && p.Namespace == x.self.Namespace && p.WorkloadKind == "DaemonSet"
}

// Reported reports whether node runs the agent, whose records then count
// the bytes of the node's addresses and pods at its side.
func (x *Index) Reported(node string) bool {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.reported(node)
}

func (x *Index) reported(node string) bool {
	return node != "" && (node == x.self.Node || x.agentNodes[node] > 0)
}

// Remote is what the Index knows of a remote address.
type Remote struct {
	Pod      Pod    // the pod that has the address; zero for a node's own address
	Node     string // the pod's node, or the node whose address it is
	Service  string // the Service whose endpoint the pod is, if any
	Reported bool   // Node runs the agent: its records count the same bytes
}

// Remote names a remote address: the pod that has it (with its node and
// Service), or else the node whose address it is (the node itself and its
// host-network pods share it).
func (x *Index) Remote(ip netip.Addr) (Remote, bool) {
	ip = ip.Unmap()
	x.mu.RLock()
	defer x.mu.RUnlock()
	if p, ok := x.byIP[ip]; ok {
		_, svc, _ := strings.Cut(x.svcByIP[ip], "/")
		return Remote{Pod: *p, Node: p.Node, Service: svc, Reported: x.reported(p.Node)}, true
	}
	if n, ok := x.nodeIP[ip]; ok {
		return Remote{Node: n, Reported: x.reported(n)}, true
	}
	return Remote{}, false
}

// isAgent reports whether p is one of the agent's Ready pods.
func (x *Index) isAgent(p *Pod) bool {
	return x.agentSet != "" && p.Ready && p.Node != "" && p.WorkloadKind == "DaemonSet" && p.Workload == x.agentSet &&
		p.Namespace == x.self.Namespace
}

// countAgent brings the count of the agent's pods per node up to date
// with p (nil: deleted).
func (x *Index) countAgent(uid string, p *Pod) {
	node, had := x.agentPods[uid]
	if had && (p == nil || !x.isAgent(p) || p.Node != node) {
		delete(x.agentPods, uid)
		if x.agentNodes[node]--; x.agentNodes[node] <= 0 {
			delete(x.agentNodes, node)
		}
		had = false
	}
	if !had && p != nil && x.isAgent(p) {
		x.agentPods[uid] = p.Node
		x.agentNodes[p.Node]++
	}
}

// recountAgents counts the agent's pods afresh, once its DaemonSet is known.
func (x *Index) recountAgents() {
	clear(x.agentPods)
	clear(x.agentNodes)
	for uid, p := range x.byUID {
		x.countAgent(uid, p)
	}
}

// PodByUID returns the pod with that UID.
func (x *Index) PodByUID(uid string) (Pod, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	p, ok := x.byUID[uid]
	if !ok {
		return Pod{}, false
	}
	return *p, true
}

// PodByIP returns the pod that has the address now (host-network pods are
// named by their node, not here).
func (x *Index) PodByIP(ip netip.Addr) (Pod, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	p, ok := x.byIP[ip.Unmap()]
	if !ok {
		return Pod{}, false
	}
	return *p, true
}

// ServiceOf returns the Service whose endpoints include ip.
func (x *Index) ServiceOf(ip netip.Addr) (namespace, name string, ok bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	s, ok := x.svcByIP[ip.Unmap()]
	if !ok {
		return "", "", false
	}
	ns, name, _ := strings.Cut(s, "/")
	return ns, name, true
}

// NodeByIP names the node an address belongs to: the node itself and its
// host-network pods share it.
func (x *Index) NodeByIP(ip netip.Addr) (string, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	n, ok := x.nodeIP[ip.Unmap()]
	return n, ok
}

// SetNode records a node's addresses.
func (x *Index) SetNode(name string, ips []netip.Addr) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.dropNode(name)
	x.nodes[name] = ips
	for _, ip := range ips {
		x.nodeIP[ip] = name
	}
}

// DeleteNode forgets a node.
func (x *Index) DeleteNode(name string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.dropNode(name)
}

func (x *Index) dropNode(name string) {
	for _, ip := range x.nodes[name] {
		if x.nodeIP[ip] == name {
			delete(x.nodeIP, ip)
		}
	}
	delete(x.nodes, name)
}

// better reports whether p should hold an address that q holds now.
func better(p, q *Pod) bool {
	if p.Done != q.Done {
		return !p.Done
	}
	return p.Created.After(q.Created) || p.Created.Equal(q.Created) && p.UID > q.UID
}

// SetPod adds or updates a pod.
func (x *Index) SetPod(p Pod) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if old, ok := x.byUID[p.UID]; ok {
		x.unmapIPs(old)
	}
	pp := &p
	x.byUID[p.UID] = pp
	if x.isSelf(pp) && p.Workload != x.agentSet {
		x.agentSet = p.Workload // the agent's own pod: its DaemonSet is the agent's
		x.recountAgents()
	} else {
		x.countAgent(p.UID, pp)
	}
	if p.HostNetwork {
		return
	}
	for _, ip := range p.IPs {
		if cur, ok := x.byIP[ip]; !ok || cur.UID == p.UID || better(pp, cur) {
			x.byIP[ip] = pp
		}
	}
}

// DeletePod forgets a pod; its addresses pass to no one until another
// pod claims them.
func (x *Index) DeletePod(uid string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if old, ok := x.byUID[uid]; ok {
		x.unmapIPs(old)
		delete(x.byUID, uid)
		x.countAgent(uid, nil)
	}
}

func (x *Index) unmapIPs(p *Pod) {
	for _, ip := range p.IPs {
		if cur, ok := x.byIP[ip]; ok && cur.UID == p.UID {
			delete(x.byIP, ip)
			// Another known pod with this address (a newer one whose
			// update came first) takes it.
			for _, o := range x.byUID {
				if o.UID != p.UID && !o.HostNetwork && hasIP(o, ip) {
					if c, ok := x.byIP[ip]; !ok || better(o, c) {
						x.byIP[ip] = o
					}
				}
			}
		}
	}
}

func hasIP(p *Pod, ip netip.Addr) bool {
	for _, a := range p.IPs {
		if a == ip {
			return true
		}
	}
	return false
}

// SetSlice records the ready endpoints of an EndpointSlice.
func (x *Index) SetSlice(key, service string, ips []netip.Addr) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.dropSlice(key)
	for _, ip := range ips {
		x.slices[key] = append(x.slices[key], endpoint{ip, service})
		x.svcByIP[ip] = service
	}
}

// DeleteSlice forgets an EndpointSlice.
func (x *Index) DeleteSlice(key string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.dropSlice(key)
}

func (x *Index) dropSlice(key string) {
	for _, e := range x.slices[key] {
		if x.svcByIP[e.ip] == e.service {
			delete(x.svcByIP, e.ip)
		}
	}
	delete(x.slices, key)
}

// PodOf trims a pod to what the agent keeps, naming its workload from its
// owner: a ReplicaSet's Deployment, or the DaemonSet, StatefulSet or Job.
func PodOf(p *corev1.Pod) Pod {
	out := Pod{UID: string(p.UID), Name: p.Name, Namespace: p.Namespace, Node: p.Spec.NodeName, HostNetwork: p.Spec.HostNetwork,
		Created: p.CreationTimestamp.Time, Workload: p.Name, WorkloadKind: "Pod",
		Done: p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed || p.DeletionTimestamp != nil}
	if p.Status.Phase == corev1.PodRunning {
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady {
				out.Ready = c.Status == corev1.ConditionTrue
			}
		}
	}
	for _, ip := range p.Status.PodIPs {
		if a, err := netip.ParseAddr(ip.IP); err == nil {
			out.IPs = append(out.IPs, a.Unmap())
		}
	}
	if len(out.IPs) == 0 {
		if a, err := netip.ParseAddr(p.Status.PodIP); err == nil {
			out.IPs = append(out.IPs, a.Unmap())
		}
	}
	if o := metav1.GetControllerOf(p); o != nil {
		out.Workload, out.WorkloadKind = o.Name, o.Kind
		if o.Kind == "ReplicaSet" {
			if h := p.Labels["pod-template-hash"]; h != "" && strings.HasSuffix(o.Name, "-"+h) {
				out.Workload, out.WorkloadKind = strings.TrimSuffix(o.Name, "-"+h), "Deployment"
			}
		}
	}
	return out
}

// trim keeps of an object only what PodOf and the slice handler read, so
// that the informers' caches stay small on large clusters.
func trim(obj any) (any, error) {
	switch o := obj.(type) {
	case *corev1.Pod:
		t := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: o.Name, Namespace: o.Namespace, UID: o.UID, Labels: map[string]string{},
			CreationTimestamp: o.CreationTimestamp, DeletionTimestamp: o.DeletionTimestamp, OwnerReferences: o.OwnerReferences,
			ResourceVersion: o.ResourceVersion},
			Spec:   corev1.PodSpec{NodeName: o.Spec.NodeName, HostNetwork: o.Spec.HostNetwork},
			Status: corev1.PodStatus{Phase: o.Status.Phase, PodIP: o.Status.PodIP, PodIPs: o.Status.PodIPs}}
		if h, ok := o.Labels["pod-template-hash"]; ok {
			t.Labels["pod-template-hash"] = h
		}
		for _, c := range o.Status.Conditions {
			if c.Type == corev1.PodReady {
				t.Status.Conditions = []corev1.PodCondition{{Type: c.Type, Status: c.Status}}
			}
		}
		return t, nil
	case *corev1.Node:
		t := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: o.Name, ResourceVersion: o.ResourceVersion}}
		for _, a := range o.Status.Addresses {
			if a.Type == corev1.NodeInternalIP || a.Type == corev1.NodeExternalIP {
				t.Status.Addresses = append(t.Status.Addresses, a)
			}
		}
		return t, nil
	case *discoveryv1.EndpointSlice:
		t := &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: o.Name, Namespace: o.Namespace, ResourceVersion: o.ResourceVersion,
			Labels: map[string]string{discoveryv1.LabelServiceName: o.Labels[discoveryv1.LabelServiceName]}}}
		for _, e := range o.Endpoints {
			t.Endpoints = append(t.Endpoints, discoveryv1.Endpoint{Addresses: e.Addresses})
		}
		return t, nil
	}
	return obj, nil
}

// Sources are where the informers list and watch pods, EndpointSlices and
// nodes.
type Sources struct {
	Pods, Slices, Nodes cache.ListerWatcher
}

// NewSources lists and watches through REST clients that know only the
// two API groups the agent reads (core/v1 and discovery.k8s.io/v1). The
// generated clientset would do the same, but it registers every API
// group's types at start, and that costs the agent 13 MiB of RSS.
func NewSources(rc *rest.Config) (Sources, error) {
	sch := runtime.NewScheme()
	if err := corev1.AddToScheme(sch); err != nil {
		return Sources{}, fmt.Errorf("registering core/v1: %w", err)
	}
	if err := discoveryv1.AddToScheme(sch); err != nil {
		return Sources{}, fmt.Errorf("registering discovery/v1: %w", err)
	}
	codecs := serializer.NewCodecFactory(sch).WithoutConversion()
	client := func(gv schema.GroupVersion, apiPath string) (*rest.RESTClient, error) {
		c := rest.CopyConfig(rc)
		c.GroupVersion, c.APIPath, c.NegotiatedSerializer = &gv, apiPath, codecs
		if c.UserAgent == "" {
			c.UserAgent = "netcost-agent"
		}
		rcl, err := rest.RESTClientFor(c)
		if err != nil {
			return nil, fmt.Errorf("a Kubernetes client for %s: %w", gv, err)
		}
		return rcl, nil
	}
	core, err := client(corev1.SchemeGroupVersion, "/api")
	if err != nil {
		return Sources{}, err
	}
	disc, err := client(discoveryv1.SchemeGroupVersion, "/apis")
	if err != nil {
		return Sources{}, err
	}
	all := fields.Everything()
	return Sources{
		Pods:   cache.NewListWatchFromClient(core, "pods", metav1.NamespaceAll, all),
		Slices: cache.NewListWatchFromClient(disc, "endpointslices", metav1.NamespaceAll, all),
		Nodes:  cache.NewListWatchFromClient(core, "nodes", metav1.NamespaceAll, all),
	}, nil
}

// resource is what an informer lists, for the lines that say it is denied.
type resource struct {
	name, group string // endpointslices, discovery.k8s.io ("" for core)
	lost        string // what records lack while the agent may not list it
}

// informer returns a trimmed informer over lw whose events go to h, and a
// flag that is set once the API has denied it a list or watch.
func informer(lw cache.ListerWatcher, obj runtime.Object, res resource, h cache.ResourceEventHandlerFuncs,
	log *slog.Logger) (cache.SharedIndexInformer, *atomic.Bool, error) {
	inf := cache.NewSharedIndexInformerWithOptions(listThenWatch{lw}, obj,
		cache.SharedIndexInformerOptions{ResyncPeriod: 10 * time.Minute})
	if err := inf.SetTransform(trim); err != nil {
		return nil, nil, err
	}
	if _, err := inf.AddEventHandler(h); err != nil {
		return nil, nil, err
	}
	denied := new(atomic.Bool)
	var lastWarn time.Time // the handler runs on the reflector's goroutine only
	err := inf.SetWatchErrorHandlerWithContext(func(_ context.Context, _ *cache.Reflector, err error) {
		switch {
		case apierrors.IsForbidden(err):
			// The reflector keeps retrying (names come back once RBAC
			// allows it); saying so at every retry would bury the fix.
			if !denied.Swap(true) {
				group := res.group
				if group == "" {
					group = "core"
				}
				log.Warn(fmt.Sprintf("the Kubernetes API denies the agent listing %s: %s; "+
					"grant get, list and watch on %s %s (see infra/agent/rbac.yaml)", res.name, res.lost, group, res.name),
					"error", err)
			}
		case apierrors.IsResourceExpired(err), apierrors.IsGone(err),
			errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			// The informer lists again or resumes by itself.
		default:
			if time.Since(lastWarn) > time.Minute {
				lastWarn = time.Now()
				log.Warn("listing or watching "+res.name+" (retrying)", "error", err)
			}
		}
	})
	if err != nil {
		return nil, nil, err
	}
	return inf, denied, nil
}

// listThenWatch keeps an informer on a LIST and then a WATCH, as client-go
// did before v0.35 made streaming lists (its WatchListClient feature) the
// default: a streaming list waits for a bookmark that a server, or a test's
// source, which ignores sendInitialEvents never sends.
type listThenWatch struct{ lw cache.ListerWatcher }

// List and Watch complete cache.ListerWatcher; the reflector calls the
// WithContext forms.
func (l listThenWatch) List(o metav1.ListOptions) (runtime.Object, error) {
	return l.ListWithContext(context.Background(), o)
}

func (l listThenWatch) Watch(o metav1.ListOptions) (watch.Interface, error) {
	return l.WatchWithContext(context.Background(), o)
}

func (l listThenWatch) ListWithContext(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
	return cache.ToListerWithContext(l.lw).ListWithContext(ctx, o)
}

func (l listThenWatch) WatchWithContext(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
	return cache.ToWatcherWithContext(l.lw).WatchWithContext(ctx, o)
}

// IsWatchListSemanticsUnSupported tells client-go's reflector to list, not
// to stream the initial list.
func (listThenWatch) IsWatchListSemanticsUnSupported() bool { return true }

// deleted unwraps the object of a delete event.
func deleted(obj any) any {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		return d.Obj
	}
	return obj
}

// Watch keeps x in step with the API until ctx ends. It returns once the
// informers have synced, or with the error that stopped them.
func Watch(ctx context.Context, src Sources, x *Index, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	onPod := func(obj any) {
		if p, ok := obj.(*corev1.Pod); ok {
			x.SetPod(PodOf(p))
		}
	}
	pods, podsDenied, err := informer(src.Pods, &corev1.Pod{},
		resource{name: "pods", lost: "records carry no pod or workload names"}, cache.ResourceEventHandlerFuncs{
			AddFunc:    onPod,
			UpdateFunc: func(_, obj any) { onPod(obj) },
			DeleteFunc: func(obj any) {
				if p, ok := deleted(obj).(*corev1.Pod); ok {
					x.DeletePod(string(p.UID))
				}
			},
		}, log)
	if err != nil {
		return fmt.Errorf("watching pods: %w", err)
	}
	onSlice := func(obj any) {
		s, ok := obj.(*discoveryv1.EndpointSlice)
		if !ok {
			return
		}
		svc := s.Labels[discoveryv1.LabelServiceName]
		if svc == "" {
			return
		}
		var ips []netip.Addr
		for _, e := range s.Endpoints {
			for _, a := range e.Addresses {
				if ip, err := netip.ParseAddr(a); err == nil {
					ips = append(ips, ip.Unmap())
				}
			}
		}
		x.SetSlice(s.Namespace+"/"+s.Name, s.Namespace+"/"+svc, ips)
	}
	slices, slicesDenied, err := informer(src.Slices, &discoveryv1.EndpointSlice{},
		resource{name: "endpointslices", group: "discovery.k8s.io", lost: "records carry no Service names"},
		cache.ResourceEventHandlerFuncs{
			AddFunc:    onSlice,
			UpdateFunc: func(_, obj any) { onSlice(obj) },
			DeleteFunc: func(obj any) {
				if s, ok := deleted(obj).(*discoveryv1.EndpointSlice); ok {
					x.DeleteSlice(s.Namespace + "/" + s.Name)
				}
			},
		}, log)
	if err != nil {
		return fmt.Errorf("watching EndpointSlices: %w", err)
	}
	onNode := func(obj any) {
		n, ok := obj.(*corev1.Node)
		if !ok {
			return
		}
		var ips []netip.Addr
		for _, a := range n.Status.Addresses {
			if ip, err := netip.ParseAddr(a.Address); err == nil {
				ips = append(ips, ip.Unmap())
			}
		}
		x.SetNode(n.Name, ips)
	}
	nodes, nodesDenied, err := informer(src.Nodes, &corev1.Node{},
		resource{name: "nodes", lost: "node addresses (and host-network pods) go unnamed"}, cache.ResourceEventHandlerFuncs{
			AddFunc:    onNode,
			UpdateFunc: func(_, obj any) { onNode(obj) },
			DeleteFunc: func(obj any) {
				if n, ok := deleted(obj).(*corev1.Node); ok {
					x.DeleteNode(n.Name)
				}
			},
		}, log)
	if err != nil {
		return fmt.Errorf("watching nodes: %w", err)
	}
	for _, inf := range []cache.SharedIndexInformer{pods, slices, nodes} {
		go inf.RunWithContext(ctx)
	}
	// A resource the API denies holds up no sync: the agent names what it
	// may read.
	ready := func(inf cache.SharedIndexInformer, denied *atomic.Bool) cache.InformerSynced {
		return func() bool { return inf.HasSynced() || denied.Load() }
	}
	if !cache.WaitForCacheSync(ctx.Done(),
		ready(pods, podsDenied), ready(slices, slicesDenied), ready(nodes, nodesDenied)) {
		return fmt.Errorf("syncing pods, EndpointSlices and nodes from the Kubernetes API: %w", context.Cause(ctx))
	}
	x.mu.RLock()
	agents := len(x.agentNodes)
	x.mu.RUnlock()
	log.Info("Kubernetes names synced", "pods", len(pods.GetStore().ListKeys()),
		"endpointslices", len(slices.GetStore().ListKeys()), "nodes_with_a_ready_agent", agents)
	return nil
}
