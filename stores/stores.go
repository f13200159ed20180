// Package stores holds what the real data-store clients (stores/kafka, stores/elastic, stores/s3)
// share: the streaming batch-write contract the in-cluster agent uses, the values written, and the
// rule that decides whether a transport error leaves a write's outcome unknown.
package stores

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net"
	"sync"
	"syscall"

	"dpsim/topology"
)

// Result is the outcome of one write of a batch, with a store-specific detail that
// topology.WriteResult has no field for (a Kafka partition and offset, an Elasticsearch _seq_no, an
// S3 ETag). The detail is for reports and debugging only; checkers never read it.
type Result struct {
	topology.WriteResult
	Detail string
}

// StreamWriter is a store that writes a batch and reports each write's outcome as soon as it is
// known, so the agent can stream outcomes back and a broken stream loses only the outcomes not yet
// sent. emit is called exactly once per id, from any goroutine, never after WriteStream returns.
type StreamWriter interface {
	WriteStream(ctx context.Context, ids []string, valueBytes int, emit func(Result)) error
}

// Collect runs a streaming batch write and returns the outcomes as topology.WriteResults in the
// order they finished.
func Collect(ctx context.Context, w StreamWriter, ids []string, valueBytes int) ([]topology.WriteResult, error) {
	var mu sync.Mutex
	out := make([]topology.WriteResult, 0, len(ids))
	err := w.WriteStream(ctx, ids, valueBytes, func(r Result) {
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
