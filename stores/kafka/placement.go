package kafka

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/IBM/sarama"

	"dpsim/topology"
)

// How placement reads the replicas.
const (
	// fetchVersion is the Fetch request version placement sends. From version 11 the broker
	// attaches client metadata to a consumer's fetch (KafkaApis.handleFetchRequest), which makes
	// FetchParams.fetchOnlyLeader false, so ReplicaManager reads a follower's own log (up to its
	// high watermark) instead of answering NOT_LEADER_OR_FOLLOWER.
	fetchVersion int16 = 11
	// fetchRequestBytes and fetchPartitionBytes bound one fetch response (the broker caps them
	// further with fetch.max.bytes); a topic of ~100k records of ~100 bytes takes a few fetches.
	fetchRequestBytes   = 32 << 20
	fetchPartitionBytes = 8 << 20
	fetchMaxWait        = 100 // milliseconds a broker may wait for data
	// replicaReadBudget bounds the read of one partition from one replica; placementBudget the whole
	// observation.
	replicaReadBudget = 30 * time.Second
	placementBudget   = 3 * time.Minute
	// fetchAttempts is how many failed fetches in a row (errors or no progress) give up on a replica.
	fetchAttempts = 3
)

// Placement tells, for every record some replica holds, the brokers ("kafka-<id>") whose own log
// holds its key now; each record tolerates the loss of all but one of them. It is observed from the
// replicas themselves, never from the in-sync replica list: for every partition it takes the
// replica set from freshly refreshed metadata and fetches the partition from every replica broker
// directly. A replica that cannot be read within replicaReadBudget counts as holding none of the
// partition's records (fail closed) and is logged. Placement fails only when the topic's partitions
// and replicas cannot be had, or ctx ends.
func (s *Store) Placement(ctx context.Context) ([]topology.Placement, error) {
	budget, cancel := context.WithTimeout(ctx, placementBudget)
	defer cancel()
	sets, err := s.replicaSets()
	if err != nil {
		return nil, err
	}
	reads := readReplicas(budget, brokerFetcher{client: s.c.client, topic: s.topic}, sets)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("placement of kafka topic %s: %w", s.topic, err)
	}
	for _, r := range reads {
		if r.err != nil {
			s.c.log.Warn("kafka placement: replica not read, counted as holding none of its partition's records",
				"topic", s.topic, "partition", r.partition, "broker", r.broker, "member", MemberName(r.broker), "err", r.err)
		}
	}
	return mergePlacement(reads), nil
}

// replicaSets is every partition's replica set as freshly refreshed metadata lists it. A partition
// without a replica list is logged and left out: its records get no placement.
func (s *Store) replicaSets() (map[int32][]int32, error) {
	if err := s.c.client.RefreshMetadata(s.topic); err != nil {
		return nil, fmt.Errorf("placement of kafka topic %s: metadata: %w", s.topic, err)
	}
	parts, err := s.c.client.Partitions(s.topic)
	if err != nil {
		return nil, fmt.Errorf("placement of kafka topic %s: partitions: %w", s.topic, err)
	}
	sets := make(map[int32][]int32, len(parts))
	for _, p := range parts {
		// ErrReplicaNotAvailable comes with the full list: an offline replica is fetched from
		// like the others, and fails closed.
		reps, err := s.c.client.Replicas(s.topic, p)
		if len(reps) == 0 {
			s.c.log.Warn("kafka placement: no replicas listed for partition", "topic", s.topic, "partition", p, "err", err)
			continue
		}
		sets[p] = reps
	}
	return sets, nil
}

// logFetcher reads one partition's log from one broker.
type logFetcher interface {
	// fetchKeys returns the key of every record in broker's log of partition, once per record, up
	// to that broker's high watermark.
	fetchKeys(ctx context.Context, broker, partition int32) ([]string, error)
}

// replicaRead is what one replica's log of one partition held.
type replicaRead struct {
	partition int32
	broker    int32
	keys      []string
	err       error // the replica could not be read: it holds nothing, as far as placement knows
}

// readReplicas reads every replica of every partition through f: the brokers in parallel, each
// broker's partitions one after another, each read bounded by replicaReadBudget. The reads come
// back ordered by partition and broker.
func readReplicas(ctx context.Context, f logFetcher, sets map[int32][]int32) []replicaRead {
	perBroker := map[int32][]int32{}
	for p, reps := range sets {
		for _, b := range reps {
			perBroker[b] = append(perBroker[b], p)
		}
	}
	var (
		mu    sync.Mutex
		reads []replicaRead
		wg    sync.WaitGroup
	)
	for b, parts := range perBroker {
		slices.Sort(parts)
		wg.Go(func() {
			for _, p := range parts {
				rctx, cancel := context.WithTimeout(ctx, replicaReadBudget)
				keys, err := f.fetchKeys(rctx, b, p)
				cancel()
				mu.Lock()
				reads = append(reads, replicaRead{partition: p, broker: b, keys: keys, err: err})
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	slices.SortFunc(reads, func(a, b replicaRead) int {
		if a.partition != b.partition {
			return int(a.partition - b.partition)
		}
		return int(a.broker - b.broker)
	})
	return reads
}

// mergePlacement places every key read on the brokers whose log held it, ignoring replicas that
// could not be read. Placements are ordered by id, nodes by broker id.
func mergePlacement(reads []replicaRead) []topology.Placement {
	holders := map[string][]int32{}
	for _, r := range reads {
		if r.err != nil {
			continue
		}
		for _, k := range r.keys {
			if bs := holders[k]; !slices.Contains(bs, r.broker) {
				holders[k] = append(bs, r.broker)
			}
		}
	}
	out := make([]topology.Placement, 0, len(holders))
	for id, brokers := range holders {
		slices.Sort(brokers)
		nodes := make([]string, len(brokers))
		for i, b := range brokers {
			nodes[i] = MemberName(b)
		}
		out = append(out, topology.Placement{ID: id, Nodes: nodes, Tolerates: len(nodes) - 1})
	}
	slices.SortFunc(out, func(a, b topology.Placement) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	return out
}

// brokerFetcher fetches a topic's partitions from given brokers with low-level Fetch requests of
// fetchVersion, which followers serve as well as leaders.
type brokerFetcher struct {
	client sarama.Client
	topic  string
}

// fetchKeys reads broker's log of partition from the partition's oldest offset (0 when the leader
// cannot tell) to the high watermark that broker reports.
func (f brokerFetcher) fetchKeys(ctx context.Context, broker, partition int32) ([]string, error) {
	from := int64(0)
	if oldest, err := f.client.GetOffset(f.topic, partition, sarama.OffsetOldest); err == nil {
		from = oldest
	}
	var (
		keys     []string
		failures int
		lastErr  error
	)
	for {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("read %d records up to offset %d, then: %w (last error: %v)", len(keys), from, err, lastErr)
		}
		if failures >= fetchAttempts {
			return nil, fmt.Errorf("%d fetches in a row failed at offset %d: %w", failures, from, lastErr)
		}
		if failures > 0 {
			if err := sleep(ctx, retryBackoff); err != nil {
				continue
			}
		}
		b, err := f.client.Broker(broker)
		if err != nil {
			failures, lastErr = failures+1, fmt.Errorf("broker %d: %w", broker, err)
			continue
		}
		req := newFetchRequest(f.topic, partition, from)
		resp, err := fetchWithContext(ctx, b, req)
		if err != nil {
			_ = b.Close() // the next attempt reconnects (client.Broker opens it again)
			failures, lastErr = failures+1, fmt.Errorf("fetch from broker %d: %w", broker, err)
			continue
		}
		if req.Version < fetchVersion {
			// sarama lowered the version to what the broker advertises: a follower would refuse it.
			return nil, fmt.Errorf("broker %d serves fetch versions below %d only (negotiated %d): followers cannot be read", broker, fetchVersion, req.Version)
		}
		block := resp.GetBlock(f.topic, partition)
		if block == nil {
			failures, lastErr = failures+1, fmt.Errorf("broker %d: no answer for partition %d", broker, partition)
			continue
		}
		if !errors.Is(block.Err, sarama.ErrNoError) {
			failures, lastErr = failures+1, fmt.Errorf("broker %d: %w", broker, block.Err)
			continue
		}
		hwm := block.HighWaterMarkOffset
		got, next := blockKeys(block, from, hwm)
		keys = append(keys, got...)
		if next >= hwm || from >= hwm {
			return keys, nil
		}
		if next == from {
			failures, lastErr = failures+1, fmt.Errorf("broker %d: no records at offset %d below its high watermark %d", broker, from, hwm)
			continue
		}
		failures, from = 0, next
	}
}

// newFetchRequest asks for one partition from offset, as a consumer (replica id -1) without a fetch
// session (epoch -1: the broker keeps no state) and without a leader epoch (-1: no epoch check).
func newFetchRequest(topic string, partition int32, offset int64) *sarama.FetchRequest {
	req := &sarama.FetchRequest{
		Version:      fetchVersion,
		MaxWaitTime:  fetchMaxWait,
		MinBytes:     1,
		MaxBytes:     fetchRequestBytes,
		Isolation:    sarama.ReadUncommitted,
		SessionID:    0,
		SessionEpoch: -1,
	}
	req.AddBlock(topic, partition, offset, fetchPartitionBytes, -1)
	return req
}

// fetchWithContext sends req to b and waits for the answer or for ctx to end (the request itself is
// bounded by the client's read timeout).
func fetchWithContext(ctx context.Context, b *sarama.Broker, req *sarama.FetchRequest) (*sarama.FetchResponse, error) {
	type answer struct {
		resp *sarama.FetchResponse
		err  error
	}
	ch := make(chan answer, 1)
	go func() {
		resp, err := b.Fetch(req)
		ch <- answer{resp, err}
	}()
	select {
	case a := <-ch:
		return a.resp, a.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// blockKeys returns the keys of the records in block at offsets from up to hwm (exclusive), and the
// offset to fetch next. Control batches (transaction markers) are skipped but passed; a partial
// trailing batch is left for the next fetch. Kafka 4 serves record batches (message format v2)
// only; a legacy message set is read at its listed offsets.
func blockKeys(block *sarama.FetchResponseBlock, from, hwm int64) (keys []string, next int64) {
	next = from
	for _, recs := range block.RecordsSet {
		if recs == nil {
			continue
		}
		if rb := recs.RecordBatch; rb != nil && !rb.PartialTrailingRecord {
			if !rb.Control {
				for _, r := range rb.Records {
					off := rb.FirstOffset + r.OffsetDelta
					if off >= from && off < hwm {
						keys = append(keys, string(r.Key))
					}
					next = max(next, off+1)
				}
			}
			next = max(next, rb.FirstOffset+int64(rb.LastOffsetDelta)+1)
		}
		if ms := recs.MsgSet; ms != nil {
			for _, outer := range ms.Messages {
				for _, m := range outer.Messages() {
					if m.Offset >= from && m.Offset < hwm && m.Msg != nil {
						keys = append(keys, string(m.Msg.Key))
						next = max(next, m.Offset+1)
					}
				}
			}
		}
	}
	return keys, next
}
