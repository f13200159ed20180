// Package elastic is the real document store: one tenant's Elasticsearch cluster through
// go-elasticsearch. A dataset is one index, created on first use with the spec's shards and
// replicas. Writes go through one lane per primary shard (each document carries a routing value that
// lands it on its lane's shard), so a shard waiting for a lost copy holds up only its own lane; every
// write creates one small document (_id = id) and every outcome is classified as acknowledged,
// failed (definitely not applied) or unknown (topology.ErrIndefinite). Reads and placement search
// each shard, and each shard copy, on its own.
//
// Files: elastic.go (configuration, connection, requests), index.go (index admin), routing.go (a
// routing value per shard), write.go and picker.go (write lanes), classify.go (judging answers),
// read.go (the final read) and placement.go (where each document lives now).
package elastic

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"

	"dpsim/stores"
	"dpsim/topology"
)

// Config says how to reach an Elasticsearch cluster and how to create and write its indices.
type Config struct {
	URLs                []string // http://host:9200, ...
	Shards              int
	Replicas            int
	WaitForActiveShards string // "all" or a count
	Bulks               int    // _bulk requests in flight per shard lane; default 4
	BulkSize            int    // documents per _bulk request; default 50
	Log                 *slog.Logger
}

// ConfigFromSpec is the Config for urls under spec.
func ConfigFromSpec(urls []string, spec topology.Spec) Config {
	return Config{URLs: urls, Shards: spec.Elasticsearch.Shards, Replicas: spec.Elasticsearch.Replicas,
		WaitForActiveShards: spec.Elasticsearch.WaitForActiveShards}
}

// Timeouts bound every request so that a write during a fault ends within seconds and a read of a
// red index ends.
const (
	dialTimeout    = 3 * time.Second
	headerTimeout  = 30 * time.Second // the server's own timeout below comes first
	writeTimeout   = 10 * time.Second // the ?timeout of writes: how long to wait for active shards
	requestTimeout = time.Minute      // any single request
	pageSize       = 5000
)

// Cluster is a connection to one Elasticsearch cluster, shared by every dataset.
type Cluster struct {
	cfg    Config
	log    *slog.Logger
	es     *elasticsearch.Client
	client *http.Client

	mu    sync.Mutex
	ready map[string]bool // indices known to exist with every primary active
}

// Connect makes a client for cfg and checks that the cluster answers.
func Connect(ctx context.Context, cfg Config) (*Cluster, error) {
	if len(cfg.URLs) == 0 {
		return nil, errors.New("elasticsearch: no URLs")
	}
	if cfg.Bulks <= 0 {
		cfg.Bulks = 4
	}
	if cfg.BulkSize <= 0 {
		cfg.BulkSize = 50
	}
	if cfg.WaitForActiveShards == "" {
		cfg.WaitForActiveShards = "all"
	}
	tr := &http.Transport{
		DialContext:           (&net.Dialer{Timeout: dialTimeout, KeepAlive: 15 * time.Second}).DialContext,
		ResponseHeaderTimeout: headerTimeout,
		MaxIdleConnsPerHost:   2 * cfg.Bulks * max(cfg.Shards, 1),
		IdleConnTimeout:       90 * time.Second,
	}
	es, err := elasticsearch.NewClient(elasticsearch.Config{Addresses: cfg.URLs, Transport: tr, DisableRetry: true})
	if err != nil {
		return nil, fmt.Errorf("elasticsearch client: %w", err)
	}
	c := &Cluster{cfg: cfg, log: cfg.Log, es: es, ready: map[string]bool{}, client: &http.Client{Transport: tr}}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	// GET / lives in a module the minimal distribution lacks; the health API is always there.
	if err := c.call(ctx, esapi.ClusterHealthRequest{}, nil); err != nil {
		return nil, fmt.Errorf("connect to elasticsearch %s: %w", strings.Join(cfg.URLs, ","), err)
	}
	return c, nil
}

// Close releases idle connections.
func (c *Cluster) Close() error {
	c.client.CloseIdleConnections()
	return nil
}

// Health is the cluster's health as the report shows it.
func (c *Cluster) Health(ctx context.Context) (map[string]any, error) {
	var h map[string]any
	if err := c.call(ctx, esapi.ClusterHealthRequest{}, &h); err != nil {
		return nil, fmt.Errorf("cluster health: %w", err)
	}
	return h, nil
}

// httpError is a non-2xx answer of Elasticsearch.
type httpError struct {
	Status int
	Type   string
	Reason string
	Body   string
}

func (e *httpError) Error() string {
	if e.Type != "" {
		return fmt.Sprintf("http %d: %s: %s", e.Status, e.Type, e.Reason)
	}
	return fmt.Sprintf("http %d: %s", e.Status, e.Body)
}

// errorBody is Elasticsearch's error answer.
type errorBody struct {
	Error struct {
		Type   string `json:"type"`
		Reason string `json:"reason"`
	} `json:"error"`
}

func answerError(status int, body []byte) *httpError {
	e := &httpError{Status: status, Body: string(body)}
	if len(e.Body) > 500 {
		e.Body = e.Body[:500]
	}
	var eb errorBody
	if json.Unmarshal(body, &eb) == nil {
		e.Type, e.Reason = eb.Error.Type, eb.Error.Reason
	}
	return e
}

// do sends the request newReq makes and returns the status and body; a transport error is returned
// as it is. A request that provably never left (connection refused: a dead node among the URLs) is
// made again and sent to the next URL, at most once per URL; any other error ends the attempt.
func (c *Cluster) do(ctx context.Context, newReq func() esapi.Request) (int, []byte, error) {
	for attempt := 0; ; attempt++ {
		status, body, err := c.once(ctx, newReq())
		if err == nil || status != 0 || !stores.NotSent(err) || attempt+1 >= len(c.cfg.URLs) || ctx.Err() != nil {
			return status, body, err
		}
	}
}

func (c *Cluster) once(ctx context.Context, req esapi.Request) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	res, err := req.Do(ctx, c.es)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return res.StatusCode, nil, fmt.Errorf("read answer: %w", err)
	}
	return res.StatusCode, body, nil
}

// call sends req, which carries no body (it may be sent again, see do), and decodes a 2xx answer
// into out (unless nil); anything else is an error.
func (c *Cluster) call(ctx context.Context, req esapi.Request, out any) error {
	status, body, err := c.do(ctx, func() esapi.Request { return req })
	if err != nil {
		return err
	}
	return decodeAnswer(status, body, out)
}

// decodeAnswer decodes a 2xx answer into out (unless nil); another status is an *httpError.
func decodeAnswer(status int, body []byte, out any) error {
	if status < 200 || status > 299 {
		return answerError(status, body)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("decode answer: %w", err)
	}
	return nil
}
