// Package cgroups names the cgroup v2 directories the eBPF programs report
// by id: the pod UID and container a kubelet-made path belongs to, and the
// path of an id, found by walking the hierarchy.
package cgroups

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
)

// Pod is what a cgroup path says about its pod.
type Pod struct {
	UID       string // with dashes, as the API server writes it
	QoS       string // guaranteed, burstable or besteffort
	Container string // the container runtime's id, if the path goes that deep
}

// ParsePath reads a kubelet cgroup path, for the systemd driver
// (/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid>.slice/cri-containerd-<id>.scope)
// or the cgroupfs driver (/kubepods/burstable/pod<uid>/<id>). It returns
// false for a path outside kubepods (the node's own services).
func ParsePath(path string) (Pod, bool) {
	var p Pod
	parts := strings.Split(strings.Trim(path, "/"), "/")
	i := 0
	for i < len(parts) && parts[i] != "kubepods" && parts[i] != "kubepods.slice" {
		i++ // a prefix, such as a nested hierarchy's parent
	}
	if i == len(parts) {
		return Pod{}, false
	}
	p.QoS = "guaranteed"
	for _, part := range parts[i+1:] {
		name := strings.TrimSuffix(part, ".slice")
		switch {
		case name == "burstable" || name == "besteffort":
			p.QoS = name
		case strings.HasPrefix(name, "kubepods-burstable-pod"), strings.HasPrefix(name, "kubepods-besteffort-pod"), strings.HasPrefix(name, "kubepods-pod"):
			uid := name[strings.LastIndex(name, "-pod")+len("-pod"):]
			p.UID = strings.ReplaceAll(uid, "_", "-") // systemd cannot have dashes in a slice's own name
			if strings.HasPrefix(name, "kubepods-burstable") {
				p.QoS = "burstable"
			} else if strings.HasPrefix(name, "kubepods-besteffort") {
				p.QoS = "besteffort"
			}
		case name == "kubepods-burstable", name == "kubepods-besteffort":
			p.QoS = strings.TrimPrefix(name, "kubepods-")
		case strings.HasPrefix(name, "pod") && p.UID == "":
			p.UID = strings.TrimPrefix(name, "pod")
		case p.UID != "" && p.Container == "":
			c := strings.TrimSuffix(part, ".scope")
			if j := strings.LastIndex(c, "-"); j >= 0 && strings.HasSuffix(part, ".scope") {
				c = c[j+1:] // cri-containerd-<id>.scope, crio-<id>.scope, docker-<id>.scope
			}
			p.Container = c
		}
	}
	if len(p.UID) != 36 {
		return Pod{}, false
	}
	return p, true
}

// ErrNotFound is returned for a cgroup id no directory has.
var ErrNotFound = errors.New("no cgroup with that id")

// Resolver maps cgroup ids (a cgroup v2 directory's inode number) to paths
// relative to the hierarchy's root. It walks the hierarchy again when asked
// for an id it does not know, at most once per lookup. Safe for concurrent use.
type Resolver struct {
	root  string
	mu    sync.Mutex
	paths map[uint64]string
}

// NewResolver returns a Resolver over the cgroup v2 hierarchy mounted at root.
func NewResolver(root string) *Resolver {
	return &Resolver{root: root, paths: map[uint64]string{}}
}

// Path returns the path of cgroup id, such as /kubepods.slice/... .
func (r *Resolver) Path(id uint64) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if p, ok := r.paths[id]; ok {
		return p, nil
	}
	if err := r.walk(); err != nil {
		return "", err
	}
	if p, ok := r.paths[id]; ok {
		return p, nil
	}
	return "", fmt.Errorf("cgroup %d: %w", id, ErrNotFound)
}

// walk rebuilds the id -> path table; cgroups that went away are dropped.
func (r *Resolver) walk() error {
	paths := map[uint64]string{}
	err := filepath.WalkDir(r.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p != r.root && errors.Is(err, fs.ErrNotExist) {
				return nil // removed while walking
			}
			return err
		}
		if !d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		st, ok := info.Sys().(*syscall.Stat_t)
		if !ok {
			return nil
		}
		rel, _ := filepath.Rel(r.root, p)
		paths[st.Ino] = "/" + strings.TrimPrefix(filepath.ToSlash(rel), ".")
		return nil
	})
	if err != nil {
		return fmt.Errorf("walking the cgroup hierarchy at %s: %w", r.root, err)
	}
	r.paths = paths
	return nil
}
