package bpf

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// ErrNoCgroup2 is returned when no cgroup v2 hierarchy is mounted.
var ErrNoCgroup2 = errors.New("no cgroup v2 mount found")

// FindCgroup2 returns the mount point of the cgroup v2 hierarchy: the
// unified /sys/fs/cgroup on a pure v2 host, or the cgroup2 mount (such as
// /sys/fs/cgroup/unified) beside the v1 controllers on a hybrid one.
func FindCgroup2() (string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "", fmt.Errorf("finding the cgroup v2 mount: %w", err)
	}
	defer f.Close()
	return findCgroup2(f)
}

// findCgroup2 reads mountinfo(5) lines: the fifth field is the mount point,
// and the field after the " - " separator is the filesystem type.
func findCgroup2(r io.Reader) (string, error) {
	var found []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		fields, fs := strings.Fields(pre), strings.Fields(post)
		if len(fields) < 5 || len(fs) < 1 || fs[0] != "cgroup2" {
			continue
		}
		found = append(found, unescapeMount(fields[4]))
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("reading mountinfo: %w", err)
	}
	if len(found) == 0 {
		return "", ErrNoCgroup2
	}
	for _, p := range found { // the standard places first
		if p == "/sys/fs/cgroup" || p == "/sys/fs/cgroup/unified" {
			return p, nil
		}
	}
	return found[0], nil
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var c byte
			ok := true
			for _, d := range s[i+1 : i+4] {
				if d < '0' || d > '7' {
					ok = false
					break
				}
				c = c*8 + byte(d-'0')
			}
			if ok {
				b.WriteByte(c)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
