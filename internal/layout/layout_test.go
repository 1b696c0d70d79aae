package layout

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/netcost/netcost"

// deps lists the non-standard packages that pkgs depend on, themselves included.
func deps(t *testing.T, pkgs ...string) []string {
	t.Helper()
	args := append([]string{"list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}"}, pkgs...)
	cmd := exec.Command("go", args...)
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, ee.Stderr)
		}
		t.Fatalf("go %s: %v", strings.Join(args, " "), err)
	}
	return strings.Fields(string(out))
}

// TestImportRules enforces DESIGN.md: cmd and lambda never import agent or
// bpf (they build on macOS); costmodel and internal/flows import nothing
// but the standard library, internal/flows and internal/safetext (the
// escaping that flows' validator shares with the renderers), which imports
// only the standard library.
func TestImportRules(t *testing.T) {
	for _, goos := range []string{"linux", "darwin"} {
		t.Run("cmd+lambda/"+goos, func(t *testing.T) {
			t.Setenv("GOOS", goos)
			got := deps(t, "./cmd/...", "./lambda/...")
			if !slices.Contains(got, module+"/lambda") {
				t.Fatalf("go list -deps did not list the lambda package: %v", got)
			}
			for _, d := range got {
				if strings.HasPrefix(d, module+"/agent") || strings.HasPrefix(d, module+"/bpf") || strings.Contains(d, "cilium/ebpf") {
					t.Errorf("cmd or lambda depends on %s; cmd and lambda must not import agent or bpf", d)
				}
			}
		})
	}
	pure := map[string]bool{module + "/internal/flows": true, module + "/costmodel": true, module + "/internal/safetext": true}
	for _, pkg := range []string{"./costmodel", "./internal/flows", "./internal/safetext"} {
		t.Run(pkg, func(t *testing.T) {
			got := deps(t, pkg)
			if len(got) == 0 {
				t.Fatalf("go list -deps %s listed nothing", pkg)
			}
			for _, d := range got {
				if !pure[d] {
					t.Errorf("%s depends on %s; it may import only the standard library, internal/flows and internal/safetext", pkg, d)
				}
			}
		})
	}
}

// TestSourceFetchesNeverPrices enforces DESIGN.md's read path: the
// sources (internal/source) fetch records and never price them, so they
// never import costmodel; internal/query, over them, does.
func TestSourceFetchesNeverPrices(t *testing.T) {
	got := deps(t, "./internal/source/...")
	if !slices.Contains(got, module+"/internal/source") {
		t.Fatalf("go list -deps did not list internal/source: %v", got)
	}
	for _, d := range got {
		if d == module+"/costmodel" || strings.HasPrefix(d, module+"/costmodel/") || d == module+"/internal/query" {
			t.Errorf("internal/source depends on %s; it fetches records and must not price them", d)
		}
	}
}

// TestOnlyBPFImportsCiliumEBPF: the loader in bpf/ is the one place that
// speaks to the kernel's BPF interface.
func TestOnlyBPFImportsCiliumEBPF(t *testing.T) {
	cmd := exec.Command("go", "list", "-test", "-f", `{{.ImportPath}} {{join .Imports " "}}`, "./...")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], module+"/bpf") {
			continue
		}
		for _, imp := range f[1:] {
			if strings.HasPrefix(imp, "github.com/cilium/ebpf") {
				t.Errorf("%s imports %s; only bpf may", f[0], imp)
			}
		}
	}
}

// TestBuildsOnMacOS builds the CLI and the Lambda for macOS: DESIGN promises
// that they build there, and a syscall that only Linux has breaks it.
func TestBuildsOnMacOS(t *testing.T) {
	cmd := exec.Command("go", "build", "-o", os.DevNull, "./cmd/netcost", "./lambda")
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), "GOOS=darwin", "GOARCH=arm64", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("GOOS=darwin go build ./cmd/netcost ./lambda: %v\n%s", err, out)
	}
}
