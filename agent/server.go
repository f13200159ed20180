// Package agent is dpsim's in-cluster agent: a small HTTP (JSON) server that runs next to one
// tenant's data stores, writes workloads into them close to the data, reads them back, reports where
// every record lives and probes connections for the isolation table. Its API (configuration, wire
// types, client) is the package agent/api; the stores it serves are those of stores/registry.
package agent

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"dpsim/agent/api"
	"dpsim/stores"
	"dpsim/stores/registry"
	"dpsim/topology"
)

// Opener opens one dataset of one store.
type Opener func(ctx context.Context, store, dataset string) (topology.Store, error)

// Server serves the agent protocol for one tenant. It is safe for concurrent use.
type Server struct {
	tenant        string
	stores        []api.StoreInfo
	open          Opener
	streamTimeout time.Duration
	heartbeat     time.Duration
	log           *slog.Logger
	closers       []func() error

	mu    sync.Mutex
	cache map[[2]string]topology.Store
}

// NewServer makes a Server for cfg that connects to the real stores (stores/registry) on first use.
func NewServer(cfg api.Config, log *slog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c := &connections{cfg: cfg, spec: cfg.Spec.Spec(), log: log, clusters: map[string]stores.Cluster{}}
	var infos []api.StoreInfo
	for _, d := range registry.All { // registry order, so reports list stores alike everywhere
		if _, ok := cfg.Stores[d.Name]; ok {
			infos = append(infos, api.StoreInfo{Name: d.Name, Kind: d.Kind, InFlight: d.InFlight})
		}
	}
	for name := range cfg.Stores {
		if _, ok := registry.Lookup(name); !ok {
			return nil, fmt.Errorf("agent config: stores.%s: no such store (known: %s)", name, knownStores())
		}
	}
	s := NewServerWith(cfg.Tenant, infos, c.open, log)
	s.streamTimeout, _ = cfg.StreamTimeout()
	s.closers = append(s.closers, c.close)
	return s, nil
}

func knownStores() string {
	var names []string
	for _, d := range registry.All {
		names = append(names, d.Name)
	}
	return strings.Join(names, ", ")
}

// NewServerWith makes a Server for tenant offering the given stores, opened by open (tests use it
// with fake stores).
func NewServerWith(tenant string, infos []api.StoreInfo, open Opener, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{tenant: tenant, stores: infos, open: open, streamTimeout: 10 * time.Minute, heartbeat: 5 * time.Second,
		log: log, cache: map[[2]string]topology.Store{}}
}

// Close closes the connections to the stores.
func (s *Server) Close() error {
	var errs []error
	for _, c := range s.closers {
		errs = append(errs, c())
	}
	return errors.Join(errs...)
}

// Handler is the agent's HTTP handler.
func (s *Server) Handler() http.Handler {
	mux := proberMux()
	mux.HandleFunc("GET /v1/stores", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, api.StoresResponse{Tenant: s.tenant, Stores: s.stores})
	})
	mux.HandleFunc("POST /v1/write", s.handleWrite)
	mux.HandleFunc("POST /v1/read", storeQuery(s, "read", func(ctx context.Context, st topology.Store) (topology.ReadBack, error) {
		rb, err := st.Read(ctx)
		if rb.Records == nil {
			rb.Records = []topology.Record{}
		}
		return rb, err
	}))
	mux.HandleFunc("POST /v1/placement", storeQuery(s, "placement", func(ctx context.Context, st topology.Store) (api.PlacementResponse, error) {
		pl, err := st.Placement(ctx)
		if pl == nil {
			pl = []topology.Placement{}
		}
		return api.PlacementResponse{Placements: pl}, err
	}))
	mux.HandleFunc("POST /v1/drop", storeQuery(s, "drop", func(ctx context.Context, st topology.Store) (struct{}, error) {
		if err := st.Drop(ctx); err != nil {
			return struct{}{}, err
		}
		s.forget(st)
		return struct{}{}, nil
	}))
	mux.HandleFunc("GET /v1/describe", s.handleDescribe)
	mux.HandleFunc("GET /v1/replicated", s.handleReplicated)
	return mux
}

// statusError is an error with the HTTP status it answers.
type statusError struct {
	status int
	err    error
}

func (e *statusError) Error() string { return e.err.Error() }
func (e *statusError) Unwrap() error { return e.err }

func badRequest(format string, args ...any) error {
	return &statusError{http.StatusBadRequest, fmt.Errorf(format, args...)}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	var se *statusError
	if errors.As(err, &se) {
		status = se.status
	} else if errors.Is(err, context.DeadlineExceeded) {
		status = http.StatusGatewayTimeout
	}
	writeJSON(w, status, api.ErrorResponse{Error: err.Error()})
}

// offers reports whether the agent offers the named store.
func (s *Server) offers(name string) bool {
	for _, st := range s.stores {
		if st.Name == name {
			return true
		}
	}
	return false
}

// store checks a request and opens (or reuses) its store.
func (s *Server) store(ctx context.Context, req api.StoreRequest) (topology.Store, error) {
	if req.Tenant != "" && req.Tenant != s.tenant {
		return nil, &statusError{http.StatusForbidden, fmt.Errorf("this agent serves tenant %s, not %s", s.tenant, req.Tenant)}
	}
	if !s.offers(req.Store) {
		return nil, &statusError{http.StatusNotFound, fmt.Errorf("store %q: this agent offers %v", req.Store, s.stores)}
	}
	if req.Dataset == "" {
		return nil, badRequest("dataset: required")
	}
	key := [2]string{req.Store, req.Dataset}
	s.mu.Lock()
	st, ok := s.cache[key]
	s.mu.Unlock()
	if ok {
		return st, nil
	}
	st, err := s.open(ctx, req.Store, req.Dataset)
	if err != nil {
		return nil, &statusError{http.StatusServiceUnavailable, fmt.Errorf("open %s dataset %s: %w", req.Store, req.Dataset, err)}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if prev, ok := s.cache[key]; ok {
		return prev, nil
	}
	s.cache[key] = st
	return st, nil
}

func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 64<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest("decode request: %v", err)
	}
	return nil
}

// storeQuery answers a POST with a StoreRequest body: it opens the store and replies with what
// query returns (what names the query in errors).
func storeQuery[T any](s *Server, what string, query func(ctx context.Context, st topology.Store) (T, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req api.StoreRequest
		if err := decode(r, &req); err != nil {
			writeError(w, err)
			return
		}
		st, err := s.store(r.Context(), req)
		if err != nil {
			writeError(w, err)
			return
		}
		answer, err := query(r.Context(), st)
		if err != nil {
			writeError(w, fmt.Errorf("%s %s/%s: %w", what, req.Store, req.Dataset, err))
			return
		}
		writeJSON(w, http.StatusOK, answer)
	}
}

// forget drops st from the cache of opened stores (its dataset is gone).
func (s *Server) forget(st topology.Store) {
	s.mu.Lock()
	defer s.mu.Unlock()
	maps.DeleteFunc(s.cache, func(_ [2]string, v topology.Store) bool { return v == st })
}

// stater opens the store a GET names (?store=S&dataset=D) as a stores.Stater.
func (s *Server) stater(r *http.Request) (stores.Stater, api.StoreRequest, error) {
	req := api.StoreRequest{Store: r.URL.Query().Get("store"), Dataset: r.URL.Query().Get("dataset")}
	if req.Dataset == "" {
		req.Dataset = "describe" // a store whose state does not depend on the dataset
	}
	st, err := s.store(r.Context(), req)
	if err != nil {
		return nil, req, err
	}
	d, ok := st.(stores.Stater)
	if !ok {
		return nil, req, &statusError{http.StatusNotImplemented, fmt.Errorf("store %s cannot describe itself", req.Store)}
	}
	return d, req, nil
}

// handleReplicated answers whether every part of a dataset has all its copies (api.Replication).
func (s *Server) handleReplicated(w http.ResponseWriter, r *http.Request) {
	d, req, err := s.stater(r)
	if err != nil {
		writeError(w, err)
		return
	}
	ok, detail, err := d.Replicated(r.Context())
	if errors.Is(err, stores.ErrDatasetMissing) {
		writeJSON(w, http.StatusOK, api.Replication{Missing: true, Detail: err.Error()})
		return
	}
	if err != nil {
		writeError(w, fmt.Errorf("replication of %s/%s: %w", req.Store, req.Dataset, err))
		return
	}
	writeJSON(w, http.StatusOK, api.Replication{Replicated: ok, Detail: detail})
}

func (s *Server) handleDescribe(w http.ResponseWriter, r *http.Request) {
	d, req, err := s.stater(r)
	if err != nil {
		writeError(w, err)
		return
	}
	state, err := d.State(r.Context())
	if err != nil {
		writeError(w, fmt.Errorf("describe %s: %w", req.Store, err))
		return
	}
	writeJSON(w, http.StatusOK, state)
}

// maxValueBytes bounds the value of one write.
const maxValueBytes = 1 << 20

// handleWrite runs one full-duplex write stream (see api's protocol): ids are read from the request
// body as they arrive and written through the store's WriteStream; each outcome goes back as one
// line, with empty lines as heartbeats while none does, so the client can tell a slow store from a
// dead agent. The last line says whether the stream ended early.
func (s *Server) handleWrite(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	req := api.StoreRequest{Tenant: q.Get("tenant"), Store: q.Get("store"), Dataset: q.Get("dataset")}
	valueBytes, err := strconv.Atoi(q.Get("valueBytes"))
	if err != nil || valueBytes < 0 || valueBytes > maxValueBytes {
		writeError(w, badRequest("valueBytes %q: want 0 .. %d", q.Get("valueBytes"), maxValueBytes))
		return
	}
	st, err := s.store(r.Context(), req)
	if err != nil {
		writeError(w, err)
		return
	}
	if err := http.NewResponseController(w).EnableFullDuplex(); err != nil {
		s.log.Debug("full duplex not available", "err", err)
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.streamTimeout)
	defer cancel()
	outcomes := make(chan topology.WriteResult, 1024)
	done := make(chan error, 1)
	go func() {
		done <- st.WriteStream(ctx, idLines(r), valueBytes, func(res topology.WriteResult) { outcomes <- res })
	}()

	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	_ = rc.Flush()
	enc := json.NewEncoder(w)
	n := 0
	emit := func(res topology.WriteResult) {
		n++
		_ = enc.Encode(api.StreamLine{WireResult: api.ToWire(res)})
	}
	// Outcomes go out at least every flushEvery; a heartbeat every s.heartbeat when there were none.
	const flushEvery = 50 * time.Millisecond
	tick := time.NewTicker(flushEvery)
	defer tick.Stop()
	pending, lastSent := false, time.Now()
	var streamErr error
loop:
	for {
		select {
		case res := <-outcomes:
			emit(res)
			pending = true
		case streamErr = <-done:
			break loop
		case now := <-tick.C:
			if !pending && now.Sub(lastSent) >= s.heartbeat {
				_, _ = w.Write([]byte("\n"))
				pending = true
			}
			if pending {
				_ = rc.Flush()
				pending, lastSent = false, now
			}
		}
	}
	for len(outcomes) > 0 { // emitted before WriteStream returned
		emit(<-outcomes)
	}
	end := api.StreamLine{End: true}
	if streamErr != nil {
		end.Error = streamErr.Error()
		s.log.Warn("write stream ended early", "store", req.Store, "dataset", req.Dataset, "outcomes", n, "err", streamErr)
	}
	_ = enc.Encode(end)
	_ = rc.Flush()
}

// idLines yields the ids of a write stream's body, one per line, until the body ends.
func idLines(r *http.Request) iter.Seq[string] {
	return func(yield func(string) bool) {
		sc := bufio.NewScanner(r.Body)
		for sc.Scan() {
			if id := strings.TrimSpace(sc.Text()); id != "" && !yield(id) {
				return
			}
		}
	}
}

// connections connects to the tenant's stores, once per store, as datasets are first opened.
type connections struct {
	cfg  api.Config
	spec topology.Spec
	log  *slog.Logger

	mu       sync.Mutex
	clusters map[string]stores.Cluster
}

func (c *connections) open(ctx context.Context, store, dataset string) (topology.Store, error) {
	cl, err := c.cluster(ctx, store)
	if err != nil {
		return nil, err
	}
	return cl.Dataset(ctx, dataset)
}

func (c *connections) cluster(ctx context.Context, store string) (stores.Cluster, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl, ok := c.clusters[store]; ok {
		return cl, nil
	}
	d, ok := registry.Lookup(store)
	if !ok {
		return nil, fmt.Errorf("unknown store %q", store)
	}
	sc := c.cfg.Stores[store]
	cl, err := d.Connect(ctx, stores.Connection{Tenant: c.cfg.Tenant, Endpoints: sc.Endpoints, Secure: sc.Secure,
		AccessKey: sc.AccessKey, SecretKey: sc.SecretKey, Bucket: sc.Bucket, Spec: c.spec, Log: c.log})
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", store, err)
	}
	c.clusters[store] = cl
	return cl, nil
}

func (c *connections) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for _, cl := range c.clusters {
		errs = append(errs, cl.Close())
	}
	return errors.Join(errs...)
}
