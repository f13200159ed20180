package elastic

import (
	"context"
	"fmt"
	"strconv"

	"github.com/elastic/go-elasticsearch/v8/esapi"
)

// searchShards is the part of a _search_shards answer read here: one group of copies per shard.
type searchShards struct {
	Shards [][]struct {
		Index string `json:"index"`
		Shard int    `json:"shard"`
	} `json:"shards"`
}

// maxRoutingTries bounds the candidate routing values tried per shard. A candidate lands on a given
// shard of n with probability 1/n, so missing one after this many tries means something is wrong.
const maxRoutingTries = 64

// shardRoutes is one routing value per primary shard of the index (routes[n] lands on shard n),
// found once and kept. Elasticsearch itself says where each candidate ("0", "1", ...) lands:
// GET /<index>/_search_shards?routing=<candidate> answers with the one shard that routing selects,
// the same shard an indexed document with that routing goes to (IndexRouting.collectSearchShards and
// shardId hash the routing alike on an index without routing_partition_size). Asking, rather than
// computing Murmur3 here, also covers number_of_routing_shards. A shard without an active copy is
// listed with no copy, hence without its number: Store finds the routes once every primary is
// active, before any fault.
func (s *Store) shardRoutes(ctx context.Context) ([]string, error) {
	s.mu.Lock()
	routes := s.routes
	s.mu.Unlock()
	if routes != nil {
		return routes, nil
	}
	all, err := s.searchShards(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("find the shards of %s: %w", s.index, err)
	}
	n := len(all.Shards)
	if n == 0 {
		return nil, fmt.Errorf("find the shards of %s: none listed", s.index)
	}
	routes = make([]string, n)
	found := 0
	for i := 0; found < n; i++ {
		if i >= maxRoutingTries*n {
			return nil, fmt.Errorf("find a routing value per shard of %s: %d of %d shards found after %d candidates", s.index, found, n, i)
		}
		candidate := strconv.Itoa(i)
		ans, err := s.searchShards(ctx, candidate)
		if err != nil {
			return nil, fmt.Errorf("find the shard of routing %q in %s: %w", candidate, s.index, err)
		}
		if len(ans.Shards) != 1 {
			return nil, fmt.Errorf("find the shard of routing %q in %s: %d shard groups in the answer, want 1", candidate, s.index, len(ans.Shards))
		}
		if len(ans.Shards[0]) == 0 {
			continue // a shard without an active copy lists no copy, so not its number either
		}
		shard := ans.Shards[0][0].Shard
		if shard < 0 || shard >= n {
			return nil, fmt.Errorf("routing %q in %s: shard %d of %d", candidate, s.index, shard, n)
		}
		if routes[shard] == "" {
			routes[shard] = candidate
			found++
		}
	}
	s.mu.Lock()
	s.routes = routes
	s.mu.Unlock()
	s.c.log.Debug("one routing value per shard", "index", s.index, "routes", routes)
	return routes, nil
}

func (s *Store) searchShards(ctx context.Context, routing string) (searchShards, error) {
	var ans searchShards
	err := s.c.call(ctx, esapi.SearchShardsRequest{Index: []string{s.index}, Routing: routing}, &ans)
	return ans, err
}
