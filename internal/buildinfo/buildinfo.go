// Package buildinfo says which build of netcost is running: the module
// version and the commit it was built from, as the go command recorded them.
package buildinfo

import (
	"runtime/debug"
	"strings"
)

// Version describes the running binary in one line, such as
// "v1.2.0 (commit 4d79c3b1a2b3, 2026-11-20T09:00:00Z)" or, built from a
// checkout with uncommitted changes,
// "v0.0.0-20261120090000-4d79c3b1a2b3+dirty (commit 4d79c3b1a2b3, 2026-11-20T09:00:00Z, modified)".
// The commit is there only when the go command stamped it (a build in a
// git checkout; not go run, go test or -buildvcs=false).
func Version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	return format(bi)
}

func format(bi *debug.BuildInfo) string {
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	var rev, at string
	modified := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if rev == "" {
		return v
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	detail := []string{"commit " + rev}
	if at != "" {
		detail = append(detail, at)
	}
	if modified {
		detail = append(detail, "modified")
	}
	return v + " (" + strings.Join(detail, ", ") + ")"
}
