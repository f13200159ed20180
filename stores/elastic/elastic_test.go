package elastic

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"dpsim/stores"
	"dpsim/topology"
)

func TestClassifyItem(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		typ        string
		reason     string
		ok         bool
		indefinite bool
	}{
		{"created", 201, "", "", true, false},
		{"exists: judged by who wrote it", 409, "version_conflict_engine_exception", "[x]: version conflict, document already exists", false, false},
		{"too few active copies: an earlier attempt may have been applied", 503, "unavailable_shards_exception", "[idx][0] Not enough active copies to meet shard count of [ALL] (have 1, needed 2). Timeout: [10s]", false, true},
		{"primary not active: an earlier attempt may have been applied", 503, "unavailable_shards_exception", "[idx][1] primary shard is not active Timeout: [10s]", false, true},
		{"rejected by a full queue", 429, "es_rejected_execution_exception", "rejected execution", false, true},
		{"server error", 500, "node_closed_exception", "node closed", false, true},
		{"gateway timeout", 504, "", "", false, true},
		{"timeout in a 4xx body", 400, "process_cluster_event_timeout_exception", "failed to process cluster event within 10s", false, true},
		{"mapping error", 400, "document_parsing_exception", "failed to parse", false, false},
		{"index closed", 400, "index_closed_exception", "closed", false, false},
		{"conflict of another kind", 409, "other_conflict", "", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ClassifyItem(tt.status, tt.typ, tt.reason)
			if (err == nil) != tt.ok {
				t.Fatalf("ClassifyItem(%d, %s) = %v, want ok %v", tt.status, tt.typ, err, tt.ok)
			}
			if err != nil && errors.Is(err, topology.ErrIndefinite) != tt.indefinite {
				t.Errorf("ClassifyItem(%d, %s) = %v, want indefinite %v", tt.status, tt.typ, err, tt.indefinite)
			}
		})
	}
}

func TestIndexName(t *testing.T) {
	tests := []struct {
		dataset, want string
		wantErr       bool
	}{
		{"node-kill", "node-kill", false},
		{"Drive Loss/1", "drive-loss-1", false},
		{"_hidden", "ds_hidden", false},
		{"-x", "ds-x", false},
		{"a:b*c?d", "a-b-c-d", false},
		{"..", "ds..", false},
		{strings.Repeat("x", 300), strings.Repeat("x", 255), false},
		{"", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.dataset, func(t *testing.T) {
			got, err := IndexName(tt.dataset)
			if (err != nil) != tt.wantErr {
				t.Fatalf("IndexName(%q) error = %v, want error %v", tt.dataset, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("IndexName(%q) = %q, want %q", tt.dataset, got, tt.want)
			}
		})
	}
}

// testValueBytes is the size of the values the unit tests write and read.
const testValueBytes = 16

func valueOf(id string) []byte { return topology.Value(id, testValueBytes) }

// outcome is what a test expects of one write.
type outcome struct {
	ok, indefinite bool
	copies         int
	errHas         string // in the error
	detailHas      string // in the detail of an acknowledgement
}

func (o outcome) check(t *testing.T, r topology.WriteResult) {
	t.Helper()
	if (r.Err == nil) != o.ok {
		t.Fatalf("write %s: err %v, want ok %v", r.ID, r.Err, o.ok)
	}
	if r.Err != nil {
		if errors.Is(r.Err, topology.ErrIndefinite) != o.indefinite {
			t.Errorf("write %s: err %v, want indefinite %v", r.ID, r.Err, o.indefinite)
		}
		if !strings.Contains(r.Err.Error(), o.errHas) {
			t.Errorf("write %s: err %v, want it to say %q", r.ID, r.Err, o.errHas)
		}
		return
	}
	if r.Ack.Copies != o.copies || r.Ack.Part == "" {
		t.Errorf("write %s: ack %+v, want %d copies and a shard", r.ID, r.Ack, o.copies)
	}
	if !strings.Contains(r.Detail, o.detailHas) {
		t.Errorf("write %s: detail %q, want it to say %q", r.ID, r.Detail, o.detailHas)
	}
}

func TestWriteConflictsAndCopies(t *testing.T) {
	conflict := fakeItem{Status: 409, Type: "version_conflict_engine_exception"}
	tests := []struct {
		name     string
		attempts []fakeItem // the answer to each attempt at the same id, through the same Store
		want     []outcome
	}{
		{"409 for an id sent for the first time is unknown",
			[]fakeItem{conflict},
			[]outcome{{indefinite: true, errHas: "already exists on its first send"}}},
		{"409 on a retry whose first answer was lost is acknowledged",
			[]fakeItem{{Status: 504, Whole: true}, conflict},
			[]outcome{{indefinite: true, errHas: "504"}, {ok: true, detailHas: "exists"}}},
		{"409 on a retry of an acknowledged write is acknowledged",
			[]fakeItem{{Status: 201, Successful: 2}, conflict},
			[]outcome{{ok: true, copies: 2}, {ok: true, detailHas: "exists"}}},
		{"409 after a definite refusal is unknown",
			[]fakeItem{{Status: 400, Type: "document_parsing_exception"}, conflict},
			[]outcome{{errHas: "document_parsing_exception"}, {indefinite: true, errHas: "already exists on its first send"}}},
		{"created with a failed copy: acknowledged with the copies written",
			[]fakeItem{{Status: 201, Successful: 1, Failed: 1}},
			[]outcome{{ok: true, copies: 1, detailHas: "1 copies failed"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, s := newFake(t, 3, func(f *fakeES) {
				f.item = func(_ fakeAction, attempt int) fakeItem { return tt.attempts[attempt] }
			})
			for i, want := range tt.want {
				got, err := stores.Collect(context.Background(), s, []string{"doc-1"}, testValueBytes)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != 1 {
					t.Fatalf("attempt %d: %d outcomes, want 1", i, len(got))
				}
				want.check(t, got[0])
			}
		})
	}
}

func TestWriteLanePerShard(t *testing.T) {
	const shards, stuck, total, inFlight = 3, 1, 300, 30
	f, s := newFake(t, shards, func(f *fakeES) { f.stuck = stuck })
	// Routing discovery: one value per shard, each landing on its shard.
	if len(s.routes) != shards {
		t.Fatalf("routes %v, want one per shard of %d", s.routes, shards)
	}
	for n, r := range s.routes {
		if got := fakeShard(r, shards); got != n {
			t.Errorf("route %q for shard %d lands on shard %d", r, n, got)
		}
	}
	// Shard 1's bulks never answer until released; the others must keep acknowledging. The feed
	// keeps at most inFlight writes awaiting an outcome, as a timed workload does.
	slots := make(chan struct{}, inFlight)
	var mu sync.Mutex
	results := map[string][]topology.WriteResult{}
	acked := 0
	enough := make(chan struct{})
	ids := func(yield func(string) bool) {
		for i := range total {
			slots <- struct{}{}
			if !yield(fmt.Sprintf("w-%04d", i)) {
				return
			}
		}
	}
	done := make(chan error, 1)
	go func() {
		done <- s.WriteStream(context.Background(), ids, testValueBytes, func(r topology.WriteResult) {
			mu.Lock()
			defer mu.Unlock()
			results[r.ID] = append(results[r.ID], r)
			if r.Err == nil {
				acked++
				if acked == total-inFlight {
					close(enough)
				}
			}
			<-slots
		})
	}()
	select {
	case <-enough:
	case <-time.After(time.Minute): // a guard against a hang, not a measure of speed
		t.Fatal("the healthy shards' lanes stopped acknowledging while shard 1 was stuck")
	}
	mu.Lock()
	for id, rs := range results {
		if r := rs[0]; r.Err == nil && r.Ack.Part == strconv.Itoa(stuck) {
			t.Errorf("%s acknowledged on the stuck shard %s", id, r.Ack.Part)
		}
	}
	mu.Unlock()
	close(f.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(results) != total {
		t.Errorf("%d ids have outcomes, want %d", len(results), total)
	}
	onStuck := 0
	for _, rs := range results {
		if rs[0].Err == nil && rs[0].Ack.Part == strconv.Itoa(stuck) {
			onStuck++
		}
	}
	if onStuck == 0 || onStuck > inFlight {
		t.Errorf("%d writes went to the stuck shard, want between 1 and %d (the writes awaiting an outcome)", onStuck, inFlight)
	}
	for id, rs := range results {
		if len(rs) != 1 {
			t.Errorf("%s: %d outcomes, want exactly 1", id, len(rs))
			continue
		}
		r := rs[0]
		if r.Err != nil {
			t.Errorf("%s: %v, want acknowledged once shard 1 answered", id, r.Err)
			continue
		}
		routing, ok := f.routingOf(id)
		if !ok || strconv.Itoa(fakeShard(routing, shards)) != r.Ack.Part || routing != s.routes[fakeShard(routing, shards)] {
			t.Errorf("%s acknowledged on shard %s but sent with routing %q", id, r.Ack.Part, routing)
		}
	}
}

func TestReadNamesUnreadableShards(t *testing.T) {
	copies := []ShardState{
		{Index: "ds", Shard: "0", PriRep: "p", State: "STARTED", Node: "es-0", NodeID: "n0"},
		{Index: "ds", Shard: "1", PriRep: "p", State: "UNASSIGNED"},
		{Index: "ds", Shard: "2", PriRep: "p", State: "STARTED", Node: "es-2", NodeID: "n2"},
	}
	held := map[string][]string{"_shards:0": {"a", "b"}, "_shards:2": {"c"}}
	tests := []struct {
		name   string
		failed func() (int, any) // the answer for shard 1
		reason string
	}{
		{"all shards failed (503)", func() (int, any) {
			return 503, map[string]any{"error": map[string]any{"type": "search_phase_execution_exception", "reason": "all shards failed",
				"failed_shards": []any{map[string]any{"shard": 1, "index": "ds",
					"reason": map[string]string{"type": "no_shard_available_action_exception", "reason": "no active copy"}}}}}
		}, "shard 1: no_shard_available_action_exception: no active copy"},
		{"partial answer with _shards.failures", func() (int, any) {
			return 200, map[string]any{"_shards": map[string]any{"total": 1, "successful": 0, "failed": 1,
				"failures": []any{map[string]any{"shard": 1, "index": "ds",
					"reason": map[string]string{"type": "no_shard_available_action_exception", "reason": "no active copy"}}}},
				"hits": map[string]any{"hits": []any{}}}
		}, "shard 1: no_shard_available_action_exception: no active copy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, s := newFake(t, 3, func(f *fakeES) {
				f.cat = copies
				f.search = func(pref string) (int, any) {
					if pref == "_shards:1" {
						return tt.failed()
					}
					return 200, held[pref]
				}
			})
			rb, err := s.Read(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(rb.Unreadable) != 1 || !strings.HasPrefix(rb.Unreadable[0], tt.reason) {
				t.Errorf("unreadable %q, want one entry starting %q", rb.Unreadable, tt.reason)
			}
			want := []topology.Record{}
			for _, id := range []string{"a", "b", "c"} {
				want = append(want, topology.Record{ID: id, Hash: topology.ValueHash(valueOf(id))})
			}
			if !slices.Equal(rb.Records, want) {
				t.Errorf("records %v, want %v", rb.Records, want)
			}
		})
	}
}

func TestPlacementSearchesEveryCopy(t *testing.T) {
	copies := []ShardState{
		{Index: "ds", Shard: "0", PriRep: "p", State: "STARTED", Node: "es-0", NodeID: "n0"},
		{Index: "ds", Shard: "0", PriRep: "r", State: "STARTED", Node: "es-1", NodeID: "n1"},
		{Index: "ds", Shard: "1", PriRep: "p", State: "STARTED", Node: "es-1", NodeID: "n1"},
		{Index: "ds", Shard: "1", PriRep: "r", State: "STARTED", Node: "es-2", NodeID: "n2"},
		{Index: "ds", Shard: "1", PriRep: "r", State: "INITIALIZING", Node: "es-0", NodeID: "n0"},
	}
	answers := map[string]func() (int, any){
		"_shards:0|_only_nodes:n0": func() (int, any) { return 200, []string{"a", "b", "c"} },
		"_shards:0|_only_nodes:n1": func() (int, any) { return 200, []string{"a"} }, // the replica lacks b and c
		"_shards:1|_only_nodes:n1": func() (int, any) { return 200, []string{"d", "e"} },
		"_shards:1|_only_nodes:n2": func() (int, any) { // cannot be searched: holds nothing
			return 400, map[string]any{"error": map[string]string{"type": "illegal_argument_exception", "reason": "no data nodes with criteria [n2] found for shard: [ds][1]"}}
		},
	}
	f, s := newFake(t, 2, func(f *fakeES) {
		f.cat = copies
		f.search = func(pref string) (int, any) {
			if a, ok := answers[pref]; ok {
				return a()
			}
			t.Errorf("search with preference %q", pref)
			return 400, map[string]any{}
		}
	})
	got, err := s.Placement(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []topology.Placement{
		{ID: "a", Nodes: []string{"es-0", "es-1"}, Tolerates: 1},
		{ID: "b", Nodes: []string{"es-0"}, Tolerates: 0},
		{ID: "c", Nodes: []string{"es-0"}, Tolerates: 0},
		{ID: "d", Nodes: []string{"es-1"}, Tolerates: 0},
		{ID: "e", Nodes: []string{"es-1"}, Tolerates: 0},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("placement\n%v, want\n%v", got, want)
	}
	asked := slices.Sorted(maps.Keys(answers))
	if slices.Sort(f.preferences); !slices.Equal(f.preferences, asked) {
		t.Errorf("searched %q, want each started copy once: %q", f.preferences, asked)
	}
}

func TestPicker(t *testing.T) {
	now := time.Unix(1000, 0)
	tests := []struct {
		name     string
		awaiting []int
		refused  []int // lanes that refused just now
		want     int
	}{
		{"fewest awaiting", []int{3, 1, 2}, nil, 1},
		{"a refusing lane is passed over", []int{3, 1, 2}, []int{1}, 2},
		{"every lane refused: fewest awaiting", []int{3, 1, 2}, []int{0, 1, 2}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPicker(len(tt.awaiting), time.Second)
			for lane, n := range tt.awaiting {
				for range n + 1 {
					p.add(lane)
				}
				p.done(lane, slices.Contains(tt.refused, lane), now)
			}
			if got := p.pick(now.Add(time.Second / 2)); got != tt.want {
				t.Errorf("pick = %d, want %d", got, tt.want)
			}
		})
	}
}

// A missing index is an answer, not an error: a read names it unreadable (its records count as
// lost) and the store says the dataset is missing.
func TestMissingIndexIsAnAnswer(t *testing.T) {
	_, s := newFake(t, 3, func(f *fakeES) { f.gone = true })
	rb, err := s.Read(context.Background())
	if err != nil || len(rb.Records) != 0 || len(rb.Unreadable) != 1 || !strings.Contains(rb.Unreadable[0], "does not exist") {
		t.Fatalf("read: %+v, %v", rb, err)
	}
	ok, _, err := s.Replicated(context.Background())
	if ok || !errors.Is(err, stores.ErrDatasetMissing) {
		t.Fatalf("replicated: %v %v, want ErrDatasetMissing", ok, err)
	}
}
