package cgroups

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestParsePath(t *testing.T) {
	const uid = "8a3f7c1e-2b4d-4e6f-9a1b-3c5d7e9f1a2b"
	const u = "8a3f7c1e_2b4d_4e6f_9a1b_3c5d7e9f1a2b"
	tests := []struct {
		path string
		want Pod
		ok   bool
	}{
		{"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + u + ".slice/cri-containerd-4f1b2c.scope", Pod{uid, "burstable", "4f1b2c"}, true},
		{"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + u + ".slice", Pod{uid, "besteffort", ""}, true},
		{"/kubepods.slice/kubepods-pod" + u + ".slice/crio-77aa.scope", Pod{uid, "guaranteed", "77aa"}, true},
		{"/kubepods/burstable/pod" + uid + "/0f9e8d7c", Pod{uid, "burstable", "0f9e8d7c"}, true},
		{"/kubepods/pod" + uid + "/0f9e8d7c", Pod{uid, "guaranteed", "0f9e8d7c"}, true},
		{"/kubepods/besteffort/pod" + uid, Pod{uid, "besteffort", ""}, true},
		{"/system.slice/containerd.service", Pod{}, false},
		{"/", Pod{}, false},
		{"/kubepods.slice/kubepods-burstable.slice", Pod{}, false},
		{"/kubepods/burstable/podnot-a-uid/x", Pod{}, false},
	}
	for _, tt := range tests {
		got, ok := ParsePath(tt.path)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParsePath(%s) = %+v, %v; want %+v, %v", tt.path, got, ok, tt.want, tt.ok)
		}
	}
}

func ino(t *testing.T, p string) uint64 {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(p, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

// TestResolver walks a directory tree shaped like a cgroup hierarchy: a
// directory's inode number is its cgroup id in cgroup v2.
func TestResolver(t *testing.T) {
	root := t.TempDir()
	pod := filepath.Join(root, "kubepods.slice", "kubepods-podabc.slice")
	if err := os.MkdirAll(pod, 0o755); err != nil {
		t.Fatal(err)
	}
	r := NewResolver(root)
	if p, err := r.Path(ino(t, pod)); err != nil || p != "/kubepods.slice/kubepods-podabc.slice" {
		t.Errorf("Path = %q, %v", p, err)
	}
	if p, err := r.Path(ino(t, root)); err != nil || p != "/" {
		t.Errorf("Path(root) = %q, %v; want /", p, err)
	}
	// A cgroup made later is found by walking again.
	late := filepath.Join(pod, "cri-containerd-1.scope")
	os.Mkdir(late, 0o755)
	if p, err := r.Path(ino(t, late)); err != nil || p != "/kubepods.slice/kubepods-podabc.slice/cri-containerd-1.scope" {
		t.Errorf("Path(late) = %q, %v", p, err)
	}
	if _, err := r.Path(1 << 60); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown id: error %v; want ErrNotFound", err)
	}
	if _, err := NewResolver(filepath.Join(root, "missing")).Path(1); err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("missing root: error %v; want a walk error", err)
	}
}
