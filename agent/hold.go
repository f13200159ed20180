package agent

import (
	"dpsim/agent/api"

	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"dpsim/topology"
)

// Watching a policy take effect: Hold keeps one HTTP connection to a target open and, every
// interval, asks for /healthz over it and also opens a new connection, writing one JSON line
// (api.HoldSample) per round. Whoever creates a policy meanwhile reads off when new connections stopped
// and whether the connection opened before the policy still works.

// holdTimeout bounds each connection attempt and request of Hold.
const holdTimeout = 500 * time.Millisecond

// Hold runs the rounds against addr (host:port of an HTTP server answering /healthz) until ctx ends.
// It fails at once only when the first connection cannot be made.
func Hold(ctx context.Context, addr string, interval time.Duration, out io.Writer) error {
	d := net.Dialer{Timeout: holdTimeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("open the held connection to %s: %w", addr, err)
	}
	defer conn.Close()
	held := bufio.NewReader(conn)
	enc := json.NewEncoder(out)
	broken := ""
	for {
		s := api.HoldSample{At: time.Now(), New: topology.OutcomeAllowed, Held: topology.OutcomeAllowed}
		if c, err := d.DialContext(ctx, "tcp", addr); err != nil {
			s.New = classify(err)
		} else {
			c.Close()
		}
		if broken == "" {
			if err := healthz(conn, held, addr); err != nil {
				broken = err.Error()
			}
		}
		if broken != "" {
			s.Held, s.Detail = topology.OutcomeTimeout, broken
		}
		if err := enc.Encode(s); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(interval):
		}
	}
}

// healthz sends one GET /healthz over conn and reads the answer.
func healthz(conn net.Conn, r *bufio.Reader, host string) error {
	if err := conn.SetDeadline(time.Now().Add(holdTimeout)); err != nil {
		return err
	}
	if _, err := fmt.Fprintf(conn, "GET /healthz HTTP/1.1\r\nHost: %s\r\n\r\n", host); err != nil {
		return fmt.Errorf("request over the held connection: %w", err)
	}
	res, err := http.ReadResponse(r, nil)
	if err != nil {
		return fmt.Errorf("answer over the held connection: %w", err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("answer over the held connection: %s", res.Status)
	}
	return nil
}

// ServeProber serves /healthz and the prober (POST /v1/probe) on addr until ctx ends: the process of
// the pod outside every tenant, which is both a probe source and a target for Hold.
func ServeProber(ctx context.Context, addr string) error {
	srv := &http.Server{Addr: addr, Handler: proberMux(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		return srv.Close()
	}
}
