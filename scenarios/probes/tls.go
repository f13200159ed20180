// Package probes observes a running platform from the outside: it speaks real protocols to real
// endpoints and returns what it saw, for the checkers to judge.
package probes

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"dpsim/reports"
	"dpsim/topology"
)

// handshakeTimeout bounds one handshake, and one HTTPS answer.
const handshakeTimeout = 5 * time.Second

// TLS probes the ingress at ep once per way of reaching it (each tenant's host name, then no SNI):
// a handshake per protocol version alone, per TLS 1.2 cipher suite alone and per key exchange
// alone; the certificate served, its chain checked against ep's CA and its names against the host;
// and the HSTS header of an HTTPS answer. It fails only if ep.Address takes no TCP connection. An
// offer counts as refused only when the server says so (a TLS alert, a close, an answer in another
// version); a timeout or a reset proves nothing and is that offer's error.
func TLS(ctx context.Context, ep topology.IngressEndpoint) (reports.TLS, error) {
	out := reports.TLS{Address: ep.Address}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", ep.Address)
	if err != nil {
		return out, fmt.Errorf("probe tls at %s: %w", ep.Address, err)
	}
	conn.Close()
	roots := x509.NewCertPool()
	hasRoots := roots.AppendCertsFromPEM(ep.RootCAs)
	tenants := slices.Sorted(maps.Keys(ep.Hosts))
	for _, tenant := range append(tenants, "") {
		p := prober{addr: ep.Address, host: ep.Hosts[tenant], roots: roots, hasRoots: hasRoots}
		target := p.probe(ctx)
		target.Tenant = tenant
		if err := ctx.Err(); err != nil {
			return out, err
		}
		out.Targets = append(out.Targets, target)
	}
	return out, nil
}

// prober probes one way of reaching the ingress: addr, with host as SNI ("" sends none).
type prober struct {
	addr, host string
	roots      *x509.CertPool
	hasRoots   bool
}

func (p prober) probe(ctx context.Context) reports.TLSTarget {
	t := reports.TLSTarget{Host: p.host}
	for _, name := range slices.Sorted(maps.Keys(topology.TLSVersions)) {
		v := topology.TLSVersions[name]
		t.Versions = append(t.Versions, p.offer(ctx, name, func(c *tls.Config) { c.MinVersion, c.MaxVersion = v, v }))
	}
	for _, s := range topology.CipherSuitesTLS12() {
		t.Suites = append(t.Suites, p.offer(ctx, s.Name, func(c *tls.Config) {
			c.MinVersion, c.MaxVersion, c.CipherSuites = tls.VersionTLS12, tls.VersionTLS12, []uint16{s.ID}
		}))
	}
	for _, name := range topology.KeyExchangeNames() {
		id := topology.KeyExchanges[name]
		t.Curves = append(t.Curves, p.offer(ctx, name, func(c *tls.Config) { c.CurvePreferences = []tls.CurveID{id} }))
	}
	if state, err := p.handshake(ctx, func(*tls.Config) {}); err == nil && len(state.PeerCertificates) > 0 {
		t.Certificate = p.certificate(state.PeerCertificates)
	}
	t.HSTS, t.HSTSError = p.hsts(ctx)
	return t
}

// offer handshakes with only what set leaves in the client's configuration.
func (p prober) offer(ctx context.Context, offered string, set func(*tls.Config)) reports.TLSOffer {
	_, err := p.handshake(ctx, set)
	switch {
	case err == nil:
		return reports.TLSOffer{Offered: offered, Result: reports.OfferAccepted}
	case Refused(err):
		return reports.TLSOffer{Offered: offered, Result: reports.OfferRefused, Detail: err.Error()}
	default:
		return reports.TLSOffer{Offered: offered, Result: reports.OfferError, Detail: err.Error()}
	}
}

// config is the client's configuration before set narrows it: every version and suite Go has, the
// host as SNI, the certificate inspected by the probe itself.
func (p prober) config(set func(*tls.Config)) *tls.Config {
	c := &tls.Config{
		MinVersion:         tls.VersionTLS10,
		MaxVersion:         tls.VersionTLS13,
		CipherSuites:       allSuites(),
		ServerName:         p.host,
		InsecureSkipVerify: true, // the probe verifies the chain against the platform's CA itself
	}
	set(c)
	return c
}

func (p prober) handshake(ctx context.Context, set func(*tls.Config)) (tls.ConnectionState, error) {
	dialer := &tls.Dialer{NetDialer: &net.Dialer{Timeout: handshakeTimeout}, Config: p.config(set)}
	hctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
	defer cancel()
	conn, err := dialer.DialContext(hctx, "tcp", p.addr)
	if err != nil {
		return tls.ConnectionState{}, err
	}
	defer conn.Close()
	return conn.(*tls.Conn).ConnectionState(), nil
}

// certificate describes the leaf of chain and verifies it against the platform's CA and the host.
func (p prober) certificate(chain []*x509.Certificate) *reports.TLSCertificate {
	leaf := chain[0]
	c := &reports.TLSCertificate{Subject: leaf.Subject.String(), DNSNames: leaf.DNSNames, Issuer: leaf.Issuer.String(),
		NotBefore: leaf.NotBefore.UTC(), NotAfter: leaf.NotAfter.UTC(), LifetimeHours: leaf.NotAfter.Sub(leaf.NotBefore).Hours(),
		Serial: leaf.SerialNumber.Text(16)}
	if c.DNSNames == nil {
		c.DNSNames = []string{}
	}
	switch key := leaf.PublicKey.(type) {
	case *ecdsa.PublicKey:
		c.KeyType, c.Curve = "ECDSA", key.Curve.Params().Name
	case *rsa.PublicKey:
		c.KeyType, c.Curve = "RSA", fmt.Sprintf("%d bits", key.N.BitLen())
	case ed25519.PublicKey:
		c.KeyType = "Ed25519"
	default:
		c.KeyType = fmt.Sprintf("%T", key)
	}
	if !p.hasRoots {
		c.ChainError = "the platform named no CA certificate to verify against"
	} else {
		intermediates := x509.NewCertPool()
		for _, ic := range chain[1:] {
			intermediates.AddCert(ic)
		}
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: p.roots, Intermediates: intermediates}); err != nil {
			c.ChainError = err.Error()
		}
	}
	if p.host != "" {
		if err := leaf.VerifyHostname(p.host); err != nil {
			c.HostError = err.Error()
		}
	}
	return c
}

// hsts asks the ingress for / over HTTPS (Host: the host) and returns its Strict-Transport-Security
// header, or why no answer came.
func (p prober) hsts(ctx context.Context) (string, string) {
	tr := &http.Transport{
		TLSClientConfig: p.config(func(*tls.Config) {}),
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{Timeout: handshakeTimeout}).DialContext(ctx, network, p.addr)
		},
		DisableKeepAlives: true,
	}
	defer tr.CloseIdleConnections()
	host := p.host
	if host == "" {
		host = p.addr
	}
	hctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(hctx, http.MethodGet, "https://"+host+"/", nil)
	if err != nil {
		return "", err.Error()
	}
	resp, err := (&http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		return "", err.Error()
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	return resp.Header.Get("Strict-Transport-Security"), ""
}

// Refused reports whether a failed handshake was the server's answer: an alert it sent, a close of
// the connection, or a ServerHello in a version the client did not offer. Anything else (a timeout,
// a reset, a dial error) says nothing about what the server accepts.
func Refused(err error) bool {
	var op *net.OpError
	switch {
	case errors.As(err, &op) && op.Op == "remote error":
		return true
	case errors.Is(err, io.EOF):
		return true
	case strings.Contains(err.Error(), "server selected unsupported protocol version"):
		return true
	}
	return false
}

func allSuites() []uint16 {
	var ids []uint16
	for _, s := range tls.CipherSuites() {
		ids = append(ids, s.ID)
	}
	for _, s := range tls.InsecureCipherSuites() {
		ids = append(ids, s.ID)
	}
	return ids
}
