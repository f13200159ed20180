package history

import (
	"context"
	"errors"
	"iter"
	"testing"
	"time"

	"dpsim/stores"
	"dpsim/topology"
)

// scripted is a store whose writes end as its script says: nil, a definite error, or indefinite;
// after breakAfter writes (when positive) it stops taking ids and returns broke.
type scripted struct {
	outcomes   map[string]error
	breakAfter int
	broke      error
}

func (s *scripted) Name() string        { return "s" }
func (s *scripted) Kind() topology.Kind { return topology.KindLog }
func (s *scripted) WriteStream(_ context.Context, ids iter.Seq[string], _ int, emit func(topology.WriteResult)) error {
	at := time.Unix(0, 0)
	n := 0
	for id := range ids {
		emit(topology.WriteResult{ID: id, Invoked: at, Finished: at.Add(time.Millisecond), Ack: topology.Ack{Copies: 2, Part: "1"}, Err: s.outcomes[id]})
		n++
		if s.breakAfter > 0 && n == s.breakAfter {
			return s.broke
		}
	}
	return nil
}
func (s *scripted) Read(context.Context) (topology.ReadBack, error)         { return topology.ReadBack{}, nil }
func (s *scripted) Placement(context.Context) ([]topology.Placement, error) { return nil, nil }
func (s *scripted) Drop(context.Context) error                              { return nil }

func TestRecorderClassifiesOutcomes(t *testing.T) {
	store := &scripted{outcomes: map[string]error{
		"fail":    errors.New("NOT_ENOUGH_REPLICAS"),
		"timeout": topology.ErrIndefinite,
		"ctx":     context.DeadlineExceeded,
	}}
	var h History
	rec := &Recorder{Store: store, Tenant: "t", History: &h}
	if err := rec.WriteIDs(context.Background(), []string{"ok", "fail", "timeout", "ctx"}, 8); err != nil {
		t.Fatal(err)
	}
	want := map[string]Outcome{"ok": OK, "fail": Failed, "timeout": Unknown, "ctx": Unknown}
	for _, op := range h.Ops() {
		if op.Outcome != want[op.ID] || !op.Finished.After(op.Invoked) {
			t.Errorf("%s: %s, want %s", op.ID, op.Outcome, want[op.ID])
		}
		if op.Hash != topology.ValueHash(topology.Value(op.ID, 8)) {
			t.Errorf("%s: hash %q is not the hash of the value written", op.ID, op.Hash)
		}
	}
	if ops := h.Ops(); ops[0].Part != "1" {
		t.Errorf("part %q, want the store's", ops[0].Part)
	}
}

func TestIdsNeverTakenAreFailed(t *testing.T) {
	store := &scripted{outcomes: map[string]error{}, breakAfter: 1, broke: errors.New("agent went away")}
	var h History
	rec := &Recorder{Store: store, Tenant: "t", History: &h}
	if err := rec.WriteIDs(context.Background(), []string{"a", "b", "c"}, 8); err == nil {
		t.Fatal("the store's error was not returned")
	}
	got := map[string]Outcome{}
	for _, op := range h.Ops() {
		got[op.ID] = op.Outcome
	}
	if len(got) != 3 || got["a"] != OK || got["b"] != Failed || got["c"] != Failed {
		t.Fatalf("outcomes %v: the written one ok, those never taken failed", got)
	}
}

func TestRecorderTimedLoad(t *testing.T) {
	var h History
	rec := &Recorder{Store: &scripted{outcomes: map[string]error{}}, Tenant: "t", History: &h}
	if err := rec.WriteFor(context.Background(), stores.TimedLoad{Prefix: "p-", Duration: 20 * time.Millisecond, Rate: 500, InFlight: 4, ValueBytes: 4}); err != nil {
		t.Fatal(err)
	}
	if h.Len() == 0 {
		t.Fatal("a timed load recorded nothing")
	}
}
