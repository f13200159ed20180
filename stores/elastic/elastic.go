// Package elastic is the real document store: one tenant's Elasticsearch cluster through
// go-elasticsearch. A dataset is one index, created on first use with the spec's shards and
// replicas; every write creates one small document (_id = id) through _bulk, and every outcome is
// classified as acknowledged, failed (definitely not applied) or unknown (topology.ErrIndefinite).
package elastic

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
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
	Workers             int    // concurrent _bulk requests; default 8
	BulkSize            int    // documents per _bulk request; default 50
	Log                 *slog.Logger
}

// ConfigFromSpec is the Config for urls under spec.
func ConfigFromSpec(urls []string, spec topology.Spec) Config {
	return Config{URLs: urls, Shards: spec.Elasticsearch.Shards, Replicas: spec.Elasticsearch.Replicas,
		WaitForActiveShards: spec.Elasticsearch.WaitForActiveShards}
}

// Timeouts bound every request so that a write during a fault ends within seconds.
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
	mu     sync.Mutex
	ready  map[string]bool
	client *http.Client
}

// Connect makes a client for cfg and checks that the cluster answers.
func Connect(ctx context.Context, cfg Config) (*Cluster, error) {
	if len(cfg.URLs) == 0 {
		return nil, errors.New("elasticsearch: no URLs")
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 8
	}
	if cfg.BulkSize <= 0 {
		cfg.BulkSize = 200
	}
	if cfg.WaitForActiveShards == "" {
		cfg.WaitForActiveShards = "all"
	}
	tr := &http.Transport{
		DialContext:           (&net.Dialer{Timeout: dialTimeout, KeepAlive: 15 * time.Second}).DialContext,
		ResponseHeaderTimeout: headerTimeout,
		MaxIdleConnsPerHost:   2 * cfg.Workers,
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

// do sends req and returns the status and body; a transport error is returned as it is.
func (c *Cluster) do(ctx context.Context, req esapi.Request) (int, []byte, error) {
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

// call sends req and decodes a 2xx answer into out (unless nil); anything else is an error.
func (c *Cluster) call(ctx context.Context, req esapi.Request, out any) error {
	status, body, err := c.do(ctx, req)
	if err != nil {
		return err
	}
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

// IndexName turns a dataset name into a valid index name: lower case, the characters Elasticsearch
// forbids (\ / * ? " < > | space , # :) become '-', a leading '-', '_' or '+' gets the prefix "ds",
// at most 255 bytes, never "." or "..".
func IndexName(dataset string) (string, error) {
	if dataset == "" {
		return "", errors.New("elasticsearch index: empty dataset name")
	}
	var b strings.Builder
	for _, r := range strings.ToLower(dataset) {
		if strings.ContainsRune("\\/*?\"<>| ,#:", r) || r < 0x20 {
			b.WriteByte('-')
			continue
		}
		b.WriteRune(r)
	}
	name := b.String()
	if strings.HasPrefix(name, "-") || strings.HasPrefix(name, "_") || strings.HasPrefix(name, "+") {
		name = "ds" + name
	}
	if name == "." || name == ".." {
		name = "ds" + name
	}
	for len(name) > 255 {
		name = name[:len(name)-1]
	}
	return strings.ToValidUTF8(name, ""), nil
}

// Store opens the dataset's index, creating it on first use.
func (c *Cluster) Store(ctx context.Context, dataset string) (*Store, error) {
	index, err := IndexName(dataset)
	if err != nil {
		return nil, err
	}
	if err := c.ensureIndex(ctx, index); err != nil {
		return nil, err
	}
	return &Store{c: c, index: index}, nil
}

func (c *Cluster) ensureIndex(ctx context.Context, index string) error {
	c.mu.Lock()
	ok := c.ready[index]
	c.mu.Unlock()
	if ok {
		return nil
	}
	body, _ := json.Marshal(map[string]any{
		"settings": map[string]any{"number_of_shards": max(c.cfg.Shards, 1), "number_of_replicas": max(c.cfg.Replicas, 0)},
		"mappings": map[string]any{"dynamic": false, "properties": map[string]any{"id": map[string]any{"type": "keyword"}}},
	})
	err := c.call(ctx, esapi.IndicesCreateRequest{Index: index, Body: bytes.NewReader(body)}, nil)
	var he *httpError
	if err != nil && !(errors.As(err, &he) && he.Type == "resource_already_exists_exception") {
		return fmt.Errorf("create index %s: %w", index, err)
	}
	// Every primary active: writes can go.
	timeout := 60 * time.Second
	var health struct {
		Status   string `json:"status"`
		TimedOut bool   `json:"timed_out"`
	}
	if err := c.call(ctx, esapi.ClusterHealthRequest{Index: []string{index}, WaitForStatus: "yellow", Timeout: timeout}, &health); err != nil {
		return fmt.Errorf("wait for index %s: %w", index, err)
	}
	if health.TimedOut {
		return fmt.Errorf("index %s not ready after %s: status %s", index, timeout, health.Status)
	}
	c.mu.Lock()
	c.ready[index] = true
	c.mu.Unlock()
	return nil
}

// Store is one dataset (index) of a Cluster. It implements topology.Store, topology.BatchWriter and
// stores.StreamWriter.
type Store struct {
	c     *Cluster
	index string
}

var (
	_ topology.Store       = (*Store)(nil)
	_ topology.BatchWriter = (*Store)(nil)
	_ stores.StreamWriter  = (*Store)(nil)
)

// Name is the component's name.
func (s *Store) Name() string { return "elasticsearch" }

// Kind is the store family.
func (s *Store) Kind() topology.Kind { return topology.KindDocument }

// Index is the dataset's index.
func (s *Store) Index() string { return s.index }

// Write creates one document and waits for its outcome.
func (s *Store) Write(ctx context.Context, id string, value []byte) (topology.Ack, error) {
	var ack topology.Ack
	var werr error
	var got bool
	err := s.bulk(ctx, slices.Values([]string{id}), func(string) []byte { return value }, func(r stores.Result) {
		ack, werr, got = r.Ack, r.Err, true
	})
	if err != nil && !got {
		return ack, err
	}
	return ack, werr
}

// WriteBatch creates one document per id.
func (s *Store) WriteBatch(ctx context.Context, ids []string, valueBytes int) ([]topology.WriteResult, error) {
	return stores.Collect(ctx, s, ids, valueBytes)
}

// WriteStream creates one document per id ({"id": id, "value": stores.Value(id, valueBytes)}) through
// Workers concurrent _bulk requests of up to BulkSize documents and emits each outcome when its
// request ends. A chunk goes out when it is full or when no id has come for bulkLinger. Ids taken
// but never sent because ctx ended are failed.
func (s *Store) WriteStream(ctx context.Context, ids iter.Seq[string], valueBytes int, emit func(stores.Result)) error {
	return s.bulk(ctx, ids, func(id string) []byte { return stores.Value(id, valueBytes) }, emit)
}

// bulkLinger is how long a partial chunk waits for more ids before it is sent.
const bulkLinger = 5 * time.Millisecond

func (s *Store) bulk(ctx context.Context, ids iter.Seq[string], value func(string) []byte, emit func(stores.Result)) error {
	var mu sync.Mutex
	safeEmit := func(r stores.Result) {
		mu.Lock()
		defer mu.Unlock()
		emit(r)
	}
	chunks := make(chan []string)
	var wg sync.WaitGroup
	for range s.c.cfg.Workers {
		wg.Go(func() {
			for chunk := range chunks {
				s.bulkChunk(ctx, chunk, value, safeEmit)
			}
		})
	}
	incoming := make(chan string)
	stopFeed := make(chan struct{})
	go func() {
		defer close(incoming)
		for id := range ids {
			select {
			case incoming <- id:
			case <-stopFeed:
				return
			}
		}
	}()
	var chunk, unsent []string
	linger := time.NewTimer(time.Hour)
	defer linger.Stop()
	send := func() bool {
		select {
		case chunks <- chunk:
			chunk = nil
			return true
		case <-ctx.Done():
			return false
		}
	}
feed:
	for {
		select {
		case id, ok := <-incoming:
			if !ok {
				if len(chunk) > 0 && !send() {
					unsent = chunk
				}
				break feed
			}
			chunk = append(chunk, id)
			if len(chunk) >= s.c.cfg.BulkSize {
				if !send() {
					unsent = chunk
					break feed
				}
			} else if len(chunk) == 1 {
				linger.Reset(bulkLinger)
			}
		case <-linger.C:
			if len(chunk) > 0 && !send() {
				unsent = chunk
				break feed
			}
		case <-ctx.Done():
			unsent = chunk
			break feed
		}
	}
	close(stopFeed)
	for id := range incoming { // the feeder has stopped: what it had in hand was never sent
		unsent = append(unsent, id)
	}
	close(chunks)
	wg.Wait()
	now := time.Now()
	for _, id := range unsent {
		safeEmit(stores.Result{WriteResult: topology.WriteResult{ID: id, Invoked: now, Finished: now,
			Err: fmt.Errorf("index %s: not sent: %v", id, ctx.Err())}})
	}
	return ctx.Err()
}

// bulkItem is one item of a _bulk answer.
type bulkItem struct {
	ID     string `json:"_id"`
	Status int    `json:"status"`
	SeqNo  *int64 `json:"_seq_no"`
	Term   int64  `json:"_primary_term"`
	Shards struct {
		Total      int `json:"total"`
		Successful int `json:"successful"`
		Failed     int `json:"failed"`
	} `json:"_shards"`
	Error *struct {
		Type   string `json:"type"`
		Reason string `json:"reason"`
	} `json:"error"`
}

// bulkChunk sends one _bulk request of create actions and emits the outcome of each id.
func (s *Store) bulkChunk(ctx context.Context, ids []string, value func(string) []byte, emit func(stores.Result)) {
	var body bytes.Buffer
	enc := json.NewEncoder(&body)
	for _, id := range ids {
		_ = enc.Encode(map[string]any{"create": map[string]string{"_index": s.index, "_id": id}})
		_ = enc.Encode(map[string]string{"id": id, "value": string(value(id))})
	}
	invoked := time.Now()
	payload := body.Bytes()
	var status int
	var answer []byte
	var err error
	// A request that provably never left (connection refused: a dead node among the URLs) is sent
	// again, to the next URL; any other error ends the attempt.
	for attempt := 0; ; attempt++ {
		status, answer, err = s.c.do(ctx, esapi.BulkRequest{Index: s.index, Body: bytes.NewReader(payload),
			WaitForActiveShards: s.c.cfg.WaitForActiveShards, Timeout: writeTimeout})
		if err == nil || status != 0 || !stores.NotSent(err) || attempt >= len(s.c.cfg.URLs) || ctx.Err() != nil {
			break
		}
	}
	finished := time.Now()
	fail := func(err error) {
		for _, id := range ids {
			emit(stores.Result{WriteResult: topology.WriteResult{ID: id, Invoked: invoked, Finished: finished, Err: fmt.Errorf("index %s: %w", id, err)}})
		}
	}
	if err != nil {
		if status == 0 {
			err = stores.TransportError(err)
		} else {
			err = stores.Indefinite(err) // the answer broke off
		}
		fail(err)
		return
	}
	if status < 200 || status > 299 {
		he := answerError(status, answer)
		fail(ClassifyItem(status, he.Type, he.Reason+" "+he.Body))
		return
	}
	var ans struct {
		Items []map[string]bulkItem `json:"items"`
	}
	if err := json.Unmarshal(answer, &ans); err != nil {
		fail(stores.Indefinite(fmt.Errorf("decode _bulk answer: %w", err)))
		return
	}
	byID := make(map[string]bulkItem, len(ans.Items))
	for _, it := range ans.Items {
		for _, item := range it {
			byID[item.ID] = item
		}
	}
	for _, id := range ids {
		res := stores.Result{WriteResult: topology.WriteResult{ID: id, Invoked: invoked, Finished: finished}}
		item, ok := byID[id]
		switch {
		case !ok:
			res.Err = fmt.Errorf("index %s: missing from the _bulk answer: %w", id, topology.ErrIndefinite)
		case item.Error == nil && item.Status >= 200 && item.Status <= 299:
			res.Ack.Copies = item.Shards.Successful
			if item.SeqNo != nil {
				res.Detail = fmt.Sprintf("seq_no=%d primary_term=%d shards=%d/%d", *item.SeqNo, item.Term, item.Shards.Successful, item.Shards.Total)
			}
		default:
			typ, reason := "", ""
			if item.Error != nil {
				typ, reason = item.Error.Type, item.Error.Reason
			}
			if err := ClassifyItem(item.Status, typ, reason); err != nil {
				res.Err = fmt.Errorf("index %s: %w", id, err)
			} else {
				res.Detail = "exists (a retried create)"
			}
		}
		emit(res)
	}
}

// ClassifyItem judges one write answer: nil when the document is there (created, or a 409
// version conflict on create, which means an earlier attempt created it), a definite error when
// Elasticsearch did not apply it (unavailable_shards_exception: too few active copies or no active
// primary, checked before writing; other 4xx), an error wrapping topology.ErrIndefinite when it may
// have (429, 5xx, any answer that mentions a timeout).
func ClassifyItem(status int, errType, reason string) error {
	if status >= 200 && status <= 299 && errType == "" {
		return nil
	}
	if status == http.StatusConflict && errType == "version_conflict_engine_exception" {
		return nil
	}
	err := &httpError{Status: status, Type: errType, Reason: reason}
	if errType == "unavailable_shards_exception" {
		return err
	}
	lower := strings.ToLower(errType + " " + reason)
	if status == http.StatusTooManyRequests || status >= 500 || strings.Contains(lower, "timeout") || strings.Contains(lower, "timed out") {
		return stores.Indefinite(err)
	}
	return err
}

// page is one page of a search.
type page struct {
	ScrollID string `json:"_scroll_id"`
	Shards   struct {
		Total      int `json:"total"`
		Successful int `json:"successful"`
		Failed     int `json:"failed"`
	} `json:"_shards"`
	Hits struct {
		Hits []struct {
			ID string `json:"_id"`
		} `json:"hits"`
	} `json:"hits"`
}

// scan lists every _id of the index through a scroll; preference picks the shard copies. A page with
// a failed shard is an error: the read would be incomplete.
func (s *Store) scan(ctx context.Context, preference string) ([]string, error) {
	var ids []string
	var pg page
	err := s.c.call(ctx, esapi.SearchRequest{Index: []string{s.index}, Scroll: time.Minute, Size: esapi.IntPtr(pageSize),
		Sort: []string{"_doc"}, Source: []string{"false"}, Preference: preference, Body: strings.NewReader(`{"query":{"match_all":{}}}`)}, &pg)
	if err != nil {
		return nil, fmt.Errorf("search %s (preference %q): %w", s.index, preference, err)
	}
	defer func() {
		if pg.ScrollID != "" {
			_ = s.c.call(context.WithoutCancel(ctx), esapi.ClearScrollRequest{ScrollID: []string{pg.ScrollID}}, nil)
		}
	}()
	for {
		if pg.Shards.Failed > 0 || pg.Shards.Successful < pg.Shards.Total {
			return nil, fmt.Errorf("search %s (preference %q): %d of %d shards answered", s.index, preference, pg.Shards.Successful, pg.Shards.Total)
		}
		if len(pg.Hits.Hits) == 0 {
			return ids, nil
		}
		for _, h := range pg.Hits.Hits {
			ids = append(ids, h.ID)
		}
		id := pg.ScrollID
		pg = page{}
		if err := s.c.call(ctx, esapi.ScrollRequest{ScrollID: id, Scroll: time.Minute}, &pg); err != nil {
			pg.ScrollID = id
			return nil, fmt.Errorf("scroll %s: %w", s.index, err)
		}
	}
}

// ReadAll refreshes the index and returns the _id of every document.
func (s *Store) ReadAll(ctx context.Context) ([]string, error) {
	if err := s.c.call(ctx, esapi.IndicesRefreshRequest{Index: []string{s.index}}, nil); err != nil {
		return nil, fmt.Errorf("refresh %s: %w", s.index, err)
	}
	return s.scan(ctx, "")
}

// ShardState is one shard copy as _cat/shards reports it.
type ShardState struct {
	Index  string `json:"index"`
	Shard  string `json:"shard"`
	PriRep string `json:"prirep"` // p or r
	State  string `json:"state"`  // STARTED, INITIALIZING, RELOCATING, UNASSIGNED
	Docs   string `json:"docs,omitempty"`
	Node   string `json:"node,omitempty"` // node name
	NodeID string `json:"id,omitempty"`
	Reason string `json:"unassigned.reason,omitempty"`
}

// Shards reports the shard copies of the index (every index when the store's index is empty).
func (s *Store) Shards(ctx context.Context) ([]ShardState, error) {
	return s.c.Shards(ctx, s.index)
}

// Shards reports the shard copies of index (every index when empty).
func (c *Cluster) Shards(ctx context.Context, index string) ([]ShardState, error) {
	req := esapi.CatShardsRequest{Format: "json", H: []string{"index", "shard", "prirep", "state", "docs", "node", "id", "unassigned.reason"}}
	if index != "" {
		req.Index = []string{index}
	}
	var out []ShardState
	if err := c.call(ctx, req, &out); err != nil {
		return nil, fmt.Errorf("shards of %q: %w", index, err)
	}
	slices.SortFunc(out, func(a, b ShardState) int {
		return cmpShards(a, b)
	})
	return out, nil
}

func cmpShards(a, b ShardState) int {
	if c := strings.Compare(a.Index, b.Index); c != 0 {
		return c
	}
	an, _ := strconv.Atoi(a.Shard)
	bn, _ := strconv.Atoi(b.Shard)
	if an != bn {
		return an - bn
	}
	return strings.Compare(a.PriRep, b.PriRep) // p (primary) before r
}

// Placement lists, for every document, the nodes whose started copy of its shard holds it: each
// started copy is searched on its own (preference _shards:<n>|_only_nodes:<node id>), so a copy
// that lost documents shows them missing. Nodes are Elasticsearch node names (the deployment makes
// them the pod names); each document tolerates the loss of all but one of them.
func (s *Store) Placement(ctx context.Context) ([]topology.Placement, error) {
	if err := s.c.call(ctx, esapi.IndicesRefreshRequest{Index: []string{s.index}}, nil); err != nil {
		return nil, fmt.Errorf("refresh %s: %w", s.index, err)
	}
	shards, err := s.Shards(ctx)
	if err != nil {
		return nil, err
	}
	where := map[string]map[string]bool{}
	for _, sh := range shards {
		if sh.State != "STARTED" || sh.NodeID == "" {
			continue
		}
		ids, err := s.scan(ctx, "_shards:"+sh.Shard+"|_only_nodes:"+sh.NodeID)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			if where[id] == nil {
				where[id] = map[string]bool{}
			}
			where[id][sh.Node] = true
		}
	}
	out := make([]topology.Placement, 0, len(where))
	for id, nodes := range where {
		names := make([]string, 0, len(nodes))
		for n := range nodes {
			names = append(names, n)
		}
		slices.Sort(names)
		out = append(out, topology.Placement{ID: id, Nodes: names, Tolerates: len(names) - 1})
	}
	slices.SortFunc(out, func(a, b topology.Placement) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// Health is the cluster's health as the report shows it.
func (c *Cluster) Health(ctx context.Context) (map[string]any, error) {
	var h map[string]any
	if err := c.call(ctx, esapi.ClusterHealthRequest{}, &h); err != nil {
		return nil, fmt.Errorf("cluster health: %w", err)
	}
	return h, nil
}
