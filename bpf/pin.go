//go:build linux

package bpf

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unsafe"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"
)

// Pinning (Config.PinPath) keeps the programs attached and their maps alive
// while no process holds them, so that the kernel counts across restarts:
//
//	PINPATH/links/count_egress, count_ingress, tcp_health   the cgroup links
//	PINPATH/layout-HASH/flows0, flows1, overflow0, ...      the maps of one layout
//
// HASH is of the pinned maps' specs (type, key and value sizes, entries,
// flags) and layoutVersion: an agent finding its own layout adopts the
// maps, one finding another's (an upgrade, a new -max-flows) makes its own,
// moves the links to its programs, and Recover drains the old maps before
// they are removed. A layout directory is in use only once all its maps
// are pinned (the links move after), so a partial one is removed.

// layoutVersion is part of the layout's hash: raise it when a key or value
// changes its meaning but not its size.
const layoutVersion = 1

// retiredGen in a layout's ctl[0] says that a newer layout took the links:
// ctl[0] is then retiredGen plus the generation the programs wrote to.
const retiredGen = 2

// ErrNotBPFFS says that PinPath is not on a bpf filesystem.
var ErrNotBPFFS = errors.New("not on a bpf filesystem")

// ErrNotOurs says that a directory given to Uninstall holds entries netcost
// does not make: another tool's pins, which it must not remove.
var ErrNotOurs = errors.New("holds entries netcost did not make")

// pinnedLinks are the names linkPinned pins in PINPATH/links.
var pinnedLinks = []string{flowProgCountEgress, flowProgCountIngress, flowProgTcpHealth}

// pinnedMaps are the maps a layout directory holds: the counts and the
// state the programs keep. The name ring and its scratch space are made
// new by each process.
var pinnedMaps = []string{flowMapFlows0, flowMapFlows1, flowMapOverflow0, flowMapOverflow1, flowMapCtl, flowMapLost,
	flowMapNat, flowMapKeepPorts, flowMapHealth}

// countingMaps are the ones Recover drains from an older layout.
var countingMaps = []string{flowMapFlows0, flowMapFlows1, flowMapOverflow0, flowMapOverflow1, flowMapCtl, flowMapLost}

// pinned is a Counter's hold on its PinPath.
type pinned struct {
	dir, layout string
	lock        *os.File // flock'd: one process at a time
	adopted     bool
	retired     []*retired
}

// retired is an older layout's counting maps, which no program writes to.
type retired struct {
	layout, dir string
	maps        map[string]*ebpf.Map
	epoch       uint64 // the retirement's: it names the whole content
	active      uint32 // the generation the programs wrote to; the other may hold a switch not released
}

// PinInfo says what Open found under Config.PinPath.
type PinInfo struct {
	Dir, Layout string
	// Adopted: this layout's maps were pinned already; the programs kept
	// counting into them while no process ran.
	Adopted bool
	// Replaced are older layouts whose maps Recover drains and removes.
	Replaced []string
}

// Pinned says what Open found pinned; the zero PinInfo when unpinned.
func (c *Counter) Pinned() PinInfo {
	if c.pin == nil {
		return PinInfo{}
	}
	i := PinInfo{Dir: c.pin.dir, Layout: c.pin.layout, Adopted: c.pin.adopted}
	for _, r := range c.pin.retired {
		i.Replaced = append(i.Replaced, r.layout)
	}
	return i
}

// layoutOf names the layout of spec's pinned maps.
func layoutOf(spec *ebpf.CollectionSpec) string {
	h := sha256.New()
	fmt.Fprintf(h, "netcost flow maps %d\n", layoutVersion)
	for _, name := range pinnedMaps {
		m := spec.Maps[name]
		fmt.Fprintf(h, "%s %v %d %d %d %d\n", name, m.Type, m.KeySize, m.ValueSize, m.MaxEntries, m.Flags)
	}
	return "layout-" + hex.EncodeToString(h.Sum(nil))[:16]
}

// lockPinPath creates dir if needed, checks that it is on a bpf
// filesystem, and locks it against another process.
func lockPinPath(dir string) (*pinned, error) {
	// The nearest directory that exists tells the filesystem: on a
	// machine without a bpf filesystem /sys/fs/bpf is sysfs's, read-only.
	at := filepath.Clean(dir)
	var st unix.Statfs_t
	for {
		err := unix.Statfs(at, &st)
		if err == nil {
			break
		}
		if !errors.Is(err, unix.ENOENT) || filepath.Dir(at) == at {
			return nil, fmt.Errorf("checking the pin directory %s: %w", dir, err)
		}
		at = filepath.Dir(at)
	}
	if st.Type != unix.BPF_FS_MAGIC {
		return nil, fmt.Errorf("pin directory %s: %w (mount one: mount -t bpf bpf /sys/fs/bpf)", dir, ErrNotBPFFS)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating the pin directory: %w", err)
	}
	f, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("opening the pin directory: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("pin directory %s: another netcost-agent holds it", dir)
		}
		return nil, fmt.Errorf("locking the pin directory %s: %w", dir, err)
	}
	return &pinned{dir: dir, lock: f}, nil
}

func (p *pinned) close() error {
	var errs []error
	for _, r := range p.retired {
		errs = append(errs, r.close())
	}
	p.retired = nil
	return errors.Join(append(errs, p.lock.Close())...)
}

// loadPinnedMaps loads the maps names pinned in dir: nil if dir does not
// exist or lacks one of them (a layout never in use: it is removed).
func loadPinnedMaps(dir string, names []string) (map[string]*ebpf.Map, error) {
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	for _, name := range names {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			if err := os.RemoveAll(dir); err != nil {
				return nil, fmt.Errorf("removing the partly pinned %s: %w", dir, err)
			}
			return nil, nil
		}
	}
	maps := map[string]*ebpf.Map{}
	for _, name := range names {
		m, err := ebpf.LoadPinnedMap(filepath.Join(dir, name), nil)
		if err != nil {
			closeMaps(maps)
			return nil, fmt.Errorf("loading the pinned map %s: %w", filepath.Join(dir, name), err)
		}
		maps[name] = m
	}
	return maps, nil
}

func closeMaps(maps map[string]*ebpf.Map) {
	for _, m := range maps {
		m.Close()
	}
}

// openPinned is Open with cfg.PinPath: it adopts or makes the layout's
// maps, then attaches the programs through the pinned links (moving them
// from an older layout's programs), and finds older layouts to drain.
func openPinned(cfg Config) (_ *Counter, err error) {
	p, err := lockPinPath(cfg.PinPath)
	if err != nil {
		return nil, err
	}
	spec, _, err := flowSpec(cfg)
	if err != nil {
		p.close()
		return nil, err
	}
	p.layout = layoutOf(spec)
	mine := filepath.Join(p.dir, p.layout)
	replace, err := loadPinnedMaps(mine, pinnedMaps)
	if err != nil {
		p.close()
		return nil, err
	}
	c, err := load(cfg, replace) // the replacements are cloned
	closeMaps(replace)
	if err != nil {
		p.close()
		return nil, err
	}
	c.pin = p
	p.adopted = replace != nil
	defer func() {
		if err != nil {
			c.Close()
		}
	}()
	if !p.adopted {
		if err := c.pinMaps(mine); err != nil {
			return nil, err
		}
	}
	if err := c.linkPinned(); err != nil {
		return nil, err
	}
	return c, c.findRetired()
}

// mapsByName returns the loaded maps that a layout directory pins.
func (c *Counter) mapsByName() map[string]*ebpf.Map {
	o := &c.objs
	return map[string]*ebpf.Map{flowMapFlows0: o.Flows0, flowMapFlows1: o.Flows1, flowMapOverflow0: o.Overflow0,
		flowMapOverflow1: o.Overflow1, flowMapCtl: o.Ctl, flowMapLost: o.Lost, flowMapNat: o.Nat,
		flowMapKeepPorts: o.KeepPorts, flowMapHealth: o.Health}
}

// pinMaps pins the new maps in dir.
func (c *Counter) pinMaps(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating the layout directory: %w", err)
	}
	byName := c.mapsByName()
	for _, name := range pinnedMaps {
		if err := byName[name].Pin(filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("pinning the map %s: %w", name, err)
		}
	}
	return nil
}

// linkPinned attaches the programs through the links pinned in
// PINPATH/links: an existing link moves to this process's program at once
// (the kernel counts throughout), a missing one is made and pinned.
func (c *Counter) linkPinned() error {
	dir := filepath.Join(c.pin.dir, "links")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating the links directory: %w", err)
	}
	if !c.cfg.TCPHealth {
		if err := unpinLink(filepath.Join(dir, flowProgTcpHealth)); err != nil {
			return err
		}
	}
	for _, a := range c.attachments() {
		path := filepath.Join(dir, a.name)
		l, err := link.LoadPinnedLink(path, nil)
		switch {
		case err == nil:
			if err := l.Update(a.prog); err != nil {
				l.Close()
				return fmt.Errorf("moving the pinned link %s to this agent's program: %w", path, err)
			}
		case errors.Is(err, os.ErrNotExist):
			l, err = link.AttachCgroup(link.CgroupOptions{Path: c.cfg.CgroupRoot, Attach: a.attach, Program: a.prog})
			if err != nil {
				return fmt.Errorf("attaching %s at %s: %w", a.attach, c.cfg.CgroupRoot, err)
			}
			if err := l.Pin(path); err != nil {
				l.Close()
				return fmt.Errorf("pinning the link %s: %w", path, err)
			}
		default:
			return fmt.Errorf("loading the pinned link %s: %w", path, err)
		}
		c.links = append(c.links, l)
	}
	return nil
}

// unpinLink detaches and unpins the link pinned at path, if any.
func unpinLink(path string) error {
	l, err := link.LoadPinnedLink(path, nil)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("loading the pinned link %s: %w", path, err)
	}
	defer l.Close()
	if err := l.Detach(); err != nil && !errors.Is(err, ebpf.ErrNotSupported) {
		return fmt.Errorf("detaching the link %s: %w", path, err)
	}
	if err := l.Unpin(); err != nil {
		return fmt.Errorf("unpinning the link %s: %w", path, err)
	}
	return nil
}

// findRetired loads the counting maps of older layouts, which the links no
// longer lead to, and marks them retired under a last epoch.
func (c *Counter) findRetired() error {
	ents, err := os.ReadDir(c.pin.dir)
	if err != nil {
		return fmt.Errorf("listing the pin directory: %w", err)
	}
	for _, e := range ents {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), "layout-") || e.Name() == c.pin.layout {
			continue
		}
		dir := filepath.Join(c.pin.dir, e.Name())
		maps, err := loadPinnedMaps(dir, countingMaps)
		if err != nil {
			return err
		}
		if maps == nil {
			continue
		}
		r := &retired{layout: e.Name(), dir: dir, maps: maps}
		c.pin.retired = append(c.pin.retired, r) // closed with the Counter from here on
		if err := r.check(); err != nil {
			return err
		}
		if err := r.retire(); err != nil {
			return err
		}
	}
	return nil
}

// check refuses maps whose keys or values this package cannot read.
func (r *retired) check() error {
	for _, name := range []string{flowMapFlows0, flowMapFlows1} {
		m := r.maps[name]
		if m.KeySize() != uint32(unsafe.Sizeof(flowFlowKey{})) || m.ValueSize() != uint32(unsafe.Sizeof(flowFlowVal{})) {
			return fmt.Errorf("the pinned maps of %s hold flows this agent cannot read: run the agent that made "+
				"them once more, or netcost-agent -uninstall (their counts are lost)", r.dir)
		}
	}
	return nil
}

// retire numbers the layout's whole content with one more epoch, once:
// from now on no program writes to it.
func (r *retired) retire() error {
	ctl := r.maps[flowMapCtl]
	var gen, epoch uint32
	if err := ctl.Lookup(uint32(0), &gen); err != nil {
		return fmt.Errorf("reading the map generation of %s: %w", r.dir, err)
	}
	if err := ctl.Lookup(uint32(1), &epoch); err != nil {
		return fmt.Errorf("reading the epoch of %s: %w", r.dir, err)
	}
	if gen < retiredGen {
		epoch++
		if err := ctl.Put(uint32(1), epoch); err != nil {
			return fmt.Errorf("retiring %s: %w", r.dir, err)
		}
		gen += retiredGen
		if err := ctl.Put(uint32(0), gen); err != nil {
			return fmt.Errorf("retiring %s: %w", r.dir, err)
		}
	}
	r.epoch, r.active = uint64(epoch), (gen-retiredGen)&1
	return nil
}

func (r *retired) close() error {
	closeMaps(r.maps)
	r.maps = nil
	return nil
}

// covers says whether a window written under committed accounts for the
// counts named m.
func covers(committed, m Mark) bool {
	return committed.Layout == m.Layout && committed.Epoch >= m.Epoch
}

// Recover hands add the counts the pinned maps hold from before this
// process that committed (the Mark of the last window written) does not
// account for, in batches as Swap does, then calls write with the Mark to
// write them under, and removes them from the kernel once write returned
// nil: an older layout's maps whole, and the generation the last process
// switched away from and did not release (it died before its window was
// written). write is called only after counts were added. Call it after
// Open, before the first Swap; unpinned, it does nothing.
func (c *Counter) Recover(committed Mark, add func(*Deltas), write func(Mark) error) error {
	if c.pin == nil {
		return nil
	}
	for len(c.pin.retired) > 0 {
		r := c.pin.retired[0]
		m := Mark{Layout: r.layout, Epoch: r.epoch}
		if !covers(committed, m) {
			some := false
			for gen := range uint32(2) {
				// The generation switched away from before the retirement
				// may be in a window already.
				if gen != r.active && covers(committed, Mark{Layout: r.layout, Epoch: r.epoch - 1}) {
					continue
				}
				read, err := c.readGen(r.maps[fmt.Sprintf("flows%d", gen)], r.maps[fmt.Sprintf("overflow%d", gen)],
					r.maps[flowMapLost], gen*3, add)
				if err != nil {
					return err
				}
				some = some || read
			}
			if some {
				if err := write(m); err != nil {
					return err
				}
			}
		}
		r.close()
		if err := os.RemoveAll(r.dir); err != nil {
			return fmt.Errorf("removing the drained layout %s: %w", r.dir, err)
		}
		c.pin.retired = c.pin.retired[1:]
	}
	if !c.pin.adopted {
		return nil
	}
	c.pending = true
	if m := c.mark(); !covers(committed, m) {
		flows, ovf, lostBase := c.genMaps(1 - c.gen)
		some, err := c.readGen(flows, ovf, c.objs.Lost, lostBase, add)
		if err != nil {
			return err
		}
		if some {
			if err := write(m); err != nil {
				return err
			}
		}
	}
	return c.Release()
}

// Uninstall detaches the programs pinned under dir and removes the pins
// and directories there: counts no window wrote are gone. A dir that does
// not exist is nothing to do; one holding entries netcost does not make
// (the bpf filesystem's root, with other tools' pins) is refused with
// ErrNotOurs before anything is touched.
func Uninstall(dir string) error {
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	p, err := lockPinPath(dir)
	if err != nil {
		return err
	}
	defer p.close()
	ents, err := checkOurs(dir)
	if err != nil {
		return err
	}
	links := filepath.Join(dir, "links")
	for _, e := range ents {
		if err := unpinLink(filepath.Join(links, e.Name())); err != nil {
			return err
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("removing the pinned maps: %w", err)
	}
	return nil
}

// checkOurs returns the entries of dir/links, after checking that dir
// holds only what openPinned makes: the links directory, with the links
// linkPinned pins, and layout directories.
func checkOurs(dir string) ([]os.DirEntry, error) {
	top, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("listing the pin directory: %w", err)
	}
	var foreign []string
	var links []os.DirEntry
	for _, e := range top {
		switch {
		case e.Name() == "links" && e.IsDir():
			links, err = os.ReadDir(filepath.Join(dir, "links"))
			if err != nil {
				return nil, fmt.Errorf("listing the pinned links: %w", err)
			}
			for _, l := range links {
				if !slices.Contains(pinnedLinks, l.Name()) || l.IsDir() {
					foreign = append(foreign, "links/"+l.Name())
				}
			}
		case strings.HasPrefix(e.Name(), "layout-") && e.IsDir():
		default:
			foreign = append(foreign, e.Name())
		}
	}
	if len(foreign) == 0 {
		return links, nil
	}
	// One line, however many there are and whatever their names hold.
	const shown = 3
	found := ""
	for i, name := range foreign[:min(len(foreign), shown)] {
		if i > 0 {
			found += ", "
		}
		found += strconv.Quote(name)
	}
	if len(foreign) > shown {
		found += fmt.Sprintf(" and %d more", len(foreign)-shown)
	}
	return nil, fmt.Errorf("pin directory %s %w (%s): give -bpffs the agent's own directory "+
		"(default /sys/fs/bpf/netcost)", dir, ErrNotOurs, found)
}
