// Package kafka is the real log store: one tenant's Kafka cluster seen through sarama. A dataset is
// one topic, created on first use with the spec's partitions, replication factor and min in-sync
// replicas; every write is one record (key = id), and every outcome is classified as acknowledged,
// failed (definitely not applied) or unknown (topology.ErrIndefinite).
package kafka

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/IBM/sarama"

	"dpsim/stores"
	"dpsim/topology"
)

// Config says how to reach a Kafka cluster and how to create and write its topics.
type Config struct {
	Brokers           []string // bootstrap servers, host:port
	Partitions        int
	ReplicationFactor int
	MinInsync         int    // min.insync.replicas of created topics
	Acks              string // "all", "1" or "0"
	ClientID          string // defaults to "dpsim"
	Log               *slog.Logger
}

// ConfigFromSpec is the Config for brokers under spec: its partitions, replication factor, effective
// min in-sync replicas and acks.
func ConfigFromSpec(brokers []string, spec topology.Spec) Config {
	return Config{
		Brokers:           brokers,
		Partitions:        spec.Kafka.Partitions,
		ReplicationFactor: spec.Kafka.ReplicationFactor,
		MinInsync:         spec.EffectiveMinInsync(),
		Acks:              spec.Kafka.Acks,
	}
}

// Timeouts bound every request so that a write during a fault ends within seconds.
const (
	dialTimeout    = 3 * time.Second
	readTimeout    = 10 * time.Second
	writeTimeout   = 5 * time.Second
	ackTimeout     = 5 * time.Second // broker-side wait for the in-sync replicas (acks=all)
	produceRetries = 3
	retryBackoff   = 250 * time.Millisecond
	readIdle       = 30 * time.Second // a partition read that makes no progress this long fails
	topicReady     = 60 * time.Second
)

// Version is the protocol version sarama speaks: one Kafka 4 still serves (it dropped the protocol
// versions before 2.1; sarama's V3_1_x JoinGroup v8 is refused).
var Version = sarama.V3_6_0_0

// saramaConfig is the client configuration for cfg.
func saramaConfig(cfg Config) (*sarama.Config, error) {
	c := sarama.NewConfig()
	c.Version = Version
	c.ClientID = cmpOr(cfg.ClientID, "dpsim")
	c.Net.DialTimeout = dialTimeout
	c.Net.ReadTimeout = readTimeout
	c.Net.WriteTimeout = writeTimeout
	c.Metadata.Retry.Max = 3
	c.Metadata.Retry.Backoff = retryBackoff
	c.Metadata.Timeout = 15 * time.Second
	c.Metadata.RefreshFrequency = time.Minute
	c.Admin.Timeout = 15 * time.Second
	c.Admin.Retry.Max = 3
	c.Producer.Return.Successes = true
	c.Producer.Return.Errors = true
	c.Producer.Timeout = ackTimeout
	c.Producer.Retry.Max = produceRetries
	c.Producer.Retry.Backoff = retryBackoff
	c.Consumer.Return.Errors = true
	c.Consumer.Offsets.Initial = sarama.OffsetOldest
	switch cfg.Acks {
	case "all", "-1", "":
		c.Producer.RequiredAcks = sarama.WaitForAll
		c.Producer.Idempotent = true
		c.Net.MaxOpenRequests = 1 // sarama's requirement for the idempotent producer
	case "1":
		c.Producer.RequiredAcks = sarama.WaitForLocal
	case "0":
		c.Producer.RequiredAcks = sarama.NoResponse
	default:
		return nil, fmt.Errorf("kafka acks %q: want all, 1 or 0", cfg.Acks)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("kafka client configuration: %w", err)
	}
	return c, nil
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

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

// TopicName turns a dataset name into a valid Kafka topic name: characters outside [a-zA-Z0-9._-]
// become '-', at most 249 characters, never "." or "..".
func TopicName(dataset string) (string, error) {
	if dataset == "" {
		return "", errors.New("kafka topic: empty dataset name")
	}
	var b strings.Builder
	for _, r := range dataset {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	name := b.String()
	if len(name) > 249 {
		name = name[:249]
	}
	if name == "." || name == ".." {
		name = strings.ReplaceAll(name, ".", "_")
	}
	return name, nil
}

// TopicConfig is the configuration topics are created with.
func (c *Cluster) TopicConfig() map[string]*string {
	minISR := strconv.Itoa(max(c.cfg.MinInsync, 1))
	unclean := "false"
	return map[string]*string{"min.insync.replicas": &minISR, "unclean.leader.election.enable": &unclean}
}

// ensureTopic creates topic unless it exists, waits until every partition has a leader and returns
// how many partitions it has.
func (c *Cluster) ensureTopic(ctx context.Context, topic string) (int, error) {
	c.mu.Lock()
	known := c.topics[topic]
	c.mu.Unlock()
	if known > 0 {
		return known, nil
	}
	detail := &sarama.TopicDetail{
		NumPartitions:     int32(max(c.cfg.Partitions, 1)),
		ReplicationFactor: int16(max(c.cfg.ReplicationFactor, 1)),
		ConfigEntries:     c.TopicConfig(),
	}
	err := c.admin.CreateTopic(topic, detail, false)
	if err != nil && !errors.Is(err, sarama.ErrTopicAlreadyExists) {
		return 0, fmt.Errorf("create kafka topic %s: %w", topic, err)
	}
	deadline := time.Now().Add(topicReady)
	for {
		ready, why := c.topicReady(topic)
		if ready {
			break
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("kafka topic %s not ready after %s: %s", topic, topicReady, why)
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("wait for kafka topic %s: %w", topic, ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
	parts, err := c.client.Partitions(topic)
	if err != nil {
		return 0, fmt.Errorf("partitions of kafka topic %s: %w", topic, err)
	}
	c.mu.Lock()
	c.topics[topic] = len(parts)
	c.mu.Unlock()
	return len(parts), nil
}

// topicReady reports whether every partition of topic has a leader.
func (c *Cluster) topicReady(topic string) (bool, string) {
	if err := c.client.RefreshMetadata(topic); err != nil {
		return false, err.Error()
	}
	parts, err := c.client.Partitions(topic)
	if err != nil {
		return false, err.Error()
	}
	if len(parts) == 0 {
		return false, "no partitions yet"
	}
	for _, p := range parts {
		if _, err := c.client.Leader(topic, p); err != nil {
			return false, fmt.Sprintf("partition %d: %v", p, err)
		}
	}
	return true, ""
}

// MemberName is the name of broker id as the kind provider lists Kafka members.
func MemberName(broker int32) string { return "kafka-" + strconv.Itoa(int(broker)) }

// pending is one record handed to the producer; the producer's Metadata field carries it.
type pending struct {
	batch   *batch
	id      string
	invoked time.Time
}

// batch collects the outcomes of one WriteStream call. Once the call has returned, late outcomes
// are dropped (they were reported as unknown).
type batch struct {
	mu     sync.Mutex
	closed bool
	fed    bool // every id has been handed to the producer
	left   int  // ids handed to the producer without an outcome yet
	emit   func(stores.Result)
	done   chan struct{}
	seen   map[string]bool // every id handed to the producer: true once its outcome is delivered
}

func newBatch(emit func(stores.Result)) *batch {
	return &batch{emit: emit, done: make(chan struct{}), seen: map[string]bool{}}
}

// add records that id is about to be handed to the producer; it is false for an id already sent in
// this batch (a duplicate has one outcome).
func (b *batch) add(id string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, dup := b.seen[id]; dup {
		return false
	}
	b.seen[id] = false
	b.left++
	return true
}

// allSent marks the end of the ids; the batch is done once the last outcome is in.
func (b *batch) allSent() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.fed = true
	if b.left == 0 && !b.closed {
		close(b.done)
		b.closed = true
	}
}

func (b *batch) deliver(r stores.Result) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed || b.seen[r.ID] {
		return
	}
	b.seen[r.ID] = true
	b.emit(r)
	b.left--
	if b.left == 0 && b.fed {
		close(b.done)
		b.closed = true
	}
}

// abandon reports every sent id without an outcome yet as unknown and stops delivering.
func (b *batch) abandon(why error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	now := time.Now()
	for id, delivered := range b.seen {
		if !delivered {
			b.emit(stores.Result{WriteResult: topology.WriteResult{ID: id, Invoked: now, Finished: now,
				Err: fmt.Errorf("produce %s: no outcome before %v: %w", id, why, topology.ErrIndefinite)}})
		}
	}
	b.closed = true
}

func (b *batch) close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
}

// finish turns the producer's report on msg into an outcome.
func (c *Cluster) finish(msg *sarama.ProducerMessage, err error) {
	p, ok := msg.Metadata.(*pending)
	if !ok {
		return
	}
	res := stores.Result{WriteResult: topology.WriteResult{ID: p.id, Invoked: p.invoked, Finished: time.Now()}}
	if err != nil {
		res.Err = ClassifyAfter(fmt.Errorf("produce %s: %w", p.id, err), res.Finished.Sub(p.invoked))
	}
	c.balance.done(msg.Topic, msg.Partition, res.Err, res.Finished)
	if err == nil {
		if leader, lerr := c.client.Leader(msg.Topic, msg.Partition); lerr == nil {
			res.Ack.Node = MemberName(leader.ID())
		}
		if isr, ierr := c.client.InSyncReplicas(msg.Topic, msg.Partition); ierr == nil {
			res.Ack.Copies = len(isr)
		}
		res.Detail = fmt.Sprintf("partition=%d offset=%d", msg.Partition, msg.Offset)
	}
	p.batch.deliver(res)
}

// Classify marks err with topology.ErrIndefinite unless it proves the record was not appended: the
// broker refused it before appending (NOT_ENOUGH_REPLICAS, not the leader, unknown partition,
// invalid or too large), or the request was never sent (no broker reachable, connection refused,
// producer closed). Timeouts, NOT_ENOUGH_REPLICAS_AFTER_APPEND (appended to the leader, too few
// in-sync replicas to acknowledge), broken connections and anything unrecognised are unknown.
//
// It judges the last attempt's error only; ClassifyAfter also weighs how long the retries took.
func Classify(err error) error {
	if err == nil {
		return nil
	}
	var kerr sarama.KError
	if errors.As(err, &kerr) {
		switch kerr {
		case sarama.ErrNotEnoughReplicas, sarama.ErrNotLeaderForPartition, sarama.ErrLeaderNotAvailable,
			sarama.ErrUnknownTopicOrPartition, sarama.ErrMessageSizeTooLarge, sarama.ErrInvalidMessage,
			sarama.ErrInvalidMessageSize, sarama.ErrInvalidRequiredAcks,
			sarama.ErrTopicAuthorizationFailed, sarama.ErrClusterAuthorizationFailed, sarama.ErrInvalidRecord,
			sarama.ErrInvalidTopic, sarama.ErrInvalidProducerEpoch, sarama.ErrProducerFenced,
			sarama.ErrFencedLeaderEpoch, sarama.ErrUnknownLeaderEpoch, sarama.ErrKafkaStorageError:
			return err
		default:
			return stores.Indefinite(err)
		}
	}
	switch {
	case errors.Is(err, sarama.ErrOutOfBrokers), errors.Is(err, sarama.ErrNotConnected),
		errors.Is(err, sarama.ErrClosedClient), errors.Is(err, sarama.ErrShuttingDown),
		errors.Is(err, sarama.ErrProducerRetryBufferOverflow), errors.Is(err, sarama.ErrMessageTooLarge):
		return err
	}
	return stores.TransportError(err)
}

// ClassifyAfter classifies the final error of a record that took elapsed from being handed to the
// producer to its outcome. sarama retries a record (Producer.Retry.Max times), and an attempt that
// timed out waiting for the in-sync replicas may have been appended and later committed even though
// the last attempt was refused (observed: a broker killed under acks=all, min.insync.replicas=2 gave
// NOT_ENOUGH_REPLICAS for records an earlier, timed-out attempt had appended). Such an attempt takes
// at least the broker's ack timeout, so a definite error that took that long is reported unknown.
// A quick retry after a connection broke mid-request is not caught by this rule; the ledger then
// reports the record as recovered (failed but present), never as lost.
func ClassifyAfter(err error, elapsed time.Duration) error {
	err = Classify(err)
	if err != nil && !errors.Is(err, topology.ErrIndefinite) && elapsed >= ackTimeout {
		return fmt.Errorf("%w (after %s of retries, an earlier attempt may have been applied): %w", err, elapsed.Round(time.Millisecond), topology.ErrIndefinite)
	}
	return err
}

// Store is one dataset (topic) of a Cluster. It implements topology.Store, topology.BatchWriter and
// stores.StreamWriter.
type Store struct {
	c          *Cluster
	topic      string
	partitions int
}

var (
	_ topology.Store       = (*Store)(nil)
	_ topology.BatchWriter = (*Store)(nil)
	_ stores.StreamWriter  = (*Store)(nil)
)

// Name is the component's name.
func (s *Store) Name() string { return "kafka" }

// Kind is the store family.
func (s *Store) Kind() topology.Kind { return topology.KindLog }

// Topic is the dataset's topic.
func (s *Store) Topic() string { return s.topic }

// Write produces one record and waits for its outcome.
func (s *Store) Write(ctx context.Context, id string, value []byte) (topology.Ack, error) {
	return stores.WriteOne(ctx, valueWriter{s, value}, id, len(value))
}

// valueWriter writes one given value instead of a derived one.
type valueWriter struct {
	s     *Store
	value []byte
}

func (w valueWriter) WriteStream(ctx context.Context, ids iter.Seq[string], _ int, emit func(stores.Result)) error {
	return w.s.produce(ctx, ids, func(string) []byte { return w.value }, emit)
}

// WriteBatch produces one record per id, concurrently through the shared async producer.
func (s *Store) WriteBatch(ctx context.Context, ids []string, valueBytes int) ([]topology.WriteResult, error) {
	return stores.Collect(ctx, s, ids, valueBytes)
}

// WriteStream produces one record per id (key = id, value = stores.Value(id, valueBytes)) and emits
// each outcome as the producer reports it. If ctx ends first, the records not yet handed to the
// producer are failed (never sent) and those in flight are reported unknown.
func (s *Store) WriteStream(ctx context.Context, ids iter.Seq[string], valueBytes int, emit func(stores.Result)) error {
	return s.produce(ctx, ids, func(id string) []byte { return stores.Value(id, valueBytes) }, emit)
}

func (s *Store) produce(ctx context.Context, ids iter.Seq[string], value func(string) []byte, emit func(stores.Result)) error {
	b := newBatch(emit)
	defer b.close()
	for id := range ids {
		if !b.add(id) {
			continue
		}
		part := s.c.balance.pick(s.topic, s.partitions, time.Now())
		msg := &sarama.ProducerMessage{Topic: s.topic, Partition: int32(part), Key: sarama.StringEncoder(id), Value: sarama.ByteEncoder(value(id))}
		msg.Metadata = &pending{batch: b, id: id, invoked: time.Now()}
		select {
		case s.c.lanes[part%len(s.c.lanes)].producer.Input() <- msg:
		case <-ctx.Done():
			s.c.balance.done(s.topic, int32(part), nil, time.Now())
			now := time.Now()
			b.deliver(stores.Result{WriteResult: topology.WriteResult{ID: id, Invoked: now, Finished: now,
				Err: fmt.Errorf("produce %s: not sent: %v", id, ctx.Err())}})
			b.abandon(ctx.Err())
			return ctx.Err()
		}
	}
	b.allSent()
	select {
	case <-b.done:
		return nil
	case <-ctx.Done():
		b.abandon(ctx.Err())
		return ctx.Err()
	}
}

// record is one record read back.
type record struct {
	key       string
	partition int32
}

// read consumes every partition (concurrently) from its oldest offset to the high watermark taken
// when the read starts.
func (s *Store) read(ctx context.Context) ([]record, error) {
	parts, err := s.c.client.Partitions(s.topic)
	if err != nil {
		return nil, fmt.Errorf("partitions of %s: %w", s.topic, err)
	}
	consumer, err := sarama.NewConsumerFromClient(s.c.client)
	if err != nil {
		return nil, fmt.Errorf("kafka consumer: %w", err)
	}
	defer consumer.Close()
	per := make([][]record, len(parts))
	errs := make([]error, len(parts))
	var wg sync.WaitGroup
	for i, p := range parts {
		wg.Go(func() { per[i], errs[i] = s.readPartition(ctx, consumer, p) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var out []record
	for _, recs := range per {
		out = append(out, recs...)
	}
	return out, nil
}

func (s *Store) readPartition(ctx context.Context, consumer sarama.Consumer, p int32) ([]record, error) {
	hwm, err := s.c.client.GetOffset(s.topic, p, sarama.OffsetNewest)
	if err != nil {
		return nil, fmt.Errorf("high watermark of %s/%d: %w", s.topic, p, err)
	}
	oldest, err := s.c.client.GetOffset(s.topic, p, sarama.OffsetOldest)
	if err != nil {
		return nil, fmt.Errorf("oldest offset of %s/%d: %w", s.topic, p, err)
	}
	if hwm <= oldest {
		return nil, nil
	}
	pc, err := consumer.ConsumePartition(s.topic, p, oldest)
	if err != nil {
		return nil, fmt.Errorf("consume %s/%d: %w", s.topic, p, err)
	}
	defer pc.Close()
	out := make([]record, 0, hwm-oldest)
	idle := time.NewTimer(readIdle)
	defer idle.Stop()
	for {
		select {
		case msg, ok := <-pc.Messages():
			if !ok {
				return nil, fmt.Errorf("consume %s/%d: closed at %d of %d", s.topic, p, len(out), hwm)
			}
			if msg.Offset >= hwm {
				return out, nil
			}
			out = append(out, record{key: string(msg.Key), partition: p})
			if msg.Offset >= hwm-1 {
				return out, nil
			}
			idle.Reset(readIdle)
		case cerr := <-pc.Errors():
			return nil, fmt.Errorf("consume %s/%d: %w", s.topic, p, cerr)
		case <-idle.C:
			return nil, fmt.Errorf("consume %s/%d: no progress for %s (read %d records, high watermark %d)", s.topic, p, readIdle, len(out), hwm)
		case <-ctx.Done():
			return nil, fmt.Errorf("consume %s/%d: %w", s.topic, p, ctx.Err())
		}
	}
}

// ReadAll returns the key of every record in the topic, once per record (a duplicate appears twice).
func (s *Store) ReadAll(ctx context.Context) ([]string, error) {
	recs, err := s.read(ctx)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(recs))
	for i, r := range recs {
		ids[i] = r.key
	}
	return ids, nil
}

// Placement tells, for every record read, the in-sync replicas of its partition (fresh metadata) as
// member names "kafka-<broker id>"; each tolerates the loss of all but one of them.
func (s *Store) Placement(ctx context.Context) ([]topology.Placement, error) {
	recs, err := s.read(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.c.client.RefreshMetadata(s.topic); err != nil {
		return nil, fmt.Errorf("metadata of %s: %w", s.topic, err)
	}
	isr := map[int32][]string{}
	for _, r := range recs {
		if _, ok := isr[r.partition]; ok {
			continue
		}
		ids, err := s.c.client.InSyncReplicas(s.topic, r.partition)
		if err != nil {
			return nil, fmt.Errorf("in-sync replicas of %s/%d: %w", s.topic, r.partition, err)
		}
		names := make([]string, len(ids))
		for i, id := range ids {
			names[i] = MemberName(id)
		}
		slices.Sort(names)
		isr[r.partition] = names
	}
	seen := map[string]bool{}
	out := make([]topology.Placement, 0, len(recs))
	for _, r := range recs {
		if seen[r.key] {
			continue
		}
		seen[r.key] = true
		nodes := isr[r.partition]
		out = append(out, topology.Placement{ID: r.key, Nodes: slices.Clone(nodes), Tolerates: len(nodes) - 1})
	}
	return out, nil
}

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
