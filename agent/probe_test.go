package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"dpsim/agent/api"
	"dpsim/internal/testenv"
	"dpsim/topology"
)

// tcpListener accepts and closes connections on a loopback port until the test ends.
func tcpListener(t *testing.T) int {
	t.Helper()
	return testenv.Listen(t, func(c net.Conn) { c.Close() }).Addr().(*net.TCPAddr).Port
}

// closedPort is a loopback port nothing listens on (for tcp or udp).
func closedPort(t *testing.T, network string) int {
	t.Helper()
	if network == "udp" {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// udpListener answers every datagram when echo is set, and stays silent otherwise.
func udpListener(t *testing.T, echo bool) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	go func() {
		buf := make([]byte, 512)
		for {
			n, from, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			if echo {
				_, _ = c.WriteTo(buf[:n], from)
			}
		}
	}()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// droppingPort is a loopback TCP port whose accept queue is full, so the kernel drops new SYNs:
// a connection attempt times out, as it does against a policy that drops.
func droppingPort(t *testing.T) int {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	port := sa.(*syscall.SockaddrInet4).Port
	for range 8 { // fill the queue; never accepted
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 200*time.Millisecond)
		if err != nil {
			return port
		}
		t.Cleanup(func() { c.Close() })
	}
	t.Skip("the kernel kept accepting connections on a full queue: cannot make a dropping port here")
	return 0
}

func TestProbe(t *testing.T) {
	tests := []struct {
		name   string
		target func(t *testing.T) api.ProbeTarget
		want   topology.Outcome
		detail string
	}{
		{"tcp listener", func(t *testing.T) api.ProbeTarget { return api.ProbeTarget{Address: "127.0.0.1", Port: tcpListener(t)} },
			topology.OutcomeAllowed, ""},
		{"tcp listener by name", func(t *testing.T) api.ProbeTarget {
			return api.ProbeTarget{Address: "localhost", Port: tcpListener(t), Protocol: "tcp", TimeoutMs: 2000}
		}, "", "resolved to"}, // allowed, or refused where localhost resolves to ::1 first
		{"tcp closed port", func(t *testing.T) api.ProbeTarget {
			return api.ProbeTarget{Address: "127.0.0.1", Port: closedPort(t, "tcp")}
		},
			topology.OutcomeRefused, "connection refused"},
		{"tcp dropped", func(t *testing.T) api.ProbeTarget {
			return api.ProbeTarget{Address: "127.0.0.1", Port: droppingPort(t), TimeoutMs: 300}
		}, topology.OutcomeTimeout, ""},
		{"name that does not resolve", func(t *testing.T) api.ProbeTarget {
			return api.ProbeTarget{Address: "no-such-host.invalid", Port: 9092, TimeoutMs: 3000}
		}, topology.OutcomeDNSFailure, "no-such-host.invalid"},
		{"udp answer", func(t *testing.T) api.ProbeTarget {
			return api.ProbeTarget{Address: "127.0.0.1", Port: udpListener(t, true), Protocol: "udp"}
		}, topology.OutcomeAllowed, ""},
		{"udp port unreachable", func(t *testing.T) api.ProbeTarget {
			return api.ProbeTarget{Address: "127.0.0.1", Port: closedPort(t, "udp"), Protocol: "udp"}
		}, topology.OutcomeRefused, "connection refused"},
		{"udp silence", func(t *testing.T) api.ProbeTarget {
			return api.ProbeTarget{Address: "127.0.0.1", Port: udpListener(t, false), Protocol: "udp", TimeoutMs: 200}
		}, topology.OutcomeTimeout, ""},
		{"unknown protocol", func(*testing.T) api.ProbeTarget {
			return api.ProbeTarget{Address: "127.0.0.1", Port: 80, Protocol: "sctp"}
		},
			topology.OutcomeError, "protocol"},
		{"bad port", func(*testing.T) api.ProbeTarget { return api.ProbeTarget{Address: "127.0.0.1"} }, topology.OutcomeError, "port 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := tt.target(t)
			res := Probe(context.Background(), api.ProbeRequest{Targets: []api.ProbeTarget{target}}).Results
			if len(res) != 1 {
				t.Fatalf("%d results for 1 target", len(res))
			}
			r := res[0]
			want := tt.want
			if want == "" && r.Outcome == topology.OutcomeRefused { // localhost as ::1
				want = topology.OutcomeRefused
			} else if want == "" {
				want = topology.OutcomeAllowed
			}
			if r.Outcome != want || !strings.Contains(r.Detail, tt.detail) {
				t.Fatalf("got %+v, want %s with detail containing %q", r, want, tt.detail)
			}
			if r.Address != target.Address || r.Port != target.Port || r.Protocol == "" || r.LatencyMs < 0 {
				t.Fatalf("result does not describe its target: %+v", r)
			}
		})
	}
}

func TestProbeBatchKeepsOrder(t *testing.T) {
	open, closed := tcpListener(t), closedPort(t, "tcp")
	var req api.ProbeRequest
	for i := range 3 * probeConcurrency {
		port := open
		if i%3 == 0 {
			port = closed
		}
		req.Targets = append(req.Targets, api.ProbeTarget{Address: "127.0.0.1", Port: port})
	}
	res := Probe(context.Background(), req).Results
	if len(res) != len(req.Targets) {
		t.Fatalf("%d results for %d targets", len(res), len(req.Targets))
	}
	for i, r := range res {
		want := topology.OutcomeAllowed
		if i%3 == 0 {
			want = topology.OutcomeRefused
		}
		if r.Port != req.Targets[i].Port || r.Outcome != want {
			t.Fatalf("result %d = %+v, want %s on port %d", i, r, want, req.Targets[i].Port)
		}
	}
}

func TestProbeCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res := Probe(ctx, api.ProbeRequest{Targets: []api.ProbeTarget{{Address: "127.0.0.1", Port: udpListener(t, false), Protocol: "udp"}}})
	if r := res.Results[0]; r.Outcome != topology.OutcomeError || !strings.Contains(r.Detail, "cancelled") {
		t.Fatalf("got %+v, want an error: a cancelled probe says nothing about the target", r)
	}
}

func TestProbeOverHTTP(t *testing.T) {
	srv := httptest.NewServer(ProbeHandler())
	defer srv.Close()
	c := api.NewClient(srv.URL)
	open, closed := tcpListener(t), closedPort(t, "tcp")
	res, err := c.Probe(context.Background(), api.ProbeRequest{Targets: []api.ProbeTarget{
		{Address: "127.0.0.1", Port: open}, {Address: "127.0.0.1", Port: closed}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Results) != 2 || res.Results[0].Outcome != topology.OutcomeAllowed || res.Results[1].Outcome != topology.OutcomeRefused {
		t.Fatalf("got %+v", res)
	}
	// A malformed request is refused with the reason.
	bad, err := http.Post(srv.URL+"/v1/probe", "application/json", strings.NewReader(`{"targets":[],"bogus":1}`))
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Body.Close()
	var er api.ErrorResponse
	if err := json.NewDecoder(bad.Body).Decode(&er); err != nil || bad.StatusCode != http.StatusBadRequest || !strings.Contains(er.Error, "bogus") {
		t.Fatalf("malformed request: got %s %+v (%v), want a 400 naming the unknown field", bad.Status, er, err)
	}
}

func TestProbeMain(t *testing.T) {
	open := tcpListener(t)
	req, _ := json.Marshal(api.ProbeRequest{Targets: []api.ProbeTarget{{Address: "127.0.0.1", Port: open}}})
	tests := []struct {
		name   string
		args   []string
		stdin  string
		code   int
		stdout string
		stderr string
	}{
		{"request on stdin", nil, string(req), 0, `"outcome":"allowed"`, ""},
		{"empty batch", nil, `{"targets":[]}`, 0, `{"results":[]}`, ""},
		{"malformed request", nil, `{"targets":`, 2, "", "decode probe request"},
		{"unknown field", nil, `{"target":[]}`, 2, "", "unknown field"},
		{"stray argument", []string{"extra"}, string(req), 2, "", "usage: dpsim probe"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := ProbeMain(context.Background(), tt.args, strings.NewReader(tt.stdin), &stdout, &stderr)
			if code != tt.code || !strings.Contains(stdout.String(), tt.stdout) || !strings.Contains(stderr.String(), tt.stderr) {
				t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
			}
			if code == 0 {
				var res api.ProbeResponse
				if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
					t.Fatalf("stdout is not a api.ProbeResponse: %v", err)
				}
			}
		})
	}
}
