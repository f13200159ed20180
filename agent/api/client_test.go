package api

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"dpsim/topology"
)

// outcome is what the client must report for one id of a write stream.
type outcome int

const (
	acked   outcome = iota // the agent's acknowledgement
	unknown                // sent, no outcome back: errors.Is(err, topology.ErrIndefinite)
	notSent                // never sent: a definite failure
	refused                // a definite failure the agent reported
)

func (o outcome) String() string { return [...]string{"acked", "unknown", "not sent", "refused"}[o] }

func classify(r topology.WriteResult) outcome {
	switch {
	case r.Err == nil:
		return acked
	case errors.Is(r.Err, topology.ErrIndefinite):
		return unknown
	case strings.Contains(r.Err.Error(), "not sent"):
		return notSent
	}
	return refused
}

// scripted answers a write stream by a script: it reads every id first (the client closes the body
// when its ids end), then writes what answer returns, line by line.
func scripted(answer func(ids []string) []string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var ids []string
		sc := bufio.NewScanner(r.Body)
		for sc.Scan() {
			ids = append(ids, sc.Text())
		}
		w.WriteHeader(http.StatusOK)
		for _, l := range answer(ids) {
			fmt.Fprintln(w, l)
		}
	}
}

func ack(id string) string {
	l, _ := json.Marshal(StreamLine{WireResult: WireResult{ID: id, Ack: topology.Ack{Node: "n1", Copies: 2}}})
	return string(l)
}

// The client's side of the write protocol, against answers the agent should never give as well as
// those it gives: every id taken gets exactly one outcome, and ids whose outcome did not come back
// are unknown.
func TestWriteStreamAnswers(t *testing.T) {
	ids := []string{"ds/0", "ds/1", "ds/2"}
	tests := []struct {
		name    string
		handler http.HandlerFunc // nil: no agent listens
		want    []outcome        // by id, for the ids taken
		wantErr string           // "" for none
	}{
		{"every outcome, heartbeats, a duplicate and a stray", scripted(func(ids []string) []string {
			return []string{"", ack(ids[0]), "  ", ack(ids[1]), ack(ids[0]), ack("ds/never-sent"),
				`{"id":"` + ids[2] + `","err":"no quorum"}`, `{"end":true}`}
		}), []outcome{acked, acked, refused}, ""},
		{"ended with an error", scripted(func(ids []string) []string {
			return []string{ack(ids[0]), `{"end":true,"error":"stream timeout"}`}
		}), []outcome{acked, unknown, unknown}, "stream timeout"},
		{"no end line", scripted(func(ids []string) []string { return []string{ack(ids[0])} }),
			[]outcome{acked, unknown, unknown}, "unexpected EOF"},
		{"malformed line", scripted(func(ids []string) []string { return []string{ack(ids[0]), "{oops"} }),
			[]outcome{acked, unknown, unknown}, "decode answer line"},
		{"refused with a status", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			_ = json.NewEncoder(w).Encode(ErrorResponse{Error: `store "x": not offered`})
		}, nil, `404 Not Found: store "x": not offered`},
		{"no agent", nil, []outcome{notSent, notSent, notSent}, "agent write kafka/ds"}, // batched: all taken, none sent
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := "http://" + closedAddr(t)
			if tt.handler != nil {
				ts := httptest.NewServer(tt.handler)
				defer ts.Close()
				base = ts.URL
			}
			st := &RemoteStore{c: NewClient(base), kind: topology.KindLog, req: StoreRequest{Tenant: "t", Store: "kafka", Dataset: "ds"}}
			var (
				mu    sync.Mutex
				got   = map[string][]topology.WriteResult{}
				taken []string
			)
			err := st.WriteStream(context.Background(), func(yield func(string) bool) {
				for _, id := range ids {
					mu.Lock()
					taken = append(taken, id)
					mu.Unlock()
					if !yield(id) {
						return
					}
				}
			}, 10, func(r topology.WriteResult) {
				mu.Lock()
				got[r.ID] = append(got[r.ID], r)
				mu.Unlock()
			})
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("error %v, want %q", err, tt.wantErr)
			}
			for id, rs := range got {
				if !slices.Contains(taken, id) {
					t.Errorf("outcome for %s, which was never taken: %+v", id, rs)
				}
			}
			for i, id := range taken {
				rs := got[id]
				if len(rs) != 1 {
					t.Errorf("%s: %d outcomes, want exactly one: %+v", id, len(rs), rs)
					continue
				}
				o := classify(rs[0])
				if tt.want != nil && (i >= len(tt.want) || o != tt.want[i]) {
					t.Errorf("%s: %s (%v), want %v", id, o, rs[0].Err, tt.want)
				}
				if tt.want == nil && o == acked { // refused by status: nothing was written
					t.Errorf("%s acknowledged by a refused stream", id)
				}
			}
			if tt.want != nil && len(taken) != len(tt.want) {
				t.Errorf("%d ids taken, want %d", len(taken), len(tt.want))
			}
		})
	}
}

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// Calls other than the write stream report the agent's status and error text.
func TestCallErrors(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/stores":
			_ = json.NewEncoder(w).Encode(StoresResponse{Tenant: "tenant-a", Stores: []StoreInfo{{Name: "kafka", Kind: topology.KindLog}}})
		case "/v1/read":
			w.WriteHeader(http.StatusForbidden)
			_ = json.NewEncoder(w).Encode(ErrorResponse{Error: "this agent serves tenant tenant-a"})
		case "/v1/placement":
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprintln(w, "proxy says no")
		default:
			fmt.Fprintln(w, "{not json")
		}
	}))
	defer ts.Close()
	c := NewClient(ts.URL)
	ctx := context.Background()
	if _, err := c.Stores(ctx, "tenant-b", "ds"); err == nil || !strings.Contains(err.Error(), "serves tenant tenant-a, not tenant-b") {
		t.Errorf("Stores for another tenant: %v", err)
	}
	list, err := c.Stores(ctx, "tenant-a", "ds")
	if err != nil || len(list) != 1 || list[0].Name() != "kafka" || list[0].Kind() != topology.KindLog || list[0].Dataset() != "ds" {
		t.Fatalf("Stores = %+v, %v", list, err)
	}
	st := list[0]
	tests := []struct {
		name string
		call func() error
		want string
	}{
		{"status with an error body", func() error { _, err := st.Read(ctx); return err }, "403 Forbidden: this agent serves tenant tenant-a"},
		{"status with a plain body", func() error { _, err := st.Placement(ctx); return err }, "502 Bad Gateway: proxy says no"},
		{"undecodable answer", func() error { return st.Drop(ctx) }, "decode answer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}
