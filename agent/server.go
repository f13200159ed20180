package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"dpsim/stores"
	"dpsim/stores/elastic"
	"dpsim/stores/kafka"
	"dpsim/stores/s3"
	"dpsim/topology"
)

// Opener opens one dataset of one store ("kafka", "elasticsearch", "objectstore").
type Opener func(ctx context.Context, store, dataset string) (topology.Store, error)

// Describer is a store that reports its state for the report (topic, shard or drive state).
type Describer interface {
	Describe(ctx context.Context) (any, error)
}

// Server serves the agent protocol for one tenant. It is safe for concurrent use.
type Server struct {
	tenant       string
	names        []string
	open         Opener
	batchTimeout time.Duration
	heartbeat    time.Duration
	log          *slog.Logger
	closers      []func() error

	mu    sync.Mutex
	cache map[[2]string]topology.Store
}

// NewServer makes a Server for cfg that connects to the real stores on first use.
func NewServer(cfg Config, log *slog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b := &backends{cfg: cfg, spec: cfg.Spec.Spec(), log: log}
	var names []string
	if cfg.Kafka != nil {
		names = append(names, StoreKafka)
	}
	if cfg.Elasticsearch != nil {
		names = append(names, StoreElastic)
	}
	if cfg.S3 != nil {
		names = append(names, StoreObject)
	}
	s := NewServerWith(cfg.Tenant, names, b.open, log)
	s.batchTimeout, _ = cfg.batchTimeout()
	s.closers = append(s.closers, b.close)
	return s, nil
}

// NewServerWith makes a Server for tenant offering the named stores, opened by open (tests use it
// with fake stores).
func NewServerWith(tenant string, names []string, open Opener, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{tenant: tenant, names: names, open: open, batchTimeout: 10 * time.Minute, heartbeat: 5 * time.Second,
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
		writeJSON(w, http.StatusOK, StoresResponse{Tenant: s.tenant, Stores: s.names})
	})
	mux.HandleFunc("POST /v1/write", s.handleWrite)
	mux.HandleFunc("POST /v1/read", storeQuery(s, "read", readAll))
	mux.HandleFunc("POST /v1/placement", storeQuery(s, "placement", placement))
	mux.HandleFunc("GET /v1/describe", s.handleDescribe)
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
	writeJSON(w, status, ErrorResponse{Error: err.Error()})
}

// store checks a request and opens (or reuses) its store.
func (s *Server) store(ctx context.Context, req StoreRequest) (topology.Store, error) {
	if req.Tenant != "" && req.Tenant != s.tenant {
		return nil, &statusError{http.StatusForbidden, fmt.Errorf("this agent serves tenant %s, not %s", s.tenant, req.Tenant)}
	}
	if !slices.Contains(s.names, req.Store) {
		return nil, &statusError{http.StatusNotFound, fmt.Errorf("store %q: this agent offers %v", req.Store, s.names)}
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
		var req StoreRequest
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

func readAll(ctx context.Context, st topology.Store) (ReadResponse, error) {
	ids, err := st.ReadAll(ctx)
	if ids == nil {
		ids = []string{}
	}
	return ReadResponse{IDs: ids}, err
}

func placement(ctx context.Context, st topology.Store) (PlacementResponse, error) {
	pl, err := st.Placement(ctx)
	if pl == nil {
		pl = []topology.Placement{}
	}
	return PlacementResponse{Placements: pl}, err
}

func (s *Server) handleDescribe(w http.ResponseWriter, r *http.Request) {
	req := StoreRequest{Store: r.URL.Query().Get("store"), Dataset: r.URL.Query().Get("dataset")}
	if req.Dataset == "" && req.Store == StoreObject {
		req.Dataset = "describe" // the bucket's state does not depend on the prefix
	}
	st, err := s.store(r.Context(), req)
	if err != nil {
		writeError(w, err)
		return
	}
	d, ok := st.(Describer)
	if !ok {
		writeError(w, &statusError{http.StatusNotImplemented, fmt.Errorf("store %s cannot describe itself", req.Store)})
		return
	}
	state, err := d.Describe(r.Context())
	if err != nil {
		writeError(w, fmt.Errorf("describe %s: %w", req.Store, err))
		return
	}
	writeJSON(w, http.StatusOK, state)
}

// handleWrite runs a batch and streams its outcomes: the body is one JSON object whose "results"
// array grows as outcomes arrive, with whitespace heartbeats while none do, so the client can tell
// a slow batch from a dead agent.
func (s *Server) handleWrite(w http.ResponseWriter, r *http.Request) {
	var req WriteRequest
	if err := decode(r, &req); err != nil {
		writeError(w, err)
		return
	}
	if req.ValueBytes < 0 || req.ValueBytes > 1<<20 {
		writeError(w, badRequest("valueBytes %d: want 0 .. 1 MiB", req.ValueBytes))
		return
	}
	if req.Seconds < 0 || req.Seconds > MaxTimedSeconds || req.InFlight < 0 || req.Rate < 0 || (req.timed() && len(req.IDs) > 0) {
		writeError(w, badRequest("a write names ids, or seconds (0 .. %d) with a prefix and optional rate and inFlight >= 0, not both", MaxTimedSeconds))
		return
	}
	st, err := s.store(r.Context(), req.StoreRequest)
	if err != nil {
		writeError(w, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.batchTimeout)
	defer cancel()
	outcomes := make(chan stores.Result, max(len(req.IDs), req.inFlight()))
	done := make(chan error, 1)
	issued := 0
	go func() {
		var err error
		issued, err = runBatch(ctx, st, req, func(res stores.Result) { outcomes <- res })
		done <- err
	}()

	flusher, _ := w.(http.Flusher)
	flush := func() {
		if flusher != nil {
			flusher.Flush()
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(`{"results":[`))
	flush()
	enc := json.NewEncoder(w)
	n := 0
	emit := func(res stores.Result) {
		if n > 0 {
			_, _ = w.Write([]byte(","))
		}
		n++
		_ = enc.Encode(toWire(res))
	}
	// Outcomes go out at least every flushEvery; a heartbeat (JSON whitespace) every s.heartbeat
	// when there were none.
	const flushEvery = 500 * time.Millisecond
	tick := time.NewTicker(flushEvery)
	defer tick.Stop()
	pending, lastSent := false, time.Now()
	var batchErr error
loop:
	for {
		select {
		case res := <-outcomes:
			emit(res)
			pending = true
		case batchErr = <-done:
			break loop
		case now := <-tick.C:
			if !pending && now.Sub(lastSent) >= s.heartbeat {
				_, _ = w.Write([]byte(" "))
				pending = true
			}
			if pending {
				flush()
				pending, lastSent = false, now
			}
		}
	}
	for len(outcomes) > 0 { // emitted before runBatch returned
		emit(<-outcomes)
	}
	tail := fmt.Sprintf(`],"issued":%d`, issued)
	if batchErr != nil {
		msg, _ := json.Marshal(batchErr.Error())
		tail += `,"error":` + string(msg)
		s.log.Warn("write batch ended early", "store", req.Store, "dataset", req.Dataset, "outcomes", n, "issued", issued, "err", batchErr)
	}
	_, _ = w.Write([]byte(tail + "}\n"))
	flush()
}

// runBatch runs the write req asks for through st's streaming writer (one write at a time for a
// store without one) and returns how many writes it issued; emit is called once per outcome.
func runBatch(ctx context.Context, st topology.Store, req WriteRequest, emit func(stores.Result)) (int, error) {
	w := stores.Sequential(st)
	if req.timed() {
		return stores.WriteFor(ctx, w, req.load(), emit)
	}
	return len(req.IDs), stores.WriteIDs(ctx, w, req.IDs, req.ValueBytes, emit)
}

// backends opens the real stores, sharing one connection per cluster.
type backends struct {
	cfg  Config
	spec topology.Spec
	log  *slog.Logger

	mu    sync.Mutex
	kafka *kafka.Cluster
	es    *elastic.Cluster
}

func (b *backends) open(ctx context.Context, store, dataset string) (topology.Store, error) {
	switch store {
	case StoreKafka:
		c, err := b.kafkaCluster(ctx)
		if err != nil {
			return nil, err
		}
		st, err := c.Store(ctx, dataset)
		if err != nil {
			return nil, err
		}
		return kafkaStore{st}, nil
	case StoreElastic:
		c, err := b.esCluster(ctx)
		if err != nil {
			return nil, err
		}
		st, err := c.Store(ctx, dataset)
		if err != nil {
			return nil, err
		}
		return elasticStore{st}, nil
	case StoreObject:
		c := b.cfg.S3
		bucket := c.Bucket
		if bucket == "" {
			bucket = b.cfg.Tenant
		}
		st, err := s3.Open(ctx, s3.Config{Endpoint: c.Endpoint, Secure: c.Secure, AccessKey: c.AccessKey, SecretKey: c.SecretKey,
			Bucket: bucket, Servers: c.Servers, Drives: b.spec.ObjectStore.Drives, Parity: b.spec.ObjectStore.Parity, Log: b.log}, dataset)
		if err != nil {
			return nil, err
		}
		return s3Store{st}, nil
	}
	return nil, fmt.Errorf("unknown store %q", store)
}

func (b *backends) kafkaCluster(ctx context.Context) (*kafka.Cluster, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.kafka == nil {
		cfg := kafka.ConfigFromSpec(b.cfg.Kafka.Bootstrap, b.spec)
		cfg.ClientID, cfg.Log = "dpsim-agent-"+b.cfg.Tenant, b.log
		c, err := kafka.Connect(ctx, cfg)
		if err != nil {
			return nil, err
		}
		b.kafka = c
	}
	return b.kafka, nil
}

func (b *backends) esCluster(ctx context.Context) (*elastic.Cluster, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.es == nil {
		cfg := elastic.ConfigFromSpec(b.cfg.Elasticsearch.URLs, b.spec)
		cfg.Log = b.log
		c, err := elastic.Connect(ctx, cfg)
		if err != nil {
			return nil, err
		}
		b.es = c
	}
	return b.es, nil
}

func (b *backends) close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	var errs []error
	if b.kafka != nil {
		errs = append(errs, b.kafka.Close())
	}
	if b.es != nil {
		errs = append(errs, b.es.Close())
	}
	return errors.Join(errs...)
}

// The real stores with the agent's Describe.
type (
	kafkaStore   struct{ *kafka.Store }
	elasticStore struct{ *elastic.Store }
	s3Store      struct{ *s3.Store }
)

func (s kafkaStore) Describe(ctx context.Context) (any, error) {
	parts, err := s.Store.Describe(ctx)
	if err != nil {
		return nil, err
	}
	return map[string]any{"topic": s.Topic(), "partitions": parts}, nil
}

func (s elasticStore) Describe(ctx context.Context) (any, error) {
	shards, err := s.Shards(ctx)
	if err != nil {
		return nil, err
	}
	return map[string]any{"index": s.Index(), "shards": shards}, nil
}

func (s s3Store) Describe(ctx context.Context) (any, error) {
	return s.Store.Describe(ctx), nil
}
