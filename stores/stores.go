// Package stores holds what the real data-store clients (stores/kafka, stores/elastic, stores/s3)
// share: the streaming batch-write contract the in-cluster agent uses, the values written, and the
// rule that decides whether a transport error leaves a write's outcome unknown.
package stores

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"iter"
	"math/rand/v2"
	"net"
	"sync"
	"syscall"
	"time"

	"dpsim/topology"
)

// Result is the outcome of one write of a batch, with a store-specific detail that
// topology.WriteResult has no field for (a Kafka partition and offset, an Elasticsearch _seq_no, an
// S3 ETag). The detail is for reports and debugging only; checkers never read it.
type Result struct {
	topology.WriteResult
	Detail string
}

// StreamWriter is a store that writes ids as they come and reports each write's outcome as soon as
// it is known, so the agent can stream outcomes back and a broken stream loses only the outcomes not
// yet sent. ids may block (the caller paces them) and may end early. emit is called exactly once for
// every id taken from ids, from any goroutine, never after WriteStream returns: an id taken but never
// sent because ctx ended is failed, one in flight when ctx ended is unknown.
type StreamWriter interface {
	WriteStream(ctx context.Context, ids iter.Seq[string], valueBytes int, emit func(Result)) error
}

// WriteIDs writes a list of ids through w. Ids w never took because ctx ended are failed (not sent),
// so emit is called once for every id of the list.
func WriteIDs(ctx context.Context, w StreamWriter, ids []string, valueBytes int, emit func(Result)) error {
	taken := 0
	err := w.WriteStream(ctx, func(yield func(string) bool) {
		for _, id := range ids {
			if ctx.Err() != nil || !yield(id) {
				return
			}
			taken++
		}
	}, valueBytes, emit)
	if taken < len(ids) {
		now := time.Now()
		why := cmp.Or(ctx.Err(), err, errors.New("the store stopped taking writes"))
		for _, id := range ids[taken:] {
			emit(Result{WriteResult: topology.WriteResult{ID: id, Invoked: now, Finished: now,
				Err: fmt.Errorf("write %s: not sent: %v", id, why)}})
		}
	}
	return err
}

// TimedID is the id of the i-th write of a timed workload under prefix.
func TimedID(prefix string, i int) string { return fmt.Sprintf("%s%07d", prefix, i) }

// WriteFor writes ids TimedID(load.Prefix, 0), TimedID(load.Prefix, 1), ... through w for
// load.Duration, at most load.Rate per second (when positive) and with at most load.InFlight writes
// without an outcome, and returns how many it issued. Once the duration has passed no new write
// starts; the call returns when every issued write has its outcome.
func WriteFor(ctx context.Context, w StreamWriter, load topology.TimedLoad, emit func(Result)) (int, error) {
	slots := make(chan struct{}, max(load.InFlight, 1))
	start := time.Now()
	// stopped closes when the duration has passed (or ctx ended): no write starts after it.
	feedCtx, cancel := context.WithTimeout(ctx, load.Duration)
	defer cancel()
	stopped := feedCtx.Done()
	issued := 0
	err := w.WriteStream(ctx, func(yield func(string) bool) {
		for {
			if load.Rate > 0 {
				due := start.Add(time.Duration(issued) * time.Second / time.Duration(load.Rate))
				if wait := time.Until(due); wait > 0 {
					select {
					case <-time.After(wait):
					case <-stopped:
						return
					}
				}
			}
			select {
			case slots <- struct{}{}:
			case <-stopped:
				return
			}
			if feedCtx.Err() != nil || !yield(TimedID(load.Prefix, issued)) {
				return
			}
			issued++
		}
	}, load.ValueBytes, func(r Result) {
		<-slots
		emit(r)
	})
	return issued, err
}

// Collect runs a streaming write of ids and returns the outcomes as topology.WriteResults in the
// order they finished.
func Collect(ctx context.Context, w StreamWriter, ids []string, valueBytes int) ([]topology.WriteResult, error) {
	var mu sync.Mutex
	out := make([]topology.WriteResult, 0, len(ids))
	err := WriteIDs(ctx, w, ids, valueBytes, func(r Result) {
		mu.Lock()
		out = append(out, r.WriteResult)
		mu.Unlock()
	})
	mu.Lock()
	defer mu.Unlock()
	return out, err
}

// WriteOne writes a single id through a streaming writer: the Store.Write of every real store.
func WriteOne(ctx context.Context, w StreamWriter, id string, valueBytes int) (topology.Ack, error) {
	res, err := Collect(ctx, w, []string{id}, valueBytes)
	if err != nil {
		return topology.Ack{}, err
	}
	if len(res) != 1 {
		return topology.Ack{}, fmt.Errorf("write %s: no outcome: %w", id, topology.ErrIndefinite)
	}
	return res[0].Ack, res[0].Err
}

// Sequential is the StreamWriter of a store without one: it writes one id at a time with
// Store.Write, a value of valueBytes derived from the id.
func Sequential(st topology.Store) StreamWriter {
	if w, ok := st.(StreamWriter); ok {
		return w
	}
	return sequential{st}
}

type sequential struct{ st topology.Store }

func (s sequential) WriteStream(ctx context.Context, ids iter.Seq[string], valueBytes int, emit func(Result)) error {
	for id := range ids {
		invoked := time.Now()
		ack, err := s.st.Write(ctx, id, Value(id, valueBytes))
		emit(Result{WriteResult: topology.WriteResult{ID: id, Invoked: invoked, Finished: time.Now(), Ack: ack, Err: err}})
	}
	return ctx.Err()
}

// Value is the value written under id: n printable bytes derived from the id, so a record read back
// can be told apart from another one of the same size.
func Value(id string, n int) []byte {
	h := fnv.New64a()
	h.Write([]byte(id))
	rng := rand.New(rand.NewPCG(h.Sum64(), uint64(n)))
	v := make([]byte, n)
	for i := range v {
		v[i] = byte('a' + rng.IntN(26))
	}
	return v
}

// Indefinite wraps err so that errors.Is(err, topology.ErrIndefinite) holds, keeping err in the
// chain; an error already marked is returned as it is.
func Indefinite(err error) error {
	if err == nil || errors.Is(err, topology.ErrIndefinite) {
		return err
	}
	return fmt.Errorf("%w: %w", topology.ErrIndefinite, err)
}

// NotSent reports whether a transport error proves the request never reached the server: the
// connection could not be made (refused, unreachable, no such host, dial timeout). Any other
// transport error (a reset, EOF or timeout after the request was written) leaves the outcome
// unknown.
func NotSent(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return true
	}
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH) {
		return true
	}
	return false
}

// TransportError classifies an error of a request that had no response: definite when the request
// was provably never sent (NotSent), otherwise indefinite. A context that ended before the request
// was sent is the caller's to classify.
func TransportError(err error) error {
	if NotSent(err) {
		return err
	}
	return Indefinite(err)
}
