package kubetest

import (
	"os/exec"
	"runtime"
	"syscall"
)

// startTied starts cmd so that the kernel kills it when the test process
// dies, even by SIGKILL, leaving no etcd behind. Pdeathsig fires when the
// starting thread exits, so the calling goroutine keeps that thread locked
// until cmd ends (launch waits for cmd on the same goroutine).
func startTied(cmd *exec.Cmd) error {
	runtime.LockOSThread()
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd.Start()
}
