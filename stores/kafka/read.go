package kafka

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/IBM/sarama"

	"dpsim/topology"
)

// Read consumes every partition (concurrently, through its leader) from its oldest offset to the
// high watermark taken when the partition's read starts, and returns every record with the hash of
// its value, once per record in the log (a duplicate appears twice). A partition that cannot be read
// within readIdle (no leader, offsets unavailable, the fetch makes no progress) is named in
// Unreadable and the others are still read. The error is for a read that could not ask for
// anything: the topic's partitions are unknown, or ctx ended.
func (s *Store) Read(ctx context.Context) (topology.ReadBack, error) {
	if err := s.c.client.RefreshMetadata(s.topic); err != nil {
		s.c.log.Warn("kafka read: metadata refresh failed, reading with the metadata at hand", "topic", s.topic, "err", err)
	}
	parts, err := s.c.client.Partitions(s.topic)
	if err != nil {
		return topology.ReadBack{}, fmt.Errorf("read kafka topic %s: partitions: %w", s.topic, err)
	}
	// Every partition the topic was created with is read, even one metadata leaves out.
	for p := range int32(s.partitions) {
		if !slices.Contains(parts, p) {
			parts = append(parts, p)
		}
	}
	consumer, err := sarama.NewConsumerFromClient(s.c.client)
	if err != nil {
		return topology.ReadBack{}, fmt.Errorf("read kafka topic %s: consumer: %w", s.topic, err)
	}
	defer consumer.Close()
	per := make([][]topology.Record, len(parts))
	errs := make([]error, len(parts))
	var wg sync.WaitGroup
	for i, p := range parts {
		wg.Go(func() { per[i], errs[i] = s.readPartition(ctx, consumer, p) })
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return topology.ReadBack{}, fmt.Errorf("read kafka topic %s: %w", s.topic, err)
	}
	var rb topology.ReadBack
	for i, recs := range per {
		if errs[i] != nil {
			rb.Unreadable = append(rb.Unreadable, fmt.Sprintf("partition %d: %v", parts[i], errs[i]))
			continue
		}
		rb.Records = append(rb.Records, recs...)
	}
	return rb, nil
}

// readPartition reads partition p, trying again (with fresh metadata) for up to readIdle while it
// cannot start: while the partition has no leader or its offsets cannot be had.
func (s *Store) readPartition(ctx context.Context, consumer sarama.Consumer, p int32) ([]topology.Record, error) {
	deadline := time.Now().Add(readIdle)
	for {
		recs, started, err := s.readPartitionOnce(ctx, consumer, p)
		if err == nil || started || ctx.Err() != nil || time.Now().After(deadline) {
			return recs, err
		}
		if err := sleep(ctx, time.Second); err != nil {
			return nil, err
		}
		_ = s.c.client.RefreshMetadata(s.topic) // the next attempt reports what still fails
	}
}

// readPartitionOnce reads partition p from its oldest offset to its high watermark; started tells
// whether consuming began (an error after that is not worth another attempt: it already waited
// readIdle without progress, or ctx ended).
func (s *Store) readPartitionOnce(ctx context.Context, consumer sarama.Consumer, p int32) (recs []topology.Record, started bool, err error) {
	hwm, err := s.c.client.GetOffset(s.topic, p, sarama.OffsetNewest)
	if err != nil {
		return nil, false, fmt.Errorf("high watermark: %w", err)
	}
	oldest, err := s.c.client.GetOffset(s.topic, p, sarama.OffsetOldest)
	if err != nil {
		return nil, false, fmt.Errorf("oldest offset: %w", err)
	}
	if hwm <= oldest {
		return nil, false, nil
	}
	pc, err := consumer.ConsumePartition(s.topic, p, oldest)
	if err != nil {
		return nil, false, fmt.Errorf("consume: %w", err)
	}
	defer pc.Close()
	out := make([]topology.Record, 0, hwm-oldest)
	var lastErr error // sarama's partition consumer reports an error and retries: only lack of progress ends the read
	idle := time.NewTimer(readIdle)
	defer idle.Stop()
	for {
		select {
		case msg, ok := <-pc.Messages():
			if !ok {
				return nil, true, fmt.Errorf("consumer closed at %d records of offsets %d-%d", len(out), oldest, hwm)
			}
			if msg.Offset >= hwm {
				return out, true, nil
			}
			out = append(out, topology.Record{ID: string(msg.Key), Hash: topology.ValueHash(msg.Value)})
			if msg.Offset >= hwm-1 {
				return out, true, nil
			}
			idle.Reset(readIdle)
		case cerr := <-pc.Errors():
			lastErr = cerr
		case <-idle.C:
			return nil, true, fmt.Errorf("no progress for %s (read %d records of offsets %d-%d; last error: %v)", readIdle, len(out), oldest, hwm, lastErr)
		case <-ctx.Done():
			return nil, true, ctx.Err()
		}
	}
}
