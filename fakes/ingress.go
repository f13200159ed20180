package fakes

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"time"

	"dpsim/topology"
)

// ingress is the fake platform's one entry point: a real TLS listener on 127.0.0.1 configured from
// the spec, so TLS probes observe exactly what the spec allows (TLS 1.0 included).
type ingress struct {
	addr string
	srv  *http.Server
	done chan struct{}
}

// startIngress listens on 127.0.0.1:0 with the spec's TLS versions and a fresh self-signed
// certificate on the spec's curve living the spec's lifetime. The certificate's validity uses the
// wall clock: real TLS clients check it.
func startIngress(spec topology.Spec) (*ingress, error) {
	cfg, err := ingressTLS(spec)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for ingress: %w", err)
	}
	in := &ingress{
		addr: ln.Addr().String(),
		srv: &http.Server{
			Handler:      http.HandlerFunc(serveIngress),
			ErrorLog:     log.New(io.Discard, "", 0), // refused handshakes are the point of some probes
			TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
		},
		done: make(chan struct{}),
	}
	go func() {
		defer close(in.done)
		_ = in.srv.Serve(tls.NewListener(ln, cfg)) // returns http.ErrServerClosed on close
	}()
	return in, nil
}

func serveIngress(w http.ResponseWriter, _ *http.Request) {
	_, _ = io.WriteString(w, "dpsim fake ingress\n")
}

// ingressTLS builds the server configuration. MinVersion is always set explicitly: crypto/tls
// refuses TLS 1.0 and 1.1 server-side only when MinVersion is left at zero (GODEBUG tls10server),
// and a spec allowing them must be observable as such.
func ingressTLS(spec topology.Spec) (*tls.Config, error) {
	minV, okMin := topology.TLSVersions[spec.TLS.MinVersion]
	maxV, okMax := topology.TLSVersions[spec.TLS.MaxVersion]
	if !okMin || !okMax {
		return nil, fmt.Errorf("ingress tls versions %q..%q: unknown version", spec.TLS.MinVersion, spec.TLS.MaxVersion)
	}
	lifetime, err := time.ParseDuration(spec.TLS.CertLifetime)
	if err != nil {
		return nil, fmt.Errorf("ingress certificate lifetime: %w", err)
	}
	cert, err := selfSigned(spec, lifetime)
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion:   minV,
		MaxVersion:   maxV,
		Certificates: []tls.Certificate{cert},
		NextProtos:   []string{"http/1.1"},
	}, nil
}

// selfSigned makes an ECDSA certificate on the spec's curve for the ingress host names, valid from
// a minute ago (whole seconds, as X.509 stores them) for exactly lifetime.
func selfSigned(spec topology.Spec, lifetime time.Duration) (tls.Certificate, error) {
	curve, ok := topology.Curves[spec.TLS.CertCurve]
	if !ok {
		return tls.Certificate{}, fmt.Errorf("ingress certificate curve %q: unknown", spec.TLS.CertCurve)
	}
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
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "ingress." + spec.Name, Organization: []string{"dpsim fake"}},
		DNSNames:              []string{"localhost", "ingress." + spec.Name},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:             notBefore,
		NotAfter:              notBefore.Add(lifetime),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
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
	err := in.srv.Close()
	<-in.done
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("close ingress: %w", err)
	}
	return nil
}
