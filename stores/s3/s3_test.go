package s3

import (
	"errors"
	"net"
	"net/url"
	"strings"
	"syscall"
	"testing"

	"github.com/minio/minio-go/v7"

	"dpsim/topology"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		indefinite bool
	}{
		{"access denied", minio.ErrorResponse{StatusCode: 403, Code: "AccessDenied"}, false},
		{"no such bucket", minio.ErrorResponse{StatusCode: 404, Code: "NoSuchBucket"}, false},
		{"write quorum not met", minio.ErrorResponse{StatusCode: 503, Code: "SlowDownWrite"}, true},
		{"internal error", minio.ErrorResponse{StatusCode: 500, Code: "InternalError"}, true},
		{"request timeout", minio.ErrorResponse{StatusCode: 408, Code: "RequestTimeout"}, true},
		{"connection refused", &url.Error{Op: "Put", URL: "http://x", Err: &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}}, false},
		{"reset after send", &url.Error{Op: "Put", URL: "http://x", Err: &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}}, true},
		{"something else", errors.New("odd"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Classify(tt.err)
			if got == nil || errors.Is(got, topology.ErrIndefinite) != tt.indefinite {
				t.Errorf("Classify(%v) = %v, want indefinite %v", tt.err, got, tt.indefinite)
			}
		})
	}
}

func TestBucketName(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{"tenant-a", "tenant-a", false},
		{"Tenant_B", "tenant-b", false},
		{"-a-", "a00", false},
		{"a..b", "a.b", false},
		{"10.0.0.1", "b-10.0.0.1", false},
		{strings.Repeat("x", 70), strings.Repeat("x", 63), false},
		{"--", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := BucketName(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("BucketName(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestTolerates(t *testing.T) {
	tests := []struct {
		name                          string
		servers, live, drives, parity int
		want                          int
	}{
		{"one server, 4 drives, EC:2", 1, 1, 4, 2, 0},
		{"one server down", 1, 0, 4, 2, -1},
		{"two servers of 2 drives, EC:2", 2, 2, 4, 2, 1},
		{"two servers, one down", 2, 1, 4, 2, 0},
		{"four servers of 1 drive, EC:2", 4, 4, 4, 2, 2},
		{"four servers, EC:1", 4, 4, 4, 1, 1},
		{"four servers, two down, EC:2", 4, 2, 4, 2, 0},
		{"three servers of 2 drives (6), EC:3", 3, 3, 6, 3, 1},
		{"no parity", 4, 4, 4, 0, 0},
		{"no servers", 0, 0, 4, 2, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Tolerates(tt.servers, tt.live, tt.drives, tt.parity); got != tt.want {
				t.Errorf("Tolerates(%d, %d, %d, %d) = %d, want %d", tt.servers, tt.live, tt.drives, tt.parity, got, tt.want)
			}
		})
	}
}
