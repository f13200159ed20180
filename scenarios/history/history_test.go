package history

import (
	"context"
	"errors"
	"testing"
	"time"

	"dpsim/topology"
)

type stepClock struct{ t time.Time }

func (c *stepClock) Now() time.Time { c.t = c.t.Add(time.Millisecond); return c.t }

// scripted is a store whose writes end as its script says: nil, a definite error, or indefinite.
type scripted struct {
	outcomes map[string]error
	batchErr error
}

func (s *scripted) Name() string        { return "s" }
func (s *scripted) Kind() topology.Kind { return topology.KindLog }
func (s *scripted) Write(_ context.Context, id string, _ []byte) (topology.Ack, error) {
	return topology.Ack{Copies: 2}, s.outcomes[id]
}
func (s *scripted) ReadAll(context.Context) ([]string, error)               { return nil, nil }
func (s *scripted) Placement(context.Context) ([]topology.Placement, error) { return nil, nil }

type batched struct{ scripted }

func (b *batched) WriteBatch(_ context.Context, ids []string, _ int) ([]topology.WriteResult, error) {
	var out []topology.WriteResult
	for _, id := range ids[:1] { // the batch breaks after its first write
		out = append(out, topology.WriteResult{ID: id, Err: b.outcomes[id]})
	}
	return out, b.batchErr
}

func TestRecorderClassifiesOutcomes(t *testing.T) {
	store := &scripted{outcomes: map[string]error{
		"fail":    errors.New("NOT_ENOUGH_REPLICAS"),
		"timeout": topology.ErrIndefinite,
		"ctx":     context.DeadlineExceeded,
	}}
	var h History
	rec := &Recorder{Store: store, Tenant: "t", Clock: &stepClock{}, History: &h}
	for _, id := range []string{"ok", "fail", "timeout", "ctx"} {
		rec.Write(context.Background(), id, nil)
	}
	want := map[string]Outcome{"ok": OK, "fail": Failed, "timeout": Unknown, "ctx": Unknown}
	for _, op := range h.Ops() {
		if op.Outcome != want[op.ID] || !op.Finished.After(op.Invoked) {
			t.Errorf("%s: %s, want %s", op.ID, op.Outcome, want[op.ID])
		}
	}
}

func TestBrokenBatchIsUnknown(t *testing.T) {
	store := &batched{scripted{outcomes: map[string]error{}, batchErr: errors.New("agent went away")}}
	var h History
	rec := &Recorder{Store: store, Tenant: "t", Clock: &stepClock{}, History: &h}
	if !rec.Batched() {
		t.Fatal("batch store not seen as batched")
	}
	rec.WriteBatch(context.Background(), []string{"a", "b", "c"}, 8)
	got := map[string]Outcome{}
	for _, op := range h.Ops() {
		got[op.ID] = op.Outcome
	}
	if got["a"] != OK || got["b"] != Unknown || got["c"] != Unknown {
		t.Fatalf("outcomes %v: the written one ok, the rest unknown", got)
	}
}
