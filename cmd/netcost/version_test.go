package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestVersion: --version prints one line to stdout and exits 0.
func TestVersion(t *testing.T) {
	for _, arg := range []string{"--version", "-v"} {
		code, out, errs := netcost(t, arg)
		if code != 0 || errs != "" || !strings.HasPrefix(out, "netcost version ") || strings.Count(out, "\n") != 1 {
			t.Errorf("netcost %s: exit %d, stdout %q, stderr %q; want exit 0 and one line netcost version ...",
				arg, code, out, errs)
		}
	}
}

// TestVersionCommit builds netcost as a user would from a checkout and
// checks that --version names the checkout's commit. The go command
// stamps the commit only in a clone (a .git directory): it does not in a
// git worktree, where this test cannot run.
func TestVersionCommit(t *testing.T) {
	if fi, err := os.Stat("../../.git"); err != nil || !fi.IsDir() {
		t.Skip("not a clone with a .git directory (a worktree?): the go command records no commit here")
	}
	head, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatalf("git rev-parse HEAD: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "netcost")
	// -buildvcs=true overrides a GOFLAGS=-buildvcs=false in the environment.
	if out, err := exec.Command("go", "build", "-buildvcs=true", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		t.Fatalf("netcost --version: %v", err)
	}
	if want := "(commit " + string(head[:12]); !strings.Contains(string(out), want) {
		t.Errorf("netcost --version = %q; want it to name the commit: %q", out, want)
	}
}
