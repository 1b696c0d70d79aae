//go:build linux

package bpf

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"
)

// Errors of Probe, for callers that turn them into advice.
var (
	// ErrMemlock: the kernel charges eBPF maps to RLIMIT_MEMLOCK (before
	// 5.11) and the process may not raise it (no CAP_SYS_RESOURCE).
	ErrMemlock = errors.New("cannot raise RLIMIT_MEMLOCK for eBPF maps")
	// ErrRefused: the kernel refuses eBPF maps although the process holds
	// the capabilities (a user namespace, a seccomp profile or an LSM).
	ErrRefused = errors.New("the kernel refuses eBPF maps")
)

// Probe checks that this process may create eBPF maps, before anything is
// loaded: it raises RLIMIT_MEMLOCK where the kernel needs it, as Open
// does, then creates and closes a one-entry map.
func Probe() error {
	if err := rlimit.RemoveMemlock(); err != nil {
		return fmt.Errorf("%w: %w", ErrMemlock, err)
	}
	m, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.Array, KeySize: 4, ValueSize: 4, MaxEntries: 1})
	if errors.Is(err, unix.EPERM) {
		return fmt.Errorf("%w: %w", ErrRefused, err)
	}
	if err != nil {
		return fmt.Errorf("creating a test eBPF map: %w", err)
	}
	return m.Close()
}
