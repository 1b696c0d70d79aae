package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/netcost/netcost/internal/netnstest"
)

// TestBPFFSUsageErrors: the built agent given a -bpffs it cannot use (empty
// with -uninstall; not on a bpf filesystem, for a run or -uninstall; or
// holding another tool's pins, for -uninstall) exits with status 2 and one
// line on stderr saying what is wrong, naming the flag as it was given, and
// leaves the directory as it was.
func TestBPFFSUsageErrors(t *testing.T) {
	netnstest.RequireRoot(t, "the agent loads eBPF programs and the test mounts a bpf filesystem")
	bin := buildAgent(t)
	notBPF := t.TempDir()
	bpfDir := t.TempDir()
	if err := unix.Mount("bpf", bpfDir, "bpf", 0, "mode=0700"); err != nil {
		t.Fatalf("mounting a bpf filesystem: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(bpfDir, unix.MNT_DETACH) })
	// As Cilium's is in /sys/fs/bpf; one level down, where the kernel's
	// maps.debug and progs.debug of the root are not.
	shared := filepath.Join(bpfDir, "shared")
	theirs := filepath.Join(shared, "tc")
	if err := os.MkdirAll(theirs, 0o700); err != nil {
		t.Fatal(err)
	}
	run := []string{"-node", "pins", "-dir", t.TempDir(), "-imds-endpoint", "http://127.0.0.1:1",
		"-startup-attempts", "1", "-ip-ranges-url", "", "-kubeconfig", ""}
	const notBPFFS = ": not on a bpf filesystem (mount one: mount -t bpf bpf /sys/fs/bpf)"
	sub := filepath.Join(notBPF, "netcost")
	for _, tt := range []struct {
		name string
		args []string
		env  []string
		want string
	}{
		{"-uninstall with an empty -bpffs", []string{"-uninstall", "-bpffs", ""}, nil,
			"netcost-agent: -uninstall with an empty -bpffs: want the directory the agent pinned in " +
				"(default /sys/fs/bpf/netcost)"},
		{"-uninstall with an empty NETCOST_BPFFS", []string{"-uninstall"}, []string{"NETCOST_BPFFS="},
			"netcost-agent: -uninstall with an empty NETCOST_BPFFS: want the directory the agent pinned in " +
				"(default /sys/fs/bpf/netcost)"},
		{"-uninstall off a bpf filesystem", []string{"-uninstall", "--bpffs", notBPF}, nil,
			"netcost-agent: --bpffs " + notBPF + ": pin directory " + notBPF + notBPFFS},
		{"a run off a bpf filesystem", append([]string{"-bpffs", sub}, run...), nil,
			"netcost-agent: -bpffs " + sub + ": pin directory " + sub + notBPFFS},
		{"a run with NETCOST_BPFFS off a bpf filesystem", run, []string{"NETCOST_BPFFS=" + sub},
			"netcost-agent: NETCOST_BPFFS " + sub + ": pin directory " + sub + notBPFFS},
		{"-uninstall of another tool's pins", []string{"-uninstall", "-bpffs", shared}, nil,
			"netcost-agent: -bpffs " + shared + ": pin directory " + shared + ` holds entries netcost did not ` +
				`make ("tc"): give -bpffs the agent's own directory (default /sys/fs/bpf/netcost)`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, tt.args...)
			cmd.Env = append(os.Environ(), append([]string{"KUBERNETES_SERVICE_HOST="}, tt.env...)...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 2 {
				t.Errorf("exit %v; want status 2", err)
			}
			// The run logs its start as JSON records; the mistake is the
			// one other line, and no record reports it again.
			var lines []string
			for line := range strings.Lines(stderr.String()) {
				if strings.HasPrefix(line, "{") {
					if strings.Contains(line, `"level":"ERROR"`) {
						t.Errorf("an error record besides the line: %s", line)
					}
					continue
				}
				lines = append(lines, line)
			}
			if len(lines) != 1 || lines[0] != tt.want+"\n" {
				t.Errorf("stderr:\n%s\nwant the one line %q", stderr.String(), tt.want)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout: %q; want nothing", stdout.String())
			}
		})
	}
	if _, err := os.Stat(sub); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s after the refused runs: %v; want it not made", sub, err)
	}
	if fi, err := os.Stat(theirs); err != nil || !fi.IsDir() {
		t.Errorf("%s after the refused -uninstall: %v; want it kept", theirs, err)
	}
}
