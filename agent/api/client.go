package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"dpsim/topology"
)

// Client talks to one agent. Its stores implement topology.Store.
type Client struct {
	// BaseURL is the agent's address, e.g. http://127.0.0.1:8080.
	BaseURL string
	// HTTP sends the requests. It must not set a Timeout that would cut a long write stream: every
	// call honours its context, and a stream that goes silent for IdleTimeout is abandoned.
	HTTP *http.Client
	// IdleTimeout is how long a write stream's answer may stay silent (the agent sends heartbeats
	// every few seconds) before the connection is taken as broken; default 60s.
	IdleTimeout time.Duration
	// RequestTimeout bounds each call other than a write stream (read, placement, drop, describe);
	// default 10m, since a full read of a large dataset is slow.
	RequestTimeout time.Duration
}

// NewClient makes a Client for the agent at baseURL with bounded connection set-up.
func NewClient(baseURL string) *Client {
	tr := &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 15 * time.Second}).DialContext,
		ResponseHeaderTimeout: 2 * time.Minute, // opening a dataset may create a topic or an index
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
	}
	return &Client{BaseURL: strings.TrimRight(baseURL, "/"), HTTP: &http.Client{Transport: tr}}
}

func (c *Client) idleTimeout() time.Duration {
	if c.IdleTimeout > 0 {
		return c.IdleTimeout
	}
	return time.Minute
}

func (c *Client) requestTimeout() time.Duration {
	if c.RequestTimeout > 0 {
		return c.RequestTimeout
	}
	return 10 * time.Minute
}

// Healthy checks /healthz.
func (c *Client) Healthy(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.BaseURL+"/healthz", nil)
	if err != nil {
		return err
	}
	res, err := c.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("agent %s: %w", c.BaseURL, err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("agent %s: healthz %s", c.BaseURL, res.Status)
	}
	return nil
}

// call sends a JSON request and decodes a 2xx JSON answer into out.
func (c *Client) call(ctx context.Context, method, path string, in, out any) error {
	ctx, cancel := context.WithTimeout(ctx, c.requestTimeout())
	defer cancel()
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("agent %s%s: %w", c.BaseURL, path, err)
	}
	defer res.Body.Close()
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return answerError(path, res)
	}
	if err := json.NewDecoder(res.Body).Decode(out); err != nil {
		return fmt.Errorf("agent %s: decode answer: %w", path, err)
	}
	return nil
}

func answerError(path string, res *http.Response) error {
	data, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	var er ErrorResponse
	if json.Unmarshal(data, &er) == nil && er.Error != "" {
		return fmt.Errorf("agent %s: %s: %s", path, res.Status, er.Error)
	}
	return fmt.Errorf("agent %s: %s: %s", path, res.Status, strings.TrimSpace(string(data)))
}

// StoreInfos asks which stores the agent offers and for which tenant.
func (c *Client) StoreInfos(ctx context.Context) (StoresResponse, error) {
	var sr StoresResponse
	err := c.call(ctx, http.MethodGet, "/v1/stores", nil, &sr)
	return sr, err
}

// Stores returns the agent's stores of tenant, seen through dataset. It makes *Client a
// topology.StoreAccess for an agent that serves one tenant.
func (c *Client) Stores(ctx context.Context, tenant, dataset string) ([]*RemoteStore, error) {
	sr, err := c.StoreInfos(ctx)
	if err != nil {
		return nil, err
	}
	if sr.Tenant != tenant {
		return nil, fmt.Errorf("agent %s serves tenant %s, not %s", c.BaseURL, sr.Tenant, tenant)
	}
	out := make([]*RemoteStore, 0, len(sr.Stores))
	for _, s := range sr.Stores {
		out = append(out, &RemoteStore{c: c, kind: s.Kind, inFlight: s.InFlight, req: StoreRequest{Tenant: tenant, Store: s.Name, Dataset: dataset}})
	}
	return out, nil
}

// Describe returns the agent's description of a store's state (dataset may be empty for a store
// whose state does not depend on it).
func (c *Client) Describe(ctx context.Context, store, dataset string) (json.RawMessage, error) {
	q := url.Values{"store": {store}}
	if dataset != "" {
		q.Set("dataset", dataset)
	}
	var raw json.RawMessage
	err := c.call(ctx, http.MethodGet, "/v1/describe?"+q.Encode(), nil, &raw)
	return raw, err
}

// Replicated asks whether every part of a store's dataset has all its copies.
func (c *Client) Replicated(ctx context.Context, store, dataset string) (Replication, error) {
	var r Replication
	err := c.call(ctx, http.MethodGet, "/v1/replicated?"+url.Values{"store": {store}, "dataset": {dataset}}.Encode(), nil, &r)
	return r, err
}

// RemoteStore is one store of the agent, seen through one dataset.
type RemoteStore struct {
	c        *Client
	kind     topology.Kind
	inFlight int
	req      StoreRequest
}

var _ topology.Store = (*RemoteStore)(nil)

// Name is the component's name.
func (s *RemoteStore) Name() string { return s.req.Store }

// Kind is the store family.
func (s *RemoteStore) Kind() topology.Kind { return s.kind }

// InFlight is how many writes the agent's store works on at once (0: as many as it is given), so
// that a timed workload issues no id that would wait in the agent's queue (stores.InFlightBound).
func (s *RemoteStore) InFlight() int { return s.inFlight }

// Dataset is the dataset the store is seen through.
func (s *RemoteStore) Dataset() string { return s.req.Dataset }

// WriteStream streams ids to the agent as they come and emits each outcome as the agent streams it
// back. An id the agent never received is failed (not sent); one it received whose outcome did not
// come back before the stream broke is unknown.
func (s *RemoteStore) WriteStream(ctx context.Context, ids iter.Seq[string], valueBytes int, emit func(topology.WriteResult)) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	q := url.Values{"tenant": {s.req.Tenant}, "store": {s.req.Store}, "dataset": {s.req.Dataset}, "valueBytes": {strconv.Itoa(valueBytes)}}
	body, feed := io.Pipe()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.c.BaseURL+"/v1/write?"+q.Encode(), body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "text/plain")
	w := &stream{emit: emit, pending: map[string]bool{}}
	fed := make(chan struct{})
	go func() {
		defer close(fed)
		w.feed(ctx, ids, feed)
	}()
	res, err := s.c.HTTP.Do(req)
	if err == nil && res.StatusCode != http.StatusOK {
		err = answerError("/v1/write", res)
		res.Body.Close()
	}
	if err != nil {
		cancel(err)
		feed.CloseWithError(err)
		err = fmt.Errorf("agent write %s/%s: %w", s.req.Store, s.req.Dataset, err)
		w.finish(fed, err)
		return err
	}
	defer res.Body.Close()
	idle := newIdleReader(res.Body, s.c.idleTimeout(), cancel)
	defer idle.stop()
	streamErr := w.receive(idle)
	if streamErr != nil {
		if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
			streamErr = cause
		}
		cancel(streamErr)
	}
	feed.CloseWithError(errStreamDone)
	if streamErr != nil {
		err := fmt.Errorf("agent write %s/%s: %w", s.req.Store, s.req.Dataset, streamErr)
		w.finish(fed, err)
		return err
	}
	// An agent whose store stopped taking ids ends the stream cleanly: ids it was sent after that
	// have no outcome.
	w.finish(fed, fmt.Errorf("agent write %s/%s: %w", s.req.Store, s.req.Dataset, errNoOutcome))
	return nil
}

// errNoOutcome is the cause of an id the agent ended a stream without answering.
var errNoOutcome = errors.New("the agent ended the stream without its outcome")

// finish gives the ids still pending an unknown outcome, waits for the feed to stop and does the
// same for ids it took meanwhile. Settling before waiting releases a caller that gives the next id
// only once an outcome frees a place (a bound on writes in flight): otherwise the feed, blocked in
// the caller's ids, would never stop.
func (w *stream) finish(fed <-chan struct{}, why error) {
	w.abandon(why, true)
	<-fed
	w.abandon(why, false)
}

// errStreamDone stops the feed once the answer has ended.
var errStreamDone = errors.New("write stream ended")

// stream is the bookkeeping of one write stream: which ids went to the agent without an outcome.
type stream struct {
	emit    func(topology.WriteResult)
	mu      sync.Mutex
	pending map[string]bool // taken from ids, no outcome yet; true once written to the connection
}

// feedFlush is how long an id may wait in the feed's buffer before it goes to the agent: ids are
// sent in batches (a port-forward carries one small frame per write), a few milliseconds apart.
const feedFlush = 10 * time.Millisecond

// feed sends every id of ids, one per line, in batches flushed every feedFlush (or when 32 KiB
// are waiting). An id taken but not written to the connection is failed: the agent never saw it.
func (w *stream) feed(ctx context.Context, ids iter.Seq[string], out *io.PipeWriter) {
	defer out.Close()
	lb := &lineBuffer{out: out, stream: w}
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		t := time.NewTicker(feedFlush)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				lb.flush()
			}
		}
	}()
	for id := range ids {
		w.mu.Lock()
		w.pending[id] = false
		w.mu.Unlock()
		if lb.add(id) != nil || ctx.Err() != nil {
			break
		}
	}
	lb.flush()
}

// lineBuffer batches a feed's id lines; it knows which ids each write carried.
type lineBuffer struct {
	mu     sync.Mutex
	out    *io.PipeWriter
	stream *stream
	buf    bytes.Buffer
	ids    []string    // the ids in buf, in order
	taken  []time.Time // when each was taken
	err    error       // the connection failed: nothing more goes out
}

// add queues id; past 32 KiB it flushes. It returns the connection's error once it has failed.
func (b *lineBuffer) add(id string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.WriteString(id)
	b.buf.WriteByte('\n')
	b.ids, b.taken = append(b.ids, id), append(b.taken, time.Now())
	if b.err == nil && b.buf.Len() < 32<<10 {
		return nil
	}
	return b.flushLocked()
}

func (b *lineBuffer) flush() {
	b.mu.Lock()
	defer b.mu.Unlock()
	_ = b.flushLocked()
}

// flushLocked writes the queued lines. The ids whose whole line the connection took are marked
// sent; after a failure, the others are failed as never sent.
func (b *lineBuffer) flushLocked() error {
	if len(b.ids) == 0 {
		return b.err
	}
	n := 0
	if b.err == nil {
		n, b.err = b.out.Write(b.buf.Bytes())
	}
	end := 0
	for i, id := range b.ids {
		end += len(id) + 1
		if end <= n {
			b.stream.markSent(id)
			continue
		}
		b.stream.settle(id, topology.WriteResult{ID: id, Invoked: b.taken[i], Finished: time.Now(),
			Err: fmt.Errorf("write %s: not sent: %v", id, b.err)})
	}
	b.buf.Reset()
	b.ids, b.taken = b.ids[:0], b.taken[:0]
	return b.err
}

// markSent notes that id reached the connection: from now on a lost answer makes it unknown.
func (w *stream) markSent(id string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.pending[id]; ok {
		w.pending[id] = true
	}
}

// settle emits id's outcome once: only while the id is pending.
func (w *stream) settle(id string, r topology.WriteResult) {
	w.mu.Lock()
	_, ok := w.pending[id]
	delete(w.pending, id)
	w.mu.Unlock()
	if ok {
		w.emit(r)
	}
}

// receive reads the answer line by line until its end line; it returns what ended it early.
func (w *stream) receive(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue // heartbeat
		}
		var l StreamLine
		if err := json.Unmarshal(line, &l); err != nil {
			return fmt.Errorf("decode answer line: %w", err)
		}
		if l.End {
			if l.Error != "" {
				return errors.New(l.Error)
			}
			return nil
		}
		w.settle(l.ID, FromWire(l.WireResult))
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return io.ErrUnexpectedEOF
}

// abandon gives every id still pending (with sentOnly, only those written to the connection) an
// unknown outcome: the agent may have had it, its answer was lost.
func (w *stream) abandon(why error, sentOnly bool) {
	w.mu.Lock()
	ids := make([]string, 0, len(w.pending))
	for id, sent := range w.pending {
		if sent || !sentOnly {
			ids = append(ids, id)
		}
	}
	w.mu.Unlock()
	now := time.Now()
	for _, id := range ids {
		w.settle(id, topology.WriteResult{ID: id, Invoked: now, Finished: now,
			Err: fmt.Errorf("write %s: no outcome: %w: %w", id, topology.ErrIndefinite, why)})
	}
}

// errIdle is the cause of a stream abandoned for silence.
var errIdle = errors.New("agent stream silent too long: connection taken as broken")

// idleReader cancels the request when no byte arrives for timeout.
type idleReader struct {
	r       io.Reader
	timeout time.Duration
	mu      sync.Mutex
	timer   *time.Timer
}

func newIdleReader(r io.Reader, timeout time.Duration, cancel context.CancelCauseFunc) *idleReader {
	ir := &idleReader{r: r, timeout: timeout}
	ir.timer = time.AfterFunc(timeout, func() { cancel(errIdle) })
	return ir
}

func (ir *idleReader) Read(p []byte) (int, error) {
	n, err := ir.r.Read(p)
	if n > 0 {
		ir.mu.Lock()
		ir.timer.Reset(ir.timeout)
		ir.mu.Unlock()
	}
	return n, err
}

func (ir *idleReader) stop() {
	ir.mu.Lock()
	defer ir.mu.Unlock()
	ir.timer.Stop()
}

// Read asks the agent to read the dataset back.
func (s *RemoteStore) Read(ctx context.Context) (topology.ReadBack, error) {
	var rb topology.ReadBack
	err := s.c.call(ctx, http.MethodPost, "/v1/read", s.req, &rb)
	return rb, err
}

// Placement asks the agent where every record of the dataset lives, by member.
func (s *RemoteStore) Placement(ctx context.Context) ([]topology.Placement, error) {
	var pr PlacementResponse
	if err := s.c.call(ctx, http.MethodPost, "/v1/placement", s.req, &pr); err != nil {
		return nil, err
	}
	return pr.Placements, nil
}

// Drop asks the agent to remove the dataset.
func (s *RemoteStore) Drop(ctx context.Context) error {
	var out struct{}
	return s.c.call(ctx, http.MethodPost, "/v1/drop", s.req, &out)
}
