package bpf

import (
	"errors"
	"strings"
	"testing"
)

func TestFindCgroup2(t *testing.T) {
	const v1 = "34 25 0:29 / /sys/fs/cgroup/cpu rw,relatime shared:9 - cgroup cgroup rw,cpu\n"
	tests := []struct {
		name, mountinfo, want string
	}{
		{"pure v2", "30 25 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate\n", "/sys/fs/cgroup"},
		{"hybrid", v1 + "35 25 0:30 / /sys/fs/cgroup/unified rw,relatime shared:10 - cgroup2 cgroup2 rw\n", "/sys/fs/cgroup/unified"},
		{"elsewhere, escaped", v1 + `40 25 0:31 / /run/my\040cgroup rw shared:11 - cgroup2 none rw` + "\n", "/run/my cgroup"},
		{"optional fields", "30 25 0:26 / /sys/fs/cgroup rw shared:4 master:1 - cgroup2 cgroup2 rw\n", "/sys/fs/cgroup"},
	}
	for _, tt := range tests {
		got, err := findCgroup2(strings.NewReader(tt.mountinfo))
		if err != nil || got != tt.want {
			t.Errorf("%s: findCgroup2 = %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
	if _, err := findCgroup2(strings.NewReader(v1)); !errors.Is(err, ErrNoCgroup2) {
		t.Errorf("v1 only: error = %v; want ErrNoCgroup2", err)
	}
}
