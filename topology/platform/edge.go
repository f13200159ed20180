package platform

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math"
	"math/big"
	"strings"
	"time"

	"dpsim/topology"
)

// EdgeCA is the certificate the ACME CA's own API is served with, and the CA that signed it (the
// ingress controller trusts it to talk to the ACME CA; it is not the CA of the platform's
// certificates, which the ACME CA makes afresh on each start).
type EdgeCA struct {
	CertPEM, KeyPEM, CAPEM []byte
	// TrustedPEM is what the ingress controller trusts the ACME CA's API with: CAPEM when empty;
	// another CA only when a test breaks the edge on purpose (failpoint edge-ca).
	TrustedPEM []byte
}

// EdgeManifests are the edge's two parts, applied in this order: the ACME CA, then, once the CA
// answers, the ingress controller, whose first certificate orders then find the CA there.
type EdgeManifests struct {
	CA, Ingress string
}

// edgeData is what edge.yaml sees.
type edgeData struct {
	Options
	Platform                                 string
	PebbleCertB64, PebbleKeyB64, PebbleCAB64 string
	TrustedB64                               string
	CertSeconds                              int64
	CertHours                                int
	KeyType                                  string
	MinVersion, MaxVersion                   string
	CipherSuites, CurvePreferences           string
	Tenants                                  []edgeTenant
	// CAConfigHash is the hash of the CA's file (see renderHashed): Pebble restarts when it changes.
	CAConfigHash string
	// ConfigHash changes with any of the above, the CA's hash included: the ingress restarts to
	// read its new configuration (a ConfigMap mounted by subPath is never updated in place) and to
	// order its certificates from the CA anew.
	ConfigHash string
}

// edgeTenant is a tenant as the edge routes to it; with the identity provider deployed, its API
// accepts the tokens of Issuers for Audience, fetching their keys from inside the cluster.
type edgeTenant struct {
	Name, Namespace, Host string
	Issuers               []string
	Audience, Discovery   string
}

// keycloakInternalURL is where the tenants' APIs reach Keycloak inside the cluster.
const keycloakInternalURL = "http://keycloak." + IdentityNamespace + ".svc:8080"

// traefikVersions, traefikCurves and traefikKeyTypes name the spec's TLS settings as Traefik's
// configuration does.
var (
	traefikVersions = map[string]string{"1.0": "VersionTLS10", "1.1": "VersionTLS11", "1.2": "VersionTLS12", "1.3": "VersionTLS13"}
	traefikCurves   = map[string]string{"X25519": "X25519", "P-256": "CurveP256", "P-384": "CurveP384", "P-521": "CurveP521",
		"X25519MLKEM768": "X25519MLKEM768"}
	// Traefik (lego) makes EC256, EC384 and RSA keys only: a P-521 certificate falls back to its
	// default, RSA4096, which DP-NET-2 then shows.
	traefikKeyTypes = map[string]string{"P-256": "EC256", "P-384": "EC384"}
)

// Edge renders the ACME CA and the ingress controller: every TLS setting from spec, set
// explicitly (Traefik's defaults accept CBC suites and the P-521 and ML-KEM key exchanges).
func Edge(spec topology.Spec, opts Options, ca EdgeCA) (EdgeManifests, error) {
	lifetime, err := time.ParseDuration(spec.TLS.CertLifetime)
	if err != nil {
		return EdgeManifests{}, fmt.Errorf("tls.certLifetime: %w", err)
	}
	trusted := ca.TrustedPEM
	if len(trusted) == 0 {
		trusted = ca.CAPEM
	}
	keyType, ok := traefikKeyTypes[spec.TLS.CertCurve]
	if !ok {
		keyType = "RSA4096"
	}
	var curves []string
	for _, c := range spec.TLS.Curves {
		curves = append(curves, traefikCurves[c])
	}
	b64 := base64.StdEncoding.EncodeToString
	d := edgeData{
		Options: opts, Platform: spec.Name,
		PebbleCertB64: b64(ca.CertPEM), PebbleKeyB64: b64(ca.KeyPEM), PebbleCAB64: b64(ca.CAPEM), TrustedB64: b64(trusted),
		CertSeconds: int64(lifetime.Seconds()),
		// Traefik schedules renewal from the lifetime it is told, in whole hours (at least 1).
		CertHours:        max(1, int(math.Round(lifetime.Hours()))),
		KeyType:          keyType,
		MinVersion:       traefikVersions[spec.TLS.MinVersion],
		MaxVersion:       traefikVersions[spec.TLS.MaxVersion],
		CipherSuites:     strings.Join(spec.TLS.OfferedSuites(), ", "),
		CurvePreferences: strings.Join(curves, ", "),
	}
	for _, t := range spec.Tenants {
		et := edgeTenant{Name: t, Namespace: Namespace(t), Host: spec.TenantHost(t)}
		if opts.Identity {
			et.Issuers, et.Audience = spec.APITrusts(t)
			et.Discovery = keycloakInternalURL
		}
		d.Tenants = append(d.Tenants, et)
	}
	var parts [2]bytes.Buffer
	parts[0].WriteString("---\n")
	if err := renderHashed(&parts[0], "edge-ca.yaml", func(hash string) any { d.CAConfigHash = hash; return d }); err != nil {
		return EdgeManifests{}, fmt.Errorf("render the edge (edge-ca.yaml): %w", err)
	}
	hashed := d
	hashed.Options = Options{Images: opts.Images, IngressNamespace: opts.IngressNamespace, Identity: opts.Identity}
	sum := sha256.Sum256(fmt.Appendf(nil, "%+v", hashed))
	d.ConfigHash = hex.EncodeToString(sum[:8])
	parts[1].WriteString("---\n")
	if err := templates.ExecuteTemplate(&parts[1], "edge.yaml", d); err != nil {
		return EdgeManifests{}, fmt.Errorf("render the edge (edge.yaml): %w", err)
	}
	return EdgeManifests{CA: parts[0].String(), Ingress: parts[1].String()}, nil
}

// NewEdgeCA makes a fresh CA and, signed by it, the ACME CA's serving certificate for its
// service in namespace (both ECDSA P-256, valid for a year).
func NewEdgeCA(namespace string) (EdgeCA, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return EdgeCA{}, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "dpsim edge CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return EdgeCA{}, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return EdgeCA{}, err
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "pebble." + namespace + ".svc"},
		DNSNames:  []string{"pebble", "pebble." + namespace, "pebble." + namespace + ".svc", "pebble." + namespace + ".svc.cluster.local"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, caTmpl, &key.PublicKey, caKey)
	if err != nil {
		return EdgeCA{}, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return EdgeCA{}, err
	}
	return EdgeCA{
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
		CAPEM:   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
	}, nil
}
