package kafka

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/IBM/sarama"
)

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
		if err := sleep(ctx, 500*time.Millisecond); err != nil {
			return 0, fmt.Errorf("wait for kafka topic %s: %w", topic, err)
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

// dropTopic deletes topic (a topic already gone is fine) and waits, at most topicGone, until the
// cluster's metadata no longer lists it.
func (c *Cluster) dropTopic(ctx context.Context, topic string) error {
	c.mu.Lock()
	delete(c.topics, topic)
	c.mu.Unlock()
	if err := c.admin.DeleteTopic(topic); err != nil && !errors.Is(err, sarama.ErrUnknownTopicOrPartition) {
		return fmt.Errorf("delete kafka topic %s: %w", topic, err)
	}
	deadline := time.Now().Add(topicGone)
	for {
		topics, err := c.admin.ListTopics()
		if err == nil {
			if _, listed := topics[topic]; !listed {
				return nil
			}
		}
		if time.Now().After(deadline) {
			why := "metadata still lists it"
			if err != nil {
				why = "list topics: " + err.Error()
			}
			return fmt.Errorf("delete kafka topic %s: not gone after %s: %s", topic, topicGone, why)
		}
		if err := sleep(ctx, 500*time.Millisecond); err != nil {
			return fmt.Errorf("wait for kafka topic %s to go: %w", topic, err)
		}
	}
}

// sleep waits for d or until ctx ends, whichever comes first, and returns ctx's error in the latter
// case.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
