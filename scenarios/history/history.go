// Package history records every operation a workload makes against a store - invoked, then ok,
// failed or unknown - with a unique id and its times, so checkers can judge the run afterwards.
package history

import (
	"context"
	"errors"
	"sort"
	"sync"
	"time"

	"dpsim/stores"
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
	// Hash is the hash of the value written (topology.ValueHash), to compare with the one read back.
	Hash string
	// Part is the partition or shard the store put the record in, when it said.
	Part string
	// Detail is the store's own answer beyond the outcome (WriteResult.Detail: an offset and the
	// in-sync replicas, _shards), kept so a report can show what the store said.
	Detail string
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

// Recorder is a recording client: it writes through a store's one streaming contract and logs
// every outcome into a History, with the hash of the value it asked the store to write.
type Recorder struct {
	Store   topology.Store
	Tenant  string
	History *History
}

// WriteIDs writes ids, each with valueBytes bytes, and records every outcome. The error is the
// store's; the outcomes are in the history either way.
func (r *Recorder) WriteIDs(ctx context.Context, ids []string, valueBytes int) error {
	return stores.WriteIDs(ctx, r.Store, ids, valueBytes, func(res topology.WriteResult) { r.record(res, valueBytes) })
}

// WriteFor writes the timed load and records every outcome.
func (r *Recorder) WriteFor(ctx context.Context, load stores.TimedLoad) error {
	_, err := stores.WriteFor(ctx, r.Store, load, func(res topology.WriteResult) { r.record(res, load.ValueBytes) })
	return err
}

// record classifies one write's outcome and appends it to the history.
func (r *Recorder) record(res topology.WriteResult, valueBytes int) {
	op := Op{ID: res.ID, Tenant: r.Tenant, Store: r.Store.Name(), Invoked: res.Invoked, Finished: res.Finished,
		Hash: topology.ValueHash(topology.Value(res.ID, valueBytes)), Part: res.Ack.Part, Detail: res.Detail}
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
