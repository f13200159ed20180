// Package s3 is the real object store: MinIO (outside the cluster, possibly several servers sharing
// one erasure set) through minio-go. Each tenant has one bucket, created on first use; a dataset is
// the key prefix "<dataset>/", and every write puts one object under it whose key is
// keys.Object(dataset, id). Where an object's parts are is not visible through S3: the provider
// reads it from the drives (topology/minio), so Placement here fails closed.
package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
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
	"dpsim/stores/s3/keys"
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
	Bucket    string   `json:"bucket"`  // the tenant's bucket; sanitised with keys.BucketName
	Servers   []Server `json:"servers"` // the servers of the erasure set; default: the endpoint alone
	Drives    int      `json:"drives"`  // drives of the erasure set (spread evenly over the servers)
	Parity    int      `json:"parity"`  // parity drives (EC:N)
	Workers   int      `json:"workers"` // concurrent puts and gets; default 16
	Log       *slog.Logger
}

// Timeouts bound every request so that a write during a fault ends within seconds.
const (
	dialTimeout    = 3 * time.Second
	headerTimeout  = 15 * time.Second
	requestTimeout = 30 * time.Second
	healthTimeout  = 3 * time.Second
)

// Store is one tenant's bucket, viewed through one dataset prefix. It implements topology.Store.
type Store struct {
	cfg     Config
	log     *slog.Logger
	mc      *minio.Client
	http    *http.Client
	bucket  string
	dataset string
}

var _ topology.Store = (*Store)(nil)

// Open connects to the object store, creates the bucket if it does not exist and returns the store
// of one dataset (the key prefix keys.Prefix(dataset)).
func Open(ctx context.Context, cfg Config, dataset string) (*Store, error) {
	if cfg.Endpoint == "" {
		return nil, errors.New("s3: no endpoint")
	}
	if err := keys.CheckDataset(dataset); err != nil {
		return nil, err
	}
	bucket, err := keys.BucketName(cfg.Bucket)
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
	s := &Store{cfg: cfg, log: cfg.Log, mc: mc, http: &http.Client{Transport: tr, Timeout: healthTimeout}, bucket: bucket, dataset: dataset}
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
func (s *Store) Name() string { return Description.Name }

// Kind is the store family.
func (s *Store) Kind() topology.Kind { return Description.Kind }

// Bucket is the tenant's bucket.
func (s *Store) Bucket() string { return s.bucket }

// WriteStream puts one object per id (value topology.Value(id, valueBytes), key
// keys.Object(dataset, id)) with Workers concurrent puts and emits each outcome as it ends; an id
// taken but not started because ctx ended is failed, a put in flight when ctx ended is unknown.
func (s *Store) WriteStream(ctx context.Context, ids iter.Seq[string], valueBytes int, emit func(topology.WriteResult)) error {
	var mu sync.Mutex
	safeEmit := func(r topology.WriteResult) {
		mu.Lock()
		defer mu.Unlock()
		emit(r)
	}
	work := make(chan string)
	var wg sync.WaitGroup
	for range s.cfg.Workers {
		wg.Go(func() {
			for id := range work {
				safeEmit(s.put(ctx, id, topology.Value(id, valueBytes)))
			}
		})
	}
	for id := range ids {
		select {
		case work <- id:
			continue
		case <-ctx.Done():
			now := time.Now()
			safeEmit(topology.WriteResult{ID: id, Invoked: now, Finished: now,
				Err: fmt.Errorf("put %s: not sent: %v", id, ctx.Err())})
		}
		break
	}
	close(work)
	wg.Wait()
	return ctx.Err()
}

func (s *Store) put(ctx context.Context, id string, value []byte) topology.WriteResult {
	res := topology.WriteResult{ID: id, Invoked: time.Now()}
	key := keys.Object(s.dataset, id)
	rctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	info, err := s.mc.PutObject(rctx, s.bucket, key, bytes.NewReader(value), int64(len(value)),
		minio.PutObjectOptions{ContentType: "application/octet-stream", DisableMultipart: true})
	res.Finished = time.Now()
	if err != nil {
		if ctx.Err() != nil {
			err = stores.Indefinite(err) // in flight when the caller's context ended
		}
		res.Err = fmt.Errorf("put %s/%s: %w", s.bucket, key, Classify(err))
		return res
	}
	// The S3 answer does not say which drives took the parts: the acknowledging node is the server
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
	if errors.Is(err, topology.ErrIndefinite) {
		return err
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

// list names every object key under the dataset's prefix, in key order.
func (s *Store) list(ctx context.Context) ([]string, error) {
	var out []string
	for obj := range s.mc.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: keys.Prefix(s.dataset), Recursive: true}) {
		if obj.Err != nil {
			return nil, fmt.Errorf("list %s/%s: %w", s.bucket, keys.Prefix(s.dataset), obj.Err)
		}
		out = append(out, obj.Key)
	}
	return out, nil
}

// Read lists every object under the dataset's prefix and GETs each (Workers at a time), hashing the
// bytes read. An object whose GET fails (read quorum lost, a drive's part corrupt) is named in
// Unreadable with the reason and the read goes on; a listing that fails fails the read.
func (s *Store) Read(ctx context.Context) (topology.ReadBack, error) {
	listed, err := s.list(ctx)
	if err != nil {
		return topology.ReadBack{}, err
	}
	objects := listed[:0:0]
	for _, k := range listed {
		if _, ok := keys.ID(s.dataset, k); !ok {
			s.log.Warn(fmt.Sprintf("read %s/%s: object %q names no record; skipped", s.bucket, keys.Prefix(s.dataset), k))
			continue
		}
		objects = append(objects, k)
	}
	type got struct {
		rec topology.Record
		err error
	}
	results := make([]got, len(objects))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(s.cfg.Workers, max(len(objects), 1)) {
		wg.Go(func() {
			for i := range next {
				id, _ := keys.ID(s.dataset, objects[i])
				hash, err := s.get(ctx, objects[i])
				results[i] = got{topology.Record{ID: id, Hash: hash}, err}
			}
		})
	}
	for i := range objects {
		select {
		case next <- i:
			continue
		case <-ctx.Done():
		}
		break
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return topology.ReadBack{}, fmt.Errorf("read %s/%s: %w", s.bucket, keys.Prefix(s.dataset), err)
	}
	rb := topology.ReadBack{Records: make([]topology.Record, 0, len(objects))}
	for _, r := range results {
		if r.err != nil {
			rb.Unreadable = append(rb.Unreadable, fmt.Sprintf("%s: %v", r.rec.ID, r.err))
			continue
		}
		rb.Records = append(rb.Records, r.rec)
	}
	return rb, nil
}

// get reads one object whole and returns the hash of its bytes.
func (s *Store) get(ctx context.Context, key string) (string, error) {
	rctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	obj, err := s.mc.GetObject(rctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return "", fmt.Errorf("get %s/%s: %w", s.bucket, key, err)
	}
	defer obj.Close()
	b, err := io.ReadAll(obj)
	if err != nil {
		return "", fmt.Errorf("get %s/%s: %w", s.bucket, key, err)
	}
	return topology.ValueHash(b), nil
}

// ErrPlacementFromDrives is Placement's answer: where an object's erasure-coded parts are is
// observed on the drives themselves, by the provider that can look at them (topology/minio's
// Placement), never by this client. It wraps errors.ErrUnsupported.
var ErrPlacementFromDrives = fmt.Errorf("object placement is read from the drives by the provider, not by the S3 client: %w", errors.ErrUnsupported)

// Placement fails closed: the S3 API does not say which drives hold an object's parts, and the
// servers that answer now are not where an object written during a fault lives. The provider reads
// placement from the drives (topology/minio).
func (s *Store) Placement(ctx context.Context) ([]topology.Placement, error) {
	return nil, fmt.Errorf("placement of %s/%s: %w", s.bucket, keys.Prefix(s.dataset), ErrPlacementFromDrives)
}

// Drop removes every object under the dataset's prefix.
func (s *Store) Drop(ctx context.Context) error {
	objects, err := s.list(ctx)
	if err != nil {
		return fmt.Errorf("drop %s/%s: %w", s.bucket, keys.Prefix(s.dataset), err)
	}
	ch := make(chan minio.ObjectInfo)
	go func() {
		defer close(ch)
		for _, k := range objects {
			select {
			case ch <- minio.ObjectInfo{Key: k}:
			case <-ctx.Done():
				return
			}
		}
	}()
	var errs []error
	for e := range s.mc.RemoveObjects(ctx, s.bucket, ch, minio.RemoveObjectsOptions{}) {
		errs = append(errs, fmt.Errorf("remove %s/%s: %w", s.bucket, e.ObjectName, e.Err))
	}
	if err := ctx.Err(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("drop %s/%s: %w", s.bucket, keys.Prefix(s.dataset), err)
	}
	return nil
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
