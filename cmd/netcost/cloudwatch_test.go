package main

import (
	"strings"
	"testing"
)

// TestAWSFlagsUsage: the shared AWS flags are checked before any work, on
// every command that reads records, with one line and exit 2.
func TestAWSFlagsUsage(t *testing.T) {
	for _, cmd := range [][]string{{"top", "--category", "nat"}, {"recommend"}} {
		args := append(cmd, "--source", "file:"+store, "--endpoint-url", "localhost:4566", "--region", "us-east-1", "--profile", "p")
		code, out, errs := netcost(t, args...)
		if code != 2 || out != "" || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, `--endpoint-url "localhost:4566" is not a URL: want http(s)://HOST[:PORT]`) {
			t.Errorf("netcost %s: exit %d, stdout %q, stderr %q", strings.Join(args, " "), code, out, errs)
		}
	}
}
