// Package node reads the node's identity from the EC2 instance metadata
// service (IMDSv2): instance, AZ and AZ ID, region, VPC and subnet.
package node

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
)

// Identity is where the node runs.
type Identity struct {
	InstanceID string
	Region     string
	AZ         string
	AZID       string
	VPCID      string
	SubnetID   string
	PrivateIP  string
}

// metadata is the one IMDS call Identify needs.
type metadata interface {
	GetMetadata(ctx context.Context, in *imds.GetMetadataInput, opts ...func(*imds.Options)) (*imds.GetMetadataOutput, error)
}

// NewClient returns an IMDSv2 client; endpoint overrides the link-local
// address (for tests and unusual networks).
func NewClient(endpoint string) *imds.Client {
	return imds.New(imds.Options{Endpoint: endpoint})
}

// Identify reads the node's identity. The VPC and subnet are those of the
// primary network interface (by its MAC).
func Identify(ctx context.Context, md metadata) (Identity, error) {
	get := func(path string) (string, error) {
		out, err := md.GetMetadata(ctx, &imds.GetMetadataInput{Path: path})
		if err != nil {
			return "", fmt.Errorf("reading instance metadata %s: %w", path, err)
		}
		defer out.Content.Close()
		b, err := io.ReadAll(io.LimitReader(out.Content, 4096))
		if err != nil {
			return "", fmt.Errorf("reading instance metadata %s: %w", path, err)
		}
		v := strings.TrimSpace(string(b))
		if v == "" {
			return "", fmt.Errorf("reading instance metadata %s: empty", path)
		}
		return v, nil
	}
	var id Identity
	var err error
	for _, f := range []struct {
		dst  *string
		path string
	}{
		{&id.InstanceID, "instance-id"}, {&id.Region, "placement/region"}, {&id.AZ, "placement/availability-zone"},
		{&id.AZID, "placement/availability-zone-id"}, {&id.PrivateIP, "local-ipv4"},
	} {
		if *f.dst, err = get(f.path); err != nil {
			return id, err
		}
	}
	mac, err := get("mac")
	if err != nil {
		return id, err
	}
	if id.VPCID, err = get("network/interfaces/macs/" + mac + "/vpc-id"); err != nil {
		return id, err
	}
	if id.SubnetID, err = get("network/interfaces/macs/" + mac + "/subnet-id"); err != nil {
		return id, err
	}
	return id, nil
}
