package main

import (
	"strings"
	"testing"
)

// TestTargets: flows go round the prefixes, address after address; what is not IPv4 is refused in one
// line, never a panic.
func TestTargets(t *testing.T) {
	got, err := targets("10.0.0.0/31,192.0.2.7", 5)
	if err != nil {
		t.Fatal(err)
	}
	var s []string
	for _, a := range got {
		s = append(s, a.String())
	}
	want := "10.0.0.0:10000 192.0.2.7:10000 10.0.0.1:10000 192.0.2.7:10001 10.0.0.0:10001"
	if strings.Join(s, " ") != want {
		t.Errorf("targets = %v; want %s", s, want)
	}
	for _, bad := range []string{"2001:db8::/64", "2001:db8::1", "bogus", ""} {
		if _, err := targets(bad, 1); err == nil || !strings.Contains(err.Error(), "neither an IPv4 address") {
			t.Errorf("targets(%q) = %v; want refused", bad, err)
		}
	}
}
