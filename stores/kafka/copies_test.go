package kafka

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"dpsim/topology"
)

// scriptedISR answers each observation with the next ISR sizes of a script (the last one repeats).
type scriptedISR struct {
	script []map[string]int
	calls  int
}

func (s *scriptedISR) observe(context.Context) (map[string]int, error) {
	i := min(s.calls, len(s.script)-1)
	s.calls++
	if s.script[i] == nil {
		return nil, errors.New("no broker answered")
	}
	return s.script[i], nil
}

func ack(part string, invoked, finished time.Time) topology.WriteResult {
	return topology.WriteResult{ID: "r", Invoked: invoked, Finished: finished, Ack: topology.Ack{Part: part}, Detail: "partition=" + part}
}

// An acknowledgement's copies are the fewest in-sync replicas listed from the last observation
// before it was sent to the first begun after it was acknowledged: a shrink seen only after the
// acknowledgement still counts (the leader may have acknowledged with the smaller ISR already).
func TestCopiesWatch(t *testing.T) {
	tests := []struct {
		name       string
		script     []map[string]int
		wantCopies int
		wantDetail string
	}{
		{"in sync throughout", []map[string]int{{"0": 3}, {"0": 3}}, 3, "isr=3"},
		{"shrunk to the leader, seen after the acknowledgement", []map[string]int{{"0": 3}, {"0": 1}}, 1, "isr=1"},
		{"another partition shrunk", []map[string]int{{"0": 2, "1": 1}, {"0": 2, "1": 1}}, 2, "isr=2"},
		{"never observed", []map[string]int{nil}, 0, "isr=unobserved (no broker answered)"},
		{"partition not listed", []map[string]int{{"1": 3}, {"1": 3}}, 0, "isr=unobserved"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isr := &scriptedISR{script: tt.script}
			w := &copiesWatch{observe: isr.observe}
			w.observeOnce(context.Background()) // before the write
			sent := time.Now()
			w.hold(ack("0", sent, sent))
			if got := w.take(time.Now(), false); len(got) != 0 && tt.wantCopies > 0 {
				t.Fatalf("released before an observation after the acknowledgement: %+v", got)
			}
			w.observeOnce(context.Background()) // after it
			got := w.take(time.Now(), len(tt.script) == 1)
			if len(got) != 1 {
				t.Fatalf("released %d acknowledgements, want 1", len(got))
			}
			if got[0].Ack.Copies != tt.wantCopies || !strings.Contains(got[0].Detail, tt.wantDetail) {
				t.Errorf("copies %d, detail %q; want %d, %q", got[0].Ack.Copies, got[0].Detail, tt.wantCopies, tt.wantDetail)
			}
		})
	}
}

// An acknowledgement no observation covers is released untold after isrHold, not held forever.
func TestCopiesWatchGivesUp(t *testing.T) {
	w := &copiesWatch{observe: (&scriptedISR{script: []map[string]int{nil}}).observe}
	now := time.Now()
	w.hold(ack("0", now, now))
	if got := w.take(now.Add(isrHold/2), false); len(got) != 0 {
		t.Fatalf("released early: %+v", got)
	}
	got := w.take(now.Add(isrHold+time.Second), false)
	if len(got) != 1 || got[0].Ack.Copies != 0 || !strings.Contains(got[0].Detail, "isr=unobserved") {
		t.Fatalf("after isrHold: %+v, want one untold acknowledgement", got)
	}
}
