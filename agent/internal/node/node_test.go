package node

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// imdsServer speaks IMDSv2 as EC2 does: a PUT for a session token, then
// GETs that must carry it. No emulator of IMDS exists here; this one
// follows the documented protocol and the SDK's client talks to it.
func imdsServer(t *testing.T, values map[string]string) *httptest.Server {
	t.Helper()
	const token = "AQAEAOpfRI2x-token"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPut && r.URL.Path == "/latest/api/token":
			ttl := r.Header.Get("X-aws-ec2-metadata-token-ttl-seconds")
			if ttl == "" {
				http.Error(w, "missing ttl", http.StatusBadRequest)
				return
			}
			w.Header().Set("X-aws-ec2-metadata-token-ttl-seconds", ttl)
			w.Write([]byte(token))
		case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/latest/meta-data/"):
			if r.Header.Get("X-aws-ec2-metadata-token") != token {
				http.Error(w, "unauthorized", http.StatusUnauthorized) // IMDSv1 is off
				return
			}
			v, ok := values[strings.TrimPrefix(r.URL.Path, "/latest/meta-data/")]
			if !ok {
				http.NotFound(w, r)
				return
			}
			w.Write([]byte(v))
		default:
			http.Error(w, "bad request", http.StatusBadRequest)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

var node1 = map[string]string{
	"instance-id": "i-0abc123def4567890", "placement/region": "us-east-1", "placement/availability-zone": "us-east-1a",
	"placement/availability-zone-id": "use1-az1", "local-ipv4": "10.0.1.10", "mac": "0e:11:22:33:44:55",
	"network/interfaces/macs/0e:11:22:33:44:55/vpc-id":    "vpc-0123456789abcdef0",
	"network/interfaces/macs/0e:11:22:33:44:55/subnet-id": "subnet-0a1b2c3d4e5f60001",
}

func TestIdentify(t *testing.T) {
	srv := imdsServer(t, node1)
	id, err := Identify(t.Context(), NewClient(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	want := Identity{InstanceID: "i-0abc123def4567890", Region: "us-east-1", AZ: "us-east-1a", AZID: "use1-az1",
		VPCID: "vpc-0123456789abcdef0", SubnetID: "subnet-0a1b2c3d4e5f60001", PrivateIP: "10.0.1.10"}
	if id != want {
		t.Errorf("Identify = %+v; want %+v", id, want)
	}
}

func TestIdentifyErrors(t *testing.T) {
	partial := map[string]string{}
	for k, v := range node1 {
		partial[k] = v
	}
	delete(partial, "placement/availability-zone-id")
	if _, err := Identify(t.Context(), NewClient(imdsServer(t, partial).URL)); err == nil || !strings.Contains(err.Error(), "placement/availability-zone-id") {
		t.Errorf("missing AZ ID: error = %v; want one naming it", err)
	}
	// Nothing listening: a clear error, within the caller's deadline.
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	if _, err := Identify(ctx, NewClient("http://127.0.0.1:1")); err == nil || !strings.Contains(err.Error(), "reading instance metadata instance-id") {
		t.Errorf("unreachable IMDS: error = %v", err)
	}
}
