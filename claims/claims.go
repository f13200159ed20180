// Package claims holds the data-protection promises the platform makes, as thresholds the controls
// judge observations against. The built-in claims are the platform's; a claims file replaces them
// for another platform. The spec never weakens a claim: it only says what to deploy.
package claims

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"dpsim/internal/strictyaml"
	"dpsim/topology"
)

// Claims are the promises, each a threshold a control checks.
type Claims struct {
	// MinNodesPerComponent: every data-storing component runs on at least this many nodes (DP-DUR-1).
	MinNodesPerComponent int `yaml:"minNodesPerComponent"`
	// MinCopies: every acknowledged record is stored on at least this many distinct nodes (DP-DUR-2).
	MinCopies int `yaml:"minCopies"`
	// MinCopiesAt: when a record must have its MinCopies copies: "acknowledgement" (the promise: a
	// record acknowledged with fewer breaks it) or "settled" (a weaker promise: only once the
	// platform has settled after a fault) (DP-DUR-2).
	MinCopiesAt string `yaml:"minCopiesAt"`
	// MaxLostOnNodeLoss: acknowledged writes that losing one node may lose (DP-DUR-3).
	MaxLostOnNodeLoss int `yaml:"maxLostOnNodeLoss"`
	// MaxLostOnDriveLoss: acknowledged writes that losing one drive may lose (DP-DUR-4).
	MaxLostOnDriveLoss int `yaml:"maxLostOnDriveLoss"`
	// MaxLostOnZoneLoss: acknowledged writes a zone outage may lose once the zone is back (DP-DUR-5).
	MaxLostOnZoneLoss int `yaml:"maxLostOnZoneLoss"`
	// MaxRecovery: longest time from a fault to the first acknowledged write after it; "0s" = not judged.
	MaxRecovery string `yaml:"maxRecovery"`
	// BackupInterval: the longest allowed time between two scheduled backups (DP-BAK-1).
	BackupInterval string `yaml:"backupInterval"`
	// BackupRetention: backups are kept at least this long, then removed (DP-BAK-3).
	BackupRetention string `yaml:"backupRetention"`
	// TLSVersions: exactly the TLS versions the ingress accepts (DP-NET-2).
	TLSVersions []string `yaml:"tlsVersions"`
	// TLSCipherSuites: the TLS 1.2 suites the ingress may accept, by Go's names (DP-NET-2).
	TLSCipherSuites []string `yaml:"tlsCipherSuites"`
	// TLSCurves: the key exchanges the ingress may accept (DP-NET-2).
	TLSCurves []string `yaml:"tlsCurves"`
	// CertCurve: the ingress certificate's ECDSA curve (DP-NET-2).
	CertCurve string `yaml:"certCurve"`
	// MaxCertLifetime: the ingress certificate lives at most this long (DP-NET-2).
	MaxCertLifetime string `yaml:"maxCertLifetime"`
	// AuthProtocol: how users authenticate (DP-AUTH-1).
	AuthProtocol string `yaml:"authProtocol"`
	// HashAlgorithm and HashIterations: how passwords are stored (DP-AUTH-2).
	HashAlgorithm  string `yaml:"hashAlgorithm"`
	HashIterations int    `yaml:"hashIterations"`
	// TenantIsolation: tenants' namespaces accept connections only from themselves (DP-NET-3).
	TenantIsolation string `yaml:"tenantIsolation"`
	// ExposedPorts: the only TCP ports of a node that take a connection from outside the platform's
	// network, each with the one answer allowed on it (DP-NET-1).
	ExposedPorts []topology.ExposedPort `yaml:"exposedPorts"`
}

// Default returns the platform's promises.
func Default() Claims {
	return Claims{
		MinNodesPerComponent: 3,
		MinCopies:            2,
		MinCopiesAt:          CopiesAtAcknowledgement,
		MaxLostOnNodeLoss:    0,
		MaxLostOnDriveLoss:   0,
		MaxLostOnZoneLoss:    0,
		MaxRecovery:          "0s",
		BackupInterval:       "24h",
		BackupRetention:      "720h",
		TLSVersions:          []string{"1.2", "1.3"},
		TLSCipherSuites: []string{"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
			"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"},
		TLSCurves:       []string{"X25519", "P-256", "P-384"},
		CertCurve:       "P-384",
		MaxCertLifetime: "2160h",
		AuthProtocol:    "oidc",
		HashAlgorithm:   "pbkdf2",
		HashIterations:  20000,
		TenantIsolation: "namespace",
		ExposedPorts:    []topology.ExposedPort{{Port: 443, Answer: topology.AnswerTLS}, {Port: 80, Answer: topology.AnswerRedirect}},
	}
}

// The values of MinCopiesAt.
const (
	CopiesAtAcknowledgement = "acknowledgement"
	CopiesOnceSettled       = "settled"
)

// LoadFile reads a claims file; keys it omits keep the built-in promise.
func LoadFile(path string) (Claims, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Claims{}, fmt.Errorf("read claims: %w", err)
	}
	c := Default()
	if err := strictyaml.Decode(data, path, &c); err != nil {
		if ve, ok := errors.AsType[*strictyaml.ValidationError](err); ok {
			ve.Kind = "claims"
		}
		return Claims{}, err
	}
	if err := c.validate(path); err != nil {
		return Claims{}, err
	}
	return c, nil
}

// validate checks every claim against what dpsim can judge; every problem names its key.
func (c Claims) validate(source string) error {
	var errs []*strictyaml.FieldError
	for _, r := range rules() {
		if msg := r.check(c); msg != "" {
			errs = append(errs, &strictyaml.FieldError{Path: r.key, Msg: msg})
		}
	}
	if len(errs) > 0 {
		return &strictyaml.ValidationError{Kind: "claims", Source: source, Errs: errs}
	}
	return nil
}

// exposedPortsProblem says what is wrong with the exposed ports ("" when nothing): each within
// 1-65535, listed once, with an answer the scan from outside tells; one of them answers TLS (the
// ingress).
func (c Claims) exposedPortsProblem() string {
	var problems []string
	seen, ingress := map[int]bool{}, false
	for i, p := range c.ExposedPorts {
		at := fmt.Sprintf("exposedPorts[%d]", i)
		if p.Port < 1 || p.Port > 65535 || seen[p.Port] {
			problems = append(problems, fmt.Sprintf("%s.port must be a TCP port 1-65535 listed once, got %d", at, p.Port))
		}
		if !slices.Contains(topology.PortAnswers, p.Answer) {
			problems = append(problems, fmt.Sprintf("%s.answer must be one of %q, got %q", at, topology.PortAnswers, p.Answer))
		}
		seen[p.Port], ingress = true, ingress || p.Answer == topology.AnswerTLS
	}
	if !ingress {
		problems = append(problems, "must list the ingress's port, answering "+topology.AnswerTLS)
	}
	return strings.Join(problems, "; ")
}

// Duration parses one of the claims' duration fields (validated at load).
func Duration(s string) time.Duration {
	d, _ := time.ParseDuration(s)
	return d
}

// Marshal renders the claims as YAML.
func (c Claims) Marshal() []byte {
	return strictyaml.Marshal(c)
}

// Hash is a short, stable digest of the claims.
func (c Claims) Hash() string {
	sum := sha256.Sum256(c.Marshal())
	return hex.EncodeToString(sum[:8])
}
