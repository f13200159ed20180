package kafka

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"dpsim/topology"
)

// outcome is how a test names a WriteResult: ok, failed or unknown.
func outcome(r topology.WriteResult) string {
	switch {
	case r.Err == nil:
		return "ok"
	case errors.Is(r.Err, topology.ErrIndefinite):
		return "unknown"
	default:
		return "failed"
	}
}

// recorder collects emitted outcomes per id.
type recorder struct {
	mu  sync.Mutex
	got map[string][]string
	res []topology.WriteResult
}

func newRecorder() *recorder { return &recorder{got: map[string][]string{}} }

func (r *recorder) emit(w topology.WriteResult) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got[w.ID] = append(r.got[w.ID], outcome(w))
	r.res = append(r.res, w)
}

// The batch's books: every id added gets exactly one outcome, whatever order the producer's reports,
// the end of the ids and the caller's abandoning come in.
func TestBatch(t *testing.T) {
	tests := []struct {
		name string
		// steps: "add ID", "ok ID" / "err ID" (the producer's report), "unsent ID" (never handed
		// over), "allSent", "abandon", "close".
		steps    []string
		want     map[string][]string
		wantDone bool
	}{
		{
			name:     "every report in, then all sent",
			steps:    []string{"add a", "add b", "ok a", "err b", "allSent"},
			want:     map[string][]string{"a": {"ok"}, "b": {"failed"}},
			wantDone: true,
		},
		{
			name:     "all sent, then the last report closes it",
			steps:    []string{"add a", "add b", "ok a", "allSent", "ok b"},
			want:     map[string][]string{"a": {"ok"}, "b": {"ok"}},
			wantDone: true,
		},
		{
			name:  "not done while a report is missing",
			steps: []string{"add a", "add b", "allSent", "ok a"},
			want:  map[string][]string{"a": {"ok"}},
		},
		{
			name:  "not done before all sent",
			steps: []string{"add a", "ok a"},
			want:  map[string][]string{"a": {"ok"}},
		},
		{
			name:     "nothing added",
			steps:    []string{"allSent"},
			want:     map[string][]string{},
			wantDone: true,
		},
		{
			name:  "abandon makes the ids in flight unknown, and late reports are dropped",
			steps: []string{"add a", "add b", "add c", "ok a", "abandon", "ok b", "err c", "close"},
			want:  map[string][]string{"a": {"ok"}, "b": {"unknown"}, "c": {"unknown"}},
		},
		{
			name:  "an id never handed over is failed, the ones in flight unknown",
			steps: []string{"add a", "add b", "unsent b", "abandon"},
			want:  map[string][]string{"a": {"unknown"}, "b": {"failed"}},
		},
		{
			name:     "a second report for an id is dropped",
			steps:    []string{"add a", "ok a", "err a", "allSent"},
			want:     map[string][]string{"a": {"ok"}},
			wantDone: true,
		},
		{
			name:     "an id added twice is failed the second time and written once",
			steps:    []string{"add a", "add a", "ok a", "allSent"},
			want:     map[string][]string{"a": {"failed", "ok"}},
			wantDone: true,
		},
		{
			name:  "reports after close are dropped",
			steps: []string{"add a", "close", "ok a", "abandon"},
			want:  map[string][]string{},
		},
		{
			name:  "a report for an id never added is dropped",
			steps: []string{"ok z", "allSent"},
			want:  map[string][]string{},
			// nothing was added, so the batch is done at once
			wantDone: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newRecorder()
			b := newBatch(rec.emit)
			now := time.Unix(100, 0)
			for _, step := range tt.steps {
				verb, id, _ := strings.Cut(step, " ")
				switch verb {
				case "add":
					b.add(id, 3, now)
				case "ok":
					b.deliver(topology.WriteResult{ID: id, Finished: now})
				case "err":
					b.deliver(topology.WriteResult{ID: id, Finished: now, Err: Classify(sarama.ErrNotEnoughReplicas)})
				case "unsent":
					b.fail(id, errors.New("not sent"))
				case "allSent":
					b.allSent()
				case "abandon":
					b.abandon(context.Canceled)
				case "close":
					b.close()
				default:
					t.Fatalf("unknown step %q", step)
				}
			}
			for id, want := range tt.want {
				got := slices.Clone(rec.got[id])
				slices.Sort(got)
				if !slices.Equal(got, want) {
					t.Errorf("outcomes of %s = %v, want %v", id, got, want)
				}
			}
			for id, got := range rec.got {
				if _, ok := tt.want[id]; !ok {
					t.Errorf("unexpected outcomes %v for %s", got, id)
				}
			}
			done := false
			select {
			case <-b.done:
				done = true
			default:
			}
			if done != tt.wantDone {
				t.Errorf("done = %v, want %v", done, tt.wantDone)
			}
			for _, r := range rec.res {
				if r.ID == "a" && outcome(r) != "failed" && (r.Ack.Part != "3" || !r.Invoked.Equal(now)) {
					t.Errorf("outcome of a: part %q invoked %v, want part 3 invoked %v", r.Ack.Part, r.Invoked, now)
				}
			}
		})
	}
}

// stuckProducer takes capacity messages and then blocks, like a producer whose brokers are gone.
type stuckProducer struct {
	sarama.AsyncProducer
	in chan *sarama.ProducerMessage
}

func (p stuckProducer) Input() chan<- *sarama.ProducerMessage { return p.in }

// When ctx ends, WriteStream fails the id it was handing over, reports the ones in flight unknown,
// emits once per id taken, and emits nothing after it returned.
func TestWriteStreamCancelled(t *testing.T) {
	tests := []struct {
		name     string
		capacity int // messages the producer takes before it blocks
		cancelAt int // the iterator cancels ctx before yielding the id at this index
		want     map[string]string
	}{
		{"cancelled between ids", 5, 2, map[string]string{"w0": "unknown", "w1": "unknown", "w2": "failed"}},
		{"producer full when cancelled", 1, -1, map[string]string{"w0": "unknown", "w1": "failed"}},
		{"cancelled before the first id", 5, 0, map[string]string{"w0": "failed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := stuckProducer{in: make(chan *sarama.ProducerMessage, tt.capacity)}
			c := &Cluster{balance: newBalancer(), lanes: []lane{{producer: p}, {producer: p}}}
			s := &Store{c: c, topic: "t", partitions: 2}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			ids := func(yield func(string) bool) {
				for i := 0; ; i++ {
					if i == tt.cancelAt {
						cancel()
					}
					if i == tt.capacity && tt.cancelAt < 0 {
						// the producer is full: the next id waits in WriteStream until ctx ends
						go cancel()
					}
					if !yield(fmt.Sprintf("w%d", i)) {
						return
					}
				}
			}
			rec := newRecorder()
			err := s.WriteStream(ctx, ids, 10, rec.emit)
			if !errors.Is(err, context.Canceled) {
				t.Errorf("WriteStream = %v, want context.Canceled", err)
			}
			// Late reports from the producer for what it took: dropped.
			for range len(p.in) {
				c.finish(<-p.in, sarama.ErrRequestTimedOut)
			}
			rec.mu.Lock()
			defer rec.mu.Unlock()
			if len(rec.got) != len(tt.want) {
				t.Errorf("outcomes for %v, want %v", rec.got, tt.want)
			}
			for id, want := range tt.want {
				if got := rec.got[id]; len(got) != 1 || got[0] != want {
					t.Errorf("outcomes of %s = %v, want [%s]", id, got, want)
				}
			}
		})
	}
}
