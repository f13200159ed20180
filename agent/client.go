package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"dpsim/stores"
	"dpsim/topology"
)

// Client talks to one agent. Its stores implement topology.Store and topology.BatchWriter.
type Client struct {
	// BaseURL is the agent's address, e.g. http://127.0.0.1:8080.
	BaseURL string
	// HTTP sends the requests. It must not set a Timeout that would cut a long batch: every call
	// honours its context, and a streamed batch that goes silent for IdleTimeout is abandoned.
	HTTP *http.Client
	// IdleTimeout is how long a batch's stream may stay silent (the agent sends heartbeats every
	// few seconds) before the connection is taken as broken; default 60s.
	IdleTimeout time.Duration
	// RequestTimeout bounds each call other than a write batch (read, placement, describe);
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

// StoreNames asks which stores the agent offers and for which tenant.
func (c *Client) StoreNames(ctx context.Context) (StoresResponse, error) {
	var sr StoresResponse
	err := c.call(ctx, http.MethodGet, "/v1/stores", nil, &sr)
	return sr, err
}

// Stores returns the agent's stores of tenant, writing into dataset. It makes *Client a
// topology.StoreAccess for an agent that serves one tenant.
func (c *Client) Stores(ctx context.Context, tenant, dataset string) ([]topology.Store, error) {
	sr, err := c.StoreNames(ctx)
	if err != nil {
		return nil, err
	}
	if sr.Tenant != tenant {
		return nil, fmt.Errorf("agent %s serves tenant %s, not %s", c.BaseURL, sr.Tenant, tenant)
	}
	out := make([]topology.Store, 0, len(sr.Stores))
	for _, name := range sr.Stores {
		out = append(out, c.Store(tenant, name, dataset))
	}
	return out, nil
}

// Store is the agent's store name of tenant, writing into dataset (no request is made).
func (c *Client) Store(tenant, name, dataset string) *RemoteStore {
	return &RemoteStore{c: c, req: StoreRequest{Tenant: tenant, Store: name, Dataset: dataset}}
}

// Describe returns the agent's description of a store's state (dataset may be empty for the
// object store).
func (c *Client) Describe(ctx context.Context, store, dataset string) (json.RawMessage, error) {
	q := url.Values{"store": {store}}
	if dataset != "" {
		q.Set("dataset", dataset)
	}
	var raw json.RawMessage
	err := c.call(ctx, http.MethodGet, "/v1/describe?"+q.Encode(), nil, &raw)
	return raw, err
}

// RemoteStore is one store of the agent, seen through one dataset.
type RemoteStore struct {
	c   *Client
	req StoreRequest
}

var (
	_ topology.Store       = (*RemoteStore)(nil)
	_ topology.BatchWriter = (*RemoteStore)(nil)
	_ topology.TimedWriter = (*RemoteStore)(nil)
)

// Name is the component's name.
func (s *RemoteStore) Name() string { return s.req.Store }

// Kind is the store family.
func (s *RemoteStore) Kind() topology.Kind { return KindOf(s.req.Store) }

// Write writes one record through the agent (a value of the same size, made by the agent).
func (s *RemoteStore) Write(ctx context.Context, id string, value []byte) (topology.Ack, error) {
	res, err := s.WriteBatch(ctx, []string{id}, len(value))
	for _, r := range res {
		if r.ID == id {
			return r.Ack, r.Err
		}
	}
	if err == nil {
		err = errors.New("no outcome")
	}
	return topology.Ack{}, fmt.Errorf("write %s: %w: %w", id, topology.ErrIndefinite, err)
}

// WriteBatch has the agent write ids and returns every outcome it streamed back. If the stream
// breaks, the outcomes received so far are returned with the error; the caller records the others
// as unknown.
func (s *RemoteStore) WriteBatch(ctx context.Context, ids []string, valueBytes int) ([]topology.WriteResult, error) {
	results, _, err := s.write(ctx, WriteRequest{StoreRequest: s.req, IDs: ids, ValueBytes: valueBytes})
	if err == nil && len(results) != len(ids) {
		err = fmt.Errorf("agent write %s/%s: %d outcomes for %d writes", s.req.Store, s.req.Dataset, len(results), len(ids))
	}
	return results, err
}

// WriteFor has the agent write for d (see topology.TimedWriter) and returns every outcome it
// streamed back. If the stream breaks, the writes the agent may have issued without their outcome
// reaching us are returned as unknown: every sequence number below the highest one received plus
// inFlight that has no outcome (the agent never has more than inFlight writes without one).
func (s *RemoteStore) WriteFor(ctx context.Context, load topology.TimedLoad) ([]topology.WriteResult, error) {
	prefix := load.Prefix
	req := WriteRequest{StoreRequest: s.req, Prefix: prefix, Seconds: load.Duration.Seconds(), Rate: load.Rate, InFlight: load.InFlight, ValueBytes: load.ValueBytes}
	results, end, err := s.write(ctx, req)
	issued := end.Issued
	if err != nil && !end.complete {
		issued = unseenBound(results, prefix) + req.inFlight()
	}
	if err == nil && len(results) != issued {
		err = fmt.Errorf("agent write %s/%s: %d outcomes for %d writes", s.req.Store, s.req.Dataset, len(results), issued)
	}
	if err != nil {
		results = append(results, unknownUnseen(results, prefix, issued, err)...)
	}
	return results, err
}

// unseenBound is one more than the highest sequence number among results (0 for none).
func unseenBound(results []topology.WriteResult, prefix string) int {
	n := 0
	for _, r := range results {
		if i, err := strconv.Atoi(strings.TrimPrefix(r.ID, prefix)); err == nil && i+1 > n {
			n = i + 1
		}
	}
	return n
}

// unknownUnseen is an unknown outcome for every timed write below issued without a result.
func unknownUnseen(results []topology.WriteResult, prefix string, issued int, why error) []topology.WriteResult {
	seen := make(map[string]bool, len(results))
	for _, r := range results {
		seen[r.ID] = true
	}
	now := time.Now()
	var out []topology.WriteResult
	for i := range issued {
		if id := stores.TimedID(prefix, i); !seen[id] {
			out = append(out, topology.WriteResult{ID: id, Invoked: now, Finished: now,
				Err: fmt.Errorf("write %s: no outcome: %w: %w", id, topology.ErrIndefinite, why)})
		}
	}
	return out
}

// write sends req and decodes the streamed outcomes.
func (s *RemoteStore) write(ctx context.Context, wr WriteRequest) ([]topology.WriteResult, streamEnd, error) {
	data, err := json.Marshal(wr)
	if err != nil {
		return nil, streamEnd{}, err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.c.BaseURL+"/v1/write", bytes.NewReader(data))
	if err != nil {
		return nil, streamEnd{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := s.c.HTTP.Do(req)
	if err != nil {
		return nil, streamEnd{}, fmt.Errorf("agent write %s/%s: %w", s.req.Store, s.req.Dataset, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, streamEnd{}, answerError("/v1/write", res)
	}
	body := newIdleReader(res.Body, s.c.idleTimeout(), cancel)
	defer body.stop()
	results, end, err := decodeStream(body)
	if err != nil {
		if cause := context.Cause(ctx); cause != nil {
			err = cause
		}
		return results, end, fmt.Errorf("agent write %s/%s: stream broke after %d outcomes: %w", s.req.Store, s.req.Dataset, len(results), err)
	}
	if end.Error != "" {
		return results, end, fmt.Errorf("agent write %s/%s: %s", s.req.Store, s.req.Dataset, end.Error)
	}
	return results, end, nil
}

// streamEnd is what follows the outcomes of a write stream.
type streamEnd struct {
	Issued   int
	Error    string
	complete bool // the stream ended properly, so Issued is the agent's count
}

// decodeStream reads {"results":[...],"error":"..."} one outcome at a time, so the outcomes read
// before a break are kept.
func decodeStream(r io.Reader) (results []topology.WriteResult, end streamEnd, err error) {
	dec := json.NewDecoder(r)
	expect := func(want json.Delim) error {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		if d, ok := tok.(json.Delim); !ok || d != want {
			return fmt.Errorf("unexpected %v, want %v", tok, want)
		}
		return nil
	}
	if err := expect('{'); err != nil {
		return nil, end, err
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return results, end, err
		}
		switch tok {
		case "results":
			if err := expect('['); err != nil {
				return results, end, err
			}
			for dec.More() {
				var w WireResult
				if err := dec.Decode(&w); err != nil {
					return results, end, err
				}
				results = append(results, fromWire(w))
			}
			if err := expect(']'); err != nil {
				return results, end, err
			}
		case "issued":
			if err := dec.Decode(&end.Issued); err != nil {
				return results, end, err
			}
		case "error":
			if err := dec.Decode(&end.Error); err != nil {
				return results, end, err
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return results, end, err
			}
		}
	}
	if err := expect('}'); err != nil {
		return results, end, err
	}
	end.complete = true
	return results, end, nil
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

// ReadAll asks the agent to read the dataset back.
func (s *RemoteStore) ReadAll(ctx context.Context) ([]string, error) {
	var rr ReadResponse
	if err := s.c.call(ctx, http.MethodPost, "/v1/read", s.req, &rr); err != nil {
		return nil, err
	}
	return rr.IDs, nil
}

// Placement asks the agent where every record of the dataset lives.
func (s *RemoteStore) Placement(ctx context.Context) ([]topology.Placement, error) {
	var pr PlacementResponse
	if err := s.c.call(ctx, http.MethodPost, "/v1/placement", s.req, &pr); err != nil {
		return nil, err
	}
	return pr.Placements, nil
}
