package infra

import (
	"strings"
	"testing"

	"github.com/netcost/netcost/internal/kubetest"
)

// TestApplyDryRun sends every kustomization's output, and the chart's,
// through a real API
// server as a server-side apply with dryRun=All: admission, defaulting and
// validation judge the objects as a cluster would, beyond what a strict
// decode sees. A DaemonSet whose selector misses its pods' labels decodes
// strictly, and the API refuses it: the check has teeth.
func TestApplyDryRun(t *testing.T) {
	s := kubetest.Start(t)
	for _, k := range kustomizations {
		if err := s.ApplyDryRun(t.Context(), render(t, k)); err != nil {
			t.Errorf("kustomize %s, applied with dryRun=All:\n%v", k, err)
		}
	}
	// The chart, with each kustomization's values, as `helm install
	// --create-namespace` sends it: the namespace first.
	for _, k := range kustomizations {
		manifest, _, err := renderChart(t, chartValues[k])
		if err != nil {
			t.Fatalf("rendering the chart with %s's values: %v", k, err)
		}
		doc := "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: netcost\n" + manifest
		if err := s.ApplyDryRun(t.Context(), []byte(doc)); err != nil {
			t.Errorf("the chart with %s's values, applied with dryRun=All:\n%v", k, err)
		}
	}

	const sel = "matchLabels:\n      app.kubernetes.io/name: netcost-agent"
	good := string(render(t, "agent"))
	if !strings.Contains(good, sel) {
		t.Fatalf("the rendering has no %q to break:\n%s", sel, good)
	}
	bad := []byte(strings.Replace(good, sel, "matchLabels:\n      app.kubernetes.io/name: other", 1))
	decode(t, bad)
	err := s.ApplyDryRun(t.Context(), bad)
	if err == nil || !strings.Contains(err.Error(), "`selector` does not match template `labels`") {
		t.Errorf("a DaemonSet whose selector misses its template: ApplyDryRun = %v; want the API's refusal", err)
	}
}
