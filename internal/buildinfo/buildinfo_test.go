package buildinfo

import (
	"runtime/debug"
	"testing"
)

func TestFormat(t *testing.T) {
	rev := debug.BuildSetting{Key: "vcs.revision", Value: "4d79c3b1a2b3c4d5e6f708192a3b4c5d6e7f8091"}
	at := debug.BuildSetting{Key: "vcs.time", Value: "2026-11-20T09:00:00Z"}
	for _, tt := range []struct {
		version  string
		settings []debug.BuildSetting
		want     string
	}{
		{"", nil, "(devel)"},
		{"v1.2.0", nil, "v1.2.0"},
		{"v1.2.0", []debug.BuildSetting{{Key: "vcs", Value: "git"}, rev, at, {Key: "vcs.modified", Value: "false"}},
			"v1.2.0 (commit 4d79c3b1a2b3, 2026-11-20T09:00:00Z)"},
		{"v0.0.0-20261120090000-4d79c3b1a2b3+dirty", []debug.BuildSetting{rev, at, {Key: "vcs.modified", Value: "true"}},
			"v0.0.0-20261120090000-4d79c3b1a2b3+dirty (commit 4d79c3b1a2b3, 2026-11-20T09:00:00Z, modified)"},
		{"(devel)", []debug.BuildSetting{{Key: "vcs.revision", Value: "abc"}}, "(devel) (commit abc)"},
	} {
		bi := &debug.BuildInfo{Main: debug.Module{Path: "github.com/netcost/netcost", Version: tt.version}, Settings: tt.settings}
		if got := format(bi); got != tt.want {
			t.Errorf("format(%q, %v) = %q; want %q", tt.version, tt.settings, got, tt.want)
		}
	}
}
