package main

import (
	"net"
	"testing"
	"time"
)

func TestConnect(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	go listen(addr)
	deadline := time.Now().Add(5 * time.Second)
	for connect(addr, time.Second) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("listener never answered")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// A port nobody listens on is reported as blocked.
	l2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l2.Addr().String()
	l2.Close()
	if got := connect(closed, time.Second); got != 1 {
		t.Errorf("connect to closed port = %d, want 1", got)
	}
	if got := run([]string{"bogus", "x"}); got != 2 {
		t.Errorf("unknown command = %d, want 2", got)
	}
}
