package infra

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path"
	"reflect"
	"slices"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/chart/common"
	chartutil "helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/engine"
	"helm.sh/helm/v4/pkg/strvals"
)

// chartDir is the agent's Helm chart.
const chartDir = "helm/netcost-agent"

// renderChart renders the chart as `helm template netcost-agent
// infra/helm/netcost-agent -n netcost` does with vals, through Helm's Go
// SDK: values coalesced with the chart's and validated against its schema,
// then the templates; it returns the manifests, in file order, and NOTES.txt.
func renderChart(t *testing.T, vals map[string]any) (manifest, notes string, err error) {
	t.Helper()
	ch, err := loader.Load(chartDir)
	if err != nil {
		t.Fatalf("loading the chart: %v", err)
	}
	opts := common.ReleaseOptions{Name: "netcost-agent", Namespace: "netcost", Revision: 1, IsInstall: true}
	top, err := chartutil.ToRenderValuesWithSchemaValidation(ch, vals, opts, nil, false)
	if err != nil {
		return "", "", err
	}
	files, err := engine.Render(ch, top)
	if err != nil {
		return "", "", err
	}
	var b strings.Builder
	for _, name := range slices.Sorted(maps.Keys(files)) {
		switch base := path.Base(name); {
		case base == "NOTES.txt":
			notes = files[name]
		case strings.HasPrefix(base, "_") || strings.TrimSpace(files[name]) == "":
		default:
			fmt.Fprintf(&b, "---\n# Source: %s\n%s\n", name, files[name])
		}
	}
	return b.String(), notes, nil
}

// mustRenderChart renders the chart with vals and decodes it strictly.
func mustRenderChart(t *testing.T, vals map[string]any) (objects, string) {
	t.Helper()
	manifest, notes, err := renderChart(t, vals)
	if err != nil {
		t.Fatalf("rendering the chart with %v: %v", vals, err)
	}
	return decode(t, []byte(manifest)), notes
}

// chartValues are the chart's values that give each kustomization's objects.
var chartValues = map[string]map[string]any{
	"agent":               {},
	"overlays/cloudwatch": {"sink": "cloudwatch", "cluster": "my-cluster"},
	"overlays/cloudwatch-irsa": {"sink": "cloudwatch", "cluster": "my-cluster",
		"iam": map[string]any{"mode": "irsa", "roleArn": "arn:aws:iam::111122223333:role/netcost-agent"}},
}

// TestChartMatchesKustomize: each kustomization and the chart with the
// matching values give the same DaemonSet, service account, ClusterRole and
// binding, so that the two ways of installing never drift apart. The chart
// adds Helm's labels, and leaves the namespace to `helm install -n`.
func TestChartMatchesKustomize(t *testing.T) {
	if len(chartValues) != len(kustomizations) {
		t.Fatalf("values for %v; want one per kustomization %v", slices.Sorted(maps.Keys(chartValues)), kustomizations)
	}
	for _, k := range kustomizations {
		t.Run(k, func(t *testing.T) {
			want := decode(t, render(t, k))
			got, _ := mustRenderChart(t, chartValues[k])
			if len(got.namespaces) != 0 {
				t.Errorf("the chart makes namespaces %v; helm install --create-namespace does", got.namespaces)
			}
			gds, _ := container(t, got)
			wds, _ := container(t, want)
			if gds.Name != wds.Name || gds.Namespace != wds.Namespace {
				t.Errorf("chart DaemonSet %s/%s; kustomize's %s/%s", gds.Namespace, gds.Name, wds.Namespace, wds.Name)
			}
			if !reflect.DeepEqual(gds.Spec, wds.Spec) {
				t.Errorf("the chart's DaemonSet spec differs from kustomize's:\nchart: %s\nkustomize: %s", toJSON(t, gds.Spec),
					toJSON(t, wds.Spec))
			}
			for _, pair := range [][2]map[string]string{{gds.Labels, wds.Labels}, {got.serviceAccounts[0].Labels,
				want.serviceAccounts[0].Labels},
				{got.roles[0].Labels, want.roles[0].Labels}, {got.bindings[0].Labels, want.bindings[0].Labels}} {
				for key, v := range pair[1] {
					if pair[0][key] != v {
						t.Errorf("label %s=%q in the chart; kustomize sets %q", key, pair[0][key], v)
					}
				}
			}
			gsa, wsa := got.serviceAccounts[0], want.serviceAccounts[0]
			if len(got.serviceAccounts) != 1 || gsa.Name != wsa.Name || gsa.Namespace != wsa.Namespace ||
				!maps.Equal(gsa.Annotations, wsa.Annotations) {
				t.Errorf("chart service accounts %+v; kustomize's %+v", got.serviceAccounts, want.serviceAccounts)
			}
			if len(got.roles) != 1 || got.roles[0].Name != want.roles[0].Name ||
				!reflect.DeepEqual(got.roles[0].Rules, want.roles[0].Rules) {
				t.Errorf("chart ClusterRoles %+v; kustomize's %+v", got.roles, want.roles)
			}
			if len(got.bindings) != 1 || got.bindings[0].Name != want.bindings[0].Name ||
				!reflect.DeepEqual(got.bindings[0].RoleRef, want.bindings[0].RoleRef) ||
				!reflect.DeepEqual(got.bindings[0].Subjects, want.bindings[0].Subjects) {
				t.Errorf("chart bindings %+v; kustomize's %+v", got.bindings, want.bindings)
			}
		})
	}
}

func toJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestChartValuesTypo: values the chart does not know, or cannot use, fail
// at install with a message that names them, instead of being ignored.
func TestChartValuesTypo(t *testing.T) {
	for _, tt := range []struct {
		name string
		vals map[string]any
		want string // in the error
	}{
		{"misspelt key", map[string]any{"clsuter": "prod"}, "clsuter"},
		{"misspelt nested key", map[string]any{"image": map[string]any{"repo": "x", "tag": "v1"}}, "repo"},
		{"misspelt metrics key", map[string]any{"metrics": map[string]any{"prot": 9110}}, "prot"},
		{"unknown sink", map[string]any{"sink": "cloudwach", "cluster": "prod"}, "sink"},
		{"cloudwatch without a cluster", map[string]any{"sink": "cloudwatch"}, "cluster"},
		{"irsa without a role", map[string]any{"iam": map[string]any{"mode": "irsa"}}, "roleArn"},
		{"not a role ARN", map[string]any{"iam": map[string]any{"mode": "irsa", "roleArn": "netcost-agent"}}, "roleArn"},
		{"port out of range", map[string]any{"metrics": map[string]any{"port": 70000}}, "port"},
		{"not a CIDR", map[string]any{"serviceCIDR": "172.20.0.0"}, "serviceCIDR"},
		{"misspelt toleration field", map[string]any{"tolerations": []any{map[string]any{"operater": "Exists"}}}, "operater"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := renderChart(t, tt.vals)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("values %v: error %v; want one naming %q", tt.vals, err, tt.want)
			}
		})
	}
}

// TestChartValues: the values reach the DaemonSet (the metrics port in the
// address, the container port and the scrape annotation alike), and
// NOTES.txt says how to check the install and, with Pod Identity, how to
// make the association.
func TestChartValues(t *testing.T) {
	o, notes := mustRenderChart(t, map[string]any{"sink": "cloudwatch", "cluster": "prod-east", "region": "us-east-2",
		"serviceCIDR": "172.20.0.0/16",
		"image": map[string]any{"repository": "111122223333.dkr.ecr.us-east-2.amazonaws.com/netcost-agent",
			"tag": "v0.1.0"},
		"metrics": map[string]any{"port": 9110}, "externalSNAT": true,
		"iam":       map[string]any{"mode": "podIdentity", "roleArn": "arn:aws:iam::111122223333:role/netcost-agent"},
		"resources": map[string]any{"limits": map[string]any{"memory": "256Mi"}}})
	ds, c := container(t, o)
	if c.Image != "111122223333.dkr.ecr.us-east-2.amazonaws.com/netcost-agent:v0.1.0" {
		t.Errorf("image %q", c.Image)
	}
	for name, want := range map[string]string{"NETCOST_CLUSTER": "prod-east", "NETCOST_SINK": "cloudwatch",
		"AWS_REGION": "us-east-2", "NETCOST_LOG_GROUP": "/netcost/flows", "NETCOST_SERVICE_CIDR": "172.20.0.0/16",
		"NETCOST_EXTERNAL_SNAT": "true"} {
		if e, _ := env(c, name); e.Value != want {
			t.Errorf("%s=%q; want %q", name, e.Value, want)
		}
	}
	addr := expandEnv(c, "NETCOST_METRICS_ADDR", map[string]string{"status.hostIP": "10.0.1.5"})
	if addr != "[10.0.1.5]:9110" {
		t.Errorf("NETCOST_METRICS_ADDR on a node at 10.0.1.5 is %q; want [10.0.1.5]:9110", addr)
	}
	if len(c.Ports) != 1 || c.Ports[0].ContainerPort != 9110 ||
		ds.Spec.Template.Annotations["prometheus.io/port"] != "9110" {
		t.Errorf("ports %+v, annotations %v; want 9110 in both", c.Ports, ds.Spec.Template.Annotations)
	}
	if lim := c.Resources.Limits.Memory().String(); lim != "256Mi" || c.Resources.Requests.Memory().String() != "64Mi" {
		t.Errorf("memory limit %s, request %s; want 256Mi (given) and 64Mi (default)", lim, c.Resources.Requests.Memory())
	}
	if len(o.serviceAccounts[0].Annotations) != 0 {
		t.Errorf("with Pod Identity the service account has annotations %v; want none", o.serviceAccounts[0].Annotations)
	}
	for _, want := range []string{"kubectl -n netcost rollout status daemonset/netcost-agent",
		"aws eks create-pod-identity-association --cluster-name prod-east",
		"--role-arn arn:aws:iam::111122223333:role/netcost-agent", "curl -s NODE_IP:9110/metrics"} {
		if !strings.Contains(notes, want) {
			t.Errorf("NOTES.txt lacks %q:\n%s", want, notes)
		}
	}
	if strings.Contains(notes, "WARNING") {
		t.Errorf("NOTES.txt warns with an image set:\n%s", notes)
	}
	if _, notes := mustRenderChart(t, nil); !strings.Contains(notes, "WARNING: image.repository is the placeholder") {
		t.Errorf("NOTES.txt does not warn of the placeholder image:\n%s", notes)
	}
	if _, _, err := renderChart(t, map[string]any{"iam": map[string]any{"mode": "irsa", "roleArn": ""}}); err == nil ||
		!strings.Contains(err.Error(), "roleArn") {
		t.Errorf("irsa with an empty role: %v; want an error naming roleArn", err)
	}
}

// TestInstallDocsHelm installs the chart as docs/install-eks.md says, its
// --set flags and all (and the IRSA flags it adds): the values pass the
// schema, and the image, cluster and Service CIDR they set are the
// DaemonSet's.
func TestInstallDocsHelm(t *testing.T) {
	doc, err := os.ReadFile("../docs/install-eks.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc),
		"   helm install netcost-agent infra/helm/netcost-agent --namespace netcost --create-namespace \\\n")
	if !ok {
		t.Fatal("docs/install-eks.md has no `helm install netcost-agent infra/helm/netcost-agent --namespace netcost` line")
	}
	var cmd strings.Builder
	for line := range strings.Lines(rest) {
		cmd.WriteString(strings.TrimSuffix(strings.TrimSpace(line), "\\"))
		if !strings.HasSuffix(strings.TrimSpace(line), "\\") {
			break
		}
	}
	_, irsa, ok := strings.Cut(string(doc), "With IRSA, add `")
	irsa, _, ok2 := strings.Cut(irsa, "`")
	if !ok || !ok2 {
		t.Fatal("docs/install-eks.md does not say which flags IRSA adds")
	}
	repo, cluster := "111122223333.dkr.ecr.us-east-1.amazonaws.com/netcost-agent", "prod-east"
	subst := strings.NewReplacer("$REPO", repo, "$CLUSTER", cluster, "$SERVICE_CIDR", "172.20.0.0/16", "$ACCOUNT",
		"111122223333")
	for _, flags := range []string{cmd.String(), cmd.String() + " " + irsa} {
		vals := map[string]any{}
		args := strings.Fields(subst.Replace(flags))
		for i, a := range args {
			if a == "--set" && i+1 < len(args) {
				if err := strvals.ParseInto(args[i+1], vals); err != nil {
					t.Fatalf("--set %s: %v", args[i+1], err)
				}
			}
		}
		o, _ := mustRenderChart(t, vals)
		_, c := container(t, o)
		if c.Image != repo+":v0.1.0" {
			t.Errorf("the documented install gives image %q; want %q", c.Image, repo+":v0.1.0")
		}
		for name, want := range map[string]string{"NETCOST_CLUSTER": cluster, "NETCOST_SINK": "cloudwatch",
			"NETCOST_SERVICE_CIDR": "172.20.0.0/16"} {
			if e, _ := env(c, name); e.Value != want {
				t.Errorf("the documented install gives %s=%q; want %q", name, e.Value, want)
			}
		}
		arn := o.serviceAccounts[0].Annotations["eks.amazonaws.com/role-arn"]
		if strings.Contains(flags, "irsa") != (arn != "") {
			t.Errorf("flags %q annotate the service account with role %q", flags, arn)
		}
	}
}
