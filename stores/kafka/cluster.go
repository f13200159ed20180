package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"

	"github.com/IBM/sarama"
)

// Cluster is a connection to one Kafka cluster: a sarama client and admin for metadata, and one
// lane (its own client and idempotent async producer) per partition index, shared by every
// dataset. sarama's idempotent producer keeps one request in flight per connection, and a broker
// answers a produce request only when every partition in it is done, so a partition waiting for a
// lost replica would hold up every other partition led by the same broker; a lane per partition
// keeps them apart, as the Java producer's several requests in flight do. It is safe for
// concurrent use.
type Cluster struct {
	cfg     Config
	log     *slog.Logger
	client  sarama.Client
	admin   sarama.ClusterAdmin
	lanes   []lane
	balance *balancer
	drained sync.WaitGroup
	// inSync observes a topic's in-sync replicas (see copiesWatch); nil: not observed.
	inSync func(topic string) func(ctx context.Context) (map[string]int, error)

	mu     sync.Mutex
	topics map[string]int // partitions of the topics known to exist with leaders
}

// lane is one producer with its own connections.
type lane struct {
	client   sarama.Client
	producer sarama.AsyncProducer
}

// Connect opens a Cluster. It fails when no bootstrap broker answers within the timeouts.
func Connect(ctx context.Context, cfg Config) (*Cluster, error) {
	if len(cfg.Brokers) == 0 {
		return nil, errors.New("kafka: no bootstrap brokers")
	}
	sc, err := saramaConfig(cfg)
	if err != nil {
		return nil, err
	}
	client, err := newClient(ctx, cfg.Brokers, sc)
	if err != nil {
		return nil, err
	}
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		client.Close()
		return nil, fmt.Errorf("kafka admin: %w", err)
	}
	c := &Cluster{cfg: cfg, log: cfg.Log, client: client, admin: admin, balance: newBalancer(), topics: map[string]int{}}
	c.inSync = c.inSyncReplicas
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	for range max(cfg.Partitions, 1) {
		if err := c.openLane(ctx, sc); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

// newClient connects a sarama client, giving up when ctx ends.
func newClient(ctx context.Context, brokers []string, sc *sarama.Config) (sarama.Client, error) {
	type opened struct {
		client sarama.Client
		err    error
	}
	ch := make(chan opened, 1)
	go func() {
		cl, err := sarama.NewClient(brokers, sc)
		ch <- opened{cl, err}
	}()
	select {
	case o := <-ch:
		if o.err != nil {
			return nil, fmt.Errorf("connect to kafka %s: %w", strings.Join(brokers, ","), o.err)
		}
		return o.client, nil
	case <-ctx.Done():
		go func() {
			if o := <-ch; o.client != nil {
				o.client.Close()
			}
		}()
		return nil, fmt.Errorf("connect to kafka: %w", ctx.Err())
	}
}

// openLane adds a producer with its own client; records are placed on partitions by the caller.
func (c *Cluster) openLane(ctx context.Context, sc *sarama.Config) error {
	lc := *sc
	lc.Producer.Partitioner = sarama.NewManualPartitioner
	client, err := newClient(ctx, c.cfg.Brokers, &lc)
	if err != nil {
		return err
	}
	producer, err := sarama.NewAsyncProducerFromClient(client)
	if err != nil {
		client.Close()
		return fmt.Errorf("kafka producer: %w", err)
	}
	c.lanes = append(c.lanes, lane{client: client, producer: producer})
	c.drained.Add(2)
	go func() {
		defer c.drained.Done()
		for msg := range producer.Successes() {
			c.finish(msg, nil)
		}
	}()
	go func() {
		defer c.drained.Done()
		for perr := range producer.Errors() {
			c.finish(perr.Msg, perr.Err)
		}
	}()
	return nil
}

// Close stops the producers (outcomes still in flight are delivered first) and closes the clients.
func (c *Cluster) Close() error {
	var errs []error
	for _, l := range c.lanes {
		errs = append(errs, l.producer.Close())
	}
	c.drained.Wait()
	for _, l := range c.lanes {
		errs = append(errs, l.client.Close())
	}
	errs = append(errs, c.admin.Close()) // closing the admin closes the metadata client
	return errors.Join(errs...)
}

// Store opens the dataset's topic, creating it on first use, and waits until every partition has a
// leader.
func (c *Cluster) Store(ctx context.Context, dataset string) (*Store, error) {
	topic, err := TopicName(dataset)
	if err != nil {
		return nil, err
	}
	parts, err := c.ensureTopic(ctx, topic)
	if err != nil {
		return nil, err
	}
	return &Store{c: c, topic: topic, partitions: parts}, nil
}

// MemberName is the name of broker id as the kind provider lists Kafka members.
func MemberName(broker int32) string { return "kafka-" + strconv.Itoa(int(broker)) }
