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

// Store is one dataset (topic) of a Cluster. It implements topology.Store.
type Store struct {
	c          *Cluster
	topic      string
	partitions int
}

var (
	_ topology.Store      = (*Store)(nil)
	_ stores.StreamWriter = (*Store)(nil)
)

// Name is the component's name.
func (s *Store) Name() string { return Description.Name }

// Kind is the store family.
func (s *Store) Kind() topology.Kind { return Description.Kind }

// Topic is the dataset's topic.
func (s *Store) Topic() string { return s.topic }

// Drop deletes the topic and waits (at most a minute) until the cluster's metadata no longer lists
// it.
func (s *Store) Drop(ctx context.Context) error { return s.c.dropTopic(ctx, s.topic) }

// PartitionState is one partition as the report shows it.
type PartitionState struct {
	Partition       int32        `json:"partition"`
	Leader          int32        `json:"leader"`
	Replicas        []int32      `json:"replicas"`
	ISR             []int32      `json:"isr"`
	OfflineReplicas []int32      `json:"offlineReplicas,omitempty"`
	HighWatermark   int64        `json:"highWatermark"`
	ReplicaLogs     []ReplicaLog `json:"replicaLogs,omitempty"`
}

// ReplicaLog is one replica's log as DescribeLogDirs reports it. Kafka does not report a replica's
// log end offset there: OffsetLag is how far the replica's log end lags its own high watermark
// (0 for a healthy replica), Size the bytes of its segments.
type ReplicaLog struct {
	Broker    int32  `json:"broker"`
	Dir       string `json:"dir"`
	Size      int64  `json:"size"`
	OffsetLag int64  `json:"offsetLag"`
}

// Describe reports every partition of the topic: leader, replicas, in-sync replicas, high watermark
// and each replica's log (DescribeLogDirs; left out when the brokers do not answer it).
func (s *Store) Describe(ctx context.Context) ([]PartitionState, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	metas, err := s.c.admin.DescribeTopics([]string{s.topic})
	if err != nil {
		return nil, fmt.Errorf("describe topic %s: %w", s.topic, err)
	}
	if len(metas) != 1 || !errors.Is(metas[0].Err, sarama.ErrNoError) {
		if len(metas) == 1 {
			return nil, fmt.Errorf("describe topic %s: %w", s.topic, metas[0].Err)
		}
		return nil, fmt.Errorf("describe topic %s: %d topics in the answer", s.topic, len(metas))
	}
	var out []PartitionState
	brokers := map[int32]bool{}
	for _, pm := range metas[0].Partitions {
		st := PartitionState{Partition: pm.ID, Leader: pm.Leader, Replicas: pm.Replicas, ISR: pm.Isr, OfflineReplicas: pm.OfflineReplicas}
		if hwm, err := s.c.client.GetOffset(s.topic, pm.ID, sarama.OffsetNewest); err == nil {
			st.HighWatermark = hwm
		} else {
			st.HighWatermark = -1
		}
		for _, r := range pm.Replicas {
			brokers[r] = true
		}
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b PartitionState) int { return int(a.Partition - b.Partition) })
	ids := make([]int32, 0, len(brokers))
	for id := range brokers {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	dirs, err := s.c.admin.DescribeLogDirs(ids)
	if err != nil {
		s.c.log.Warn("describe log dirs", "topic", s.topic, "err", err)
		return out, nil
	}
	for broker, ds := range dirs {
		for _, d := range ds {
			for _, t := range d.Topics {
				if t.Topic != s.topic {
					continue
				}
				for _, p := range t.Partitions {
					for i := range out {
						if out[i].Partition == p.PartitionID {
							out[i].ReplicaLogs = append(out[i].ReplicaLogs, ReplicaLog{Broker: broker, Dir: d.Path, Size: p.Size, OffsetLag: p.OffsetLag})
						}
					}
				}
			}
		}
	}
	for i := range out {
		slices.SortFunc(out[i].ReplicaLogs, func(a, b ReplicaLog) int { return int(a.Broker - b.Broker) })
	}
	return out, nil
}
