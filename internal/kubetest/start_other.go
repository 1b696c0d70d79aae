//go:build !linux

package kubetest

import "os/exec"

// startTied starts cmd; only Linux can tie its life to the test's.
func startTied(cmd *exec.Cmd) error { return cmd.Start() }
