package testbed

import (
	"fmt"
	"os"
	"sync"

	"github.com/netcost/netcost/internal/mototest"
)

// Program is T for a program rather than a test: Errorf prints a line to stderr after the program's name,
// and Fatalf unwinds to Run, which undoes what Cleanup registered, last first, on every way out.
type Program struct {
	Name string // prefixes each message, as "demo: ..."

	mu       sync.Mutex
	cleanups []func()
}

// programFatal is the panic with which Fatalf unwinds to Run.
type programFatal struct{ msg string }

func (p *Program) Helper() {}

func (p *Program) Errorf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, p.Name+": "+format+"\n", args...)
}

func (p *Program) Fatalf(format string, args ...any) {
	panic(programFatal{fmt.Sprintf(format, args...)})
}

func (p *Program) Cleanup(f func()) {
	p.mu.Lock()
	p.cleanups = append(p.cleanups, f)
	p.mu.Unlock()
}

// Run calls f, then the cleanups, and returns f's exit status, or 1 if f called Fatalf, whose message it
// prints. Any other panic goes on after the cleanups.
func (p *Program) Run(f func() int) (code int) {
	defer func() {
		p.cleanup()
		if r := recover(); r != nil {
			fatal, ok := r.(programFatal)
			if !ok {
				panic(r)
			}
			p.Errorf("%s", fatal.msg)
			code = 1
		}
	}()
	return f()
}

func (p *Program) cleanup() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := len(p.cleanups) - 1; i >= 0; i-- {
		p.cleanups[i]()
	}
	p.cleanups = nil
}

// Moto starts moto_server on a free port until t's cleanup, for a program (a test has mototest.Start), and
// returns its endpoint.
func Moto(t T) string {
	t.Helper()
	port, err := mototest.FreePort()
	if err != nil {
		t.Fatalf("finding a port for moto_server: %v", err)
	}
	moto, err := mototest.Launch(port, nil)
	if err != nil {
		t.Fatalf("starting moto_server: %v (is python3 -m moto.server installed?)", err)
	}
	t.Cleanup(func() { moto.Process.Kill(); moto.Wait() })
	return fmt.Sprintf("http://127.0.0.1:%d", port)
}
