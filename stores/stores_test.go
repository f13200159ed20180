package stores

import (
	"context"
	"errors"
	"io"
	"iter"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"

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

// stream emits one outcome per id; ids ending in "!" fail.
type stream struct{}

func (stream) WriteStream(_ context.Context, ids iter.Seq[string], _ int, emit func(topology.WriteResult)) error {
	for id := range ids {
		r := topology.WriteResult{ID: id}
		if id[len(id)-1] == '!' {
			r.Err = Indefinite(errors.New("timeout"))
		}
		emit(r)
	}
	return nil
}

func TestCollect(t *testing.T) {
	res, err := Collect(context.Background(), stream{}, []string{"a", "b!", "c"}, 1)
	if err != nil || len(res) != 3 || res[1].Err == nil || !errors.Is(res[1].Err, topology.ErrIndefinite) {
		t.Errorf("Collect = %+v, %v", res, err)
	}
	if Indefinite(nil) != nil {
		t.Error("Indefinite(nil) != nil")
	}
}

// slowStream acknowledges every id after delay, concurrently, and records the most writes it had in
// flight at once.
type slowStream struct {
	delay       time.Duration
	bound       int // its InFlight
	mu          sync.Mutex
	now, most   int
	cancelAfter int
	cancel      func()
}

func (s *slowStream) InFlight() int { return s.bound }

func (s *slowStream) WriteStream(ctx context.Context, ids iter.Seq[string], _ int, emit func(topology.WriteResult)) error {
	var wg sync.WaitGroup
	n := 0
	for id := range ids {
		n++
		if s.cancel != nil && n == s.cancelAfter {
			s.cancel()
		}
		s.mu.Lock()
		s.now++
		s.most = max(s.most, s.now)
		s.mu.Unlock()
		wg.Go(func() {
			time.Sleep(s.delay)
			s.mu.Lock()
			s.now--
			s.mu.Unlock()
			emit(topology.WriteResult{ID: id})
		})
	}
	wg.Wait()
	return nil
}

func TestWriteForKeepsTheWindowAndStops(t *testing.T) {
	tests := []struct {
		name        string
		bound, most int
	}{
		{"the load's bound", 0, 8},
		{"the store's own, lower bound", 3, 3},
		{"the load's, lower bound", 20, 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &slowStream{delay: 2 * time.Millisecond, bound: tt.bound}
			var mu sync.Mutex
			seen := map[string]bool{}
			issued, err := WriteFor(context.Background(), s, TimedLoad{Prefix: "p/", Duration: 50 * time.Millisecond, InFlight: 8, ValueBytes: 1}, func(r topology.WriteResult) {
				mu.Lock()
				seen[r.ID] = true
				mu.Unlock()
			})
			if err != nil || issued == 0 {
				t.Fatalf("WriteFor = %d, %v", issued, err)
			}
			if len(seen) != issued || !seen[TimedID("p/", 0)] || !seen[TimedID("p/", issued-1)] {
				t.Errorf("%d outcomes for %d issued writes", len(seen), issued)
			}
			if s.most > tt.most {
				t.Errorf("%d writes in flight, want at most %d", s.most, tt.most)
			}
		})
	}
}

func TestWriteIDsFailsWhatWasNeverSent(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := &slowStream{cancelAfter: 3, cancel: cancel}
	res, err := Collect(ctx, s, []string{"a", "b", "c", "d", "e"}, 1)
	if err != nil || len(res) != 5 {
		t.Fatalf("Collect = %d outcomes, %v; want 5", len(res), err)
	}
	failed := 0
	for _, r := range res {
		if r.Err != nil {
			failed++
			if errors.Is(r.Err, topology.ErrIndefinite) {
				t.Errorf("%s: %v: an id never sent is a definite failure", r.ID, r.Err)
			}
		}
	}
	if failed != 2 {
		t.Errorf("%d failed, want the 2 ids never sent", failed)
	}
}
