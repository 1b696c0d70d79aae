package kube

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
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
	// Generous: the API server shares a small machine with other tests.
	for deadline := time.Now().Add(60 * time.Second); !ok(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
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
