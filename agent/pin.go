package main

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/netcost/netcost/bpf"
	"github.com/netcost/netcost/internal/usage"
)

// openCounter loads and attaches the programs, pinned under -bpffs. Where
// the default -bpffs is on no bpf filesystem (a machine that mounts none),
// the agent counts unpinned and says what that costs; a -bpffs given
// elsewhere is a mistake to fix.
func (a *agent) openCounter(root string) (*bpf.Counter, error) {
	cfg := bpf.Config{MaxFlows: uint32(a.cfg.maxFlows), CgroupRoot: root, PinPath: a.cfg.bpffs,
		Names: a.cfg.learnNames}
	c, err := bpf.Open(cfg)
	if errors.Is(err, bpf.ErrNotBPFFS) {
		if _, set := a.cfg.names["bpffs"]; set {
			return nil, usage.Errorf("%s %s: %w", a.cfg.flag("bpffs"), a.cfg.bpffs, err)
		}
		a.log.Warn("counting unpinned: a restart or a crash loses what the kernel counts meanwhile; "+
			"mount a bpf filesystem at /sys/fs/bpf (the DaemonSet mounts the host's)", "error", err)
		cfg.PinPath = ""
		c, err = bpf.Open(cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("starting the byte counter: %w", err)
	}
	p := c.Pinned()
	switch {
	case len(p.Replaced) > 0:
		a.log.Info("the pinned maps' layout changed: the old maps are drained into the first windows, then removed",
			"bpffs", p.Dir, "layout", p.Layout, "old_layouts", p.Replaced)
	case p.Adopted:
		a.log.Info("adopted the pinned counters: the kernel counted while no agent ran", "bpffs", p.Dir,
			"layout", p.Layout)
	case p.Dir != "":
		a.log.Info("pinned the counters", "bpffs", p.Dir, "layout", p.Layout)
	}
	return c, nil
}

// uninstall detaches and unpins what the agent pinned under -bpffs.
func uninstall(cfg settings, log *slog.Logger) error {
	if err := bpf.Uninstall(cfg.bpffs); err != nil {
		if errors.Is(err, bpf.ErrNotBPFFS) || errors.Is(err, bpf.ErrNotOurs) {
			return usage.Errorf("%s %s: %w", cfg.flag("bpffs"), cfg.bpffs, err)
		}
		return fmt.Errorf("uninstalling: %w", err)
	}
	log.Info("uninstalled: the programs are detached and nothing is pinned", "bpffs", cfg.bpffs)
	return nil
}
