package kafka

import (
	"errors"
	"sync"
	"time"

	"github.com/IBM/sarama"

	"dpsim/topology"
)

// balancer spreads records over a topic's partitions the way Kafka's own producer does with adaptive
// partitioning (KIP-794, on by default since Kafka 3.3): a record goes to the partition with the
// fewest records awaiting an outcome, so a partition that stalls (its leader gone, its in-sync
// replicas waited for) stops taking new records while the others go on; a partition that refused a
// record or left it without an outcome is passed over for availabilityPause unless every partition
// is. Keys stay the records' ids (reads find records by key, not partition). The store places
// every record itself (one producer per partition, see Cluster).
type balancer struct {
	mu     sync.Mutex
	topics map[string]*partitionLoad
}

// availabilityPause is how long a partition that refused a write is passed over.
const availabilityPause = time.Second

// partitionLoad is the balancer's view of one topic.
type partitionLoad struct {
	inFlight []int
	paused   []time.Time
	next     int // where the search for the least loaded partition starts (round robin on ties)
}

func newBalancer() *balancer { return &balancer{topics: map[string]*partitionLoad{}} }

// pick chooses the partition for a new record and counts it in flight.
func (b *balancer) pick(topic string, n int, now time.Time) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	l := b.load(topic, n)
	best, bestAvailable := -1, false
	for k := range n {
		i := (l.next + k) % n
		available := !now.Before(l.paused[i])
		switch {
		case best < 0, available && !bestAvailable, available == bestAvailable && l.inFlight[i] < l.inFlight[best]:
			best, bestAvailable = i, available
		}
	}
	l.next = (best + 1) % n
	l.inFlight[best]++
	return best
}

// load is topic's state sized for n partitions.
func (b *balancer) load(topic string, n int) *partitionLoad {
	l := b.topics[topic]
	if l == nil {
		l = &partitionLoad{}
		b.topics[topic] = l
	}
	for len(l.inFlight) < n {
		l.inFlight = append(l.inFlight, 0)
		l.paused = append(l.paused, time.Time{})
	}
	return l
}

// done records the outcome of a record pick placed on partition.
func (b *balancer) done(topic string, partition int32, err error, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	l := b.load(topic, int(partition)+1)
	if l.inFlight[partition] > 0 {
		l.inFlight[partition]--
	}
	if err != nil && unavailable(err) {
		l.paused[partition] = now.Add(availabilityPause)
	}
}

// unavailable reports whether err says the partition is not taking writes for now.
func unavailable(err error) bool {
	var kerr sarama.KError
	if errors.As(err, &kerr) {
		switch kerr {
		case sarama.ErrNotEnoughReplicas, sarama.ErrNotEnoughReplicasAfterAppend, sarama.ErrNotLeaderForPartition,
			sarama.ErrLeaderNotAvailable, sarama.ErrRequestTimedOut, sarama.ErrKafkaStorageError:
			return true
		}
	}
	return errors.Is(err, topology.ErrIndefinite) || errors.Is(err, sarama.ErrOutOfBrokers) || errors.Is(err, sarama.ErrNotConnected)
}
