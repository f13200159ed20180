package fakes

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"maps"
	"math/big"
	"net"
	"net/http"
	"slices"
	"time"

	"dpsim/topology"
)

// ingress is the fake platform's one entry point: a real TLS listener on 127.0.0.1 configured from
// the spec (versions, suites, key exchanges, a certificate from the fake platform's CA for every
// tenant's host name and the identity provider's), answering with HSTS, so TLS probes observe
// exactly what the spec allows; behind it the identity provider and the tenants' APIs. A plain
// HTTP listener beside it only redirects to HTTPS.
type ingress struct {
	addr, plainAddr string
	hosts           map[string]string
	rootPEM         []byte
	identity        *identity
	srv, plain      *http.Server
	done            chan struct{}
}

// startIngress listens on 127.0.0.1:0 (TLS) and another port (plain HTTP). The certificate's
// validity uses the wall clock: real TLS clients check it.
func startIngress(spec topology.Spec, clock topology.Clock) (*ingress, error) {
	ca, err := newFakeCA()
	if err != nil {
		return nil, err
	}
	hosts := map[string]string{}
	for _, t := range spec.Tenants {
		hosts[t] = spec.TenantHost(t)
	}
	cfg, err := ingressTLS(spec, ca, hosts)
	if err != nil {
		return nil, err
	}
	id, err := newIdentity(spec, clock)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for ingress: %w", err)
	}
	plainLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("listen for ingress: %w", err)
	}
	in := &ingress{
		addr:      ln.Addr().String(),
		plainAddr: plainLn.Addr().String(),
		hosts:     hosts,
		rootPEM:   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw}),
		identity:  id,
		done:      make(chan struct{}),
	}
	in.srv = &http.Server{
		Handler:      http.HandlerFunc(in.serve),
		ErrorLog:     log.New(io.Discard, "", 0), // refused handshakes are the point of some probes
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
	}
	in.plain = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://"+r.Host+r.URL.RequestURI(), http.StatusPermanentRedirect)
	})}
	client, err := in.endpoint().Client()
	if err == nil {
		err = id.connect(client)
	}
	if err != nil {
		ln.Close()
		plainLn.Close()
		return nil, err
	}
	plainDone := make(chan struct{})
	go func() {
		defer close(plainDone)
		_ = in.plain.Serve(plainLn)
	}()
	go func() {
		defer close(in.done)
		_ = in.srv.Serve(tls.NewListener(ln, cfg)) // returns http.ErrServerClosed on close
		<-plainDone
	}()
	return in, nil
}

// endpoint is how clients reach the ingress.
func (in *ingress) endpoint() topology.IngressEndpoint {
	return topology.IngressEndpoint{Address: in.addr, PlainAddress: in.plainAddr, Hosts: maps.Clone(in.hosts), RootCAs: in.rootPEM}
}

func (in *ingress) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
	if in.identity.serve(w, r) {
		return
	}
	_, _ = io.WriteString(w, "dpsim fake ingress\n")
}

// ingressTLS builds the server configuration. MinVersion is always set explicitly: crypto/tls
// refuses TLS 1.0 and 1.1 server-side only when MinVersion is left at zero (GODEBUG tls10server),
// and a spec allowing them must be observable as such.
func ingressTLS(spec topology.Spec, ca *fakeCA, hosts map[string]string) (*tls.Config, error) {
	minV, okMin := topology.TLSVersions[spec.TLS.MinVersion]
	maxV, okMax := topology.TLSVersions[spec.TLS.MaxVersion]
	if !okMin || !okMax {
		return nil, fmt.Errorf("ingress tls versions %q..%q: unknown version", spec.TLS.MinVersion, spec.TLS.MaxVersion)
	}
	lifetime, err := time.ParseDuration(spec.TLS.CertLifetime)
	if err != nil {
		return nil, fmt.Errorf("ingress certificate lifetime: %w", err)
	}
	curve, ok := topology.Curves[spec.TLS.CertCurve]
	if !ok {
		return nil, fmt.Errorf("ingress certificate curve %q: unknown", spec.TLS.CertCurve)
	}
	names := append([]string{"ingress." + spec.Name, spec.AuthHost()}, slices.Sorted(maps.Values(hosts))...)
	cert, err := ca.issue(names, curve, lifetime)
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{MinVersion: minV, MaxVersion: maxV, Certificates: []tls.Certificate{cert}, NextProtos: []string{"http/1.1"}}
	for _, name := range spec.TLS.OfferedSuites() {
		s, ok := topology.CipherSuiteTLS12(name)
		if !ok {
			return nil, fmt.Errorf("ingress cipher suite %q: unknown", name)
		}
		cfg.CipherSuites = append(cfg.CipherSuites, s.ID)
	}
	for _, name := range spec.TLS.Curves {
		cfg.CurvePreferences = append(cfg.CurvePreferences, topology.KeyExchanges[name])
	}
	return cfg, nil
}

// fakeCA is the fake platform's certificate authority, standing in for the ACME CA.
type fakeCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newFakeCA() (*fakeCA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate fake CA key: %w", err)
	}
	notBefore := time.Now().Add(-time.Hour).Truncate(time.Second).UTC()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "dpsim fake platform CA"},
		NotBefore: notBefore, NotAfter: notBefore.Add(10 * 365 * 24 * time.Hour), KeyUsage: x509.KeyUsageCertSign,
		BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("create fake CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse fake CA certificate: %w", err)
	}
	return &fakeCA{cert: cert, key: key}, nil
}

// issue makes a certificate for names on curve, valid from a minute ago (whole seconds, as X.509
// stores them) for exactly lifetime, as an ACME CA would.
func (ca *fakeCA) issue(names []string, curve elliptic.Curve, lifetime time.Duration) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("generate ingress key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("generate ingress certificate serial: %w", err)
	}
	notBefore := time.Now().Add(-time.Minute).Truncate(time.Second).UTC()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		DNSNames:     names,
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    notBefore,
		NotAfter:     notBefore.Add(lifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("create ingress certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("parse ingress certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// close stops the listener and every connection and waits for the server loop to end.
func (in *ingress) close() error {
	if in == nil {
		return nil
	}
	err := errors.Join(in.srv.Close(), in.plain.Close())
	<-in.done
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("close ingress: %w", err)
	}
	return nil
}
