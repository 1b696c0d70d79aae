// Command image builds the agent's container image from static binaries,
// without a Docker engine: an OCI image layout directory holding one image
// index (tagged -tag) with an image per platform. Each image is one layer:
// the binary at /usr/local/bin/netcost-agent and the CA certificates the
// agent's HTTPS calls need. The same inputs give the same digests.
//
//	go run ./infra/image -o bin/netcost-agent-oci -tag v1 \
//	    -binary linux/amd64=bin/linux_amd64/netcost-agent -binary linux/arm64=bin/linux_arm64/netcost-agent
//
// `make image` builds the binaries and runs it. Push the layout with
// `skopeo copy --all oci:bin/netcost-agent-oci:v1 docker://REGISTRY/netcost-agent:v1`
// or `crane push --index bin/netcost-agent-oci REGISTRY/netcost-agent:v1`.
package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Where things are in the image.
const (
	binaryPath = "usr/local/bin/netcost-agent"
	certsPath  = "etc/ssl/certs/ca-certificates.crt"
)

// options say what goes into the image.
type options struct {
	binaries map[string]string // "linux/amd64" -> path of the static binary
	caCerts  string            // PEM bundle; empty: none
	version  string
	created  time.Time
}

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "image:", err)
		}
		os.Exit(2)
	}
}

// binaryFlag is -binary os/arch=path, repeatable.
type binaryFlag map[string]string

func (b binaryFlag) String() string { return fmt.Sprint(map[string]string(b)) }

func (b binaryFlag) Set(v string) error {
	platform, path, ok := strings.Cut(v, "=")
	if os, arch, okp := strings.Cut(platform, "/"); !ok || !okp || os == "" || arch == "" || path == "" {
		return fmt.Errorf("%q: want os/arch=path, e.g. linux/amd64=bin/linux_amd64/netcost-agent", v)
	}
	b[platform] = path
	return nil
}

func run(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("image", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := options{binaries: binaryFlag{}}
	out := fs.String("o", "bin/netcost-agent-oci", "OCI image layout directory to write (replaced)")
	tag := fs.String("tag", "latest", "the index's name in the layout (org.opencontainers.image.ref.name)")
	fs.Var(binaryFlag(o.binaries), "binary", "os/arch=path of a static agent binary; repeat for each platform")
	fs.StringVar(&o.caCerts, "ca-certs", "/etc/ssl/certs/ca-certificates.crt", "CA bundle for the agent's HTTPS calls (AWS APIs, ip-ranges); empty: none")
	fs.StringVar(&o.version, "version", "dev", "org.opencontainers.image.version label")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if len(o.binaries) == 0 {
		return errors.New("no -binary: give at least one os/arch=path")
	}
	// Reproducible builds name their time in SOURCE_DATE_EPOCH; else 1970.
	o.created = time.Unix(0, 0).UTC()
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		sec, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("SOURCE_DATE_EPOCH %q: want Unix seconds", s)
		}
		o.created = time.Unix(sec, 0).UTC()
	}
	idx, err := build(o)
	if err != nil {
		return err
	}
	d, err := write(*out, *tag, idx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "wrote %s: %s:%s %s\n", *out, "netcost-agent", *tag, d)
	return nil
}

// build makes the image index: one image per binary, in platform order.
func build(o options) (v1.ImageIndex, error) {
	var certs []byte
	if o.caCerts != "" {
		var err error
		if certs, err = os.ReadFile(o.caCerts); err != nil {
			return nil, fmt.Errorf("reading the CA bundle (-ca-certs \"\" for none): %w", err)
		}
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range slices.Sorted(maps.Keys(o.binaries)) {
		bin, err := os.ReadFile(o.binaries[p])
		if err != nil {
			return nil, fmt.Errorf("reading the %s binary: %w", p, err)
		}
		osName, arch, _ := strings.Cut(p, "/")
		img, err := image(bin, certs, osName, arch, o)
		if err != nil {
			return nil, fmt.Errorf("building the %s image: %w", p, err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img,
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: osName, Architecture: arch}}})
	}
	return idx, nil
}

// image is one platform's image.
func image(bin, certs []byte, osName, arch string, o options) (v1.Image, error) {
	files, err := layerTar(bin, certs, o.created)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(files)), nil },
		tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{Layer: layer, History: v1.History{
		Created: v1.Time{Time: o.created}, CreatedBy: "infra/image: netcost-agent and CA certificates"}})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = osName, arch
	cf.Created = v1.Time{Time: o.created}
	cf.Config = v1.Config{
		Entrypoint: []string{"/" + binaryPath},
		// Root: loading eBPF needs capabilities a non-root user cannot be
		// given in a pod, and the state directory is a root-owned hostPath.
		// The agent drops all but CAP_BPF once its programs are attached.
		User:       "0",
		WorkingDir: "/",
		Labels: map[string]string{
			"org.opencontainers.image.title":       "netcost-agent",
			"org.opencontainers.image.description": "netcost's node agent: counts every TCP and UDP byte of the node's pods with eBPF and says how AWS bills it",
			"org.opencontainers.image.source":      "https://github.com/netcost/netcost",
			"org.opencontainers.image.version":     o.version,
		},
	}
	return mutate.ConfigFile(img, cf)
}

// layerTar is the layer's files, with fixed owners and times.
func layerTar(bin, certs []byte, created time.Time) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dir := func(name string) error {
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: 0o755, ModTime: created, Format: tar.FormatPAX})
	}
	file := func(name string, mode int64, b []byte) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(b)), ModTime: created, Format: tar.FormatPAX}); err != nil {
			return err
		}
		_, err := tw.Write(b)
		return err
	}
	for _, d := range []string{"etc", "etc/ssl", "etc/ssl/certs", "usr", "usr/local", "usr/local/bin"} {
		if err := dir(d); err != nil {
			return nil, err
		}
	}
	if certs != nil {
		if err := file(certsPath, 0o644, certs); err != nil {
			return nil, err
		}
	}
	if err := file(binaryPath, 0o755, bin); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// write replaces dir with an OCI image layout holding idx as tag, and
// returns idx's digest.
func write(dir, tag string, idx v1.ImageIndex) (v1.Hash, error) {
	if err := os.RemoveAll(dir); err != nil {
		return v1.Hash{}, err
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("writing the layout %s: %w", dir, err)
	}
	if err := p.AppendIndex(idx, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": tag})); err != nil {
		return v1.Hash{}, fmt.Errorf("writing the image to %s: %w", dir, err)
	}
	return idx.Digest()
}
