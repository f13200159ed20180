package probes

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"
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
	obs, err := TLS(context.Background(), ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if len(obs.Accepted) != 0 || len(obs.Errors) != 4 {
		t.Fatalf("accepted %v, errors %v: want none accepted and 4 errors", obs.Accepted, obs.Errors)
	}
}
