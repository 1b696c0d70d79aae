// Package kubetest runs a real kube-apiserver and its etcd for tests, the
// way controller-runtime's envtest does: etcd on a free loopback port with
// its data in memory, kube-apiserver in front of it with a serving
// certificate from a test CA, static tokens for an admin, service account
// tokens for everyone else, and RBAC on. The binaries are the ones
// `make kube-assets` puts in bin/kube (or in $NETCOST_KUBE_ASSETS).
package kubetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Server is a kube-apiserver and its etcd, both stopped when the test ends.
type Server struct {
	URL    string       // the API server's https URL
	Admin  *rest.Config // a member of system:masters
	Client *kubernetes.Clientset

	t         testing.TB
	dir       string
	etcdURL   string
	args      []string // kube-apiserver's
	apiserver *process
	etcd      *process
	caPEM     []byte
}

// Assets returns the directory that holds kube-apiserver and etcd:
// $NETCOST_KUBE_ASSETS, or the repository's bin/kube. Without them it
// skips the test, or fails it when NETCOST_REQUIRE_ROOT=1 (CI), which runs
// every test.
func Assets(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("NETCOST_KUBE_ASSETS")
	if dir == "" {
		root, err := repoRoot()
		if err != nil {
			t.Fatalf("finding the repository's bin/kube: %v", err)
		}
		dir = filepath.Join(root, "bin", "kube")
	}
	for _, bin := range []string{"kube-apiserver", "etcd"} {
		if _, err := os.Stat(filepath.Join(dir, bin)); err != nil {
			msg := fmt.Sprintf("no %s in %s: run make kube-assets", bin, dir)
			if os.Getenv("NETCOST_REQUIRE_ROOT") == "1" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
	}
	return dir
}

// repoRoot is the nearest directory above the working directory (a test's
// package) whose go.mod is netcost's.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil &&
			bytes.HasPrefix(b, []byte("module github.com/netcost/netcost\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no netcost go.mod above the working directory")
		}
		dir = parent
	}
}

// Start runs etcd and kube-apiserver until the test ends and returns once
// the API server is ready. Extra flags go to kube-apiserver (for example
// --watch-cache=false, so that watches read etcd and expire with it).
func Start(t testing.TB, flags ...string) *Server {
	t.Helper()
	assets := Assets(t)
	dir, err := os.MkdirTemp(memDir(), "kubetest-")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{t: t, dir: dir}
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			for _, name := range []string{"etcd.log", "kube-apiserver.log"} {
				t.Logf("the last lines of %s:\n%s", name, tail(filepath.Join(dir, name), 30))
			}
		}
		os.RemoveAll(dir)
	})

	ca, err := newCA()
	if err != nil {
		t.Fatalf("making the test CA: %v", err)
	}
	s.caPEM = ca.certPEM
	adminToken := randomToken()
	files := map[string][]byte{
		"ca.crt":     ca.certPEM,
		"tokens.csv": []byte(adminToken + ",admin,admin,system:masters\n"),
	}
	if files["serving.crt"], files["serving.key"], err = ca.serving(); err != nil {
		t.Fatalf("making the serving certificate: %v", err)
	}
	if files["sa.key"], files["sa.pub"], err = signingKey(); err != nil {
		t.Fatalf("making the service account signing key: %v", err)
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	ports, err := freePorts(3)
	if err != nil {
		t.Fatal(err)
	}
	s.etcdURL = fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	peer := fmt.Sprintf("http://127.0.0.1:%d", ports[1])
	s.etcd, err = launch(filepath.Join(assets, "etcd"), filepath.Join(dir, "etcd.log"),
		"--name=kubetest", "--data-dir="+filepath.Join(dir, "etcd"),
		"--listen-client-urls="+s.etcdURL, "--advertise-client-urls="+s.etcdURL,
		"--listen-peer-urls="+peer, "--initial-advertise-peer-urls="+peer, "--initial-cluster=kubetest="+peer)
	if err != nil {
		t.Fatalf("starting etcd: %v", err)
	}
	if err := waitFor(30*time.Second, s.etcd, func() bool {
		var h struct{ Health string }
		return getJSON(http.DefaultClient, s.etcdURL+"/health", &h) == nil && h.Health == "true"
	}); err != nil {
		t.Fatalf("etcd: %v\n%s", err, tail(filepath.Join(dir, "etcd.log"), 30))
	}

	s.URL = fmt.Sprintf("https://127.0.0.1:%d", ports[2])
	s.args = append([]string{
		"--etcd-servers=" + s.etcdURL,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", fmt.Sprintf("--secure-port=%d", ports[2]),
		"--cert-dir=" + filepath.Join(dir, "certs"),
		"--tls-cert-file=" + filepath.Join(dir, "serving.crt"), "--tls-private-key-file=" + filepath.Join(dir, "serving.key"),
		"--token-auth-file=" + filepath.Join(dir, "tokens.csv"),
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + filepath.Join(dir, "sa.pub"),
		"--service-account-signing-key-file=" + filepath.Join(dir, "sa.key"),
		"--service-cluster-ip-range=10.96.0.0/16",
		"--allow-privileged=true",
		// No controller manager creates the default ServiceAccount of
		// each namespace, which this admission plugin would require.
		"--disable-admission-plugins=ServiceAccount",
	}, flags...)
	s.Admin = &rest.Config{Host: s.URL, BearerToken: adminToken, TLSClientConfig: rest.TLSClientConfig{CAData: ca.certPEM}}
	if s.Client, err = kubernetes.NewForConfig(s.Admin); err != nil {
		t.Fatalf("a client for the test API server: %v", err)
	}
	s.startAPIServer()
	return s
}

// memDir is where the servers' files go: in memory where the machine has
// /dev/shm (etcd syncs every write), else the temporary directory.
func memDir() string {
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		if f, err := os.CreateTemp("/dev/shm", "kubetest-probe-"); err == nil {
			f.Close()
			os.Remove(f.Name())
			return "/dev/shm"
		}
	}
	return os.TempDir()
}

func (s *Server) startAPIServer() {
	s.t.Helper()
	var err error
	bin, logPath := filepath.Join(Assets(s.t), "kube-apiserver"), filepath.Join(s.dir, "kube-apiserver.log")
	s.apiserver, err = launch(bin, logPath, s.args...)
	if err != nil {
		s.t.Fatalf("starting kube-apiserver: %v", err)
	}
	hc, err := rest.HTTPClientFor(s.Admin)
	if err != nil {
		s.t.Fatal(err)
	}
	hc.Timeout = 5 * time.Second
	if err := waitFor(90*time.Second, s.apiserver, func() bool {
		resp, err := hc.Get(s.URL + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}); err != nil {
		s.t.Fatalf("kube-apiserver: %v\n%s", err, tail(filepath.Join(s.dir, "kube-apiserver.log"), 30))
	}
}

// Restart stops kube-apiserver (etcd keeps the data) and starts it again on
// the same port, as an upgrade or a crash does to the agents' watches.
func (s *Server) Restart() {
	s.t.Helper()
	s.apiserver.stop()
	s.startAPIServer()
}

func (s *Server) stop() {
	if s.apiserver != nil {
		s.apiserver.stop()
	}
	if s.etcd != nil {
		s.etcd.stop()
	}
}

// Compact compacts etcd's history up to now: a watch that resumes from an
// older resource version then gets 410 Gone and must list again. It talks
// to etcd's JSON gateway, so the tests need no etcd client library.
func (s *Server) Compact() {
	s.t.Helper()
	var r struct {
		Header struct {
			Revision string `json:"revision"`
		} `json:"header"`
	}
	if err := postJSON(s.etcdURL+"/v3/kv/range", `{"key":"AA=="}`, &r); err != nil {
		s.t.Fatalf("reading etcd's revision: %v", err)
	}
	req := fmt.Sprintf(`{"revision":%q,"physical":true}`, r.Header.Revision)
	if err := postJSON(s.etcdURL+"/v3/kv/compaction", req, nil); err != nil {
		s.t.Fatalf("compacting etcd at revision %s: %v", r.Header.Revision, err)
	}
}

// ServiceAccount creates the ServiceAccount (and its namespace) if need
// be and returns a config that authenticates as it with a bound token, as
// a pod's projected token does.
func (s *Server) ServiceAccount(namespace, name string) *rest.Config {
	s.t.Helper()
	ctx := context.Background()
	s.Namespace(namespace)
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace}}
	if _, err := s.Client.CoreV1().ServiceAccounts(namespace).Create(ctx, sa, metav1.CreateOptions{}); err != nil &&
		!apierrors.IsAlreadyExists(err) {
		s.t.Fatalf("creating ServiceAccount %s/%s: %v", namespace, name, err)
	}
	hour := int64(3600)
	req := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &hour}}
	tr, err := s.Client.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, name, req, metav1.CreateOptions{})
	if err != nil {
		s.t.Fatalf("requesting a token for %s/%s: %v", namespace, name, err)
	}
	return &rest.Config{Host: s.URL, BearerToken: tr.Status.Token, TLSClientConfig: rest.TLSClientConfig{CAData: s.caPEM}}
}

// Namespace creates a namespace if it does not exist.
func (s *Server) Namespace(name string) {
	s.t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := s.Client.CoreV1().Namespaces().Create(context.Background(), ns, metav1.CreateOptions{}); err != nil &&
		!apierrors.IsAlreadyExists(err) {
		s.t.Fatalf("creating namespace %s: %v", name, err)
	}
}

// Kubeconfig writes a kubeconfig file for c into dir and returns its path.
func (s *Server) Kubeconfig(dir string, c *rest.Config) string {
	s.t.Helper()
	kc := clientcmdapi.NewConfig()
	kc.Clusters["kubetest"] = &clientcmdapi.Cluster{Server: c.Host, CertificateAuthorityData: c.CAData}
	kc.AuthInfos["kubetest"] = &clientcmdapi.AuthInfo{Token: c.BearerToken}
	kc.Contexts["kubetest"] = &clientcmdapi.Context{Cluster: "kubetest", AuthInfo: "kubetest"}
	kc.CurrentContext = "kubetest"
	path := filepath.Join(dir, "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		s.t.Fatalf("writing %s: %v", path, err)
	}
	return path
}

// process is a server the test started; its goroutine owns the OS thread
// the process was started from (see start_linux.go) until it exits.
type process struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// launch starts bin with args, its output appended to logPath.
func launch(bin, logPath string, args ...string) (*process, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	p := &process{cmd: exec.Command(bin, args...), done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	started := make(chan error, 1)
	go func() {
		defer close(p.done)
		defer logf.Close()
		if err := startTied(p.cmd); err != nil {
			started <- err
			return
		}
		started <- nil
		p.err = p.cmd.Wait()
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return p, nil
}

// stop asks the process to end (SIGTERM), kills it after 20 seconds, and
// waits for it.
func (p *process) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// waitFor polls ok until it holds, the process exits, or the time is up.
func waitFor(limit time.Duration, p *process, ok func() bool) error {
	for deadline := time.Now().Add(limit); ; time.Sleep(100 * time.Millisecond) {
		if ok() {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("exited (%v) before it was ready", p.err)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %s", limit)
		}
	}
}

func getJSON(c *http.Client, url string, v any) error {
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(v)
}

func postJSON(url, body string, v any) error {
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", resp.Status, b)
	}
	if v == nil {
		return nil
	}
	return json.Unmarshal(b, v)
}

// freePorts returns n loopback TCP ports that were free a moment ago.
func freePorts(n int) ([]int, error) {
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// tail returns the last n lines of a file.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
