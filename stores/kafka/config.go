package kafka

import (
	"cmp"
	"fmt"
	"log/slog"
	"time"

	"github.com/IBM/sarama"

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

// Timeouts bound every request so that a write during a fault ends within seconds, and every read
// within a bounded time.
const (
	dialTimeout    = 3 * time.Second
	readTimeout    = 10 * time.Second
	writeTimeout   = 5 * time.Second
	ackTimeout     = 5 * time.Second // broker-side wait for the in-sync replicas (acks=all)
	produceRetries = 3
	retryBackoff   = 250 * time.Millisecond
	readIdle       = 30 * time.Second // a partition read that makes no progress this long fails
	topicReady     = 60 * time.Second
	topicGone      = 60 * time.Second // how long Drop waits for metadata to stop listing the topic
)

// Version is the protocol version sarama speaks: one Kafka 4 still serves (it dropped the protocol
// versions before 2.1; sarama's V3_1_x JoinGroup v8 is refused).
var Version = sarama.V3_6_0_0

// saramaConfig is the client configuration for cfg.
func saramaConfig(cfg Config) (*sarama.Config, error) {
	c := sarama.NewConfig()
	c.Version = Version
	c.ClientID = cmp.Or(cfg.ClientID, "dpsim")
	c.Net.DialTimeout = dialTimeout
	c.Net.ReadTimeout = readTimeout
	c.Net.WriteTimeout = writeTimeout
	c.Metadata.Retry.Max = 3
	c.Metadata.Retry.Backoff = retryBackoff
	c.Metadata.Timeout = 15 * time.Second
	c.Metadata.RefreshFrequency = time.Minute
	// Topics are created explicitly with their settings; a metadata refresh (a read after Drop, a
	// producer retry) must never bring one back with the broker's defaults.
	c.Metadata.AllowAutoTopicCreation = false
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
