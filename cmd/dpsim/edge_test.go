package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"dpsim/internal/testenv"
	"dpsim/topology"
)

// dpsim scan finds a listener and prints the scan as JSON; bad input is a usage error.
func TestScanCommand(t *testing.T) {
	port := testenv.Listen(t, func(c net.Conn) { c.Close() }).Addr().(*net.TCPAddr).Port
	code, out, errOut := dpsim(t, context.Background(), "scan", "--ports", strconv.Itoa(port)+"-"+strconv.Itoa(port), "127.0.0.1")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var e topology.Exposure
	if err := json.Unmarshal([]byte(out), &e); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if len(e.Addresses) != 1 || len(e.Addresses[0].Open) != 1 || e.Addresses[0].Open[0].Port != port {
		t.Errorf("scan %+v, want port %d open", e, port)
	}
	for _, bad := range [][]string{{"scan"}, {"scan", "--ports", "0-10", "127.0.0.1"}, {"scan", "--ports", "9-3", "127.0.0.1"}, {"scan", "node-1"}} {
		if code, _, errOut := dpsim(t, context.Background(), bad...); code != exitUsage || errOut == "" {
			t.Errorf("%v: exit %d (%s), want a usage error", bad, code, errOut)
		}
	}
}

// dpsim web names its tenant and answers its health check until cancelled.
func TestWebCommand(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		code, _, _ := dpsim(t, ctx, "web", "--tenant", "tenant-a", "--listen", addr)
		done <- code
	}()
	var body string
	for range 50 {
		resp, err := http.Get("http://" + addr + "/")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body = string(b)
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(body, `"tenant":"tenant-a"`) {
		t.Errorf("GET / = %q, want the tenant named", body)
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Errorf("exit %d after cancel", code)
	}
	if code, _, _ := dpsim(t, context.Background(), "web"); code != exitUsage {
		t.Errorf("web without --tenant: exit %d", code)
	}
}
