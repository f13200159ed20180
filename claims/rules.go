package claims

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"dpsim/topology"
)

// AuthProtocols are the authentication protocols DP-AUTH-1 can judge.
var AuthProtocols = []string{"oidc"}

// TenantIsolations are the isolation promises DP-NET-3 can judge: "namespace" (a tenant's
// namespace accepts connections only from itself and the ingress) and "none" (nothing promised).
var TenantIsolations = []string{"namespace", "none"}

// rule checks one claim: it says what is wrong with its value, or "".
type rule struct {
	key   string
	check func(Claims) string
}

// rules are the checks of every claim, by key: a claim dpsim cannot judge (a protocol it does not
// speak, a TLS version it cannot offer, a negative duration) is refused at load, so that no control
// ever passes against it.
func rules() []rule {
	tlsVersions := slices.Sorted(maps.Keys(topology.TLSVersions))
	curves := slices.Sorted(maps.Keys(topology.Curves))
	return []rule{
		{"minNodesPerComponent", func(c Claims) string { return inRange(c.MinNodesPerComponent, 1, topology.MaxNodes) }},
		{"minCopies", func(c Claims) string { return inRange(c.MinCopies, 1, topology.MaxNodes) }},
		{"minCopiesAt", func(c Claims) string {
			return oneOf(c.MinCopiesAt, []string{CopiesAtAcknowledgement, CopiesOnceSettled})
		}},
		{"maxLostOnNodeLoss", func(c Claims) string { return inRange(c.MaxLostOnNodeLoss, 0, math.MaxInt) }},
		{"maxLostOnDriveLoss", func(c Claims) string { return inRange(c.MaxLostOnDriveLoss, 0, math.MaxInt) }},
		{"maxLostOnZoneLoss", func(c Claims) string { return inRange(c.MaxLostOnZoneLoss, 0, math.MaxInt) }},
		{"maxRecovery", func(c Claims) string { return duration(c.MaxRecovery, 0) }}, // 0s: not judged
		{"backupInterval", func(c Claims) string { return duration(c.BackupInterval, 1) }},
		{"backupRetention", func(c Claims) string { return duration(c.BackupRetention, 1) }},
		{"tlsVersions", func(c Claims) string { return members(c.TLSVersions, tlsVersions) }},
		{"tlsCipherSuites", func(c Claims) string { return cipherSuites(c.TLSCipherSuites, c.TLSVersions) }},
		{"tlsCurves", func(c Claims) string { return members(c.TLSCurves, topology.KeyExchangeNames()) }},
		{"certCurve", func(c Claims) string { return oneOf(c.CertCurve, curves) }},
		{"maxCertLifetime", func(c Claims) string { return duration(c.MaxCertLifetime, 1) }},
		{"authProtocol", func(c Claims) string { return oneOf(c.AuthProtocol, AuthProtocols) }},
		{"hashAlgorithm", func(c Claims) string { return oneOf(c.HashAlgorithm, topology.HashAlgorithms) }},
		{"hashIterations", func(c Claims) string { return inRange(c.HashIterations, 1, topology.MaxHashIterations) }},
		{"tenantIsolation", func(c Claims) string { return oneOf(c.TenantIsolation, TenantIsolations) }},
		{"exposedPorts", Claims.exposedPortsProblem},
	}
}

func inRange(v, lo, hi int) string {
	switch {
	case v < lo:
		return fmt.Sprintf("must be at least %d, got %d", lo, v)
	case v > hi:
		return fmt.Sprintf("must be at most %d (no platform dpsim stands up goes further), got %d", hi, v)
	}
	return ""
}

// duration checks a Go duration of at least least.
func duration(v string, least time.Duration) string {
	d, err := time.ParseDuration(v)
	switch {
	case err != nil:
		return fmt.Sprintf("must be a duration such as 24h, got %q", v)
	case d < least && least > 0:
		return fmt.Sprintf("must be a positive duration such as 24h, got %q", v)
	case d < least:
		return fmt.Sprintf("must not be negative, got %q", v)
	}
	return ""
}

func oneOf(v string, known []string) string {
	if !slices.Contains(known, v) {
		return fmt.Sprintf("must be one of %s (what dpsim can judge), got %q", strings.Join(known, ", "), v)
	}
	return ""
}

// members checks a list that names at least one of known, each once.
func members(vs, known []string) string {
	if len(vs) == 0 {
		return fmt.Sprintf("must name at least one of %s", strings.Join(known, ", "))
	}
	for i, v := range vs {
		if msg := oneOf(v, known); msg != "" {
			return msg
		}
		if slices.Index(vs, v) < i {
			return fmt.Sprintf("names %q twice", v)
		}
	}
	return ""
}

// cipherSuites checks the TLS 1.2 suites by Go's names; a claim that TLS 1.2 (or older) is accepted
// needs a suite it may be accepted with.
func cipherSuites(suites, versions []string) string {
	for _, s := range suites {
		if _, ok := topology.CipherSuiteTLS12(s); !ok {
			return fmt.Sprintf("%q is not a TLS 1.2 cipher suite dpsim can offer (Go's names, e.g. TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384)", s)
		}
	}
	below13 := slices.ContainsFunc(versions, func(v string) bool {
		n, ok := topology.TLSVersions[v]
		return ok && n < topology.TLSVersions["1.3"]
	})
	if len(suites) == 0 && below13 {
		return "must name at least one suite while tlsVersions names TLS 1.2 or older"
	}
	return ""
}

// Problem says what makes the claim under key one dpsim cannot judge, or "". Claims loaded from a
// file never have one; the controls ask again, so that claims made in code cannot pass either.
func (c Claims) Problem(key string) string {
	for _, r := range rules() {
		if r.key == key {
			return r.check(c)
		}
	}
	return "no such claim"
}

// Keys are the claims' keys, in file order.
func Keys() []string {
	var keys []string
	for _, r := range rules() {
		keys = append(keys, r.key)
	}
	return keys
}
