package agent

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"dpsim/agent/api"
	"dpsim/topology"
)

// Hold sees new connections and the held one work, then both fail once the server is gone.
func TestHold(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) }))
	addr := srv.Listener.Addr().String()
	var out bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	pr, pw := net.Pipe()
	go func() { done <- Hold(ctx, addr, 20*time.Millisecond, pw); pw.Close() }()
	sc := bufio.NewScanner(pr)
	var samples []api.HoldSample
	for sc.Scan() {
		out.Write(sc.Bytes())
		var s api.HoldSample
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			t.Fatal(err)
		}
		samples = append(samples, s)
		if len(samples) == 3 {
			srv.CloseClientConnections()
			srv.Close()
		}
		if len(samples) == 8 {
			cancel()
			go func() { _, _ = bufio.NewReader(pr).WriteTo(&out) }()
			break
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if samples[0].New != topology.OutcomeAllowed || samples[0].Held != topology.OutcomeAllowed {
		t.Errorf("first round %+v, want both allowed", samples[0])
	}
	last := samples[len(samples)-1]
	if last.New.Reached() || last.Held.Reached() {
		t.Errorf("last round %+v, want both failing once the server is gone", last)
	}
}

func TestHoldNeedsAFirstConnection(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	if err := Hold(context.Background(), addr, time.Millisecond, &bytes.Buffer{}); err == nil {
		t.Fatal("Hold without a server did not fail")
	}
}
