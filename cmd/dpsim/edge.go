package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"dpsim/agent/apiauth"
	"dpsim/scenarios/probes"
	"dpsim/topology"
)

// runScan scans every TCP port of the addresses from where it runs (the client outside the VPC)
// and prints what it found as JSON (reports.Exposure).
func runScan(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	fs := newFlags("scan", "[flags] ADDRESS...", "Try every TCP port of each address from here and print, as JSON, the ports that took a\nconnection with what answered on them, and how many were refused or dropped.", stderr)
	ports := fs.String("ports", "1-65535", "port range FIRST-LAST")
	concurrency := fs.Int("concurrency", probes.DefaultScan.Concurrency, "connection attempts at once")
	timeout := fs.Duration("timeout", probes.DefaultScan.DialTimeout, "how long an attempt may wait before the port counts as dropped")
	addrs, err := parseInterspersed(fs, args)
	if err != nil {
		return exitUsage, err
	}
	if len(addrs) == 0 {
		return exitUsage, usagef("no address to scan")
	}
	s := probes.DefaultScan
	s.Concurrency, s.DialTimeout = *concurrency, *timeout
	if s.First, s.Last, err = topology.PortRange(*ports); err != nil {
		return exitUsage, usagef("--ports: %v", err)
	}
	if s.Concurrency < 1 || s.DialTimeout <= 0 {
		return exitUsage, usagef("--concurrency and --timeout must be positive")
	}
	for _, a := range addrs {
		if net.ParseIP(a) == nil {
			return exitUsage, usagef("%q is not an IP address", a)
		}
	}
	enc := json.NewEncoder(stdout)
	return exitOK, enc.Encode(probes.Ports(ctx, addrs, s))
}

// runWeb serves a tenant's API stand-in behind the ingress: GET / names the tenant, /healthz
// answers ok. It holds no data and reaches no store.
func runWeb(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	fs := newFlags("web", "--tenant NAME [--listen ADDR] [--issuer URL... --audience AUD [--discovery-base URL]]",
		"Serve a tenant's API stand-in (what the ingress routes the tenant's host name to). With --issuer,\n"+
			"GET /api/whoami answers only a bearer token of a trusted issuer for the audience (401 otherwise).", stderr)
	tenant := fs.String("tenant", "", "the tenant it serves")
	listen := fs.String("listen", ":8443", "address to serve on")
	var issuers stringList
	fs.Var(&issuers, "issuer", "an issuer (OIDC realm URL) whose tokens the API accepts (repeatable)")
	audience := fs.String("audience", "", "the audience a token must name")
	discoveryBase := fs.String("discovery-base", "", "where the issuers' discovery documents and keys are fetched (scheme://host), if not from the issuers")
	if err := parse(fs, args); err != nil {
		return exitUsage, err
	}
	if *tenant == "" {
		return exitUsage, usagef("--tenant is required")
	}
	var verifier *apiauth.Verifier
	if len(issuers) > 0 {
		v, err := apiauth.New(issuers, *discoveryBase, *audience)
		if err != nil {
			return exitUsage, usageError{err}
		}
		verifier = v
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return 1, fmt.Errorf("listen on %s: %w", *listen, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	if verifier != nil {
		mux.Handle("GET /api/whoami", apiauth.Handler(*tenant, verifier))
	}
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"tenant": *tenant, "service": "api", "host": r.Host})
	})
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "dpsim web for tenant %s serving on %s\n", *tenant, ln.Addr())
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	select {
	case err := <-served:
		return 1, err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return 1, err
		}
		return exitOK, nil
	}
}
