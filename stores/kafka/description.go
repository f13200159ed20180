package kafka

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/IBM/sarama"

	"dpsim/stores"
	"dpsim/topology"
)

// Description is Kafka as the agent knows it.
var Description = stores.Description{Name: "kafka", Kind: topology.KindLog, Connect: connect}

func connect(ctx context.Context, c stores.Connection) (stores.Cluster, error) {
	cfg := ConfigFromSpec(c.Endpoints, c.Spec)
	cfg.ClientID, cfg.Log = "dpsim-agent-"+c.Tenant, c.Log
	cl, err := Connect(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return stores.Datasets(cl.Store, cl.Close), nil
}

// State reports the topic's partitions: leader, replicas, in-sync replicas, high watermark.
func (s *Store) State(ctx context.Context) (any, error) {
	parts, err := s.Describe(ctx)
	if err != nil {
		return nil, err
	}
	return map[string]any{"topic": s.Topic(), "partitions": parts}, nil
}

// Replicated reports whether every partition has its whole replica set in sync.
func (s *Store) Replicated(ctx context.Context) (bool, string, error) {
	parts, err := s.Describe(ctx)
	if errors.Is(err, sarama.ErrUnknownTopicOrPartition) {
		return false, "", fmt.Errorf("topic %s: %w", s.Topic(), stores.ErrDatasetMissing)
	}
	if err != nil {
		return false, "", err
	}
	for _, p := range parts {
		if !slices.Equal(sortedIDs(p.ISR), sortedIDs(p.Replicas)) {
			return false, fmt.Sprintf("topic %s partition %d: in sync %v of replicas %v", s.Topic(), p.Partition, p.ISR, p.Replicas), nil
		}
	}
	return true, fmt.Sprintf("topic %s: %d partitions fully in sync", s.Topic(), len(parts)), nil
}

func sortedIDs(v []int32) []int32 {
	c := slices.Clone(v)
	slices.Sort(c)
	return c
}
