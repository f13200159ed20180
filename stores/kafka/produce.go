package kafka

import (
	"context"
	"fmt"
	"iter"
	"strconv"
	"sync"
	"time"

	"github.com/IBM/sarama"

	"dpsim/topology"
)

// WriteStream produces one record per id (key = id, value = topology.Value(id, valueBytes)) on the
// partition the balancer picks, and emits each outcome as the producer reports it, with the
// partition in Ack.Part; an acknowledgement waits for the brokers' metadata to be observed after it,
// which gives its copies (see copiesWatch). If ctx ends first, the id being handed over is failed (never sent) and
// those in flight are reported unknown; WriteStream then returns ctx's error and emits nothing more.
func (s *Store) WriteStream(ctx context.Context, ids iter.Seq[string], valueBytes int, emit func(topology.WriteResult)) error {
	b := newBatch(emit)
	defer b.close()
	stop := s.watchCopies(b)
	defer stop()
	for id := range ids {
		now := time.Now()
		if ctx.Err() != nil {
			b.refuse(id, now, fmt.Errorf("produce %s: not sent: %w", id, ctx.Err()))
			b.abandon(ctx.Err())
			return ctx.Err()
		}
		part := int32(s.c.balance.pick(s.topic, s.partitions, now))
		if !b.add(id, part, now) {
			s.c.balance.done(s.topic, part, nil, now)
			continue
		}
		msg := &sarama.ProducerMessage{Topic: s.topic, Partition: part, Key: sarama.StringEncoder(id),
			Value: sarama.ByteEncoder(topology.Value(id, valueBytes)), Metadata: &pending{batch: b, id: id, invoked: now}}
		select {
		case s.c.lanes[int(part)%len(s.c.lanes)].producer.Input() <- msg:
		case <-ctx.Done():
			s.c.balance.done(s.topic, part, nil, time.Now())
			b.fail(id, fmt.Errorf("produce %s: not sent: %w", id, ctx.Err()))
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

// pending is one record handed to the producer; the producer's Metadata field carries it.
type pending struct {
	batch   *batch
	id      string
	invoked time.Time
}

// finish turns the producer's report on msg into an outcome.
func (c *Cluster) finish(msg *sarama.ProducerMessage, err error) {
	p, ok := msg.Metadata.(*pending)
	if !ok {
		return
	}
	res := topology.WriteResult{ID: p.id, Finished: time.Now(), Detail: fmt.Sprintf("partition=%d", msg.Partition)}
	if err != nil {
		res.Err = ClassifyAfter(fmt.Errorf("produce %s: %w", p.id, err), res.Finished.Sub(p.invoked))
	}
	c.balance.done(msg.Topic, msg.Partition, res.Err, res.Finished)
	if err == nil {
		if leader, lerr := c.client.Leader(msg.Topic, msg.Partition); lerr == nil {
			res.Ack.Node = MemberName(leader.ID())
		}
		res.Detail = fmt.Sprintf("partition=%d offset=%d", msg.Partition, msg.Offset)
	}
	p.batch.deliver(res)
}

// batch keeps the books of one WriteStream call: every id taken gets exactly one outcome. An id
// handed to the producer gets the producer's outcome, or unknown if the call is abandoned first; an
// id that could not be handed over is failed. Once the call has returned (close), late outcomes are
// dropped: they were already reported.
type batch struct {
	mu     sync.Mutex
	emit   func(topology.WriteResult)
	closed bool // nothing more is emitted
	fed    bool // every id has been taken
	left   int  // ids added without an outcome yet
	done   chan struct{}
	sent   map[string]*sent
	// watch, when set, holds acknowledgements until their copies are observed.
	watch *copiesWatch
}

// sent is an id added to a batch.
type sent struct {
	part      int32
	invoked   time.Time
	delivered bool
}

func newBatch(emit func(topology.WriteResult)) *batch {
	return &batch{emit: emit, done: make(chan struct{}), sent: map[string]*sent{}}
}

// add records that id, invoked now, is about to be handed to the producer for partition part. An
// id already in the batch is not written twice: it is failed at once and add returns false.
func (b *batch) add(id string, part int32, invoked time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, dup := b.sent[id]; dup {
		if !b.closed {
			b.emit(topology.WriteResult{ID: id, Invoked: invoked, Finished: time.Now(),
				Err: fmt.Errorf("produce %s: not sent: the id was already written in this stream", id)})
		}
		return false
	}
	b.sent[id] = &sent{part: part, invoked: invoked}
	b.left++
	return true
}

// refuse fails an id taken but never added (ctx had ended).
func (b *batch) refuse(id string, invoked time.Time, why error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.closed {
		b.emit(topology.WriteResult{ID: id, Invoked: invoked, Finished: time.Now(), Err: why})
	}
}

// allSent marks the end of the ids; the batch is done once the last outcome is in.
func (b *batch) allSent() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.fed = true
	b.finishIfDone()
}

// finishIfDone closes done once every id is taken and has its outcome. b.mu is held.
func (b *batch) finishIfDone() {
	if b.fed && b.left == 0 {
		select {
		case <-b.done:
		default:
			close(b.done)
		}
	}
}

// deliver emits r, the outcome of an added id, unless the id already has one or the batch is
// closed. Invoked and Ack.Part come from when the id was added.
func (b *batch) deliver(r topology.WriteResult) {
	b.mu.Lock()
	defer b.mu.Unlock()
	s, ok := b.sent[r.ID]
	if b.closed || !ok || s.delivered {
		return
	}
	s.delivered = true
	r.Invoked, r.Ack.Part = s.invoked, strconv.Itoa(int(s.part))
	if r.Err == nil && b.watch != nil {
		b.watch.hold(r)
		return
	}
	b.emitOne(r)
}

// emitOne emits the outcome of an added id. b.mu is held.
func (b *batch) emitOne(r topology.WriteResult) {
	b.emit(r)
	b.left--
	b.finishIfDone()
}

// release emits the held acknowledgements whose copies have been observed (or waited long enough).
func (b *batch) release() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	for _, r := range b.watch.take(time.Now(), false) {
		b.emitOne(r)
	}
}

// fail delivers a definite failure for an added id that was never handed to the producer.
func (b *batch) fail(id string, why error) {
	b.deliver(topology.WriteResult{ID: id, Finished: time.Now(), Err: why})
}

// abandon reports every added id without an outcome yet as unknown and stops delivering.
func (b *batch) abandon(why error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	now := time.Now()
	if b.watch != nil {
		for _, r := range b.watch.take(now, true) {
			b.emit(r)
		}
	}
	for id, s := range b.sent {
		if s.delivered {
			continue
		}
		s.delivered = true
		b.emit(topology.WriteResult{ID: id, Invoked: s.invoked, Finished: now,
			Ack: topology.Ack{Part: strconv.Itoa(int(s.part))}, Detail: fmt.Sprintf("partition=%d", s.part),
			Err: fmt.Errorf("produce %s: no outcome before %v: %w", id, why, topology.ErrIndefinite)})
	}
	b.left = 0
	b.closed = true
}

// close stops delivering: the call that owns the batch has returned.
func (b *batch) close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
}
