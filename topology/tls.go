package topology

import (
	"crypto/elliptic"
	"crypto/tls"
	"maps"
	"slices"
)

// TLSVersions maps the spec's version names to crypto/tls constants.
var TLSVersions = map[string]uint16{"1.0": tls.VersionTLS10, "1.1": tls.VersionTLS11, "1.2": tls.VersionTLS12, "1.3": tls.VersionTLS13}

// Curves maps the spec's certificate curve names to elliptic curves.
var Curves = map[string]elliptic.Curve{"P-256": elliptic.P256(), "P-384": elliptic.P384(), "P-521": elliptic.P521()}

// KeyExchanges maps the spec's key-exchange names to crypto/tls groups.
var KeyExchanges = map[string]tls.CurveID{"X25519": tls.X25519, "P-256": tls.CurveP256, "P-384": tls.CurveP384,
	"P-521": tls.CurveP521, "X25519MLKEM768": tls.X25519MLKEM768}

// KeyExchangeNames lists KeyExchanges' names, sorted.
func KeyExchangeNames() []string { return slices.Sorted(maps.Keys(KeyExchanges)) }

// AEADSuites are the TLS 1.2 suites with forward secrecy and authenticated encryption for an ECDSA
// certificate: the default of the spec and of the claims.
var AEADSuites = []string{"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
	"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"}

// CipherSuitesTLS12 lists every suite Go implements that TLS 1.2 can negotiate, insecure ones
// included (a probe offers each alone).
func CipherSuitesTLS12() []*tls.CipherSuite {
	var out []*tls.CipherSuite
	for _, s := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		if slices.Contains(s.SupportedVersions, tls.VersionTLS12) {
			out = append(out, s)
		}
	}
	return out
}

// CipherSuiteTLS12 finds a TLS 1.2 suite by Go's name.
func CipherSuiteTLS12(name string) (*tls.CipherSuite, bool) {
	all := CipherSuitesTLS12()
	i := slices.IndexFunc(all, func(s *tls.CipherSuite) bool { return s.Name == name })
	if i < 0 {
		return nil, false
	}
	return all[i], true
}

// legacySuites are the suites TLS 1.0 and 1.1 can negotiate with an ECDSA certificate.
var legacySuites = []string{"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA"}

// OfferedSuites are the suites the ingress is configured with: CipherSuites, and when MinVersion is
// below 1.2 the CBC suites those versions need (a server cannot offer a suite to one version only,
// so TLS 1.2 accepts them too).
func (t TLS) OfferedSuites() []string {
	out := slices.Clone(t.CipherSuites)
	if v, ok := TLSVersions[t.MinVersion]; ok && v < tls.VersionTLS12 {
		for _, s := range legacySuites {
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	return out
}
