package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"dpsim/topology"
)

// An outcome survives ToWire, a JSON line and FromWire: times to the nanosecond, the ack, the
// detail, the error's text and whether it is indefinite.
func TestWireRoundTrip(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 9, 0, 0, 123456789, time.UTC)
	tests := []struct {
		name string
		in   topology.WriteResult
	}{
		{"acknowledged", topology.WriteResult{ID: "ds/1", Invoked: t0, Finished: t0.Add(1500 * time.Microsecond),
			Ack: topology.Ack{Node: "kafka-2", Copies: 3, Part: "4"}, Detail: "partition=4 offset=17"}},
		{"failed", topology.WriteResult{ID: "ds/2", Invoked: t0, Finished: t0.Add(time.Nanosecond),
			Err: errors.New("write ds/2: not enough replicas")}},
		{"unknown", topology.WriteResult{ID: "ds/3", Invoked: t0, Finished: t0.Add(time.Second),
			Err: fmt.Errorf("write ds/3: timed out: %w", topology.ErrIndefinite)}},
		{"no times", topology.WriteResult{ID: "ds/4"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			line, err := json.Marshal(StreamLine{WireResult: ToWire(tt.in)})
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(line), `"end"`) {
				t.Errorf("an outcome line says end: %s", line)
			}
			var back StreamLine
			if err := json.Unmarshal(line, &back); err != nil {
				t.Fatal(err)
			}
			got := FromWire(back.WireResult)
			if got.ID != tt.in.ID || !got.Invoked.Equal(tt.in.Invoked) || !got.Finished.Equal(tt.in.Finished) || got.Ack != tt.in.Ack || got.Detail != tt.in.Detail {
				t.Errorf("round trip of %+v gave %+v (line %s)", tt.in, got, line)
			}
			if (got.Err == nil) != (tt.in.Err == nil) {
				t.Fatalf("error %v, want %v", got.Err, tt.in.Err)
			}
			if got.Err == nil {
				return
			}
			if got.Err.Error() != tt.in.Err.Error() {
				t.Errorf("error %q, want %q", got.Err, tt.in.Err)
			}
			if gotU, wantU := errors.Is(got.Err, topology.ErrIndefinite), errors.Is(tt.in.Err, topology.ErrIndefinite); gotU != wantU {
				t.Errorf("indefinite %v, want %v", gotU, wantU)
			}
		})
	}
}

func TestEndLine(t *testing.T) {
	tests := []struct {
		line    string
		wantErr string
	}{
		{`{"end":true}`, ""},
		{`{"end":true,"error":"context deadline exceeded"}`, "context deadline exceeded"},
	}
	for _, tt := range tests {
		var l StreamLine
		if err := json.Unmarshal([]byte(tt.line), &l); err != nil {
			t.Fatal(err)
		}
		if !l.End || l.Error != tt.wantErr || l.ID != "" {
			t.Errorf("%s decoded as %+v", tt.line, l)
		}
		again, _ := json.Marshal(l)
		if string(again) != tt.line {
			t.Errorf("%s encodes back as %s", tt.line, again)
		}
	}
}

func TestRemoteError(t *testing.T) {
	tests := []struct {
		w          WireResult
		msg        string
		indefinite bool
	}{
		{WireResult{Err: "boom"}, "boom", false},
		{WireResult{Err: "slow", Indefinite: true}, "slow", true},
		{WireResult{Indefinite: true}, "agent: write failed", true}, // an indefinite outcome without text is still an error
	}
	for _, tt := range tests {
		err := FromWire(tt.w).Err
		if err == nil || err.Error() != tt.msg || errors.Is(err, topology.ErrIndefinite) != tt.indefinite {
			t.Errorf("FromWire(%+v).Err = %v (indefinite %v), want %q (indefinite %v)", tt.w, err, errors.Is(err, topology.ErrIndefinite), tt.msg, tt.indefinite)
		}
	}
	if err := FromWire(WireResult{ID: "x"}).Err; err != nil {
		t.Errorf("an outcome without error decoded as %v", err)
	}
}
