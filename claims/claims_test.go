package claims

import (
	"os"
	"path/filepath"
	"reflect"
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
		{"more copies than any platform has nodes", "minCopies: 11\n", "minCopies", nil},
		{"copies at an unknown moment", "minCopiesAt: sometime\n", "minCopiesAt", nil},
		{"no nodes per component", "minNodesPerComponent: 0\n", "minNodesPerComponent", nil},
		{"negative loss on node loss", "maxLostOnNodeLoss: -1\n", "maxLostOnNodeLoss", nil},
		{"negative loss on drive loss", "maxLostOnDriveLoss: -1\n", "maxLostOnDriveLoss", nil},
		{"negative loss on zone loss", "maxLostOnZoneLoss: -1\n", "maxLostOnZoneLoss", nil},
		{"negative recovery", "maxRecovery: -1m\n", "maxRecovery", nil},
		{"zero backup interval", "backupInterval: 0s\n", "backupInterval", nil},
		{"negative retention", "backupRetention: -720h\n", "backupRetention", nil},
		{"negative certificate lifetime", "maxCertLifetime: -5h\n", "maxCertLifetime", nil},
		{"a protocol dpsim does not judge", "authProtocol: saml\n", "authProtocol", nil},
		{"a TLS version that does not exist", "tlsVersions: [\"1.7\"]\n", "tlsVersions", nil},
		{"no TLS version", "tlsVersions: []\n", "tlsVersions", nil},
		{"a TLS version twice", "tlsVersions: [\"1.3\", \"1.3\"]\n", "tlsVersions", nil},
		{"an unknown cipher suite", "tlsCipherSuites: [TLS_NULL]\n", "tlsCipherSuites", nil},
		{"TLS 1.2 with no suite", "tlsCipherSuites: []\n", "tlsCipherSuites", nil},
		{"an unknown key exchange", "tlsCurves: [P-999]\n", "tlsCurves", nil},
		{"no key exchange", "tlsCurves: []\n", "tlsCurves", nil},
		{"a curve that does not exist", "certCurve: P-999\n", "certCurve", nil},
		{"an unknown hash", "hashAlgorithm: md5\n", "hashAlgorithm", nil},
		{"no hash iterations", "hashIterations: 0\n", "hashIterations", nil},
		{"more hash iterations than dpsim deploys", "hashIterations: 1000000000\n", "hashIterations", nil},
		{"an unknown isolation", "tenantIsolation: sometimes\n", "tenantIsolation", nil},
		{"a second document", "minCopies: 2\n---\nminCopies: 1\n", "(document)", nil},
		{"TLS 1.3 alone needs no suite", "tlsVersions: [\"1.3\"]\ntlsCipherSuites: []\n", "", func(c Claims) bool { return len(c.TLSCipherSuites) == 0 }},
		{"no isolation promised", "tenantIsolation: none\n", "", func(c Claims) bool { return c.TenantIsolation == "none" }},
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
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "invalid claims") {
					t.Fatalf("error %v, want invalid claims naming %q", err, tt.wantErr)
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

// Every claim has a rule: a key added without one would reach the controls unchecked.
func TestEveryClaimIsValidated(t *testing.T) {
	checked := map[string]bool{}
	for _, r := range rules() {
		checked[r.key] = true
	}
	typ := reflect.TypeFor[Claims]()
	for i := range typ.NumField() {
		if key := typ.Field(i).Tag.Get("yaml"); !checked[key] {
			t.Errorf("claim %q has no rule in rules()", key)
		}
	}
	if err := Default().validate("default"); err != nil {
		t.Errorf("the built-in claims are invalid: %v", err)
	}
}
