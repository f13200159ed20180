package agent

import (
	"dpsim/agent/api"

	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"syscall"
	"time"

	"dpsim/topology"
)

// The connection prober behind the isolation truth table (DP-NET-3). A whole batch of targets is
// probed concurrently from wherever the prober runs: inside a tenant's agent (POST /v1/probe), or
// standalone as `dpsim probe` in a pod outside any tenant or on a node's host network, reading the
// request on stdin and writing the answer on stdout.

const (
	// probeConcurrency bounds the probes in flight at once.
	probeConcurrency = 32
	// DefaultProbeTimeout is a probe's timeout when the target gives none.
	DefaultProbeTimeout = time.Second
	maxProbeTimeout     = 30 * time.Second
	maxProbeTargets     = 10000
)

// Probe probes every target of req, probeConcurrency at a time, and returns their results in the
// request's order. It never fails as a whole: a target that cannot be probed gets OutcomeError.
//
// TCP: a completed handshake is allowed; a reset or an ICMP port, host or network unreachable is
// refused; no answer within the timeout is timeout. UDP: a datagram is sent on a connected socket;
// a reply is allowed, an ICMP port unreachable is refused, and silence is timeout. UDP silence is
// ambiguous: a listener that does not answer this datagram looks like a filter that drops it, so a
// UDP timeout shows only that nothing answered. A name that does not resolve is dns-failure; a name
// with several addresses (a headless Service) is probed at the first one.
func Probe(ctx context.Context, req api.ProbeRequest) api.ProbeResponse {
	results := make([]api.ProbeResult, len(req.Targets))
	sem := make(chan struct{}, probeConcurrency)
	var wg sync.WaitGroup
	for i, t := range req.Targets {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			results[i] = probeOne(ctx, t)
		}()
	}
	wg.Wait()
	return api.ProbeResponse{Results: results}
}

// probeOne probes one target.
func probeOne(ctx context.Context, t api.ProbeTarget) api.ProbeResult {
	res := api.ProbeResult{Address: t.Address, Port: t.Port, Protocol: t.Protocol}
	if res.Protocol == "" {
		res.Protocol = topology.ProtocolTCP
	}
	start := time.Now()
	finish := func(o topology.Outcome, detail string) api.ProbeResult {
		res.Outcome, res.Detail = o, detail
		res.LatencyMs = float64(time.Since(start).Microseconds()) / 1000
		return res
	}
	switch {
	case res.Protocol != topology.ProtocolTCP && res.Protocol != topology.ProtocolUDP:
		return finish(topology.OutcomeError, fmt.Sprintf("protocol %q: want tcp or udp", t.Protocol))
	case t.Port < 1 || t.Port > 65535:
		return finish(topology.OutcomeError, fmt.Sprintf("port %d: want 1 .. 65535", t.Port))
	case t.Address == "":
		return finish(topology.OutcomeError, "address: required")
	}
	timeout := DefaultProbeTimeout
	if t.TimeoutMs > 0 {
		timeout = min(time.Duration(t.TimeoutMs)*time.Millisecond, maxProbeTimeout)
	}
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	ip, detail := t.Address, ""
	if net.ParseIP(ip) == nil {
		addrs, err := net.DefaultResolver.LookupHost(pctx, t.Address)
		if err != nil {
			if ctx.Err() != nil {
				return finish(topology.OutcomeError, "cancelled: "+err.Error())
			}
			return finish(topology.OutcomeDNSFailure, err.Error())
		}
		ip = addrs[0]
		detail = fmt.Sprintf("resolved to %s (of %d)", ip, len(addrs))
	}
	addr := net.JoinHostPort(ip, strconv.Itoa(t.Port))
	var err error
	if res.Protocol == topology.ProtocolTCP {
		err = dialTCP(pctx, addr)
	} else {
		err = exchangeUDP(pctx, addr)
	}
	if err == nil {
		return finish(topology.OutcomeAllowed, detail)
	}
	if detail != "" {
		detail += ": "
	}
	if ctx.Err() != nil {
		return finish(topology.OutcomeError, detail+"cancelled: "+err.Error())
	}
	return finish(classify(err), detail+err.Error())
}

func dialTCP(ctx context.Context, addr string) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	return conn.Close()
}

// udpPayload is the datagram a UDP probe sends.
var udpPayload = []byte("dpsim probe\n")

// exchangeUDP sends one datagram and waits for any reply until ctx's deadline. On a connected UDP
// socket Linux reports an ICMP port unreachable as ECONNREFUSED on the next read.
func exchangeUDP(ctx context.Context, addr string) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "udp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()
	if _, err := conn.Write(udpPayload); err != nil {
		return err
	}
	_, err = conn.Read(make([]byte, 512))
	return err
}

// classify maps a failed connection attempt to its outcome.
func classify(err error) topology.Outcome {
	var dnsErr *net.DNSError
	var netErr net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return topology.OutcomeRefused
	case errors.As(err, &dnsErr):
		return topology.OutcomeDNSFailure
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return topology.OutcomeTimeout
	}
	return topology.OutcomeError
}

// decodeProbeRequest reads a api.ProbeRequest, refusing unknown fields and oversized batches.
func decodeProbeRequest(r io.Reader) (api.ProbeRequest, error) {
	var req api.ProbeRequest
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return api.ProbeRequest{}, fmt.Errorf("decode probe request: %w", err)
	}
	if len(req.Targets) > maxProbeTargets {
		return api.ProbeRequest{}, fmt.Errorf("probe request: %d targets, at most %d", len(req.Targets), maxProbeTargets)
	}
	return req, nil
}

// ProbeHandler serves POST /v1/probe: a api.ProbeRequest in, the api.ProbeResponse out (400 with an
// ErrorResponse for a malformed request).
func ProbeHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			writeError(w, &statusError{http.StatusMethodNotAllowed, fmt.Errorf("%s: use POST", r.Method)})
			return
		}
		req, err := decodeProbeRequest(http.MaxBytesReader(w, r.Body, 16<<20))
		if err != nil {
			writeError(w, badRequest("%v", err))
			return
		}
		writeJSON(w, http.StatusOK, Probe(r.Context(), req))
	})
}

// proberMux serves what every dpsim pod answers: GET /healthz and POST /v1/probe. The agent adds
// its store endpoints to it; the prober outside every tenant serves it as it is.
func proberMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.Handle("POST /v1/probe", ProbeHandler())
	return mux
}

// ProbeMain runs the prober standalone: `dpsim probe < request.json > response.json`. It reads one
// api.ProbeRequest (JSON) from stdin and writes the api.ProbeResponse (JSON) to stdout. Exit codes: 0 when
// the response was written (whatever the outcomes), 1 when it could not be written, 2 on a usage
// error or a malformed request.
func ProbeMain(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("probe", flag.ContinueOnError)
	fs.SetOutput(stderr)
	serve := fs.String("serve", "", "instead: serve /healthz and POST /v1/probe on this address until interrupted")
	hold := fs.String("hold", "", "instead: hold a connection to this host:port's /healthz and write one JSON line per round")
	every := fs.Duration("every", 100*time.Millisecond, "with --hold: time between rounds")
	holdFor := fs.Duration("for", time.Minute, "with --hold: stop after this long")
	fs.Usage = func() {
		fmt.Fprintln(stderr, `usage: dpsim probe < request.json
reads {"targets": [{"address", "port", "protocol", "timeoutMs"}, ...]} and writes {"results": [...]}
   or: dpsim probe --serve :8080
   or: dpsim probe --hold HOST:PORT [--every 100ms] [--for 1m]`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 || (*serve != "" && *hold != "") {
		fs.Usage()
		return 2
	}
	switch {
	case *serve != "":
		if err := ServeProber(ctx, *serve); err != nil {
			fmt.Fprintf(stderr, "dpsim probe --serve: %v\n", err)
			return 1
		}
		return 0
	case *hold != "":
		hctx, cancel := context.WithTimeout(ctx, *holdFor)
		defer cancel()
		if err := Hold(hctx, *hold, *every, stdout); err != nil {
			fmt.Fprintf(stderr, "dpsim probe --hold: %v\n", err)
			return 1
		}
		return 0
	}
	req, err := decodeProbeRequest(stdin)
	if err != nil {
		fmt.Fprintf(stderr, "dpsim probe: %v\n", err)
		return 2
	}
	if err := json.NewEncoder(stdout).Encode(Probe(ctx, req)); err != nil {
		fmt.Fprintf(stderr, "dpsim probe: write response: %v\n", err)
		return 1
	}
	return 0
}
