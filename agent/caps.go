package main

import (
	"errors"
	"fmt"
	"strconv"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Loading and attaching the programs needs CAP_BPF and CAP_NET_ADMIN
// (CAP_SYS_RESOURCE too on kernels before 5.11, to raise RLIMIT_MEMLOCK;
// CAP_SYS_ADMIN instead of CAP_BPF before 5.8). Once they are attached the
// agent reads and empties the maps through file descriptors it holds, and
// everything else it does (instance metadata, EC2, Kubernetes, walking the
// cgroup tree, writing its files as root in root's directories, receiving
// conntrack events on the socket it subscribed with CAP_NET_ADMIN before
// the drop) needs no capability. So it keeps only what the bpf(2) map commands need:
// CAP_BPF, which kernels before 6.5 check on every bpf(2) call while
// kernel.unprivileged_bpf_disabled is set (the default). Closing the
// programs' links at exit needs nothing.

// keptCaps returns the capabilities the agent keeps after attaching:
// CAP_BPF, or CAP_SYS_ADMIN where the kernel predates CAP_BPF.
func keptCaps() []int {
	if !kernelHasBPF() {
		return []int{unix.CAP_SYS_ADMIN}
	}
	return []int{unix.CAP_BPF}
}

// errCgo says the binary cannot change every thread's capabilities.
var errCgo = errors.New("a binary built with cgo cannot change all its threads' capabilities; build with CGO_ENABLED=0")

// dropCaps lowers the permitted and effective capabilities of every thread
// of the process to keep (those of keep it holds), and empties the
// inheritable set, which empties the ambient set too. It cannot be undone.
func dropCaps(keep []int) error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var now [2]unix.CapUserData
	if err := unix.Capget(&hdr, &now[0]); err != nil {
		return fmt.Errorf("reading capabilities: %w", err)
	}
	var next [2]unix.CapUserData
	for _, c := range keep {
		bit := uint32(1) << (c % 32)
		if now[c/32].Permitted&bit != 0 {
			next[c/32].Permitted |= bit
			next[c/32].Effective |= bit
		}
	}
	// capset(2) applies to the calling thread only; the Go runtime's
	// AllThreadsSyscall runs it on every thread (and refuses under cgo).
	_, _, errno := syscall.AllThreadsSyscall(unix.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&next[0])), 0)
	switch {
	case errno == syscall.ENOTSUP:
		return errCgo
	case errno != 0:
		return fmt.Errorf("dropping capabilities: %w", errno)
	}
	return nil
}

// capNames names capabilities for logs: "cap_bpf".
func capNames(caps []int) []string {
	names := map[int]string{unix.CAP_BPF: "cap_bpf", unix.CAP_SYS_ADMIN: "cap_sys_admin", unix.CAP_NET_ADMIN: "cap_net_admin",
		unix.CAP_PERFMON: "cap_perfmon", unix.CAP_SYS_RESOURCE: "cap_sys_resource"}
	out := make([]string, len(caps))
	for i, c := range caps {
		if out[i] = names[c]; out[i] == "" {
			out[i] = "cap_" + strconv.Itoa(c)
		}
	}
	return out
}

// dropPrivileges keeps only keptCaps once the programs are attached; when
// it cannot, the agent runs on with what it has and says so.
func (a *agent) dropPrivileges() {
	keep := keptCaps()
	if err := dropCaps(keep); err != nil {
		a.log.Warn("running with all the capabilities the agent was given", "error", err)
		return
	}
	a.log.Info("capabilities dropped", "kept", capNames(keep))
}
