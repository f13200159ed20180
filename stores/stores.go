// Package stores holds what the data-store clients (stores/kafka, stores/elastic, stores/s3, the
// agent's remote stores and the fakes) share around topology.Store's one streaming write contract:
// writing a list of ids or a timed workload through it, and the rule that decides whether a
// transport error leaves a write's outcome unknown.
package stores

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"net"
	"sync"
	"syscall"
	"time"

	"dpsim/topology"
)

// StreamWriter is the write half of topology.Store (see its WriteStream).
type StreamWriter interface {
	WriteStream(ctx context.Context, ids iter.Seq[string], valueBytes int, emit func(topology.WriteResult)) error
}

// InFlightBound is a StreamWriter that works on at most InFlight writes at once (0: no bound).
type InFlightBound interface {
	InFlight() int
}

// WriteIDs writes a list of ids through w. Ids w never took because ctx ended are failed (not sent),
// so emit is called once for every id of the list.
func WriteIDs(ctx context.Context, w StreamWriter, ids []string, valueBytes int, emit func(topology.WriteResult)) error {
	taken := 0
	err := w.WriteStream(ctx, func(yield func(string) bool) {
		for _, id := range ids {
			if ctx.Err() != nil {
				return
			}
			taken++ // taken even when the store stops after it: its outcome is the store's to emit
			if !yield(id) {
				return
			}
		}
	}, valueBytes, emit)
	if taken < len(ids) {
		now := time.Now()
		why := cmp.Or(ctx.Err(), err, errors.New("the store stopped taking writes"))
		for _, id := range ids[taken:] {
			emit(topology.WriteResult{ID: id, Invoked: now, Finished: now, Err: fmt.Errorf("write %s: not sent: %v", id, why)})
		}
	}
	return err
}

// TimedLoad is a timed workload: writes named Prefix followed by a sequence number, for Duration,
// at most Rate per second (0: as fast as the store takes them) and at most InFlight of them
// awaiting an outcome, each of ValueBytes bytes.
type TimedLoad struct {
	Prefix     string
	Duration   time.Duration
	Rate       int
	InFlight   int
	ValueBytes int
}

// TimedID is the id of the i-th write of a timed workload under prefix.
func TimedID(prefix string, i int) string { return fmt.Sprintf("%s%07d", prefix, i) }

// WriteFor writes ids TimedID(load.Prefix, 0), TimedID(load.Prefix, 1), ... through w for
// load.Duration, at most load.Rate per second (when positive) and with at most load.InFlight writes
// without an outcome (fewer when w is an InFlightBound: an id it has no worker for would wait,
// unseen, and start after the duration), and returns how many it issued. Once the duration has
// passed no new write starts; the call returns when every issued write has its outcome.
func WriteFor(ctx context.Context, w StreamWriter, load TimedLoad, emit func(topology.WriteResult)) (int, error) {
	inFlight := load.InFlight
	if b, ok := w.(InFlightBound); ok && b.InFlight() > 0 {
		inFlight = min(inFlight, b.InFlight())
	}
	slots := make(chan struct{}, max(inFlight, 1))
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
			if feedCtx.Err() != nil {
				return
			}
			issued++
			if !yield(TimedID(load.Prefix, issued-1)) {
				return
			}
		}
	}, load.ValueBytes, func(r topology.WriteResult) {
		<-slots
		emit(r)
	})
	return issued, err
}

// Collect runs a streaming write of ids and returns the outcomes in the order they finished.
func Collect(ctx context.Context, w StreamWriter, ids []string, valueBytes int) ([]topology.WriteResult, error) {
	var mu sync.Mutex
	out := make([]topology.WriteResult, 0, len(ids))
	err := WriteIDs(ctx, w, ids, valueBytes, func(r topology.WriteResult) {
		mu.Lock()
		out = append(out, r)
		mu.Unlock()
	})
	mu.Lock()
	defer mu.Unlock()
	return out, err
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

// Description is one kind of data store as the agent knows it: its name (the component's name,
// the agent configuration's key), its family and how it is connected to. Each store package exports
// one; stores/registry lists them, the one place that names every store.
type Description struct {
	Name string
	Kind topology.Kind
	// InFlight is how many writes the store's client works on at once (0: as many as it is given).
	// A timed workload never has more issued without an outcome, so that none waits in a queue
	// past the workload's end (see WriteFor).
	InFlight int
	// Connect reaches the store's cluster for one tenant; the agent does it once, on first use.
	Connect func(ctx context.Context, c Connection) (Cluster, error)
}

// Connection is how the agent reaches one store of its tenant.
type Connection struct {
	Tenant    string
	Endpoints []string // Kafka bootstrap host:port, Elasticsearch URLs, the S3 endpoint host:port
	Secure    bool
	AccessKey string
	SecretKey string
	Bucket    string // default: the tenant
	Spec      topology.Spec
	Log       *slog.Logger
}

// Cluster is a connection to one store's cluster, shared by every dataset opened through it.
type Cluster interface {
	// Dataset opens (creating it on first use) one dataset: a topic, an index, a bucket prefix.
	Dataset(ctx context.Context, name string) (topology.Store, error)
	Close() error
}

// Datasets makes a Cluster of a connection whose datasets open with open and which closes with
// close.
func Datasets[S topology.Store](open func(ctx context.Context, name string) (S, error), close func() error) Cluster {
	return datasets[S]{open, close}
}

type datasets[S topology.Store] struct {
	open  func(ctx context.Context, name string) (S, error)
	close func() error
}

func (d datasets[S]) Dataset(ctx context.Context, name string) (topology.Store, error) {
	s, err := d.open(ctx, name)
	if err != nil {
		return nil, err // not a typed nil inside the interface
	}
	return s, nil
}

func (d datasets[S]) Close() error { return d.close() }

// Stater is a store that reports its dataset's state, for reports and for settling: partitions and
// their in-sync replicas, shards and their copies, the erasure set's servers.
type Stater interface {
	State(ctx context.Context) (any, error)
	// Replicated reports whether every part of the dataset has all its copies again (a full
	// in-sync replica set, every shard copy started, write quorum); the string says what is
	// missing, or what was seen. A dataset that does not exist (a restore without its volumes) is
	// an error wrapping ErrDatasetMissing: no wait brings it back.
	Replicated(ctx context.Context) (bool, string, error)
}

// ErrDatasetMissing is a store's answer that the dataset does not exist (an unknown topic, index or
// bucket): an answer to judge, not silence.
var ErrDatasetMissing = errors.New("dataset does not exist")
