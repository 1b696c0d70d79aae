package kube

import (
	"context"
	"fmt"
	"net/netip"
	"runtime"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/cache"
)

// BenchmarkMemory5000Pods is what the agent's Kubernetes names cost in a
// 5,000-pod cluster with 500 Services: the informers' trimmed caches and
// the index, as heap in use after a GC. The pods are full-sized (containers,
// env, annotations) as the API serves them; the trim is what keeps them small.
func BenchmarkMemory5000Pods(b *testing.B) {
	var objs []k8sruntime.Object
	t0 := time.Now()
	for i := range 5000 {
		p := pod(fmt.Sprintf("uid-%d", i), fmt.Sprintf("web-%d-abcde", i), fmt.Sprintf("10.%d.%d.%d", i/65536, (i/256)%256, i%256), t0,
			owner("ReplicaSet", fmt.Sprintf("web-%d", i/10)), "")
		p.Annotations = map[string]string{"kubectl.kubernetes.io/last-applied-configuration": string(make([]byte, 2000))}
		for c := range 2 {
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: fmt.Sprintf("c%d", c), Image: "registry.example/app:1.2.3",
				Env: []corev1.EnvVar{{Name: "A", Value: "1"}, {Name: "B", Value: "2"}, {Name: "C", Value: "3"}}})
		}
		objs = append(objs, p)
	}
	for s := range 500 {
		es := &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("svc-%d-x", s), Namespace: "shop",
			Labels: map[string]string{discoveryv1.LabelServiceName: fmt.Sprintf("svc-%d", s)}}}
		for e := range 10 {
			i := s*10 + e
			es.Endpoints = append(es.Endpoints, discoveryv1.Endpoint{Addresses: []string{fmt.Sprintf("10.%d.%d.%d", i/65536, (i/256)%256, i%256)}})
		}
		objs = append(objs, es)
	}
	for b.Loop() {
		client := fake.NewClientset(objs...)
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		ctx, cancel := context.WithCancel(context.Background())
		x := NewIndex()
		if err := Watch(ctx, fakeSources(client), x, nil); err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(int64(after.HeapInuse)-int64(before.HeapInuse))/(1<<20), "MiB")
		if _, ok := x.PodByIP(netip.MustParseAddr("10.0.19.135")); !ok {
			b.Fatal("the last pod is not indexed")
		}
		cancel()
	}
}

// fakeSources lists and watches through client-go's fake clientset: the
// benchmark measures the caches, not the API, and 5,000 pods load faster so.
func fakeSources(c *fake.Clientset) Sources {
	lw := func(list func(context.Context, metav1.ListOptions) (k8sruntime.Object, error), watch func(context.Context, metav1.ListOptions) (watch.Interface, error)) cache.ListerWatcher {
		return &cache.ListWatch{ListWithContextFunc: list, WatchFuncWithContext: watch}
	}
	core, disc := c.CoreV1(), c.DiscoveryV1()
	return Sources{
		Pods: lw(func(ctx context.Context, o metav1.ListOptions) (k8sruntime.Object, error) {
			return core.Pods("").List(ctx, o)
		},
			func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
				return core.Pods("").Watch(ctx, o)
			}),
		Slices: lw(func(ctx context.Context, o metav1.ListOptions) (k8sruntime.Object, error) {
			return disc.EndpointSlices("").List(ctx, o)
		},
			func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
				return disc.EndpointSlices("").Watch(ctx, o)
			}),
		Nodes: lw(func(ctx context.Context, o metav1.ListOptions) (k8sruntime.Object, error) {
			return core.Nodes().List(ctx, o)
		},
			func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
				return core.Nodes().Watch(ctx, o)
			}),
	}
}
