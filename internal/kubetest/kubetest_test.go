package kubetest

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// TestServer: the API server answers the admin, authenticates a
// ServiceAccount's token and applies RBAC to it, survives a restart with
// its data, and its kubeconfig works for clientcmd as the agent reads it.
func TestServer(t *testing.T) {
	s := Start(t)
	ctx := t.Context()
	s.Namespace("shop")
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "a", Namespace: "shop"}}
	if _, err := s.Client.CoreV1().ConfigMaps("shop").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	sa, err := kubernetes.NewForConfig(s.ServiceAccount("shop", "reader"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = sa.CoreV1().ConfigMaps("shop").List(ctx, metav1.ListOptions{})
	if !apierrors.IsForbidden(err) {
		t.Errorf("a ServiceAccount without a role listed ConfigMaps: err = %v; want Forbidden", err)
	}

	s.Restart()
	kc, err := clientcmd.BuildConfigFromFlags("", s.Kubeconfig(t.TempDir(), s.Admin))
	if err != nil {
		t.Fatal(err)
	}
	c, err := kubernetes.NewForConfig(kc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CoreV1().ConfigMaps("shop").Get(ctx, "a", metav1.GetOptions{}); err != nil {
		t.Errorf("after a restart, through the kubeconfig: %v", err)
	}
	s.Compact() // must not fail
}

// TestApplyDryRun: valid objects pass and are not stored; an unknown field
// and an invalid value each fail with the object named.
func TestApplyDryRun(t *testing.T) {
	s := Start(t)
	ctx := t.Context()
	good := `apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: shop}
data: {a: b}
`
	if err := s.ApplyDryRun(ctx, []byte(good)); err != nil {
		t.Fatalf("ApplyDryRun(valid) = %v", err)
	}
	_, err := s.Client.CoreV1().ConfigMaps("shop").Get(ctx, "settings", metav1.GetOptions{})
	if !apierrors.IsNotFound(err) {
		t.Errorf("the dry run stored the ConfigMap: err = %v; want NotFound", err)
	}
	for _, tt := range []struct {
		name, doc string
		want      []string
	}{
		{"unknown field", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: shop}\ndatta: {a: b}\n",
			[]string{"applying ConfigMap shop/x", ".datta: field not declared in schema"}},
		{"invalid value", "apiVersion: v1\nkind: Service\nmetadata: {name: x, namespace: shop}\n" +
			"spec: {ports: [{port: 70000}]}\n", []string{"applying Service shop/x", "spec.ports[0].port"}},
	} {
		err := s.ApplyDryRun(ctx, []byte(tt.doc))
		for _, w := range tt.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%s: ApplyDryRun = %v; want an error with %q", tt.name, err, w)
			}
		}
	}
}
