package main

import (
	"io"
	"os"
	"testing"
)

// TestMetricsAddrDefault: run by hand on a node, the agent serves its
// metrics and probes on loopback only, not on every interface of the node
// (the DaemonSet gives it the node's address).
func TestMetricsAddrDefault(t *testing.T) {
	t.Setenv("NETCOST_METRICS_ADDR", "") // the test binary's TestMain sets one; t.Setenv restores it
	os.Unsetenv("NETCOST_METRICS_ADDR")
	c, err := parseFlags(nil, io.Discard)
	if err != nil || c.metricsAddr != "127.0.0.1:9109" {
		t.Errorf("-metrics-addr by default = %q, %v; want 127.0.0.1:9109", c.metricsAddr, err)
	}
	for _, addr := range []string{"[10.0.1.5]:9109", "[2600:1f18:4a3:6902::5]:9109"} { // as the DaemonSet sets it
		if c, err := parseFlags([]string{"-metrics-addr", addr}, io.Discard); err != nil || c.metricsAddr != addr {
			t.Errorf("-metrics-addr %s: %q, %v; want it accepted", addr, c.metricsAddr, err)
		}
	}
}
