// Package s3 is the real object store: MinIO (outside the cluster, possibly several servers sharing
// one erasure set) through minio-go. Each tenant has one bucket, created on first use; a dataset is
// the key prefix "<dataset>/" (the engine's ids already start with it), and every write puts one
// object whose key is the id.
package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"dpsim/stores"
	"dpsim/topology"
)

// Server is one MinIO server of the erasure set.
type Server struct {
	Name string `json:"name"` // as the provider names it (maps to a node)
	URL  string `json:"url"`  // its base URL; the health check is URL + /minio/health/live
}

// Config says how to reach the object store and how it is laid out.
type Config struct {
	Endpoint  string   `json:"endpoint"` // host:port of the S3 API
	Secure    bool     `json:"secure"`
	AccessKey string   `json:"accessKey"`
	SecretKey string   `json:"secretKey"`
	Bucket    string   `json:"bucket"`  // the tenant's bucket; sanitised with BucketName
	Servers   []Server `json:"servers"` // the servers of the erasure set; default: the endpoint alone
	Drives    int      `json:"drives"`  // drives of the erasure set (spread evenly over the servers)
	Parity    int      `json:"parity"`  // parity drives (EC:N)
	Workers   int      `json:"workers"` // concurrent puts; default 16
	Log       *slog.Logger
}

// Timeouts bound every request so that a write during a fault ends within seconds.
const (
	dialTimeout    = 3 * time.Second
	headerTimeout  = 15 * time.Second
	requestTimeout = 30 * time.Second
	healthTimeout  = 3 * time.Second
)

// Store is one tenant's bucket, viewed through one dataset prefix. It implements topology.Store,
// topology.BatchWriter and stores.StreamWriter.
type Store struct {
	cfg    Config
	log    *slog.Logger
	mc     *minio.Client
	http   *http.Client
	bucket string
	prefix string
}

var (
	_ topology.Store       = (*Store)(nil)
	_ topology.BatchWriter = (*Store)(nil)
	_ stores.StreamWriter  = (*Store)(nil)
)

// BucketName turns a tenant (or any name) into a valid S3 bucket name: lower case, characters
// outside [a-z0-9.-] become '-', 3 to 63 characters, starting and ending with a letter or digit.
func BucketName(name string) (string, error) {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '-' {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	s := strings.Trim(b.String(), ".-")
	for strings.Contains(s, "..") {
		s = strings.ReplaceAll(s, "..", ".")
	}
	if len(s) > 63 {
		s = strings.TrimRight(s[:63], ".-")
	}
	if s == "" {
		return "", fmt.Errorf("bucket name from %q: nothing left", name)
	}
	for len(s) < 3 {
		s += "0"
	}
	if net.ParseIP(s) != nil {
		s = "b-" + s
	}
	return s, nil
}

// Open connects to the object store, creates the bucket if it does not exist and returns the store
// of one dataset (the key prefix "<dataset>/").
func Open(ctx context.Context, cfg Config, dataset string) (*Store, error) {
	if cfg.Endpoint == "" {
		return nil, errors.New("s3: no endpoint")
	}
	if dataset == "" || strings.Contains(dataset, "/") {
		return nil, fmt.Errorf("s3 dataset %q: want a name without '/'", dataset)
	}
	bucket, err := BucketName(cfg.Bucket)
	if err != nil {
		return nil, err
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 16
	}
	if len(cfg.Servers) == 0 {
		scheme := "http"
		if cfg.Secure {
			scheme = "https"
		}
		cfg.Servers = []Server{{Name: strings.Split(cfg.Endpoint, ":")[0], URL: scheme + "://" + cfg.Endpoint}}
	}
	tr := &http.Transport{
		DialContext:           (&net.Dialer{Timeout: dialTimeout, KeepAlive: 15 * time.Second}).DialContext,
		ResponseHeaderTimeout: headerTimeout,
		MaxIdleConnsPerHost:   2 * cfg.Workers,
		IdleConnTimeout:       90 * time.Second,
	}
	mc, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:      credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure:     cfg.Secure,
		Transport:  tr,
		Region:     "us-east-1",
		MaxRetries: 1, // one attempt: a retried put would blur which attempt failed how
	})
	if err != nil {
		return nil, fmt.Errorf("s3 client for %s: %w", cfg.Endpoint, err)
	}
	s := &Store{cfg: cfg, log: cfg.Log, mc: mc, http: &http.Client{Transport: tr, Timeout: healthTimeout}, bucket: bucket, prefix: dataset + "/"}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	rctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	exists, err := mc.BucketExists(rctx, bucket)
	if err != nil {
		return nil, fmt.Errorf("s3 bucket %s: %w", bucket, err)
	}
	if !exists {
		err := mc.MakeBucket(rctx, bucket, minio.MakeBucketOptions{})
		if err != nil && !slices.Contains([]string{"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}, minio.ToErrorResponse(err).Code) {
			return nil, fmt.Errorf("create s3 bucket %s: %w", bucket, err)
		}
	}
	return s, nil
}

// Name is the component's name.
func (s *Store) Name() string { return "objectstore" }

// Kind is the store family.
func (s *Store) Kind() topology.Kind { return topology.KindObject }

// Bucket is the tenant's bucket.
func (s *Store) Bucket() string { return s.bucket }

// Write puts one object and waits for its outcome.
func (s *Store) Write(ctx context.Context, id string, value []byte) (topology.Ack, error) {
	res := s.put(ctx, id, value)
	return res.Ack, res.Err
}

// WriteBatch puts one object per id.
func (s *Store) WriteBatch(ctx context.Context, ids []string, valueBytes int) ([]topology.WriteResult, error) {
	return stores.Collect(ctx, s, ids, valueBytes)
}

// WriteStream puts one object per id (value stores.Value(id, valueBytes)) with Workers concurrent
// puts and emits each outcome as it ends; an id taken but not started because ctx ended is failed.
func (s *Store) WriteStream(ctx context.Context, ids iter.Seq[string], valueBytes int, emit func(stores.Result)) error {
	var mu sync.Mutex
	safeEmit := func(r stores.Result) {
		mu.Lock()
		defer mu.Unlock()
		emit(r)
	}
	work := make(chan string)
	var wg sync.WaitGroup
	for range s.cfg.Workers {
		wg.Go(func() {
			for id := range work {
				safeEmit(s.put(ctx, id, stores.Value(id, valueBytes)))
			}
		})
	}
	for id := range ids {
		select {
		case work <- id:
			continue
		case <-ctx.Done():
			now := time.Now()
			safeEmit(stores.Result{WriteResult: topology.WriteResult{ID: id, Invoked: now, Finished: now,
				Err: fmt.Errorf("put %s: not sent: %v", id, ctx.Err())}})
		}
		break
	}
	close(work)
	wg.Wait()
	return ctx.Err()
}

func (s *Store) put(ctx context.Context, id string, value []byte) stores.Result {
	res := stores.Result{WriteResult: topology.WriteResult{ID: id, Invoked: time.Now()}}
	rctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	info, err := s.mc.PutObject(rctx, s.bucket, id, bytes.NewReader(value), int64(len(value)),
		minio.PutObjectOptions{ContentType: "application/octet-stream", DisableMultipart: true})
	res.Finished = time.Now()
	if err != nil {
		res.Err = fmt.Errorf("put %s/%s: %w", s.bucket, id, Classify(err))
		return res
	}
	// The S3 answer does not say which drives took the shards: the acknowledging node is the server
	// when there is one, the endpoint otherwise, and Copies stays unknown (0).
	res.Ack.Node = s.cfg.Endpoint
	if len(s.cfg.Servers) == 1 {
		res.Ack.Node = s.cfg.Servers[0].Name
	}
	res.Detail = "etag=" + info.ETag
	return res
}

// Classify judges a failed put: an S3 error answer with a 4xx status is definite (the request was
// refused: access denied, no such bucket, quorum not met is a 503 and so unknown); 5xx answers and
// transport errors after the request was sent are unknown; a connection that could not be made is
// definite.
func Classify(err error) error {
	if err == nil {
		return nil
	}
	er := minio.ToErrorResponse(err)
	if er.StatusCode >= 400 && er.StatusCode <= 499 && er.StatusCode != http.StatusRequestTimeout && er.StatusCode != http.StatusTooManyRequests {
		return err
	}
	if er.StatusCode >= 400 {
		return stores.Indefinite(err)
	}
	return stores.TransportError(err)
}

// ReadAll lists every object under the dataset prefix.
func (s *Store) ReadAll(ctx context.Context) ([]string, error) {
	var ids []string
	for obj := range s.mc.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.prefix, Recursive: true}) {
		if obj.Err != nil {
			return nil, fmt.Errorf("list %s/%s: %w", s.bucket, s.prefix, obj.Err)
		}
		ids = append(ids, obj.Key)
	}
	return ids, nil
}

// ServerState is one server's liveness.
type ServerState struct {
	Name  string `json:"name"`
	URL   string `json:"url"`
	Live  bool   `json:"live"`
	Error string `json:"error,omitempty"`
}

// Servers checks every server's /minio/health/live.
func (s *Store) Servers(ctx context.Context) []ServerState {
	out := make([]ServerState, len(s.cfg.Servers))
	var wg sync.WaitGroup
	for i, srv := range s.cfg.Servers {
		wg.Go(func() {
			st := ServerState{Name: srv.Name, URL: srv.URL}
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(srv.URL, "/")+"/minio/health/live", nil)
			if err == nil {
				var res *http.Response
				if res, err = s.http.Do(req); err == nil {
					res.Body.Close()
					st.Live = res.StatusCode == http.StatusOK
					if !st.Live {
						st.Error = res.Status
					}
				}
			}
			if err != nil {
				st.Error = err.Error()
			}
			out[i] = st
		})
	}
	wg.Wait()
	return out
}

// Tolerates is how many of the live servers an object stored on all of them can lose and still be
// read, when drives are spread evenly over servers servers: the erasure set needs drives-parity
// shards, each server holds ceil(drives/servers) of them. -1 when the live servers already hold too
// few.
func Tolerates(servers, live, drives, parity int) int {
	if servers <= 0 || drives <= 0 {
		return -1
	}
	perServer := (drives + servers - 1) / servers
	need := drives - parity
	serversNeeded := (need + perServer - 1) / perServer
	return max(live-serversNeeded, -1)
}

// Placement says, for every object of the dataset, which servers hold its shards and how many of
// them it survives losing. MinIO stripes every object over every drive of its erasure set, so the
// rule is per configuration, not per object: Nodes are the servers whose /minio/health/live answers
// now, and Tolerates follows from the drives, the parity and the live servers (see Tolerates). An
// object written while a server was down lacks that server's shards until MinIO heals it; this
// placement does not see that.
func (s *Store) Placement(ctx context.Context) ([]topology.Placement, error) {
	ids, err := s.ReadAll(ctx)
	if err != nil {
		return nil, err
	}
	var live []string
	for _, st := range s.Servers(ctx) {
		if st.Live {
			live = append(live, st.Name)
		}
	}
	slices.Sort(live)
	tol := Tolerates(len(s.cfg.Servers), len(live), s.cfg.Drives, s.cfg.Parity)
	out := make([]topology.Placement, len(ids))
	for i, id := range ids {
		out[i] = topology.Placement{ID: id, Nodes: slices.Clone(live), Tolerates: tol}
	}
	return out, nil
}

// State is the object store as the report shows it.
type State struct {
	Bucket  string        `json:"bucket"`
	Drives  int           `json:"drives"`
	Parity  int           `json:"parity"`
	Servers []ServerState `json:"servers"`
	// ClusterHealthy is /minio/health/cluster of the endpoint: 200 when the erasure set has write
	// quorum.
	ClusterHealthy bool   `json:"clusterHealthy"`
	ClusterStatus  string `json:"clusterStatus"`
}

// Describe reports the servers' liveness and the cluster's write-quorum health.
func (s *Store) Describe(ctx context.Context) State {
	st := State{Bucket: s.bucket, Drives: s.cfg.Drives, Parity: s.cfg.Parity, Servers: s.Servers(ctx)}
	scheme := "http"
	if s.cfg.Secure {
		scheme = "https"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+s.cfg.Endpoint+"/minio/health/cluster", nil)
	if err == nil {
		var res *http.Response
		if res, err = s.http.Do(req); err == nil {
			res.Body.Close()
			st.ClusterHealthy, st.ClusterStatus = res.StatusCode == http.StatusOK, res.Status
		}
	}
	if err != nil {
		st.ClusterStatus = err.Error()
	}
	return st
}
