//go:build linux

package bpf

import (
	"os"
	"testing"
)

// requireRoot skips a test that needs root, or fails it when
// NETCOST_REQUIRE_ROOT=1 (as CI sets), so that CI never skips it.
func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("NETCOST_REQUIRE_ROOT") == "1" {
		t.Fatal("this test loads eBPF programs and needs root, and NETCOST_REQUIRE_ROOT=1 forbids skipping it")
	}
	t.Skip("needs root to load eBPF programs (run as root; CI sets NETCOST_REQUIRE_ROOT=1 to make this a failure)")
}
