package elastic

import (
	"context"
	"fmt"

	"dpsim/stores"
	"dpsim/topology"
)

// Description is Elasticsearch as the agent knows it.
var Description = stores.Description{Name: "elasticsearch", Kind: topology.KindDocument, Connect: connect}

func connect(ctx context.Context, c stores.Connection) (stores.Cluster, error) {
	cfg := ConfigFromSpec(c.Endpoints, c.Spec)
	cfg.Log = c.Log
	cl, err := Connect(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return stores.Datasets(cl.Store, cl.Close), nil
}

// State reports the index's shard copies: shard, primary or replica, state, node.
func (s *Store) State(ctx context.Context) (any, error) {
	shards, err := s.Shards(ctx)
	if err != nil {
		return nil, err
	}
	return map[string]any{"index": s.Index(), "shards": shards}, nil
}

// Replicated reports whether every shard copy of the index is started.
func (s *Store) Replicated(ctx context.Context) (bool, string, error) {
	shards, err := s.Shards(ctx)
	if missingIndex(err) {
		return false, "", fmt.Errorf("index %s: %w", s.Index(), stores.ErrDatasetMissing)
	}
	if err != nil {
		return false, "", err
	}
	for _, sh := range shards {
		if sh.State != "STARTED" {
			return false, fmt.Sprintf("index %s shard %s (%s) is %s %s", s.Index(), sh.Shard, sh.PriRep, sh.State, sh.Reason), nil
		}
	}
	return true, fmt.Sprintf("index %s: %d shard copies started", s.Index(), len(shards)), nil
}
