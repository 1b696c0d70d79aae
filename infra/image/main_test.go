package main

import (
	"archive/tar"
	"bytes"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/netcost/netcost/internal/netnstest"
)

// tinyBinaries builds a small static program for amd64 and arm64.
func tinyBinaries(t *testing.T) map[string]string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(dir, "main.go")
	if err := os.WriteFile(src, []byte("package main\n\nfunc main() { println(\"tiny\") }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bins := map[string]string{}
	for _, arch := range []string{"amd64", "arm64"} {
		out := filepath.Join(dir, "tiny-"+arch)
		cmd := exec.Command("go", "build", "-trimpath", "-o", out, src)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch, "GOFLAGS=", "GO111MODULE=off")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("building the tiny binary: %v\n%s", err, b)
		}
		bins["linux/"+arch] = out
	}
	return bins
}

// files reads an image's only layer.
func files(t *testing.T, img v1.Image) map[string]*tar.Header {
	t.Helper()
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers: %d, %v; want 1", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	out := map[string]*tar.Header{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			h.PAXRecords = map[string]string{"content": string(b)} // carried for the test
		}
		out[h.Name] = h
	}
}

func TestImage(t *testing.T) {
	bins := tinyBinaries(t)
	certs := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(certs, []byte("-----BEGIN CERTIFICATE-----\nnot checked here\n-----END CERTIFICATE-----\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-tag", "v9", "-version", "9.0.0", "-ca-certs", certs}
	for p, b := range bins {
		args = append(args, "-binary", p+"="+b)
	}
	dirs := []string{filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")}
	var digests []v1.Hash
	for _, dir := range dirs {
		var log bytes.Buffer
		if err := run(append(args, "-o", dir), &log); err != nil {
			t.Fatalf("run: %v\n%s", err, log.String())
		}
		idx, err := layout.ImageIndexFromPath(dir)
		if err != nil {
			t.Fatal(err)
		}
		top, err := idx.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		if len(top.Manifests) != 1 || top.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != "v9" {
			t.Fatalf("the layout holds %+v; want one index named v9", top.Manifests)
		}
		digests = append(digests, top.Manifests[0].Digest)
	}
	// Reproducible: the same inputs twice, the same digest.
	if digests[0] != digests[1] {
		t.Errorf("two builds of the same inputs: index digests %s and %s", digests[0], digests[1])
	}

	idx, err := layout.ImageIndexFromPath(dirs[0])
	if err != nil {
		t.Fatal(err)
	}
	images, err := idx.ImageIndex(digests[0])
	if err != nil {
		t.Fatal(err)
	}
	im, err := images.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var platforms []string
	for _, d := range im.Manifests {
		platforms = append(platforms, d.Platform.OS+"/"+d.Platform.Architecture)
		img, err := images.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		p := d.Platform.OS + "/" + d.Platform.Architecture
		if cf.OS+"/"+cf.Architecture != p {
			t.Errorf("%s: the config says %s/%s", p, cf.OS, cf.Architecture)
		}
		if !slices.Equal(cf.Config.Entrypoint, []string{"/usr/local/bin/netcost-agent"}) {
			t.Errorf("%s: entrypoint %v; want /usr/local/bin/netcost-agent", p, cf.Config.Entrypoint)
		}
		if cf.Config.Labels["org.opencontainers.image.version"] != "9.0.0" || cf.Config.Labels["org.opencontainers.image.title"] != "netcost-agent" {
			t.Errorf("%s: labels %v", p, cf.Config.Labels)
		}
		want, err := os.ReadFile(bins[p])
		if err != nil {
			t.Fatal(err)
		}
		fs := files(t, img)
		bin, ok := fs["usr/local/bin/netcost-agent"]
		if !ok {
			t.Fatalf("%s: no usr/local/bin/netcost-agent in the layer (have %v)", p, slices.Sorted(maps.Keys(fs)))
		}
		if bin.PAXRecords["content"] != string(want) || bin.Mode&0o111 == 0 || bin.Uid != 0 {
			t.Errorf("%s: the layer's binary is %d bytes, mode %o, uid %d; want the %s binary's %d bytes, executable, root's",
				p, bin.Size, bin.Mode, bin.Uid, p, len(want))
		}
		if c := fs["etc/ssl/certs/ca-certificates.crt"]; c == nil || !strings.Contains(c.PAXRecords["content"], "not checked here") {
			t.Errorf("%s: the CA bundle is not at etc/ssl/certs/ca-certificates.crt", p)
		}
	}
	if !slices.Equal(platforms, []string{"linux/amd64", "linux/arm64"}) {
		t.Errorf("platforms %v; want linux/amd64 and linux/arm64", platforms)
	}

	// A different binary, a different digest.
	other := filepath.Join(t.TempDir(), "other")
	if err := os.WriteFile(other, []byte("not the same"), 0o755); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "c")
	if err := run([]string{"-o", dir, "-tag", "v9", "-version", "9.0.0", "-ca-certs", certs, "-binary", "linux/amd64=" + bins["linux/amd64"], "-binary", "linux/arm64=" + other}, io.Discard); err != nil {
		t.Fatal(err)
	}
	idx2, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	if top, err := idx2.IndexManifest(); err != nil || top.Manifests[0].Digest == digests[0] {
		t.Errorf("another arm64 binary gives the same digest %s (%v)", digests[0], err)
	}
}

func TestBadFlags(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{nil, "no -binary"},
		{[]string{"-binary", "amd64=x"}, "want os/arch=path"},
		{[]string{"-binary", "linux/amd64=/nonexistent"}, "reading the linux/amd64 binary"},
		{[]string{"-binary", "linux/amd64=/dev/null", "-ca-certs", "/nonexistent"}, "reading the CA bundle"},
	} {
		if err := run(tt.args, io.Discard); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("run(%q) = %v; want an error containing %q", tt.args, err, tt.want)
		}
	}
}

// TestImageRuns builds the image from the real agent, unpacks this
// machine's platform into a directory and runs its entrypoint there with
// chroot: the binary needs nothing the image does not have.
func TestImageRuns(t *testing.T) {
	netnstest.RequireRoot(t, "chroot")
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "netcost-agent")
	// Static, as `make image` builds it; without -trimpath, which changes
	// nothing the image needs and would compile every package again (5
	// minutes of a cold CI run on 2 vCPUs).
	build := exec.Command("go", "build", "-ldflags=-s", "-o", bin, "../../agent")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the agent: %v\n%s", err, out)
	}
	platform := "linux/" + runtime.GOARCH
	if err := run([]string{"-o", filepath.Join(tmp, "oci"), "-binary", platform + "=" + bin}, io.Discard); err != nil {
		t.Fatal(err)
	}
	idx, err := layout.ImageIndexFromPath(filepath.Join(tmp, "oci"))
	if err != nil {
		t.Fatal(err)
	}
	top, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	images, err := idx.ImageIndex(top.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	im, err := images.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	img, err := images.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(tmp, "rootfs")
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(root, filepath.Clean("/"+h.Name))
		switch h.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(p, os.FileMode(h.Mode))
		case tar.TypeReg:
			var b []byte
			if b, err = io.ReadAll(tr); err == nil {
				err = os.WriteFile(p, b, os.FileMode(h.Mode))
			}
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("chroot", append([]string{root}, append(cf.Config.Entrypoint, "-help")...)...).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "-metrics-addr") {
		t.Errorf("chroot %s %v -help: %v\n%s", root, cf.Config.Entrypoint, err, out)
	}
}
