package claims

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadFile(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		wantErr string
		check   func(c Claims) bool
	}{
		{"partial file keeps the other promises", "minCopies: 3\n", "", func(c Claims) bool {
			return c.MinCopies == 3 && c.HashIterations == 20000 && c.CertCurve == "P-384"
		}},
		{"another platform's TLS", "tlsVersions: [\"1.3\"]\n", "", func(c Claims) bool { return len(c.TLSVersions) == 1 }},
		{"unknown key", "minCopy: 3\n", "minCopy", nil},
		{"wrong type", "minCopies: two\n", "minCopies", nil},
		{"bad duration", "maxCertLifetime: 90d\n", "maxCertLifetime", nil},
		{"zero copies", "minCopies: 0\n", "minCopies", nil},
		{"another platform's exposed ports", "exposedPorts: [{port: 443, answer: https}, {port: 22, answer: tcp}]\n", "", func(c Claims) bool {
			return len(c.ExposedPorts) == 2 && c.ExposedPorts[1].Port == 22
		}},
		{"exposed port out of range", "exposedPorts: [{port: 443, answer: https}, {port: 70000, answer: tcp}]\n", "exposedPorts[1].port", nil},
		{"exposed port zero", "exposedPorts: [{port: 0, answer: https}]\n", "exposedPorts[0].port", nil},
		{"exposed port twice", "exposedPorts: [{port: 443, answer: https}, {port: 443, answer: tcp}]\n", "exposedPorts[1].port", nil},
		{"exposed port answer unknown", "exposedPorts: [{port: 443, answer: https}, {port: 80, answer: redirect}]\n", "exposedPorts[1].answer", nil},
		{"no ingress among the exposed ports", "exposedPorts: [{port: 80, answer: redirect to https}]\n", "exposedPorts: must list the ingress's port", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "claims.yaml")
			os.WriteFile(path, []byte(tt.yaml), 0o644)
			c, err := LoadFile(path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one naming %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !tt.check(c) {
				t.Fatalf("got %+v, %v", c, err)
			}
		})
	}
}

func TestDefaultRoundTrips(t *testing.T) {
	path := filepath.Join(t.TempDir(), "claims.yaml")
	os.WriteFile(path, Default().Marshal(), 0o644)
	c, err := LoadFile(path)
	if err != nil || c.Hash() != Default().Hash() {
		t.Fatalf("default claims do not round-trip: %v", err)
	}
}
