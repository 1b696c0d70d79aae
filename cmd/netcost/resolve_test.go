package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/netcost/netcost/costmodel"
	"github.com/netcost/netcost/internal/resolve"
	rt "github.com/netcost/netcost/internal/resolve/resolvetest"
)

// resolveEnv starts what netcost resolve meets, on loopback:
//
//	127.0.0.2  TLS, a certificate for sqs.us-east-1.amazonaws.com
//	127.0.0.3  TLS, an expired certificate for api.stripe.com
//	127.0.0.4  a server that accepts and never answers
//	127.0.0.5  nothing (a closed port), PTR ec2-3-210-1-1.compute-1.amazonaws.com
//	127.0.0.6  nothing, in the S3 prefixes of the ip-ranges file
//
// and returns the flags pointing netcost at them, with a cache in a
// temporary directory. Nothing leaves the machine.
func resolveEnv(t *testing.T) []string {
	t.Helper()
	t.Setenv("XDG_CACHE_HOME", t.TempDir()) // no test writes the user's cache
	ca := rt.NewCA(t)
	port, lns := rt.SharedPort(t, rt.Loopback(2, 3))
	rt.Serve(t, lns[0], rt.TLS(ca.Issue(t, rt.Spec{DNSNames: []string{"sqs.us-east-1.amazonaws.com"}}), nil, 0))
	rt.Serve(t, lns[1], rt.TLS(ca.Issue(t, rt.Spec{CommonName: "api.stripe.com", Expired: true}), nil, 0))
	rt.Serve(t, lns[2], rt.Stall)
	dns := rt.ServeDNS(t, map[string]string{"127.0.0.5": "ec2-3-210-1-1.compute-1.amazonaws.com"})
	ranges := filepath.Join(t.TempDir(), "ip-ranges.json")
	os.WriteFile(ranges,
		[]byte(`{"syncToken":"1","prefixes":[{"ip_prefix":"127.0.0.6/32","region":"us-east-1","service":"S3"},`+
			`{"ip_prefix":"127.0.0.5/32","region":"us-east-1","service":"EC2"}]}`), 0o644)
	return []string{"--tls-port", strconv.Itoa(port), "--dns-server", dns.Addr, "--ip-ranges-file", ranges,
		"--resolve-timeout", "1s", "--cache", filepath.Join(t.TempDir(), "resolve.json")}
}

func TestResolveCommand(t *testing.T) {
	env := resolveEnv(t)
	ips := []string{"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6"}
	var out struct{ Results []resolve.Result }
	if err := json.Unmarshal([]byte(mustRun(t, append(append([]string{"resolve", "-o", "json"}, env...), ips...)...)),
		&out); err != nil {
		t.Fatal(err)
	}
	want := []struct{ name, belongs, problem string }{
		{"sqs.us-east-1.amazonaws.com", "Amazon SQS", ""},
		{"api.stripe.com", "Stripe", ""},
		{"", resolve.Unknown, "tls: no answer within 1s"},
		{"ec2-3-210-1-1.compute-1.amazonaws.com", "Amazon EC2", "tls: cannot connect"},
		{"", "Amazon S3 (us-east-1)", "ptr: no PTR record"},
	}
	if len(out.Results) != len(want) {
		t.Fatalf("%d results; want %d", len(out.Results), len(want))
	}
	for i, w := range want {
		r := out.Results[i]
		if r.IP != ips[i] || r.Name != w.name || r.BelongsTo != w.belongs || r.Cached ||
			w.problem != "" && !strings.Contains(strings.Join(r.Problems, "; "), w.problem) {
			t.Errorf("%s: %+v; want name %q, belongs_to %q, a problem %q", ips[i], r, w.name, w.belongs, w.problem)
		}
	}
	// The test CA is not among the system's roots: read, named, not verified.
	if c := out.Results[0].Certificates; len(c) != 1 || c[0].Verified ||
		!strings.Contains(c[0].VerifyError, "unknown authority") {
		t.Errorf("certificate from the test CA: %+v", c)
	}
	if c := out.Results[1].Certificates; len(c) != 1 || !strings.Contains(c[0].VerifyError, "expired") {
		t.Errorf("expired certificate: %+v", c)
	}

	// Again, as a table: from the cache (the stalled address included: it
	// answered nothing within its time, which is an answer for an hour).
	table := mustRun(t, append(append([]string{"resolve"}, env...), ips...)...)
	for _, s := range []string{"BELONGS_TO", "│ 127.0.0.2 │ Amazon SQS", "sqs.us-east-1.amazonaws.com",
		"unverified: unknown authority",
		"│ 127.0.0.4 │ unknown", "tls: no answer within 1s", "EC2 us-east-1", "cached 20"} {
		if !strings.Contains(table, s) {
			t.Errorf("table lacks %q:\n%s", s, table)
		}
	}
}

func TestResolveBadInput(t *testing.T) {
	env := resolveEnv(t)
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad,
		[]byte(`{"syncToken":"1","prefixes":[{"ip_prefix":"1.2.3.0/33","region":"r","service":"S3"}]}`), 0o644)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"resolve"}, "resolve needs IP addresses, as in netcost resolve 52.46.151.20"},
		{[]string{"resolve", "127.0.0.2", "example.com"}, `"example.com" is not an IP address: give IPv4 or IPv6 addresses`},
		{[]string{"resolve", "10.0.0.300"}, `"10.0.0.300" is not an IP address`},
		{[]string{"resolve", "-o", "csv", "127.0.0.2"}, `-o "csv": want table, wide or json`},
		{[]string{"resolve", "127.0.0.2", "-o", "csv"}, `-o "csv": want table, wide or json`},
		{[]string{"resolve", "--", "-127.0.0.2"}, `"-127.0.0.2" is not an IP address`},
		{[]string{"resolve", "--tls-port", "0", "127.0.0.2"}, "--tls-port 0: want a port from 1 to 65535"},
		{[]string{"resolve", "--resolve-timeout", "0s", "127.0.0.2"}, "--resolve-timeout 0s: want a positive duration"},
		{[]string{"resolve", "--dns-server", "localhost", "127.0.0.2"}, `--dns-server "localhost": want IP:PORT`},
		{[]string{"resolve", "--ip-ranges-file", "/nonexistent.json", "127.0.0.2"},
			"--ip-ranges-file: open /nonexistent.json"},
		{[]string{"resolve", "--ip-ranges-file", bad, "127.0.0.2"}, `prefixes[0]: "1.2.3.0/33" is not a prefix`},
		{append([]string{"top", "-c", "nat", "--resolve", "--tls-port", "70000"}, "-s",
			writeStore(t, natRecord("127.0.0.2", ""))), "--tls-port 70000"},
	} {
		args := tt.args
		if args[0] == "resolve" {
			args = append([]string{"resolve"}, append(append([]string{}, env...), args[1:]...)...)
		}
		wantUsageError(t, args, tt.want)
	}
}

// wantUsageError runs netcost and checks it exits 2 with one line on
// stderr containing want, and nothing on stdout.
func wantUsageError(t *testing.T, args []string, want string) {
	t.Helper()
	code, out, errs := netcost(t, args...)
	if code != 2 || !strings.Contains(errs, want) || strings.Count(strings.TrimSpace(errs), "\n") != 0 ||
		!strings.HasPrefix(errs, "netcost: ") || out != "" {
		t.Errorf("netcost %s: exit %d, stderr %q, stdout %q; want exit 2 and one line with %q",
			strings.Join(args, " "), code, errs, out, want)
	}
}

func natRecord(remoteIP, remoteName string) string {
	// The bytes differ by address, for a stable order.
	return fmt.Sprintf(`{"schema":1,"ts":"2026-11-20T09:00:00Z","window_s":60,"region":"us-east-1","direction":"egress",`+
		`"category":"NAT_GATEWAY","protocol":"tcp","local_ip":"10.0.1.101","local_pod":"sqs-sender-1",`+
		`"local_namespace":"shop","local_az_id":"use1-az1","remote_ip":%q,"remote_port":443,"remote_name":%q,`+
		`"via":"nat-0123","via_az_id":"use1-az1","bytes":%d,"packets":1000}`, remoteIP, remoteName, 1<<20+len(remoteIP))
}

// TestTopResolve: top --resolve names the NAT rows' remotes that the
// records do not, fills remote_name and belongs_to in -o json, and still
// prints the table when an address never answers.
func TestTopResolve(t *testing.T) {
	env := resolveEnv(t)
	src := writeStore(t,
		natRecord("127.0.0.2", ""),
		natRecord("127.0.0.3", ""),
		natRecord("127.0.0.4", ""),
		natRecord("127.0.0.6", ""),
		natRecord("127.0.0.7", "agent-intake.logs.datadoghq.com"), // named by the record: not asked
	)
	args := append([]string{"top", "-c", "nat", "--resolve", "-s", src}, env...)
	var res struct {
		Rows []struct {
			Remote     struct{ IP, Name string }
			RemoteName string `json:"remote_name"`
			BelongsTo  string `json:"belongs_to"`
		}
	}
	if err := json.Unmarshal([]byte(mustRun(t, append(args, "-o", "json")...)), &res); err != nil {
		t.Fatal(err)
	}
	want := map[string][2]string{
		"127.0.0.2": {"sqs.us-east-1.amazonaws.com", "Amazon SQS"},
		"127.0.0.3": {"api.stripe.com", "Stripe"},
		"127.0.0.4": {"", resolve.Unknown},
		"127.0.0.6": {"", "Amazon S3 (us-east-1)"},
		"127.0.0.7": {"agent-intake.logs.datadoghq.com", "Datadog"},
	}
	if len(res.Rows) != len(want) {
		t.Fatalf("%d rows; want %d", len(res.Rows), len(want))
	}
	for _, r := range res.Rows {
		if w := want[r.Remote.IP]; r.RemoteName != w[0] || r.BelongsTo != w[1] {
			t.Errorf("%s: remote_name %q, belongs_to %q; want %q, %q", r.Remote.IP, r.RemoteName, r.BelongsTo, w[0], w[1])
		}
		if r.Remote.Name != "" && r.Remote.IP != "127.0.0.7" {
			t.Errorf("%s: the record's remote.name became %q; resolved names go in remote_name only", r.Remote.IP, r.Remote.Name)
		}
	}
	table := mustRun(t, args...)
	// The seed article's columns (local ip, remote ip, MB, pod, namespace,
	// belongs_to), plus the cost.
	var header []string
	for _, cell := range strings.Split(strings.Split(table, "\n")[1], "│") {
		if cell = strings.TrimSpace(cell); cell != "" {
			header = append(header, cell)
		}
	}
	wantHeader := []string{"LOCAL IP", "REMOTE IP", "MB", "POD", "NAMESPACE", "BELONGS_TO", "COST USD"}
	if !slices.Equal(header, wantHeader) {
		t.Errorf("NAT table columns %q; want %q", header, wantHeader)
	}
	for _, s := range []string{"Amazon SQS (sqs.us-east-1.amazonaws.com, unverified)",
		"Stripe (api.stripe.com, unverified)", "│ unknown ",
		"Datadog (agent-intake.logs.datadoghq.com) "} {
		if !strings.Contains(table, s) {
			t.Errorf("table lacks %q:\n%s", s, table)
		}
	}
	if strings.Contains(table, "--resolve to ask") {
		t.Errorf("table suggests --resolve, which it used:\n%s", table)
	}
}

// TestTopResolveAsksOnlyUnnamed: --resolve asks nothing of an address the
// records name (from the pod's DNS answers or TLS server name), and shows
// that name, verified by what the pod saw.
func TestTopResolveAsksOnlyUnnamed(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	ln := rt.Listen(t, "127.0.0.2", 0)
	srv := rt.Serve(t, ln, rt.Stall)
	dns := rt.ServeDNS(t, nil)
	named := strings.Replace(natRecord("127.0.0.2", "sqs.us-east-1.amazonaws.com"), `"remote_port"`,
		`"remote_name_source":"dns","remote_port"`, 1)
	cache := filepath.Join(t.TempDir(), "resolve.json")
	out := mustRun(t, "top", "-c", "nat", "--resolve", "--tls-port", strconv.Itoa(ln.Addr().(*net.TCPAddr).Port),
		"--dns-server", dns.Addr, "--resolve-timeout", "1s", "--cache", cache, "-s", writeStore(t, named))
	if srv.Peak() != 0 || dns.Queries.Load() != 0 {
		t.Errorf("top --resolve asked a named address: %d connections, %d DNS queries; want none", srv.Peak(),
			dns.Queries.Load())
	}
	if want := "Amazon SQS (sqs.us-east-1.amazonaws.com) "; !strings.Contains(out, want) {
		t.Errorf("table lacks %q:\n%s", want, out)
	}
}

// TestTopWithoutResolve: no address is asked, and the table says how to.
func TestTopWithoutResolve(t *testing.T) {
	ln := rt.Listen(t, "127.0.0.2", 0)
	srv := rt.Serve(t, ln, rt.Stall)
	out := mustRun(t, "top", "-c", "nat", "--tls-port", strconv.Itoa(ln.Addr().(*net.TCPAddr).Port), "-s",
		writeStore(t, natRecord("127.0.0.2", ""), natRecord("52.46.151.20", "")))
	if !strings.Contains(out, "add --resolve to ask them") {
		t.Errorf("no --resolve hint:\n%s", out)
	}
	if srv.Peak() != 0 {
		t.Errorf("top without --resolve connected to a remote address")
	}
}

// TestResolveHelp: the usage line shows the flags and the addresses.
func TestResolveHelp(t *testing.T) {
	out := mustRun(t, "resolve", "--help")
	if !strings.Contains(out, "netcost resolve [-o table|json] [options] IP...") {
		t.Errorf("resolve --help has no usage line with flags first:\n%s", out)
	}
}

// TestIPRangesURL: a download URL that is not https (or http to this
// machine) is a usage error before any work, from the flag or the
// environment, for resolve and for top --resolve alike.
func TestIPRangesURL(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	src := writeStore(t, natRecord("127.0.0.2", ""))
	for _, url := range []string{"file:///etc/passwd", "ftp://example.com/ip-ranges.json",
		"http://ip-ranges.amazonaws.com/ip-ranges.json", "garbage"} {
		want := fmt.Sprintf("--ip-ranges-url %q is not an https URL", url)
		wantUsageError(t, []string{"resolve", "--ip-ranges-url", url, "127.0.0.2"}, want)
		wantUsageError(t, []string{"top", "-c", "nat", "-s", src, "--resolve", "--ip-ranges-url", url}, want)
		t.Run("NETCOST_IP_RANGES_URL="+url, func(t *testing.T) {
			keepResolveFlags(t)
			t.Setenv("NETCOST_IP_RANGES_URL", url)
			wantUsageError(t, []string{"resolve", "127.0.0.2"}, want)
		})
	}
}

// TestResolveCacheLeavesOtherFilesAlone: --cache naming a file that is not
// netcost's cache is a usage error before any work, and the file keeps its
// bytes exactly; at the default path the same file is a warning, the
// addresses are still resolved, and the file is still left as it is.
func TestResolveCacheLeavesOtherFilesAlone(t *testing.T) {
	env := resolveEnv(t)
	bashrc := filepath.Join(t.TempDir(), ".bashrc")
	const content = "export PATH=$HOME/bin:$PATH\nalias ll='ls -l'\n"
	if err := os.WriteFile(bashrc, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	want := "--cache " + bashrc + ": not a netcost resolve cache; it is left as it is " +
		"(name another file, or pass --no-cache)"
	src := writeStore(t, natRecord("127.0.0.2", ""))
	wantUsageError(t, append(append([]string{"resolve"}, env...), "--cache", bashrc, "127.0.0.5"), want)
	wantUsageError(t, []string{"top", "-c", "nat", "-s", src, "--resolve", "--cache", bashrc}, want)
	noCacheFlag := slices.DeleteFunc(slices.Clone(env), func(s string) bool {
		return s == "--cache" || strings.HasSuffix(s, "resolve.json")
	})
	t.Run("NETCOST_RESOLVE_CACHE", func(t *testing.T) {
		keepResolveFlags(t)
		t.Setenv("NETCOST_RESOLVE_CACHE", bashrc)
		wantUsageError(t, append(append([]string{"resolve"}, noCacheFlag...), "127.0.0.5"), want)
	})
	// --no-cache: the file is not used, so not judged.
	if code, _, errs := netcost(t, append(append([]string{"resolve", "--no-cache"}, env...), "--cache", bashrc,
		"127.0.0.5")...); code != 0 {
		t.Errorf("--no-cache with --cache %s: exit %d, %s", bashrc, code, errs)
	}

	// The default path: a warning, and the answers without a cache.
	def := filepath.Join(os.Getenv("XDG_CACHE_HOME"), "netcost", "resolve.json")
	os.MkdirAll(filepath.Dir(def), 0o755)
	os.WriteFile(def, []byte(content), 0o644)
	code, out, errs := netcost(t, append(append([]string{"resolve", "-o", "json"}, noCacheFlag...), "127.0.0.5")...)
	if code != 0 || !strings.Contains(out, "ec2-3-210-1-1.compute-1.amazonaws.com") ||
		strings.Count(errs, "not a netcost resolve cache") != 1 || !strings.Contains(errs, def) {
		t.Errorf("default cache holding another file: exit %d, stdout %s, stderr %s; want the answer and one warning", code,
			out, errs)
	}
	for _, p := range []string{bashrc, def} {
		if got, _ := os.ReadFile(p); string(got) != content {
			t.Errorf("%s now holds %q", p, got)
		}
	}
}

// keepResolveFlags restores the string flags of resolve and top when t
// ends, as keepFlags does the shared ones: a value from the environment
// stays in the flag.
func keepResolveFlags(t *testing.T) {
	t.Helper()
	for _, cmd := range []*cli.Command{resolveCommand, topCommand} {
		for _, f := range cmd.Flags {
			if sf, ok := f.(*cli.StringFlag); ok {
				saved := *sf
				t.Cleanup(func() { *sf = saved })
			}
		}
	}
}

func TestMakeResolveTable(t *testing.T) {
	at := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	res := []resolve.Result{
		{IP: "52.46.151.20", Name: "sqs.us-east-1.amazonaws.com", BelongsTo: "Amazon SQS", AWSService: "AMAZON",
			AWSRegion: "us-east-1", Certificates: []resolve.Certificate{{VerifyError: "x"}, {Verified: true}}},
		{IP: "185.166.143.10", Name: "api.stripe.com", BelongsTo: "Stripe", Cached: true, ResolvedAt: at,
			Problems:     []string{"ptr: no answer within 2s"},
			Certificates: []resolve.Certificate{{VerifyError: "certificate has expired"}}},
		{IP: "192.0.2.1", BelongsTo: "unknown"},
	}
	tb := makeResolveTable(res)
	for col, want := range map[string][]string{
		"IP":          {"52.46.151.20", "185.166.143.10", "192.0.2.1"},
		"BELONGS_TO":  {"Amazon SQS", "Stripe", "unknown"},
		"NAME":        {"sqs.us-east-1.amazonaws.com", "api.stripe.com", "-"},
		"CERTIFICATE": {"verified", "unverified: certificate has expired", "-"},
		"AWS RANGE":   {"AMAZON us-east-1", "-", "-"},
		"NOTE":        {"-", "cached 2026-11-20T09:00:00Z; ptr: no answer within 2s", "-"},
	} {
		if got := column(t, tb, col); !slices.Equal(got, want) {
			t.Errorf("%s = %q; want %q", col, got, want)
		}
	}
	// On a terminal the certificate's verdict goes first; IP never does.
	if tb.narrow == nil || len(tb.narrow.first) != 1 || !slices.Equal(tb.narrow.first[0], []string{"CERTIFICATE"}) {
		t.Errorf("narrowing %+v; want CERTIFICATE to go first", tb.narrow)
	}
}

// TestRecommendFromRecordName: a store whose only hint about a NAT remote is the name the agent learned from
// the pod's DNS answers (no ip-ranges service, no certificate) gets the SQS interface endpoint.
func TestRecommendFromRecordName(t *testing.T) {
	var lines []string
	for i, az := range []string{"use1-az1", "use1-az2"} {
		lines = append(lines, fmt.Sprintf(`{"schema":1,"ts":"2026-11-20T09:00:00Z","window_s":3600,"region":"us-east-1",`+
			`"direction":"egress","category":"NAT_GATEWAY","protocol":"tcp","local_ip":"10.0.%d.9","local_pod":"sender-%d",`+
			`"local_namespace":"shop","local_workload":"sender","local_az_id":%q,"local_subnet":"subnet-%d",`+
			`"remote_ip":"52.46.1.%d","remote_port":443,"remote_name":"sqs.us-east-1.amazonaws.com",`+
			`"remote_name_source":"dns","via":"nat-0123","via_az_id":%q,"bytes":%d,"packets":1000}`,
			i+1, i, az, i, i+1, az, 1<<30))
	}
	var res recJSON
	out := mustRun(t, "recommend", "-o", "json", "-s", writeStore(t, lines...))
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	for _, r := range res.Recommendations {
		if r.Kind == costmodel.InterfaceEndpoint && strings.Contains(r.Action, "com.amazonaws.us-east-1.sqs") {
			return
		}
	}
	t.Errorf("recommend: no SQS InterfaceEndpoint in %+v", res.Recommendations)
}
