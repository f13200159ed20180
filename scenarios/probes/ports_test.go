package probes

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"dpsim/claims"
	"dpsim/internal/testenv"
	"dpsim/reports"
	"dpsim/scenarios/checkers"
	"dpsim/topology"
)

// A scan of 127.0.0.1 finds an HTTPS server, an HTTP server that redirects to HTTPS, one that
// does not, and a bare TCP listener, each with what it answered; every other port of the range
// is refused.
func TestPortsTellsWhatAnswers(t *testing.T) {
	tlsSrv := httptest.NewTLSServer(http.NotFoundHandler())
	defer tlsSrv.Close()
	redirect := httptest.NewServer(http.RedirectHandler("https://tenant-a.dpsim.test/", http.StatusMovedPermanently))
	defer redirect.Close()
	plain := httptest.NewServer(http.NotFoundHandler())
	defer plain.Close()
	bare := testenv.Listen(t, func(c net.Conn) { time.Sleep(2 * time.Second); c.Close() })
	port := func(addr string) int {
		_, p, _ := net.SplitHostPort(addr)
		n, _ := strconv.Atoi(p)
		return n
	}
	ports := map[int]string{
		port(tlsSrv.Listener.Addr().String()):   "https",
		port(redirect.Listener.Addr().String()): "redirect to https",
		port(plain.Listener.Addr().String()):    "http 404",
		port(bare.Addr().String()):              "tcp",
	}
	first, last := 65535, 0
	for p := range ports {
		first, last = min(first, p), max(last, p)
	}
	s := Scan{First: first, Last: last, Concurrency: 64, DialTimeout: time.Second, AnswerTimeout: time.Second}
	obs := Ports(context.Background(), []string{"127.0.0.1"}, s)
	if len(obs.Addresses) != 1 {
		t.Fatalf("addresses %+v", obs.Addresses)
	}
	a := obs.Addresses[0]
	for _, o := range a.Open {
		if want, ok := ports[o.Port]; ok && o.Answer != want {
			t.Errorf("port %d answered %q (%s), want %q", o.Port, o.Answer, o.Detail, want)
		}
		delete(ports, o.Port)
	}
	if len(ports) > 0 {
		t.Errorf("not found open: %v (open: %+v)", ports, a.Open)
	}
	if total := len(a.Open) + a.Refused + a.Dropped + a.Errors; total != last-first+1 {
		t.Errorf("%d ports accounted for, want %d", total, last-first+1)
	}
	refused, err := topology.PortSpans(a.RefusedPorts)
	named := 0
	for _, r := range refused {
		named += r.Last - r.First + 1
	}
	if err != nil || named != a.Refused {
		t.Errorf("refused %d, named %q (%v)", a.Refused, a.RefusedPorts, err)
	}
}

// A scan stopped before it tried every port reports fewer ports than its range, and DP-NET-1
// cannot pass on it: the checker names the ports never accounted for.
func TestPortsStoppedEarlyIsNoPass(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	obs := Ports(ctx, []string{"127.0.0.1"}, Scan{First: 1, Last: 65535, Concurrency: 64, DialTimeout: time.Second, AnswerTimeout: time.Second})
	v := checkers.Exposure(obs, claims.Default().ExposedPorts)
	if v.Status != reports.Error || !strings.Contains(v.Summary, "of the 65535 ports of 1-65535 accounted for") {
		t.Fatalf("got %s (%s), want an error naming the ports not accounted for", v.Status, v.Summary)
	}
}
