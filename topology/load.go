package topology

import (
	"dpsim/internal/strictyaml"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// LoadFile reads, parses and validates a spec file. Keys the file omits keep their defaults.
func LoadFile(path string) (Spec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Spec{}, fmt.Errorf("read spec: %w", err)
	}
	return Parse(data, path)
}

// Parse parses and validates a YAML spec; source names it in errors. Keys it omits keep their
// defaults. Every problem comes back in one *strictyaml.ValidationError naming each key path.
func Parse(data []byte, source string) (Spec, error) {
	spec := Default()
	if err := strictyaml.Decode(data, source, &spec); err != nil {
		return Spec{}, err
	}
	if err := spec.Validate(); err != nil {
		var ve *strictyaml.ValidationError
		if errors.As(err, &ve) {
			ve.Source = source
		}
		return Spec{}, err
	}
	return spec, nil
}

// Validate checks the values of a structurally sound spec and reports every problem with its key
// path. It rejects what cannot be deployed, not what is weak: a weak spec is for the controls to fail.
func (s Spec) Validate() error {
	var errs []*strictyaml.FieldError
	bad := func(path, msg string, args ...any) {
		errs = append(errs, &strictyaml.FieldError{Path: path, Msg: fmt.Sprintf(msg, args...)})
	}
	if !isDNSLabel(s.Name) || len(s.Name) > maxNameLength {
		bad("name", "%q is not a DNS label of at most %d characters (lowercase letters, digits, '-')", s.Name, maxNameLength)
	}
	for _, c := range s.counts() {
		if msg := c.problem(); msg != "" {
			bad(c.path, "%s", msg)
		}
	}
	checkNames(s.Zones, "zones", bad)
	checkTenants(s.Tenants, bad)

	k := s.Kafka
	if k.ReplicationFactor < 1 || k.ReplicationFactor > k.Brokers {
		bad("kafka.replicationFactor", "must be between 1 and kafka.brokers (%d), got %d", k.Brokers, k.ReplicationFactor)
	}
	if k.Acks != "all" && k.Acks != "1" && k.Acks != "0" {
		bad("kafka.acks", "must be all, 1 or 0, got %q", k.Acks)
	}

	e := s.Elasticsearch
	if e.Replicas < 0 || e.Replicas >= max(e.Nodes, 1) {
		bad("elasticsearch.replicas", "must be between 0 and elasticsearch.nodes-1 (%d), got %d", e.Nodes-1, e.Replicas)
	}
	if w := e.WaitForActiveShards; w != "all" {
		if n, err := strconv.Atoi(w); err != nil || n < 1 || n > e.Replicas+1 {
			bad("elasticsearch.waitForActiveShards", "must be all or a count between 1 and replicas+1 (%d), got %q", e.Replicas+1, w)
		}
	}

	g := s.StackGraph
	if g.Replication < 1 || g.Replication > g.Datanodes {
		bad("stackgraph.replication", "must be between 1 and stackgraph.datanodes (%d), got %d", g.Datanodes, g.Replication)
	}
	if g.MinReplication < 1 || g.MinReplication > g.Replication {
		bad("stackgraph.minReplication", "must be between 1 and stackgraph.replication (%d), got %d", g.Replication, g.MinReplication)
	}

	o := s.ObjectStore
	if o.Parity < 0 || o.Parity > o.Drives/2 {
		bad("objectStore.parity", "must be between 0 and half of objectStore.drives (%d), got %d", o.Drives/2, o.Parity)
	}

	if fields := strings.Fields(s.Backup.Schedule); len(fields) != 5 && !strings.HasPrefix(s.Backup.Schedule, "@") {
		bad("backup.schedule", "must be a 5-field cron expression or @daily-style macro, got %q", s.Backup.Schedule)
	}
	if d, err := time.ParseDuration(s.Backup.Retention); err != nil || d <= 0 {
		bad("backup.retention", "must be a positive duration such as 720h, got %q", s.Backup.Retention)
	}

	for i, c := range s.Backup.ExcludeComponents {
		if !slices.Contains(DataComponents, c) {
			bad(fmt.Sprintf("backup.excludeComponents[%d]", i), "%q is not a data component (one of %s)", c, strings.Join(DataComponents, ", "))
		}
	}

	minV, okMin := TLSVersions[s.TLS.MinVersion]
	maxV, okMax := TLSVersions[s.TLS.MaxVersion]
	if !okMin {
		bad("tls.minVersion", "must be one of 1.0, 1.1, 1.2, 1.3, got %q", s.TLS.MinVersion)
	}
	if !okMax {
		bad("tls.maxVersion", "must be one of 1.0, 1.1, 1.2, 1.3, got %q", s.TLS.MaxVersion)
	}
	if okMin && okMax && minV > maxV {
		bad("tls.minVersion", "%s is above tls.maxVersion %s", s.TLS.MinVersion, s.TLS.MaxVersion)
	}
	if _, ok := Curves[s.TLS.CertCurve]; !ok {
		bad("tls.certCurve", "must be one of P-256, P-384, P-521, got %q", s.TLS.CertCurve)
	}
	for i, name := range s.TLS.CipherSuites {
		if _, ok := CipherSuiteTLS12(name); !ok {
			bad(fmt.Sprintf("tls.cipherSuites[%d]", i), "%q is not a TLS 1.2 cipher suite Go implements (TLS 1.3's are not configurable), e.g. TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", name)
		}
	}
	if len(s.TLS.CipherSuites) == 0 && okMin && minV <= TLSVersions["1.2"] {
		bad("tls.cipherSuites", "must name at least one suite when TLS 1.2 or older is allowed")
	}
	for i, name := range s.TLS.Curves {
		if _, ok := KeyExchanges[name]; !ok {
			bad(fmt.Sprintf("tls.curves[%d]", i), "must be one of %s, got %q", strings.Join(KeyExchangeNames(), ", "), name)
		}
	}
	if len(s.TLS.Curves) == 0 {
		bad("tls.curves", "must name at least one key exchange")
	}
	if d, err := time.ParseDuration(s.TLS.CertLifetime); err != nil || d <= 0 {
		bad("tls.certLifetime", "must be a positive duration such as 2160h, got %q", s.TLS.CertLifetime)
	}

	if s.Auth.Provider != "keycloak" {
		bad("auth.provider", "must be keycloak, got %q", s.Auth.Provider)
	}
	if !slices.Contains(HashAlgorithms, s.Auth.HashAlgorithm) {
		bad("auth.hashAlgorithm", "must be one of %s, got %q", strings.Join(HashAlgorithms, ", "), s.Auth.HashAlgorithm)
	}
	if s.Auth.APITrust != "own-realm" && s.Auth.APITrust != "every-realm" {
		bad("auth.apiTrust", "must be own-realm or every-realm, got %q", s.Auth.APITrust)
	}

	if s.Network.Isolation != "namespace" && s.Network.Isolation != "none" {
		bad("network.isolation", "must be namespace or none, got %q", s.Network.Isolation)
	}
	if s.Network.PolicyEngine != "kube-router" && s.Network.PolicyEngine != "calico" {
		bad("network.policyEngine", "must be kube-router or calico, got %q", s.Network.PolicyEngine)
	}
	if s.Network.SecurityGroups != "vpc" && s.Network.SecurityGroups != "none" {
		bad("network.securityGroups", "must be vpc or none, got %q", s.Network.SecurityGroups)
	}
	for i, port := range s.Network.Expose {
		if port < 1 || port > 65535 {
			bad(fmt.Sprintf("network.expose[%d]", i), "must be a TCP port 1-65535, got %d", port)
		}
	}
	if s.Encryption.AtRest != "fscrypt" && s.Encryption.AtRest != "none" {
		bad("encryption.atRest", "must be fscrypt or none, got %q", s.Encryption.AtRest)
	}
	if len(errs) > 0 {
		return &strictyaml.ValidationError{Source: "spec", Errs: errs}
	}
	return nil
}

func checkNames(names []string, path string, bad func(string, string, ...any)) {
	seen := map[string]bool{}
	for i, n := range names {
		p := fmt.Sprintf("%s[%d]", path, i)
		if !isDNSLabel(n) {
			bad(p, "%q is not a DNS label (lowercase letters, digits, '-', at most 63)", n)
		}
		if seen[n] {
			bad(p, "%q appears twice", n)
		}
		seen[n] = true
	}
}

func isDNSLabel(s string) bool {
	if len(s) == 0 || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}
