package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netcost/netcost/internal/sample"
)

func TestRun(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"-o", filepath.Join(dir, "store")}, 0},
		{[]string{"-o", filepath.Join(dir, "scaled"), "-records", "1000", "-seed", "3"}, 0},
		{[]string{"-h"}, 0},
		{[]string{"-bogus"}, 2},
		{[]string{"-records", "-1"}, 2},
		{[]string{"-records", "x"}, 2},
		{[]string{"-o", filepath.Join(dir, "x"), "extra"}, 2},
		{[]string{"-o", ""}, 2},
		{[]string{"-o", filepath.Join(dir, "store", sample.NodeAZ1+".jsonl", "sub")}, 1},
	} {
		var stderr bytes.Buffer
		if code := run(tc.args, &stderr); code != tc.code {
			t.Errorf("samplegen %q: exit %d, want %d; stderr:\n%s", tc.args, code, tc.code, stderr.String())
		}
		if tc.code != 0 && strings.Count(stderr.String(), "\n") != 1 {
			t.Errorf("samplegen %q: want one line on stderr, got:\n%s", tc.args, stderr.String())
		}
	}
	for _, name := range []string{"store/" + sample.NodeAZ1 + ".jsonl", "store/" + sample.NodeAZ2 + ".jsonl.gz", "scaled/" + sample.ScaledFileName(0)} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Error(err)
		}
	}
}
