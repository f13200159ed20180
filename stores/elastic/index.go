package elastic

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"

	"dpsim/stores"
	"dpsim/topology"
)

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

// Store is one dataset (index) of a Cluster. It implements topology.Store.
type Store struct {
	c     *Cluster
	index string

	mu sync.Mutex
	// sent holds the ids this Store sent whose write may be in the index (acknowledged, or without
	// a known outcome), with the shard they were routed to: a 409 on creating one of them again is
	// the answer to its own earlier write, and a retry goes to the same shard, so that an id is never
	// in two shards.
	sent map[string]int
	// routes is one routing value per primary shard (routes[n] lands on shard n), found on first
	// write.
	routes []string
}

var (
	_ topology.Store      = (*Store)(nil)
	_ stores.StreamWriter = (*Store)(nil)
)

// Store opens the dataset's index, creating it on first use, and finds a routing value per shard
// while every primary is active.
func (c *Cluster) Store(ctx context.Context, dataset string) (*Store, error) {
	index, err := IndexName(dataset)
	if err != nil {
		return nil, err
	}
	if err := c.ensureIndex(ctx, index); err != nil {
		return nil, err
	}
	s := &Store{c: c, index: index, sent: map[string]int{}}
	if _, err := s.shardRoutes(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Name is the component's name.
func (s *Store) Name() string { return Description.Name }

// Kind is the store family.
func (s *Store) Kind() topology.Kind { return Description.Kind }

// Index is the dataset's index.
func (s *Store) Index() string { return s.index }

// ensureIndex creates index (unless it exists) and waits for every primary to be active.
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
	// A busy master can take longer than the header timeout to create an index: the creation is
	// tried up to three times (one that went through meanwhile answers that the index exists).
	var err error
	var he *httpError
	for attempt := 1; ; attempt++ {
		var status int
		var answer []byte
		status, answer, err = c.do(ctx, func() esapi.Request {
			return esapi.IndicesCreateRequest{Index: index, Body: bytes.NewReader(body)}
		})
		if err == nil {
			err = decodeAnswer(status, answer, nil)
		}
		if err == nil || errors.As(err, &he) || attempt == 3 || ctx.Err() != nil {
			break
		}
	}
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

// Drop deletes the index and everything in it; an index already gone is no error.
func (s *Store) Drop(ctx context.Context) error {
	s.c.mu.Lock()
	delete(s.c.ready, s.index)
	s.c.mu.Unlock()
	s.mu.Lock()
	s.routes = nil
	clear(s.sent)
	s.mu.Unlock()
	err := s.c.call(ctx, esapi.IndicesDeleteRequest{Index: []string{s.index}}, nil)
	if err != nil && !missingIndex(err) {
		return fmt.Errorf("delete index %s: %w", s.index, err)
	}
	return nil
}

// missingIndex tells Elasticsearch's answer that an index does not exist.
func missingIndex(err error) bool {
	var he *httpError
	return errors.As(err, &he) && he.Type == "index_not_found_exception"
}

// refresh makes every write so far visible to searches. A failure is logged, not returned: a
// search refreshes a search-idle shard itself, and the shards that cannot be refreshed are the ones
// a read will name unreadable.
func (s *Store) refresh(ctx context.Context) {
	if err := s.c.call(ctx, esapi.IndicesRefreshRequest{Index: []string{s.index}}, nil); err != nil {
		s.c.log.Warn("refresh failed; reading anyway", "index", s.index, "err", err)
	}
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

// Shards reports the shard copies of the index.
func (s *Store) Shards(ctx context.Context) ([]ShardState, error) {
	return s.c.Shards(ctx, s.index)
}

// Shards reports the shard copies of index (every index when empty), by index, shard number, then
// primary first.
func (c *Cluster) Shards(ctx context.Context, index string) ([]ShardState, error) {
	req := esapi.CatShardsRequest{Format: "json", H: []string{"index", "shard", "prirep", "state", "docs", "node", "id", "unassigned.reason"}}
	if index != "" {
		req.Index = []string{index}
	}
	var out []ShardState
	if err := c.call(ctx, req, &out); err != nil {
		return nil, fmt.Errorf("shards of %q: %w", index, err)
	}
	slices.SortFunc(out, cmpShards)
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

// shardNumbers lists the distinct shard numbers among copies, in order.
func shardNumbers(copies []ShardState) []int {
	var out []int
	for _, sh := range copies {
		n, err := strconv.Atoi(sh.Shard)
		if err == nil && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}
