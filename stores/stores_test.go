package stores

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"
	"testing"

	"dpsim/topology"
)

func TestTransportError(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		indefinite bool
	}{
		{"refused on dial", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, false},
		{"dial timeout", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("i/o timeout")}, false},
		{"no such host", &net.DNSError{Err: "no such host", Name: "kafka-0"}, false},
		{"reset while reading", &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}, true},
		{"eof", io.ErrUnexpectedEOF, true},
		{"deadline", context.DeadlineExceeded, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := TransportError(tt.err)
			if errors.Is(got, topology.ErrIndefinite) != tt.indefinite || !errors.Is(got, tt.err) {
				t.Errorf("TransportError(%v) = %v, want indefinite %v", tt.err, got, tt.indefinite)
			}
		})
	}
}

func TestValue(t *testing.T) {
	a, b := Value("x/1", 64), Value("x/2", 64)
	if len(a) != 64 || string(a) == string(b) || string(a) != string(Value("x/1", 64)) {
		t.Errorf("values %q %q: want 64 bytes, stable per id, distinct across ids", a, b)
	}
	for _, c := range a {
		if c < 'a' || c > 'z' {
			t.Fatalf("value byte %q is not a lower-case letter", c)
		}
	}
}

// stream emits one outcome per id; ids ending in "!" fail.
type stream struct{}

func (stream) WriteStream(_ context.Context, ids []string, _ int, emit func(Result)) error {
	for _, id := range ids {
		r := Result{WriteResult: topology.WriteResult{ID: id}}
		if id[len(id)-1] == '!' {
			r.Err = Indefinite(errors.New("timeout"))
		}
		emit(r)
	}
	return nil
}

func TestCollectAndWriteOne(t *testing.T) {
	res, err := Collect(context.Background(), stream{}, []string{"a", "b!", "c"}, 1)
	if err != nil || len(res) != 3 || res[1].Err == nil || !errors.Is(res[1].Err, topology.ErrIndefinite) {
		t.Errorf("Collect = %+v, %v", res, err)
	}
	if _, err := WriteOne(context.Background(), stream{}, "x", 1); err != nil {
		t.Errorf("WriteOne(x) = %v", err)
	}
	if _, err := WriteOne(context.Background(), stream{}, "x!", 1); !errors.Is(err, topology.ErrIndefinite) {
		t.Errorf("WriteOne(x!) = %v, want indefinite", err)
	}
	if Indefinite(nil) != nil {
		t.Error("Indefinite(nil) != nil")
	}
}
