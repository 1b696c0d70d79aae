package kubetest

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// CreatePod creates p (and its namespace), then sets its status as a
// kubelet would: the API ignores the status given at creation. The server
// names the pod's UID and creation time; a pod without containers gets
// one, which the API requires.
func (s *Server) CreatePod(p *corev1.Pod) *corev1.Pod {
	s.t.Helper()
	ctx := context.Background()
	s.Namespace(p.Namespace)
	p = p.DeepCopy()
	status := p.Status
	p.UID, p.ResourceVersion, p.CreationTimestamp = "", "", metav1.Time{}
	if len(p.Spec.Containers) == 0 {
		p.Spec.Containers = []corev1.Container{{Name: "app", Image: "registry.example/app:1"}}
	}
	api := s.Client.CoreV1().Pods(p.Namespace)
	got, err := api.Create(ctx, p, metav1.CreateOptions{})
	if err != nil {
		s.t.Fatalf("creating pod %s/%s: %v", p.Namespace, p.Name, err)
	}
	got.Status = status
	if got, err = api.UpdateStatus(ctx, got, metav1.UpdateOptions{}); err != nil {
		s.t.Fatalf("setting the status of pod %s/%s: %v", p.Namespace, p.Name, err)
	}
	return got
}

// CreateNode creates n with its status (addresses), as a kubelet would.
func (s *Server) CreateNode(n *corev1.Node) *corev1.Node {
	s.t.Helper()
	ctx := context.Background()
	n = n.DeepCopy()
	status := n.Status
	n.UID, n.ResourceVersion = "", ""
	got, err := s.Client.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{})
	if err != nil {
		s.t.Fatalf("creating node %s: %v", n.Name, err)
	}
	got.Status = status
	if got, err = s.Client.CoreV1().Nodes().UpdateStatus(ctx, got, metav1.UpdateOptions{}); err != nil {
		s.t.Fatalf("setting the status of node %s: %v", n.Name, err)
	}
	return got
}
