// Package history records every operation a workload makes against a store - invoked, then ok,
// failed or unknown - with a unique id and its times, so checkers can judge the run afterwards.
package history

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"dpsim/topology"
)

// Outcome is how an operation ended, in Jepsen's vocabulary.
type Outcome string

// The outcomes.
const (
	OK      Outcome = "ok"      // acknowledged
	Failed  Outcome = "failed"  // definitely not applied
	Unknown Outcome = "unknown" // may or may not have been applied (Jepsen's "info")
)

// Op is one recorded write.
type Op struct {
	ID       string
	Tenant   string
	Store    string
	Invoked  time.Time
	Finished time.Time
	Outcome  Outcome
	Ack      topology.Ack
	Err      string
}

// History is the append-only log of every operation of a run; safe for concurrent use.
type History struct {
	mu  sync.Mutex
	ops []Op
}

// Append records one finished operation.
func (h *History) Append(op Op) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ops = append(h.ops, op)
}

// Len is how many operations have been recorded.
func (h *History) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.ops)
}

// Ops returns a copy of the operations, ordered by invocation time (stable for equal times).
func (h *History) Ops() []Op {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := append([]Op(nil), h.ops...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Invoked.Before(out[j].Invoked) })
	return out
}

// Filter returns the operations on one tenant's store.
func Filter(ops []Op, tenant, store string) []Op {
	var out []Op
	for _, op := range ops {
		if op.Tenant == tenant && op.Store == store {
			out = append(out, op)
		}
	}
	return out
}

// Recorder is a recording client: it wraps a store and logs every write it makes into a History.
type Recorder struct {
	Store   topology.Store
	Tenant  string
	Clock   topology.Clock
	History *History
}

// Write writes through the store and records the outcome. The error is the store's.
func (r *Recorder) Write(ctx context.Context, id string, value []byte) error {
	invoked := r.Clock.Now()
	ack, err := r.Store.Write(ctx, id, value)
	r.record(topology.WriteResult{ID: id, Invoked: invoked, Finished: r.Clock.Now(), Ack: ack, Err: err})
	return err
}

// Batched reports whether the store writes batches itself (topology.BatchWriter).
func (r *Recorder) Batched() bool {
	_, ok := r.Store.(topology.BatchWriter)
	return ok
}

// WriteBatch has a batch-writing store write ids and records every outcome. A batch the store could
// not run at all is recorded as unknown outcomes: some writes may have been applied.
func (r *Recorder) WriteBatch(ctx context.Context, ids []string, valueBytes int) error {
	invoked := r.Clock.Now()
	results, err := r.Store.(topology.BatchWriter).WriteBatch(ctx, ids, valueBytes)
	done := map[string]bool{}
	for _, res := range results {
		r.record(res)
		done[res.ID] = true
	}
	if err != nil {
		for _, id := range ids {
			if !done[id] {
				r.record(topology.WriteResult{ID: id, Invoked: invoked, Finished: r.Clock.Now(), Err: fmt.Errorf("batch: %w: %w", topology.ErrIndefinite, err)})
			}
		}
	}
	return err
}

// Timed reports whether the store writes for a time by itself (topology.TimedWriter).
func (r *Recorder) Timed() bool {
	_, ok := r.Store.(topology.TimedWriter)
	return ok
}

// WriteFor has a timed store write for d and records every outcome it reports (the store reports
// writes whose outcome it could not learn as unknown).
func (r *Recorder) WriteFor(ctx context.Context, load topology.TimedLoad) error {
	results, err := r.Store.(topology.TimedWriter).WriteFor(ctx, load)
	for _, res := range results {
		r.record(res)
	}
	return err
}

// record classifies one write's outcome and appends it to the history.
func (r *Recorder) record(res topology.WriteResult) {
	op := Op{ID: res.ID, Tenant: r.Tenant, Store: r.Store.Name(), Invoked: res.Invoked, Finished: res.Finished}
	switch err := res.Err; {
	case err == nil:
		op.Outcome, op.Ack = OK, res.Ack
	case errors.Is(err, topology.ErrIndefinite), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		op.Outcome, op.Err = Unknown, err.Error()
	default:
		op.Outcome, op.Err = Failed, err.Error()
	}
	r.History.Append(op)
}
