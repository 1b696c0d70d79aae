// Package mototest runs moto_server, the AWS API emulator preinstalled in
// this project's machines' Python, for tests that talk to AWS APIs.
package mototest

import (
	"fmt"
	"io"
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
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{t: t, port: port}
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
	var stderr io.Writer
	if testing.Verbose() {
		stderr = os.Stderr
	}
	cmd, err := Launch(s.port, stderr)
	if err != nil {
		s.t.Fatalf("%v", err)
	}
	s.cmd = cmd
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Launch starts moto_server on 127.0.0.1:port and returns it once it
// answers (at most 20s), for tests and for programs (agent/demo) alike. The
// caller kills it.
func Launch(port int, stderr io.Writer) (*exec.Cmd, error) {
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	cmd := exec.Command("python3", "-m", "moto.server", "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting moto_server: %w", err)
	}
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if resp, err := http.Get(url + "/moto-api/"); err == nil {
			resp.Body.Close()
			return cmd, nil
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	return nil, fmt.Errorf("moto_server did not answer on %s within 20s", url)
}
