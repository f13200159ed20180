package kafka

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/IBM/sarama"

	"dpsim/topology"
)

// How a stream observes the copies its records were acknowledged with. Kafka's produce answer does
// not say how many replicas had a record; the brokers' metadata lists each partition's in-sync
// replicas (ISR). A leader acknowledges an acks=all record once every member of its "maximal" ISR has
// it, and it drops a member from that set only after the controller has committed the shrink
// (Partition.scala: PendingShrinkIsr keeps the old ISR as the maximal one until AlterPartition
// succeeds; the controller answers once the change is in its log). So the ISR an up-to-date broker
// lists at the time of an acknowledgement is a lower bound on the copies the record had: a broker
// that is behind may list a larger, older ISR, so every broker is asked and the smallest answer kept.
const (
	// isrEvery is how often a stream asks the brokers for its topic's ISRs.
	isrEvery = 200 * time.Millisecond
	// isrWait is how long one observation waits for the brokers' answers.
	isrWait = 2 * time.Second
	// isrHold is how long an acknowledgement waits for an observation that started after it; then it
	// is emitted with its copies untold.
	isrHold = 10 * time.Second
)

// isrObservation is the fewest in-sync replicas any broker listed for each partition, in one round of
// metadata requests sent at sent and answered by received.
type isrObservation struct {
	sent, received time.Time
	isr            map[string]int // partition -> ISR size
}

// copiesWatch holds a stream's acknowledgements until the brokers' metadata has been observed after
// each, then sets Ack.Copies to the smallest ISR observed for the record's partition from the last
// observation before the write was sent to the first one begun after it was acknowledged.
type copiesWatch struct {
	observe func(ctx context.Context) (map[string]int, error)

	mu      sync.Mutex
	obs     []isrObservation
	held    []topology.WriteResult
	lastErr error
}

// run observes every isrEvery until ctx ends; after each observation, release hands on the
// acknowledgements it completes (calling take).
func (w *copiesWatch) run(ctx context.Context, release func()) {
	t := time.NewTicker(isrEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		w.observeOnce(ctx)
		release()
	}
}

// observeOnce asks the brokers once and keeps the answer.
func (w *copiesWatch) observeOnce(ctx context.Context) {
	sent := time.Now()
	isr, err := w.observe(ctx)
	w.mu.Lock()
	defer w.mu.Unlock()
	if err != nil {
		w.lastErr = err
		return
	}
	w.obs = append(w.obs, isrObservation{sent: sent, received: time.Now(), isr: isr})
}

// hold keeps an acknowledgement until an observation covers it.
func (w *copiesWatch) hold(r topology.WriteResult) {
	w.mu.Lock()
	w.held = append(w.held, r)
	w.mu.Unlock()
}

// take returns the held acknowledgements an observation now covers, with their copies, and those held
// longer than isrHold (or all, when force) with their copies untold.
func (w *copiesWatch) take(now time.Time, force bool) []topology.WriteResult {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out, keep []topology.WriteResult
	for _, r := range w.held {
		copies, covered := w.copiesAt(r)
		switch {
		case covered && copies > 0:
			r.Ack.Copies = copies
			r.Detail += " isr=" + strconv.Itoa(copies)
		case covered || force || now.Sub(r.Finished) > isrHold:
			r.Detail += " isr=unobserved"
			if w.lastErr != nil {
				r.Detail += " (" + w.lastErr.Error() + ")"
			}
		default:
			keep = append(keep, r)
			continue
		}
		out = append(out, r)
	}
	w.held = keep
	w.prune()
	return out
}

// copiesAt is the fewest in-sync replicas observed for r's partition around its write, and whether
// an observation begun after its acknowledgement exists yet (0 copies: none listed the partition).
func (w *copiesWatch) copiesAt(r topology.WriteResult) (int, bool) {
	from := 0
	for i, o := range w.obs {
		if !o.received.After(r.Invoked) {
			from = i
		}
	}
	fewest := 0
	for _, o := range w.obs[from:] {
		if n, ok := o.isr[r.Ack.Part]; ok && (fewest == 0 || n < fewest) {
			fewest = n
		}
		if !o.sent.Before(r.Finished) {
			return fewest, true
		}
	}
	return 0, false
}

// isrKeep is how long observations are kept in any case: an acknowledgement still to come may have
// been sent that long ago (the producer's retries, each waiting out the broker's ack timeout).
const isrKeep = 2 * time.Minute

// prune drops observations no held or coming acknowledgement can need (keeping the last one).
func (w *copiesWatch) prune() {
	oldest := time.Now().Add(-isrKeep)
	for _, r := range w.held {
		if r.Invoked.Before(oldest) {
			oldest = r.Invoked
		}
	}
	cut := 0
	for i, o := range w.obs {
		if !o.received.After(oldest) {
			cut = i
		}
	}
	w.obs = w.obs[cut:]
}

// watchCopies starts observing the topic's ISRs for a stream whose acknowledgements go through b;
// the returned stop ends the observation.
// A Cluster without a way to observe them (inSync nil) holds nothing: copies stay untold.
func (s *Store) watchCopies(b *batch) (stop func()) {
	if s.c.inSync == nil {
		return func() {}
	}
	w := &copiesWatch{observe: s.c.inSync(s.topic)}
	ctx, cancel := context.WithCancel(context.Background())
	w.observeOnce(ctx)
	b.watch = w
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.run(ctx, b.release)
	}()
	return func() {
		cancel()
		<-done
	}
}

// inSyncReplicas observes topic's ISRs: each call asks every broker the client knows for the topic's
// metadata at once, and returns for each partition the fewest in-sync replicas any broker that
// answered within isrWait listed. A broker still busy with the previous call's request is skipped.
func (c *Cluster) inSyncReplicas(topic string) func(ctx context.Context) (map[string]int, error) {
	busy := &sync.Map{}
	return func(ctx context.Context) (map[string]int, error) {
		brokers := c.client.Brokers()
		answers := make(chan *sarama.MetadataResponse, len(brokers))
		asked := 0
		for _, b := range brokers {
			if _, taken := busy.LoadOrStore(b.ID(), true); taken {
				continue
			}
			asked++
			go func() {
				defer busy.Delete(b.ID())
				_ = b.Open(c.client.Config()) // already open: ErrAlreadyConnected
				resp, err := b.GetMetadata(sarama.NewMetadataRequest(c.client.Config().Version, []string{topic}))
				if err != nil {
					resp = nil
				}
				answers <- resp
			}()
		}
		fewest := map[string]int{}
		timeout := time.After(isrWait)
		answered := 0
		for range asked {
			select {
			case resp := <-answers:
				if resp == nil {
					continue
				}
				answered++
				for _, t := range resp.Topics {
					if t.Name != topic {
						continue
					}
					for _, p := range t.Partitions {
						part := strconv.Itoa(int(p.ID))
						if n, ok := fewest[part]; !ok || len(p.Isr) < n {
							fewest[part] = len(p.Isr)
						}
					}
				}
			case <-timeout:
				return fewestOrErr(fewest, answered, asked, topic)
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		return fewestOrErr(fewest, answered, asked, topic)
	}
}

func fewestOrErr(fewest map[string]int, answered, asked int, topic string) (map[string]int, error) {
	if answered == 0 {
		return nil, fmt.Errorf("no broker answered the metadata of topic %s in %s (%d asked)", topic, isrWait, asked)
	}
	return fewest, nil
}
