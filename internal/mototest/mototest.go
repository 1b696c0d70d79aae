// Package mototest runs moto_server, the AWS API emulator preinstalled in
// this project's machines' Python, for tests that talk to AWS APIs.
package mototest

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"testing"
	"time"
)

// Start runs moto_server on a free loopback port until the test ends and
// returns its endpoint URL. Without moto it skips the test, or fails it
// when NETCOST_REQUIRE_ROOT=1 (CI), which must run every test.
func Start(t testing.TB) string { return StartServer(t).URL }

// Server is a moto_server process that a test can stop and start again.
type Server struct {
	URL  string
	t    testing.TB
	port int
	cmd  *exec.Cmd
}

// StartServer runs moto_server on a free loopback port until the test ends.
func StartServer(t testing.TB) *Server {
	t.Helper()
	if err := exec.Command("python3", "-c", "import moto.server").Run(); err != nil {
		if os.Getenv("NETCOST_REQUIRE_ROOT") == "1" {
			t.Fatalf("moto is not installed (python3 -c 'import moto.server': %v); CI needs it", err)
		}
		t.Skipf("moto is not installed (python3 -c 'import moto.server': %v)", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{t: t, port: l.Addr().(*net.TCPAddr).Port}
	l.Close()
	s.URL = fmt.Sprintf("http://127.0.0.1:%d", s.port)
	t.Cleanup(s.Stop)
	s.Restart()
	return s
}

// Stop kills the server; everything it held is gone.
func (s *Server) Stop() {
	if s.cmd != nil {
		s.cmd.Process.Kill()
		s.cmd.Wait()
		s.cmd = nil
	}
}

// Restart stops the server if it runs and starts a new, empty one on the
// same port.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	cmd := exec.Command("python3", "-m", "moto.server", "-H", "127.0.0.1", "-p", fmt.Sprint(s.port))
	if testing.Verbose() {
		cmd.Stderr = os.Stderr
	}
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("starting moto_server: %v", err)
	}
	s.cmd = cmd
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if resp, err := http.Get(s.URL + "/moto-api/"); err == nil {
			resp.Body.Close()
			return
		}
	}
	s.t.Fatalf("moto_server did not answer on %s within 20s", s.URL)
}
