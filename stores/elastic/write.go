package elastic

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"strconv"
	"sync"
	"time"

	"github.com/elastic/go-elasticsearch/v8/esapi"

	"dpsim/stores"
	"dpsim/topology"
)

// bulkLinger is how long a lane with a partial bulk waits for more ids before it sends it.
const bulkLinger = 5 * time.Millisecond

// WriteStream creates one document per id ({"id": id, "value": topology.Value(id, valueBytes)}) and
// emits each outcome when its _bulk request ends. Writes go through one lane per primary shard: a
// lane's documents carry its routing value, so they all land on its shard, and each lane sends its
// own stream of _bulk requests of up to BulkSize documents, at most Bulks of them in flight. An id
// goes to the lane with the fewest writes awaiting an outcome, passing over for a second a lane
// whose shard refused a write, so a shard waiting for a lost copy holds up only the ids already
// given to it; an id this Store sent before (a retry) goes to the shard it went to then. Ids taken
// but never sent because ctx ended are failed.
func (s *Store) WriteStream(ctx context.Context, ids iter.Seq[string], valueBytes int, emit func(topology.WriteResult)) error {
	routes, err := s.shardRoutes(ctx)
	if err != nil {
		return err
	}
	p := newPicker(len(routes), refusalPause)
	var emitMu sync.Mutex
	finish := func(lane int, r topology.WriteResult) {
		if lane >= 0 {
			p.done(lane, unavailable(r.Err), time.Now())
		}
		emitMu.Lock()
		defer emitMu.Unlock()
		emit(r)
	}
	lanes := make([]*lane, len(routes))
	var wg sync.WaitGroup
	for shard, routing := range routes {
		l := &lane{shard: shard, routing: routing, wake: make(chan struct{}, 1)}
		lanes[shard] = l
		wg.Go(func() { s.runLane(ctx, l, valueBytes, func(r topology.WriteResult) { finish(shard, r) }) })
	}
	for id := range ids {
		if ctx.Err() != nil {
			now := time.Now()
			finish(-1, topology.WriteResult{ID: id, Invoked: now, Finished: now, Err: fmt.Errorf("index %s: not sent: %w", id, ctx.Err())})
			break
		}
		shard, retry := s.sentTo(id)
		if retry && shard < len(lanes) {
			p.add(shard)
		} else {
			shard = p.pick(time.Now())
		}
		lanes[shard].push(id)
	}
	for _, l := range lanes {
		l.close()
	}
	wg.Wait()
	// A lane stops sending when ctx ends: what it still holds was never sent.
	now := time.Now()
	for shard, l := range lanes {
		for _, id := range l.queue {
			finish(shard, topology.WriteResult{ID: id, Invoked: now, Finished: now, Err: fmt.Errorf("index %s: not sent: %w", id, ctx.Err())})
		}
	}
	return ctx.Err()
}

// lane holds the ids given to one shard that are not sent yet.
type lane struct {
	shard   int
	routing string
	wake    chan struct{} // a token when ids came or the lane closed

	mu     sync.Mutex
	queue  []string
	closed bool // no more ids will come
}

func (l *lane) push(id string) {
	l.mu.Lock()
	l.queue = append(l.queue, id)
	l.mu.Unlock()
	l.signal()
}

func (l *lane) close() {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	l.signal()
}

func (l *lane) signal() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// next takes the next bulk of up to size ids: at once when size are there or no more will come,
// else once the first has waited bulkLinger. It returns false when the lane is closed and empty, or
// ctx ended.
func (l *lane) next(ctx context.Context, size int) ([]string, bool) {
	var linger <-chan time.Time
	lingered := false
	for {
		l.mu.Lock()
		n, closed := len(l.queue), l.closed
		if n >= size || (n > 0 && (closed || lingered)) {
			batch := l.queue[:min(n, size):min(n, size)]
			l.queue = l.queue[len(batch):]
			l.mu.Unlock()
			return batch, true
		}
		l.mu.Unlock()
		if n == 0 && closed {
			return nil, false
		}
		if n > 0 && linger == nil {
			t := time.NewTimer(bulkLinger)
			defer t.Stop()
			linger = t.C
		}
		select {
		case <-l.wake:
		case <-linger:
			lingered = true
		case <-ctx.Done():
			return nil, false
		}
	}
}

// runLane sends the lane's ids in bulks, at most Bulks at a time, until the lane is closed and empty
// or ctx ends; it returns when its bulks have ended.
func (s *Store) runLane(ctx context.Context, l *lane, valueBytes int, emit func(topology.WriteResult)) {
	slots := make(chan struct{}, s.c.cfg.Bulks)
	var bulks sync.WaitGroup
	defer bulks.Wait()
	for {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		batch, ok := l.next(ctx, s.c.cfg.BulkSize)
		if !ok {
			return
		}
		bulks.Go(func() {
			defer func() { <-slots }()
			s.bulk(ctx, l, batch, valueBytes, emit)
		})
	}
}

// bulkItem is one item of a _bulk answer.
type bulkItem struct {
	ID     string `json:"_id"`
	Status int    `json:"status"`
	SeqNo  *int64 `json:"_seq_no"`
	Term   int64  `json:"_primary_term"`
	Shards struct {
		Total      int `json:"total"`
		Successful int `json:"successful"`
		Failed     int `json:"failed"`
	} `json:"_shards"`
	Error *struct {
		Type   string `json:"type"`
		Reason string `json:"reason"`
	} `json:"error"`
}

// bulk sends one _bulk request of create actions routed to the lane's shard and emits the outcome
// of each id.
func (s *Store) bulk(ctx context.Context, l *lane, ids []string, valueBytes int, emit func(topology.WriteResult)) {
	var body bytes.Buffer
	enc := json.NewEncoder(&body)
	for _, id := range ids {
		_ = enc.Encode(map[string]any{"create": map[string]string{"_index": s.index, "_id": id, "routing": l.routing}})
		_ = enc.Encode(map[string]string{"id": id, "value": string(topology.Value(id, valueBytes))})
	}
	payload := body.Bytes()
	invoked := time.Now()
	if err := ctx.Err(); err != nil {
		for _, id := range ids {
			emit(topology.WriteResult{ID: id, Invoked: invoked, Finished: invoked, Err: fmt.Errorf("index %s: not sent: %w", id, err)})
		}
		return
	}
	retry := s.markSent(ids, l.shard)
	status, answer, err := s.c.do(ctx, func() esapi.Request {
		return esapi.BulkRequest{Index: s.index, Body: bytes.NewReader(payload),
			WaitForActiveShards: s.c.cfg.WaitForActiveShards, Timeout: writeTimeout}
	})
	finished := time.Now()
	part := strconv.Itoa(l.shard)
	out := func(i int, ack topology.Ack, detail string, err error) {
		if err != nil && !errors.Is(err, topology.ErrIndefinite) && !retry[i] {
			s.forget(ids[i]) // definitely not written by this attempt, and no earlier one may have
		}
		emit(topology.WriteResult{ID: ids[i], Invoked: invoked, Finished: finished, Ack: ack, Detail: detail, Err: err})
	}
	fail := func(err error) {
		for i, id := range ids {
			out(i, topology.Ack{}, "", fmt.Errorf("index %s: %w", id, err))
		}
	}
	if err != nil {
		if status == 0 {
			err = stores.TransportError(err)
		} else {
			err = stores.Indefinite(err) // the answer broke off
		}
		fail(err)
		return
	}
	if status < 200 || status > 299 {
		he := answerError(status, answer)
		fail(ClassifyItem(status, he.Type, he.Reason+" "+he.Body))
		return
	}
	var ans struct {
		Items []map[string]bulkItem `json:"items"`
	}
	if err := json.Unmarshal(answer, &ans); err != nil {
		fail(stores.Indefinite(fmt.Errorf("decode _bulk answer: %w", err)))
		return
	}
	for i, id := range ids {
		var item bulkItem
		ok := false
		if i < len(ans.Items) {
			item, ok = ans.Items[i]["create"]
			ok = ok && item.ID == id
		}
		if !ok {
			out(i, topology.Ack{}, "", fmt.Errorf("index %s: not in its place in the _bulk answer: %w", id, topology.ErrIndefinite))
			continue
		}
		ack, detail, err := judge(item, retry[i])
		if err != nil {
			err = fmt.Errorf("index %s: %w", id, err)
		} else {
			ack.Part = part
		}
		out(i, ack, detail, err)
	}
}

// judge turns one item of a _bulk answer into an outcome. A created document is acknowledged with
// the copies Elasticsearch says it wrote (_shards.successful), failed copies in the detail: an
// acknowledgement, never proof of placement. A 409 (the document already exists) acknowledges a
// retry of this Store's own earlier write (retry: its first answer was lost), copies untold; for an
// id sent for the first time it is unknown: ids are unique to a run, so the document is most likely
// this write, applied by an earlier attempt inside Elasticsearch (which retries a shard request
// after a lost connection to the primary), though another writer cannot be ruled out.
func judge(item bulkItem, retry bool) (topology.Ack, string, error) {
	typ, reason := "", ""
	if item.Error != nil {
		typ, reason = item.Error.Type, item.Error.Reason
	}
	err := ClassifyItem(item.Status, typ, reason)
	switch {
	case err == nil:
		detail := fmt.Sprintf("shards %d/%d", item.Shards.Successful, item.Shards.Total)
		if item.SeqNo != nil {
			detail = fmt.Sprintf("seq_no=%d primary_term=%d %s", *item.SeqNo, item.Term, detail)
		}
		if item.Shards.Failed > 0 {
			detail += fmt.Sprintf(", %d copies failed", item.Shards.Failed)
		}
		return topology.Ack{Copies: item.Shards.Successful}, detail, nil
	case errors.Is(err, errExists) && retry:
		return topology.Ack{}, "exists: this run's own earlier write, its answer lost", nil
	case errors.Is(err, errExists):
		var he *httpError
		if errors.As(err, &he) {
			err = he
		}
		return topology.Ack{}, "", fmt.Errorf("already exists on its first send (an earlier attempt inside Elasticsearch, or another writer): %w: %w", err, topology.ErrIndefinite)
	}
	return topology.Ack{}, "", err
}

// markSent records ids as sent to shard and tells, for each, whether this Store had sent it before
// with an outcome that may have written it.
func (s *Store) markSent(ids []string, shard int) []bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	retry := make([]bool, len(ids))
	for i, id := range ids {
		_, retry[i] = s.sent[id]
		s.sent[id] = shard
	}
	return retry
}

// sentTo tells the shard id was sent to, if this Store sent it before and it may have been written.
func (s *Store) sentTo(id string) (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	shard, ok := s.sent[id]
	return shard, ok
}

// forget drops id from the ids that may have been written by this Store.
func (s *Store) forget(id string) {
	s.mu.Lock()
	delete(s.sent, id)
	s.mu.Unlock()
}
