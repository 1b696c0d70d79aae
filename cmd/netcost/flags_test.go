package main

import (
	"errors"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/netcost/netcost/internal/source"
	"github.com/netcost/netcost/internal/usage"
)

// readCommands are the commands that read records, with what each needs
// besides the source to run over the sample store.
var readCommands = [][]string{{"top", "--category", "nat"}, {"recommend"}, {"report", "--dry-run"}}

// TestSourceOnlyFlagsOnFileSource: a flag that only an AWS source uses,
// given on the command line with a file source, is a usage error that
// names it and the sources it applies to, on every command that reads
// records.
func TestSourceOnlyFlagsOnFileSource(t *testing.T) {
	src := "file:" + store
	const aws = "apply only to --source cloudwatch or --source nfm"
	for _, tt := range []struct {
		flags []string
		want  string // the whole of stderr
	}{
		{[]string{"--region", "eu-west-1"}, "--region applies only to --source cloudwatch or --source nfm (this is " +
			"--source " + src + "): leave it out"},
		{[]string{"--region=eu-west-1"}, "--region applies only to --source cloudwatch or --source nfm (this is --source " +
			src + "): leave it out"},
		{[]string{"--profile", "prod"}, "--profile applies only to --source cloudwatch or --source nfm (this is --source " +
			src + "): leave it out"},
		{[]string{"--endpoint-url", "http://127.0.0.1:5000"}, "--endpoint-url applies only to --source cloudwatch or " +
			"--source nfm (this is --source " + src + "): leave it out"},
		// Checked before the value: whatever it is, it does nothing here.
		{[]string{"--endpoint-url", "localhost:4566"}, "--endpoint-url applies only to --source cloudwatch or --source nfm " +
			"(this is --source " + src + "): leave it out"},
		{[]string{"--exact"}, "--exact applies only to --source cloudwatch (this is --source " + src + "): leave it out"},
		{[]string{"--monitor", "eks-prod"}, "--monitor applies only to --source nfm (this is --source " + src +
			"): leave it out"},
		{[]string{"--profile", "prod", "--region", "eu-west-1"}, "--region and --profile " + aws + " (this is --source " +
			src + "): leave them out"},
		{[]string{"--monitor", "m", "--exact", "--endpoint-url", "http://127.0.0.1:5000", "--profile", "p", "--region",
			"eu-west-1"},
			"--region, --profile and --endpoint-url " + aws + ", --exact only to --source cloudwatch, --monitor only to " +
				"--source nfm (this is --source " + src + "): leave them out"},
	} {
		for _, cmd := range readCommands {
			args := append(append(append([]string{}, cmd...), "--source", src), tt.flags...)
			code, out, errs := netcost(t, args...)
			if want := "netcost: " + tt.want + "\n"; code != 2 || out != "" || errs != want {
				t.Errorf("netcost %s: exit %d, stdout %q, stderr %q; want exit 2, no stdout, stderr %q", strings.Join(args, " "),
					code, out, errs, want)
			}
		}
	}
}

// TestSourceOnlyFlagsOnAWSSources: the same flags with the sources they
// apply to are taken: each run gets as far as calling AWS, here a closed
// port, and fails there.
func TestSourceOnlyFlagsOnAWSSources(t *testing.T) {
	nfmEnv(t)
	keepFlags(t)
	dir := t.TempDir()
	config := filepath.Join(dir, "config")
	if err := os.WriteFile(config, []byte("[profile prod]\nregion = us-east-1\naws_access_key_id = "+
		"test\naws_secret_access_key = test\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_CONFIG_FILE", config)
	t.Setenv("AWS_REGION", "us-east-1")
	closed := closedURL(t)
	t.Setenv("AWS_ENDPOINT_URL", closed) // nothing below reaches AWS itself

	for _, tt := range []struct {
		source string
		flags  []string
	}{
		{"cloudwatch", []string{"--region", "eu-west-1"}},
		{"cloudwatch", []string{"--profile", "prod"}},
		{"cloudwatch", []string{"--endpoint-url", closed}},
		{"cloudwatch", []string{"--exact"}},
		{"cloudwatch:/eks/flows", []string{"--exact", "--region", "eu-west-1", "--profile", "prod", "--endpoint-url",
			closed}},
		{"nfm", []string{"--region", "eu-west-1"}},
		{"nfm", []string{"--profile", "prod"}},
		{"nfm", []string{"--endpoint-url", closed}},
		{"nfm", []string{"--monitor", "eks-prod"}},
		{"nfm:eks-prod", []string{"--monitor", "eks-prod", "--region", "eu-west-1", "--profile", "prod", "--endpoint-url",
			closed}},
	} {
		for _, cmd := range readCommands {
			args := append(append(append([]string{}, cmd...), "--source", tt.source, "--since", "1h"), tt.flags...)
			code, out, errs := netcost(t, args...)
			if code != 1 || out != "" || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, "cannot reach the endpoint") {
				t.Errorf("netcost %s: exit %d, stdout %q, stderr %q; want exit 1 and one line: cannot reach the endpoint",
					strings.Join(args, " "), code, out, errs)
			}
		}
	}

	// A flag for the other AWS source is still an error.
	for _, tt := range []struct{ source, flag, want string }{
		{"cloudwatch", "--monitor=eks-prod", "netcost: --monitor applies only to --source nfm (this is --source " +
			"cloudwatch): leave it out\n"},
		{"nfm", "--exact", "netcost: --exact applies only to --source cloudwatch (this is --source nfm): leave it out\n"},
	} {
		code, out, errs := netcost(t, "top", "-c", "nat", "--source", tt.source, tt.flag)
		if code != 2 || out != "" || errs != tt.want {
			t.Errorf("--source %s %s: exit %d, stdout %q, stderr %q; want exit 2 and %q", tt.source, tt.flag, code, out, errs,
				tt.want)
		}
	}
	// Two different monitors are one too many.
	code, _, errs := netcost(t, "top", "-c", "nat", "--source", "nfm:eks-prod", "--monitor", "eks-old")
	if want := "netcost: --monitor eks-old and --source nfm:eks-prod name two monitors: give one\n"; code != 2 ||
		errs != want {
		t.Errorf("--source nfm:eks-prod --monitor eks-old: exit %d, stderr %q; want exit 2 and %q", code, errs, want)
	}
	// From the environment, a monitor yields to the one --source names.
	t.Setenv("NETCOST_NFM_MONITOR", "eks-old")
	code, _, errs = netcost(t, "top", "-c", "nat", "--source", "nfm:eks-prod")
	if code != 1 || !strings.Contains(errs, "GetMonitor: cannot reach the endpoint") {
		t.Errorf("NETCOST_NFM_MONITOR=eks-old --source nfm:eks-prod: exit %d, stderr %q; "+
			"want exit 1: cannot reach the endpoint", code, errs)
	}
}

// TestSourceOnlyFlagsFromEnvironment: the same settings from the
// environment, where people keep them for every tool, leave a file source
// alone, even values the AWS sources would refuse. Given on the command
// line as well, they are an error again.
func TestSourceOnlyFlagsFromEnvironment(t *testing.T) {
	src := "file:" + store
	want := make([]string, len(readCommands))
	for i, cmd := range readCommands {
		want[i] = mustRun(t, append(append([]string{}, cmd...), "--source", src)...)
	}
	for _, env := range []map[string]string{
		{"AWS_REGION": "eu-west-1"},
		{"AWS_PROFILE": "no-such-profile"},
		{"AWS_REGION": "eu-west-1", "AWS_PROFILE": "prod", "AWS_ENDPOINT_URL": "http://127.0.0.1:4566",
			"NETCOST_NFM_MONITOR": "eks-prod"},
		{"AWS_REGION": "EU (Ireland)", "AWS_ENDPOINT_URL": "localhost:4566"},
	} {
		t.Run(strings.Join(slices.Sorted(maps.Keys(env)), ","), func(t *testing.T) {
			keepFlags(t)
			for k, v := range env {
				t.Setenv(k, v)
			}
			for i, cmd := range readCommands {
				args := append(append([]string{}, cmd...), "--source", src)
				code, out, errs := netcost(t, args...)
				if errs = withoutProjectionWarning(errs); code != 0 || errs != "" || out != want[i] {
					t.Errorf("%v netcost %s: exit %d, stderr %q; want exit 0, no stderr and the output without the environment", env,
						strings.Join(args, " "), code, errs)
				}
			}
			// The source itself from the environment, as NETCOST_SOURCE.
			t.Setenv("NETCOST_SOURCE", src)
			if code, _, errs := netcost(t, "top", "-c", "nat"); code != 0 {
				t.Errorf("%v NETCOST_SOURCE=%s netcost top -c nat: exit %d, stderr %q; want exit 0", env, src, code, errs)
			}
			// The command line still counts with the same name in the environment.
			args := []string{"top", "-c", "nat", "--region", "eu-west-1", "--profile", "prod"}
			wantErr := "netcost: --region and --profile apply only to --source cloudwatch or --source nfm (this is --source " +
				src + "): leave them out\n"
			if code, out, errs := netcost(t, args...); code != 2 || out != "" || errs != wantErr {
				t.Errorf("%v netcost %s: exit %d, stdout %q, stderr %q; want exit 2 and %q", env, strings.Join(args, " "), code,
					out, errs, wantErr)
			}
		})
	}
}

// keepFlags restores the shared flags when t ends: urfave/cli stores a
// value from an environment variable in the flag itself, where it would
// outlive t.Setenv and leak into later tests.
func keepFlags(t *testing.T) {
	t.Helper()
	region, profile, endpoint := *awsRegionFlag, *awsProfileFlag, *awsEndpointFlag
	monitor, source := *monitorFlag, *sourceFlag
	t.Cleanup(func() {
		*awsRegionFlag, *awsProfileFlag, *awsEndpointFlag = region, profile, endpoint
		*monitorFlag, *sourceFlag = monitor, source
	})
}

// closedURL is an http URL on which nothing listens.
func closedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

func TestParseWindow(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	day := func(d, h int) time.Time { return time.Date(2026, 11, d, h, 0, 0, 0, time.UTC) }
	tests := []struct {
		since, start, end string
		want              source.Window
	}{
		{"", "", "", source.Window{}},
		{"24h", "", "", source.Window{Start: now.Add(-24 * time.Hour), End: now}},
		{"7d", "", "", source.Window{Start: now.Add(-7 * 24 * time.Hour), End: now}},
		{"", "2026-11-20", "", source.Window{Start: day(20, 0), End: now}},
		{"", "2026-11-20T09:00:00Z", "2026-11-20T10:00:00Z", source.Window{Start: day(20, 9), End: day(20, 10)}},
		{"", "2026-11-20T11:00:00+02:00", "2026-11-20T10:00", source.Window{Start: day(20, 9), End: day(20, 10)}},
		{"", "", "2026-11-21", source.Window{End: day(21, 0)}},
	}
	for _, tt := range tests {
		got, err := parseWindow(now, tt.since, tt.start, tt.end)
		if err != nil || !got.Start.Equal(tt.want.Start) || !got.End.Equal(tt.want.End) {
			t.Errorf("parseWindow(%q, %q, %q) = %v, %v; want %v", tt.since, tt.start, tt.end, got, err, tt.want)
		}
	}
	for _, tt := range []struct{ since, start, end, want string }{
		{"soon", "", "", `--since "soon": want a positive duration such as 90m, 24h or 7d`},
		{"1.5d", "", "", `--since "1.5d": want a positive duration such as 90m, 24h or 7d`},
		{"1h", "2026-11-20", "", "--since and --start/--end are exclusive: give one or the other"},
		{"", "2026-11-21", "2026-11-21", "--end 2026-11-21T00:00:00Z is not after --start 2026-11-21T00:00:00Z"},
		{"", "2026-13-01", "", `--start "2026-13-01": want RFC 3339 (2026-11-21T10:00:00Z) or a date (2026-11-21)`},
		{"", "", "tomorrow", `--end "tomorrow": want RFC 3339 (2026-11-21T10:00:00Z) or a date (2026-11-21)`},
	} {
		if _, err := parseWindow(now, tt.since, tt.start, tt.end); err == nil || !errors.Is(err, usage.Err) ||
			err.Error() != tt.want {
			t.Errorf("parseWindow(%q, %q, %q) error = %v; want a usage error %q", tt.since, tt.start, tt.end, err, tt.want)
		}
	}
}

// TestBillFlagsBeforeSourceOnly: top and recommend read --cur before the
// source's flags: a bad --cur is the error, not the --region it would have
// read; a bill in S3 takes the AWS flags with a file source, a bill in a
// file does not.
func TestBillFlagsBeforeSourceOnly(t *testing.T) {
	src := "file:" + store
	for _, cmd := range [][]string{{"top", "--category", "nat"}, {"recommend"}} {
		for _, tt := range []struct {
			flags []string
			want  string // the whole of stderr
		}{
			{[]string{"--cur", "ftp://x", "--region", "eu-west-1"},
				`--cur "ftp://x": want file:PATH, s3://BUCKET/PREFIX or athena:DATABASE.TABLE`},
			{[]string{"--cur", "file:/x", "--region", "eu-west-1"}, "--region applies only to --source cloudwatch or " +
				"--source nfm (this is --source " + src + "): leave it out"},
			{[]string{"--cur", "s3://b/p", "--endpoint-url", "localhost:4566"}, "--endpoint-url"},
		} {
			args := append(append(append([]string{}, cmd...), "--source", src), tt.flags...)
			code, out, errs := netcost(t, args...)
			if code != 2 || out != "" || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, tt.want) ||
				tt.flags[1] == "s3://b/p" && strings.Contains(errs, "applies only to") {
				t.Errorf("netcost %s: exit %d, stdout %q, stderr %q; want exit 2, no stdout, one line saying %q",
					strings.Join(args, " "), code, out, errs, tt.want)
			}
		}
	}
}
