// Package probes observes a running platform from the outside: it speaks real protocols to real
// endpoints and returns what it saw, for the checkers to judge.
package probes

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strings"
	"time"

	"dpsim/scenarios/checkers"
	"dpsim/topology"
)

// TLS handshakes with addr once per protocol version (1.0 to 1.3), each pinned to that version, and
// inspects the certificate served. It fails only if addr does not accept TCP connections at all. A
// version counts as refused only when the server says so (a TLS alert, a close, or an answer in
// another version); a timeout or a reset proves nothing and is recorded as that version's error.
func TLS(ctx context.Context, addr string) (checkers.TLSObservation, error) {
	obs := checkers.TLSObservation{Address: addr}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return obs, fmt.Errorf("probe tls at %s: %w", addr, err)
	}
	conn.Close()
	names := make([]string, 0, len(topology.TLSVersions))
	for name := range topology.TLSVersions {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		v := topology.TLSVersions[name]
		state, err := handshake(ctx, addr, v)
		if ctx.Err() != nil {
			return obs, ctx.Err()
		}
		if err != nil {
			if !Refused(err) {
				obs.Errors = append(obs.Errors, fmt.Sprintf("TLS %s: %v", name, err))
			}
			continue
		}
		obs.Accepted = append(obs.Accepted, name)
		if len(state.PeerCertificates) > 0 {
			cert := state.PeerCertificates[0]
			obs.Lifetime = cert.NotAfter.Sub(cert.NotBefore)
			switch key := cert.PublicKey.(type) {
			case *ecdsa.PublicKey:
				obs.KeyType, obs.Curve = "ECDSA", key.Curve.Params().Name
			case *rsa.PublicKey:
				obs.KeyType, obs.Curve = "RSA", fmt.Sprintf("%d bits", key.N.BitLen())
			case ed25519.PublicKey:
				obs.KeyType = "Ed25519"
			default:
				obs.KeyType = fmt.Sprintf("%T", key)
			}
		}
	}
	return obs, nil
}

func handshake(ctx context.Context, addr string, version uint16) (tls.ConnectionState, error) {
	dialer := &tls.Dialer{
		NetDialer: &net.Dialer{Timeout: 5 * time.Second},
		Config: &tls.Config{
			MinVersion:         version,
			MaxVersion:         version,
			InsecureSkipVerify: true, // the probe inspects the certificate itself
			// Old versions need old suites; offer every suite Go implements.
			CipherSuites: allSuites(),
		},
	}
	conn, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return tls.ConnectionState{}, err
	}
	defer conn.Close()
	return conn.(*tls.Conn).ConnectionState(), nil
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
