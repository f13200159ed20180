package probes

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"syscall"
	"testing"

	"dpsim/reports"
	"dpsim/topology"
)

func TestRefused(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"server alert", &net.OpError{Op: "remote error", Err: errors.New("tls: protocol version not supported")}, true},
		{"server closed", fmt.Errorf("handshake: %w", io.EOF), true},
		{"answered in another version", errors.New("tls: server selected unsupported protocol version 303"), true},
		{"timeout", context.DeadlineExceeded, false},
		{"reset", &net.OpError{Op: "read", Err: syscall.ECONNRESET}, false},
		{"dial refused", &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, false},
	}
	for _, tt := range tests {
		if got := Refused(tt.err); got != tt.want {
			t.Errorf("%s: Refused = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// A server that takes the connection and resets it during the handshake refuses nothing: every
// version is a probe error, none is counted as not accepted.
func TestResetIsAnError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.(*net.TCPConn).SetLinger(0) // close with a reset
			buf := make([]byte, 1)
			_, _ = c.Read(buf)
			c.Close()
		}
	}()
	obs, err := TLS(context.Background(), topology.IngressEndpoint{Address: ln.Addr().String(), Hosts: map[string]string{"a": "a.test"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(obs.Targets) != 2 {
		t.Fatalf("%d targets, want the host and no SNI", len(obs.Targets))
	}
	for _, target := range obs.Targets {
		for _, o := range slices.Concat(target.Versions, target.Suites, target.Curves) {
			if o.Result != reports.OfferError {
				t.Errorf("%q: %s %s (%s), want error", target.Host, o.Offered, o.Result, o.Detail)
			}
		}
		if target.Certificate != nil || target.HSTSError == "" {
			t.Errorf("%q: certificate %+v, HSTS error %q: want none and an error", target.Host, target.Certificate, target.HSTSError)
		}
	}
}
