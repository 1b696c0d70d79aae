package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/netcost/netcost/bpf"
	"github.com/netcost/netcost/internal/awscfg"
	"github.com/netcost/netcost/internal/usage"
)

// The checks here run before the agent does anything slow or over the
// network (instance metadata, EC2, ip-ranges, Kubernetes), so that a setup
// that cannot work fails in its first second with one line naming what to
// fix, instead of minutes later with the error of whatever tripped on it.

// vpcID is the shape of a VPC id: vpc- and 8 or 17 hex digits.
var vpcID = regexp.MustCompile(`^vpc-([0-9a-f]{8}|[0-9a-f]{17})$`)

// checkValues checks the flags' values that parseFlags takes as they come:
// their shape only, without touching the machine.
func checkValues(c *settings) error {
	for _, err := range []error{
		awscfg.CheckRegion(c.flag("region"), c.region),
		awscfg.CheckEndpointURL(c.flag("imds-endpoint"), c.imdsEndpoint),
		awscfg.CheckEndpointURL(c.flag("ec2-endpoint"), c.ec2Endpoint),
		awscfg.CheckEndpointURL(c.flag("logs-endpoint"), c.cw.endpoint),
	} {
		if err != nil {
			return usage.Wrap(err)
		}
	}
	if c.vpcID != "" && !vpcID.MatchString(c.vpcID) {
		return usage.Errorf("%s %q is not a VPC id: want vpc- and 8 or 17 lowercase hex digits, "+
			"as in vpc-0a1b2c3d4e5f60718", c.flag("vpc-id"), c.vpcID)
	}
	if c.sink == "file" && strings.ContainsAny(c.node, `/\`) {
		return usage.Errorf("%s %q: want a plain name, without / (it names the record files)",
			c.flag("node"), c.node)
	}
	return nil
}

// preflight checks what the agent needs of the machine: the capabilities
// to load and attach its programs, the cgroup v2 tree they attach to, the
// selected sink's directory and the kubeconfig. It sets c.cgroupRoot when
// it was left to be found. It creates the sink's directory if missing.
func preflight(c *settings) error {
	if err := checkCaps(); err != nil {
		return err
	}
	if err := checkCgroupRoot(c); err != nil {
		return err
	}
	dir, perm, name := c.dir, fs.FileMode(0o755), "dir" // as sink.OpenFiles and the spool create them
	switch c.sink {
	case "cloudwatch":
		dir, perm, name = c.cw.spoolDir, 0o700, "spool-dir"
	case "stdout":
		dir = ""
	}
	if dir != "" {
		if err := checkWritable(dir, perm); err != nil {
			return usage.Errorf("%s %s: %w", c.flag(name), dir, err)
		}
	}
	if c.kubeconfig != "" {
		if _, err := clientcmd.BuildConfigFromFlags("", c.kubeconfig); err != nil {
			return usage.Errorf("%s %s: %w", c.flag("kubeconfig"), c.kubeconfig, err)
		}
	}
	return nil
}

// needCaps names the capabilities missing from eff, an effective set, to
// load the agent's cgroup_skb programs, create its maps and attach them.
// Measured on 6.18: CAP_BPF and CAP_NET_ADMIN suffice, either alone fails
// to load, CAP_PERFMON is not needed, and CAP_SYS_ADMIN alone stands in for
// both (conntrack then fails: it needs CAP_NET_ADMIN, and the agent runs
// without it). Kernels without CAP_BPF (before 5.8) need CAP_SYS_ADMIN to
// load and, before 5.7, CAP_NET_ADMIN to attach whatever else it holds.
func needCaps(eff uint64, kernelHasBPF bool) []string {
	has := func(c int) bool { return eff&(1<<c) != 0 }
	var missing []string
	switch {
	case !kernelHasBPF && !has(unix.CAP_SYS_ADMIN):
		missing = append(missing, "CAP_SYS_ADMIN")
	case kernelHasBPF && !has(unix.CAP_BPF) && !has(unix.CAP_SYS_ADMIN):
		missing = append(missing, "CAP_BPF")
	}
	if !has(unix.CAP_NET_ADMIN) && !(kernelHasBPF && has(unix.CAP_SYS_ADMIN)) {
		missing = append(missing, "CAP_NET_ADMIN")
	}
	return missing
}

// kernelHasBPF says whether the kernel knows CAP_BPF (5.8 and later).
func kernelHasBPF() bool {
	last, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	n, perr := strconv.Atoi(strings.TrimSpace(string(last)))
	return err != nil || perr != nil || n >= unix.CAP_BPF
}

// checkCaps fails when the agent lacks a capability it needs to load and
// attach its programs, naming it, or when the kernel refuses it eBPF maps
// all the same.
func checkCaps() error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("reading the agent's capabilities: %w", err)
	}
	eff := uint64(data[1].Effective)<<32 | uint64(data[0].Effective)
	if missing := needCaps(eff, kernelHasBPF()); len(missing) > 0 {
		them, add := "it", strings.TrimPrefix(missing[0], "CAP_")
		if len(missing) > 1 {
			them, add = "them", add+" and "+strings.TrimPrefix(missing[1], "CAP_")
		}
		return usage.Errorf("missing %s: the agent needs %s to load and attach its eBPF programs; "+
			"run it as root, or add %s to the container's securityContext.capabilities",
			strings.Join(missing, " and "), them, add)
	}
	refused := errors.New("the kernel refuses the agent eBPF maps although it holds the capabilities: " +
		"a user namespace (rootless container), a seccomp profile or an LSM denies bpf(2)")
	err := bpf.Probe()
	if errors.Is(err, bpf.ErrMemlock) {
		// The rlimit package found at start whether the kernel charges maps
		// to the memory cgroup (5.11 and later) or to RLIMIT_MEMLOCK.
		var uts unix.Utsname
		var major, minor int
		if unix.Uname(&uts) == nil {
			fmt.Sscanf(unix.ByteSliceToString(uts.Release[:]), "%d.%d", &major, &minor)
		}
		if major < 5 || major == 5 && minor < 11 {
			return usage.Errorf("missing CAP_SYS_RESOURCE: kernel %d.%d charges eBPF maps to RLIMIT_MEMLOCK, "+
				"which the agent must raise (%v); add SYS_RESOURCE to the container's securityContext.capabilities",
				major, minor, err)
		}
		return usage.Wrap(refused)
	}
	if errors.Is(err, bpf.ErrRefused) {
		return usage.Wrap(refused)
	}
	return err
}

// checkCgroupRoot checks that -cgroup-root is a cgroup v2 directory, or
// finds the cgroup v2 mount when it is not set.
func checkCgroupRoot(c *settings) error {
	if c.cgroupRoot == "" {
		root, err := bpf.FindCgroup2()
		if err != nil {
			return usage.Errorf("%w: mount the cgroup v2 hierarchy, or set -cgroup-root to it", err)
		}
		c.cgroupRoot = root
		return nil
	}
	var st unix.Statfs_t
	if err := unix.Statfs(c.cgroupRoot, &st); err != nil {
		return usage.Errorf("%s %s: %w", c.flag("cgroup-root"), c.cgroupRoot, err)
	}
	if st.Type != unix.CGROUP2_SUPER_MAGIC {
		return usage.Errorf("%s %s: not a cgroup v2 directory (want its mount, such as /sys/fs/cgroup)",
			c.flag("cgroup-root"), c.cgroupRoot)
	}
	return nil
}

// checkWritable creates dir (with perm) if it is missing and a file in
// it, which it removes: the sink writes there at the end of the first
// window, a minute or more after start.
func checkWritable(dir string, perm fs.FileMode) error {
	if err := os.MkdirAll(dir, perm); err != nil {
		return fmt.Errorf("cannot create it: %w", pathCause(err))
	}
	f, err := os.CreateTemp(dir, ".netcost-write-check-*")
	if err != nil {
		return fmt.Errorf("cannot write in it: %w", pathCause(err))
	}
	f.Close()
	if err := os.Remove(f.Name()); err != nil {
		return fmt.Errorf("cannot remove a file from it: %w", pathCause(err))
	}
	return nil
}

// pathCause is the reason of a path error without the path, which the
// caller's line already names.
func pathCause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
