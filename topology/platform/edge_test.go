package platform

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"regexp"
	"strings"
	"testing"

	"dpsim/topology"
	"sigs.k8s.io/yaml"
)

// The edge takes every TLS setting from the spec, explicitly, and the certificate lifetime both
// into the ACME CA (seconds) and into the ingress's renewal schedule (hours).
func TestEdgeSetsTLSExplicitly(t *testing.T) {
	spec := topology.Default()
	spec.TLS.CertLifetime = "90m"
	m, err := Edge(spec, Options{Images: map[string]string{"traefik": "t:1", "pebble": "p:1"}, IngressNamespace: "ingress"},
		EdgeCA{CertPEM: []byte("cert"), KeyPEM: []byte("key"), CAPEM: []byte("ca")})
	if err != nil {
		t.Fatal(err)
	}
	out := m.CA + m.Ingress
	for _, want := range []string{
		"minVersion: VersionTLS12", "maxVersion: VersionTLS13",
		"cipherSuites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256]",
		"curvePreferences: [X25519, CurveP256, CurveP384]",
		"keyType: EC384", "certificatesDuration: 2", `"validityPeriod": 5400`,
		"middlewares: [hsts@file]", "stsSeconds: 31536000",
		"entryPoint: {to: websecure, scheme: https, permanent: true}",
		"hostPort: 443", "hostPort: 80", "image: t:1", "image: p:1",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("edge manifest lacks %q", want)
		}
	}
	for i, doc := range strings.Split(out, "\n---\n") {
		var v struct {
			Kind string
			Data map[string]string
		}
		if err := yaml.Unmarshal([]byte(doc), &v); err != nil {
			t.Errorf("document %d: %v\n%s", i, err, doc)
		}
		for name, file := range v.Data { // the configuration files in ConfigMaps parse too
			if v.Kind != "ConfigMap" {
				continue
			}
			var f map[string]any
			if err := yaml.Unmarshal([]byte(file), &f); err != nil {
				t.Errorf("%s: %v\n%s", name, err, file)
			}
		}
	}
	spec.TLS.CertCurve = "P-521"
	if m, _ := Edge(spec, Options{Images: map[string]string{"traefik": "t:1", "pebble": "p:1"}, IngressNamespace: "ingress"}, EdgeCA{}); !strings.Contains(m.Ingress, "keyType: RSA4096") {
		t.Error("a P-521 certificate does not fall back to Traefik's RSA4096")
	}
}

// The ACME CA's certificate verifies, for its service name, against the CA made with it.
func TestNewEdgeCAVerifies(t *testing.T) {
	ca, err := NewEdgeCA("ingress")
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(ca.CertPEM, ca.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(ca.CAPEM)
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: "pebble.ingress.svc"}); err != nil {
		t.Error(err)
	}
}

// With the identity provider, each tenant's API accepts the tokens of its own realm only (every
// realm's under auth.apiTrust: every-realm), for its own audience.
func TestEdgeAPITrust(t *testing.T) {
	for trust, want := range map[string][]string{
		"own-realm":   {`"--issuer", "https://auth.dpsim.test/realms/tenant-a", "--audience", "https://tenant-a.dpsim.test", "--discovery-base"`},
		"every-realm": {`"--issuer", "https://auth.dpsim.test/realms/tenant-a", "--issuer", "https://auth.dpsim.test/realms/tenant-b", "--discovery-base"`},
	} {
		spec := topology.Default()
		spec.Auth.APITrust = trust
		m, err := Edge(spec, Options{Images: map[string]string{"traefik": "t:1", "pebble": "p:1", "agent": "a:1"}, IngressNamespace: "ingress", Identity: true},
			EdgeCA{CertPEM: []byte("cert"), KeyPEM: []byte("key"), CAPEM: []byte("ca")})
		if err != nil {
			t.Fatal(err)
		}
		out := m.Ingress
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: the web of tenant-a lacks %s", trust, w)
			}
		}
		for i, doc := range strings.Split(out, "\n---\n") {
			var v map[string]any
			if err := yaml.Unmarshal([]byte(doc), &v); err != nil {
				t.Fatalf("document %d: %v", i, err)
			}
		}
	}
}

// The ACME CA comes in a part of its own, applied first; the ingress controller trusts the CA that
// signed the ACME CA's certificate unless told to trust another (failpoint edge-ca), and a change
// of trust restarts it.
func TestEdgeCAFirstAndTrust(t *testing.T) {
	spec := topology.Default()
	opts := Options{Images: map[string]string{"traefik": "t:1", "pebble": "p:1"}, IngressNamespace: "ingress"}
	ca := EdgeCA{CertPEM: []byte("cert"), KeyPEM: []byte("key"), CAPEM: []byte("right-ca")}
	m, err := Edge(spec, opts, ca)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m.CA, "kind: Deployment\nmetadata:\n  name: pebble") || strings.Contains(m.CA, "name: traefik") {
		t.Errorf("the CA part is not Pebble alone:\n%s", m.CA)
	}
	if strings.Contains(m.Ingress, "name: pebble\n  namespace: ingress\nspec") || !strings.Contains(m.Ingress, "kind: DaemonSet") {
		t.Errorf("the ingress part is not Traefik's:\n%s", m.Ingress)
	}
	b64 := base64.StdEncoding.EncodeToString
	if !strings.Contains(m.Ingress, "ca.crt: "+b64([]byte("right-ca"))) {
		t.Error("the ingress does not trust the CA that signed the ACME CA's certificate")
	}
	ca.TrustedPEM = []byte("wrong-ca")
	broken, err := Edge(spec, opts, ca)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(broken.Ingress, "ca.crt: "+b64([]byte("wrong-ca"))) || !strings.Contains(broken.CA, "ca.crt: "+b64([]byte("right-ca"))) {
		t.Error("a wrong trust is not given to the ingress alone")
	}
	hash := func(s string) string { _, h, _ := strings.Cut(s, "config-hash: "); return h[:18] }
	if hash(broken.Ingress) == hash(m.Ingress) {
		t.Error("a change of trust leaves the ingress's config hash as it was: Traefik would not restart")
	}
}

// Pebble restarts when the certificates' lifetime changes (its ConfigMap is read at start), and so
// does Traefik, to order certificates from the new CA.
func TestEdgeCAConfigHash(t *testing.T) {
	hashes := func(lifetime string) (string, string) {
		spec := topology.Default()
		spec.TLS.CertLifetime = lifetime
		m, err := Edge(spec, Options{Images: map[string]string{"traefik": "t:1", "pebble": "p:1"}, IngressNamespace: "ingress"},
			EdgeCA{CertPEM: []byte("cert"), KeyPEM: []byte("key"), CAPEM: []byte("ca")})
		if err != nil {
			t.Fatal(err)
		}
		re := regexp.MustCompile(`dpsim.io/config-hash: "([0-9a-f]+)"`)
		ca, ingress := re.FindStringSubmatch(m.CA), re.FindStringSubmatch(m.Ingress)
		if ca == nil || ingress == nil {
			t.Fatalf("no config hash on Pebble (%v) or Traefik (%v)", ca, ingress)
		}
		return ca[1], ingress[1]
	}
	ca90, in90 := hashes("2160h")
	ca365, in365 := hashes("8760h")
	if ca90 == ca365 || in90 == in365 {
		t.Errorf("hashes did not follow tls.certLifetime: Pebble %s/%s, Traefik %s/%s", ca90, ca365, in90, in365)
	}
}
