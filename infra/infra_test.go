package infra

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/netcost/netcost/internal/netnstest"
)

// The kustomizations a user applies.
var kustomizations = []string{"agent", "overlays/cloudwatch", "overlays/cloudwatch-irsa"}

// objects is one rendering, decoded.
type objects struct {
	namespaces      []corev1.Namespace
	serviceAccounts []corev1.ServiceAccount
	roles           []rbacv1.ClusterRole
	bindings        []rbacv1.ClusterRoleBinding
	daemonSets      []appsv1.DaemonSet
}

// strict decodes JSON into v, refusing fields v's type does not have.
func strict(doc []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(doc))
	d.DisallowUnknownFields()
	return d.Decode(v)
}

// decode splits a rendering into documents and decodes each strictly into
// its k8s.io/api type; a kind the test does not know is an error too.
func decode(t *testing.T, rendered []byte) objects {
	t.Helper()
	var o objects
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(rendered)))
	for {
		doc, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		j, err := yaml.YAMLToJSON(doc)
		if err != nil {
			t.Fatalf("%v\n%s", err, doc)
		}
		var tm metav1.TypeMeta
		if err := json.Unmarshal(j, &tm); err != nil {
			t.Fatal(err)
		}
		var target any
		switch tm.APIVersion + " " + tm.Kind {
		case "v1 Namespace":
			o.namespaces = append(o.namespaces, corev1.Namespace{})
			target = &o.namespaces[len(o.namespaces)-1]
		case "v1 ServiceAccount":
			o.serviceAccounts = append(o.serviceAccounts, corev1.ServiceAccount{})
			target = &o.serviceAccounts[len(o.serviceAccounts)-1]
		case "rbac.authorization.k8s.io/v1 ClusterRole":
			o.roles = append(o.roles, rbacv1.ClusterRole{})
			target = &o.roles[len(o.roles)-1]
		case "rbac.authorization.k8s.io/v1 ClusterRoleBinding":
			o.bindings = append(o.bindings, rbacv1.ClusterRoleBinding{})
			target = &o.bindings[len(o.bindings)-1]
		case "apps/v1 DaemonSet":
			o.daemonSets = append(o.daemonSets, appsv1.DaemonSet{})
			target = &o.daemonSets[len(o.daemonSets)-1]
		default:
			t.Fatalf("a %s %s the test does not check:\n%s", tm.APIVersion, tm.Kind, doc)
		}
		if err := strict(j, target); err != nil {
			t.Errorf("%s: %v\n%s", tm.Kind, err, doc)
		}
	}
	return o
}

// render renders dir with kustomize's Go API.
func render(t *testing.T, dir string) []byte {
	t.Helper()
	rm, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize %s: %v", dir, err)
	}
	out, err := rm.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestKubectlKustomize renders every kustomization with `kubectl kustomize`,
// as a user would, and checks that it gives the objects the Go API gives.
func TestKubectlKustomize(t *testing.T) {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		if os.Getenv("NETCOST_REQUIRE_ROOT") == "1" {
			t.Fatal("kubectl is missing (apt-get install kubectl, or bash .ci/deps), and NETCOST_REQUIRE_ROOT=1 forbids skipping")
		}
		t.Skip("kubectl is missing: apt-get install kubectl")
	}
	for _, k := range kustomizations {
		out, err := exec.Command(kubectl, "kustomize", k).CombinedOutput()
		if err != nil {
			t.Fatalf("kubectl kustomize %s: %v\n%s", k, err, out)
		}
		if got, want := decode(t, out), decode(t, render(t, k)); !reflect.DeepEqual(got, want) {
			t.Errorf("kubectl kustomize %s and kustomize's Go API disagree:\n%s\nvs\n%s", k, out, render(t, k))
		}
	}
}

func container(t *testing.T, o objects) (*appsv1.DaemonSet, *corev1.Container) {
	t.Helper()
	if len(o.daemonSets) != 1 || len(o.daemonSets[0].Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("want one DaemonSet with one container; have %d DaemonSets", len(o.daemonSets))
	}
	ds := &o.daemonSets[0]
	return ds, &ds.Spec.Template.Spec.Containers[0]
}

func boolp(b *bool) string {
	if b == nil {
		return "unset"
	}
	return strconv.FormatBool(*b)
}

func env(c *corev1.Container, name string) (corev1.EnvVar, bool) {
	for _, e := range c.Env {
		if e.Name == name {
			return e, true
		}
	}
	return corev1.EnvVar{}, false
}

// agentSource returns the agent's non-test Go files, parsed.
func agentSource(t *testing.T) map[string]*ast.File {
	t.Helper()
	// Only the packages the agent's binary is built from: not the demo or
	// the test bed beside it, which create VPCs in an emulator.
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.Dir}}{{end}}", "../agent").Output()
	if err != nil {
		t.Fatalf("go list -deps ../agent: %v", err)
	}
	built := map[string]bool{}
	for _, d := range strings.Fields(string(out)) {
		built[d] = true
	}
	files := map[string]*ast.File{}
	fset := token.NewFileSet()
	err = filepath.WalkDir("../agent", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return err
		}
		if abs, _ := filepath.Abs(filepath.Dir(p)); !built[abs] {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, 0)
		if err != nil {
			return err
		}
		files[p] = f
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// envNames are the environment variables the agent reads: the string
// literals "NETCOST_..." in its code, those a flag's help names, "(env
// NODE_NAME", and the Go runtime's GOMEMLIMIT.
var envName = regexp.MustCompile(`\bNETCOST_[A-Z0-9_]+|\(env ([A-Z][A-Z0-9_]*)`)

func envNames(t *testing.T) map[string]bool {
	t.Helper()
	names := map[string]bool{"GOMEMLIMIT": true}
	for _, f := range agentSource(t) {
		ast.Inspect(f, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				// A name given to env() or os.Getenv, or named in a flag's
				// help, "(env NETCOST_X)", which checkEnv reads.
				if s, err := strconv.Unquote(lit.Value); err == nil {
					for _, m := range envName.FindAllStringSubmatch(s, -1) {
						names[cmp.Or(m[1], m[0])] = true
					}
				}
			}
			return true
		})
	}
	return names
}

// envRef is a reference to another variable in an env value, $(NAME).
var envRef = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

// expandEnv returns the value the kubelet gives c's variable name: $(NAME)
// becomes the value of a variable defined before it (a reference to one
// defined after, or not at all, stays as written), and a variable from the
// downward API takes its field's value from fields.
func expandEnv(c *corev1.Container, name string, fields map[string]string) string {
	vals := map[string]string{}
	for _, e := range c.Env {
		v := e.Value
		if e.ValueFrom != nil && e.ValueFrom.FieldRef != nil {
			v = fields[e.ValueFrom.FieldRef.FieldPath]
		}
		v = envRef.ReplaceAllStringFunc(v, func(ref string) string {
			if val, ok := vals[envRef.FindStringSubmatch(ref)[1]]; ok {
				return val
			}
			return ref
		})
		if e.Name == name {
			return v
		}
		vals[e.Name] = v
	}
	return ""
}

func TestDaemonSet(t *testing.T) {
	known := envNames(t)
	for _, k := range kustomizations {
		t.Run(k, func(t *testing.T) {
			o := decode(t, render(t, k))
			ds, c := container(t, o)
			pod := ds.Spec.Template.Spec
			if ds.Namespace != "netcost" || len(o.namespaces) != 1 || o.namespaces[0].Name != ds.Namespace {
				t.Errorf("DaemonSet in namespace %q, namespaces %v; want both netcost", ds.Namespace, o.namespaces)
			}
			if len(o.serviceAccounts) != 1 || pod.ServiceAccountName != o.serviceAccounts[0].Name || o.serviceAccounts[0].Namespace != ds.Namespace {
				t.Errorf("pods run as service account %q; want the one the kustomization makes", pod.ServiceAccountName)
			}

			// Every node: one toleration with no key and operator Exists
			// tolerates every taint, of every effect.
			if !slices.ContainsFunc(pod.Tolerations, func(tl corev1.Toleration) bool {
				return tl.Key == "" && tl.Operator == corev1.TolerationOpExists && tl.Effect == ""
			}) {
				t.Errorf("tolerations %+v do not tolerate every taint", pod.Tolerations)
			}
			// But not Fargate's nodes, which run no DaemonSet pod: every
			// term of the required node affinity keeps them out.
			if a := pod.Affinity; a == nil || a.NodeAffinity == nil ||
				a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil ||
				!notFargate(a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms) {
				t.Errorf("affinity %+v does not keep the agent off Fargate's nodes "+
					"(eks.amazonaws.com/compute-type NotIn [fargate])", pod.Affinity)
			}
			if !pod.HostNetwork || pod.DNSPolicy != corev1.DNSClusterFirstWithHostNet {
				t.Errorf("hostNetwork %v, dnsPolicy %q; want the node's network with cluster DNS", pod.HostNetwork, pod.DNSPolicy)
			}
			if pod.HostPID || pod.HostIPC {
				t.Errorf("hostPID %v, hostIPC %v; the agent needs neither", pod.HostPID, pod.HostIPC)
			}

			// Privileges: explicit capabilities, never privileged.
			sc := c.SecurityContext
			if sc == nil || sc.Capabilities == nil {
				t.Fatal("no securityContext with capabilities")
			}
			if sc.Privileged == nil || *sc.Privileged || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
				t.Errorf("privileged %s, allowPrivilegeEscalation %s; want both false, explicitly", boolp(sc.Privileged), boolp(sc.AllowPrivilegeEscalation))
			}
			if got := sc.Capabilities.Drop; !slices.Equal(got, []corev1.Capability{"ALL"}) {
				t.Errorf("capabilities dropped %v; want [ALL]", got)
			}
			if got := sc.Capabilities.Add; !slices.Equal(got, []corev1.Capability{"BPF", "NET_ADMIN"}) {
				t.Errorf("capabilities added %v; want [BPF NET_ADMIN] (load and attach; see infra/README.md)", got)
			}
			if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
				t.Errorf("readOnlyRootFilesystem is not true")
			}

			// Resources: requests and limits for both, requests under limits,
			// and the Go heap's soft limit under the memory limit.
			for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
				req, okReq := c.Resources.Requests[r]
				lim, okLim := c.Resources.Limits[r]
				if !okReq || !okLim || req.IsZero() || req.Cmp(lim) > 0 {
					t.Errorf("%s: request %v, limit %v; want both, request <= limit", r, req.String(), lim.String())
				}
			}
			if e, ok := env(c, "GOMEMLIMIT"); ok {
				soft := resource.MustParse(strings.TrimSuffix(e.Value, "B"))
				if lim := c.Resources.Limits[corev1.ResourceMemory]; soft.Cmp(lim) >= 0 {
					t.Errorf("GOMEMLIMIT %s is not under the memory limit %s", e.Value, lim.String())
				}
			}

			// Probes and the metrics port.
			port := -1
			for _, p := range c.Ports {
				if p.Name == "metrics" {
					port = int(p.ContainerPort)
				}
			}
			if port != 9109 {
				t.Errorf("metrics port %d; want 9109", port)
			}
			if a := ds.Spec.Template.Annotations; a["prometheus.io/port"] != "9109" || a["prometheus.io/path"] != "/metrics" {
				t.Errorf("scrape annotations %v; want port 9109, path /metrics", a)
			}
			// On the node's own address, IPv4 or IPv6, not on every
			// interface of the node (hostNetwork): whatever address the node
			// has, the agent listens there, as Go reads the value.
			for _, ip := range []string{"10.0.1.5", "2600:1f18:4a3:6902::5"} {
				addr := expandEnv(c, "NETCOST_METRICS_ADDR", map[string]string{"status.hostIP": ip, "status.podIP": ip})
				host, port, err := net.SplitHostPort(addr)
				ta, rerr := net.ResolveTCPAddr("tcp", addr)
				if err != nil || host != ip || port != "9109" || rerr != nil || !ta.IP.Equal(net.ParseIP(ip)) {
					t.Errorf("on a node at %s, NETCOST_METRICS_ADDR is %q (%v, %v); want the node's address and port 9109, not every interface",
						ip, addr, err, rerr)
				}
			}
			for _, p := range []struct {
				name  string
				probe *corev1.Probe
				path  string
			}{{"liveness", c.LivenessProbe, "/healthz"}, {"readiness", c.ReadinessProbe, "/readyz"}} {
				if p.probe == nil || p.probe.HTTPGet == nil {
					t.Errorf("no HTTP %s probe", p.name)
					continue
				}
				if h := p.probe.HTTPGet; h.Path != p.path || (h.Port.String() != "metrics" && h.Port.IntValue() != 9109) {
					t.Errorf("%s probe GET %s on %s; want %s on 9109", p.name, h.Path, h.Port.String(), p.path)
				}
			}

			// The environment: names the agent reads, the node's name from
			// the downward API, and the cgroup root a read-only mount of the
			// host's cgroup tree.
			referenced := map[string]bool{} // by $(NAME) in another variable
			for _, e := range c.Env {
				for _, m := range envRef.FindAllStringSubmatch(e.Value, -1) {
					referenced[m[1]] = true
				}
			}
			for _, e := range c.Env {
				if !known[e.Name] && !referenced[e.Name] {
					t.Errorf("env %s: the agent reads no such variable", e.Name)
				}
			}
			// The node's name, and the agent's own pod, whose DaemonSet tells
			// the agent which nodes run it.
			for name, field := range map[string]string{"NODE_NAME": "spec.nodeName", "POD_NAME": "metadata.name",
				"POD_NAMESPACE": "metadata.namespace"} {
				e, _ := env(c, name)
				if e.ValueFrom == nil || e.ValueFrom.FieldRef == nil || e.ValueFrom.FieldRef.FieldPath != field {
					t.Errorf("%s %+v; want it from the downward API's %s", name, e, field)
				}
			}
			hostPaths := map[string]string{}
			for _, v := range pod.Volumes {
				if v.HostPath != nil {
					hostPaths[v.Name] = v.HostPath.Path
				}
			}
			root, _ := env(c, "NETCOST_CGROUP_ROOT")
			mounted := map[string]corev1.VolumeMount{}
			for _, m := range c.VolumeMounts {
				mounted[hostPaths[m.Name]] = m
			}
			if m := mounted["/sys/fs/cgroup"]; m.MountPath != root.Value || !m.ReadOnly {
				t.Errorf("NETCOST_CGROUP_ROOT %q; want a read-only mount of the host's /sys/fs/cgroup there (have %+v)", root.Value, m)
			}
			if m := mounted["/var/lib/netcost"]; m.MountPath != "/var/lib/netcost" || m.ReadOnly {
				t.Errorf("/var/lib/netcost (records, spool, ip-ranges cache) is not a writable host mount: %+v", m)
			}
			if m := mounted["/sys/fs/bpf"]; m.MountPath != "/sys/fs/bpf" || m.ReadOnly {
				t.Errorf("the host's /sys/fs/bpf is not mounted writable at /sys/fs/bpf, where the agent pins its "+
					"counters (-bpffs): %+v", m)
			}

			if k != "agent" {
				if e, _ := env(c, "NETCOST_SINK"); e.Value != "cloudwatch" {
					t.Errorf("NETCOST_SINK %q; want cloudwatch", e.Value)
				}
				if e, _ := env(c, "NETCOST_CLUSTER"); e.Value == "" {
					t.Errorf("NETCOST_CLUSTER is empty: records and metrics need the cluster's name")
				}
				if e, _ := env(c, "NETCOST_LOG_GROUP"); e.Value != logGroup(t) {
					t.Errorf("NETCOST_LOG_GROUP %q; the IAM policy grants %q", e.Value, logGroup(t))
				}
			}
		})
	}
}

// notFargate reports whether every node selector term excludes nodes
// labelled eks.amazonaws.com/compute-type=fargate.
func notFargate(terms []corev1.NodeSelectorTerm) bool {
	for _, term := range terms {
		if !slices.ContainsFunc(term.MatchExpressions, func(r corev1.NodeSelectorRequirement) bool {
			return r.Key == "eks.amazonaws.com/compute-type" && r.Operator == corev1.NodeSelectorOpNotIn && slices.Contains(r.Values, "fargate")
		}) {
			return false
		}
	}
	return len(terms) > 0
}

// TestUninstallManifest: agent/uninstall.yaml, applied once the DaemonSet is
// deleted, runs the agent's image with -uninstall on every node, with the
// host's bpf filesystem where the agent pins, and the agent's capabilities.
func TestUninstallManifest(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("agent", "uninstall.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	o := decode(t, doc)
	ds, _ := container(t, o)
	_, agent := container(t, decode(t, render(t, "agent")))
	pod := ds.Spec.Template.Spec
	if len(pod.InitContainers) != 1 {
		t.Fatalf("%d init containers; want the one that uninstalls", len(pod.InitContainers))
	}
	c := pod.InitContainers[0]
	if c.Image != agent.Image || !slices.Equal(c.Args, []string{"-uninstall"}) {
		t.Errorf("init container %s %v; want the agent's image %s with -uninstall", c.Image, c.Args, agent.Image)
	}
	if !slices.Equal(c.SecurityContext.Capabilities.Add, agent.SecurityContext.Capabilities.Add) {
		t.Errorf("capabilities %v; want the agent's %v", c.SecurityContext.Capabilities.Add,
			agent.SecurityContext.Capabilities.Add)
	}
	if !slices.ContainsFunc(pod.Tolerations, func(tl corev1.Toleration) bool {
		return tl.Key == "" && tl.Operator == corev1.TolerationOpExists && tl.Effect == ""
	}) {
		t.Errorf("tolerations %+v do not tolerate every taint: a node would keep the programs", pod.Tolerations)
	}
	paths := map[string]string{}
	for _, v := range pod.Volumes {
		if v.HostPath != nil {
			paths[v.Name] = v.HostPath.Path
		}
	}
	if len(c.VolumeMounts) != 1 || paths[c.VolumeMounts[0].Name] != "/sys/fs/bpf" ||
		c.VolumeMounts[0].MountPath != "/sys/fs/bpf" || c.VolumeMounts[0].ReadOnly {
		t.Errorf("mounts %+v; want the host's /sys/fs/bpf, writable, at /sys/fs/bpf", c.VolumeMounts)
	}
}

// kubeResources are the resources the agent's informers watch, read from
// agent/internal/kube: cache.NewListWatchFromClient(core, "pods", ...) is
// "pods" in the core group; disc is discovery.k8s.io.
func kubeResources(t *testing.T) map[string]bool {
	t.Helper()
	re := regexp.MustCompile(`NewListWatchFromClient\((core|disc), "(\w+)"`)
	out := map[string]bool{}
	for p := range agentSource(t) {
		if !strings.Contains(p, filepath.Join("internal", "kube")) {
			continue
		}
		src, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(src), -1) {
			group := ""
			if m[1] == "disc" {
				group = "discovery.k8s.io"
			}
			out[group+"/"+strings.ToLower(m[2])] = true
		}
	}
	if len(out) == 0 {
		t.Fatal("no informers found in agent/internal/kube: update the test's pattern")
	}
	return out
}

func TestRBAC(t *testing.T) {
	want := kubeResources(t)
	o := decode(t, render(t, "agent"))
	if len(o.roles) != 1 || len(o.bindings) != 1 {
		t.Fatalf("%d ClusterRoles, %d bindings; want 1 each", len(o.roles), len(o.bindings))
	}
	granted := map[string]bool{}
	for _, r := range o.roles[0].Rules {
		if len(r.NonResourceURLs) > 0 || len(r.ResourceNames) > 0 {
			t.Errorf("rule %+v: want plain resource rules", r)
		}
		if v := slices.Sorted(slices.Values(r.Verbs)); !slices.Equal(v, []string{"get", "list", "watch"}) {
			t.Errorf("rule %+v: verbs %v; want get, list and watch only", r, v)
		}
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				granted[g+"/"+res] = true
			}
		}
	}
	if !reflect.DeepEqual(granted, want) {
		t.Errorf("the ClusterRole grants %v; the agent watches %v", slices.Sorted(maps.Keys(granted)), slices.Sorted(maps.Keys(want)))
	}
	b := o.bindings[0]
	sa := o.serviceAccounts[0]
	if b.RoleRef.Kind != "ClusterRole" || b.RoleRef.Name != o.roles[0].Name ||
		!slices.Equal(b.Subjects, []rbacv1.Subject{{Kind: "ServiceAccount", Name: sa.Name, Namespace: sa.Namespace}}) {
		t.Errorf("binding %+v does not bind the ClusterRole to the agent's service account %s/%s", b, sa.Namespace, sa.Name)
	}
}

// iamPrefix is the IAM service prefix of each AWS SDK service the agent uses.
var iamPrefix = map[string]string{"ec2": "ec2", "cloudwatchlogs": "logs"}

// awsCalls are the AWS API operations the agent's code can make: every
// <service>.<Operation>Input it builds, as IAM actions.
func awsCalls(t *testing.T) map[string]bool {
	t.Helper()
	calls := map[string]bool{}
	for p, f := range agentSource(t) {
		services := map[string]string{} // import name -> service
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			svc, ok := strings.CutPrefix(path, "github.com/aws/aws-sdk-go-v2/service/")
			if !ok || strings.Contains(svc, "/") {
				continue
			}
			name := svc
			if imp.Name != nil {
				name = imp.Name.Name
			}
			services[name] = svc
		}
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			x, ok := sel.X.(*ast.Ident)
			if !ok || services[x.Name] == "" {
				return true
			}
			op, ok := strings.CutSuffix(sel.Sel.Name, "Input")
			if !ok {
				return true
			}
			prefix, known := iamPrefix[services[x.Name]]
			if !known {
				t.Errorf("%s calls %s.%s: add the service's IAM prefix to the test and its actions to the policy", p, services[x.Name], op)
				return true
			}
			calls[prefix+":"+op] = true
			return true
		})
	}
	return calls
}

// logGroup is the CloudWatch sink's default group, from its source.
func logGroup(t *testing.T) string {
	t.Helper()
	for p, f := range agentSource(t) {
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, s := range g.Specs {
				v := s.(*ast.ValueSpec)
				for i, n := range v.Names {
					if n.Name == "DefaultLogGroup" && i < len(v.Values) {
						if lit, ok := v.Values[i].(*ast.BasicLit); ok {
							s, err := strconv.Unquote(lit.Value)
							if err != nil {
								t.Fatalf("%s: %v", p, err)
							}
							return s
						}
					}
				}
			}
		}
	}
	t.Fatal("no DefaultLogGroup constant in the agent's code")
	return ""
}

type policy struct {
	Version   string
	Statement []struct {
		Sid       string
		Effect    string
		Principal map[string]string
		Action    stringOrList
		Resource  stringOrList
		Condition map[string]map[string]string
	}
}

// stringOrList is IAM's "one string or a list of them".
type stringOrList []string

func (s *stringOrList) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = []string{one}
		return nil
	}
	return json.Unmarshal(b, (*[]string)(s))
}

func readPolicy(t *testing.T, path string) policy {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var p policy
	if err := strict(b, &p); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if p.Version != "2012-10-17" || len(p.Statement) == 0 {
		t.Fatalf("%s: version %q, %d statements; want 2012-10-17 and some", path, p.Version, len(p.Statement))
	}
	return p
}

// TestIAMPolicy: the agent's policy allows exactly the calls its code
// makes, EC2 reads on any resource (they support no narrower one) and
// CloudWatch Logs on the flow log group only.
func TestIAMPolicy(t *testing.T) {
	want := awsCalls(t)
	if len(want) == 0 {
		t.Fatal("no AWS calls found in the agent's code: update the test")
	}
	group := logGroup(t)
	p := readPolicy(t, "iam/agent-policy.json")
	allowed := map[string]bool{}
	for _, s := range p.Statement {
		if s.Effect != "Allow" || s.Principal != nil || s.Condition != nil {
			t.Errorf("statement %s: want a plain Allow", s.Sid)
		}
		for _, a := range s.Action {
			if strings.Contains(a, "*") {
				t.Errorf("statement %s: wildcard action %s", s.Sid, a)
			}
			allowed[a] = true
			switch {
			case strings.HasPrefix(a, "ec2:") && !(strings.HasPrefix(a, "ec2:Describe") || strings.HasPrefix(a, "ec2:Get")):
				t.Errorf("statement %s: %s is not a read", s.Sid, a)
			case strings.HasPrefix(a, "logs:"):
				for _, r := range s.Resource {
					g := ":log-group:" + group
					if !strings.HasPrefix(r, "arn:aws:logs:") || !(strings.HasSuffix(r, g) || strings.HasSuffix(r, g+":log-stream:*")) {
						t.Errorf("statement %s: %s on %s; want the group %s and its streams only", s.Sid, a, r, group)
					}
				}
			}
		}
	}
	if !reflect.DeepEqual(allowed, want) {
		t.Errorf("the policy allows %v;\nthe agent calls %v", slices.Sorted(maps.Keys(allowed)), slices.Sorted(maps.Keys(want)))
	}
}

// TestTrustPolicies: Pod Identity trusts EKS's pod service; IRSA trusts the
// cluster's OIDC provider for the agent's service account only, the one the
// manifests make, with the role the IRSA overlay annotates.
func TestTrustPolicies(t *testing.T) {
	pi := readPolicy(t, "iam/trust-pod-identity.json")
	if s := pi.Statement[0]; len(pi.Statement) != 1 || s.Principal["Service"] != "pods.eks.amazonaws.com" ||
		!slices.Equal(slices.Sorted(slices.Values(s.Action)), []string{"sts:AssumeRole", "sts:TagSession"}) {
		t.Errorf("Pod Identity trust %+v; want pods.eks.amazonaws.com with sts:AssumeRole and sts:TagSession", pi.Statement)
	}
	// Only for pods of the account's own clusters (the confused deputy):
	// aws:SourceAccount, a placeholder that docs/install-eks.md's step
	// replaces with the account as it creates the role.
	account := pi.Statement[0].Condition["StringEquals"]["aws:SourceAccount"]
	if !regexp.MustCompile(`^[0-9]{12}$`).MatchString(account) {
		t.Errorf("Pod Identity trust: aws:SourceAccount %q; want a StringEquals condition on an account ID", account)
	}
	install, err := os.ReadFile("../docs/install-eks.md")
	if err != nil {
		t.Fatal(err)
	}
	sed := fmt.Sprintf(`sed "s/%s/$ACCOUNT/" infra/iam/trust-pod-identity.json > trust-pod-identity.json`, account)
	if !strings.Contains(string(install), sed) || !strings.Contains(string(install), "--assume-role-policy-document file://trust-pod-identity.json") {
		t.Errorf("docs/install-eks.md does not create the role from the trust policy with the account filled in (%s)", sed)
	}

	o := decode(t, render(t, "overlays/cloudwatch-irsa"))
	sa := o.serviceAccounts[0]
	irsa := readPolicy(t, "iam/trust-irsa.json")
	s := irsa.Statement[0]
	provider, ok := strings.CutPrefix(s.Principal["Federated"], "arn:aws:iam::")
	_, provider, _ = strings.Cut(provider, ":oidc-provider/")
	if len(irsa.Statement) != 1 || !ok || provider == "" || !slices.Equal(s.Action, []string{"sts:AssumeRoleWithWebIdentity"}) {
		t.Fatalf("IRSA trust %+v; want one web-identity statement for an OIDC provider", irsa.Statement)
	}
	cond := s.Condition["StringEquals"]
	if got, want := cond[provider+":sub"], fmt.Sprintf("system:serviceaccount:%s:%s", sa.Namespace, sa.Name); got != want {
		t.Errorf("IRSA trust: %s:sub = %q; want %q, the agent's service account", provider, got, want)
	}
	if cond[provider+":aud"] != "sts.amazonaws.com" {
		t.Errorf("IRSA trust: %s:aud = %q; want sts.amazonaws.com", provider, cond[provider+":aud"])
	}
	if arn := sa.Annotations["eks.amazonaws.com/role-arn"]; !strings.HasPrefix(arn, "arn:aws:iam::") || !strings.Contains(arn, ":role/") {
		t.Errorf("the IRSA overlay's service account names role %q; want a role ARN", arn)
	}
}

// TestManifestCapabilities starts the built agent as root with only the
// capabilities the DaemonSet adds, as the container runtime would give
// them, and waits for it to count and be ready: they suffice to load and
// attach the programs, and the agent then drops to what it keeps.
func TestManifestCapabilities(t *testing.T) {
	netnstest.RequireRoot(t, "this test loads eBPF")
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Fatal("setpriv (util-linux) is missing")
	}
	_, c := container(t, decode(t, render(t, "agent")))
	bounding := "-all"
	for _, cp := range c.SecurityContext.Capabilities.Add {
		bounding += ",+" + strings.ToLower(string(cp))
	}
	// The manifest's address on a node at 127.0.0.1, on a free port: the
	// agent reads the bracketed IPv4 form the DaemonSet gives it.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	metricsOnLoopback := strings.TrimSuffix(expandEnv(c, "NETCOST_METRICS_ADDR", map[string]string{"status.hostIP": "127.0.0.1"}), ":9109") + ":" + port
	bin := filepath.Join(t.TempDir(), "netcost-agent")
	build := exec.Command("go", "build", "-o", bin, "../agent")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the agent: %v\n%s", err, out)
	}
	agent := exec.Command(setpriv, "--bounding-set="+bounding, "--inh-caps=-all", "--",
		bin, "-node", "infra", "-window", "1s", "-drain-interval", "200ms", "-dir", t.TempDir(),
		"-imds-endpoint", "http://127.0.0.1:1", "-startup-attempts", "1", "-ip-ranges-url", "", "-kubeconfig", "",
		"-metrics-addr", metricsOnLoopback)
	agent.Env = append(os.Environ(), "KUBERNETES_SERVICE_HOST=")
	var logs bytes.Buffer
	agent.Stderr = &logs // read only after the agent exits
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- agent.Wait() }()
	// Three seconds of counting (several drains, a window or two), then a
	// clean stop; the log is read once the agent has exited.
	time.Sleep(3 * time.Second)
	scrape, scrapeErr := get("http://127.0.0.1:" + port + "/metrics")
	agent.Process.Signal(os.Interrupt)
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		agent.Process.Kill()
		<-done
	}
	out := logs.String()
	for _, msg := range []string{`"msg":"capabilities dropped"`, `"msg":"counting"`, `"msg":"serving /metrics, /healthz and /readyz","addr":"127.0.0.1:`} {
		if !strings.Contains(out, msg) {
			t.Errorf("with capabilities %s the agent did not log %s:\n%s", bounding, msg, out)
		}
	}
	if strings.Contains(out, "netcost-agent stopped") {
		t.Errorf("the agent stopped with an error:\n%s", out)
	}
	// /metrics, which the node's network can reach, says nothing secret: its
	// labels are categories, directions, buckets and the build's module
	// version, never a URL, an ARN, a log group or a name from the cluster.
	if scrapeErr != nil || !strings.Contains(scrape, "netcost_drains_total") {
		t.Fatalf("GET /metrics on the manifest's address: %v\n%s", scrapeErr, scrape)
	}
	allowed := map[string]bool{"category": true, "direction": true, "le": true, "quantile": true, "checksum": true, "path": true, "version": true}
	for _, m := range regexp.MustCompile(`[{,]([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)"`).FindAllStringSubmatch(scrape, -1) {
		if !allowed[m[1]] || m[1] == "path" && m[2] != "github.com/netcost/netcost" {
			t.Errorf("/metrics has a label %s=%q: check it carries nothing secret, and allow it here", m[1], m[2])
		}
	}
}

// get returns the body of a GET of url.
func get(url string) (string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("%s", resp.Status)
	}
	return string(b), err
}

// TestReadmeOverlay applies docs/install-eks.md's own overlay, as
// written there, to a copy of infra/: the image and cluster it sets are the
// ones the DaemonSet gets.
func TestReadmeOverlay(t *testing.T) {
	readme, err := os.ReadFile("../docs/install-eks.md")
	if err != nil {
		t.Fatal(err)
	}
	const start, end = "   mkdir netcost-deploy && cat > netcost-deploy/kustomization.yaml <<YAML\n", "\n   YAML\n"
	_, rest, ok := strings.Cut(string(readme), start)
	snippet, _, ok2 := strings.Cut(rest, end)
	if !ok || !ok2 {
		t.Fatalf("docs/install-eks.md has no overlay between %q and %q", start, end)
	}
	repo, cluster := "111122223333.dkr.ecr.us-east-1.amazonaws.com/netcost-agent", "prod-east"
	var yml strings.Builder
	for line := range strings.Lines(snippet + "\n") {
		yml.WriteString(strings.TrimPrefix(line, "   "))
	}
	doc := strings.NewReplacer("$REPO", repo, "$CLUSTER", cluster, "$SERVICE_CIDR", "172.20.0.0/16").Replace(yml.String())

	dir := t.TempDir()
	if err := os.CopyFS(filepath.Join(dir, "infra"), os.DirFS(".")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "netcost-deploy"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "netcost-deploy", "kustomization.yaml"), []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	_, c := container(t, decode(t, render(t, filepath.Join(dir, "netcost-deploy"))))
	if c.Image != repo+":v0.1.0" {
		t.Errorf("the documented overlay gives image %q; want %q", c.Image, repo+":v0.1.0")
	}
	for name, want := range map[string]string{"NETCOST_CLUSTER": cluster, "NETCOST_SINK": "cloudwatch", "NETCOST_SERVICE_CIDR": "172.20.0.0/16"} {
		if e, _ := env(c, name); e.Value != want {
			t.Errorf("the documented overlay gives %s=%q; want %q", name, e.Value, want)
		}
	}
}
