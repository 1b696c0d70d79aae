package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestREADMEOutput: the output the README shows is what netcost prints for
// the command written above it, so the one example a newcomer reads is real.
func TestREADMEOutput(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```\n\\$ go run ./cmd/netcost ([^\n]*)\n(.*?)```").FindSubmatch(readme)
	if m == nil {
		t.Fatal("README has no ``` block starting with `$ go run ./cmd/netcost ...`")
	}
	args := strings.Fields(string(m[1]))
	for i, a := range args {
		args[i] = strings.Replace(a, "file:testdata/store", "file:"+store, 1)
	}
	if got, want := mustRun(t, args...), string(m[2]); got != want {
		t.Errorf("README shows for `netcost %s`:\n%s\nnetcost prints:\n%s", m[1], want, got)
	}
}
